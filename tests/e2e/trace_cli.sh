#!/usr/bin/env bash
# trace_cli.sh — `rrvm trace info|dump|console` on the golden trace, damaged copies, and real recordings.
# usage: trace_cli.sh golden GOLDEN_DIR    (no KVM needed)
#        trace_cli.sh recorded             (needs KVM, `rrvm record` and TESTKERNEL)
source "$(dirname "$0")/lib.sh"
mode=${1:-golden}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v python3 >/dev/null || skip "python3 is needed to check --json output"
"$RRVM" trace --help >/dev/null 2>&1 || fail "rrvm has no working 'trace' subcommand"

# jq-like: json_get FILE EXPR -> prints the Python expression's value over the parsed JSON `d`.
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
# expect_rc WANT CMD...: runs rrvm trace CMD..., stdout/stderr in $tmp/o, $tmp/e.
expect_rc() {
	local want=$1; shift
	timeout 30 "$RRVM" trace "$@" >"$tmp/o" 2>"$tmp/e"
	local rc=$?
	[ "$rc" = "$want" ] || { cat "$tmp/e" >&2; fail "rrvm trace $*: exit status $rc, expected $want"; }
}
expect_err() { grep -Eq "$1" "$tmp/e" || { cat "$tmp/e" >&2; fail "stderr lacks /$1/"; }; }

golden_tests() {
	local G=$1 t="$tmp/t"
	[ -f "$G/events" ] || fail "golden trace not found at $G"
	expect_eq "golden events size" "$(stat -c %s "$G/events")" 843

	# info --json: the exact contents written by test_trace --golden (tests/unit/test_trace.c).
	expect_rc 0 info --json "$G"
	cp "$tmp/o" "$tmp/info.json"
	local checks=(
		"d['format']['major'],d['format']['minor'],d['format']['chunk_bytes']|(1, 0, 256)"
		"d['uuid']|00010203-0405-0607-0809-0a0b0c0d0e0f"
		"d['rrvm_version'],d['created']['sec'],d['created']['nsec']|('golden-1.0', 1700000000, 1)"
		"d['machine']['ram_bytes'],d['machine']['vcpus']|(67108864, 1)"
		"d['cpu']['profile'],d['cpu']['cpuid_leaves']|('baseline', 3)"
		"[(i['kind'],i['size'],i['name']) for i in d['images']]|[('kernel', 18, 'testkernel.elf')]"
		"d['images'][0]['sha256']|0f6c6ffbcaf9384d51232183a968f1290413a3ed736788ea0e6dafb00add9008"
		"d['cmdline']|console=ttyS0"
		"d['clock']['mode'],d['clock']['quantum_ns'],d['clock']['tsc_hz']|('virtual', 1000, 2000000000)"
		"d['host_caps']|[{'key': 'kvm.irqchip', 'value': 'userspace'}]"
		"d['end']['status'],d['end']['footer'],d['end']['index'],d['end']['last_event']|('complete', True, 'ok', 30)"
		"d['stop']['reason'],d['stop']['status'],d['stop']['message']|('poweroff', 0, 'powered off')"
		"d['stats']['source'],d['stats']['records'],d['stats']['exits']|('footer', 61, 30)"
		"sorted(d['stats']['records_by_type'].items())|[('console_in', 1), ('console_out', 20), ('deferral', 1), ('dma', 1), ('exit', 30), ('in_value', 1), ('irq', 3), ('landmark', 1), ('rdtsc', 1), ('snapshot', 1), ('stop', 1)]"
		"sorted(d['stats']['exits_by_reason'].items())|[('HLT', 1), ('IO', 27), ('MMIO', 1), ('RDMSR', 1)]"
		"[(a['reason'],hex(a['addr']),a['count']) for a in d['stats']['top_addrs'][:3]]|[('IO', '0x3f8', 20), ('IO', '0x3fd', 4), ('IO', '0x1f0', 1)]"
		"d['stats']['distinct_addrs'],d['stats']['landmarks'],d['stats']['deferrals']|(7, 1, 1)"
		"round(d['stats']['landmarks_per_s'],1),round(d['stats']['deferrals_per_s'],1)|(998.0, 998.0)"
		"d['stats']['first_time_ns'],d['stats']['last_time_ns'],d['stats']['guest_seconds']|(1000, 1002000, 0.001002)"
		"d['stats']['console_bytes'],d['stats']['input_bytes']|(20, 5)"
		"d['stats']['events_file_bytes'],d['stats']['chunks'],round(d['stats']['bytes_per_s'])|(843, 4, 841317)"
		"d['stats']['raw_bytes'],d['stats']['comp_bytes'],d['stats']['compression_ratio']|(513, 459, 1.1176)"
	)
	for c in "${checks[@]}"; do
		expect_eq "info --json ${c%%|*}" "$(json_get "$tmp/info.json" "${c%%|*}")" "${c#*|}"
	done
	expect_rc 0 info "$G"
	grep -q '^status       complete: 61 records, 30 events, 4 chunks$' "$tmp/o" || fail "info: status line"
	grep -Eq '^  IO +27 +90.0%$' "$tmp/o" || fail "info: IO exits line"
	grep -Eq '^landmarks +1 \(998.0 per guest second\)$' "$tmp/o" || fail "info: landmarks line"
	[ ! -s "$tmp/e" ] || fail "info on a complete trace wrote to stderr"

	# dump: a few exact lines, filters.
	expect_rc 0 dump "$G"
	expect_eq "dump lines" "$(wc -l <"$tmp/o")" 62   # header + 61 records
	local lines=(
		'         6       0.000006000  exit      IO         in    port=0x3fd size=1 value=0x60'
		'        25       0.000030000  exit      MMIO       read  addr=0xfed00000 size=4 value=0xdeadbeef'
		'        26       0.000031000  exit      RDMSR      read  msr=0x10 size=8 value=0xf230'
		'        27       0.000032000  in_value  size=8 value=0x0 data="\x01\x02\x03\x04\x05\x06\x07\x08"'
		'        27       0.000032000  landmark  rip=0x100234 fingerprint=0x0123456789abcdef hits=3 vector=0x20'
		'        28       0.001000000  exit      HLT'
		'        28       0.001000000  input     "race\n"'
		'        30       0.001002000  stop      poweroff status=0 "powered off"'
		'         0       0.000000000  snapshot  id=0 name="start"'
	)
	for l in "${lines[@]}"; do grep -qxF -- "$l" "$tmp/o" || fail "dump lacks line: $l"; done
	expect_rc 0 dump --kind exit "$G"
	expect_eq "dump --kind exit" "$(grep -c ' exit ' "$tmp/o")" 30
	expect_rc 0 dump --kind irq,landmark,deferral --json "$G"
	expect_eq "dump --kind irq,landmark,deferral" "$(python3 -c 'import json,sys
print([(r["event"],r["kind"]) for r in map(json.loads, open(sys.argv[1]))])' "$tmp/o")" \
		"[(8, 'irq'), (16, 'irq'), (24, 'irq'), (27, 'landmark'), (27, 'deferral')]"
	expect_rc 0 dump --port 0x3fd --json "$G"
	expect_eq "dump --port 0x3fd" "$(python3 -c 'import json,sys
print([r["event"] for r in map(json.loads, open(sys.argv[1]))])' "$tmp/o")" "[6, 12, 18, 24]"
	expect_rc 0 dump --from 25 --to 27 "$G"
	expect_eq "dump --from 25 --to 27" "$(tail -n +2 "$tmp/o" | awk '{print $1 $3}' | tr '\n' ' ')" \
		"25exit 26exit 27exit 27in_value 27landmark 27deferral "
	expect_rc 0 dump --from 12 --kind exit --limit 3 "$G"
	expect_eq "dump --from 12 --limit 3" "$(tail -n +2 "$tmp/o" | awk '{print $1}' | tr '\n' ' ')" "12 13 14 "
	expect_rc 0 dump --from 31 "$G"
	expect_eq "dump --from past the end" "$(wc -l <"$tmp/o")" 1

	# console.
	expect_rc 0 console "$G"
	expect_eq "console" "$(cat "$tmp/o")" "BCDEFHIJKLNOPQRTUVWX"
	expect_rc 0 console --from 5 --to 10 "$G"
	expect_eq "console --from 5 --to 10" "$(cat "$tmp/o")" "FHIJK"
	expect_rc 0 console --to 0 "$G"
	expect_eq "console --to 0" "$(cat "$tmp/o")" ""
	expect_rc 0 console --json "$G"
	expect_eq "console --json" "$(json_get "$tmp/o" "d['text'],d['bytes'],d['complete']")" \
		"('BCDEFHIJKLNOPQRTUVWX', 20, True)"

	# Truncated mid-chunk (chunk 2 spans 446..684): the prefix up to event 20, and where it ends.
	cp -r "$G" "$t.cut" && truncate -s 600 "$t.cut/events"
	expect_rc 0 info --json "$t.cut"
	expect_eq "cut: info end" "$(json_get "$tmp/o" "d['end']['status'],d['end']['valid_bytes'],d['end']['last_event'],d['stats']['exits'],d['stats']['source']")" \
		"('truncated', 446, 20, 20, 'scan')"
	expect_err 'truncated at offset 446'
	expect_rc 0 info "$t.cut"
	grep -q '^status       \*\*\* truncated' "$tmp/o" || fail "cut: info does not show the status first"
	grep -q '^end          truncated at events offset 446 of 600 bytes, after event 20$' "$tmp/o" ||
		fail "cut: info end line"
	expect_rc 1 dump "$t.cut"
	expect_eq "cut: dump last line" "$(tail -1 "$tmp/o" | awk '{print $1, $3}')" "20 exit"
	expect_err 'trace ends early: .*/events: truncated at offset 446'
	expect_rc 1 console "$t.cut"
	expect_eq "cut: console prefix" "$(cat "$tmp/o")" "BCDEFHIJKLNOPQRT"
	expect_err 'truncated at offset 446'
	expect_rc 0 console --to 10 "$t.cut"   # all that was asked for is there
	expect_eq "cut: console --to 10" "$(cat "$tmp/o")" "BCDEFHIJK"

	# A flipped byte in chunk 0's body (offset 32 + 88 header bytes + 20) and in the header file.
	cp -r "$G" "$t.flip"
	printf '\x5a' | dd of="$t.flip/events" bs=1 seek=140 conv=notrunc status=none
	expect_rc 1 info "$t.flip"
	expect_err 'events: chunk 0 at offset 32: body checksum mismatch'
	expect_rc 1 dump "$t.flip"
	expect_err 'chunk 0 at offset 32'
	expect_rc 1 console "$t.flip"
	expect_err 'chunk 0 at offset 32'
	cp -r "$G" "$t.hflip"
	printf '\x5a' | dd of="$t.hflip/header" bs=1 seek=60 conv=notrunc status=none
	expect_rc 1 info "$t.hflip"
	expect_err 'header: offset [0-9]+: '

	# Missing things.
	expect_rc 1 info "$tmp/nonexistent"
	expect_err "$tmp/nonexistent: cannot open trace directory"
	mkdir "$t.empty"
	expect_rc 1 dump "$t.empty"
	expect_err 'header: cannot open'
	cp -r "$G" "$t.noev" && rm "$t.noev/events"
	expect_rc 1 console "$t.noev"
	expect_err 'events: cannot open'

	# Usage errors.
	expect_rc 2 dump --kind bogus "$G"
	expect_rc 2 dump --from x "$G"
	expect_rc 2 info --from 3 "$G"
	expect_rc 2 console --from 9 --to 3 "$G"
	expect_rc 2 frobnicate "$G"
	expect_rc 2 info
	expect_rc 0 dump --help
	grep -q -- '--port P' "$tmp/o" || fail "dump --help"

	# Hostile input: every single-byte flip of events, index and footer, cuts at many
	# offsets: status 0 or 1 and a message, never a crash.
	local f off n rc step
	for f in events index footer header; do
		n=$(stat -c %s "$G/$f")
		step=3; [ "$f" = events ] && step=1
		for ((off = 0; off < n; off += step)); do
			cp -r "$G/." "$t.flip/"
			printf "\\x$(printf %02x $(((off * 37 + 1) & 255)))" |
				dd of="$t.flip/$f" bs=1 seek=$off conv=notrunc status=none
			for cmd in info dump console; do
				"$RRVM" trace $cmd "$t.flip" >/dev/null 2>"$tmp/e"
				rc=$?
				[ $rc -le 1 ] || fail "trace $cmd with $f byte $off changed: exit status $rc"
				[ $rc = 0 ] || [ -s "$tmp/e" ] || fail "trace $cmd with $f byte $off changed: status 1, no message"
			done
		done
		cp "$G/$f" "$t.flip/$f"
	done
	n=$(stat -c %s "$G/events")
	for ((off = 0; off < n; off += 5)); do
		cp "$G/events" "$t.cut/events" && truncate -s $off "$t.cut/events"
		for cmd in info dump console; do
			"$RRVM" trace $cmd "$t.cut" >/dev/null 2>"$tmp/e"
			rc=$?
			[ $rc -le 1 ] || fail "trace $cmd with events cut at $off: exit status $rc"
		done
		"$RRVM" trace info "$t.cut" >/dev/null 2>&1 || fail "trace info with events cut at $off: not status 0"
	done
	echo "PASS: rrvm trace on the golden trace, cut and damaged copies"
}

recorded_tests() {
	need_kvm
	"$RRVM" record --help >/dev/null 2>&1 || skip "*** SKIPPED: rrvm record is not available yet ***"
	local spec sc want clock rc
	# scenario:expected status:clock. `run` is a separate execution, so only scenarios whose
	# text does not depend on host timing are compared with it (tasks: with the virtual clock).
	for spec in hello:0:real crash:3:real tasks:0:virtual timer:0:real; do
		IFS=: read -r sc want clock <<<"$spec"
		local d="$tmp/rec-$sc"
		run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$d" --kernel "$TESTKERNEL" --append "$sc" --clock=$clock
		rc=$?
		[ $rc = "$want" ] || { cat "$tmp/rec.err" >&2; fail "record $sc: status $rc, expected $want"; }
		expect_rc 0 console "$d"
		cmp -s "$tmp/o" "$tmp/rec.out" || fail "$sc: trace console differs from what rrvm record printed"
		if [ "$sc" != timer ]; then
			run_guest "$tmp/run.out" "$tmp/run.err" run --kernel "$TESTKERNEL" --append "$sc" --clock=$clock
			cmp -s "$tmp/o" "$tmp/run.out" || fail "$sc: trace console differs from what rrvm run printed"
		fi
		[ -s "$tmp/o" ] || fail "$sc: empty console"
		expect_rc 0 info --json "$d"
		cp "$tmp/o" "$tmp/info.json"
		local exits; exits=$(json_get "$tmp/info.json" "d['stats']['exits']")
		expect_eq "$sc: end" "$(json_get "$tmp/info.json" "d['end']['status']")" complete
		expect_rc 0 dump --kind exit --json "$d"
		expect_eq "$sc: exits in info vs dump --kind exit" "$(wc -l <"$tmp/o")" "$exits"
		expect_eq "$sc: last exit number" "$(tail -1 "$tmp/o" | python3 -c 'import json,sys; print(json.load(sys.stdin)["event"])')" "$exits"
		local recorded; recorded=$(sed -n 's/.*recorded \([0-9]*\) events.*/\1/p' "$tmp/rec.err")
		[ -z "$recorded" ] || expect_eq "$sc: exits in info vs record's summary" "$exits" "$recorded"
		expect_eq "$sc: sum of exits by reason" "$(json_get "$tmp/info.json" "sum(d['stats']['exits_by_reason'].values())")" "$exits"
		expect_eq "$sc: console bytes" "$(json_get "$tmp/info.json" "d['stats']['console_bytes']")" "$(stat -c %s "$tmp/rec.out")"
		# Console up to the middle event is a prefix of the whole.
		expect_rc 0 console --to $((exits / 2)) "$d"
		cmp -s "$tmp/o" <(head -c "$(stat -c %s "$tmp/o")" "$tmp/rec.out") || fail "$sc: console --to is not a prefix"
		echo "$sc ($clock clock): $exits exits, $(stat -c %s "$tmp/rec.out") console bytes, stop $(json_get "$tmp/info.json" "d['stop']['reason']")"
		[ "$sc" != crash ] || expect_eq "crash: stop reason" "$(json_get "$tmp/info.json" "d['stop']['reason']")" panic
	done
	echo "PASS: rrvm trace on real recordings"
}

case $mode in
golden) golden_tests "${2:?golden trace directory}" ;;
recorded) recorded_tests ;;
*) fail "unknown mode $mode" ;;
esac
