/* exec.c — forward legs under the debugger: debug-register breakpoints, step-over, trap classification. */
#include "gdb/exec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/guest_debug.h"
#include "core/x86.h"
#include <sys/ioctl.h>
#include "core/vm.h"
#include "gdb/regs.h"

static enum gd_type gd_type_of(enum gdb_bp_type t)
{
	return t == GDB_WP_WRITE ? GD_WRITE : (t == GDB_WP_READ || t == GDB_WP_ACCESS) ? GD_ACCESS : GD_EXEC;
}

int exec__insert(struct exec *e, struct vm *vm, enum gdb_bp_type type, uint64_t addr, uint64_t len,
		 const char **why)
{
	if (type > GDB_WP_ACCESS)
		return -ENOTSUP;
	if (type >= GDB_WP_WRITE) {
		if ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))) {
			*why = "a watchpoint must cover 1, 2, 4 or 8 aligned bytes (one debug register)";
			return -EINVAL;
		}
	}
	for (int i = 0; i < e->nbp; i++)
		if (e->bp[i].type == type && e->bp[i].addr == addr && e->bp[i].len == len) {
			e->bp[i].refs++;
			return 0;
		}
	if (e->nbp >= EXEC_MAX_BPS) {
		*why = "too many breakpoints and watchpoints (64); delete one";
		return -ENOSPC;
	}
	/* A software breakpoint in supervisor code is a HLT patch: no slot. */
	bool hw = type != GDB_BP_SW;
	const char *nopatch = NULL;
	uint64_t gpa;
	if (!hw && guest_debug__patchable(vm, addr, &gpa, &nopatch))
		hw = true;
	/* Debug registers: 4, one kept for replay landmarks and one for the
	 * replay engine's own position trap. Sharing an address shares a slot. */
	int slots = 0;
	for (int i = 0; i < e->nbp; i++) {
		bool shared = !e->bp[i].hw;
		for (int j = 0; j < i; j++)
			shared |= e->bp[j].hw && gd_type_of(e->bp[j].type) == gd_type_of(e->bp[i].type) &&
				  e->bp[j].addr == e->bp[i].addr;
		slots += !shared;
	}
	if (hw && slots >= GD_SLOTS - 2) {
		*why = nopatch ? "no debug register left for this breakpoint, and it cannot be a HLT patch here "
				 "(HLT patches need supervisor-only code that is mapped now); delete a hardware "
				 "breakpoint or watchpoint"
			       : "no debug register left: this stub has 2 for hardware breakpoints and watchpoints "
				 "(4 in the CPU, one kept for replay landmarks, one for reverse execution); delete one";
		if (nopatch)
			fprintf(stderr, "rrvm gdb: breakpoint at 0x%llx: %s\n", (unsigned long long)addr, nopatch);
		return -ENOSPC;
	}
	if (nopatch) {
		snprintf(e->note, sizeof(e->note), "breakpoint at 0x%llx uses a debug register, not a HLT patch: %s "
			 "(debug registers do not fire on every host: rrvm doctor)", (unsigned long long)addr, nopatch);
		fprintf(stderr, "rrvm gdb: %s\n", e->note);
	}
	e->bp[e->nbp++] = (struct exec_bp){ .type = type, .addr = addr, .len = type >= GDB_WP_WRITE ? len : 1,
					    .refs = 1, .hw = hw };
	return 0;
}

int exec__remove(struct exec *e, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	for (int i = 0; i < e->nbp; i++) {
		if (e->bp[i].type != type || e->bp[i].addr != addr)
			continue;
		if (--e->bp[i].refs <= 0)
			e->bp[i] = e->bp[--e->nbp];
		return 0;
	}
	return -ENOENT;
}

/* Reads a watched location through the guest's page tables (0s when unmapped). */
static void watch_value(struct vm *vm, const struct kvm_sregs *sr, const struct exec_bp *b, uint8_t *out)
{
	memset(out, 0, 8);
	x86__read_virt(&vm->mem, sr, b->addr, out, b->len);
}

/* Loads gdb's slots into the VM's debug registers. When stepping, execute
 * breakpoints are checked by address after each step instead. */
static int load(struct exec *e, struct vm *vm)
{
	for (int i = 0; i < GD_SLOTS; i++)
		if (vm->gdbg.slot[i].owner == GD_OWNER_GDB)
			guest_debug__free(vm, i);
	vm->gdbg.irq_slot = vm->gdbg.hlt_slot = -1;
	vm->gdbg.irq_step_suspended = false;
	guest_debug__patch_release(vm, GD_USES_GDB);
	for (int i = 0; i < e->nbp + e->nextra; i++) {
		bool extra = i >= e->nbp;
		enum gd_type t = extra ? GD_EXEC : gd_type_of(e->bp[i].type);
		uint64_t addr = extra ? e->extra[i - e->nbp] : e->bp[i].addr;
		unsigned len = extra ? 1 : (unsigned)e->bp[i].len;
		if (t == GD_EXEC ? e->stepping : e->sw_watch)
			continue;
		/* Execute traps: a HLT patch wherever the code allows (decided per
		 * leg: a seek may have changed the page tables). */
		const char *why;
		bool unmapped = false;
		if (t == GD_EXEC && (extra || e->bp[i].type == GDB_BP_SW)) {
			int rc = guest_debug__patch_add(vm, GD_USE_BREAK, addr, &why);
			if (rc >= 0)
				continue;
			unmapped = rc == -EFAULT;
		}
		bool dup = false;
		for (int s = 0; s < GD_SLOTS; s++)
			dup |= vm->gdbg.slot[s].owner == GD_OWNER_GDB && vm->gdbg.slot[s].type == t &&
			       vm->gdbg.slot[s].addr == addr;
		/* Code not mapped now cannot run before a later leg maps it. */
		if (!dup && guest_debug__alloc(vm, GD_OWNER_GDB, t, addr, len) < 0 && !unmapped)
			return -ENOSPC;
	}
	return guest_debug__apply(vm);
}

/* Classifies the debug stop the loop just made. */
static void classify(struct exec *e, struct vm *vm, struct exec_trap *t)
{
	struct guest_debug *g = &vm->gdbg;
	memset(t, 0, sizeof(*t));
	t->pc = g->pc;
	t->stepped = g->stepped && (g->step & GD_STEP_GDB);
	t->bp = -1;
	if (g->patch_hit >= 0 && g->patch_hit < g->npatch) {
		/* A HLT patch: an execute trap at its address. */
		for (int i = 0; i < e->nbp; i++)
			if (e->bp[i].type <= GDB_BP_HW && e->bp[i].addr == t->pc && t->bp < 0)
				t->bp = i;
		for (int i = 0; i < e->nextra; i++)
			t->extra |= e->extra[i] == t->pc;
	}
	for (int s = 0; s < GD_SLOTS; s++) {
		if (!(g->gdb_hit & (1u << s)))
			continue;
		const struct gd_slot *sl = &g->slot[s];
		for (int i = 0; i < e->nbp; i++)
			if (gd_type_of(e->bp[i].type) == sl->type && e->bp[i].addr == sl->addr &&
			    (t->bp < 0 || e->bp[i].type >= GDB_WP_WRITE))
				t->bp = i;
		for (int i = 0; i < e->nextra; i++)
			if (sl->type == GD_EXEC && sl->addr == e->extra[i])
				t->extra = true;
	}
	if (!e->stepping || !t->stepped)
		return;
	/* Stepping: execute breakpoints by address, watched values by comparison. */
	for (int i = 0; i < e->nbp; i++)
		if (e->bp[i].type <= GDB_BP_HW && e->bp[i].addr == t->pc && t->bp < 0)
			t->bp = i;
	for (int i = 0; i < e->nextra; i++)
		t->extra |= e->extra[i] == t->pc;
	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return;
	t->ring3 = (sr.cs.selector & 3) == 3;
	if (!e->sw_watch)
		return;
	for (int i = 0; i < e->nbp; i++) {
		if (e->bp[i].type < GDB_WP_WRITE)
			continue;
		uint8_t v[8];
		watch_value(vm, &sr, &e->bp[i], v);
		if (memcmp(v, e->wval[i], 8)) {
			memcpy(e->wval[i], v, 8);
			if (e->bp[i].type != GDB_WP_READ)
				t->bp = i;
		}
	}
}

/* guest_debug filter: in the vCPU thread, at each of gdb's traps. When the
 * guest runs on past an execute breakpoint, that breakpoint is disarmed for
 * one single-step (this host ignores RF), then re-armed. */
static bool filter(struct vm *vm, void *ctx)
{
	struct exec *e = ctx;
	struct exec_trap t;
	classify(e, vm, &t);
	if ((e->overstep || e->overpatch >= 0) && t.stepped) {
		for (int s = 0; s < GD_SLOTS; s++)
			if (e->overstep & (1u << s))
				vm->gdbg.slot[s].enabled = true;
		e->overstep = 0;
		guest_debug__patch_unlift(vm, e->overpatch);
		e->overpatch = -1;
		guest_debug__step(vm, GD_STEP_GDB, e->stepping);
		if (!e->stepping) {
			t.stepped = false;
			if (t.bp < 0 && !t.extra)
				return false;   /* the step over a breakpoint: not a trap of its own */
		}
	}
	if (t.stepped)
		e->steps++;
	e->last = t;
	if (e->trace)
		fprintf(stderr, "rrvm gdb exec: pc 0x%llx%s%s bp %d exits %llu irqs %llu\n", (unsigned long long)t.pc,
			t.stepped ? " step" : "", t.extra ? " extra" : "", t.bp, (unsigned long long)vm->exits,
			(unsigned long long)vm->irqs_injected);
	if (t.ring3 && e->stepping)
		return true;
	bool stop = e->on_trap ? e->on_trap(e->scan_ctx, vm, &t) != 0 : (e->want_step || t.bp >= 0 || t.extra);
	if (!stop && e->stepping) {
		struct kvm_sregs sr;
		uint8_t op = 0;
		if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) == 0 && x86__read_virt(&vm->mem, &sr, t.pc, &op, 1) == 1 &&
		    op == 0xf4)
			guest_debug__step_over_hlt(vm, t.pc + 1);   /* the HLT exit must happen */
		else
			guest_debug__apply(vm);   /* TF again at this RIP: IRETQ/POPF may have cleared it */
	}
	if (!stop && !e->stepping) {
		unsigned exec_hit = 0;
		for (int s = 0; s < GD_SLOTS; s++)
			if ((vm->gdbg.gdb_hit & (1u << s)) && vm->gdbg.slot[s].type == GD_EXEC) {
				exec_hit |= 1u << s;
				vm->gdbg.slot[s].enabled = false;
			}
		/* A HLT patch: the guest's byte back for one single-step. */
		if (vm->gdbg.patch_hit >= 0) {
			guest_debug__patch_lift(vm, vm->gdbg.patch_hit);
			e->overpatch = vm->gdbg.patch_hit;
		}
		if (exec_hit || e->overpatch >= 0) {
			e->overstep = exec_hit;
			guest_debug__step(vm, GD_STEP_GDB, true);
		}
	}
	return stop;
}

static int run_once(struct exec *e, struct vm *vm, enum exec_result *res, struct exec_trap *t)
{
	int rc = load(e, vm);
	if (rc)
		return rc;
	if ((rc = guest_debug__step(vm, GD_STEP_GDB, e->stepping)))
		return rc;
	if (e->stepping) {
		struct kvm_regs r;
		struct kvm_sregs sr;
		uint8_t op = 0;
		if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) == 0 && ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) == 0 &&
		    x86__read_virt(&vm->mem, &sr, r.rip, &op, 1) == 1 && op == 0xf4)
			guest_debug__step_over_hlt(vm, r.rip + 1);   /* the HLT exit must happen */
	}
	if (e->sw_watch) {
		struct kvm_sregs sr;
		if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
			return -errno;
		for (int i = 0; i < e->nbp; i++)
			if (e->bp[i].type >= GDB_WP_WRITE)
				watch_value(vm, &sr, &e->bp[i], e->wval[i]);
	}
	vm->stop = VM_STOP_NONE;
	vm->stop_msg[0] = 0;
	vm->gdbg.gdb_stop = false;
	vm->gdbg.gdb_hit = 0;
	vm->gdbg.filter = filter;
	vm->gdbg.filter_ctx = e;
	e->overstep = 0;
	e->overpatch = -1;
	rc = e->run(e->ctx, vm);
	vm->gdbg.filter = NULL;
	guest_debug__step(vm, GD_STEP_GDB, false);
	if (rc < 0 && vm->stop == VM_STOP_ERROR)
		return rc;
	if (vm->stop != VM_STOP_DEBUG) {
		*res = EXEC_OTHER;
		return 0;
	}
	if (!vm->gdbg.gdb_stop) {
		*res = EXEC_INTERRUPTED;
		return 0;
	}
	*t = e->last;
	*res = EXEC_TRAP;
	return 0;
}

static bool has_sw_watch(const struct exec *e)
{
	for (int i = 0; i < e->nbp; i++)
		if (e->bp[i].type >= GDB_WP_WRITE)
			return e->sw_watch;
	return false;
}

int exec__leg(struct exec *e, struct vm *vm, bool step, enum exec_result *res, struct exec_trap *t)
{
	memset(t, 0, sizeof(*t));
	t->bp = -1;
	uint64_t rip;
	unsigned cpl;
	int rc = gdb_regs__pc(vm, &rip, &cpl);
	if (rc)
		return rc;
	bool stepping = step || has_sw_watch(e);
	/* Step over an execute breakpoint we sit on: this host ignores RF. */
	bool sat = false;
	if (e->sitting && !stepping) {
		for (int i = 0; i < e->nbp; i++)
			sat |= e->bp[i].type <= GDB_BP_HW && e->bp[i].addr == rip;
		for (int i = 0; i < e->nextra; i++)
			sat |= e->extra[i] == rip;
	}
	if (sat) {
		e->stepping = true;
		e->want_step = true;
		int (*saved)(void *, struct vm *, const struct exec_trap *) = e->on_trap;
		e->on_trap = NULL;
		rc = run_once(e, vm, res, t);
		e->on_trap = saved;
		if (rc)
			return rc;
		if (*res != EXEC_TRAP || t->bp >= 0 || t->ring3 || (saved && saved(e->scan_ctx, vm, t))) {
			e->sitting = *res != EXEC_OTHER;
			return 0;
		}
	}
	e->stepping = stepping;
	e->want_step = step;
	rc = run_once(e, vm, res, t);
	e->sitting = *res != EXEC_OTHER;
	return rc;
}
void exec__trap_stop(const struct exec *e, const struct exec_trap *t, struct gdb_stop *st)
{
	st->kind = GDB_STOP_SIGNAL;
	st->signo = 5;
	if (t->bp >= 0) {
		const struct exec_bp *b = &e->bp[t->bp];
		if (b->type >= GDB_WP_WRITE) {
			st->kind = GDB_STOP_WATCH;
			st->watch_type = b->type;
			st->watch_addr = b->addr;
		} else if (!t->stepped || t->pc == b->addr) {
			st->kind = GDB_STOP_BREAK;
			st->hw = b->type == GDB_BP_HW;
		}
	}
}
