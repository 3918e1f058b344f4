#!/usr/bin/env bash
# badinsn.sh — a ring-0 instruction this host's KVM emulator rejects ends the run with a message naming it and its address.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/out" "$tmp/err" run --kernel "$TESTKERNEL" --append badinsn
st=$?
cat "$tmp/out" "$tmp/err"
if [ -d /sys/module/kvm_pvm ]; then
	# The development host (HOST.md): ring 0 is emulated and popcnt is rejected.
	[ "$st" = 6 ] || fail "status $st, expected 6 (host cannot run the instruction)"
	grep -Eq "cannot execute the guest instruction 'popcnt [^']*' \(bytes [0-9a-f ]+\) at RIP 0x[0-9a-f]+" "$tmp/err" ||
		fail "message does not name the instruction and its address"
	grep -q "KVM_EXIT_INTERNAL_ERROR" "$tmp/err" || fail "message does not name the exit"
else
	# Hardware KVM runs it natively: the guest reports the result.
	[ "$st" = 0 ] || fail "status $st on a host whose KVM should execute popcnt"
	grep -q "RRVM-TEST badinsn: ok" "$tmp/out" || fail "no badinsn token"
fi
echo "PASS: badinsn (status $st)"
