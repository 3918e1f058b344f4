# hostile.cmake — the test kernel's `hostile` scenario against the monitor (issue 8):
# a few seeds with the plain build, and a few more with the ASan/UBSan twin (rrvm-asan).
rrvm_e2e(hostile_guest 300 ${CMAKE_SOURCE_DIR}/tests/e2e/hostile_guest.sh 1 2 3)
if(TARGET rrvm-asan)
  add_test(NAME hostile_guest_asan COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/hostile_guest.sh 4 5 6)
  set_tests_properties(hostile_guest_asan PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "e2e"
    ENVIRONMENT "RRVM=$<TARGET_FILE:rrvm-asan>;TESTKERNEL=${CMAKE_BINARY_DIR}/tests/guests/testkernel.elf")
endif()
