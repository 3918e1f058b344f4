# lib.sh — helpers shared by the end-to-end test scripts (sourced, not run).
# Expects RRVM (the binary) and TESTKERNEL (the test kernel ELF) in the environment.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*" >&2; exit 77; }
need_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm on this host"; }
# run_guest OUTFILE ERRFILE ARGS... : runs rrvm with a timeout, returns rrvm's status.
run_guest() {
	local out=$1 err=$2; shift 2
	timeout --kill-after=5 "${RRVM_TIMEOUT:-120}" "$RRVM" "$@" </dev/null >"$out" 2>"$err"
}
