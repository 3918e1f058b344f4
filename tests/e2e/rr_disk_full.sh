#!/usr/bin/env bash
# rr_disk_full.sh — recording onto a filesystem that fills up: the recorder stops the
# guest, keeps every event it accepted, says so, and the trace replays that prefix.
source "$(dirname "$0")/lib.sh"
need_kvm
[ "${1:-}" = inner ] || {
	# A private mount namespace, so the small tmpfs never outlives the test.
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here (not root?)"
	exec unshare -m bash "$0" inner
}
tmp=$(mktemp -d); trap 'umount "$tmp/small" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/small"
kernel_kb=$(( ($(stat -c %s "$TESTKERNEL") + 1023) / 1024 ))
# Trials: KiB of room beyond the kernel copy, and record options. 12 KiB holds the header
# and 8 KiB of events (`tasks` needs more); the snapshot trials fill up while snapshots
# are written too (a full snapshot of this guest is about 40 KiB).
trials=("12" "48" "160 --snapshot-every=100ms" "400 --snapshot-every=100ms")
total=0
for trial in "${trials[@]}"; do
	read -r room opts <<<"$trial"
	umount "$tmp/small" 2>/dev/null
	mount -t tmpfs -o size=$((kernel_kb + room))k tmpfs "$tmp/small" 2>/dev/null || skip "cannot mount a tmpfs here"
	what="room ${room} KiB${opts:+ $opts}"
	# shellcheck disable=SC2086
	run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/small/t" $opts --kernel "$TESTKERNEL" --append "tasks phases=400"
	st=$?
	sed "s/^/$what: /" "$tmp/rec.err"
	[ "$st" = 1 ] || fail "$what: recording onto a full disk exited $st, expected 1 (monitor error)"
	grep -q "recording stopped: events: out of space (No space left on device)" "$tmp/rec.err" ||
		fail "$what: no clear 'out of space' message"
	n=$(sed -n 's/.*the trace holds every event up to \([0-9]*\).*/\1/p' "$tmp/rec.err" | head -1)
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "$what: the recorder did not say up to which event the trace holds"

	# The trace opens, says it is unfinished, and replays exactly those events.
	"$RRVM" trace info "$tmp/small/t" >"$tmp/info" 2>&1
	grep -q "unfinished\|incomplete" "$tmp/info" || { cat "$tmp/info"; fail "$what: trace info does not say the trace is unfinished"; }
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/small/t"
	sed "s/^/$what: /" "$tmp/rep.err"
	grep -q "diverged" "$tmp/rep.err" && fail "$what: the prefix diverged"
	grep -q "replayed end of the recorded prefix at event $n:" "$tmp/rep.err" ||
		fail "$what: replay did not reach the recorded prefix's end (event $n)"
	# What the replay printed is what the guest printed while recording, up to there.
	head -c "$(stat -c %s "$tmp/rep.out")" "$tmp/rec.out" | cmp -s - "$tmp/rep.out" ||
		fail "$what: the replayed console is not a prefix of the recorded one"
	[ -s "$tmp/rep.out" ] || fail "$what: the replay printed nothing"
	# The guest stopped where the trace ends: the same machine state there.
	[ "$(grep '^rrvm: final state:' "$tmp/rec.err")" = "$(grep '^rrvm: final state:' "$tmp/rep.err")" ] ||
		fail "$what: the replay's final state differs from the recording's"
	# Every snapshot that was written is whole, and the last one replays to the end; a
	# snapshot the disk had no room for is the last one tried (the events keep the room).
	if [ -n "$opts" ]; then
		nt=$(grep -c "not taken: .*No space left" "$tmp/rec.err")
		[ "$nt" -le 1 ] || fail "$what: $nt snapshots tried after the disk was full"
		[ "$nt" = 0 ] || grep -q "no more snapshots in this recording (the disk is full)" "$tmp/rec.err" ||
			fail "$what: a snapshot hit the full disk, and the recorder did not say it stops taking them"
		"$RRVM" snapshot list "$tmp/small/t" >"$tmp/list" 2>&1 || { cat "$tmp/list"; fail "$what: snapshot list failed"; }
		last=$(grep -E "^[0-9]+ +[0-9]+ " "$tmp/list" | tail -1)
		[ -n "$last" ] || { cat "$tmp/list"; fail "$what: no snapshot was written"; }
		run_guest "$tmp/rs.out" "$tmp/rs.err" replay --quiet --from "s${last%% *}" "$tmp/small/t" ||
			{ cat "$tmp/rs.err"; fail "$what: replay --from s${last%% *} failed"; }
		grep -q "replayed end of the recorded prefix at event $n:" "$tmp/rs.err" ||
			fail "$what: replay from snapshot ${last%% *} did not reach event $n"
		echo "$what: $(grep -cE "^[0-9]+ +[0-9]+ " "$tmp/list") snapshots listed; replay --from s${last%% *} reached event $n"
	fi
	echo "$what: disk full at event $n; the trace keeps and replays all $n events"
	total=$((total + 1))
	rm -rf "$tmp/small/t"
done
echo "PASS: $total disk-full trials; each trace kept and replayed every event it accepted"
