/* gdb_here.c — the browser's `G`: suspends the screen, runs gdb on a replay served at the cursor, comes back. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tui/ui.h"

#define SERVE_WAIT_S 120   /* the replay seeks to the cursor before it listens */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char m[4] = { 0 };
	bool ok = fd >= 0 && read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Prints the tail of the replay's log (why it did not serve). */
static void show_log(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[512];
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

static void wait_key(void)
{
	fprintf(stderr, "\n[press Enter to return to rrvm tui]");
	int c;
	while ((c = getchar()) != EOF && c != '\n')
		;
}

/* Runs rrvm replay --gdb on a Unix socket and gdb attached to it; the
 * terminal is in its ordinary mode meanwhile. Returns a line for the status. */
static void session(struct tui *t, char *msg, size_t cap)
{
	char dir[] = "/tmp/rrvm-tui-gdb-XXXXXX", sock[128], log[128], from[32], gdbarg[200], self[4096];
	if (!mkdtemp(dir)) {
		snprintf(msg, cap, "gdb: cannot make a temporary directory: %s", strerror(errno));
		return;
	}
	snprintf(sock, sizeof(sock), "%s/gdb.sock", dir);
	snprintf(log, sizeof(log), "%s/replay.log", dir);
	snprintf(gdbarg, sizeof(gdbarg), "--gdb=unix:%s", sock);
	snprintf(from, sizeof(from), "%" PRIu64, t->cursor);
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		snprintf(msg, cap, "gdb: cannot find the rrvm binary (/proc/self/exe)");
		rmdir(dir);
		return;
	}
	self[sl] = 0;

	fprintf(stderr, "rrvm tui: serving the replay at event %" PRIu64 " to gdb (replaying there first)...\n",
		t->cursor);
	pid_t rp = fork();
	if (rp == 0) {
		/* Its own process group: Ctrl-C in gdb interrupts through the protocol, not by signal. */
		setpgid(0, 0);
		int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		const char *argv[12];
		int n = 0;
		argv[n++] = self;
		argv[n++] = "replay";
		argv[n++] = gdbarg;
		if (t->cursor) {
			argv[n++] = "--from";
			argv[n++] = from;
		}
		if (t->disk) {
			argv[n++] = "--disk";
			argv[n++] = t->disk;
		}
		argv[n++] = t->m->dir;
		argv[n] = NULL;
		execv(self, (char *const *)argv);
		_exit(127);
	}
	if (rp < 0) {
		snprintf(msg, cap, "gdb: fork: %s", strerror(errno));
		rmdir(dir);
		return;
	}
	/* Wait for the socket (the replay seeks to the cursor first). */
	struct stat sb;
	double t0 = now_s();
	int st = 0;
	bool up = false, dead = false;
	while (now_s() - t0 < SERVE_WAIT_S) {
		if (!stat(sock, &sb)) {
			up = true;
			break;
		}
		if (waitpid(rp, &st, WNOHANG) == rp) {
			dead = true;
			break;
		}
		usleep(20000);
	}
	if (!up) {
		fprintf(stderr, "rrvm tui: the replay did not start serving gdb%s:\n",
			dead ? "" : " in time");
		show_log(log);
		if (!dead) {
			kill(rp, SIGTERM);
			waitpid(rp, &st, 0);
		}
		wait_key();
		snprintf(msg, cap, "gdb: the replay did not start serving (its messages were shown)");
		goto out;
	}
	char sym[4300], tgt[200];
	if (t->syms.source[0] && is_elf(t->syms.source))
		snprintf(sym, sizeof(sym), "%s", t->syms.source);
	else
		snprintf(sym, sizeof(sym), "%s/kernel", t->m->dir);
	snprintf(tgt, sizeof(tgt), "target remote %s", sock);
	pid_t gp = fork();
	if (gp == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		if (is_elf(sym))
			execlp("gdb", "gdb", "-q", "-ex", "set remotetimeout 600", "-ex", tgt, sym, (char *)NULL);
		else
			execlp("gdb", "gdb", "-q", "-ex", "set remotetimeout 600", "-ex", tgt, (char *)NULL);
		fprintf(stderr, "rrvm tui: cannot run gdb: %s (tools/install-deps.sh installs it)\n", strerror(errno));
		_exit(127);
	}
	int gst = 0;
	if (gp > 0)
		while (waitpid(gp, &gst, 0) < 0 && errno == EINTR)
			;
	/* gdb is gone: the replay ends when its connection closes; make sure. */
	for (int i = 0; i < 100 && waitpid(rp, &st, WNOHANG) == 0; i++)
		usleep(20000);
	if (waitpid(rp, &st, WNOHANG) == 0) {
		kill(rp, SIGTERM);
		waitpid(rp, &st, 0);
	}
	if (gp < 0 || (WIFEXITED(gst) && WEXITSTATUS(gst) == 127)) {
		wait_key();
		snprintf(msg, cap, "gdb: could not run gdb");
	} else {
		snprintf(msg, cap, "back from gdb (it was attached to a replay at event %" PRIu64 ")", t->cursor);
	}
out:
	unlink(sock);
	unlink(log);
	rmdir(dir);
}

void tui__gdb(struct tui *t)
{
	char msg[600];
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	sigemptyset(&ign.sa_mask);
	def_prog_mode();
	endwin();
	/* Ctrl-C belongs to gdb meanwhile: the browser's replay thread must not see it. */
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	session(t, msg, sizeof(msg));
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
	ui__status(t, strncmp(msg, "back", 4) != 0, "%s", msg);
}
