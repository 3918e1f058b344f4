/* guest_debug.h — one owner of the guest's breakpoints: KVM_SET_GUEST_DEBUG (debug registers and
 * single-step, shared by the replayer's landmarks, the vCPU loop's STI-shadow step and the gdb stub)
 * and the debugger's HLT patches (guest_debug_patch.c). */
#ifndef RRVM_GUEST_DEBUG_H
#define RRVM_GUEST_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define GD_SLOTS 4
#define GD_PATCHES 64

enum gd_type { GD_EXEC = 0, GD_WRITE = 1, GD_ACCESS = 3 };   /* DR7 R/W encodings */
enum gd_owner { GD_FREE = 0, GD_OWNER_REPLAY, GD_OWNER_GDB };
enum gd_stepper { GD_STEP_LOOP = 1, GD_STEP_REPLAY = 2, GD_STEP_GDB = 4, GD_STEP_PROBE = 8 };   /* PROBE: the recorder's */

struct gd_slot {
	uint8_t owner;        /* enum gd_owner */
	uint8_t type;         /* enum gd_type */
	uint8_t len;          /* 1, 2, 4, 8 (exec: 1) */
	bool enabled;         /* armed in DR7 (a gdb slot is disarmed while stepping over it) */
	uint64_t addr;
};

/* A software breakpoint for ring-0 code: HLT (0xf4) over the first byte of
 * the instruction. Ring-0 HLT exits to userspace on every host (no in-kernel
 * irqchip), where KVM's own breakpoints may not fire (HOST.md). One patch
 * per guest-physical byte, shared by its users. */
enum gd_patch_use {
	GD_USE_BREAK = 1,     /* gdb's breakpoints */
	GD_USE_RESUME = 2,    /* gdb's step's resume traps (after a HLT, on an interrupt handler) */
	GD_USE_LANDMARK = 4,  /* the replayer's landmark (replay/replayer.c) */
	GD_USE_PROBE = 8,     /* the recorder's kick-point probe (record/recorder.c) */
	GD_USES_GDB = GD_USE_BREAK | GD_USE_RESUME,
};

struct gd_patch {
	uint64_t gva, gpa;
	uint8_t uses;         /* enum gd_patch_use bits; 0: a free entry */
	uint8_t orig;         /* the guest's byte under the patch (valid while armed) */
	bool armed;           /* 0xf4 is in guest memory now */
	bool lifted;          /* taken out for one single-step over it */
};

struct guest_debug {
	struct gd_slot slot[GD_SLOTS];
	struct gd_patch patch[GD_PATCHES];
	int npatch;
	int patch_hit;            /* the patch the last debugger stop came from, -1 when none */
	int irq_patch, hlt_patch; /* irq_slot/hlt_slot as HLT patches (preferred), -1 when none */
	bool in_loop;             /* vm__run is running: patches are in guest memory */
	uint64_t patch_hits;      /* statistics: HLT-patch stops */
	uint64_t patch_dropped;   /* patches the guest overwrote (text_poke): dropped, not restored */
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
				   * its handler (TF is cleared on delivery), -1 when none
				   * (irq_patch when a HLT patch could be used) */
	int hlt_slot;             /* gdb single-step over HLT: a breakpoint after it, -1 when none */
	bool irq_step_suspended;  /* gdb's step is off until one of those breakpoints fires */
	int queued_irq;           /* vector + 1 of an interrupt KVM_INTERRUPT queued that no KVM_RUN
				   * has delivered yet (0: none): a gdb step begun now must not set
				   * TF, or the interrupt frame keeps it (guest_debug__step) */
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

/* The end of a debugger trap (debug exit or HLT patch, g->pc and the hit
 * fields filled): asks the filter, then stops the loop with VM_STOP_DEBUG
 * when the debugger wants it. */
void guest_debug__settle(struct vm *vm);

/* An interrupt is about to be delivered (KVM_INTERRUPT done). While gdb
 * single-steps, arms an execute breakpoint on the handler the IDT names:
 * delivery clears TF, so single-stepping alone would run the whole
 * handler in one step. The hit counts as gdb's step. Remembers the vector
 * until the next KVM_RUN delivers it (guest_debug__delivered), so a gdb
 * step that begins in between (stepping over a breakpoint that sits where
 * a landmark injects) is suspended the same way. */
void guest_debug__injected(struct vm *vm, uint32_t vector);
/* A KVM_RUN entered the guest: any queued interrupt is delivered. */
void guest_debug__delivered(struct vm *vm);

/* gdb single-steps onto a HLT: a step would turn the HLT exit (a point in
 * time) into a debug exit. Suspends gdb's step; a breakpoint at `next`
 * (after the HLT) or on the handler of the interrupt that wakes it resumes
 * stepping. */
void guest_debug__step_over_hlt(struct vm *vm, uint64_t next);

/* --- HLT patches (guest_debug_patch.c) ---
 * Contract: patches are the debugger's (GD_USES_GDB), the replayer's ring-0
 * landmarks (GD_USE_LANDMARK) and the recorder's kick probe (GD_USE_PROBE),
 * one byte shared by all; they are in guest
 * memory only while vm__run runs (armed at its start, disarmed at its end),
 * so everything outside the loop (gdb memory reads, the TUI, snapshot
 * takes and restores, the final memory hash) sees the guest's own bytes.
 * Inside the loop, fp__compute masks them and recorder snapshots disarm
 * them first. A patch hit is a trap like a debug exit: never a
 * guest-caused exit, not an event, never recorded, never counted by the
 * replayer (a landmark hit goes to replayer__debug, as a debug-register
 * one does, a probe's to recorder__probe_step; a debugger's hit stops the
 * loop). A patched byte the guest overwrote (text_poke, jump labels) is
 * detected at disarm and dropped, never "restored". */

/* Whether an execute breakpoint at gva can be a HLT patch now (paging as in
 * the vCPU's current sregs): mapped, supervisor-only (user code would take
 * #GP on HLT) and not a HLT already. 0 and *gpa, or -errno and *why. */
int guest_debug__patchable(struct vm *vm, uint64_t gva, uint64_t *gpa, const char **why);
/* Adds `use` to the patch at gva (checked with guest_debug__patchable),
 * armed at once inside the loop. Returns its index, or -errno and *why. */
int guest_debug__patch_add(struct vm *vm, enum gd_patch_use use, uint64_t gva, const char **why);
/* Drops `use` from patch idx; a patch nobody uses leaves guest memory. */
void guest_debug__patch_drop(struct vm *vm, int idx, enum gd_patch_use use);
/* Drops the `uses` bits from every patch (guest_debug__release: the
 * debugger's or the replayer's). */
void guest_debug__patch_release(struct vm *vm, unsigned uses);
/* Writes 0xf4 over every patch not armed or lifted (vm__run, at its start). */
void guest_debug__patch_arm(struct vm *vm);
/* Puts the guest's bytes back (vm__run, at its end); a patch whose 0xf4 is
 * gone was overwritten by the guest: dropped, the guest's byte stays. */
void guest_debug__patch_disarm(struct vm *vm);
/* KVM_EXIT_HLT: true when it came from an armed patch. Then RIP is rewound
 * to the patched instruction and the exit is handled as the debugger's
 * (like guest_debug__exit). False: the guest's own HLT. */
bool guest_debug__patch_exit(struct vm *vm);
/* Takes patch idx out for one single-step over it / puts it back. */
void guest_debug__patch_lift(struct vm *vm, int idx);
void guest_debug__patch_unlift(struct vm *vm, int idx);
/* Overlays the guest's own bytes on buf, a copy of guest-physical
 * [gpa, gpa+len), wherever an armed patch lies in it. */
void guest_debug__patch_mask(const struct vm *vm, uint64_t gpa, uint8_t *buf, size_t len);

/* The trap a suspended gdb step waited for (after a HLT, on an interrupt
 * handler) was reached: drops those traps and turns the step back on. */
void guest_debug__resume_step(struct vm *vm);

/* Thread-safe: makes the vCPU loop stop soon with VM_STOP_DEBUG. */
void guest_debug__interrupt(struct vm *vm);

#endif
