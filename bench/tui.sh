#!/usr/bin/env bash
# tui.sh — `rrvm tui` on a recording of about 1 M events: time to open, and seek latency to random events.
# usage: bench/tui.sh [--runs N] [--build DIR] [--events N]
#
# Records (once, cached under .cache/bench/tui/) the test kernel's `timer` scenario at 1000 Hz on the
# virtual clock until it has about --events events (default 1000000), and the same recording again
# with snapshots every 50000 events when `rrvm record` can take them (--snapshot-every). Then, driving
# the browser in a detached tmux window (send-keys, capture-pane polled every 20 ms):
#   open      from starting `rrvm tui` to the first screen showing the timeline and the last event
#   seek      from `g EVENT Enter` to the register pane showing that event, for random events
#             (fixed seed): from a fresh browser at event 0 (replay from boot, no snapshot near),
#             with recorded snapshots every 50000 events, and back 1000 events from a stop the
#             session has just visited (its in-memory snapshots)
# Prints a markdown table (median, min-max) for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_repo
RUNS=3 BUILD=build EVENTS=1000000
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--events) EVENTS=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--build DIR] [--events N]" >&2; exit 2 ;;
	esac
done
command -v tmux >/dev/null || { echo "bench/tui.sh: needs tmux (tools/install-deps.sh)" >&2; exit 1; }
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target rrvm testkernel >/dev/null
RRVM=$REPO/$BUILD/rrvm
KERNEL=$REPO/$BUILD/tests/guests/testkernel.elf
CACHE=${RRVM_CACHE:-$REPO/.cache}/bench/tui
mkdir -p "$CACHE"
# The timer scenario makes about 2 events per tick on the virtual clock.
TICKS=$((EVENTS / 2))
record() {   # DIR [extra record args]
	local dir=$1; shift
	[ -f "$dir/footer" ] && return 0
	rm -rf "$dir"
	echo "recording $dir ($TICKS ticks)..." >&2
	"$RRVM" record --clock=virtual "$@" -o "$dir" --kernel "$KERNEL" --append "timer ticks=$TICKS hz=1000" \
		</dev/null >/dev/null 2>"$dir.log" || { cat "$dir.log" >&2; exit 1; }
}
PLAIN=$CACHE/timer-$EVENTS
record "$PLAIN"
SNAPS=
if "$RRVM" record --help 2>&1 | grep -q -- --snapshot-every; then
	SNAPS=$CACHE/timer-$EVENTS-snap50k
	record "$SNAPS" --snapshot-every 50000ev
fi
N=$("$RRVM" trace info "$PLAIN" | awk '/^events/ { print $2; exit }')

n_start=0 sock=
tm() { tmux -L "$sock" "$@"; }
cleanup() { for i in $(seq "$n_start"); do tmux -L "rrvm-bench-tui-$$-$i" kill-server 2>/dev/null || true; done; }
trap cleanup EXIT
now() { date +%s.%N; }
start() {   # [args] TRACE: a fresh tmux server each time (one shutting down refuses new sessions)
	[ -n "$sock" ] && { tm kill-server 2>/dev/null || true; }
	n_start=$((n_start + 1))
	sock="rrvm-bench-tui-$$-$n_start"
	tm new-session -d -x 160 -y 50 -s b "$(printf '%q ' "$RRVM" tui "$@"); sleep 3600"
	tm set-option -t b -g status off >/dev/null
}
wait_re() {   # REGEX: polls capture-pane every 20 ms (10 min at most)
	local end=$((SECONDS + 600))
	until tm capture-pane -p -t b | grep -qE -- "$1"; do
		[ $SECONDS -lt $end ] || { tm capture-pane -p -t b >&2; echo "bench/tui.sh: timed out waiting for /$1/" >&2; exit 1; }
		sleep 0.02
	done
}
seek() {   # EVENT: prints the seconds from the keys to the registers at EVENT
	local t0
	t0=$(now)
	tm send-keys -t b g "$1" Enter
	wait_re "Registers +at event $1\$"
	echo "$(now) - $t0" | bc
}
targets=$(python3 -c "import random; random.seed(6); print(' '.join(str(random.randrange(1000, $N)) for _ in range($RUNS)))")

open_s=() cold_s=() snap_s=() back_s=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	start --at 0 "$PLAIN"
	wait_re "event 0/$N "
	open_s+=("$(echo "$(now) - $t0" | bc)")
	tm send-keys -t b q
done
for e in $targets; do
	start --at 0 "$PLAIN"
	wait_re "Registers +at event 0\$"
	cold_s+=("$(seek "$e")")
	back_s+=("$(seek $((e - 1000)))")
	tm send-keys -t b q
	if [ -n "$SNAPS" ]; then
		start --at 0 "$SNAPS"
		wait_re "Registers +at event 0\$"
		snap_s+=("$(seek "$e")")
		tm send-keys -t b q
	fi
done

echo
bench_context
echo "- trace: test kernel \`timer ticks=$TICKS hz=1000\`, --clock=virtual: $N events, $(du -sk "$PLAIN/events" | cut -f1) KiB events file"
echo "- seek targets (seed 6): $targets"
echo
python3 - "$N" "${open_s[*]}" "${cold_s[*]}" "${snap_s[*]:-}" "${back_s[*]}" <<PY
import sys
$BENCH_STATS_PY
n, o, c, s, b = sys.argv[1], *[[float(x) for x in a.split()] for a in sys.argv[2:]]
def row(what, xs):
    m, lo, hi, k = summ(xs)
    if not k:
        print(f"| {what} | (not measured: rrvm record has no --snapshot-every in this tree) | |")
        return
    print(f"| {what} | {m:.3f} ({lo:.3f}-{hi:.3f}) | {k} |")
print("| what | seconds: median (min-max) | runs |")
print("|---|---|---|")
row(f"open a {n}-event trace (first screen)", o)
row("seek to a random event, no snapshot near (replay from boot)", c)
row("seek to a random event, recorded snapshots every 50000 events", s)
row("seek 1000 events back from a visited stop (in-memory snapshots)", b)
PY
