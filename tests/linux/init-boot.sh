#!/bin/sh
# init-boot.sh: /init of the inner Linux guest for boot tests: reach user space, print, power off.
# Busybox sh (no pipefail): every step prints a token so a test can tell how far it got.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "RRVM-LINUX: init reached"
uname -a
echo "RRVM-LINUX: cmdline: $(cat /proc/cmdline)"
echo "RRVM-LINUX: uptime: $(cat /proc/uptime)"
echo "RRVM-LINUX: clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
echo "RRVM-LINUX: poweroff"
# No ACPI: poweroff becomes halt; the kernel ends in HLT with interrupts disabled.
poweroff -f
# Not reached unless the reboot syscall failed.
echo "RRVM-LINUX: poweroff failed"
sleep 1000000
