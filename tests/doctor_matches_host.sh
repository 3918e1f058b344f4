#!/bin/sh
# doctor_matches_host.sh — runs `rrvm doctor --json --fresh` and checks it against HOST.md's table for
# the development host (nested paravirtual KVM, kvm_pvm). Elsewhere: exit 77 (skipped).
#   doctor_matches_host.sh RRVM                      the HOST.md comparison
#   doctor_matches_host.sh --cache-and-usage RRVM    cache, --help, bad options (any host with /dev/kvm)
#   doctor_matches_host.sh --guards RRVM             a probe that spins, hangs or crashes is reported
#                                                    as such and never hangs doctor (any host with /dev/kvm)
set -u
mode=host
case "${1:-}" in
--cache-and-usage) mode=cache; shift ;;
--guards) mode=guards; shift ;;
esac
RRVM=${1:?usage: doctor_matches_host.sh [--cache-and-usage] path/to/rrvm}

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIPPED: no usable /dev/kvm"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "SKIPPED: python3 is needed to read the JSON"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ "$mode" = guards ]; then
	for inj in spin:timeout hang:timeout crash:error; do
		rm -rf "${XDG_CACHE_HOME:?}/rrvm"
		t0=$(date +%s)
		RRVM_DOCTOR_INJECT=${inj%%:*} timeout 60 "$RRVM" doctor --json >"$tmp/g.json"
		st=$? t1=$(date +%s)
		[ $st -eq 0 ] || { echo "FAIL: doctor with ${inj%%:*} injected exited $st"; exit 1; }
		python3 - "$tmp/g.json" "${inj#*:}" <<'PY' || exit 1
import json, sys
p = json.load(open(sys.argv[1]))["probes"]
got = p["insn_cpl0_cpuid"]["outcome"]
assert got == sys.argv[2], "injected probe: %s, expected %s" % (got, sys.argv[2])
# The rest of the group still ran in a fresh child.
assert p["insn_cpl0_rep_movsb"]["outcome"] not in ("not_run", "timeout", "error"), p["insn_cpl0_rep_movsb"]
assert p["insn_cpl0_fxsave"]["outcome"] not in ("not_run", "timeout", "error")
PY
		[ ! -e "$XDG_CACHE_HOME/rrvm/doctor" ] || { echo "FAIL: a run with a failed probe was cached"; exit 1; }
		echo "ok: injected ${inj%%:*} -> ${inj#*:} in $((t1 - t0)) s"
	done
	exit 0
fi

if [ "$mode" = cache ]; then
	"$RRVM" doctor --help | grep -q -- '--fresh' || { echo "FAIL: doctor --help"; exit 1; }
	"$RRVM" doctor --bogus >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "FAIL: unknown option should exit 2"; exit 1; }
	rm -rf "${XDG_CACHE_HOME:?}/rrvm"
	"$RRVM" doctor --json --fresh >"$tmp/a.json" || { echo "FAIL: doctor --fresh"; exit 1; }
	"$RRVM" doctor --json >"$tmp/b.json" || { echo "FAIL: doctor (cached)"; exit 1; }
	"$RRVM" doctor >"$tmp/c.txt" || { echo "FAIL: doctor text"; exit 1; }
	grep -q "what rrvm will do here" "$tmp/c.txt" || { echo "FAIL: text report"; exit 1; }
	exec python3 - "$tmp/a.json" "$tmp/b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["from_cache"] is False, "first run must probe"
if not b["from_cache"]:
    # Probes that timed out or failed are not cached; that is a result, not a bug.
    bad = [k for k, v in a["probes"].items() if v["outcome"] in ("timeout", "error")]
    assert bad, "second run should come from the cache"
    print("cache not written because of:", bad)
else:
    for k in a["probes"]:
        assert a["probes"][k]["outcome"] == b["probes"][k]["outcome"], k
    assert a["decisions"] == b["decisions"]
print("doctor cache and usage: ok")
PY
fi

if [ ! -d /sys/module/kvm_pvm ] && ! (dmesg 2>/dev/null | grep -qi pvm); then
	echo "SKIPPED: not the development host described in HOST.md"
	exit 77
fi

start=$(date +%s.%N)
"$RRVM" doctor --json --fresh >"$tmp/doctor.json" || { echo "FAIL: rrvm doctor exited $?"; exit 1; }
end=$(date +%s.%N)
"$RRVM" doctor >"$tmp/doctor.txt" 2>&1 && cat "$tmp/doctor.txt"
exec python3 - "$tmp/doctor.json" "$start" "$end" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
p = j["probes"]
bad = []

def expect(what, got, want):
    ok = got == want
    print("%-4s %-52s %s" % ("ok" if ok else "FAIL", what, got if ok else "%r, HOST.md says %r" % (got, want)))
    if not ok:
        bad.append(what)

def outcome(name):
    return p[name]["outcome"]

# Guest speed: ring 3 native, ring 0 emulated (> 20x slower).
expect("guest ring 3 runs natively (< 50 ns/iteration)", p["loop_cpl3"]["us"] * 1000 < 50, True)
expect("guest ring 0 is emulated", j["ring0_emulated"], True)
# The ring-0 emulator.
for i in ["xsave", "xrstor", "xsaveopt", "xsavec", "xsaves", "xgetbv", "cmpxchg16b", "avx_vmovdqa", "popcnt", "int3"]:
    expect("CPL0 %s rejected (internal error)" % i, outcome("insn_cpl0_" + i), "rejected")
for i in ["fxsave", "fxrstor", "sse_movaps", "cmpxchg8b", "rep_movsb", "cpuid", "rdtsc", "rdrand", "wrmsr"]:
    expect("CPL0 %s works" % i, outcome("insn_cpl0_" + i), "ok")
# Exits.
for e in ["pio_cpl0", "mmio_cpl0", "mmio_cpl3"]:
    expect("exit to userspace: %s" % e, outcome(e), "ok")
# Debugging.
expect("single-step works in CPL0", outcome("singlestep_cpl0"), "ok")
expect("single-step in CPL3: guest gets the #DB", (outcome("singlestep_cpl3"), p["singlestep_cpl3"]["vector"]), ("fault", 1))
expect("HW breakpoints in CPL0, exact hit counts", (outcome("hw_bp_cpl0"), p["hw_bp_cpl0"]["count"]), ("ok", p["hw_bp_cpl0"]["expected"]))
expect("HW breakpoints do not work in CPL3", outcome("hw_bp_cpl3") != "ok", True)
expect("SW breakpoints in CPL0: internal error", outcome("sw_bp_cpl0"), "rejected")
expect("SW breakpoints in CPL3: guest gets the #BP", (outcome("sw_bp_cpl3"), p["sw_bp_cpl3"]["vector"]), ("fault", 3))
expect("HLT in CPL0 exits to userspace", outcome("hlt_cpl0"), "ok")
# Interrupting and observing.
for k in ["kick_cpl0", "kick_cpl3"]:
    expect("%s: EINTR with KVM_EXIT_INTR" % k, (outcome(k), p[k]["count"]), ("ok", 1))
for k in ["dirty_log", "dirty_ring", "user_msr", "immediate_exit"]:
    expect("%s available" % k, outcome(k), "ok")
expect("no TSC scaling", j["tsc_control"], False)
expect("no PMU (perf_event_open)", j["pmu_perf"], False)
expect("no PMU (CPUID 0xA)", j["pmu_cpuid_version"], 0)
# What rrvm does about it.
expect("ring-0 breakpoints: hardware breakpoints", j["decisions"]["ring0_breakpoints"], "hw_bp")
expect("ring-3 breakpoints: none (deferred landmarks)", j["decisions"]["ring3_breakpoints"], "none")
expect("snapshots use the dirty ring", j["decisions"]["snapshots"], "dirty_ring")
expect("doctor finishes in a few seconds (< 10 s)", wall < 10, True)
print("doctor took %.2f s (probes %.2f s)" % (wall, j["probe_s"]))
if bad:
    print("%d disagreement(s) with HOST.md" % len(bad))
    sys.exit(1)
print("doctor matches HOST.md")
PY
