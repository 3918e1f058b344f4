#!/usr/bin/env bash
# gdb_live.sh — real gdb against `rrvm run --gdb` (a live VM): breakpoints, stepping, registers, memory,
# writes (allowed live), a watchpoint; then malformed packets straight on the socket (bad checksums,
# overlong, garbage, a disconnect mid-packet) must get NAKs or a clean disconnect, never a crash.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gdb_lib.sh"
need_kvm
need_gdb
command -v python3 >/dev/null || skip "python3 is not installed"
tmp=$(mktemp -d); server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

start_server "$tmp/server.log" run --gdb=unix:"$tmp/gdb.sock" --kernel "$TESTKERNEL" --append race
cat >"$tmp/s.gdb" <<GDB
set pagination off
set confirm off
set remotetimeout 60
target remote $tmp/gdb.sock
printf "START_PC %#lx\n", \$pc
printf "ENTRY64 %#lx\n", &entry64
break race_tick
continue
printf "BP_PC %#lx\n", \$pc
printf "RACE_TICK %#lx\n", &race_tick
printf "CR3 %#lx\n", \$cr3
printf "MAGIC %#lx\n", race_obj.magic
stepi
printf "STEPI_PC %#lx\n", \$pc
set var race_obj.hits = 4242
printf "HITS %d\n", race_obj.hits
delete
watch race_round
continue
printf "WATCH_ROUND %d\n", race_round
info symbol \$pc
monitor when
kill
GDB
out=$tmp/gdb.out
run_gdb "$tmp/s.gdb" "$out" || { cat "$out" "$tmp/server.log"; fail "gdb failed"; }
cat "$out"
expect_eq "first stop is the first instruction" "$(val "$out" START_PC)" "$(val "$out" ENTRY64)"
expect_eq "breakpoint in the timer tick" "$(val "$out" BP_PC)" "$(val "$out" RACE_TICK)"
[ "$(val "$out" CR3)" != 0x0 ] || fail "cr3 is 0"
expect_eq "memory through the guest page tables" "$(val "$out" MAGIC)" 0x5241434543415345
bp=$(val "$out" BP_PC); si=$(val "$out" STEPI_PC)
[ $((si)) -gt $((bp)) ] && [ $((si - bp)) -le 15 ] || fail "stepi went from $bp to $si"
echo "ok: stepi $bp -> $si"
expect_eq "a live VM takes memory writes" "$(val "$out" HITS)" 4242
expect_grep "the watchpoint fires" "Hardware watchpoint 2: race_round"
expect_grep "the watchpoint stops in scenario_race" "^scenario_race + "
wait "$server"; st=$?; server=""
[ "$st" = 8 ] || { cat "$tmp/server.log"; fail "rrvm run exited $st after gdb's kill, expected 8 (interrupted)"; }
echo "ok: kill from gdb ends rrvm with status 8"

# Malformed input on the socket.
start_server "$tmp/server2.log" run --gdb=unix:"$tmp/gdb.sock" --kernel "$TESTKERNEL" --append hello
python3 - "$tmp/gdb.sock" <<'PY' || fail "malformed-packet exchange failed"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
def send(b): s.sendall(b)
def recv_until(pred):
    buf = b""
    while not pred(buf):
        d = s.recv(65536)
        if not d: raise SystemExit("server closed the connection: %r" % buf)
        buf += d
    return buf
def csum(p): return b"%02x" % (sum(p) & 0xff)
send(b"\x00\xff garbage +-")                       # between packets: ignored
send(b"$g#00")                                     # bad checksum: NAK
assert recv_until(lambda b: b"-" in b).count(b"-") >= 1
send(b"$" + b"A" * 40000 + b"#" + csum(b"A" * 40000))   # overlong: NAK, not buffered
assert b"-" in recv_until(lambda b: b"-" in b)
send(b"$}#" + csum(b"}"))                          # escape at the end: NAK
assert b"-" in recv_until(lambda b: b"-" in b)
for p in [b"m1000", b"Z9,0,0", b"p", b"qRcmd,zz", b"X1000,4:"]:   # malformed arguments / unknown types
    send(b"$" + p + b"#" + csum(p))
    r = recv_until(lambda b: b"#" in b and len(b) >= b.index(b"#") + 3)
    assert r.startswith(b"+$"), r
send(b"$?#" + csum(b"?"))                          # still answers
r = recv_until(lambda b: b"T05" in b or b"S05" in b)
send(b"$m100000,4")                                # disconnect mid-packet
s.close()
print("ok: NAKs, error replies and a stop reply; disconnected mid-packet")
PY
wait "$server"; st=$?; server=""
[ "$st" = 0 ] || { cat "$tmp/server2.log"; fail "rrvm exited $st after the malformed session (expected the guest's 0)"; }
grep -q "gdb detached: the guest runs on\|RRVM-TEST hello" "$tmp/server2.log" || { cat "$tmp/server2.log"; fail "guest did not run on"; }
echo "ok: after the disconnect the guest ran to its end"
echo "PASS: gdb drove a live VM; malformed packets did no harm"
