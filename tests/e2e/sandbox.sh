#!/usr/bin/env bash
# sandbox.sh — a running `rrvm record` and `rrvm run` are confined (core/sandbox.h, SECURITY.md): every
# thread of the monitor has the seccomp filter and no_new_privs while the guest runs, the trace written
# under it replays, and --no-sandbox leaves them off. What the filter and Landlock forbid is tried from
# inside by unit_sandbox; this shows the monitor really enters them.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); pid=
trap 'exec 7>&- 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# seccomp_of PID: "N N ..." — the Seccomp mode of every thread (2: filter).
seccomp_of() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^Seccomp:/ { printf "%s ", $2 }'; }

# check WANT ARGS...: runs `rrvm ARGS` on the echo scenario, fed from a fifo so it waits for input;
# once the guest has echoed a first line, every thread must show Seccomp WANT. Then quits the guest.
check() {
	local want=$1; shift
	rm -f "$tmp/in"; mkfifo "$tmp/in"
	"$RRVM" "$@" --kernel "$TESTKERNEL" --append echo <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 7>"$tmp/in"
	# Typed only once the guest reads: its UART set-up clears the receive FIFO, as a 16550's does.
	for _ in $(seq 200); do grep -q 'echo: type lines' "$tmp/out" && break; sleep 0.05; done
	printf 'ping\n' >&7
	for _ in $(seq 200); do grep -q 'echo: ping' "$tmp/out" && break; sleep 0.05; done
	grep -q 'echo: ping' "$tmp/out" || { cat "$tmp/err"; fail "rrvm $1: the guest never echoed"; }
	local modes nnp
	modes=$(seccomp_of "$pid")
	nnp=$(awk '/^NoNewPrivs:/ { print $2 }' /proc/"$pid"/status)
	printf 'q\n' >&7; exec 7>&-
	wait "$pid" || { cat "$tmp/err"; fail "rrvm $* exited $?"; }
	pid=
	echo "rrvm $1 ${*:2}: threads' Seccomp modes: $modes NoNewPrivs: $nnp"
	[ "$(echo $modes | wc -w)" -ge 2 ] || fail "expected the vCPU and console-input threads, saw: $modes"
	for m in $modes; do [ "$m" = "$want" ] || fail "rrvm $*: a thread has Seccomp $m, not $want"; done
	[ "$nnp" = 1 ] || fail "rrvm $*: no_new_privs is not set"
}

check 2 record -o "$tmp/t" --stats
grep -q '^rrvm: sandbox: Landlock on' "$tmp/err" || echo "NOTE: $(grep 'sandbox' "$tmp/err")"
run_guest "$tmp/rep.out" "$tmp/rep.err" replay --check "$tmp/t" || { cat "$tmp/rep.err"; fail "the sandboxed recording does not replay"; }
check 2 run
check 0 run --no-sandbox
echo "PASS: record and run confined in every thread; the trace replays; --no-sandbox leaves it off"
