/* recorder.c — the recorder: trace header from the VM, one record per guest-caused exit, injections, landmarks. */
#include "record/recorder.h"
#include "record/rec_snapshot.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/doctor.h"
#include "core/fingerprint.h"
#include "core/guest_debug.h"
#include "core/vcpu.h"
#include "core/virtio.h"
#include "core/vm.h"
#include "core/x86.h"
#include "record/sha256.h"
#include "record/trace.h"
#include "record/trace_codec.h"

#define FLUSH_INTERVAL_NS 1000000000ull   /* seal a chunk at least once a second (SIGKILL safety) */

struct recorder {
	struct trace_writer *w;
	bool failed;                 /* a write failed: the VM was stopped, stop logging */
	uint64_t last_flush_ns;
	uint32_t since_clock_check;
	uint64_t landmarks, deferrals;
	enum doctor_bp_method bp[2]; /* how replay can stop in CPL0 / CPL3 on this host */
	uint32_t exit_recs;          /* records the latest exit wrote (TR_EXIT, TR_IN_VALUE, TR_RDTSC) */
	struct rec_snap *snap;       /* snapshots, when on */
	/* A ring-0 kick where replay would use a HLT patch: the pass probe
	 * (see recorder__kick_point). */
	struct {
		bool active;             /* single-stepping one pass of the loop */
		bool ok;                 /* the pass came back to rip in the same state: inject there */
		bool failed;             /* a probe failed since the last exit: defer the rest */
		uint64_t rip, fp;        /* the kick point and its fingerprint */
		unsigned steps;
		int patch;               /* the HLT patch on rip (after the first step), -1 when none */
		uint64_t next;           /* where the last checked instruction falls through to */
		bool jumps;              /* it may not fall through (a branch) */
	} probe;
	csh cs;                      /* decoder for the probe (0: none, no probes) */
};

#define PROBE_STEPS 64   /* the longest loop pass a probe steps through */

static uint64_t coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void append(struct recorder *r, struct vm *vm, const struct trace_event *ev)
{
	if (r->failed)
		return;
	int rc = trace_writer__append(r->w, ev);
	if (rc == 0)
		return;
	r->failed = true;
	const char *msg = trace_writer__error(r->w);
	vm__request_stop(vm, VM_STOP_ERROR, rc, "recording stopped: %s",
			 msg && *msg ? msg : strerror(-rc));
}

/* Copies an image into the trace directory (0600) so the trace replays anywhere. */
static int copy_image(const char *src, const char *dir, const char *name, struct rrvm_err *err)
{
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err__set(err, -errno, "%s: cannot open: %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int rc = -errno;
		close(in);
		return err__set(err, rc, "%s: cannot create: %s", dst, strerror(-rc));
	}
	uint8_t buf[1 << 16];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err__set(err, -errno, "%s: read error: %s", src, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		int w = trace_codec__write_all(out, buf, (size_t)n);
		if (w) {
			rc = err__set(err, w, "%s: write error: %s", dst, strerror(-w));
			break;
		}
	}
	if (!rc && fsync(out) < 0)
		rc = err__set(err, -errno, "%s: fsync: %s", dst, strerror(errno));
	close(in);
	close(out);
	return rc;
}

static int add_image(struct trace_header *h, const char *path, uint32_t kind, struct rrvm_err *err)
{
	struct trace_image *img = &h->images[h->n_images];
	int rc = sha256__file(path, img->sha256, &img->size, err);
	if (rc)
		return rc;
	img->kind = kind;
	const char *base = strrchr(path, '/');
	snprintf(img->name, sizeof(img->name), "%s", base ? base + 1 : path);
	h->n_images++;
	return 0;
}

static int build_header(struct trace_header *h, struct vm *vm, const struct recorder *r)
{
	memset(h, 0, sizeof(*h));
	h->ram_bytes = vm->cfg.mem_size;
	h->n_vcpus = 1;
	snprintf(h->cpu_profile, sizeof(h->cpu_profile), "%s", vm->cfg.cpu_profile);
	h->clock_mode = vm->cfg.clock == CLOCK_VIRTUAL ? TRACE_CLOCK_VIRTUAL : TRACE_CLOCK_REAL;
	h->quantum_ns = vm->cfg.quantum_ns;
	h->wallclock_ns = (uint64_t)vm->wallclock_base * 1000000000ull;
	h->tsc_hz = vm->msr.tsc_hz;
	struct trace_cpuid_entry *e = calloc(vm->cpuid->nent ? vm->cpuid->nent : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *k = &vm->cpuid->entries[i];
		e[i] = (struct trace_cpuid_entry){ k->function, k->index, k->flags, k->eax, k->ebx, k->ecx, k->edx };
	}
	int rc = trace_header__set_cpuid(h, e, vm->cpuid->nent);
	free(e);
	if (rc || (rc = trace_header__set_cmdline(h, vm->cfg.append ? vm->cfg.append : "")))
		return rc;
	static const char *const bp_names[] = { "hw-breakpoint", "hlt-patch", "deferred" };
	char num[32];
	snprintf(num, sizeof(num), "%u", vm->load.rdtsc_sites);
	if ((rc = trace_header__add_cap(h, "landmarks_cpl0", bp_names[r->bp[0]])) ||
	    (rc = trace_header__add_cap(h, "landmarks_cpl3", bp_names[r->bp[1]])) ||
	    (rc = trace_header__add_cap(h, "rdtsc_sites", num)))
		return rc;
	snprintf(num, sizeof(num), "%u", vm->load.rdtscp_sites);
	if ((rc = trace_header__add_cap(h, "rdtscp_sites", num)))
		return rc;
	/* virtio devices: replay builds the same PCI bus (FORMAT.md "virtio"). */
	const struct vm_config *c = &vm->cfg;
	if (c->disk || c->virtio_rng || c->virtio_console) {
		char list[64];
		snprintf(list, sizeof(list), "%s%s%s", c->disk ? (c->disk_ro ? "blk-ro," : "blk,") : "",
			 c->virtio_rng ? "rng," : "", c->virtio_console ? "console," : "");
		list[strlen(list) - 1] = 0;
		if ((rc = trace_header__add_cap(h, "virtio", list)))
			return rc;
		if (c->disk && (rc = trace_header__add_cap(h, "disk_writes",
							    c->disk_ro ? "none" : c->disk_overlay ? "overlay" : "image")))
			return rc;
	}
	return 0;
}

int recorder__open(struct recorder **out, struct vm *vm, const char *dir, struct rrvm_err *err)
{
	*out = NULL;
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return err__set(err, -ENOMEM, "out of memory");
	r->probe.patch = -1;
	struct host_caps caps;
	struct rrvm_err derr;
	if (doctor__probe(&caps, &derr) == 0) {
		r->bp[0] = doctor__bp_method(&caps, 0);
		r->bp[1] = doctor__bp_method(&caps, 1);
		vm->irq_window_async = caps.ring0_emulated;
	} else {
		r->bp[0] = r->bp[1] = DOC_BP_NONE;
	}
	/* Replay reaches a landmark with a hardware breakpoint or, in ring 0,
	 * a HLT patch (replay/replayer.c: arm_landmark). */

	struct trace_header h;
	int rc = build_header(&h, vm, r);
	if (rc) {
		trace_header__free(&h);
		free(r);
		return err__set(err, rc, "cannot build the trace header: %s", strerror(-rc));
	}
	if ((rc = add_image(&h, vm->cfg.kernel, TRACE_IMG_KERNEL, err)) ||
	    (vm->cfg.initrd && (rc = add_image(&h, vm->cfg.initrd, TRACE_IMG_INITRD, err))) ||
	    (vm->cfg.disk && (rc = add_image(&h, vm->cfg.disk, TRACE_IMG_DISK, err))) ||
	    (rc = trace_writer__open(&r->w, dir, &h, err))) {
		trace_header__free(&h);
		free(r);
		return rc;
	}
	trace_header__free(&h);
	/* The writer made the directory; the images go beside the header. */
	if ((rc = copy_image(vm->cfg.kernel, dir, "kernel", err)) ||
	    (vm->cfg.initrd && (rc = copy_image(vm->cfg.initrd, dir, "initrd", err)))) {
		trace_writer__abandon(r->w);
		free(r);
		return rc;
	}
	/* The disk image was hashed above, before the guest could write it. */
	if ((rc = virtio__record_start(vm, dir, err))) {
		trace_writer__abandon(r->w);
		free(r);
		return rc;
	}
	r->last_flush_ns = coarse_ns();
	if (r->bp[0] == DOC_BP_HLT_PATCH) {
		if (cs_open(CS_ARCH_X86, CS_MODE_64, &r->cs) == CS_ERR_OK)
			cs_option(r->cs, CS_OPT_DETAIL, CS_OPT_ON);
		else
			r->cs = 0;
	}
	*out = r;
	return 0;
}

void recorder__exit(struct recorder *r, struct vm *vm)
{
	struct kvm_run *run = vm->run;   /* (the vCPU loop ended any kick probe before servicing it) */
	struct trace_event ev = { .type = TR_EXIT, .time_ns = vm__now_ns(vm) };
	struct trace_exit *x = &ev.u.exit;
	x->reason = (uint8_t)run->exit_reason;
	x->count = 1;
	const uint8_t *data = NULL;
	uint32_t len = 0;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		x->dir = run->io.direction == KVM_EXIT_IO_OUT ? TRACE_DIR_OUT : TRACE_DIR_IN;
		x->addr = run->io.port;
		x->size = run->io.size;
		x->count = run->io.count;
		data = (const uint8_t *)run + run->io.data_offset;
		len = run->io.size * run->io.count;
		break;
	case KVM_EXIT_MMIO:
		x->dir = run->mmio.is_write ? TRACE_DIR_OUT : TRACE_DIR_IN;
		x->addr = run->mmio.phys_addr;
		x->size = run->mmio.len;
		data = run->mmio.data;
		len = run->mmio.len;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		/* size 8 = answered, 0 = the guest got #GP (see FORMAT.md). */
		x->dir = run->exit_reason == KVM_EXIT_X86_RDMSR ? TRACE_DIR_IN : TRACE_DIR_OUT;
		x->addr = run->msr.index;
		x->size = run->msr.error ? 0 : 8;
		x->has_value = true;
		x->value = run->msr.data;
		x->hash = trace__value_hash_u64(run->msr.data, 8);
		break;
	default:
		break;
	}
	if (data) {
		x->hash = trace__value_hash(data, len);
		if (len <= 8 && x->count == 1) {
			x->has_value = true;
			x->value = 0;
			memcpy(&x->value, data, len);
		}
	}
	append(r, vm, &ev);
	r->exit_recs = 1;
	uint64_t n = trace_writer__event_no(r->w);
	/* The registers at the exit: replay checks them and names the ones that
	 * differ; tools show them at any event without replaying. */
	struct trace_event regs = { .type = TR_REGS, .event_no = n };
	if (vcpu__exit_regs(vm, regs.u.regs.v) == 0) {
		append(r, vm, &regs);
		r->exit_recs++;
	}
	if (data && !x->has_value && x->dir == TRACE_DIR_IN) {
		struct trace_event in = { .type = TR_IN_VALUE, .event_no = n };
		in.u.in = (struct trace_in_value){ .size = x->size, .data = data, .len = len };
		append(r, vm, &in);
		r->exit_recs++;
	}
	if (vm->rdtsc_last.valid) {
		struct trace_event t = { .type = TR_RDTSC, .event_no = n };
		t.u.rdtsc = (struct trace_rdtsc){ .rip = vm->rdtsc_last.rip, .value = vm->rdtsc_last.value,
						  .aux = vm->rdtsc_last.rdtscp ? vm->rdtsc_last.aux : UINT32_MAX };
		append(r, vm, &t);
		r->exit_recs++;
		vm->rdtsc_last.valid = false;
	}
	if (++r->since_clock_check >= 256) {
		r->since_clock_check = 0;
		uint64_t now = coarse_ns();
		if (now - r->last_flush_ns >= FLUSH_INTERVAL_NS) {
			r->last_flush_ns = now;
			if (!r->failed && trace_writer__flush(r->w))
				append(r, vm, &ev); /* reports the sticky error */
		}
	}
}

void recorder__irq(struct recorder *r, struct vm *vm, uint32_t vector)
{
	struct trace_event ev = { .type = TR_IRQ, .event_no = trace_writer__event_no(r->w) };
	ev.u.irq.vector = vector;
	append(r, vm, &ev);
}

static void defer(struct recorder *r, struct vm *vm, uint64_t rip, uint32_t why)
{
	struct trace_event ev = { .type = TR_DEFERRAL, .event_no = trace_writer__event_no(r->w) };
	ev.u.deferral = (struct trace_deferral){ .rip = rip, .reason = why };
	append(r, vm, &ev);
	r->deferrals++;
}

static void landmark(struct recorder *r, struct vm *vm, uint64_t rip, uint64_t fp, uint32_t vector)
{
	struct trace_event ev = { .type = TR_LANDMARK, .event_no = trace_writer__event_no(r->w) };
	ev.u.landmark = (struct trace_landmark){ .rip = rip, .fingerprint = fp, .hits = 0, .vector = vector };
	append(r, vm, &ev);
	r->landmarks++;
}

/* Instructions that exit to the monitor (port I/O, including rewritten
 * RDTSC sites, HLT, trapped MSRs): a pass containing one is not exit-free. */
static bool exits_to_us(unsigned id)
{
	switch (id) {
	case X86_INS_IN: case X86_INS_OUT: case X86_INS_INSB: case X86_INS_INSW: case X86_INS_INSD:
	case X86_INS_OUTSB: case X86_INS_OUTSW: case X86_INS_OUTSD: case X86_INS_HLT:
	case X86_INS_RDMSR: case X86_INS_WRMSR: case X86_INS_RDTSC: case X86_INS_RDTSCP:
		return true;
	default:
		return false;
	}
}

/* Whether the instruction at rip may run inside a probed pass: no explicit
 * memory write (the fingerprint hashes registers and the stack page only,
 * so a pass that writes elsewhere would come back looking the same in
 * another state) and no PUSHF (it would save the probe's TF). Notes where
 * it falls through to. */
static bool probe_insn_ok(struct recorder *r, struct vm *vm, const struct kvm_sregs *sr, uint64_t rip)
{
	uint8_t code[15];
	size_t n = x86__read_virt(&vm->mem, sr, rip, code, sizeof(code));
	cs_insn *insn;
	if (!n || cs_disasm(r->cs, code, n, rip, 1, &insn) != 1)
		return false;
	bool ok = insn->id != X86_INS_PUSHF && insn->id != X86_INS_PUSHFD && insn->id != X86_INS_PUSHFQ &&
		  !exits_to_us(insn->id);
	const cs_x86 *x = &insn->detail->x86;
	for (int i = 0; ok && i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && insn->id != X86_INS_LEA && insn->id != X86_INS_NOP &&
		    (x->operands[i].access & CS_AC_WRITE || !x->operands[i].access))
			ok = false;
	r->probe.next = rip + insn->size;
	r->probe.jumps = false;
	for (int i = 0; i < insn->detail->groups_count; i++)
		if (insn->detail->groups[i] == CS_GRP_JUMP || insn->detail->groups[i] == CS_GRP_CALL ||
		    insn->detail->groups[i] == CS_GRP_RET || insn->detail->groups[i] == CS_GRP_INT ||
		    insn->detail->groups[i] == CS_GRP_IRET)
			r->probe.jumps = true;
	cs_free(insn, 1);
	return ok;
}

/* Takes the probe's HLT patch out and stops its single-stepping. */
static void probe_release(struct recorder *r, struct vm *vm)
{
	guest_debug__patch_drop(vm, r->probe.patch, GD_USE_PROBE);
	r->probe.patch = -1;
	r->probe.active = false;
	if (guest_debug__step(vm, GD_STEP_PROBE, false) < 0)
		vm__request_stop(vm, VM_STOP_ERROR, -vm->gdbg.last_errno, "KVM_SET_GUEST_DEBUG: %s",
				 strerror(vm->gdbg.last_errno));
}

static void probe_end(struct recorder *r, struct vm *vm, bool ok)
{
	r->probe.ok = ok;
	if (!ok) {
		r->probe.failed = true;
		defer(r, vm, r->probe.rip, REC_DEFER_NO_REPEAT);
	}
	probe_release(r, vm);
}

/* The probe's single-step ended, or its HLT patch on the kick point was
 * hit (a step may cover two instructions here: over PAUSE in the svm-lane,
 * the next one runs in the same step; the patch stops the pass exactly
 * there). */
void recorder__probe_step(struct recorder *r, struct vm *vm)
{
	if (!r->probe.active)
		return;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t fp;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		probe_end(r, vm, false);
		return;
	}
	if (regs.rip == r->probe.rip) {
		probe_end(r, vm, fp__compute(vm, &fp) == 0 && fp == r->probe.fp);
		return;
	}
	/* Stepped over more than the instruction checked: the one it falls
	 * through to ran too. */
	bool ok = true;
	if (regs.rip != r->probe.next && !r->probe.jumps)
		ok = r->probe.next != r->probe.rip && probe_insn_ok(r, vm, &sregs, r->probe.next);
	if (!ok || ++r->probe.steps >= PROBE_STEPS || (sregs.cs.selector & 3) ||
	    !probe_insn_ok(r, vm, &sregs, regs.rip)) {
		probe_end(r, vm, false);
		return;
	}
	/* Off the kick point now: a HLT patch there ends the pass. */
	if (r->probe.patch < 0) {
		const char *why;
		r->probe.patch = guest_debug__patch_add(vm, GD_USE_PROBE, r->probe.rip, &why);
		if (r->probe.patch < 0)
			probe_end(r, vm, false);
	}
}

void recorder__probe_cancel(struct recorder *r, struct vm *vm)
{
	if (r->probe.active)
		probe_release(r, vm);
	r->probe.ok = r->probe.failed = false;   /* a new exit interval */
}

/* A kick in ring 0 where replay reaches landmarks with HLT patches: replay
 * stops at every execution of RIP since the last exit and compares
 * fingerprints, which in a loop whose state differs on each pass (a
 * counter) costs one stop per pass since the exit (millions). So first
 * single-step one pass (at most PROBE_STEPS instructions, none writing
 * memory): a pass that comes back to RIP in the same state is a spin-wait,
 * whose first matching instance replay finds at once; the interrupt goes
 * in there. Anything else is deferred, once per exit interval. With a
 * hardware breakpoint a stop costs microseconds: no probe. */
static bool kick_hlt_patch(struct recorder *r, struct vm *vm, const struct kvm_regs *regs,
			   const struct kvm_sregs *sregs, uint32_t vector)
{
	uint64_t gpa, fp;
	const char *why;
	if (r->probe.ok) {
		r->probe.ok = false;
		if (regs->rip == r->probe.rip) {
			landmark(r, vm, r->probe.rip, r->probe.fp, vector);
			return true;
		}
	}
	if (r->probe.active)
		return false;   /* stepping the pass: no decision yet */
	if (r->probe.failed || !r->cs || !sregs->cs.l) {
		defer(r, vm, regs->rip, REC_DEFER_NO_REPEAT);
		return false;
	}
	if (guest_debug__patchable(vm, regs->rip, &gpa, &why)) {
		defer(r, vm, regs->rip, REC_DEFER_NO_PATCH);
		return false;
	}
	if (fp__compute(vm, &fp)) {
		defer(r, vm, regs->rip, REC_DEFER_STATE);
		return false;
	}
	if (!probe_insn_ok(r, vm, sregs, regs->rip)) {
		r->probe.failed = true;
		defer(r, vm, regs->rip, REC_DEFER_NO_REPEAT);
		return false;
	}
	r->probe.rip = regs->rip;
	r->probe.fp = fp;
	r->probe.steps = 0;
	r->probe.patch = -1;
	r->probe.active = true;
	if (guest_debug__step(vm, GD_STEP_PROBE, true) < 0)
		probe_end(r, vm, false);
	return false;
}

bool recorder__kick_point(struct recorder *r, struct vm *vm, uint32_t vector)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		defer(r, vm, 0, REC_DEFER_STATE);
		return false;
	}
	int cpl3 = (sregs.cs.selector & 3) != 0;
	if (r->bp[cpl3] == DOC_BP_NONE) {
		defer(r, vm, regs.rip, REC_DEFER_NO_BREAKPOINT);
		return false;
	}
	uint8_t code[15];
	size_t n = x86__read_virt(&vm->mem, &sregs, regs.rip, code, sizeof(code));
	if (x86__is_rep_string(code, n)) {
		defer(r, vm, regs.rip, REC_DEFER_REP_STRING);
		return false;
	}
	if (r->bp[cpl3] == DOC_BP_HLT_PATCH)
		return kick_hlt_patch(r, vm, &regs, &sregs, vector);
	uint64_t fp;
	if (fp__compute(vm, &fp)) {
		defer(r, vm, regs.rip, REC_DEFER_STATE);
		return false;
	}
	landmark(r, vm, regs.rip, fp, vector);
	return true;
}

static void append_bytes(struct recorder *r, struct vm *vm, uint32_t type, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		uint32_t n = len > (1u << 20) ? (1u << 20) : (uint32_t)len;
		struct trace_event ev = { .type = type, .event_no = trace_writer__event_no(r->w) };
		ev.u.bytes = (struct trace_bytes){ .data = buf, .len = n };
		append(r, vm, &ev);
		buf += n;
		len -= n;
	}
}

void recorder__dma(struct recorder *r, struct vm *vm, uint64_t gpa, const uint8_t *buf, uint32_t len)
{
	struct trace_event ev = { .type = TR_DMA, .event_no = trace_writer__event_no(r->w) };
	ev.u.dma = (struct trace_dma){ .gpa = gpa, .data = buf, .len = len };
	append(r, vm, &ev);
}

void recorder__console_in(struct recorder *r, struct vm *vm, const uint8_t *buf, size_t len)
{
	append_bytes(r, vm, TR_CONSOLE_IN, buf, len);
}

void recorder__console(struct recorder *r, struct vm *vm, const uint8_t *buf, size_t len)
{
	append_bytes(r, vm, TR_CONSOLE_OUT, buf, len);
}

static uint32_t stop_reason(enum vm_stop s)
{
	switch (s) {
	case VM_STOP_POWEROFF:     return TRACE_STOP_POWEROFF;
	case VM_STOP_PANIC:        return TRACE_STOP_PANIC;
	case VM_STOP_TRIPLE_FAULT:
	case VM_STOP_RESET:        return TRACE_STOP_SHUTDOWN;
	case VM_STOP_INTERRUPTED:  return TRACE_STOP_SIGNAL;
	case VM_STOP_HOST_LIMIT:   return TRACE_STOP_LIMIT;
	default:                   return TRACE_STOP_ERROR;
	}
}

int recorder__close(struct recorder *r, struct vm *vm, struct rrvm_err *err)
{
	if (!r)
		return 0;
	if (!r->failed) {
		struct trace_event ev = { .type = TR_STOP, .event_no = trace_writer__event_no(r->w) };
		ev.u.stop = (struct trace_stop){ .reason = stop_reason(vm->stop), .status = vm__exit_status(vm),
						 .msg = (const uint8_t *)vm->stop_msg,
						 .len = (uint32_t)strlen(vm->stop_msg) };
		trace_writer__append(r->w, &ev);
	}
	int rc = trace_writer__close(r->w, err);
	rec_snap__close(r->snap);
	if (r->cs)
		cs_close(&r->cs);
	free(r);
	return rc;
}

void recorder__counts(const struct recorder *r, uint64_t *landmarks, uint64_t *deferrals)
{
	*landmarks = r ? r->landmarks : 0;
	*deferrals = r ? r->deferrals : 0;
}

void recorder__set_snapshots(struct recorder *r, struct rec_snap *rs)
{
	r->snap = rs;
}

static void log_snapshot(struct recorder *r, struct vm *vm, int seq);

int recorder__start_snapshot(struct recorder *r, struct vm *vm)
{
	int seq = r->snap ? rec_snap__start(r->snap, vm) : -EINVAL;
	log_snapshot(r, vm, seq);
	return seq < 0 ? seq : 0;
}

void recorder__snapshot_point(struct recorder *r, struct vm *vm)
{
	if (!r->snap || r->failed)
		return;
	log_snapshot(r, vm, rec_snap__point(r->snap, vm, r->exit_recs));
}

static void log_snapshot(struct recorder *r, struct vm *vm, int seq)
{
	if (seq > 0) {
		char name[32];
		int len = snprintf(name, sizeof(name), "%06d.snap", seq);
		struct trace_event ev = { .type = TR_SNAPSHOT, .event_no = vm->exits };
		ev.u.snapshot = (struct trace_snapshot){ .id = (uint64_t)seq, .name = (const uint8_t *)name,
							 .len = (uint32_t)len };
		append(r, vm, &ev);
		/* The events up to a snapshot are sealed with it: a recorder killed
		 * later leaves the snapshot inside the prefix that replays. */
		r->last_flush_ns = coarse_ns();
		if (!r->failed && trace_writer__flush(r->w))
			append(r, vm, &ev); /* reports the sticky error */
	}
}

const uint8_t *recorder__uuid(const struct recorder *r)
{
	return trace_writer__uuid(r->w);
}

uint32_t recorder__snapshots(const struct recorder *r)
{
	return r->snap ? rec_snap__count(r->snap) : 0;
}
