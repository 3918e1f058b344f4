/* guest_debug.c — composes debug registers and single-step requests into one KVM_SET_GUEST_DEBUG. */
#include "core/guest_debug.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vcpu.h"
#include "core/vm.h"
#include "core/x86.h"
#include "record/recorder.h"
#include "replay/replayer.h"

#define DR6_BS (1ull << 14)

int guest_debug__apply(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	struct kvm_guest_debug dbg;
	memset(&dbg, 0, sizeof(dbg));
	uint64_t dr7 = 0;
	for (int i = 0; i < GD_SLOTS; i++) {
		const struct gd_slot *s = &g->slot[i];
		if (s->owner == GD_FREE || !s->enabled)
			continue;
		unsigned lenbits = s->type == GD_EXEC ? 0 : s->len == 8 ? 2 : s->len == 4 ? 3 : s->len == 2 ? 1 : 0;
		dbg.arch.debugreg[i] = s->addr;
		dr7 |= 1ull << (2 * i);                              /* L<i> */
		dr7 |= (uint64_t)(s->type | lenbits << 2) << (16 + 4 * i);
	}
	if (dr7) {
		dbg.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[7] = dr7;
	}
	if (g->step)
		dbg.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		g->last_errno = errno;
		return -errno;
	}
	g->last_errno = 0;
	return 0;
}

int guest_debug__alloc(struct vm *vm, enum gd_owner owner, enum gd_type type, uint64_t addr, unsigned len)
{
	struct guest_debug *g = &vm->gdbg;
	/* Landmarks take the highest free slot, the debugger the lowest: they
	 * meet in the middle only when all four are in use. */
	for (int k = 0; k < GD_SLOTS; k++) {
		int i = owner == GD_OWNER_REPLAY ? GD_SLOTS - 1 - k : k;
		if (g->slot[i].owner == GD_FREE) {
			g->slot[i] = (struct gd_slot){ .owner = (uint8_t)owner, .type = (uint8_t)type,
						       .len = (uint8_t)len, .enabled = true, .addr = addr };
			return i;
		}
	}
	return -ENOSPC;
}

void guest_debug__free(struct vm *vm, int slot)
{
	if (slot >= 0 && slot < GD_SLOTS)
		memset(&vm->gdbg.slot[slot], 0, sizeof(vm->gdbg.slot[slot]));
}

void guest_debug__release(struct vm *vm, enum gd_owner owner)
{
	for (int i = 0; i < GD_SLOTS; i++)
		if (vm->gdbg.slot[i].owner == owner)
			guest_debug__free(vm, i);
	if (owner == GD_OWNER_REPLAY) {
		vm->gdbg.step &= ~(unsigned)GD_STEP_REPLAY;
		guest_debug__patch_release(vm, GD_USE_LANDMARK);
	}
	if (owner == GD_OWNER_GDB) {
		vm->gdbg.step &= ~(unsigned)GD_STEP_GDB;
		vm->gdbg.irq_slot = vm->gdbg.hlt_slot = -1;
		vm->gdbg.irq_step_suspended = false;
		guest_debug__patch_release(vm, GD_USES_GDB);
	}
}

static void suspend_for_irq(struct vm *vm, uint32_t vector);

int guest_debug__step(struct vm *vm, enum gd_stepper who, bool on)
{
	struct guest_debug *g = &vm->gdbg;
	bool begins = on && who == GD_STEP_GDB && !(g->step & GD_STEP_GDB) && !g->irq_step_suspended;
	if (on)
		g->step |= who;
	else
		g->step &= ~(unsigned)who;
	/* An interrupt already queued goes in with this entry: not with TF. */
	if (begins && g->queued_irq)
		suspend_for_irq(vm, (uint32_t)g->queued_irq - 1);
	return guest_debug__apply(vm);
}

/* Drops the resume traps (slots and patches) of a suspended gdb step. */
static void drop_resume_traps(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	if (g->irq_slot >= 0 && g->irq_slot < GD_SLOTS && g->slot[g->irq_slot].owner == GD_OWNER_GDB)
		guest_debug__free(vm, g->irq_slot);
	if (g->hlt_slot >= 0 && g->hlt_slot < GD_SLOTS && g->slot[g->hlt_slot].owner == GD_OWNER_GDB)
		guest_debug__free(vm, g->hlt_slot);
	guest_debug__patch_drop(vm, g->irq_patch, GD_USE_RESUME);
	guest_debug__patch_drop(vm, g->hlt_patch, GD_USE_RESUME);
	g->irq_slot = g->hlt_slot = g->irq_patch = g->hlt_patch = -1;
}

/* Suspends gdb's single-step until execution reaches `pc`: a HLT patch
 * there where the code allows it (it fires on every host), else a debug
 * register. Stores the trap in *slot or *patch. */
static void suspend_until(struct vm *vm, uint64_t pc, int *slot, int *patch)
{
	struct guest_debug *g = &vm->gdbg;
	const char *why;
	*patch = guest_debug__patch_add(vm, GD_USE_RESUME, pc, &why);
	if (*patch < 0) {
		*patch = -1;
		*slot = guest_debug__alloc(vm, GD_OWNER_GDB, GD_EXEC, pc, 1);
		if (*slot < 0)
			return;
	}
	g->step &= ~(unsigned)GD_STEP_GDB;
	g->irq_step_suspended = true;
	guest_debug__apply(vm);
}

void guest_debug__resume_step(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	drop_resume_traps(vm);
	if (g->irq_step_suspended)
		g->step |= GD_STEP_GDB;
	g->irq_step_suspended = false;
	guest_debug__apply(vm);   /* re-arms TF at this RIP */
}

/* Suspends gdb's step until the handler of `vector` (the IDT's entry). */
static void suspend_for_irq(struct vm *vm, uint32_t vector)
{
	struct guest_debug *g = &vm->gdbg;
	struct kvm_sregs s;
	uint8_t d[16];
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0 ||
	    x86__read_virt(&vm->mem, &s, s.idt.base + 16ull * vector, d, 16) != 16)
		return;
	uint64_t handler = (uint64_t)(d[0] | d[1] << 8) | (uint64_t)(d[6] | d[7] << 8) << 16 |
			   (uint64_t)(d[8] | d[9] << 8 | d[10] << 16 | (uint32_t)d[11] << 24) << 32;
	if (g->irq_slot >= 0 && g->irq_slot < GD_SLOTS && g->slot[g->irq_slot].owner == GD_OWNER_GDB)
		guest_debug__free(vm, g->irq_slot);
	guest_debug__patch_drop(vm, g->irq_patch, GD_USE_RESUME);
	g->irq_slot = g->irq_patch = -1;
	/* Deliver with TF clear: the interrupt frame must hold the guest's own
	 * RFLAGS (a TF in it would leak into guest memory and come back at
	 * IRETQ). Stepping resumes at the handler's trap. */
	suspend_until(vm, handler, &g->irq_slot, &g->irq_patch);
}

void guest_debug__injected(struct vm *vm, uint32_t vector)
{
	struct guest_debug *g = &vm->gdbg;
	if (vector > 255)
		return;
	g->queued_irq = (int)vector + 1;
	if ((g->step & GD_STEP_GDB) || g->irq_step_suspended)
		suspend_for_irq(vm, vector);
}

void guest_debug__delivered(struct vm *vm)
{
	vm->gdbg.queued_irq = 0;
}

void guest_debug__step_over_hlt(struct vm *vm, uint64_t next)
{
	struct guest_debug *g = &vm->gdbg;
	if (g->hlt_slot >= 0 && g->hlt_slot < GD_SLOTS && g->slot[g->hlt_slot].owner == GD_OWNER_GDB)
		guest_debug__free(vm, g->hlt_slot);
	guest_debug__patch_drop(vm, g->hlt_patch, GD_USE_RESUME);
	g->hlt_slot = g->hlt_patch = -1;
	suspend_until(vm, next, &g->hlt_slot, &g->hlt_patch);
}

static bool resume_slot_at(struct guest_debug *g, int slot, uint64_t pc)
{
	return slot >= 0 && slot < GD_SLOTS && g->slot[slot].owner == GD_OWNER_GDB && g->slot[slot].addr == pc;
}

void guest_debug__exit(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	g->dr6 = vm->run->debug.arch.dr6;
	g->pc = vm->run->debug.arch.pc;
	g->patch_hit = -1;
	/* The breakpoint after a HLT or on the handler of an interrupt gdb's
	 * stepping was suspended for: that is gdb's step. */
	if (resume_slot_at(g, g->irq_slot, g->pc) || resume_slot_at(g, g->hlt_slot, g->pc)) {
		guest_debug__resume_step(vm);
		g->dr6 = (g->dr6 & ~0xfull) | (1ull << 14);
	}
	g->hit = 0;
	for (int i = 0; i < GD_SLOTS; i++)
		if (g->slot[i].owner != GD_FREE && g->slot[i].enabled && (g->dr6 & (1ull << i)))
			g->hit |= 1u << i;
	g->stepped = g->step && (g->dr6 & DR6_BS);
	if (!g->hit && !g->stepped) {
		/* No usable DR6: an armed execute breakpoint at the PC, else the step. */
		for (int i = 0; i < GD_SLOTS; i++)
			if (g->slot[i].owner != GD_FREE && g->slot[i].enabled && g->slot[i].type == GD_EXEC &&
			    g->slot[i].addr == g->pc)
				g->hit |= 1u << i;
		if (!g->hit)
			g->stepped = g->step != 0;
	}
	unsigned rep_hit = 0;
	g->gdb_hit = 0;
	for (int i = 0; i < GD_SLOTS; i++) {
		if (!(g->hit & (1u << i)))
			continue;
		if (g->slot[i].owner == GD_OWNER_REPLAY)
			rep_hit |= 1u << i;
		else
			g->gdb_hit |= 1u << i;
	}
	bool rep_step = g->stepped && (g->step & GD_STEP_REPLAY);
	g->gdb_stop = g->gdb_hit || (g->stepped && (g->step & GD_STEP_GDB));
	bool probe_step = g->stepped && (g->step & GD_STEP_PROBE);   /* (the probe may end its step) */
	if (vm->rec && probe_step)
		recorder__probe_step(vm->rec, vm);
	if (vm->rep && (rep_hit || rep_step))
		replayer__debug(vm->rep, vm);
	else if (!g->gdb_stop && !probe_step && !(g->stepped && (g->step & GD_STEP_LOOP)))
		vm__request_stop(vm, VM_STOP_ERROR, -EINVAL,
				 "unexpected debug exit at 0x%llx (DR6 0x%llx)", (unsigned long long)g->pc,
				 (unsigned long long)g->dr6);
	guest_debug__settle(vm);
}

void guest_debug__settle(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	if (g->gdb_stop && g->filter && vm->stop == VM_STOP_NONE && !g->filter(vm, g->filter_ctx))
		g->gdb_stop = false;
	if (g->gdb_stop)
		vm__request_stop(vm, VM_STOP_DEBUG, 0, "debugger stop at 0x%llx", (unsigned long long)g->pc);
}

void guest_debug__interrupt(struct vm *vm)
{
	vm->gdbg.interrupt = 1;
	if (vm->vcpu_thread)
		pthread_kill(vm->vcpu_thread, VCPU_KICK_SIGNAL);
}
