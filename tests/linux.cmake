# Linux guest tests: they run in the SVM lane (QEMU TCG with emulated SVM and the
# real kvm_amd inside; see shared HOST.md and tools/README.md). Each script
# prints "SKIPPED: <reason>" and exits 77 where the host lacks what the lane
# needs (qemu, busybox-static, cpio, the kernel package and no cache).

# The lane itself: boots, loads kvm_amd, /dev/kvm usable, exit status passes through.
add_test(NAME svm_lane_smoke
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/lane-smoke.sh
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(svm_lane_smoke PROPERTIES
  TIMEOUT 180
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane")

# A static rrvm boots Debian's cloud kernel + busybox initramfs to /init and poweroff.
add_test(NAME linux_boot_svm_lane
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/boot-in-lane.sh
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(linux_boot_svm_lane PROPERTIES
  TIMEOUT 900
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane"
  RESOURCE_LOCK svm_lane_build_static)


# Linux record/replay in the lane (tests/linux/boot-in-lane.sh --variant rr
# --record-replay 3) passes since the STI-shadow window fix: byte-identical
# consoles and final states. It is not in the suite yet because some lane
# recordings hang (the guest's timer stops being injected; issue 3's note):
# it joins the suite when that is fixed.

# Linux on rrvm's virtio devices in the lane (tests/linux/virtio-in-lane.sh): ext4 disk
# mounted, files written and read, /dev/hwrng, hvc0, recorded and replayed twice. It
# records Linux, so it shares the lane-recording hang above (issue 3): registered but
# disabled until that is fixed; run it by hand (about 6 minutes, one core).
add_test(NAME linux_virtio_svm_lane
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/virtio-in-lane.sh --replays 2
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(linux_virtio_svm_lane PROPERTIES
  TIMEOUT 1200
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane"
  RESOURCE_LOCK svm_lane_build_static
  DISABLED TRUE)
