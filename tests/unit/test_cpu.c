/* test_cpu.c — CPUID profiles against this host's KVM, the MSR answers, and `rrvm cpuid`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "core/cpu.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define BIT(n) (1u << (n))

static uint32_t reg(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, int r)
{
	const struct kvm_cpuid_entry2 *e = cpu__find(c, fn, idx);
	if (!e)
		return 0;
	return r == 0 ? e->eax : r == 1 ? e->ebx : r == 2 ? e->ecx : e->edx;
}

/* Feature registers: every bit a profile sets must be offered by KVM. */
static const struct {
	uint32_t fn, idx;
	int r;
} feature_regs[] = {
	{ 1, 0, 2 }, { 1, 0, 3 }, { 6, 0, 0 }, { 6, 0, 2 }, { 7, 0, 1 }, { 7, 0, 2 }, { 7, 0, 3 },
	{ 7, 1, 0 }, { 0xd, 0, 0 }, { 0xd, 1, 0 }, { 0x80000001, 0, 2 }, { 0x80000001, 0, 3 },
	{ 0x80000007, 0, 3 }, { 0x80000008, 0, 1 },
};

static void check_subset(const char *profile, const struct kvm_cpuid2 *c, const struct kvm_cpuid2 *sup)
{
	for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++) {
		uint32_t mine = reg(c, feature_regs[i].fn, feature_regs[i].idx, feature_regs[i].r);
		uint32_t kvm = reg(sup, feature_regs[i].fn, feature_regs[i].idx, feature_regs[i].r);
		CHECK((mine & ~kvm) == 0, "%s: leaf 0x%x.%u reg %d sets %08x that KVM does not support", profile,
		      feature_regs[i].fn, feature_regs[i].idx, feature_regs[i].r, mine & ~kvm);
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		uint32_t fn = c->entries[i].function;
		CHECK(fn < 0x40000000 || fn > 0x4fffffff, "%s: paravirt leaf 0x%x present", profile, fn);
	}
	CHECK(reg(c, 0xa, 0, 0) == 0 && reg(c, 0xa, 0, 1) == 0 && reg(c, 0xa, 0, 3) == 0, "%s: leaf 0xA not zero", profile);
	/* Common hides. */
	CHECK(!(reg(c, 1, 0, 3) & BIT(9)), "%s: APIC visible", profile);
	CHECK(!(reg(c, 1, 0, 2) & (BIT(21) | BIT(24) | BIT(30) | BIT(15) | BIT(3))),
	      "%s: x2apic/tsc-deadline/rdrand/pdcm/monitor visible (ecx %08x)", profile, reg(c, 1, 0, 2));
	CHECK(!(reg(c, 7, 0, 1) & (BIT(4) | BIT(11) | BIT(18))), "%s: hle/rtm/rdseed visible", profile);
	CHECK(!(reg(c, 7, 0, 2) & (BIT(5) | BIT(22))), "%s: waitpkg/rdpid visible", profile);
	CHECK(!(reg(c, 0x80000001, 0, 3) & BIT(27)), "%s: rdtscp visible", profile);
	CHECK((reg(c, 1, 0, 1) >> 24) == 0, "%s: APIC id not 0", profile);
	CHECK(reg(c, 0xb, 0, 3) == 0, "%s: x2APIC id not 0", profile);
}

static void check_baseline(const struct kvm_cpuid2 *c)
{
	uint32_t ecx = reg(c, 1, 0, 2), edx = reg(c, 1, 0, 3);
	CHECK(!(edx & BIT(4)), "baseline: TSC visible");
	CHECK(!(ecx & (BIT(26) | BIT(27) | BIT(28) | BIT(12) | BIT(29))), "baseline: xsave/osxsave/avx/fma/f16c (ecx %08x)", ecx);
	CHECK(!(ecx & (BIT(23) | BIT(13) | BIT(22) | BIT(17))), "baseline: popcnt/cx16/movbe/pcid (ecx %08x)", ecx);
	CHECK(ecx & BIT(31), "baseline: hypervisor bit should stay set");
	CHECK((edx & (BIT(0) | BIT(8) | BIT(15) | BIT(24) | BIT(25) | BIT(26))) ==
	      (BIT(0) | BIT(8) | BIT(15) | BIT(24) | BIT(25) | BIT(26)), "baseline: lacks fpu/cx8/cmov/fxsr/sse/sse2 (edx %08x)", edx);
	uint32_t e1 = reg(c, 0x80000001, 0, 3);
	CHECK((e1 & (BIT(11) | BIT(20) | BIT(29))) == (BIT(11) | BIT(20) | BIT(29)), "baseline: lacks syscall/nx/lm");
	CHECK(!cpu__find(c, 7, 0), "baseline: leaf 7 present");
	CHECK(!cpu__find(c, 0xd, 0), "baseline: leaf 0xD present");
	CHECK(!cpu__find(c, 0xa, 0), "baseline: leaf 0xA present");
	CHECK(!(reg(c, 0x80000007, 0, 3) & BIT(8)), "baseline: invariant TSC visible");
	uint32_t max = reg(c, 0, 0, 0);
	CHECK(max >= 1 && max <= 4, "baseline: max basic leaf %u", max);
	for (uint32_t i = 0; i < c->nent; i++) {
		uint32_t fn = c->entries[i].function;
		CHECK(fn >= 0x80000000 || fn <= max, "baseline: leaf 0x%x beyond max basic leaf 0x%x", fn, max);
		CHECK(fn < 0x80000000 || fn <= reg(c, 0x80000000, 0, 0), "baseline: leaf 0x%x beyond max ext", fn);
	}
	CHECK(((reg(c, 0x80000008, 0, 0) >> 8) & 0xff) == 48, "baseline: virtual address bits not 48");
}

static void check_host(const struct kvm_cpuid2 *c, const struct kvm_cpuid2 *sup)
{
	/* The host profile keeps what is harmless: e.g. leaf 1 EDX minus APIC. */
	CHECK(reg(c, 1, 0, 3) == (reg(sup, 1, 0, 3) & ~BIT(9) & ~BIT(28)), "host: leaf 1 edx %08x vs KVM %08x",
	      reg(c, 1, 0, 3), reg(sup, 1, 0, 3));
	CHECK(reg(c, 1, 0, 3) & BIT(4), "host: TSC should stay visible");
}

/* Applies a table to a real vCPU. */
static void check_applies(int kvm, const char *profile, const struct kvm_cpuid2 *c)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK(vm >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	if (vm < 0)
		return;
	struct rrvm_err err = { { 0 } };
	int rc = cpu__setup_msr_filter(vm, &err);
	CHECK(rc == 0, "cpu__setup_msr_filter: %s", err.msg);
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	if (vcpu >= 0) {
		CHECK(ioctl(vcpu, KVM_SET_CPUID2, c) == 0, "%s: KVM_SET_CPUID2: %s", profile, strerror(errno));
		close(vcpu);
	}
	close(vm);
}

static void check_msrs(void)
{
	struct cpu_msr_state s;
	cpu__msr_init(&s);
	CHECK(s.tsc_hz == CPU_TSC_HZ, "tsc_hz");
	uint64_t v = 0;
	CHECK(cpu__msr_access(&s, 1000000000ull, 0x10, false, &v) == 0 && v == 2000000000ull, "TSC at 1 s: %llu",
	      (unsigned long long)v);
	/* Exact beyond 64-bit intermediate products: 10^18 + 7 ns at 2 GHz. */
	CHECK(cpu__tsc_at(&s, 1000000000000000007ull) == 2000000000000000014ull, "128-bit TSC math");
	s.tsc_hz = 3000000001ull;
	CHECK(cpu__tsc_at(&s, 999999999999ull) == (uint64_t)((unsigned __int128)999999999999ull * 3000000001ull / 1000000000u),
	      "odd frequency");
	s.tsc_hz = CPU_TSC_HZ;
	v = 5;
	CHECK(cpu__msr_access(&s, 1000000000ull, 0x10, true, &v) == 0, "TSC write");
	CHECK(cpu__msr_access(&s, 2000000000ull, 0x10, false, &v) == 0 && v == 5 + 2000000000ull, "TSC after write: %llu",
	      (unsigned long long)v);
	CHECK(cpu__msr_access(&s, 0, 0x3b, false, &v) == 0 && v == (uint64_t)(5 - 2000000000ll), "TSC_ADJUST = offset");
	v = 0;
	CHECK(cpu__msr_access(&s, 0, 0x3b, true, &v) == 0 && s.tsc_offset == 0, "TSC_ADJUST write");
	v = 42;
	CHECK(cpu__msr_access(&s, 0, 0xc0000103, true, &v) == 0, "TSC_AUX write");
	v = 0;
	CHECK(cpu__msr_access(&s, 0, 0xc0000103, false, &v) == 0 && v == 42, "TSC_AUX read");
	v = 1ull << 32;
	CHECK(cpu__msr_access(&s, 0, 0xc0000103, true, &v) == 1, "TSC_AUX reserved bits #GP");
	CHECK(cpu__msr_access(&s, 500, 0xe8, false, &v) == 0 && v == 1000, "APERF from guest time");
	CHECK(cpu__msr_access(&s, 500, 0xe7, false, &v) == 0 && v == 1000, "MPERF from guest time");
	CHECK(cpu__msr_access(&s, 0, 0xc1, false, &v) == 0 && v == 0, "PMC0 reads 0");
	CHECK(cpu__msr_access(&s, 0, 0x38f, true, &v) == 0, "PERF_GLOBAL_CTRL write ignored");
	CHECK(cpu__msr_access(&s, 0, 0xce, false, &v) == 0 && v == 0, "PLATFORM_INFO 0");
	CHECK(cpu__msr_access(&s, 0, 0x6e0, false, &v) == 1, "TSC_DEADLINE #GP");
	CHECK(cpu__msr_access(&s, 0, 0x4b564d01, false, &v) == 1, "KVM PV MSR #GP");
	CHECK(cpu__msr_access(&s, 0, 0x12, true, &v) == 1, "KVM system time #GP");
	CHECK(cpu__msr_access(&s, 0, 0x606, false, &v) == 1, "RAPL #GP");
	CHECK(cpu__msr_access(&s, 0, 0x12345678, false, &v) == 1, "unknown MSR #GP");
	CHECK(s.gp_count == 6, "gp_count %llu", (unsigned long long)s.gp_count);
	CHECK(s.rdmsr_count + s.wrmsr_count == 18, "access counts %llu", (unsigned long long)(s.rdmsr_count + s.wrmsr_count));
}

/* `rrvm cpuid`: output shape, and the usage error for an unknown profile. */
static void check_cmd(const char *rrvm)
{
	char cmd[1024], line[1024];
	snprintf(cmd, sizeof(cmd), "%s cpuid --profile baseline", rrvm);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL, "popen");
	if (!p)
		return;
	bool leaf1 = false, edx = false, vendor = false, brand = false;
	while (fgets(line, sizeof(line), p)) {
		leaf1 |= !strncmp(line, "leaf 0x00000001.00  eax=", 24);
		if (!strncmp(line, "    edx: fpu", 12)) {
			edx = true;
			CHECK(!strstr(line, " tsc ") && !strstr(line, " apic"), "baseline prints tsc/apic: %s", line);
		}
		vendor |= !strncmp(line, "    vendor \"", 12);
		brand |= !strncmp(line, "    brand \"", 11);
		CHECK(strncmp(line, "leaf 0x4000", 11), "paravirt leaf printed: %s", line);
		CHECK(!strstr(line, "xsave") && !strstr(line, "popcnt") && !strstr(line, "cx16"), "hidden flag printed: %s", line);
	}
	int st = pclose(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "rrvm cpuid exit status %d", st);
	CHECK(leaf1 && edx && vendor && brand, "rrvm cpuid output lacks leaf 1 / edx flags / vendor / brand");

	snprintf(cmd, sizeof(cmd), "%s cpuid --profile nope 2>&1", rrvm);
	p = popen(cmd, "r");
	bool listed = false;
	while (p && fgets(line, sizeof(line), p))
		listed |= strstr(line, "baseline") && strstr(line, "host") && strstr(line, "nope");
	st = p ? pclose(p) : -1;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "unknown profile exit status %d", st);
	CHECK(listed, "unknown profile message should list the profiles");

	snprintf(cmd, sizeof(cmd), "%s cpuid --profile host --json", rrvm);
	p = popen(cmd, "r");
	bool json = p && fgets(line, sizeof(line), p) && line[0] == '{';
	while (p && fgets(line, sizeof(line), p))
		;
	st = p ? pclose(p) : -1;
	CHECK(json && WIFEXITED(st) && WEXITSTATUS(st) == 0, "rrvm cpuid --json");
}

int main(int argc, char **argv)
{
	check_msrs();
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIPPED: /dev/kvm: %s (MSR checks: %d failures)\n", strerror(errno), failures);
		return failures ? 1 : 77;
	}
	struct rrvm_err err = { { 0 } };
	struct kvm_cpuid2 *sup, *base, *host, *bad = NULL;
	CHECK(cpu__get_supported(kvm, &sup, &err) == 0, "%s", err.msg);
	CHECK(cpu__build_cpuid(kvm, "baseline", &base, &err) == 0, "%s", err.msg);
	CHECK(cpu__build_cpuid(kvm, NULL, &host, &err) == 0, "default profile: %s", err.msg);
	free(host);
	CHECK(cpu__build_cpuid(kvm, "host", &host, &err) == 0, "%s", err.msg);
	CHECK(cpu__build_cpuid(kvm, "bogus", &bad, &err) == -EINVAL && !bad, "unknown profile accepted");
	check_subset("baseline", base, sup);
	check_subset("host", host, sup);
	check_baseline(base);
	check_host(host, sup);
	check_applies(kvm, "baseline", base);
	check_applies(kvm, "host", host);

	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cpu__print_cpuid(m, "baseline", base);
	fclose(m);
	CHECK(strstr(buf, "leaf 0x00000000.00  eax=0000000") != NULL, "print: leaf 0 line");
	CHECK(strstr(buf, "    ecx: sse3") || strstr(buf, "    ecx: hypervisor") || strstr(buf, "    ecx: ssse3"),
	      "print: decoded leaf 1 ecx");
	free(buf);
	free(sup);
	free(base);
	free(host);
	close(kvm);

	if (argc > 1)
		check_cmd(argv[1]);
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("test_cpu: ok\n");
	return 0;
}
