/* cmd_gdb.c — the front ends that serve gdb: `rrvm run --gdb` (live VM), `rrvm replay --gdb` and plain
 * `rrvm replay` on a terminal (replay, forwards and backwards, gdb launched already connected). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cmds.h"
#include "core/vm.h"
#include "gdb/server.h"
#include "gdb/symfile.h"
#include "gdb/target_live.h"
#include "gdb/target_replay.h"
#include "replay/session.h"

int run__gdb(struct vm *vm, const struct run_opts *o)
{
	struct rrvm_err err = { "" };
	struct gdb_listen l;
	bool listen_any = o->gdb_listen_any;
	if (gdb_server__listen(&l, o->gdb, listen_any, &err)) {
		fprintf(stderr, "rrvm: gdb: %s\n", err.msg);
		return RRVM_EXIT_USAGE;
	}
	if (listen_any)
		fprintf(stderr, "rrvm: gdb: warning: listening on every address: anyone who can connect controls this VM\n");
	fprintf(stderr, "rrvm: gdb: waiting for gdb on %s (gdb -ex 'target remote %s')\n", l.where, l.where);
	struct gdb_target t;
	target_live__open(&t, vm);
	int rc = gdb_server__accept(&l, &err);
	if (!rc) {
		run__sandbox(o, NULL);
		rc = gdb_server__serve(&l, &t, &err);
	}
	gdb_server__close(&l);
	if (rc < 0) {
		fprintf(stderr, "rrvm: gdb: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (vm->stop == VM_STOP_DEBUG)   /* the last gdb stop is not an end */
		vm->stop = VM_STOP_NONE;
	/* gdb is gone: none of its breakpoints or steps may stop the guest now. */
	guest_debug__release(vm, GD_OWNER_GDB);
	guest_debug__apply(vm);
	if (rc == 1) {
		vm->stop = VM_STOP_NONE;
		vm__request_stop(vm, VM_STOP_INTERRUPTED, 0, "killed from gdb");
		return 0;
	}
	if (!target_live__ended(&t))
		fprintf(stderr, "rrvm: gdb detached: the guest runs on\n");
	return 0;
}

/* ---- `rrvm replay --gdb` / plain `rrvm replay` on a terminal ---- */

/* Starts gdb in its own process group, in the terminal's foreground (so
 * Ctrl-C reaches gdb, which sends it over the protocol, and not rrvm). */
static pid_t launch_gdb(const char *sock, const char *symbols)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, getpid());
		signal(SIGTTOU, SIG_DFL);
		char target[400];
		snprintf(target, sizeof(target), "target remote %s", sock);
		/* Reverse commands and `monitor` ones replay for a while: a long
		 * remote timeout keeps gdb from retransmitting meanwhile. */
		if (symbols)
			execlp("gdb", "gdb", "-q", "-ex", "set remotetimeout 600", "-ex", target, symbols, (char *)NULL);
		else
			execlp("gdb", "gdb", "-q", "-ex", "set remotetimeout 600", "-ex", target, (char *)NULL);
		fprintf(stderr, "rrvm: cannot start gdb: %s (install gdb, or use rrvm replay --gdb and connect yourself)\n",
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

int replay__gdb(const char *dir, const struct replay_gdb_opts *o)
{
	struct rrvm_err err = { "" };
	struct session_opts so = { .console_fd = STDOUT_FILENO, .auto_snapshots = true,
				   .allow_image_mismatch = o->allow_image_mismatch, .disk = o->disk };
	struct replay_session *s;
	if (session__open(&s, dir, &so, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (o->from > session__last_event(s)) {
		fprintf(stderr, "rrvm: --from %llu: the trace has %llu events\n", (unsigned long long)o->from,
			(unsigned long long)session__last_event(s));
		session__close(s);
		return RRVM_EXIT_USAGE;
	}
	if (o->from && session__seek(s, o->from, &err)) {
		fprintf(stderr, "rrvm: --from %llu: %s\n", (unsigned long long)o->from, err.msg);
		session__close(s);
		return RRVM_EXIT_ERROR;
	}
	char tmpdir[] = "/tmp/rrvm-gdb-XXXXXX", spec[300] = "", symbols[4096];
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "rrvm: mkdtemp: %s\n", strerror(errno));
		session__close(s);
		return RRVM_EXIT_ERROR;
	}
	if (o->launch)
		snprintf(spec, sizeof(spec), "unix:%s/sock", tmpdir);
	if (o->symbols)
		snprintf(symbols, sizeof(symbols), "%s", o->symbols);
	else
		snprintf(symbols, sizeof(symbols), "%s/kernel", dir);
	bool have_symbols = symfile__is_elf(symbols), converted = false;
	if (o->symbols && !have_symbols) {
		/* gdb reads only object files: a System.map / kallsyms text becomes one. */
		char elf[sizeof(tmpdir) + 16];
		size_t n = 0;
		snprintf(elf, sizeof(elf), "%s/symbols.elf", tmpdir);
		if (symfile__convert(symbols, elf, &n, &err)) {
			fprintf(stderr, "rrvm: --symbols: %s (give a vmlinux ELF or a System.map / kallsyms text)\n",
				err.msg);
			rmdir(tmpdir);
			session__close(s);
			return RRVM_EXIT_USAGE;
		}
		fprintf(stderr, "rrvm: gdb: %zu symbols from %s in %s (an ELF for gdb's symbol-file)\n", n, symbols, elf);
		snprintf(symbols, sizeof(symbols), "%s", elf);
		have_symbols = converted = true;
	}
	struct gdb_listen l;
	if (gdb_server__listen(&l, o->launch ? spec : o->serve, o->listen_any && !o->launch, &err)) {
		fprintf(stderr, "rrvm: gdb: %s\n", err.msg);
		if (converted)
			unlink(symbols);
		rmdir(tmpdir);
		session__close(s);
		return RRVM_EXIT_USAGE;
	}
	struct gdb_target t;
	target_replay__open(&t, s, &err);
	pid_t child = -1;
	if (o->launch) {
		child = launch_gdb(l.where, have_symbols ? symbols : NULL);
	} else {
		if (o->listen_any)
			fprintf(stderr, "rrvm: gdb: warning: listening on every address: anyone who can connect controls this replay\n");
		fprintf(stderr, "rrvm: gdb: replay of %s at event %llu of %llu; waiting for gdb on %s\n"
				"rrvm: gdb:   gdb -ex 'target remote %s'%s%s\n",
			dir, (unsigned long long)session__event(s), (unsigned long long)session__last_event(s), l.where,
			l.where, have_symbols ? " " : "", have_symbols ? symbols : "");
	}
	int rc = child == -1 && o->launch ? -ECHILD : gdb_server__serve(&l, &t, &err);
	gdb_server__close(&l);
	if (child > 0) {
		int st;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, getpgrp());
		signal(SIGTTOU, SIG_DFL);
	}
	if (converted)
		unlink(symbols);
	rmdir(tmpdir);
	target_replay__close(&t);
	session__close(s);
	if (rc < 0) {
		fprintf(stderr, "rrvm: gdb: %s\n", rc == -ECHILD ? "could not start gdb" : err.msg);
		return RRVM_EXIT_ERROR;
	}
	return 0;
}
