/* guest_debug_patch.c — the debugger's HLT patches: software breakpoints for ring-0 code that work
 * where KVM's own breakpoints do not (HOST.md), hidden from everything outside the vCPU loop.
 * The contract is in guest_debug.h. */
#include "core/guest_debug.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"
#include "core/x86.h"
#include "record/recorder.h"
#include "replay/replayer.h"

#define OP_HLT 0xf4

int guest_debug__patchable(struct vm *vm, uint64_t gva, uint64_t *gpa, const char **why)
{
	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		*why = "cannot read the vCPU's paging state";
		return -errno;
	}
	bool user = false;
	if (x86__walk(&vm->mem, sr.cr0, sr.cr3, sr.cr4, sr.efer, sr.cs.l ? gva : gva + sr.cs.base, gpa, &user)) {
		*why = "the address is not mapped by the guest's page tables now";
		return -EFAULT;
	}
	if (user) {
		*why = "the address is in a user page: a HLT there would be a #GP in ring 3";
		return -EPERM;
	}
	const uint8_t *p = mem__ptr(&vm->mem, *gpa, 1);
	if (!p) {
		*why = "the address is not in guest RAM";
		return -EFAULT;
	}
	if (*p == OP_HLT) {
		*why = "the instruction is a HLT already";
		return -EEXIST;
	}
	return 0;
}

static void arm_one(struct vm *vm, struct gd_patch *p)
{
	uint8_t *b = mem__ptr(&vm->mem, p->gpa, 1);
	/* A HLT the guest put there since: its own exit, not ours. */
	if (!b || *b == OP_HLT)
		return;
	/* Not marked dirty for the snapshot store: disarm puts the byte back
	 * before any snapshot outside the loop can see the page. */
	p->orig = *b;
	*b = OP_HLT;
	p->armed = true;
}

static void disarm_one(struct vm *vm, struct gd_patch *p)
{
	uint8_t *b = mem__ptr(&vm->mem, p->gpa, 1);
	if (b && *b == OP_HLT)
		*b = p->orig;
	else
		vm->gdbg.patch_dropped++;   /* the guest wrote there: its byte is the truth now */
	p->armed = false;
}

int guest_debug__patch_add(struct vm *vm, enum gd_patch_use use, uint64_t gva, const char **why)
{
	struct guest_debug *g = &vm->gdbg;
	int idx = -1;
	/* Ours already (inside the loop patchable() would see our own HLT). */
	for (int i = 0; i < g->npatch; i++)
		if (g->patch[i].uses && g->patch[i].gva == gva)
			idx = i;
	uint64_t gpa = 0;
	int rc = guest_debug__patchable(vm, gva, &gpa, why);
	if (idx >= 0 && (rc == -EEXIST || (!rc && gpa == g->patch[idx].gpa))) {
		g->patch[idx].uses |= (uint8_t)use;
		return idx;
	}
	if (rc)
		return rc;
	idx = -1;
	for (int i = 0; i < g->npatch; i++)
		if (g->patch[i].uses && g->patch[i].gpa == gpa) {
			g->patch[i].uses |= (uint8_t)use;
			return i;
		}
	for (int i = 0; i < g->npatch && idx < 0; i++)
		if (!g->patch[i].uses)
			idx = i;
	if (idx < 0) {
		if (g->npatch >= GD_PATCHES) {
			*why = "too many software breakpoints (64)";
			return -ENOSPC;
		}
		idx = g->npatch++;
	}
	g->patch[idx] = (struct gd_patch){ .gva = gva, .gpa = gpa, .uses = (uint8_t)use };
	if (g->in_loop)
		arm_one(vm, &g->patch[idx]);
	return idx;
}

void guest_debug__patch_drop(struct vm *vm, int idx, enum gd_patch_use use)
{
	struct guest_debug *g = &vm->gdbg;
	if (idx < 0 || idx >= g->npatch)
		return;
	struct gd_patch *p = &g->patch[idx];
	p->uses &= (uint8_t)~use;
	if (p->uses)
		return;
	if (p->armed)
		disarm_one(vm, p);
	memset(p, 0, sizeof(*p));
	while (g->npatch > 0 && !g->patch[g->npatch - 1].uses)
		g->npatch--;
}

void guest_debug__patch_release(struct vm *vm, unsigned uses)
{
	struct guest_debug *g = &vm->gdbg;
	for (int i = g->npatch - 1; i >= 0; i--)   /* patch_drop shrinks npatch from the top */
		guest_debug__patch_drop(vm, i, (enum gd_patch_use)uses);
	if (uses & GD_USES_GDB)
		g->patch_hit = g->irq_patch = g->hlt_patch = -1;
}

void guest_debug__patch_arm(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	g->in_loop = true;
	for (int i = 0; i < g->npatch; i++)
		if (g->patch[i].uses && !g->patch[i].armed && !g->patch[i].lifted)
			arm_one(vm, &g->patch[i]);
}

void guest_debug__patch_disarm(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	g->in_loop = false;
	for (int i = 0; i < g->npatch; i++) {
		if (g->patch[i].armed)
			disarm_one(vm, &g->patch[i]);
		g->patch[i].lifted = false;
	}
}

bool guest_debug__patch_exit(struct vm *vm)
{
	struct guest_debug *g = &vm->gdbg;
	if (!g->npatch)
		return false;
	struct kvm_regs regs;
	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return false;
	/* KVM skips the HLT before it exits: RIP is one past the patched byte.
	 * A guest HLT right before a patched instruction exits with RIP at the
	 * patch, so RIP itself is never taken for a hit. */
	uint64_t at = regs.rip - 1, gpa;
	int idx = -1;
	for (int i = 0; i < g->npatch; i++)
		if (g->patch[i].uses && g->patch[i].armed && g->patch[i].gva == at)
			idx = i;
	if (idx < 0 || x86__gva_to_gpa(&vm->mem, sr.cr0, sr.cr3, sr.cr4, sr.efer, sr.cs.l ? at : at + sr.cs.base,
				       &gpa) || gpa != g->patch[idx].gpa)
		return false;
	regs.rip = at;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		vm__request_stop(vm, VM_STOP_ERROR, -errno, "cannot rewind RIP to the breakpoint at 0x%llx",
				 (unsigned long long)at);
		return true;
	}
	if (vm->sync_regs)
		vm->run->s.regs.regs.rip = at;
	g->pc = at;
	g->dr6 = 0;
	g->hit = g->gdb_hit = 0;
	g->patch_hits++;
	/* The trap after a HLT or on an interrupt handler that gdb's step was
	 * suspended for: that is the step (guest_debug__resume_step). */
	uint8_t uses = g->patch[idx].uses;
	bool resume = (uses & GD_USE_RESUME) && (idx == g->irq_patch || idx == g->hlt_patch);
	g->patch_hit = (uses & GD_USE_BREAK) ? idx : -1;
	g->stepped = false;
	if (resume) {
		guest_debug__resume_step(vm);
		g->stepped = (g->step & GD_STEP_GDB) != 0;
	}
	g->gdb_stop = g->patch_hit >= 0 || g->stepped;
	/* The replayer's landmark (it may drop or lift the patch: idx is not
	 * used after this). */
	if ((uses & GD_USE_LANDMARK) && vm->rep)
		replayer__debug(vm->rep, vm);
	if ((uses & GD_USE_PROBE) && vm->rec)
		recorder__probe_step(vm->rec, vm);
	guest_debug__settle(vm);
	return true;
}

void guest_debug__patch_lift(struct vm *vm, int idx)
{
	struct guest_debug *g = &vm->gdbg;
	if (idx < 0 || idx >= g->npatch || !g->patch[idx].uses)
		return;
	if (g->patch[idx].armed)
		disarm_one(vm, &g->patch[idx]);
	g->patch[idx].lifted = true;
}

void guest_debug__patch_unlift(struct vm *vm, int idx)
{
	struct guest_debug *g = &vm->gdbg;
	if (idx < 0 || idx >= g->npatch || !g->patch[idx].lifted)
		return;
	g->patch[idx].lifted = false;
	if (g->in_loop && g->patch[idx].uses)
		arm_one(vm, &g->patch[idx]);
}

void guest_debug__patch_mask(const struct vm *vm, uint64_t gpa, uint8_t *buf, size_t len)
{
	const struct guest_debug *g = &vm->gdbg;
	for (int i = 0; i < g->npatch; i++)
		if (g->patch[i].armed && g->patch[i].gpa >= gpa && g->patch[i].gpa - gpa < len)
			buf[g->patch[i].gpa - gpa] = g->patch[i].orig;
}
