/* target_replay.h — a replay session as a gdb target: forwards and backwards, read-only. */
#ifndef RRVM_GDB_TARGET_REPLAY_H
#define RRVM_GDB_TARGET_REPLAY_H

#include <stdint.h>

#include "core/err.h"
#include "gdb/target.h"

struct replay_session;

/* Wraps an open session (positioned wherever the caller seeked it). */
int target_replay__open(struct gdb_target *t, struct replay_session *s, struct rrvm_err *err);
void target_replay__close(struct gdb_target *t);

#endif
