/* session.c — a steerable replay: run to an event, seek (restore the nearest snapshot, or reboot) and run forward. */
#include "replay/session.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fingerprint.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "record/sha256.h"
#include "record/trace.h"
#include "replay/replayer.h"
#include "replay/session_int.h"
#include "replay/trace_files.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

/* Long runs go in steps of this many events, with progress (and a cancel
 * check) in between. */
#define SESSION_STEP_EVENTS 20000ull

/* Checks that TRACE_DIR/<name> still hashes to what the header says. */
static int check_image(const char *dir, const char *name, const struct trace_image *img, bool allow,
		       struct rrvm_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	uint8_t sum[32];
	uint64_t size;
	int rc = sha256__file(path, sum, &size, err);
	if (rc)
		return rc;
	if (size == img->size && !memcmp(sum, img->sha256, 32))
		return 0;
	if (allow) {
		fprintf(stderr, "rrvm: warning: %s differs from the recorded image (%s): replaying anyway\n", path,
			img->name);
		return 0;
	}
	return err__set(err, -EBADMSG, "%s differs from the image recorded in the trace header (%s, %" PRIu64
			" bytes): refusing to replay (--allow-image-mismatch to find where it diverges)",
			path, img->name, img->size);
}

static struct kvm_cpuid2 *cpuid_from_header(const struct trace_header *h)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + h->n_cpuid * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = h->n_cpuid;
	for (uint32_t i = 0; i < h->n_cpuid; i++) {
		const struct trace_cpuid_entry *e = &h->cpuid[i];
		c->entries[i] = (struct kvm_cpuid_entry2){ .function = e->function, .index = e->index,
							   .flags = e->flags, .eax = e->eax, .ebx = e->ebx,
							   .ecx = e->ecx, .edx = e->edx };
	}
	return c;
}

/* The virtio devices the recording had (header capability "virtio"). */
static int virtio_from_header(const struct trace_header *h, struct vm_config *cfg, const char *disk,
			      const char *undo, struct rrvm_err *err)
{
	const char *list = NULL;
	for (uint32_t i = 0; i < h->n_caps; i++)
		if (!strcmp(h->caps[i].key, "virtio"))
			list = h->caps[i].value;
	if (!list)
		return disk ? err__set(err, -EINVAL, "--disk given, but the recording had no virtio disk") : 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "blk") || !strcmp(t, "blk-ro")) {
			const struct trace_image *img = NULL;
			for (uint32_t i = 0; i < h->n_images; i++)
				if (h->images[i].kind == TRACE_IMG_DISK)
					img = &h->images[i];
			if (!img)
				return err__set(err, -EBADMSG, "trace header: virtio-blk without a disk image entry");
			if (!disk) {
				char hex[65];
				sha256__hex(img->sha256, hex);
				return err__set(err, -EINVAL, "this recording used a virtio disk (%s, %" PRIu64 " bytes, sha256 %s): "
						"give its image with --disk PATH", img->name, img->size, hex);
			}
			cfg->disk = disk;
			cfg->disk_ro = !strcmp(t, "blk-ro");
			cfg->disk_sha256 = img->sha256;
			cfg->disk_undo = undo;
		} else if (!strcmp(t, "rng")) {
			cfg->virtio_rng = true;
		} else if (!strcmp(t, "console")) {
			cfg->virtio_console = true;
		} else {
			return err__set(err, -EPROTONOSUPPORT, "trace header: unknown virtio device '%s' (newer rrvm?)", t);
		}
	}
	return 0;
}

/* Tears down the current VM and replayer (and its trace reader). */
static void drop_vm(struct replay_session *s)
{
	session__snap_drop(s);
	pthread_mutex_lock(&s->lock);
	struct vm *vm = s->vm;
	struct replayer *rep = s->rep;
	s->vm = NULL;
	s->rep = NULL;
	pthread_mutex_unlock(&s->lock);
	if (vm)
		vm->rep = NULL;
	replayer__close(rep);
	vm__destroy(vm);
}

int session__trace_vm(const char *dir, const struct vm_config *live, const char *disk, bool check_images,
		      bool allow_mismatch, struct vm **out, struct trace_reader **tr_out, struct rrvm_err *err)
{
	struct trace_reader *tr;
	int rc = trace_reader__open(&tr, dir, err);
	if (rc)
		return rc;
	const struct trace_header *h = trace_reader__header(tr);
	/* The files opened below by name must be the trace's own, not links out of it. */
	static const char *const own[] = { "kernel", "initrd", "disk.undo" };
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if ((rc = trace_files__check(dir, own[i], false, err))) {
			trace_reader__close(tr);
			return rc;
		}
	char kernel[4096], initrd[4096];
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	bool has_initrd = false;
	for (uint32_t i = 0; i < h->n_images; i++) {
		const struct trace_image *img = &h->images[i];
		const char *name = img->kind == TRACE_IMG_KERNEL ? "kernel" : img->kind == TRACE_IMG_INITRD ? "initrd" : NULL;
		if (!name)
			continue;
		has_initrd |= img->kind == TRACE_IMG_INITRD;
		if (check_images && (rc = check_image(dir, name, img, allow_mismatch, err))) {
			trace_reader__close(tr);
			return rc;
		}
	}
	struct kvm_cpuid2 *cpuid = cpuid_from_header(h);
	struct vm_config cfg = {
		.mem_size = h->ram_bytes, .kernel = kernel, .initrd = has_initrd ? initrd : NULL,
		.append = h->cmdline, .cpu_profile = h->cpu_profile, .cpuid = cpuid,
		.clock = h->clock_mode == TRACE_CLOCK_VIRTUAL ? CLOCK_VIRTUAL : CLOCK_REAL,
		.quantum_ns = h->quantum_ns, .console_out_fd = -1, .console_in_fd = -1, .replay = true,
	};
	if (live) {
		cfg.replay = false;
		cfg.console_out_fd = live->console_out_fd;
		cfg.console_in_fd = live->console_in_fd;
	}
	char undo[4096];
	snprintf(undo, sizeof(undo), "%s/disk.undo", dir);
	rc = virtio_from_header(h, &cfg, disk, undo, err);
	if (!rc)
		rc = cpuid ? vm__create(out, &cfg, err) : err__set(err, -ENOMEM, "out of memory");
	free(cpuid);
	if (!rc) {
		/* cfg's strings live on this stack and in the header: the VM keeps
		 * copies (the recorder of `record --from` writes them out; disk_undo
		 * pointed at this function's stack, dead once it returns). */
		struct vm *vm = *out;
		const char **f[] = { &vm->cfg.kernel, &vm->cfg.initrd, &vm->cfg.append, &vm->cfg.cpu_profile,
				     &vm->cfg.disk_undo };
		_Static_assert(sizeof(f) / sizeof(f[0]) == sizeof(vm->cfg_owned) / sizeof(vm->cfg_owned[0]),
			       "one owned copy per borrowed string");
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (*f[i] && !(*f[i] = vm->cfg_owned[i] = strdup(*f[i])))
				rc = err__set(err, -ENOMEM, "out of memory");
		if (rc) {
			vm__destroy(vm);
			*out = NULL;
		}
	}
	if (rc || !tr_out)
		trace_reader__close(tr);
	else
		*tr_out = tr;
	return rc;
}

/* A fresh replay VM at event 0 with its own trace reader. */
int session__boot(struct replay_session *s, struct rrvm_err *err)
{
	drop_vm(s);
	struct trace_reader *tr;
	struct vm *vm;
	/* Hashing the images once per session is enough. */
	int rc = session__trace_vm(s->dir, NULL, s->o.disk, !s->images_checked, s->o.allow_image_mismatch, &vm, &tr,
				   err);
	if (rc)
		return rc;
	s->images_checked = true;
	struct replay_opts ro = { .quiet = true, .console_fd = -1 };
	struct replayer *rep;
	if ((rc = replayer__open(&rep, vm, tr, &ro, err))) {
		trace_reader__close(tr);
		vm__destroy(vm);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	s->vm = vm;
	s->rep = rep;
	pthread_mutex_unlock(&s->lock);
	s->last_event = trace_reader__status(tr)->last_event;
	/* Snapshots: automatic ones asked for, a backwards seek happened, or the
	 * trace has recorded ones (they are what makes seeking cheap). */
	if (s->want_store || s->o.auto_snapshots || snapfile__count(s->dir) > 0)
		return session__snap_boot(s, err);
	return 0;
}

int session__open(struct replay_session **out, const char *trace_dir, const struct session_opts *o,
		  struct rrvm_err *err)
{
	struct replay_session *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(trace_dir))) {
		free(s);
		return err__set(err, -ENOMEM, "out of memory");
	}
	s->o = *o;
	pthread_mutex_init(&s->lock, NULL);
	int rc = session__boot(s, err);
	if (rc) {
		session__close(s);
		return rc;
	}
	*out = s;
	return 0;
}

struct vm *session__vm(struct replay_session *s) { return s->vm; }
struct replayer *session__replayer(struct replay_session *s) { return s->rep; }
struct trace_reader *session__trace(struct replay_session *s) { return s->rep ? replayer__trace(s->rep) : NULL; }
uint64_t session__last_event(const struct replay_session *s) { return s->last_event; }

uint64_t session__event(const struct replay_session *s)
{
	uint64_t ev = 0, lm, miss;
	if (s->rep)
		replayer__counts(s->rep, &ev, &lm, &miss);
	return ev;
}

bool session__finished(const struct replay_session *s)
{
	if (!s->vm)
		return true;
	switch (s->vm->stop) {
	case VM_STOP_NONE:
	case VM_STOP_INTERRUPTED:
	case VM_STOP_DEBUG:     /* a gdb stop: replay goes on from here */
		return false;
	case VM_STOP_REPLAYED:
		return !replayer__at_target(s->rep);
	default:
		return true;
	}
}

void session__cancel(struct replay_session *s)
{
	atomic_store(&s->cancel, 1);
	pthread_mutex_lock(&s->lock);
	if (s->vm && s->running) {
		s->vm->quit_requested = 1;
		pthread_kill(s->vm->vcpu_thread, VCPU_KICK_SIGNAL);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Overrides whatever stop reason the VM has. */
static void __attribute__((format(printf, 3, 4))) set_stop(struct vm *vm, enum vm_stop why, const char *fmt, ...)
{
	vm->stop = why;
	vm->stop_code = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
	va_end(ap);
}

static bool cancelled(struct replay_session *s, struct vm *vm)
{
	if (!atomic_load(&s->cancel))
		return false;
	vm__request_stop(vm, VM_STOP_INTERRUPTED, 0, "cancelled at event %" PRIu64, session__event(s));
	return true;
}

/* Runs the replay VM forward to `event`, printing the console when `show`. */
int session__forward(struct replay_session *s, uint64_t event, bool show, struct rrvm_err *err)
{
	struct vm *vm = s->vm;
	if (!vm)
		return err__set(err, -EIO, "no replay VM (a previous seek failed)");
	uint64_t now = session__event(s);
	if (event < now)
		return err__set(err, -EINVAL, "event %" PRIu64 " is behind the replay (at %" PRIu64 "): seek instead",
				event, now);
	if (session__finished(s))
		return 0;
	if (event == now) {
		set_stop(vm, VM_STOP_REPLAYED, "replayed to event %" PRIu64, now);
		replayer__force_target(s->rep);
		return 0;
	}
	while (!cancelled(s, vm)) {
		uint64_t step = s->o.progress && event - now > SESSION_STEP_EVENTS ? now + SESSION_STEP_EVENTS : event;
		uint64_t snap_at = session__snap_next(s, now);
		if (snap_at < step)
			step = snap_at;
		struct replay_opts ro = {
			.to_event = step == UINT64_MAX ? 0 : step,
			.quiet = !show || s->o.quiet,
			.console_fd = show ? s->o.console_fd : -1,
		};
		replayer__set_opts(s->rep, &ro);
		vm->stop = VM_STOP_NONE;
		vm->stop_msg[0] = 0;
		pthread_mutex_lock(&s->lock);
		s->running = true;
		pthread_mutex_unlock(&s->lock);
		int rc = s->hooks.before_run ? s->hooks.before_run(s) : 0;
		if (!rc && !cancelled(s, vm))
			rc = vm__run(vm);
		pthread_mutex_lock(&s->lock);
		s->running = false;
		pthread_mutex_unlock(&s->lock);
		if (vm->quit_requested) {
			vm->quit_requested = 0;
			if (vm->stop == VM_STOP_INTERRUPTED)
				set_stop(vm, VM_STOP_INTERRUPTED, "cancelled at event %" PRIu64, session__event(s));
		}
		if (rc < 0 && vm->stop == VM_STOP_ERROR)
			return err__set(err, rc, "%s", vm->stop_msg);
		now = session__event(s);
		/* A stop point is one machine state however it was reached: finish
		 * the exit's I/O instruction now (RAX has the IN value, RIP is past
		 * it), as taking or restoring a snapshot there does. */
		if (vm->stop == VM_STOP_REPLAYED && replayer__at_target(s->rep) && (rc = snap__complete_io(vm)))
			return err__set(err, rc, "cannot complete the I/O instruction at event %" PRIu64 ": %s", now,
					strerror(-rc));
		if (vm->stop == VM_STOP_REPLAYED && replayer__at_target(s->rep) && now == snap_at &&
		    (rc = session__snap_auto(s, err)))
			return rc;
		if (vm->stop != VM_STOP_REPLAYED || !replayer__at_target(s->rep) || now >= event)
			return 0;
		if (s->o.progress)
			s->o.progress(s->o.progress_ctx, now, event);
	}
	return 0;
}

int session__run_to(struct replay_session *s, uint64_t event, struct rrvm_err *err)
{
	atomic_store(&s->cancel, 0);
	return session__forward(s, event, true, err);
}

int session__seek(struct replay_session *s, uint64_t event, struct rrvm_err *err)
{
	atomic_store(&s->cancel, 0);
	uint64_t now = session__event(s);
	/* A gdb stop or a cancel can leave the VM inside the interval after
	 * event `now`: seeking to `now` itself must then go back, not stay. */
	bool mid = s->vm && (s->vm->stop == VM_STOP_DEBUG || s->vm->stop == VM_STOP_INTERRUPTED);
	bool forward_ok = s->vm && (event > now || (event == now && !mid)) && !session__finished(s);
	if (s->store) {
		int rc = session__snap_restore(s, event, forward_ok, err);
		if (rc < 0)
			return rc;
		if (rc == 1 || forward_ok)
			return session__forward(s, event, false, err);
	} else if (forward_ok) {
		return session__forward(s, event, false, err);
	}
	/* Backwards without a snapshot to go to: boot again, this time with a
	 * snapshot store, so the next seek has somewhere to go. */
	s->want_store = true;
	int rc = session__boot(s, err);
	if (rc)
		return rc;
	return session__forward(s, event, false, err);
}

int session__state_hash(struct replay_session *s, uint64_t *regs, uint64_t *mem)
{
	if (!s->vm)
		return -EIO;
	snap__complete_io(s->vm);   /* as run__print_final_state: one state per stop point */
	return fp__state(s->vm, regs, mem);
}

void session__close(struct replay_session *s)
{
	if (!s)
		return;
	drop_vm(s);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}
