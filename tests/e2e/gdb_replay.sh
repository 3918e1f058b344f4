#!/usr/bin/env bash
# gdb_replay.sh — real gdb against a replay of a crashed `race` recording: breakpoints, stepping, registers,
# memory, then reverse-stepi/next/finish/continue, the history boundaries, and a watchpoint that
# reverse-continues to the exact write that crashed the kernel. Every position is checked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gdb_lib.sh"
need_kvm
need_gdb
tmp=$(mktemp -d); server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
record_race_crash "$tmp/t" 20
TESTKERNEL=$tmp/t/kernel   # the kernel the trace holds: its symbols
start_server "$tmp/server.log" replay --gdb=unix:"$tmp/gdb.sock" "$tmp/t"
cat >"$tmp/s.gdb" <<GDB
set pagination off
set confirm off
set remotetimeout 600
target remote $tmp/gdb.sock
printf "START_PC %#lx\n", \$pc
printf "ENTRY64 %#lx\n", &entry64
# forwards: a breakpoint at a source line, registers, memory by virtual address
break race.c:18
continue
printf "BP1_PC %#lx\n", \$pc
printf "RACE_TICK %#lx\n", &race_tick
monitor when
info registers cr0 cr3 cr4 efer fs_base gs_base
printf "CR3 %#lx\n", \$cr3
printf "CR0PG %d\n", (\$cr0 >> 31) & 1
x/2gx &race_obj
printf "MAGIC %#lx\n", race_obj.magic
stepi
printf "STEPI_PC %#lx\n", \$pc
reverse-stepi
printf "RSTEPI_PC %#lx\n", \$pc
next
info line *\$pc
reverse-next
printf "RNEXT_PC %#lx\n", \$pc
step
info line *\$pc
finish
info symbol \$pc
printf "FINISH_PC %#lx\n", \$pc
reverse-stepi
printf "RET_PC %#lx\n", \$pc
info symbol \$pc
delete
reverse-finish
info symbol \$pc
x/i \$pc
printf "RFINISH_PC %#lx\n", \$pc
# writes are refused in a replay
python
try:
    gdb.execute("set var race_round = 77")
    print("WRITE_OK")
except gdb.error as e:
    print("WRITE_ERR %s" % e)
end
printf "ROUND_AFTER_WRITE %d\n", race_round
# to the end of the recording (after the crash), back to the last tick: the one that crashed
delete
continue
printf "END_PC %#lx\n", \$pc
info symbol \$pc
break race_tick
reverse-continue
printf "CRASH_TICK_PC %#lx\n", \$pc
printf "CRASH_SHARED %#lx\n", race_shared
monitor when
# back to an earlier breakpoint, and forwards again to the crash tick
delete
break scenario_race
reverse-continue
printf "RC_BP_PC %#lx\n", \$pc
printf "SCENARIO_RACE %#lx\n", &scenario_race
delete
break race_tick
continue
printf "FWD_AGAIN_PC %#lx\n", \$pc
# the watchpoint, from the crash tick: reverse-continue lands on the write that made race_shared NULL
delete
break race_tick if race_shared == 0
continue
printf "CRASH_TICK2_PC %#lx\n", \$pc
delete
watch race_shared
reverse-continue
printf "WATCH_PC %#lx\n", \$pc
info line race.c:117
printf "WATCH_SHARED %#lx\n", race_shared
# the write before it: the previous round's restore (line 120), or the start in round 1
printf "CRASH_ROUND %d\n", race_round
reverse-continue
printf "WATCH2_PC %#lx\n", \$pc
x/i \$pc
# and on to the start of the recording
delete
reverse-continue
printf "BEGIN_PC %#lx\n", \$pc
monitor info-trace
monitor snapshots
GDB
out=$tmp/gdb.out
run_gdb "$tmp/s.gdb" "$out" || { cat "$out" "$tmp/server.log"; fail "gdb failed"; }
cat "$out"
expect_eq "first stop is the first instruction" "$(val "$out" START_PC)" "$(val "$out" ENTRY64)"
expect_eq "break race.c:18 stops at race_tick" "$(val "$out" BP1_PC)" "$(val "$out" RACE_TICK)"
expect_grep "monitor when gives a position" "hit 1 of that rip after the event"
cr3=$(val "$out" CR3)
[ -n "$cr3" ] && [ "$cr3" != 0 ] || fail "cr3 unreadable: '$cr3'"
expect_eq "CR0.PG" "$(val "$out" CR0PG)" 1
expect_grep "fs_base shown" "^fs_base "
expect_eq "x/ through the guest page tables reads race_obj.magic" "$(val "$out" MAGIC)" 0x5241434543415345
bp=$(val "$out" BP1_PC); si=$(val "$out" STEPI_PC)
[ $((si)) -gt $((bp)) ] && [ $((si - bp)) -le 15 ] || fail "stepi went from $bp to $si"
echo "ok: stepi $bp -> $si"
expect_eq "reverse-stepi comes back" "$(val "$out" RSTEPI_PC)" "$bp"
expect_grep "next goes to line 19" 'Line 19 of ".*race.c"'
expect_eq "reverse-next comes back to line 18" "$(val "$out" RNEXT_PC)" "$bp"
expect_grep "finish returns to trap_dispatch" "^trap_dispatch + "
f=$(val "$out" FINISH_PC); r=$(val "$out" RET_PC); rf=$(val "$out" RFINISH_PC)
grep -aA1 "^FINISH_PC" "$out" >/dev/null
expect_grep "reverse-stepi from the caller goes back into race_tick" "^race_tick + "
[ $((rf)) -lt $((f)) ] && [ $((f - rf)) -le 16 ] || fail "reverse-finish landed at $rf, not on the call before $f"
grep -aq "=> $rf <trap_dispatch+[0-9]*>:.*call" "$out" || fail "reverse-finish did not stop on the call instruction in trap_dispatch"
echo "ok: reverse-finish stops on the call at $rf"
expect_grep "the write was refused" "^WRITE_ERR"
grep -aq "write refused" "$tmp/server.log" || fail "rrvm did not say why the write was refused"
[ "$(val "$out" ROUND_AFTER_WRITE)" != 77 ] || fail "race_round became 77: the replay was written to"
expect_eq "the crash tick sees race_shared NULL" "$(val "$out" CRASH_SHARED)" 0
expect_eq "crash tick stops in race_tick" "$(val "$out" CRASH_TICK_PC)" "$(val "$out" RACE_TICK)"
expect_eq "reverse-continue to an earlier breakpoint" "$(val "$out" RC_BP_PC)" "$(grep -a '^Breakpoint [0-9]* at 0x[0-9a-f]*: file .*race.c, line 75\.' "$out" | head -1 | sed 's/.* at \(0x[0-9a-f]*\):.*/\1/')"
expect_eq "forwards again to a tick" "$(val "$out" FWD_AGAIN_PC)" "$(val "$out" RACE_TICK)"
expect_eq "forwards again to the crash tick (condition race_shared == 0)" "$(val "$out" CRASH_TICK2_PC)" "$(val "$out" RACE_TICK)"
w=$(val "$out" WATCH_PC)
l117=$(grep -a 'Line 117 of' "$out" | sed 's/.*starts at address \(0x[0-9a-f]*\).*/\1/')
expect_eq "watchpoint reverse-continue lands on the write (race.c:117)" "$w" "$l117"
expect_grep "gdb reports the watched change" "Old value = "
[ "$(val "$out" WATCH_SHARED)" != 0x0 ] && [ "$(val "$out" WATCH_SHARED)" != 0 ] || fail "race_shared is NULL before the write"
w2=$(val "$out" WATCH2_PC)
if [ "$(val "$out" CRASH_ROUND)" = 1 ]; then
	expect_eq "round 1: no write before the crash's, so the start" "$w2" "$(val "$out" ENTRY64)"
else
	# Stopped on the instruction that restores race_shared (race.c:120) in the round before.
	grep -aq "=> $w2 <scenario_race+[0-9]*>:.*mov.*race_obj\|=> $w2 <scenario_race+[0-9]*>:.*movq *\$0x[0-9a-f]*,0x[0-9a-f]*(%rip) *# 0x[0-9a-f]* <race_shared>" "$out" ||
		fail "second watch stop $w2 is not the write of race_obj into race_shared"
	echo "ok: the write before is the restore of race_shared (round $(val "$out" CRASH_ROUND) - 1), at $w2"
fi
expect_eq "reverse-continue to the start of the recording" "$(val "$out" BEGIN_PC)" "$(val "$out" ENTRY64)"
[ "$(grep -ac 'No more reverse-execution history' "$out")" -ge 2 ] || fail "gdb did not report the history boundaries"
echo "ok: history boundaries reported"
expect_grep "continue ends at the recorded poweroff" "^poweroff + "
echo "PASS: gdb drove the replay forwards and backwards"
