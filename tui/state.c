/* state.c — ties the browser's cursor to the replay worker: debounced seeks, progress, cancel, register lookup. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/vm.h"
#include "tui/ui.h"

#define SEEK_DEBOUNCE_S 0.08   /* a held arrow key seeks once it is released */
#define BLINK_S 0.15           /* seeks shorter than this show no progress */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tui__state_open(struct tui *t, bool replay)
{
	if (!replay) {
		snprintf(t->state_msg, sizeof(t->state_msg), "no replay (--no-replay): registers, memory and "
			 "disassembly need one");
		return;
	}
	struct rrvm_err err = { "" };
	if (worker__open(&t->w, t->m->dir, t->disk, &err)) {
		t->w = NULL;
		snprintf(t->state_msg, sizeof(t->state_msg), "no replay: %s", err.msg);
		if (!t->status[0])
			ui__status(t, true, "%s", t->state_msg);
	}
}

void tui__state_close(struct tui *t)
{
	worker__close(t->w);
	t->w = NULL;
}

void tui__cursor_moved(struct tui *t)
{
	t->seek_wanted = true;
	t->moved_at = now_s();
}

void tui__tick(struct tui *t)
{
	if (!t->w)
		return;
	char msg[600];
	int rc;
	struct tui_cpu cur, prev;
	uint64_t g = worker__state(t->w, &cur, &prev, &rc, msg, sizeof(msg));
	if (g != t->state_gen) {
		t->state_gen = g;
		t->cpu = cur;
		t->cpu_prev = prev;
		t->state_rc = rc;
		snprintf(t->state_msg, sizeof(t->state_msg), "%s", msg);
		bool bad = rc || !cur.valid ||
			   (cur.stop != VM_STOP_REPLAYED && cur.stop != VM_STOP_INTERRUPTED && cur.stop != VM_STOP_NONE);
		if (bad || cur.stop == VM_STOP_INTERRUPTED)
			ui__status(t, bad, "%s", msg);
	}
	if (t->seek_wanted && now_s() - t->moved_at >= SEEK_DEBOUNCE_S && tui__state_visible(t)) {
		t->seek_wanted = false;
		worker__request(t->w, t->cursor);
	}
}

bool tui__progress(struct tui *t, char *buf, size_t cap)
{
	uint64_t done, target;
	double secs;
	if (!t->w || !worker__busy(t->w, &done, &target, &secs) || secs < BLINK_S)
		return false;
	snprintf(buf, cap, " replaying to event %" PRIu64 ": %" PRIu64 " done (%.0f%%), %.1f s   Esc cancels", target,
		 done, target ? 100.0 * (double)done / (double)target : 100.0, secs);
	return true;
}

void tui__cancel(struct tui *t)
{
	uint64_t done, target;
	double secs;
	bool wanted = t->seek_wanted;
	t->seek_wanted = false;   /* Esc also drops a seek the last keys were about to start */
	if (t->w && (worker__busy(t->w, &done, &target, &secs) || wanted)) {
		worker__cancel(t->w);
		ui__status(t, false, "cancelling the seek to event %" PRIu64 "...", target);
	}
}

bool tui__state_current(const struct tui *t)
{
	return t->w && t->cpu.valid && t->cpu.event == t->cursor && !t->seek_wanted;
}

bool tui__reg_value(const struct tui *t, const char *name, uint64_t *v)
{
	const struct kvm_regs *r = &t->cpu.regs;
	const struct kvm_sregs *s = &t->cpu.sregs;
	const struct {
		const char *n;
		uint64_t v;
	} regs[] = {
		{ "rax", r->rax }, { "rbx", r->rbx }, { "rcx", r->rcx }, { "rdx", r->rdx }, { "rsi", r->rsi },
		{ "rdi", r->rdi }, { "rbp", r->rbp }, { "rsp", r->rsp }, { "r8", r->r8 }, { "r9", r->r9 },
		{ "r10", r->r10 }, { "r11", r->r11 }, { "r12", r->r12 }, { "r13", r->r13 }, { "r14", r->r14 },
		{ "r15", r->r15 }, { "rip", r->rip }, { "rflags", r->rflags }, { "cr0", s->cr0 }, { "cr2", s->cr2 },
		{ "cr3", s->cr3 }, { "cr4", s->cr4 }, { "efer", s->efer }, { "fs_base", s->fs.base },
		{ "gs_base", s->gs.base }, { "gdt", s->gdt.base }, { "idt", s->idt.base },
	};
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (!strcasecmp(name, regs[i].n)) {
			*v = regs[i].v;
			return true;
		}
	return false;
}

void tui__take_snapshot(struct tui *t, const char *name)
{
	(void)name;   /* snapshot files are known by number (NNNNNN.snap) */
	if (!t->w) {
		ui__status(t, true, "snapshot: no replay session (%s)", "the trace cannot be replayed here");
		return;
	}
	if (!tui__state_current(t) || t->cpu.event != t->cursor || !t->cpu.valid) {
		ui__status(t, true, "snapshot: the machine is not at the cursor yet (event %" PRIu64
			   "): wait for the replay, then press s again", t->cursor);
		return;
	}
	struct rrvm_err err = { "" };
	uint32_t seq;
	uint64_t ev;
	if (worker__save_snapshot(t->w, &seq, &ev, &err)) {
		ui__status(t, true, "snapshot not written: %s", err.msg);
		return;
	}
	struct rrvm_err merr = { "" };
	if (model__add_snapfile(t->m, seq, &merr)) {
		ui__status(t, true, "snapshot %u written at event %" PRIu64 ", but reading it back failed: %s", seq, ev,
			   merr.msg);
		return;
	}
	ui__status(t, false, "snapshot %u written at event %" PRIu64 " (%s/snapshots/%06u.snap)", seq, ev, t->m->dir,
		   seq);
}
