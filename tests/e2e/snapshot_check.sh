#!/usr/bin/env bash
# snapshot_check.sh — (1) a restore refused for a missing device section, a bad device field or vCPU state
# KVM rejects leaves the machine exactly as it was; (2) 1000 seek (restore) + replay-forward rounds over a
# memstress trace never diverge from a straight replay and RSS stays flat.   (SNAP_CHECK = the test tool)
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" --mem 16M --snapshot-every=200ev \
	--kernel "$TESTKERNEL" --append "memstress mb=8"
[ $? = 0 ] || { cat "$tmp/rec.err"; fail "record failed"; }
timeout 120 "$SNAP_CHECK" atomic "$tmp/t" || fail "atomic restore check failed"
timeout 840 "$SNAP_CHECK" loop "$tmp/t" "${SNAP_LOOPS:-1000}" || fail "restore/replay loop failed"
