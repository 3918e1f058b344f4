#!/usr/bin/env bash
# session_seek.sh — records a scenario, then seeks a replay session backwards and forwards: every stop and the end must equal a straight replay.
# usage: session_seek.sh SCENARIO [extra record args]    (SESSION_SEEK = the test tool)
source "$(dirname "$0")/lib.sh"
scenario=$1; shift
need_kvm
case $scenario in ring0spin*) need_ring0_breakpoints ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/trace" --kernel "$TESTKERNEL" --append "$scenario" "$@"
rst=$?
case $rst in 0|3) ;; *) cat "$tmp/rec.err"; fail "record exited $rst" ;; esac
want=$(grep '^rrvm: final state:' "$tmp/rec.err" | sed 's/.*registers \([0-9a-f]*\), memory \([0-9a-f]*\)/\1 \2/')
n=$("$RRVM" trace info "$tmp/trace" | awk '/^events/ {print $2; exit}')
[ -n "$n" ] && [ "$n" -gt 8 ] || { "$RRVM" trace info "$tmp/trace"; fail "cannot read the exit count ($n)"; }
# Forwards, backwards, to the start, to the end, and back again.
timeout 300 "$SESSION_SEEK" "$tmp/trace" $((n / 2)) $((n / 4)) $((3 * n / 4)) 1 $((n / 3)) 0 "$n" $((n / 2)) $((n - 1)) \
	>"$tmp/seek.out" 2>"$tmp/seek.err" || { cat "$tmp/seek.out" "$tmp/seek.err"; fail "seeking diverged from a straight replay"; }
cat "$tmp/seek.out"
got=$(sed -n 's/^straight: .*registers \([0-9a-f]*\), memory \([0-9a-f]*\)$/\1 \2/p' "$tmp/seek.out")
[ "$got" = "$want" ] || fail "the session's final state ($got) is not the recording's ($want)"
echo "PASS: '$scenario': 9 seeks over $n events match a straight replay; final state equals the recording's"
