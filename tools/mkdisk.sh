#!/usr/bin/env bash
# mkdisk.sh: make a small ext4 disk image (mkfs.ext4 from e2fsprogs, no mount, no root) for virtio-blk tests.
#
# Usage: tools/mkdisk.sh -o OUT [--size 32M]
#
# The file system holds /hello.txt ("RRVM-DISK: hello from the image made by
# tools/mkdisk.sh"), label rrvmdisk, a fixed UUID.
set -euo pipefail
die() { echo "mkdisk: error: $*" >&2; exit 1; }
OUT="" SIZE=32M
while [[ $# -gt 0 ]]; do
  case $1 in
    -o|--output) OUT=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ -n $OUT ]] || die "no output given (-o OUT)"
MKFS=$(command -v mkfs.ext4 || echo /usr/sbin/mkfs.ext4)
[[ -x $MKFS ]] || die "mkfs.ext4 not found (apt-get install e2fsprogs; tools/install-deps.sh)"
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
echo "RRVM-DISK: hello from the image made by tools/mkdisk.sh" >"$stage/hello.txt"
rm -f "$OUT"
E2FSPROGS_FAKE_TIME=1767225600 "$MKFS" -q -F -t ext4 -L rrvmdisk -U 5eed0000-0000-4000-8000-000000000007 \
  -E hash_seed=5eed0000-0000-4000-8000-000000000007,root_owner=0:0 -d "$stage" "$OUT" "$SIZE" \
  || die "mkfs.ext4 failed"
echo "$OUT"
