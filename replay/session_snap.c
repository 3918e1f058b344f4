/* session_snap.c — snapshots in a replay session: the base at boot, automatic ones with adaptive spacing, restore for seek. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guest_debug.h"
#include "core/vm.h"
#include "record/trace.h"
#include "replay/replayer.h"
#include "replay/session_int.h"
#include "snapshot/snapshot.h"
#include "snapshot/snapfile.h"

/*
 * Spacing: one automatic snapshot every `snap_every` events (the trace's
 * length / SNAP_TARGET, at least SNAP_MIN_EVERY). When more than
 * SNAP_MAX_AUTO are kept, or their pages pass SNAP_MAX_BYTES, the one whose
 * removal leaves the smallest gap for its distance from the present goes:
 * old ones thin out, the recent past stays dense (rr keeps checkpoints the
 * same way). The base (event 0) and recorded snapshots stay.
 */
#define SNAP_TARGET 64
#define SNAP_MIN_EVERY 64ull
#define SNAP_MAX_AUTO 48u
#define SNAP_MAX_BYTES (512ull << 20)

int session__snap_boot(struct replay_session *s, struct rrvm_err *err)
{
	session__snap_drop(s);
	int rc = snap_store__create(&s->store, s->vm, err);
	if (rc)
		return rc;
	/* A trace recorded from a snapshot (record --from) starts in its
	 * snapshot 1, at event 0: restore that instead of the booted state. */
	struct snapfile_info first;
	bool starts = snapfile__count(s->dir) > 0 && snapfile__read(s->dir, 1, NULL, 0, &first, NULL, NULL, NULL, err) == 0 &&
		      first.event == 0;
	struct snap_pos pos = { 0, 0 };
	struct snapshot *base = NULL;
	if (!starts) {
		if ((rc = snap__take(s->store, s->vm, &pos, SNAP_BASE, &base, err)))
			return rc;
		snprintf(base->name, sizeof(base->name), "boot");
	}
	uint64_t every = s->last_event / SNAP_TARGET;
	s->snap_every = every < SNAP_MIN_EVERY ? SNAP_MIN_EVERY : every;
	/* Recorded snapshots: every one in the trace directory. */
	rc = snapfile__load_all(s->store, s->dir, 0, err);
	if (rc < 0 && starts)
		return rc;   /* no starting state, no replay */
	if (rc < 0)
		fprintf(stderr, "rrvm: warning: recorded snapshots from this one on are not used: %s\n", err->msg);
	if (starts) {
		struct snapshot *st0 = snap_store__find(s->store, 0);
		if (!st0 || (rc = snap__restore(s->store, s->vm, st0, s->vm->nr_devices > 0, NULL, err)))
			return st0 ? rc : err__set(err, -EBADMSG, "%s: snapshot 1 (the starting state) not loaded", s->dir);
	}
	return 0;
}

void session__snap_drop(struct replay_session *s)
{
	snap_store__destroy(s->store);
	s->store = NULL;
}

uint64_t session__snap_next(struct replay_session *s, uint64_t now)
{
	if (!s->store || !s->o.auto_snapshots || !s->snap_every)
		return UINT64_MAX;
	return (now / s->snap_every + 1) * s->snap_every;
}

/* Drops automatic snapshots until the store is within bounds. */
static void thin(struct replay_session *s, uint64_t present)
{
	for (;;) {
		uint32_t n = 0;
		for (struct snapshot *p = snap_store__first(s->store); p; p = p->next)
			n += p->kind == SNAP_AUTO;
		if (n <= SNAP_MAX_AUTO && snap_store__bytes(s->store) <= SNAP_MAX_BYTES)
			return;
		struct snapshot *victim = NULL, *base = snap_store__base(s->store);
		double best = 0;
		for (struct snapshot *p = snap_store__first(s->store); p; p = p->next) {
			if (p->kind != SNAP_AUTO || p == base || !p->prev)
				continue;
			uint64_t right = p->next ? p->next->pos.event : present;
			double gap = (double)(right - p->prev->pos.event);
			double dist = (double)(present > p->pos.event ? present - p->pos.event : 0) + 1;
			double score = gap / dist;
			if (!victim || score < best)
				victim = p, best = score;
		}
		if (!victim)
			return;
		snap_store__drop(s->store, victim);
		s->snap_dropped++;
	}
}

int session__snap_auto(struct replay_session *s, struct rrvm_err *err)
{
	struct snap_pos pos;
	replayer__pos(s->rep, &pos.event, &pos.recs);
	struct snapshot *snap;
	if (s->snap_hide)
		s->snap_hide(s->snap_hook_ctx, s->vm);
	int rc = snap__take(s->store, s->vm, &pos, SNAP_AUTO, &snap, err);
	if (s->snap_show)
		s->snap_show(s->snap_hook_ctx, s->vm);
	if (rc)
		return rc;
	s->snap_taken++;
	thin(s, pos.event);
	return 0;
}

int session__snap_restore(struct replay_session *s, uint64_t event, bool forward_ok, struct rrvm_err *err)
{
	struct snapshot *snap = snap_store__find(s->store, event);
	if (!snap)
		return 0;
	uint64_t now;
	uint32_t recs;
	replayer__pos(s->rep, &now, &recs);
	if (forward_ok && snap->pos.event <= now)
		return 0;   /* running on from here is no longer than from the snapshot */
	int rc = snapfile__ensure_loaded(s->store, snap, err);
	if (rc)
		return rc;
	if (s->snap_hide)
		s->snap_hide(s->snap_hook_ctx, s->vm);
	/* A replay VM has device models only for virtio (their queue state and
	 * replay's disk write log must go back with RAM). */
	rc = snap__restore(s->store, s->vm, snap, s->vm->nr_devices > 0, NULL, err);
	if (s->snap_show)
		s->snap_show(s->snap_hook_ctx, s->vm);
	if (rc)
		return rc;
	if ((rc = replayer__reposition(s->rep, snap->pos.event, snap->pos.recs, err)))
		return rc;
	/* The landmark breakpoint or step the replayer had armed in the timeline
	 * left behind is gone with it (the restore turned guest debug off). */
	guest_debug__release(s->vm, GD_OWNER_REPLAY);
	s->snap_restored++;
	struct vm *vm = s->vm;
	vm->stop = VM_STOP_REPLAYED;
	snprintf(vm->stop_msg, sizeof(vm->stop_msg), "restored snapshot at event %" PRIu64, snap->pos.event);
	replayer__force_target(s->rep);
	return 1;
}

void session__snapshot_stats(const struct replay_session *s, struct session_snap_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->taken = s->snap_taken;
	out->restored = s->snap_restored;
	out->dropped = s->snap_dropped;
	if (s->store) {
		out->stored = snap_store__count(s->store);
		out->bytes = snap_store__bytes(s->store);
		for (struct snapshot *p = snap_store__first(s->store); p; p = p->next)
			out->recorded += p->kind == SNAP_RECORDED;
	}
}

void session__set_snapshot_hooks(struct replay_session *s, void (*hide)(void *ctx, struct vm *vm),
				 void (*show)(void *ctx, struct vm *vm), void *ctx)
{
	s->snap_hide = hide;
	s->snap_show = show;
	s->snap_hook_ctx = ctx;
}

int session__save_snapshot(struct replay_session *s, uint32_t *seq_out, struct rrvm_err *err)
{
	struct vm *vm = s->vm;
	if (!vm || !s->rep)
		return err__set(err, -EINVAL, "no replay VM to take a snapshot of");
	struct snap_pos pos;
	replayer__pos(s->rep, &pos.event, &pos.recs);
	/* A full file needs every nonzero page: the session's store holds them
	 * (page lookups at the new snapshot). Without one, a store of its own
	 * (its first snapshot is full); no other store reads the dirty log then. */
	struct snap_store *st = s->store, *own = NULL;
	int rc;
	if (!st) {
		if ((rc = snap_store__create(&own, vm, err)))
			return rc;
		st = own;
	}
	struct snapshot *snap = NULL;
	if (s->snap_hide)
		s->snap_hide(s->snap_hook_ctx, vm);
	rc = snap__take(st, vm, &pos, own ? SNAP_RECORDED : SNAP_AUTO, &snap, err);
	if (s->snap_show)
		s->snap_show(s->snap_hook_ctx, vm);
	if (rc)
		goto out;
	if (snap->kind == SNAP_RECORDED && !own) {
		rc = err__set(err, -EEXIST, "snapshot %s is already at event %" PRIu64, snap->name, pos.event);
		goto out;
	}
	uint8_t uuid[16];
	memcpy(uuid, trace_reader__header(session__trace(s))->uuid, 16);
	/* Written full (no delta base): it may stand anywhere among the
	 * recorded ones, whose deltas chain in event order (FORMAT.md 10). */
	uint64_t npages = snap_store__npages(st);
	uint32_t *all = malloc((npages ? npages : 1) * sizeof(*all));
	if (!all) {
		rc = err__set(err, -ENOMEM, "out of memory");
		goto out;
	}
	struct snapshot full = *snap;
	full.n_pages = 0;
	for (uint64_t p = 0; p < npages; p++)
		if (snap_store__page(st, snap, (uint32_t)p))
			all[full.n_pages++] = (uint32_t)p;
	full.pages = all;
	uint32_t seq = snapfile__count(s->dir) + 1;
	rc = snapfile__write(s->dir, st, &full, NULL, seq, SNAP_WHY_REPLAY, uuid, vm->mem.size, NULL, err);
	free(all);
	if (rc)
		goto out;
	/* Kept like a recorded one (never thinned; seeks restore it). */
	if (snap->kind == SNAP_AUTO) {
		snap->kind = SNAP_RECORDED;
		snprintf(snap->name, sizeof(snap->name), "%u", seq);
	}
	*seq_out = seq;
out:
	snap_store__destroy(own);
	return rc;
}
