/* pane_snaps.c — the snapshots a trace holds: where, name, size on disk, and what changed since the previous one. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tui/ui.h"

static void fmt_size(char *buf, size_t cap, int64_t b)
{
	if (b < 0)
		snprintf(buf, cap, "%s", "?");
	else if (b < 10 * 1024)
		snprintf(buf, cap, "%" PRId64 " B", b);
	else if (b < 10 * 1024 * 1024)
		snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
	else
		snprintf(buf, cap, "%.1f MiB", (double)b / 1048576);
}

void snaps__draw(struct tui *t, const struct rect *r, bool focus)
{
	const struct tui_model *m = t->m;
	char right[80];
	snprintf(right, sizeof(right), "%zu in the trace ", m->n_snaps);
	ui__pane_title(t, r, focus, "6 Snapshots", right);
	int h = r->h - 1;
	if (h <= 0)
		return;
	if (!m->n_snaps) {
		ui__put(r->y + 1, r->x, r->w, "(no snapshots recorded in this trace; seeks replay from boot)",
			ui__attr(t, R_DIM), false);
		return;
	}
	if (t->snap_sel >= m->n_snaps)
		t->snap_sel = m->n_snaps - 1;
	ui__printf(r->y + 1, r->x, r->w, ui__attr(t, R_DIM), "  %4s %10s %10s %10s  %s", "id", "event", "+events",
		   "size", "name");
	/* The snapshot at or before the cursor is the one a seek would start from. */
	size_t at = m->n_snaps;
	for (size_t i = 0; i < m->n_snaps; i++)
		if (m->snaps[i].event_no <= t->cursor)
			at = i;
	long top = (long)t->snap_sel - (h - 1) / 2;
	if (top > (long)m->n_snaps - (h - 1))
		top = (long)m->n_snaps - (h - 1);
	if (top < 0)
		top = 0;
	for (int k = 0; k < h - 1 && top + k < (long)m->n_snaps; k++) {
		size_t i = (size_t)(top + k);
		const struct tui_snap *s = &m->snaps[i];
		char sz[32], line[256];
		fmt_size(sz, sizeof(sz), s->bytes);
		uint64_t d = i ? s->event_no - m->snaps[i - 1].event_no : s->event_no;
		snprintf(line, sizeof(line), "%c %4" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10s  %s", i == at ? '>' : ' ',
			 s->id, s->event_no, d, sz, s->name);
		ui__put(r->y + 2 + k, r->x, r->w, line,
			i == t->snap_sel && focus ? ui__attr(t, R_SELECT) : ui__attr(t, i == at ? R_SNAP : R_NORMAL),
			i == t->snap_sel && focus);
	}
}

bool snaps__key(struct tui *t, int key, int page)
{
	size_t n = t->m->n_snaps;
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
