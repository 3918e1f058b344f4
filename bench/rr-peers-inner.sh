# rr-peers-inner.sh: the measuring half of bench/rr-peers.sh (POSIX sh: runs under busybox
# in the svm-lane, or under bash on a host whose /dev/kvm works). Not run by hand.
#
# Environment: RRVM (rrvm binary), QEMU (qemu-system-x86_64), TIME (a busybox with `time -v`),
# RUNS, W (scratch directory), JOBS (file: one job per line, `name|mem MiB|kernel|initrd or -|append`),
# MONS ("rrvm qemu", "rrvm" or "qemu"), TO (seconds allowed per command), TAG (line prefix, default RRP).
# For each job, run and monitor it runs the monitor three times, back to back: plain, record, replay
# (rrvm run/record/replay; QEMU TCG plain, -icount shift=auto,rr=record and rr=replay), the
# monitors alternating and the order flipping each run. One line per command on stdout:
#   $TAG job=K run=I mon=M mode=plain|record|replay rc=N wall=S user=S sys=S rss=KiB bytes=B ev=B same=0|1|-
# `same` (replay only) is 1 when the replay's console output equals the recording's; `bytes` is the
# trace directory (rrvm, images included) or QEMU's rrfile, `ev` rrvm's event stream alone.
# After each rrvm recording: `$TAG-INFO job=K run=I <rrvm trace info --json, on one line>`.

timed() {   # OUT ARGS...: runs ARGS with stdout in OUT; sets rc wall user sys rss
	out=$1; shift
	rm -f "$W/time"
	"$TIME" time -v -o "$W/time" "$TIME" timeout "$TO" "$@" </dev/null >"$out" 2>"$W/err"
	rc=$?
	eval "$(awk -F': ' '
		/Exit status/ { print "rc=" $2 }
		/User time/ { print "user=" $2 }
		/System time/ { print "sys=" $2 }
		/Maximum resident/ { print "rss=" int($2 / 4) }   # busybox scales ru_maxrss (KiB) by the page size again
		/Elapsed \(wall clock\)/ {
			v = $2; s = 0
			if (v ~ /m /) { split(v, a, "m "); sub("s", "", a[2]); s = a[1] * 60 + a[2] }
			else { n = split(v, a, ":"); for (i = 1; i <= n; i++) s = s * 60 + a[i] }
			print "wall=" s
		}' "$W/time" 2>/dev/null)"
	[ -s "$W/time" ] || { wall=-; user=-; sys=-; rss=-; }
}

size_of() {   # PATH: bytes in a file or all files under a directory
	find "$1" -type f 2>/dev/null | while read -r f; do wc -c <"$f"; done | awk '{ s += $1 } END { print s + 0 }'
}

line() {   # MODE BYTES EV SAME
	echo "$TAG job=$k run=$i mon=$mon mode=$1 rc=$rc wall=$wall user=$user sys=$sys rss=$rss bytes=$2 ev=$3 same=$4"
	if [ "$mon" = rrvm ] && [ "$rc" != 0 ]; then
		echo "$TAG-ERR job=$k run=$i mon=$mon mode=$1: $(tail -n 3 "$W/err" | tr '\n' ' ')"
	fi
}

rrvm_trio() {
	set -- --kernel "$kern" --mem "${mem}M" --append "$app"
	[ "$initrd" = - ] || set -- "$@" --initrd "$initrd"
	timed "$W/plain.out" "$RRVM" run "$@"; line plain - - -
	rm -rf "$W/tr"
	timed "$W/rec.out" "$RRVM" record -o "$W/tr" "$@"; line record "$(size_of "$W/tr")" "$(size_of "$W/tr/events")" -
	echo "$TAG-INFO job=$k run=$i $("$RRVM" trace info --json "$W/tr" 2>/dev/null | tr -d '\n')"
	timed "$W/rep.out" "$RRVM" replay "$W/tr"
	same=0; cmp -s "$W/rec.out" "$W/rep.out" && same=1
	line replay - - $same
}

qemu_trio() {
	set -- -accel tcg -m "$mem" -kernel "$kern" -append "$app" -nodefaults -serial stdio -display none \
		-monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
	[ "$initrd" = - ] || set -- "$@" -initrd "$initrd"
	timed "$W/plain.out" "$QEMU" "$@"; line plain - - -
	rm -f "$W/q.bin"
	timed "$W/rec.out" "$QEMU" "$@" -icount shift=auto,rr=record,rrfile="$W/q.bin"; line record "$(size_of "$W/q.bin")" - -
	timed "$W/rep.out" "$QEMU" "$@" -icount shift=auto,rr=replay,rrfile="$W/q.bin"
	same=0; cmp -s "$W/rec.out" "$W/rep.out" && same=1
	line replay - - $same
}

TAG=${TAG:-RRP}
# The first rrvm record on a machine probes the host (rrvm doctor, seconds; cached in ~/.cache/rrvm):
# probe before timing anything, so no run pays it.
case " $MONS " in *" rrvm "*) "$RRVM" doctor >/dev/null 2>&1 ;; esac
k=0
while IFS='|' read -r name mem kern initrd app <&3; do
	k=$((k + 1))
	i=1
	while [ $i -le "$RUNS" ]; do
		order=$MONS
		[ $((i % 2)) = 0 ] && order=$(echo "$MONS" | awk '{ for (j = NF; j > 0; j--) printf "%s ", $j }')
		for mon in $order; do
			echo "rr-peers: job $k ($name) run $i/$RUNS $mon" >&2
			"${mon}_trio"
		done
		i=$((i + 1))
	done
done 3<"$JOBS"
rm -rf "$W/tr" "$W/q.bin"
