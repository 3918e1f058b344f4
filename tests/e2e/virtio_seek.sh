#!/usr/bin/env bash
# virtio_seek.sh — a replay session over a virtio recording (disk writes, rng) seeks back and forth by
# restoring snapshots: queue state and replay's disk write log rewind with RAM; every stop equals a straight replay.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
{ printf 'RRVM-DISK-IMAGE!'; head -c $((8 * 1024 * 1024 - 16)) /dev/zero; } >"$img"
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" --disk "$img" --rng --virtio-console \
	--kernel "$TESTKERNEL" --append "virtio mib=1" || { cat "$tmp/rec.err"; fail "record failed"; }
n=$("$RRVM" trace info "$tmp/t" | awk '/^events/ {print $2; exit}')
[ -n "$n" ] && [ "$n" -gt 100 ] || fail "cannot read the exit count ($n)"
SESSION_SEEK_DISK=$img timeout 300 "$SESSION_SEEK" "$tmp/t" $((n / 2)) $((n / 4)) $((3 * n / 4)) 1 $((n / 3)) 0 "$n" \
	$((n / 2)) $((n - 1)) >"$tmp/seek.out" 2>"$tmp/seek.err" || { cat "$tmp/seek.out" "$tmp/seek.err"; fail "seeking diverged"; }
cat "$tmp/seek.out"
echo "PASS: 9 seeks over $n virtio events match a straight replay"
