#!/usr/bin/env bash
# symfile_gdb.sh — stock gdb reads the ELF that `--symbols System.map` makes (gdb/symfile.c): symbols,
# addresses, function extents, and a breakpoint by name. No KVM needed. $1: the test_symfile binary.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v gdb >/dev/null 2>&1 || { echo "SKIPPED: gdb is not installed (tools/install-deps.sh)" >&2; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$1" "$tmp/syms.elf" >/dev/null || fail "test_symfile could not write the sample ELF"
out=$(gdb -nx -batch -ex "info address panic" -ex "info symbol 0xffffffff81c00010" \
	-ex "info symbol 0xffffffff810a0004" -ex "print/x &jiffies" -ex "break panic" \
	-ex "info address kvm_init" "$tmp/syms.elf" 2>&1)
echo "$out"
grep -q 'Symbol "panic" is at 0xffffffff81c00000' <<<"$out" || fail "gdb does not know panic's address"
grep -q '^panic + 16 in section .text' <<<"$out" || fail "gdb does not map an address inside panic to it"
grep -q '^sysrq_handle_crash + 4 in section .text' <<<"$out" || fail "a local (t) function is not found"
grep -q '^\$1 = 0xffffffff82000000' <<<"$out" || fail "a data symbol's address is wrong"
grep -q '^Breakpoint 1 at 0xffffffff81c0000' <<<"$out" || fail "break panic did not resolve to panic"
grep -q 'Symbol "kvm_init" is at 0xffffffffc0200000' <<<"$out" || fail "a module symbol (kallsyms [kvm]) is missing"
echo "PASS: gdb reads the System.map-made symbol file"
