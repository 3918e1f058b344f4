#!/usr/bin/env bash
# access.sh — what rrvm does about untrusted input and privileges, without KVM (SECURITY.md): it sets
# no_new_privs at startup, and a trace whose kernel, initrd, disk.undo or snapshots/ is a symlink (a trace
# made elsewhere could point them anywhere) is refused before anything is read through the link.
# Usage: access.sh GOLDEN_TRACE_DIR
. "$(dirname "$0")/lib.sh"
golden=$1
tmp=$(mktemp -d /tmp/rrvm-access.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. Links out of a trace are refused, naming the file.
try_link() {   # NAME TARGET COMMAND...
	local name=$1 target=$2; shift 2
	rm -rf "$tmp/t"
	cp -r "$golden" "$tmp/t"
	ln -s "$target" "$tmp/t/$name"
	local rc=0
	timeout 60 "$RRVM" "$@" "$tmp/t" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	[ "$rc" -ne 0 ] || fail "rrvm $* accepted a trace whose $name is a symlink"
	grep -q "$name is a symlink" "$tmp/err" || fail "rrvm $* with a symlinked $name: $(cat "$tmp/err")"
	echo "rrvm $* refuses a symlinked $name (exit $rc): $(head -c 160 "$tmp/err")"
}
try_link kernel /etc/passwd replay
try_link initrd /etc/passwd replay
try_link disk.undo /etc/passwd replay
mkdir -p "$tmp/elsewhere" && echo junk >"$tmp/elsewhere/000001.snap"
try_link snapshots "$tmp/elsewhere" snapshot list
# 2. no_new_privs, set by rrvm itself (strace shows the call and its result).
command -v strace >/dev/null || skip "no_new_privs not checked: strace is not installed (tools/install-deps.sh)"
strace -qq -o /dev/null true 2>/dev/null || skip "no_new_privs not checked: ptrace is not permitted here"
strace -f -qq -e trace=prctl -o "$tmp/strace" "$RRVM" trace info "$golden" >/dev/null 2>"$tmp/err" ||
	fail "rrvm trace info on the golden trace failed: $(cat "$tmp/err")"
grep -q 'prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0' "$tmp/strace" ||
	fail "rrvm did not set no_new_privs: $(cat "$tmp/strace")"
echo "no_new_privs: set at startup"
echo "access: ok"
