/* worker.h — replays to the browser's cursor on a thread of its own, so the screen stays live and Esc cancels. */
#ifndef RRVM_TUI_WORKER_H
#define RRVM_TUI_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "core/err.h"
#include "replay/session.h"

/* The machine state at one stop, copied out by the worker. */
struct tui_cpu {
	bool valid;
	uint64_t event;              /* events replayed at this stop */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;
	int stop;                    /* enum vm_stop */
	char stop_msg[256];
};

struct tui_worker;

/* Opens a replay session on dir (checks the images, creates the VM at event
 * 0; disk: the raw image of a recording with a virtio disk, or NULL) and
 * starts the thread. The thread blocks SIGWINCH so curses keeps it.
 * 0 or -errno with a message. */
int worker__open(struct tui_worker **out, const char *dir, const char *disk, struct rrvm_err *err);
/* Cancels what runs, stops the thread, closes the session. NULL is fine. */
void worker__close(struct tui_worker *w);

/* Asks for the state at `event` (replaces an earlier request not yet
 * started; cancels a running seek that goes elsewhere unless it lies on the
 * way forward). Returns at once. */
void worker__request(struct tui_worker *w, uint64_t event);
/* Cancels the running seek (Esc); the state is then wherever it stopped. */
void worker__cancel(struct tui_worker *w);

/* Progress: true while a seek runs or waits, with events done / target and
 * seconds since it started. */
bool worker__busy(struct tui_worker *w, uint64_t *done, uint64_t *target, double *secs);
/* The latest finished stop and the one before it (for highlighting changes);
 * *rc and msg say how the latest seek ended (0 = reached its target).
 * Returns a counter that grows with every finished seek. */
uint64_t worker__state(struct tui_worker *w, struct tui_cpu *cur, struct tui_cpu *prev, int *rc, char *msg,
		       size_t cap);
/* Copies guest memory at the latest stop: physical (phys) or guest-virtual
 * through the stop's page tables. Returns the bytes readable before the
 * first unmapped one; 0 while a seek runs. */
size_t worker__read(struct tui_worker *w, uint64_t addr, bool phys, void *buf, size_t len);
/* Writes the state at the latest stop as a snapshot file of the trace
 * (session__save_snapshot): *seq its number, *event where it stands.
 * -EBUSY while a seek runs or waits. 0 or -errno with a message. */
int worker__save_snapshot(struct tui_worker *w, uint32_t *seq, uint64_t *event, struct rrvm_err *err);
/* The session's snapshot bookkeeping after the latest seek. */
void worker__snap_stats(struct tui_worker *w, struct session_snap_stats *out);

#endif
