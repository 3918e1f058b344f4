#!/bin/sh
# init-virtio.sh: /init of the inner Linux guest for the virtio test: load the virtio modules, mount the
# ext4 disk, read and write files, sync, read /dev/hwrng, write to hvc0, power off. Every step prints a token.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "RRVM-LINUX: init reached"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk virtio-rng virtio_console; do
	insmod /lib/modules/$m.ko || echo "RRVM-LINUX: insmod $m failed"
done
echo "RRVM-LINUX: modules loaded"
grep -i virtio /proc/interrupts
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done
[ -b /dev/vda ] && echo "RRVM-LINUX: /dev/vda present, $(cat /sys/block/vda/size) sectors"
mkdir -p /mnt
if mount -t ext4 /dev/vda /mnt; then
	echo "RRVM-LINUX: mounted"
	echo "RRVM-LINUX: read: $(cat /mnt/hello.txt)"
	rnd=$(dd if=/dev/hwrng bs=8 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	echo "RRVM-WRITTEN by the guest, entropy $rnd" >/mnt/written.txt
	dd if=/dev/zero of=/mnt/zeros bs=4096 count=256 2>/dev/null
	sync
	echo "RRVM-LINUX: wrote: $(cat /mnt/written.txt), zeros $(wc -c </mnt/zeros) bytes"
	umount /mnt && echo "RRVM-LINUX: unmounted"
fi
echo "RRVM-LINUX: hwrng:"
dd if=/dev/hwrng bs=16 count=2 2>/dev/null | od -tx1
echo "RRVM-LINUX: hwrng done"
[ -c /dev/hvc0 ] && echo "RRVM-HVC: hello from Linux over virtio-console" >/dev/hvc0 && echo "RRVM-LINUX: hvc0 written"
echo "RRVM-LINUX: poweroff"
poweroff -f
echo "RRVM-LINUX: poweroff failed"
sleep 1000000
