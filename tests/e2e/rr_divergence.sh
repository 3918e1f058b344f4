#!/usr/bin/env bash
# rr_divergence.sh — a changed recorded value, or a swapped kernel image, is reported as a divergence at the right event.
source "$(dirname "$0")/lib.sh"
need_kvm
[ -x "${TRACE_EDIT:-}" ] || fail "TRACE_EDIT not set"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/orig" --kernel "$TESTKERNEL" --append hello || fail "record failed"

# 1. An OUT the guest makes is compared with the recording: change the 20th
#    console byte the trace says was written, and replay must stop exactly there.
ev=$("$RRVM" trace dump --kind exit --port 0x3f8 "$tmp/orig" | awk '$5 == "out" {n++; if (n == 20) {print $1; exit}}')
[ -n "$ev" ] || fail "no 20th console write in the trace"
"$TRACE_EDIT" "$tmp/orig" "$tmp/edit" "$ev" 0x7e || fail "trace_edit failed"
cp "$tmp/orig/kernel" "$tmp/edit/kernel"
run_guest "$tmp/out" "$tmp/err" replay "$tmp/edit"
st=$?
cat "$tmp/err"
[ "$st" = 9 ] || fail "replay of the edited trace exited $st, expected 9 (divergence)"
grep -q "replay diverged at event $ev: expected IO out port 0x3f8 size 1 value 0x7e" "$tmp/err" || fail "divergence not reported at event $ev"

# 2. A value the guest reads is fed back from the trace: make the UART's line
#    status say 'not ready' once; the guest polls again, and replay must notice.
ev=$("$RRVM" trace dump --kind exit --port 0x3fd "$tmp/orig" | awk '$5 == "in" {n++; if (n == 5) {print $1; exit}}')
"$TRACE_EDIT" "$tmp/orig" "$tmp/edit2" "$ev" 0x00 || fail "trace_edit failed"
cp "$tmp/orig/kernel" "$tmp/edit2/kernel"
run_guest "$tmp/out" "$tmp/err" replay "$tmp/edit2"
st=$?
cat "$tmp/err"
[ "$st" = 9 ] || fail "replay with a changed input exited $st, expected 9"
got=$(sed -n 's/.*replay diverged at event \([0-9]*\).*/\1/p' "$tmp/err")
[ "$got" = $((ev + 1)) ] || fail "divergence reported at event '$got', expected $((ev + 1)) (the exit after the changed input)"
# The report diffs the registers against the recorded ones at that exit.
grep -q "registers differ: .*rip 0x[0-9a-f]* (recorded 0x[0-9a-f]*)" "$tmp/err" || fail "no register diff in the divergence report"

# 3. A swapped kernel image: refused by default, and with
#    --allow-image-mismatch the changed code shows up as a divergence.
cp -r "$tmp/orig" "$tmp/swap"
python3 - "$tmp/swap/kernel" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, 'rb').read())
i = d.find(b'RRVM-TEST hello: ok')
assert i > 0
d[i + 10] = ord('H')          # the guest now prints "RRVM-TEST Hello: ok"
open(p, 'wb').write(d)
PY
run_guest "$tmp/out" "$tmp/err" replay "$tmp/swap"
st=$?
cat "$tmp/err"
[ "$st" = 1 ] || fail "replay with a swapped kernel exited $st, expected 1 (refused)"
grep -q "differs from the image recorded" "$tmp/err" || fail "no clear message about the swapped kernel"
run_guest "$tmp/out" "$tmp/err" replay --allow-image-mismatch "$tmp/swap"
st=$?
cat "$tmp/err"
[ "$st" = 9 ] || fail "replay --allow-image-mismatch exited $st, expected 9"
# The trace has the registers of every exit (TR_REGS), so the changed byte is
# caught in a register (the 'h' -> 'H' loaded for the next OUT) one exit
# before the OUT that would write it.
grep -q "registers differ: rcx 0x48 (recorded 0x68)" "$tmp/err" ||
	fail "divergence does not show the changed byte in the register diff"
echo "PASS: divergences caught at the right events"
