# rdtsc.cmake — RDTSC/RDTSCP rewriting (core/rdtsc_rewrite.c, core/tsc_port.c): synthetic kernels with sites
# and decoys, a VM running rewritten sites, and Debian's cloud kernel compared with objdump.
add_executable(test_rdtsc ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rdtsc.c)
target_link_libraries(test_rdtsc PRIVATE rrvmcore)
target_compile_definitions(test_rdtsc PRIVATE RRVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME unit_rdtsc COMMAND test_rdtsc)
set_tests_properties(unit_rdtsc PROPERTIES TIMEOUT 60 LABELS "unit")
add_test(NAME unit_rdtsc_vm COMMAND test_rdtsc --vm)
set_tests_properties(unit_rdtsc_vm PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "unit")
add_test(NAME rdtsc_debian_kernel
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/rdtsc_real_kernel.sh $<TARGET_FILE:test_rdtsc>)
set_tests_properties(rdtsc_debian_kernel PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS "unit")
