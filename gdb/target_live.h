/* target_live.h — the live VM as a gdb target. */
#ifndef RRVM_GDB_TARGET_LIVE_H
#define RRVM_GDB_TARGET_LIVE_H

#include <stdbool.h>

#include "gdb/target.h"

struct vm;

/* Wraps a created (not yet run) VM. The VM starts stopped at its first instruction. */
int target_live__open(struct gdb_target *t, struct vm *vm);
/* True once the guest stopped for good (power off, panic, ...). */
bool target_live__ended(const struct gdb_target *t);

#endif
