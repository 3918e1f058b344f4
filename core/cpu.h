/* cpu.h — the CPU model: CPUID profiles, the MSR filter, and MSRs answered from the guest clock. */
#ifndef RRVM_CPU_H
#define RRVM_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kvm.h>

#include "core/err.h"

struct vm;

/* MSR state the monitor owns because it must not leak host time. */
struct cpu_msr_state {
	int64_t tsc_offset;     /* guest TSC = clock-derived TSC + offset */
	uint64_t tsc_aux;
	uint64_t tsc_hz;        /* nominal guest TSC frequency */
	/* Trapped accesses answered so far (cpu__handle_msr). */
	uint64_t rdmsr_count, wrmsr_count, gp_count;
};

/* Nominal guest TSC frequency: the guest TSC counts guest time at this rate. */
#define CPU_TSC_HZ 2000000000ull

/* Names of the profiles, NULL-terminated. */
extern const char *const cpu_profiles[];

/* Builds the CPUID table for `profile` ("baseline" or "host") from
 * KVM_GET_SUPPORTED_CPUID on kvm_fd. *out is malloc'd; caller frees. */
int cpu__build_cpuid(int kvm_fd, const char *profile, struct kvm_cpuid2 **out, struct rrvm_err *err);

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table (grown until it fits). */
int cpu__get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct rrvm_err *err);

/* The entry for (function, index) or NULL. `index` is ignored for leaves
 * without KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
const struct kvm_cpuid_entry2 *cpu__find(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index);

/* Prints a CPUID table, one leaf/subleaf a line, with decoded feature names. */
void cpu__print_cpuid(FILE *f, const char *profile, const struct kvm_cpuid2 *cpuid);

/* Enables KVM_CAP_X86_USER_SPACE_MSR and installs KVM_X86_SET_MSR_FILTER so
 * that MSRs leaking host time exit to userspace. Call after KVM_CREATE_VM,
 * before the vCPU runs. */
int cpu__setup_msr_filter(int vm_fd, struct rrvm_err *err);

/* Initial MSR state (before first run). */
void cpu__msr_init(struct cpu_msr_state *s);

/* Answers a KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR exit in vm->run from the
 * guest clock (sets run->msr.data / run->msr.error). */
void cpu__handle_msr(struct vm *vm, struct kvm_run *run);

/* The pure core of cpu__handle_msr: answers one access at guest time now_ns.
 * For a read *data is the result; for a write it is the value written.
 * Returns 0, or 1 when the guest must get #GP. */
int cpu__msr_access(struct cpu_msr_state *s, uint64_t now_ns, uint32_t index, bool is_write, uint64_t *data);

/* Guest TSC at guest time now_ns (exact 128-bit arithmetic), before the offset. */
uint64_t cpu__tsc_at(const struct cpu_msr_state *s, uint64_t now_ns);

/* `rrvm cpuid` subcommand. */
int cpu__cmd(int argc, char **argv);

#endif
