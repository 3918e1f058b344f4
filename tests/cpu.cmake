# cpu.cmake — the CPU model: CPUID profiles against this host's KVM, MSR answers, `rrvm cpuid`.
add_executable(test_cpu ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cpu.c)
target_link_libraries(test_cpu PRIVATE rrvmcore)
add_test(NAME cpu_unit COMMAND test_cpu $<TARGET_FILE:rrvm>)
set_tests_properties(cpu_unit PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "unit")
