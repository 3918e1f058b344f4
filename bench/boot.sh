#!/usr/bin/env bash
# boot.sh: rrvm vs QEMU TCG on the built-in test kernel: time to first console byte, time to exit, exits/s.
#
# Usage: bench/boot.sh [--runs N] [--build DIR | --commit REV] [--scenario "TEXT"]... [--no-qemu] [--no-build]
#
#   --runs N          runs per scenario and monitor (default 5)
#   --build DIR       rrvm build directory (default build-bench; configured with
#                     -DCMAKE_BUILD_TYPE=RelWithDebInfo and built incrementally first)
#   --commit REV      build commit REV instead of the working tree (git archive into
#                     .cache/bench/<sha>/src, built in .cache/bench/<sha>/build-bench):
#                     other people's uncommitted edits stay out of the figures
#   --scenario TEXT   a test-kernel command line (repeatable; default: hello, timer,
#                     tasks, crash, race, "memstress mb=64", ring3spin)
#   --no-qemu         rrvm only (no ratios)
#   --no-build        use DIR/rrvm as it is
#
# For every run and scenario it starts, one after the other (order alternating per
# run), `DIR/rrvm run --stats --kernel DIR/tests/guests/testkernel.elf --append TEXT
# </dev/null` and `qemu-system-x86_64 -accel tcg -m 256 -kernel ... -append TEXT
# -serial stdio -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
# </dev/null`, with stdout on a pipe, and timestamps (monotonic clock, from just
# before the spawn) the first byte on stdout and the process exit. rrvm's --stats
# line gives guest-caused exits, guest time and exits/s of guest time.
# Prints Markdown tables (median, min-max, runs) and the rrvm/QEMU ratios on stdout,
# progress on stderr. Exit 1 if a run ends with an unexpected status.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_repo

RUNS=5 BUILD=build-bench QEMU_ON=1 DO_BUILD=1 COMMIT="" SRC=.
SCEN=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --commit) COMMIT=$2; shift 2 ;;
    --scenario) SCEN+=("$2"); shift 2 ;;
    --no-qemu) QEMU_ON=0; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "boot.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "boot.sh: --runs wants a positive number" >&2; exit 2; }
[[ ${#SCEN[@]} -gt 0 ]] || SCEN=(hello timer tasks crash race "memstress mb=64" ring3spin)

if [[ -n $COMMIT ]]; then
  SRC=$(bench_export "$COMMIT") || { echo "boot.sh: cannot export $COMMIT" >&2; exit 1; }
  BUILD=$(dirname "$SRC")/build-bench
fi
if [[ $DO_BUILD == 1 ]]; then
  echo "boot.sh: building $BUILD (log: $BUILD/bench-build.log)" >&2
  mkdir -p "$BUILD"
  { [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >"$BUILD/bench-build.log" 2>&1 \
    && cmake --build "$BUILD" --target rrvm testkernel -j2 >>"$BUILD/bench-build.log" 2>&1 \
    || { tail -n 30 "$BUILD/bench-build.log" >&2; echo "boot.sh: build failed" >&2; exit 1; }
fi
RRVM=$BUILD/rrvm TK=$BUILD/tests/guests/testkernel.elf
[[ -x $RRVM && -f $TK ]] || { echo "boot.sh: $RRVM or $TK missing" >&2; exit 1; }
if [[ $QEMU_ON == 1 ]] && ! command -v qemu-system-x86_64 >/dev/null; then
  echo "boot.sh: qemu-system-x86_64 not found: running rrvm only" >&2; QEMU_ON=0
fi

echo "## bench/boot.sh, $RUNS runs"
echo
bench_context ${COMMIT:+"$COMMIT"}
echo "- rrvm: \`$RRVM run --stats --kernel $TK --append \"<scenario>\" </dev/null\`"
[[ $QEMU_ON == 1 ]] && echo "- QEMU: $(qemu-system-x86_64 --version | head -1): \`qemu-system-x86_64 -accel tcg -m 256 -kernel $TK -append \"<scenario>\" -serial stdio -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null\`"
echo

printf '%s\0' "${SCEN[@]}" | python3 -c "$BENCH_STATS_PY"'
import os, re, subprocess, sys, tempfile, time
runs, rrvm, tk, qemu_on = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
scen = [s for s in sys.stdin.read().split("\0") if s]
# ring-0-heavy: their work runs at CPL0, emulated on the nested dev host; ring-3-heavy: native there.
kind = {"hello": "ring 0 (tiny)", "timer": "ring 0, mostly HLT (0.5 s of ticks)", "tasks": "ring 3",
        "crash": "ring 0", "race": "ring 0 (busy loops)", "memstress": "ring 3 (memory)", "ring3spin": "ring 3, no exits"}
expect = {"crash": {3}, "race": {0, 3}}
STATS = re.compile(r"rrvm: (\d+) guest-caused exits in ([0-9.]+) s guest time \(([0-9.]+) s wall\), (\d+) exits/s")

def spawn(argv, timeout=300):
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
    first, out = None, bytearray()
    fd = p.stdout.fileno()
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        if first is None:
            first = time.monotonic() - t0
        out += b
    rc = p.wait(timeout=timeout)
    t_exit = time.monotonic() - t0
    err.seek(0)
    return first, t_exit, rc, out.decode("utf-8", "replace"), err.read().decode("utf-8", "replace")

res = {s: {"r_first": [], "r_exit": [], "r_eps": [], "r_exits": [], "r_gt": [], "q_first": [], "q_exit": [],
           "ratio_exit": [], "ratio_first": [], "rc": set(), "qrc": set(), "tok": set()} for s in scen}
bad = 0
for i in range(runs):
    for s in scen:
        name = s.split()[0]
        order = ["r", "q"] if i % 2 == 0 else ["q", "r"]
        got = {}
        for m in order:
            if m == "q" and not qemu_on:
                continue
            if m == "r":
                argv = [rrvm, "run", "--stats", "--kernel", tk, "--append", s]
            else:
                argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-kernel", tk, "-append", s,
                        "-serial", "stdio", "-display", "none", "-no-reboot",
                        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
            first, tex, rc, out, err = spawn(argv)
            code = rc if m == "r" else (rc >> 1 if rc & 1 else -1)
            ok = code in expect.get(name, {0})
            tok = [l for l in out.splitlines() if l.startswith("RRVM-TEST")]
            d = res[s]
            if m == "r":
                d["rc"].add(rc); d["r_first"].append(first); d["r_exit"].append(tex)
                mm = STATS.search(err)
                if mm:
                    d["r_exits"].append(int(mm.group(1))); d["r_gt"].append(float(mm.group(2))); d["r_eps"].append(int(mm.group(4)))
            else:
                d["qrc"].add(rc); d["q_first"].append(first); d["q_exit"].append(tex)
            d["tok"].add(("rrvm: " if m == "r" else "QEMU: ") + (tok[-1] if tok else "(no token)"))
            got[m] = (first, tex)
            print("boot.sh: run %d/%d %-16s %-4s first byte %s ms, exit %s ms, status %d%s" % (
                i + 1, runs, s, "rrvm" if m == "r" else "QEMU", fmt(first, "ms"), fmt(tex, "ms"), rc,
                "" if ok else "  UNEXPECTED (" + " ".join(err.strip().splitlines()[-1:]) + ")"), file=sys.stderr)
            if not ok:
                bad += 1
        if "r" in got and "q" in got:
            res[s]["ratio_exit"].append(got["r"][1] / got["q"][1])
            if got["r"][0] and got["q"][0]:
                res[s]["ratio_first"].append(got["r"][0] / got["q"][0])

print("### rrvm (%d runs each; ms: median (min-max))" % runs)
print()
print("| scenario | heavy in | status | first byte, ms | exit, ms | guest-caused exits | guest time, ms | exits/s of guest time | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for s in scen:
    d = res[s]; name = s.split()[0]
    print("| `%s` | %s | %s | %s | %s | %s | %s | %s | %d |" % (s, kind.get(name, "?"), ",".join(map(str, sorted(d["rc"]))),
        cell(d["r_first"]), cell(d["r_exit"]), cell(d["r_exits"], "n"), cell(d["r_gt"]), cell(d["r_eps"], "n"), len(d["r_exit"])))
if qemu_on:
    print()
    print("### rrvm vs QEMU TCG, side by side in this run (ratio = rrvm / QEMU; < 1: rrvm faster)")
    print()
    print("| scenario | heavy in | rrvm first byte, ms | QEMU first byte, ms | ratio first byte | rrvm exit, ms | QEMU exit, ms | ratio exit (of medians) | ratio exit, per run pair (min-max) | runs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in scen:
        d = res[s]; name = s.split()[0]
        rf, qf = summ(d["r_first"])[0], summ(d["q_first"])[0]
        re_, qe = summ(d["r_exit"])[0], summ(d["q_exit"])[0]
        print("| `%s` | %s | %s | %s | %s | %s | %s | **%s** | %s | %d |" % (s, kind.get(name, "?"),
            cell(d["r_first"]), cell(d["q_first"]), fmt(rf / qf if rf and qf else None, "x"),
            cell(d["r_exit"]), cell(d["q_exit"]), fmt(re_ / qe if re_ and qe else None, "x"),
            cell(d["ratio_exit"], "x"), len(d["ratio_exit"])))
print()
print("Outcome tokens seen: " + "; ".join("`%s`: %s" % (s, ", ".join(sorted(res[s]["tok"]))) for s in scen))
sys.exit(1 if bad else 0)
' "$RUNS" "$RRVM" "$TK" "$QEMU_ON"
