/* cpu_state.c — the vCPU and monitor parts of a snapshot: read them from KVM and the monitor, write them back in a safe order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "core/vm.h"
#include "snapshot/snapshot.h"

/*
 * MSRs a snapshot keeps: the architectural ones the baseline and host CPU
 * profiles expose and KVM holds. Those this KVM cannot read are skipped
 * (KVM_GET_MSRS stops at the first it cannot read). Not here, on purpose:
 * EFER, FS/GS base (in SREGS); IA32_TSC, TSC_AUX, TSC_ADJUST, TSC_DEADLINE,
 * APERF/MPERF (time: answered from the monitor's virtual time through the
 * MSR filter, saved as monitor state); KVM paravirtual MSRs (hidden).
 */
static const uint32_t msr_list[] = {
	0x174, 0x175, 0x176,                            /* SYSENTER_CS/ESP/EIP */
	0x277,                                          /* PAT */
	0x1a0,                                          /* MISC_ENABLE */
	0x1d9,                                          /* DEBUGCTL */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
	0xc0000102,                                     /* KERNEL_GS_BASE */
	0x2ff,                                          /* MTRR default type */
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, /* fixed MTRRs */
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable MTRRs */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	0x48,                                           /* SPEC_CTRL */
};
_Static_assert(sizeof(msr_list) / sizeof(msr_list[0]) <= SNAP_MAX_MSRS, "SNAP_MAX_MSRS too small");

int snap__complete_io(struct vm *vm)
{
	/* The kvm_run fields the loop reads after an exit (exit_reason, the
	 * injection flags) stay as the exit left them: a straight run that never
	 * stopped here sees the same values. */
	struct kvm_run *run = vm->run;
	uint8_t kick = run->immediate_exit;
	uint32_t reason = run->exit_reason;
	uint8_t ready = run->ready_for_interrupt_injection, ifl = run->if_flag;
	uint16_t flags = run->flags;
	run->immediate_exit = 1;
	int r = ioctl(vm->vcpu_fd, KVM_RUN, 0), e = errno;
	run->immediate_exit = kick;
	run->exit_reason = reason;
	run->ready_for_interrupt_injection = ready;
	run->if_flag = ifl;
	run->flags = flags;
	if (r == 0)
		return -EIO;   /* it ran the guest: must not happen with immediate_exit */
	return e == EINTR ? 0 : -e;
}

static int get_msrs(struct vm *vm, struct snap_cpu *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} m;
	size_t n = sizeof(msr_list) / sizeof(msr_list[0]), i = 0;
	c->n_msrs = 0;
	while (i < n) {
		memset(&m, 0, sizeof(m));
		uint32_t k = 0;
		for (size_t j = i; j < n; j++)
			m.e[k++].index = msr_list[j];
		m.hdr.nmsrs = k;
		int got = ioctl(vm->vcpu_fd, KVM_GET_MSRS, &m);
		if (got < 0)
			return -errno;
		for (int j = 0; j < got; j++)
			c->msrs[c->n_msrs++] = m.e[j];
		i += (size_t)got + 1;   /* skip the one KVM could not read */
	}
	return 0;
}

int snap__cpu_get(struct vm *vm, struct snap_cpu *c, struct rrvm_err *err)
{
	memset(c, 0, sizeof(*c));
	const char *what;
	int rc;
	if ((rc = snap__complete_io(vm)))
		return err__set(err, rc, "snapshot: cannot complete the pending I/O instruction: %s", strerror(-rc));
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &c->regs) < 0) { what = "KVM_GET_REGS"; goto fail; }
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &c->sregs) < 0) { what = "KVM_GET_SREGS"; goto fail; }
	if (ioctl(vm->vcpu_fd, KVM_GET_FPU, &c->fpu) < 0) { what = "KVM_GET_FPU"; goto fail; }
	/* XSAVE through the ioctl works even where the guest cannot run the
	 * instruction (this host's ring 0); the 4 KiB area must hold it all. */
	c->has_xsave = vm->cap_xsave && vm->cap_xsave2 <= (int)sizeof(c->xsave) &&
		       ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &c->xsave) == 0;
	c->has_xcrs = vm->cap_xcrs &&
		      ioctl(vm->vcpu_fd, KVM_GET_XCRS, &c->xcrs) == 0;
	if (ioctl(vm->vcpu_fd, KVM_GET_DEBUGREGS, &c->debugregs) < 0) { what = "KVM_GET_DEBUGREGS"; goto fail; }
	if (ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &c->events) < 0) { what = "KVM_GET_VCPU_EVENTS"; goto fail; }
	if ((rc = get_msrs(vm, c)))
		return err__set(err, rc, "snapshot: KVM_GET_MSRS: %s", strerror(-rc));
	return 0;
fail:
	return err__set(err, -errno, "snapshot: %s: %s", what, strerror(errno));
}

/*
 * Restore order (each step's reason):
 *  1. Complete a pending I/O/MMIO instruction of the timeline being left
 *     (KVM_RUN, immediate_exit): otherwise the next KVM_RUN would finish it
 *     on top of the restored registers (this host loses EAX, HOST.md).
 *  2. SREGS first: CR0/CR3/CR4/EFER and the segments set the mode that
 *     everything below is interpreted in (CR4.OSXSAVE gates XCR0).
 *  3. MSRs after SREGS (EFER lives in SREGS; SYSCALL MSRs need long mode
 *     settled).
 *  4. XCRS before XSAVE: XCR0 says which XSAVE components are valid.
 *  5. XSAVE (or FPU where XSAVE is not available).
 *  6. REGS after SREGS (RIP/RFLAGS in the restored mode). KVM_SET_REGS drops
 *     a pending exception, so:
 *  7. DEBUGREGS, then VCPU_EVENTS last: the injected/pending exception,
 *     interrupt, NMI and the interrupt shadow (STI/MOV SS) survive only if
 *     set after REGS and SREGS.
 *  8. KVM_SET_GUEST_DEBUG off: breakpoints or single-step the monitor armed
 *     in the timeline left behind do not apply (replay never stops at a
 *     snapshot point with a landmark armed).
 *  9. Monitor state (snap__mon_set) writes kvm_run's if_flag and
 *     ready_for_interrupt_injection as they were at the snapshot's exit.
 * Saving reads in the same order after step 1; nothing runs in between.
 */
int snap__cpu_set(struct vm *vm, const struct snap_cpu *c, struct rrvm_err *err)
{
	const char *what;
	int rc = snap__complete_io(vm);
	if (rc)
		return err__set(err, rc, "restore: cannot complete the pending I/O instruction: %s", strerror(-rc));
	struct kvm_sregs sregs = c->sregs;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) { what = "KVM_SET_SREGS"; goto fail; }
	if (c->n_msrs) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e[SNAP_MAX_MSRS];
		} m;
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = c->n_msrs;
		memcpy(m.e, c->msrs, c->n_msrs * sizeof(m.e[0]));
		int set = ioctl(vm->vcpu_fd, KVM_SET_MSRS, &m);
		if (set < 0) { what = "KVM_SET_MSRS"; goto fail; }
		if ((uint32_t)set != c->n_msrs)
			return err__set(err, -EINVAL, "restore: KVM_SET_MSRS refused MSR 0x%x",
					c->msrs[set].index);
	}
	if (c->has_xcrs) {
		struct kvm_xcrs x = c->xcrs;
		if (ioctl(vm->vcpu_fd, KVM_SET_XCRS, &x) < 0) { what = "KVM_SET_XCRS"; goto fail; }
	}
	if (c->has_xsave) {
		struct kvm_xsave x = c->xsave;
		if (ioctl(vm->vcpu_fd, KVM_SET_XSAVE, &x) < 0) { what = "KVM_SET_XSAVE"; goto fail; }
	} else {
		struct kvm_fpu f = c->fpu;
		if (ioctl(vm->vcpu_fd, KVM_SET_FPU, &f) < 0) { what = "KVM_SET_FPU"; goto fail; }
	}
	struct kvm_regs regs = c->regs;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) { what = "KVM_SET_REGS"; goto fail; }
	struct kvm_debugregs dr = c->debugregs;
	if (ioctl(vm->vcpu_fd, KVM_SET_DEBUGREGS, &dr) < 0) { what = "KVM_SET_DEBUGREGS"; goto fail; }
	struct kvm_vcpu_events ev = c->events;
	ev.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |
		    KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	if (ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0) { what = "KVM_SET_VCPU_EVENTS"; goto fail; }
	/* What the restored vCPU has queued, not what it had before the restore
	 * (a gdb step must not wait for a handler that never runs). */
	vm->gdbg.queued_irq = ev.interrupt.injected && !ev.interrupt.soft ? ev.interrupt.nr + 1 : 0;
	struct kvm_guest_debug dbg = { .control = 0 };
	if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) { what = "KVM_SET_GUEST_DEBUG"; goto fail; }
	return 0;
fail:
	return err__set(err, -errno, "restore: %s: %s", what, strerror(errno));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void snap__mon_get(struct vm *vm, struct snap_mon *m)
{
	memset(m, 0, sizeof(*m));
	m->exits = vm->exits;
	m->guest_ns = vm__now_ns(vm);
	m->virt_ns = vm->virt_ns;
	m->wallclock_base = vm->wallclock_base;
	m->last_exit_guest = vm->last_exit_guest;
	m->deferred = vm->deferred;
	m->if_flag = vm->run->if_flag;
	m->ready_for_injection = vm->run->ready_for_interrupt_injection;
	m->request_window = vm->run->request_interrupt_window;
	m->rdtsc_valid = vm->rdtsc_last.valid;
	m->rdtsc_rdtscp = vm->rdtsc_last.rdtscp;
	m->rdtsc_rip = vm->rdtsc_last.rip;
	m->rdtsc_value = vm->rdtsc_last.value;
	m->rdtsc_aux = vm->rdtsc_last.aux;
	m->tsc_offset = vm->msr.tsc_offset;
	m->tsc_aux = vm->msr.tsc_aux;
	m->tsc_hz = vm->msr.tsc_hz;
	m->rdmsr_count = vm->msr.rdmsr_count;
	m->wrmsr_count = vm->msr.wrmsr_count;
	m->gp_count = vm->msr.gp_count;
	m->irqs_injected = vm->irqs_injected;
	m->kicks = vm->kicks;
}

void snap__mon_set(struct vm *vm, const struct snap_mon *m)
{
	vm->exits = m->exits;
	vm->virt_ns = m->virt_ns;
	/* Real clock: guest time continues from the snapshot's. */
	uint64_t now = mono_ns();
	if (vm->cfg.clock == CLOCK_REAL)
		vm->start_mono_ns = now > m->guest_ns ? now - m->guest_ns : 1;
	vm->wallclock_base = m->wallclock_base;
	vm->last_exit_guest = m->last_exit_guest;
	vm->deferred = m->deferred;
	vm->run->if_flag = m->if_flag;
	vm->run->ready_for_interrupt_injection = m->ready_for_injection;
	vm->run->request_interrupt_window = m->request_window;
	vm->rdtsc_last.valid = m->rdtsc_valid;
	vm->rdtsc_last.rdtscp = m->rdtsc_rdtscp;
	vm->rdtsc_last.rip = m->rdtsc_rip;
	vm->rdtsc_last.value = m->rdtsc_value;
	vm->rdtsc_last.aux = m->rdtsc_aux;
	vm->msr.tsc_offset = m->tsc_offset;
	vm->msr.tsc_aux = m->tsc_aux;
	vm->msr.tsc_hz = m->tsc_hz;
	vm->msr.rdmsr_count = m->rdmsr_count;
	vm->msr.wrmsr_count = m->wrmsr_count;
	vm->msr.gp_count = m->gp_count;
	vm->irqs_injected = m->irqs_injected;
	vm->kicks = m->kicks;
	vm->next_deadline_ns = UINT64_MAX;   /* the next poll recomputes it */
}
