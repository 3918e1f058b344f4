/* target.h — what the gdb stub debugs: the live VM (target_live.c) or a replay (target_replay.c). */
#ifndef RRVM_GDB_TARGET_H
#define RRVM_GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* gdb's Z/z types. */
enum gdb_bp_type { GDB_BP_SW = 0, GDB_BP_HW = 1, GDB_WP_WRITE = 2, GDB_WP_READ = 3, GDB_WP_ACCESS = 4 };

enum gdb_resume { GDB_RESUME_CONT, GDB_RESUME_STEP, GDB_RESUME_RCONT, GDB_RESUME_RSTEP };

enum gdb_stop_kind {
	GDB_STOP_SIGNAL,       /* T05 (SIGTRAP) after a step, SIGINT after Ctrl-C ... */
	GDB_STOP_BREAK,        /* T05 swbreak/hwbreak */
	GDB_STOP_WATCH,        /* T05 watch/rwatch/awatch:ADDR */
	GDB_STOP_HISTORY,      /* T05 replaylog:begin or replaylog:end */
	GDB_STOP_EXITED,       /* W<code>: the guest powered off / replay ended for good */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	int signo;             /* GDB_STOP_SIGNAL: 5 SIGTRAP, 2 SIGINT, 11 SIGSEGV ... */
	int exit_code;         /* GDB_STOP_EXITED */
	bool hw;               /* GDB_STOP_BREAK: hwbreak rather than swbreak */
	enum gdb_bp_type watch_type;
	uint64_t watch_addr;
	bool history_end;      /* GDB_STOP_HISTORY: end (true) or begin */
	char note[512];        /* sent to gdb's console ('O' packet) before the stop reply */
};

/* A growable text buffer for monitor command output. */
struct gdb_text {
	char buf[8192];
	size_t len;
};
void gdb_text__printf(struct gdb_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct gdb_target_ops {
	/* The VM whose registers and memory are shown (for the current stop). */
	struct vm *(*vm)(void *t);
	/* NULL when writes are allowed, else why not (a replay refuses them). */
	const char *(*write_refused)(void *t);
	/* Inserts/removes a breakpoint or watchpoint. 0, -ENOSPC (no debug
	 * register left), -EINVAL (cannot here), -ENOTSUP (type unsupported).
	 * *why explains a failure (shown to the user as an 'O' message). */
	int (*insert)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len, const char **why);
	int (*remove)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len);
	/* Runs (blocks) until a stop; fills *stop. -errno for a monitor error. */
	int (*resume)(void *t, enum gdb_resume how, struct gdb_stop *stop);
	/* Thread-safe: makes a running resume return soon (SIGINT stop). */
	void (*interrupt)(void *t);
	/* qRcmd: runs a monitor command; 0, or -EINVAL for an unknown one (out says). */
	int (*monitor)(void *t, const char *cmd, struct gdb_text *out);
	/* The stop a new connection sees ('?'). */
	void (*last_stop)(void *t, struct gdb_stop *stop);
	/* Reading memory: the replay's current stop or the live VM. */
	bool reverse;          /* bs/bc are supported (replay): advertise ReverseStep+/ReverseContinue+ */
	const char *name;      /* "live VM" / "replay" for messages */
};

struct gdb_target {
	const struct gdb_target_ops *ops;
	void *priv;
};

#endif
