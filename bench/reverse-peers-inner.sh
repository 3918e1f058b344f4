# reverse-peers-inner.sh: the measuring half of bench/reverse-peers.sh (bash; runs in the svm-lane
# with tools/lane/e2e-bundle.sh's bash and gdb, or on a host whose /dev/kvm works). Not run by hand.
#
# Environment: RRVM, QEMU, TK (test kernel ELF with symbols), Q0 (an empty qcow2 to copy for QEMU's
# snapshots), RUNS, SECS (guest seconds to record, e.g. "1 10 60"), W (scratch dir), TO (seconds
# allowed per gdb session), MONS ("rrvm qemu" by default, or one of them). For each length and run, rrvm and QEMU (alternating, order flipped each
# run) record `timer ticks=100*S hz=100` with idle time skipped (rrvm --clock=virtual; QEMU
# -icount shift=auto,sleep=off,rr=record,rrsnapshot=init), then serve the replay to the same gdb
# script (the socket given with -ex 'target remote'; break pit_stop: continue, stepi, reverse-stepi; break scenario_timer: reverse-continue).
# Prints `RPR secs=S run=I mon=M op=OP t=SECONDS` per measured command, `RPR ... op=frame t=NAME`
# for where reverse-continue stopped, and `RPR ... op=hung t=OP` when a gdb session ran past TO
# (the last op started is the one that never answered).
set -u
cat >"$W/b.gdb" <<'GDB'
set pagination off
set confirm off
set remotetimeout 600
python
import sys, time
def timed(op, cmd, n=1):
    ts = []
    for _ in range(n):
        print("RPR-START " + op); sys.stdout.flush()
        t = time.time(); gdb.execute(cmd, to_string=True); ts.append(time.time() - t)
    ts.sort()
    print("RPR-OP %s %.6f" % (op, ts[len(ts) // 2])); sys.stdout.flush()
gdb.execute("break pit_stop", to_string=True)
timed("continue", "continue")
timed("stepi", "stepi", 10)
timed("reverse-stepi", "reverse-stepi", 3)
gdb.execute("delete", to_string=True)
gdb.execute("break scenario_timer", to_string=True)
timed("reverse-continue", "reverse-continue")
print("RPR-OP frame %s" % gdb.selected_frame().name()); sys.stdout.flush()
end
GDB

wait_sock() { for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

session() {   # MON: serve the replay of $W/$MON's recording and drive gdb; server pid in $srv
	rm -f "$W/sock"
	if [ "$1" = rrvm ]; then
		"$RRVM" replay --gdb=unix:"$W/sock" "$W/rt" </dev/null >/dev/null 2>"$W/srv.err" &
	else
		"$QEMU" $qargs -icount shift=auto,sleep=off,rr=replay,rrfile="$W/q.bin",rrsnapshot=init -append "$app" \
			-gdb unix:"$W/sock",server=on,wait=off -S </dev/null >/dev/null 2>"$W/srv.err" &
	fi
	srv=$!
	wait_sock "$W/sock" || { echo "RPR secs=$s run=$i mon=$1 op=hung t=no-gdb-socket"; kill -9 $srv; return; }
	timeout -k 5 "$TO" gdb -nx -batch -ex "target remote $W/sock" -x "$W/b.gdb" "$TK" >"$W/gdb.out" 2>&1
	grc=$?
	last=""
	while read -r tag a b; do
		case $tag in
		RPR-START) last=$a ;;
		RPR-OP) echo "RPR secs=$s run=$i mon=$1 op=$a t=$b"; last="" ;;
		esac
	done <"$W/gdb.out"
	if [ $grc != 0 ]; then
		echo "RPR secs=$s run=$i mon=$1 op=hung t=${last:-gdb-exit-$grc}"
		tail -n 5 "$W/gdb.out" "$W/srv.err" | sed 's/^/RPR-LOG /'
	fi
	kill -9 $srv 2>/dev/null; wait $srv 2>/dev/null || true
}

qargs="-accel tcg -m 256 -kernel $TK -nodefaults -serial stdio -display none -monitor none -no-reboot
 -device isa-debug-exit,iobase=0xf4,iosize=0x04 -drive file=$W/q.qcow2,if=none,id=rrsnap -net none"
for s in $SECS; do
	app="timer ticks=$((s * 100)) hz=100"
	for i in $(seq "$RUNS"); do
		order=${MONS:-rrvm qemu}; [ $((i % 2)) = 0 ] && order=$(echo "$order" | awk '{ for (j = NF; j > 0; j--) printf "%s ", $j }')
		for mon in $order; do
			echo "reverse-peers: $s s of guest time, run $i/$RUNS, $mon" >&2
			if [ $mon = rrvm ]; then
				rm -rf "$W/rt"
				"$RRVM" record -o "$W/rt" --clock=virtual --kernel "$TK" --append "$app" </dev/null >/dev/null 2>"$W/rec.err" \
					|| { echo "RPR secs=$s run=$i mon=rrvm op=hung t=record-failed"; tail -n 3 "$W/rec.err" | sed 's/^/RPR-LOG /'; continue; }
			else
				cp "$Q0" "$W/q.qcow2"; rm -f "$W/q.bin"
				"$QEMU" $qargs -icount shift=auto,sleep=off,rr=record,rrfile="$W/q.bin",rrsnapshot=init -append "$app" \
					</dev/null >/dev/null 2>"$W/rec.err" \
					|| [ $? = 1 ] || { echo "RPR secs=$s run=$i mon=qemu op=hung t=record-failed"; continue; }
			fi
			session $mon
		done
	done
done
exit 0
