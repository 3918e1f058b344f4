#!/usr/bin/env bash
# qemu-snapshot.sh: QEMU's savevm / loadvm / migrate-to-file cost for the same test kernel and guest RAM size
# as bench/snapshot.sh (1 GiB), measured on this host, to put beside rrvm's snapshot take/restore figures.
#
# Usage: bench/qemu-snapshot.sh [--build DIR] [--mib "0 1 10 100"] [--runs N] [--mem 1G]
#
# For each MIB, boots build/tests/guests/testkernel.elf under qemu-system-x86_64 -accel tcg (QEMU's KVM mode
# dies on this host, see ../shared/HOST.md) with a small qcow2 disk (internal snapshots need one) and an HMP
# monitor on a Unix socket:
#   0 MiB:  `ring3spin iters=<huge>`: the kernel has booted and spins in ring 3, nothing else written;
#   N MiB:  `memstress mb=N passes=<huge> hz=0`: after the console shows "memstress: pass 1/", N MiB of the
#           guest's RAM hold pseudo-random data (the same data rrvm's benchmark dirties).
# Then `stop`, and N runs of `savevm s` / `loadvm s` / `delvm s`, each timed as the wall time from sending
# the HMP command to the next "(qemu) " prompt; then N runs of `migrate -d "exec:cat > FILE"` (bandwidth cap
# lifted), timed from sending it until `info migrate` says completed (`cont` + `stop` between runs: QEMU
# will not migrate a VM that a completed migration paused). Prints medians (min-max) as Markdown on stdout.
# savevm writes all of guest RAM into the qcow2 (zero pages as markers), so its cost follows RAM size and
# contents, not the accelerator. KEEP=1 keeps the temporary directory (console, qemu stderr, disk).
# Exit 77 (SKIPPED) when qemu-system-x86_64, qemu-img or python3 is missing.
set -euo pipefail
build=build
mibs="0 1 10 100"
runs=5
mem=1G
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--mib) mibs=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	*) echo "usage: bench/qemu-snapshot.sh [--build DIR] [--mib \"0 1 10 100\"] [--runs N] [--mem 1G]" >&2; exit 2 ;;
	esac
done
for t in qemu-system-x86_64 qemu-img python3; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIPPED: $t is not installed (tools/install-deps.sh installs qemu-system-x86 and qemu-utils)"; exit 77; }
done
TK=$build/tests/guests/testkernel.elf
[ -f "$TK" ] || { echo "bench/qemu-snapshot.sh: $TK not found: build $build first" >&2; exit 1; }
case $runs in '' | *[!0-9]* | 0) echo "bench/qemu-snapshot.sh: --runs wants a positive integer, not '$runs'" >&2; exit 2 ;; esac
tmp=$(mktemp -d); trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

echo "# QEMU snapshot benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(qemu-system-x86_64 --version | head -1), -accel tcg, $mem guest, $(uname -r))"
echo
echo "| guest RAM written | savevm ms | loadvm ms | delvm ms | migrate to file ms | vmstate file | qcow2 after savevm |"
echo "|---|---|---|---|---|---|---|"
for m in $mibs; do
	case $m in '' | *[!0-9]*) echo "bench/qemu-snapshot.sh: --mib wants integers, not '$m'" >&2; exit 2 ;; esac
	if [ "$m" = 0 ]; then
		append="ring3spin iters=1000000000000000"; ready="ring3spin: "
	else
		append="memstress mb=$m passes=1000000000 hz=0"; ready="memstress: pass 1/"
	fi
	rm -f "$tmp/disk.qcow2"
	qemu-img create -f qcow2 "$tmp/disk.qcow2" 64M >/dev/null
	python3 - "$tmp" "$TK" "$mem" "$append" "$ready" "$runs" "$m" <<'EOF'
import os, socket, statistics, subprocess, sys, time
tmp, tk, mem, append, ready, runs, mib = sys.argv[1:8]
runs = int(runs)
sock = os.path.join(tmp, "hmp.sock")
con = os.path.join(tmp, "console.txt")
for p in (sock, con):
    if os.path.exists(p):
        os.unlink(p)
qemu = subprocess.Popen(
    ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", mem, "-kernel", tk, "-append", append,
     "-display", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
     "-serial", "file:" + con, "-drive", "file=%s/disk.qcow2,if=none,id=d0,format=qcow2" % tmp,
     "-monitor", "unix:%s,server=on,wait=off" % sock, "-nodefaults"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "qemu.err"), "w"))

def fail(msg):
    qemu.kill()
    err = open(os.path.join(tmp, "qemu.err")).read().strip()
    console = open(con).read().strip() if os.path.exists(con) else ""
    sys.exit("bench/qemu-snapshot.sh: %s (guest '%s')%s%s" % (msg, append,
             "\nqemu stderr: " + err if err else "", "\nconsole: " + console[-500:] if console else ""))

deadline = time.time() + 120
while True:   # guest ready: its console shows the line that says the memory is written
    if qemu.poll() is not None:
        fail("QEMU exited with status %d before the guest was ready" % qemu.returncode)
    if os.path.exists(con) and ready in open(con, errors="replace").read():
        break
    if time.time() > deadline:
        fail("no '%s' on the console within 120 s" % ready)
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
buf = b""
def until_prompt(timeout=300):
    global buf
    s.settimeout(timeout)
    while b"(qemu) " not in buf:
        d = s.recv(65536)
        if not d:
            fail("monitor closed")
        buf += d
    out, buf = buf.split(b"(qemu) ", 1)
    return out.decode(errors="replace")
def hmp(cmd):
    t0 = time.perf_counter()
    s.sendall(cmd.encode() + b"\n")
    out = until_prompt()
    ms = (time.perf_counter() - t0) * 1000
    # the monitor echoes the command line; anything else it prints is an error for these commands
    text = "\n".join(l for l in out.replace("\r", "").split("\n") if l.strip() and cmd not in l and not l.startswith("\x1b"))
    text = "".join(c for c in text if c.isprintable() or c == "\n").strip()
    return ms, text
until_prompt()   # banner
hmp("stop")
res = {"savevm": [], "loadvm": [], "delvm": [], "migrate": []}
vmsize = qsize = 0
mfile = os.path.join(tmp, "vm.mig")
for r in range(runs):
    for cmd, key in (("savevm s", "savevm"),):
        ms, out = hmp(cmd)
        if out:
            fail("'%s' said: %s" % (cmd, out))
        res[key].append(ms)
    qsize = os.path.getsize(os.path.join(tmp, "disk.qcow2"))
    ms, out = hmp("info snapshots")
    for line in out.split("\n"):
        f = line.split()
        if len(f) > 2 and f[1] == "s":
            vmsize = f[2] + (" " + f[3] if len(f) > 3 and f[3] in ("KiB", "MiB", "GiB", "B") else "")
    for cmd, key in (("loadvm s", "loadvm"), ("delvm s", "delvm")):
        ms, out = hmp(cmd)
        if out:
            fail("'%s' said: %s" % (cmd, out))
        res[key].append(ms)
# migration to a file last: a completed migration inactivates the disks, and savevm then refuses them.
# HMP's blocking `migrate` polls its status once a second, so run it detached (-d) and poll `info migrate`;
# the default bandwidth cap (32 MiB/s) is lifted, as a snapshot to disk would not be throttled.
ms, out = hmp("migrate_set_parameter max-bandwidth 100G")
if out:
    fail("migrate_set_parameter said: %s" % out)
for r in range(runs):
    if r:   # QEMU refuses to migrate a VM paused by a completed migration: resume it (disks reactivate), stop again
        hmp("cont")
        hmp("stop")
    if os.path.exists(mfile):
        os.unlink(mfile)
    t0 = time.perf_counter()
    ms, out = hmp('migrate -d "exec:cat > %s"' % mfile)
    if out:
        fail("migrate said: %s" % out)
    while True:
        ms2, st = hmp("info migrate")
        if "Migration status: completed" in st:
            break
        if "failed" in st or "cancelled" in st or time.perf_counter() - t0 > 300:
            fail("migration did not complete: %s" % st)
        time.sleep(0.002)
    res["migrate"].append((time.perf_counter() - t0) * 1000)
    msize = os.path.getsize(mfile)
if qemu.poll() is not None:
    fail("QEMU exited during the measurements")
s.sendall(b"quit\n")
try:
    qemu.wait(timeout=20)
except subprocess.TimeoutExpired:
    qemu.kill()
def cell(v):
    return "%.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v)) if statistics.median(v) >= 10 else \
           "%.1f (%.1f-%.1f)" % (statistics.median(v), min(v), max(v))
label = "0 MiB (booted, spinning in ring 3)" if mib == "0" else "%s MiB (memstress pass 1 done)" % mib
print("| %s | %s | %s | %s | %s | %s (%.1f MB) | %.1f MB |" % (label, cell(res["savevm"]), cell(res["loadvm"]),
      cell(res["delvm"]), cell(res["migrate"]), vmsize, msize / 1e6, qsize / 1e6))
EOF
done
echo
echo "Each cell: median (min-max) of $runs runs, wall time of the HMP command (send to next prompt), guest stopped."
echo "vmstate file: the snapshot's VM SIZE (info snapshots) and the size of the migrate-to-file stream."
