/* target_replay.c — a replay as a gdb target: forward c/s with breakpoints that never perturb the
 * recording, and reverse bs/bc by seeking to an earlier event and running forward with traps that count.
 *
 * Positions (DESIGN.md "Time and positions"): a stop is either an event boundary (event N, nothing run
 * since) or a trap inside the interval after event N, identified by (N, RIP, fingerprint) and reported as
 * (N, RIP, hit count of RIP after N). Reverse execution restores the snapshot at or before an earlier
 * event (session__seek), runs forward with the same traps counting them, and replays to the last hit
 * before the current position: the same traps from the same point give the same sequence of stops. */
#include "gdb/target_replay.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fingerprint.h"
#include "core/vm.h"
#include "gdb/exec.h"
#include "gdb/monitor.h"
#include "gdb/regs.h"
#include "record/trace.h"
#include "replay/replayer.h"
#include "replay/session.h"
#include "snapshot/snapshot.h"

struct pos {
	uint64_t event;
	bool boundary;        /* at the event boundary itself */
	uint64_t rip, fp;
	unsigned cpl;
};

/* A forward scan from a seek point: counts traps, remembers the last
 * breakpoint/watchpoint hit, stops at the target position or at ordinal. */
struct scan {
	struct rp *rp;
	const struct pos *target;  /* stop when reached (NULL: none) */
	uint64_t stop_at;          /* stop at this trap ordinal (0: never) */
	uint64_t ordinal;          /* traps so far */
	uint64_t last_hit;         /* ordinal of the last gdb breakpoint/watchpoint hit, 0 none */
	int last_bp;
	bool reached, lost, ring3;
};

struct rp {
	struct replay_session *s;
	struct exec ex;
	uint64_t limit;            /* run_to target of the next leg */
	struct pos cur;
	struct gdb_stop last;
	struct scan *scan;
	struct rrvm_err err;
	uint64_t seeks;
	bool trace;                /* RRVM_GDB_TRACE=1: every trap of every scan on stderr */
};

static struct vm *rp_vm(void *t) { return session__vm(((struct rp *)t)->s); }

static const char *rp_write_refused(void *t)
{
	return "this is a replay: writing registers or memory would make it diverge from the recording "
	       "(rrvm run --gdb debugs a live VM that can be changed)";
}

static int rp_run(void *ctx, struct vm *vm)
{
	struct rp *rp = ctx;
	return session__run_to(rp->s, rp->limit, &rp->err);
}

static int here(struct rp *rp, struct pos *p, bool boundary)
{
	struct vm *vm = rp_vm(rp);
	memset(p, 0, sizeof(*p));
	p->event = session__event(rp->s);
	p->boundary = boundary;
	int rc = gdb_regs__pc(vm, &p->rip, &p->cpl);
	if (!rc)
		rc = fp__compute(vm, &p->fp);
	return rc;
}

static bool same_pos(struct vm *vm, uint64_t event, uint64_t pc, const struct pos *p)
{
	if (p->boundary || event != p->event || pc != p->rip)
		return false;
	uint64_t fp;
	return fp__compute(vm, &fp) == 0 && fp == p->fp;
}

/* Seeks to an event boundary; drops what the timeline left behind there. */
static int seek(struct rp *rp, uint64_t event)
{
	rp->seeks++;
	/* No gdb trap may fire while the session replays up to the event. */
	guest_debug__release(rp_vm(rp), GD_OWNER_GDB);
	guest_debug__apply(rp_vm(rp));
	int rc = session__seek(rp->s, event, &rp->err);
	if (rc)
		return rc;
	struct vm *vm = rp_vm(rp);
	guest_debug__release(vm, GD_OWNER_REPLAY);
	guest_debug__release(vm, GD_OWNER_GDB);
	guest_debug__apply(vm);
	/* One canonical state at a seek point, whether a snapshot was restored
	 * (its pending I/O completed) or replay ran up to it (still pending):
	 * stepping from either then counts the same traps. */
	if ((rc = snap__complete_io(vm)))
		return err__set(&rp->err, rc, "cannot complete the I/O instruction at event %" PRIu64 ": %s", event,
				strerror(-rc));
	if (session__event(rp->s) != event)
		return err__set(&rp->err, -EIO, "seek to event %" PRIu64 " stopped at event %" PRIu64 ": %s", event,
				session__event(rp->s), vm->stop_msg);
	rp->ex.sitting = false;
	return 0;
}

/* Trap hook (vCPU thread): counts, remembers hits, decides where to stop. */
static int on_trap(void *ctx, struct vm *vm, const struct exec_trap *t)
{
	struct scan *sc = ctx;
	uint64_t ev = session__event(sc->rp->s);
	sc->ordinal++;
	if (sc->rp->trace)
		fprintf(stderr, "rrvm gdb trace: trap %" PRIu64 " event %" PRIu64 " pc 0x%" PRIx64 "%s%s bp %d\n",
			sc->ordinal, ev, t->pc, t->stepped ? " step" : "", t->extra ? " extra" : "", t->bp);
	if (sc->target && !sc->target->boundary) {
		if (same_pos(vm, ev, t->pc, sc->target)) {
			sc->reached = true;
			return 1;
		}
		if (ev > sc->target->event) {
			sc->lost = true;
			return 1;
		}
	}
	if (t->bp >= 0) {
		sc->last_hit = sc->ordinal;
		sc->last_bp = t->bp;
	}
	return sc->stop_at && sc->ordinal >= sc->stop_at;
}

/* Runs a scan from the current (seek) point: stepping or with traps, until
 * the target position, ordinal stop_at, or the event boundary `limit`. */
static int scan_run(struct rp *rp, struct scan *sc, bool step, uint64_t limit, enum exec_result *res)
{
	struct exec_trap t;
	sc->rp = rp;
	rp->ex.on_trap = on_trap;
	rp->ex.scan_ctx = sc;
	rp->limit = limit;
	int rc = 0;
	for (;;) {
		rc = exec__leg(&rp->ex, rp_vm(rp), step, res, &t);
		if (rc || *res != EXEC_TRAP)
			break;
		if (t.ring3) {
			sc->ring3 = true;
			break;
		}
		if (sc->reached || sc->lost || (sc->stop_at && sc->ordinal >= sc->stop_at))
			break;
		if (!step)
			continue;   /* a filtered trap that still stopped (step-over): go on */
	}
	rp->ex.on_trap = NULL;
	rp->limit = UINT64_MAX;
	return rc;
}

static void note(struct gdb_stop *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct gdb_stop *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->note, sizeof(st->note), fmt, ap);
	va_end(ap);
}

/* Goes back to position p (after a reverse command failed half way). */
static int goto_pos(struct rp *rp, const struct pos *p)
{
	int rc = seek(rp, p->event);
	if (rc || p->boundary)
		return rc;
	struct scan sc = { .target = p };
	enum exec_result res;
	rp->ex.nextra = 1;
	rp->ex.extra[0] = p->rip;
	rc = scan_run(rp, &sc, false, p->event + 1, &res);
	rp->ex.nextra = 0;
	if (!rc && !sc.reached)
		rc = err__set(&rp->err, -EIO, "could not find the position again (event %" PRIu64 ", rip 0x%" PRIx64 ")",
			      p->event, p->rip);
	return rc;
}

static void stop_at_here(struct rp *rp, bool boundary)
{
	here(rp, &rp->cur, boundary);
}

/* Replays from seek(lo) to trap ordinal k with the traps/stepping of the scan. */
static int land(struct rp *rp, uint64_t lo, uint64_t k, bool step, uint64_t limit)
{
	int rc = seek(rp, lo);
	if (rc || !k)
		return rc;
	struct scan sc = { .stop_at = k };
	enum exec_result res;
	rc = scan_run(rp, &sc, step, limit, &res);
	if (!rc && sc.ordinal != k)
		rc = err__set(&rp->err, -EIO, "replaying to trap %" PRIu64 " after event %" PRIu64 " stopped at trap %"
			      PRIu64 " instead", k, lo, sc.ordinal);
	return rc;
}

static bool has_watch(const struct rp *rp)
{
	for (int i = 0; i < rp->ex.nbp; i++)
		if (rp->ex.bp[i].type >= GDB_WP_WRITE)
			return true;
	return false;
}

static int reverse_step(struct rp *rp, struct gdb_stop *st)
{
	struct pos p = rp->cur;
	st->kind = GDB_STOP_SIGNAL;
	st->signo = 5;
	if (p.cpl == 3 && !p.boundary && !monitor__host_steps_ring3()) {
		note(st, "cannot reverse-step guest ring-3 code on this host (its KVM cannot single-step ring 3)");
		return 0;
	}
	if (p.boundary && p.event == 0) {
		st->kind = GDB_STOP_HISTORY;
		return 0;
	}
	/* Single-step from an earlier event boundary to p; the trap before p is
	 * the answer (a seek point is not: it is the middle of an exit). */
	uint64_t limit = p.boundary ? p.event : p.event + 1;
	for (uint64_t lo = p.boundary ? p.event - 1 : p.event;; lo--) {
		int rc = seek(rp, lo);
		if (rc)
			return rc;
		struct scan sc = { .target = &p };
		enum exec_result res;
		rc = scan_run(rp, &sc, true, limit, &res);
		if (rc)
			return rc;
		if (res == EXEC_INTERRUPTED) {
			st->signo = 2;
			note(st, "reverse-stepi interrupted: stopped on the way, at event %" PRIu64, session__event(rp->s));
			stop_at_here(rp, false);
			return 0;
		}
		if (sc.ring3) {
			note(st, "reverse-stepi would single-step guest ring-3 code, which this host cannot do: "
				 "staying at event %" PRIu64, p.event);
			return goto_pos(rp, &p);
		}
		bool at = p.boundary ? (res == EXEC_OTHER && session__event(rp->s) == p.event) : sc.reached;
		if (!at)
			return err__set(&rp->err, -EIO, "reverse-stepi lost the current position (event %" PRIu64
					", rip 0x%" PRIx64 ")", p.event, p.rip);
		uint64_t before = p.boundary ? sc.ordinal : sc.ordinal - 1;
		if (before >= 1) {
			rc = land(rp, lo, before, true, limit);
			if (!rc)
				stop_at_here(rp, false);
			return rc;
		}
		if (lo == 0) {
			rc = seek(rp, 0);
			stop_at_here(rp, true);
			st->kind = GDB_STOP_HISTORY;
			return rc;
		}
	}
}

static int reverse_cont(struct rp *rp, struct gdb_stop *st)
{
	struct pos p = rp->cur;
	bool step = has_watch(rp) && rp->ex.sw_watch;
	if (!p.boundary && p.cpl == 3) {
		note(st, "the current position is in guest ring-3 code, which this host cannot stop in: "
			 "going back from the start of event %" PRIu64, p.event);
		p.boundary = true;
	}
	uint64_t hi = p.event, span = 1;
	bool hi_is_p = true;
	for (uint64_t lo = p.event;;) {
		int rc = seek(rp, lo);
		if (rc)
			return rc;
		struct scan sc = { .target = hi_is_p ? &p : NULL };
		enum exec_result res;
		rp->ex.nextra = hi_is_p && !p.boundary ? 1 : 0;
		rp->ex.extra[0] = p.rip;
		uint64_t limit = hi_is_p && !p.boundary ? hi + 1 : hi;
		rc = scan_run(rp, &sc, step, limit, &res);
		if (rc) {
			rp->ex.nextra = 0;
			return rc;
		}
		if (res == EXEC_INTERRUPTED) {
			rp->ex.nextra = 0;
			st->kind = GDB_STOP_SIGNAL;
			st->signo = 2;
			note(st, "reverse-continue interrupted while scanning events %" PRIu64 "-%" PRIu64
				 ": stopped on the way, at event %" PRIu64, lo, hi, session__event(rp->s));
			stop_at_here(rp, false);
			return 0;
		}
		if (sc.ring3) {
			rp->ex.nextra = 0;
			note(st, "watching by single-step would step guest ring-3 code between event %" PRIu64
				 " and %" PRIu64 ", which this host cannot do", lo, hi);
			return goto_pos(rp, &p);
		}
		if (sc.last_hit) {
			const struct exec_bp *b = &rp->ex.bp[sc.last_bp];
			bool watch = b->type >= GDB_WP_WRITE;
			/* A watchpoint stops before the instruction that wrote: one trap
			 * earlier when stepping, else one reverse step from the hit. */
			uint64_t k = watch && step ? sc.last_hit - 1 : sc.last_hit;
			rc = land(rp, lo, k, step, limit);
			rp->ex.nextra = 0;
			if (rc)
				return rc;
			stop_at_here(rp, k == 0);
			if (watch && !step) {
				struct gdb_stop tmp;
				memset(&tmp, 0, sizeof(tmp));
				if ((rc = reverse_step(rp, &tmp)))
					return rc;
			}
			if (watch) {
				st->kind = GDB_STOP_WATCH;
				st->watch_type = b->type;
				st->watch_addr = b->addr;
			} else {
				st->kind = GDB_STOP_BREAK;
				st->hw = b->type == GDB_BP_HW;
			}
			return 0;
		}
		rp->ex.nextra = 0;
		if (lo == 0) {
			rc = seek(rp, 0);
			stop_at_here(rp, true);
			st->kind = GDB_STOP_HISTORY;
			st->history_end = false;
			return rc;
		}
		hi = lo;
		hi_is_p = false;
		lo = lo > span ? lo - span : 0;
		span *= 2;
	}
}

static int forward(struct rp *rp, bool step, struct gdb_stop *st)
{
	if (step && rp->cur.cpl == 3 && !monitor__host_steps_ring3()) {
		st->kind = GDB_STOP_SIGNAL;
		st->signo = 5;
		note(st, "cannot single-step guest ring-3 code on this host (its KVM delivers the trap to the guest); "
			 "set a breakpoint in ring 0 and continue");
		return 0;
	}
	struct vm *vm = rp_vm(rp);
	if (session__finished(rp->s) && vm->stop == VM_STOP_REPLAYED) {
		st->kind = GDB_STOP_HISTORY;
		st->history_end = true;
		note(st, "at the end of the recording: %.400s", vm->stop_msg);
		return 0;
	}
	enum exec_result res;
	struct exec_trap t;
	rp->limit = UINT64_MAX;
	int rc = exec__leg(&rp->ex, vm, step, &res, &t);
	if (rc)
		return rc;
	vm = rp_vm(rp);
	switch (res) {
	case EXEC_TRAP:
		if (t.ring3) {
			st->kind = GDB_STOP_SIGNAL;
			st->signo = 5;
			note(st, "stopped where the guest entered ring 3: this host cannot single-step ring-3 code "
				 "(watchpoints here are checked by single-stepping)");
		} else {
			exec__trap_stop(&rp->ex, &t, st);
		}
		stop_at_here(rp, false);
		break;
	case EXEC_INTERRUPTED:
		st->kind = GDB_STOP_SIGNAL;
		st->signo = 2;
		stop_at_here(rp, false);
		break;
	case EXEC_OTHER:
		stop_at_here(rp, true);
		if (vm->stop == VM_STOP_REPLAYED || vm->stop == VM_STOP_INTERRUPTED) {
			st->kind = vm->stop == VM_STOP_REPLAYED ? GDB_STOP_HISTORY : GDB_STOP_SIGNAL;
			st->history_end = true;
			st->signo = 2;
			note(st, "%.480s", vm->stop_msg);
		} else {
			st->kind = GDB_STOP_SIGNAL;
			st->signo = 5;
			note(st, "replay stopped: %.480s", vm->stop_msg);
		}
		break;
	}
	return 0;
}

static int rp_resume(void *t, enum gdb_resume how, struct gdb_stop *st)
{
	struct rp *rp = t;
	memset(st, 0, sizeof(*st));
	int rc;
	switch (how) {
	case GDB_RESUME_CONT: rc = forward(rp, false, st); break;
	case GDB_RESUME_STEP: rc = forward(rp, true, st); break;
	case GDB_RESUME_RSTEP: rc = reverse_step(rp, st); break;
	default: rc = reverse_cont(rp, st); break;
	}
	if (rc) {
		st->kind = GDB_STOP_SIGNAL;
		st->signo = 5;
		note(st, "%s", rp->err.msg);
		here(rp, &rp->cur, true);
		rc = 0;
	}
	if (rp->ex.note[0] && !st->note[0])
		snprintf(st->note, sizeof(st->note), "%s", rp->ex.note);
	rp->ex.note[0] = 0;
	rp->last = *st;
	return rc;
}

static int rp_insert(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len, const char **why)
{
	struct rp *rp = t;
	return exec__insert(&rp->ex, rp_vm(rp), type, addr, len, why);
}

static int rp_remove(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	return exec__remove(&((struct rp *)t)->ex, type, addr, len);
}

static void rp_interrupt(void *t) { guest_debug__interrupt(rp_vm(t)); }

static void rp_last_stop(void *t, struct gdb_stop *st)
{
	*st = ((struct rp *)t)->last;
	st->note[0] = 0;
}

/* The hit count of the current position's RIP since its event (a scan). */
static int hit_count(struct rp *rp, uint64_t *k)
{
	struct pos p = rp->cur;
	*k = 0;
	if (p.boundary)
		return 0;
	int rc = seek(rp, p.event);
	if (rc)
		return rc;
	struct scan sc = { .target = &p };
	enum exec_result res;
	rp->ex.nextra = 1;
	rp->ex.extra[0] = p.rip;
	int nbp = rp->ex.nbp;
	rp->ex.nbp = 0;   /* count only arrivals at RIP */
	rc = scan_run(rp, &sc, false, p.event + 1, &res);
	rp->ex.nbp = nbp;
	rp->ex.nextra = 0;
	if (!rc && !sc.reached)
		rc = err__set(&rp->err, -EIO, "position not found again");
	*k = sc.ordinal;
	rp->cur = p;
	return rc;
}

static int rp_monitor(void *t, const char *cmd, struct gdb_text *out)
{
	struct rp *rp = t;
	char word[32] = "", arg[64] = "";
	sscanf(cmd, "%31s %63s", word, arg);
	if (!strcmp(word, "when")) {
		if (rp->cur.boundary) {
			gdb_text__printf(out, "event %" PRIu64 " of %" PRIu64 " (at the event boundary), rip 0x%" PRIx64 "\n",
					 rp->cur.event, session__last_event(rp->s), rp->cur.rip);
			return 0;
		}
		if (rp->cur.cpl == 3) {
			gdb_text__printf(out, "event %" PRIu64 " of %" PRIu64 ", rip 0x%" PRIx64 " (ring 3: no hit count on this host)\n",
					 rp->cur.event, session__last_event(rp->s), rp->cur.rip);
			return 0;
		}
		uint64_t k;
		int rc = hit_count(rp, &k);
		if (rc) {
			gdb_text__printf(out, "when: %s\n", rp->err.msg);
			return rc;
		}
		gdb_text__printf(out, "event %" PRIu64 " of %" PRIu64 ", rip 0x%" PRIx64 ", hit %" PRIu64
				 " of that rip after the event (position %" PRIu64 ":0x%" PRIx64 ":%" PRIu64 ")\n",
				 rp->cur.event, session__last_event(rp->s), rp->cur.rip, k, rp->cur.event, rp->cur.rip, k);
		return 0;
	}
	if (!strcmp(word, "seek")) {
		char *end;
		uint64_t ev = strtoull(arg, &end, 0);
		if (!arg[0] || *end || ev > session__last_event(rp->s)) {
			gdb_text__printf(out, "seek: give an event number 0..%" PRIu64 "\n", session__last_event(rp->s));
			return -EINVAL;
		}
		int rc = seek(rp, ev);
		stop_at_here(rp, true);
		if (rc)
			gdb_text__printf(out, "seek: %s\n", rp->err.msg);
		else
			gdb_text__printf(out, "at event %" PRIu64 ", rip 0x%" PRIx64 " (run `flushregs` to refresh gdb's view)\n",
					 ev, rp->cur.rip);
		return rc;
	}
	if (!strcmp(word, "snapshots")) {
		struct session_snap_stats ss;
		session__snapshot_stats(rp->s, &ss);
		gdb_text__printf(out, "%u snapshots in memory (%u recorded in the trace), %" PRIu64 " KiB of pages; "
				 "%" PRIu64 " taken automatically, %" PRIu64 " thinned, %" PRIu64 " restores; %" PRIu64 " seeks by gdb\n",
				 ss.stored, ss.recorded, ss.bytes >> 10, ss.taken, ss.dropped, ss.restored, rp->seeks);
		return 0;
	}
	if (!strcmp(word, "info-trace")) {
		const struct trace_status *ts = session__trace(rp->s) ? trace_reader__status(session__trace(rp->s)) : NULL;
		gdb_text__printf(out, "events: %" PRIu64 ", now at event %" PRIu64 "%s\n", session__last_event(rp->s),
				 session__event(rp->s), session__finished(rp->s) ? " (end of replay)" : "");
		if (ts)
			gdb_text__printf(out, "chunks: %" PRIu64 ", records: %" PRIu64 "; %s\n", ts->n_chunks, ts->n_records,
					 ts->msg[0] ? ts->msg : "complete");
		return 0;
	}
	return monitor__common(rp_vm(rp), cmd, out, "replay");
}

static const struct gdb_target_ops rp_ops = {
	.vm = rp_vm,
	.write_refused = rp_write_refused,
	.insert = rp_insert,
	.remove = rp_remove,
	.resume = rp_resume,
	.interrupt = rp_interrupt,
	.monitor = rp_monitor,
	.last_stop = rp_last_stop,
	.reverse = true,
	.name = "replay",
};

int target_replay__open(struct gdb_target *t, struct replay_session *s, struct rrvm_err *err)
{
	struct rp *rp = calloc(1, sizeof(*rp));
	if (!rp)
		return err__set(err, -ENOMEM, "out of memory");
	rp->s = s;
	rp->ex.run = rp_run;
	rp->ex.ctx = rp;
	rp->ex.sw_watch = monitor__watch_by_stepping();
	rp->limit = UINT64_MAX;
	rp->trace = getenv("RRVM_GDB_TRACE") != NULL;
	rp->ex.trace = rp->trace;
	here(rp, &rp->cur, true);
	rp->last.kind = session__event(s) == 0 ? GDB_STOP_HISTORY : GDB_STOP_SIGNAL;
	rp->last.signo = 5;
	t->ops = &rp_ops;
	t->priv = rp;
	return 0;
}

void target_replay__close(struct gdb_target *t)
{
	free(t->priv);
	t->priv = NULL;
}
