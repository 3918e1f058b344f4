# lane.cmake — the test-kernel e2e tests (run/record/replay/snapshots/seek/trace) inside the svm-lane,
# for hosts without /dev/kvm: tests/lane/run-e2e.sh boots ONE lane per group below and runs the
# listed ctest tests there exactly as ctest runs them natively (command and environment read from
# ctest, static rrvm and tools from build-static/). Tests that need what the lane lacks (breakpoints)
# are in the lists too and reported as SKIPPED with the reason. On a host with /dev/kvm the native
# tests cover all of this: the first group runs one smoke test in the lane, the others skip.
# Times are seconds inside the lane, measured on the 2-core CI machine (tools/README.md has them all).
set(LANE_E2E ${CMAKE_SOURCE_DIR}/tests/lane/run-e2e.sh --build ${CMAKE_BINARY_DIR})

function(rrvm_lane_e2e name timeout if_kvm)
  # The lane's own limit stays below ctest's, so a lane that hangs is cut by svm-lane (and QEMU with it).
  math(EXPR lane_timeout "${timeout} - 90")
  add_test(NAME ${name} COMMAND ${LANE_E2E} --if-kvm ${if_kvm} --timeout ${lane_timeout} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout} SKIP_RETURN_CODE 77
                       LABELS "e2e;svm-lane" RESOURCE_LOCK svm_lane_build_static)
endfunction()

# `rrvm run` scenarios and record/replay (~140 s of tests, 203 s with the lane's boot and builds).
rrvm_lane_e2e(lane_e2e_run_rr 720 smoke
  run_hello run_timer run_tasks run_crash run_msrgp run_ring0spin run_memstress run_timer_virtual run_timer_virtual_identical
  run_race_both_outcomes run_hostile_inputs run_badinsn
  rr_hello rr_timer rr_tasks rr_memstress rr_msrgp rr_landmarks rr_timer_virtual rr_divergence rr_sigkill_and_corrupt
  rr_console_input rr_stop_snapshot rr_disk_full trace_cli_recorded hostile_guest
  rr_race_pinned gdb_replay_race gdb_live sandbox_confined)

# Snapshots: replay from every snapshot, resume, damaged files, 1000 restore rounds; virtio (~240 s).
rrvm_lane_e2e(lane_e2e_snapshot 900 skip
  snapshot_roundtrip_hello snapshot_roundtrip_timer snapshot_roundtrip_tasks snapshot_roundtrip_race
  snapshot_roundtrip_memstress snapshot_roundtrip_badinsn snapshot_roundtrip_ring3spin
  snapshot_roundtrip_reboot snapshot_roundtrip_echo snapshot_roundtrip_virtio snapshot_roundtrip_ring0spin
  snapshot_resume_tasks snapshot_corrupt snapshot_atomic_and_loop virtio_rr)

# The tests that end on an I/O exit (~30 s): on kvm_amd (the lane) RIP stays on an OUT until the
# next KVM_RUN completes it, so the final state is sampled after completing it
# (run__print_final_state, session__state_hash), as a snapshot there does.
rrvm_lane_e2e(lane_e2e_io_completion 480 skip
  rr_crash snapshot_roundtrip_crash session_seek_tasks session_seek_timer session_seek_crash session_seek_ring0spin virtio_seek)

# `rrvm tui` through tmux on a recorded crash (76-220 s; tmux, terminfo and C.UTF-8 come with the bundle).
rrvm_lane_e2e(lane_e2e_tui 600 skip tui_browse tui_damaged tui_cancel tui_snap tui_gdb)
