/* test_sandbox.c — the sandbox a one-shot run or recording enters (core/sandbox.h), checked from inside:
 * a child process enters it with a scratch "trace" directory and then tries what a recorder does (files in
 * the trace, /proc/self/pagemap, threads) and what a compromised monitor would (other files, /dev/kvm,
 * exec, fork, sockets, ptrace, signals out, x32 syscall numbers). Real kernel mechanisms, no KVM needed.
 * Exit 77 (SKIPPED) when the kernel has no seccomp filter support; Landlock checks are SKIPPED, loudly,
 * when it has no Landlock. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sandbox.h"
#include "tests/unit/check.h"

/* open() result as errno (0: it opened). */
static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void *thread_main(void *arg)
{
	*(int *)arg = open_errno("/etc/passwd", O_RDONLY);
	return NULL;
}

static void inside(const char *dir, const struct sandbox_state *s)
{
	bool ll = s->landlock, relaxed = sandbox__relaxed();
	char p[4200], q[4200];

	/* What a recorder does in its trace. */
	snprintf(p, sizeof(p), "%s/events", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1 && ftruncate(fd, 0) == 0, "write a file in the trace: %s",
	      strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/snapshots", dir);
	CHECK(mkdir(p, 0700) == 0, "mkdir in the trace: %s", strerror(errno));
	snprintf(p, sizeof(p), "%s/snapshots/1.tmp", dir);
	snprintf(q, sizeof(q), "%s/snapshots/1", dir);
	CHECK(open_errno(p, O_WRONLY | O_CREAT) == 0 && rename(p, q) == 0, "write and rename a snapshot: %s",
	      strerror(errno));
	CHECK(open_errno(q, O_RDONLY) == 0, "read it back");
	CHECK(unlink(q) == 0, "remove a file in the trace: %s", strerror(errno));
	CHECK(open_errno("/proc/self/pagemap", O_RDONLY) == 0, "/proc/self/pagemap");
	int in_thread = -1;
	pthread_t th;
	CHECK(pthread_create(&th, NULL, thread_main, &in_thread) == 0 && pthread_join(th, NULL) == 0,
	      "threads can still be made");

	/* What it may no longer do. */
	if (ll) {
		CHECK(open_errno("/dev/null", O_WRONLY) == EACCES, "a file outside the trace opened for writing");
		snprintf(p, sizeof(p), "%s/../escaped", dir);
		CHECK(open_errno(p, O_WRONLY | O_CREAT) == EACCES, "created a file beside the trace");
		if (access("/dev/kvm", F_OK) == 0)
			CHECK(open_errno("/dev/kvm", O_RDWR) == EACCES, "/dev/kvm opened again");
		if (!relaxed) {
			CHECK(open_errno("/etc/passwd", O_RDONLY) == EACCES, "read a file outside the trace");
			CHECK(in_thread == EACCES, "a new thread read a file outside the trace (%d)", in_thread);
		}
		if (s->landlock_abi >= 6)
			CHECK(kill(getppid(), 0) < 0 && errno == EPERM, "signalled a process outside the sandbox");
	} else {
		printf("test_sandbox: SKIPPED the file checks: %s\n", s->note);
	}
	char *argv[] = { "/bin/true", NULL };
	execve(argv[0], argv, NULL);
	CHECK(errno == EPERM, "execve: %s", strerror(errno));
	CHECK(socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM, "socket(AF_INET)");
	CHECK(socket(AF_UNIX, SOCK_STREAM, 0) < 0 && errno == EPERM, "socket(AF_UNIX)");
	CHECK(syscall(0x40000000 | SYS_getpid) < 0 && errno == EPERM, "an x32 syscall number");
	CHECK(syscall(SYS_getpid) == getpid(), "an allowed syscall");
	if (!relaxed) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		CHECK(pid < 0 && errno == EPERM, "fork: %s", pid < 0 ? strerror(errno) : "it forked");
		CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 && errno == EPERM, "ptrace");
	}
}

int main(void)
{
	char dir[] = "/tmp/rrvm-sandbox-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct sandbox_state s;
		int rc = sandbox__enter(dir, &s);
		if (!s.seccomp) {
			printf("test_sandbox: SKIPPED: no seccomp filter here: %s\n", s.note);
			_exit(77);
		}
		CHECK(rc == 0, "sandbox__enter: %s", s.note);
		CHECK(s.landlock == (s.landlock_abi > 0), "Landlock ABI %d but not in force: %s", s.landlock_abi,
		      s.note);
		inside(dir, &s);
		printf("test_sandbox: Landlock ABI %d%s, %d/%d checks passed\n", s.landlock_abi,
		       sandbox__relaxed() ? " (sanitizer build: relaxed)" : "", checks - failures, checks);
		fflush(stdout);
		_exit(failures ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) { /* a scratch directory left in /tmp */ }
	if (!WIFEXITED(st)) {
		fprintf(stderr, "test_sandbox: the sandboxed child died (status %#x)\n", st);
		return 1;
	}
	return WEXITSTATUS(st);
}
