/* pane_console.c — the guest console up to the cursor: wrapped, scrollable, searchable, exportable. */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tui/ui.h"

#define LINE_SHOW_MAX 4096   /* longer lines show their first bytes only */

/* One display cell and the console byte it came from. */
struct cell {
	char ch;
	size_t src;
};

#define NO_SRC ((size_t)-1)   /* a cell the browser added (a symbol), not a console byte */

/* If con[k..] is "0x" and 6 to 16 hex digits naming an address inside a
 * symbol, writes " <sym+off>" into buf and returns the token's length. */
static size_t addr_token(const struct tui_syms *sy, const uint8_t *c, size_t k, size_t b, char *buf, size_t cap)
{
	if (!sy->n || k + 2 >= b || c[k] != '0' || (c[k + 1] != 'x' && c[k + 1] != 'X') ||
	    (k && isalnum(c[k - 1])))
		return 0;
	size_t j = k + 2;
	uint64_t v = 0;
	while (j < b && isxdigit(c[j]) && j - k - 2 < 16) {
		v = v << 4 | (uint64_t)(isdigit(c[j]) ? c[j] - '0' : (tolower(c[j]) - 'a' + 10));
		j++;
	}
	if (j - k - 2 < 6 || (j < b && isalnum(c[j])))
		return 0;
	char sym[160];
	if (!*syms__fmt(sy, v, sym, sizeof(sym)))
		return 0;
	snprintf(buf, cap, " <%s>", sym);
	return j - k;
}

/* Expands console line i (bytes before `end` only) into cells; returns how
 * many. Addresses with a symbol get it added after them. */
static size_t line_cells(const struct tui_model *m, const struct tui_syms *sy, size_t i, size_t end,
			 struct cell *out, size_t cap)
{
	size_t a = m->lines[i].off;
	size_t b = i + 1 < m->n_lines ? m->lines[i + 1].off : m->con_len;
	if (b > end)
		b = end;
	while (b > a && (m->con[b - 1] == '\n' || m->con[b - 1] == '\r'))
		b--;
	size_t n = 0;
	for (size_t k = a; k < b && n < cap; k++) {
		uint8_t c = m->con[k];
		if (c == '\t') {
			do
				out[n++] = (struct cell){ ' ', k };
			while (n % 8 && n < cap);
		} else if (c == '\r') {
			continue;
		} else {
			char ann[200];
			size_t tl = sy ? addr_token(sy, m->con, k, b, ann, sizeof(ann)) : 0;
			for (size_t q = 0; q < (tl ? tl : 1) && n < cap; q++, k += tl ? 1 : 0)
				out[n++] = (struct cell){ (char)(m->con[k] >= 0x20 && m->con[k] < 0x7f ? m->con[k] : '.'), k };
			if (tl) {
				k--;
				for (const char *a = ann; *a && n < cap; a++)
					out[n++] = (struct cell){ *a, NO_SRC };
			}
		}
	}
	return n;
}

static size_t rows_of(size_t ncells, int w)
{
	return ncells ? (ncells + (size_t)w - 1) / (size_t)w : 1;
}

void console__draw(struct tui *t, const struct rect *r, bool focus)
{
	const struct tui_model *m = t->m;
	struct cell cells[LINE_SHOW_MAX];
	size_t end = model__con_end(m, t->cursor);
	size_t nlines = end ? model__line_of(m, end - 1) : 0;
	char right[400];
	int h = r->h - 1, w = r->w;
	if (t->con_scroll > (long)nlines - 1)
		t->con_scroll = nlines ? (long)nlines - 1 : 0;
	if (t->con_scroll < 0)
		t->con_scroll = 0;
	if (t->con_center && t->has_match && t->match_off < end) {
		size_t ml = model__line_of(m, t->match_off) - 1;
		long s = (long)(nlines - 1 - ml) - h / 2;
		t->con_scroll = s < 0 ? 0 : s;
	}
	t->con_center = false;
	snprintf(right, sizeof(right), "%s%s%s%zu lines, %zu bytes%s ", t->search[0] ? "/" : "", t->search,
		 t->search[0] ? "  " : "", nlines, end, t->con_scroll ? "  [scrolled]" : "");
	ui__pane_title(t, r, focus, "1 Console (up to the cursor)", right);
	if (h <= 0)
		return;
	if (!end) {
		ui__put(r->y + 1, r->x, w, m->n_con_recs ? "(no console output yet at this event)" : "(this trace has no console output)",
			ui__attr(t, R_DIM), false);
		return;
	}
	/* Walk back from the bottom line until the pane is full. */
	long last = (long)nlines - 1 - t->con_scroll;
	long first = last;
	int used = 0;
	size_t skip_rows = 0;   /* rows of the first line that scroll off the top */
	for (long i = last; i >= 0; i--) {
		size_t rr = rows_of(line_cells(m, t->annotate ? &t->syms : NULL, (size_t)i, end, cells, LINE_SHOW_MAX), w);
		first = i;
		if (used + (long)rr >= h) {
			skip_rows = (size_t)(used + (long)rr - h);
			used = h;
			break;
		}
		used += (int)rr;
	}
	int y = r->y + 1;
	int ma = ui__attr(t, R_MATCH), sa = ui__attr(t, R_SYMBOL);
	for (long i = first; i <= last && y < r->y + r->h; i++) {
		size_t n = line_cells(m, t->annotate ? &t->syms : NULL, (size_t)i, end, cells, LINE_SHOW_MAX);
		size_t rr = rows_of(n, w);
		for (size_t row = i == first ? skip_rows : 0; row < rr && y < r->y + r->h; row++, y++) {
			move(y, r->x);
			for (int x = 0; x < w; x++) {
				size_t k = row * (size_t)w + (size_t)x;
				if (k >= n)
					break;
				bool hit = t->has_match && cells[k].src != NO_SRC && cells[k].src >= t->match_off &&
					   cells[k].src < t->match_off + t->match_len;
				int a = hit ? ma : cells[k].src == NO_SRC ? sa : 0;
				addch((chtype)(unsigned char)cells[k].ch | (chtype)a);
			}
		}
	}
}

bool console__key(struct tui *t, int key, int page)
{
	switch (key) {
	case KEY_UP: t->con_scroll++; return true;
	case KEY_DOWN: t->con_scroll--; return true;
	case KEY_PPAGE: t->con_scroll += page; return true;
	case KEY_NPAGE: t->con_scroll -= page; return true;
	}
	return false;
}

static bool smartcase_eq(const uint8_t *hay, const char *pat, size_t n, bool fold)
{
	for (size_t i = 0; i < n; i++) {
		int a = hay[i], b = (unsigned char)pat[i];
		if (fold) {
			a = tolower(a);
			b = tolower(b);
		}
		if (a != b)
			return false;
	}
	return true;
}

/* Offset of the next (dir > 0: first at >= from; dir < 0: last at <= from) match, or -1. */
static long find(const struct tui_model *m, const char *pat, long from, int dir)
{
	size_t n = strlen(pat);
	bool fold = true;
	for (const char *p = pat; *p; p++)
		if (isupper((unsigned char)*p))
			fold = false;
	if (!n || n > m->con_len)
		return -1;
	long lastpos = (long)(m->con_len - n);
	if (dir > 0) {
		for (long k = from < 0 ? 0 : from; k <= lastpos; k++)
			if (smartcase_eq(m->con + k, pat, n, fold))
				return k;
	} else {
		for (long k = from > lastpos ? lastpos : from; k >= 0; k--)
			if (smartcase_eq(m->con + k, pat, n, fold))
				return k;
	}
	return -1;
}

void console__search(struct tui *t, int dir)
{
	const struct tui_model *m = t->m;
	if (!t->search[0]) {
		ui__status(t, true, "no search yet: / starts one");
		return;
	}
	size_t end = model__con_end(m, t->cursor);
	long k;
	if (dir == 0) {
		/* A new search: the latest match printed by the cursor, else the first after it. */
		size_t n = strlen(t->search);
		k = end >= n ? find(m, t->search, (long)(end - n), -1) : -1;
		if (k < 0)
			k = find(m, t->search, 0, +1);
	} else if (!t->has_match) {
		k = find(m, t->search, dir > 0 ? (long)end : (long)end - 1, dir);
	} else {
		k = find(m, t->search, (long)t->match_off + dir, dir);
	}
	if (k < 0) {
		ui__status(t, true, "\"%s\": %s", t->search,
			   dir == 0 ? "not found in the console" : dir > 0 ? "no later match" : "no earlier match");
		return;
	}
	t->has_match = true;
	t->match_off = (size_t)k;
	t->match_len = strlen(t->search);
	/* The event that printed the match's last byte. */
	size_t lastb = t->match_off + t->match_len - 1;
	size_t lo = 0, hi = m->n_con_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->con_recs[mid].end <= lastb)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t ev = lo < m->n_con_recs ? m->con_recs[lo].ev : t->cursor;
	size_t line = model__line_of(m, t->match_off);
	if (lastb >= end) {
		ui__set_cursor(t, ev);
		ui__status(t, false, "\"%s\": line %zu, printed at event %" PRIu64 " (cursor moved there)", t->search,
			   line, ev);
	} else {
		ui__status(t, false, "\"%s\": line %zu, printed at event %" PRIu64, t->search, line, ev);
	}
	t->con_center = true;
}

int console__export(struct tui *t, const char *path)
{
	size_t end = model__con_end(t->m, t->cursor);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		ui__status(t, true, "export: %s: %s", path, strerror(e));
		return -e;
	}
	size_t done = 0;
	while (done < end) {
		ssize_t n = write(fd, t->m->con + done, end - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			ui__status(t, true, "export: %s: %s", path, strerror(e));
			return -e;
		}
		done += (size_t)n;
	}
	if (close(fd)) {
		int e = errno;
		ui__status(t, true, "export: %s: %s", path, strerror(e));
		return -e;
	}
	ui__status(t, false, "exported %zu console bytes (up to event %" PRIu64 ") to %s", end, t->cursor, path);
	return 0;
}
