/* doctor_int.h — between doctor.c (harness, reports, cache) and doctor_probe.c (the probe VMs). */
#ifndef RRVM_DOCTOR_INT_H
#define RRVM_DOCTOR_INT_H

#include <stdbool.h>

#include "core/doctor.h"

/* Per-process probe environment: the /dev/kvm fd, the watchdog timer (a
 * signal to this thread, unblocked only inside KVM_RUN) and the CPUID table
 * probe VMs use (all KVM supports). Create in the process that runs probes. */
struct penv;
int doctor__penv_init(struct penv **out, int kvm_fd);
void doctor__penv_fini(struct penv *env);

/* Each probe creates its own VM, runs it under the watchdog, destroys it,
 * and fills *r (outcome, and the numbers noted in doctor.h). */
void doctor__probe_loop(struct penv *env, int cpl, struct doctor_result *r);   /* r->us: µs per iteration */
void doctor__probe_exit(struct penv *env, int cpl, bool mmio, struct doctor_result *r);   /* r->us: median µs */
void doctor__probe_insn(struct penv *env, enum doctor_insn insn, int cpl, struct doctor_result *r);
/* kind: 0 single-step, 1 hardware breakpoint, 2 int3 intercept, 3 HLT exit. */
void doctor__probe_debug(struct penv *env, int kind, int cpl, struct doctor_result *r);
void doctor__probe_kick(struct penv *env, int cpl, struct doctor_result *r);
void doctor__probe_immediate_exit(struct penv *env, struct doctor_result *r);
void doctor__probe_dirty_log(struct penv *env, struct doctor_result *r);
void doctor__probe_dirty_ring(struct penv *env, bool acq_rel, struct doctor_result *r);
void doctor__probe_user_msr(struct penv *env, struct doctor_result *r);

#endif
