# run.cmake — `rrvm run` end to end: every test-kernel scenario, clock determinism, the race, hostile inputs.
set(E2E ${CMAKE_SOURCE_DIR}/tests/e2e)
set(E2E_ENV "RRVM=$<TARGET_FILE:rrvm>;TESTKERNEL=${CMAKE_BINARY_DIR}/tests/guests/testkernel.elf")

function(rrvm_e2e name timeout)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout} SKIP_RETURN_CODE 77
                       ENVIRONMENT "${E2E_ENV}" LABELS "e2e")
endfunction()

rrvm_e2e(run_hello 60 ${E2E}/scenario.sh hello 0 "RRVM-TEST hello: ok" "powered off")
rrvm_e2e(run_timer 120 ${E2E}/scenario.sh timer 0 "RRVM-TEST timer: ok")
rrvm_e2e(run_tasks 120 ${E2E}/scenario.sh tasks 0 "RRVM-TEST tasks: ok")
rrvm_e2e(run_crash 60 ${E2E}/scenario.sh crash 3 "KERNEL PANIC: page fault" "guest panic")
rrvm_e2e(run_memstress 120 ${E2E}/scenario.sh "memstress mb=64" 0 "RRVM-TEST memstress: ok")
rrvm_e2e(run_timer_virtual 120 ${E2E}/scenario.sh timer 0 "RRVM-TEST timer: ok" -- --clock=virtual)
rrvm_e2e(run_timer_virtual_identical 300 ${E2E}/virtual_determinism.sh timer 5)
rrvm_e2e(run_race_both_outcomes 900 ${E2E}/race_outcomes.sh 20)
set_tests_properties(run_race_both_outcomes PROPERTIES RUN_SERIAL TRUE)
rrvm_e2e(run_hostile_inputs 120 ${E2E}/hostile_inputs.sh)
rrvm_e2e(run_badinsn 60 ${E2E}/badinsn.sh)
