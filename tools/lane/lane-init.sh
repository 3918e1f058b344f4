#!/bin/sh
# lane-init.sh: /init of the svm-lane guest: load kvm_amd, run the lane command, report its status, power off.
# (Runs under busybox sh inside the lane; tools/svm-lane parses the marker lines.)
# set -euo pipefail does not suit an init (it must never exit); errors are reported as markers instead.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
N=$(cat /lane/nonce 2>/dev/null)
echo "SVM-LANE-START-$N"
# The heartbeat tools/svm-lane watches (on ttyS1, apart from the console): it stops only
# when nothing in the lane runs any more.
( while :; do echo .; sleep 5; done >/dev/ttyS1 ) 2>/dev/null &

fail() {
    echo "SVM-LANE-ERROR-$N: $*"
    dmesg | tail -n 10
    poweroff -f
    sleep 5
    echo o >/proc/sysrq-trigger
}

for m in $(cat /lane/modules); do
    out=$(insmod "/lib/modules/$m.ko" 2>&1) || fail "insmod $m failed: $out"
done
[ -c /dev/kvm ] || fail "/dev/kvm missing after loading kvm_amd ($(dmesg | grep -i -E 'kvm|svm' | tail -n 3))"
echo "SVM-LANE-READY-$N"

cd /
if [ -f /lane/cmd ]; then
    sh /lane/cmd
    rc=$?
else
    rc=0
fi
echo
echo "SVM-LANE-EXIT-$N=$rc"
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
