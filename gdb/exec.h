/* exec.h — forward execution under the debugger, shared by the live and replay targets:
 * gdb's breakpoints/watchpoints in debug registers, stepping over a breakpoint, stop classification. */
#ifndef RRVM_GDB_EXEC_H
#define RRVM_GDB_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "gdb/target.h"

struct vm;

#define EXEC_MAX_BPS 64

struct exec_bp {
	enum gdb_bp_type type;
	uint64_t addr, len;
	int refs;
	bool hw;            /* needs a debug register (hbreak, watchpoint, or a break the stub
			       could not patch with HLT when it was set) */
};

/* Runs the VM until vm->stop != VM_STOP_NONE (vm__run or a session run). */
typedef int (*exec_run_fn)(void *ctx, struct vm *vm);

struct exec_trap {
	uint64_t pc;
	bool stepped;
	int bp;             /* index in exec.bp of a breakpoint/watchpoint hit, -1 when none */
	bool extra;         /* an extra trap fired */
	bool ring3;         /* single-stepping reached guest ring 3, which this host cannot step */
};

struct exec {
	struct exec_bp bp[EXEC_MAX_BPS];
	int nbp;
	/* Extra execute traps for the replay engine's own scans (not gdb's). */
	uint64_t extra[2];
	int nextra;
	bool sitting;       /* the vCPU sits on the instruction it last stopped at:
			       a breakpoint there must not fire again on resume */
	bool sw_watch;      /* no data breakpoints on this host: watch by single-stepping
			       and comparing values after each instruction */
	exec_run_fn run;
	void *ctx;
	/* Replay scans: called at each trap in the vCPU thread; 1 stops, 0 runs on. */
	int (*on_trap)(void *ctx, struct vm *vm, const struct exec_trap *t);
	void *scan_ctx;
	/* Per leg. */
	bool want_step, stepping;
	uint8_t wval[EXEC_MAX_BPS][8];
	struct exec_trap last;
	uint64_t steps;     /* single-steps taken (statistics) */
	bool trace;         /* RRVM_GDB_TRACE: every trap on stderr */
	unsigned overstep;  /* slots disarmed while stepping over them (filter) */
	int overpatch;      /* the HLT patch lifted while stepping over it (filter), -1 none */
	char note[200];     /* said to gdb at the next stop (how a breakpoint was placed) */
};

/* What one forward leg ended with. */
enum exec_result {
	EXEC_TRAP,          /* a gdb breakpoint/watchpoint or an extra trap fired, or the step ended */
	EXEC_INTERRUPTED,   /* guest_debug__interrupt (Ctrl-C) */
	EXEC_OTHER,         /* the VM stopped for another reason: vm->stop says which */
};

/* Adds/removes a gdb breakpoint or watchpoint. A software breakpoint (Z0)
 * is a HLT patch (core/guest_debug.h) where the code is supervisor-only,
 * any number of them; otherwise, and for Z1 and watchpoints, a debug
 * register must hold it (2 for gdb; watch len 1, 2, 4, 8, aligned): -ENOSPC
 * and *why when none is left. `vm` is the current one (its page tables
 * decide whether a patch is possible); e->note says when a break fell back
 * to a debug register. */
int exec__insert(struct exec *e, struct vm *vm, enum gdb_bp_type type, uint64_t addr, uint64_t len,
		 const char **why);
int exec__remove(struct exec *e, enum gdb_bp_type type, uint64_t addr, uint64_t len);

/* Runs forward one leg: to the next trap (single-step when `step`), an
 * interrupt, or another stop. Loads the breakpoints into `vm` first (a
 * replay seek may have replaced it), steps over one the vCPU sits on. */
int exec__leg(struct exec *e, struct vm *vm, bool step, enum exec_result *res, struct exec_trap *trap);

/* Turns a trap into gdb's stop reply. */
void exec__trap_stop(const struct exec *e, const struct exec_trap *t, struct gdb_stop *st);

#endif
