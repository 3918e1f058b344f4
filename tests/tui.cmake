# tui.cmake — `rrvm tui` driven through tmux (send-keys, capture-pane) on a recorded test-kernel crash.
rrvm_e2e(tui_browse 600 ${E2E}/tui.sh browse)
rrvm_e2e(tui_damaged 300 ${E2E}/tui.sh damaged)
rrvm_e2e(tui_gdb 300 ${E2E}/tui.sh gdb)
rrvm_e2e(tui_cancel 300 ${E2E}/tui.sh cancel)

# The browser's model (golden traces) and symbol tables (the test kernel's ELF, a System.map from it).
add_executable(test_tui ${CMAKE_SOURCE_DIR}/tests/unit/test_tui.c)
target_link_libraries(test_tui PRIVATE rrvmcore)
target_compile_definitions(test_tui PRIVATE RRVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_dependencies(test_tui testkernel)
add_test(NAME unit_tui COMMAND test_tui ${CMAKE_BINARY_DIR}/tests/guests/testkernel.elf)
set_tests_properties(unit_tui PROPERTIES TIMEOUT 120 LABELS "unit")
rrvm_e2e(tui_snap 600 ${E2E}/tui.sh snap)
