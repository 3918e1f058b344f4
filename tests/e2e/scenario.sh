#!/usr/bin/env bash
# scenario.sh — boots one test-kernel scenario under `rrvm run`; checks exit status, token and stderr reason.
# usage: scenario.sh SCENARIO EXPECTED_STATUS TOKEN_REGEX [STDERR_REGEX] [-- extra rrvm args]
source "$(dirname "$0")/lib.sh"
scenario=$1 want=$2 token=$3; shift 3
errpat=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then errpat=$1; shift; fi
[ "${1:-}" = "--" ] && shift
need_kvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run_guest "$tmp/out" "$tmp/err" run --kernel "$TESTKERNEL" --append "$scenario" "$@"
st=$?
echo "--- console ($scenario) ---"; cat "$tmp/out"; echo "--- stderr ---"; cat "$tmp/err"
[ "$st" = "$want" ] || fail "$scenario: exit status $st, expected $want"
grep -Eq "$token" "$tmp/out" || fail "$scenario: token /$token/ not in console output"
[ -z "$errpat" ] || grep -Eq "$errpat" "$tmp/err" || fail "$scenario: stderr lacks /$errpat/"
echo "PASS: $scenario (status $st)"
