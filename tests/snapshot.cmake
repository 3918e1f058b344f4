# snapshot.cmake — replay sessions (seek), device state, snapshots: take, store, restore, resume.
add_executable(session_seek ${CMAKE_SOURCE_DIR}/tests/tools/session_seek.c)
target_link_libraries(session_seek PRIVATE rrvmcore)

foreach(s tasks timer crash ring0spin)
  rrvm_e2e(session_seek_${s} 300 ${E2E}/session_seek.sh ${s})
  set_tests_properties(session_seek_${s} PROPERTIES ENVIRONMENT "${E2E_ENV};SESSION_SEEK=$<TARGET_FILE:session_seek>")
endforeach()

add_executable(test_devstate ${CMAKE_SOURCE_DIR}/tests/unit/test_devstate.c)
target_link_libraries(test_devstate PRIVATE rrvmcore)
add_test(NAME unit_devstate COMMAND test_devstate)
set_tests_properties(unit_devstate PROPERTIES TIMEOUT 30 LABELS "unit")

# Round trip: replay from every recorded snapshot = full replay, for every test-kernel scenario.
foreach(s hello timer tasks crash race memstress badinsn ring3spin reboot echo virtio ring0spin)
  set(arg ${s})
  set(every 100ev)
  if(s STREQUAL "memstress")
    set(arg "memstress mb=32")
  elseif(s STREQUAL "virtio")
    set(arg "virtio mib=1")
    set(every 200ev)
  elseif(s STREQUAL "hello")
    set(every 40ev)
  elseif(s STREQUAL "echo")
    set(every 1000ev)   # it polls the UART: ~9000 events
  endif()
  rrvm_e2e(snapshot_roundtrip_${s} 600 ${E2E}/snapshot_roundtrip.sh "${arg}" ${every})
endforeach()

rrvm_e2e(snapshot_resume_tasks 300 ${E2E}/snapshot_resume.sh)
rrvm_e2e(snapshot_corrupt 300 ${E2E}/snapshot_corrupt.sh)
add_executable(snap_check ${CMAKE_SOURCE_DIR}/tests/tools/snap_check.c)
target_link_libraries(snap_check PRIVATE rrvmcore)
rrvm_e2e(snapshot_atomic_and_loop 600 ${E2E}/snapshot_check.sh)
set_tests_properties(snapshot_atomic_and_loop PROPERTIES ENVIRONMENT "${E2E_ENV};SNAP_CHECK=$<TARGET_FILE:snap_check>")

# Benchmark tool (bench/snapshot.sh runs it; not a test).
add_executable(snap_bench ${CMAKE_SOURCE_DIR}/bench/snap_bench.c)
target_link_libraries(snap_bench PRIVATE rrvmcore)

# Snapshot files without KVM: writer/reader round trip, file modes, hostile page counts, symlinked paths.
add_executable(test_snapfile ${CMAKE_SOURCE_DIR}/tests/unit/test_snapfile.c)
target_link_libraries(test_snapfile PRIVATE rrvmcore)
add_test(NAME unit_snapfile COMMAND test_snapfile)
set_tests_properties(unit_snapfile PROPERTIES TIMEOUT 60 LABELS "unit")
