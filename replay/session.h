/* session.h — a replay you can steer: open a trace, run to an event, seek backwards and forwards. */
#ifndef RRVM_SESSION_H
#define RRVM_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct vm;
struct replayer;
struct trace_reader;
struct replay_session;

struct session_opts {
	bool quiet;               /* do not print the guest console */
	int console_fd;           /* where replayed console output goes, -1 for nowhere */
	bool auto_snapshots;      /* in-memory snapshots while replaying (adaptive spacing) */
	void (*progress)(void *ctx, uint64_t done_events, uint64_t target_event);
	void *progress_ctx;       /* progress is called now and then during long runs */
	bool allow_image_mismatch; /* replay although kernel/initrd no longer match the header */
	const char *disk;          /* the raw image of a recording with a virtio disk (--disk) */
};

/* Opens TRACE_DIR (checks its kernel/initrd against the header hashes),
 * creates the replay VM at event 0 (nothing executed yet). -errno + *err. */
int session__open(struct replay_session **out, const char *trace_dir, const struct session_opts *o,
		  struct rrvm_err *err);

/* The replay VM (registers and memory via KVM). Valid until the next
 * run_to/seek/close: a seek may replace it. */
struct vm *session__vm(struct replay_session *s);
/* The replayer and trace of the current VM (statistics, trace status). */
struct replayer *session__replayer(struct replay_session *s);
struct trace_reader *session__trace(struct replay_session *s);

/* Events replayed so far. */
uint64_t session__event(const struct replay_session *s);
/* Events (exits) in the trace's complete chunks. */
uint64_t session__last_event(const struct replay_session *s);
/* True when replay cannot go further forward: the trace's end was reached,
 * or replay diverged or failed (vm->stop says which). Seek still works. */
bool session__finished(const struct replay_session *s);

/* Runs forward until `event` events are replayed (UINT64_MAX: the end of the
 * trace) or the VM stops for another reason. On return vm->stop says why:
 * VM_STOP_REPLAYED with session__event() == event at the target (the console
 * and injections of that event not yet replayed) or with session__finished()
 * at the end; VM_STOP_DIVERGED, VM_STOP_ERROR, VM_STOP_INTERRUPTED (cancel).
 * An event behind the current one is -EINVAL (use seek). Returns 0 unless
 * the monitor failed (-errno + *err). */
int session__run_to(struct replay_session *s, uint64_t event, struct rrvm_err *err);

/* Goes to `event` from wherever it is (backwards or forwards): restores the
 * nearest snapshot at or before it (or restarts from boot), then runs forward.
 * The console of the part replayed again is not printed. Same results as
 * run_to. */
int session__seek(struct replay_session *s, uint64_t event, struct rrvm_err *err);

/* Thread-safe: makes a running run_to/seek return soon with
 * vm->stop = VM_STOP_INTERRUPTED (TUI's Esc). A cancel that arrives while
 * nothing runs is dropped by the next run_to/seek. */
void session__cancel(struct replay_session *s);

/* Hashes of the machine state at the current stop: registers (GPRs, RIP,
 * RFLAGS, CR0/2/3/4) and all of guest RAM, the same values
 * run__print_final_state prints. 0 or -errno. */
int session__state_hash(struct replay_session *s, uint64_t *regs, uint64_t *mem);

/* Hooks around every snapshot the session takes or restores (automatic
 * snapshots are taken inside run_to/seek): `hide` takes out whatever the
 * caller wrote into guest RAM that is not guest state (gdb's breakpoint
 * bytes), `show` puts it back (into the restored memory after a restore).
 * Either may be NULL. */
void session__set_snapshot_hooks(struct replay_session *s, void (*hide)(void *ctx, struct vm *vm),
				 void (*show)(void *ctx, struct vm *vm), void *ctx);

/* Snapshot bookkeeping (automatic ones taken, restores, ...). */
struct session_snap_stats {
	uint64_t taken, restored, dropped;  /* automatic snapshots taken and thinned out; restores */
	uint32_t stored, recorded;          /* in memory now (base, automatic, recorded); recorded ones */
	uint64_t bytes;                     /* page data they hold */
};
void session__snapshot_stats(const struct replay_session *s, struct session_snap_stats *out);

/* Writes the machine at the current stop as TRACE_DIR/snapshots/NNNNNN.snap
 * (the next free number, *seq), full, reason "replay" (it holds no device
 * state but virtio: replay restores it, `rrvm run --from` refuses it), and
 * keeps it in the session's store for seeks. The events file is not
 * touched: readers find it in snapshots/ (traces/FORMAT.md section 10).
 * -EEXIST when a recorded snapshot is at this event. 0 or -errno + *err. */
int session__save_snapshot(struct replay_session *s, uint32_t *seq, struct rrvm_err *err);

void session__close(struct replay_session *s);

/* Creates a VM as TRACE_DIR's header describes it (RAM, CPUID table, kernel
 * and initrd copied into the trace, command line, clock). live == NULL: a
 * replay VM (no devices); else a live one with live's console fds. With
 * check_images the kernel/initrd must still match the header's hashes.
 * disk: the raw image for a recording with a virtio disk (else NULL).
 * *tr_out (may be NULL) gets the open trace reader. */
struct vm_config;
int session__trace_vm(const char *dir, const struct vm_config *live, const char *disk, bool check_images,
		      bool allow_mismatch, struct vm **out, struct trace_reader **tr_out, struct rrvm_err *err);

#endif
