#!/usr/bin/env bash
# snapshot_corrupt.sh — damaged snapshot files (flipped bytes, truncated, another version, a device section
# missing, a device field out of range) are refused with a clear error naming the file and what is wrong;
# resuming from one runs nothing; replay without --from still works (it ignores the damaged snapshots).
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/rec.out" "$tmp/rec.err" record -o "$tmp/t" --snapshot-every=300ev --kernel "$TESTKERNEL" --append tasks
[ $? = 0 ] || { cat "$tmp/rec.err"; fail "record failed"; }
"$RRVM" snapshot list "$tmp/t" >"$tmp/list" || { cat "$tmp/list"; fail "snapshot list of a good trace failed"; }
cat "$tmp/list"
want=$(grep '^rrvm: final state:' "$tmp/rec.err")
# edit.py MODE FILE: rewrites a snapshot file; section CRCs are recomputed where the damage is "valid-looking".
cat >"$tmp/edit.py" <<'PY'
import struct, sys
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
mode, path = sys.argv[1], sys.argv[2]
d = bytearray(open(path, 'rb').read())
secs, off = [], 16
while off + 12 <= len(d):
    tag, ln = d[off:off+4].decode(), struct.unpack_from('<I', d, off + 4)[0]
    secs.append((tag, off, ln)); off += 12 + ln
    if tag == 'END_': break
def find(tag, name=None):
    for t, o, l in secs:
        if t == tag and (name is None or d[o+9:o+9+d[o+8]].decode() == name): return o, l
    sys.exit('no section ' + tag)
if mode == 'flip-cpu':
    o, l = find('CPU_'); d[o + 8 + 100] ^= 0x40
elif mode == 'flip-page':
    o, l = find('PAGE'); d[o + 8 + l // 2] ^= 0x01
elif mode == 'truncate':
    d = d[:len(d) // 2]
elif mode == 'version':
    struct.pack_into('<H', d, 8, 2)
elif mode == 'drop-uart':
    o, l = find('DEV_', 'uart0'); d = d[:o] + d[o + 12 + l:]
elif mode == 'bad-pic':
    o, l = find('DEV_', 'pic')
    p = o + 8 + 1 + 3 + 4 + 2 + 6      # payload: name len, "pic", state len, version, ICW step of chip 0
    d[p] = 9
    struct.pack_into('<I', d, o + 8 + l, crc32c(bytes(d[o:o + 8 + l])))
open(path, 'wb').write(d)
PY
check() {   # check MODE EXPECTED-MESSAGE [list-ok]
	local mode=$1 msg=$2 listok=${3:-}
	rm -rf "$tmp/c"; cp -a "$tmp/t" "$tmp/c"
	python3 "$tmp/edit.py" "$mode" "$tmp/c/snapshots/000002.snap" || fail "$mode: cannot edit"
	if [ -z "$listok" ]; then
		"$RRVM" snapshot list "$tmp/c" >"$tmp/o" 2>"$tmp/e"; st=$?
		[ "$st" = 1 ] || fail "$mode: snapshot list exited $st, not 1"
		grep -q "000002.snap.*$msg" "$tmp/e" || { cat "$tmp/e"; fail "$mode: snapshot list did not say '$msg' for 000002.snap"; }
	fi
	run_guest "$tmp/o" "$tmp/re" run --from "$tmp/c@2"; st=$?
	[ "$st" = 1 ] || { cat "$tmp/re"; fail "$mode: run --from exited $st, not 1"; }
	grep -q "$msg" "$tmp/re" || { cat "$tmp/re"; fail "$mode: run --from did not say '$msg'"; }
	[ ! -s "$tmp/o" ] || fail "$mode: run --from of a damaged snapshot ran the guest"
	grep -q resumed "$tmp/re" && fail "$mode: run --from resumed anyway"
	# Snapshot 1 is intact and resumes; a full replay ignores the damage.
	run_guest "$tmp/o" "$tmp/e" replay --quiet "$tmp/c"; st=$?
	[ "$st" = 0 ] || { cat "$tmp/e"; fail "$mode: replay exited $st"; }
	[ "$(grep '^rrvm: final state:' "$tmp/e")" = "$want" ] || fail "$mode: replay final state differs"
	echo "$mode: refused: $(cat "$tmp/re")"
}
check flip-cpu "checksum mismatch"
check flip-page "checksum mismatch"
check truncate "runs past the end\|truncated"
check version "snapshot format 2.0, this rrvm reads 1.x"
check drop-uart "has no state for device uart0" list-ok
check bad-pic "pic: saved state: ICW sequence step > 3" list-ok
echo "PASS: flipped bytes, truncation, another version, a missing device section and a bad device field are refused"
