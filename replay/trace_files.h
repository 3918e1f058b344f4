/* trace_files.h — a trace directory's files are its own: none of them may be a symlink out of it. */
#ifndef RRVM_TRACE_FILES_H
#define RRVM_TRACE_FILES_H

#include <stdbool.h>

#include "core/err.h"

/* Checks TRACE_DIR/name before a reader opens it by that name (kernel,
 * initrd, disk.undo, snapshots/): 0 when it is absent or a plain file
 * (want_dir: a directory); -ELOOP + *err when it is a symlink (a trace from
 * elsewhere could point it anywhere on this host), -ENOTDIR / -EINVAL when
 * it is the wrong kind of file. The recorder creates all of them itself,
 * never as links. */
int trace_files__check(const char *trace_dir, const char *name, bool want_dir, struct rrvm_err *err);

#endif
