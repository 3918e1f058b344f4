#!/usr/bin/env bash
# snapshot_roundtrip.sh — records a scenario with snapshots; replay from every snapshot must print the
# recorded console from that point and end in the same state, with the same status, as a full replay.
# usage: snapshot_roundtrip.sh SCENARIO EVERY [extra record args]   (SCENARIO "echo": typed input is fed)
source "$(dirname "$0")/lib.sh"
scenario=$1 every=$2; shift 2
need_kvm
case $scenario in ring0spin*) need_ring0_breakpoints ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rargs=()
case $scenario in
virtio*)   # a virtio disk, entropy and console: device state and the disk rewind with the snapshot
	{ printf 'RRVM-DISK-IMAGE!'; head -c $((8 * 1024 * 1024 - 16)) /dev/zero; } >"$tmp/disk.img"
	set -- "$@" --disk "$tmp/disk.img" --rng --virtio-console
	rargs=(--disk "$tmp/disk.img") ;;
esac
if [ "$scenario" = echo ]; then
	{ sleep 0.3; printf 'hello there\r'; sleep 0.2; printf 'second line\n'; sleep 0.1; printf 'q\n'; } |
		timeout 120 "$RRVM" record -o "$tmp/t" --snapshot-every="$every" --kernel "$TESTKERNEL" --append echo "$@" \
		>"$tmp/rec.out" 2>"$tmp/rec.err"
else
	run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" --snapshot-every="$every" --kernel "$TESTKERNEL" \
		--append "$scenario" "$@"
fi
rst=$?
case $rst in 0|3|5|6) ;; *) cat "$tmp/rec.err"; fail "record exited $rst" ;; esac
n=$(ls "$tmp/t/snapshots" 2>/dev/null | grep -c '\.snap$')
[ "$n" -ge 1 ] || { cat "$tmp/rec.err"; fail "no snapshot was written"; }
for f in "$tmp"/t/snapshots/*.snap; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), not 0600"
done
run_guest "$tmp/full.out" "$tmp/full.err" replay "${rargs[@]}" "$tmp/t"
fst=$?
[ "$fst" = "$rst" ] || { cat "$tmp/full.err"; fail "full replay exited $fst, the recording $rst"; }
want=$(grep '^rrvm: final state:' "$tmp/full.err") || fail "full replay printed no final state"
cmp -s "$tmp/rec.out" "$tmp/full.out" || fail "full replay console differs from the recording's"
for k in $(seq 1 "$n"); do
	run_guest "$tmp/from.out" "$tmp/from.err" replay "${rargs[@]}" --from "s$k" "$tmp/t"
	st=$?
	ev=$(sed -n 's/^rrvm: replay: at event \([0-9]*\) .*/\1/p' "$tmp/from.err")
	grep -q 'restored a snapshot' "$tmp/from.err" || { cat "$tmp/from.err"; fail "snapshot $k: not restored"; }
	[ "$st" = "$rst" ] || { cat "$tmp/from.err"; fail "replay --from s$k exited $st, the recording $rst"; }
	got=$(grep '^rrvm: final state:' "$tmp/from.err")
	[ "$got" = "$want" ] || fail "replay --from s$k (event $ev) final state '$got', full replay '$want'"
	"$RRVM" trace console --from "$ev" "$tmp/t" >"$tmp/want.out" || fail "trace console failed"
	cmp -s "$tmp/from.out" "$tmp/want.out" || { diff "$tmp/want.out" "$tmp/from.out" | head; fail "replay --from s$k: console from event $ev differs"; }
	echo "snapshot $k (event $ev): console and final state match"
done
echo "PASS: '$scenario' (status $rst): replay from each of $n snapshots matches the full replay: $want"
