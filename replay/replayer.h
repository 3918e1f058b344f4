/* replayer.h — re-executes a trace: feeds recorded inputs back, injects at recorded points, detects divergence. */
#ifndef RRVM_REPLAYER_H
#define RRVM_REPLAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct vm;
struct replayer;
struct trace_reader;

struct replay_opts {
	uint64_t to_event;        /* stop at this event (0 = run to the end): once
				   * to_event exits are replayed, before the records
				   * that belong to that event are consumed */
	bool quiet;               /* do not print the guest console */
	int console_fd;           /* where the console goes (stdout) */
};

/* Takes ownership of an open trace reader positioned at its start. Call
 * after the VM was created from the trace header; sets vm->rep. */
int replayer__open(struct replayer **out, struct vm *vm, struct trace_reader *tr,
		   const struct replay_opts *o, struct rrvm_err *err);

/* Before every KVM_RUN: consumes the records of the current event (console,
 * injections, landmarks), sets the interrupt-window request the recording
 * had, and stops the VM at the end of the trace or at --to. */
void replayer__before_run(struct replayer *r, struct vm *vm);

/* After a guest-caused exit: compares it with the recorded one and feeds
 * recorded values (IN, MMIO reads, RDMSR, RDTSC) into the vCPU. A
 * difference stops the VM with VM_STOP_DIVERGED and a report. */
void replayer__exit(struct replayer *r, struct vm *vm);

/* A device model (virtio-rng) writes nondeterministic bytes at gpa during
 * the current event: copies them from the next record, which must be a
 * TR_DMA of this event with the same gpa and length; otherwise stops the VM
 * (diverged) and returns -EBADMSG. */
int replayer__dma(struct replayer *r, struct vm *vm, uint64_t gpa, uint8_t *buf, uint32_t len);

/* KVM_EXIT_DEBUG: a landmark breakpoint or the step over one. */
void replayer__debug(struct replayer *r, struct vm *vm);

/* Replaces the options (new target, console) between runs. */
void replayer__set_opts(struct replayer *r, const struct replay_opts *o);
/* The last stop was at o.to_event (not the end, a divergence or an error). */
bool replayer__at_target(const struct replayer *r);
/* Where the replay stands: events replayed and records of the current
 * event consumed (at a stop: its TR_EXIT, TR_IN_VALUE, TR_RDTSC). */
void replayer__pos(const struct replayer *r, uint64_t *event, uint32_t *recs);
/* Moves the reader to that position (after a snapshot restore), using the
 * trace index; forgets landmarks and peeked records. 0 or -errno + *err. */
int replayer__reposition(struct replayer *r, uint64_t event, uint32_t recs, struct rrvm_err *err);
/* Marks the VM as stopped at its target (a run that had nothing to do). */
void replayer__force_target(struct replayer *r);
/* The trace reader it consumes. */
struct trace_reader *replayer__trace(struct replayer *r);
/* Every record was consumed: nothing more can be replayed. */
bool replayer__at_end(const struct replayer *r);

/* Events replayed so far, landmarks reached, breakpoint hits that did not match. */
void replayer__counts(const struct replayer *r, uint64_t *events, uint64_t *landmarks, uint64_t *misses);

/* Frees r and closes its trace reader. NULL is fine. */
void replayer__close(struct replayer *r);

#endif
