/* doctor.c — `rrvm doctor`: runs the host probes in guarded child processes and keeps their results per process. */
#include "core/doctor.h"
#include "core/doctor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/perf_event.h>

#include "core/cpu.h"
#include "core/vm.h"

static const char *const outcome_names[DOC_OUTCOME_COUNT] = {
	"not_run", "ok", "rejected", "fault", "no_exit", "inexact", "unavailable", "timeout", "error",
};

static const char *const insn_names[DOC_INSN_COUNT] = {
	"xsave", "xrstor", "xsaveopt", "xsavec", "xsaves", "xgetbv", "cmpxchg16b", "avx_vmovdqa",
	"popcnt", "int3", "fxsave", "fxrstor", "sse_movaps", "sse_addps", "cmpxchg8b", "rdtsc", "rdrand", "cpuid",
	"rep_movsb", "wrmsr",
};

const char *doctor__outcome_name(enum doctor_outcome o)
{
	return (unsigned)o < DOC_OUTCOME_COUNT ? outcome_names[o] : "?";
}

const char *doctor__insn_name(enum doctor_insn i)
{
	return (unsigned)i < DOC_INSN_COUNT ? insn_names[i] : "?";
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- Running the probes, each group in a child process. ---- */

struct shared {
	struct host_caps caps;
	struct doctor_result *cur;      /* the probe in progress */
};

/* Runs a probe unless an earlier child already did (a group is re-run in a
 * new child after one of its probes hung or crashed). */
#define RUN(sh, res, call) do { \
	if ((res).outcome == DOC_NOT_RUN) { \
		(sh)->cur = &(res); \
		call; \
		(sh)->cur = NULL; \
	} \
} while (0)

static void group_speed(struct penv *e, struct shared *sh)
{
	struct host_caps *c = &sh->caps;
	RUN(sh, c->loop_cpl3, doctor__probe_loop(e, 3, &c->loop_cpl3));
	RUN(sh, c->loop_cpl0, doctor__probe_loop(e, 0, &c->loop_cpl0));
}

static void group_insn(struct penv *e, struct shared *sh, int cpl)
{
	for (int i = 0; i < DOC_INSN_COUNT; i++) {
		struct doctor_result *r = &sh->caps.insn[cpl == 3][i];
		RUN(sh, *r, doctor__probe_insn(e, (enum doctor_insn)i, cpl, r));
	}
}

static void group_exits(struct penv *e, struct shared *sh)
{
	struct host_caps *c = &sh->caps;
	RUN(sh, c->pio_cpl0, doctor__probe_exit(e, 0, false, &c->pio_cpl0));
	RUN(sh, c->pio_cpl3, doctor__probe_exit(e, 3, false, &c->pio_cpl3));
	RUN(sh, c->mmio_cpl0, doctor__probe_exit(e, 0, true, &c->mmio_cpl0));
	RUN(sh, c->mmio_cpl3, doctor__probe_exit(e, 3, true, &c->mmio_cpl3));
}

static void group_debug(struct penv *e, struct shared *sh)
{
	struct host_caps *c = &sh->caps;
	for (int k = 0; k < 2; k++) {
		int cpl = k ? 3 : 0;
		RUN(sh, c->singlestep[k], doctor__probe_debug(e, 0, cpl, &c->singlestep[k]));
		RUN(sh, c->hw_bp[k], doctor__probe_debug(e, 1, cpl, &c->hw_bp[k]));
		RUN(sh, c->sw_bp[k], doctor__probe_debug(e, 2, cpl, &c->sw_bp[k]));
	}
	RUN(sh, c->hlt_cpl0, doctor__probe_debug(e, 3, 0, &c->hlt_cpl0));
}

static void group_features(struct penv *e, struct shared *sh)
{
	struct host_caps *c = &sh->caps;
	RUN(sh, c->kick[1], doctor__probe_kick(e, 3, &c->kick[1]));
	RUN(sh, c->kick[0], doctor__probe_kick(e, 0, &c->kick[0]));
	RUN(sh, c->immediate_exit, doctor__probe_immediate_exit(e, &c->immediate_exit));
	RUN(sh, c->dirty_log, doctor__probe_dirty_log(e, &c->dirty_log));
	RUN(sh, c->dirty_ring, doctor__probe_dirty_ring(e, c->dirty_ring_acq_rel, &c->dirty_ring));
	RUN(sh, c->user_msr, doctor__probe_user_msr(e, &c->user_msr));
}

enum group { G_SPEED, G_INSN0, G_INSN3, G_EXITS, G_DEBUG, G_FEATURES, G_COUNT };

/* Runs one group in a child; a child that overruns `limit_s` is killed.
 * Returns true when the child hung or crashed inside a probe. */
static bool run_group(struct shared *sh, int kvm_fd, enum group g, double limit_s)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct penv *env;
		if (doctor__penv_init(&env, kvm_fd) == 0) {
			switch (g) {
			case G_SPEED: group_speed(env, sh); break;
			case G_INSN0: group_insn(env, sh, 0); break;
			case G_INSN3: group_insn(env, sh, 3); break;
			case G_EXITS: group_exits(env, sh); break;
			case G_DEBUG: group_debug(env, sh); break;
			case G_FEATURES: group_features(env, sh); break;
			default: break;
			}
			doctor__penv_fini(env);
		}
		_exit(0);
	}
	double deadline = now_s() + limit_s;
	int status = 0;
	bool killed = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (now_s() > deadline && !killed) {
			kill(pid, SIGKILL);
			killed = true;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (!sh->cur)
		return false;
	sh->cur->outcome = killed ? DOC_TIMEOUT : DOC_ERROR;
	sh->cur = NULL;
	return true;
}

void doctor__read_identity(struct host_caps *c)
{
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(c->kernel_release, sizeof(c->kernel_release), "%s", u.release);
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		char *p = strchr(line, ':');
		if (p) {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			p[strcspn(p, "\n")] = 0;
			snprintf(c->cpu_model, sizeof(c->cpu_model), "%s", p);
		}
		break;
	}
	if (f)
		fclose(f);
	c->pvm_host = access("/sys/module/kvm_pvm", F_OK) == 0;
}

static bool pmu_works(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_HARDWARE, .size = sizeof(a), .config = PERF_COUNT_HW_INSTRUCTIONS,
		.disabled = 1, .exclude_kernel = 1, .exclude_hv = 1,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0)
		return false;
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	volatile uint64_t x = 0;
	for (int i = 0; i < 100000; i++)
		x += (uint64_t)i;
	(void)x;   /* the loop is the work being counted */
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	uint64_t n = 0;
	bool ok = read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n > 0;
	close(fd);
	return ok;
}

static void read_caps(struct host_caps *c, int kvm)
{
	c->tsc_control = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0 ||
			 ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TSC_CONTROL) > 0;
	int acq = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
	int ring = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	c->dirty_ring_acq_rel = acq > 0;
	c->dirty_ring_max_bytes = (uint32_t)(acq > 0 ? acq : ring > 0 ? ring : 0);
	struct kvm_cpuid2 *sup;
	struct rrvm_err err;
	if (cpu__get_supported(kvm, &sup, &err) == 0) {
		const struct kvm_cpuid_entry2 *a = cpu__find(sup, 0xa, 0);
		c->pmu_cpuid_version = a ? (uint8_t)a->eax : 0;
		free(sup);
	}
	c->pmu_perf = pmu_works();
}

static int probe_all(struct host_caps *out, struct rrvm_err *err)
{
	double t0 = now_s();
	memset(out, 0, sizeof(*out));
	doctor__read_identity(out);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		out->kvm_api = -errno;
		snprintf(out->kvm_error, sizeof(out->kvm_error), "cannot open /dev/kvm: %s", strerror(errno));
		return err__set(err, out->kvm_api, "%s", out->kvm_error);
	}
	out->kvm_api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (out->kvm_api != KVM_API_VERSION) {
		snprintf(out->kvm_error, sizeof(out->kvm_error), "KVM API version %d, expected %d",
			 out->kvm_api, KVM_API_VERSION);
		close(kvm);
		return err__set(err, -ENOTSUP, "%s", out->kvm_error);
	}
	read_caps(out, kvm);
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		close(kvm);
		return err__set(err, -errno, "mmap: %s", strerror(errno));
	}
	sh->caps = *out;
	fflush(NULL);   /* children must not flush our buffers twice */
	static const double limits[G_COUNT] = { 8, 6, 4, 6, 8, 8 };
	for (int g = 0; g < G_COUNT; g++)
		for (int attempt = 0; attempt < 4; attempt++)
			if (!run_group(sh, kvm, (enum group)g, limits[g]))
				break;
	*out = sh->caps;
	munmap(sh, sizeof(*sh));
	close(kvm);
	out->ring0_emulated = out->loop_cpl0.outcome == DOC_OK && out->loop_cpl3.outcome == DOC_OK &&
			      out->loop_cpl0.us > 20 * out->loop_cpl3.us;
	out->probe_s = now_s() - t0;
	return 0;
}

/* The per-process cache: probing runs VMs for seconds, so every caller in
 * this process shares the first result (the one deliberate static here). */
static struct host_caps process_cache;
static bool process_cache_valid;

int doctor__probe_ex(struct host_caps *caps, bool fresh, struct rrvm_err *err)
{
	if (!fresh && process_cache_valid) {
		*caps = process_cache;
		return 0;
	}
	if (!fresh && doctor__cache_load(caps) == 0) {
		process_cache = *caps;
		process_cache_valid = true;
		return 0;
	}
	int rc = probe_all(caps, err);
	if (rc)
		return rc;
	if (doctor__cacheable(caps))
		doctor__cache_save(caps);
	process_cache = *caps;
	process_cache_valid = true;
	return 0;
}

int doctor__probe(struct host_caps *caps, struct rrvm_err *err)
{
	return doctor__probe_ex(caps, false, err);
}

static const char doctor_help[] =
	"usage: rrvm doctor [--json] [--fresh]\n"
	"\n"
	"Runs tiny probe VMs to measure what this host's KVM can do (guest ring-0\n"
	"speed, instructions its emulator rejects, exit costs, single-step and\n"
	"breakpoints in ring 0 and ring 3, kicks, dirty tracking, MSR filtering,\n"
	"TSC scaling, PMU) and says what rrvm will do about it. Each probe runs in\n"
	"a child process under a time limit. Results are cached in\n"
	"$XDG_CACHE_HOME/rrvm/doctor, keyed by kernel release and CPU model.\n"
	"\n"
	"  --json   machine-readable output\n"
	"  --fresh  ignore the cache and probe again\n"
	"  --help   this text\n";

int doctor__cmd(int argc, char **argv)
{
	bool json = false, fresh = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(doctor_help, stdout);
			return RRVM_EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--fresh")) {
			fresh = true;
		} else {
			fprintf(stderr, "rrvm doctor: unknown option '%s' (rrvm doctor --help)\n", argv[i]);
			return RRVM_EXIT_USAGE;
		}
	}
	struct host_caps c;
	struct rrvm_err err = { { 0 } };
	int rc = doctor__probe_ex(&c, fresh, &err);
	if (json)
		doctor__print_json(stdout, &c);
	else
		doctor__print(stdout, &c);
	if (rc) {
		fprintf(stderr, "rrvm doctor: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	return RRVM_EXIT_OK;
}
