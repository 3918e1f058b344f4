#!/usr/bin/env bash
# mkinitramfs.sh: build a reproducible newc cpio initramfs: busybox-static + an /init script + extra files.
#
# Usage: tools/mkinitramfs.sh -o OUT [options]
#
#   -o, --output OUT        archive to write (required)
#   --init FILE             script or binary to install as /init (mode 0755)
#   --file HOST[:GUEST]     add a file (default guest path: /<basename>); repeatable.
#                           A directory is added recursively (DIR:/ merges it into the root).
#   --dir GUEST             create an empty directory; repeatable
#   --busybox PATH          busybox binary (default: /bin/busybox, must be static)
#   --no-busybox            leave busybox out (for an archive appended to another)
#   --no-dev                leave out the /dev/console and /dev/null device nodes
#   --compress C            gzip (default), none, lz4, zstd or xz
#
# The archive holds /bin/busybox with one symlink per applet (/bin/sh, /sbin/insmod,
# ...), the directories /dev /proc /sys /tmp /root /etc /mnt /run, character
# devices /dev/console (5,1) and /dev/null (1,3) (written as a second newc
# member, so no root or mknod is needed), /init and the extra files.
# Owners are 0:0, timestamps 0, order sorted: the same inputs give the same bytes.
# The kernel accepts several concatenated archives; svm-lane uses that to add
# per-run files to a cached base (build both with --compress none and cat them).
set -euo pipefail

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }

OUT=""
INIT=""
BUSYBOX=/bin/busybox
WITH_BUSYBOX=1
WITH_DEV=1
COMPRESS=gzip
FILES=()
DIRS=()

while [[ $# -gt 0 ]]; do
  case $1 in
    -o|--output) OUT=$2; shift 2 ;;
    --init) INIT=$2; shift 2 ;;
    --file) FILES+=("$2"); shift 2 ;;
    --dir) DIRS+=("$2"); shift 2 ;;
    --busybox) BUSYBOX=$2; shift 2 ;;
    --no-busybox) WITH_BUSYBOX=0; shift ;;
    --no-dev) WITH_DEV=0; shift ;;
    --compress) COMPRESS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ -n $OUT ]] || die "no output given (-o OUT)"
command -v cpio >/dev/null 2>&1 || die "cpio not found (apt-get install cpio)"
case $COMPRESS in
  gzip) COMP=(gzip -n -6) ;;
  none) COMP=(cat) ;;
  lz4)  COMP=(lz4 -l -9 -q -c) ;;        # the kernel wants the legacy lz4 format
  zstd) COMP=(zstd -q -19 -c) ;;
  xz)   COMP=(xz --check=crc32 -6 -c) ;;  # the kernel's xz decoder wants crc32
  *) die "unknown --compress '$COMPRESS' (gzip, none, lz4, zstd, xz)" ;;
esac
command -v "${COMP[0]}" >/dev/null 2>&1 || die "${COMP[0]} not found (needed for --compress $COMPRESS)"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/root
mkdir -p "$ROOT"

if [[ $WITH_BUSYBOX == 1 ]]; then
  [[ -x $BUSYBOX ]] || die "busybox not found at $BUSYBOX (apt-get install busybox-static)"
  if readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "$BUSYBOX is dynamically linked; install busybox-static (or pass --busybox a static one)"
  fi
  mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,mnt,run}
  chmod 1777 "$ROOT/tmp"
  cp "$BUSYBOX" "$ROOT/bin/busybox"
  chmod 0755 "$ROOT/bin/busybox"
  while read -r applet; do
    [[ -n $applet && $applet != bin/busybox ]] || continue
    [[ -e $ROOT/$applet || -L $ROOT/$applet ]] && continue
    mkdir -p "$ROOT/$(dirname "$applet")"
    ln -s /bin/busybox "$ROOT/$applet"
  done < <("$BUSYBOX" --list-full)
  [[ -L $ROOT/bin/sh ]] || ln -s /bin/busybox "$ROOT/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
  printf 'root:x:0:\n' >"$ROOT/etc/group"
fi

for d in "${DIRS[@]+"${DIRS[@]}"}"; do
  mkdir -p "$ROOT/${d#/}"
done

add_file() {   # HOST GUEST
  local src=$1 dst=${2#/}
  [[ -e $src ]] || die "no such file: $src"
  mkdir -p "$ROOT/$(dirname "$dst")"
  if [[ -d $src ]]; then
    mkdir -p "$ROOT/$dst"
    cp -a "$src/." "$ROOT/$dst/"
  else
    rm -f "$ROOT/$dst"
    cp -L --reflink=auto "$src" "$ROOT/$dst"
  fi
}

if [[ -n $INIT ]]; then
  [[ -f $INIT ]] || die "init script not found: $INIT"
  cp "$INIT" "$ROOT/init"
  chmod 0755 "$ROOT/init"
fi

for spec in "${FILES[@]+"${FILES[@]}"}"; do
  if [[ $spec == *:* ]]; then
    host=${spec%%:*}; guest=${spec#*:}
  else
    host=$spec; guest=/$(basename "$spec")
  fi
  [[ -n $guest ]] || guest=/$(basename "$host")
  [[ $guest != / || -d $host ]] || die "--file $spec: only a directory can go to /"
  add_file "$host" "$guest"
done

# Reproducible: fixed timestamps, sorted names, owner 0:0 (cpio -R), no inode/dev numbers.
find "$ROOT" -exec touch -h -d @0 {} +

# A newc member for a character device, written by hand (mknod would need root).
newc_hdr() {   # name mode nlink devmajor devminor filesize
  local name=$1 mode=$2 nlink=$3 maj=$4 min=$5 size=$6 namesize
  namesize=$(( ${#name} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
    0 "$mode" 0 0 "$nlink" 0 "$size" 0 0 "$maj" "$min" "$namesize" 0 "$name"
  # header (110 bytes) + name + NUL padded to a multiple of 4
  local pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  head -c "$pad" /dev/zero
}
dev_nodes() {
  newc_hdr dev 0040755 2 0 0 0
  newc_hdr dev/console 0020600 1 5 1 0
  newc_hdr dev/null 0020666 1 1 3 0
  newc_hdr 'TRAILER!!!' 0 1 0 0 0
}

mkdir -p "$(dirname "$OUT")"
TMPOUT=$OUT.tmp.$$
{
  (cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||' |
    cpio --quiet -o -H newc -R 0:0 --reproducible)
  if [[ $WITH_DEV == 1 ]]; then
    dev_nodes >"$STAGE/dev.cpio"
    # pad to a 512-byte block, as cpio does
    sz=$(stat -c %s "$STAGE/dev.cpio")
    head -c $(( (512 - sz % 512) % 512 )) /dev/zero >>"$STAGE/dev.cpio"
    cat "$STAGE/dev.cpio"
  fi
} | "${COMP[@]}" >"$TMPOUT" || { rm -f "$TMPOUT"; die "writing $OUT failed"; }
mv -f "$TMPOUT" "$OUT"
echo "mkinitramfs: wrote $OUT ($(stat -c %s "$OUT") bytes, $COMPRESS)" >&2
