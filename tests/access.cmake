# access.cmake — privileges and trace paths (SECURITY.md): tests/e2e/access.sh (no KVM needed), and the
# sandbox a running record/run is in (tests/e2e/sandbox.sh; what it forbids: unit_sandbox).
add_test(NAME access_no_kvm COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/access.sh ${CMAKE_SOURCE_DIR}/traces/golden/v1.1-synthetic)
set_tests_properties(access_no_kvm PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "e2e"
                     ENVIRONMENT "RRVM=$<TARGET_FILE:rrvm>")
rrvm_e2e(sandbox_confined 120 ${CMAKE_SOURCE_DIR}/tests/e2e/sandbox.sh)
