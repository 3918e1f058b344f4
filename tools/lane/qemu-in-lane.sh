#!/usr/bin/env bash
# qemu-in-lane.sh: reference timing: QEMU -enable-kvm inside the SVM lane boots the cloud kernel + inner busybox initramfs.
#
# Usage: tools/lane/qemu-in-lane.sh [--variant boot|rr] [--shape rrvm|plain] [--runs N]
#   --shape rrvm  (default) rrvm's platform: -machine pc,kernel-irqchip=off,
#                 -cpu host,-apic,-x2apic,-tsc-deadline,-rdtscp,-rdrand,-rdseed,kvm=off,-kvmclock
#                 -no-hpet, kernel args nolapic lpj=9781808
#   --shape plain QEMU's defaults with -cpu host (in-kernel irqchip, LAPIC, kvmclock)
#   --runs N      boot N times in one lane (default 1)
# Prints the inner console and, per run, "QEMU-IN-LANE: run I: X s" measured in
# the lane (from /proc/uptime), then the lane's own timings.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VARIANT=boot SHAPE=rrvm RUNS=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --variant) VARIANT=$2; shift 2 ;;
    --shape) SHAPE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "qemu-in-lane: unknown argument: $1" >&2; exit 2 ;;
  esac
done
eval "$("$REPO/tools/fetch-linux.sh" --quiet)"
INITRD=$("$REPO/tools/linux-guest.sh" --variant "$VARIANT" 2>/dev/null)
BUNDLE=$("$REPO/tools/lane/qemu-bundle.sh")
case $SHAPE in
  rrvm)  Q="-machine pc,kernel-irqchip=off -cpu host,-apic,-x2apic,-tsc-deadline,-rdtscp,-rdrand,-rdseed,kvm=off,-kvmclock -no-hpet"
         A="console=ttyS0 nolapic lpj=9781808 panic=-1" ;;
  plain) Q="-machine pc -cpu host"
         A="console=ttyS0 panic=-1" ;;
  *) echo "qemu-in-lane: unknown --shape $SHAPE" >&2; exit 2 ;;
esac
CMD="i=1; while [ \$i -le $RUNS ]; do
  t0=\$(cut -d' ' -f1 /proc/uptime)
  qemu-system-x86_64 -enable-kvm $Q -m 256 -smp 1 -nodefaults -display none -serial stdio -monitor none -no-reboot \
    -kernel /vmlinuz -initrd /initrd.img -append '$A' </dev/null 2>/tmp/qemu.err; rc=\$?
  t1=\$(cut -d' ' -f1 /proc/uptime)
  grep -v 'TCG\\|requested feature' /tmp/qemu.err
  echo \"QEMU-IN-LANE: run \$i: \$(awk -v a=\$t0 -v b=\$t1 'BEGIN{print b-a}') s (qemu exit \$rc)\"
  i=\$((i+1))
done"
exec "$REPO/tools/svm-lane" --timings --timeout 900 --file "$BUNDLE:/" \
  --file "$RRVM_LINUX_VMLINUZ:/vmlinuz" --file "$INITRD:/initrd.img" -- "$CMD"
