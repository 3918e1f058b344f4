# unit_devices.cmake — unit tests for the legacy PC devices (PIC, PIT, RTC, UART, i8042, debug-exit).
add_executable(test_devices ${CMAKE_SOURCE_DIR}/tests/unit/test_devices.c)
target_link_libraries(test_devices PRIVATE rrvmcore)
add_test(NAME unit_devices COMMAND test_devices)
set_tests_properties(unit_devices PROPERTIES TIMEOUT 30 LABELS "unit")

# The vCPU loop's stop signal: one SIGINT stops one run (no KVM: the VM has no vCPU).
add_executable(test_stop_signal ${CMAKE_SOURCE_DIR}/tests/unit/test_stop_signal.c)
target_link_libraries(test_stop_signal PRIVATE rrvmcore)
add_test(NAME unit_stop_signal COMMAND test_stop_signal)
set_tests_properties(unit_stop_signal PROPERTIES TIMEOUT 30 LABELS "unit")

# The run/record sandbox (core/sandbox.h), tried from inside: Landlock and seccomp, no KVM needed.
add_executable(test_sandbox ${CMAKE_SOURCE_DIR}/tests/unit/test_sandbox.c)
target_link_libraries(test_sandbox PRIVATE rrvmcore)
add_test(NAME unit_sandbox COMMAND test_sandbox)
set_tests_properties(unit_sandbox PROPERTIES TIMEOUT 30 LABELS "unit" SKIP_RETURN_CODE 77)
