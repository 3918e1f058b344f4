/* rec_snapshot.h — snapshots while recording: every DURATION of guest time or N events, on Ctrl-A s, on guest panic. */
#ifndef RRVM_REC_SNAPSHOT_H
#define RRVM_REC_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct vm;
struct rec_snap;

struct rec_snap_opts {
	uint64_t every_ns;        /* guest time between snapshots, 0 none */
	uint64_t every_events;    /* events between snapshots, 0 none */
	bool on_panic;            /* one when the guest declares a panic */
};

/* Parses --snapshot-every's argument: "250ms", "2s", "500us", "1000000ns" (guest time) or
 * "5000ev" (events). 0 or -EINVAL. */
int rec_snap__parse_every(const char *arg, struct rec_snap_opts *o);

/* Snapshot files go to TRACE_DIR/snapshots/ (traces/FORMAT.md). */
int rec_snap__open(struct rec_snap **out, const struct rec_snap_opts *o, const char *trace_dir,
		   const uint8_t uuid[16], struct rrvm_err *err);

/* At a guest-caused exit, after the devices were polled: takes a snapshot
 * when one is due (interval, vm->snapshot_requested, panic). `recs` is the
 * number of records the exit itself wrote (TR_EXIT, TR_IN_VALUE, TR_RDTSC).
 * Returns the new snapshot's number (> 0), 0 when none was taken, -errno
 * (with a message on stderr; recording goes on). */
int rec_snap__point(struct rec_snap *rs, struct vm *vm, uint32_t recs);

/* Before the first event of a recording that starts from a restored
 * snapshot (record --from): writes snapshot 1 at event 0, which replay
 * restores before anything else. Returns 1 or -errno. */
int rec_snap__start(struct rec_snap *rs, struct vm *vm);

/* Snapshots written so far. */
uint32_t rec_snap__count(const struct rec_snap *rs);
void rec_snap__close(struct rec_snap *rs);

#endif
