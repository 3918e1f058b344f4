# snapshot.cmake — replay sessions (seek), device state, snapshots: take, store, restore, resume.
add_executable(session_seek ${CMAKE_SOURCE_DIR}/tests/tools/session_seek.c)
target_link_libraries(session_seek PRIVATE rrvmcore)

foreach(s tasks timer crash)
  rrvm_e2e(session_seek_${s} 300 ${E2E}/session_seek.sh ${s})
  set_tests_properties(session_seek_${s} PROPERTIES ENVIRONMENT "${E2E_ENV};SESSION_SEEK=$<TARGET_FILE:session_seek>")
endforeach()

add_executable(test_devstate ${CMAKE_SOURCE_DIR}/tests/unit/test_devstate.c)
target_link_libraries(test_devstate PRIVATE rrvmcore)
add_test(NAME unit_devstate COMMAND test_devstate)
set_tests_properties(unit_devstate PROPERTIES TIMEOUT 30 LABELS "unit")
