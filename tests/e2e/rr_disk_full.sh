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
# Room for the kernel copy and the header, and 8 KiB of events: `tasks` needs more.
kb=$(( ($(stat -c %s "$TESTKERNEL") + 1023) / 1024 + 12 ))
mount -t tmpfs -o size=${kb}k tmpfs "$tmp/small" 2>/dev/null || skip "cannot mount a tmpfs here"

run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/small/t" --kernel "$TESTKERNEL" --append tasks
st=$?
cat "$tmp/rec.err"
[ "$st" = 1 ] || fail "recording onto a full disk exited $st, expected 1 (monitor error)"
grep -q "recording stopped: events: out of space (No space left on device)" "$tmp/rec.err" || fail "no clear 'out of space' message"
n=$(sed -n 's/.*the trace holds every event up to \([0-9]*\).*/\1/p' "$tmp/rec.err" | head -1)
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "the recorder did not say up to which event the trace holds"

# The trace opens, says it is unfinished, and replays exactly those events.
"$RRVM" trace info "$tmp/small/t" >"$tmp/info" 2>&1
grep -q "unfinished\|incomplete" "$tmp/info" || { cat "$tmp/info"; fail "trace info does not say the trace is unfinished"; }
run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/small/t"
cat "$tmp/rep.err"
grep -q "diverged" "$tmp/rep.err" && fail "the prefix diverged"
grep -q "replayed end of the recorded prefix at event $n:" "$tmp/rep.err" ||
	fail "replay did not reach the recorded prefix's end (event $n)"
# What the replay printed is what the guest printed while recording, up to there.
head -c "$(stat -c %s "$tmp/rep.out")" "$tmp/rec.out" | cmp -s - "$tmp/rep.out" ||
	fail "the replayed console is not a prefix of the recorded one"
[ -s "$tmp/rep.out" ] || fail "the replay printed nothing"
# The guest stopped where the trace ends: the same machine state there.
[ "$(grep '^rrvm: final state:' "$tmp/rec.err")" = "$(grep '^rrvm: final state:' "$tmp/rep.err")" ] ||
	fail "the replay's final state differs from the recording's"
echo "PASS: disk full at event $n; the trace keeps and replays all $n events"
