/* doctor_int.h — shared by the doctor files: the probe-VM machinery (doctor_vm.c) and the probes (doctor_probe.c). */
#ifndef RRVM_DOCTOR_INT_H
#define RRVM_DOCTOR_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <linux/kvm.h>

#include "core/doctor.h"
#include "core/mem.h"

/*
 * Probe VM layout (8 MiB of RAM, identity-mapped long mode from
 * x86__setup_boot_tables, every page made user-accessible):
 *   0x1000 GDT: 0x10 kernel code64, 0x18 kernel data, 0x28 user data (DPL3),
 *          0x30 user code64 (DPL3), 0x38 the TSS
 *   0x2000 IDT: 32 interrupt gates (DPL3, so int3 works from CPL3)
 *   0x3000 TSS (rsp0 = kernel stack)   0x4000 exception stubs
 *   0x10000 CPL3 prelude (iretq to the body), 0x10100 the body
 *   0x6f000 user stack top, 0x7f000 kernel stack top
 *   0x100000, 0x101000 data buffers (rdi, rsi), 0x200000 pages the dirty probes write
 *   0x10000000 unbacked: MMIO signals
 * Signals to the monitor are MMIO writes (they work from any CPL; on the
 * development host IOPL does not survive iretq into CPL3, so OUT would #GP):
 * SIG_BASE+0 done (AL = result), +1 fault (AL = vector), +2 ready (the
 * measured part starts), +3 noise (exit-cost probes).
 */
#define PVM_MEM_SIZE   (8ull << 20)
#define GDT_GPA        0x1000ull
#define IDT_GPA        0x2000ull
#define TSS_GPA        0x3000ull
#define STUBS_GPA      0x4000ull
#define CODE_GPA       0x10000ull
#define BODY_GPA       0x10100ull
#define USTACK_TOP     0x6f000ull
#define KSTACK_TOP     0x7f000ull
#define BUF_GPA        0x100000ull
#define BUF2_GPA       0x101000ull
#define DIRTY_GPA      0x200000ull
#define SIG_BASE       0x10000000ull
#define SIG_DONE       (SIG_BASE + 0)
#define SIG_FAULT      (SIG_BASE + 1)
#define SIG_READY      (SIG_BASE + 2)
#define SIG_NOISE      (SIG_BASE + 3)
#define PORT_NOISE     0xe3
#define SEL_TSS        0x38

#define PROBE_SIGNAL   SIGUSR2     /* the watchdog and the kick, in probe child processes */
#define WATCHDOG_MS    1500.0      /* longest a probe VM may run */

/* Guest code, assembled by the host assembler into .rodata and copied into
 * guest RAM. Registers on entry to a body: rcx = count, rdi = BUF_GPA,
 * rsi = BUF2_GPA, rdx = SIG_NOISE, everything else 0. */
#define PROBE_SNIP(n) extern const uint8_t doc_##n[], doc_##n##_end[];
#define PROBE_READY "movb %al, 0x10000002\n"
#define PROBE_DONE "movb %al, 0x10000000\nhlt\n"
#define PROBE_BEGIN(n) ".globl doc_" #n "\n.hidden doc_" #n "\n.globl doc_" #n "_end\n.hidden doc_" #n "_end\ndoc_" #n ":\n"
#define PROBE_END(n) "doc_" #n "_end:\n"
#define PROBE_BODY(n, code) PROBE_BEGIN(n) code PROBE_END(n)
struct snippet {
	const uint8_t *start, *end;
};
#define SNIPPET(n) ((struct snippet){ doc_##n, doc_##n##_end })

/* Probe environment of one child process: a timer that signals this thread,
 * the signal blocked outside KVM_RUN and deliverable inside it. */
struct penv {
	int kvm_fd;
	timer_t timer;
	sigset_t run_mask;      /* the mask KVM_RUN uses: PROBE_SIGNAL unblocked */
	struct kvm_cpuid2 *cpuid;
	bool xsave;             /* the CPUID table offers XSAVE: CR4.OSXSAVE can be set */
	uint64_t xcr0;
};

/* Sets up the watchdog (blocks PROBE_SIGNAL in this thread) and the CPUID
 * table; call in the child process that runs probes. */
int doctor__penv_init(struct penv **out, int kvm_fd);
void doctor__penv_fini(struct penv *env);
/* Arms the watchdog (or a kick) `ms` from now; 0 disarms and drains a pending one. */
void penv__arm(struct penv *env, double ms);
double doctor__now_s(void);

/* One probe VM: 8 MiB of RAM laid out as above, one vCPU. */
struct pvm {
	struct penv *env;
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
	struct kvm_dirty_gfn *ring;
	size_t ring_bytes;
};

struct pvm_opts {
	bool dirty_log;         /* KVM_MEM_LOG_DIRTY_PAGES on the RAM slot */
	uint32_t dirty_ring;    /* bytes; 0 = none */
	bool acq_rel;           /* KVM_CAP_DIRTY_LOG_RING_ACQ_REL rather than _RING */
	bool msr_filter;        /* cpu__setup_msr_filter */
};

/* Creates the VM; 0 or -errno (everything is released on error). */
int pvm__create(struct pvm *p, struct penv *env, const struct pvm_opts *o);
/* pvm__create, recording a failure in *r (unavailable or error). */
int pvm__create_for(struct pvm *p, struct penv *env, const struct pvm_opts *o, struct doctor_result *r);
void pvm__destroy(struct pvm *p);
/* Loads `s` at BODY_GPA and points the vCPU at it in CPL0, or at the iretq
 * prelude for CPL3. rcx = count; other registers as documented above. */
int pvm__start(struct pvm *p, struct snippet s, int cpl, uint64_t count);
int pvm__set_debug(struct pvm *p, uint32_t control, uint64_t bp);

enum ev_kind { EV_DONE, EV_READY, EV_FAULT, EV_PIO, EV_MMIO, EV_DEBUG, EV_HLT, EV_MSR,
	       EV_INTERNAL, EV_INTR, EV_SHUTDOWN, EV_OTHER, EV_ERROR };

struct ev {
	enum ev_kind kind;
	uint64_t value;         /* port data, vector, exit reason, debug pc, -errno */
	double t;               /* when KVM_RUN returned */
};

/* One KVM_RUN, classified. The caller arms the watchdog. */
struct ev pvm__step(struct pvm *p);
/* Runs under the watchdog until a terminal event (done, fault, internal
 * error, timeout...), counting PIO/MMIO noise exits in *noise and noting
 * the ready mark's time in *t_ready (either may be NULL). */
struct ev pvm__run_plain(struct pvm *p, uint64_t *noise, double *t_ready);
/* RRVM_DOCTOR_DEBUG=1: prints the exception frame of a faulting probe. */
void pvm__debug_fault(struct pvm *p, struct ev ev);
/* The outcome a terminal event means for a plain probe. */
void doctor__outcome_from(struct doctor_result *r, struct ev ev);

/* ---- The probes (doctor_probe.c). Each creates its own VM, runs it under
 * the watchdog, destroys it, and fills *r. ---- */
void doctor__probe_loop(struct penv *env, int cpl, struct doctor_result *r);   /* r->us: µs per iteration */
void doctor__probe_exit(struct penv *env, int cpl, bool mmio, struct doctor_result *r);   /* r->us: median µs */
void doctor__probe_insn(struct penv *env, enum doctor_insn insn, int cpl, struct doctor_result *r);
/* kind: 0 single-step, 1 hardware breakpoint, 2 int3 intercept, 3 HLT exit. */
void doctor__probe_debug(struct penv *env, int kind, int cpl, struct doctor_result *r);
void doctor__probe_kick(struct penv *env, int cpl, struct doctor_result *r);
void doctor__probe_immediate_exit(struct penv *env, struct doctor_result *r);
void doctor__probe_dirty_log(struct penv *env, struct doctor_result *r);
void doctor__probe_dirty_ring(struct penv *env, bool acq_rel, struct doctor_result *r);
void doctor__probe_user_msr(struct penv *env, struct doctor_result *r);

/* ---- Between doctor.c and doctor_report.c. ---- */
/* Kernel release, CPU model and whether this is the PVM host (the cache key). */
void doctor__read_identity(struct host_caps *c);
/* $XDG_CACHE_HOME/rrvm/doctor: load when its key matches (0, or -errno /
 * -ESTALE); save atomically (best effort). */
int doctor__cache_load(struct host_caps *c);
void doctor__cache_save(const struct host_caps *c);
/* False when a probe timed out or failed: such a run is not cached. */
bool doctor__cacheable(const struct host_caps *c);

#endif
