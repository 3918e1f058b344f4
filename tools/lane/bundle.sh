#!/usr/bin/env bash
# bundle.sh: gather host programs with their shared libraries, plus named data files, into a tree for the SVM lane.
#
# Usage: tools/lane/bundle.sh -o DIR [--prog NAME|PATH]... [--file PATH[:GUEST]]... [--quiet]
#
#   -o DIR              the tree to (re)build; printed on stdout when done
#   --prog NAME|PATH    a program (NAME is looked up in PATH): copied to its host
#                       path (/bin/x on a merged-/usr host becomes /usr/bin/x; a
#                       symlinked name like awk -> mawk gets the target's bytes
#                       under the name asked for), with every library `ldd` lists
#                       and the dynamic loader, at their host paths
#   --file PATH[:GUEST] a file or directory (recursively, symlinks resolved) put at
#                       GUEST (default: PATH itself); an ELF shared object among
#                       them (a Python extension module, say) brings its libraries
#   --quiet             no summary line on stderr
#
# Pass the tree to the lane as `tools/svm-lane --file DIR:/ -- ...`: everything
# sits where the host has it, so the programs run in the lane as if installed.
# Put /usr/bin first in PATH there: the lane's busybox applets live in /bin and
# its /usr/bin symlinks are replaced by the bundled programs of the same name.
# The tree is rebuilt only when the arguments or a source file (size, mtime)
# change (key in DIR/.stamp). Exits 1 with a message if a program or file is missing.
set -euo pipefail
die() { echo "bundle: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

OUT="" QUIET=0
PROGS=() FILES=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -o) OUT=$2; shift 2 ;;
    --prog) PROGS+=("$2"); shift 2 ;;
    --file) FILES+=("$2"); shift 2 ;;
    --quiet) QUIET=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ -n $OUT ]] || die "no output directory given (-o DIR)"
command -v ldd >/dev/null 2>&1 || die "ldd not found (libc-bin)"

# host_path P: P with its directory's symlinks resolved (/bin/bash -> /usr/bin/bash
# on a merged-/usr host), the last component kept as named.
host_path() { echo "$(readlink -f "$(dirname "$1")")/$(basename "$1")"; }

# Resolve every input first: a missing one fails before anything is touched.
declare -a SRC=() DST=()   # what to copy: source (symlinks resolved) -> path in the tree
for p in "${PROGS[@]+"${PROGS[@]}"}"; do
  if [[ $p == */* ]]; then path=$p; else path=$(command -v "$p") || die "program '$p' not found in PATH"; fi
  [[ -f $path && -x $path ]] || die "program '$p' ($path) is not an executable file"
  SRC+=("$(readlink -f "$path")"); DST+=("$(host_path "$path")")
done
for f in "${FILES[@]+"${FILES[@]}"}"; do
  host=${f%%:*}; guest=$host
  [[ $f == *:* ]] && guest=${f#*:}
  [[ -e $host ]] || die "file '$host' not found"
  [[ $guest == /* ]] || die "guest path '$guest' must be absolute"
  SRC+=("$(readlink -f "$host")"); DST+=("$guest")
done
[[ ${#SRC[@]} -gt 0 ]] || die "nothing to bundle (give --prog or --file)"

STAMP=$( { printf '%s\n' "$@"; for i in "${!SRC[@]}"; do find -L "${SRC[$i]}" -printf '%p %s %T@\n'; done; } | sha256sum | cut -c1-32)
if [[ -f $OUT/.stamp && $(cat "$OUT/.stamp") == "$STAMP" ]]; then
  echo "$OUT"; exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"

is_elf() { [[ -f $1 && $(head -c 4 "$1" | od -An -c | tr -d ' ') == 177ELF ]]; }
# libs_of FILE: the libraries `ldd` resolves for FILE and its loader (nothing for a static or non-ELF file).
libs_of() {
  is_elf "$1" || return 0
  ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' || true
}
declare -A SEEN=()
add_lib() {
  local lib=$1
  [[ -n ${SEEN[$lib]:-} ]] && return 0
  SEEN[$lib]=1
  mkdir -p "$OUT$(dirname "$lib")"
  cp -L "$lib" "$OUT$lib"
}
for i in "${!SRC[@]}"; do
  src=${SRC[$i]} dst=$OUT${DST[$i]}
  mkdir -p "$(dirname "$dst")"
  if [[ -d $src ]]; then
    mkdir -p "$dst"
    cp -rL "$src/." "$dst/"
    while IFS= read -r -d '' f; do
      for lib in $(libs_of "$f"); do add_lib "$lib"; done
    done < <(find "$src" -type f -name '*.so*' -print0)
  else
    cp -L "$src" "$dst"
    for lib in $(libs_of "$src"); do add_lib "$lib"; done
  fi
done
echo "$STAMP" >"$OUT/.stamp"
[[ $QUIET == 1 ]] || echo "bundle: $(du -sh "$OUT" | cut -f1) in $OUT (${#PROGS[@]} programs, ${#FILES[@]} files, ${#SEEN[@]} libraries)" >&2
echo "$OUT"
