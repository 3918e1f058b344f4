/* cmd_record.c — `rrvm record`: run a VM live and write everything it takes from outside into a trace. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cmds.h"
#include "record/rec_snapshot.h"
#include "record/recorder.h"
#include "snapshot/snapshot.h"

static void record_usage(FILE *f)
{
	fprintf(f, "usage: rrvm record -o TRACE_DIR [run options] [--] KERNEL\n\n"
		   "Runs the kernel like `rrvm run` and records every nondeterministic input (values read\n"
		   "from devices and MSRs, interrupts and where they were injected, console output) into\n"
		   "TRACE_DIR, which must not exist or be empty. The kernel and initrd are copied into it,\n"
		   "so `rrvm replay TRACE_DIR` reproduces the run exactly, here or on another host.\n\n"
		   "options:\n"
		   "  -o, --output DIR    the trace directory (created 0700)\n"
		   "  --from TRACE@N      instead of booting KERNEL, resume snapshot N of an earlier recording\n"
		   "                      (rrvm snapshot list TRACE) and record from there; the new trace\n"
		   "                      starts with that state as its snapshot 1, which replay restores\n"
		   "  --snapshot-every=N  also write snapshots into TRACE_DIR/snapshots/ every N of guest\n"
		   "                      time (250ms, 2s, 500us) or every N events (5000ev). Snapshots are\n"
		   "                      also taken on Ctrl-A s at the console, when the guest panics, and\n"
		   "                      when SIGINT, SIGTERM or Ctrl-A x stops the recording (at its last\n"
		   "                      event); `rrvm replay --from`, `rrvm run --from` and `rrvm snapshot`\n"
		   "                      use them\n%s"
		   "  -h, --help          this help\n\n"
		   "exit status: as `rrvm run` (the guest's outcome); 1 also when the trace cannot be written\n",
		run_opts_help);
}

int cmd_record(int argc, char **argv)
{
	/* Take -o/--output out, hand the rest to the shared run-option parser. */
	const char *dir = NULL, *every = NULL, *from = NULL;
	char *rest[argc + 1];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strncmp(argv[i], "--output=", 9)) {
			dir = argv[i] + 9;
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			from = argv[++i];
		} else if (!strncmp(argv[i], "--from=", 7)) {
			from = argv[i] + 7;
		} else if (!strcmp(argv[i], "--snapshot-every") && i + 1 < argc) {
			every = argv[++i];
		} else if (!strncmp(argv[i], "--snapshot-every=", 17)) {
			every = argv[i] + 17;
		} else if (!strcmp(argv[i], "--")) {
			while (i < argc)
				rest[n++] = argv[i++];
		} else {
			rest[n++] = argv[i];
		}
	}
	rest[n] = NULL;
	struct run_opts o;
	int rc;
	uint32_t from_seq = 0;
	char from_dir[4096] = "";
	if (from) {
		/* The machine comes from the snapshot's trace: no kernel or machine options. */
		const char *at = strrchr(from, '@');
		from_seq = at ? snapshot__parse_seq(at + 1) : 0;
		if (!from_seq || n > 1) {
			fprintf(stderr, "rrvm record: --from takes TRACE_DIR@N and no machine options (%s)\n",
				n > 1 ? rest[1] : from);
			return RRVM_EXIT_USAGE;
		}
		snprintf(from_dir, sizeof(from_dir), "%.*s", (int)(at - from), from);
		memset(&o, 0, sizeof(o));
		o.cfg.console_out_fd = STDOUT_FILENO;
		o.cfg.console_in_fd = STDIN_FILENO;
	} else if ((rc = run_opts__parse(&o, n, rest, "record")) != 0) {
		if (rc < 0) {
			record_usage(stdout);
			return 0;
		}
		return rc;
	}
	if (!dir) {
		fprintf(stderr, "rrvm record: no trace directory given (-o DIR)\n");
		return RRVM_EXIT_USAGE;
	}
	struct rec_snap_opts so = { .on_panic = true };
	if (every && rec_snap__parse_every(every, &so)) {
		fprintf(stderr, "rrvm record: --snapshot-every takes a guest time (250ms, 2s, 500us, 1000000ns) "
				"or an event count (5000ev), not '%s'\n", every);
		return RRVM_EXIT_USAGE;
	}

	struct rrvm_err err = { "" };
	struct vm *vm;
	double t0 = run__now_s();
	if (from ? snapshot__restore_live(&vm, from_dir, from_seq, &o.cfg, &err) : vm__create(&vm, &o.cfg, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (from) {
		fprintf(stderr, "rrvm: resumed snapshot %u of %s at its event %llu; recording from here as event 0\n",
			from_seq, from_dir, (unsigned long long)vm->exits);
		vm->exits = 0;   /* the new trace counts its own events */
	}
	struct rec_snap *rs = NULL;
	if (recorder__open(&vm->rec, vm, dir, &err) ||
	    rec_snap__open(&rs, &so, dir, recorder__uuid(vm->rec), &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		if (vm->rec)
			recorder__close(vm->rec, vm, &err);
		vm__destroy(vm);
		return RRVM_EXIT_ERROR;
	}
	recorder__set_snapshots(vm->rec, rs);
	if (from && recorder__start_snapshot(vm->rec, vm)) {
		fprintf(stderr, "rrvm: cannot write the starting snapshot into %s\n", dir);
		recorder__close(vm->rec, vm, &err);
		vm__destroy(vm);
		return RRVM_EXIT_ERROR;
	}
	run__sandbox(&o, dir);
	run__console_run(vm, &o, t0);
	uint64_t landmarks, deferrals;
	recorder__counts(vm->rec, &landmarks, &deferrals);
	uint32_t snaps = recorder__snapshots(vm->rec);
	int status = run__report_stop(vm);
	run__print_final_state(vm);
	rc = recorder__close(vm->rec, vm, &err);
	vm->rec = NULL;
	if (rc) {
		fprintf(stderr, "rrvm: the trace in %s is incomplete: %s\n", dir, err.msg);
		status = RRVM_EXIT_ERROR;
	} else {
		fprintf(stderr, "rrvm: recorded %llu events (%llu landmarks, %llu deferred injections, %u snapshots) in %s\n",
			(unsigned long long)vm->exits, (unsigned long long)landmarks,
			(unsigned long long)deferrals, snaps, dir);
	}
	vm__destroy(vm);
	return status;
}
