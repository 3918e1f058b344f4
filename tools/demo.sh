#!/usr/bin/env bash
# demo.sh — builds rrvm and pins down the built-in test kernel's race: record until it crashes, replay it identically.
# No downloads; about a minute on a nested-KVM host. Leaves the crashing trace in build/demo-race.trace.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
rrvm=build/rrvm
kernel=build/tests/guests/testkernel.elf
trace=build/demo-race.trace
log=$(mktemp -d); trap 'rm -rf "$log"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "What this host's KVM can do ($rrvm doctor)"
$rrvm doctor || true

step "The race: ring-0 code and the timer interrupt share state without a lock."
echo "Whether it crashes depends on exactly when interrupts land. Recording until a run crashes:"
attempt=0
while :; do
	attempt=$((attempt + 1))
	rm -rf "$trace"
	set +e
	$rrvm record -o "$trace" --kernel $kernel --append race </dev/null >"$log/out" 2>"$log/err"
	st=$?
	set -e
	if [ $st = 3 ]; then
		echo "  attempt $attempt: CRASHED — $(grep -m1 'KERNEL PANIC' "$log/out")"
		break
	fi
	echo "  attempt $attempt: survived (status $st)"
	[ $attempt -lt 50 ] || { echo "no crash in 50 recordings"; exit 1; }
done
grep -E '^rrvm: (recorded|final state)' "$log/err" | sed 's/^/  /'

step "Replaying the crashing trace three times ($rrvm replay $trace)"
for i in 1 2 3; do
	set +e
	$rrvm replay "$trace" >"$log/rep" 2>"$log/reperr"
	st=$?
	set -e
	printf '  replay %d: status %d, %s\n' $i $st "$(grep -m1 'KERNEL PANIC' "$log/rep")"
	grep -E '^rrvm: (final state|replay:)' "$log/reperr" | sed 's/^/    /'
	cmp -s "$log/out" "$log/rep" && echo "    console byte-identical to the recording"
done

step "The trace ($rrvm trace info $trace)"
$rrvm trace info "$trace" | head -40
