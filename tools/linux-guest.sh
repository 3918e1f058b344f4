#!/usr/bin/env bash
# linux-guest.sh: build the busybox initramfs for the inner Linux guest that rrvm boots (boot or record/replay variant).
#
# Usage: tools/linux-guest.sh [--variant boot|rr] [--init FILE] [-o OUT]
#                             [--compress none|gzip|lz4|zstd|xz] [--file HOST[:GUEST]]...
#
#   --variant boot   /init = tests/linux/init-boot.sh (default): prints
#                    "RRVM-LINUX: init reached", uname -a, /proc/cmdline, then poweroff -f
#   --variant rr     /init = tests/linux/init-rr.sh: reads /dev/urandom, date,
#                    /proc/uptime, /proc/interrupts, sleeps 1 s, then panics via sysrq
#   --init FILE      any other /init script
#   -o OUT           output (default: ${RRVM_CACHE:-<repo>/.cache}/linux-guest/<variant>.cpio[.gz...])
#   --compress C     default none: an uncompressed cpio costs the guest no
#                    decompression (slow where guest ring 0 is emulated)
#   --file ...       extra files, as for tools/mkinitramfs.sh
#
# Prints the initramfs path on stdout. Rebuilds only when an input changed.
set -euo pipefail

die() { echo "linux-guest: error: $*" >&2; exit 1; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${RRVM_CACHE:-$REPO/.cache}
VARIANT=boot
INIT=""
OUT=""
COMPRESS=none
EXTRA=()

while [[ $# -gt 0 ]]; do
  case $1 in
    --variant) VARIANT=$2; shift 2 ;;
    --init) INIT=$2; shift 2 ;;
    -o|--output) OUT=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    --file) EXTRA+=(--file "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

if [[ -z $INIT ]]; then
  case $VARIANT in
    boot) INIT=$REPO/tests/linux/init-boot.sh ;;
    rr)   INIT=$REPO/tests/linux/init-rr.sh ;;
    *) die "unknown --variant '$VARIANT' (boot or rr)" ;;
  esac
else
  VARIANT=custom-$(basename "$INIT" .sh)
fi
[[ -f $INIT ]] || die "init script not found: $INIT"

if [[ -z $OUT ]]; then
  case $COMPRESS in none) ext=cpio ;; gzip) ext=cpio.gz ;; lz4) ext=cpio.lz4 ;; zstd) ext=cpio.zst ;; xz) ext=cpio.xz ;; *) ext=cpio.$COMPRESS ;; esac
  OUT=$CACHE/linux-guest/$VARIANT.$ext
fi

# Rebuild only when an input changed: the key covers the init, the extra
# files, mkinitramfs.sh itself and busybox.
keyfiles=("$INIT" "$REPO/tools/mkinitramfs.sh" /bin/busybox)
for ((i = 1; i < ${#EXTRA[@]}; i += 2)); do keyfiles+=("${EXTRA[i]%%:*}"); done
KEY=$( { echo "$COMPRESS ${EXTRA[*]+"${EXTRA[*]}"}"; cat "${keyfiles[@]}" 2>/dev/null || true; } | sha256sum | cut -c1-16)
if [[ -s $OUT && -f $OUT.key && $(cat "$OUT.key") == "$KEY" ]]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$(dirname "$OUT")"
"$REPO/tools/mkinitramfs.sh" -o "$OUT" --compress "$COMPRESS" --init "$INIT" "${EXTRA[@]+"${EXTRA[@]}"}" \
  || die "tools/mkinitramfs.sh failed"
echo "$KEY" >"$OUT.key"
echo "$OUT"
