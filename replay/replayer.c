/* replayer.c — replays a trace on a device-less VM: recorded values in, recorded injections, divergence out. */
#include "replay/replayer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/fingerprint.h"
#include "core/guest_debug.h"
#include "core/rdtsc.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "record/trace.h"

struct replayer {
	struct trace_reader *tr;
	struct replay_opts o;
	struct trace_event next;   /* peeked record (valid while have_next) */
	bool have_next;
	bool at_end;               /* no more records */
	char end_msg[512];         /* why the records ended, when not at a TR_STOP */
	uint64_t event;            /* guest-caused exits replayed */
	bool lm_armed, stepping;   /* a landmark breakpoint is set / being stepped over */
	struct trace_landmark lm;
	int lm_slot;               /* its debug-register slot (core/guest_debug.h), -1 when none */
	int lm_patch;              /* or its HLT patch (ring-0 code), -1 when none */
	uint64_t landmarks, misses;
	bool at_target;            /* the last stop was at o.to_event */
	uint32_t recs;             /* records of event `event` consumed (its TR_EXIT, ...) */
};

/* Consumes the peeked record. */
static void consume(struct replayer *r)
{
	r->have_next = false;
	r->recs = r->next.type == TR_EXIT ? 1 : r->recs + 1;
}

static const char *reason_name(uint32_t reason)
{
	const char *n = vcpu__exit_name(reason);
	return strncmp(n, "KVM_EXIT_", 9) == 0 ? n + 9 : n;
}

/* "IO out port 0x3f8 size 1 value 0x41" */
static void describe(char *buf, size_t len, uint32_t reason, uint32_t dir, uint64_t addr, uint32_t size,
		     bool has_value, uint64_t value)
{
	int n = snprintf(buf, len, "%s", reason_name(reason));
	if (reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO || reason == KVM_EXIT_X86_RDMSR ||
	    reason == KVM_EXIT_X86_WRMSR) {
		const char *d = dir == TRACE_DIR_OUT ? (reason == KVM_EXIT_IO ? "out" : "write")
						     : (reason == KVM_EXIT_IO ? "in" : "read");
		n += snprintf(buf + n, len - (size_t)n, " %s %s 0x%" PRIx64 " size %u", d,
			      reason == KVM_EXIT_IO ? "port" : reason == KVM_EXIT_MMIO ? "addr" : "msr",
			      addr, size);
		if (has_value && dir == TRACE_DIR_OUT)
			snprintf(buf + n, len - (size_t)n, " value 0x%" PRIx64, value);
	}
}

/* RFLAGS bits replay's own debugging sets (TF, RF): never compared. */
#define RFLAGS_DEBUG_BITS ((1ull << 8) | (1ull << 16))

/* Writes "rip 0x.. (recorded 0x..), rax ..." for the registers in now that
 * differ from rec into buf; returns how many differ. */
static unsigned regs_diff(char *buf, size_t len, const uint64_t now[TRACE_NREGS], const struct trace_regs *rec)
{
	unsigned n = 0;
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < TRACE_NREGS; i++) {
		uint64_t a = now[i], b = rec->v[i];
		if (i == TRACE_NREGS - 1) {
			a &= ~RFLAGS_DEBUG_BITS;
			b &= ~RFLAGS_DEBUG_BITS;
		}
		if (a == b)
			continue;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s 0x%" PRIx64 " (recorded 0x%" PRIx64 ")",
					      n ? ", " : "", trace__reg_name(i), now[i], rec->v[i]);
		n++;
	}
	return n;
}

/* Stops the replay with a report: the event, what the trace expected, what
 * the guest did, and the registers: as a diff against the recorded ones when
 * the trace has them (rec), else their values. */
static void diverge(struct vm *vm, uint64_t event, const char *expected, const char *actual,
		    const struct trace_regs *rec)
{
	uint64_t v[TRACE_NREGS];
	char regs[640] = "registers unreadable";
	if (vcpu__exit_regs(vm, v) == 0) {
		if (rec) {
			char d[600];
			if (regs_diff(d, sizeof(d), v, rec))
				snprintf(regs, sizeof(regs), "registers differ: %s", d);
			else
				snprintf(regs, sizeof(regs), "registers as recorded (rip 0x%" PRIx64 ")", v[16]);
		} else {
			snprintf(regs, sizeof(regs),
				 "rip=%" PRIx64 " rsp=%" PRIx64 " rflags=%" PRIx64 " rax=%" PRIx64 " rbx=%" PRIx64
				 " rcx=%" PRIx64 " rdx=%" PRIx64 " rsi=%" PRIx64 " rdi=%" PRIx64,
				 v[16], v[6], v[17], v[0], v[1], v[2], v[3], v[4], v[5]);
		}
	}
	vm__request_stop(vm, VM_STOP_DIVERGED, 0,
			 "replay diverged at event %" PRIu64 ": expected %s, but the guest %s; %s",
			 event, expected, actual, regs);
}

/* The TR_REGS that follows the TR_EXIT just consumed (event r->event + ahead). */
static bool peek(struct replayer *r, struct vm *vm);
static bool take_regs(struct replayer *r, struct vm *vm, uint64_t event, struct trace_regs *out)
{
	if (!peek(r, vm) || r->next.type != TR_REGS || r->next.event_no != event)
		return false;
	*out = r->next.u.regs;
	consume(r);
	return true;
}

/* Makes r->next the next record; false at the end (r->at_end) or on error. */
static bool peek(struct replayer *r, struct vm *vm)
{
	if (r->have_next)
		return true;
	if (r->at_end)
		return false;
	struct rrvm_err err = { "" };
	int rc = trace_reader__next(r->tr, &r->next, &err);
	if (rc == 1) {
		r->have_next = true;
		return true;
	}
	r->at_end = true;
	if (rc == 0)
		snprintf(r->end_msg, sizeof(r->end_msg), "end of trace at event %" PRIu64, r->event);
	else if (rc == -ENODATA)
		snprintf(r->end_msg, sizeof(r->end_msg), "end of the recorded prefix at event %" PRIu64 ": %.400s",
			 r->event, err.msg);
	else
		vm__request_stop(vm, VM_STOP_ERROR, rc, "trace unreadable after event %" PRIu64 ": %s",
				 r->event, err.msg);
	return false;
}

/* The landmark's breakpoint: a HLT patch where the code is ring 0's (it
 * fires on every host, HOST.md), else an execute breakpoint in a
 * debug-register slot; both shared with the gdb stub (core/guest_debug.h). */
static void arm_landmark(struct replayer *r, struct vm *vm)
{
	const char *why = NULL;
	r->lm_patch = guest_debug__patch_add(vm, GD_USE_LANDMARK, r->lm.rip, &why);
	if (r->lm_patch >= 0)
		return;
	r->lm_patch = -1;
	r->lm_slot = guest_debug__alloc(vm, GD_OWNER_REPLAY, GD_EXEC, r->lm.rip, 1);
	if (r->lm_slot < 0) {
		vm__request_stop(vm, VM_STOP_ERROR, -ENOSPC,
				 "no HLT patch (%s) and no free debug register (the debugger holds all four) "
				 "for the landmark at 0x%" PRIx64, why, r->lm.rip);
		return;
	}
	if (guest_debug__apply(vm) < 0)
		vm__request_stop(vm, VM_STOP_ERROR, -vm->gdbg.last_errno, "KVM_SET_GUEST_DEBUG: %s",
				 strerror(vm->gdbg.last_errno));
}

static void disarm_landmark(struct replayer *r, struct vm *vm)
{
	if (r->lm_patch >= 0)
		guest_debug__patch_drop(vm, r->lm_patch, GD_USE_LANDMARK);
	if (r->lm_slot >= 0) {
		guest_debug__free(vm, r->lm_slot);
		guest_debug__apply(vm);
	}
	r->lm_patch = r->lm_slot = -1;
	r->lm_armed = false;
}

/* Steps over the landmark's instruction without its breakpoint (this host
 * ignores RF, and a HLT patch must leave memory for one step), or ends that. */
static void set_landmark_step(struct replayer *r, struct vm *vm, bool on)
{
	if (r->lm_slot >= 0)
		vm->gdbg.slot[r->lm_slot].enabled = !on;
	if (r->lm_patch >= 0) {
		if (on)
			guest_debug__patch_lift(vm, r->lm_patch);
		else
			guest_debug__patch_unlift(vm, r->lm_patch);
	}
	if (guest_debug__step(vm, GD_STEP_REPLAY, on) < 0)
		vm__request_stop(vm, VM_STOP_ERROR, -vm->gdbg.last_errno, "KVM_SET_GUEST_DEBUG: %s",
				 strerror(vm->gdbg.last_errno));
}

static void inject(struct replayer *r, struct vm *vm, uint32_t vector, const char *where)
{
	struct kvm_run *run = vm->run;
	if (!run->ready_for_interrupt_injection || !run->if_flag) {
		char exp[96], act[96];
		snprintf(exp, sizeof(exp), "interrupt vector %u injected %s", vector, where);
		snprintf(act, sizeof(act), "cannot take an interrupt here (IF=%u)", run->if_flag);
		diverge(vm, r->event, exp, act, NULL);
		return;
	}
	struct kvm_interrupt irq = { .irq = vector };
	if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
		vm__request_stop(vm, VM_STOP_ERROR, -errno, "KVM_INTERRUPT: %s", strerror(errno));
	vm->irqs_injected++;
	guest_debug__injected(vm, vector);   /* gdb stepping: stop at the handler */
}

void replayer__before_run(struct replayer *r, struct vm *vm)
{
	if (r->lm_armed)
		return; /* run on to the landmark first */
	/* "At event N": N exits replayed with their inputs, none of the records
	 * that belong to event N (console, injections, landmarks) consumed yet,
	 * the vCPU not resumed. Sessions and snapshots stop exactly here. */
	if (r->o.to_event && r->event >= r->o.to_event) {
		vm__request_stop(vm, VM_STOP_REPLAYED, 0, "replayed to event %" PRIu64, r->event);
		r->at_target = true;
		return;
	}
	while (vm->stop == VM_STOP_NONE && peek(r, vm)) {
		struct trace_event *ev = &r->next;
		if (ev->type == TR_EXIT) {
			/* Mirror the recording's window request: it is only ever set at
			 * exits, so it was set iff the next exit is the window opening. */
			vm->run->request_interrupt_window = ev->u.exit.reason == KVM_EXIT_IRQ_WINDOW_OPEN;
			return;
		}
		if (ev->event_no != r->event) {
			vm__request_stop(vm, VM_STOP_ERROR, -EBADMSG,
					 "trace inconsistent: %s record for event %" PRIu64 " while at event %" PRIu64,
					 trace__rec_name(ev->type), ev->event_no, r->event);
			return;
		}
		consume(r);
		switch (ev->type) {
		case TR_CONSOLE_OUT:
			if (!r->o.quiet && r->o.console_fd >= 0 &&
			    write(r->o.console_fd, ev->u.bytes.data, ev->u.bytes.len) < 0) {
				/* console closed: keep replaying */
			}
			break;
		case TR_IRQ:
			inject(r, vm, ev->u.irq.vector, "at this exit");
			break;
		case TR_LANDMARK:
			r->lm = ev->u.landmark;
			r->lm_armed = true;
			vm->run->request_interrupt_window = 0;
			arm_landmark(r, vm);
			return;
		case TR_STOP: {
			int status = (int)ev->u.stop.status;
			vm__request_stop(vm, VM_STOP_REPLAYED, status, "replayed %" PRIu64 " events to the recorded end: %.*s",
					 r->event, (int)ev->u.stop.len, (const char *)ev->u.stop.msg);
			return;
		}
		default:
			break; /* deferrals, input, snapshots: nothing to do */
		}
	}
	if (r->at_end && vm->stop == VM_STOP_NONE)
		vm__request_stop(vm, VM_STOP_REPLAYED, 0, "replayed %s", r->end_msg);
}

/* A rewritten RDTSC/RDTSCP site: EAX came with the IN value; complete the IN
 * and give RDX (and RCX) the recorded values, exactly as recording did. */
static void feed_rdtsc(struct replayer *r, struct vm *vm)
{
	if (!peek(r, vm) || r->next.type != TR_RDTSC || r->next.event_no != r->event)
		return;
	const struct trace_rdtsc *t = &r->next.u.rdtsc;
	vm->rdtsc_last.valid = true;
	vm->rdtsc_last.value = t->value;
	vm->rdtsc_last.rdtscp = t->aux != UINT32_MAX;
	vm->rdtsc_last.aux = vm->rdtsc_last.rdtscp ? t->aux : 0;
	consume(r);
	vcpu__apply_rdtsc(vm);
	vm->rdtsc_last.valid = false;
}

void replayer__exit(struct replayer *r, struct vm *vm)
{
	struct kvm_run *run = vm->run;
	char exp[160], act[160];
	uint32_t dir = 0, size = 0, count = 1, len = 0;
	uint64_t addr = 0, value = 0;
	uint8_t *data = NULL;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		dir = run->io.direction == KVM_EXIT_IO_OUT ? TRACE_DIR_OUT : TRACE_DIR_IN;
		addr = run->io.port, size = run->io.size, count = run->io.count;
		data = (uint8_t *)run + run->io.data_offset;
		len = size * count;
		break;
	case KVM_EXIT_MMIO:
		dir = run->mmio.is_write ? TRACE_DIR_OUT : TRACE_DIR_IN;
		addr = run->mmio.phys_addr, size = run->mmio.len;
		data = run->mmio.data;
		len = size;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		dir = run->exit_reason == KVM_EXIT_X86_RDMSR ? TRACE_DIR_IN : TRACE_DIR_OUT;
		addr = run->msr.index, size = 8, value = run->msr.data;
		break;
	default:
		break;
	}
	if (data && len <= 8)
		memcpy(&value, data, len);
	describe(act, sizeof(act), run->exit_reason, dir, addr, size, dir == TRACE_DIR_OUT, value);
	if (r->lm_armed) {
		snprintf(exp, sizeof(exp), "landmark at RIP 0x%" PRIx64 " (vector %u) first", r->lm.rip, r->lm.vector);
		diverge(vm, r->event + 1, exp, act, NULL);
		return;
	}
	if (!peek(r, vm) || r->next.type != TR_EXIT) {
		char made[200];
		snprintf(made, sizeof(made), "made an exit (%s)", act);
		diverge(vm, r->event + 1, r->at_end ? "the end of the trace" : trace__rec_name(r->next.type), made,
			NULL);
		return;
	}
	const struct trace_exit xe = r->next.u.exit; /* a copy: r->next moves on to TR_REGS */
	const struct trace_exit *x = &xe;
	bool is_msr = x->reason == KVM_EXIT_X86_RDMSR || x->reason == KVM_EXIT_X86_WRMSR;
	uint32_t rec_size = is_msr ? 8 : x->size;
	describe(exp, sizeof(exp), x->reason, x->dir, x->addr, rec_size, x->has_value, x->value);
	bool same = x->reason == run->exit_reason && x->dir == dir && x->addr == addr && rec_size == size &&
		    x->count == count;
	if (same && dir == TRACE_DIR_OUT) {
		uint32_t h = data ? trace__value_hash(data, len) : trace__value_hash_u64(value, 8);
		same = h == x->hash;
	}
	struct trace_regs rec;
	if (!same) {
		char made[200];
		snprintf(made, sizeof(made), "made %s", act);
		consume(r); /* the replay ends here: look at the recorded registers */
		diverge(vm, r->event + 1, exp, made, take_regs(r, vm, r->event + 1, &rec) ? &rec : NULL);
		return;
	}
	consume(r);
	r->event++;
	if (take_regs(r, vm, r->event, &rec)) {
		uint64_t v[TRACE_NREGS];
		char d[600];
		if (vcpu__exit_regs(vm, v) == 0 && regs_diff(d, sizeof(d), v, &rec)) {
			char made[200];
			snprintf(made, sizeof(made), "made it with other registers (%s)", act);
			diverge(vm, r->event, "this exit with the recorded registers", made, &rec);
			return;
		}
	}
	if (dir == TRACE_DIR_IN) {
		if (is_msr) {
			run->msr.data = x->value;
			run->msr.error = x->size == 0;
		} else if (x->has_value && data) {
			memcpy(data, &x->value, len);
		} else if (data) {
			if (!peek(r, vm) || r->next.type != TR_IN_VALUE || r->next.u.in.len != len) {
				vm__request_stop(vm, VM_STOP_ERROR, -EBADMSG,
						 "trace inconsistent: event %" PRIu64 " lacks its %u input bytes", r->event, len);
				return;
			}
			memcpy(data, r->next.u.in.data, len);
			consume(r);
		}
	} else if (is_msr) {
		run->msr.error = x->size == 0;
	}
	feed_rdtsc(r, vm);
}

int replayer__dma(struct replayer *r, struct vm *vm, uint64_t gpa, uint8_t *buf, uint32_t len)
{
	if (peek(r, vm) && r->next.type == TR_DMA && r->next.event_no == r->event &&
	    r->next.u.dma.gpa == gpa && r->next.u.dma.len == len) {
		memcpy(buf, r->next.u.dma.data, len);
		r->have_next = false;
		return 0;
	}
	char exp[160], act[160];
	if (r->have_next && r->next.type == TR_DMA)
		snprintf(exp, sizeof(exp), "device input of %u bytes at 0x%" PRIx64 " (event %" PRIu64 ")",
			 r->next.u.dma.len, r->next.u.dma.gpa, r->next.event_no);
	else
		snprintf(exp, sizeof(exp), "%s", r->at_end ? "the end of the trace" : trace__rec_name(r->next.type));
	snprintf(act, sizeof(act), "asked a device for %u input bytes at 0x%" PRIx64, len, gpa);
	diverge(vm, r->event, exp, act, NULL);
	return -EBADMSG;
}

void replayer__debug(struct replayer *r, struct vm *vm)
{
	if (r->stepping) {
		/* Stepped over a breakpoint hit that was not the landmark: re-arm. */
		r->stepping = false;
		set_landmark_step(r, vm, false);
		return;
	}
	if (!r->lm_armed || vm->gdbg.pc != r->lm.rip) {
		vm__request_stop(vm, VM_STOP_ERROR, -EINVAL, "unexpected debug exit at 0x%llx after event %" PRIu64,
				 (unsigned long long)vm->gdbg.pc, r->event);
		return;
	}
	uint64_t fp;
	if (fp__compute(vm, &fp) == 0 && fp == r->lm.fingerprint) {
		disarm_landmark(r, vm);
		r->landmarks++;
		/* KVM sets RF at a breakpoint exit so the instruction does not trap
		 * again; the interrupt frame would carry it onto the guest's stack,
		 * where the recording (a kick, no breakpoint) had none, and the next
		 * fingerprint over that page would miss. The breakpoint is gone. */
		struct kvm_regs regs;
		if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 && (regs.rflags & X86_RFLAGS_RF)) {
			regs.rflags &= ~X86_RFLAGS_RF;
			if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
				vm__request_stop(vm, VM_STOP_ERROR, -errno, "KVM_SET_REGS: %s", strerror(errno));
		}
		inject(r, vm, r->lm.vector, "at a landmark");
		return;
	}
	/* Same RIP, another instance: step over it (this host ignores RF, so
	 * disable the breakpoint, single-step once, re-arm). */
	r->misses++;
	r->stepping = true;
	set_landmark_step(r, vm, true);
}

int replayer__open(struct replayer **out, struct vm *vm, struct trace_reader *tr,
		   const struct replay_opts *o, struct rrvm_err *err)
{
	struct replayer *r = calloc(1, sizeof(*r));
	if (!r)
		return err__set(err, -ENOMEM, "out of memory");
	r->tr = tr;
	r->o = *o;
	r->lm_slot = r->lm_patch = -1;
	/* A fresh replay owns no debug register or patch yet (a previous one may have). */
	guest_debug__release(vm, GD_OWNER_REPLAY);
	vm->rep = r;
	*out = r;
	return 0;
}

void replayer__set_opts(struct replayer *r, const struct replay_opts *o)
{
	r->o = *o;
	r->at_target = false;
}

void replayer__pos(const struct replayer *r, uint64_t *event, uint32_t *recs)
{
	*event = r->event;
	*recs = r->recs;
}

int replayer__reposition(struct replayer *r, uint64_t event, uint32_t recs, struct rrvm_err *err)
{
	int rc = trace_reader__seek_event(r->tr, event, err);
	if (rc)
		return rc;
	r->have_next = r->at_end = r->lm_armed = r->stepping = r->at_target = false;
	r->lm_slot = r->lm_patch = -1;   /* the caller releases what they were (guest_debug__release) */
	r->end_msg[0] = 0;
	r->event = event;
	r->recs = 0;
	for (uint32_t i = 0; i < recs; i++) {
		struct trace_event ev;
		rc = trace_reader__next(r->tr, &ev, err);
		if (rc != 1 || ev.event_no != event) {
			char why[512];
			snprintf(why, sizeof(why), "%s", rc < 0 ? err->msg : "the trace has fewer records there");
			return err__set(err, rc < 0 ? rc : -EBADMSG, "trace: cannot reposition to record %u of event %" PRIu64
					": %s", i + 1, event, why);
		}
		r->recs++;
	}
	return 0;
}

void replayer__force_target(struct replayer *r)
{
	r->at_target = true;
}

struct trace_reader *replayer__trace(struct replayer *r)
{
	return r->tr;
}

bool replayer__at_target(const struct replayer *r)
{
	return r->at_target;
}

bool replayer__at_end(const struct replayer *r)
{
	return r->at_end && !r->have_next;
}

void replayer__counts(const struct replayer *r, uint64_t *events, uint64_t *landmarks, uint64_t *misses)
{
	*events = r->event;
	*landmarks = r->landmarks;
	*misses = r->misses;
}

void replayer__close(struct replayer *r)
{
	if (!r)
		return;
	trace_reader__close(r->tr);
	free(r);
}
