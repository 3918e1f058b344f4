/* vm.h — the monitor: one KVM VM with one vCPU, its RAM, devices, clock and exit loop. */
#ifndef RRVM_VM_H
#define RRVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <linux/kvm.h>

#include "core/cpu.h"
#include "core/dev.h"
#include "core/err.h"
#include "core/guest_debug.h"
#include "core/loader.h"
#include "core/mem.h"

enum clock_mode { CLOCK_REAL = 0, CLOCK_VIRTUAL = 1 };

/* Why the vCPU loop stopped; each maps to one process exit status. */
enum vm_stop {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,     /* debug-exit 0, or HLT with interrupts disabled  -> 0 */
	VM_STOP_ERROR,        /* monitor error                                   -> 1 */
	VM_STOP_PANIC,        /* guest declared a panic (debug-exit code != 0)   -> 3 */
	VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN                               -> 4 */
	VM_STOP_RESET,        /* guest asked for a reset (i8042 0xFE, 0xCF9)     -> 5 */
	VM_STOP_HOST_LIMIT,   /* this host's KVM cannot run the guest's code     -> 6 */
	VM_STOP_IDLE,         /* halted with nothing left that could wake it     -> 7 */
	VM_STOP_INTERRUPTED,  /* the user interrupted the monitor (SIGINT/TERM)  -> 8 */
	VM_STOP_DIVERGED,     /* replay: the guest did not do what was recorded  -> 9 */
	VM_STOP_REPLAYED,     /* replay: reached the end of the trace or --to; the
			       * status is the recorded one (stop_code)          */
	VM_STOP_DEBUG,        /* a debugger breakpoint, step or interrupt: not an end,
			       * the gdb stub resumes the loop (gdb/)             */
};

#define RRVM_EXIT_OK          0
#define RRVM_EXIT_ERROR       1
#define RRVM_EXIT_USAGE       2
#define RRVM_EXIT_PANIC       3
#define RRVM_EXIT_TRIPLE      4
#define RRVM_EXIT_RESET       5
#define RRVM_EXIT_HOST_LIMIT  6
#define RRVM_EXIT_IDLE        7
#define RRVM_EXIT_INTERRUPTED 8
#define RRVM_EXIT_DIVERGED    9

struct vm_config {
	uint64_t mem_size;          /* bytes */
	const char *kernel;         /* ELF (test kernel, vmlinux) or bzImage */
	const char *initrd;         /* optional */
	const char *append;         /* kernel command line, optional */
	const char *cpu_profile;    /* "baseline" (default) or "host" */
	enum clock_mode clock;
	uint64_t quantum_ns;        /* virtual clock: guest ns per guest-caused exit */
	int console_out_fd;         /* where guest serial output goes (stdout) */
	int console_in_fd;          /* guest serial input, -1 for none */
	bool replay;                /* no devices: every input comes from a trace */
	const struct kvm_cpuid2 *cpuid; /* exact CPUID table (replay), instead of the profile */
	/* virtio devices on PCI (core/virtio.h); none by default. */
	const char *disk;           /* raw image for virtio-blk, or NULL */
	bool disk_ro;               /* the guest sees a read-only disk */
	const char *disk_overlay;   /* writes go to this new copy of the image */
	const char *disk_undo;      /* replay: the trace's undo journal */
	const uint8_t *disk_sha256; /* replay: the image's recorded hash (32 bytes) */
	bool virtio_rng;            /* virtio-rng (entropy from getrandom) */
	bool virtio_console;        /* virtio-console (hvc0) */
};

struct pic;
struct pci_bus;
struct recorder;
struct replayer;

#define VM_CONSOLE_IN_SIZE 4096

struct vm {
	struct vm_config cfg;
	char *cfg_owned[5];         /* malloc'd strings cfg points to (a VM made from a trace header); freed by vm__destroy */
	int kvm_fd, vm_fd, vcpu_fd; /* kvm_fd (/dev/kvm) is closed once vm__create is done: -1 after */
	int cap_xsave2;             /* KVM_CHECK_EXTENSION KVM_CAP_XSAVE2 (the XSAVE area's size; <= 0: none) */
	bool cap_xsave, cap_xcrs;   /* KVM_CAP_XSAVE, KVM_CAP_XCRS */
	struct kvm_run *run;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	struct cpu_msr_state msr;
	struct load_info load;

	struct guest_mem mem;
	struct io_bus bus;
	struct device devices[DEV_MAX_DEVICES];
	int nr_devices;
	struct pic *pic;            /* the interrupt controller the loop injects from */
	struct pci_bus *pci;        /* PCI host bridge when virtio devices exist (core/pci.h) */
	struct recorder *rec;       /* set while recording */
	struct replayer *rep;       /* set while replaying */
	bool last_exit_guest;       /* the latest KVM_RUN ended in a guest-caused exit */
	bool exception_due;         /* KVM raises an exception when it completes the last guest-caused
				     * exit (an MSR access answered with #GP): no injection until the
				     * next one (core/vcpu_loop.c, prepare_injection) */
	bool sync_regs;             /* KVM fills run->s.regs.regs at every exit (KVM_CAP_SYNC_REGS) */
	uint64_t exit_regs[18];     /* recording/replay: registers as the latest exit left them
				     * (before any handler completes an IN), vcpu__exit_regs order */
	bool exit_regs_valid;
	bool deferred;              /* an injection at a kick was deferred: retry soon */
	bool irq_window_async;      /* recording where ring 0 is emulated (rrvm doctor): KVM reports the
				     * interrupt window at no fixed instruction, so a window exit is a
				     * kick point, not an event (core/vcpu_loop.c, dispatch); set by the recorder only */
	uint64_t stop_wait_until;   /* recording, SIGINT/SIGTERM/Ctrl-A x between exits: run on to the
				     * next guest-caused exit (a point the final snapshot can hold)
				     * until this host CLOCK_MONOTONIC ns; 0 when not waiting */
	int stop_wait_sig;          /* the signal being waited on (0: Ctrl-A x) */
	uint64_t irq_pending_since_ns; /* guest time the PIC's request has waited since (0: none waits) */
	bool irq_stall_reported;    /* the current wait was reported (core/vcpu_loop.c) */

	/* Guest clock (DESIGN.md contract 6). */
	uint64_t virt_ns;           /* CLOCK_VIRTUAL: advanced by the loop */
	uint64_t start_mono_ns;     /* CLOCK_REAL: host CLOCK_MONOTONIC at start */
	int64_t wallclock_base;     /* Unix seconds at guest time 0 (RTC) */
	uint64_t next_deadline_ns;  /* earliest device deadline after the last poll */

	/* Kicks: a POSIX timer signals the vCPU thread when a deadline passes. */
	pthread_t vcpu_thread;
	void *kick_timer;           /* timer_t */
	uint64_t kick_abs_ns;       /* CLOCK_MONOTONIC expiry the timer holds; 0: disarmed */

	/* Console input: filled by a reader thread, drained by the UART at exits. */
	pthread_t input_thread;
	bool input_thread_running;
	pthread_mutex_t input_lock;
	uint8_t input_buf[VM_CONSOLE_IN_SIZE];
	size_t input_head, input_tail;
	bool input_eof;
	int input_stop_fd;          /* eventfd: tells the input thread to finish */
	int wake_fd;                /* eventfd: input arrived or stop requested (wakes a halted vCPU) */
	volatile int quit_requested; /* set from the input thread (Ctrl-A x) or a signal */
	volatile int snapshot_requested; /* Ctrl-A s: the recorder snapshots at the next exit */

	/* Debug registers and single-step, shared by landmarks and gdb. */
	struct guest_debug gdbg;

	/* Why and how the loop stopped. */
	enum vm_stop stop;
	int stop_code;
	char stop_msg[512];

	/* The last rewritten RDTSC/RDTSCP site the guest executed (core/tsc_port.c):
	 * the recorder logs it with the exit, the replayer restores RDX/RCX from it. */
	struct {
		bool valid;
		uint64_t rip, value;
		uint32_t aux;
		bool rdtscp;
	} rdtsc_last;

	/* Statistics. */
	uint64_t exits;             /* guest-caused exits (the event clock) */
	uint64_t exits_by_reason[64];
	uint64_t kicks;
	uint64_t irqs_injected;
	uint64_t unhandled_pio, unhandled_mmio;
	uint64_t msr_exits;
};

/* Creates the VM: opens /dev/kvm, checks the API, maps RAM, applies the CPU
 * profile and MSR filter, creates the vCPU, registers the platform devices,
 * and loads the kernel (ELF or bzImage) with its initrd and command line.
 * On error returns -errno with a one-line explanation in *err. */
int vm__create(struct vm **out, const struct vm_config *cfg, struct rrvm_err *err);

/* Runs the vCPU until the guest powers off, fails, or the user interrupts.
 * Returns 0 with vm->stop/stop_code/stop_msg set, or -errno on a monitor error
 * (vm->stop is then VM_STOP_ERROR). */
int vm__run(struct vm *vm);

/* Frees everything vm__create made. NULL is fine. */
void vm__destroy(struct vm *vm);

/* The process exit status for the way the VM stopped. */
int vm__exit_status(const struct vm *vm);

/* ---- For devices (all called in the vCPU thread). ---- */

/* Adds a device to the ordered table. 0 or -ENOSPC/-EEXIST (name taken). */
int vm__add_device(struct vm *vm, const struct device *dev);
/* Registers an I/O region (see io_bus__register). */
int vm__add_io(struct vm *vm, const struct io_region *r);
/* Drives ISA interrupt line `irq` (0-15) of the PIC. */
void vm__set_irq(struct vm *vm, unsigned irq, int level);
/* Guest time in ns since power-on (real or virtual clock). */
uint64_t vm__now_ns(const struct vm *vm);
/* The host's CLOCK_MONOTONIC in ns. */
uint64_t vm__host_mono_ns(void);
/* Unix time (seconds) corresponding to guest time 0, for the RTC. */
int64_t vm__wallclock_base(const struct vm *vm);
/* Guest console output (serial bytes). */
void vm__console_write(struct vm *vm, const uint8_t *buf, size_t len);
/* Takes up to `max` bytes of pending console input; returns the count. */
size_t vm__console_read(struct vm *vm, uint8_t *buf, size_t max);
/* True when console input is pending. */
bool vm__console_pending(struct vm *vm);
/* Ends the run after the current exit with `why` and a one-line message. */
void vm__request_stop(struct vm *vm, enum vm_stop why, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
