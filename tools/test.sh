#!/usr/bin/env bash
# tools/test.sh: set up (idempotent), run the unit tests and the malformed-model
# catalog in an AddressSanitizer + UBSan build (build-asan/: bad input must never
# make wrpnc touch bad memory), a fast subset of the end-to-end tests whose
# generated code is also built with the sanitizers (WRPNC_CFLAGS), 60 seconds of
# libFuzzer smoke runs (build-fuzz/, clang: 30 s over the loader, 30 s over the
# whole compiler from model descriptions), static analysis (tools/lint.sh), then
# the whole default test suite (build/, which includes the differential run of
# the fuzz seed models against the reference interpreter).
# Slow sweeps carry the ctest label "slow" and run with: ctest --test-dir build -L slow
# 10-minute fuzz runs: ctest --test-dir build-fuzz -L fuzz-long
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRPNC_WERROR=ON -DWRPNC_SANITIZE=ON \
      -DWRPNC_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
cd build-asan
ctest --output-on-failure -j"$(nproc)" -L unit
ctest --output-on-failure -R '^e2e_test_malformed$'
# Generated code and the harness under ASan + UBSan: every model these tests run
# (host targets only: qemu-user cannot host ASan's shadow memory). The low-bit
# kernels under the sanitizers take 10 minutes here: e2e_test_lowbit_sanitized, label slow.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
WRPNC_NO_EMULATION=1 WRPNC_CFLAGS="$san" ctest --output-on-failure -j"$(nproc)" \
    -R '^e2e_test_(eltwise|conv_shapes)$'

cd ..
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRPNC_WERROR=ON \
      -DWRPNC_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_load fuzz_compile fuzz_gen >/dev/null
ctest --test-dir build-fuzz --output-on-failure -L '^fuzz$'

# Static analysis of the compiler (tools/lint.sh), then the main suite last:
# its ctest summary closes the output.
cd build
ctest --output-on-failure -L lint
ctest --output-on-failure -j"$(nproc)" -LE slow
