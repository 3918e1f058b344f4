#!/usr/bin/env bash
# hostile_inputs.sh — bad kernels and impossible configurations end with one clear line and a non-zero status, never a crash.
source "$(dirname "$0")/lib.sh"
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# expect STATUS STDERR_REGEX ARGS...
expect() {
	local want=$1 pat=$2; shift 2
	run_guest "$tmp/out" "$tmp/err" "$@"
	local st=$?
	local lines; lines=$(wc -l <"$tmp/err")
	echo "rrvm $* -> status $st: $(head -c 300 "$tmp/err")"
	[ "$st" = "$want" ] || fail "'$*': status $st, expected $want"
	grep -Eq "$pat" "$tmp/err" || fail "'$*': stderr lacks /$pat/"
	[ "$lines" -le 2 ] || fail "'$*': $lines lines on stderr, expected one clear line"
	grep -Eq "AddressSanitizer|runtime error|Segmentation|core dumped" "$tmp/err" && fail "'$*': crashed"
	return 0
}

expect 1 "missing.elf.*(No such file|not found|cannot open)" run --kernel "$tmp/missing.elf" --append hello
: >"$tmp/empty"
expect 1 "empty" run --kernel "$tmp/empty"
head -c 100 "$TESTKERNEL" >"$tmp/trunc100"
expect 1 "trunc100" run --kernel "$tmp/trunc100"
# Cut in the middle of the last loadable segment's file data.
cut=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack_from("<Q", d, 0x20); phnum, = struct.unpack_from("<H", d, 0x38)
loads = [struct.unpack_from("<IIQQQQQQ", d, phoff + 56 * i) for i in range(phnum)]
last = max((p for p in loads if p[0] == 1 and p[5] > 0), key=lambda p: p[2])
print(last[2] + last[5] // 2)' "$TESTKERNEL")
head -c "$cut" "$TESTKERNEL" >"$tmp/trunchalf"
expect 1 "trunchalf.*(truncated|past the end|beyond)" run --kernel "$tmp/trunchalf"
printf 'this is not a kernel, just text\n%.0s' $(seq 1 200) >"$tmp/text"
expect 1 "text.*not an ELF64 kernel or a Linux bzImage" run --kernel "$tmp/text"
# A bzImage whose payload uses a compression nobody supports.
python3 - "$tmp/bz" <<'PY'
import struct, sys
setup_sects = 1
img = bytearray(512 * (setup_sects + 1))
img[0x1f1] = setup_sects
img[0x1fe:0x200] = b'\x55\xaa'
img[0x201] = 0x6a                          # header length byte (jump offset)
img[0x202:0x206] = b'HdrS'
struct.pack_into('<H', img, 0x206, 0x020f) # boot protocol 2.15
img[0x211] = 0x01                          # loadflags: LOADED_HIGH
struct.pack_into('<H', img, 0x236, 0x3)    # xloadflags: XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
struct.pack_into('<I', img, 0x230, 0x200000)   # kernel_alignment
struct.pack_into('<I', img, 0x238, 2048)        # cmdline_size
payload = b'\x42\x5a\x68\x39' + b'\x00' * 60     # "BZh9": bzip2 magic
struct.pack_into('<I', img, 0x248, 0)            # payload_offset (from protected-mode start)
struct.pack_into('<I', img, 0x24c, len(payload))
struct.pack_into('<I', img, 0x260, 32 << 20)     # init_size
img += payload
open(sys.argv[1], 'wb').write(img)
PY
expect 1 "unsupported compression" run --kernel "$tmp/bz"
expect 1 "exceeds this host's memory" run --mem 64T --kernel "$TESTKERNEL" --append hello
expect 1 "too small" run --mem 1M --kernel "$TESTKERNEL" --append hello
expect 2 "not a size" run --mem lots --kernel "$TESTKERNEL"
expect 2 "no kernel given" run --append hello
expect 2 "unknown option" run --frobnicate --kernel "$TESTKERNEL"
expect 2 "clock must be" run --clock=sundial --kernel "$TESTKERNEL"
expect 1 "[Uu]nknown.*profile|profile" run --cpu pentium --kernel "$TESTKERNEL" --append hello
echo "PASS: hostile inputs rejected cleanly"
