#!/usr/bin/env bash
# e2e-bundle.sh: the tree of host tools the end-to-end test scripts need inside the SVM lane (bash, GNU tools, python3, gdb).
#
# Usage: tools/lane/e2e-bundle.sh [-o DIR] [--no-gdb]
#   Prints DIR (default ${RRVM_CACHE:-<repo>/.cache}/e2e-bundle, or e2e-bundle-nogdb
#   with --no-gdb: gdb and its libraries are 74 of the 97 MB), built by
#   tools/lane/bundle.sh. Use it as `tools/svm-lane --file DIR:/ -- 'PATH=/usr/bin:$PATH; ...'`.
#
# What is in it, all at their host paths with their libraries:
#   - bash, and the GNU coreutils/grep/sed/diffutils/util-linux programs the
#     scripts in tests/e2e call: busybox's applets differ where the scripts rely
#     on GNU behaviour (timeout --kill-after, stat -c, grep -x/-o/-a, dd
#     status=none, mktemp, head -c, ...), so the lane runs the host's own;
#   - awk (the host's, mawk on Debian); tmux, stty and /lib/terminfo for the tui
#     tests, objdump and nm (binutils) for their independent checks; the C.UTF-8
#     locale (/usr/lib/locale/C.utf8);
#   - python3 (/usr/bin/python3, Debian's) with only the standard-library modules
#     that its startup, json, struct and the ascii/latin-1 codecs (the lane has no locale) load (the scripts' snippets use nothing
#     else), listed by asking that python itself;
#   - gdb with its data directory (/usr/share/gdb), the Python modules that its
#     own start-up imports (again listed by running the host's gdb) and glibc's
#     UTF-16/32 gconv modules (its iconv needs them under C.UTF-8).
# 97 MB (23 MB without gdb); rebuilt when an input changes. Exits 1 when a program is missing
# (tools/install-deps.sh installs them all).
set -euo pipefail
die() { echo "e2e-bundle: error: $*" >&2; exit 1; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="" GDB=1
while [[ $# -gt 0 ]]; do
  case $1 in
    -o) OUT=$2; shift 2 ;;
    --no-gdb) GDB=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ -n $OUT ]] || OUT=${RRVM_CACHE:-$REPO/.cache}/e2e-bundle$([[ $GDB == 1 ]] || echo -nogdb)

PROGS=(bash env timeout mktemp cat grep egrep sed awk cmp diff head tail seq stat sha256sum dd truncate
       od tr cut wc sort uniq cp mv rm ls mkdir rmdir chmod ln touch sleep basename dirname readlink
       realpath tee xargs find date nproc id unshare mount umount strip stty tmux objdump nm)
PY=/usr/bin/python3
[[ -x $PY ]] || die "$PY not found (apt-get install python3): the scripts' snippets need Debian's python3"
[[ $GDB == 0 ]] || command -v gdb >/dev/null 2>&1 || die "gdb not found (apt-get install gdb)"
args=()
for p in "${PROGS[@]}"; do args+=(--prog "$p"); done
args+=(--prog "$PY")
# The terminal descriptions tmux and rrvm tui (static ncurses: /etc, /lib, /usr/share/terminfo) look up.
[[ -d /lib/terminfo ]] && args+=(--file /lib/terminfo)
# The C.UTF-8 locale (tmux refuses to start without a UTF-8 one; libc-bin ships it).
[[ -d /usr/lib/locale/C.utf8 ]] && args+=(--file /usr/lib/locale/C.utf8)
if [[ $GDB == 1 ]]; then
  args+=(--prog gdb --file /usr/share/gdb)
  # gdb converts names with iconv to UTF-32 under a UTF-8 locale: glibc's gconv modules for it.
  G=/usr/lib/x86_64-linux-gnu/gconv
  for f in gconv-modules gconv-modules.cache gconv-modules.d UTF-16.so UTF-32.so; do
    [[ -e $G/$f ]] && args+=(--file "$G/$f")
  done
fi

# py_files: every module file (source and cached bytecode, extension .so) a Python
# process has loaded, read from sys.modules. $1 is the code to print it with.
PYLIST='import sys
for m in list(sys.modules.values()):
    for a in ("__file__", "__cached__"):
        f = getattr(m, a, None)
        if f:
            print(f)'
mods=$( { "$PY" -c "import json, struct, socket, encodings.ascii, encodings.latin_1
$PYLIST"; [[ $GDB == 0 ]] || gdb -nx -batch -ex "python
$PYLIST" 2>/dev/null; } | sort -u)
[[ -n $mods ]] || die "could not list the Python modules to bundle"
while IFS= read -r f; do
  [[ -f $f && $f != /usr/share/gdb/* ]] && args+=(--file "$f")
done <<<"$mods"
exec "$REPO/tools/lane/bundle.sh" -o "$OUT" "${args[@]}"
