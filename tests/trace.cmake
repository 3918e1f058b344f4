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

# libFuzzer build (clang only): cmake -DCMAKE_C_COMPILER=clang -DRRVM_FUZZ=ON; then
#   build/fuzz_trace_reader -max_total_time=60 tests/fuzz/corpus/trace_reader
# The reader sources are compiled into the target so that they carry coverage instrumentation.
option(RRVM_FUZZ "Build libFuzzer fuzz targets (needs clang)" OFF)
if(RRVM_FUZZ)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    add_executable(fuzz_trace_reader
      ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_trace_reader.c
      ${CMAKE_SOURCE_DIR}/record/trace_codec.c
      ${CMAKE_SOURCE_DIR}/record/trace_header.c
      ${CMAKE_SOURCE_DIR}/replay/trace_reader.c)
    target_include_directories(fuzz_trace_reader PRIVATE ${CMAKE_SOURCE_DIR} ${LZ4_INCLUDE_DIRS})
    target_compile_definitions(fuzz_trace_reader PRIVATE _GNU_SOURCE)
    target_compile_options(fuzz_trace_reader PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
    target_link_options(fuzz_trace_reader PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_trace_reader PRIVATE ${LZ4_LIBRARIES})
  else()
    message(WARNING "RRVM_FUZZ=ON needs clang (-DCMAKE_C_COMPILER=clang): libFuzzer targets not built")
  endif()
endif()
