#!/usr/bin/env bash
# bench/rr-peers.sh: record and replay beside QEMU's, side by side in one run.
#
# Usage: bench/rr-peers.sh [--runs N] [--where auto|native|lane] [--build DIR] [--scenario TEXT]...
#                          [--no-linux] [--timeout S]
#
# For each test-kernel scenario, each run does, back to back and alternating the two monitors
# (the order flips every run):
#   rrvm run / rrvm record / rrvm replay, and
#   qemu-system-x86_64 -accel tcg plain / -icount shift=auto,rr=record / rr=replay,
# measuring wall time, CPU time (user+sys), peak RSS and trace (rrvm) or rrfile (QEMU) bytes with
# busybox's `time -v` (bench/rr-peers-inner.sh), and checking that each replay prints exactly
# the recording's console output. rrvm's `trace info --json` gives exits by kind per second of
# guest time. With the Linux part (default on), Debian's cloud kernel and the busybox `rr`
# initramfs (urandom, date, /proc/interrupts, sleep 1, sysrq panic, reboot) are recorded and
# replayed by rrvm in the svm-lane and by QEMU TCG directly on this host.
#
# --where: native runs everything on this host (needs a /dev/kvm rrvm can use); lane runs the
# test-kernel part inside ONE tools/svm-lane run, both monitors in the same lane (rrvm on the
# lane's emulated SVM, QEMU TCG nested in the lane's TCG); auto (default) picks native when
# /dev/kvm opens, else lane. Prints Markdown for BENCHMARKS.md on stdout, progress on stderr;
# exits 1 when a run ended with an unexpected status or a replay's console differed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_repo

RUNS=3 WHERE=auto BUILD="" LINUX=1 TIMEOUT=300 SCEN=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --where) WHERE=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --scenario) SCEN+=("$2"); shift 2 ;;
    --no-linux) LINUX=0; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "rr-peers.sh: unknown argument: $1 (--help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "rr-peers.sh: --runs wants a positive number" >&2; exit 2; }
say() { echo "rr-peers.sh: $*" >&2; }
command -v qemu-system-x86_64 >/dev/null || { say "qemu-system-x86_64 is not installed (tools/install-deps.sh)"; exit 1; }
[[ -x /bin/busybox ]] || { say "/bin/busybox is missing (busybox-static, tools/install-deps.sh)"; exit 1; }
[[ $WHERE == auto ]] && WHERE=$(bench_where)
[[ $WHERE == native || $WHERE == lane ]] || { say "--where wants auto, native or lane"; exit 2; }
# Ring-3-heavy scenarios run natively on the nested dev host (HOST.md), ring-0-heavy ones are emulated
# there; in the lane everything runs on TCG. Sizes keep QEMU nested in the lane's TCG within minutes.
if [[ ${#SCEN[@]} == 0 ]]; then
  SCEN=("hello" "crash" "timer" "tasks" "memstress mb=16 passes=2" "ring3spin iters=50000000")
fi

STATIC=build-static
if [[ $WHERE == lane ]]; then BUILD=${BUILD:-$STATIC}; STATIC=$BUILD; bench_build "$BUILD" ON
else BUILD=${BUILD:-build-bench}; bench_build "$BUILD" OFF; [[ $LINUX == 1 ]] && bench_build "$STATIC" ON; fi
TK=$REPO/$BUILD/tests/guests/testkernel.elf

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rr-peers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp bench/rr-peers-inner.sh "$WORK/inner.sh"
strip --strip-debug -o "$WORK/rrvm" "$BUILD/rrvm" 2>/dev/null || cp "$BUILD/rrvm" "$WORK/rrvm"
strip --strip-debug -o "$WORK/rrvm-static" "$STATIC/rrvm" 2>/dev/null || cp "$STATIC/rrvm" "$WORK/rrvm-static"
cp "$TK" "$WORK/tk.elf"
LINUX_APPEND="console=ttyS0 nolapic lpj=9781808 panic=-1"
: >"$WORK/jobs"
for s in "${SCEN[@]}"; do
  if [[ $WHERE == lane ]]; then echo "${s%% *}|256|/tk.elf|-|$s"; else echo "${s%% *}|256|$WORK/tk.elf|-|$s"; fi >>"$WORK/jobs"
done
inner() {   # MONS JOBS W RRVM QEMU: run the inner script here, in the foreground
  TAG=${TAG:-RRP} RRVM=$4 QEMU=$5 TIME=/bin/busybox RUNS=$RUNS W=$3 JOBS=$2 MONS=$1 TO=$TIMEOUT sh "$WORK/inner.sh"
}

LANE_ARGS=() LANE_CMD=""
if [[ $WHERE == native ]]; then
  say "test kernel: ${#SCEN[@]} scenarios x $RUNS runs, rrvm and QEMU TCG on this host"
  mkdir -p "$WORK/w"
  inner "rrvm qemu" "$WORK/jobs" "$WORK/w" "$WORK/rrvm" qemu-system-x86_64 >"$WORK/tk.log"
else
  BUNDLE=$(RRVM_CACHE=${RRVM_CACHE:-$REPO/.cache} tools/lane/qemu-bundle.sh)
  LANE_ARGS=(--file "$BUNDLE:/" --file "$WORK/rrvm-static:/rrvm" --file "$WORK/tk.elf:/tk.elf" --file "$WORK/inner.sh:/inner.sh"
             --file "$WORK/jobs:/jobs")
  LANE_CMD="mkdir -p /tmp/w; RRVM=/rrvm QEMU=qemu-system-x86_64 TIME=/bin/busybox RUNS=$RUNS W=/tmp/w JOBS=/jobs MONS='rrvm qemu' TO=$TIMEOUT sh /inner.sh"
fi
if [[ $LINUX == 1 ]]; then
  eval "$(tools/fetch-linux.sh --quiet)"
  INITRD=$(tools/linux-guest.sh --variant rr 2>/dev/null)
  echo "linux|256|$RRVM_LINUX_VMLINUZ|$INITRD|$LINUX_APPEND" >"$WORK/linux-host.jobs"
  echo "linux|256|/vmlinuz|/initrd.img|$LINUX_APPEND" >"$WORK/linux-lane.jobs"
  say "Linux: QEMU TCG record/replay on this host, $RUNS runs"
  mkdir -p "$WORK/wl"
  TAG=RRPL inner qemu "$WORK/linux-host.jobs" "$WORK/wl" "$WORK/rrvm" qemu-system-x86_64 >"$WORK/linux.log"
  [[ -n $LANE_CMD ]] || LANE_ARGS=(--file "$WORK/rrvm-static:/rrvm" --file "$WORK/inner.sh:/inner.sh")
  LANE_ARGS+=(--file "$RRVM_LINUX_VMLINUZ:/vmlinuz" --file "$INITRD:/initrd.img" --file "$WORK/linux-lane.jobs:/linux.jobs")
  LANE_CMD="${LANE_CMD:+$LANE_CMD; }mkdir -p /tmp/wl; RRVM=/rrvm TIME=/bin/busybox RUNS=$RUNS W=/tmp/wl JOBS=/linux.jobs MONS=rrvm TO=$TIMEOUT TAG=RRPL sh /inner.sh"
fi
LANE_S=- LANE_T="" LANE_FAILED=0
if [[ -n $LANE_CMD ]]; then
  say "svm-lane: ${LANE_CMD//; / ; }"
  T0=$EPOCHREALTIME
  set +e
  tools/svm-lane --timings --retry-wedged 1 --timeout $((RUNS * 1200 + 300)) "${LANE_ARGS[@]}" -- "$LANE_CMD" >"$WORK/lane.log" 2>"$WORK/lane.err"
  rc=$?
  set -e
  LANE_S=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  LANE_T=$(grep -o 'timings:.*' "$WORK/lane.err" | tail -n1 || true)
  # A failed lane still prints what it measured (the tables say what is missing); exit 1 at the end.
  [[ $rc == 0 ]] || { LANE_FAILED=$rc; say "svm-lane exited $rc"; tail -n 20 "$WORK/lane.err" >&2; tail -n 30 "$WORK/lane.log" >&2; }
  grep -v '^RRPL' "$WORK/lane.log" >>"$WORK/tk.log" || true
  grep '^RRPL' "$WORK/lane.log" >>"$WORK/linux.log" || true
fi
grep -h '^RRPL\{0,1\}-ERR' "$WORK"/*.log >&2 || true

echo "## bench/rr-peers.sh: record/replay beside QEMU TCG -icount record/replay, $RUNS runs"
echo
bench_context
echo "- where: $( [[ $WHERE == native ]] && echo "this host's /dev/kvm, rrvm and QEMU side by side" || echo "the test kernel in ONE \`tools/svm-lane\` run (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, -cpu EPYC,+svm,+npt, 1 vCPU, real kvm_amd): rrvm on the lane's KVM and QEMU TCG inside the lane, side by side; whole lane run $LANE_S s, $LANE_T")"
echo "- rrvm: \`rrvm run|record -o T --kernel K --mem 256M --append TEXT\`, \`rrvm replay T\`"
echo "- QEMU: \`qemu-system-x86_64 -accel tcg -m 256 -kernel K -append TEXT -nodefaults -serial stdio -display none -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04\` plain, then with \`-icount shift=auto,rr=record,rrfile=F\` and \`rr=replay\`"
echo "- measured by busybox \`time -v\` (10 ms resolution; CPU = user + system of the monitor and its threads; peak RSS)"
echo
touch "$WORK/tk.log" "$WORK/linux.log"
python3 - "$WORK/tk.log" "$WORK/jobs" "$WORK/linux.log" "$LINUX" "$WHERE" "$LANE_FAILED" <<'PY'
import json, re, statistics, sys
tk_log, jobs_file, linux_log, linux_on, where, lane_failed = sys.argv[1:7]
def med(xs): return statistics.median(xs) if xs else None
def cell(xs, f="%.2f"):
    xs = [x for x in xs if x is not None]
    if not xs: return "-"
    if len(xs) == 1: return f % xs[0]
    return (f + " (" + f + "-" + f + ")") % (med(xs), min(xs), max(xs))
def parse(path, tag):   # TAG lines and TAG-INFO lines
    runs, infos = [], {}
    for l in open(path, errors="replace"):
        if l.startswith(tag + " "):
            kv = dict(x.split("=", 1) for x in l.split()[1:])
            for k in ("wall", "user", "sys", "rss", "bytes", "ev"):
                kv[k] = float(kv[k]) if kv[k] not in ("-", "") else None
            runs.append(kv)
        elif l.startswith(tag + "-INFO "):
            p = l.split(" ", 3)
            try: infos[(p[1][4:], p[2][4:])] = json.loads(p[3])
            except (ValueError, IndexError): pass
    return runs, infos
# Expected exit statuses: rrvm returns the guest's code; QEMU's isa-debug-exit gives (code << 1) | 1.
# Linux: the rr initramfs panics and reboots: rrvm says 5 (guest reset), QEMU -no-reboot exits 0.
def expected(name, mon, rc, linux):
    codes = {"crash": {3}, "race": {0, 3}}.get(name, {0})
    if linux: return rc == ("5" if mon == "rrvm" else "0")
    return int(rc) in codes if mon == "rrvm" else int(rc) in {(c << 1) | 1 for c in codes}
bad = ["the svm-lane exited %s" % lane_failed] if lane_failed != "0" else []
def table(runs, infos, names, linux):
    by = {}
    for r in runs:
        by.setdefault((r["job"], r["mon"], r["mode"]), []).append(r)
        if not expected(names.get(r["job"], "?"), r["mon"], r["rc"], linux) or r["same"] == "0":
            bad.append("%s run %s %s %s: status %s%s" % (names.get(r["job"]), r["run"], r["mon"], r["mode"], r["rc"],
                       ", replay console DIFFERS" if r["same"] == "0" else ""))
    def col(job, mon, mode, k):
        return [r[k] for r in by.get((job, mon, mode), [])]
    def cpu(job, mon, mode):
        return [r["user"] + r["sys"] for r in by.get((job, mon, mode), []) if r["user"] is not None]
    def pairs(job, a, b):   # ratio wall(a) / wall(b), run by run
        A = {r["run"]: r["wall"] for r in by.get((job,) + a, [])}
        B = {r["run"]: r["wall"] for r in by.get((job,) + b, [])}
        return [A[i] / B[i] for i in A if i in B and A[i] and B[i]]
    mons = [m for m in ("rrvm", "qemu") if any(k[1] == m for k in by)]
    print("| scenario | monitor | plain s | record s | replay s | record CPU s | peak RSS MiB (record) | trace/log KB | replays identical |")
    print("|---|---|---|---|---|---|---|---|---|")
    for job in sorted({k[0] for k in by}, key=int):
        for m in mons:
            rep = by.get((job, m, "replay"), [])
            print("| `%s` | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (names[job], "rrvm" if m == "rrvm" else "QEMU TCG",
                cell(col(job, m, "plain", "wall")), cell(col(job, m, "record", "wall")), cell(col(job, m, "replay", "wall")),
                cell(cpu(job, m, "record")), cell([x / 1024 for x in col(job, m, "record", "rss") if x], "%.1f"),
                cell([x / 1e3 for x in col(job, m, "record", "bytes") if x is not None], "%.1f"),
                sum(r["same"] == "1" for r in rep), len(rep)))
    print()
    print("Ratios, run by run, median (min-max):")
    print()
    print("| scenario | rrvm record/run | rrvm replay/record | QEMU record/plain | QEMU replay/record | record: rrvm/QEMU | replay: rrvm/QEMU | rrvm events KB per guest s |")
    print("|---|---|---|---|---|---|---|---|")
    for job in sorted({k[0] for k in by}, key=int):
        bps = [infos[(job, r["run"])]["stats"]["events_file_bytes"] / 1e3 / infos[(job, r["run"])]["stats"]["guest_seconds"]
               for r in by.get((job, "rrvm", "record"), []) if (job, r["run"]) in infos and infos[(job, r["run"])]["stats"].get("guest_seconds")]
        print("| `%s` | %s | %s | %s | %s | **%s** | **%s** | %s |" % (names[job],
            cell(pairs(job, ("rrvm", "record"), ("rrvm", "plain"))), cell(pairs(job, ("rrvm", "replay"), ("rrvm", "record"))),
            cell(pairs(job, ("qemu", "record"), ("qemu", "plain"))), cell(pairs(job, ("qemu", "replay"), ("qemu", "record"))),
            cell(pairs(job, ("rrvm", "record"), ("qemu", "record"))), cell(pairs(job, ("rrvm", "replay"), ("qemu", "replay"))),
            cell(bps, "%.1f")))
    if infos:
        print()
        print("rrvm guest-caused exits by kind per second of guest time (from the recordings' `trace info --json`), median:")
        print()
        kinds = sorted({k for i in infos.values() for k in i["stats"].get("exits_by_reason", {})})
        print("| scenario | guest s | " + " | ".join(kinds) + " | all |")
        print("|---|---|" + "---|" * len(kinds) + "---|")
        for job in sorted({k[0] for k in infos}, key=int):
            st = [i["stats"] for (j, _), i in infos.items() if j == job and i["stats"].get("guest_seconds")]
            if not st: continue
            per = lambda k: med([s["exits_by_reason"].get(k, 0) / s["guest_seconds"] for s in st])
            print("| `%s` | %s | " % (names[job], cell([s["guest_seconds"] for s in st], "%.3f")) +
                  " | ".join("%.0f" % per(k) for k in kinds) + " | %.0f |" % med([s["exits"] / s["guest_seconds"] for s in st]))
names = {}
for n, l in enumerate(open(jobs_file), 1):
    names[str(n)] = l.rstrip("\n").split("|", 4)[4]
print("### Test kernel (%s)" % ("this host" if where == "native" else "all inside one svm-lane run"))
print()
table(*parse(tk_log, "RRP"), names, False)
if linux_on == "1":
    print()
    print("### Debian's cloud kernel, boot to sysrq panic and reboot: rrvm in the svm-lane, QEMU TCG on this host directly")
    print()
    table(*parse(linux_log, "RRPL"), {"1": "linux rr initramfs"}, True)
if bad:
    print()
    print("UNEXPECTED: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
