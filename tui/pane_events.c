/* pane_events.c — the records around the cursor, one a line, filtered by kind, port and vector. */
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/trace_show.h"
#include "tui/ui.h"

#define ROWS_MAX 512

static bool match(const struct ev_filter *f, const struct tui_rec *r)
{
	if (!f->on)
		return true;
	if (f->kinds && !(f->kinds & (1u << r->type)))
		return false;
	if (f->has_port && (r->type != TR_EXIT || r->a != f->port))
		return false;
	if (f->has_vec && ((r->type != TR_IRQ && r->type != TR_LANDMARK) || r->a != f->vec))
		return false;
	return true;
}

/* Next matching record index from i in direction dir (i itself included), or -1. */
static long step(const struct tui *t, long i, int dir)
{
	const struct tui_model *m = t->m;
	for (; i >= 0 && i < (long)m->n_recs; i += dir)
		if (match(&t->filter, &m->recs[i]))
			return i;
	return -1;
}

/* The selected record: the first match at or after the cursor's records (else the last before),
 * moved by ev_sel matches (clamped, ev_sel adjusted). -1 when nothing matches. */
static long selected(struct tui *t)
{
	long a = step(t, (long)model__rec_at(t->m, t->cursor), +1);
	if (a < 0)
		a = step(t, (long)t->m->n_recs - 1, -1);
	if (a < 0)
		return -1;
	long moved = 0;
	int dir = t->ev_sel > 0 ? 1 : -1;
	while (moved != t->ev_sel) {
		long n = step(t, a + dir, dir);
		if (n < 0)
			break;
		a = n;
		moved += dir;
	}
	t->ev_sel = moved;
	return a;
}

void events__draw(struct tui *t, const struct rect *r, bool focus)
{
	struct tui_model *m = t->m;
	char title[200], right[200];
	snprintf(title, sizeof(title), "3 Events%s%s", t->filter.on ? "  filter: " : "",
		 t->filter.on ? t->filter.text : "");
	long sel = selected(t);
	int h = r->h - 1;
	snprintf(right, sizeof(right), "%zu records ", m->n_recs);
	ui__pane_title(t, r, focus, title, right);
	if (h <= 0)
		return;
	if (sel < 0) {
		ui__put(r->y + 1, r->x, r->w, t->filter.on ? "(no record matches the filter; f changes it)" : "(no records)",
			ui__attr(t, R_DIM), false);
		return;
	}
	/* Rows: up to a third of the pane before the selection. */
	long rows[ROWS_MAX];
	int before = h / 3, n = 0;
	long i = sel;
	for (int k = 0; k < before; k++) {
		long p = step(t, i - 1, -1);
		if (p < 0)
			break;
		i = p;
	}
	for (; i >= 0 && n < h && n < ROWS_MAX; i = step(t, i + 1, +1))
		rows[n++] = i;
	for (int k = 0; k < n; k++) {
		struct trace_event ev;
		struct rrvm_err err = { "" };
		char fields[600], line[800];
		int y = r->y + 1 + k;
		const struct tui_rec *tr = &m->recs[rows[k]];
		int a = rows[k] == sel ? ui__attr(t, R_SELECT) : tr->event_no == t->cursor ? (int)A_BOLD : 0;
		if (model__read_rec(m, (size_t)rows[k], &ev, &err)) {
			snprintf(line, sizeof(line), "%10" PRIu64 "  (unreadable: %s)", tr->event_no, err.msg);
			ui__put(y, r->x, r->w, line, ui__attr(t, R_ERROR), true);
			continue;
		}
		trace_show__fields(fields, sizeof(fields), &ev);
		snprintf(line, sizeof(line), "%c%9" PRIu64 " %11.6f %-8s %s", tr->event_no == t->cursor ? '>' : ' ',
			 ev.event_no, (double)ev.time_ns / 1e9, trace_show__kind_name(ev.type), fields);
		ui__put(y, r->x, r->w, line, a, rows[k] == sel);
		if (ev.type == TR_STOP || ev.type == TR_LANDMARK || ev.type == TR_IRQ || ev.type == TR_SNAPSHOT) {
			int ka = ev.type == TR_STOP ? R_CRASH : ev.type == TR_SNAPSHOT ? R_SNAP : R_DENSITY;
			if (rows[k] != sel)
				ui__put(y, r->x + 23, 8, trace_show__kind_name(ev.type), ui__attr(t, ka), false);
		}
	}
}

bool events__key(struct tui *t, int key, int page)
{
	switch (key) {
	case KEY_UP: t->ev_sel--; return true;
	case KEY_DOWN: t->ev_sel++; return true;
	case KEY_PPAGE: t->ev_sel -= page; return true;
	case KEY_NPAGE: t->ev_sel += page; return true;
	case '\n':
	case KEY_ENTER: {
		long sel = selected(t);
		if (sel >= 0) {
			t->ev_sel = 0;
			ui__set_cursor(t, t->m->recs[sel].event_no);
		}
		return true;
	}
	}
	return false;
}

static bool parse_num(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-')
		return false;
	*v = x;
	return true;
}

int events__set_filter(struct tui *t, const char *text)
{
	struct ev_filter f = { 0 };
	char buf[256], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		uint64_t v;
		if (!strncmp(tok, "port=", 5)) {
			if (!parse_num(tok + 5, &v)) {
				ui__status(t, true, "filter: port=%s is not a number", tok + 5);
				return -EINVAL;
			}
			f.has_port = true;
			f.port = v;
		} else if (!strncmp(tok, "vector=", 7) || !strncmp(tok, "vec=", 4)) {
			const char *n = strchr(tok, '=') + 1;
			if (!parse_num(n, &v) || v > 255) {
				ui__status(t, true, "filter: vector=%s is not a vector (0..255)", n);
				return -EINVAL;
			}
			f.has_vec = true;
			f.vec = (uint32_t)v;
		} else {
			uint32_t mask;
			char bad[64];
			if (trace_show__parse_kinds(tok, &mask, bad, sizeof(bad))) {
				ui__status(t, true, "filter: unknown kind '%s' (exit, in_value, irq, landmark, deferral, "
						    "console, input, dma, rdtsc, snapshot, stop; port=N, vector=N)", bad);
				return -EINVAL;
			}
			f.kinds |= mask;
		}
	}
	f.on = f.kinds || f.has_port || f.has_vec;
	snprintf(f.text, sizeof(f.text), "%s", text);
	t->filter = f;
	t->ev_sel = 0;
	if (f.on)
		ui__status(t, false, "event filter: %s", text);
	else
		ui__status(t, false, "event filter cleared");
	return 0;
}
