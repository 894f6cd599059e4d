#!/usr/bin/env bash
# tools/lint.sh [BUILD_DIR]: static analysis of the compiler, its runtime and
# the CLI with clang-tidy (checks in .clang-tidy) and cppcheck (settings in
# tools/cppcheck.cfg, suppressions with reasons in tools/cppcheck-suppressions.txt).
# Reads BUILD_DIR/compile_commands.json (default build/); the generated
# protobuf-c bindings (BUILD_DIR/pb) and the tests are not analysed.
# Exits non-zero on any finding; ctest runs it as test `lint` (label lint).
#   tools/lint.sh --must-reject FILE.c: runs both tools on one file with the same
#   settings; succeeds only if each reports a finding (test lint_catches, on
#   tests/lint/bad_example.c: the lint can fail).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tidy_args=(--quiet)
cpp_args=(--library="$root/tools/cppcheck.cfg" --enable=warning,performance,portability
          --inline-suppr --suppressions-list="$root/tools/cppcheck-suppressions.txt"
          --error-exitcode=1 --quiet
          --template='{file}:{line}:{column}: {severity}: {message} [{id}]')
if [ "${1:-}" = "--must-reject" ]; then
    status=0
    if clang-tidy "${tidy_args[@]}" "$2" -- -std=c11; then
        echo "lint: clang-tidy accepted $2"; status=1
    fi
    if cppcheck "${cpp_args[@]}" --std=c11 "$2"; then
        echo "lint: cppcheck accepted $2"; status=1
    fi
    [ "$status" -eq 0 ] && echo "lint: both tools reject $2"
    exit "$status"
fi
build="$(cd "${1:-$root/build}" && pwd)"
jobs="${LINT_JOBS:-$(nproc)}"
cd "$root"
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json"; exit 2; }
[ -x "$build/wrpnc" ] || { echo "lint: build $build/wrpnc first"; exit 2; }
for t in clang-tidy cppcheck; do
    command -v "$t" >/dev/null || { echo "lint: $t missing (tools/setup.sh --test)"; exit 2; }
done

srcs=(frontend/*.c ir/*.c ir/ops/*.c passes/*.c codegen/*.c codegen/kernels/*.c tools/*.c)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The harness includes the header of a generated model: lint it against a real one.
"$build/wrpnc" compile tests/fuzz/seeds/relu.onnx -o "$tmp/gen" --name lintm --target generic \
    >/dev/null
harness_flags=(-std=c99 -I"$tmp/gen" '-DWRPNC_HEADER="lintm.h"' -DWRPNC_NAME=lintm
               -DWRPNC_UNAME=LINTM)

status=0
echo "lint: clang-tidy over ${#srcs[@]} files + runtime/wrpnc_harness.c ($jobs jobs)"
if ! printf '%s\n' "${srcs[@]}" |
        xargs -P "$jobs" -n 4 clang-tidy -p "$build" "${tidy_args[@]}" >"$tmp/tidy.txt" 2>&1; then
    status=1
fi
for rt in runtime/wrpnc_harness.c; do
    if ! clang-tidy "${tidy_args[@]}" "$rt" -- "${harness_flags[@]}" >>"$tmp/tidy.txt" 2>&1
    then
        status=1
    fi
done
# clang-tidy prints "N warnings generated" for suppressed system-header noise too:
# only the findings themselves are shown.
grep -E ': (warning|error): ' "$tmp/tidy.txt" | sort -u || true

echo "lint: cppcheck"
filters=()
for s in "${srcs[@]}"; do filters+=("--file-filter=$root/$s"); done
if ! cppcheck --project="$build/compile_commands.json" "${filters[@]}" -j "$jobs" \
        "${cpp_args[@]}" 2>&1; then
    status=1
fi
if ! cppcheck "${harness_flags[@]/-std=c99/--std=c99}" runtime/wrpnc_harness.c \
        "${cpp_args[@]}" 2>&1; then
    status=1
fi
[ "$status" -eq 0 ] && echo "lint: clean" || echo "lint: FAILED (findings above)"
exit "$status"
