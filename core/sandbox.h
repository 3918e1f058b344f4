/* sandbox.h — what a one-shot `rrvm run`/`rrvm record` gives up once its VM
 * exists (SECURITY.md "What the process gives up").
 *
 * Two kernel mechanisms, each applied where the host has it:
 *  - Landlock: files may be opened only beneath the trace directory (read,
 *    write, create, remove) and /proc/self (read); nothing else, /dev/kvm
 *    included, opens again. No TCP bind or connect, no signals to processes
 *    outside the sandbox, no abstract Unix sockets outside it (each as far as
 *    the kernel's Landlock ABI reaches).
 *  - seccomp: a deny list: no exec, no new processes (threads only), no
 *    ptrace or cross-process memory access, no new sockets, no mounts,
 *    namespaces, modules, BPF, io_uring, keyrings or clock setting. A denied
 *    call fails with EPERM; it never kills the monitor, so a recording in
 *    progress is never lost to the filter.
 * Both need no_new_privs (main sets it) and apply to every thread made
 * afterwards; seccomp also to the threads that already exist. Neither can be
 * undone. */
#ifndef RRVM_SANDBOX_H
#define RRVM_SANDBOX_H

#include <stdbool.h>

struct sandbox_state {
	int landlock_abi;   /* the kernel's Landlock ABI version; 0 when it has none */
	bool landlock;      /* the Landlock domain is in force */
	bool seccomp;       /* the seccomp filter is in force */
	char note[256];     /* why one of them is not, for the user */
};

/* Enters the sandbox. rw_dir: the one directory the process may still write
 * (the trace), or NULL for none. Returns 0 when everything the host supports
 * is in force (s->note says what the host lacks), or a negative errno when a
 * mechanism the host has could not be applied (s->note says which); the
 * process can go on either way, it is only less confined. */
int sandbox__enter(const char *rw_dir, struct sandbox_state *s);

/* The kernel's Landlock ABI version (0: none). */
int sandbox__landlock_abi(void);

/* True in sanitizer builds (rrvm-asan), whose sandbox lets LeakSanitizer
 * stop threads (clone, ptrace) and reports be symbolized (read and execute
 * everywhere); writes stay confined to the trace. */
bool sandbox__relaxed(void);

#endif
