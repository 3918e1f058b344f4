/* cpu.c — CPUID profiles built from KVM_GET_SUPPORTED_CPUID, their printing, and `rrvm cpuid`. */
#include "core/cpu.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

const char *const cpu_profiles[] = { "baseline", "host", NULL };

#define BIT(n) (1u << (n))

/*
 * The baseline profile: an x86-64-v1 machine every x86-64 host's KVM offers,
 * so a trace recorded here replays anywhere. It is an allowlist per register,
 * intersected with what this host's KVM supports (a bit KVM does not offer is
 * never set).
 *
 * Kept in leaf 1 EDX: fpu vme de pse msr pae mce cx8 sep mtrr pge mca cmov
 *   pat pse36 clflush mmx fxsr sse sse2. MTRR is kept: KVM emulates the MTRR
 *   MSRs in-kernel (deterministic), and hiding it changes how Linux sets up
 *   PAT and memory types. MCE/MCA are KVM's in-kernel banks (no host state).
 * Kept in leaf 1 ECX: only the hypervisor bit. It stays set (as QEMU's
 *   kvm=off does): it is the truth, and Linux then looks for a hypervisor
 *   signature in 0x40000000, which this profile does not have, so it uses no
 *   paravirt clock. SSE3/SSSE3 are left out on purpose: the development
 *   host's KVM (HOST.md) offers neither, and the baseline must be the same
 *   table on every host, so it is x86-64-v1 exactly (SSE2).
 * Kept in 0x80000001 EDX: syscall nx lm. Nothing in ECX.
 * Hidden by omission, among others: tsc (the instruction itself is rewritten
 *   by a later issue; its MSR is trapped), apic/x2apic (the platform uses the
 *   8259), tsc-deadline, rdtscp, rdpid, rdrand, rdseed, rtm/hle, monitor,
 *   waitpkg, pdcm and leaf 0xA (PMU), invariant TSC (0x80000007 zeroed), and
 *   everything this development host's ring-0 emulator rejects (HOST.md):
 *   xsave/osxsave and leaf 0xD, avx*, fma, f16c, cx16, popcnt, movbe, pcid,
 *   invpcid, pku, la57, sgx, umip — leaf 7 is not in the table at all.
 * Leaves: 0, 1, 2, 4 (cache descriptors, one core) and 0x80000000-8, so the
 *   max basic leaf is 4 (2 where the host has no leaf 4). Vendor, family,
 *   model, stepping and the brand string come from the host: KVM checks some
 *   behaviour by vendor, and a replay host must accept the same table.
 *   0x80000008 keeps the host's physical address width (a guest cannot be
 *   given more than the host has) with 48 virtual bits (no LA57).
 */
#define BASE_1_EDX (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | \
		    BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | BIT(17) | \
		    BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26))
#define BASE_1_ECX (BIT(31))
#define BASE_E1_EDX (BIT(11) | BIT(20) | BIT(29))

/*
 * The host profile: everything KVM offers minus what breaks determinism.
 * TSC stays visible (IA32_TSC is trapped by the MSR filter; the RDTSC
 * instruction itself is rewritten by a later issue), so does TSC_ADJUST
 * (trapped and answered from the guest clock), and invariant TSC.
 */
#define HOST_1_ECX_HIDE (BIT(3) /* monitor */ | BIT(15) /* pdcm */ | BIT(21) /* x2apic */ | \
			 BIT(24) /* tsc-deadline */ | BIT(27) /* osxsave: set by KVM at run time */ | \
			 BIT(30) /* rdrand */)
#define HOST_1_EDX_HIDE (BIT(9) /* apic */)
#define HOST_7_EBX_HIDE (BIT(4) /* hle */ | BIT(11) /* rtm */ | BIT(12) /* rdt-m */ | \
			 BIT(15) /* rdt-a */ | BIT(18) /* rdseed */)
#define HOST_7_ECX_HIDE (BIT(4) /* ospke: run time */ | BIT(5) /* waitpkg */ | BIT(22) /* rdpid */)
#define HOST_7_EDX_HIDE (BIT(11) /* rtm_always_abort */ | BIT(13) /* tsx_force_abort */ | \
			 BIT(16) /* tsxldtrk */)
#define HOST_E1_ECX_HIDE (BIT(23) | BIT(24) | BIT(28) /* perfctr core/nb/llc */ | BIT(29) /* mwaitx */)
#define HOST_E1_EDX_HIDE (BIT(9) /* apic (AMD mirror) */ | BIT(27) /* rdtscp */)

int cpu__get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct rrvm_err *err)
{
	*out = NULL;
	for (uint32_t n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return err__set(err, -ENOMEM, "out of memory for the CPUID table");
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return err__set(err, -e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
	}
	return err__set(err, -E2BIG, "KVM_GET_SUPPORTED_CPUID: table larger than 4096 entries");
}

const struct kvm_cpuid_entry2 *cpu__find(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

/* A table being built: at most as many entries as KVM supports plus the brand. */
struct table {
	struct kvm_cpuid2 *c;
	uint32_t cap;
};

static struct kvm_cpuid_entry2 *add(struct table *t, const struct kvm_cpuid_entry2 *from)
{
	if (t->c->nent >= t->cap)
		return NULL;
	struct kvm_cpuid_entry2 *e = &t->c->entries[t->c->nent++];
	*e = *from;
	memset(e->padding, 0, sizeof(e->padding));
	return e;
}

/* The brand string: KVM leaves 0x80000002-4 empty; take the host CPU's. */
static void fill_brand(struct kvm_cpuid2 *c)
{
	unsigned a, b, d, x;
	if (__get_cpuid(0x80000000, &a, &b, &x, &d) == 0 || a < 0x80000004)
		return;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function < 0x80000002 || e->function > 0x80000004 || e->eax | e->ebx | e->ecx | e->edx)
			continue;
		__cpuid(e->function, e->eax, e->ebx, e->ecx, e->edx);
	}
}

/* Per-vCPU fields for a one-vCPU machine with APIC id 0. */
static void fix_per_vcpu(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		/* APIC id 0, one logical processor, brand index 0; keep CLFLUSH size. */
		e->ebx = (e->ebx & 0xff00u) | (1u << 16);
		e->edx &= ~BIT(28);     /* HTT */
		break;
	case 4:
		e->eax &= 0x3fffu;      /* one core, cache not shared */
		break;
	case 0xb:
	case 0x1f:
		e->edx = 0;             /* x2APIC id */
		if ((e->ecx & 0xff00u) && e->index == 0)
			e->ebx = 1;     /* one logical processor at the first level */
		break;
	case 0x8000001e:
		e->eax = 0;             /* extended APIC id */
		e->ebx &= ~0xffu;
		break;
	case 0x80000008:
		e->ecx &= ~0xf0ffu;     /* one core */
		break;
	}
}

static int build_baseline(const struct kvm_cpuid2 *sup, struct table *t)
{
	const struct kvm_cpuid_entry2 *e0 = cpu__find(sup, 0, 0), *e1 = cpu__find(sup, 1, 0);
	const struct kvm_cpuid_entry2 *x0 = cpu__find(sup, 0x80000000, 0);
	if (!e0 || !e1 || !x0)
		return -ENOENT;
	struct kvm_cpuid_entry2 *e = add(t, e0);
	uint32_t max_basic = 1;
	if (cpu__find(sup, 2, 0) && e0->eax >= 2)
		max_basic = 2;
	if (cpu__find(sup, 4, 0) && e0->eax >= 4)
		max_basic = 4;
	e->eax = max_basic;

	e = add(t, e1);
	e->ecx &= BASE_1_ECX;
	e->edx &= BASE_1_EDX;
	fix_per_vcpu(e);
	for (uint32_t i = 0; i < sup->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &sup->entries[i];
		if ((s->function == 2 || s->function == 4) && s->function <= max_basic)
			fix_per_vcpu(add(t, s));
	}

	uint32_t max_ext = x0->eax < 0x80000008 ? x0->eax : 0x80000008;
	e = add(t, x0);
	e->eax = max_ext;
	for (uint32_t fn = 0x80000001; fn <= max_ext; fn++) {
		const struct kvm_cpuid_entry2 *s = cpu__find(sup, fn, 0);
		if (!s)
			continue;
		e = add(t, s);
		switch (fn) {
		case 0x80000001:
			e->ebx = 0;
			e->ecx = 0;
			e->edx &= BASE_E1_EDX;
			break;
		case 0x80000002: case 0x80000003: case 0x80000004:
		case 0x80000005: case 0x80000006:
			break;
		case 0x80000008:
			e->eax = (e->eax & 0xffu) | (48u << 8);
			e->ebx = e->ecx = e->edx = 0;
			break;
		default:    /* 0x80000007 (power management, invariant TSC) */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		}
	}
	return 0;
}

static void build_host(const struct kvm_cpuid2 *sup, struct table *t)
{
	for (uint32_t i = 0; i < sup->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &sup->entries[i];
		if (s->function >= 0x40000000 && s->function <= 0x4fffffff)
			continue;       /* KVM paravirt leaves: kvmclock, async PF, steal time, PV EOI */
		struct kvm_cpuid_entry2 *e = add(t, s);
		fix_per_vcpu(e);
		switch (e->function) {
		case 1:
			e->ecx &= ~HOST_1_ECX_HIDE;
			e->edx &= ~HOST_1_EDX_HIDE;
			break;
		case 5:         /* MONITOR/MWAIT */
		case 0xa:       /* architectural PMU */
		case 0x80000022:/* AMD PMU v2 */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 6:
			e->eax &= ~BIT(2);      /* ARAT: there is no local APIC */
			break;
		case 7:
			if (e->index == 0) {
				e->ebx &= ~HOST_7_EBX_HIDE;
				e->ecx &= ~HOST_7_ECX_HIDE;
				e->edx &= ~HOST_7_EDX_HIDE;
			}
			break;
		case 0x80000001:
			e->ecx &= ~HOST_E1_ECX_HIDE;
			e->edx &= ~HOST_E1_EDX_HIDE;
			break;
		}
	}
}

int cpu__build_cpuid(int kvm_fd, const char *profile, struct kvm_cpuid2 **out, struct rrvm_err *err)
{
	*out = NULL;
	if (!profile)
		profile = "baseline";
	bool baseline = !strcmp(profile, "baseline");
	if (!baseline && strcmp(profile, "host"))
		return err__set(err, -EINVAL, "unknown CPU profile '%s' (profiles: baseline, host)", profile);
	struct kvm_cpuid2 *sup;
	int rc = cpu__get_supported(kvm_fd, &sup, err);
	if (rc)
		return rc;
	struct table t = { .cap = sup->nent };
	t.c = calloc(1, sizeof(*t.c) + t.cap * sizeof(t.c->entries[0]));
	if (!t.c) {
		free(sup);
		return err__set(err, -ENOMEM, "out of memory for the CPUID table");
	}
	if (baseline) {
		rc = build_baseline(sup, &t);
		if (rc) {
			free(sup);
			free(t.c);
			return err__set(err, rc, "KVM_GET_SUPPORTED_CPUID lacks leaf 0, 1 or 0x80000000");
		}
	} else {
		build_host(sup, &t);
	}
	free(sup);
	fill_brand(t.c);
	*out = t.c;
	return 0;
}

/* ---- Printing. ---- */

/* Feature names by bit; NULL prints as bitN. */
static const char *const names_1_edx[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", NULL, "sep",
	"mtrr", "pge", "mca", "cmov", "pat", "pse36", "psn", "clflush", NULL, "ds", "acpi", "mmx",
	"fxsr", "sse", "sse2", "ss", "htt", "tm", "ia64", "pbe",
};
static const char *const names_1_ecx[32] = {
	"sse3", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3",
	"cnxt_id", "sdbg", "fma", "cx16", "xtpr", "pdcm", NULL, "pcid", "dca", "sse4_1", "sse4_2",
	"x2apic", "movbe", "popcnt", "tsc_deadline", "aes", "xsave", "osxsave", "avx", "f16c",
	"rdrand", "hypervisor",
};
static const char *const names_7_ebx[32] = {
	"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", "fdp_excptn_only", "smep", "bmi2",
	"erms", "invpcid", "rtm", "rdt_m", "zero_fcs_fds", "mpx", "rdt_a", "avx512f", "avx512dq",
	"rdseed", "adx", "smap", "avx512ifma", "pcommit", "clflushopt", "clwb", "intel_pt",
	"avx512pf", "avx512er", "avx512cd", "sha_ni", "avx512bw", "avx512vl",
};
static const char *const names_7_ecx[32] = {
	"prefetchwt1", "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2", "cet_ss",
	"gfni", "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "tme", "avx512_vpopcntdq",
	NULL, "la57", NULL, NULL, NULL, NULL, NULL, "rdpid", "kl", "bus_lock_detect", "cldemote",
	NULL, "movdiri", "movdir64b", "enqcmd", "sgx_lc", "pks",
};
static const char *const names_7_edx[32] = {
	NULL, "sgx_keys", "avx512_4vnniw", "avx512_4fmaps", "fsrm", "uintr", NULL, NULL,
	"avx512_vp2intersect", "srbds_ctrl", "md_clear", "rtm_always_abort", NULL,
	"tsx_force_abort", "serialize", "hybrid", "tsxldtrk", NULL, "pconfig", "arch_lbr", "ibt",
	NULL, "amx_bf16", "avx512_fp16", "amx_tile", "amx_int8", "spec_ctrl", "stibp", "flush_l1d",
	"arch_capabilities", "core_capabilities", "ssbd",
};
static const char *const names_e1_ecx[32] = {
	"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a", "misalignsse",
	"3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", NULL, "lwp", "fma4", "tce", NULL,
	"nodeid_msr", NULL, "tbm", "topoext", "perfctr_core", "perfctr_nb", NULL, "bpext", "ptsc",
	"perfctr_llc", "mwaitx", NULL, NULL,
};
static const char *const names_e1_edx[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", NULL, "syscall",
	"mtrr", "pge", "mca", "cmov", "pat", "pse36", NULL, "mp", "nx", NULL, "mmxext", "mmx",
	"fxsr", "fxsr_opt", "pdpe1gb", "rdtscp", NULL, "lm", "3dnowext", "3dnow",
};

struct decoded_reg {
	uint32_t function, index;
	int reg;    /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	const char *name;
	const char *const *names;
};

static const struct decoded_reg decoded[] = {
	{ 1, 0, 3, "edx", names_1_edx }, { 1, 0, 2, "ecx", names_1_ecx },
	{ 7, 0, 1, "ebx", names_7_ebx }, { 7, 0, 2, "ecx", names_7_ecx }, { 7, 0, 3, "edx", names_7_edx },
	{ 0x80000001, 0, 3, "edx", names_e1_edx }, { 0x80000001, 0, 2, "ecx", names_e1_ecx },
};

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, int reg)
{
	return reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
}

static void put_flags(FILE *f, uint32_t v, const char *const *names, bool json)
{
	bool first = true;
	for (int b = 0; b < 32; b++) {
		if (!(v & BIT(b)))
			continue;
		const char *sep = json ? (first ? "\"" : ", \"") : " ";
		if (names[b])
			fprintf(f, "%s%s%s", sep, names[b], json ? "\"" : "");
		else
			fprintf(f, "%sbit%d%s", sep, b, json ? "\"" : "");
		first = false;
	}
}

/* Vendor (leaf 0) or brand (0x80000002-4) string, or "" when absent. */
static void cpu_strings(const struct kvm_cpuid2 *c, char vendor[13], char brand[49])
{
	memset(vendor, 0, 13);
	memset(brand, 0, 49);
	const struct kvm_cpuid_entry2 *e = cpu__find(c, 0, 0);
	if (e) {
		memcpy(vendor, &e->ebx, 4);
		memcpy(vendor + 4, &e->edx, 4);
		memcpy(vendor + 8, &e->ecx, 4);
	}
	for (uint32_t i = 0; i < 3; i++) {
		e = cpu__find(c, 0x80000002 + i, 0);
		if (!e)
			break;
		uint32_t r[4] = { e->eax, e->ebx, e->ecx, e->edx };
		memcpy(brand + 16 * i, r, 16);
	}
	char *p = brand;
	while (*p == ' ')
		p++;
	memmove(brand, p, strlen(p) + 1);
	for (char *q = vendor; *q; q++)
		if (*q < 0x20 || *q > 0x7e)
			*q = '?';
	for (char *q = brand; *q; q++)
		if (*q < 0x20 || *q > 0x7e)
			*q = '?';
}

void cpu__print_cpuid(FILE *f, const char *profile, const struct kvm_cpuid2 *c)
{
	char vendor[13], brand[49];
	cpu_strings(c, vendor, brand);
	fprintf(f, "# CPUID profile %s: %u entries, vendor \"%s\", brand \"%s\"\n",
		profile, c->nent, vendor, brand);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		fprintf(f, "leaf 0x%08x.%02x  eax=%08x ebx=%08x ecx=%08x edx=%08x\n",
			e->function, e->index, e->eax, e->ebx, e->ecx, e->edx);
		if (e->function == 0)
			fprintf(f, "    vendor \"%s\", max basic leaf 0x%x\n", vendor, e->eax);
		if (e->function == 0x80000004)
			fprintf(f, "    brand \"%s\"\n", brand);
		for (size_t d = 0; d < sizeof(decoded) / sizeof(decoded[0]); d++) {
			if (decoded[d].function != e->function || decoded[d].index != e->index)
				continue;
			fprintf(f, "    %s:", decoded[d].name);
			if (!reg_of(e, decoded[d].reg))
				fputs(" (none)", f);
			put_flags(f, reg_of(e, decoded[d].reg), decoded[d].names, false);
			fputc('\n', f);
		}
	}
}

static void print_json(FILE *f, const char *profile, const struct kvm_cpuid2 *c)
{
	char vendor[13], brand[49];
	cpu_strings(c, vendor, brand);
	fprintf(f, "{\n  \"profile\": \"%s\",\n  \"vendor\": \"", profile);
	for (const char *p = vendor; *p; p++)
		fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	fprintf(f, "\",\n  \"brand\": \"");
	for (const char *p = brand; *p; p++)
		fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	fprintf(f, "\",\n  \"entries\": [\n");
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		fprintf(f, "    {\"function\": \"0x%08x\", \"index\": %u, \"flags\": %u, \"eax\": \"0x%08x\", "
			"\"ebx\": \"0x%08x\", \"ecx\": \"0x%08x\", \"edx\": \"0x%08x\", \"features\": [",
			e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx);
		bool any = false;
		for (size_t d = 0; d < sizeof(decoded) / sizeof(decoded[0]); d++) {
			uint32_t v = reg_of(e, decoded[d].reg);
			if (decoded[d].function != e->function || decoded[d].index != e->index || !v)
				continue;
			if (any)
				fputs(", ", f);
			put_flags(f, v, decoded[d].names, true);
			any = true;
		}
		fprintf(f, "]}%s\n", i + 1 < c->nent ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

static const char cpuid_help[] =
	"usage: rrvm cpuid [--profile NAME] [--json]\n"
	"\n"
	"Prints the CPUID table rrvm gives the guest for a CPU profile, built from\n"
	"this host's KVM_GET_SUPPORTED_CPUID, one leaf.subleaf a line, with the\n"
	"feature flags of leaves 1, 7 and 0x80000001 decoded.\n"
	"\n"
	"  --profile NAME  baseline (default): x86-64-v1 with SSE2, no TSC, no local\n"
	"                  APIC, no XSAVE/AVX/CX16/POPCNT, no PMU, no RDRAND/RDSEED,\n"
	"                  no paravirt leaves; the same everywhere, so traces are\n"
	"                  portable.\n"
	"                  host: everything this host's KVM offers minus what breaks\n"
	"                  record/replay (TSC-deadline, RDTSCP, RDPID, RDRAND,\n"
	"                  RDSEED, TSX, WAITPKG, PMU, APIC, paravirt leaves).\n"
	"  --json          machine-readable output\n"
	"  --help          this text\n";

int cpu__cmd(int argc, char **argv)
{
	const char *profile = "baseline";
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(cpuid_help, stdout);
			return RRVM_EXIT_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--profile") && i + 1 < argc) {
			profile = argv[++i];
		} else if (!strncmp(a, "--profile=", 10)) {
			profile = a + 10;
		} else {
			fprintf(stderr, "rrvm cpuid: unknown option '%s' (rrvm cpuid --help)\n", a);
			return RRVM_EXIT_USAGE;
		}
	}
	bool known = false;
	for (int i = 0; cpu_profiles[i]; i++)
		known |= !strcmp(profile, cpu_profiles[i]);
	if (!known) {
		fprintf(stderr, "rrvm cpuid: unknown profile '%s' (profiles: baseline, host)\n", profile);
		return RRVM_EXIT_USAGE;
	}
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "rrvm cpuid: cannot open /dev/kvm: %s\n", strerror(errno));
		return RRVM_EXIT_ERROR;
	}
	struct rrvm_err err = { { 0 } };
	struct kvm_cpuid2 *c;
	int rc = cpu__build_cpuid(kvm, profile, &c, &err);
	close(kvm);
	if (rc) {
		fprintf(stderr, "rrvm cpuid: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (json)
		print_json(stdout, profile, c);
	else
		cpu__print_cpuid(stdout, profile, c);
	free(c);
	return RRVM_EXIT_OK;
}
