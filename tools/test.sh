#!/usr/bin/env bash
# test.sh — builds rrvm twice and runs the test suite with ctest: build/ (gcc, the whole suite: unit,
# test-kernel, svm-lane Linux, static checks) and build-asan/ (clang with ASan+UBSan and the libFuzzer
# targets: the unit and fuzz tests again). Both builds treat warnings as errors.
# Arguments go to both ctest runs (e.g. -R NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRRVM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
asan=0
if command -v clang >/dev/null; then
  cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRRVM_SANITIZE=ON \
        -DRRVM_FUZZ=ON -DRRVM_ASAN_TWIN=OFF -DRRVM_WERROR=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  asan=1
else
  echo "test.sh: SKIPPED the sanitizer build: clang is not installed (tools/install-deps.sh)" >&2
fi
rc=0
# Timing-sensitive tests are marked RUN_SERIAL in their .cmake files.
ctest --test-dir build --output-on-failure --timeout 1800 -j2 "$@" || rc=$?
if [ "$asan" = 1 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 1800 -j2 -L 'unit|fuzz' "$@" || rc=$?
fi
exit "$rc"
