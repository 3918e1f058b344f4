#!/usr/bin/env bash
# gdb-in-lane.sh: ctest linux_gdb_svm_lane: stock gdb debugs a replay of Debian's cloud kernel, forwards and backwards, in the SVM lane.
#
# Stages (each failure names its stage):
#   1 prerequisites   qemu-system-x86_64, cpio, busybox-static, gdb, python3  (missing: SKIPPED, exit 77)
#   2 fetch kernel    tools/fetch-linux.sh              (no apt/network and no cache: SKIPPED, 77)
#   3 initramfs       tools/linux-guest.sh --init tests/linux/init-gdb.sh (prints kallsyms lines, sysrq panic)
#   4 static rrvm     build-static/ (-DRRVM_STATIC=ON), or $RRVM_STATIC_BIN
#   5 bundle          tools/lane/e2e-bundle.sh (bash, gdb, python3 for the lane)
#   6 lane            tests/linux/gdb-lane.sh in the lane: record with nokaslr, System.map from the
#                     console, `rrvm replay --gdb --symbols System.map` from the event init started,
#                     gdb batch: break panic, continue, reverse-stepi out of panic, break
#                     sysrq_handle_crash, reverse-continue
#   7 check           every stop: RIP, symbol, instruction and `monitor when` position; panic's
#                     bytes as gdb reads them unchanged by its patch; forwards to the recorded end
#                     with the patches in place and no divergence
# The breakpoints are HLT patches: KVM's own do not fire in the lane (HOST.md).
# Environment: RRVM_LANE_TIMEOUT (default 900), RRVM_TEST_LOG (keep the lane log there).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
LANE_TIMEOUT=${RRVM_LANE_TIMEOUT:-900}
APPEND="console=ttyS0 nolapic lpj=9781808 panic=-1 nokaslr"
T0=$EPOCHREALTIME
el() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }
stage() { STAGE=$1; echo "=== gdb-in-lane [$(el)s]: stage $1"; }
fail() { echo "*** gdb-in-lane: FAILED at stage '$STAGE': $*" >&2; [[ -n ${LOG:-} ]] && echo "(lane log: $LOG)" >&2; exit 1; }
skip() {
  echo "***************************************************************" >&2
  echo "*** SKIPPED: $*" >&2
  echo "***************************************************************" >&2
  exit 77
}

stage "1 prerequisites"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (tools/install-deps.sh)"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed (tools/install-deps.sh)"
command -v gdb >/dev/null 2>&1 || skip "gdb not installed (tools/install-deps.sh)"
[[ -x /usr/bin/python3 ]] || skip "python3 not installed (tools/install-deps.sh)"
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
INITRD=$(tools/linux-guest.sh --init tests/linux/init-gdb.sh) || fail "tools/linux-guest.sh failed"

stage "4 static rrvm"
if [[ -n ${RRVM_STATIC_BIN:-} ]]; then
  RRVM=$RRVM_STATIC_BIN
  [[ -x $RRVM ]] || fail "RRVM_STATIC_BIN=$RRVM is not an executable"
else
  RRVM=$REPO/build-static/rrvm
  mkdir -p "$REPO/.cache"
  exec 9>"$REPO/.cache/build-static.lock"
  flock 9
  BLOG=$REPO/.cache/build-static.log
  if [[ ! -f build-static/CMakeCache.txt ]]; then
    cmake -S . -B build-static -DRRVM_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BLOG" 2>&1 \
      || { tail -n 40 "$BLOG" >&2; rm -rf build-static; fail "cmake configure of build-static failed (log above)"; }
  fi
  cmake --build build-static --target rrvm -j "$(nproc)" >"$BLOG" 2>&1 \
    || { tail -n 40 "$BLOG" >&2; fail "cmake --build build-static --target rrvm failed (log above)"; }
  flock -u 9
fi
readelf -l "$RRVM" 2>/dev/null | grep -q 'program interpreter' && fail "$RRVM is dynamically linked (configure with -DRRVM_STATIC=ON)"
LANE_RRVM=$(mktemp "${TMPDIR:-/tmp}/rrvm-lane.XXXXXX")
trap 'rm -f "$LANE_RRVM"' EXIT
strip --strip-debug -o "$LANE_RRVM" "$RRVM" 2>/dev/null || cp "$RRVM" "$LANE_RRVM"
chmod 0755 "$LANE_RRVM"

stage "5 bundle"
BUNDLE=$(tools/lane/e2e-bundle.sh) || fail "tools/lane/e2e-bundle.sh failed"

stage "6 lane"
LOG=${RRVM_TEST_LOG:-$(mktemp "${TMPDIR:-/tmp}/gdb-in-lane.XXXXXX.log")}
# Issue 3's lane hang (Linux's timer lost for good early in boot) had one cause,
# fixed: an interrupt injected at an MSR exit answered with #GP collided with the
# #GP and KVM dropped it (core/vcpu_loop.c, msr_gp_due). A hang now is a new
# bug: the run is still cut (rrvm then exits 8) and done once more, saying so
# loudly with the trace's last injections worth a look; a second hang fails.
for attempt in 1 2; do
  set +e
  tools/svm-lane --timeout "$LANE_TIMEOUT" --file "$BUNDLE:/" --file "$LANE_RRVM:/rrvm" \
      --file "$RRVM_LINUX_VMLINUZ:/vmlinuz" --file "$INITRD:/initrd.img" --file tests/linux/gdb-lane.sh:/gdb-lane.sh \
      -- "PATH=/usr/bin:\$PATH /usr/bin/bash /gdb-lane.sh '$APPEND'" >"$LOG" 2>&1
  rc=$?
  set -e
  if [[ $attempt == 1 && $rc == 126 ]]; then
    grep -a 'svm-lane: LANE WEDGED' "$LOG" >&2 || true
    echo "*** the svm-lane wedged (QEMU's emulated SVM stopped delivering the lane's interrupts: the" \
         "'LANE WEDGED' line above; not rrvm); running it again in a fresh lane, attempt 2 of 2" >&2
    continue
  fi
  if [[ $attempt == 1 ]] && grep -aq 'RRVM-GDB: record status 8' "$LOG"; then
    echo "*** UNEXPECTED HANG (issue 3's known cause is fixed): the guest hung in the lane and was" \
         "stopped; recording again, attempt 2 of 2" >&2
    continue
  fi
  break
done
grep -a 'RRVM-GDB\|^GDB|' "$LOG" || true
echo "=== gdb-in-lane [$(el)s]: lane exited $rc (log: $LOG)"

stage "7 check"
if [[ $rc != 0 ]]; then
  echo "--- the lane log's last 40 lines:" >&2
  tail -n 40 "$LOG" | tr -d '\r' | sed 's/^/| /' >&2
fi
[[ $rc == 126 ]] && fail "the SVM lane wedged twice (QEMU's emulated SVM; the 'LANE WEDGED' lines)"
[[ $rc == 125 ]] && fail "the SVM lane itself failed (see 'svm-lane: LANE FAILED' in the log)"
[[ $rc == 0 ]] || fail "the in-lane script exited $rc"
grep -aq 'RRVM-GDB: record status 5' "$LOG" || fail "the recording did not end with the panic's reboot (status 5)"
grep -aq 'Kernel panic - not syncing: sysrq triggered crash' "$LOG" || fail "the recording did not reach the sysrq panic"
grep -aq 'RRVM-GDB: gdb status 0' "$LOG" || fail "gdb failed"
g() { grep -a '^GDB| ' "$LOG" | sed 's/^GDB| //' | tr -d '\r'; }
val() { g | grep -a "^$1 " | tail -1 | cut -d' ' -f2; }
sysmap() { grep -a "^ffffffff[0-9a-f]* [tT] $1\$" "$LOG" | head -1 | cut -d' ' -f1 | tr -d '\r'; }
panic=$(sysmap panic); handler=$(sysmap sysrq_handle_crash)
[[ -n $panic && -n $handler ]] || fail "the guest's kallsyms lines (panic, sysrq_handle_crash) are not in the console"
[[ $(val PANIC_ADDR) == 0x$panic ]] || fail "gdb's panic is $(val PANIC_ADDR), the guest's kallsyms says 0x$panic"
[[ $(val HANDLER_ADDR) == 0x$handler ]] || fail "gdb's sysrq_handle_crash is $(val HANDLER_ADDR), kallsyms says 0x$handler"
echo "ok: gdb's symbols from the System.map: panic 0x$panic, sysrq_handle_crash 0x$handler"
bp1=$(g | sed -n 's/^Breakpoint 1 at \(0x[0-9a-f]*\)$/\1/p' | head -1)
pc=$(val PANIC_PC)
[[ -n $bp1 && $pc == "$bp1" ]] || fail "continue stopped at '$pc', not at breakpoint 1 ('$bp1')"
g | grep -aq "^Breakpoint 1, $bp1 in panic ()" || fail "gdb did not report breakpoint 1 in panic"
g | grep -aqx "panic\( + [0-9]*\)\? in section .text" || fail "the stop is not in panic"
w1=$(g | grep -a "^event [0-9]* of [0-9]*, rip $pc, hit 1 of that rip" | head -1)
[[ -n $w1 ]] || fail "monitor when at the panic breakpoint gives no position with rip $pc"
ev1=$(sed 's/^event \([0-9]*\) .*/\1/' <<<"$w1")
echo "ok: break panic + continue stops at $pc, event $ev1 (continue $(val T_CONTINUE) s)"
rsi=$(val RSI_PC)
g | grep -aqx "sysrq_handle_crash + [0-9]* in section .text" || fail "reverse-stepi out of panic is not in sysrq_handle_crash"
g | grep -aq "^=> $rsi <sysrq_handle_crash+[0-9]*>:.*call .*<panic>" || fail "reverse-stepi did not land on the call to panic ($rsi)"
w2=$(g | grep -a "^event [0-9]* of [0-9]*, rip $rsi, hit [0-9]* of that rip" | head -1)
[[ -n $w2 ]] || fail "monitor when after reverse-stepi gives no position with rip $rsi"
ev2=$(sed 's/^event \([0-9]*\) .*/\1/' <<<"$w2")
(( ev2 <= ev1 )) || fail "reverse-stepi went forwards in time (event $ev1 -> $ev2)"
echo "ok: reverse-stepi ($(val T_RSTEPI | head -1) s) lands on the call to panic at $rsi, event $ev2"
bp2=$(g | sed -n 's/^Breakpoint 2 at \(0x[0-9a-f]*\)$/\1/p' | head -1)
rc_pc=$(val RC_PC)
[[ -n $bp2 && $rc_pc == "$bp2" ]] || fail "reverse-continue stopped at '$rc_pc', not at breakpoint 2 ('$bp2')"
(( rc_pc >= 0x$handler && rc_pc < rsi )) || fail "breakpoint 2 ($rc_pc) is not in sysrq_handle_crash before the call ($rsi)"
g | grep -aq "^Breakpoint 2, $bp2 in sysrq_handle_crash ()" || fail "gdb did not report breakpoint 2"
w3=$(g | grep -a "^event [0-9]* of [0-9]*, rip $rc_pc, hit [0-9]* of that rip" | head -1)
[[ -n $w3 ]] || fail "monitor when after reverse-continue gives no position with rip $rc_pc"
ev3=$(sed 's/^event \([0-9]*\) .*/\1/' <<<"$w3")
(( ev3 <= ev2 )) || fail "reverse-continue went forwards in time (event $ev2 -> $ev3)"
echo "ok: reverse-continue ($(val T_RCONT) s) stops on sysrq_handle_crash at $rc_pc, event $ev3"
pre=$(val PRE_BYTES); at=$(val STOP_BYTES)
[[ -n $pre && $pre == "$at" && $pre != f4* ]] || fail "gdb saw panic's bytes change ($pre before, $at at the stop): the HLT patch is not hidden"
echo "ok: gdb reads panic's own bytes ($pre) before and at its breakpoint"
[[ $(val PANIC2_PC) == "$bp1" ]] || fail "forwards again: stopped at '$(val PANIC2_PC)', not at panic ($bp1)"
g | grep -aq 'diverged' && fail "the replay diverged with the breakpoints in place"
g | grep -aq "now at event $(sed 's/.* of \([0-9]*\),.*/\1/' <<<"$w1") (end of replay)" \
  || fail "continue with the breakpoints in place did not replay to the recorded end"
echo "ok: forwards again to panic and on to the recorded end, no divergence"
echo "=== gdb-in-lane [$(el)s]: PASSED"
[[ -z ${RRVM_TEST_LOG:-} ]] && rm -f "$LOG"
exit 0
