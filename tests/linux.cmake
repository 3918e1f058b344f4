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


# Linux record/replay in the lane: record Debian's cloud kernel to its sysrq
# panic, replay it 3 times in the same lane; every replay must reach the
# recorded end with the recorded status, a byte-identical console and the same
# final register and memory hashes. (Recordings used to hang now and then:
# an interrupt injected inside the STI shadow of Linux's `sti; hlt` idle ran
# its handler before the HLT, which then slept on a one-shot PIT that nobody
# re-armed. The vcpu loop's STI-shadow rule fixed it; see issue 3's note.)
add_test(NAME linux_record_replay_svm_lane
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/boot-in-lane.sh --variant rr --record-replay 3
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(linux_record_replay_svm_lane PROPERTIES
  TIMEOUT 1200
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane"
  RESOURCE_LOCK svm_lane_build_static)

# Linux on rrvm's virtio devices in the lane (tests/linux/virtio-in-lane.sh): modules
# from the initramfs, an ext4 disk made by tools/mkdisk.sh mounted, files written and
# read, sync, /dev/hwrng, hvc0, power off; recorded, then replayed twice with identical
# consoles and an image that replay leaves alone (about 7 minutes, one core).
add_test(NAME linux_virtio_svm_lane
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/virtio-in-lane.sh --replays 2
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(linux_virtio_svm_lane PROPERTIES
  TIMEOUT 1200
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane"
  RESOURCE_LOCK svm_lane_build_static)

# Stock gdb against a replay of the Debian kernel's sysrq panic in the lane (tests/linux/gdb-in-lane.sh):
# symbols from the guest's own /proc/kallsyms (replay --symbols System.map), HLT-patch breakpoints
# (KVM's do not fire in the lane): break panic, reverse-stepi onto the call in sysrq_handle_crash,
# reverse-continue to a breakpoint on it; every stop's RIP and position checked (about 3 minutes).
add_test(NAME linux_gdb_svm_lane
         COMMAND ${CMAKE_SOURCE_DIR}/tests/linux/gdb-in-lane.sh
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(linux_gdb_svm_lane PROPERTIES
  TIMEOUT 1500
  SKIP_RETURN_CODE 77
  LABELS "linux;svm-lane"
  RESOURCE_LOCK svm_lane_build_static)
