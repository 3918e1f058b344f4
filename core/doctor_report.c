/* doctor_report.c — the forms host_caps takes: the human table, JSON, the on-disk cache; and what rrvm will do. */
#include "core/doctor.h"
#include "core/doctor_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "core/vm.h"

#define CACHE_MAGIC "rrvm-doctor-cache 1"

/* ---- Field table: drives JSON, the disk cache and its loader. ---- */

enum ftype { F_RESULT, F_BOOL, F_INT, F_U8, F_U32 };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
};

#define R(n, m) { n, F_RESULT, offsetof(struct host_caps, m) }
static const struct field fields[] = {
	{ "pvm_host", F_BOOL, offsetof(struct host_caps, pvm_host) },
	{ "kvm_api", F_INT, offsetof(struct host_caps, kvm_api) },
	{ "ring0_emulated", F_BOOL, offsetof(struct host_caps, ring0_emulated) },
	{ "dirty_ring_acq_rel", F_BOOL, offsetof(struct host_caps, dirty_ring_acq_rel) },
	{ "dirty_ring_max_bytes", F_U32, offsetof(struct host_caps, dirty_ring_max_bytes) },
	{ "tsc_control", F_BOOL, offsetof(struct host_caps, tsc_control) },
	{ "pmu_perf", F_BOOL, offsetof(struct host_caps, pmu_perf) },
	{ "pmu_cpuid_version", F_U8, offsetof(struct host_caps, pmu_cpuid_version) },
	R("loop_cpl0", loop_cpl0), R("loop_cpl3", loop_cpl3),
	R("pio_cpl0", pio_cpl0), R("pio_cpl3", pio_cpl3), R("mmio_cpl0", mmio_cpl0), R("mmio_cpl3", mmio_cpl3),
	R("singlestep_cpl0", singlestep[0]), R("singlestep_cpl3", singlestep[1]),
	R("hw_bp_cpl0", hw_bp[0]), R("hw_bp_cpl3", hw_bp[1]),
	R("sw_bp_cpl0", sw_bp[0]), R("sw_bp_cpl3", sw_bp[1]), R("hlt_cpl0", hlt_cpl0),
	R("kick_cpl0", kick[0]), R("kick_cpl3", kick[1]),
	R("immediate_exit", immediate_exit), R("dirty_log", dirty_log), R("dirty_ring", dirty_ring),
	R("user_msr", user_msr),
};
#undef R
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Instruction results are fields too: "insn_cpl0_xsave" ... */
static struct doctor_result *insn_field(struct host_caps *c, const char *name)
{
	for (int cpl = 0; cpl < 2; cpl++)
		for (int i = 0; i < DOC_INSN_COUNT; i++) {
			char n[64];
			snprintf(n, sizeof(n), "insn_cpl%d_%s", cpl ? 3 : 0, doctor__insn_name((enum doctor_insn)i));
			if (!strcmp(n, name))
				return &c->insn[cpl][i];
		}
	return NULL;
}

/* ---- Derived decisions. ---- */

bool doctor__ring0_native(const struct host_caps *c)
{
	return c->loop_cpl0.outcome == DOC_OK && !c->ring0_emulated;
}

enum doctor_bp_method doctor__bp_method(const struct host_caps *c, int cpl3)
{
	if (c->hw_bp[cpl3 ? 1 : 0].outcome == DOC_OK)
		return DOC_BP_HW;
	if (!cpl3 && c->hlt_cpl0.outcome == DOC_OK)
		return DOC_BP_HLT_PATCH;
	return DOC_BP_NONE;
}

static const char *bp_method_name(enum doctor_bp_method m)
{
	return m == DOC_BP_HW ? "hw_bp" : m == DOC_BP_HLT_PATCH ? "hlt_patch" : "none";
}

static const char *snapshot_method(const struct host_caps *c)
{
	if (c->dirty_ring.outcome == DOC_OK)
		return "dirty_ring";
	if (c->dirty_log.outcome == DOC_OK)
		return "dirty_log";
	return "full_compare";
}

/* ---- Disk cache: $XDG_CACHE_HOME/rrvm/doctor (or ~/.cache/rrvm/doctor). ---- */

static int cache_path(char *buf, size_t len, bool mkdirs)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[512];
	if (x && *x)
		snprintf(dir, sizeof(dir), "%s/rrvm", x);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.cache/rrvm", home);
	else
		return -ENOENT;
	if (mkdirs) {
		char parent[512];
		snprintf(parent, sizeof(parent), "%s", dir);
		*strrchr(parent, '/') = 0;
		mkdir(parent, 0755);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if ((size_t)snprintf(buf, len, "%s/doctor", dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

void doctor__cache_save(const struct host_caps *c)
{
	char path[600], tmp[620];
	if (cache_path(path, sizeof(path), true))
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\nkernel %s\ncpu_model %s\nrrvm %s\nprobe_s %.3f\n", CACHE_MAGIC,
		c->kernel_release, c->cpu_model, RRVM_VERSION, c->probe_s);
	for (size_t i = 0; i < NFIELDS; i++) {
		const void *p = (const char *)c + fields[i].off;
		switch (fields[i].type) {
		case F_RESULT: {
			const struct doctor_result *r = p;
			fprintf(f, "%s %s %u %llu %llu %.6f\n", fields[i].name, doctor__outcome_name(r->outcome),
				r->vector, (unsigned long long)r->count, (unsigned long long)r->expected, r->us);
			break;
		}
		case F_BOOL: fprintf(f, "%s %d\n", fields[i].name, *(const bool *)p); break;
		case F_INT: fprintf(f, "%s %d\n", fields[i].name, *(const int *)p); break;
		case F_U8: fprintf(f, "%s %u\n", fields[i].name, *(const uint8_t *)p); break;
		case F_U32: fprintf(f, "%s %u\n", fields[i].name, *(const uint32_t *)p); break;
		}
	}
	for (int cpl = 0; cpl < 2; cpl++)
		for (int i = 0; i < DOC_INSN_COUNT; i++) {
			const struct doctor_result *r = &c->insn[cpl][i];
			fprintf(f, "insn_cpl%d_%s %s %u %llu %llu %.6f\n", cpl ? 3 : 0, doctor__insn_name((enum doctor_insn)i),
				doctor__outcome_name(r->outcome), r->vector, (unsigned long long)r->count,
				(unsigned long long)r->expected, r->us);
		}
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

static int parse_result(const char *v, struct doctor_result *r)
{
	char oname[32];
	unsigned vec;
	unsigned long long cnt, exp;
	double us;
	if (sscanf(v, "%31s %u %llu %llu %lf", oname, &vec, &cnt, &exp, &us) != 5)
		return -EINVAL;
	for (int o = 0; o < DOC_OUTCOME_COUNT; o++)
		if (!strcmp(oname, doctor__outcome_name((enum doctor_outcome)o))) {
			*r = (struct doctor_result){ (enum doctor_outcome)o, (uint8_t)vec, cnt, exp, us };
			return 0;
		}
	return -EINVAL;
}

/* Loads the cache when its key (kernel release, CPU model, rrvm version) matches. */
int doctor__cache_load(struct host_caps *c)
{
	char path[600];
	if (cache_path(path, sizeof(path), false))
		return -ENOENT;
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	struct host_caps tmp;
	memset(&tmp, 0, sizeof(tmp));
	doctor__read_identity(&tmp);
	char line[512];
	int rc = 0, keys = 0;
	if (!fgets(line, sizeof(line), f) || strncmp(line, CACHE_MAGIC, strlen(CACHE_MAGIC)))
		rc = -EINVAL;
	while (!rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *v = strchr(line, ' ');
		if (!v) {
			rc = -EINVAL;
			break;
		}
		*v++ = 0;
		if (!strcmp(line, "kernel")) {
			rc = strcmp(v, tmp.kernel_release) ? -ESTALE : 0;
			keys++;
		} else if (!strcmp(line, "cpu_model")) {
			rc = strcmp(v, tmp.cpu_model) ? -ESTALE : 0;
			keys++;
		} else if (!strcmp(line, "rrvm")) {
			rc = strcmp(v, RRVM_VERSION) ? -ESTALE : 0;
			keys++;
		} else if (!strcmp(line, "probe_s")) {
			tmp.probe_s = strtod(v, NULL);
		} else if (!strncmp(line, "insn_", 5)) {
			struct doctor_result *r = insn_field(&tmp, line);
			rc = r ? parse_result(v, r) : -EINVAL;
		} else {
			size_t i = 0;
			while (i < NFIELDS && strcmp(fields[i].name, line))
				i++;
			if (i == NFIELDS) {
				rc = -EINVAL;
				break;
			}
			void *p = (char *)&tmp + fields[i].off;
			long n = strtol(v, NULL, 10);
			switch (fields[i].type) {
			case F_RESULT: rc = parse_result(v, p); break;
			case F_BOOL: *(bool *)p = n != 0; break;
			case F_INT: *(int *)p = (int)n; break;
			case F_U8: *(uint8_t *)p = (uint8_t)n; break;
			case F_U32: *(uint32_t *)p = (uint32_t)n; break;
			}
		}
	}
	fclose(f);
	if (rc)
		return rc;
	if (keys != 3)
		return -EINVAL;
	tmp.from_cache = true;
	*c = tmp;
	return 0;
}

bool doctor__cacheable(const struct host_caps *c)
{
	for (int cpl = 0; cpl < 2; cpl++)
		for (int i = 0; i < DOC_INSN_COUNT; i++)
			if (c->insn[cpl][i].outcome == DOC_TIMEOUT || c->insn[cpl][i].outcome == DOC_ERROR)
				return false;
	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].type != F_RESULT)
			continue;
		const struct doctor_result *r = (const void *)((const char *)c + fields[i].off);
		if (r->outcome == DOC_TIMEOUT || r->outcome == DOC_ERROR)
			return false;
	}
	return true;
}

/* ---- Reports. ---- */

static const char *vector_name(unsigned v)
{
	static const char *const n[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vec9", "#TS", "#NP",
		"#SS", "#GP", "#PF", "vec15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};
	return v < 32 && n[v] ? n[v] : "vector";
}

/* A few words for one result. */
static void describe(char *buf, size_t len, const struct doctor_result *r, const char *what)
{
	switch (r->outcome) {
	case DOC_OK:
		if (!strcmp(what, "debug"))
			snprintf(buf, len, "works, %llu/%llu exits exact (%.0f µs each)",
				 (unsigned long long)r->count, (unsigned long long)r->expected, r->us);
		else if (!strcmp(what, "bp"))
			snprintf(buf, len, "works, %llu/%llu hits exact (%.0f µs per stop and step-over)",
				 (unsigned long long)r->count, (unsigned long long)r->expected, r->us);
		else if (!strcmp(what, "kick"))
			snprintf(buf, len, "KVM_RUN returns EINTR%s after %.0f µs",
				 r->count ? ", exit KVM_EXIT_INTR," : "", r->us);
		else if (!strcmp(what, "exit"))
			snprintf(buf, len, "%.1f µs", r->us);
		else
			snprintf(buf, len, "works");
		break;
	case DOC_REJECTED: snprintf(buf, len, "rejected (KVM_EXIT_INTERNAL_ERROR)"); break;
	case DOC_FAULT: snprintf(buf, len, "guest gets the %s", vector_name(r->vector)); break;
	case DOC_NO_EXIT: snprintf(buf, len, "does not fire (0/%llu)", (unsigned long long)r->expected); break;
	case DOC_INEXACT:
		snprintf(buf, len, "inexact (%llu of %llu)", (unsigned long long)r->count,
			 (unsigned long long)r->expected);
		break;
	case DOC_UNAVAILABLE: snprintf(buf, len, "unavailable"); break;
	case DOC_TIMEOUT: snprintf(buf, len, "probe timed out"); break;
	case DOC_ERROR: snprintf(buf, len, "probe failed"); break;
	default: snprintf(buf, len, "not probed"); break;
	}
}

static void print_insn_row(FILE *f, const struct host_caps *c, int k, enum doctor_outcome want,
			   const char *label)
{
	char list[512] = "";
	size_t n = 0;
	for (int i = 0; i < DOC_INSN_COUNT; i++) {
		const struct doctor_result *r = &c->insn[k][i];
		if (r->outcome != want)
			continue;
		n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s", n ? ", " : "",
				      doctor__insn_name((enum doctor_insn)i));
		if (want == DOC_FAULT && n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, " (%s)", vector_name(r->vector));
	}
	if (n)
		fprintf(f, "  %-44s %s\n", label, list);
}

static void advice(const struct host_caps *c, void (*emit)(void *ctx, const char *line), void *ctx)
{
	char b[512];
	if (c->kvm_api != KVM_API_VERSION) {
		emit(ctx, "no usable KVM here: rrvm cannot run guests");
		return;
	}
	if (c->ring0_emulated) {
		snprintf(b, sizeof(b), "ring-0 code is emulated here (%.0fx slower than ring 3): Linux kernels "
			 "boot only in the svm-lane (tools/svm-lane); test guests keep ring-0 work small",
			 c->loop_cpl0.us / c->loop_cpl3.us);
		emit(ctx, b);
	} else if (c->loop_cpl0.outcome == DOC_OK) {
		emit(ctx, "ring-0 code runs at native speed: Linux guests boot directly");
	}
	char rej[256] = "";
	size_t n = 0;
	for (int i = 0; i < DOC_INSN_COUNT; i++)
		if (c->insn[0][i].outcome == DOC_REJECTED)
			n += (size_t)snprintf(rej + n, n < sizeof(rej) ? sizeof(rej) - n : 0, "%s%s",
					      n ? " " : "", doctor__insn_name((enum doctor_insn)i));
	if (n) {
		snprintf(b, sizeof(b), "guest ring-0 code must avoid: %s (a guest that runs one stops with "
			 "exit status 6; the baseline CPU profile hides XSAVE, AVX, CX16 and POPCNT)", rej);
		emit(ctx, b);
	}
	enum doctor_bp_method m0 = doctor__bp_method(c, 0), m3 = doctor__bp_method(c, 1);
	emit(ctx, m0 == DOC_BP_HW ? "ring-0 breakpoints: hardware breakpoints (stepped over by removing, "
				    "single-stepping once, re-arming)" :
		  m0 == DOC_BP_HLT_PATCH ? "ring-0 breakpoints: HLT patch (a one-byte HLT over the "
					   "instruction, hidden from guest reads and snapshots)" :
					   "ring-0 breakpoints unavailable: landmarks in ring 0 are deferred to the next exit");
	emit(ctx, m3 == DOC_BP_HW ? "ring-3 breakpoints: hardware breakpoints" :
				    "breakpoints in ring 3 unavailable: landmarks in ring 3 are deferred to the next exit");
	if (c->singlestep[1].outcome != DOC_OK)
		emit(ctx, "single-step in ring 3 unavailable: no stepping through user code here");
	if (c->sw_bp[0].outcome != DOC_OK)
		emit(ctx, "software breakpoints (KVM_GUESTDBG_USE_SW_BP) do not work here: not used");
	const char *s = snapshot_method(c);
	emit(ctx, !strcmp(s, "dirty_ring") ? "snapshots use the dirty ring (KVM_CAP_DIRTY_LOG_RING)" :
		  !strcmp(s, "dirty_log") ? "snapshots use the dirty log (KVM_GET_DIRTY_LOG)" :
					    "no dirty tracking: snapshots compare whole memory");
	emit(ctx, c->user_msr.outcome == DOC_OK ?
		  "MSRs that leak host time exit to rrvm (KVM_X86_SET_MSR_FILTER) and are answered from guest time" :
		  "MSR filtering does not work here: guest MSR reads may leak host time (recording is not exact)");
	emit(ctx, c->kick[0].outcome == DOC_OK && c->kick[1].outcome == DOC_OK ?
		  "overdue timers kick the vCPU with a signal (KVM_EXIT_INTR)" :
		  "kicks do not interrupt the guest here: timers fire only at guest exits");
	if (!c->tsc_control)
		emit(ctx, "no TSC scaling: the guest TSC MSR runs at a nominal 2 GHz of guest time");
	if (!c->pmu_perf && !c->pmu_cpuid_version)
		emit(ctx, "no PMU: positions are landmarks (RIP + fingerprint), never instruction counts");
}

static void emit_text(void *ctx, const char *line)
{
	fprintf(ctx, "  - %s\n", line);
}

void doctor__print(FILE *f, const struct host_caps *c)
{
	char a[160], b[160];
	fprintf(f, "rrvm doctor: Linux %s, %s%s\n", c->kernel_release, c->cpu_model,
		c->pvm_host ? ", nested paravirtual KVM (kvm_pvm)" : "");
	if (c->from_cache)
		fprintf(f, "  (results cached from an earlier run that took %.1f s; rrvm doctor --fresh re-probes)\n",
			c->probe_s);
	else
		fprintf(f, "  (probed in %.1f s)\n", c->probe_s);
	if (c->kvm_api != KVM_API_VERSION) {
		fprintf(f, "  /dev/kvm: %s\n", c->kvm_error);
		return;
	}
	fprintf(f, "\n  %-44s %s\n", "what", "here");
	if (c->loop_cpl3.outcome == DOC_OK)
		fprintf(f, "  %-44s %.2f ns per loop iteration\n", "guest ring 3 (CPL3) code", c->loop_cpl3.us * 1000);
	else
		describe(a, sizeof(a), &c->loop_cpl3, ""), fprintf(f, "  %-44s %s\n", "guest ring 3 (CPL3) code", a);
	if (c->loop_cpl0.outcome == DOC_OK)
		fprintf(f, "  %-44s %s: %.2f ns per loop iteration (%.0fx ring 3)\n", "guest ring 0 (CPL0) code",
			c->ring0_emulated ? "emulated" : "native", c->loop_cpl0.us * 1000,
			c->loop_cpl3.us > 0 ? c->loop_cpl0.us / c->loop_cpl3.us : 0);
	else
		describe(a, sizeof(a), &c->loop_cpl0, ""), fprintf(f, "  %-44s %s\n", "guest ring 0 (CPL0) code", a);
	print_insn_row(f, c, 0, DOC_REJECTED, "CPL0 instructions rejected (internal error)");
	print_insn_row(f, c, 0, DOC_OK, "CPL0 instructions that work");
	print_insn_row(f, c, 0, DOC_FAULT, "CPL0: unsupported by the CPU (guest fault)");
	print_insn_row(f, c, 0, DOC_TIMEOUT, "CPL0 instruction probes that timed out");
	print_insn_row(f, c, 0, DOC_ERROR, "CPL0 instruction probes that failed");
	print_insn_row(f, c, 1, DOC_REJECTED, "CPL3 instructions rejected (internal error)");
	print_insn_row(f, c, 1, DOC_OK, "CPL3 instructions that work");
	print_insn_row(f, c, 1, DOC_FAULT, "CPL3: unsupported by the CPU (guest fault)");
	print_insn_row(f, c, 1, DOC_TIMEOUT, "CPL3 instruction probes that timed out");
	print_insn_row(f, c, 1, DOC_ERROR, "CPL3 instruction probes that failed");
	char p0[64], p3[64], m0[64], m3[64];
	describe(p0, sizeof(p0), &c->pio_cpl0, "exit");
	describe(p3, sizeof(p3), &c->pio_cpl3, "exit");
	describe(m0, sizeof(m0), &c->mmio_cpl0, "exit");
	describe(m3, sizeof(m3), &c->mmio_cpl3, "exit");
	fprintf(f, "  %-44s PIO %s from CPL0, %s from CPL3; MMIO %s from CPL0, %s from CPL3\n",
		"cost of one exit to userspace", p0, p3, m0, m3);
	static const struct {
		const char *label;
		size_t off;
		const char *kind;
	} rows[] = {
		{ "KVM_GUESTDBG_SINGLESTEP", offsetof(struct host_caps, singlestep), "debug" },
		{ "KVM_GUESTDBG_USE_HW_BP", offsetof(struct host_caps, hw_bp), "bp" },
		{ "KVM_GUESTDBG_USE_SW_BP (#BP intercept)", offsetof(struct host_caps, sw_bp), "debug" },
		{ "kick (signal to the vCPU thread)", offsetof(struct host_caps, kick), "kick" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct doctor_result *r = (const void *)((const char *)c + rows[i].off);
		describe(a, sizeof(a), &r[0], rows[i].kind);
		describe(b, sizeof(b), &r[1], rows[i].kind);
		fprintf(f, "  %-44s CPL0: %s; CPL3: %s\n", rows[i].label, a, b);
	}
	describe(a, sizeof(a), &c->hlt_cpl0, "");
	fprintf(f, "  %-44s %s\n", "HLT in CPL0 exits (KVM_EXIT_HLT)", a);
	const struct {
		const char *label;
		const struct doctor_result *r;
	} feats[] = {
		{ "dirty log", &c->dirty_log }, { "dirty ring", &c->dirty_ring },
		{ "user-space MSR exits + filter", &c->user_msr }, { "IMMEDIATE_EXIT", &c->immediate_exit },
	};
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		describe(a, sizeof(a), feats[i].r, "");
		fprintf(f, "  %-44s %s%s\n", feats[i].label, a,
			feats[i].r == &c->dirty_ring && c->dirty_ring_acq_rel ? " (ACQ_REL)" : "");
	}
	fprintf(f, "  %-44s %s\n", "TSC scaling (KVM_CAP_TSC_CONTROL)", c->tsc_control ? "yes" : "no");
	fprintf(f, "  %-44s %s (perf_event_open instructions: %s; CPUID 0xA version %u)\n",
		"performance counters (PMU)", c->pmu_perf || c->pmu_cpuid_version ? "present" : "none",
		c->pmu_perf ? "works" : "unsupported", c->pmu_cpuid_version);
	fprintf(f, "\nwhat rrvm will do here:\n");
	advice(c, emit_text, f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_result(FILE *f, const char *name, const struct doctor_result *r, bool comma)
{
	fprintf(f, "    \"%s\": {\"outcome\": \"%s\", \"vector\": %u, \"count\": %llu, \"expected\": %llu, "
		"\"us\": %.4f}%s\n", name, doctor__outcome_name(r->outcome), r->vector, (unsigned long long)r->count,
		(unsigned long long)r->expected, r->us, comma ? "," : "");
}

struct json_ctx {
	FILE *f;
	int n;
};

static void emit_json(void *ctx, const char *line)
{
	struct json_ctx *j = ctx;
	fprintf(j->f, "%s\n    ", j->n++ ? "," : "");
	json_str(j->f, line);
}

void doctor__print_json(FILE *f, const struct host_caps *c)
{
	fprintf(f, "{\n  \"rrvm_doctor\": 1,\n  \"kernel\": ");
	json_str(f, c->kernel_release);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, c->cpu_model);
	fprintf(f, ",\n  \"kvm_error\": ");
	json_str(f, c->kvm_error);
	fprintf(f, ",\n  \"from_cache\": %s,\n  \"probe_s\": %.3f,\n", c->from_cache ? "true" : "false", c->probe_s);
	for (size_t i = 0; i < NFIELDS; i++) {
		const void *p = (const char *)c + fields[i].off;
		switch (fields[i].type) {
		case F_BOOL: fprintf(f, "  \"%s\": %s,\n", fields[i].name, *(const bool *)p ? "true" : "false"); break;
		case F_INT: fprintf(f, "  \"%s\": %d,\n", fields[i].name, *(const int *)p); break;
		case F_U8: fprintf(f, "  \"%s\": %u,\n", fields[i].name, *(const uint8_t *)p); break;
		case F_U32: fprintf(f, "  \"%s\": %u,\n", fields[i].name, *(const uint32_t *)p); break;
		default: break;
		}
	}
	fprintf(f, "  \"probes\": {\n");
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].type == F_RESULT)
			json_result(f, fields[i].name, (const void *)((const char *)c + fields[i].off), true);
	for (int cpl = 0; cpl < 2; cpl++)
		for (int i = 0; i < DOC_INSN_COUNT; i++) {
			char n[64];
			snprintf(n, sizeof(n), "insn_cpl%d_%s", cpl ? 3 : 0, doctor__insn_name((enum doctor_insn)i));
			json_result(f, n, &c->insn[cpl][i], !(cpl == 1 && i == DOC_INSN_COUNT - 1));
		}
	fprintf(f, "  },\n  \"decisions\": {\"ring0_native\": %s, \"ring0_breakpoints\": \"%s\", "
		"\"ring3_breakpoints\": \"%s\", \"snapshots\": \"%s\"},\n  \"advice\": [",
		doctor__ring0_native(c) ? "true" : "false", bp_method_name(doctor__bp_method(c, 0)),
		bp_method_name(doctor__bp_method(c, 1)), snapshot_method(c));
	struct json_ctx j = { f, 0 };
	advice(c, emit_json, &j);
	fprintf(f, "\n  ]\n}\n");
}
