#!/usr/bin/env bash
# virtio.sh: virtio-blk throughput and exits per MiB, and console exits per KiB (UART vs virtio-console),
# measured with the test kernel's `virtio` scenario; prints a Markdown section for BENCHMARKS.md.
#
# Usage: bench/virtio.sh [--runs N] [--mib M] [--kib K]     (defaults 3 runs, 16 MiB, 64 KiB)
#
# Disk: `virtio mib=M` writes then reads M MiB in 64 KiB requests (3 descriptors each, one notify exit,
# one interrupt); the run with mib=0 is the baseline, so the figures are the difference: MiB/s of wall
# time for the 2*M MiB moved, and guest-caused exits per MiB. Console: `virtio conkib=K con=uart|virtio`
# sends K KiB of text (64-byte lines) through the 16550 or through virtio-console in 1 KiB buffers;
# exits per KiB are the difference from conkib=0.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_repo
RUNS=3 MIB=16 KIB=64
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --kib) KIB=$2; shift 2 ;;
    *) echo "virtio.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
RRVM=${RRVM:-$REPO/build/rrvm}
TK=${TESTKERNEL:-$REPO/build/tests/guests/testkernel.elf}
[[ -x $RRVM && -f $TK ]] || { echo "build first (cmake --build build)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
truncate -s $(((MIB + 2) * 1024 * 1024)) "$tmp/disk.img"

# one ARGS...: prints "exits wall_s"
one() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$RRVM" run --stats --disk "$tmp/disk.img" --rng --virtio-console --kernel "$TK" --append "$*" \
    >"$tmp/out" 2>"$tmp/err" </dev/null || { cat "$tmp/out" "$tmp/err" >&2; exit 1; }
  t1=$EPOCHREALTIME
  grep -q 'RRVM-TEST virtio: ok' "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
  echo "$(sed -n 's/^rrvm: \([0-9]*\) guest-caused exits.*/\1/p' "$tmp/err") $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}
declare -A R
for k in base "mib=$MIB" "conkib=$KIB con=uart" "conkib=$KIB con=virtio"; do
  for ((i = 0; i < RUNS; i++)); do
    args="virtio"; [[ $k == base ]] || args="virtio $k"
    R[$k]+="$(one $args);"
  done
done
python3 - "$MIB" "$KIB" "${R[base]}" "${R[mib=$MIB]}" "${R[conkib=$KIB con=uart]}" "${R[conkib=$KIB con=virtio]}" <<PY
import sys, statistics
$BENCH_STATS_PY
mib, kib = int(sys.argv[1]), int(sys.argv[2])
def parse(s): return [tuple(float(v) for v in r.split()) for r in s.split(';') if r.strip()]
base, disk, uart, vcon = (parse(a) for a in sys.argv[3:7])
med = lambda rows, i: statistics.median(r[i] for r in rows)
dexits = med(disk, 0) - med(base, 0)
dt = med(disk, 1) - med(base, 1)
print("| measurement | value |")
print("|---|---|")
print("| virtio-blk: %d MiB written + %d MiB read in 64 KiB requests, wall time over the baseline run | %.2f s |" % (mib, mib, dt))
print("| virtio-blk throughput (write+read, in-guest driver, host wall time) | %.0f MiB/s |" % (2 * mib / dt if dt > 0 else float('nan')))
print("| virtio-blk guest-caused exits per MiB moved | %.1f |" % (dexits / (2 * mib)))
ue = (med(uart, 0) - med(base, 0)) / kib
ve = (med(vcon, 0) - med(base, 0)) / kib
print("| console exits per KiB of output: 16550 UART | %.0f |" % ue)
print("| console exits per KiB of output: virtio-console (1 KiB buffers) | %.1f |" % ve)
print("| UART / virtio-console exits | %.0fx |" % (ue / ve if ve else float('nan')))
print("| console time per KiB: UART / virtio-console | %.1f ms / %.2f ms |" % ((med(uart,1)-med(base,1))/kib*1e3, (med(vcon,1)-med(base,1))/kib*1e3))
PY
echo
bench_context
