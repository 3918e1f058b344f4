# gdb.cmake — the gdb stub: byte-level unit tests, the framer fuzz target, and real gdb driven against
# live and replayed test-kernel runs (tests/e2e/gdb_*.sh).
add_executable(test_gdb_proto ${CMAKE_SOURCE_DIR}/tests/unit/test_gdb_proto.c)
target_link_libraries(test_gdb_proto PRIVATE rrvmcore)
add_test(NAME unit_gdb_proto COMMAND test_gdb_proto)
set_tests_properties(unit_gdb_proto PROPERTIES TIMEOUT 60 LABELS "unit")

# --symbols System.map: the text-to-ELF converter on good and hostile input; then stock gdb itself
# must read the ELF it writes (symbol-file) and know panic's address and extent.
add_executable(test_symfile ${CMAKE_SOURCE_DIR}/tests/unit/test_symfile.c)
target_link_libraries(test_symfile PRIVATE rrvmcore)
add_test(NAME unit_symfile COMMAND test_symfile)
set_tests_properties(unit_symfile PROPERTIES TIMEOUT 60 LABELS "unit")
add_test(NAME symfile_gdb COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/symfile_gdb.sh $<TARGET_FILE:test_symfile>)
set_tests_properties(symfile_gdb PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "unit")

# The framer fuzz target as a plain program (gcc, CI): corpus plus seeded mutations.
add_executable(fuzz_gdb_framer_standalone ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_gdb_framer.c)
target_compile_definitions(fuzz_gdb_framer_standalone PRIVATE RRVM_FUZZ_STANDALONE)
target_link_libraries(fuzz_gdb_framer_standalone PRIVATE rrvmcore)
add_test(NAME fuzz_gdb_framer_corpus
         COMMAND fuzz_gdb_framer_standalone --mutate 2000 ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/gdb_framer)
set_tests_properties(fuzz_gdb_framer_corpus PROPERTIES TIMEOUT 120 LABELS "fuzz")

# libFuzzer: always built when clang is on PATH (a separate compiler invocation, so the main build may
# stay on gcc); ctest runs it for a bounded 5 s. By hand: build/fuzz_gdb_framer -max_total_time=60 CORPUS
find_program(RRVM_CLANG NAMES clang clang-16 clang-15 clang-14)
if(RRVM_CLANG)
  set(FUZZ_GDB_BIN ${CMAKE_BINARY_DIR}/fuzz_gdb_framer)
  add_custom_command(OUTPUT ${FUZZ_GDB_BIN}
    COMMAND ${RRVM_CLANG} -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
            -D_GNU_SOURCE -I${CMAKE_SOURCE_DIR}
            ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_gdb_framer.c ${CMAKE_SOURCE_DIR}/gdb/framer.c
            ${CMAKE_SOURCE_DIR}/gdb/proto.c ${CMAKE_SOURCE_DIR}/gdb/regs.c
            ${CMAKE_SOURCE_DIR}/core/x86.c ${CMAKE_SOURCE_DIR}/core/mem.c -o ${FUZZ_GDB_BIN}
    DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_gdb_framer.c ${CMAKE_SOURCE_DIR}/gdb/framer.c
            ${CMAKE_SOURCE_DIR}/gdb/proto.c ${CMAKE_SOURCE_DIR}/gdb/framer.h ${CMAKE_SOURCE_DIR}/gdb/proto.h
    COMMENT "libFuzzer: fuzz_gdb_framer"
    VERBATIM)
  add_custom_target(fuzz_gdb_framer ALL DEPENDS ${FUZZ_GDB_BIN})
  # New inputs go to a scratch corpus in the build tree (the first directory), never the source tree.
  add_test(NAME fuzz_gdb_framer_libfuzzer
           COMMAND sh -c "mkdir -p \"$1\" && exec \"$0\" -max_total_time=5 -max_len=20000 -rss_limit_mb=1024 \"$1\" \"$2\""
                   ${FUZZ_GDB_BIN} ${CMAKE_BINARY_DIR}/fuzz_gdb_framer_corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/gdb_framer)
  set_tests_properties(fuzz_gdb_framer_libfuzzer PROPERTIES TIMEOUT 60 LABELS "fuzz")
endif()

# Real gdb against the test kernel: a replay of a crashed race recording (forwards and backwards).
rrvm_e2e(gdb_replay_race 600 ${E2E}/gdb_replay.sh)
# Real gdb against a live VM, and malformed packets on the socket.
rrvm_e2e(gdb_live 300 ${E2E}/gdb_live.sh)
