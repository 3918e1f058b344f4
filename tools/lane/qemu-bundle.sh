#!/usr/bin/env bash
# qemu-bundle.sh: gather the host's qemu-system-x86_64 with its shared libraries and firmware into a tree for the SVM lane.
#
# Usage: tools/lane/qemu-bundle.sh [-o DIR]
#   Prints DIR (default ${RRVM_CACHE:-<repo>/.cache}/qemu-bundle). Pass it to the lane
#   as `tools/svm-lane --file DIR:/ -- 'qemu-system-x86_64 -enable-kvm ...'`: the
#   files sit at their host paths (/usr/bin, /lib/x86_64-linux-gnu, /lib64,
#   /usr/share/qemu, /usr/share/seabios), so QEMU runs in the lane as if installed.
#   About 50 MB; rebuilt when the host's QEMU binary changes.
set -euo pipefail
die() { echo "qemu-bundle: error: $*" >&2; exit 1; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${RRVM_CACHE:-$REPO/.cache}/qemu-bundle
[[ ${1:-} == -o ]] && OUT=$2
QEMU_BIN=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not installed"
QEMU_BIN=$(readlink -f "$QEMU_BIN")
STAMP=$(stat -c '%s %Y' "$QEMU_BIN")
if [[ -f $OUT/.stamp && $(cat "$OUT/.stamp") == "$STAMP" ]]; then
  echo "$OUT"; exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT/usr/bin"
cp "$QEMU_BIN" "$OUT/usr/bin/qemu-system-x86_64"
# Shared libraries at the paths the dynamic loader will look for them.
ldd "$QEMU_BIN" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' | while read -r lib; do
  mkdir -p "$OUT$(dirname "$lib")"
  cp -L "$lib" "$OUT$lib"
done
# Firmware: SeaBIOS, the linuxboot option ROMs, kvmvapic; resolve the symlinks.
for d in /usr/share/qemu /usr/share/seabios; do
  mkdir -p "$OUT$d"
  for f in bios-256k.bin bios.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin multiboot_dma.bin; do
    [[ -e $d/$f ]] && cp -L "$d/$f" "$OUT$d/$f"
  done
done
[[ -f $OUT/usr/share/seabios/bios-256k.bin || -f $OUT/usr/share/qemu/bios-256k.bin ]] || die "SeaBIOS bios-256k.bin not found (apt-get install seabios)"
echo "$STAMP" >"$OUT/.stamp"
echo "qemu-bundle: $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
