# lib.sh — helpers shared by the end-to-end test scripts (sourced, not run).
# Expects RRVM (the binary) and TESTKERNEL (the test kernel ELF) in the environment.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*" >&2; exit 77; }
need_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm on this host"; }
# need_ring0_breakpoints: sets RING0_BP to how this host stops ring-0 code at an address (rrvm
# doctor), or skips: without, ring-0 ticks between exits are deferred ('ring0spin' never gets one).
need_ring0_breakpoints() {
	RING0_BP=$("$RRVM" doctor 2>&1 | grep -o 'ring-0 breakpoints: [A-Za-z0-9 -]*' | head -1 | sed 's/ *$//')
	[ -n "$RING0_BP" ] || skip "this host cannot stop ring-0 code at an address (no hardware breakpoint, no HLT exit: rrvm doctor), so ring-0 ticks between exits are deferred and 'ring0spin' never gets one"
}
# run_guest OUTFILE ERRFILE ARGS... : runs rrvm with a timeout, returns rrvm's status.
run_guest() {
	local out=$1 err=$2; shift 2
	timeout --kill-after=5 "${RRVM_TIMEOUT:-120}" "$RRVM" "$@" </dev/null >"$out" 2>"$err"
}
