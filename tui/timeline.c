/* timeline.c — the header and the whole-recording timeline: snapshots, crash, interrupt and console density, cursor. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "replay/trace_show.h"
#include "tui/ui.h"

#define LABEL 5   /* "irq  " */

static const char density[] = " .:-=+*#%@";

int timeline__col(const struct tui_model *m, uint64_t ev, int w)
{
	if (w <= 0 || !m->n_events || ev == 0)
		return 0;
	uint64_t c = (ev - 1) * (uint64_t)w / m->n_events;
	return c >= (uint64_t)w ? w - 1 : (int)c;
}

/* Events covered by column c: [lo, hi). Column 0 also holds event 0. */
static void col_range(const struct tui_model *m, int c, int w, uint64_t *lo, uint64_t *hi)
{
	uint64_t n = m->n_events;
	/* Smallest event e >= 1 with (e-1)*w/n >= c is e = ceil(c*n/w) + 1. */
	*lo = c == 0 ? 0 : ((uint64_t)c * n + (uint64_t)w - 1) / (uint64_t)w + 1;
	*hi = ((uint64_t)(c + 1) * n + (uint64_t)w - 1) / (uint64_t)w + 1;
	if (c == w - 1)
		*hi = n + 1;
}

static int level(uint64_t v, uint64_t max)
{
	if (!v)
		return 0;
	int l = (int)((v * 9 + max - 1) / max);
	return l < 1 ? 1 : l > 9 ? 9 : l;
}

static const char *stop_word(const struct tui_model *m, char *buf, size_t cap)
{
	if (!m->has_stop) {
		snprintf(buf, cap, "%s", m->damaged ? "DAMAGED" : "no stop record");
		return buf;
	}
	const char *s = trace_show__stop_name(m->stop_reason);
	snprintf(buf, cap, "%s, status %" PRId64, s ? s : "stop", m->stop_status);
	return buf;
}

void timeline__draw(struct tui *t, const struct rect *r)
{
	const struct tui_model *m = t->m;
	int w = r->w - LABEL;
	char buf[512], sw[64];
	double pct = m->n_events ? 100.0 * (double)t->cursor / (double)m->n_events : 100.0;
	int64_t tns = model__event_time(t->m, t->cursor);
	char tbuf[40] = "";
	if (tns >= 0)
		snprintf(tbuf, sizeof(tbuf), "  t=%.6fs", (double)tns / 1e9);
	stop_word(m, sw, sizeof(sw));
	char rb[80];
	snprintf(rb, sizeof(rb), "[%s] ", sw);
	int rl = (int)strlen(rb);
	if (rl > r->w / 2)
		rl = 0;
	/* The directory gives way first when the line is short. */
	char pos[200];
	snprintf(pos, sizeof(pos), "event %" PRIu64 "/%" PRIu64 " (%.1f%%)%s", t->cursor, m->n_events, pct, tbuf);
	int room = r->w - rl - (int)strlen(pos) - 14;
	if (room >= 8)
		snprintf(buf, sizeof(buf), " rrvm tui  %.*s  %s", room < 200 ? room : 200, m->dir, pos);
	else
		snprintf(buf, sizeof(buf), " %s", pos);
	int ta = ui__attr(t, R_TITLE);
	ui__put(r->y, r->x, r->w, buf, ta, true);
	if (rl)
		ui__put(r->y, r->x + r->w - rl, rl, rb,
			m->damaged || (m->has_stop && m->stop_reason != 1) ? ui__attr(t, R_CRASH) : ta, false);
	if (w < 4)
		return;

	int cc = timeline__col(m, t->cursor, w);
	uint64_t max_irq = 1, max_con = 1;
	for (int c = 0; c < w; c++) {
		uint64_t lo, hi;
		col_range(m, c, w, &lo, &hi);
		uint64_t ni = model__count_in(m->irq_ev, m->n_irq, lo, hi);
		uint64_t nc = model__con_end(m, hi - 1) - (lo ? model__con_end(m, lo - 1) : 0);
		max_irq = ni > max_irq ? ni : max_irq;
		max_con = nc > max_con ? nc : max_con;
	}
	ui__put(r->y + 1, r->x, LABEL, "mark", ui__attr(t, R_DIM), true);
	ui__put(r->y + 2, r->x, LABEL, "irq", ui__attr(t, R_DIM), true);
	ui__put(r->y + 3, r->x, LABEL, "cons", ui__attr(t, R_DIM), true);
	ui__put(r->y + 4, r->x, LABEL, "evt", ui__attr(t, R_DIM), true);
	size_t si = 0;
	for (int c = 0; c < w; c++) {
		uint64_t lo, hi;
		col_range(m, c, w, &lo, &hi);
		int x = r->x + LABEL + c;
		char mk = '-';
		int ma = ui__attr(t, R_DIM);
		while (si < m->n_snaps && m->snaps[si].event_no < lo)
			si++;
		if (si < m->n_snaps && m->snaps[si].event_no < hi) {
			mk = 'S';
			ma = ui__attr(t, R_SNAP);
		}
		if (m->has_stop && m->stop_event >= lo && m->stop_event < hi) {
			mk = m->stop_reason == 1 ? 'E' : 'X';   /* poweroff: End; anything else: crash/stop */
			ma = ui__attr(t, m->stop_reason == 1 ? R_GOOD : R_CRASH);
		} else if (m->damaged && c == w - 1) {
			mk = '?';
			ma = ui__attr(t, R_CRASH);
		}
		uint64_t ni = model__count_in(m->irq_ev, m->n_irq, lo, hi);
		uint64_t nc = model__con_end(m, hi - 1) - (lo ? model__con_end(m, lo - 1) : 0);
		bool cur = c == cc;
		int ca = ui__attr(t, R_CURSOR);
		mvaddch(r->y + 1, x, (chtype)mk | (chtype)(cur ? ca : ma));
		mvaddch(r->y + 2, x, (chtype)density[level(ni, max_irq)] | (chtype)(cur ? ca : ui__attr(t, R_DENSITY)));
		mvaddch(r->y + 3, x, (chtype)density[level(nc, max_con)] |
				     (chtype)(cur ? ca : ui__attr(t, R_CONSOLE_MARK)));
	}
	/* Axis: 0 on the left, the last event on the right, the cursor as '^'. */
	ui__put(r->y + 4, r->x + LABEL, w, "", A_NORMAL, true);
	snprintf(buf, sizeof(buf), "%" PRIu64, m->n_events);
	int l = (int)strlen(buf);
	ui__put(r->y + 4, r->x + LABEL, w, "0", ui__attr(t, R_DIM), false);
	if (l + 2 < w)
		ui__put(r->y + 4, r->x + LABEL + w - l, l, buf, ui__attr(t, R_DIM), false);
	snprintf(buf, sizeof(buf), "^%" PRIu64, t->cursor);
	l = (int)strlen(buf);
	int x = cc;
	if (x + l > w) {
		/* Label to the left of the caret near the right edge. */
		snprintf(buf, sizeof(buf), "%" PRIu64 "^", t->cursor);
		x = cc - l + 1;
		if (x < 0)
			x = 0;
	}
	ui__put(r->y + 4, r->x + LABEL + x, l, buf, ui__attr(t, R_CURSOR), false);
}
