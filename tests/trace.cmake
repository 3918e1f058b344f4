# trace.cmake — the trace format: unit tests, golden traces, and the trace-reader fuzz target.
add_executable(test_trace ${CMAKE_SOURCE_DIR}/tests/unit/test_trace.c)
target_link_libraries(test_trace PRIVATE rrvmcore)
target_compile_definitions(test_trace PRIVATE RRVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME unit_trace COMMAND test_trace)
set_tests_properties(unit_trace PROPERTIES TIMEOUT 600 LABELS "unit")

# The fuzz target as a plain program: runs every corpus input plus seeded mutations (gcc, CI).
add_executable(fuzz_trace_reader_standalone ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_trace_reader.c)
target_compile_definitions(fuzz_trace_reader_standalone PRIVATE RRVM_FUZZ_STANDALONE)
target_link_libraries(fuzz_trace_reader_standalone PRIVATE rrvmcore)
add_test(NAME fuzz_trace_reader_corpus
         COMMAND fuzz_trace_reader_standalone --mutate 2000 ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/trace_reader)
set_tests_properties(fuzz_trace_reader_corpus PROPERTIES TIMEOUT 300 LABELS "fuzz")

# libFuzzer (clang, -DRRVM_FUZZ=ON; the sanitizer build of tools/test.sh): ctest runs it for a bounded 10 s.
# By hand: build-asan/tests/fuzz_trace_reader -max_total_time=60 SCRATCH tests/fuzz/corpus/trace_reader
if(RRVM_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_trace_reader ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_trace_reader.c)
  target_compile_options(fuzz_trace_reader PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_trace_reader PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_trace_reader PRIVATE rrvmcore)
  add_test(NAME fuzz_trace_reader_libfuzzer
           COMMAND sh -c "rm -rf \"$1\" && mkdir -p \"$1\" && exec \"$0\" -max_total_time=10 -rss_limit_mb=2048 -timeout=10 \"$1\" \"$2\""
                   $<TARGET_FILE:fuzz_trace_reader> ${CMAKE_BINARY_DIR}/fuzz_trace_reader_corpus
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/trace_reader)
  set_tests_properties(fuzz_trace_reader_libfuzzer PROPERTIES TIMEOUT 120 LABELS "fuzz")
elseif(RRVM_FUZZ)
  message(WARNING "RRVM_FUZZ=ON needs clang (-DCMAKE_C_COMPILER=clang): libFuzzer targets not built")
endif()
