/* vcpu_loop.c — the one exit dispatch loop: run the vCPU, service exits, poll devices, inject, kick. */
#include "core/vm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/devices.h"
#include "core/pci.h"
#include "core/pic.h"
#include "core/rdtsc.h"
#include "core/vcpu.h"
#include "core/x86.h"
#include "record/recorder.h"
#include "replay/replayer.h"

#define KICK_SIGNAL VCPU_KICK_SIGNAL
/* A recording stopped between exits runs on this long for the next one (host ns). */
#define STOP_WAIT_NS 250000000ull
/* After a deferred injection, kick again this much later (guest ns). */
#define DEFER_RETRY_NS 500000ull

/* Signal handlers reach the vCPU through thread-locals (async-signal-safe):
 * a kick sets run->immediate_exit, so KVM_RUN returns at once whether the
 * signal lands inside it or just before entry, and wakes a halt wait. */
static __thread struct kvm_run *tls_run;
static __thread int tls_wake_fd = -1;
/* Which stop signal arrived: the only process-wide state. The vm__run that
 * turns it into VM_STOP_INTERRUPTED consumes it (clears it), so one Ctrl-C
 * stops one run: a gdb or TUI session goes on running afterwards, and
 * `rrvm record` still ends because that stop ends its only run. A signal
 * that arrives between runs stops the next one. */
static volatile sig_atomic_t stop_signal;

static void kick_self(void)
{
	if (tls_run)
		tls_run->immediate_exit = 1;
	if (tls_wake_fd >= 0) {
		uint64_t one = 1;
		if (write(tls_wake_fd, &one, sizeof(one)) < 0) { /* already signalled */ }
	}
}

static void on_kick(int sig) { (void)sig; kick_self(); }
static void on_stop_signal(int sig) { stop_signal = sig; kick_self(); }

static int setup_signals(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = on_kick };
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	tls_run = vm->run;
	tls_wake_fd = vm->wake_fd;

	sigset_t unblock;
	sigemptyset(&unblock);
	sigaddset(&unblock, KICK_SIGNAL);
	sigaddset(&unblock, SIGINT);
	sigaddset(&unblock, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);

	vm->vcpu_thread = pthread_self();
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = KICK_SIGNAL,
	};
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	timer_t t;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0)
		return -errno;
	vm->kick_timer = malloc(sizeof(timer_t));
	if (!vm->kick_timer) {
		timer_delete(t);
		return -ENOMEM;
	}
	memcpy(vm->kick_timer, &t, sizeof(t));
	return 0;
}

static void teardown_signals(struct vm *vm)
{
	tls_run = NULL;
	tls_wake_fd = -1;
	if (vm->kick_timer) {
		timer_delete(*(timer_t *)vm->kick_timer);
		free(vm->kick_timer);
		vm->kick_timer = NULL;
		vm->kick_abs_ns = 0;   /* a later run's new timer holds nothing yet */
	}
}

/* Sets the kick timer to expire at abs_ns (CLOCK_MONOTONIC; 0 disarms). arm_kick
 * runs before every KVM_RUN and the deadline rarely moves between exits: when
 * the timer already holds this expiry and it is still ahead, setting it again
 * would change nothing but cost a syscall per exit (strace -c of recordings:
 * BENCHMARKS.md section 10). Once it has passed, it is set again and fires at
 * once. */
static void set_kick(struct vm *vm, uint64_t abs_ns)
{
	if (abs_ns && abs_ns == vm->kick_abs_ns && vm__host_mono_ns() < abs_ns)
		return;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = (time_t)(abs_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(abs_ns % 1000000000ull);
	timer_settime(*(timer_t *)vm->kick_timer, TIMER_ABSTIME, &its, NULL);
	vm->kick_abs_ns = abs_ns;
}

/* Real clock: arm the host timer to kick the vCPU when the next device
 * deadline passes. Virtual time never kicks: it only moves at exits. */
static void arm_kick(struct vm *vm)
{
	if (!vm->kick_timer)
		return;
	if (vm->stop_wait_until) {
		/* Waiting for an exit to stop at: give up at the deadline. */
		set_kick(vm, vm->stop_wait_until);
		return;
	}
	if (vm->cfg.clock != CLOCK_REAL)
		return;
	if (vm->deferred) {
		/* Try again soon: the next kick may land where replay can stop. */
		uint64_t retry = vm__now_ns(vm) + DEFER_RETRY_NS;
		if (retry < vm->next_deadline_ns)
			vm->next_deadline_ns = retry;
		vm->deferred = false;
	}
	if (vm->next_deadline_ns != UINT64_MAX) {
		uint64_t abs = vm->start_mono_ns + vm->next_deadline_ns;
		set_kick(vm, abs ? abs : 1);
	} else if (vm->kick_abs_ns) {
		set_kick(vm, 0);
	}
}

static void poll_devices(struct vm *vm)
{
	uint64_t now = vm__now_ns(vm), next = UINT64_MAX;
	for (int i = 0; i < vm->nr_devices; i++) {
		if (!vm->devices[i].poll)
			continue;
		uint64_t d = vm->devices[i].poll(vm->devices[i].state, now);
		if (d < next)
			next = d;
	}
	vm->next_deadline_ns = next;
}

/* An MSR access answered with #GP: KVM injects the #GP when it completes the
 * instruction at the next KVM_RUN. An interrupt queued with KVM_INTERRUPT
 * now (ready_for_interrupt_injection says yes: the #GP is not queued yet)
 * would collide with it: KVM delivers the exception first and clears its
 * interrupt queue at the next exit, so the interrupt is lost while the PIC
 * holds its vector in service. The guest then never again gets an
 * interrupt of that priority or lower: Linux probing AMD MSRs in check_bugs
 * with the timer due lost its timer for good (issue 3's lane hang). The
 * interrupt waits for the window instead, which opens after the #GP
 * handler. Kicks do not inject either until the next guest-caused exit:
 * only that one says the completion has run. */
static bool msr_gp_due(const struct kvm_run *run)
{
	return (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR) && run->msr.error;
}

/* Injects the PIC's highest request when the guest can take it now, or asks
 * KVM for an exit as soon as it can (interrupt window). While recording, an
 * injection after a kick needs a landmark replay can reach; without one it
 * is deferred, and the window request is only ever changed at guest-caused
 * exits, so replay can mirror it from the recorded exits alone. */
/* A guest that keeps running while a request latched in the PIC is never
 * delivered (not deliverable, or never accepted by the vCPU) has lost its
 * timer without knowing it: a hang much later, far from the cause. Say once
 * per such wait what the controller, the PIT and KVM hold. */
#define IRQ_STALL_NS 5000000000ull

/* The PIC's request was delivered, or none waits. */
static void irq_stall_reset(struct vm *vm)
{
	vm->irq_pending_since_ns = 0;
	vm->irq_stall_reported = false;
}

static void irq_stall_check(struct vm *vm)
{
	uint64_t now = vm__now_ns(vm);
	if (!vm->irq_pending_since_ns) {
		vm->irq_pending_since_ns = now ? now : 1;
		return;
	}
	if (vm->irq_stall_reported || now - vm->irq_pending_since_ns < IRQ_STALL_NS)
		return;
	vm->irq_stall_reported = true;
	char pic[160];
	pic__describe(vm->pic, pic, sizeof(pic));
	struct kvm_vcpu_events ev;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool have_ev = ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) == 0;
	bool have_regs = ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 && ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) == 0;
	fprintf(stderr,
		"rrvm: warning: an interrupt request has waited %.3f s of guest time without any delivery (event %llu, %llu kicks, "
		"%llu injected so far): %s; kvm_run if_flag %u ready %u window-request %u; ",
		(double)(now - vm->irq_pending_since_ns) / 1e9, (unsigned long long)vm->exits,
		(unsigned long long)vm->kicks, (unsigned long long)vm->irqs_injected, pic, vm->run->if_flag,
		vm->run->ready_for_interrupt_injection, vm->run->request_interrupt_window);
	if (have_ev)
		fprintf(stderr, "KVM interrupt injected %u nr 0x%x shadow %u, exception injected %u pending %u nr %u, nmi %u; ",
			ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.shadow, ev.exception.injected,
			ev.exception.pending, ev.exception.nr, ev.nmi.injected);
	for (int i = 0; i < vm->nr_devices; i++) {
		if (strcmp(vm->devices[i].name, "pit"))
			continue;
		const struct pit_channel *c = &((const struct pit_state *)vm->devices[i].state)->ch[0];
		fprintf(stderr, "PIT ch0 mode %u reload %u loaded %u running %u edges %llu, next deadline %.6f s; ",
			c->mode, c->reload, c->loaded, c->running, (unsigned long long)c->edges,
			vm->next_deadline_ns == UINT64_MAX ? -1.0 : (double)vm->next_deadline_ns / 1e9);
	}
	if (have_regs)
		fprintf(stderr, "RIP 0x%llx RFLAGS 0x%llx CPL %u\n", (unsigned long long)regs.rip,
			(unsigned long long)regs.rflags, sregs.cs.selector & 3u);
	else
		fprintf(stderr, "registers unreadable\n");
}

static int prepare_injection(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	bool at_exit = vm->last_exit_guest;
	if (pic__has_request(vm->pic))
		irq_stall_check(vm);
	else
		irq_stall_reset(vm);
	if (!vm->pic || !pic__has_intr(vm->pic)) {
		if (at_exit)
			run->request_interrupt_window = 0;
		return 0;
	}
	if (run->ready_for_interrupt_injection && run->if_flag && !vm->exception_due) {
		if (vm->rec && !at_exit) {
			/* Peek the vector without acknowledging it. */
			if (!recorder__kick_point(vm->rec, vm, (uint32_t)pic__peek_vector(vm->pic))) {
				vm->deferred = true;
				return 0;
			}
		}
		uint32_t vector = (uint32_t)pic__ack(vm->pic);
		struct kvm_interrupt irq = { .irq = vector };
		if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
			return -errno;
		if (vm->rec && at_exit)
			recorder__irq(vm->rec, vm, vector);
		vm->irqs_injected++;
		irq_stall_reset(vm);
		guest_debug__injected(vm, vector);   /* gdb stepping: stop at the handler */
		if (at_exit)
			run->request_interrupt_window = 0;
	} else if (at_exit) {
		run->request_interrupt_window = 1;
	}
	return 0;
}

/* live: every region. Replay: only the PCI bus's regions (conf1 and the
 * virtio BARs), whose models must track state because they write guest
 * memory at queue notifies; the replayer then overwrites what the guest
 * reads with the recorded values. */
static bool replay_model(const struct vm *vm, const struct io_region *r)
{
	return r && vm->pci && r->dev == (void *)vm->pci;
}

static void handle_pio(struct vm *vm, bool live)
{
	struct kvm_run *run = vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	const struct io_region *r = io_bus__find(&vm->bus, IO_SPACE_PIO, run->io.port, run->io.size);
	if (!live) {
		for (uint32_t i = 0; replay_model(vm, r) && i < run->io.count; i++, data += run->io.size)
			r->fn(r->dev, run->io.port - r->base, data, run->io.size, write);
		return;
	}
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (r) {
			r->fn(r->dev, run->io.port - r->base, data, run->io.size, write);
		} else {
			if (!write)
				memset(data, 0xff, run->io.size);
			vm->unhandled_pio++;
		}
	}
	vcpu__apply_rdtsc(vm);   /* a rewritten RDTSC/RDTSCP site: RDX/RCX (core/tsc_port.c) */
}

static void handle_mmio(struct vm *vm, bool live)
{
	struct kvm_run *run = vm->run;
	uint32_t len = run->mmio.len;
	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	const struct io_region *r = io_bus__find(&vm->bus, IO_SPACE_MMIO, run->mmio.phys_addr, len);
	if (!live) {
		if (replay_model(vm, r))
			r->fn(r->dev, run->mmio.phys_addr - r->base, run->mmio.data, len, run->mmio.is_write);
		return;
	}
	if (r) {
		r->fn(r->dev, run->mmio.phys_addr - r->base, run->mmio.data, len, run->mmio.is_write);
	} else {
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, len);
		vm->unhandled_mmio++;
	}
}

static bool input_possible(struct vm *vm)
{
	return vm->input_thread_running && !vm->input_eof;
}

/* HLT with interrupts enabled: wait (in guest time) until an interrupt is
 * pending. With interrupts disabled nothing can wake the CPU: the guest has
 * halted for good, which is how Linux ends `poweroff` on a machine without
 * ACPI. */
static void handle_hlt(struct vm *vm)
{
	if (!vm->run->if_flag) {
		vm__request_stop(vm, VM_STOP_POWEROFF, 0, "guest halted with interrupts disabled (poweroff)");
		return;
	}
	for (;;) {
		poll_devices(vm);
		if ((vm->pic && pic__has_intr(vm->pic)) || vm->stop != VM_STOP_NONE ||
		    stop_signal || vm->quit_requested || vm->gdbg.interrupt)
			return;
		uint64_t deadline = vm->next_deadline_ns;
		if (deadline == UINT64_MAX && !input_possible(vm) && !vm__console_pending(vm)) {
			vm__request_stop(vm, VM_STOP_IDLE, 0,
					 "guest halted with interrupts enabled but no timer armed and no input: it can never wake");
			return;
		}
		if (vm->cfg.clock == CLOCK_VIRTUAL && deadline != UINT64_MAX) {
			if (deadline > vm->virt_ns)
				vm->virt_ns = deadline;
			continue;
		}
		struct timespec ts, *tsp = NULL;
		if (deadline != UINT64_MAX) {
			uint64_t now = vm__now_ns(vm);
			uint64_t wait = deadline > now ? deadline - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		struct pollfd pfd = { .fd = vm->wake_fd, .events = POLLIN };
		if (ppoll(&pfd, 1, tsp, NULL) > 0) {
			uint64_t v;
			if (read(vm->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return;
		}
	}
}

static void handle_shutdown(struct vm *vm)
{
	struct kvm_regs regs;
	uint64_t rip = ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
	vm__request_stop(vm, VM_STOP_TRIPLE_FAULT, 0,
			 "guest triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x%llx", (unsigned long long)rip);
}

static void handle_unknown(struct vm *vm, uint32_t reason)
{
	struct kvm_regs regs;
	uint64_t rip = ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
	vm__request_stop(vm, VM_STOP_ERROR, (int)reason, "unexpected KVM exit reason %u (%s) at RIP 0x%llx",
			 reason, vcpu__exit_name(reason), (unsigned long long)rip);
}

/* One exit: returns true when it was guest-caused (a point in time). */
static bool dispatch(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	uint32_t reason = run->exit_reason;
	/* The debugger's HLT patch: not a point in time, not counted. */
	if (reason == KVM_EXIT_HLT && guest_debug__patch_exit(vm))
		return false;
	/* Recording where ring 0 is emulated (HOST.md): KVM notices the open
	 * window only at some later exit of its own, so the exit lands on any
	 * instruction after it and a replay asking for the same window does not
	 * meet it there. Not an event but a kick point: the interrupt goes in at
	 * a landmark, or waits (prepare_injection). Any #GP an MSR exit left
	 * pending has been delivered by now. */
	if (reason == KVM_EXIT_IRQ_WINDOW_OPEN && vm->irq_window_async) {
		vm->exits_by_reason[reason]++;
		run->request_interrupt_window = 0;
		vm->exception_due = false;
		return false;
	}
	/* A guest-caused exit ends the recorder's kick probe before it is
	 * serviced (completing a rewritten RDTSC runs KVM_RUN, which must not
	 * single-step). */
	if (vm->rec && reason != KVM_EXIT_INTR && reason != KVM_EXIT_DEBUG)
		recorder__probe_cancel(vm->rec, vm);
	if (reason < 64)
		vm->exits_by_reason[reason]++;
	/* Replay runs only the PCI/virtio models; the replayer
	 * answers every read from the trace. */
	bool live = !vm->rep;
	switch (reason) {
	case KVM_EXIT_IO:
		handle_pio(vm, live);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vm, live);
		return true;
	case KVM_EXIT_HLT:
		if (live)
			handle_hlt(vm);
		return true;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		vm->msr_exits++;
		if (live)
			cpu__handle_msr(vm, run);
		return true;
	case KVM_EXIT_INTR:
		vm->kicks++;
		return false;
	case KVM_EXIT_DEBUG:
		/* Landmarks, the STI-shadow step and gdb: not a point in time. */
		guest_debug__exit(vm);
		return false;
	case KVM_EXIT_SHUTDOWN:
		handle_shutdown(vm);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu__describe_internal_error(vm);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		vm__request_stop(vm, VM_STOP_ERROR, 0, "KVM could not enter the guest (hardware reason 0x%llx)",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vm__request_stop(vm, VM_STOP_RESET, 0, "guest requested reset (system event)");
		else
			vm__request_stop(vm, VM_STOP_POWEROFF, 0, "guest powered off (system event %u)",
					 run->system_event.type);
		return true;
	default:
		handle_unknown(vm, reason);
		return false;
	}
}

/* TCG's emulated SVM can report an interrupt window inside the STI shadow
 * (a host interrupt exit lands right after STI and the shadow is lost;
 * restoring it with KVM_SET_VCPU_EVENTS does not hold: the next entry exits
 * at the same RIP again). Hardware reports the window one instruction later.
 * So a window exit right after an STI byte is not a point in time:
 * single-step the shadowed instruction with the window request off, then
 * request again. Depends on guest state only: record and replay agree. */
static bool window_in_sti_shadow(struct vm *vm)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t b = 0;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return false;
	/* Ring 0 only: STI in ring 3 needs IOPL 3, and single-stepping ring-3
	 * code hands the guest a #DB on the development host (HOST.md). */
	if (sregs.cs.selector & 3)
		return false;
	return x86__read_virt(&vm->mem, &sregs, regs.rip - 1, &b, 1) == 1 && b == 0xfb;
}

static int set_step(struct vm *vm, bool on)
{
	return guest_debug__step(vm, GD_STEP_LOOP, on);
}

/* A stop by SIGINT/SIGTERM (sig) or Ctrl-A x (0); late: the recorder waited
 * STOP_WAIT_NS for a guest-caused exit in vain. */
static void stop_interrupted(struct vm *vm, int sig, bool late)
{
	const char *why = late ? ", between exits (no exit came within 250 ms: no final snapshot)" : "";
	vm->stop_wait_until = 0;
	if (sig)
		vm__request_stop(vm, VM_STOP_INTERRUPTED, sig, "interrupted by signal %d%s", sig, why);
	else
		vm__request_stop(vm, VM_STOP_INTERRUPTED, 0, "quit requested from the console (Ctrl-A x)%s", why);
}

/* Recording, at an event boundary: the snapshot due there, if any
 * (record/rec_snapshot.c decides: --snapshot-every, Ctrl-A s, a panic, a
 * stop by signal). */
static void snapshot_point(struct vm *vm)
{
	guest_debug__patch_disarm(vm);   /* a snapshot holds the guest's own bytes */
	recorder__snapshot_point(vm->rec, vm);
	guest_debug__patch_arm(vm);
}

int vm__run(struct vm *vm)
{
	int rc = setup_signals(vm);
	if (rc) {
		vm__request_stop(vm, VM_STOP_ERROR, rc, "cannot set up vCPU signals: %s", strerror(-rc));
		return rc;
	}
	rc = vm->rep ? 0 : vcpu__start_input(vm);
	if (rc) {
		vm__request_stop(vm, VM_STOP_ERROR, rc, "cannot start console input: %s", strerror(-rc));
		goto out;
	}
	poll_devices(vm);
	guest_debug__patch_arm(vm);   /* the debugger's HLT patches live only inside this loop */
	bool skip_inject = false, shadow_step = false;
	while (vm->stop == VM_STOP_NONE) {
		int sig = stop_signal;
		bool want = sig || vm->quit_requested;
		if (sig)
			stop_signal = 0;   /* consumed: this stop reports it */
		if (want && vm->rec && !vm->last_exit_guest && !vm->stop_wait_until) {
			/* Between exits: the final snapshot needs an event boundary. */
			vm->stop_wait_sig = sig;
			vm->stop_wait_until = vm__host_mono_ns() + STOP_WAIT_NS;
		} else if ((want && (!vm->stop_wait_until || sig)) ||
			   (vm->stop_wait_until && vm__host_mono_ns() >= vm->stop_wait_until)) {
			stop_interrupted(vm, sig ? sig : vm->stop_wait_sig, !want);
			if (vm->rec && vm->last_exit_guest)
				snapshot_point(vm);
			break;
		}
		if (vm->gdbg.interrupt) {
			vm->gdbg.interrupt = 0;
			vm__request_stop(vm, VM_STOP_DEBUG, 0, "interrupted by the debugger");
			break;
		}
		/* Injection: from the trace when replaying, from the PIC otherwise. */
		if (skip_inject)
			skip_inject = false;
		else if (vm->rep)
			replayer__before_run(vm->rep, vm);
		else
			rc = prepare_injection(vm);
		if (vm->stop != VM_STOP_NONE)
			break;
		if (rc) {
			vm__request_stop(vm, VM_STOP_ERROR, rc, "KVM_INTERRUPT failed: %s", strerror(-rc));
			break;
		}
		arm_kick(vm);
		int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		vm->run->immediate_exit = 0;
		if (r < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				rc = -errno;
				vm__request_stop(vm, VM_STOP_ERROR, rc, "KVM_RUN failed: %s", strerror(errno));
				break;
			}
			vm->run->exit_reason = KVM_EXIT_INTR;
		}
		vm->exit_regs_valid = false;
		if (r == 0) {
			guest_debug__delivered(vm);   /* the guest ran: a queued interrupt went in */
			if (vm->rec || vm->rep)
				vcpu__capture_exit_regs(vm);
		}
		if (shadow_step) {
			shadow_step = false;
			set_step(vm, false);
			vm->run->request_interrupt_window = 1;
			if (vm->run->exit_reason == KVM_EXIT_DEBUG || vm->run->exit_reason == KVM_EXIT_INTR) {
				skip_inject = true;
				continue;
			}
		} else if (vm->run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN && window_in_sti_shadow(vm) &&
			   set_step(vm, true) == 0) {
			shadow_step = true;
			vm->run->request_interrupt_window = 0;
			skip_inject = true;
			continue;
		}
		vm->last_exit_guest = dispatch(vm);
		if (vm->last_exit_guest) {
			vm->exits++;
			vm->exception_due = msr_gp_due(vm->run);
			if (vm->rep)
				replayer__exit(vm->rep, vm);
			else if (vm->rec)
				recorder__exit(vm->rec, vm);
			/* Device work deferred to after the exit is logged/checked
			 * (virtio queue notifies): its records follow the exit's. */
			if (vm->pci && vm->stop == VM_STOP_NONE)
				pci__service(vm->pci);
			if (vm->cfg.clock == CLOCK_VIRTUAL)
				vm->virt_ns += vm->cfg.quantum_ns;
		}
		poll_devices(vm);
		if (vm->stop_wait_until && vm->last_exit_guest && vm->stop == VM_STOP_NONE)
			stop_interrupted(vm, vm->stop_wait_sig, false);   /* the exit it waited for */
		if (vm->rec && vm->last_exit_guest)
			snapshot_point(vm);   /* --snapshot-every, Ctrl-A s, panic, the stop */
	}
	rc = vm->stop == VM_STOP_ERROR ? (vm->stop_code < 0 ? vm->stop_code : -EIO) : 0;
out:
	guest_debug__patch_disarm(vm);
	vcpu__stop_input(vm);
	/* Last poll flushes buffered device output. */
	poll_devices(vm);
	if (vm->kick_abs_ns) {
		vm->next_deadline_ns = UINT64_MAX;
		arm_kick(vm);
	}
	teardown_signals(vm);
	return rc;
}
