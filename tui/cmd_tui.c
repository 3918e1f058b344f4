/* cmd_tui.c — `rrvm tui TRACE_DIR`: the browser's command line, screen layout, key dispatch and main loop. */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vm.h"
#include "replay/trace_show.h"
#include "tui/ui.h"

#define KEY_ESC 27
#define CTRL(c) ((c) & 0x1f)

static const char tui_help[] =
	"usage: rrvm tui [options] TRACE_DIR\n"
	"\n"
	"Browses a recording in the terminal: a timeline of the whole run (snapshots, interrupt\n"
	"and console activity, the crash), the console up to any point, the event records around\n"
	"it, and, by replaying to the cursor, the registers, memory and disassembly there.\n"
	"Press ? inside for the keys.\n"
	"\n"
	"options:\n"
	"  --symbols FILE   symbols from an ELF (vmlinux) or a System.map; default: the trace's\n"
	"                   kernel when it is an ELF, else TRACE_DIR/System.map or TRACE_DIR/vmlinux\n"
	"  --at EVENT       start with the cursor at EVENT (N or N%; default: the end)\n"
	"  --disk IMAGE     the disk image of a recording made with --disk (as rrvm replay --disk)\n"
	"  --no-replay      browse the trace only (no registers, memory or disassembly)\n"
	"  --no-color       plain attributes even where the terminal has colors (also NO_COLOR=1)\n"
	"  -h, --help       this help\n"
	"\n"
	"exit status: 0 after q; 1 when the trace cannot be read or is damaged (truncated,\n"
	"corrupt: the error is shown first); 2 usage error.\n";

/* ---- layout ---- */

struct layout {
	struct rect timeline, status, slot[4];
	int n;
};

static void compute_layout(struct tui *t, struct layout *l)
{
	int rows = LINES, cols = COLS;
	int top = TIMELINE_ROWS, ah = rows - TIMELINE_ROWS - 1;
	l->timeline = (struct rect){ 0, 0, TIMELINE_ROWS, cols };
	l->status = (struct rect){ rows - 1, 0, 1, cols };
	if (t->zoom) {
		l->n = 1;
		l->slot[0] = (struct rect){ top, 0, ah, cols };
		return;
	}
	int lw = cols * t->split_x / 100, th = ah * t->split_y / 100;
	if (cols >= 160 && ah >= 34) {
		l->n = 4;
		l->slot[0] = (struct rect){ top, 0, th, lw };
		l->slot[1] = (struct rect){ top, lw + 1, th, cols - lw - 1 };
		l->slot[2] = (struct rect){ top + th, 0, ah - th, lw };
		l->slot[3] = (struct rect){ top + th, lw + 1, ah - th, cols - lw - 1 };
	} else if (cols >= 120) {
		l->n = 2;
		l->slot[0] = (struct rect){ top, 0, ah, lw };
		l->slot[1] = (struct rect){ top, lw + 1, ah, cols - lw - 1 };
	} else {
		l->n = 2;
		l->slot[0] = (struct rect){ top, 0, th, cols };
		l->slot[1] = (struct rect){ top + th, 0, ah - th, cols };
	}
}

/* The slot index shown at layout position i (zoom shows only the focused one). */
static int slot_at(const struct tui *t, int i)
{
	return t->zoom ? t->focus : i;
}

static bool pane_visible(const struct tui *t, const struct layout *l, enum pane_kind k)
{
	for (int i = 0; i < l->n; i++)
		if (t->slot[slot_at(t, i)] == k)
			return true;
	return false;
}

static void draw_pane(struct tui *t, enum pane_kind k, const struct rect *r, bool focus)
{
	switch (k) {
	case PANE_CONSOLE: console__draw(t, r, focus); break;
	case PANE_REGS: regs__draw(t, r, focus); break;
	case PANE_EVENTS: events__draw(t, r, focus); break;
	case PANE_MEMORY: memory__draw(t, r, focus); break;
	case PANE_DISASM: disasm__draw(t, r, focus); break;
	case PANE_SNAPS: snaps__draw(t, r, focus); break;
	default: break;
	}
}

static const char *prompt_label(enum prompt_kind p)
{
	switch (p) {
	case P_GOTO: return "go to event (N, +N, -N, N%): ";
	case P_SEARCH: return "/";
	case P_FILTER: return "event filter (kinds port=N vector=N, empty clears): ";
	case P_PERCENT: return "go to percent: ";
	case P_MEMADDR: return "memory at (0x.., rsp, rip+0x10, symbol, p:ADDR): ";
	case P_EXPORT: return "export console to file: ";
	case P_SNAPNAME: return "snapshot name: ";
	default: return "";
	}
}

static void draw_status(struct tui *t, const struct rect *r)
{
	if (t->prompt != P_NONE) {
		char buf[400];
		snprintf(buf, sizeof(buf), "%s%s", prompt_label(t->prompt), t->pbuf);
		ui__put(r->y, r->x, r->w, buf, A_BOLD, true);
		int x = (int)strlen(buf);
		if (x < r->w)
			mvaddch(r->y, x, ' ' | (chtype)ui__attr(t, R_CURSOR));
		return;
	}
	char prog[200];
	if (tui__progress(t, prog, sizeof(prog))) {
		ui__put(r->y, r->x, r->w, prog, ui__attr(t, R_MATCH), true);
		return;
	}
	if (t->status[0]) {
		ui__put(r->y, r->x, r->w, t->status, t->status_err ? ui__attr(t, R_ERROR) : 0, true);
		return;
	}
	ui__put(r->y, r->x, r->w,
		" ? help  q quit  <-/-> event  [ ] snapshot  { } line  c crash  g goto  / search  Tab pane  1-6 show",
		ui__attr(t, R_DIM), true);
}

static void draw(struct tui *t)
{
	if (t->help) {
		help__draw(t);
		refresh();
		return;
	}
	erase();
	if (LINES < 12 || COLS < 40) {
		ui__printf(0, 0, COLS, ui__attr(t, R_ERROR), "terminal too small (%dx%d): need 40x12", COLS, LINES);
		refresh();
		return;
	}
	struct layout l;
	compute_layout(t, &l);
	if (t->focus >= l.n && !t->zoom)
		t->focus = 0;
	timeline__draw(t, &l.timeline);
	for (int i = 0; i < l.n; i++) {
		int s = slot_at(t, i);
		draw_pane(t, t->slot[s], &l.slot[i], s == t->focus);
		/* A vertical rule left of a slot that does not start at column 0. */
		if (l.slot[i].x > 0)
			for (int y = l.slot[i].y; y < l.slot[i].y + l.slot[i].h; y++)
				mvaddch(y, l.slot[i].x - 1, '|' | (chtype)ui__attr(t, R_DIM));
	}
	draw_status(t, &l.status);
	refresh();
}

/* ---- cursor ---- */

void ui__set_cursor(struct tui *t, uint64_t ev)
{
	if (ev > t->m->n_events)
		ev = t->m->n_events;
	if (ev != t->cursor) {
		t->cursor = ev;
		t->con_scroll = 0;
		t->ev_sel = 0;
		t->mem_scroll = 0;
		t->dis_scroll = 0;
		t->snap_moved = false;
	}
	tui__cursor_moved(t);
}

static void move_pct(struct tui *t, double pct)
{
	double d = (double)t->m->n_events * pct / 100.0;
	int64_t delta = (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
	if (!delta)
		delta = pct < 0 ? -1 : 1;
	if (delta < 0 && (uint64_t)-delta > t->cursor)
		ui__set_cursor(t, 0);
	else
		ui__set_cursor(t, t->cursor + (uint64_t)delta);
}

static void move_snapshot(struct tui *t, int dir)
{
	const struct tui_model *m = t->m;
	if (!m->n_snaps) {
		ui__status(t, true, "this trace has no snapshots");
		return;
	}
	if (dir > 0) {
		for (size_t i = 0; i < m->n_snaps; i++)
			if (m->snaps[i].event_no > t->cursor) {
				ui__set_cursor(t, m->snaps[i].event_no);
				ui__status(t, false, "snapshot %" PRIu64 " \"%s\" at event %" PRIu64, m->snaps[i].id,
					   m->snaps[i].name, m->snaps[i].event_no);
				return;
			}
	} else {
		for (size_t i = m->n_snaps; i-- > 0;)
			if (m->snaps[i].event_no < t->cursor) {
				ui__set_cursor(t, m->snaps[i].event_no);
				ui__status(t, false, "snapshot %" PRIu64 " \"%s\" at event %" PRIu64, m->snaps[i].id,
					   m->snaps[i].name, m->snaps[i].event_no);
				return;
			}
	}
	ui__status(t, true, "no %s snapshot", dir > 0 ? "later" : "earlier");
}

static void move_line(struct tui *t, int dir)
{
	const struct tui_model *m = t->m;
	/* Lines are in event order: binary search the first completed after the cursor. */
	size_t lo = 0, hi = m->n_lines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->lines[mid].ev <= t->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (dir > 0) {
		if (lo < m->n_lines)
			ui__set_cursor(t, m->lines[lo].ev);
		else
			ui__status(t, true, "no console line after event %" PRIu64, t->cursor);
		return;
	}
	/* Previous: the last line completed before the cursor's event. */
	while (lo > 0 && m->lines[lo - 1].ev >= t->cursor)
		lo--;
	if (lo > 0)
		ui__set_cursor(t, m->lines[lo - 1].ev);
	else
		ui__status(t, true, "no console line before event %" PRIu64, t->cursor);
}

static void move_irq(struct tui *t, int dir)
{
	const struct tui_model *m = t->m;
	size_t lo = 0, hi = m->n_irq;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->irq_ev[mid] <= t->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (dir > 0 && lo < m->n_irq) {
		ui__set_cursor(t, m->irq_ev[lo]);
		return;
	}
	while (dir < 0 && lo > 0 && m->irq_ev[lo - 1] >= t->cursor)
		lo--;
	if (dir < 0 && lo > 0) {
		ui__set_cursor(t, m->irq_ev[lo - 1]);
		return;
	}
	ui__status(t, true, "no %s interrupt", dir > 0 ? "later" : "earlier");
}

static void go_crash(struct tui *t)
{
	const struct tui_model *m = t->m;
	if (m->has_stop) {
		const char *s = trace_show__stop_name(m->stop_reason);
		ui__set_cursor(t, m->stop_event);
		ui__status(t, m->stop_reason != 1, "stop at event %" PRIu64 ": %s, status %" PRId64 ": %s", m->stop_event,
			   s ? s : "?", m->stop_status, m->stop_msg);
	} else {
		ui__set_cursor(t, m->n_events);
		ui__status(t, true, "no stop record (%s): cursor at the last readable event",
			   m->end_msg[0] ? m->end_msg : "the recording did not finish");
	}
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return false;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static void do_goto(struct tui *t, const char *s)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	if (!n)
		return;
	if (s[n - 1] == '%') {
		char *end;
		double p = strtod(s, &end);
		if (end != s + n - 1 || p < 0 || p > 100) {
			ui__status(t, true, "go to: '%s' is not a percentage (0..100%%)", s);
			return;
		}
		ui__set_cursor(t, (uint64_t)((double)t->m->n_events * p / 100.0 + 0.5));
		return;
	}
	uint64_t v;
	if (!parse_u64(s + (*s == '+' || *s == '-'), &v)) {
		ui__status(t, true, "go to: '%s' is not an event number", s);
		return;
	}
	if (*s == '+')
		v = t->cursor + v < t->cursor ? UINT64_MAX : t->cursor + v;
	else if (*s == '-')
		v = v > t->cursor ? 0 : t->cursor - v;
	if (v > t->m->n_events)
		ui__status(t, true, "event %" PRIu64 " is past the end (%" PRIu64 "): cursor at the end", v,
			   t->m->n_events);
	ui__set_cursor(t, v);
}

static void run_prompt(struct tui *t, enum prompt_kind p, const char *s)
{
	switch (p) {
	case P_GOTO: do_goto(t, s); break;
	case P_PERCENT: {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s%%", s);
		if (*s)
			do_goto(t, buf);
		break;
	}
	case P_SEARCH:
		if (*s) {
			snprintf(t->search, sizeof(t->search), "%s", s);
			t->has_match = false;
		}
		console__search(t, 0);
		break;
	case P_FILTER: events__set_filter(t, s); break;
	case P_MEMADDR: memory__set_addr(t, s); break;
	case P_EXPORT:
		if (*s)
			console__export(t, s);
		break;
	case P_SNAPNAME: tui__take_snapshot(t, s); break;
	default: break;
	}
}

static void open_prompt(struct tui *t, enum prompt_kind p, const char *init)
{
	t->prompt = p;
	snprintf(t->pbuf, sizeof(t->pbuf), "%s", init ? init : "");
	t->plen = strlen(t->pbuf);
}

static void prompt_key(struct tui *t, int ch)
{
	if (ch == KEY_ESC || ch == CTRL('g')) {
		t->prompt = P_NONE;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		enum prompt_kind p = t->prompt;
		char buf[sizeof(t->pbuf)];
		memcpy(buf, t->pbuf, sizeof(buf));
		t->prompt = P_NONE;
		t->status[0] = 0;
		run_prompt(t, p, buf);
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (t->plen)
			t->pbuf[--t->plen] = 0;
	} else if (ch == CTRL('u')) {
		t->plen = 0;
		t->pbuf[0] = 0;
	} else if (ch >= 0x20 && ch < 0x7f && t->plen + 1 < sizeof(t->pbuf)) {
		t->pbuf[t->plen++] = (char)ch;
		t->pbuf[t->plen] = 0;
	}
}

static void show_pane(struct tui *t, const struct layout *l, enum pane_kind k)
{
	/* Already in another slot: swap, so no pane shows twice in any layout. */
	(void)l;
	for (int i = 0; i < 4; i++)
		if (i != t->focus && t->slot[i] == k)
			t->slot[i] = t->slot[t->focus];
	t->slot[t->focus] = k;
}

static void resize_focus(struct tui *t, const struct layout *l, int d)
{
	if (t->zoom)
		return;
	bool side = COLS >= 120;
	bool grid = l->n == 4;
	int f = t->focus;
	if (side || grid)
		t->split_x += (f == 0 || f == 2) ? d : -d;
	if (!side || grid)
		t->split_y += (f == 0 || f == 1) ? d : -d;
	t->split_x = t->split_x < 20 ? 20 : t->split_x > 80 ? 80 : t->split_x;
	t->split_y = t->split_y < 20 ? 20 : t->split_y > 80 ? 80 : t->split_y;
}

static int focused_page(struct tui *t, const struct layout *l)
{
	for (int i = 0; i < l->n; i++)
		if (slot_at(t, i) == t->focus)
			return l->slot[i].h > 3 ? l->slot[i].h - 2 : 1;
	return 10;
}

static void key(struct tui *t, int ch)
{
	struct layout l;
	compute_layout(t, &l);
	if (t->help) {
		if (ch == KEY_UP)
			t->help_scroll--;
		else if (ch == KEY_DOWN)
			t->help_scroll++;
		else if (ch == KEY_PPAGE)
			t->help_scroll -= LINES - 3;
		else if (ch == KEY_NPAGE)
			t->help_scroll += LINES - 3;
		else if (ch != KEY_RESIZE)
			t->help = false;
		return;
	}
	if (t->prompt != P_NONE) {
		prompt_key(t, ch);
		return;
	}
	if (ch != KEY_RESIZE && ch != KEY_ESC)
		t->status[0] = 0;
	enum pane_kind fk = t->slot[t->focus];
	int page = focused_page(t, &l);
	/* The focused pane gets the scrolling keys first. */
	bool used = false;
	switch (fk) {
	case PANE_CONSOLE: used = console__key(t, ch, page); break;
	case PANE_EVENTS: used = events__key(t, ch, page); break;
	case PANE_SNAPS: used = snaps__key(t, ch, page); break;
	case PANE_MEMORY: used = memory__key(t, ch, page); break;
	case PANE_DISASM: used = disasm__key(t, ch, page); break;
	default: break;
	}
	if (used)
		return;
	switch (ch) {
	case 'q': case KEY_F(10): t->quit = true; break;
	case '?': case KEY_F(1): t->help = true; t->help_scroll = 0; break;
	case KEY_LEFT: case 'h': if (t->cursor) ui__set_cursor(t, t->cursor - 1); break;
	case KEY_RIGHT: case 'l': ui__set_cursor(t, t->cursor + 1); break;
	case ',': move_pct(t, -1); break;
	case '.': move_pct(t, 1); break;
	case '<': move_pct(t, -10); break;
	case '>': move_pct(t, 10); break;
	case '[': move_snapshot(t, -1); break;
	case ']': move_snapshot(t, 1); break;
	case '{': move_line(t, -1); break;
	case '}': move_line(t, 1); break;
	case 'i': move_irq(t, 1); break;
	case 'I': move_irq(t, -1); break;
	case KEY_HOME: ui__set_cursor(t, 0); break;
	case KEY_END: ui__set_cursor(t, t->m->n_events); break;
	case 'c': go_crash(t); break;
	case 'g': open_prompt(t, P_GOTO, NULL); break;
	case '%': open_prompt(t, P_PERCENT, NULL); break;
	case '/': open_prompt(t, P_SEARCH, NULL); break;
	case 'n': console__search(t, 1); break;
	case 'N': console__search(t, -1); break;
	case 'f': open_prompt(t, P_FILTER, t->filter.text); break;
	case 'm': open_prompt(t, P_MEMADDR, NULL); break;
	case 'p':
		t->mem_phys = !t->mem_phys;
		ui__status(t, false, "memory view: %s", t->mem_phys ? "physical" : "guest-virtual");
		break;
	case 'e': {
		char def[64];
		snprintf(def, sizeof(def), "console-%" PRIu64 ".txt", t->cursor);
		open_prompt(t, P_EXPORT, def);
		break;
	}
	case 's': tui__take_snapshot(t, NULL); break;
	case 'G': tui__gdb(t); break;
	case 'r': tui__cursor_moved(t); t->moved_at = 0; break;
	case 'a':
		t->annotate = !t->annotate;
		ui__status(t, false, "console: symbols after addresses %s", t->annotate ? "on" : "off");
		break;
	case '\t': t->focus = (t->focus + 1) % (t->zoom ? 4 : l.n); break;
	case KEY_BTAB: t->focus = (t->focus + (t->zoom ? 4 : l.n) - 1) % (t->zoom ? 4 : l.n); break;
	case '1': case '2': case '3': case '4': case '5': case '6':
		show_pane(t, &l, (enum pane_kind)(ch - '1'));
		tui__cursor_moved(t);
		break;
	case 'z': t->zoom = !t->zoom; tui__cursor_moved(t); break;
	case '+': case '=': resize_focus(t, &l, 5); break;
	case '-': case '_': resize_focus(t, &l, -5); break;
	case KEY_ESC: case CTRL('c'): tui__cancel(t); break;
	case CTRL('l'): clearok(curscr, TRUE); break;
	case KEY_RESIZE: break;
	default: break;
	}
}

/* Is a pane that shows replayed state on screen? */
bool tui__state_visible(struct tui *t)
{
	struct layout l;
	compute_layout(t, &l);
	return pane_visible(t, &l, PANE_REGS) || pane_visible(t, &l, PANE_MEMORY) || pane_visible(t, &l, PANE_DISASM);
}

/* ---- entry ---- */

static void load_symbols(struct tui *t, const char *dir, const char *path)
{
	struct rrvm_err err = { "" };
	char p[4200];
	if (path) {
		if (syms__load(&t->syms, path, &err))
			snprintf(t->sym_msg, sizeof(t->sym_msg), "no symbols: %s", err.msg);
		return;
	}
	static const char *const tries[] = { "kernel", "vmlinux", "System.map" };
	char first[600] = "";
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, tries[i]);
		if (!syms__load(&t->syms, p, &err))
			return;
		if (!first[0])
			snprintf(first, sizeof(first), "%s", err.msg);
	}
	snprintf(t->sym_msg, sizeof(t->sym_msg), "no symbols (%s; --symbols FILE gives a vmlinux or System.map)", first);
}

/* Shows an error on the curses screen until a key (or 30 s); the caller prints it to stderr too. */
static void error_screen(const char *dir, const char *msg, bool colors)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || !initscr())
		return;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	struct tui t = { .colors = colors };
	ui__init_colors(&t);
	erase();
	ui__printf(0, 0, COLS, ui__attr(&t, R_TITLE), " rrvm tui  %s", dir);
	ui__put(2, 1, COLS - 2, "cannot open this trace:", ui__attr(&t, R_ERROR), false);
	/* Wrap the message over the screen width. */
	int y = 4, w = COLS - 4 > 10 ? COLS - 4 : 10;
	for (size_t o = 0, n = strlen(msg); o < n && y < LINES - 2; o += (size_t)w, y++)
		ui__printf(y, 2, w, A_BOLD, "%.*s", w, msg + o);
	ui__put(LINES - 1, 0, COLS, " press any key to exit (status 1)", ui__attr(&t, R_DIM), true);
	refresh();
	timeout(30000);
	getch();
	endwin();
}

int cmd_tui(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "symbols", required_argument, NULL, 'S' },
		{ "no-replay", no_argument, NULL, 'R' },
		{ "at", required_argument, NULL, 'A' },
		{ "disk", required_argument, NULL, 'D' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *symfile = NULL, *at = NULL, *disk = NULL;
	bool replay = true, colors = !getenv("NO_COLOR");
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': symfile = optarg; break;
		case 'R': replay = false; break;
		case 'A': at = optarg; break;
		case 'D': disk = optarg; break;
		case 'C': colors = false; break;
		case 'h': fputs(tui_help, stdout); return 0;
		default:
			fprintf(stderr, "rrvm tui: unknown option or missing value '%s' (rrvm tui --help)\n", argv[optind - 1]);
			return RRVM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rrvm tui: give exactly one TRACE_DIR (rrvm tui --help)\n");
		return RRVM_EXIT_USAGE;
	}
	const char *dir = argv[optind];
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, "rrvm tui: needs a terminal on stdin and stdout (rrvm trace dump|console work without one)\n");
		return RRVM_EXIT_USAGE;
	}

	struct tui_model m = { 0 };
	struct rrvm_err err = { "" };
	if (model__open(&m, dir, &err)) {
		error_screen(dir, err.msg, colors);
		fprintf(stderr, "rrvm tui: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	struct tui *t = calloc(1, sizeof(*t));
	if (!t) {
		model__close(&m);
		fprintf(stderr, "rrvm tui: out of memory\n");
		return RRVM_EXIT_ERROR;
	}
	t->m = &m;
	t->colors = colors;
	t->split_x = 50;
	t->annotate = true;
	t->split_y = 50;
	t->slot[0] = PANE_CONSOLE;
	t->slot[1] = replay ? PANE_REGS : PANE_EVENTS;
	t->slot[2] = replay ? PANE_EVENTS : PANE_SNAPS;
	t->slot[3] = replay ? PANE_DISASM : PANE_MEMORY;
	t->disk = disk;
	load_symbols(t, dir, symfile);
	if (m.damaged)
		ui__status(t, true, "DAMAGED TRACE: %s", m.end_msg);
	else if (t->sym_msg[0])
		ui__status(t, true, "%s", t->sym_msg);
	else if (m.end_msg[0])
		ui__status(t, true, "%s", m.end_msg);
	tui__state_open(t, replay);
	t->cursor = m.n_events;   /* where the story ends; Home for the start */
	if (at) {
		char keep[600];
		snprintf(keep, sizeof(keep), "%s", t->status);
		bool kerr = t->status_err;
		t->status[0] = 0;
		do_goto(t, at);
		if (t->status[0] && t->status_err) {
			fprintf(stderr, "rrvm tui: --at: %s\n", t->status);
			tui__state_close(t);
			syms__free(&t->syms);
			free(t);
			model__close(&m);
			return RRVM_EXIT_USAGE;
		}
		ui__status(t, kerr, "%s", keep);
	}

	if (!initscr()) {
		fprintf(stderr, "rrvm tui: cannot initialise the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
		tui__state_close(t);
		syms__free(&t->syms);
		free(t);
		model__close(&m);
		return RRVM_EXIT_ERROR;
	}
	raw();   /* Ctrl-C is a key here (cancel), not a signal that would leave the terminal raw */
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(50);
	ui__init_colors(t);
	tui__cursor_moved(t);

	while (!t->quit) {
		tui__tick(t);
		draw(t);
		int ch = getch();
		if (ch == ERR)
			continue;
		/* Take every queued key (a held arrow) before drawing again. */
		key(t, ch);
		timeout(0);
		while (!t->quit && (ch = getch()) != ERR)
			key(t, ch);
		timeout(50);
	}
	endwin();
	tui__state_close(t);
	int status = m.damaged ? RRVM_EXIT_ERROR : 0;
	if (m.damaged)
		fprintf(stderr, "rrvm tui: %s: damaged trace: %s\n", dir, m.end_msg);
	syms__free(&t->syms);
	free(t);
	model__close(&m);
	return status;
}
