/* trace_show.h — presenting trace records: kind and exit names, one-line and JSON rendering, console text, statistics. */
#ifndef RRVM_TRACE_SHOW_H
#define RRVM_TRACE_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record/trace.h"

/* Short name of a record type as the user filters it: "exit", "in_value",
 * "irq", "landmark", "deferral", "console" (TR_CONSOLE_OUT), "input"
 * (TR_CONSOLE_IN), "dma", "rdtsc", "snapshot", "stop"; "unknown" otherwise. */
const char *trace_show__kind_name(uint32_t type);

/* Parses a comma-separated list of kind names (those above, plus the
 * trace__rec_name spellings "console_out", "console_in") into a bit mask
 * (bit = record type). Returns 0, or -EINVAL with the offending name copied
 * into bad (NUL-terminated, truncated to badlen). */
int trace_show__parse_kinds(const char *list, uint32_t *mask, char *bad, size_t badlen);

/* "IO", "MMIO", "HLT", "RDMSR", "WRMSR", "IRQ_WINDOW", "DEBUG", ... for a
 * KVM_EXIT_* reason; NULL when this build does not name it. */
const char *trace_show__exit_name(uint32_t reason);

/* Escapes up to max bytes of data C-style (printable ASCII as is, \n \r \t
 * \\ \" \xNN) into out (always NUL-terminated when cap > 0), appending "..."
 * when data was cut by max or by cap. Returns the length written. */
size_t trace_show__escape(char *out, size_t cap, const uint8_t *data, size_t len, size_t max);

/* Writes data as the inside of a JSON string: bytes are taken as Latin-1
 * code points (control characters, '"', '\\' and bytes >= 0x7f as \u00XX),
 * so a tool gets every byte back losslessly. */
void trace_show__json_bytes(FILE *f, const uint8_t *data, size_t len);
/* The same for a NUL-terminated C string (header fields). */
void trace_show__json_str(FILE *f, const char *s);

/* Renders the fields of one record (everything but event number, time and
 * kind) on one line into buf (NUL-terminated; cut when cap is too small).
 * Byte strings show at most 256 bytes, escaped. Returns the length. */
size_t trace_show__fields(char *buf, size_t cap, const struct trace_event *ev);

/* Writes one record as a JSON object on one line (no newline), with every
 * byte of its byte strings. */
void trace_show__json_event(FILE *f, const struct trace_event *ev);

/* Name of a TR_STOP / footer end reason: "poweroff", "panic", ...; "reason N"
 * style callers print the number when NULL. */
const char *trace_show__stop_name(uint32_t reason);

/* ---- console text ---------------------------------------------------- */

/* Called with each run of guest console bytes; a non-zero return stops the walk and is returned. */
typedef int (*trace_show_sink)(void *ctx, const uint8_t *data, size_t len);

/* Feeds the TR_CONSOLE_OUT bytes of records with from <= event <= to to
 * sink, seeking to `from` first. Returns 0 at the end of a complete trace or
 * once past `to`; otherwise the reader's error (-ENODATA: the readable prefix
 * of an unfinished/truncated trace ended, message in err) or the sink's. */
int trace_show__console(struct trace_reader *r, uint64_t from, uint64_t to, trace_show_sink sink, void *ctx,
			struct rrvm_err *err);

/* ---- statistics by scanning ------------------------------------------ */

#define TRACE_SHOW_MAX_ADDRS 4096   /* distinct (reason, address) pairs counted; more go to `other_addr` */

struct trace_show_addr {
	uint8_t reason;
	uint64_t addr;
	uint64_t count;
};

/* What a full walk of the records found. */
struct trace_scan {
	uint64_t records, exits;
	uint64_t by_type[256];              /* records by type (unknown types are skipped by the reader) */
	uint64_t by_reason[256];            /* exits by KVM exit reason */
	struct trace_show_addr *addrs;      /* malloc'd: exits by (reason, port/address/MSR), unsorted */
	size_t n_addrs, cap_addrs;
	uint64_t other_addr;                /* exits whose pair did not fit in the table */
	uint64_t console_bytes, input_bytes, dma_bytes;
	uint64_t first_time_ns, last_time_ns; /* of the first and last exit */
	bool has_stop;                      /* the last TR_STOP seen */
	uint32_t stop_reason;
	int64_t stop_status;
	uint8_t stop_msg[255];              /* its message, raw (cut to 255 bytes) */
	uint32_t stop_len;
	int end_rc;                         /* 0 clean end; else the reader's error (message in end_msg) */
	char end_msg[512];
};

/* Reads every record from the start and fills s with what was readable.
 * Returns 0 (-ENOMEM only when no table could be allocated); a read error
 * (or running out of memory on the way) ends the walk and is kept in
 * s->end_rc / s->end_msg. Release with trace_show__scan_free. */
int trace_show__scan(struct trace_reader *r, struct trace_scan *s);
void trace_show__scan_free(struct trace_scan *s);
/* Sorts s->addrs by count, largest first (ties by reason, then address). */
void trace_show__scan_sort(struct trace_scan *s);

#endif
