/* cmd_replay.c — `rrvm replay`: re-execute a trace on a device-less VM and check it exit by exit. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cmds.h"
#include "core/vcpu.h"
#include "record/sha256.h"
#include "record/trace.h"
#include "replay/replayer.h"
#include "replay/session.h"
#include "snapshot/snapfile.h"

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: rrvm replay [options] TRACE_DIR\n\n"
		   "Re-executes a recording: the guest gets every recorded value at the same exit and every\n"
		   "interrupt at the same point, and each exit is compared with the recorded one. At the\n"
		   "first difference replay stops and reports the event, what was expected and what happened.\n"
		   "No device models run; time the guest spent halted is skipped.\n\n"
		   "options:\n"
		   "  --from EVENT|sN     start at event EVENT, or at recorded snapshot N (rrvm snapshot list):\n"
		   "                      restores the nearest snapshot at or before it and replays forward\n"
		   "                      silently to it; the console is printed from there on\n"
		   "  --to EVENT          stop at this event\n"
		   "  --quiet             do not print the guest console\n"
		   "  --check             exit 0 only if the whole trace replayed without divergence\n"
		   "  --allow-image-mismatch  replay even if the kernel/initrd in TRACE_DIR no longer\n"
		   "                      match the hashes in its header (to find where they differ)\n"
		   "  --stats             print exit counts when done\n"
		   "  --disk PATH         the raw image a recording with --disk used: it must hash to the\n"
		   "                      recorded SHA-256 (seen through the trace's disk.undo journal when the\n"
		   "                      recording wrote it in place); replay's writes go to a throw-away\n"
		   "                      temporary file, never to PATH\n"
		   "\n"
		   "debugging (gdb/): on a terminal, plain `rrvm replay TRACE_DIR` starts gdb connected to\n"
		   "the replay, with the kernel's symbols from TRACE_DIR/kernel (the recorded ELF)\n"
		   "  --gdb[=PORT|unix:PATH]  serve gdb and wait (default port 1234, 127.0.0.1 only;\n"
		   "                      `target remote :PORT`); forwards and backwards, read-only\n"
		   "  --gdb-listen-any    listen on every address, not only 127.0.0.1\n"
		   "                      (--from EVENT|sN: the debugger starts there; default: the first instruction)\n"
		   "  --symbols FILE      symbols for gdb (default TRACE_DIR/kernel): an ELF (vmlinux), or a\n"
		   "                      System.map / /proc/kallsyms text, turned into a temporary ELF whose\n"
		   "                      path is printed (gdb: symbol-file PATH)\n"
		   "  --no-gdb            on a terminal too, just replay (no debugger)\n"
		   "  -h, --help          this help\n\n"
		   "exit status: the recorded run's status when replay reaches its end (0 poweroff,\n"
		   "3 panic, ...; with --check: 0), 9 divergence, 1 unreadable trace or monitor error\n");
}

enum { OPT_TO = 256, OPT_QUIET, OPT_CHECK, OPT_ALLOW, OPT_STATS, OPT_FROM, OPT_DISK, OPT_GDB, OPT_GDB_ANY,
       OPT_SYMBOLS, OPT_NO_GDB };

/* "--from" argument: an event number, or sN / N.snap for recorded snapshot N. */
int replay__resolve_from(const char *dir, const char *arg, uint64_t *event, struct rrvm_err *err)
{
	char *end;
	errno = 0;
	if (arg[0] >= '0' && arg[0] <= '9') {
		unsigned long long v = strtoull(arg, &end, 10);
		if (!errno && !*end) {
			*event = v;
			return 0;
		}
		if (!errno && !strcmp(end, ".snap"))
			goto snap;
	} else if (arg[0] == 's' && arg[1] >= '0' && arg[1] <= '9') {
		unsigned long long v = strtoull(arg + 1, &end, 10);
		if (!errno && !*end) {
			arg++;
			goto snap;
		}
		(void)v;
	}
	return err__set(err, -EINVAL, "'%s' is neither an event number nor a snapshot (sN, N.snap)", arg);
snap:;
	unsigned long long seq = strtoull(arg, NULL, 10);
	struct snapfile_info info;
	if (seq == 0 || seq > UINT32_MAX)
		return err__set(err, -EINVAL, "no snapshot %s (they are numbered from 1)", arg);
	int rc = snapfile__read(dir, (uint32_t)seq, NULL, 0, &info, NULL, NULL, NULL, err);
	if (rc)
		return rc;
	*event = info.event;
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "allow-image-mismatch", no_argument, NULL, OPT_ALLOW },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "gdb", optional_argument, NULL, OPT_GDB },
		{ "gdb-listen-any", no_argument, NULL, OPT_GDB_ANY },
		{ "symbols", required_argument, NULL, OPT_SYMBOLS },
		{ "no-gdb", no_argument, NULL, OPT_NO_GDB },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_opts ro = { .console_fd = STDOUT_FILENO };
	struct replay_gdb_opts go = { 0 };
	bool no_gdb = false;   /* to_event, quiet, console */
	bool check = false, allow = false, stats = false;
	const char *so_disk = NULL;
	const char *from = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TO: {
			char *end;
			errno = 0;
			ro.to_event = strtoull(optarg, &end, 10);
			if (errno || *end || !ro.to_event) {
				fprintf(stderr, "rrvm replay: --to takes an event number >= 1, not '%s'\n", optarg);
				return RRVM_EXIT_USAGE;
			}
			break;
		}
		case OPT_FROM: from = optarg; break;
		case OPT_QUIET: ro.quiet = true; break;
		case OPT_CHECK: check = true; break;
		case OPT_ALLOW: allow = true; break;
		case OPT_STATS: stats = true; break;
		case OPT_DISK: so_disk = optarg; break;
		case OPT_GDB: go.serve = optarg ? optarg : ""; break;
		case OPT_GDB_ANY: go.listen_any = true; break;
		case OPT_SYMBOLS: go.symbols = optarg; break;
		case OPT_NO_GDB: no_gdb = true; break;
		case 'h': replay_usage(stdout); return 0;
		default:
			fprintf(stderr, "rrvm replay: unknown option '%s' (rrvm replay --help)\n", argv[optind - 1]);
			return RRVM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rrvm replay: give exactly one TRACE_DIR (rrvm replay --help)\n");
		return RRVM_EXIT_USAGE;
	}
	const char *dir = argv[optind];
	/* On a terminal (and nothing else asked for), the replay is for debugging: start gdb. */
	bool plain = !ro.to_event && !check && !stats && !ro.quiet;
	if (!go.serve && !no_gdb && plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		go.launch = true;
	if (go.serve || go.launch) {
		struct rrvm_err ferr = { "" };
		if (from && replay__resolve_from(dir, from, &go.from, &ferr)) {
			fprintf(stderr, "rrvm replay: --from: %s\n", ferr.msg);
			return RRVM_EXIT_USAGE;
		}
		go.allow_image_mismatch = allow;
		go.disk = so_disk;
		return replay__gdb(dir, &go);
	}

	struct rrvm_err err = { "" };
	struct session_opts so = { .quiet = ro.quiet, .console_fd = ro.console_fd, .allow_image_mismatch = allow,
				 .disk = so_disk };
	struct replay_session *s;
	double t0 = run__now_s();
	if (session__open(&s, dir, &so, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	struct trace_reader *tr = session__trace(s);
	const struct trace_status *st = trace_reader__status(tr);
	if (st->end != TRACE_END_COMPLETE)
		fprintf(stderr, "rrvm: warning: %s\n", st->msg);
	if (from) {
		uint64_t ev;
		int rc = replay__resolve_from(dir, from, &ev, &err);
		if (!rc && ro.to_event && ro.to_event < ev)
			rc = err__set(&err, -EINVAL, "--to %" PRIu64 " is before --from (event %" PRIu64 ")",
				      ro.to_event, ev);
		if (!rc && ev > session__last_event(s))
			rc = err__set(&err, -EINVAL, "event %" PRIu64 " is past the trace's end at event %" PRIu64 "%s", ev,
				      session__last_event(s),
				      st->end != TRACE_END_COMPLETE ? " (an unfinished recording: nothing after "
								      "that was sealed)" : "");
		if (!rc && (rc = session__seek(s, ev, &err)) == 0 && session__event(s) != ev)
			rc = err__set(&err, -EIO, "could not reach event %" PRIu64 ": %s", ev, session__vm(s)->stop_msg);
		if (rc) {
			fprintf(stderr, "rrvm: --from %s: %s\n", from, err.msg);
			session__close(s);
			return rc == -EINVAL ? RRVM_EXIT_USAGE : RRVM_EXIT_ERROR;
		}
		struct session_snap_stats ss;
		session__snapshot_stats(s, &ss);
		fprintf(stderr, "rrvm: replay: at event %" PRIu64 " after %.3f s (%s)\n", ev, run__now_s() - t0,
			ss.restored ? "restored a snapshot" : "replayed from boot");
	}
	struct vm *vm = session__vm(s);
	struct replayer *rep = session__replayer(s);
	if (session__run_to(s, ro.to_event ? ro.to_event : UINT64_MAX, &err) && vm->stop != VM_STOP_ERROR)
		fprintf(stderr, "rrvm: %s\n", err.msg);
	if (stats)
		vcpu__print_stats(vm, stderr, run__now_s() - t0);
	uint64_t events, landmarks, misses;
	replayer__counts(rep, &events, &landmarks, &misses);
	int status = run__report_stop(vm);
	run__print_final_state(vm);
	fprintf(stderr, "rrvm: replay: %llu events, %llu landmarks reached (%llu breakpoint hits stepped over) in %.3f s\n",
		(unsigned long long)events, (unsigned long long)landmarks, (unsigned long long)misses,
		run__now_s() - t0);
	if (check)
		status = vm->stop == VM_STOP_REPLAYED ? 0 : (status ? status : RRVM_EXIT_ERROR);
	if (vm->stop == VM_STOP_REPLAYED && st->end != TRACE_END_COMPLETE) {
		struct trace_stats ts;
		trace_reader__stats(tr, &ts);
		if (ts.has_end || st->end == TRACE_END_CORRUPT) {
			/* Closed cleanly, yet not all there: damaged after the fact. */
			fprintf(stderr, "rrvm: the trace is damaged: %s\n", st->msg);
			status = RRVM_EXIT_ERROR;
		} else if (check) {
			fprintf(stderr, "rrvm: --check: the recording did not finish; only its prefix replayed\n");
			status = RRVM_EXIT_ERROR;
		}
	}
	session__close(s);
	return status;
}
