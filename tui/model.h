/* model.h — what the trace browser knows without replaying: records, console text, timeline marks, symbols. */
#ifndef RRVM_TUI_MODEL_H
#define RRVM_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "core/err.h"
#include "record/trace.h"

/* One record, compact (every record of the trace is kept: 1 M events ~ 24 MB).
 * a/b by type: exit: a = port/address/MSR, b = size; irq: a = vector;
 * landmark: a = vector, b = hit count; console/input: a = byte offset in
 * the model's console (input: input) buffer, b = length; snapshot: a = id;
 * stop: a = reason; deferral: a = rip. */
struct tui_rec {
	uint64_t event_no;
	uint64_t a;
	uint32_t b;
	uint8_t type;           /* enum trace_rec */
	uint8_t reason;         /* exit: KVM_EXIT_* */
	uint8_t dir;            /* exit: enum trace_dir */
	uint8_t pad;
};

/* A snapshot the trace knows of (TR_SNAPSHOT record). */
struct tui_snap {
	uint64_t event_no, id;  /* id: the file's sequence number (snapshots/NNNNNN.snap) */
	char name[64];
	int64_t bytes;          /* size on disk, -1 when the file is missing */
	/* Read from the file when the snapshot pane first shows it. */
	bool loaded;
	int rc;                 /* 0, or why the file is unreadable (err) */
	char err[200];
	uint32_t reason;        /* enum snap_reason */
	uint32_t n_pages, n_data, n_zero, n_same, base_seq;
	uint64_t page_bytes;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

struct tui_model {
	char dir[4096];
	struct trace_reader *r;         /* kept open: the event pane reads full records */
	struct trace_status status;     /* copy of the reader's at open */
	uint64_t n_events;              /* exits in the readable records (the last event number) */
	uint64_t last_time_ns;

	struct tui_rec *recs;           /* every readable record, in trace order */
	size_t n_recs;
	uint64_t *irq_ev;               /* event numbers of TR_IRQ and TR_LANDMARK records, sorted */
	size_t n_irq;
	struct tui_snap *snaps;
	size_t n_snaps;

	uint8_t *con;                   /* every console output byte */
	size_t con_len;
	struct tui_con_rec { uint64_t ev, end; } *con_recs;  /* per console record: event, end offset in con */
	size_t n_con_recs;
	struct tui_line { uint64_t off, ev; } *lines;  /* line i starts at con[off], completed ('\n') at event ev */
	size_t n_lines;
	uint8_t *inp;                   /* console input bytes */
	size_t inp_len;

	bool has_stop;                  /* the last TR_STOP */
	uint32_t stop_reason;
	int64_t stop_status;
	uint64_t stop_event;
	char stop_msg[256];

	int end_rc;                     /* 0, or why reading the records stopped early */
	char end_msg[512];
	bool damaged;                   /* truncated, corrupt or unreadable tail */
	size_t rd_next;                 /* record the reader returns next, (size_t)-1 unknown */
};

/* Opens TRACE_DIR and reads every record into m (zeroed by the caller).
 * A truncated or corrupt tail is not an error: m->damaged and m->end_msg say
 * what was cut, the readable prefix is kept. Errors: the reader's (missing
 * or corrupt header, ...) or -ENOMEM, with a message. Release with
 * model__close. */
int model__open(struct tui_model *m, const char *dir, struct rrvm_err *err);
void model__close(struct tui_model *m);
/* Adds snapshot file seq (snapshots/NNNNNN.snap, e.g. one taken in a replay
 * that no TR_SNAPSHOT record names) to m->snaps, kept in event order.
 * 0, or -errno with a message when the file is unreadable. */
int model__add_snapfile(struct tui_model *m, uint32_t seq, struct rrvm_err *err);

/* Index of the first record whose event number is >= ev (n_recs when none). */
size_t model__rec_at(const struct tui_model *m, uint64_t ev);
/* Number of console bytes printed up to and including event ev. */
size_t model__con_end(const struct tui_model *m, uint64_t ev);
/* Number of console lines started at or before byte offset off (line index + 1). */
size_t model__line_of(const struct tui_model *m, size_t off);
/* Count of sorted values v[] with lo <= v < hi. */
size_t model__count_in(const uint64_t *v, size_t n, uint64_t lo, uint64_t hi);
/* Reads the full record number idx (0-based over the records in order) into
 * *ev, using the reader's event seek; byte pointers stay valid until the next
 * call. 0 or -errno with a message. */
int model__read_rec(struct tui_model *m, size_t idx, struct trace_event *ev, struct rrvm_err *err);
/* Guest time of exit number ev (0 for event 0), or -1 if unreadable. */
int64_t model__event_time(struct tui_model *m, uint64_t ev);

/* ---- symbols (symbols.c) ---- */

struct tui_sym {
	uint64_t addr, size;
	const char *name;
};

struct tui_syms {
	struct tui_sym *v;              /* sorted by address */
	size_t n;
	char *strs;                     /* names */
	char source[512];               /* where they came from, or "" */
};

/* Loads symbols from an ELF64 file (.symtab, else .dynsym) or a System.map
 * (text "ADDR TYPE NAME" lines). 0, or -errno with a message naming the
 * file and the problem (-ENOENT, -ENOEXEC when it has no symbols). */
int syms__load(struct tui_syms *s, const char *path, struct rrvm_err *err);
void syms__free(struct tui_syms *s);
/* The symbol containing addr (or the nearest one below it within 1 MiB when
 * sizes are unknown), with *off = addr - symbol; NULL when none. */
const struct tui_sym *syms__lookup(const struct tui_syms *s, uint64_t addr, uint64_t *off);
/* Formats "name+0xoff" (or "" when unknown) into buf. */
const char *syms__fmt(const struct tui_syms *s, uint64_t addr, char *buf, size_t cap);
/* Address of a symbol by name; 0 and true when found. */
bool syms__find(const struct tui_syms *s, const char *name, uint64_t *addr);

#endif
