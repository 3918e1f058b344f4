/* sandbox.c — Landlock and seccomp for a VM that already exists (sandbox.h).
 *
 * The Landlock structures and flags are spelled out here rather than taken
 * from <linux/landlock.h>: Debian's headers stop at an older ABI than the
 * kernels rrvm runs on, and each newer right is used only when the running
 * kernel's ABI has it. */
#include "core/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Landlock (Documentation/userspace-api/landlock.rst). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_DIR (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_DIR (1ull << 7)
#define LL_FS_MAKE_REG (1ull << 8)
#define LL_FS_ABI1 ((1ull << 13) - 1)   /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)        /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)     /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)    /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)     /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)   /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;   /* must stay 0 below ABI 4 */
	uint64_t scoped;               /* must stay 0 below ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Sanitizer builds: sandbox__relaxed (sandbox.h). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

bool sandbox__relaxed(void)
{
	return SANITIZED;
}

int sandbox__landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	return v > 0 ? (int)v : 0;
}

static int add_path(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ll_path_beneath_attr pb = { .allowed_access = access & handled, .parent_fd = fd };
	int rc = syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) ? -errno : 0;
	close(fd);
	return rc;
}

static int enter_landlock(const char *rw_dir, int abi, struct sandbox_state *s, char *why, size_t len)
{
	struct ll_ruleset_attr attr = { .handled_access_fs = LL_FS_ABI1 };
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 4)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	uint64_t fs = attr.handled_access_fs;
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		int e = errno;
		snprintf(why, len, "Landlock ruleset (ABI %d): %s", abi, strerror(e));
		return -e;
	}
	/* The trace: everything a recorder does there (events, index, header
	 * and snapshot files written to a temporary name and renamed in place,
	 * the snapshots/ directory, the disk undo journal). No links, devices,
	 * sockets or fifos, and nothing moved in from elsewhere (REFER). */
	const uint64_t trace = LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_READ_DIR | LL_FS_REMOVE_FILE |
			       LL_FS_REMOVE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_DIR | LL_FS_TRUNCATE;
	const char *bad = NULL;
	int rc = 0;
	if (rw_dir && (rc = add_path(ruleset, rw_dir, trace, fs)))
		bad = rw_dir;
	/* The process's own /proc entries: /proc/self/pagemap (the fingerprint
	 * and the first snapshot skip pages never touched). */
	else if ((rc = add_path(ruleset, "/proc/self", LL_FS_READ_FILE | LL_FS_READ_DIR, fs)))
		bad = "/proc/self";
	else if (SANITIZED && (rc = add_path(ruleset, "/", LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE, fs)))
		bad = "/";
	if (!rc && syscall(SYS_landlock_restrict_self, ruleset, 0))
		rc = -errno, bad = "landlock_restrict_self";
	close(ruleset);
	if (rc) {
		snprintf(why, len, "Landlock (%s): %s", bad, strerror(-rc));
		return rc;
	}
	s->landlock = true;
	return 0;
}

/* The seccomp deny list. Everything else stays allowed: the monitor's own
 * needs (KVM ioctls, file I/O on what it holds, timers, signals, futexes,
 * memory) are open-ended across libc versions, and what a compromised
 * monitor could newly reach is what this list takes away. */
static const int denied[] = {
	SYS_execve, SYS_execveat, SYS_fork, SYS_vfork,
	SYS_process_vm_readv, SYS_process_vm_writev,
	SYS_socket, SYS_socketpair, SYS_connect, SYS_bind, SYS_listen,
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_unshare, SYS_setns,
	SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
	SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_iopl, SYS_ioperm, SYS_personality,
	SYS_swapon, SYS_swapoff, SYS_reboot, SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
	SYS_adjtimex, SYS_acct, SYS_quotactl, SYS_syslog, SYS_vhangup, SYS_uselib,
#ifdef SYS_io_uring_setup
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
#ifdef SYS_fsopen
	SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree,
#endif
#ifdef SYS_mount_setattr
	SYS_mount_setattr,
#endif
#ifdef SYS_pidfd_getfd
	SYS_pidfd_getfd,
#endif
};

/* Two instructions: if the syscall number (in A) is nr, return ret. */
static unsigned ret_if(struct sock_filter *f, unsigned n, uint32_t nr, uint32_t ret)
{
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret);
	return n;
}

static int enter_seccomp(struct sandbox_state *s, char *why, size_t len)
{
	enum { N = sizeof(denied) / sizeof(denied[0]) };
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
	struct sock_filter f[2 * N + 24];
	unsigned n = 0;
	/* i386 (int 0x80) and x32 numbers would bypass the x86-64 list. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eperm);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eperm);
	/* ioctl first: KVM_RUN is the one call of every exit. */
	n = ret_if(f, n, SYS_ioctl, SECCOMP_RET_ALLOW);
	/* clone3's flags are behind a pointer the filter cannot read: ENOSYS
	 * makes glibc fall back to clone, whose flags it can. */
	n = ret_if(f, n, SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS);
	if (!SANITIZED) {
		/* clone: a thread (CLONE_THREAD) yes, a process no. */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eperm);
		n = ret_if(f, n, SYS_ptrace, eperm);
	}
	for (unsigned i = 0; i < N; i++)
		n = ret_if(f, n, (uint32_t)denied[i], eperm);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)) {
		int e = errno;
		snprintf(why, len, "seccomp filter: %s", strerror(e));
		return -e;
	}
	s->seccomp = true;
	return 0;
}

int sandbox__enter(const char *rw_dir, struct sandbox_state *s)
{
	memset(s, 0, sizeof(*s));
	/* Both refuse a process that could still gain privileges (main sets it;
	 * a library caller may not have). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		snprintf(s->note, sizeof(s->note), "no_new_privs: %s", strerror(e));
		return -e;
	}
	s->landlock_abi = sandbox__landlock_abi();
	char ll[sizeof(s->note) / 2] = "", sc[sizeof(s->note) / 2] = "";
	int rc = 0;
	if (s->landlock_abi)
		rc = enter_landlock(rw_dir, s->landlock_abi, s, ll, sizeof(ll));
	else
		snprintf(ll, sizeof(ll), "this kernel has no Landlock: files outside the trace stay reachable");
	int rc2 = enter_seccomp(s, sc, sizeof(sc));
	snprintf(s->note, sizeof(s->note), "%s%s%s", ll, ll[0] && sc[0] ? "; " : "", sc);
	return rc ? rc : rc2;
}
