#!/usr/bin/env bash
# test.sh — builds rrvm in build/ and runs the whole test suite (unit, test-kernel, svm-lane Linux) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
# Timing-sensitive tests are marked RUN_SERIAL in their .cmake files.
ctest --test-dir build --output-on-failure --timeout 1800 -j2 "$@"
