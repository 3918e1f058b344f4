#!/usr/bin/env bash
# virtio-in-lane.sh: Debian's cloud kernel on rrvm's virtio devices in the SVM lane: mount an ext4 disk made by
# tools/mkdisk.sh, write and read files, sync, read /dev/hwrng, write hvc0, power off — recorded, then replayed.
#
# Usage: tests/linux/virtio-in-lane.sh [--replays N]   (default 2)
# Checks: the recording reaches every token and powers off (status 0); each replay has a byte-identical
# console and status; the image hash after recording (writes in place, undo journal in the trace) is unchanged
# by every replay; the guest's file is in the image afterwards; hwrng bytes equal in record and replay
# (part of the console). Environment: RRVM_LANE_TIMEOUT (default 900), RRVM_STATIC_BIN, RRVM_TEST_LOG.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
REPLAYS=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --replays) REPLAYS=$2; shift 2 ;;
    *) echo "virtio-in-lane: unknown argument $1" >&2; exit 2 ;;
  esac
done
LANE_TIMEOUT=${RRVM_LANE_TIMEOUT:-900}
APPEND="console=ttyS0 nolapic lpj=9781808 panic=-1"
STAGE=""
stage() { STAGE=$1; echo "=== virtio-in-lane: stage $1"; }
fail() { echo "*** virtio-in-lane: FAILED at stage '$STAGE': $*" >&2; exit 1; }
skip() { echo "*** SKIPPED: $*" >&2; exit 77; }

stage "1 prerequisites"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (tools/install-deps.sh)"
command -v mkfs.ext4 >/dev/null 2>&1 || [[ -x /usr/sbin/mkfs.ext4 ]] || skip "mkfs.ext4 not installed (e2fsprogs)"
set +e; ENVTXT=$(tools/fetch-linux.sh); rc=$?; set -e
[[ $rc == 69 ]] && skip "cannot fetch Debian's cloud kernel and none is cached"
[[ $rc == 0 ]] || fail "tools/fetch-linux.sh exited $rc"
eval "$ENVTXT"
for c in VIRTIO_PCI VIRTIO_BLK HW_RANDOM_VIRTIO VIRTIO_CONSOLE EXT4_FS; do
  echo "kernel config: $(grep -E "^CONFIG_$c=" "$RRVM_LINUX_CONFIG" || echo "CONFIG_$c unset")"
done

stage "2 initramfs and disk"
M=$RRVM_LINUX_MODULES/kernel/drivers
files=()
for f in virtio/virtio.ko virtio/virtio_ring.ko virtio/virtio_pci_modern_dev.ko virtio/virtio_pci_legacy_dev.ko \
         virtio/virtio_pci.ko block/virtio_blk.ko char/hw_random/virtio-rng.ko char/virtio_console.ko; do
  [[ -f $M/$f ]] || fail "module $f not in $M"
  files+=(--file "$M/$f:/lib/modules/$(basename "$f")")
done
INITRD=$(tools/linux-guest.sh --init tests/linux/init-virtio.sh "${files[@]}") || fail "tools/linux-guest.sh failed"
DISK=$(mktemp "${TMPDIR:-/tmp}/virtio-disk.XXXXXX.img")
LANE_RRVM=$(mktemp "${TMPDIR:-/tmp}/rrvm-lane.XXXXXX")
trap 'rm -f "$DISK" "$LANE_RRVM"' EXIT
tools/mkdisk.sh -o "$DISK" --size 32M >/dev/null || fail "tools/mkdisk.sh failed"

stage "3 static rrvm"
RRVM=${RRVM_STATIC_BIN:-$REPO/build-static/rrvm}
if [[ -z ${RRVM_STATIC_BIN:-} ]]; then
  [[ -f build-static/CMakeCache.txt ]] ||
    cmake -S . -B build-static -DRRVM_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-static --target rrvm -j2 >/dev/null || fail "static build failed"
fi
strip --strip-debug -o "$LANE_RRVM" "$RRVM" 2>/dev/null || cp "$RRVM" "$LANE_RRVM"
chmod 0755 "$LANE_RRVM"

stage "4 lane"
LOG=${RRVM_TEST_LOG:-$(mktemp "${TMPDIR:-/tmp}/virtio-in-lane.XXXXXX.log")}
GUEST="--kernel /vmlinuz --initrd /initrd.img --append \"$APPEND\" --mem 256M --disk /disk.img --rng --virtio-console"
CMD="echo RRVM-RR: image before \$(sha256sum /disk.img)
T=; command -v timeout >/dev/null && T='timeout -s INT 300'
{ \$T /rrvm record --stats -o /tmp/trace $GUEST 2>/tmp/rec.err; echo \$? >/tmp/rst; } | tee /tmp/rec.out
rst=\$(cat /tmp/rst); cat /tmp/rec.err; echo RRVM-RR: record status \$rst
after=\$(sha256sum /disk.img | cut -d' ' -f1); echo RRVM-RR: image after record \$after
echo RRVM-RR: written in image \$(grep -c RRVM-WRITTEN /disk.img)
echo RRVM-RR: undo journal \$(wc -c </tmp/trace/disk.undo) bytes
i=1; while [ \$i -le $REPLAYS ]; do
  /rrvm replay --stats --disk /disk.img /tmp/trace >/tmp/rep.out 2>/tmp/rep.err; st=\$?
  grep -E '^rrvm: (replay|final|replayed|[0-9]+ guest)' /tmp/rep.err
  if cmp -s /tmp/rec.out /tmp/rep.out; then same=identical; else same=DIFFERS; diff /tmp/rec.out /tmp/rep.out | head -20; fi
  h=\$(sha256sum /disk.img | cut -d' ' -f1); if [ \"\$h\" = \"\$after\" ]; then img=unchanged; else img=CHANGED; fi
  echo RRVM-RR: replay \$i status \$st console \$same image \$img
  i=\$((i + 1))
done
/rrvm trace info /tmp/trace | grep -E '^(events|records|dma|stop)'; exit \$rst"
# Issue 3's lane hang (Linux's timer lost for good early in boot) had one cause,
# fixed: an interrupt injected at an MSR exit answered with #GP collided with the
# #GP and KVM dropped it (core/vcpu_loop.c, msr_gp_due). A hang now is a new
# bug: the run is still cut (rrvm then exits 8) and done once more, saying so
# loudly with the trace's last injections worth a look; a second hang fails.
for attempt in 1 2; do
  set +e
  tools/svm-lane --timeout "$LANE_TIMEOUT" --file "$LANE_RRVM:/rrvm" --file "$RRVM_LINUX_VMLINUZ:/vmlinuz" \
    --file "$INITRD:/initrd.img" --file "$DISK:/disk.img" -- "$CMD" 2>&1 | tee "$LOG"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $attempt == 1 && $rc == 126 ]]; then
    echo "*** the svm-lane wedged (QEMU's emulated SVM stopped delivering the lane's interrupts: the" \
         "'LANE WEDGED' line above; not rrvm); running it again in a fresh lane, attempt 2 of 2" >&2
    continue
  fi
  if [[ $attempt == 1 ]] && grep -q 'RRVM-RR: record status 8' "$LOG"; then
    echo "*** UNEXPECTED HANG (issue 3's known cause is fixed): the recording hung in the lane;" \
         "recording again, attempt 2 of 2" >&2
    continue
  fi
  break
done

stage "5 check"
[[ $rc == 126 ]] && fail "the SVM lane wedged twice (QEMU's emulated SVM; the 'LANE WEDGED' lines)"
[[ $rc == 125 ]] && fail "the SVM lane itself failed"
for t in "RRVM-LINUX: modules loaded" "RRVM-LINUX: /dev/vda present" "RRVM-LINUX: mounted" \
         "RRVM-LINUX: read: RRVM-DISK: hello" "RRVM-LINUX: wrote: RRVM-WRITTEN" "RRVM-LINUX: unmounted" \
         "RRVM-LINUX: hwrng done" "RRVM-HVC: hello from Linux over virtio-console" "RRVM-RR: record status 0"; do
  grep -q "$t" "$LOG" || fail "missing '$t' (lane exit $rc)"
done
grep -q "RRVM-RR: written in image [1-9]" "$LOG" || fail "the guest's file is not in the image after recording"
n=$(grep -c "RRVM-RR: replay [0-9]* status 0 console identical image unchanged" "$LOG" || true)
[[ $n == "$REPLAYS" ]] || fail "only $n of $REPLAYS replays had status 0, an identical console and an unchanged image"
echo "=== virtio-in-lane: PASSED (recorded, replayed $n times identically; console log $LOG)"
