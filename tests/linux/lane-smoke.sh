#!/usr/bin/env bash
# lane-smoke.sh: ctest svm_lane_smoke: the SVM lane boots, /dev/kvm is kvm_amd, COMMAND's exit status and output pass through.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
skip() { echo "*** SKIPPED: $*" >&2; exit 77; }
fail() { echo "*** lane-smoke: FAILED: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (tools/install-deps.sh)"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed (tools/install-deps.sh)"
set +e
"$REPO/tools/fetch-linux.sh" --quiet >/dev/null; rc=$?
set -e
[[ $rc == 69 ]] && skip "cannot fetch Debian's cloud kernel (no apt metadata/network) and none is cached"
[[ $rc == 0 ]] || fail "tools/fetch-linux.sh exited $rc"

LOG=$(mktemp "${TMPDIR:-/tmp}/lane-smoke.XXXXXX")
trap 'rm -f "$LOG"' EXIT
set +e
"$REPO/tools/svm-lane" --timeout 120 --timings --retry-wedged 1 -- \
  'test -c /dev/kvm && echo "kvm: ok"; grep -c -w svm /proc/cpuinfo; lsmod | grep -o "^kvm_amd"; exit 7' 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
[[ $rc != 125 && $rc != 126 ]] || fail "the lane itself failed (exit $rc)"
[[ $rc == 7 ]] || fail "COMMAND's exit status 7 did not pass through (got $rc)"
grep -qx 'kvm: ok' "$LOG" || fail "/dev/kvm missing in the lane"
grep -qx 'kvm_amd' "$LOG" || fail "kvm_amd not loaded in the lane"
echo "lane-smoke: PASSED"
