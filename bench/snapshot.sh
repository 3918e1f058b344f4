#!/usr/bin/env bash
# snapshot.sh: snapshot take/restore cost vs the memcpy floor (same run), bytes on disk per MiB dirtied,
# dirty tracking methods, and replay-from-snapshot latency, with the test kernel's memstress in a 1 GiB guest.
#
# Usage: bench/snapshot.sh [--build DIR] [--mib "1 10 100"]
#
# For each MIB: records `memstress mb=MIB passes=1 hz=0` (one ring-3 pass writing MIB MiB between two
# exits, no timer) in a 1 GiB guest and runs build/tests/snap_bench on it: a snapshot at every event of a
# replay, the pass's snapshot taken again and restored backwards and forwards 7 times (medians), against
# copying the same number of 4 KiB pages with memcpy in the same process; "0 MiB" is the median over the
# events that dirtied <= 2 pages. Then records the same with --snapshot-every=1ev and reports the pass's
# snapshot file size per MiB dirtied. Then replay-from-snapshot latency on a `tasks` recording with
# --snapshot-every=200ev: `rrvm replay --from E --to E` vs `rrvm replay --to E` (from boot).
# Prints Markdown on stdout.
set -euo pipefail
build=build
mibs="1 10 100"
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--mib) mibs=$2; shift 2 ;;
	*) echo "usage: bench/snapshot.sh [--build DIR] [--mib \"1 10 100\"]" >&2; exit 2 ;;
	esac
done
RRVM=$build/rrvm TK=$build/tests/guests/testkernel.elf BENCH=$build/tests/snap_bench
[ -x "$RRVM" ] && [ -x "$BENCH" ] || { echo "build $build first (rrvm, snap_bench)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "# rrvm snapshot benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo ?), $(uname -r))"
echo
for m in $mibs; do
	"$RRVM" record -o "$tmp/m$m" --mem 1G --kernel "$TK" --append "memstress mb=$m passes=1 hz=0" </dev/null >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	"$BENCH" "$tmp/m$m" "$m"
	"$RRVM" record -o "$tmp/f$m" --mem 1G --snapshot-every=1ev --kernel "$TK" --append "memstress mb=$m passes=1 hz=0" \
		</dev/null >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	"$RRVM" snapshot list "$tmp/f$m" >"$tmp/list"
	read -r bs bp bb < <(awk 'NR > 1 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { if ($5 + 0 > p) { p = $5; b = $9; s = $1 } } END { print s, p, b }' "$tmp/list")
	read -r tn tb < <(awk '/ snapshots, / {print $1, $3}' "$tmp/list")
	echo
	echo "on disk: the pass's snapshot (file $bs, $bp pages) is $bb bytes = $(awk -v b="$bb" -v m="$m" 'BEGIN { printf "%.0f", b / m }') bytes per MiB dirtied (LZ4 per page, memstress's data); the recording's $tn snapshots (one per event) take $tb bytes"
	echo
done
"$RRVM" record -o "$tmp/tasks" --snapshot-every=200ev --kernel "$TK" --append tasks </dev/null >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; exit 1; }
echo "## replay-from-snapshot latency (tasks, snapshots every 200 events; inside one replay session, as gdb and the TUI seek)"
echo
"$BENCH" --seek "$tmp/tasks"
