/* cmds.h — the rrvm subcommands; each parses its own argv (argv[0] is its name) and returns an exit status. */
#ifndef RRVM_CMDS_H
#define RRVM_CMDS_H

#include "core/vm.h"

int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_tui(int argc, char **argv);     /* tui/cmd_tui.c */
int cmd_snapshot(int argc, char **argv);  /* snapshot/cmd_snapshot.c */
int cmd_resume(int argc, char **argv);    /* `rrvm run --from TRACE_DIR@N`: snapshot/resume.c */
/* `--from` of replay/run: an event number, or sN / N.snap for recorded snapshot N of dir. */
int replay__resolve_from(const char *dir, const char *arg, uint64_t *event, struct rrvm_err *err);

/* Options shared by every subcommand that boots a VM (run, record):
 * --kernel --initrd --append --mem --cpu --clock --quantum, and a trailing
 * kernel path. Returns 0, or RRVM_EXIT_USAGE after printing why. `extra` is
 * called for options this parser does not know (return 1 if consumed with
 * its argument in *optarg, 0 if consumed alone, -1 if unknown). */
struct run_opts {
	struct vm_config cfg;
	bool stats;
	char disk_path[4096];       /* --disk without its ",ro" */
	const char *gdb;          /* --gdb[=PORT|unix:PATH] (run only): "" for the default port */
	bool gdb_listen_any;      /* --gdb-listen-any: not just 127.0.0.1 */
	bool no_sandbox;          /* --no-sandbox: keep every right once the VM exists */
};
int run_opts__parse(struct run_opts *o, int argc, char **argv, const char *cmd);
/* The help text for those options. */
extern const char run_opts_help[];

/* Once the VM exists, before it runs: gives up what a one-shot run or
 * recording no longer needs (core/sandbox.h); rw_dir is the trace, or NULL.
 * Unless o->no_sandbox. Prints a warning when the host has a mechanism that
 * could not be applied, and the state with --stats. */
void run__sandbox(const struct run_opts *o, const char *rw_dir);

/* Runs the VM with the terminal raw (keystrokes go to the guest), restores
 * it, and prints statistics when o->stats. t0 is the run__now_s() at start. */
void run__console_run(struct vm *vm, const struct run_opts *o, double t0);

/* Prints "rrvm: final state: event N, rip R, registers H, memory M" — equal
 * lines from a recording and its replay mean the same end state. */
void run__print_final_state(struct vm *vm);

/* Seconds on CLOCK_MONOTONIC (for wall-time statistics). */
double run__now_s(void);

/* `rrvm run --gdb`: serves gdb on o->gdb until it detaches (the VM then runs
 * on) or kills it (vm->stop is set); the sandbox goes on once gdb is
 * connected. 0 or an exit status (gdb/cmd_gdb.c). */
int run__gdb(struct vm *vm, const struct run_opts *o);

/* `rrvm replay --gdb` (serve) or plain `rrvm replay` on a terminal (launch
 * gdb connected): gdb/cmd_gdb.c. Returns the exit status. */
struct replay_gdb_opts {
	const char *serve;        /* --gdb[=SPEC]: serve and wait ("" default port) */
	bool launch;              /* start gdb as a child, connected over a private Unix socket */
	bool listen_any;
	uint64_t from;            /* --from EVENT */
	const char *symbols;      /* --symbols ELF */
	const char *disk;         /* --disk PATH (recordings with a disk) */
	bool allow_image_mismatch;
};
int replay__gdb(const char *trace_dir, const struct replay_gdb_opts *o);

/* Prints the one-line explanation of how the VM stopped and returns the
 * process exit status. */
int run__report_stop(const struct vm *vm);

#endif
