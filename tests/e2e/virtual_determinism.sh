#!/usr/bin/env bash
# virtual_determinism.sh — `--clock=virtual` runs of a scenario produce byte-identical console output N times.
# usage: virtual_determinism.sh SCENARIO RUNS
source "$(dirname "$0")/lib.sh"
scenario=$1 runs=$2
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
	run_guest "$tmp/out$i" "$tmp/err$i" run --clock=virtual --kernel "$TESTKERNEL" --append "$scenario"
	st=$?
	[ "$st" = 0 ] || { cat "$tmp/out$i" "$tmp/err$i"; fail "run $i: exit status $st"; }
	[ -s "$tmp/out$i" ] || fail "run $i: no console output"
	if [ "$i" -gt 1 ] && ! cmp -s "$tmp/out1" "$tmp/out$i"; then
		diff "$tmp/out1" "$tmp/out$i" | head -20
		fail "run $i differs from run 1"
	fi
done
cat "$tmp/out1"
echo "PASS: $runs virtual-clock runs of '$scenario' byte-identical ($(wc -c <"$tmp/out1") bytes, sha256 $(sha256sum <"$tmp/out1" | cut -c1-16))"
