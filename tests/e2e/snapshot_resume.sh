#!/usr/bin/env bash
# snapshot_resume.sh — records `tasks` with snapshots, then resumes each snapshot as a live VM
# (rrvm run --from TRACE@N): the tasks finish with their expected results and the test token.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" --snapshot-every=300ev --kernel "$TESTKERNEL" --append tasks
[ $? = 0 ] || { cat "$tmp/rec.err"; fail "record failed"; }
n=$(ls "$tmp/t/snapshots" | grep -c '\.snap$')
[ "$n" -ge 3 ] || fail "only $n snapshots"
for k in 1 $(( (n + 1) / 2 )) "$n"; do
	run_guest "$tmp/res.out" "$tmp/res.err" run --from "$tmp/t@$k"
	st=$?
	[ "$st" = 0 ] || { cat "$tmp/res.out" "$tmp/res.err"; fail "resume of snapshot $k exited $st"; }
	grep -q "^rrvm: resumed snapshot $k of .* at event [0-9]*" "$tmp/res.err" || fail "no resume line"
	grep -qx "RRVM-TEST tasks: ok" "$tmp/res.out" || { cat "$tmp/res.out"; fail "resume of $k: no 'RRVM-TEST tasks: ok'"; }
	ev=$(sed -n 's/^rrvm: resumed snapshot .* at event \([0-9]*\) .*/\1/p' "$tmp/res.err")
	# The console up to the snapshot (the UART's partial line was flushed into the trace when it was
	# taken) followed by what the resumed VM printed holds every task result, each the expected one.
	{ "$RRVM" trace console --to "$ev" "$tmp/t"; cat "$tmp/res.out"; } >"$tmp/all"
	for t in 0 1 2; do
		want=$(grep "^tasks: task $t result" "$tmp/rec.out")
		grep -qxF "$want" "$tmp/all" || { cat "$tmp/all"; fail "resume of $k: missing '$want'"; }
	done
	! grep -q '(WRONG)' "$tmp/res.out" || fail "resume of $k: the guest reported a failure"
	# It continued, not restarted: the boot banner and the early task phases are not printed again.
	first=$(head -1 "$tmp/rec.out")
	! grep -qxF "$first" "$tmp/res.out" || fail "resume of $k printed the boot banner again"
	echo "snapshot $k: $(sed -n 's/^rrvm: resumed //p' "$tmp/res.err")"
done
# record -o NEW --from T@k: the new trace starts in that state (its snapshot 1, event 0) and replays exactly.
k=$(( (n + 1) / 2 ))
run_guest "$tmp/new.out" "$tmp/new.err" record -o "$tmp/new" --from "$tmp/t@$k"
[ $? = 0 ] || { cat "$tmp/new.err"; fail "record --from exited non-zero"; }
grep -qx "RRVM-TEST tasks: ok" "$tmp/new.out" || fail "record --from: no token"
"$RRVM" snapshot list "$tmp/new" | grep -q '^1 .* 0 .*start' || { "$RRVM" snapshot list "$tmp/new"; fail "no starting snapshot"; }
run_guest "$tmp/nrep.out" "$tmp/nrep.err" replay "$tmp/new"
[ $? = 0 ] || { cat "$tmp/nrep.err"; fail "replay of the record --from trace failed"; }
cmp -s "$tmp/new.out" "$tmp/nrep.out" || fail "replay of the record --from trace: console differs"
[ "$(grep '^rrvm: final state:' "$tmp/new.err")" = "$(grep '^rrvm: final state:' "$tmp/nrep.err")" ] ||
	fail "replay of the record --from trace: final state differs"
echo "record --from snapshot $k: new trace replays identically ($(grep -o 'recorded [0-9]* events' "$tmp/new.err"))"
# A resumed VM is live: the same snapshot resumed twice runs the guest again, fresh (and the trace is untouched).
"$RRVM" replay --check --quiet "$tmp/t" >/dev/null 2>&1 || fail "the trace no longer replays after resuming from it"
echo "PASS: tasks resumed live from snapshots 1, $(( (n + 1) / 2 )) and $n of $n: tokens and results as recorded"
