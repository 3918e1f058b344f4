/* resume.c — `rrvm run --from TRACE_DIR@N`: a live VM continues from a snapshot taken while recording. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cmds.h"
#include "record/trace.h"
#include "replay/session.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

/* "N", "sN" or "N.snap" -> N; 0 when it is none of those. */
uint32_t snapshot__parse_seq(const char *s)
{
	if (*s == 's')
		s++;
	if (*s < '1' || *s > '9')
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v > UINT32_MAX || (*end && strcmp(end, ".snap")))
		return 0;
	return (uint32_t)v;
}

int snapshot__restore_live(struct vm **out, const char *dir, uint32_t seq, const struct vm_config *live,
			   struct rrvm_err *err)
{
	struct trace_reader *tr;
	int rc = trace_reader__open(&tr, dir, err);
	if (rc)
		return rc;
	const struct trace_header *h = trace_reader__header(tr);
	for (uint32_t i = 0; i < h->n_caps; i++)
		if (!strcmp(h->caps[i].key, "virtio") && strstr(h->caps[i].value, "blk")) {
			trace_reader__close(tr);
			return err__set(err, -ENOTSUP, "%s was recorded with a virtio disk: resuming it live is not "
					"supported yet (the disk's contents at the snapshot are not rebuilt)", dir);
		}
	trace_reader__close(tr);
	struct snapfile_info info;
	if (seq <= snapfile__count(dir) && !snapfile__read(dir, seq, NULL, 0, &info, NULL, NULL, NULL, err) &&
	    info.reason == SNAP_WHY_REPLAY)
		return err__set(err, -ENOTSUP, "snapshot %u of %s was taken in a replay (rrvm tui), which runs no "
				"device models: it holds no uart/pic/pit/... state, so it cannot be resumed live; "
				"replay from it instead (rrvm replay --from s%u %s)", seq, dir, seq, dir);
	struct vm *vm;
	if ((rc = session__trace_vm(dir, live, NULL, true, false, &vm, NULL, err)))
		return rc;
	struct snap_store *st;
	if ((rc = snap_store__create(&st, vm, err))) {
		vm__destroy(vm);
		return rc;
	}
	uint32_t n = snapfile__count(dir);
	if (seq > n) {
		rc = err__set(err, -ENOENT, "%s has %u snapshots, no snapshot %u", dir, n, seq);
		goto out;
	}
	if ((rc = snapfile__load_all(st, dir, seq, err)) < 0)
		goto out;
	struct snapshot *target = NULL;
	char name[16];
	snprintf(name, sizeof(name), "%u", seq);
	for (struct snapshot *s = snap_store__first(st); s; s = s->next)
		if (s->kind == SNAP_RECORDED && !strcmp(s->name, name))
			target = s;
	if (!target) {
		rc = err__set(err, -ENOENT, "snapshot %u of %s was not loaded", seq, dir);
		goto out;
	}
	uint64_t pages;
	if ((rc = snap__restore(st, vm, target, true, &pages, err)))
		goto out;
	rc = 0;
out:
	snap_store__destroy(st);   /* live from here: no dirty logging */
	if (rc) {
		vm__destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

static void resume_usage(FILE *f)
{
	fprintf(f, "usage: rrvm run --from TRACE_DIR@N [--stats] [--no-sandbox]\n\n"
		   "Restores snapshot N of a recording (rrvm snapshot list TRACE_DIR), devices included, and\n"
		   "continues it as an ordinary live VM: console on stdout, stdin typed into the guest\n"
		   "(Ctrl-A x quits). N may be written N, sN or NNNNNN.snap. --no-sandbox: as for rrvm run.\n");
}

int cmd_resume(int argc, char **argv)
{
	const char *from = NULL;
	bool stats = false, no_sandbox = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = argv[++i];
		else if (!strncmp(argv[i], "--from=", 7))
			from = argv[i] + 7;
		else if (!strcmp(argv[i], "--stats"))
			stats = true;
		else if (!strcmp(argv[i], "--no-sandbox"))
			no_sandbox = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			resume_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "rrvm run --from: '%s' does not go with --from (the trace decides the machine)\n",
				argv[i]);
			return RRVM_EXIT_USAGE;
		}
	}
	if (from && (!strcmp(from, "-h") || !strcmp(from, "--help"))) {
		resume_usage(stdout);
		return 0;
	}
	const char *at = from ? strrchr(from, '@') : NULL;
	uint32_t seq = at ? snapshot__parse_seq(at + 1) : 0;
	if (!seq) {
		fprintf(stderr, "rrvm run: --from takes TRACE_DIR@N (N: a snapshot number), not '%s'\n",
			from ? from : "");
		return RRVM_EXIT_USAGE;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%.*s", (int)(at - from), from);
	struct run_opts o = { .stats = stats, .no_sandbox = no_sandbox };
	o.cfg.console_out_fd = STDOUT_FILENO;
	o.cfg.console_in_fd = STDIN_FILENO;
	struct rrvm_err err = { "" };
	struct vm *vm;
	double t0 = run__now_s();
	if (snapshot__restore_live(&vm, dir, seq, &o.cfg, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	fprintf(stderr, "rrvm: resumed snapshot %u of %s at event %" PRIu64 " in %.3f s; running live\n", seq, dir,
		vm->exits, run__now_s() - t0);
	run__sandbox(&o, NULL);
	run__console_run(vm, &o, t0);
	int status = run__report_stop(vm);
	run__print_final_state(vm);
	vm__destroy(vm);
	return status;
}
