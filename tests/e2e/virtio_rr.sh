#!/usr/bin/env bash
# virtio_rr.sh — the test kernel's virtio driver (blk, rng, console over PCI): live, recorded, replayed;
# the image is written by the recording (or its overlay), never by replay; rng bytes replay identically.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
{ printf 'RRVM-DISK-IMAGE!'; head -c $((8 * 1024 * 1024 - 16)) /dev/zero; } >"$img"
args=(--disk "$img" --rng --virtio-console --kernel "$TESTKERNEL" --append virtio)
tok() { grep -q -- "$2" "$1" || { cat "$1"; fail "missing '$2' in $1"; }; }

run_guest "$tmp/run.out" "$tmp/run.err" run "${args[@]}" || { cat "$tmp/run.out" "$tmp/run.err"; fail "run exited $?"; }
for t in "found blk at 00:01.0 irq 10" "found rng at 00:02.0 irq 11" "found console at 00:03.0 irq 9" \
	 "rng 32 bytes" "blk sector 0: RRVM-DISK-IMAGE!" "130-entry indirect table: ok" "blk wrote and read back sector 1" "flush status 0" \
	 "virtio-console: hello from the test kernel over hvc" "RRVM-TEST virtio: ok"; do
	tok "$tmp/run.out" "$t"
done

# Record writing the image in place (the trace keeps an undo journal).
before=$(sha256sum <"$img")
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" "${args[@]}" || { cat "$tmp/rec.err"; fail "record failed"; }
tok "$tmp/rec.out" "RRVM-TEST virtio: ok"
after=$(sha256sum <"$img")
[ "$before" != "$after" ] || fail "the recording's write did not reach the image"
line=$(grep -o 'RRVM-WRITE [0-9a-f]*' "$tmp/rec.out" | head -1)
rng=$(grep -o 'rng 32 bytes [0-9a-f]*' "$tmp/rec.out" | awk '{print $4}')
[ "${line#RRVM-WRITE }" = "${rng:0:16}" ] || fail "sector 1 does not carry the rng bytes ($line vs $rng)"
grep -aq "$line" "$img" || fail "the recorded write ($line) is not in the image"
[ -s "$tmp/t/disk.undo" ] || fail "no undo journal in the trace"
"$RRVM" trace dump --kind dma "$tmp/t" >"$tmp/dma" || fail "trace dump failed"
grep -q dma "$tmp/dma" || { cat "$tmp/dma"; fail "the rng bytes are not in the trace (TR_DMA)"; }
recstate=$(grep 'final state' "$tmp/rec.err")
for i in 1 2; do
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay --disk "$img" "$tmp/t" || { cat "$tmp/rep.err"; fail "replay $i exited $?"; }
	cmp -s "$tmp/rec.out" "$tmp/rep.out" || { diff "$tmp/rec.out" "$tmp/rep.out"; fail "replay $i console differs"; }
	[ "$(grep 'final state' "$tmp/rep.err")" = "$recstate" ] || fail "replay $i ended in another state"
	[ "$(sha256sum <"$img")" = "$after" ] || fail "replay $i modified the image"
done

# A changed image is refused; a missing --disk is explained.
cp "$img" "$tmp/changed.img"; printf X | dd of="$tmp/changed.img" bs=1 seek=4096 conv=notrunc 2>/dev/null
run_guest "$tmp/x.out" "$tmp/x.err" replay --disk "$tmp/changed.img" "$tmp/t" && fail "replay accepted a changed image"
grep -q "has changed since it was recorded" "$tmp/x.err" || { cat "$tmp/x.err"; fail "no clear message for a changed image"; }
run_guest "$tmp/x.out" "$tmp/x.err" replay "$tmp/t" && fail "replay ran without the disk"
grep -q "give its image with --disk" "$tmp/x.err" || { cat "$tmp/x.err"; fail "no clear message without --disk"; }

# Record into an overlay: the image stays as it is, the overlay has the write.
before=$(sha256sum <"$img")
run_guest "$tmp/rec2.out" "$tmp/rec2.err" record -o "$tmp/t2" --disk-overlay "$tmp/ovl.img" "${args[@]}" ||
	{ cat "$tmp/rec2.err"; fail "record with overlay failed"; }
[ "$(sha256sum <"$img")" = "$before" ] || fail "recording with --disk-overlay wrote the image"
line=$(grep -o 'RRVM-WRITE [0-9a-f]*' "$tmp/rec2.out" | head -1)
grep -aq "$line" "$tmp/ovl.img" || fail "the recorded write is not in the overlay"
run_guest "$tmp/rep2.out" "$tmp/rep2.err" replay --disk "$img" "$tmp/t2" || { cat "$tmp/rep2.err"; fail "overlay replay failed"; }
cmp -s "$tmp/rec2.out" "$tmp/rep2.out" || fail "overlay replay console differs"
[ "$(sha256sum <"$img")" = "$before" ] || fail "replay modified the image"
echo "PASS: virtio blk/rng/console run, record (in place and overlay) and replay identically; replay never writes the disk"
