#!/usr/bin/env bash
# rr_race.sh — records `race` until one recording crashed and one survived; each replays to the same outcome N times.
# usage: rr_race.sh REPLAYS MAX_ATTEMPTS
source "$(dirname "$0")/lib.sh"
replays=$1 max=$2
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
have_crash="" have_survive=""
for i in $(seq 1 "$max"); do
	rm -rf "$tmp/t"
	run_guest "$tmp/out" "$tmp/err" record -o "$tmp/t" --kernel "$TESTKERNEL" --append race
	st=$?
	if [ "$st" = 3 ] && [ -z "$have_crash" ]; then mv "$tmp/t" "$tmp/crash"; cp "$tmp/out" "$tmp/crash.out"; cp "$tmp/err" "$tmp/crash.err"; have_crash=$i
	elif [ "$st" = 0 ] && [ -z "$have_survive" ]; then mv "$tmp/t" "$tmp/survive"; cp "$tmp/out" "$tmp/survive.out"; cp "$tmp/err" "$tmp/survive.err"; have_survive=$i
	elif [ "$st" != 0 ] && [ "$st" != 3 ]; then cat "$tmp/out" "$tmp/err"; fail "record attempt $i exited $st"; fi
	[ -n "$have_crash" ] && [ -n "$have_survive" ] && break
done
echo "recordings: crashed on attempt ${have_crash:-never}, survived on attempt ${have_survive:-never} (of $max)"
[ -n "$have_crash" ] || fail "no recording crashed in $max attempts"
[ -n "$have_survive" ] || fail "every recording crashed in $max attempts"
for kind in crash survive; do
	want_st=$([ $kind = crash ] && echo 3 || echo 0)
	want=$(grep '^rrvm: final state:' "$tmp/$kind.err")
	grep -E "landmarks" "$tmp/$kind.err"
	for i in $(seq 1 "$replays"); do
		run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/$kind"
		st=$?
		[ "$st" = "$want_st" ] || { cat "$tmp/rep.err"; fail "$kind replay $i exited $st, expected $want_st"; }
		cmp -s "$tmp/$kind.out" "$tmp/rep.out" || fail "$kind replay $i console differs"
		[ "$(grep '^rrvm: final state:' "$tmp/rep.err")" = "$want" ] || fail "$kind replay $i final state differs"
	done
	echo "PASS: the $kind recording replayed to the same outcome $replays/$replays ($want)"
	if [ $kind = crash ]; then grep -m1 "KERNEL PANIC" "$tmp/rep.out"; fi
done
