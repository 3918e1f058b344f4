/* trace.h — the trace format's public API: header, event records, writer and reader (spec: traces/FORMAT.md). */
#ifndef RRVM_TRACE_H
#define RRVM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The format this code writes. Readers accept any 1.x (skipping what a newer
 * minor added) and refuse any other major with both versions in the message. */
#define TRACE_FORMAT_MAJOR 1
#define TRACE_FORMAT_MINOR 1

#define TRACE_UUID_LEN 16
#define TRACE_NAME_MAX 64              /* rrvm_version, cpu_profile: at most 63 bytes + NUL */
#define TRACE_IMAGE_NAME_MAX 256       /* image names: at most 255 bytes + NUL */
#define TRACE_MAX_IMAGES 8
#define TRACE_MAX_CPUID 4096
#define TRACE_MAX_CAPS 1024
#define TRACE_MAX_BYTES (16u << 20)    /* longest byte string in one record */
#define TRACE_DEFAULT_CHUNK (256u << 10)
#define TRACE_MIN_CHUNK 256u
#define TRACE_MAX_CHUNK (16u << 20)    /* writer's chunk target; readers accept up to 64 MiB */

/* ---- header ---------------------------------------------------------- */

struct trace_cpuid_entry {
	uint32_t function, index, flags, eax, ebx, ecx, edx;
};

enum trace_image_kind { TRACE_IMG_KERNEL = 1, TRACE_IMG_INITRD = 2, TRACE_IMG_DISK = 3 };

struct trace_image {
	uint32_t kind;                      /* enum trace_image_kind (others kept as is) */
	uint64_t size;                      /* bytes */
	uint8_t sha256[32];
	char name[TRACE_IMAGE_NAME_MAX];    /* informational (basename); never opened from a trace */
};

enum trace_clock { TRACE_CLOCK_REAL = 0, TRACE_CLOCK_VIRTUAL = 1 };

struct trace_kv {
	char *key, *value;                  /* malloc'd */
};

/* Everything known when recording starts. Arrays marked malloc'd are owned
 * by the struct: release them with trace_header__free. */
struct trace_header {
	uint16_t major, minor;              /* reader: the file's version; writer ignores */
	uint8_t uuid[TRACE_UUID_LEN];       /* writer: all zero = 16 bytes from getrandom */
	char rrvm_version[TRACE_NAME_MAX];  /* writer: "" = this build's RRVM_VERSION */
	int64_t created_sec;                /* writer: 0 = now (CLOCK_REALTIME) */
	uint32_t created_nsec;
	uint64_t ram_bytes;
	uint32_t n_vcpus;
	char cpu_profile[TRACE_NAME_MAX];
	struct trace_cpuid_entry *cpuid;    /* malloc'd, n_cpuid entries, in table order */
	uint32_t n_cpuid;
	struct trace_image images[TRACE_MAX_IMAGES];
	uint32_t n_images;
	char *cmdline;                      /* malloc'd or NULL */
	uint32_t clock_mode;                /* enum trace_clock */
	uint64_t quantum_ns;                /* virtual clock: guest ns per exit */
	uint64_t wallclock_ns;              /* Unix time (ns) the guest's clock reads at guest time 0 */
	uint64_t tsc_hz;                    /* nominal guest TSC frequency */
	struct trace_kv *caps;              /* malloc'd: host capabilities used, key=value */
	uint32_t n_caps;
	uint32_t chunk_bytes;               /* writer fills it in: the chunk size target */
	uint64_t quirks;                    /* bit flags for writer quirks; 0 in 1.0 */
};

/* Frees the malloc'd members and zeroes *h. Safe on a zeroed header. */
void trace_header__free(struct trace_header *h);
/* Replace h->cmdline / h->cpuid with copies; append one capability. -ENOMEM. */
int trace_header__set_cmdline(struct trace_header *h, const char *cmdline);
int trace_header__set_cpuid(struct trace_header *h, const struct trace_cpuid_entry *e, uint32_t n);
int trace_header__add_cap(struct trace_header *h, const char *key, const char *value);
/* Deep copy (dst is overwritten, not freed first). */
int trace_header__copy(struct trace_header *dst, const struct trace_header *src);

/* ---- event records --------------------------------------------------- */

/* Record types. The on-disk type byte; never renumber. New types may be added
 * by a minor version: older readers skip them (every record carries its length). */
enum trace_rec {
	TR_EXIT = 1,        /* a guest-caused exit: advances the event clock by one */
	TR_IN_VALUE = 2,    /* value returned at the preceding exit (when not folded into TR_EXIT) */
	TR_IRQ = 3,         /* interrupt injected at a guest-caused exit */
	TR_LANDMARK = 4,    /* interrupt injected at a kick point */
	TR_DEFERRAL = 5,    /* a kick point where injection was deferred */
	TR_CONSOLE_OUT = 6, /* guest serial output */
	TR_CONSOLE_IN = 7,  /* console input delivered to the guest */
	TR_DMA = 8,         /* bytes written into guest memory from a nondeterministic source */
	TR_RDTSC = 9,       /* value returned at a rewritten RDTSC/RDTSCP site */
	TR_SNAPSHOT = 10,   /* a snapshot was taken here (content lives elsewhere) */
	TR_STOP = 11,       /* how the run ended */
	TR_REGS = 12,       /* the GPRs, RIP and RFLAGS at the preceding exit (1.1) */
	TR__COUNT           /* one past the last type this build knows */
};

enum trace_dir { TRACE_DIR_NONE = 0, TRACE_DIR_IN = 1 /* in / read */, TRACE_DIR_OUT = 2 /* out / write */ };

enum trace_stop_reason {
	TRACE_STOP_UNSPEC = 0, TRACE_STOP_POWEROFF = 1, TRACE_STOP_PANIC = 2, TRACE_STOP_SHUTDOWN = 3,
	TRACE_STOP_SIGNAL = 4, TRACE_STOP_ERROR = 5, TRACE_STOP_LIMIT = 6,
};

struct trace_exit {
	uint8_t reason;     /* KVM_EXIT_* */
	uint8_t dir;        /* enum trace_dir */
	bool has_value;     /* `value` holds the data moved, size <= 8: for in/read what the guest got
			     * (folded TR_IN_VALUE, replay feeds it back), for out/write what it wrote */
	uint32_t size;      /* access size in bytes, 0 when none (HLT) */
	uint32_t count;     /* string PIO repetitions; 0 is written as 1, reader returns >= 1 */
	uint32_t hash;      /* trace__value_hash of the data moved */
	uint64_t addr;      /* port, MMIO gpa or MSR index; 0 when none */
	uint64_t value;     /* when has_value */
};
struct trace_in_value { uint32_t size; uint64_t value; const uint8_t *data; uint32_t len; };
struct trace_irq { uint32_t vector; };
struct trace_landmark { uint64_t rip, fingerprint; uint32_t hits, vector; };
struct trace_deferral { uint64_t rip; uint32_t reason; };
struct trace_bytes { const uint8_t *data; uint32_t len; };       /* CONSOLE_OUT / CONSOLE_IN */
struct trace_dma { uint64_t gpa; const uint8_t *data; uint32_t len; };
struct trace_rdtsc { uint64_t rip, value; uint32_t aux; };
struct trace_snapshot { uint64_t id; const uint8_t *name; uint32_t len; };
struct trace_stop { uint32_t reason; int64_t status; const uint8_t *msg; uint32_t len; };
/* Registers in this order: rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags. */
#define TRACE_NREGS 18
struct trace_regs {
	uint64_t v[TRACE_NREGS];
	uint32_t changed;   /* reader: bit i set when v[i] differs from the chunk's previous TR_REGS
			     * (every nonzero register for the first one); ignored by writers */
};

/* One record. event_no: for TR_EXIT the exit's number (1 for the first exit;
 * the writer assigns it when 0 is given); for every other record the number of
 * the exit it belongs to (0 before the first exit), which must be >= the
 * previous record's and <= the number of exits appended so far. time_ns: for
 * TR_EXIT the guest time of the exit; readers fill it in for other records
 * with the time of the latest exit (writers ignore it there). Byte pointers
 * returned by the reader stay valid until its next next/seek/close call. */
struct trace_event {
	uint32_t type;      /* enum trace_rec */
	uint64_t event_no;
	uint64_t time_ns;
	union {
		struct trace_exit exit;
		struct trace_in_value in;
		struct trace_irq irq;
		struct trace_landmark landmark;
		struct trace_deferral deferral;
		struct trace_bytes bytes;
		struct trace_dma dma;
		struct trace_rdtsc rdtsc;
		struct trace_snapshot snapshot;
		struct trace_stop stop;
		struct trace_regs regs;
	} u;
};

/* "exit", "irq", ... ("unknown" for others). */
const char *trace__rec_name(uint32_t type);
/* "rax" ... "rflags" for TR_REGS slot i < TRACE_NREGS. */
const char *trace__reg_name(unsigned i);
/* The u32 value hash recorder and replayer agree on: CRC32C of the bytes moved. */
uint32_t trace__value_hash(const void *data, size_t len);
/* The same for an access of size <= 8 bytes: the `size` low bytes of value, little-endian.
 * A TR_EXIT whose hash equals this of its value stores no hash (4 bytes saved). */
uint32_t trace__value_hash_u64(uint64_t value, uint32_t size);

/* ---- statistics and status ------------------------------------------- */

struct trace_stats {
	uint64_t records, exits, chunks;
	uint64_t raw_bytes, comp_bytes;     /* encoded records before / after compression */
	uint64_t first_time_ns, last_time_ns;
	uint64_t unknown_records;           /* reader: records of unknown type skipped so far */
	bool by_type_valid;                 /* reader: only with a footer (clean close) */
	uint64_t by_type[256];
	bool has_end;                       /* reader: footer present */
	uint32_t end_reason;                /* enum trace_stop_reason, from the last TR_STOP */
	int64_t end_status;
	char end_msg[256];                  /* its message (truncated) */
};

struct trace_chunk_info {
	uint64_t seq, offset;               /* chunk sequence number, byte offset in `events` */
	uint64_t base_event, base_time_ns;  /* exits before the chunk, time of the last of them */
	uint64_t first_event, last_event;   /* event numbers of its first and last records */
	uint64_t first_time_ns, last_time_ns;
	uint32_t n_records, n_exits;
	uint32_t raw_len, comp_len;         /* body before / after compression */
	uint32_t codec;                     /* 0 stored, 1 LZ4 block */
	uint32_t hdr_len, body_crc;         /* reader only: chunk header size, body checksum */
};

enum trace_end {
	TRACE_END_COMPLETE = 0,   /* footer present and consistent with the events file */
	TRACE_END_UNFINISHED,     /* no footer; every chunk complete (killed between chunks) */
	TRACE_END_TRUNCATED,      /* torn or missing tail (killed mid-write, file cut) */
	TRACE_END_CORRUPT,        /* a damaged chunk header with data after it */
};
enum trace_index_state {
	TRACE_INDEX_OK = 0,       /* present and matches the events file */
	TRACE_INDEX_ABSENT,       /* missing: rebuilt from chunk headers */
	TRACE_INDEX_STALE,        /* a valid prefix of the chunk list (more chunks follow) */
	TRACE_INDEX_BAD,          /* damaged or disagreeing: ignored, rebuilt (index_msg says why) */
};

struct trace_status {
	enum trace_end end;
	enum trace_index_state index;
	uint64_t valid_bytes;     /* events-file bytes in complete chunks */
	uint64_t file_bytes;      /* events-file size */
	uint64_t n_chunks, n_records;
	uint64_t last_event;      /* exits in complete chunks = number of the last one */
	char msg[512];            /* one line, e.g. "recording did not finish cleanly; ..." */
	char index_msg[256];
};

/* ---- writer ---------------------------------------------------------- */

struct trace_writer;

enum trace_sync {
	TRACE_SYNC_CLOSE = 0,     /* fsync at close only: survives SIGKILL, not a host crash */
	TRACE_SYNC_CHUNK = 1,     /* fdatasync after every chunk too */
};
struct trace_writer_opts {
	uint32_t chunk_bytes;     /* 0 = TRACE_DEFAULT_CHUNK; clamped to [TRACE_MIN_CHUNK, TRACE_MAX_CHUNK] */
	uint32_t sync;            /* enum trace_sync */
};

/* Creates trace directory `dir` (0700; an existing empty directory is used as
 * is), writes `header` (atomically) and the `events` preamble. Fields of h
 * left zero get defaults (uuid, version, creation time); h is not kept. */
int trace_writer__open(struct trace_writer **w, const char *dir, const struct trace_header *h,
		       struct rrvm_err *err);
int trace_writer__open_opts(struct trace_writer **w, const char *dir, const struct trace_header *h,
			    const struct trace_writer_opts *opts, struct rrvm_err *err);
/* Hot path: encodes ev into the chunk buffer; seals (compress + one write())
 * when the buffer is full. -EINVAL for an out-of-order event number or bad
 * field (writer still usable), -E2BIG for a byte string over TRACE_MAX_BYTES,
 * or the sticky I/O error (-ENOSPC, -EIO, ...) of a failed chunk write: after
 * that every call returns it and trace_writer__error says what happened. */
int trace_writer__append(struct trace_writer *w, const struct trace_event *ev);
/* Seals the current chunk (no-op when empty): once this returns 0 every
 * record appended so far survives a SIGKILL of this process. */
int trace_writer__flush(struct trace_writer *w);
/* flush + fdatasync: survives a host crash too. */
int trace_writer__sync(struct trace_writer *w);
/* Seals the last chunk, fsyncs, writes `index` and then `footer` (each via a
 * temp file + rename), frees w. The footer is written only if no write
 * failed, so a reader can tell a clean close. Returns the first error. */
int trace_writer__close(struct trace_writer *w, struct rrvm_err *err);
/* Frees w without sealing, index or footer (what a crash leaves; for tests). */
void trace_writer__abandon(struct trace_writer *w);
/* Number of exits appended so far (= the current event number). */
uint64_t trace_writer__event_no(const struct trace_writer *w);
const uint8_t *trace_writer__uuid(const struct trace_writer *w);
void trace_writer__stats(const struct trace_writer *w, struct trace_stats *st);
/* Message of the sticky error, or "" when none. */
const char *trace_writer__error(const struct trace_writer *w);

/* ---- reader ---------------------------------------------------------- */

struct trace_reader;

/* Opens and validates `header`, scans the chunk headers of `events`, checks
 * `index` against them (rebuilding it in memory when absent or wrong) and
 * reads `footer`. A truncated or unfinished trace opens fine: see status.
 * Errors: -ENOENT (message names the missing file), -EPROTONOSUPPORT (other
 * major; message names both versions), -EBADMSG (corrupt: file, offset, what). */
int trace_reader__open(struct trace_reader **r, const char *dir, struct rrvm_err *err);
void trace_reader__close(struct trace_reader *r);
const struct trace_header *trace_reader__header(const struct trace_reader *r);
/* 1 = *ev holds the next record; 0 = end of a cleanly closed trace;
 * -ENODATA = end of the readable prefix of a trace that did not finish
 * cleanly (message: where and why it ends); -EBADMSG corrupt chunk; -EIO.
 * Records of unknown type are skipped. */
int trace_reader__next(struct trace_reader *r, struct trace_event *ev, struct rrvm_err *err);
/* Positions before the first record whose event number is >= event_no (past
 * the end when there is none), loading only the chunk that holds it. */
int trace_reader__seek_event(struct trace_reader *r, uint64_t event_no, struct rrvm_err *err);
const struct trace_status *trace_reader__status(const struct trace_reader *r);
void trace_reader__stats(const struct trace_reader *r, struct trace_stats *st);
size_t trace_reader__n_chunks(const struct trace_reader *r);
const struct trace_chunk_info *trace_reader__chunk(const struct trace_reader *r, size_t i);
/* Rewrites `index` (atomically) from the chunks found, e.g. after a crash. */
int trace_reader__write_index(struct trace_reader *r, struct rrvm_err *err);

#endif
