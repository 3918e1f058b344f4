#!/usr/bin/env bash
# rr_scenario.sh — records a test-kernel scenario once and replays it N times: console, final state and --check must match.
# usage: rr_scenario.sh SCENARIO REPLAYS [extra record args]
source "$(dirname "$0")/lib.sh"
scenario=$1 replays=$2; shift 2
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/trace" --kernel "$TESTKERNEL" --append "$scenario" "$@"
rst=$?
cat "$tmp/rec.err"
case $rst in 0|3) ;; *) cat "$tmp/rec.out"; fail "record exited $rst" ;; esac
[ -s "$tmp/rec.out" ] || fail "recording printed no console output"
want=$(grep '^rrvm: final state:' "$tmp/rec.err") || fail "record printed no final state"
for i in $(seq 1 "$replays"); do
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/trace"
	st=$?
	[ "$st" = "$rst" ] || { cat "$tmp/rep.err"; fail "replay $i exited $st, the recording $rst"; }
	cmp -s "$tmp/rec.out" "$tmp/rep.out" || { diff "$tmp/rec.out" "$tmp/rep.out" | head; fail "replay $i console differs"; }
	got=$(grep '^rrvm: final state:' "$tmp/rep.err")
	[ "$got" = "$want" ] || fail "replay $i final state differs: '$got' vs '$want'"
done
run_guest "$tmp/rep.out" "$tmp/rep.err" replay --check --quiet "$tmp/trace" || { cat "$tmp/rep.err"; fail "replay --check failed"; }
[ ! -s "$tmp/rep.out" ] || fail "--quiet printed console output"
echo "PASS: '$scenario' recorded (status $rst) and replayed $replays times identically: $want"
