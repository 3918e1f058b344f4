#!/usr/bin/env bash
# install-deps.sh: install every Debian package rrvm's build and tests need (idempotent; fast when all are present).
#
# Usage: tools/install-deps.sh [--check]
#   --check   only report what is missing (exit 1 if anything is)
# Runs apt-get update only when something is missing. Needs root (or sudo) to install.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config    # compiler, build system
  liblz4-dev lz4 zlib1g-dev liblzma-dev  # trace compression; gzip/xz bzImage payloads
  libcapstone-dev libncurses-dev      # disassembler (diagnostics, RDTSC rewriting, TUI), curses
  gdb tmux python3                    # gdb stub and TUI tests
  clang                               # libFuzzer targets and the sanitizer build (tests/fuzz, tools/test.sh)
  cppcheck clang-tidy                 # static checks (tests/static.cmake)
  strace                              # the access test checks rrvm's own system calls
  busybox-static cpio                 # initramfs for the lane and the Linux guests
  e2fsprogs                           # mkfs.ext4 for virtio-blk disk images (tools/mkdisk.sh)
  qemu-system-x86 qemu-utils          # the SVM lane (QEMU TCG + emulated SVM), qcow2 tools for benchmarks
  xz-utils zstd                       # kernel/initramfs compression
)

CHECK=0
case ${1:-} in
  --check) CHECK=1 ;;
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown argument: $1" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null 2>&1 || { echo "install-deps: error: not a Debian system (no dpkg-query)" >&2; exit 1; }

missing=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PKGS[@]} packages installed"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[[ $CHECK == 1 ]] && exit 1

SUDO=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: error: need root (or sudo) to install" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q || { echo "install-deps: error: apt-get update failed" >&2; exit 1; }
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
  || { echo "install-deps: error: apt-get install failed for: ${missing[*]}" >&2; exit 1; }
echo "install-deps: installed ${missing[*]}"
