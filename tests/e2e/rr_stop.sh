#!/usr/bin/env bash
# rr_stop.sh — SIGINT/SIGTERM end a recording cleanly: status 8, the trace sealed, a final snapshot (reason
# "stop") at the last event, the trace replays with --check, and the snapshot resumes live to the guest's end.
# The running recorder holds no /dev/kvm fd (closed once its VM exists).
# usage: rr_stop.sh   (an idle guest, stopped in HLT, and a busy one, stopped while its ring-3 tasks run)
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0
for sig in TERM INT; do
	for scen in "timer ticks=300" "tasks iters=60000000"; do
		n=$((n + 1)); t=$tmp/t$n
		"$RRVM" record -o "$t" --kernel "$TESTKERNEL" --append "$scen" </dev/null >"$tmp/rec.out" 2>"$tmp/rec.err" &
		pid=$!
		# Signal it once the guest runs (before vm__run the default action would kill it).
		for _ in $(seq 1 300); do [ -s "$tmp/rec.out" ] && break; sleep 0.1; done
		sleep 1
		if [ $n = 1 ]; then   # SECURITY.md: the running monitor holds its VM, not /dev/kvm
			fds=$(ls -l /proc/$pid/fd 2>&1)
			echo "$fds" | grep -q 'anon_inode:kvm-vm' || { echo "$fds"; fail "the recorder holds no KVM VM fd"; }
			echo "$fds" | grep -q ' -> /dev/kvm$' && { echo "$fds"; fail "the recorder still holds /dev/kvm open"; }
			echo "the recording monitor holds its VM and vCPU fds, /dev/kvm is closed"
		fi
		kill -$sig $pid
		wait $pid; st=$?
		[ "$st" = 8 ] || { cat "$tmp/rec.err"; fail "$sig '$scen': record exited $st, expected 8 (interrupted)"; }
		grep -q "^rrvm: interrupted by signal" "$tmp/rec.err" || { cat "$tmp/rec.err"; fail "$sig '$scen': no 'interrupted by signal'"; }
		info=$("$RRVM" trace info "$t" 2>&1) || { echo "$info"; fail "$sig '$scen': trace info failed"; }
		echo "$info" | grep -q '^records .*(footer)' || { echo "$info"; fail "$sig '$scen': the trace is not sealed (no footer)"; }
		events=$(echo "$info" | awk '/^events/ {print $2; exit}')
		last=$("$RRVM" snapshot list "$t" | grep -E "^[0-9]+ +[0-9]+ +[0-9.]+ " | tail -1)
		echo "$sig '$scen': $(grep '^rrvm: interrupted' "$tmp/rec.err"); $events events; last snapshot: $last"
		if grep -q "no final snapshot" "$tmp/rec.err"; then
			echo "NOTE: $sig '$scen': no guest-caused exit came within 250 ms of the signal (said so); no stop snapshot"
		else
			echo "$last" | grep -Eq "^[0-9]+ +$events .*stop" || { "$RRVM" snapshot list "$t"; fail "$sig '$scen': the last snapshot is not a 'stop' one at event $events"; }
			seq=${last%% *}
			run_guest "$tmp/res.out" "$tmp/res.err" run --from "$t@$seq"
			rst=$?
			word=${scen%% *}
			[ "$rst" = 0 ] && grep -qx "RRVM-TEST $word: ok" "$tmp/res.out" ||
				{ cat "$tmp/res.out" "$tmp/res.err"; fail "$sig '$scen': resuming the stop snapshot exited $rst without the test token"; }
			echo "  resumed snapshot $seq live: RRVM-TEST $word: ok"
		fi
		run_guest "$tmp/rep.out" "$tmp/rep.err" replay --check --quiet "$t" || { cat "$tmp/rep.err"; fail "$sig '$scen': replay --check failed"; }
		grep '^rrvm: replay' "$tmp/rep.err" | sed 's/^/  /'
	done
done
echo "PASS: $n recordings stopped by SIGTERM/SIGINT: sealed, replayed with --check, stop snapshots resumed"
