/* target_live.c — the gdb target for a live VM (`rrvm run --gdb`): forward only, writes allowed. */
#include "gdb/target_live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/vm.h"
#include "gdb/exec.h"
#include "gdb/monitor.h"
#include "gdb/regs.h"

struct live {
	struct vm *vm;
	struct exec ex;
	struct gdb_stop last;
	bool ended;            /* the guest stopped for good */
};

static int live_run(void *ctx, struct vm *vm)
{
	return vm__run(vm);
}

static struct vm *live_vm(void *t) { return ((struct live *)t)->vm; }
static const char *live_write_refused(void *t) { return NULL; }

static int live_insert(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len, const char **why)
{
	struct live *l = t;
	return exec__insert(&l->ex, l->vm, type, addr, len, why);
}

static int live_remove(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	return exec__remove(&((struct live *)t)->ex, type, addr, len);
}

static void live_interrupt(void *t) { guest_debug__interrupt(((struct live *)t)->vm); }

static void live_last_stop(void *t, struct gdb_stop *st) { *st = ((struct live *)t)->last; st->note[0] = 0; }

static int live_resume(void *t, enum gdb_resume how, struct gdb_stop *st)
{
	struct live *l = t;
	memset(st, 0, sizeof(*st));
	if (l->ended) {
		*st = l->last;
		snprintf(st->note, sizeof(st->note), "the guest has stopped for good: %.400s", l->vm->stop_msg);
		return 0;
	}
	uint64_t rip;
	unsigned cpl;
	if (how == GDB_RESUME_STEP && gdb_regs__pc(l->vm, &rip, &cpl) == 0 && cpl == 3 && !monitor__host_steps_ring3()) {
		st->kind = GDB_STOP_SIGNAL;
		st->signo = 5;
		snprintf(st->note, sizeof(st->note), "cannot single-step guest ring-3 code on this host "
			 "(its KVM delivers the trap to the guest); set a breakpoint in ring 0 and continue");
		return 0;
	}
	enum exec_result res;
	struct exec_trap trap;
	int rc = exec__leg(&l->ex, l->vm, how == GDB_RESUME_STEP, &res, &trap);
	if (rc)
		return rc;
	switch (res) {
	case EXEC_TRAP:
		exec__trap_stop(&l->ex, &trap, st);
		break;
	case EXEC_INTERRUPTED:
		st->kind = GDB_STOP_SIGNAL;
		st->signo = 2;
		break;
	case EXEC_OTHER:
		l->ended = l->vm->stop != VM_STOP_INTERRUPTED;
		if (!l->ended) {   /* SIGINT to rrvm: show it as an interrupt */
			st->kind = GDB_STOP_SIGNAL;
			st->signo = 2;
			l->vm->stop = VM_STOP_NONE;
			break;
		}
		st->kind = GDB_STOP_EXITED;
		st->exit_code = vm__exit_status(l->vm);
		snprintf(st->note, sizeof(st->note), "%s", l->vm->stop_msg);
		break;
	}
	if (l->ex.note[0] && !st->note[0])
		snprintf(st->note, sizeof(st->note), "%s", l->ex.note);
	l->ex.note[0] = 0;
	l->last = *st;
	return 0;
}

static int live_monitor(void *t, const char *cmd, struct gdb_text *out)
{
	struct live *l = t;
	if (!strcmp(cmd, "when")) {
		gdb_text__printf(out, "live VM: %llu guest-caused exits so far (not a recording: no positions)\n",
				 (unsigned long long)l->vm->exits);
		return 0;
	}
	return monitor__common(l->vm, cmd, out, "live");
}

static const struct gdb_target_ops live_ops = {
	.vm = live_vm,
	.write_refused = live_write_refused,
	.insert = live_insert,
	.remove = live_remove,
	.resume = live_resume,
	.interrupt = live_interrupt,
	.monitor = live_monitor,
	.last_stop = live_last_stop,
	.reverse = false,
	.name = "live VM",
};

int target_live__open(struct gdb_target *t, struct vm *vm)
{
	static struct live l;   /* one live target per process */
	memset(&l, 0, sizeof(l));
	l.vm = vm;
	l.ex.run = live_run;
	l.ex.ctx = &l;
	l.ex.sw_watch = monitor__watch_by_stepping();   /* no data breakpoints that fire here: step */
	l.last.kind = GDB_STOP_SIGNAL;
	l.last.signo = 5;
	t->ops = &live_ops;
	t->priv = &l;
	return 0;
}

bool target_live__ended(const struct gdb_target *t)
{
	return ((const struct live *)t->priv)->ended;
}
