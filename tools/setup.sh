#!/usr/bin/env bash
# tools/setup.sh: installs everything wrpnc and its tests need on Debian and
# builds wrpnc into build/. Idempotent: a second run installs nothing.
#   tools/setup.sh          compiler build dependencies + build
#   tools/setup.sh --test   also the test tooling (Python venv in .venv)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(cmake make gcc clang protobuf-c-compiler libprotobuf-c-dev libonnx-dev libcmocka-dev zlib1g-dev
      dataset-fashion-mnist)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(python3 python3-venv python3-numpy python3-torch python3-torchvision
           gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user chromium clang-tidy cppcheck
           libsimde-dev)  # SIMDe: avx512 code runs emulated on CPUs without AVX-512
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
    # Debian's python3-* packages belong to /usr/bin/python3; the venv sees them.
    if [ ! -x .venv/bin/python ] || ! cmp -s tools/requirements.txt .venv/requirements.txt; then
        rm -rf .venv
        /usr/bin/python3 -m venv --system-site-packages .venv
        .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt
        cp tools/requirements.txt .venv/requirements.txt
    fi
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRPNC_WERROR=ON \
      -DWRPNC_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "setup: wrpnc built at build/wrpnc"
