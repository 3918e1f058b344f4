# fuzz.cmake — fuzz targets for the snapshot loader, the kernel loaders and the gdb command layer: each as a
# plain program (standalone driver: corpus plus seeded mutations, every build) and, with -DRRVM_FUZZ=ON and
# clang, as a libFuzzer binary that ctest runs for a bounded time. Seeds come from real files made in the
# build: snapshot files written by snapfile__write (test_snapfile --write-seeds), the kernels test_loader
# builds and the test kernel ELF. Longer runs: RELIABILITY.md.
set(FUZZ_SEEDS ${CMAKE_BINARY_DIR}/fuzz_seeds)
set(FUZZ_CORPUS ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus)

add_test(NAME fuzz_seeds COMMAND sh -c "rm -rf \"$0\" && mkdir -p \"$0/snapfile\" \"$0/loader\" \"$0/gdb_cmds\" && \"$1\" --write-seeds \"$0/snapfile\" >/dev/null && \"$2\" --write-seeds \"$0/loader\" && { printf '\\000'; cat \"$3\"; } > \"$0/loader/testkernel-elf\" && for f in \"$4\"/*; do cp \"$f\" \"$0/gdb_cmds/framer-$(basename \"$f\")\"; done"
         ${FUZZ_SEEDS} $<TARGET_FILE:test_snapfile> $<TARGET_FILE:test_loader> ${RRVM_TESTKERNEL}
         ${FUZZ_CORPUS}/gdb_framer)
set_tests_properties(fuzz_seeds PROPERTIES TIMEOUT 60 LABELS "fuzz" FIXTURES_SETUP fuzz_seeds)

# name: target (tests/fuzz/NAME.c); the corpus directories are tests/fuzz/corpus/CORPUS and the seeds.
function(rrvm_fuzz_target name corpus mutations)
  add_executable(${name}_standalone ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.c)
  target_compile_definitions(${name}_standalone PRIVATE RRVM_FUZZ_STANDALONE)
  target_link_libraries(${name}_standalone PRIVATE rrvmcore)
  add_test(NAME ${name}_corpus COMMAND ${name}_standalone --mutate ${mutations} ${FUZZ_CORPUS}/${corpus}
           ${FUZZ_SEEDS}/${corpus})
  set_tests_properties(${name}_corpus PROPERTIES TIMEOUT 300 LABELS "fuzz" FIXTURES_REQUIRED fuzz_seeds)
  if(RRVM_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.c)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE rrvmcore)
    # New inputs go to a scratch corpus in the build tree (the first directory), never the source tree.
    add_test(NAME ${name}_libfuzzer
             COMMAND sh -c "rm -rf \"$1\" && mkdir -p \"$1\" && exec \"$0\" -max_total_time=10 -rss_limit_mb=2048 -timeout=10 \"$1\" \"$2\" \"$3\""
                     $<TARGET_FILE:${name}> ${CMAKE_BINARY_DIR}/${name}_corpus ${FUZZ_CORPUS}/${corpus} ${FUZZ_SEEDS}/${corpus})
    set_tests_properties(${name}_libfuzzer PROPERTIES TIMEOUT 120 LABELS "fuzz" FIXTURES_REQUIRED fuzz_seeds)
  endif()
endfunction()

rrvm_fuzz_target(fuzz_snapfile snapfile 300)
rrvm_fuzz_target(fuzz_loader loader 300)
rrvm_fuzz_target(fuzz_gdb_cmds gdb_cmds 2000)
