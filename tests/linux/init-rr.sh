#!/bin/sh
# init-rr.sh: /init of the inner Linux guest for record/replay tests: consume nondeterministic inputs, then panic.
# Everything printed here depends on entropy, wall-clock time or interrupt timing,
# so a replay that reproduces this console byte for byte really replayed them.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "RRVM-LINUX: init reached"
uname -a
echo "RRVM-LINUX: cmdline: $(cat /proc/cmdline)"
echo "RRVM-LINUX: urandom: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "RRVM-LINUX: date: $(date -u '+%Y-%m-%dT%H:%M:%SZ') $(date +%s)"
echo "RRVM-LINUX: uptime: $(cat /proc/uptime)"
echo "RRVM-LINUX: interrupts:"
cat /proc/interrupts
sleep 1
echo "RRVM-LINUX: uptime after sleep 1: $(cat /proc/uptime)"
echo "RRVM-LINUX: urandom: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "RRVM-LINUX: panic"
echo c >/proc/sysrq-trigger
echo "RRVM-LINUX: sysrq panic failed"
sleep 1000000
