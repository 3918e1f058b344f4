#!/usr/bin/env bash
# bench/gdb.sh: latency of gdb commands against replays of the test kernel (rrvm replay --gdb).
#
# Records the `timer` scenario for 1 s, 10 s and 60 s of guest time (--clock=virtual, so the recording
# itself is quick), then drives real gdb: stepi, reverse-stepi, continue to a breakpoint (the next tick),
# and reverse-continue from the end of the recording back to a breakpoint at the scenario's start
# (the whole recording). Prints a Markdown table for BENCHMARKS.md.
# Usage: bench/gdb.sh [BUILD_DIR]   (default build)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_repo
BUILD=${1:-build}
RRVM=$REPO/$BUILD/rrvm
KERNEL=$REPO/$BUILD/tests/guests/testkernel.elf
[[ -x $RRVM && -f $KERNEL ]] || { echo "bench/gdb.sh: build first ($RRVM, $KERNEL)" >&2; exit 1; }
command -v gdb >/dev/null || { echo "bench/gdb.sh: gdb is not installed" >&2; exit 1; }
tmp=$(mktemp -d); server=""
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT

echo "## gdb latency (bench/gdb.sh)"
echo
bench_context
echo
echo "| guest time recorded | events | stepi | reverse-stepi | continue to breakpoint | reverse-continue, end to start | snapshots (auto, in memory) |"
echo "|---|---|---|---|---|---|---|"
for secs in 1 10 60; do
	ticks=$((secs * 100))
	rm -rf "$tmp/t"
	"$RRVM" record -o "$tmp/t" --clock=virtual --kernel "$KERNEL" --append "timer ticks=$ticks hz=100" \
		</dev/null >/dev/null 2>"$tmp/rec.err" || { cat "$tmp/rec.err"; exit 1; }
	events=$("$RRVM" trace info "$tmp/t" | awk '/^status/{for(i=1;i<=NF;i++) if($(i+1)=="events,") print $i}')
	rm -f "$tmp/sock"
	"$RRVM" replay --gdb=unix:"$tmp/sock" "$tmp/t" </dev/null >/dev/null 2>"$tmp/server.err" &
	server=$!
	for _ in $(seq 100); do [[ -S $tmp/sock ]] && break; sleep 0.1; done
	cat >"$tmp/b.gdb" <<GDB
set pagination off
set confirm off
set remotetimeout 600
target remote $tmp/sock
python
import time, statistics
def timed(cmd, n=1):
    ts = []
    for _ in range(n):
        t = time.time(); gdb.execute(cmd, to_string=True); ts.append(time.time() - t)
    return statistics.median(ts)
gdb.execute("break trap_dispatch", to_string=True)
cont = timed("continue", 5)
si = timed("stepi", 20)
rsi = timed("reverse-stepi", 10)
gdb.execute("delete", to_string=True)
gdb.execute("continue", to_string=True)
gdb.execute("break scenario_timer", to_string=True)
rc = timed("reverse-continue")
print("RESULT %.4f %.4f %.4f %.3f %s" % (si, rsi, cont, rc, gdb.selected_frame().name()))
gdb.execute("monitor snapshots")
end
GDB
	out=$(timeout 900 gdb -nx -batch -x "$tmp/b.gdb" "$KERNEL" 2>&1) || { echo "$out"; exit 1; }
	wait $server || true; server=""
	read -r si rsi cont rc fn <<<"$(grep '^RESULT' <<<"$out" | cut -d' ' -f2-)"
	[[ $fn == scenario_timer ]] || { echo "$out"; echo "bench/gdb.sh: reverse-continue stopped in $fn, not scenario_timer" >&2; exit 1; }
	snaps=$(grep -o '^[0-9]* snapshots in memory' <<<"$out" | cut -d' ' -f1)
	ms() { python3 -c "print('%.1f ms' % ($1 * 1000))"; }
	echo "| ${secs} s (${ticks} ticks) | $events | $(ms "$si") | $(ms "$rsi") | $(ms "$cont") | ${rc} s | ${snaps:-?} |"
done
echo
echo "Medians: stepi of 20, reverse-stepi of 10, continue of 5 (tick to tick); reverse-continue once, from the"
echo "end of the recording to a breakpoint at scenario_timer's start. Snapshot spacing: the replay session's"
echo "automatic one, every max(64, events/64) events (replay/session_snap.c)."
