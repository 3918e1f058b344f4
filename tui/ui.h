/* ui.h — the trace browser's screen: layout, panes, keys, and the state shared by the drawing code. */
#ifndef RRVM_TUI_UI_H
#define RRVM_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/model.h"
#include "tui/worker.h"

enum pane_kind { PANE_CONSOLE, PANE_REGS, PANE_EVENTS, PANE_MEMORY, PANE_DISASM, PANE_SNAPS, PANE__COUNT };

/* Display roles, mapped to colors or (plain terminals) attributes. */
enum ui_role {
	R_NORMAL, R_TITLE, R_TITLE_FOCUS, R_SNAP, R_CRASH, R_CURSOR, R_DENSITY, R_CONSOLE_MARK,
	R_CHANGED, R_ERROR, R_MATCH, R_DIM, R_SYMBOL, R_SELECT, R_GOOD, R__COUNT
};

enum prompt_kind { P_NONE, P_GOTO, P_SEARCH, P_FILTER, P_PERCENT, P_MEMADDR, P_EXPORT, P_SNAPNAME };

struct rect {
	int y, x, h, w;
};

struct ev_filter {
	bool on;
	uint32_t kinds;          /* bit per record type; 0 = all */
	bool has_port;
	uint64_t port;
	bool has_vec;
	uint32_t vec;
	char text[128];
};

struct tui_worker;
struct tui_state;

struct tui {
	struct tui_model *m;
	struct tui_syms syms;
	char sym_msg[700];           /* why there are no symbols, or "" */
	uint64_t cursor;             /* event number, 0 .. m->n_events */
	bool colors;
	int rows, cols;

	/* Layout: up to 4 slots, each showing one pane. */
	enum pane_kind slot[4];
	int nslots, focus;
	bool zoom;
	int split_x, split_y;        /* percent: left column width, top row height */

	/* Console pane. */
	long con_scroll;             /* lines scrolled back from the cursor's last line */
	char search[256];
	bool has_match;
	size_t match_off, match_len;
	bool con_center;
	bool annotate;               /* console: add <symbol> after addresses that have one */             /* next draw scrolls the match line to the middle */

	/* Event pane. */
	struct ev_filter filter;
	long ev_sel;                 /* selected row relative to the cursor's record */

	/* Snapshot pane. */
	size_t snap_sel;
	bool snap_moved;             /* the selection was moved by hand (else it follows the cursor) */

	/* Memory pane. */
	uint64_t mem_addr;
	bool mem_phys;
	char mem_expr[64];           /* a register name to follow ("rsp"), or "" for a fixed address */
	long mem_scroll;             /* 16-byte rows */
	long dis_scroll;             /* instructions */

	/* Status line. */
	char status[600];
	bool status_err;

	/* Prompt on the status line. */
	enum prompt_kind prompt;
	char pbuf[256];
	size_t plen;

	bool help;
	long help_scroll;
	bool quit;

	/* Replay (state panes); w NULL when state is unavailable (state_msg says why). */
	struct tui_worker *w;
	const char *disk;            /* --disk: a virtio disk recording's image */
	char state_msg[600];
	int state_rc;                /* how the latest seek ended */
	uint64_t state_gen;
	struct tui_cpu cpu, cpu_prev;   /* the latest stop and the one before */
	bool seek_wanted;
	double moved_at;
	uint64_t cs;                 /* capstone handle (csh), 0 = none */
	bool cs_ok;
};

/* ---- draw.c: colors, text helpers ---- */
void ui__init_colors(struct tui *t);
int ui__attr(const struct tui *t, enum ui_role r);
/* Writes at most w columns of s at (y, x) with attribute a, padding to w with spaces when pad. */
void ui__put(int y, int x, int w, const char *s, int a, bool pad);
void ui__printf(int y, int x, int w, int a, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ui__status(struct tui *t, bool err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Title line of a pane; focused panes are highlighted. */
void ui__pane_title(const struct tui *t, const struct rect *r, bool focus, const char *title, const char *right);

/* ---- timeline.c ---- */
#define TIMELINE_ROWS 5
void timeline__draw(struct tui *t, const struct rect *r);
/* Column of event ev on a timeline of width w. */
int timeline__col(const struct tui_model *m, uint64_t ev, int w);

/* ---- panes ---- */
void console__draw(struct tui *t, const struct rect *r, bool focus);
bool console__key(struct tui *t, int key, int page);
/* Searches for t->search from the current match (dir +1 forward, -1 back); moves the cursor when the match is past it. */
void console__search(struct tui *t, int dir);
/* Writes the console up to the cursor to path: 0 or -errno (status says). */
int console__export(struct tui *t, const char *path);

void events__draw(struct tui *t, const struct rect *r, bool focus);
bool events__key(struct tui *t, int key, int page);
/* Parses "irq,landmark port=0x3f8 vector=32"; empty clears. 0 or -EINVAL (status says). */
int events__set_filter(struct tui *t, const char *text);

void snaps__draw(struct tui *t, const struct rect *r, bool focus);
bool snaps__key(struct tui *t, int key, int page);

void regs__draw(struct tui *t, const struct rect *r, bool focus);
void memory__draw(struct tui *t, const struct rect *r, bool focus);
bool memory__key(struct tui *t, int key, int page);
/* "0x1000", "rsp", "rip+0x10", "p:0x1000" (physical), a symbol name. 0 or -EINVAL. */
int memory__set_addr(struct tui *t, const char *expr);
void disasm__draw(struct tui *t, const struct rect *r, bool focus);
bool disasm__key(struct tui *t, int key, int page);

/* ---- help.c ---- */
void help__draw(struct tui *t);
/* Every key, one line each; key NULL = a heading; ends with desc NULL. */
struct help_entry {
	const char *key, *desc;
};
extern const struct help_entry help_keys[];

/* ---- cursor moves (cmd_tui.c) ---- */
void ui__set_cursor(struct tui *t, uint64_t ev);
/* Is a pane that needs replayed state on screen? */
bool tui__state_visible(struct tui *t);

/* ---- state.c: the replay behind the state panes ---- */
/* Opens the replay worker (replay false: browse only); failures go to state_msg. */
void tui__state_open(struct tui *t, bool replay);
void tui__state_close(struct tui *t);
/* The cursor moved or a state pane appeared: replay there once keys settle. */
void tui__cursor_moved(struct tui *t);
/* Called every loop turn: starts debounced seeks, collects finished ones. */
void tui__tick(struct tui *t);
/* A progress line while a seek has run longer than a blink; false otherwise. */
bool tui__progress(struct tui *t, char *buf, size_t cap);
void tui__cancel(struct tui *t);
/* True when the state shown is the cursor's (not an older stop, not replaying). */
bool tui__state_current(const struct tui *t);
void tui__take_snapshot(struct tui *t, const char *name);
void tui__gdb(struct tui *t);
/* Evaluates a register name ("rsp", "rip", "cr3"...) at the current stop. */
bool tui__reg_value(const struct tui *t, const char *name, uint64_t *v);

#endif
