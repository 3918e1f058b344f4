/* worker.c — the browser's replay thread: seeks a replay session to the cursor and copies the state out. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "core/mem.h"
#include "core/vm.h"
#include "core/x86.h"
#include "replay/session.h"
#include "tui/worker.h"

struct tui_worker {
	struct replay_session *s;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	bool pending, quit, busy;
	uint64_t want, target;
	double started;
	struct tui_cpu cur, prev;
	int rc;
	char msg[600];
	uint64_t gen;
	struct session_snap_stats snap;
	/* Lock-free, for the progress line and Esc. */
	_Atomic uint64_t done;
	_Atomic int cancel_req;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, uint64_t done, uint64_t target)
{
	struct tui_worker *w = ctx;
	(void)target;
	atomic_store(&w->done, done);
	/* A cancel that landed before the seek started running is repeated here. */
	if (atomic_load(&w->cancel_req))
		session__cancel(w->s);
}

static void capture(struct tui_worker *w, struct tui_cpu *c)
{
	struct vm *vm = session__vm(w->s);
	memset(c, 0, sizeof(*c));
	if (!vm)
		return;
	c->event = session__event(w->s);
	c->stop = vm->stop;
	/* Registers as the session leaves them: at a stop the exit's I/O
	 * instruction is finished (RAX holds an IN's value, RIP is past it),
	 * the same state a snapshot there holds (api-session.md). */
	snprintf(c->stop_msg, sizeof(c->stop_msg), "%.255s", vm->stop_msg);
	c->valid = !ioctl(vm->vcpu_fd, KVM_GET_REGS, &c->regs) && !ioctl(vm->vcpu_fd, KVM_GET_SREGS, &c->sregs);
	if (ioctl(vm->vcpu_fd, KVM_GET_DEBUGREGS, &c->dregs))
		memset(&c->dregs, 0, sizeof(c->dregs));
}

static void *run(void *arg)
{
	struct tui_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->pending && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		uint64_t ev = w->want;
		w->pending = false;
		w->busy = true;
		w->target = ev;
		w->started = now_s();
		atomic_store(&w->done, session__event(w->s) <= ev ? session__event(w->s) : 0);
		atomic_store(&w->cancel_req, 0);
		pthread_mutex_unlock(&w->mu);

		struct rrvm_err err = { "" };
		int rc = session__seek(w->s, ev, &err);
		struct tui_cpu c;
		capture(w, &c);
		double secs = now_s() - w->started;

		struct session_snap_stats ss;
		session__snapshot_stats(w->s, &ss);
		pthread_mutex_lock(&w->mu);
		w->snap = ss;
		if (w->cur.valid && w->cur.event != c.event)
			w->prev = w->cur;
		w->cur = c;
		w->rc = rc;
		if (rc)
			snprintf(w->msg, sizeof(w->msg), "replay failed: %s", err.msg);
		else if (!c.valid)
			snprintf(w->msg, sizeof(w->msg), "replay stopped without a VM (%s)", c.stop_msg);
		else if (c.event == ev)
			snprintf(w->msg, sizeof(w->msg), "replayed to event %" PRIu64 " in %.2f s", ev, secs);
		else if (c.stop == VM_STOP_INTERRUPTED)
			snprintf(w->msg, sizeof(w->msg), "seek to %" PRIu64 " cancelled at event %" PRIu64, ev, c.event);
		else
			snprintf(w->msg, sizeof(w->msg), "replay stopped at event %" PRIu64 " before %" PRIu64 ": %s",
				 c.event, ev, c.stop_msg);
		w->busy = false;
		w->gen++;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int worker__open(struct tui_worker **out, const char *dir, const char *disk, struct rrvm_err *err)
{
	struct tui_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return err__set(err, -ENOMEM, "out of memory");
	struct session_opts o = { .quiet = true, .console_fd = -1, .auto_snapshots = true,
				  .progress = on_progress, .progress_ctx = w, .disk = disk };
	int rc = session__open(&w->s, dir, &o, err);
	if (rc) {
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* The thread must not take the terminal's signals: curses handles SIGWINCH. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGCONT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&w->th, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		session__close(w->s);
		free(w);
		return err__set(err, -rc, "cannot start the replay thread: %s", strerror(rc));
	}
	*out = w;
	return 0;
}

void worker__close(struct tui_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	w->pending = false;
	atomic_store(&w->cancel_req, 1);
	if (w->busy)
		session__cancel(w->s);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	session__close(w->s);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void worker__request(struct tui_worker *w, uint64_t event)
{
	pthread_mutex_lock(&w->mu);
	if (w->busy && w->target == event) {
		w->pending = false;
	} else if (!w->busy && !w->pending && w->cur.valid && w->cur.event == event && w->rc == 0) {
		/* Already there. */
	} else {
		w->want = event;
		w->pending = true;
		/* A seek forward of the running one finishes on the way; anything else restarts. */
		if (w->busy && event < w->target) {
			atomic_store(&w->cancel_req, 1);
			session__cancel(w->s);
		}
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void worker__cancel(struct tui_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->pending = false;
	if (w->busy) {
		atomic_store(&w->cancel_req, 1);
		session__cancel(w->s);
	}
	pthread_mutex_unlock(&w->mu);
}

bool worker__busy(struct tui_worker *w, uint64_t *done, uint64_t *target, double *secs)
{
	pthread_mutex_lock(&w->mu);
	bool b = w->busy || w->pending;
	*target = w->busy ? w->target : w->want;
	*secs = w->busy ? now_s() - w->started : 0;
	pthread_mutex_unlock(&w->mu);
	*done = atomic_load(&w->done);
	return b;
}

uint64_t worker__state(struct tui_worker *w, struct tui_cpu *cur, struct tui_cpu *prev, int *rc, char *msg,
		       size_t cap)
{
	pthread_mutex_lock(&w->mu);
	*cur = w->cur;
	*prev = w->prev;
	*rc = w->rc;
	snprintf(msg, cap, "%s", w->msg);
	uint64_t g = w->gen;
	pthread_mutex_unlock(&w->mu);
	return g;
}

size_t worker__read(struct tui_worker *w, uint64_t addr, bool phys, void *buf, size_t len)
{
	size_t got = 0;
	pthread_mutex_lock(&w->mu);
	struct vm *vm = session__vm(w->s);
	if (!w->busy && vm && w->cur.valid) {
		if (phys) {
			uint8_t *out = buf;
			while (got < len) {
				uint64_t a = addr + got;
				size_t n = 4096 - (size_t)(a & 4095);
				if (n > len - got)
					n = len - got;
				if (a < addr || mem__read(&vm->mem, a, out + got, n))
					break;
				got += n;
			}
		} else {
			got = x86__read_virt(&vm->mem, &w->cur.sregs, addr, buf, len);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return got;
}

void worker__snap_stats(struct tui_worker *w, struct session_snap_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->snap;
	pthread_mutex_unlock(&w->mu);
}

int worker__save_snapshot(struct tui_worker *w, uint32_t *seq, uint64_t *event, struct rrvm_err *err)
{
	int rc;
	pthread_mutex_lock(&w->mu);
	/* Not busy, nothing pending: the thread waits on cv and leaves the
	 * session alone while mu is held. */
	if (w->busy || w->pending)
		rc = err__set(err, -EBUSY, "a seek is running: wait for it (or Esc) before taking a snapshot");
	else if (!w->cur.valid || !session__vm(w->s))
		rc = err__set(err, -EINVAL, "no machine state here to take a snapshot of");
	else if ((rc = session__save_snapshot(w->s, seq, err)) == 0)
		*event = session__event(w->s);
	if (!rc)
		session__snapshot_stats(w->s, &w->snap);
	pthread_mutex_unlock(&w->mu);
	return rc;
}
