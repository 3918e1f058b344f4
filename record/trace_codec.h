/* trace_codec.h — byte-level pieces of the trace format shared by writer, reader, tests and fuzzers (internal). */
#ifndef RRVM_TRACE_CODEC_H
#define RRVM_TRACE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record/trace.h"

/* ---- little-endian fields and LEB128 varints -------------------------- */

static inline void tc_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void tc_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tc_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t tc_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t tc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tc_get64(const uint8_t *p) { return tc_get32(p) | (uint64_t)tc_get32(p + 4) << 32; }

#define TC_VARINT_MAX 10
static inline size_t tc_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}
static inline size_t tc_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}
/* 0, or -1 when the varint runs past end or does not fit 64 bits. */
static inline int tc_varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	for (unsigned shift = 0; p < end; shift += 7) {
		uint8_t b = *p++;
		if (shift == 63 && b > 1)
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
		if (shift == 63)
			return -1;
	}
	return -1;
}
static inline uint64_t tc_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); }
static inline int64_t tc_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* CRC32C (Castagnoli, reflected, init and final xor ~0): crc32c(0, "123456789", 9) == 0xE3069283.
 * Chain calls by passing the previous result. */
uint32_t trace_codec__crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- event records ---------------------------------------------------- */

/* Decoder/encoder state, reset at every chunk start from its header (regs to
 * zero). TR_EXIT and TR_REGS change it. */
struct tc_state {
	uint64_t exits;       /* number of the latest exit */
	uint64_t time_ns;     /* its guest time */
	uint64_t addr;        /* its address (for the same-address flag) */
	int have_addr;        /* an exit was coded in this chunk: addr is valid */
	uint64_t regs[TRACE_NREGS]; /* the chunk's latest TR_REGS values (deltas start here) */
};

/* Longest encoded TR_EXIT: type, length, reason, flags, 4 varints, hash, value. */
#define TC_EXIT_MAX 64
/* Upper bound of the encoded size of ev. */
size_t trace_codec__max_size(const struct trace_event *ev);
/* Encodes ev (already validated) at dst, updating st; returns the bytes written. */
size_t trace_codec__encode(uint8_t *dst, const struct trace_event *ev, struct tc_state *st);
/* Decodes one record at *p (< end). Returns 1 for a known record in *ev, 0
 * for an unknown type skipped (ev->type holds it), -1 when corrupt (*why says
 * what). Advances *p past the record on 0 and 1. */
int trace_codec__decode(const uint8_t **p, const uint8_t *end, struct trace_event *ev, struct tc_state *st,
			const char **why);

/* ---- events file ------------------------------------------------------ */

#define TC_EVENTS_MAGIC "RRVMEVT"    /* + NUL: 8 bytes */
#define TC_EVENTS_PREAMBLE 32        /* magic, u16 major, u16 minor, uuid[16], u32 crc */
#define TC_CHUNK_MAGIC 0x4B484352u   /* "RCHK" little-endian */
#define TC_CHUNK_HDR_LEN 88
#define TC_CHUNK_HDR_MAX 4096        /* a later minor may grow the chunk header up to this */
#define TC_CHUNK_RAW_MAX (64u << 20)
#define TC_CODEC_STORED 0
#define TC_CODEC_LZ4 1

void trace_codec__events_preamble(uint8_t out[TC_EVENTS_PREAMBLE], const uint8_t uuid[TRACE_UUID_LEN]);
/* Encodes a chunk header (TC_CHUNK_HDR_LEN bytes) for ci with body checksum body_crc. */
void trace_codec__chunk_hdr_put(uint8_t *p, const struct trace_chunk_info *ci, uint32_t body_crc);
/* Decodes the first 8 bytes: returns the header length (>= TC_CHUNK_HDR_LEN), or -1 (bad magic/length). */
int trace_codec__chunk_hdr_len(const uint8_t *p);
/* Decodes a whole chunk header of hdr_len bytes: 0, or -1 with *why. */
int trace_codec__chunk_hdr_get(const uint8_t *p, uint32_t hdr_len, struct trace_chunk_info *ci,
			       uint32_t *body_crc, const char **why);

/* ---- section containers: header, index, footer ------------------------ */

#define TC_HEADER_MAGIC "RRVMTRC"
#define TC_INDEX_MAGIC "RRVMIDX"
#define TC_FOOTER_MAGIC "RRVMFTR"
#define TC_CONTAINER_PREAMBLE 16     /* magic[8], u16 major, u16 minor, u32 crc of the 12 bytes */
#define TC_SECTION_MAX (64u << 20)

/* A growable output buffer; `oom` latches an allocation failure. */
struct tc_buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};
void tc_buf_put(struct tc_buf *b, const void *data, size_t n);
void tc_buf_u8(struct tc_buf *b, uint8_t v);
void tc_buf_u16(struct tc_buf *b, uint16_t v);
void tc_buf_u32(struct tc_buf *b, uint32_t v);
void tc_buf_u64(struct tc_buf *b, uint64_t v);
void tc_buf_str(struct tc_buf *b, const char *s);      /* u32 length + bytes (NULL = empty) */
void tc_buf_container(struct tc_buf *b, const char *magic, uint16_t major, uint16_t minor);
/* Returns the section's start to pass to tc_buf_section_end. */
size_t tc_buf_section_begin(struct tc_buf *b, uint32_t id);
void tc_buf_section_end(struct tc_buf *b, size_t start);

/* A bounds-checked cursor over a section payload: reads past the end return
 * zero and set `bad`. */
struct tc_rd {
	const uint8_t *p, *end;
	int bad;
};
uint8_t tc_rd_u8(struct tc_rd *r);
uint16_t tc_rd_u16(struct tc_rd *r);
uint32_t tc_rd_u32(struct tc_rd *r);
uint64_t tc_rd_u64(struct tc_rd *r);
const uint8_t *tc_rd_bytes(struct tc_rd *r, size_t n);
/* A u32-length string copied into dst[cap] with NUL; too long or holding NUL sets bad. */
void tc_rd_str(struct tc_rd *r, char *dst, size_t cap);
/* Same, malloc'd; NULL (and bad when not oom) on failure. */
char *tc_rd_strdup(struct tc_rd *r);

struct tc_section {
	uint32_t id, len;
	const uint8_t *payload;
	size_t offset;           /* of the section start in the file */
};
/* Checks magic and the preamble's checksum, then the major version. file
 * names the file in messages. 0, -EBADMSG or -EPROTONOSUPPORT. */
int trace_codec__container_open(const uint8_t *buf, size_t len, const char *magic, const char *file,
				uint16_t *major, uint16_t *minor, struct rrvm_err *err);
/* Iterates sections from *off (start at TC_CONTAINER_PREAMBLE): 1 = *s holds
 * one, 0 = END section reached (and nothing follows), -EBADMSG otherwise. */
int trace_codec__container_next(const uint8_t *buf, size_t len, size_t *off, struct tc_section *s,
				const char *file, struct rrvm_err *err);

/* Header, index and footer payloads (record/trace_header.c). */
void trace_codec__header_encode(struct tc_buf *b, const struct trace_header *h);
int trace_codec__header_decode(const uint8_t *buf, size_t len, struct trace_header *h, struct rrvm_err *err);

void trace_codec__index_encode(struct tc_buf *b, const uint8_t uuid[TRACE_UUID_LEN], uint64_t covered,
			       const struct trace_chunk_info *c, size_t n);
/* *c is malloc'd. */
int trace_codec__index_decode(const uint8_t *buf, size_t len, const uint8_t uuid[TRACE_UUID_LEN],
			      uint64_t *covered, struct trace_chunk_info **c, size_t *n, struct rrvm_err *err);

/* The footer: final statistics (by_type, end reason and message included) and the events-file size. */
void trace_codec__footer_encode(struct tc_buf *b, const uint8_t uuid[TRACE_UUID_LEN], const struct trace_stats *st,
				uint64_t events_bytes);
int trace_codec__footer_decode(const uint8_t *buf, size_t len, const uint8_t uuid[TRACE_UUID_LEN],
			       struct trace_stats *st, uint64_t *events_bytes, struct rrvm_err *err);

/* Files inside the trace directory (always relative to dirfd: names from a
 * trace never escape it). write_atomic: name.tmp, fsync, rename, fsync dir. */
int trace_codec__write_atomic(int dirfd, const char *name, const void *buf, size_t len, struct rrvm_err *err);
/* Reads a whole file of at most max bytes into a malloc'd buffer. -ENOENT
 * with the name in the message when missing. */
int trace_codec__read_file(int dirfd, const char *name, size_t max, uint8_t **buf, size_t *len,
			   struct rrvm_err *err);

/* The byte string an event carries (the last field of its payload), or NULL. */
const uint8_t *trace_codec__blob(const struct trace_event *ev, uint32_t *len);

/* write(2) until all of buf is written: 0, -errno, or -EIO for a zero-length write. */
int trace_codec__write_all(int fd, const void *buf, size_t len);

#endif
