# doctor.cmake — `rrvm doctor` on the development host must reproduce HOST.md's table (skipped elsewhere).
add_test(NAME doctor_matches_host
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/doctor_matches_host.sh $<TARGET_FILE:rrvm>)
set_tests_properties(doctor_matches_host PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "host"
                     ENVIRONMENT "XDG_CACHE_HOME=${CMAKE_BINARY_DIR}/test-cache")
add_test(NAME doctor_cache_and_usage
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/doctor_matches_host.sh --cache-and-usage $<TARGET_FILE:rrvm>)
set_tests_properties(doctor_cache_and_usage PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "host"
                     ENVIRONMENT "XDG_CACHE_HOME=${CMAKE_BINARY_DIR}/test-cache-usage")
add_test(NAME doctor_guards
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/doctor_matches_host.sh --guards $<TARGET_FILE:rrvm>)
set_tests_properties(doctor_guards PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "host"
                     ENVIRONMENT "XDG_CACHE_HOME=${CMAKE_BINARY_DIR}/test-cache-guards")
