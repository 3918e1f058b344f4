# static.cmake — static checks: cppcheck over the sources (tests/static/cppcheck.sh), zero findings.
# Warnings: tools/test.sh builds with -DRRVM_WERROR=ON (gcc and clang), so a warning fails CI.
add_test(NAME static_cppcheck COMMAND ${CMAKE_SOURCE_DIR}/tests/static/cppcheck.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(static_cppcheck PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "static")
