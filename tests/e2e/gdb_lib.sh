# gdb_lib.sh — helpers for the tests that drive real gdb against rrvm (sourced after lib.sh).
need_gdb() { command -v gdb >/dev/null 2>&1 || skip "gdb is not installed (tools/install-deps.sh)"; }

# record_race_crash DIR MAX: records the race scenario until one run crashes (status 3).
record_race_crash() {
	local dir=$1 max=$2 i st
	for i in $(seq 1 "$max"); do
		rm -rf "$dir"
		run_guest "$dir.out" "$dir.err" record -o "$dir" --kernel "$TESTKERNEL" --append race
		st=$?
		[ "$st" = 3 ] && { echo "race crashed on recording attempt $i"; return 0; }
		[ "$st" = 0 ] || { cat "$dir.err"; fail "record attempt $i exited $st"; }
	done
	fail "no race recording crashed in $max attempts"
}

# start_server LOG ARGS...: starts rrvm with a gdb server on a Unix socket $tmp/gdb.sock, waits for it.
start_server() {
	local log=$1; shift
	rm -f "$tmp/gdb.sock"
	timeout --kill-after=5 "${RRVM_TIMEOUT:-300}" "$RRVM" "$@" </dev/null >"$log" 2>&1 &
	server=$!
	for _ in $(seq 1 100); do [ -S "$tmp/gdb.sock" ] && return 0; sleep 0.1; done
	cat "$log"; fail "rrvm did not start listening on $tmp/gdb.sock"
}

# run_gdb SCRIPT OUT: runs gdb in batch mode with the test kernel's symbols.
run_gdb() {
	timeout --kill-after=5 "${GDB_TIMEOUT:-240}" gdb -nx -batch -x "$1" "$TESTKERNEL" >"$2" 2>&1
}

# val OUT TAG: the value printed by `printf "TAG %...\n"` (the last one).
val() { grep -a "^$2 " "$1" | tail -1 | cut -d' ' -f2-; }
# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || { echo "--- gdb output:"; cat "$out"; fail "$1: got '$2', expected '$3'"; }; echo "ok: $1 = $2"; }
expect_grep() { grep -aq -- "$2" "$out" || { echo "--- gdb output:"; cat "$out"; fail "$1: no '$2' in gdb's output"; }; echo "ok: $1"; }
