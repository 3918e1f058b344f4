#!/usr/bin/env bash
# run-e2e.sh: run registered test-kernel e2e tests (tests/e2e/*.sh) inside ONE svm-lane, against its real kvm_amd.
#
# Usage: tests/lane/run-e2e.sh [--build DIR] [--if-kvm run|smoke|skip] [--timeout S] [--test-timeout S]
#                              [--list] TEST...
#
#   TEST            a ctest name registered in DIR (run_hello, rr_timer, snapshot_roundtrip_tasks, ...).
#                   Its command, arguments, ENVIRONMENT, WORKING_DIRECTORY, TIMEOUT and
#                   SKIP_RETURN_CODE are read from `ctest --show-only=json-v1`, so a test runs in
#                   the lane exactly as ctest runs it natively, except that every environment value
#                   naming a dynamically linked program of DIR (RRVM=build/rrvm, TRACE_EDIT, ...) names
#                   the same target of the static build, build-static/ (-DRRVM_STATIC=ON).
#   --build DIR     the ctest build tree (default <repo>/build)
#   --if-kvm MODE   what to do when THIS host has a usable /dev/kvm (the native tests cover these):
#                   run (default) all of them, smoke only the first TEST, skip none (exit 77)
#   --timeout S     the lane's limit (default: 120 + the sum of the tests' lane limits, at most 3000)
#   --test-timeout S  one test's limit in the lane: its ctest TIMEOUT, at most S (default 240), so
#                   one test that hangs is cut, reported with what its rrvm processes were doing
#                   (their last stderr and console lines), and the tests after it still run
#   --list          print how each TEST would run in the lane, and stop
#
# Some tests cannot work in the lane (see LANE_UNSUPPORTED below: breakpoints never fire there,
# HOST.md); they are reported as SKIPPED with the reason, loudly, and not run.
#
# Stages: 1 prerequisites (qemu, cpio, busybox-static, python3; missing: SKIPPED, exit 77),
#   2 tests (ctest's view of them), 3 kernel (tools/fetch-linux.sh; none: SKIPPED, 77),
#   4 static build (build-static/, serialised with the other lane tests by a lock),
#   5 bundle (tools/lane/e2e-bundle.sh: bash, GNU tools, python3, gdb if a gdb test is asked for),
#   6 lane (tools/svm-lane: the scripts, test kernel and data at their host paths, the static
#   programs under /lane-e2e/bin): one line per test as it ends; the whole lane console goes to
#   a log file (its path is printed), 7 report: the output of each test that failed or timed
#   out (its last 120 lines), then one line per test with PASS / FAIL / TIMEOUT / SKIPPED and
#   its time in the lane, and a summary.
# Exit status: 0 when every test that ran passed (some may be skipped), 1 when one failed or the
#   lane broke, 77 when nothing ran (everything skipped).
# Environment: RRVM_CACHE (tools/svm-lane), RRVM_STATIC_DIR (static build tree, default
#   <repo>/build-static), RRVM_TEST_LOG (the lane console's log; default
#   DIR/Testing/Temporary/lane-e2e-FIRST_TEST.log).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$REPO/build
IF_KVM=run
LANE_TIMEOUT=""
TEST_TIMEOUT=240
LIST=0
TESTS=()
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --if-kvm) IF_KVM=$2; shift 2 ;;
    --timeout) LANE_TIMEOUT=$2; shift 2 ;;
    --test-timeout) TEST_TIMEOUT=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run-e2e: unknown argument $1" >&2; usage >&2; exit 2 ;;
    *) TESTS+=("$1"); shift ;;
  esac
done
[[ ${#TESTS[@]} -gt 0 ]] || { echo "run-e2e: no TEST given" >&2; usage >&2; exit 2; }
case $IF_KVM in run|smoke|skip) ;; *) echo "run-e2e: --if-kvm wants run, smoke or skip" >&2; exit 2 ;; esac
BUILD=$(cd "$BUILD" && pwd)
STATIC=${RRVM_STATIC_DIR:-$REPO/build-static}

# Tests that need what the lane lacks: name (glob) and the reason.
LANE_UNSUPPORTED=(
  "gdb_replay_race|it records 'race' until it crashes, which needs ticks injected inside its counting loops at landmarks; the lane's only breakpoint is a HLT patch, where replay would stop at every pass since the last exit, so the recorder defers those ticks (deferral reason 5; see rr_race_pinned)"
  "rr_race_pinned|recording 'race' until it crashes needs ticks injected inside its counting loops at landmarks, which replay reaches with hardware breakpoints at microseconds a stop; the lane has only HLT patches (~0.2 ms a stop, one stop per pass: 1.2 M stops and 200 s measured for one landmark), so the recorder defers them to exits: its calibration sees no time pass (it survives, never crashes), or it spins waiting for ticks that never come (measured: 40209 deferred injections in 40 s at event 322)"
  "run_race_both_outcomes|the race can crash only when a tick lands inside its window, and in the lane its calibration sees no time pass without exits (fixed sizes: 32 short rounds, over before a tick comes), so it survives every run (measured: 3/3 live runs survived with 1 interrupt injected), and one run of the suite spun until the lane's 630 s limit"
  "snapshot_roundtrip_echo|it hung once in the lane (1 of 3 full runs, 760 s without output, after 8 other roundtrips passed; not diagnosed yet: issue 3's note), so until that is understood it runs natively only"
  "hostile_guest_asan|rrvm-asan is not built statically (RRVM_STATIC has no sanitizer twin)"
  "doctor_*|it checks this host's KVM against HOST.md's table, not the lane's"
)

T0=$EPOCHREALTIME
el() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }
STAGE=""
stage() { STAGE=$1; echo "=== run-e2e [$(el)s]: stage $1"; }
fail() { echo "*** run-e2e: FAILED at stage '$STAGE': $*" >&2; exit 1; }
skip() {
  echo "***************************************************************" >&2
  echo "*** SKIPPED: $*" >&2
  echo "***************************************************************" >&2
  exit 77
}

stage "1 prerequisites"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (tools/install-deps.sh)"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed (tools/install-deps.sh)"
if [[ ! -x /bin/busybox ]] || readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
  skip "busybox-static not installed (tools/install-deps.sh)"
fi
command -v python3 >/dev/null 2>&1 || skip "python3 not installed (tools/install-deps.sh)"
[[ -f $BUILD/CTestTestfile.cmake ]] || fail "$BUILD is not a configured build tree (cmake -S . -B build)"

stage "2 tests"
if [[ -r /dev/kvm && -w /dev/kvm ]]; then
  case $IF_KVM in
    skip) skip "this host has a usable /dev/kvm: the native e2e tests cover ${TESTS[*]}" ;;
    smoke) echo "*** this host has a usable /dev/kvm (the native tests cover the rest): smoke test only, ${TESTS[0]}"
           TESTS=("${TESTS[0]}") ;;
  esac
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/run-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ctest --test-dir "$BUILD" --show-only=json-v1 >"$WORK/ctest.json" 2>"$WORK/ctest.err" \
  || { cat "$WORK/ctest.err" >&2; fail "ctest --show-only=json-v1 failed in $BUILD"; }
# The plan, one line per test, tab-separated: NAME skip REASON, or NAME run TIMEOUT SKIP_CODE
# WORKING_DIR COMMAND ENV, where COMMAND and ENV are lists joined with \x1f.
printf '%s\n' "${LANE_UNSUPPORTED[@]}" >"$WORK/unsupported"
python3 - "$WORK/ctest.json" "$WORK/unsupported" "$BUILD" "${TESTS[@]}" >"$WORK/plan" <<'PY' \
  || fail "cannot plan the tests (message above)"
import fnmatch, json, sys
data = json.load(open(sys.argv[1]))
unsupported = [l.rstrip("\n").split("|", 1) for l in open(sys.argv[2]) if l.strip()]
build, want = sys.argv[3], sys.argv[4:]
tests = {t["name"]: t for t in data["tests"]}
for name in want:
    t = tests.get(name)
    if t is None:
        sys.exit(f"run-e2e: no test named {name} in {build} (ctest -N lists them)")
    why = next((r for g, r in unsupported if fnmatch.fnmatch(name, g)), None)
    if why:
        print(f"{name}\tskip\t{why}")
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    print("\t".join([name, "run", str(int(props.get("TIMEOUT", 1500))), str(props.get("SKIP_RETURN_CODE", 77)),
                     props.get("WORKING_DIRECTORY", build), "\x1f".join(t["command"]),
                     "\x1f".join(props.get("ENVIRONMENT", []))]))
PY

# is_dynamic FILE: an ELF program with a program interpreter (the lane has no libc for it).
is_dynamic() { [[ -f $1 && -x $1 ]] && readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; }
NONCE=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -A DATA=() TARGETS=()
SKIPPED=() RUN=()
SUM_TIMEOUT=0
# The lane's script: one run_test line per test; each prints its output, then a result line
# carrying this run's nonce (so no test output can fake one).
cat >"$WORK/run.sh" <<EOF
# run.sh: generated by tests/lane/run-e2e.sh; runs in the lane under the bundled bash.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root TMPDIR=/tmp
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd   # bash's process substitution
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null   # ptys for tmux (tui tests)
dmesg -n 1   # kvm_amd's "Unhandled WRMSR" notes would land in the middle of the tests' output
up() { cut -d" " -f1 /proc/uptime; }
# hang_report NAME: the lane's processes, and what each rrvm one is doing (the test is about to be cut): its command,
# state, kernel wait channel, and the last lines of the files its stdout and stderr go to.
hang_report() {
	local p cmd f
	echo "*** lane-e2e: \$1 is about to time out; the lane's processes:"
	for p in /proc/[0-9]*; do
		cmd=\$(tr '\\0' ' ' <"\$p/cmdline" 2>/dev/null) || continue
		[ -n "\$cmd" ] && echo "***   \${p#/proc/} \$cmd"
	done
	for p in /proc/[0-9]*; do
		cmd=\$(tr '\\0' ' ' <"\$p/cmdline" 2>/dev/null) || continue
		case \$cmd in *rrvm\ *) ;; *) continue ;; esac
		echo "*** pid \${p#/proc/}: \$cmd"
		echo "***   state \$(cut -d' ' -f3 "\$p/stat" 2>/dev/null), wchan \$(cat "\$p/wchan" 2>/dev/null)"
		for f in 1 2; do
			[ -f "\$p/fd/\$f" ] || continue
			echo "***   fd \$f (\$(readlink "\$p/fd/\$f")), last lines:"
			tail -n 15 "\$p/fd/\$f" 2>/dev/null | sed 's/^/***   | /'
		done
	done
}
run_test() {   # NAME TIMEOUT SKIP_CODE DIR ENV... COMMAND...
	local name=\$1 to=\$2 sk=\$3 wd=\$4 t0 t1 rc res w; shift 4
	echo "=== lane-e2e: \$name"
	mkdir -p "\$wd"; t0=\$(up)
	( sleep \$((to - 3)); hang_report "\$name" ) &
	w=\$!
	( cd "\$wd" && exec timeout -k 10 "\$to" env "\$@" ) </dev/null 2>&1
	rc=\$?; t1=\$(up)
	kill \$w 2>/dev/null; wait \$w 2>/dev/null
	if [ \$rc = 0 ]; then res=PASS; elif [ \$rc = "\$sk" ]; then res=SKIPPED
	elif [ \$rc = 124 ] || [ \$rc = 137 ]; then res=TIMEOUT; else res=FAIL; fi
	echo "LANE-E2E-$NONCE \$name \$res \$rc \$(awk -v a=\$t0 -v b=\$t1 'BEGIN{printf "%.1f", b-a}')"
}
EOF
# The host's locale, as ctest passes it on, where the bundle has it (C.UTF-8 only).
for v in LANG LC_ALL LC_CTYPE; do
  val=${!v:-}
  [[ -n $val ]] || continue
  if [[ $val =~ ^(C|POSIX|C\.UTF-8|C\.utf8)$ ]]; then printf 'export %s=%q\n' "$v" "$val" >>"$WORK/run.sh"
  else echo "note: $v=$val is not in the lane's bundle (C.UTF-8 only); the tests run there without it"; fi
done
while IFS=$'\t' read -r name kind a b c d e; do
  if [[ $kind == skip ]]; then SKIPPED+=("$name|$a"); continue; fi
  IFS=$'\x1f' read -r -a cmd <<<"$d"
  envs=()
  [[ -n $e ]] && IFS=$'\x1f' read -r -a envs <<<"$e"
  [[ -f ${cmd[0]} && ${cmd[0]} == *.sh ]] || fail "$name: ${cmd[0]} is not a test script (only tests/e2e scripts run in the lane)"
  DATA[$(dirname "${cmd[0]}")]=1         # the script and the helpers it sources
  for w in "${cmd[@]:1}"; do [[ $w == /* && -e $w ]] && DATA[$w]=1; done
  lane_env=()
  for kv in "${envs[@]+"${envs[@]}"}"; do
    k=${kv%%=*} v=${kv#*=}
    if [[ $v == "$BUILD"/* ]] && is_dynamic "$v"; then
      TARGETS[${v#"$BUILD"/}]=1     # the same path in the static tree; the target is its basename
      v=/lane-e2e/bin/$(basename "$v")
    elif [[ $v == /* && -e $v ]]; then
      DATA[$v]=1
    fi
    lane_env+=("$k=$v")
  done
  [[ $a -le $TEST_TIMEOUT ]] || a=$TEST_TIMEOUT
  {
    printf 'run_test %q %q %q %q' "$name" "$a" "$b" "$c"
    printf ' %q' "${lane_env[@]+"${lane_env[@]}"}" "${cmd[@]}"
    echo
  } >>"$WORK/run.sh"
  RUN+=("$name")
  SUM_TIMEOUT=$((SUM_TIMEOUT + a))
done <"$WORK/plan"
echo 'exit 0' >>"$WORK/run.sh"
for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
  echo "*** SKIPPED in the lane: ${s%%|*}: ${s#*|}" >&2
done
if [[ $LIST == 1 || ${#RUN[@]} == 0 ]]; then
  echo "--- the lane would run (static programs: ${!TARGETS[*]}; files: ${!DATA[*]}):"
  grep '^run_test ' "$WORK/run.sh" || true
  [[ ${#RUN[@]} -gt 0 ]] || skip "none of ${TESTS[*]} can run in the svm-lane (reasons above)"
  exit 0
fi
if [[ -z $LANE_TIMEOUT ]]; then
  LANE_TIMEOUT=$((120 + SUM_TIMEOUT))
  [[ $LANE_TIMEOUT -le 3000 ]] || LANE_TIMEOUT=3000
fi
echo "tests in the lane: ${RUN[*]}"

stage "3 kernel"
set +e
"$REPO/tools/fetch-linux.sh" --quiet >/dev/null; rc=$?
set -e
[[ $rc == 69 ]] && skip "cannot fetch Debian's cloud kernel (no apt metadata/network) and none is cached"
[[ $rc == 0 ]] || fail "tools/fetch-linux.sh exited $rc"

stage "4 static build"
mkdir -p "$REPO/.cache" "$WORK/bin"
exec 9>"$REPO/.cache/build-static.lock"     # the lock tests/linux/*.sh take too
flock 9
BLOG=$REPO/.cache/build-static.log
if [[ ! -f $STATIC/CMakeCache.txt ]]; then
  echo "configuring $STATIC (-DRRVM_STATIC=ON)"
  cmake -S "$REPO" -B "$STATIC" -DRRVM_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BLOG" 2>&1 \
    || { tail -n 40 "$BLOG" >&2; fail "cmake configure of $STATIC failed (log above)"; }
fi
targets=()
for t in "${!TARGETS[@]}"; do targets+=("$(basename "$t")"); done
cmake --build "$STATIC" --target "${targets[@]}" -j "$(nproc)" >"$BLOG" 2>&1 \
  || { tail -n 40 "$BLOG" >&2; fail "cmake --build $STATIC --target ${targets[*]} failed (log above)"; }
for t in "${!TARGETS[@]}"; do
  b=$(basename "$t")
  [[ -x $STATIC/$t ]] || fail "the static build made no $STATIC/$t"
  is_dynamic "$STATIC/$t" && fail "$STATIC/$t is dynamically linked (configure with -DRRVM_STATIC=ON)"
  # Debug info only slows the lane's initramfs down.
  strip --strip-debug -o "$WORK/bin/$b" "$STATIC/$t" 2>/dev/null || cp "$STATIC/$t" "$WORK/bin/$b"
  chmod 0755 "$WORK/bin/$b"
done
flock -u 9
echo "static programs: ${!TARGETS[*]} (from $STATIC)"

stage "5 bundle"
bargs=(--no-gdb)
for t in "${RUN[@]}"; do [[ $t == *gdb* ]] && bargs=(); done
BUNDLE=$("$REPO/tools/lane/e2e-bundle.sh" "${bargs[@]}") || fail "tools/lane/e2e-bundle.sh failed"
echo "bundle: $BUNDLE"

stage "6 lane"
LOG=${RRVM_TEST_LOG:-$BUILD/Testing/Temporary/lane-e2e-${TESTS[0]}.log}
mkdir -p "$(dirname "$LOG")"
fargs=(--file "$BUNDLE:/" --file "$WORK/bin:/lane-e2e/bin" --file "$WORK/run.sh:/lane-e2e/run.sh")
for p in "${!DATA[@]}"; do
  [[ $p == *:* ]] && fail "cannot put $p into the lane (a ':' in the path)"
  fargs+=(--file "$p:$p")
done
echo "lane timeout ${LANE_TIMEOUT}s, each test at most ${TEST_TIMEOUT}s; the lane console goes to $LOG"
# Here only the result lines and the lane's own (svm-lane:) lines, as they come: the report
# below shows the output of the tests that failed (a CI log shows the beginning of it).
lane() {
  set +e
  "$REPO/tools/svm-lane" --timings --timeout "$LANE_TIMEOUT" "${fargs[@]}" -- 'exec /usr/bin/bash /lane-e2e/run.sh' 2>&1 \
    | tee -a "$LOG" | grep -a --line-buffered -E "^(LANE-E2E-$NONCE |svm-lane: |\*\*\* lane-e2e: )" \
    | sed -u "s/^LANE-E2E-$NONCE /lane-e2e: /"
  rc=${PIPESTATUS[0]}
  set -e
}
: >"$LOG"
lane
if [[ $rc == 126 ]]; then
  # The lane wedged (QEMU's emulated SVM, tools/svm-lane): the tests with no result yet run
  # once more in a fresh lane; the ones that finished keep their results.
  cp "$WORK/run.sh" "$WORK/run.sh.all"
  sed '/^run_test /,$d' "$WORK/run.sh.all" >"$WORK/run.sh"
  left=()
  for t in "${RUN[@]}"; do
    grep -aq "^LANE-E2E-$NONCE $t " "$LOG" && continue
    left+=("$t")
    grep "^run_test $(printf '%q' "$t") " "$WORK/run.sh.all" >>"$WORK/run.sh"
  done
  echo 'exit 0' >>"$WORK/run.sh"
  echo "*** run-e2e: the svm-lane wedged (QEMU's emulated SVM stopped delivering the lane's interrupts; not" \
       "rrvm): the ${#left[@]} tests without a result run again in a fresh lane: ${left[*]}"
  lane
fi

stage "7 report"
# section NAME: that test's lines of the lane console (from its === line to its result line).
section() {
  awk -v s="=== lane-e2e: $1" -v e="LANE-E2E-$NONCE $1 " \
    'index($0, s) == 1 {on = 1} on {print} on && index($0, e) == 1 {on = 0}' "$LOG" | tr -d '\r'
}
for t in "${RUN[@]}"; do
  line=$(grep -a "^LANE-E2E-$NONCE $t " "$LOG" | tail -n 1 || true)
  [[ $line == *" PASS "* || $line == *" SKIPPED "* ]] && continue
  n=$(section "$t" | wc -l)
  echo "=== run-e2e: output of $t in the lane ($n lines$([[ $n -gt 120 ]] && echo ', the last 120' || true)):"
  section "$t" | tail -n 120
done
echo "=== run-e2e: results (seconds in the lane; the lane exited $rc; its console: $LOG)"
failed=0 passed=0
for t in "${RUN[@]}"; do
  line=$(grep -a "^LANE-E2E-$NONCE $t " "$LOG" | tail -n 1 | tr -d '\r' || true)
  if [[ -z $line ]]; then
    printf '%-8s %-34s (no result: the lane stopped before it finished)\n' FAIL "$t"
    failed=$((failed + 1)); continue
  fi
  read -r _ _ res st secs <<<"$line"
  printf '%-8s %-34s %7s s  (exit %s)\n' "$res" "$t" "$secs" "$st"
  case $res in PASS) passed=$((passed + 1)) ;; SKIPPED) ;; *) failed=$((failed + 1)) ;; esac
done
for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
  printf '%-8s %-34s (not run in the lane: %s)\n' SKIPPED "${s%%|*}" "${s#*|}"
done
[[ $rc == 126 ]] && fail "the svm-lane wedged twice (QEMU's emulated SVM; the 'LANE WEDGED' lines above)"
[[ $rc == 125 ]] && fail "the svm-lane itself failed (see 'svm-lane: LANE FAILED' above)"
[[ $failed == 0 ]] || fail "$failed of ${#RUN[@]} tests failed in the lane (their output is above)"
[[ $passed -gt 0 ]] || skip "every test was skipped in the lane (reasons above)"
echo "=== run-e2e [$(el)s]: PASSED ($passed passed, $(( ${#RUN[@]} - passed + ${#SKIPPED[@]} )) skipped)"
