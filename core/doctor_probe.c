/* doctor_probe.c — tiny probe VMs: guest snippets run in CPL0 or CPL3, each run bounded by a timer. */
#include "core/doctor.h"
#include "core/doctor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "core/cpu.h"
#include "core/x86.h"

/*
 * Probe VM layout (8 MiB of RAM, identity-mapped long mode from
 * x86__setup_boot_tables, every page made user-accessible):
 *   0x1000 GDT: 0x10 kernel code64, 0x18 kernel data, 0x28 user data (DPL3),
 *          0x30 user code64 (DPL3), 0x38 the TSS
 *   0x2000 IDT: 32 interrupt gates (DPL3, so int3 works from CPL3)
 *   0x3000 TSS (rsp0 = kernel stack)   0x4000 exception stubs
 *   0x10000 CPL3 prelude (iretq to the body), 0x10100 the body
 *   0x6f000 user stack top, 0x7f000 kernel stack top
 *   0x100000, 0x101000 data buffers (rdi, rsi), 0x200000 pages the dirty probes write
 *   0x10000000 unbacked: MMIO signals
 * Signals to the monitor are MMIO writes (they work from any CPL; on the
 * development host IOPL does not survive iretq into CPL3, so OUT would #GP):
 * SIG_BASE+0 done (AL = result), +1 fault (AL = vector), +2 ready (the
 * measured part starts), +3 noise (exit-cost probes).
 */
#define PVM_MEM_SIZE   (8ull << 20)
#define GDT_GPA        0x1000ull
#define IDT_GPA        0x2000ull
#define TSS_GPA        0x3000ull
#define STUBS_GPA      0x4000ull
#define CODE_GPA       0x10000ull
#define BODY_GPA       0x10100ull
#define USTACK_TOP     0x6f000ull
#define KSTACK_TOP     0x7f000ull
#define BUF_GPA        0x100000ull
#define BUF2_GPA       0x101000ull
#define DIRTY_GPA      0x200000ull
#define SIG_BASE       0x10000000ull
#define SIG_DONE       (SIG_BASE + 0)
#define SIG_FAULT      (SIG_BASE + 1)
#define SIG_READY      (SIG_BASE + 2)
#define SIG_NOISE      (SIG_BASE + 3)
#define PORT_NOISE     0xe3
#define SEL_TSS        0x38

#define PROBE_SIGNAL   SIGUSR2

/* Guest code, assembled by the host assembler into .rodata and copied into
 * guest RAM. Registers on entry to a body: rcx = count, rdi = BUF_GPA,
 * rsi = BUF2_GPA, rdx = SIG_NOISE, everything else 0. */
#define SNIP(n) extern const uint8_t doc_##n[], doc_##n##_end[];
#define READY "movb %al, 0x10000002\n"
#define DONE "movb %al, 0x10000000\nhlt\n"
#define BEGIN(n) ".globl doc_" #n "\n.hidden doc_" #n "\n.globl doc_" #n "_end\n.hidden doc_" #n "_end\ndoc_" #n ":\n"
#define END(n) "doc_" #n "_end:\n"
#define BODY(n, code) BEGIN(n) code END(n)
__asm__(".pushsection .rodata\n"
	BODY(prelude3, "pushq $0x2b\npushq $0x6f000\npushq $0x2\npushq $0x33\npushq $0x10100\niretq\n")
	BODY(loop, READY "1: dec %rcx\njnz 1b\n" DONE)
	BODY(pio, READY ".rept 200\noutb %al, $0xe3\n.endr\n" DONE)
	BODY(mmio, READY ".rept 200\nmovl %eax, (%rdx)\n.endr\n" DONE)
	BODY(step, READY "nop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\n" DONE)
	BODY(hwbp, READY "mov $5, %ecx\n1:\n.globl doc_hwbp_target\n.hidden doc_hwbp_target\n"
		   "doc_hwbp_target: nop\ndec %ecx\njnz 1b\n" DONE)
	BODY(swbp, READY "int3\n" DONE)
	BODY(hlt, READY "hlt\n" DONE)
	BODY(spin, READY "1: jmp 1b\n")
	BODY(dirty, "movb $1, 0x200000\nmovb $1, 0x202000\nmovb $1, 0x204000\n" DONE)
	BODY(msr, "mov $0x10, %ecx\nrdmsr\n"
		  "mov $0xc0000103, %ecx\nmov $7, %eax\nxor %edx, %edx\nwrmsr\n"
		  "xor %eax, %eax\nrdmsr\n" READY
		  "mov $0x7fffff00, %ecx\nrdmsr\n" DONE)
	BODY(i_xsave, "mov $1, %eax\nxor %edx, %edx\nxsave (%rdi)\n" DONE)
	BODY(i_xrstor, "mov $1, %eax\nxor %edx, %edx\nxrstor (%rdi)\n" DONE)
	BODY(i_xsaveopt, "mov $1, %eax\nxor %edx, %edx\nxsaveopt (%rdi)\n" DONE)
	BODY(i_xsavec, "mov $1, %eax\nxor %edx, %edx\nxsavec (%rdi)\n" DONE)
	BODY(i_xsaves, "mov $1, %eax\nxor %edx, %edx\nxsaves (%rdi)\n" DONE)
	BODY(i_xgetbv, "xor %ecx, %ecx\nxgetbv\n" DONE)
	BODY(i_cx16, "xor %eax, %eax\nxor %edx, %edx\nxor %ebx, %ebx\nxor %ecx, %ecx\nlock cmpxchg16b (%rdi)\n" DONE)
	BODY(i_avx, "vmovdqa (%rdi), %ymm0\n" DONE)
	BODY(i_popcnt, "popcnt %rdi, %rax\n" DONE)
	BODY(i_int3, "int3\n" DONE)
	BODY(i_fxsave, "fxsave (%rdi)\n" DONE)
	BODY(i_fxrstor, "fxsave (%rdi)\nfxrstor (%rdi)\n" DONE)
	BODY(i_sse, "movaps (%rdi), %xmm0\nmovaps %xmm0, 16(%rdi)\n" DONE)
	BODY(i_sse_arith, "addps %xmm0, %xmm1\n" DONE)
	BODY(i_cx8, "xor %eax, %eax\nxor %edx, %edx\nxor %ebx, %ebx\nxor %ecx, %ecx\nlock cmpxchg8b (%rdi)\n" DONE)
	BODY(i_rdtsc, "rdtsc\n" DONE)
	BODY(i_rdrand, "rdrand %rax\n" DONE)
	BODY(i_cpuid, "xor %eax, %eax\ncpuid\n" DONE)
	BODY(i_movsb, "mov $64, %ecx\nrep movsb\n" DONE)
	BODY(i_wrmsr, "mov $0x174, %ecx\nxor %eax, %eax\nxor %edx, %edx\nwrmsr\n" DONE)
	".popsection\n");
SNIP(prelude3) SNIP(loop) SNIP(pio) SNIP(mmio) SNIP(step) SNIP(hwbp) SNIP(swbp) SNIP(hlt) SNIP(spin)
SNIP(dirty) SNIP(msr) SNIP(i_xsave) SNIP(i_xrstor) SNIP(i_xsaveopt) SNIP(i_xsavec) SNIP(i_xsaves)
SNIP(i_xgetbv) SNIP(i_cx16) SNIP(i_avx) SNIP(i_popcnt) SNIP(i_int3) SNIP(i_fxsave) SNIP(i_fxrstor)
SNIP(i_sse) SNIP(i_sse_arith) SNIP(i_cx8) SNIP(i_rdtsc) SNIP(i_rdrand) SNIP(i_cpuid) SNIP(i_movsb) SNIP(i_wrmsr)
extern const uint8_t doc_hwbp_target[];

struct snippet {
	const uint8_t *start, *end;
};
#define S(n) ((struct snippet){ doc_##n, doc_##n##_end })

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

/* ---- Time and the watchdog. ---- */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_probe_signal(int sig)
{
	(void)sig;
}

/* Probe environment of one child process: a timer that signals this thread,
 * the signal blocked outside KVM_RUN and deliverable inside it. */
struct penv {
	int kvm_fd;
	timer_t timer;
	sigset_t run_mask;      /* the mask KVM_RUN uses: PROBE_SIGNAL unblocked */
	struct kvm_cpuid2 *cpuid;
	bool xsave;             /* the CPUID table offers XSAVE: CR4.OSXSAVE can be set */
	uint64_t xcr0;
};

/* Arms the watchdog (or a kick) `ms` from now; 0 disarms and drains. */
static void penv_arm(struct penv *env, double ms)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	if (ms > 0) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)((ms - (double)its.it_value.tv_sec * 1000) * 1e6);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timer_settime(env->timer, 0, &its, NULL);
	if (ms <= 0) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, PROBE_SIGNAL);
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&s, NULL, &zero) > 0)
			;
	}
}

int doctor__penv_init(struct penv **out, int kvm_fd)
{
	struct penv *env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	env->kvm_fd = kvm_fd;
	struct sigaction sa = { .sa_handler = on_probe_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(PROBE_SIGNAL, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, PROBE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &env->run_mask);
	sigdelset(&env->run_mask, PROBE_SIGNAL);
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = PROBE_SIGNAL };
	sev._sigev_un._tid = gettid();   /* sigev_notify_thread_id in newer glibc */
	if (timer_create(CLOCK_MONOTONIC, &sev, &env->timer) < 0) {
		free(env);
		return -errno;
	}
	struct rrvm_err err;
	int rc = cpu__get_supported(kvm_fd, &env->cpuid, &err);
	if (rc) {
		timer_delete(env->timer);
		free(env);
		return rc;
	}
	/* Probe with everything KVM offers, minus the paravirt leaves. */
	const struct kvm_cpuid_entry2 *e1 = cpu__find(env->cpuid, 1, 0), *d0 = cpu__find(env->cpuid, 0xd, 0);
	env->xsave = e1 && (e1->ecx & (1u << 26));
	env->xcr0 = env->xsave && d0 ? (d0->eax & 0x7) : 0;
	*out = env;
	return 0;
}

void doctor__penv_fini(struct penv *env)
{
	if (!env)
		return;
	penv_arm(env, 0);
	timer_delete(env->timer);
	free(env->cpuid);
	free(env);
}

/* ---- One probe VM. ---- */

struct pvm {
	struct penv *env;
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
	struct kvm_dirty_gfn *ring;
	size_t ring_bytes;
};

struct pvm_opts {
	bool dirty_log;         /* KVM_MEM_LOG_DIRTY_PAGES on the RAM slot */
	uint32_t dirty_ring;    /* bytes; 0 = none */
	bool acq_rel;           /* KVM_CAP_DIRTY_LOG_RING_ACQ_REL rather than _RING */
	bool msr_filter;        /* cpu__setup_msr_filter */
};

static void pvm_destroy(struct pvm *p)
{
	if (p->ring)
		munmap(p->ring, p->ring_bytes);
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
	mem__fini(&p->mem);
	memset(p, 0, sizeof(*p));
	p->vm_fd = p->vcpu_fd = -1;
}

static uint64_t gdt_entry_tss_lo(uint64_t base, uint32_t limit)
{
	return (limit & 0xffffull) | ((base & 0xffffffull) << 16) | (0x89ull << 40) |
	       ((uint64_t)(limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
}

/* Writes the GDT, IDT, TSS and exception stubs, and opens every page to CPL3. */
static int write_tables(struct guest_mem *m)
{
	int rc = x86__setup_boot_tables(m);
	if (rc)
		return rc;
	uint64_t *pml4 = mem__ptr(m, X86_PML4_ADDR, 8), *pdpt = mem__ptr(m, X86_PDPT_ADDR, 32);
	uint64_t *pd = mem__ptr(m, X86_PD_ADDR, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	pml4[0] |= 4;
	for (int i = 0; i < 4; i++)
		pdpt[i] |= 4;
	for (int i = 0; i < 4 * 512; i++)
		pd[i] |= 4;

	uint64_t gdt[9] = {
		0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cffb000000ffffull,
		0x00cff3000000ffffull, 0x00affb000000ffffull, gdt_entry_tss_lo(TSS_GPA, 103), TSS_GPA >> 32,
	};
	if ((rc = mem__write(m, GDT_GPA, gdt, sizeof(gdt))))
		return rc;
	uint8_t tss[104] = { 0 };
	uint64_t rsp0 = KSTACK_TOP;
	memcpy(tss + 4, &rsp0, 8);
	tss[102] = 104;         /* I/O bitmap base beyond the limit: none (IOPL 3 decides) */
	if ((rc = mem__write(m, TSS_GPA, tss, sizeof(tss))))
		return rc;
	for (uint64_t v = 0; v < 32; v++) {
		uint64_t stub = STUBS_GPA + v * 16;
		/* mov al, v; mov [SIG_FAULT], al; hlt */
		uint8_t code[16] = { 0xb0, (uint8_t)v, 0x88, 0x04, 0x25, SIG_FAULT & 0xff, SIG_FAULT >> 8 & 0xff,
				     SIG_FAULT >> 16 & 0xff, SIG_FAULT >> 24 & 0xff, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
				     0xf4, 0xf4 };
		uint64_t gate[2] = {
			(stub & 0xffff) | ((uint64_t)X86_BOOT_CS << 16) | (0xeeull << 40) | ((stub >> 16 & 0xffff) << 48),
			stub >> 32,
		};
		if ((rc = mem__write(m, stub, code, sizeof(code))) ||
		    (rc = mem__write(m, IDT_GPA + v * 16, gate, sizeof(gate))))
			return rc;
	}
	return 0;
}

static int pvm_create(struct pvm *p, struct penv *env, const struct pvm_opts *o)
{
	memset(p, 0, sizeof(*p));
	p->env = env;
	p->vm_fd = p->vcpu_fd = -1;
	int rc;
	p->vm_fd = ioctl(env->kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0)
		return -errno;
	if (o->msr_filter) {
		struct rrvm_err err;
		if ((rc = cpu__setup_msr_filter(p->vm_fd, &err)))
			goto fail;
	}
	if (o->dirty_ring) {
		struct kvm_enable_cap cap = {
			.cap = o->acq_rel ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KVM_CAP_DIRTY_LOG_RING,
			.args[0] = o->dirty_ring,
		};
		if (ioctl(p->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	if ((rc = mem__init(&p->mem, PVM_MEM_SIZE)))
		goto fail;
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = (o->dirty_log || o->dirty_ring) ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = 0, .memory_size = PVM_MEM_SIZE, .userspace_addr = (uintptr_t)p->mem.base,
	};
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		rc = -errno;
		goto fail;
	}
	p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0);
	if (p->vcpu_fd < 0) {
		rc = -errno;
		goto fail;
	}
	int sz = ioctl(env->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		rc = -EINVAL;
		goto fail;
	}
	p->run_size = (size_t)sz;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		rc = -errno;
		goto fail;
	}
	if (o->dirty_ring) {
		p->ring_bytes = o->dirty_ring;
		p->ring = mmap(NULL, p->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd,
			       KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
		if (p->ring == MAP_FAILED) {
			p->ring = NULL;
			rc = -errno;
			goto fail;
		}
	}
	if (ioctl(p->vcpu_fd, KVM_SET_CPUID2, env->cpuid) < 0) {
		rc = -errno;
		goto fail;
	}
	struct {
		struct kvm_signal_mask m;
		uint8_t set[8];
	} sm = { .m.len = 8 };
	memcpy(sm.set, &env->run_mask, 8);
	if (ioctl(p->vcpu_fd, KVM_SET_SIGNAL_MASK, &sm) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = write_tables(&p->mem)))
		goto fail;
	return 0;
fail:
	pvm_destroy(p);
	return rc;
}

/* Loads `s` and sets the vCPU to run it at `cpl` (3: through the iretq prelude). */
static int pvm_start(struct pvm *p, struct snippet s, int cpl, uint64_t count)
{
	size_t len = (size_t)(s.end - s.start);
	if (len > 0xe00)
		return -E2BIG;
	int rc;
	if ((rc = mem__write(&p->mem, BODY_GPA, s.start, len)))
		return rc;
	if (cpl == 3 && (rc = mem__write(&p->mem, CODE_GPA, doc_prelude3,
					 (size_t)(doc_prelude3_end - doc_prelude3))))
		return rc;
	struct x86_entry e = { .rip = cpl == 3 ? CODE_GPA : BODY_GPA, .rsp = KSTACK_TOP };
	if ((rc = x86__set_long_mode(p->vcpu_fd, &e)))
		return rc;
	struct kvm_sregs sr;
	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	sr.gdt.base = GDT_GPA;
	sr.gdt.limit = 9 * 8 - 1;
	sr.idt.base = IDT_GPA;
	sr.idt.limit = 32 * 16 - 1;
	sr.tr = (struct kvm_segment){ .base = TSS_GPA, .limit = 103, .selector = SEL_TSS, .type = 11, .present = 1 };
	sr.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | (p->env->xsave ? (1ull << 18) : 0);
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	if (p->env->xsave && p->env->xcr0) {
		struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = p->env->xcr0 } };
		ioctl(p->vcpu_fd, KVM_SET_XCRS, &x);     /* best effort: AVX then faults #UD if refused */
	}
	struct kvm_regs regs = {
		.rip = e.rip, .rsp = KSTACK_TOP, .rflags = 0x2,
		.rcx = count, .rdi = BUF_GPA, .rsi = BUF2_GPA, .rdx = SIG_NOISE,
	};
	if (ioctl(p->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

enum ev_kind { EV_DONE, EV_READY, EV_FAULT, EV_PIO, EV_MMIO, EV_DEBUG, EV_HLT, EV_MSR,
	       EV_INTERNAL, EV_INTR, EV_SHUTDOWN, EV_OTHER, EV_ERROR };

struct ev {
	enum ev_kind kind;
	uint64_t value;         /* port data, vector, exit reason, debug pc, -errno */
	double t;               /* when KVM_RUN returned */
};

/* One KVM_RUN, classified. */
static struct ev pvm_step(struct pvm *p)
{
	int rc = ioctl(p->vcpu_fd, KVM_RUN, 0);
	int e = errno;
	struct ev ev = { .t = now_s() };
	struct kvm_run *run = p->run;
	if (rc < 0) {
		ev.kind = e == EINTR ? EV_INTR : EV_ERROR;
		ev.value = (uint64_t)(int64_t)-e;
		return ev;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		ev.kind = EV_PIO;
		break;
	case KVM_EXIT_MMIO: {
		uint64_t a = run->mmio.phys_addr;
		ev.value = run->mmio.is_write ? run->mmio.data[0] : 0;
		ev.kind = a == SIG_DONE ? EV_DONE : a == SIG_FAULT ? EV_FAULT : a == SIG_READY ? EV_READY : EV_MMIO;
		break;
	}
	case KVM_EXIT_DEBUG:
		ev.kind = EV_DEBUG;
		ev.value = run->debug.arch.pc;
		break;
	case KVM_EXIT_HLT:
		ev.kind = EV_HLT;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		ev.kind = EV_MSR;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		ev.kind = EV_INTERNAL;
		ev.value = run->internal.suberror;
		break;
	case KVM_EXIT_INTR:
		ev.kind = EV_INTR;
		break;
	case KVM_EXIT_SHUTDOWN:
		ev.kind = EV_SHUTDOWN;
		break;
	default:
		ev.kind = EV_OTHER;
		ev.value = run->exit_reason;
		break;
	}
	return ev;
}

/* RRVM_DOCTOR_DEBUG=1: where a probe's guest faulted (the exception frame). */
static void debug_fault(struct pvm *p, struct ev ev)
{
	if (ev.kind != EV_FAULT || !getenv("RRVM_DOCTOR_DEBUG"))
		return;
	struct kvm_regs regs;
	uint64_t frame[6] = { 0 };
	if (ioctl(p->vcpu_fd, KVM_GET_REGS, &regs) == 0)
		mem__read(&p->mem, regs.rsp, frame, sizeof(frame));
	fprintf(stderr, "doctor: vector %llu, stack %llx: %llx %llx %llx %llx %llx %llx\n",
		(unsigned long long)ev.value, (unsigned long long)regs.rsp,
		(unsigned long long)frame[0], (unsigned long long)frame[1], (unsigned long long)frame[2],
		(unsigned long long)frame[3], (unsigned long long)frame[4], (unsigned long long)frame[5]);
}

/* Terminal events: anything a probe did not ask for ends it. */
static void set_outcome_from(struct doctor_result *r, struct ev ev)
{
	switch (ev.kind) {
	case EV_DONE: r->outcome = DOC_OK; break;
	case EV_FAULT: r->outcome = DOC_FAULT; r->vector = (uint8_t)ev.value; break;
	case EV_INTERNAL: r->outcome = DOC_REJECTED; break;
	case EV_INTR: r->outcome = DOC_TIMEOUT; break;
	default: r->outcome = DOC_ERROR; break;
	}
}

static int set_debug(struct pvm *p, uint32_t control, uint64_t bp)
{
	struct kvm_guest_debug d = { .control = control };
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		d.arch.debugreg[0] = bp;
		d.arch.debugreg[7] = 0x1;       /* L0, execute, 1 byte */
	}
	return ioctl(p->vcpu_fd, KVM_SET_GUEST_DEBUG, &d) < 0 ? -errno : 0;
}

#define WATCHDOG_MS 1500.0

/* Runs until a terminal event, skipping noise exits; counts them in *noise. */
static struct ev run_plain(struct pvm *p, uint64_t *noise, double *t_ready)
{
	penv_arm(p->env, WATCHDOG_MS);
	struct ev ev;
	for (;;) {
		ev = pvm_step(p);
		if (ev.kind == EV_READY && t_ready) {
			*t_ready = ev.t;
			continue;
		}
		if (ev.kind == EV_PIO || ev.kind == EV_MMIO || ev.kind == EV_READY) {
			if (noise)
				(*noise)++;
			continue;
		}
		break;
	}
	penv_arm(p->env, 0);
	debug_fault(p, ev);
	return ev;
}

/* ---- The probes. Each fills its result; the caller isolates it in a child. ---- */

static int with_vm(struct pvm *p, struct penv *env, const struct pvm_opts *o, struct doctor_result *r)
{
	int rc = pvm_create(p, env, o);
	if (rc) {
		r->outcome = (rc == -EINVAL || rc == -ENOTSUP || rc == -ENOTTY) ? DOC_UNAVAILABLE : DOC_ERROR;
		r->count = (uint64_t)-rc;
	}
	return rc;
}

/* µs per iteration of `dec; jnz`, growing the count until a run takes 10 ms. */
void doctor__probe_loop(struct penv *env, int cpl, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (with_vm(&p, env, &o, r))
		return;
	for (uint64_t n = 10000;; n *= 10) {
		double t0 = 0;
		if (pvm_start(&p, S(loop), cpl, n)) {
			r->outcome = DOC_ERROR;
			break;
		}
		struct ev ev = run_plain(&p, NULL, &t0);
		set_outcome_from(r, ev);
		if (r->outcome != DOC_OK)
			break;
		double dt = ev.t - t0;
		r->count = n;
		r->us = dt * 1e6 / (double)n;
		if (dt >= 0.01 || n >= 1000000000ull)
			break;
	}
	pvm_destroy(&p);
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
	if (with_vm(&p, env, &o, r))
		return;
	double gaps[N], last = 0;
	r->expected = N;
	if (pvm_start(&p, mmio ? S(mmio) : S(pio), cpl, N)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	penv_arm(env, WATCHDOG_MS);
	struct ev ev;
	for (;;) {
		ev = pvm_step(&p);
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
	penv_arm(env, 0);
	debug_fault(&p, ev);
	set_outcome_from(r, ev);
	if (r->outcome == DOC_OK && r->count != N)
		r->outcome = DOC_INEXACT;
	if (r->outcome == DOC_OK) {
		qsort(gaps, N, sizeof(gaps[0]), cmp_double);
		r->us = gaps[N / 2] * 1e6;
	}
out:
	pvm_destroy(&p);
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
	if (with_vm(&p, env, &o, r))
		return;
	struct snippet s = { insn_snips[i].start, insn_snips[i].end };
	/* Fault injection for tests/doctor.cmake: RRVM_DOCTOR_INJECT=spin|hang|crash
	 * makes the CPL0 cpuid probe loop forever in the guest (the watchdog must
	 * end it), hang in the monitor (the parent must kill it) or crash. */
	const char *inject = cpl == 0 && insn == DOC_INSN_CPUID ? getenv("RRVM_DOCTOR_INJECT") : NULL;
	if (inject && !strcmp(inject, "spin"))
		s = S(spin);
	else if (inject && !strcmp(inject, "hang"))
		for (;;)
			pause();
	else if (inject && !strcmp(inject, "crash"))
		raise(SIGSEGV);
	if (pvm_start(&p, s, cpl, 0)) {
		r->outcome = DOC_ERROR;
	} else {
		struct ev ev = run_plain(&p, NULL, NULL);
		set_outcome_from(r, ev);
		/* int3 works when it raises #BP in the guest. */
		if (insn == DOC_INSN_INT3 && r->outcome == DOC_FAULT && r->vector == 3)
			r->outcome = DOC_OK;
		else if (insn == DOC_INSN_INT3 && r->outcome == DOC_OK)
			r->outcome = DOC_ERROR;
	}
	pvm_destroy(&p);
}

/* kind: 0 single-step, 1 hardware breakpoint, 2 software breakpoint (int3
 * intercept), 3 HLT (the HLT-patch breakpoint). Enabled at the ready mark. */
void doctor__probe_debug(struct penv *env, int kind, int cpl, struct doctor_result *r)
{
	static const struct snippet none = { 0, 0 };
	struct snippet s = kind == 0 ? S(step) : kind == 1 ? S(hwbp) : kind == 2 ? S(swbp) : kind == 3 ? S(hlt) : none;
	uint64_t target = BODY_GPA + (uint64_t)(doc_hwbp_target - doc_hwbp);
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (with_vm(&p, env, &o, r))
		return;
	if (pvm_start(&p, s, cpl, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	r->expected = kind == 0 ? 10 : kind == 1 ? 5 : 1;
	penv_arm(env, WATCHDOG_MS);
	double t0 = 0;
	bool stepping = false, armed = false;
	struct ev ev;
	for (;;) {
		ev = pvm_step(&p);
		if (ev.kind == EV_READY) {
			t0 = ev.t;
			int rc = 0;
			if (kind == 0)
				rc = set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
			else if (kind == 1)
				rc = set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, target);
			else if (kind == 2)
				rc = set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0);
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
				set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, target);
				continue;
			}
			if (ev.value == target)
				r->count++;
			stepping = true;        /* remove it, single-step once (HOST.md: RF does not help here) */
			set_debug(&p, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
			continue;
		}
		if (ev.kind == EV_DEBUG && kind == 2) {
			r->count++;
			set_debug(&p, 0, 0);
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
	set_outcome_from(r, ev);
	if (r->outcome == DOC_OK) {
		if (r->count == 0)
			r->outcome = DOC_NO_EXIT;
		else if (r->count != r->expected)
			r->outcome = DOC_INEXACT;
		if (r->count)
			r->us = (ev.t - t0) * 1e6 / (double)r->count;
	}
	(void)armed;
out_disarm:
	penv_arm(env, 0);
out:
	pvm_destroy(&p);
}

/* A signal to the vCPU thread 10 ms into an endless loop must end KVM_RUN. */
void doctor__probe_kick(struct penv *env, int cpl, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (with_vm(&p, env, &o, r))
		return;
	if (pvm_start(&p, S(spin), cpl, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	penv_arm(env, WATCHDOG_MS);
	struct ev ev = pvm_step(&p);
	if (ev.kind != EV_READY) {
		set_outcome_from(r, ev);
		goto out;
	}
	const double kick_ms = 10;
	double t_kick = now_s() + kick_ms / 1000;
	penv_arm(env, kick_ms);         /* the kick: the same signal, sooner */
	ev = pvm_step(&p);
	if (ev.kind == EV_INTR) {
		r->outcome = DOC_OK;
		r->count = p.run->exit_reason == KVM_EXIT_INTR;
		r->us = (ev.t - t_kick) * 1e6;
	} else {
		set_outcome_from(r, ev);
	}
out:
	penv_arm(env, 0);
	pvm_destroy(&p);
}

void doctor__probe_immediate_exit(struct penv *env, struct doctor_result *r)
{
	if (ioctl(env->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		r->outcome = DOC_UNAVAILABLE;
		return;
	}
	struct pvm p;
	struct pvm_opts o = { 0 };
	if (with_vm(&p, env, &o, r))
		return;
	if (pvm_start(&p, S(i_cpuid), 0, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	p.run->immediate_exit = 1;
	penv_arm(env, WATCHDOG_MS);
	struct ev ev = pvm_step(&p);
	p.run->immediate_exit = 0;
	if (ev.kind != EV_INTR) {
		r->outcome = DOC_INEXACT;
		goto out;
	}
	ev = pvm_step(&p);
	set_outcome_from(r, ev);
out:
	penv_arm(env, 0);
	pvm_destroy(&p);
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
	if (with_vm(&p, env, &o, r))
		return;
	uint64_t bitmap[PVM_MEM_SIZE / 4096 / 64] = { 0 };
	uint8_t seen[PVM_MEM_SIZE / 4096] = { 0 };
	if (pvm_start(&p, S(dirty), 3, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	struct ev ev = run_plain(&p, NULL, NULL);
	set_outcome_from(r, ev);
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
	pvm_destroy(&p);
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
	if (with_vm(&p, env, &o, r))
		return;
	uint8_t seen[PVM_MEM_SIZE / 4096] = { 0 };
	if (pvm_start(&p, S(dirty), 3, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	struct ev ev = run_plain(&p, NULL, NULL);
	set_outcome_from(r, ev);
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
	pvm_destroy(&p);
}

/* The real MSR filter (cpu__setup_msr_filter) on a CPL0 guest: IA32_TSC and
 * TSC_AUX must exit to userspace and be answered by cpu__msr_access, an
 * unknown MSR must exit too and #GP. count = MSR exits seen (expected 4). */
void doctor__probe_user_msr(struct penv *env, struct doctor_result *r)
{
	struct pvm p;
	struct pvm_opts o = { .msr_filter = true };
	if (with_vm(&p, env, &o, r))
		return;
	struct cpu_msr_state st;
	cpu__msr_init(&st);
	if (pvm_start(&p, S(msr), 0, 0)) {
		r->outcome = DOC_ERROR;
		goto out;
	}
	r->expected = 4;
	penv_arm(env, WATCHDOG_MS);
	uint64_t aux_back = 0;
	struct ev ev;
	for (;;) {
		ev = pvm_step(&p);
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
	penv_arm(env, 0);
	set_outcome_from(r, ev);
	if (r->outcome == DOC_FAULT && r->vector == 13)
		r->outcome = r->count == r->expected && aux_back == 7 ? DOC_OK : DOC_INEXACT;
	else if (r->outcome == DOC_OK)
		r->outcome = DOC_INEXACT;       /* the unknown MSR should have faulted */
	else if (r->outcome == DOC_FAULT && r->count == 0)
		r->outcome = DOC_NO_EXIT;
out:
	pvm_destroy(&p);
}
