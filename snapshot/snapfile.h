/* snapfile.h — snapshot files in a trace directory (format: traces/FORMAT.md, "Snapshot files"). */
#ifndef RRVM_SNAPFILE_H
#define RRVM_SNAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct vm;
struct snap_store;
struct snapshot;

#define SNAPFILE_MAJOR 1
#define SNAPFILE_MINOR 0
#define SNAPFILE_DIR "snapshots"

/* Why a recorded snapshot was taken. */
enum snap_reason { SNAP_WHY_EVERY = 1, SNAP_WHY_CONSOLE = 2, SNAP_WHY_PANIC = 3, SNAP_WHY_OTHER = 4,
		  SNAP_WHY_START = 5 /* the state a `record --from` trace starts in: snapshot 1, event 0 */,
		  SNAP_WHY_REPLAY = 6 /* taken in a replay (rrvm tui `s`): full, no device state but virtio;
				       * replay restores it, `run --from` refuses it */,
		  SNAP_WHY_STOP = 7 /* the recording was stopped (SIGINT, SIGTERM, Ctrl-A x) at this event */ };

/* What a file says about itself (list/show without loading pages). */
struct snapfile_info {
	uint32_t seq;               /* 1, 2, ... in the trace */
	uint32_t base_seq;          /* the snapshot its pages are a delta against (0: full) */
	uint64_t event;
	uint32_t recs;
	uint32_t reason;            /* enum snap_reason */
	uint64_t guest_ns;
	uint64_t created_ns;        /* Unix time */
	uint64_t ram_bytes;
	uint8_t uuid[16];           /* the trace's */
	uint32_t n_pages;           /* page entries */
	uint32_t n_data, n_zero, n_same; /* stored (LZ4/raw), zero, same as in base_seq */
	uint64_t file_bytes, page_bytes; /* file size, compressed page data */
	uint32_t n_dev;
};

/* Writes snapshot s (just taken into st, which holds the previous recorded
 * snapshot as s's base or none) as TRACE_DIR/snapshots/NNNNNN.snap, mode
 * 0600, atomically (temp file + rename). `prev` is the previous recorded
 * snapshot (its pages are the delta base), NULL for a full one. */
int snapfile__write(const char *trace_dir, struct snap_store *st, const struct snapshot *s,
		    const struct snapshot *prev, uint32_t seq, uint32_t reason, const uint8_t uuid[16],
		    uint64_t ram_bytes, struct snapfile_info *info, struct rrvm_err *err);

/* Path of snapshot seq in TRACE_DIR. */
void snapfile__path(char *buf, size_t len, const char *trace_dir, uint32_t seq);
/* Number of snapshot files (they are numbered 1..n without gaps; a gap ends the list). */
uint32_t snapfile__count(const char *trace_dir);

/* Reads and checks file seq completely (every section, checksum and page)
 * without applying anything; fills *info, and with `out` non-NULL a
 * decoded snapshot plus its pages (page numbers, 4 KiB data or NULL for a
 * zero page, or SNAPFILE_SAME for "as at base_seq"). Free with
 * snapfile__free_pages and snap__free. uuid/ram_bytes/npages: what the
 * trace and VM expect (NULL/0 to skip those checks). */
#define SNAPFILE_SAME ((uint8_t *)1)
int snapfile__read(const char *trace_dir, uint32_t seq, const uint8_t *uuid, uint64_t ram_bytes,
		   struct snapfile_info *info, struct snapshot **out, uint32_t **pages, uint8_t ***data,
		   struct rrvm_err *err);
int snapfile__read_path(const char *path, const uint8_t *uuid, uint64_t ram_bytes, struct snapfile_info *info,
			struct snapshot **out, uint32_t **pages, uint8_t ***data, struct rrvm_err *err);
/* The same checks on a file already in memory (buf, len; `name` for
 * messages): what snapfile__read_path does after reading the file. */
int snapfile__parse(const char *name, const uint8_t *buf, size_t len, const uint8_t *uuid, uint64_t ram_bytes,
		    struct snapfile_info *info, struct snapshot **out, uint32_t **pages, uint8_t ***data,
		    struct rrvm_err *err);
void snapfile__free_pages(uint32_t *pages, uint8_t **data, uint32_t n);

/* Loads the recorded snapshots 1..upto (0: all) of TRACE_DIR into st, in
 * order (each is a delta on the one before). Returns how many, or -errno +
 * *err at the first bad file (those before it stay loaded). */
int snapfile__load_all(struct snap_store *st, const char *trace_dir, uint32_t upto, struct rrvm_err *err);
/* Recorded snapshots are loaded whole by load_all: nothing to do. */
static inline int snapfile__ensure_loaded(struct snap_store *st, struct snapshot *s, struct rrvm_err *err)
{
	(void)st, (void)s, (void)err;
	return 0;
}

const char *snapfile__reason_name(uint32_t reason);

#endif
