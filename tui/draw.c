/* draw.c — the browser's drawing helpers: colors (or plain attributes), clipped text, status and pane titles. */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/ui.h"

static const struct {
	short fg, bg;
	int plain;       /* attribute on terminals without colors */
	int extra;       /* added to the color pair */
} roles[R__COUNT] = {
	[R_NORMAL] = { -1, -1, A_NORMAL, 0 },
	[R_TITLE] = { COLOR_BLACK, COLOR_WHITE, A_REVERSE, 0 },
	[R_TITLE_FOCUS] = { COLOR_BLACK, COLOR_CYAN, A_REVERSE | A_BOLD, A_BOLD },
	[R_SNAP] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[R_CRASH] = { COLOR_RED, -1, A_BOLD | A_REVERSE, A_BOLD },
	[R_CURSOR] = { COLOR_BLACK, COLOR_YELLOW, A_REVERSE, 0 },
	[R_DENSITY] = { COLOR_BLUE, -1, A_NORMAL, A_BOLD },
	[R_CONSOLE_MARK] = { COLOR_MAGENTA, -1, A_NORMAL, 0 },
	[R_CHANGED] = { COLOR_YELLOW, -1, A_BOLD | A_UNDERLINE, A_BOLD },
	[R_ERROR] = { COLOR_WHITE, COLOR_RED, A_BOLD | A_REVERSE, A_BOLD },
	[R_MATCH] = { COLOR_BLACK, COLOR_YELLOW, A_REVERSE, 0 },
	[R_DIM] = { COLOR_WHITE, -1, A_DIM, A_DIM },
	[R_SYMBOL] = { COLOR_CYAN, -1, A_NORMAL, 0 },
	[R_SELECT] = { COLOR_BLACK, COLOR_CYAN, A_REVERSE, 0 },
	[R_GOOD] = { COLOR_GREEN, -1, A_BOLD, 0 },
};

void ui__init_colors(struct tui *t)
{
	if (t->colors && has_colors() && start_color() == OK) {
		use_default_colors();
		for (int i = 1; i < R__COUNT && i < COLOR_PAIRS; i++)
			init_pair((short)i, roles[i].fg, roles[i].bg);
		t->colors = true;
	} else {
		t->colors = false;
	}
}

int ui__attr(const struct tui *t, enum ui_role r)
{
	if (r == R_NORMAL)
		return A_NORMAL;
	if (!t->colors)
		return roles[r].plain;
	return (int)COLOR_PAIR(r) | roles[r].extra;
}

void ui__put(int y, int x, int w, const char *s, int a, bool pad)
{
	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + w > COLS)
		w = COLS - x;
	int n = 0;
	attrset(a);
	move(y, x);
	for (; n < w && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		addch(c >= 0x20 && c < 0x7f ? c : '.');
	}
	if (pad)
		for (; n < w; n++)
			addch(' ');
	attrset(A_NORMAL);
}

void ui__printf(int y, int x, int w, int a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ui__put(y, x, w, buf, a, false);
}

void ui__status(struct tui *t, bool err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_err = err;
}

void ui__pane_title(const struct tui *t, const struct rect *r, bool focus, const char *title, const char *right)
{
	int a = ui__attr(t, focus ? R_TITLE_FOCUS : R_TITLE);
	ui__put(r->y, r->x, r->w, "", a, true);
	ui__printf(r->y, r->x, r->w, a, "%s%s", focus ? ">" : " ", title);
	if (right && *right) {
		int l = (int)strlen(right);
		int tl = (int)strlen(title) + 3;
		if (l > r->w - tl)
			l = r->w - tl;
		if (l > 0)
			ui__put(r->y, r->x + r->w - l - 1, l, right + strlen(right) - l, a, false);
	}
}
