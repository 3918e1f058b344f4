#!/usr/bin/env bash
# rdtsc_real_kernel.sh: ctest rdtsc_debian_kernel: the RDTSC/RDTSCP sites rrvm rewrites in Debian's cloud
# kernel are exactly the ones `objdump -d` finds in its decompressed vmlinux (same addresses, same kinds).
# Usage: tests/rdtsc_real_kernel.sh path/to/test_rdtsc      (exit 77 with a loud SKIPPED when the kernel
# is not cached or binutils is missing).
set -euo pipefail
T=${1:?usage: $0 path/to/test_rdtsc}
skip() {
  echo "***************************************************************" >&2
  echo "*** SKIPPED: $*" >&2
  echo "***************************************************************" >&2
  exit 77
}
command -v objdump >/dev/null 2>&1 || skip "objdump (binutils) is not installed"
W=$(mktemp -d /tmp/rrvm-rdtsc-real.XXXXXX)
trap 'rm -rf "$W"' EXIT

set +e
"$T" --dump-vmlinux "$W/vmlinux"; rc=$?
set -e
[[ $rc == 77 ]] && skip "Debian's cloud kernel is not cached (tools/fetch-linux.sh)"
[[ $rc == 0 ]] || { echo "FAILED: could not extract the vmlinux" >&2; exit 1; }

# objdump's view: every rdtsc/rdtscp instruction in the executable sections (-d), by address.
objdump -d --no-show-raw-insn "$W/vmlinux" |
  awk '$2 ~ /^rdtscp?$/ && NF == 2 { a = $1; sub(":", "", a); print a, $2 }' | sort >"$W/objdump.txt"
"$T" --real-kernel "$W/rrvm.txt"
sort -o "$W/rrvm.txt" "$W/rrvm.txt"

o_tsc=$(grep -c ' rdtsc$' "$W/objdump.txt" || true); o_tscp=$(grep -c ' rdtscp$' "$W/objdump.txt" || true)
r_tsc=$(grep -c ' rdtsc$' "$W/rrvm.txt" || true); r_tscp=$(grep -c ' rdtscp$' "$W/rrvm.txt" || true)
echo "objdump: $o_tsc rdtsc, $o_tscp rdtscp;  rrvm: $r_tsc rdtsc, $r_tscp rdtscp"
if ! diff -u "$W/objdump.txt" "$W/rrvm.txt"; then
  echo "FAILED: rrvm's rewritten sites differ from objdump's (- objdump, + rrvm)" >&2
  exit 1
fi
[[ $o_tsc -gt 0 ]] || { echo "FAILED: objdump found no rdtsc at all: is this a vmlinux?" >&2; exit 1; }
echo "PASS: all $((r_tsc + r_tscp)) sites match objdump, address for address"
