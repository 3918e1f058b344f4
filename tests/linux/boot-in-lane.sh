#!/usr/bin/env bash
# boot-in-lane.sh: ctest linux_boot_svm_lane: a static rrvm boots Debian's cloud kernel + busybox initramfs inside the SVM lane.
#
# Usage: tests/linux/boot-in-lane.sh [--variant boot|rr] [--record-replay N]
#   --record-replay N: record the guest with `rrvm record`, then `rrvm replay` it
#   N times in the same lane; every replay's console must be byte-identical to
#   the recording's and end with the same status.
#
# Stages (each failure names its stage):
#   1 prerequisites   qemu-system-x86_64, cpio, busybox-static   (missing: SKIPPED, exit 77)
#   2 fetch kernel    tools/fetch-linux.sh              (no apt/network and no cache: SKIPPED, 77)
#   3 initramfs       tools/linux-guest.sh (tests/linux/init-boot.sh as /init)
#   4 static rrvm     cmake -S . -B build-static -DRRVM_STATIC=ON, target rrvm
#                     (or $RRVM_STATIC_BIN if set)
#   5 lane            tools/svm-lane --file rrvm --file vmlinuz --file initrd --
#                       /rrvm run --kernel /vmlinuz --initrd /initrd.img --append "..." --mem 256M
#   6 check           "RRVM-LINUX: init reached" on the console and rrvm exit status 0
# Environment: RRVM_LANE_TIMEOUT (seconds for the lane, default 300),
#   RRVM_LINUX_APPEND (inner kernel command line), RRVM_TEST_LOG (where to keep the console log).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
VARIANT=boot
REPLAYS=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --variant) VARIANT=$2; shift 2 ;;
    --record-replay) REPLAYS=$2; shift 2 ;;
    *) echo "boot-in-lane: unknown argument $1" >&2; exit 2 ;;
  esac
done
LANE_TIMEOUT=${RRVM_LANE_TIMEOUT:-300}
APPEND=${RRVM_LINUX_APPEND:-console=ttyS0 nolapic lpj=9781808 panic=-1}
# Recording and replaying take a few times longer than one boot.
[[ $REPLAYS != 0 && -z ${RRVM_LANE_TIMEOUT:-} ]] && LANE_TIMEOUT=$((300 + 120 * REPLAYS))
T0=$EPOCHREALTIME
el() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }
stage() { STAGE=$1; echo "=== boot-in-lane [$(el)s]: stage $1"; }
fail() { echo "*** boot-in-lane: FAILED at stage '$STAGE': $*" >&2; exit 1; }
skip() {
  echo "***************************************************************" >&2
  echo "*** SKIPPED: $*" >&2
  echo "***************************************************************" >&2
  exit 77
}

stage "1 prerequisites"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (tools/install-deps.sh)"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed (tools/install-deps.sh)"
if [[ ! -x /bin/busybox ]] || readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
  skip "busybox-static not installed (tools/install-deps.sh)"
fi

stage "2 fetch kernel"
set +e
ENVTXT=$(tools/fetch-linux.sh); rc=$?
set -e
[[ $rc == 69 ]] && skip "cannot fetch Debian's cloud kernel (no apt metadata/network) and none is cached"
[[ $rc == 0 ]] || fail "tools/fetch-linux.sh exited $rc"
eval "$ENVTXT"
echo "kernel: $RRVM_LINUX_PACKAGE $RRVM_LINUX_PKG_VERSION ($RRVM_LINUX_VMLINUZ)"

stage "3 initramfs"
INITRD=$(tools/linux-guest.sh --variant "$VARIANT") || fail "tools/linux-guest.sh failed"
echo "initramfs: $INITRD"

stage "4 static rrvm"
if [[ -n ${RRVM_STATIC_BIN:-} ]]; then
  RRVM=$RRVM_STATIC_BIN
  [[ -x $RRVM ]] || fail "RRVM_STATIC_BIN=$RRVM is not an executable"
else
  RRVM=$REPO/build-static/rrvm
  # Serialise concurrent builders of build-static (other lane tests).
  mkdir -p "$REPO/.cache"
  exec 9>"$REPO/.cache/build-static.lock"
  flock 9
  BLOG=$REPO/.cache/build-static.log
  if [[ ! -f build-static/CMakeCache.txt ]]; then
    echo "configuring build-static/ (-DRRVM_STATIC=ON)"
    cmake -S . -B build-static -DRRVM_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BLOG" 2>&1 \
      || { tail -n 40 "$BLOG" >&2; rm -rf build-static; fail "cmake configure of build-static failed (log above)"; }
  fi
  # cmake --build is incremental: it rebuilds only when sources are newer than the binary.
  cmake --build build-static --target rrvm -j "$(nproc)" >"$BLOG" 2>&1 \
    || { tail -n 40 "$BLOG" >&2; fail "cmake --build build-static --target rrvm failed (log above)"; }
  [[ -x $RRVM ]] || fail "build succeeded but $RRVM does not exist"
  flock -u 9
fi
if readelf -l "$RRVM" 2>/dev/null | grep -q 'program interpreter'; then
  fail "$RRVM is dynamically linked; the lane has no libc (configure with -DRRVM_STATIC=ON)"
fi
echo "rrvm: $RRVM ($(stat -c %s "$RRVM") bytes)"
# Debug info only slows the lane's initramfs down: ship a stripped copy.
LANE_RRVM=$(mktemp "${TMPDIR:-/tmp}/rrvm-lane.XXXXXX")
trap 'rm -f "$LANE_RRVM"' EXIT
if ! strip --strip-debug -o "$LANE_RRVM" "$RRVM" 2>/dev/null; then cp "$RRVM" "$LANE_RRVM"; fi
chmod 0755 "$LANE_RRVM"

stage "5 lane"
LOG=${RRVM_TEST_LOG:-$(mktemp "${TMPDIR:-/tmp}/boot-in-lane.XXXXXX.log")}
GUEST="--kernel /vmlinuz --initrd /initrd.img --append \"$APPEND\" --mem 256M"
if [[ $REPLAYS == 0 ]]; then
  CMD="T=; command -v timeout >/dev/null && T='timeout -s INT 240'
\$T /rrvm run $GUEST"
else
  # Record, then replay N times; the lane's exit status is the recording's.
  CMD="T=; command -v timeout >/dev/null && T='timeout -s INT 300'
\$T /rrvm record --stats -o /tmp/trace $GUEST >/tmp/rec.out 2>/tmp/rec.err; rst=\$?
cat /tmp/rec.out /tmp/rec.err; echo RRVM-RR: record status \$rst
i=1; while [ \$i -le $REPLAYS ]; do
  /rrvm replay /tmp/trace >/tmp/rep.out 2>/tmp/rep.err; st=\$?
  grep -E '^rrvm: (replay|final|replayed)' /tmp/rep.err
  if cmp -s /tmp/rec.out /tmp/rep.out; then same=identical; else same=DIFFERS; diff /tmp/rec.out /tmp/rep.out | head -20; fi
  echo RRVM-RR: replay \$i status \$st console \$same
  i=\$((i + 1))
done
/rrvm trace info /tmp/trace | grep -E '^(events|records|landmarks|deferrals|events file|compression|rdtsc|stop)'
exit \$rst"
fi
echo "lane command: $CMD"
# Issue 3's lane hang (Linux's timer lost for good early in boot) had one cause,
# fixed: an interrupt injected at an MSR exit answered with #GP collided with the
# #GP and KVM dropped it (core/vcpu_loop.c, msr_gp_due). A hang now is a new
# bug: the run is still cut (rrvm then exits 8) and done once more, saying so
# loudly with the trace's last injections worth a look; a second hang fails.
for attempt in 1 2; do
  set +e
  tools/svm-lane --timeout "$LANE_TIMEOUT" \
      --file "$LANE_RRVM:/rrvm" --file "$RRVM_LINUX_VMLINUZ:/vmlinuz" --file "$INITRD:/initrd.img" \
      -- "$CMD" 2>&1 | tee "$LOG"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $attempt == 1 && $rc == 126 ]]; then
    echo "*** the svm-lane wedged (QEMU's emulated SVM stopped delivering the lane's interrupts: the" \
         "'LANE WEDGED' line above; not rrvm); running it again in a fresh lane, attempt 2 of 2" >&2
    continue
  fi
  hung=0
  if [[ $REPLAYS == 0 ]]; then [[ $rc == 8 ]] && hung=1
  else grep -q 'RRVM-RR: record status 8' "$LOG" && hung=1; fi
  if [[ $attempt == 1 && $hung == 1 ]]; then
    echo "*** UNEXPECTED HANG (issue 3's known cause is fixed): the guest hung in the lane and was" \
         "stopped; running it again, attempt 2 of 2" >&2
    continue
  fi
  break
done
echo "=== boot-in-lane [$(el)s]: lane exited $rc (console log: $LOG)"

stage "6 check"
[[ $rc == 126 ]] && fail "the SVM lane wedged twice (QEMU's emulated SVM; the 'LANE WEDGED' lines)"
[[ $rc == 125 ]] && fail "the SVM lane itself failed (see 'svm-lane: LANE FAILED' above)"
grep -q 'RRVM-LINUX: init reached' "$LOG" \
  || fail "no 'RRVM-LINUX: init reached' token: the inner Linux never ran /init (rrvm exit $rc)"
if [[ $VARIANT == boot ]]; then
  [[ $rc == 0 ]] || fail "rrvm exited $rc (expected 0 after the guest's poweroff)"
fi
if [[ $REPLAYS != 0 ]]; then
  rst=$(sed -n 's/.*RRVM-RR: record status \([0-9]*\).*/\1/p' "$LOG" | tr -d '\r')
  [[ -n $rst ]] || fail "the recording did not finish"
  n=$(grep -c "RRVM-RR: replay [0-9]* status $rst console identical" "$LOG" || true)
  [[ $n == "$REPLAYS" ]] || fail "only $n of $REPLAYS replays ended with status $rst and an identical console"
  # The recording's final state line comes first; every replay must print the same one.
  nfs=$(grep -a '^rrvm: final state:' "$LOG" | tr -d '\r' | sort | uniq -c | awk '{print $1}')
  [[ $nfs == $((REPLAYS + 1)) ]] \
    || { grep -a '^rrvm: final state:' "$LOG" >&2; fail "final states differ between the recording and its replays (or one is missing)"; }
  if [[ $VARIANT == rr ]]; then
    grep -q 'Kernel panic - not syncing: sysrq triggered crash' "$LOG" || fail "the recording did not reach the sysrq panic"
  fi
  echo "=== boot-in-lane: recorded (status $rst) and replayed $n/$REPLAYS times with byte-identical consoles and final states"
fi
echo "=== boot-in-lane [$(el)s]: PASSED"
[[ -z ${RRVM_TEST_LOG:-} ]] && rm -f "$LOG"
exit 0
