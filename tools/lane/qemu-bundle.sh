#!/usr/bin/env bash
# qemu-bundle.sh: gather the host's qemu-system-x86_64 with its shared libraries and firmware into a tree for the SVM lane.
#
# Usage: tools/lane/qemu-bundle.sh [-o DIR]
#   Prints DIR (default ${RRVM_CACHE:-<repo>/.cache}/qemu-bundle). Pass it to the lane
#   as `tools/svm-lane --file DIR:/ -- 'qemu-system-x86_64 -enable-kvm ...'`: the
#   files sit at their host paths (/usr/bin, /lib/x86_64-linux-gnu, /lib64,
#   /usr/share/qemu, /usr/share/seabios), so QEMU runs in the lane as if installed.
#   About 50 MB; rebuilt when the host's QEMU or firmware changes (tools/lane/bundle.sh).
set -euo pipefail
die() { echo "qemu-bundle: error: $*" >&2; exit 1; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${RRVM_CACHE:-$REPO/.cache}/qemu-bundle
[[ ${1:-} == -o ]] && OUT=$2
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 not installed"
# Firmware: SeaBIOS, the linuxboot and PVH option ROMs (pvh.bin: -kernel ELF), kvmvapic (symlinks resolved).
args=(--prog qemu-system-x86_64)
have_bios=0
for d in /usr/share/qemu /usr/share/seabios; do
  for f in bios-256k.bin bios.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin multiboot_dma.bin pvh.bin; do
    [[ -e $d/$f ]] || continue
    args+=(--file "$d/$f")
    [[ $f == bios-256k.bin ]] && have_bios=1
  done
done
[[ $have_bios == 1 ]] || die "SeaBIOS bios-256k.bin not found (apt-get install seabios)"
# Debian builds TCG as a loadable module: without it `-accel tcg` dies with "could not load
# module for type 'tcg-accel-ops'" (bench/rr-peers.sh runs QEMU TCG inside the lane).
for f in /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so; do
  [[ -e $f ]] && args+=(--file "$f")
done
exec "$REPO/tools/lane/bundle.sh" -o "$OUT" "${args[@]}"
