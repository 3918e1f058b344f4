/* help.c — the `?` screen: every key the browser knows, one a line. */
#include <curses.h>
#include <string.h>

#include "tui/ui.h"

/* A line without a key is a section heading. */
const struct help_entry help_keys[] = {
	{ NULL, "Cursor (an event number: that many guest-caused exits replayed)" },
	{ "Left  h", "previous event" },
	{ "Right l", "next event" },
	{ ",  .", "back / forward 1% of the recording" },
	{ "<  >", "back / forward 10%" },
	{ "[  ]", "previous / next snapshot" },
	{ "{  }", "previous / next console line" },
	{ "i  I", "next / previous interrupt (irq or landmark)" },
	{ "Home End", "first / last event" },
	{ "c", "the crash (or wherever the recording stopped)" },
	{ "g", "go to an event: N, +N, -N or N%" },
	{ "%", "go to a percentage of the recording" },
	{ NULL, "Panes" },
	{ "Tab S-Tab", "focus the next / previous pane" },
	{ "1 .. 6", "show in the focused pane: 1 console, 2 registers," },
	{ "", "3 events, 4 memory, 5 disassembly, 6 snapshots" },
	{ "z", "zoom the focused pane (again: back)" },
	{ "+  -", "make the focused pane larger / smaller" },
	{ "Up Down", "scroll the focused pane (or move its selection)" },
	{ "PgUp PgDn", "scroll a page" },
	{ "Enter", "events, snapshots: put the cursor on the selection" },
	{ "/", "search the console: latest match before the cursor," },
	{ "", "else the first after it (the cursor moves there)" },
	{ "n  N", "next / previous console match" },
	{ "a", "console: <symbol> after addresses (on/off)" },
	{ "f", "event filter: kinds (exit,irq,...) port=N vector=N" },
	{ "m", "memory at: 0x1000, rsp, rip+0x20, a symbol, p:ADDR" },
	{ "p", "memory: guest-virtual / physical" },
	{ NULL, "Actions" },
	{ "s", "take a snapshot here (written into TRACE_DIR/snapshots/)" },
	{ "e", "export the console up to the cursor to a file" },
	{ "G", "open gdb here (back when gdb exits)" },
	{ "Esc", "cancel a seek, a prompt or this help" },
	{ "r", "replay to the cursor again (after Esc)" },
	{ "Ctrl-L", "redraw the screen" },
	{ "? F1", "this help" },
	{ "q F10", "quit" },
	{ NULL, NULL },
};

void help__draw(struct tui *t)
{
	int n = 0;
	while (help_keys[n].desc)
		n++;
	int cols = COLS >= 150 ? 2 : 1;
	int per = (n + cols - 1) / cols;
	int h = LINES - 2;
	if (cols == 2 && per > h)
		cols = 1, per = n;
	if (t->help_scroll > per - h)
		t->help_scroll = per - h;
	if (t->help_scroll < 0)
		t->help_scroll = 0;
	erase();
	ui__put(0, 0, COLS, " rrvm tui keys   (Up/Down scroll, any other key closes)", ui__attr(t, R_TITLE), true);
	int cw = COLS / cols;
	for (int c = 0; c < cols; c++)
		for (int i = 0; i < h && i + t->help_scroll < per; i++) {
			int k = c * per + i + (int)t->help_scroll;
			if (k >= n)
				break;
			const struct help_entry *e = &help_keys[k];
			if (!e->key) {
				ui__put(1 + i, c * cw, cw - 1, e->desc, ui__attr(t, R_GOOD), false);
			} else {
				ui__printf(1 + i, c * cw, cw - 1, A_BOLD, "  %-10s", e->key);
				ui__put(1 + i, c * cw + 13, cw - 14, e->desc, A_NORMAL, false);
			}
		}
	if (per > h)
		ui__printf(LINES - 1, 0, COLS, ui__attr(t, R_DIM), " lines %ld-%ld of %d (Up/Down)", t->help_scroll + 1,
			   t->help_scroll + h < per ? t->help_scroll + h : per, per);
}
