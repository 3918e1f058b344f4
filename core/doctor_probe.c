/* doctor_probe.c — the probes: guest snippets (assembled by the host assembler) and what each measures. */
#include "core/doctor_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/cpu.h"

__asm__(".pushsection .rodata\n"
	PROBE_BODY(loop, PROBE_READY "1: dec %rcx\njnz 1b\n" PROBE_DONE)
	PROBE_BODY(pio, PROBE_READY ".rept 200\noutb %al, $0xe3\n.endr\n" PROBE_DONE)
	PROBE_BODY(mmio, PROBE_READY ".rept 200\nmovl %eax, (%rdx)\n.endr\n" PROBE_DONE)
	PROBE_BODY(step, PROBE_READY "nop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\n" PROBE_DONE)
	PROBE_BODY(hwbp, PROBE_READY "mov $5, %ecx\n1:\n.globl doc_hwbp_target\n.hidden doc_hwbp_target\n"
		   "doc_hwbp_target: nop\ndec %ecx\njnz 1b\n" PROBE_DONE)
	PROBE_BODY(swbp, PROBE_READY "int3\n" PROBE_DONE)
	PROBE_BODY(hlt, PROBE_READY "hlt\n" PROBE_DONE)
	PROBE_BODY(spin, PROBE_READY "1: jmp 1b\n")
	PROBE_BODY(dirty, "movb $1, 0x200000\nmovb $1, 0x202000\nmovb $1, 0x204000\n" PROBE_DONE)
	PROBE_BODY(msr, "mov $0x10, %ecx\nrdmsr\n"
		  "mov $0xc0000103, %ecx\nmov $7, %eax\nxor %edx, %edx\nwrmsr\n"
		  "xor %eax, %eax\nrdmsr\n" PROBE_READY
		  "mov $0x7fffff00, %ecx\nrdmsr\n" PROBE_DONE)
	PROBE_BODY(i_xsave, "mov $1, %eax\nxor %edx, %edx\nxsave (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_xrstor, "mov $1, %eax\nxor %edx, %edx\nxrstor (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_xsaveopt, "mov $1, %eax\nxor %edx, %edx\nxsaveopt (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_xsavec, "mov $1, %eax\nxor %edx, %edx\nxsavec (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_xsaves, "mov $1, %eax\nxor %edx, %edx\nxsaves (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_xgetbv, "xor %ecx, %ecx\nxgetbv\n" PROBE_DONE)
	PROBE_BODY(i_cx16, "xor %eax, %eax\nxor %edx, %edx\nxor %ebx, %ebx\nxor %ecx, %ecx\nlock cmpxchg16b (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_avx, "vmovdqa (%rdi), %ymm0\n" PROBE_DONE)
	PROBE_BODY(i_popcnt, "popcnt %rdi, %rax\n" PROBE_DONE)
	PROBE_BODY(i_int3, "int3\n" PROBE_DONE)
	PROBE_BODY(i_fxsave, "fxsave (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_fxrstor, "fxsave (%rdi)\nfxrstor (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_sse, "movaps (%rdi), %xmm0\nmovaps %xmm0, 16(%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_sse_arith, "addps %xmm0, %xmm1\n" PROBE_DONE)
	PROBE_BODY(i_cx8, "xor %eax, %eax\nxor %edx, %edx\nxor %ebx, %ebx\nxor %ecx, %ecx\nlock cmpxchg8b (%rdi)\n" PROBE_DONE)
	PROBE_BODY(i_rdtsc, "rdtsc\n" PROBE_DONE)
	PROBE_BODY(i_rdrand, "rdrand %rax\n" PROBE_DONE)
	PROBE_BODY(i_cpuid, "xor %eax, %eax\ncpuid\n" PROBE_DONE)
	PROBE_BODY(i_movsb, "mov $64, %ecx\nrep movsb\n" PROBE_DONE)
	PROBE_BODY(i_wrmsr, "mov $0x174, %ecx\nxor %eax, %eax\nxor %edx, %edx\nwrmsr\n" PROBE_DONE)
	".popsection\n");
PROBE_SNIP(loop) PROBE_SNIP(pio) PROBE_SNIP(mmio) PROBE_SNIP(step) PROBE_SNIP(hwbp) PROBE_SNIP(swbp) PROBE_SNIP(hlt) PROBE_SNIP(spin)
PROBE_SNIP(dirty) PROBE_SNIP(msr) PROBE_SNIP(i_xsave) PROBE_SNIP(i_xrstor) PROBE_SNIP(i_xsaveopt) PROBE_SNIP(i_xsavec) PROBE_SNIP(i_xsaves)
PROBE_SNIP(i_xgetbv) PROBE_SNIP(i_cx16) PROBE_SNIP(i_avx) PROBE_SNIP(i_popcnt) PROBE_SNIP(i_int3) PROBE_SNIP(i_fxsave) PROBE_SNIP(i_fxrstor)
PROBE_SNIP(i_sse) PROBE_SNIP(i_sse_arith) PROBE_SNIP(i_cx8) PROBE_SNIP(i_rdtsc) PROBE_SNIP(i_rdrand) PROBE_SNIP(i_cpuid) PROBE_SNIP(i_movsb) PROBE_SNIP(i_wrmsr)
extern const uint8_t doc_hwbp_target[];


static const struct {
	enum doctor_insn insn;
	const uint8_t *start, *end;
	bool cpl0_only;         /* privileged: CPL3 would only show #GP */
} insn_snips[] = {
	{ DOC_INSN_XSAVE, doc_i_xsave, doc_i_xsave_end, false },
	{ DOC_INSN_XRSTOR, doc_i_xrstor, doc_i_xrstor_end, false },
	{ DOC_INSN_XSAVEOPT, doc_i_xsaveopt, doc_i_xsaveopt_end, false },
	{ DOC_INSN_XSAVEC, doc_i_xsavec, doc_i_xsavec_end, false },
	{ DOC_INSN_XSAVES, doc_i_xsaves, doc_i_xsaves_end, true },
	{ DOC_INSN_XGETBV, doc_i_xgetbv, doc_i_xgetbv_end, false },
	{ DOC_INSN_CMPXCHG16B, doc_i_cx16, doc_i_cx16_end, false },
	{ DOC_INSN_AVX, doc_i_avx, doc_i_avx_end, false },
	{ DOC_INSN_POPCNT, doc_i_popcnt, doc_i_popcnt_end, false },
	{ DOC_INSN_INT3, doc_i_int3, doc_i_int3_end, false },
	{ DOC_INSN_FXSAVE, doc_i_fxsave, doc_i_fxsave_end, false },
	{ DOC_INSN_FXRSTOR, doc_i_fxrstor, doc_i_fxrstor_end, false },
	{ DOC_INSN_SSE, doc_i_sse, doc_i_sse_end, false },
	{ DOC_INSN_SSE_ARITH, doc_i_sse_arith, doc_i_sse_arith_end, false },
	{ DOC_INSN_CMPXCHG8B, doc_i_cx8, doc_i_cx8_end, false },
	{ DOC_INSN_RDTSC, doc_i_rdtsc, doc_i_rdtsc_end, false },
	{ DOC_INSN_RDRAND, doc_i_rdrand, doc_i_rdrand_end, false },
	{ DOC_INSN_CPUID, doc_i_cpuid, doc_i_cpuid_end, false },
	{ DOC_INSN_REP_MOVSB, doc_i_movsb, doc_i_movsb_end, false },
	{ DOC_INSN_WRMSR, doc_i_wrmsr, doc_i_wrmsr_end, true },
};

/* ---- The probes. Each fills its result; the caller isolates it in a child. ---- */

/* µs per iteration of `dec; jnz`, growing the count until a run takes 10 ms. */
void doctor__probe_loop(struct penv *env, int cpl, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	for (uint64_t n = 10000;; n *= 10) {
		double t0 = 0;
		if (pvm__start(&p, SNIPPET(loop), cpl, n)) {
			r->outcome = DOC_ERROR;
			break;
		}
		struct ev ev = pvm__run_plain(&p, NULL, &t0);
		doctor__outcome_from(r, ev);
		if (r->outcome != DOC_OK)
			break;
		double dt = ev.t - t0;
		r->count = n;
		r->us = dt * 1e6 / (double)n;
		if (dt >= 0.01 || n >= 1000000000ull)
			break;
	}
	pvm__destroy(&p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* µs per exit: the median interval between 200 back-to-back exits (the
 * median, because a shared host adds stalls). */
void doctor__probe_exit(struct penv *env, int cpl, bool mmio, struct doctor_result *r)
{
	enum { N = 200 };       /* the .rept count in the pio and mmio bodies */
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	double gaps[N], last = 0;
	r->expected = N;
	if (pvm__start(&p, mmio ? SNIPPET(mmio) : SNIPPET(pio), cpl, N)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	penv__arm(env, WATCHDOG_MS);
	struct ev ev;
	for (;;) {
		ev = pvm__step(&p);
		if (ev.kind == EV_READY) {
			last = ev.t;
			continue;
		}
		if (ev.kind == (mmio ? EV_MMIO : EV_PIO)) {
			if (r->count < N)
				gaps[r->count] = ev.t - last;
			r->count++;
			last = ev.t;
			continue;
		}
		break;
	}
	penv__arm(env, 0);
	pvm__debug_fault(&p, ev);
	doctor__outcome_from(r, ev);
	if (r->outcome == DOC_OK && r->count != N)
		r->outcome = DOC_INEXACT;
	if (r->outcome == DOC_OK) {
		qsort(gaps, N, sizeof(gaps[0]), cmp_double);
		r->us = gaps[N / 2] * 1e6;
	}
out:
	pvm__destroy(&p);
}

void doctor__probe_insn(struct penv *env, enum doctor_insn insn, int cpl, struct doctor_result *r)
{
	size_t i = 0;
	while (i < sizeof(insn_snips) / sizeof(insn_snips[0]) && insn_snips[i].insn != insn)
		i++;
	if (i == sizeof(insn_snips) / sizeof(insn_snips[0]) || (cpl == 3 && insn_snips[i].cpl0_only)) {
		r->outcome = DOC_NOT_RUN;
		return;
	}
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	struct snippet s = { insn_snips[i].start, insn_snips[i].end };
	/* Fault injection for tests/doctor.cmake: RRVM_DOCTOR_INJECT=spin|hang|crash
	 * makes the CPL0 cpuid probe loop forever in the guest (the watchdog must
	 * end it), hang in the monitor (the parent must kill it) or crash. */
	const char *inject = cpl == 0 && insn == DOC_INSN_CPUID ? getenv("RRVM_DOCTOR_INJECT") : NULL;
	if (inject && !strcmp(inject, "spin"))
		s = SNIPPET(spin);
	else if (inject && !strcmp(inject, "hang"))
		for (;;)
			pause();
	else if (inject && !strcmp(inject, "crash"))
		raise(SIGSEGV);
	if (pvm__start(&p, s, cpl, 0)) {
		r->outcome = DOC_ERROR;
	} else {
		struct ev ev = pvm__run_plain(&p, NULL, NULL);
		doctor__outcome_from(r, ev);
		/* int3 works when it raises #BP in the guest. */
		if (insn == DOC_INSN_INT3 && r->outcome == DOC_FAULT && r->vector == 3)
			r->outcome = DOC_OK;
		else if (insn == DOC_INSN_INT3 && r->outcome == DOC_OK)
			r->outcome = DOC_ERROR;
	}
	pvm__destroy(&p);
}

/* kind: 0 single-step, 1 hardware breakpoint, 2 software breakpoint (int3
 * intercept), 3 HLT (the HLT-patch breakpoint). Enabled at the ready mark. */
void doctor__probe_debug(struct penv *env, int kind, int cpl, struct doctor_result *r)
{
	static const struct snippet none = { 0, 0 };
	struct snippet s = kind == 0 ? SNIPPET(step) : kind == 1 ? SNIPPET(hwbp) : kind == 2 ? SNIPPET(swbp) : kind == 3 ? SNIPPET(hlt) : none;
	/* cppcheck-suppress comparePointers ; both are labels inside the one asm snippet PROBE_BODY(hwbp) above */
	uint64_t target = BODY_GPA + (uint64_t)(doc_hwbp_target - doc_hwbp);
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	if (pvm__start(&p, s, cpl, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	r->expected = kind == 0 ? 10 : kind == 1 ? 5 : 1;
	penv__arm(env, WATCHDOG_MS);
	double t0 = 0;
	bool stepping = false, armed = false;
	struct ev ev;
	for (;;) {
		ev = pvm__step(&p);
		if (ev.kind == EV_READY) {
			t0 = ev.t;
			int rc = 0;
			if (kind == 0)
				rc = pvm__set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
			else if (kind == 1)
				rc = pvm__set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, target);
			else if (kind == 2)
				rc = pvm__set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0);
			armed = true;
			if (rc) {
				r->outcome = DOC_UNAVAILABLE;
				goto out_disarm;
			}
			continue;
		}
		if (ev.kind == EV_DEBUG && kind == 0) {
			r->count++;
			continue;
		}
		if (ev.kind == EV_DEBUG && kind == 1) {
			if (stepping) {         /* stepped over the breakpoint: re-arm it */
				stepping = false;
				pvm__set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, target);
				continue;
			}
			if (ev.value == target)
				r->count++;
			stepping = true;        /* remove it, single-step once (HOST.md: RF does not help here) */
			pvm__set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
			continue;
		}
		if (ev.kind == EV_DEBUG && kind == 2) {
			r->count++;
			pvm__set_debug(&p, 0, 0);
			struct kvm_regs regs;
			if (ioctl(p.vcpu_fd, KVM_GET_REGS, &regs) == 0 && regs.rip == ev.value) {
				regs.rip++;     /* resume after the int3 */
				ioctl(p.vcpu_fd, KVM_SET_REGS, &regs);
			}
			continue;
		}
		if (ev.kind == EV_HLT && kind == 3 && armed) {
			r->count++;
			continue;
		}
		break;
	}
	doctor__outcome_from(r, ev);
	if (r->outcome == DOC_OK) {
		if (r->count == 0)
			r->outcome = DOC_NO_EXIT;
		else if (r->count != r->expected)
			r->outcome = DOC_INEXACT;
		if (r->count)
			r->us = (ev.t - t0) * 1e6 / (double)r->count;
	}
out_disarm:
	penv__arm(env, 0);
out:
	pvm__destroy(&p);
}

/* A signal to the vCPU thread 10 ms into an endless loop must end KVM_RUN. */
void doctor__probe_kick(struct penv *env, int cpl, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	if (pvm__start(&p, SNIPPET(spin), cpl, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	penv__arm(env, WATCHDOG_MS);
	struct ev ev = pvm__step(&p);
	if (ev.kind != EV_READY) {
		doctor__outcome_from(r, ev);
		goto out;
	}
	const double kick_ms = 10;
	double t_kick = doctor__now_s() + kick_ms / 1000;
	penv__arm(env, kick_ms);         /* the kick: the same signal, sooner */
	ev = pvm__step(&p);
	if (ev.kind == EV_INTR) {
		r->outcome = DOC_OK;
		r->count = p.run->exit_reason == KVM_EXIT_INTR;
		r->us = (ev.t - t_kick) * 1e6;
	} else {
		doctor__outcome_from(r, ev);
	}
out:
	penv__arm(env, 0);
	pvm__destroy(&p);
}

void doctor__probe_immediate_exit(struct penv *env, struct doctor_result *r)
{
	if (ioctl(env->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		r->outcome = DOC_UNAVAILABLE;
		return;
	}
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (pvm__create_for(&p, env, &o, r))
		return;
	if (pvm__start(&p, SNIPPET(i_cpuid), 0, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	p.run->immediate_exit = 1;
	penv__arm(env, WATCHDOG_MS);
	struct ev ev = pvm__step(&p);
	p.run->immediate_exit = 0;
	if (ev.kind != EV_INTR) {
		r->outcome = DOC_INEXACT;
		goto out;
	}
	ev = pvm__step(&p);
	doctor__outcome_from(r, ev);
out:
	penv__arm(env, 0);
	pvm__destroy(&p);
}

/* The pages the dirty body writes from CPL3, and the kernel stack page the
 * CPL0 prelude pushes to; DIRTY_GPA + 0x1000 must stay clean. */
static const uint64_t dirty_pages[] = { DIRTY_GPA, DIRTY_GPA + 0x2000, DIRTY_GPA + 0x4000, KSTACK_TOP - 0x1000 };

static void judge_dirty(struct doctor_result *r, const uint8_t *seen)
{
	if (getenv("RRVM_DOCTOR_DEBUG")) {
		fprintf(stderr, "doctor: dirty pages:");
		for (size_t pg = 0; pg < PVM_MEM_SIZE / 4096; pg++)
			if (seen[pg])
				fprintf(stderr, " %zx", pg);
		fprintf(stderr, "\n");
	}
	r->expected = sizeof(dirty_pages) / sizeof(dirty_pages[0]);
	for (size_t i = 0; i < r->expected; i++)
		r->count += seen[dirty_pages[i] >> 12] ? 1 : 0;
	r->outcome = r->count == r->expected && !seen[(DIRTY_GPA + 0x1000) >> 12] ? DOC_OK : DOC_INEXACT;
}

void doctor__probe_dirty_log(struct penv *env, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { .dirty_log = true };
	if (pvm__create_for(&p, env, &o, r))
		return;
	uint64_t bitmap[PVM_MEM_SIZE / 4096 / 64] = { 0 };
	uint8_t seen[PVM_MEM_SIZE / 4096] = { 0 };
	if (pvm__start(&p, SNIPPET(dirty), 3, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	struct ev ev = pvm__run_plain(&p, NULL, NULL);
	doctor__outcome_from(r, ev);
	if (r->outcome != DOC_OK)
		goto out;
	struct kvm_dirty_log dl = { .slot = 0, .dirty_bitmap = bitmap };
	if (ioctl(p.vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0) {
		r->outcome = DOC_UNAVAILABLE;
		goto out;
	}
	for (size_t pg = 0; pg < PVM_MEM_SIZE / 4096; pg++)
		seen[pg] = (bitmap[pg / 64] >> (pg % 64)) & 1;
	judge_dirty(r, seen);
out:
	pvm__destroy(&p);
}

void doctor__probe_dirty_ring(struct penv *env, bool acq_rel, struct doctor_result *r)
{
	int cap = acq_rel ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KVM_CAP_DIRTY_LOG_RING;
	int max = ioctl(env->kvm_fd, KVM_CHECK_EXTENSION, cap);
	if (max <= 0) {
		r->outcome = DOC_UNAVAILABLE;
		return;
	}
	struct pvm p;
	struct pvm_opts o = { .dirty_ring = max < 65536 ? (uint32_t)max : 65536, .acq_rel = acq_rel };
	if (pvm__create_for(&p, env, &o, r))
		return;
	uint8_t seen[PVM_MEM_SIZE / 4096] = { 0 };
	if (pvm__start(&p, SNIPPET(dirty), 3, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	struct ev ev = pvm__run_plain(&p, NULL, NULL);
	doctor__outcome_from(r, ev);
	if (r->outcome != DOC_OK)
		goto out;
	size_t n = p.ring_bytes / sizeof(struct kvm_dirty_gfn);
	for (size_t i = 0; i < n; i++) {
		struct kvm_dirty_gfn *g = &p.ring[i];
		uint32_t flags = __atomic_load_n(&g->flags, __ATOMIC_ACQUIRE);
		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (g->slot == 0 && g->offset < PVM_MEM_SIZE / 4096)
			seen[g->offset] = 1;
		__atomic_store_n(&g->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
	}
	judge_dirty(r, seen);
	if (ioctl(p.vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		r->outcome = DOC_INEXACT;
out:
	pvm__destroy(&p);
}

/* The real MSR filter (cpu__setup_msr_filter) on a CPL0 guest: IA32_TSC and
 * TSC_AUX must exit to userspace and be answered by cpu__msr_access, an
 * unknown MSR must exit too and #GP. count = MSR exits seen (expected 4). */
void doctor__probe_user_msr(struct penv *env, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { .msr_filter = true };
	if (pvm__create_for(&p, env, &o, r))
		return;
	struct cpu_msr_state st;
	cpu__msr_init(&st);
	if (pvm__start(&p, SNIPPET(msr), 0, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	r->expected = 4;
	penv__arm(env, WATCHDOG_MS);
	uint64_t aux_back = 0;
	struct ev ev;
	for (;;) {
		ev = pvm__step(&p);
		if (ev.kind == EV_MSR) {
			struct kvm_run *run = p.run;
			bool wr = run->exit_reason == KVM_EXIT_X86_WRMSR;
			uint64_t data = wr ? run->msr.data : 0;
			int gp = cpu__msr_access(&st, 1000, run->msr.index, wr, &data);
			run->msr.error = gp ? 1 : 0;
			if (!wr)
				run->msr.data = gp ? 0 : data;
			r->count++;
			continue;
		}
		if (ev.kind == EV_READY) {
			aux_back = ev.value;
			continue;
		}
		break;
	}
	penv__arm(env, 0);
	doctor__outcome_from(r, ev);
	if (r->outcome == DOC_FAULT && r->vector == 13)
		r->outcome = r->count == r->expected && aux_back == 7 ? DOC_OK : DOC_INEXACT;
	else if (r->outcome == DOC_OK)
		r->outcome = DOC_INEXACT;       /* the unknown MSR should have faulted */
	else if (r->outcome == DOC_FAULT && r->count == 0)
		r->outcome = DOC_NO_EXIT;
out:
	pvm__destroy(&p);
}
