/* session_int.h — the replay session's insides, shared with the snapshot engine (not a public API). */
#ifndef RRVM_SESSION_INT_H
#define RRVM_SESSION_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "replay/session.h"

struct snap_store;

struct replay_session {
	char *dir;
	struct session_opts o;
	struct vm *vm;             /* the replay VM (replaced by a reboot) */
	struct replayer *rep;      /* its replayer (owns the trace reader) */
	uint64_t last_event;       /* exits in the trace's complete chunks */
	bool images_checked;
	pthread_mutex_t lock;      /* vm/rep/running, for session__cancel */
	bool running;              /* inside vm__run */
	_Atomic int cancel;
	struct snap_store *store;  /* snapshots of this replay (NULL until needed) */
	bool want_store;           /* create the store at the next boot */
	uint64_t snap_every;       /* auto snapshots: events between them */
	uint64_t snap_taken, snap_restored, snap_dropped;
	void (*snap_hide)(void *ctx, struct vm *vm), (*snap_show)(void *ctx, struct vm *vm);
	void *snap_hook_ctx;
	struct {
		/* Called before each vm__run step (snapshot engine); 0 or -errno. */
		int (*before_run)(struct replay_session *s);
	} hooks;
};

/* Replaces the VM with a fresh one at event 0. */
int session__boot(struct replay_session *s, struct rrvm_err *err);
/* Runs forward to `event` (>= the current one), console only when `show`. */
int session__forward(struct replay_session *s, uint64_t event, bool show, struct rrvm_err *err);

/* ---- replay/session_snap.c ---- */
/* At boot (event 0): creates the store, takes the base snapshot, loads the
 * trace's recorded snapshots (index only; pages on first use). */
int session__snap_boot(struct replay_session *s, struct rrvm_err *err);
/* Frees the store (before its VM goes). */
void session__snap_drop(struct replay_session *s);
/* The event of the next automatic snapshot after `now`, UINT64_MAX for none. */
uint64_t session__snap_next(struct replay_session *s, uint64_t now);
/* At an automatic snapshot point: takes it, thins older ones. */
int session__snap_auto(struct replay_session *s, struct rrvm_err *err);
/* Restores the nearest snapshot at or before `event` when that is closer
 * than running forward (forward_ok: the VM may just run on). 1 restored,
 * 0 nothing to do, -errno. */
int session__snap_restore(struct replay_session *s, uint64_t event, bool forward_ok, struct rrvm_err *err);

#endif
