#!/usr/bin/env bash
# tui.sh — drives `rrvm tui` in a detached tmux (send-keys, capture-pane) on a recorded test-kernel crash.
# usage: tui.sh browse | damaged | gdb | cancel | snap
#   browse   open, go to the crash (panic text, RIP with symbol), [ back to a snapshot and g to an event
#            (registers as a straight replay has them, changes highlighted, console before the panic),
#            event filter, memory, disassembly,
#            search, help, resize 80x24 and 200x60, q restores the terminal (status 0)
#   gdb      G opens gdb on a replay at the cursor (same RIP, same event), quitting gdb comes back
#   cancel   a long seek shows progress, keys still work, Esc cancels, r resumes
#   snap     s at an event without a snapshot writes one: snapshot list shows it, replay --from sN ends
#            in the same final state as a full replay, the browser finds it again ([), run --from refuses it
#   damaged  a corrupt header and a truncated events file: error shown, non-zero exit, no crash
source "$(dirname "$0")/lib.sh"
mode=${1:-browse}
command -v tmux >/dev/null || skip "tmux is not installed (tools/install-deps.sh installs it)"
WAIT=${TUI_WAIT:-90}   # seconds to wait for any screen state (a loaded machine is slow)
tmp=$(mktemp -d)
# A fresh tmux server (socket) per start: a new session on a server that is still shutting down
# fails with "server exited unexpectedly".
n_start=0 sock=
tm() { tmux -L "$sock" "$@"; }
cleanup() {
	for i in $(seq "$n_start"); do tmux -L "rrvm-tui-test-$$-$i" kill-server 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# start W H ARGS...: runs rrvm tui ARGS in a fresh tmux window of W x H; the shell around it
# prints a marker before, the exit status and the terminal modes after.
start() {
	local w=$1 h=$2; shift 2
	[ -n "$sock" ] && tm kill-server 2>/dev/null
	n_start=$((n_start + 1))
	sock="rrvm-tui-test-$$-$n_start"
	local cmd
	cmd="echo BEFORE-TUI; $(printf '%q ' "$RRVM" tui "$@"); echo TUI-EXIT=\$?; stty -a | tr '\n' ' '; echo; echo TUI-DONE; sleep 3600"
	tm new-session -d -x "$w" -y "$h" -s tui "bash -c $(printf '%q' "$cmd")" || fail "tmux new-session failed"
	tm set-option -t tui -g status off >/dev/null
	tm resize-window -t tui -x "$w" -y "$h" 2>/dev/null
}
screen() { tm capture-pane -p -t tui; }
keys() { tm send-keys -t tui "$@"; }
# wait_for TEXT [what]: polls the screen until TEXT (fixed string) shows up.
wait_for() {
	local end=$((SECONDS + WAIT))
	while [ $SECONDS -lt $end ]; do
		screen | grep -qF -- "$1" && return 0
		sleep 0.2
	done
	screen >&2
	fail "waited ${WAIT}s for '$1' ${2:+($2)}"
}
# wait_re REGEX [what]: the same with an extended regular expression.
wait_re() {
	local end=$((SECONDS + WAIT))
	while [ $SECONDS -lt $end ]; do
		screen | grep -qE -- "$1" && return 0
		sleep 0.2
	done
	screen >&2
	fail "waited ${WAIT}s for /$1/ ${2:+($2)}"
}
# wait_gone TEXT: polls until TEXT is no longer on the screen.
wait_gone() {
	local end=$((SECONDS + WAIT))
	while [ $SECONDS -lt $end ]; do
		screen | grep -qF -- "$1" || return 0
		sleep 0.2
	done
	screen >&2
	fail "waited ${WAIT}s for '$1' to go away ${2:+($2)}"
}
# The register pane's RIP line: "RIP <16 hex digits> <symbol>".
rip_line() { screen | grep -oE 'RIP [0-9a-f]{16}( <[^>]*>)?' | head -1; }
# straight_rip EVENT: RIP at EVENT by a plain `rrvm replay --to` (independent of the browser's seeks).
straight_rip() {
	"$RRVM" replay --quiet --to "$1" "$tmp/crash" 2>&1 | sed -nE 's/^rrvm: final state: event [0-9]+, rip 0x([0-9a-f]+),.*/\1/p' |
		{ read -r x && printf '%016x' "$((16#$x))"; }
}
# rip_at EVENT: the RIP the browser must show at EVENT. A stop is shown with the exit's instruction
# finished (as a snapshot holds it); when replay --to stopped with an IN still on its instruction
# (objdump, not rrvm's disassembler, says so), add that instruction's length.
rip_at() {
	local r insn len
	r=$(straight_rip "$1") || return 1
	insn=$(objdump -d --start-address=$((16#$r)) --stop-address=$((16#$r + 16)) "$TESTKERNEL" |
		awk -F'\t' '/^ *[0-9a-f]+:\t/ { n = split($2, b, " "); print n, $3; exit }')
	read -r len mn _ <<<"$insn"
	case $mn in
	in|inb|inw|inl) r=$(printf '%016x' $((16#$r + len))) ;;
	esac
	echo "$r"
}
# layout_ok W H: every line fits, the timeline, the status line and pane titles are there.
layout_ok() {
	local w=$1 h=$2 s
	s=$(screen)
	[ "$(printf '%s\n' "$s" | wc -l)" -eq "$h" ] || { printf '%s\n' "$s" >&2; fail "screen is not $h lines"; }
	printf '%s\n' "$s" | awk -v w="$w" 'length($0) > w { exit 1 }' || fail "a line is wider than $w"
	printf '%s\n' "$s" | head -1 | grep -q 'event [0-9]*/[0-9]*' || fail "no header at ${w}x$h"
	printf '%s\n' "$s" | sed -n 5p | grep -q '^evt ' || fail "no timeline axis at ${w}x$h"
	for t in "${@:3}"; do
		printf '%s\n' "$s" | grep -qF -- "$t" || { printf '%s\n' "$s" >&2; fail "'$t' missing at ${w}x$h"; }
	done
}

need_kvm
run_guest "$tmp/rec.out" "$tmp/rec.err" record --snapshot-every 100ev -o "$tmp/crash" --kernel "$TESTKERNEL" --append crash
st=$?
[ "$st" = 3 ] || { cat "$tmp/rec.err"; fail "recording the crash scenario exited $st, not 3 (panic)"; }
final=$(grep '^rrvm: final state:' "$tmp/rec.err") || fail "record printed no final state"
last=$(sed -E 's/.*event ([0-9]+),.*/\1/' <<<"$final")
rip=$(sed -E 's/.*rip 0x([0-9a-f]+),.*/\1/' <<<"$final")
RIP=$(printf '%016x' "$((16#$rip))")
# The symbol holding the crash RIP, from the ELF by nm (not by rrvm's own reader).
# sym_re HEX: a regex for "<name+0xoff>" of the text symbol holding address HEX, by nm; every alias
# nm lists at that address (a function and a linker label, say) is accepted.
sym_re() {
	local a base names off
	a=$(printf '%016x' "$((16#$1))")
	read -r base names < <(nm -n "$TESTKERNEL" | awk -v a="$a" '$2 ~ /^[tTwW]$/ && ($1 "") <= (a "") {
		if ($1 != v) { v = $1; n = $3 } else n = n "|" $3 } END { print v, n }')
	[ -n "$names" ] || return 1
	off=$((16#$a - 16#$base))
	if [ "$off" -gt 0 ]; then printf '<(%s)\\+0x%x>' "$names" "$off"; else printf '<(%s)>' "$names"; fi
}
sym=$(sym_re "$rip") || fail "nm found no symbol for 0x$rip"
echo "recorded crash: $last events, final rip 0x$rip = $sym"

case $mode in
browse)
	start 100 30 "$tmp/crash"
	wait_for "event $last/$last" "opens at the end"
	wait_for "[panic, status 3]" "header names the stop"
	# Move to the crash from the start: the console has the panic, the registers the crash RIP.
	keys Home
	wait_for "event 0/$last"
	wait_for "(no console output yet at this event)"
	wait_re "Registers +at event 0$" "registers at event 0"
	r0=$(rip_line)
	keys c
	wait_for "event $last/$last" "c goes to the crash"
	wait_for "KERNEL PANIC: page fault" "console shows the panic"
	wait_re "RIP $RIP $sym" "register pane shows the crash RIP with its symbol"
	# The guest's panic report names the faulting RIP; the console pane adds its symbol (nm's).
	frip=$(sed -nE 's/^ *RIP 0x([0-9a-f]+) .*/\1/p' "$tmp/rec.out" | head -1)
	[ -n "$frip" ] || fail "the guest printed no faulting RIP"
	fsym=$(sym_re "$frip") || fail "nm found no symbol for the faulting RIP 0x$frip"
	wait_re "RIP 0x$frip $fsym" "console shows the faulting RIP with its symbol"
	wait_re "Registers +at event $last$" "registers are the crash's"
	[ "$r0" != "$(rip_line)" ] || fail "RIP at event 0 ($r0) equals RIP at the crash"
	# Back to the last snapshot before the panic text: [ steps from snapshot to snapshot; the registers
	# are a straight replay's at that event, the console has no panic yet.
	snaps=$("$RRVM" trace dump --kind snapshot "$tmp/crash" | awk 'NR > 1 { print $1 }' | uniq)
	[ -n "$snaps" ] || fail "the recording has no snapshots (--snapshot-every 100ev)"
	target= presses=0
	for e in $snaps; do
		[ "$e" -lt "$last" ] || continue
		if "$RRVM" trace console --to "$e" "$tmp/crash" | grep -q "KERNEL PANIC"; then
			presses=$((presses + 1))
		else
			target=$e presses=1
		fi
	done
	[ -n "$target" ] || fail "no snapshot before the panic text among: $snaps"
	# presses: snapshots from target up to the crash, each one [ away.
	presses=$(for e in $snaps; do [ "$e" -ge "$target" ] && [ "$e" -lt "$last" ] && echo "$e"; done | wc -l)
	# All presses in one send-keys, so they arrive together wherever starting tmux is slow (the
	# svm-lane): the changes below are then against the crash, not the previous snapshot.
	keys $(for _ in $(seq "$presses"); do printf '[ '; done)
	wait_for "event $target/$last" "[ x$presses reaches the snapshot at $target"
	wait_re "Registers +at event $target\$" "registers at the snapshot"
	wait_gone "KERNEL PANIC" "console at snapshot event $target is before the panic"
	want=$(rip_at "$target")
	[ -n "$want" ] || fail "replay --to $target printed no final state"
	wait_for "RIP $want" "RIP at snapshot event $target equals a straight replay's"
	r1=$(rip_line)
	grep -qE "RIP $RIP $sym" <<<"$r1" && fail "registers did not change going back: '$r1'"
	# Changed registers are highlighted (an SGR attribute right before the value that changed).
	tm capture-pane -p -e -t tui | grep -E 'RIP.*'$'\e''\[[0-9;]*m[0-9a-f]{16}' >/dev/null ||
		fail "RIP, changed since the crash, is not highlighted"
	# An event between snapshots (g): registers again as a straight replay has them.
	early=
	for e in $("$RRVM" trace dump --kind console "$tmp/crash" | awk 'NR > 1 { print $1 }' | uniq); do
		c=$("$RRVM" trace console --to "$e" "$tmp/crash")
		grep -q "KERNEL PANIC" <<<"$c" && break
		grep -q "crash: dereferencing a NULL pointer in ring 0" <<<"$c" && early=$e
	done
	[ -n "$early" ] || fail "no event with the crash line printed and the panic not yet"
	keys g
	wait_for "go to event"
	keys "$early" Enter
	wait_for "event $early/$last"
	wait_for "crash: dereferencing a NULL pointer" "console up to event $early"
	wait_re "Registers +at event $early\$" "registers replayed to event $early"
	want=$(rip_at "$early") || fail "no straight-replay RIP for event $early"
	wait_for "RIP $want" "RIP at event $early equals a straight replay's"
	# Search the console: the match is past the cursor, so the cursor moves to where it was printed.
	keys / ; wait_for "/"
	keys "RRVM-TEST" Enter
	wait_for '"RRVM-TEST": line' "search reports the match"
	want_ev=
	for e in $("$RRVM" trace dump --kind console "$tmp/crash" | awk 'NR > 1 { print $1 }' | uniq); do
		"$RRVM" trace console --to "$e" "$tmp/crash" | grep -q "RRVM-TEST" && { want_ev=$e; break; }
	done
	[ -n "$want_ev" ] || fail "no RRVM-TEST line in the console"
	wait_for "printed at event $want_ev (cursor moved there)"
	wait_for "event $want_ev/$last"
	wait_re "^RRVM-TEST" "the console shows the match"
	# Export the console up to the cursor: byte for byte what `rrvm trace console --to` says.
	keys e; wait_for "export console to file"
	keys C-u "$tmp/exported.txt" Enter
	wait_for "to $tmp/exported.txt"
	"$RRVM" trace console --to "$want_ev" "$tmp/crash" > "$tmp/want.txt"
	cmp "$tmp/exported.txt" "$tmp/want.txt" || fail "the exported console differs from trace console --to $want_ev"
	# Event pane with a filter: only the debug-exit port's exit.
	keys Tab 3
	wait_for "3 Events"
	keys f; wait_for "event filter"
	keys C-u "port=0xf4" Enter
	wait_for "filter: port=0xf4"
	wait_re "exit +IO +out +port=0xf4" "the filtered exit"
	screen | grep -q "port=0x3f8" && fail "the port filter let port 0x3f8 through"
	# Memory at RSP (guest-virtual) and the disassembly around RIP.
	keys 4
	wait_re "4 Memory +rsp = 0x[0-9a-f]+ +virtual"
	rsp=$(screen | sed -nE 's/.*4 Memory +rsp = 0x([0-9a-f]+).*/\1/p')
	wait_re "^$(printf '%016x' $((16#$rsp & ~15)))(  ?[0-9a-f]{2}){8}" "a hex row at RSP"
	keys 5
	wait_re "^=>[0-9a-f]{16} " "the disassembly marks RIP"
	keys 2
	wait_for "2 Registers"
	# Help lists the keys.
	keys '?'
	wait_for "rrvm tui keys"
	for k in "previous / next snapshot" "go to an event" "search the console"; do
		wait_for "$k" "help lists it"
	done
	keys NPage   # the rest of the list scrolls into view
	for k in "take a snapshot here" "export the console" "open gdb here" "quit"; do
		wait_for "$k" "help lists it"
	done
	keys Escape
	wait_gone "rrvm tui keys"
	# Layouts: 80x24 (two panes stacked), 200x60 (four).
	tm resize-window -t tui -x 80 -y 24
	wait_for "event $want_ev/$last"
	sleep 0.5
	layout_ok 80 24 "1 Console" "2 Registers"
	tm resize-window -t tui -x 200 -y 60
	wait_for "5 Disassembly"
	sleep 0.5
	layout_ok 200 60 "1 Console" "2 Registers" "4 Memory" "5 Disassembly" "=>"
	screen > "$tmp/200x60.txt"
	# q exits 0 and gives the terminal back: the shell's screen, cooked mode with echo.
	keys q
	wait_for "TUI-DONE" "rrvm tui exits"
	s=$(screen)
	grep -q "TUI-EXIT=0" <<<"$s" || { echo "$s"; fail "rrvm tui did not exit 0"; }
	grep -q "BEFORE-TUI" <<<"$s" || { echo "$s"; fail "the terminal's screen was not restored"; }
	grep -qE '(^| )icanon( |$)' <<<"$s" && grep -qE '(^| )echo( |$)' <<<"$s" ||
		{ echo "$s"; fail "the terminal was left raw (no icanon/echo)"; }
	[ "$(tm display -p -t tui '#{alternate_on}')" = 0 ] || fail "still on the alternate screen"
	echo "PASS: browse: crash at $last (fault at 0x$frip $fsym) with RIP $RIP $sym, [ to snapshot at $target, g $early, search, help, 80x24 and 200x60, q restores"
	;;
damaged)
	# A header with a flipped byte cannot be opened: an error screen, exit 1.
	cp -r "$tmp/crash" "$tmp/badhdr"
	# Invert byte 40 (writing a constant there changed nothing when the byte
	# already had that value: offset 40 holds varying header data).
	b=$(od -An -tu1 -j40 -N1 "$tmp/badhdr/header" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$tmp/badhdr/header" bs=1 seek=40 conv=notrunc status=none
	cmp -s "$tmp/crash/header" "$tmp/badhdr/header" && fail "the header byte was not changed"
	start 100 30 "$tmp/badhdr"
	wait_for "cannot open this trace" "error screen"
	wait_for "header" "the error names the file"
	keys x
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=1" || { screen; fail "a corrupt header did not exit 1"; }
	screen | grep -q "rrvm tui: .*header" || { screen; fail "no error on stderr after the screen"; }
	# An events file cut in the middle of its chunk: the readable prefix, DAMAGED, exit 1 after q.
	cp -r "$tmp/crash" "$tmp/cut"
	size=$(stat -c %s "$tmp/cut/events")
	truncate -s $((size / 2)) "$tmp/cut/events"
	rm -f "$tmp/cut/index"
	start 100 30 "$tmp/cut"
	wait_for "DAMAGED" "status line says the trace is damaged"
	keys q
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=1" || { screen; fail "a truncated trace did not exit 1"; }
	# Not a trace at all.
	mkdir "$tmp/empty"
	start 100 30 "$tmp/empty"
	wait_for "cannot open this trace"
	keys x
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=1" || { screen; fail "an empty directory did not exit 1"; }
	echo "PASS: damaged: corrupt header, truncated events and an empty directory exit 1 with the error shown"
	;;
gdb)
	command -v gdb >/dev/null || skip "gdb is not installed (tools/install-deps.sh installs it)"
	# G at an event: the browser steps aside, gdb is attached to a replay there, q/quit comes back.
	ev=$(( last / 2 ))
	start 100 30 --at "$ev" "$tmp/crash"
	wait_re "Registers +at event $ev\$" "registers at event $ev"
	tui_rip=$(rip_line | awk '{ print $2 }')
	keys G
	wait_for "(gdb)" "gdb runs attached to the replay"
	keys "info registers rip" Enter
	wait_re "^rip +0x$(printf '%x' $((16#$tui_rip)))" "gdb's RIP is the browser's at event $ev"
	keys "monitor when" Enter
	wait_for "event $ev of $last" "the replay gdb sees is at event $ev"
	keys "quit" Enter
	wait_for "Quit anyway?"
	keys y Enter
	wait_for "back from gdb" "the browser comes back"
	wait_for "event $ev/$last"
	keys q
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=0" || { screen; fail "rrvm tui did not exit 0 after gdb"; }
	echo "PASS: gdb: G at event $ev, gdb saw rip 0x$tui_rip and event $ev, back in the browser, q exits 0"
	;;
cancel)
	# A long seek shows its progress, the screen keeps answering, Esc cancels, r resumes it.
	run_guest "$tmp/long.out" "$tmp/long.err" record --clock=virtual -o "$tmp/long" --kernel "$TESTKERNEL" \
		--append "timer ticks=40000 hz=1000" || { cat "$tmp/long.err"; fail "recording the long timer failed"; }
	n=$("$RRVM" trace info "$tmp/long" | awk '/^events/ { print $2; exit }')
	start 100 30 --at 0 "$tmp/long"
	wait_re "Registers +at event 0\$"
	keys End
	wait_re "replaying to event $n:|Registers +at event $n\$" "progress while seeking to the end"
	screen | grep -q "replaying to event $n:" ||
		skip "a seek over $n events finished before the progress line (0.15 s): too fast here to cancel"
	keys Home   # the cursor moves while the seek runs
	wait_for "event 0/$n" "the screen answers during a seek"
	wait_re "Registers +at event 0\$" "back at event 0"
	keys End
	wait_for "replaying to event $n:"
	keys Escape
	wait_re "seek to $n cancelled at event [0-9]+" "Esc cancels"
	wait_for "seek cancelled, r replays"
	keys r
	wait_re "Registers +at event $n\$" "r replays to the cursor after all"
	keys q
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=0" || { screen; fail "rrvm tui did not exit 0"; }
	echo "PASS: cancel: progress shown seeking to $n, keys answered meanwhile, Esc cancelled, r finished it"
	;;
snap)
	# s at an event with no snapshot writes snapshots/NNNNNN.snap (reason "replay"); everything finds it.
	recorded=$("$RRVM" trace dump --kind snapshot "$tmp/crash" | awk 'NR > 1 { print $1 }' | sort -n | uniq)
	n0=$(ls "$tmp/crash/snapshots" | grep -c '\.snap$')
	ev=$(( last / 2 + 7 ))
	while grep -qx "$ev" <<<"$recorded"; do ev=$((ev + 1)); done
	[ "$ev" -lt "$last" ] || fail "no event without a snapshot below $last"
	# The first recorded snapshot after ev (or the end): [ from there lands on ev.
	next=$(awk -v e="$ev" '$1 > e { print; exit }' <<<"$recorded"); next=${next:-$last}
	start 100 30 --at "$ev" "$tmp/crash"
	wait_re "Registers +at event $ev\$" "registers at event $ev"
	keys s
	wait_re "snapshot [0-9]+ written at event $ev" "s writes a snapshot"
	N=$(screen | sed -nE "s/.*snapshot ([0-9]+) written at event $ev.*/\1/p" | head -1)
	[ "$N" = $((n0 + 1)) ] || fail "snapshot number $N, expected $((n0 + 1)) (after $n0 recorded)"
	f=$(printf '%s/crash/snapshots/%06u.snap' "$tmp" "$N")
	[ -f "$f" ] || fail "$f was not written"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), not 600"
	keys s
	wait_re "snapshot not written: .*already at event $ev" "a second s at the same event is refused"
	# The browser knows it at once: [ from the next snapshot (or the end) lands on it.
	keys g; wait_for "go to event"; keys "$next" Enter
	wait_for "event $next/$last"
	keys '['
	wait_for "event $ev/$last" "[ reaches the new snapshot"
	keys q
	wait_for "TUI-DONE"
	screen | grep -q "TUI-EXIT=0" || { screen; fail "rrvm tui did not exit 0"; }
	# A fresh browser finds it in snapshots/ (no TR_SNAPSHOT names it).
	start 100 30 --at "$next" "$tmp/crash"
	wait_re "Registers +at event $next\$"
	keys '['
	wait_for "event $ev/$last" "a reopened browser's [ reaches snapshot $N"
	wait_for "snapshot $N " "status names snapshot $N"
	keys q
	wait_for "TUI-DONE"
	# rrvm snapshot list shows it: event, reason replay, full.
	"$RRVM" snapshot list "$tmp/crash" > "$tmp/list.txt" || { cat "$tmp/list.txt"; fail "snapshot list failed"; }
	grep -qE "^$N +$ev +[0-9.]+ +replay .* full\$" "$tmp/list.txt" ||
		{ cat "$tmp/list.txt"; fail "snapshot list does not show snapshot $N at event $ev (replay, full)"; }
	"$RRVM" snapshot show "$tmp/crash" "$N" > "$tmp/show.txt" 2>&1 || { cat "$tmp/show.txt"; fail "snapshot show $N failed"; }
	"$RRVM" snapshot diff "$tmp/crash" 1 "$N" > "$tmp/diff.txt" 2>&1 || { cat "$tmp/diff.txt"; fail "snapshot diff 1 $N failed"; }
	grep -q "^devices:.*uart0 (not in $N)" "$tmp/diff.txt" || { cat "$tmp/diff.txt"; fail "diff does not say $N lacks device state"; }
	# Replay from it reaches the recorded end in the state a full replay ends in.
	"$RRVM" replay --quiet "$tmp/crash" > /dev/null 2> "$tmp/full.err"
	"$RRVM" replay --quiet --from "s$N" "$tmp/crash" > /dev/null 2> "$tmp/from.err"
	a=$(grep '^rrvm: final state:' "$tmp/full.err") || { cat "$tmp/full.err"; fail "full replay: no final state"; }
	b=$(grep '^rrvm: final state:' "$tmp/from.err") || { cat "$tmp/from.err"; fail "replay --from s$N: no final state"; }
	[ "$a" = "$b" ] || fail "replay --from s$N ends in '$b', a full replay in '$a'"
	grep -q "event $last," <<<"$b" || fail "replay --from s$N did not reach event $last: $b"
	# Resuming it live is refused, saying why.
	"$RRVM" run --from "$tmp/crash@$N" < /dev/null > "$tmp/run.out" 2> "$tmp/run.err"
	st=$?
	[ "$st" != 0 ] || fail "run --from $N (a replay snapshot) exited 0"
	grep -q "taken in a replay" "$tmp/run.err" || { cat "$tmp/run.err"; fail "run --from $N: no clear refusal"; }
	echo "PASS: snap: s at event $ev wrote snapshot $N ($(stat -c %s "$f") bytes, 0600); list/show see it," \
		"[ finds it (live and reopened), replay --from s$N ends as a full replay ($b), run --from refuses (exit $st)"
	;;
*) fail "unknown mode $mode" ;;
esac
