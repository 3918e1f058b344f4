/* session_int.h — the replay session's insides, shared with the snapshot engine (not a public API). */
#ifndef RRVM_SESSION_INT_H
#define RRVM_SESSION_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "replay/session.h"

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
	struct {
		/* Called before each vm__run step (snapshot engine); 0 or -errno. */
		int (*before_run)(struct replay_session *s);
	} hooks;
};

/* Replaces the VM with a fresh one at event 0. */
int session__boot(struct replay_session *s, struct rrvm_err *err);
/* Runs forward to `event` (>= the current one), console only when `show`. */
int session__forward(struct replay_session *s, uint64_t event, bool show, struct rrvm_err *err);

#endif
