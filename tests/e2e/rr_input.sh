#!/usr/bin/env bash
# rr_input.sh — console input typed while recording reaches the guest, is in the trace, and replays without any input.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Lines arrive over time, as typed: the guest polls the UART and echoes them.
{ sleep 0.3; printf 'hello there\r'; sleep 0.2; printf 'second line\n'; sleep 0.1; printf 'q\n'; } |
	timeout 60 "$RRVM" record -o "$tmp/t" --kernel "$TESTKERNEL" --append echo >"$tmp/rec.out" 2>"$tmp/rec.err"
st=$?
cat "$tmp/rec.out" "$tmp/rec.err"
[ "$st" = 0 ] || fail "record exited $st"
for l in "echo: hello there" "echo: second line" "echo: 3 lines"; do
	grep -qx "$l" "$tmp/rec.out" || fail "the guest did not echo '$l' while recording"
done
"$RRVM" trace dump --kind input "$tmp/t" >"$tmp/input" || fail "trace dump failed"
cat "$tmp/input"
grep -q 'hello there' "$tmp/input" || fail "the typed input is not in the trace"
for i in 1 2 3; do
	run_guest "$tmp/rep.out" "$tmp/rep.err" replay "$tmp/t"   # stdin is /dev/null here
	st=$?
	[ "$st" = 0 ] || { cat "$tmp/rep.err"; fail "replay $i exited $st"; }
	cmp -s "$tmp/rec.out" "$tmp/rep.out" || fail "replay $i console differs"
done
echo "PASS: typed input recorded and replayed 3 times without input"
