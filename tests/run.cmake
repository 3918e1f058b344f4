# run.cmake — `rrvm run` end to end: every test-kernel scenario, clock determinism, the race, hostile inputs.
rrvm_e2e(run_hello 60 ${E2E}/scenario.sh hello 0 "RRVM-TEST hello: ok" "powered off")
rrvm_e2e(run_timer 120 ${E2E}/scenario.sh timer 0 "RRVM-TEST timer: ok")
rrvm_e2e(run_tasks 120 ${E2E}/scenario.sh tasks 0 "RRVM-TEST tasks: ok")
rrvm_e2e(run_crash 60 ${E2E}/scenario.sh crash 3 "KERNEL PANIC: page fault" "guest panic")
# Timer ticks keep coming while nearly every exit is an RDMSR answered with #GP (issue 3's lane hang).
rrvm_e2e(run_msrgp 120 ${E2E}/scenario.sh msrgp 0 "RRVM-TEST msrgp: ok")
rrvm_e2e(run_memstress 120 ${E2E}/scenario.sh "memstress mb=64" 0 "RRVM-TEST memstress: ok")
rrvm_e2e(run_timer_virtual 120 ${E2E}/scenario.sh timer 0 "RRVM-TEST timer: ok" -- --clock=virtual)
rrvm_e2e(run_timer_virtual_identical 300 ${E2E}/virtual_determinism.sh timer 5)
rrvm_e2e(run_race_both_outcomes 900 ${E2E}/race_outcomes.sh 20)
set_tests_properties(run_race_both_outcomes PROPERTIES RUN_SERIAL TRUE)
rrvm_e2e(run_hostile_inputs 120 ${E2E}/hostile_inputs.sh)
rrvm_e2e(run_badinsn 60 ${E2E}/badinsn.sh)
