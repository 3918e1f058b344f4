#!/usr/bin/env bash
# gdb-lane.sh: the part of tests/linux/gdb-in-lane.sh that runs inside the SVM lane (bash, gdb and
# python3 from tools/lane/e2e-bundle.sh): record the Debian kernel to its sysrq panic, build a
# System.map from the recording's console, then drive stock gdb in batch mode against the replay.
# Prints RRVM-GDB: lines the host side checks. $1: the inner kernel command line.
set -u
APPEND=$1
# GNU timeout (the bundle): rrvm exits 8 on the SIGINT; one that ignores it is killed 30 s
# later (137). Each step is cut well inside the lane's own limit, so this script always
# reports what it got to.
T="timeout -k 30 --preserve-status -s INT 300"
up() { cut -d" " -f1 /proc/uptime; }
t_rec=$(up)
$T /rrvm record -o /tmp/trace --kernel /vmlinuz --initrd /initrd.img --append "$APPEND" --mem 256M \
	>/tmp/rec.out 2>/tmp/rec.err
rst=$?
grep -a "Kernel panic - not syncing" /tmp/rec.out; tail -n 3 /tmp/rec.out; cat /tmp/rec.err
echo "RRVM-GDB: record status $rst ($(awk -v a="$t_rec" -v b="$(up)" 'BEGIN{printf "%.1f", b-a}') s)"
[ "$rst" = 137 ] && { echo "RRVM-GDB: the recorder did not stop on SIGINT"; exit 1; }
[ "$rst" = 8 ] && exit 0   # a hang (issue 3): the host side records once more, loudly
# The System.map: the kallsyms lines the guest's init printed.
grep -a '^RRVM-KSYM ' /tmp/rec.out | tr -d '\r' | cut -d' ' -f2- >/tmp/System.map
echo "RRVM-GDB: System.map has $(wc -l </tmp/System.map) lines"
cat /tmp/System.map
# Start the debugger once the guest's init runs: the kernel has mapped and
# patched its own text (alternatives, ftrace) by then.
from=$(/rrvm trace dump --kind console --json /tmp/trace | python3 -c '
import json, sys
text, ev = "", None
for line in sys.stdin:
    r = json.loads(line)
    text += r["data"]
    if "RRVM-LINUX: init reached" in text:
        ev = r["event"]
        break
print(ev if ev is not None else "")')
echo "RRVM-GDB: init reached at event $from"
[ -n "$from" ] || { echo "RRVM-GDB: no init in the console"; exit 1; }
rm -f /tmp/g.sock
T0=$(date +%s.%N)
timeout -k 10 480 /rrvm replay --gdb=unix:/tmp/g.sock --from "$from" --symbols /tmp/System.map /tmp/trace \
	</dev/null >/tmp/server.out 2>/tmp/server.log &
server=$!
for _ in $(seq 1 600); do [ -S /tmp/g.sock ] && break; sleep 0.2; done
[ -S /tmp/g.sock ] || { cat /tmp/server.log; echo "RRVM-GDB: the server did not listen"; exit 1; }
echo "RRVM-GDB: server ready"
syms=$(sed -n 's/^rrvm: gdb: [0-9]* symbols from .* in \(.*\) (an ELF.*/\1/p' /tmp/server.log)
[ -n "$syms" ] || { cat /tmp/server.log; echo "RRVM-GDB: no symbol file"; exit 1; }
cat >/tmp/s.gdb <<'GDB'
set pagination off
set confirm off
set remotetimeout 600
target remote /tmp/g.sock
monitor when
printf "PANIC_ADDR %#lx\n", (long)&panic
printf "HANDLER_ADDR %#lx\n", (long)&sysrq_handle_crash
python
b = gdb.selected_inferior().read_memory(int(gdb.parse_and_eval("(long)&panic")) & 0xffffffffffffffff, 8)
print("PRE_BYTES " + bytes(b).hex())
end
break panic
python
import time
t = time.time(); gdb.execute("continue"); print("T_CONTINUE %.2f" % (time.time() - t))
end
printf "PANIC_PC %#lx\n", $pc
info symbol $pc
monitor when
python
b = gdb.selected_inferior().read_memory(int(gdb.parse_and_eval("(long)&panic")) & 0xffffffffffffffff, 8)
print("STOP_BYTES " + bytes(b).hex())
end
python
t = time.time()
for i in range(16):
    gdb.execute("reverse-stepi")
    if not gdb.execute("info symbol $pc", to_string=True).startswith("panic"):
        break
print("T_RSTEPI %.2f %d" % (time.time() - t, i + 1))
end
printf "RSI_PC %#lx\n", $pc
info symbol $pc
x/i $pc
monitor when
delete
break sysrq_handle_crash
python
t = time.time(); gdb.execute("reverse-continue"); print("T_RCONT %.2f" % (time.time() - t))
end
printf "RC_PC %#lx\n", $pc
info symbol $pc
monitor when
# forwards to the end with the patches in guest memory: replay must not diverge
break panic
continue
printf "PANIC2_PC %#lx\n", $pc
continue
monitor info-trace
GDB
# gdb's output goes to the console as it comes, so a session cut short shows how far it got.
timeout -k 10 420 gdb -nx -batch -x /tmp/s.gdb "$syms" 2>&1 | sed -u 's/^/GDB| /'
gst=${PIPESTATUS[0]}
echo "RRVM-GDB: gdb status $gst"
if [ "$gst" = 124 ] || [ "$gst" = 137 ]; then
	echo "RRVM-GDB: gdb was cut after 420 s; the server: state $(cut -d' ' -f3 /proc/$server/stat 2>/dev/null)," \
	     "wchan $(cat /proc/$server/wchan 2>/dev/null)"
fi
kill $server 2>/dev/null; wait $server
sed 's/^/SERVER| /' /tmp/server.log | tail -n 20
exit 0
