/* msr.c — the MSR filter: MSRs that leak host time or host state exit to userspace and are answered from guest time. */
#include "core/cpu.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"

/*
 * Every MSR below is denied by KVM_X86_SET_MSR_FILTER (default: allow), so
 * each guest RDMSR/WRMSR of it exits to userspace (KVM_MSR_EXIT_REASON_FILTER).
 * MSRs KVM does not know at all, or refuses as invalid, exit too
 * (KVM_MSR_EXIT_REASON_UNKNOWN / _INVAL) and get #GP. Every answer is a pure
 * function of (this state, guest time, index, value), so the recorder can
 * log it and the replayer can check it.
 *
 *   MSR                         read                          write
 *   0x10 IA32_TSC               TSC(guest time) + offset      offset = value - TSC(now)
 *   0x3b IA32_TSC_ADJUST        offset (the SDM's ADJUST is   offset = value
 *                               the sum of all TSC writes)
 *   0x6e0 IA32_TSC_DEADLINE     #GP (no local APIC)           #GP
 *   0xc0000103 IA32_TSC_AUX     stored value                  stored (low 32 bits)
 *   0xe7 MPERF, 0xe8 APERF      TSC(guest time), no offset:   ignored
 *   (and AMD 0xc00000e7/e8)     a constant-frequency CPU
 *   0xce PLATFORM_INFO          0 (no ratios, no CPUID fault) #GP
 *   0x34 SMI_COUNT              0                             #GP
 *   PMU: 0xc1-0xc8 PMCx,        0: counters that never count  ignored
 *     0x186-0x18f EVTSELx,      (Linux only touches them when
 *     0x309-0x30b FIXED_CTRx,   CPUID 0xA says there is a PMU,
 *     0x345 PERF_CAPABILITIES,  which neither profile does;
 *     0x38d-0x390 FIXED_CTR_CTRL/ zero keeps a careless probe
 *     GLOBAL_*; AMD 0xc0010000-7,  quiet)
 *     0xc0010200-b, 0xc00000e9
 *   0x19c THERM_STATUS,         0 (no valid reading)          ignored
 *     0x1b1 PKG_THERM_STATUS
 *   RAPL 0x606, 0x611, 0x639,   #GP: no RAPL (Linux probes     #GP
 *     0x641                     them with rdmsr_safe)
 *   KVM paravirt 0x11, 0x12,    #GP: the profiles hide the     #GP
 *     0x4b564d00-0x4b564d08     paravirt leaves; these would
 *                               have the host write guest RAM
 *   anything else that exits    #GP                           #GP
 */

enum msr_kind { K_GP = 0, K_TSC, K_TSC_ADJUST, K_TSC_AUX, K_PERF_CLOCK, K_ZERO_RO, K_ZERO_IGNORE };

struct msr_rule {
	uint32_t first, last;
	enum msr_kind kind;
};

static const struct msr_rule rules[] = {
	{ 0x10, 0x10, K_TSC },
	{ 0x11, 0x12, K_GP },                   /* MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME */
	{ 0x34, 0x34, K_ZERO_RO },              /* MSR_SMI_COUNT */
	{ 0x3b, 0x3b, K_TSC_ADJUST },
	{ 0xc1, 0xc8, K_ZERO_IGNORE },          /* IA32_PMC0-7 */
	{ 0xce, 0xce, K_ZERO_RO },              /* MSR_PLATFORM_INFO */
	{ 0xe7, 0xe8, K_PERF_CLOCK },           /* IA32_MPERF, IA32_APERF */
	{ 0x186, 0x18f, K_ZERO_IGNORE },        /* IA32_PERFEVTSEL0-7, ... */
	{ 0x19c, 0x19c, K_ZERO_IGNORE },        /* IA32_THERM_STATUS */
	{ 0x1b1, 0x1b1, K_ZERO_IGNORE },        /* IA32_PACKAGE_THERM_STATUS */
	{ 0x309, 0x30b, K_ZERO_IGNORE },        /* IA32_FIXED_CTR0-2 */
	{ 0x345, 0x345, K_ZERO_RO },            /* IA32_PERF_CAPABILITIES */
	{ 0x38d, 0x390, K_ZERO_IGNORE },        /* FIXED_CTR_CTRL, PERF_GLOBAL_STATUS/CTRL/OVF_CTRL */
	{ 0x606, 0x606, K_GP },                 /* MSR_RAPL_POWER_UNIT */
	{ 0x611, 0x611, K_GP },                 /* MSR_PKG_ENERGY_STATUS */
	{ 0x639, 0x639, K_GP },                 /* MSR_PP0_ENERGY_STATUS */
	{ 0x641, 0x641, K_GP },                 /* MSR_PP1_ENERGY_STATUS */
	{ 0x6e0, 0x6e0, K_GP },                 /* IA32_TSC_DEADLINE */
	{ 0x4b564d00, 0x4b564d08, K_GP },       /* KVM paravirt MSRs */
	{ 0xc0000103, 0xc0000103, K_TSC_AUX },
	{ 0xc00000e7, 0xc00000e8, K_PERF_CLOCK },/* AMD MPERF/APERF read-only aliases */
	{ 0xc00000e9, 0xc00000e9, K_ZERO_RO },  /* AMD IRPerfCount */
	{ 0xc0010000, 0xc0010007, K_ZERO_IGNORE },/* AMD PERF_CTL0-3, PERF_CTR0-3 */
	{ 0xc0010200, 0xc001020b, K_ZERO_IGNORE },/* AMD PERF_CTL/CTR core extension */
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* Filter ranges: each covers a window of MSRs; denied bits come from rules[]. */
struct window {
	uint32_t base, nmsrs;
};

static const struct window windows[] = {
	{ 0x0, 0x400 },                 /* architectural: TSC ... PERF_GLOBAL */
	{ 0x600, 0x100 },               /* RAPL, TSC_DEADLINE */
	{ 0x4b564d00, 0x10 },           /* KVM paravirt */
	{ 0xc0000100, 0x8 },            /* TSC_AUX */
	{ 0xc00000e0, 0x10 },           /* AMD read-only APERF/MPERF/IRPerf */
	{ 0xc0010000, 0x8 },            /* AMD legacy PMU */
	{ 0xc0010200, 0x10 },           /* AMD core PMU */
};

#define NWINDOWS (sizeof(windows) / sizeof(windows[0]))

void cpu__msr_init(struct cpu_msr_state *s)
{
	memset(s, 0, sizeof(*s));
	s->tsc_hz = CPU_TSC_HZ;
}

uint64_t cpu__tsc_at(const struct cpu_msr_state *s, uint64_t now_ns)
{
	uint64_t hz = s->tsc_hz ? s->tsc_hz : CPU_TSC_HZ;
	return (uint64_t)((unsigned __int128)now_ns * hz / 1000000000u);
}

static const struct msr_rule *rule_for(uint32_t index)
{
	for (size_t i = 0; i < NRULES; i++)
		if (index >= rules[i].first && index <= rules[i].last)
			return &rules[i];
	return NULL;
}

int cpu__msr_access(struct cpu_msr_state *s, uint64_t now_ns, uint32_t index, bool is_write, uint64_t *data)
{
	const struct msr_rule *r = rule_for(index);
	enum msr_kind kind = r ? r->kind : K_GP;
	uint64_t tsc = cpu__tsc_at(s, now_ns);
	if (is_write)
		s->wrmsr_count++;
	else
		s->rdmsr_count++;
	switch (kind) {
	case K_TSC:
		if (is_write)
			s->tsc_offset = (int64_t)(*data - tsc);
		else
			*data = tsc + (uint64_t)s->tsc_offset;
		return 0;
	case K_TSC_ADJUST:
		if (is_write)
			s->tsc_offset = (int64_t)*data;
		else
			*data = (uint64_t)s->tsc_offset;
		return 0;
	case K_TSC_AUX:
		if (is_write) {
			if (*data >> 32)
				break;
			s->tsc_aux = *data;
		} else {
			*data = s->tsc_aux;
		}
		return 0;
	case K_PERF_CLOCK:
		if (!is_write)
			*data = tsc;
		return 0;
	case K_ZERO_RO:
		if (is_write)
			break;
		*data = 0;
		return 0;
	case K_ZERO_IGNORE:
		if (!is_write)
			*data = 0;
		return 0;
	case K_GP:
		break;
	}
	s->gp_count++;
	return 1;
}

void cpu__handle_msr(struct vm *vm, struct kvm_run *run)
{
	bool is_write = run->exit_reason == KVM_EXIT_X86_WRMSR;
	uint64_t data = is_write ? run->msr.data : 0;
	int gp = cpu__msr_access(&vm->msr, vm__now_ns(vm), run->msr.index, is_write, &data);
	run->msr.error = gp ? 1 : 0;
	if (!is_write)
		run->msr.data = gp ? 0 : data;
}

int cpu__setup_msr_filter(int vm_fd, struct rrvm_err *err)
{
	int have = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR);
	if (have <= 0)
		return err__set(err, -ENOTSUP, "this KVM has no KVM_CAP_X86_USER_SPACE_MSR: "
				"MSRs that leak host time cannot be trapped");
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0)
		return err__set(err, -ENOTSUP, "this KVM has no KVM_CAP_X86_MSR_FILTER: "
				"MSRs that leak host time cannot be trapped");
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL,
	};
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		/* Older kernels know fewer reasons: drop INVAL, which is optional. */
		cap.args[0] &= ~(uint64_t)KVM_MSR_EXIT_REASON_INVAL;
		if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0)
			return err__set(err, -errno, "KVM_ENABLE_CAP(X86_USER_SPACE_MSR): %s", strerror(errno));
	}

	/* Bitmaps: bit set = allowed (handled by KVM), clear = exits to us. */
	_Static_assert(NWINDOWS <= KVM_MSR_FILTER_MAX_RANGES, "too many MSR filter ranges");
	uint8_t bitmaps[NWINDOWS][0x400 / 8];
	struct kvm_msr_filter filter = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	for (size_t w = 0; w < NWINDOWS; w++) {
		memset(bitmaps[w], 0xff, sizeof(bitmaps[w]));
		for (uint32_t i = 0; i < windows[w].nmsrs; i++)
			if (rule_for(windows[w].base + i))
				bitmaps[w][i / 8] &= (uint8_t)~(1u << (i % 8));
		filter.ranges[w] = (struct kvm_msr_filter_range){
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = windows[w].nmsrs,
			.base = windows[w].base,
			.bitmap = bitmaps[w],
		};
	}
	if (ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		return err__set(err, -errno, "KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
	return 0;
}
