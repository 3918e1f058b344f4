#!/usr/bin/env bash
# rr_landmarks.sh — interrupts between exits: record 'ring0spin' (ticks reach its exit-free ring-0 loop only at kicks,
# which become landmarks), replay it N times; every landmark is reached, the digest and final state match.
# usage: rr_landmarks.sh REPLAYS
source "$(dirname "$0")/lib.sh"
replays=$1
need_kvm
need_ring0_breakpoints
echo "host: $RING0_BP"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/trace" --kernel "$TESTKERNEL" --append "ring0spin"
rst=$?
cat "$tmp/rec.out" "$tmp/rec.err"
[ "$rst" = 0 ] || fail "record exited $rst"
recorded=$(sed -n 's/^rrvm: recorded [0-9]* events (\([0-9]*\) landmarks.*/\1/p' "$tmp/rec.err")
[ -n "$recorded" ] && [ "$recorded" -gt 0 ] || fail "the recording placed no landmark (ring0spin's ticks can come only at kicks)"
info=$("$RRVM" trace info "$tmp/trace" 2>&1) || { echo "$info"; fail "trace info failed"; }
echo "$info" | grep -E "landmarks_cpl0|^landmarks|^deferrals"
want=$(grep '^rrvm: final state:' "$tmp/rec.err") || fail "record printed no final state"
for i in $(seq 1 "$replays"); do
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay --check "$tmp/trace"
	st=$?
	[ "$st" = 0 ] || { cat "$tmp/rep.err"; fail "replay $i exited $st"; }
	cmp -s "$tmp/rec.out" "$tmp/rep.out" || { diff "$tmp/rec.out" "$tmp/rep.out" | head; fail "replay $i console (the digest) differs"; }
	got=$(grep '^rrvm: final state:' "$tmp/rep.err")
	[ "$got" = "$want" ] || fail "replay $i final state differs: '$got' vs '$want'"
	reached=$(sed -n 's/^rrvm: replay: [0-9]* events, \([0-9]*\) landmarks reached.*/\1/p' "$tmp/rep.err")
	[ "$reached" = "$recorded" ] || { cat "$tmp/rep.err"; fail "replay $i reached ${reached:-no} landmarks, the recording placed $recorded"; }
done
grep '^rrvm: replay:' "$tmp/rep.err"
echo "PASS: 'ring0spin' recorded with $recorded landmarks ($RING0_BP) and replayed $replays times, every landmark reached: $want"
