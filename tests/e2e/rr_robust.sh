#!/usr/bin/env bash
# rr_robust.sh — a recorder killed with SIGKILL leaves a trace whose prefix replays, and whose snapshots
# (--snapshot-every) list and replay from; corrupt traces are refused clearly.
# usage: rr_robust.sh KILLS
source "$(dirname "$0")/lib.sh"
kills=$1
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
long="tasks iters=30000000 phases=40"
nsnap=0 nfrom=0

for i in $(seq 1 "$kills"); do
	rm -rf "$tmp/k"
	"$RRVM" record -o "$tmp/k" --snapshot-every=300ms --kernel "$TESTKERNEL" --append "$long" </dev/null \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	# Kill somewhere between 1.2 and 3.5 s in (chunks are sealed at least once a second).
	sleep "$(awk -v i="$i" 'BEGIN{srand(i); printf "%.2f", 1.2 + rand() * 2.3}')"
	kill -9 $pid; wait $pid 2>/dev/null
	info=$("$RRVM" trace info "$tmp/k" 2>&1) || { echo "$info"; fail "kill $i: trace info failed on the killed trace"; }
	echo "$info" | grep -E "^(status|end)" | sed "s/^/kill $i: /"
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/k"
	st=$?
	grep -q "replayed end of the recorded prefix at event" "$tmp/rep.err" || fail "kill $i: replay does not say where the prefix ends"
	grep -E "replayed|diverged|rrvm: (trace|warning)" "$tmp/rep.err" | sed "s/^/kill $i: /"
	[ "$st" = 0 ] || fail "kill $i: the prefix did not replay cleanly (status $st)"
	# What was replayed is a prefix of what the recorder printed before it died.
	head -c "$(stat -c %s "$tmp/rep.out")" "$tmp/out" | cmp -s - "$tmp/rep.out" ||
		fail "kill $i: replayed console is not a prefix of the recorded one"
	# The snapshots the killed recorder left: every listed one is whole, and the last
	# one replays to the prefix's end (a snapshot past it is refused, saying so).
	"$RRVM" snapshot list "$tmp/k" >"$tmp/list" 2>&1 || { cat "$tmp/list"; fail "kill $i: snapshot list failed on the killed trace"; }
	prefix=$(sed -n 's/.*replayed end of the recorded prefix at event \([0-9]*\).*/\1/p' "$tmp/rep.err")
	last=$(grep -E "^[0-9]+ +[0-9]+ " "$tmp/list" | awk -v p="$prefix" '$2 <= p' | tail -1)
	n=$(grep -cE "^[0-9]+ +[0-9]+ " "$tmp/list")
	nsnap=$((nsnap + n))
	past=$(grep -E "^[0-9]+ +[0-9]+ " "$tmp/list" | awk -v p="$prefix" '$2 > p' | head -1)
	if [ -n "$past" ]; then
		run_guest "$tmp/rp.out" "$tmp/rp.err" replay --quiet --from "s${past%% *}" "$tmp/k"
		st=$?
		echo "kill $i: snapshot ${past%% *} lies past the prefix (event $prefix): status $st, $(grep -v '^rrvm: final' "$tmp/rp.err" | head -1)"
		[ "$st" != 0 ] && [ "$st" -lt 128 ] || fail "kill $i: replay from a snapshot past the prefix's end exited $st"
	fi
	[ -n "$last" ] || { echo "kill $i: $n snapshots, none inside the prefix"; continue; }
	seq=${last%% *}
	run_guest "$tmp/rs.out" "$tmp/rs.err" replay --quiet --from "s$seq" "$tmp/k"
	st=$?
	[ "$st" = 0 ] && grep -q "replayed end of the recorded prefix at event $prefix" "$tmp/rs.err" ||
		{ cat "$tmp/rs.err"; fail "kill $i: replay --from s$seq did not reach the prefix's end cleanly (status $st)"; }
	nfrom=$((nfrom + 1))
	echo "kill $i: $n snapshots listed; replay --from s$seq (event $(echo "$last" | awk '{print $2}')) reached the prefix's end, event $prefix"
done
echo "SIGKILL: $kills trials, $kills prefixes replayed, $nsnap snapshots listed, $nfrom replayed from their last snapshot"

# Corrupt and damaged traces: one clear line, a non-zero status, no crash.
run_guest "$tmp/o" "$tmp/e" record -o "$tmp/good" --kernel "$TESTKERNEL" --append timer || fail "record failed"
expect_refused() {
	local what=$1 dir=$2 pat=$3
	run_guest "$tmp/o" "$tmp/e" replay --check "$dir"
	local st=$?
	echo "$what -> status $st: $(grep -v '^rrvm: \(final state\|replay:\)' "$tmp/e" | head -2 | tr '\n' ' ')"
	[ "$st" != 0 ] || fail "$what: replay --check succeeded"
	[ "$st" -lt 128 ] || fail "$what: replay crashed (status $st)"
	grep -Eq "$pat" "$tmp/e" || fail "$what: message lacks /$pat/"
	grep -Eq "AddressSanitizer|runtime error" "$tmp/e" && fail "$what: sanitizer report"
	return 0
}
cp -r "$tmp/good" "$tmp/flip"
python3 - "$tmp/flip/events" <<'PY'
import sys; p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 0x40; open(p, 'wb').write(d)
PY
expect_refused "flipped byte in events" "$tmp/flip" "events.*(offset|chunk)"
cp -r "$tmp/good" "$tmp/hdr"
python3 - "$tmp/hdr/header" <<'PY'
import sys; p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[40] ^= 0x01; open(p, 'wb').write(d)
PY
expect_refused "flipped byte in header" "$tmp/hdr" "header"
cp -r "$tmp/good" "$tmp/nokernel"; rm "$tmp/nokernel/kernel"
expect_refused "missing kernel copy" "$tmp/nokernel" "kernel"
cp -r "$tmp/good" "$tmp/noevents"; rm "$tmp/noevents/events"
expect_refused "missing events" "$tmp/noevents" "events"
expect_refused "no such trace" "$tmp/nonexistent" "nonexistent"
echo "PASS: $kills SIGKILLed recordings replayed their prefixes; damaged traces refused"
