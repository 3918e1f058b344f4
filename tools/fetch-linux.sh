#!/usr/bin/env bash
# fetch-linux.sh: download and unpack Debian's cloud kernel (vmlinuz + modules) into the rrvm cache.
#
# Usage: tools/fetch-linux.sh [--cache DIR] [--package NAME] [--quiet]
#
#   --cache DIR      cache root (default: ${RRVM_CACHE:-<repo>/.cache}); the kernel
#                    lands in DIR/linux/<kernel-release>/
#   --package NAME   kernel image package (default: whatever linux-image-cloud-amd64
#                    depends on; or $RRVM_LINUX_PACKAGE)
#   --quiet          no progress messages on stderr
#
# Idempotent: if the kernel is already unpacked it does no download. Without
# apt metadata or network it falls back to the newest kernel already cached.
#
# Output (stdout): shell assignments, also written to DIR/linux/<release>/env:
#   RRVM_LINUX_KVER=6.1.0-56-cloud-amd64
#   RRVM_LINUX_DIR=...   RRVM_LINUX_VMLINUZ=...   RRVM_LINUX_MODULES=...
#   RRVM_LINUX_CONFIG=...   RRVM_LINUX_PACKAGE=...   RRVM_LINUX_PKG_VERSION=...
# so `eval "$(tools/fetch-linux.sh)"` sets them.
#
# Exit status: 0 ok; 69 kernel unavailable (no apt/network and nothing cached);
# 1 any other error.
set -euo pipefail

die()  { echo "fetch-linux: error: $*" >&2; exit 1; }
unavailable() { echo "fetch-linux: unavailable: $*" >&2; exit 69; }
QUIET=0
log()  { [[ $QUIET == 1 ]] || echo "fetch-linux: $*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${RRVM_CACHE:-$REPO/.cache}
PKG=${RRVM_LINUX_PACKAGE:-}
PKG_EXPLICIT=0
META=linux-image-cloud-amd64

while [[ $# -gt 0 ]]; do
  case $1 in
    --cache) CACHE=$2; shift 2 ;;
    --package) PKG=$2; shift 2 ;;
    --quiet|-q) QUIET=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

[[ -n $PKG ]] && PKG_EXPLICIT=1
LINUX_CACHE=$CACHE/linux
mkdir -p "$LINUX_CACHE" || die "cannot create $LINUX_CACHE"

# Print the env for an unpacked kernel dir (paths computed from where it is now,
# so a moved cache stays valid) and refresh its env file.
emit_env() {   # $1 = unpacked kernel dir, containing meta
  local d=$1 KVER PKG PKG_VERSION
  # shellcheck disable=SC1091
  . "$d/meta"
  {
    echo "RRVM_LINUX_KVER=$KVER"
    echo "RRVM_LINUX_DIR=$d"
    echo "RRVM_LINUX_VMLINUZ=$d/vmlinuz"
    echo "RRVM_LINUX_MODULES=$d/modules"
    echo "RRVM_LINUX_CONFIG=$d/config"
    echo "RRVM_LINUX_PACKAGE=$PKG"
    echo "RRVM_LINUX_PKG_VERSION=$PKG_VERSION"
  } >"$d/env.tmp.$$" && mv -f "$d/env.tmp.$$" "$d/env" 2>/dev/null || rm -f "$d/env.tmp.$$"
  cat "$d/env"
}

# Newest already-unpacked kernel in the cache, or nothing.
newest_cached() {
  local d
  for d in "$LINUX_CACHE"/*/; do
    [[ -L ${d%/} ]] && continue
    [[ -f $d/meta && -f $d/.complete ]] && echo "${d%/}"
  done | sort -V | tail -n1
}

fallback_to_cache() {   # $1 = reason
  local c
  [[ $PKG_EXPLICIT == 1 ]] && unavailable "$1"
  c=$(newest_cached || true)
  if [[ -n $c ]]; then
    log "$1; using cached kernel $(basename "$c")"
    emit_env "$c"
    exit 0
  fi
  unavailable "$1, and no kernel is cached under $LINUX_CACHE"
}

command -v apt-cache >/dev/null 2>&1 || fallback_to_cache "apt-cache not found (not a Debian host?)"

# 1. Which package? linux-image-cloud-amd64 depends on linux-image-<abi>-cloud-amd64.
# apt-cache takes ~0.7 s; its answer only changes when the apt lists do, so memoise it.
LISTS_STAMP=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo none)
MEMO=$LINUX_CACHE/.resolved
if [[ -z $PKG && -f $MEMO ]]; then
  read -r memo_stamp memo_pkg <"$MEMO" || true
  [[ ${memo_stamp:-} == "$LISTS_STAMP" && -n ${memo_pkg:-} ]] && PKG=$memo_pkg
fi
if [[ -z $PKG ]]; then
  PKG=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}' || true)
  if [[ -z $PKG ]] && [[ $(id -u) == 0 ]]; then
    log "apt has no metadata for $META; running apt-get update"
    timeout 180 apt-get update -qq >/dev/null 2>&1 || true
    PKG=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}' || true)
  fi
  [[ -n $PKG ]] || fallback_to_cache "cannot resolve $META with apt-cache"
  LISTS_STAMP=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo none)
  echo "$LISTS_STAMP $PKG" >"$MEMO.$$" && mv -f "$MEMO.$$" "$MEMO"
fi
KVER=${PKG#linux-image-}
[[ $KVER != "$PKG" && -n $KVER ]] || die "package name '$PKG' is not linux-image-<release>"
DEST=$LINUX_CACHE/$KVER

# 2. Already unpacked? Done. One fetch at a time: tests start in parallel on a fresh cache, and a
#    second fetcher waits here, then finds the first one's kernel (it once removed it mid-move).
exec 8>"$LINUX_CACHE/.fetch.lock"
flock 8
if [[ -f $DEST/.complete && -f $DEST/meta ]]; then
  log "cached: $DEST"
  emit_env "$DEST"
  exit 0
fi

# 3. Download (apt-get download works unprivileged; as root it warns about _apt sandboxing).
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
TMP=$(mktemp -d "$LINUX_CACHE/.fetch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log "downloading $PKG"
download() { (cd "$TMP" && apt-get download -q "$PKG" >"$TMP/apt.log" 2>&1); }
if ! download; then
  # A superseded security update vanishes from the mirror: refresh the lists once.
  if [[ $(id -u) == 0 ]]; then
    log "apt-get download failed; running apt-get update and retrying"
    timeout 180 apt-get update -qq >/dev/null 2>&1 || true
    download || { sed 's/^/  apt: /' "$TMP/apt.log" >&2; fallback_to_cache "apt-get download $PKG failed"; }
  else
    sed 's/^/  apt: /' "$TMP/apt.log" >&2
    fallback_to_cache "apt-get download $PKG failed"
  fi
fi
DEB=$(ls "$TMP"/*.deb 2>/dev/null | head -n1)
[[ -n $DEB ]] || die "apt-get download produced no .deb (see above)"
PKG_VERSION=$(dpkg-deb -f "$DEB" Version)

# 4. Unpack into a temp dir, then move into place atomically.
log "unpacking $(basename "$DEB")"
dpkg-deb -x "$DEB" "$TMP/root" || die "dpkg-deb -x failed on $DEB"
VMLINUZ_SRC=$TMP/root/boot/vmlinuz-$KVER
[[ -f $VMLINUZ_SRC ]] || die "package has no boot/vmlinuz-$KVER"
MODSRC=$TMP/root/lib/modules/$KVER
[[ -d $MODSRC ]] || MODSRC=$TMP/root/usr/lib/modules/$KVER
[[ -d $MODSRC ]] || die "package has no lib/modules/$KVER"

STAGE=$TMP/out
mkdir -p "$STAGE"
mv "$VMLINUZ_SRC" "$STAGE/vmlinuz"
chmod 0644 "$STAGE/vmlinuz"
cp "$TMP/root/boot/config-$KVER" "$STAGE/config" 2>/dev/null || true
mv "$MODSRC" "$STAGE/modules"
printf 'KVER=%s\nPKG=%s\nPKG_VERSION=%s\n' "$KVER" "$PKG" "$PKG_VERSION" >"$STAGE/meta"
(cd "$STAGE" && sha256sum vmlinuz >vmlinuz.sha256)
touch "$STAGE/.complete"
rm -rf "$DEST"
mv "$STAGE" "$DEST" || die "cannot move unpacked kernel to $DEST"
ln -sfn "$KVER" "$LINUX_CACHE/current"
log "unpacked $PKG $PKG_VERSION into $DEST"
emit_env "$DEST"
