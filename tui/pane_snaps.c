/* pane_snaps.c — the snapshots a trace holds: where, why, size on disk, and what changed since the previous one. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"
#include "tui/ui.h"

static void fmt_size(char *buf, size_t cap, int64_t b)
{
	if (b < 0)
		snprintf(buf, cap, "%s", "missing");
	else if (b < 10 * 1024)
		snprintf(buf, cap, "%" PRId64 " B", b);
	else if (b < 10 * 1024 * 1024)
		snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
	else
		snprintf(buf, cap, "%.1f MiB", (double)b / 1048576);
}

/* Reads snapshot i's file (checked whole: sections, checksums, pages) and keeps what the pane shows. */
static void load(struct tui *t, struct tui_snap *s)
{
	const struct trace_header *h = trace_reader__header(t->m->r);
	struct snapfile_info info;
	struct snapshot *snap = NULL;
	uint32_t *pages = NULL;
	uint8_t **data = NULL;
	struct rrvm_err err = { "" };
	s->loaded = true;
	if (s->id == 0 || s->id > UINT32_MAX) {
		s->rc = -1;
		snprintf(s->err, sizeof(s->err), "snapshot id %" PRIu64 " names no file", s->id);
		return;
	}
	s->rc = snapfile__read(t->m->dir, (uint32_t)s->id, h->uuid, h->ram_bytes, &info, &snap, &pages, &data, &err);
	if (s->rc) {
		snprintf(s->err, sizeof(s->err), "%.199s", err.msg);
		return;
	}
	s->reason = info.reason;
	s->n_pages = info.n_pages;
	s->n_data = info.n_data;
	s->n_zero = info.n_zero;
	s->n_same = info.n_same;
	s->base_seq = info.base_seq;
	s->page_bytes = info.page_bytes;
	s->regs = snap->cpu.regs;
	s->sregs = snap->cpu.sregs;
	if (info.event != s->event_no) {
		s->rc = -1;
		snprintf(s->err, sizeof(s->err), "the file says event %" PRIu64 ", the trace %" PRIu64, info.event,
			 s->event_no);
	}
	snapfile__free_pages(pages, data, info.n_pages);
	snap__free(snap);
}

/* "RAX RSP RIP" — registers that differ between two snapshots. */
static void reg_diff(char *buf, size_t cap, const struct tui_snap *a, const struct tui_snap *b)
{
	const struct kvm_regs *x = &a->regs, *y = &b->regs;
	const struct {
		const char *n;
		uint64_t u, v;
	} r[] = {
		{ "RAX", x->rax, y->rax }, { "RBX", x->rbx, y->rbx }, { "RCX", x->rcx, y->rcx }, { "RDX", x->rdx, y->rdx },
		{ "RSI", x->rsi, y->rsi }, { "RDI", x->rdi, y->rdi }, { "RBP", x->rbp, y->rbp }, { "RSP", x->rsp, y->rsp },
		{ "R8", x->r8, y->r8 },    { "R9", x->r9, y->r9 },    { "R10", x->r10, y->r10 }, { "R11", x->r11, y->r11 },
		{ "R12", x->r12, y->r12 }, { "R13", x->r13, y->r13 }, { "R14", x->r14, y->r14 }, { "R15", x->r15, y->r15 },
		{ "RIP", x->rip, y->rip }, { "RFLAGS", x->rflags, y->rflags }, { "CR3", a->sregs.cr3, b->sregs.cr3 },
		{ "CR2", a->sregs.cr2, b->sregs.cr2 },
	};
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]) && n + 8 < cap; i++)
		if (r[i].u != r[i].v)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", r[i].n);
	if (!n)
		snprintf(buf, cap, "none");
}

void snaps__draw(struct tui *t, const struct rect *r, bool focus)
{
	struct tui_model *m = t->m;
	char right[160];
	int rn = snprintf(right, sizeof(right), "%zu in the trace", m->n_snaps);
	if (t->w) {
		struct session_snap_stats ss;
		worker__snap_stats(t->w, &ss);
		if (ss.stored)
			snprintf(right + rn, sizeof(right) - (size_t)rn, "; replay holds %u (%.1f MiB), %" PRIu64
				 " restores ", ss.stored, (double)ss.bytes / 1048576, ss.restored);
		else
			snprintf(right + rn, sizeof(right) - (size_t)rn, " ");
	} else {
		snprintf(right + rn, sizeof(right) - (size_t)rn, " ");
	}
	ui__pane_title(t, r, focus, "6 Snapshots", right);
	int h = r->h - 1;
	if (h <= 0)
		return;
	if (!m->n_snaps) {
		ui__put(r->y + 1, r->x, r->w, "(no snapshots in this trace: rrvm record --snapshot-every N takes them;",
			ui__attr(t, R_DIM), false);
		if (h > 1)
			ui__put(r->y + 2, r->x, r->w, " without them a seek backwards replays from boot)", ui__attr(t, R_DIM),
				false);
		return;
	}
	/* The snapshot at or before the cursor is the one a seek starts from. */
	size_t at = m->n_snaps;
	for (size_t i = 0; i < m->n_snaps; i++)
		if (m->snaps[i].event_no <= t->cursor)
			at = i;
	if (!t->snap_moved)
		t->snap_sel = at < m->n_snaps ? at : 0;
	if (t->snap_sel >= m->n_snaps)
		t->snap_sel = m->n_snaps - 1;
	int detail = h >= 8 ? 3 : 0;
	int rows = h - 1 - detail;
	ui__printf(r->y + 1, r->x, r->w, ui__attr(t, R_DIM), "  %4s %10s %9s %10s %7s %8s  %s", "#", "event", "+events",
		   "file", "why", "pages", "RIP");
	long top = (long)t->snap_sel - rows / 2;
	if (top > (long)m->n_snaps - rows)
		top = (long)m->n_snaps - rows;
	if (top < 0)
		top = 0;
	bool loaded_one = false;
	for (int k = 0; k < rows && top + k < (long)m->n_snaps; k++) {
		size_t i = (size_t)(top + k);
		struct tui_snap *s = &m->snaps[i];
		/* One file per frame, so a long list does not stall the screen. */
		if (!s->loaded && !loaded_one && s->bytes >= 0) {
			load(t, s);
			loaded_one = true;
		}
		char sz[32], line[700], pg[32] = "...", why[16] = "", sym[400] = "";
		fmt_size(sz, sizeof(sz), s->bytes);
		if (s->loaded && !s->rc) {
			snprintf(pg, sizeof(pg), "%u", s->n_data + s->n_zero);
			snprintf(why, sizeof(why), "%s", snapfile__reason_name(s->reason));
			char sn[200];
			syms__fmt(&t->syms, s->regs.rip, sn, sizeof(sn));
			snprintf(sym, sizeof(sym), "%" PRIx64 "%s%s%s", (uint64_t)s->regs.rip, sn[0] ? " <" : "", sn,
				 sn[0] ? ">" : "");
		} else if (s->loaded) {
			snprintf(pg, sizeof(pg), "-");
			snprintf(sym, sizeof(sym), "unreadable: %s", s->err);
		} else if (s->bytes < 0) {
			snprintf(pg, sizeof(pg), "-");
		}
		uint64_t d = i ? s->event_no - m->snaps[i - 1].event_no : s->event_no;
		snprintf(line, sizeof(line), "%c %4" PRIu64 " %10" PRIu64 " %9" PRIu64 " %10s %7s %8s  %s",
			 i == at ? '>' : ' ', s->id, s->event_no, d, sz, why, pg, sym);
		bool sel = i == t->snap_sel;
		int a = sel ? ui__attr(t, R_SELECT) : s->loaded && s->rc ? ui__attr(t, R_ERROR) :
			ui__attr(t, i == at ? R_SNAP : R_NORMAL);
		ui__put(r->y + 2 + k, r->x, r->w, line, a, sel);
	}
	if (!detail)
		return;
	/* The selection against the snapshot before it. */
	struct tui_snap *s = &m->snaps[t->snap_sel];
	int y = r->y + r->h - 3;
	char buf[700], regs[200];
	if (!s->loaded && s->bytes >= 0)
		load(t, s);
	if (!s->loaded || s->rc) {
		snprintf(buf, sizeof(buf), "#%" PRIu64 ": %s", s->id, s->bytes < 0 ? "file missing" : s->err);
		ui__put(y, r->x, r->w, buf, ui__attr(t, R_ERROR), false);
		return;
	}
	snprintf(buf, sizeof(buf), "#%" PRIu64 " at event %" PRIu64 " (%s): %u pages %s, %u written since, %u zeroed, "
		 "%u unchanged; %.1f KiB of page data", s->id, s->event_no, snapfile__reason_name(s->reason), s->n_pages,
		 s->base_seq ? "listed" : "(full)", s->n_data, s->n_zero, s->n_same, (double)s->page_bytes / 1024);
	ui__put(y++, r->x, r->w, buf, A_BOLD, false);
	if (t->snap_sel == 0) {
		ui__put(y, r->x, r->w, "the first snapshot: nothing before it to compare with", ui__attr(t, R_DIM), false);
		return;
	}
	struct tui_snap *p = &m->snaps[t->snap_sel - 1];
	if (!p->loaded && p->bytes >= 0)
		load(t, p);
	if (!p->loaded || p->rc) {
		ui__printf(y, r->x, r->w, ui__attr(t, R_ERROR), "previous #%" PRIu64 " unreadable", p->id);
		return;
	}
	reg_diff(regs, sizeof(regs), p, s);
	snprintf(buf, sizeof(buf), "vs #%" PRIu64 " (%" PRIu64 " events before): registers changed: %s", p->id,
		 s->event_no - p->event_no, regs);
	ui__put(y++, r->x, r->w, buf, A_NORMAL, false);
	char a[160], b[160];
	syms__fmt(&t->syms, p->regs.rip, a, sizeof(a));
	syms__fmt(&t->syms, s->regs.rip, b, sizeof(b));
	snprintf(buf, sizeof(buf), "RIP %" PRIx64 " <%s> -> %" PRIx64 " <%s>", (uint64_t)p->regs.rip, a,
		 (uint64_t)s->regs.rip, b);
	ui__put(y, r->x, r->w, buf, A_NORMAL, false);
}

bool snaps__key(struct tui *t, int key, int page)
{
	size_t n = t->m->n_snaps;
	if (key == KEY_UP || key == KEY_DOWN || key == KEY_PPAGE || key == KEY_NPAGE)
		t->snap_moved = true;
	switch (key) {
	case KEY_UP: if (t->snap_sel) t->snap_sel--; return true;
	case KEY_DOWN: if (t->snap_sel + 1 < n) t->snap_sel++; return true;
	case KEY_PPAGE: t->snap_sel = t->snap_sel > (size_t)page ? t->snap_sel - (size_t)page : 0; return true;
	case KEY_NPAGE: t->snap_sel = t->snap_sel + (size_t)page < n ? t->snap_sel + (size_t)page : (n ? n - 1 : 0); return true;
	case '\n':
	case KEY_ENTER:
		if (t->snap_sel < n)
			ui__set_cursor(t, t->m->snaps[t->snap_sel].event_no);
		return true;
	}
	return false;
}
