/* guest_debug.h — one owner of KVM_SET_GUEST_DEBUG: debug registers and single-step shared by the
 * replayer's landmarks, the vCPU loop's STI-shadow step and the gdb stub. */
#ifndef RRVM_GUEST_DEBUG_H
#define RRVM_GUEST_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define GD_SLOTS 4

enum gd_type { GD_EXEC = 0, GD_WRITE = 1, GD_ACCESS = 3 };   /* DR7 R/W encodings */
enum gd_owner { GD_FREE = 0, GD_OWNER_REPLAY, GD_OWNER_GDB };
enum gd_stepper { GD_STEP_LOOP = 1, GD_STEP_REPLAY = 2, GD_STEP_GDB = 4 };

struct gd_slot {
	uint8_t owner;        /* enum gd_owner */
	uint8_t type;         /* enum gd_type */
	uint8_t len;          /* 1, 2, 4, 8 (exec: 1) */
	bool enabled;         /* armed in DR7 (a gdb slot is disarmed while stepping over it) */
	uint64_t addr;
};

struct guest_debug {
	struct gd_slot slot[GD_SLOTS];
	unsigned step;            /* enum gd_stepper bits: who wants single-step */
	/* Filled at each KVM_EXIT_DEBUG by guest_debug__exit. */
	uint64_t dr6, pc;
	unsigned hit;             /* slots that fired (bit per slot) */
	bool stepped;             /* the exit ended a single-step */
	bool gdb_stop;            /* the exit is the debugger's: the loop stops with VM_STOP_DEBUG */
	unsigned gdb_hit;         /* gdb's slots that fired */
	volatile int interrupt;   /* set from another thread: stop the loop soon (Ctrl-C in gdb) */
	/* The debugger's say on each of its traps, in the vCPU thread: false
	 * lets the guest run on without leaving the loop (counting breakpoint
	 * hits, checking watched values after each step). NULL: always stop. */
	bool (*filter)(struct vm *vm, void *ctx);
	void *filter_ctx;
	int last_errno;           /* KVM_SET_GUEST_DEBUG failure, 0 when fine */
	int irq_slot;             /* gdb single-step into an injected interrupt: a breakpoint on
				   * its handler (TF is cleared on delivery), -1 when none */
	int hlt_slot;             /* gdb single-step over HLT: a breakpoint after it, -1 when none */
	bool irq_step_suspended;  /* gdb's step is off until one of those breakpoints fires */
};

/* Writes the combined state to KVM (KVM_SET_GUEST_DEBUG). 0 or -errno. */
int guest_debug__apply(struct vm *vm);

/* Takes a free slot for `owner`; returns its index or -ENOSPC. Does not apply. */
int guest_debug__alloc(struct vm *vm, enum gd_owner owner, enum gd_type type, uint64_t addr, unsigned len);
/* Frees a slot (does not apply). */
void guest_debug__free(struct vm *vm, int slot);
/* Frees every slot and step request of one owner (a replay repositioned by
 * a snapshot restore has no landmark armed any more). Does not apply. */
void guest_debug__release(struct vm *vm, enum gd_owner owner);
/* Turns single-step on or off for one stepper, and applies. 0 or -errno. */
int guest_debug__step(struct vm *vm, enum gd_stepper who, bool on);

/* KVM_EXIT_DEBUG: works out who the exit belongs to (DR6, else the PC),
 * hands landmark hits and landmark steps to the replayer, and marks the
 * debugger's hits (gdb_stop). Never a guest-caused exit. */
void guest_debug__exit(struct vm *vm);

/* An interrupt is about to be delivered (KVM_INTERRUPT done). While gdb
 * single-steps, arms an execute breakpoint on the handler the IDT names:
 * delivery clears TF, so single-stepping alone would run the whole
 * handler in one step. The hit counts as gdb's step. */
void guest_debug__injected(struct vm *vm, uint32_t vector);

/* gdb single-steps onto a HLT: a step would turn the HLT exit (a point in
 * time) into a debug exit. Suspends gdb's step; a breakpoint at `next`
 * (after the HLT) or on the handler of the interrupt that wakes it resumes
 * stepping. */
void guest_debug__step_over_hlt(struct vm *vm, uint64_t next);

/* Thread-safe: makes the vCPU loop stop soon with VM_STOP_DEBUG. */
void guest_debug__interrupt(struct vm *vm);

#endif
