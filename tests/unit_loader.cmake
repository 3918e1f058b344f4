# unit_loader.cmake — kernel loader unit tests (ELF64/PVH, vmlinux, bzImage gzip/LZ4/xz, hostile inputs),
# and an optional load of Debian's cloud kernel (skipped when it is not on disk).
add_executable(test_loader ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_loader.c)
target_link_libraries(test_loader PRIVATE rrvmcore)
target_compile_definitions(test_loader PRIVATE RRVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME unit_loader COMMAND test_loader)
set_tests_properties(unit_loader PROPERTIES TIMEOUT 300 LABELS "unit")
add_test(NAME unit_loader_debian_kernel COMMAND test_loader --real-kernel)
set_tests_properties(unit_loader_debian_kernel PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "unit")
