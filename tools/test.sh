#!/usr/bin/env bash
# tools/test.sh: set up (idempotent) and run the whole default test suite.
# Slow sweeps carry the ctest label "slow" and run with: ctest --test-dir build -L slow
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test
cd build
ctest --output-on-failure -j"$(nproc)" -LE slow
