/* rec_snapshot.c — snapshots while recording: when to take them, and writing each as a delta on the one before. */
#include "record/rec_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

struct rec_snap {
	struct rec_snap_opts o;
	char *dir;
	uint8_t uuid[16];
	struct snap_store *st;      /* created at the first snapshot (which is full) */
	struct snapshot *prev;      /* the last one written: the next file's delta base */
	uint32_t seq;
	uint64_t next_ns, next_event;
	bool panic_done, stop_done;   /* the one panic / stop snapshot was taken */
	bool disk_full;             /* a write failed for want of space: no more snapshots */
};

int rec_snap__parse_every(const char *arg, struct rec_snap_opts *o)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || v == 0)
		return -EINVAL;
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	if (!strcmp(end, "ev")) {
		o->every_events = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit)) {
			if (v > UINT64_MAX / units[i].ns)
				return -EINVAL;
			o->every_ns = v * units[i].ns;
			return 0;
		}
	return -EINVAL;
}

int rec_snap__open(struct rec_snap **out, const struct rec_snap_opts *o, const char *dir, const uint8_t uuid[16],
		   struct rrvm_err *err)
{
	struct rec_snap *rs = calloc(1, sizeof(*rs));
	if (!rs || !(rs->dir = strdup(dir))) {
		free(rs);
		return err__set(err, -ENOMEM, "out of memory");
	}
	rs->o = *o;
	memcpy(rs->uuid, uuid, 16);
	rs->next_ns = o->every_ns ? o->every_ns : UINT64_MAX;
	rs->next_event = o->every_events ? o->every_events : UINT64_MAX;
	*out = rs;
	return 0;
}

static int take(struct rec_snap *rs, struct vm *vm, uint32_t recs, uint32_t reason)
{
	struct rrvm_err err = { "" };
	int rc;
	if (!rs->st && (rc = snap_store__create(&rs->st, vm, &err)))
		goto fail;
	struct snap_pos pos = { vm->exits, recs };
	struct snapshot *s;
	if ((rc = snap__take(rs->st, vm, &pos, SNAP_RECORDED, &s, &err)))
		goto fail;
	if (s == rs->prev)
		return 0;   /* one at this event already */
	struct snapfile_info info;
	if ((rc = snapfile__write(rs->dir, rs->st, s, rs->prev, rs->seq + 1, reason, rs->uuid, vm->mem.size, &info,
				  &err)))
		goto fail;
	rs->seq++;
	snprintf(s->name, sizeof(s->name), "%u", rs->seq);
	/* Only the newest stays in memory: its pages are the next delta's base. */
	if (rs->prev)
		snap_store__drop(rs->st, rs->prev);
	rs->prev = s;
	return (int)rs->seq;
fail:
	fprintf(stderr, "rrvm: snapshot at event %" PRIu64 " not taken: %s\n", vm->exits, err.msg);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* The events matter more: leave them what room there is. */
		rs->disk_full = true;
		fprintf(stderr, "rrvm: no more snapshots in this recording (the disk is full); recording goes on\n");
	}
	return rc;
}

int rec_snap__point(struct rec_snap *rs, struct vm *vm, uint32_t recs)
{
	uint32_t reason = 0;
	if (rs->disk_full)
		return 0;
	if (vm->stop == VM_STOP_PANIC) {
		if (!rs->o.on_panic || rs->panic_done)
			return 0;
		rs->panic_done = true;
		reason = SNAP_WHY_PANIC;
	} else if (vm->stop == VM_STOP_INTERRUPTED) {
		/* SIGINT/SIGTERM/Ctrl-A x at an event boundary: where the run
		 * ended, to resume or replay from. */
		if (rs->stop_done)
			return 0;
		rs->stop_done = true;
		reason = SNAP_WHY_STOP;
	} else if (vm->snapshot_requested) {
		vm->snapshot_requested = 0;
		reason = SNAP_WHY_CONSOLE;
	} else if (vm->stop != VM_STOP_NONE) {
		return 0;
	} else if (vm->exits >= rs->next_event || (rs->next_ns != UINT64_MAX && vm__now_ns(vm) >= rs->next_ns)) {
		reason = SNAP_WHY_EVERY;
	} else {
		return 0;
	}
	if (reason == SNAP_WHY_EVERY || reason == SNAP_WHY_CONSOLE) {
		if (rs->o.every_events)
			rs->next_event = vm->exits + rs->o.every_events;
		if (rs->o.every_ns)
			rs->next_ns = vm__now_ns(vm) + rs->o.every_ns;
	}
	int rc = take(rs, vm, recs, reason);
	if (rc > 0 && reason == SNAP_WHY_CONSOLE)
		fprintf(stderr, "\r\nrrvm: snapshot %d taken at event %" PRIu64 " (Ctrl-A s)\r\n", rc, vm->exits);
	return rc;
}

int rec_snap__start(struct rec_snap *rs, struct vm *vm)
{
	return take(rs, vm, 0, SNAP_WHY_START);
}

uint32_t rec_snap__count(const struct rec_snap *rs) { return rs->seq; }

void rec_snap__close(struct rec_snap *rs)
{
	if (!rs)
		return;
	snap_store__destroy(rs->st);
	free(rs->dir);
	free(rs);
}
