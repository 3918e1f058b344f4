# virtio.cmake — virtio devices: the virtqueue property/fuzz test and record/replay end to end.
add_executable(fuzz_virtq_standalone ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_virtq.c)
target_compile_definitions(fuzz_virtq_standalone PRIVATE RRVM_FUZZ_STANDALONE)
target_link_libraries(fuzz_virtq_standalone PRIVATE rrvmcore)
add_test(NAME fuzz_virtq_property COMMAND fuzz_virtq_standalone --iterations 20000 --seed 7)
set_tests_properties(fuzz_virtq_property PROPERTIES TIMEOUT 300 LABELS "fuzz")

# libFuzzer (clang, -DRRVM_FUZZ=ON): build/fuzz_virtq -max_total_time=60; CI runs a bounded 20 s.
if(RRVM_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_virtq ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_virtq.c)
  target_compile_options(fuzz_virtq PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_virtq PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_virtq PRIVATE rrvmcore)
  add_test(NAME fuzz_virtq_libfuzzer COMMAND fuzz_virtq -max_total_time=20 -seed=1)
  set_tests_properties(fuzz_virtq_libfuzzer PROPERTIES TIMEOUT 120 LABELS "fuzz")
endif()

rrvm_e2e(virtio_rr 300 ${E2E}/virtio_rr.sh)
rrvm_e2e(virtio_seek 300 ${E2E}/virtio_seek.sh)
set_tests_properties(virtio_seek PROPERTIES ENVIRONMENT "${E2E_ENV};SESSION_SEEK=$<TARGET_FILE:session_seek>")
