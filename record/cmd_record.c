/* cmd_record.c — `rrvm record`: run a VM live and write everything it takes from outside into a trace. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cmds.h"
#include "record/rec_snapshot.h"
#include "record/recorder.h"

static void record_usage(FILE *f)
{
	fprintf(f, "usage: rrvm record -o TRACE_DIR [run options] [--] KERNEL\n\n"
		   "Runs the kernel like `rrvm run` and records every nondeterministic input (values read\n"
		   "from devices and MSRs, interrupts and where they were injected, console output) into\n"
		   "TRACE_DIR, which must not exist or be empty. The kernel and initrd are copied into it,\n"
		   "so `rrvm replay TRACE_DIR` reproduces the run exactly, here or on another host.\n\n"
		   "options:\n"
		   "  -o, --output DIR    the trace directory (created 0700)\n"
		   "  --snapshot-every=N  also write snapshots into TRACE_DIR/snapshots/ every N of guest\n"
		   "                      time (250ms, 2s, 500us) or every N events (5000ev). Snapshots are\n"
		   "                      also taken on Ctrl-A s at the console and when the guest panics;\n"
		   "                      `rrvm replay --from`, `rrvm run --from` and `rrvm snapshot` use them\n%s"
		   "  -h, --help          this help\n\n"
		   "exit status: as `rrvm run` (the guest's outcome); 1 also when the trace cannot be written\n",
		run_opts_help);
}

int cmd_record(int argc, char **argv)
{
	/* Take -o/--output out, hand the rest to the shared run-option parser. */
	const char *dir = NULL, *every = NULL;
	char *rest[argc + 1];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strncmp(argv[i], "--output=", 9)) {
			dir = argv[i] + 9;
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
	int rc = run_opts__parse(&o, n, rest, "record");
	if (rc < 0) {
		record_usage(stdout);
		return 0;
	}
	if (rc)
		return rc;
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
	if (vm__create(&vm, &o.cfg, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
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
