#!/bin/sh
# init-gdb.sh: /init of the inner Linux guest for the gdb test: print the kallsyms lines gdb needs, then panic via sysrq.
# The recording's own console then holds the System.map the replay is debugged with
# (Debian's image package has no usable one; nokaslr keeps the addresses fixed).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
echo "RRVM-LINUX: init reached"
grep -E ' (panic|sysrq_handle_crash|__handle_sysrq|write_sysrq_trigger|_text|_etext)$' /proc/kallsyms |
	while read -r line; do echo "RRVM-KSYM $line"; done
echo "RRVM-LINUX: panic"
echo c >/proc/sysrq-trigger
echo "RRVM-LINUX: sysrq panic failed"
sleep 1000000
