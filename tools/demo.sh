#!/usr/bin/env bash
# demo.sh — builds rrvm and runs the built-in test kernel: no downloads, a minute on a nested-KVM host.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
rrvm=build/rrvm
kernel=build/tests/guests/testkernel.elf
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }

step "What this host's KVM can do" $rrvm doctor
$rrvm doctor || true

for scenario in hello tasks crash; do
	step "Scenario '$scenario'" $rrvm run --stats --kernel $kernel --append $scenario
	set +e
	$rrvm run --stats --kernel $kernel --append $scenario </dev/null
	echo "(exit status $?)"
	set -e
done

step "The race: real time decides whether it crashes (5 live runs)" "$rrvm run --kernel $kernel --append race"
for i in 1 2 3 4 5; do
	set +e
	$rrvm run --kernel $kernel --append race </dev/null >/tmp/rrvm-demo-race.$$ 2>&1
	st=$?
	set -e
	if [ $st = 3 ]; then echo "run $i: crashed ($(grep -m1 'KERNEL PANIC' /tmp/rrvm-demo-race.$$))"; else echo "run $i: survived (status $st)"; fi
done
rm -f /tmp/rrvm-demo-race.$$
