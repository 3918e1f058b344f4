/* doctor_vm.c — the probe-VM machinery: a watchdog per child process, tiny VMs that run a snippet at CPL0 or CPL3. */
#include "core/doctor_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/x86.h"

/* CPL3 entry: iretq to the body with user selectors and the user stack. */
__asm__(".pushsection .rodata\n"
	PROBE_BODY(prelude3, "pushq $0x2b\npushq $0x6f000\npushq $0x2\npushq $0x33\npushq $0x10100\niretq\n")
	".popsection\n");
PROBE_SNIP(prelude3)

/* ---- Time and the watchdog. ---- */

double doctor__now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_probe_signal(int sig)
{
	(void)sig;
}


/* Arms the watchdog (or a kick) `ms` from now; 0 disarms and drains. */
void penv__arm(struct penv *env, double ms)
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
	/* Probe VMs get everything KVM offers. */
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
	penv__arm(env, 0);
	timer_delete(env->timer);
	free(env->cpuid);
	free(env);
}

/* ---- One probe VM. ---- */



void pvm__destroy(struct pvm *p)
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

int pvm__create(struct pvm *p, struct penv *env, const struct pvm_opts *o)
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
	pvm__destroy(p);
	return rc;
}

/* Loads `s` and sets the vCPU to run it at `cpl` (3: through the iretq prelude). */
int pvm__start(struct pvm *p, struct snippet s, int cpl, uint64_t count)
{
	size_t len = (size_t)(s.end - s.start);
	if (len > 0xe00)
		return -E2BIG;
	int rc;
	if ((rc = mem__write(&p->mem, BODY_GPA, s.start, len)))
		return rc;
	/* cppcheck-suppress comparePointers ; start and end labels of one asm snippet */
	size_t prelude_len = (size_t)(doc_prelude3_end - doc_prelude3);
	if (cpl == 3 && (rc = mem__write(&p->mem, CODE_GPA, doc_prelude3, prelude_len)))
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



/* One KVM_RUN, classified. */
struct ev pvm__step(struct pvm *p)
{
	int rc = ioctl(p->vcpu_fd, KVM_RUN, 0);
	int e = errno;
	struct ev ev = { .t = doctor__now_s() };
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
void pvm__debug_fault(struct pvm *p, struct ev ev)
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
void doctor__outcome_from(struct doctor_result *r, struct ev ev)
{
	switch (ev.kind) {
	case EV_DONE: r->outcome = DOC_OK; break;
	case EV_FAULT: r->outcome = DOC_FAULT; r->vector = (uint8_t)ev.value; break;
	case EV_INTERNAL: r->outcome = DOC_REJECTED; break;
	case EV_INTR: r->outcome = DOC_TIMEOUT; break;
	default: r->outcome = DOC_ERROR; break;
	}
}

int pvm__set_debug(struct pvm *p, uint32_t control, uint64_t bp)
{
	struct kvm_guest_debug d = { .control = control };
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		d.arch.debugreg[0] = bp;
		d.arch.debugreg[7] = 0x1;       /* L0, execute, 1 byte */
	}
	return ioctl(p->vcpu_fd, KVM_SET_GUEST_DEBUG, &d) < 0 ? -errno : 0;
}


/* Runs until a terminal event, skipping noise exits; counts them in *noise. */
struct ev pvm__run_plain(struct pvm *p, uint64_t *noise, double *t_ready)
{
	penv__arm(p->env, WATCHDOG_MS);
	struct ev ev;
	for (;;) {
		ev = pvm__step(p);
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
	penv__arm(p->env, 0);
	pvm__debug_fault(p, ev);
	return ev;
}

int pvm__create_for(struct pvm *p, struct penv *env, const struct pvm_opts *o, struct doctor_result *r)
{
	int rc = pvm__create(p, env, o);
	if (rc) {
		r->outcome = (rc == -EINVAL || rc == -ENOTSUP || rc == -ENOTTY) ? DOC_UNAVAILABLE : DOC_ERROR;
		r->count = (uint64_t)-rc;
	}
	return rc;
}
