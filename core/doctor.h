/* doctor.h — what this host's KVM can do, measured with tiny probe VMs, and what rrvm does about it. */
#ifndef RRVM_DOCTOR_H
#define RRVM_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

/* Outcome of one probe. The names (doctor__outcome_name) are stable: they
 * appear in `rrvm doctor --json` and in the on-disk cache. */
enum doctor_outcome {
	DOC_NOT_RUN = 0,
	DOC_OK,            /* works (instruction completed; feature functional) */
	DOC_REJECTED,      /* KVM_EXIT_INTERNAL_ERROR: this host's emulator refuses it */
	DOC_FAULT,         /* the guest took an exception instead (vector in the result) */
	DOC_NO_EXIT,       /* debug feature: no KVM_EXIT_DEBUG arrived, the guest ran on */
	DOC_INEXACT,       /* debug feature: exits arrived but not exactly as expected */
	DOC_UNAVAILABLE,   /* capability absent / ioctl refused */
	DOC_TIMEOUT,       /* the probe did not finish in its time budget */
	DOC_ERROR,         /* the probe itself failed (ioctl error, crash) */
	DOC_OUTCOME_COUNT
};

/* Instructions probed in CPL0 and CPL3. */
enum doctor_insn {
	DOC_INSN_XSAVE, DOC_INSN_XRSTOR, DOC_INSN_XSAVEOPT, DOC_INSN_XSAVEC, DOC_INSN_XSAVES,
	DOC_INSN_XGETBV, DOC_INSN_CMPXCHG16B, DOC_INSN_AVX, DOC_INSN_POPCNT, DOC_INSN_INT3,
	DOC_INSN_FXSAVE, DOC_INSN_FXRSTOR, DOC_INSN_SSE, DOC_INSN_SSE_ARITH, DOC_INSN_CMPXCHG8B, DOC_INSN_RDTSC,
	DOC_INSN_RDRAND, DOC_INSN_CPUID, DOC_INSN_REP_MOVSB, DOC_INSN_WRMSR,
	DOC_INSN_COUNT
};

/* One probe result: an outcome plus the numbers that go with it. */
struct doctor_result {
	enum doctor_outcome outcome;
	uint8_t vector;         /* DOC_FAULT: the exception vector the guest took */
	uint64_t count;         /* debug probes: exits / hits seen */
	uint64_t expected;      /* debug probes: exits / hits expected */
	double us;              /* a cost in µs where the probe measures one */
};

/* Everything `rrvm doctor` learns. Filled by doctor__probe. */
struct host_caps {
	/* Identity (also the disk-cache key). */
	char kernel_release[65];
	char cpu_model[128];
	bool pvm_host;              /* kvm_pvm module present (HOST.md's development host) */
	bool from_cache;            /* loaded from $XDG_CACHE_HOME/rrvm */
	double probe_s;             /* wall time the probes took */

	/* Basic KVM. */
	int kvm_api;                /* KVM_GET_API_VERSION, -errno when /dev/kvm is unusable */
	char kvm_error[128];

	/* Guest execution speed (ns per loop iteration) and the verdict. */
	struct doctor_result loop_cpl0, loop_cpl3;
	bool ring0_emulated;        /* CPL0 > 20x slower than CPL3 */

	struct doctor_result insn[2][DOC_INSN_COUNT];   /* [cpl0, cpl3] */

	/* Exit costs, µs per round trip to userspace. */
	struct doctor_result pio_cpl0, pio_cpl3, mmio_cpl0, mmio_cpl3;

	/* Debugging: [0] = CPL0, [1] = CPL3. */
	struct doctor_result singlestep[2], hw_bp[2], sw_bp[2], hlt_cpl0;

	/* Interrupting and observing the guest. */
	struct doctor_result kick[2];       /* signal to the vCPU thread during a CPL0/CPL3 loop */
	struct doctor_result immediate_exit, dirty_log, dirty_ring, user_msr;
	bool dirty_ring_acq_rel;
	uint32_t dirty_ring_max_bytes;

	/* Time and counters. */
	bool tsc_control;                   /* KVM_CAP_TSC_CONTROL or KVM_CAP_VM_TSC_CONTROL */
	bool pmu_perf;                      /* perf_event_open(PERF_COUNT_HW_INSTRUCTIONS) works here */
	uint8_t pmu_cpuid_version;          /* KVM_GET_SUPPORTED_CPUID leaf 0xA EAX[7:0] */
};

/* What rrvm does on this host, derived from host_caps. */
enum doctor_bp_method {
	DOC_BP_HW = 0,          /* KVM_GUESTDBG_USE_HW_BP */
	DOC_BP_HLT_PATCH,       /* a one-byte HLT patched over the instruction (ring 0 only) */
	DOC_BP_NONE,            /* cannot stop there: landmarks defer to the next exit */
};
enum doctor_bp_method doctor__bp_method(const struct host_caps *c, int cpl3);
/* True when guest ring-0 code runs at native speed (Linux can boot directly). */
bool doctor__ring0_native(const struct host_caps *c);

/* Runs (or loads from the per-process / on-disk cache) every probe. Each
 * probe runs in a child process with a time limit, so a misbehaving KVM
 * cannot crash or hang the caller; a probe that overran reads DOC_TIMEOUT.
 * `fresh` ignores both caches. Returns 0 (individual probe failures are
 * results, not errors) or -errno when nothing could be probed at all. */
int doctor__probe_ex(struct host_caps *caps, bool fresh, struct rrvm_err *err);
/* doctor__probe_ex(caps, false, err). */
int doctor__probe(struct host_caps *caps, struct rrvm_err *err);

/* Stable names for outcomes and instructions. */
const char *doctor__outcome_name(enum doctor_outcome o);
const char *doctor__insn_name(enum doctor_insn i);

/* Human table (HOST.md's rows for this host) plus "what rrvm will do". */
void doctor__print(FILE *f, const struct host_caps *c);
/* Machine-readable form of the same. */
void doctor__print_json(FILE *f, const struct host_caps *c);

/* `rrvm doctor [--json] [--fresh]`. */
int doctor__cmd(int argc, char **argv);

#endif
