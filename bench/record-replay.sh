#!/usr/bin/env bash
# record-replay.sh — run vs record vs replay of the same test-kernel scenarios, side by side in one run.
# usage: bench/record-replay.sh [--runs N] [--build DIR]
# Prints a markdown table: median wall seconds (min-max) of `rrvm run`, `rrvm record` and
# `rrvm replay` per scenario, the ratios record/run and replay/record computed pair by pair,
# trace bytes per second of guest time, and landmarks/deferrals per guest second.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5 BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--build DIR]" >&2; exit 2 ;;
	esac
done
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target rrvm testkernel >/dev/null
RUNS=$RUNS RRVM=$BUILD/rrvm KERNEL=$BUILD/tests/guests/testkernel.elf python3 - <<'PY'
import json, os, shutil, statistics, subprocess, tempfile, time
rrvm, kernel, runs = os.environ["RRVM"], os.environ["KERNEL"], int(os.environ["RUNS"])
scenarios = [("timer", "idle: HLT between ticks"), ("tasks", "ring-3 tasks, timer preemption"),
             ("race", "ring-0 loop, landmarks"), ("memstress mb=64", "ring-3 memory writes"),
             ("ring3spin iters=200000000", "ring-3 compute, no timer")]
def timed(args):
    t0 = time.monotonic()
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0, p.returncode, p.stderr.decode(errors="replace")
def med(xs): return statistics.median(xs)
def fmt(xs): return f"{med(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"
print(f"| scenario | what | run s | record s | replay s | record/run | replay/record | trace B per guest s | landmarks/s | deferrals/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
tmp = tempfile.mkdtemp()
for scen, what in scenarios:
    t_run, t_rec, t_rep, r_rr, r_pr, bps, lms, dfs = [], [], [], [], [], [], [], []
    for i in range(runs):
        a, st, _ = timed([rrvm, "run", "--kernel", kernel, "--append", scen])
        tr = os.path.join(tmp, f"t{i}")
        shutil.rmtree(tr, ignore_errors=True)
        b, st2, err = timed([rrvm, "record", "-o", tr, "--kernel", kernel, "--append", scen])
        c, st3, err3 = timed([rrvm, "replay", "--quiet", tr])
        if st3 != st2:
            raise SystemExit(f"{scen}: replay status {st3} != record {st2}: {err3}")
        info = json.loads(subprocess.run([rrvm, "trace", "info", "--json", tr], capture_output=True).stdout)["stats"]
        t_run.append(a); t_rec.append(b); t_rep.append(c)
        r_rr.append(b / a); r_pr.append(c / b)
        bps.append(info["bytes_per_s"]); lms.append(info["landmarks_per_s"]); dfs.append(info["deferrals_per_s"])
    print(f"| `{scen}` | {what} | {fmt(t_run)} | {fmt(t_rec)} | {fmt(t_rep)} | {med(r_rr):.2f} | {med(r_pr):.2f} "
          f"| {med(bps):,.0f} | {med(lms):.0f} | {med(dfs):.0f} |", flush=True)
shutil.rmtree(tmp)
PY
