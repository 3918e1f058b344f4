# trace_cli.cmake — `rrvm trace info|dump|console`: the golden trace and damaged copies (no KVM), real recordings (KVM).
set(TRACE_CLI_ENV "RRVM=$<TARGET_FILE:rrvm>;TESTKERNEL=${CMAKE_BINARY_DIR}/tests/guests/testkernel.elf")
add_test(NAME trace_cli_golden
         COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/trace_cli.sh golden ${CMAKE_SOURCE_DIR}/traces/golden/v1.0-synthetic)
add_test(NAME trace_cli_recorded COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/trace_cli.sh recorded)
set_tests_properties(trace_cli_golden trace_cli_recorded PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                     ENVIRONMENT "${TRACE_CLI_ENV}" LABELS "e2e")
