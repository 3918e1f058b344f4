#!/usr/bin/env bash
# bench/reverse-peers.sh: gdb on rrvm's replays beside gdb on QEMU's reverse debugging, same guest, one run.
#
# Usage: bench/reverse-peers.sh [--runs N] [--secs "1 10 60"] [--where auto|native|lane] [--build DIR]
#                               [--timeout S] [--qemu-host]
#
# For each length S, each run records the test kernel's `timer ticks=100*S hz=100` under both
# monitors with idle time skipped (rrvm record --clock=virtual; QEMU TCG -icount
# shift=auto,sleep=off,rr=record with an rrsnapshot in a qcow2, which its reverse debugging needs),
# serves the replay (rrvm replay --gdb; QEMU rr=replay -gdb ... -S) and runs ONE gdb script against
# each: break pit_stop, continue (forward over the whole recording), stepi (median of 10),
# reverse-stepi (median of 3), then break scenario_timer and reverse-continue (back over the whole
# recording). The monitors alternate, the order flips each run (bench/reverse-peers-inner.sh).
# A gdb session that runs past --timeout (default 300 s) counts as hung, naming the command that
# never answered. --where as in bench/rr-peers.sh: native on a /dev/kvm rrvm can use, else both
# monitors inside one tools/svm-lane run (gdb from tools/lane/e2e-bundle.sh). --qemu-host (lane
# only) also runs QEMU's half directly on this host afterwards, as a reference without the lane.
# Prints Markdown for BENCHMARKS.md; exits 1 when a session hung or stopped in the wrong place.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_repo

RUNS=3 SECS="1 10 60" WHERE=auto BUILD="" TIMEOUT=300 QHOST=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --where) WHERE=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --qemu-host) QHOST=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "reverse-peers.sh: unknown argument: $1 (--help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "reverse-peers.sh: --runs wants a positive number" >&2; exit 2; }
say() { echo "reverse-peers.sh: $*" >&2; }
for p in qemu-system-x86_64 qemu-img gdb; do
  command -v $p >/dev/null || { say "$p is not installed (tools/install-deps.sh)"; exit 1; }
done
[[ $WHERE == auto ]] && WHERE=$(bench_where)
[[ $WHERE == native || $WHERE == lane ]] || { say "--where wants auto, native or lane"; exit 2; }
if [[ $WHERE == lane ]]; then BUILD=${BUILD:-build-static}; bench_build "$BUILD" ON
else BUILD=${BUILD:-build-bench}; bench_build "$BUILD" OFF; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reverse-peers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp bench/reverse-peers-inner.sh "$WORK/inner.sh"
cp "$BUILD/tests/guests/testkernel.elf" "$WORK/tk.elf"
strip --strip-debug -o "$WORK/rrvm" "$BUILD/rrvm" 2>/dev/null || cp "$BUILD/rrvm" "$WORK/rrvm"
qemu-img create -q -f qcow2 "$WORK/q0.qcow2" 16M
say "$WHERE: lengths $SECS s, $RUNS runs each"
T0=$EPOCHREALTIME LANE_T="" LANE_FAILED=0
if [[ $WHERE == native ]]; then
  mkdir -p "$WORK/w"
  RRVM=$WORK/rrvm QEMU=qemu-system-x86_64 TK=$WORK/tk.elf Q0=$WORK/q0.qcow2 RUNS=$RUNS SECS=$SECS W=$WORK/w TO=$TIMEOUT \
    bash "$WORK/inner.sh" >"$WORK/out.log"
else
  export RRVM_CACHE=${RRVM_CACHE:-$REPO/.cache}
  QB=$(tools/lane/qemu-bundle.sh) EB=$(tools/lane/e2e-bundle.sh)
  n=0; for s in $SECS; do n=$((n + 1)); done
  set +e
  tools/svm-lane --timings --retry-wedged 1 --timeout $((RUNS * n * (2 * TIMEOUT + 120) + 300)) \
    --file "$QB:/" --file "$EB:/" --file "$WORK/rrvm:/rrvm" --file "$WORK/tk.elf:/tk.elf" --file "$WORK/q0.qcow2:/q0.qcow2" \
    --file "$WORK/inner.sh:/inner.sh" \
    -- "PATH=/usr/bin:\$PATH; mkdir -p /tmp/w; RRVM=/rrvm QEMU=qemu-system-x86_64 TK=/tk.elf Q0=/q0.qcow2 RUNS=$RUNS SECS='$SECS' W=/tmp/w TO=$TIMEOUT bash /inner.sh" \
    >"$WORK/out.log" 2>"$WORK/lane.err"
  rc=$?
  set -e
  LANE_T=$(grep -o 'timings:.*' "$WORK/lane.err" | tail -n1 || true)
  # A failed lane still prints what it measured (the tables say what is missing); exit 1 at the end.
  [[ $rc == 0 ]] || { LANE_FAILED=$rc; say "svm-lane exited $rc"; tail -n 20 "$WORK/lane.err" >&2; }
  if [[ $QHOST == 1 ]]; then
    say "QEMU's half again, directly on this host"
    mkdir -p "$WORK/wq"
    MONS=qemu QEMU=qemu-system-x86_64 TK=$WORK/tk.elf Q0=$WORK/q0.qcow2 RUNS=$RUNS SECS=$SECS W=$WORK/wq TO=$TIMEOUT \
      bash "$WORK/inner.sh" | sed 's/ mon=qemu / mon=qemuhost /' >>"$WORK/out.log"
  fi
fi
WALL=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
grep -E '^RPR(-LOG)? ' "$WORK/out.log" | grep -E 'op=hung|^RPR-LOG' >&2 || true

echo "## bench/reverse-peers.sh: gdb against rrvm's replay and QEMU's reverse debugging, $RUNS runs"
echo
bench_context
echo "- where: $( [[ $WHERE == native ]] && echo "this host, rrvm on its /dev/kvm and QEMU TCG side by side" || echo "ONE \`tools/svm-lane\` run (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, -cpu EPYC,+svm,+npt, real kvm_amd): rrvm on the lane's KVM, QEMU TCG nested inside the lane; $LANE_T")"; echo "- whole benchmark ${WALL} s"
echo "- guest: test kernel \`timer ticks=100*S hz=100\`; rrvm \`record --clock=virtual\` then \`replay --gdb=unix:SOCK\`; QEMU \`-accel tcg -m 256 -icount shift=auto,sleep=off,rr=record|replay,rrfile=F,rrsnapshot=init -drive file=Q.qcow2,if=none\` with \`-gdb unix:SOCK -S\` for the replay"
echo "- one gdb script for both (stock gdb, batch): continue to \`pit_stop\` from the start; stepi (median of 10); reverse-stepi (median of 3); reverse-continue to \`scenario_timer\`; each cell the median (min-max) over runs, seconds"
echo
python3 - "$WORK/out.log" "$SECS" "$LANE_FAILED" <<'PY'
import statistics, sys
log, secs, lane_failed = sys.argv[1], sys.argv[2].split(), sys.argv[3]
d, hung, frames = {}, [], {}
for l in open(log, errors="replace"):
    if not l.startswith("RPR "): continue
    kv = dict(x.split("=", 1) for x in l.split()[1:])
    key = (kv["secs"], kv["mon"])
    if kv["op"] == "hung": hung.append("%s s run %s %s: `%s` never answered" % (kv["secs"], kv["run"], kv["mon"], kv["t"]))
    elif kv["op"] == "frame": frames.setdefault(key, []).append(kv["t"])
    else: d.setdefault(key + (kv["op"],), {})[kv["run"]] = float(kv["t"])
def cell(xs, ms):
    if not xs: return "-"
    f = (lambda x: "%.1f ms" % (x * 1e3)) if ms else (lambda x: "%.3f s" % x)
    return f(statistics.median(xs)) + ("" if len(xs) == 1 else " (%s-%s)" % (f(min(xs)), f(max(xs))))
ops = [("continue", False), ("stepi", True), ("reverse-stepi", True), ("reverse-continue", False)]
print("| guest time | monitor | " + " | ".join(o for o, _ in ops) + " | reverse-continue stopped in | sessions that hung |")
print("|---|---|" + "---|" * len(ops) + "---|---|")
mons = [m for m in ("rrvm", "qemu", "qemuhost") if any(k[1] == m for k in list(d) + list(frames))]
name = {"rrvm": "rrvm", "qemu": "QEMU TCG", "qemuhost": "QEMU TCG, on the host (no lane)"}
for s in secs:
    for m in mons:
        nh = sum(1 for h in hung if h.startswith("%s s " % s) and (" %s:" % m) in h)
        fr = frames.get((s, m), [])
        print("| %s s | %s | " % (s, name[m]) +
              " | ".join(cell(list(d.get((s, m, o), {}).values()), ms) for o, ms in ops) +
              " | %s | %d |" % (", ".join(sorted(set(fr))) or "-", nh))
print()
print("Ratio rrvm / QEMU, run by run (median (min-max); < 1: rrvm faster):")
print()
print("| guest time | " + " | ".join(o for o, _ in ops) + " |")
print("|---|" + "---|" * len(ops))
for s in secs:
    row = []
    for o, _ in ops:
        a, b = d.get((s, "rrvm", o), {}), d.get((s, "qemu", o), {})
        r = [a[i] / b[i] for i in a if i in b and b[i] > 0]
        row.append("-" if not r else "%.2f" % statistics.median(r) + ("" if len(r) == 1 else " (%.2f-%.2f)" % (min(r), max(r))))
    print("| %s s | " % s + " | ".join(row) + " |")
bad = (["the svm-lane exited %s" % lane_failed] if lane_failed != "0" else []) + hung + ["%s s %s stopped in %s" % (k[0], k[1], f) for k, fs in frames.items() for f in fs if f != "scenario_timer"]
if bad:
    print()
    print("UNEXPECTED: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
