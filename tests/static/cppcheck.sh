#!/usr/bin/env bash
# cppcheck.sh — the static check CI runs: cppcheck's warning, portability and performance checks over the
# monitor's sources and the test programs (not the freestanding test kernel), zero findings allowed.
# A false positive is suppressed where it is, with its reason: /* cppcheck-suppress ID ; why */.
# Usage: cppcheck.sh SOURCE_DIR
set -u
src=$1
command -v cppcheck >/dev/null || { echo "SKIPPED: cppcheck is not installed (tools/install-deps.sh)"; exit 77; }
cd "$src" || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cppcheck -q --std=c11 --enable=warning,portability,performance --inline-suppr --error-exitcode=3 \
	-D_GNU_SOURCE -DRRVM_VERSION='"ci"' -DRRVM_SOURCE_DIR='"ci"' -DRRVM_FUZZ_STANDALONE -DRRVM_HAVE_LZMA=1 \
	-I. -j"$(nproc)" --template='{file}:{line}: {severity} [{id}] {message}' \
	core record replay snapshot gdb tui tests/unit tests/fuzz tests/tools >"$out" 2>&1
rc=$?
n=$(grep -cE '^[^ ]+:[0-9]+: ' "$out")
cat "$out"
echo "cppcheck $(cppcheck --version | cut -d' ' -f2): $n findings in $(find core record replay snapshot gdb tui tests/unit tests/fuzz tests/tools -name '*.c' | wc -l) files"
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
