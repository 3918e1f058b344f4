#!/usr/bin/env bash
# linux-lane.sh: rrvm vs QEMU -enable-kvm booting Debian's cloud kernel + busybox initramfs, in ONE svm-lane run.
#
# Usage: bench/linux-lane.sh [--runs N] [--commit REV | --build DIR] [--timeout S]
#
#   --runs N      boots per monitor (default 3), alternating rrvm / QEMU (the order
#                 flips every run)
#   --build DIR   static rrvm build directory (default build-static, as
#                 tests/linux/boot-in-lane.sh: -DRRVM_STATIC=ON, built incrementally
#                 under .cache/build-static.lock); RRVM_STATIC_BIN=path skips the build
#   --commit REV  build the static rrvm from commit REV instead (git archive into
#                 .cache/bench/<sha>/src, built in .cache/bench/<sha>/build-static):
#                 other people's uncommitted edits stay out of the figures
#   --timeout S   limit for the whole lane (default 400)
#
# Inside one tools/svm-lane run (kvm_amd on QEMU-emulated SVM), each boot is
#   rrvm:  /rrvm run --stats --kernel /vmlinuz --initrd /initrd.img --mem 256M --append A
#   QEMU:  qemu-system-x86_64 -enable-kvm -machine pc,kernel-irqchip=off
#          -cpu host,-apic,-x2apic,-tsc-deadline,-rdtscp,-rdrand,-rdseed,kvm=off,-kvmclock
#          -no-hpet -m 256 -smp 1 -nodefaults -display none -serial stdio -monitor none
#          -no-reboot -kernel /vmlinuz -initrd /initrd.img -append A
#   A = console=ttyS0 nolapic lpj=9781808 panic=-1
# with the initramfs of tools/linux-guest.sh --variant boot (prints, then poweroff -f).
# Times come from the lane's /proc/uptime (10 ms resolution): t0 just before the
# monitor starts; each console line is stamped as it arrives by a busybox awk on
# the monitor's stdout (the guest console; stderr goes to a file); "init" is the `Run /init as init process`
# line, "exit" the moment the monitor process has ended.
# rrvm boots the bzImage directly (decompressed on the host, no firmware, no
# in-guest decompressor); QEMU goes through SeaBIOS, linuxboot and the kernel's
# own LZ4 decompressor.
# Prints Markdown tables (median, min-max, runs) and rrvm/QEMU ratios on stdout.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_repo

RUNS=3 BUILD=build-static TIMEOUT=400 COMMIT="" SRC=.
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --commit) COMMIT=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "linux-lane.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "linux-lane.sh: --runs wants a positive number" >&2; exit 2; }
say() { echo "linux-lane.sh: $*" >&2; }

if [[ -n $COMMIT ]]; then
  SRC=$(bench_export "$COMMIT") || { say "cannot export $COMMIT"; exit 1; }
  BUILD=$(dirname "$SRC")/build-static
fi
eval "$(tools/fetch-linux.sh --quiet)"
INITRD=$(tools/linux-guest.sh --variant boot 2>/dev/null)
BUNDLE=$(tools/lane/qemu-bundle.sh)

# Static rrvm: the same build as tests/linux/boot-in-lane.sh (stage 4), same lock.
if [[ -n ${RRVM_STATIC_BIN:-} ]]; then
  RRVM=$RRVM_STATIC_BIN
else
  RRVM=$BUILD/rrvm
  mkdir -p .cache
  exec 9>.cache/build-static.lock
  flock 9
  { [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$SRC" -B "$BUILD" -DRRVM_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >.cache/bench-static.log 2>&1 \
    && cmake --build "$BUILD" --target rrvm -j "$(nproc)" >>.cache/bench-static.log 2>&1 \
    || { tail -n 30 .cache/bench-static.log >&2; say "static build failed"; exit 1; }
  flock -u 9
fi
readelf -l "$RRVM" 2>/dev/null | grep -q 'program interpreter' && { say "$RRVM is not static"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/linux-lane.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
strip --strip-debug -o "$WORK/rrvm" "$RRVM" 2>/dev/null || cp "$RRVM" "$WORK/rrvm"
chmod 0755 "$WORK/rrvm"

cat >"$WORK/bench.sh" <<EOF
#!/bin/sh
RUNS=$RUNS
A='console=ttyS0 nolapic lpj=9781808 panic=-1'
Q='-machine pc,kernel-irqchip=off -cpu host,-apic,-x2apic,-tsc-deadline,-rdtscp,-rdrand,-rdseed,kvm=off,-kvmclock -no-hpet'
EOF
cat >>"$WORK/bench.sh" <<'EOF'
one() {
  mon=$1 i=$2 log=/tmp/$1.$2.log
  rm -f /tmp/rc
  read t0 _ </proc/uptime
  if [ "$mon" = rrvm ]; then
    { /rrvm run --stats --kernel /vmlinuz --initrd /initrd.img --mem 256M --append "$A" </dev/null 2>/tmp/err; echo $? >/tmp/rc; }
  else
    { qemu-system-x86_64 -enable-kvm $Q -m 256 -smp 1 -nodefaults -display none -serial stdio -monitor none -no-reboot \
        -kernel /vmlinuz -initrd /initrd.img -append "$A" </dev/null 2>/tmp/err; echo $? >/tmp/rc; }
  fi | awk '{ getline u < "/proc/uptime"; close("/proc/uptime"); split(u, a, " "); print a[1], $0 }' >"$log"
  read t1 _ </proc/uptime
  rc=$(cat /tmp/rc 2>/dev/null || echo '?')
  ti=$(grep -m1 'Run /init as init process' "$log" | cut -d' ' -f1)
  tf=$(head -n1 "$log" | cut -d' ' -f1)
  ok=0; grep -q 'RRVM-LINUX: init reached' "$log" && ok=1
  echo "BENCH-LANE mon=$mon run=$i t0=$t0 first=${tf:--} init=${ti:--} exit=$t1 rc=$rc ok=$ok"
  grep -m1 'guest-caused exits' /tmp/err | sed 's/^/BENCH-STATS /'
  if [ $ok = 0 ]; then echo "BENCH-FAIL $mon run $i, last lines:"; tail -n 15 "$log"; tail -n 5 /tmp/err; fi
}
i=1
while [ $i -le $RUNS ]; do
  if [ $((i % 2)) = 1 ]; then one rrvm $i; one qemu $i; else one qemu $i; one rrvm $i; fi
  i=$((i+1))
done
EOF

say "$RUNS boots each of rrvm ($RRVM) and QEMU -enable-kvm in one lane (kernel $RRVM_LINUX_KVER)"
LOG=$WORK/lane.log
T0=$EPOCHREALTIME
set +e
tools/svm-lane --timings --timeout "$TIMEOUT" --file "$BUNDLE:/" --file "$WORK/rrvm:/rrvm" \
  --file "$RRVM_LINUX_VMLINUZ:/vmlinuz" --file "$INITRD:/initrd.img" --file "$WORK/bench.sh:/bench.sh" \
  -- 'sh /bench.sh' >"$LOG" 2>"$WORK/lane.err"
rc=$?
set -e
LANE_S=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
grep -E '^BENCH-(LANE|STATS|FAIL)' "$LOG" | sed 's/^/linux-lane.sh: /' >&2 || true
[[ $rc == 0 ]] || { say "svm-lane exited $rc"; tail -n 20 "$WORK/lane.err" >&2; tail -n 30 "$LOG" >&2; }

echo "## bench/linux-lane.sh, $RUNS boots per monitor in one svm-lane run"
echo
bench_context ${COMMIT:+"$COMMIT"}
echo "- rrvm: static, $RRVM"
echo "- guest: Debian $RRVM_LINUX_PACKAGE ($RRVM_LINUX_PKG_VERSION), initramfs \`tools/linux-guest.sh --variant boot\`"
echo "- lane: \`tools/svm-lane\` (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, -cpu EPYC,+svm,+npt, 1 vCPU; real kvm_amd inside); whole lane run ${LANE_S} s, $(grep -o 'timings:.*' "$WORK/lane.err" || echo 'no timings')"
echo
python3 -c "$BENCH_STATS_PY"'
import re, sys
runs = int(sys.argv[1]); lane_rc = sys.argv[2]
d = {"rrvm": {"first": [], "init": [], "exit": [], "rc": [], "eps": [], "exits": []}, "qemu": {"first": [], "init": [], "exit": [], "rc": [], "eps": [], "exits": []}}
pairs = {}
last = None; bad = 0
for l in open(sys.argv[3], errors="replace"):
    if l.startswith("BENCH-LANE "):
        kv = dict(x.split("=", 1) for x in l.split()[1:])
        m = kv["mon"]; last = m
        t0 = float(kv["t0"])
        g = lambda k: float(kv[k]) - t0 if kv[k] not in ("-", "") else None
        d[m]["first"].append(g("first")); d[m]["init"].append(g("init")); d[m]["exit"].append(g("exit"))
        d[m]["rc"].append(kv["rc"])
        if kv["ok"] != "1": bad += 1
        pairs.setdefault(kv["run"], {})[m] = (g("init"), g("exit"))
    elif l.startswith("BENCH-STATS ") and last == "rrvm":
        mm = re.search(r"(\d+) guest-caused exits in ([0-9.]+) s guest time .*, (\d+) exits/s", l)
        if mm:
            d["rrvm"]["exits"].append(int(mm.group(1))); d["rrvm"]["eps"].append(int(mm.group(3)))
ri = [p["rrvm"][0] / p["qemu"][0] for p in pairs.values() if "rrvm" in p and "qemu" in p and p["rrvm"][0] and p["qemu"][0]]
rx = [p["rrvm"][1] / p["qemu"][1] for p in pairs.values() if "rrvm" in p and "qemu" in p]
name = {"rrvm": "rrvm (direct bzImage boot)", "qemu": "QEMU -enable-kvm (SeaBIOS + decompressor)"}
print("| monitor | first console line, s | `Run /init as init process`, s | exit, s | exit status | boots |")
print("|---|---|---|---|---|---|")
for m in ("rrvm", "qemu"):
    x = d[m]
    print("| %s | %s | %s | %s | %s | %d |" % (name[m], cell(x["first"], "s"), cell(x["init"], "s"), cell(x["exit"], "s"),
        ",".join(sorted(set(x["rc"]))) or "-", len(x["exit"])))
print()
mi = lambda m, k: summ(d[m][k])[0]
rat = lambda a, b: fmt(a / b, "x") if a and b else "-"
print("| ratio rrvm / QEMU (same lane run) | to /init | to exit |")
print("|---|---|---|")
print("| of the medians | **%s** | **%s** |" % (rat(mi("rrvm", "init"), mi("qemu", "init")), rat(mi("rrvm", "exit"), mi("qemu", "exit"))))
print("| per run pair, median (min-max) | %s | %s |" % (cell(ri, "x"), cell(rx, "x")))
if d["rrvm"]["eps"]:
    print()
    print("rrvm --stats in the lane: guest-caused exits %s, exits/s of guest time %s (median (min-max))." % (cell(d["rrvm"]["exits"], "n"), cell(d["rrvm"]["eps"], "n")))
if bad or lane_rc != "0":
    print()
    print("**%d boot(s) did not reach /init; svm-lane exit %s.**" % (bad, lane_rc))
    sys.exit(1)
' "$RUNS" "$rc" "$LOG"
