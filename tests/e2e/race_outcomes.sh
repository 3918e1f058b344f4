#!/usr/bin/env bash
# race_outcomes.sh — the `race` scenario with the real clock must crash on some live runs and survive on others.
# usage: race_outcomes.sh RUNS
source "$(dirname "$0")/lib.sh"
runs=$1
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
crashed=0 survived=0
for i in $(seq 1 "$runs"); do
	run_guest "$tmp/out" "$tmp/err" run --clock=real --kernel "$TESTKERNEL" --append race
	st=$?
	case $st in
	0) grep -q "RRVM-TEST race: survived" "$tmp/out" || fail "run $i: status 0 without the survived token"
	   survived=$((survived + 1)) ;;
	3) grep -q "KERNEL PANIC" "$tmp/out" || fail "run $i: status 3 without a panic message"
	   crashed=$((crashed + 1)) ;;
	*) cat "$tmp/out" "$tmp/err"; fail "run $i: unexpected status $st" ;;
	esac
done
echo "race: $crashed crashed, $survived survived out of $runs live runs"
[ "$crashed" -gt 0 ] || fail "race never crashed in $runs runs"
[ "$survived" -gt 0 ] || fail "race crashed in every one of $runs runs"
echo "PASS: race shows both outcomes"
