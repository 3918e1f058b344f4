/* trace_reader.c — reads a trace directory: validates the header, finds every complete chunk, yields records. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lz4.h>

#include "record/trace_codec.h"

#define HEADER_FILE_MAX (64u << 20)
#define INDEX_FILE_MAX (TC_SECTION_MAX + 4096u)

struct trace_reader {
	int dirfd, fd;
	struct trace_header h;
	struct trace_chunk_info *chunks;     /* every complete chunk, in file order */
	size_t n_chunks;
	struct trace_status status;
	struct trace_stats footer;           /* valid when has_footer */
	bool has_footer;
	/* Iteration. */
	size_t next_chunk;                   /* chunk to load when the current one is used up */
	const struct trace_chunk_info *cur;  /* loaded chunk or NULL */
	uint8_t *comp, *raw;
	size_t comp_cap, raw_cap;
	const uint8_t *p, *body, *end;       /* cursor in the loaded chunk's records */
	struct tc_state st;
	uint32_t recs, exits;                /* records / exits decoded from the loaded chunk */
	uint64_t unknown;
	int fail_rc;                         /* sticky read error until the next seek */
	char fail_msg[512];
};

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	uint8_t *p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

static void summary(struct trace_reader *r, const char *why)
{
	struct trace_status *s = &r->status;
	const char *tail = s->end == TRACE_END_CORRUPT ? "are readable before it" : "";
	if (s->end == TRACE_END_COMPLETE)
		snprintf(s->msg, sizeof(s->msg), "complete: %" PRIu64 " records, %" PRIu64 " events, %" PRIu64 " chunks",
			 s->n_records, s->last_event, s->n_chunks);
	else if (s->end == TRACE_END_UNFINISHED)
		snprintf(s->msg, sizeof(s->msg),
			 "recording did not finish cleanly%s%s; %" PRIu64 " complete records up to event %" PRIu64,
			 why ? ": " : "", why ? why : "", s->n_records, s->last_event);
	else
		snprintf(s->msg, sizeof(s->msg), "%s; recording did not finish cleanly; %" PRIu64
			 " complete records up to event %" PRIu64 " %s", why, s->n_records, s->last_event, tail);
}

/* Walks chunk headers from the preamble to the end of `events`, recording each
 * complete chunk; sets status.end to TRUNCATED or CORRUPT where it stops. */
static int scan_events(struct trace_reader *r, uint64_t size, struct rrvm_err *err)
{
	struct trace_status *s = &r->status;
	uint64_t off = TC_EVENTS_PREAMBLE;
	size_t cap = 0;
	uint8_t hb[TC_CHUNK_HDR_MAX];
	char why[300];

	why[0] = 0;
	while (off < size) {
		struct trace_chunk_info ci = { 0 };
		const char *bad = NULL;
		uint64_t left = size - off;
		int hl = -1, rc;
		uint32_t body_crc;

		if (left >= 8 && (rc = pread_all(r->fd, hb, 8, off)))
			return err__set(err, rc, "events: read at offset %" PRIu64 " failed: %s", off, strerror(-rc));
		if (left < 8) {
			/* torn inside the chunk header */
		} else if ((hl = trace_codec__chunk_hdr_len(hb)) < 0) {
			bad = "bad chunk magic or header length";
		} else if (left < (uint64_t)hl) {
			/* torn inside the chunk header */
		} else if ((rc = pread_all(r->fd, hb, (size_t)hl, off))) {
			return err__set(err, rc, "events: read at offset %" PRIu64 " failed: %s", off, strerror(-rc));
		} else if (trace_codec__chunk_hdr_get(hb, (uint32_t)hl, &ci, &body_crc, &bad) == 0) {
			const struct trace_chunk_info *pv = r->n_chunks ? &r->chunks[r->n_chunks - 1] : NULL;
			ci.offset = off;
			ci.hdr_len = (uint32_t)hl;
			ci.body_crc = body_crc;
			if (ci.seq != r->n_chunks || ci.base_event != (pv ? pv->last_event : 0) ||
			    ci.base_time_ns != (pv ? pv->last_time_ns : 0))
				bad = "chunk sequence or event numbers do not continue the previous chunk";
		}
		if (bad) {
			s->end = TRACE_END_CORRUPT;
			snprintf(why, sizeof(why), "events: offset %" PRIu64 ": %s", off, bad);
			break;
		}
		if (hl < 0 || left < (uint64_t)hl + ci.comp_len) {
			s->end = TRACE_END_TRUNCATED;
			snprintf(why, sizeof(why), "events: truncated at offset %" PRIu64 " (torn chunk %zu: %" PRIu64
				 " of %" PRIu64 " bytes present)", off, r->n_chunks, left,
				 hl < 0 ? (uint64_t)TC_CHUNK_HDR_LEN : (uint64_t)hl + ci.comp_len);
			break;
		}
		if (off + (uint64_t)hl + ci.comp_len == size) {
			/* The last chunk: a torn write may have left garbage of the right length. */
			if (grow(&r->comp, &r->comp_cap, ci.comp_len ? ci.comp_len : 1))
				return err__set(err, -ENOMEM, "events: out of memory");
			if ((rc = pread_all(r->fd, r->comp, ci.comp_len, off + (uint64_t)hl)))
				return err__set(err, rc, "events: read at offset %" PRIu64 " failed: %s", off, strerror(-rc));
			if (trace_codec__crc32c(0, r->comp, ci.comp_len) != body_crc) {
				s->end = TRACE_END_TRUNCATED;
				snprintf(why, sizeof(why), "events: truncated at offset %" PRIu64
					 " (last chunk %zu fails its checksum: torn write)", off, r->n_chunks);
				break;
			}
		}
		if (r->n_chunks == cap) {
			cap = cap ? 2 * cap : 64;
			struct trace_chunk_info *c = realloc(r->chunks, cap * sizeof(*c));
			if (!c)
				return err__set(err, -ENOMEM, "events: out of memory");
			r->chunks = c;
		}
		r->chunks[r->n_chunks++] = ci;
		s->n_records += ci.n_records;
		s->last_event = ci.last_event;
		off += (uint64_t)hl + ci.comp_len;
	}
	s->valid_bytes = off < size ? off : size;
	s->n_chunks = r->n_chunks;
	if (why[0])
		summary(r, why);
	return 0;
}

static int same_chunk(const struct trace_chunk_info *a, const struct trace_chunk_info *b)
{
	return a->seq == b->seq && a->offset == b->offset && a->base_event == b->base_event &&
	       a->base_time_ns == b->base_time_ns && a->first_event == b->first_event &&
	       a->last_event == b->last_event && a->first_time_ns == b->first_time_ns &&
	       a->last_time_ns == b->last_time_ns && a->n_records == b->n_records && a->n_exits == b->n_exits &&
	       a->raw_len == b->raw_len && a->comp_len == b->comp_len && a->codec == b->codec;
}

/* Checks `index` against the chunks found by the scan (which stay authoritative). */
static void check_index(struct trace_reader *r)
{
	struct trace_status *s = &r->status;
	struct trace_chunk_info *ix = NULL;
	struct rrvm_err e;
	uint8_t *buf;
	size_t len, n = 0;
	uint64_t covered = 0;
	int rc = trace_codec__read_file(r->dirfd, "index", INDEX_FILE_MAX, &buf, &len, &e);

	if (rc == -ENOENT) {
		s->index = TRACE_INDEX_ABSENT;
		snprintf(s->index_msg, sizeof(s->index_msg), "index: absent; rebuilt from %zu chunk headers",
			 r->n_chunks);
		return;
	}
	if (!rc)
		rc = trace_codec__index_decode(buf, len, r->h.uuid, &covered, &ix, &n, &e);
	free(buf);
	if (!rc) {
		size_t i;
		for (i = 0; i < n && i < r->n_chunks && same_chunk(&ix[i], &r->chunks[i]); i++)
			;
		uint64_t end = TC_EVENTS_PREAMBLE;
		if (n && i == n)   /* then n <= n_chunks */
			end = ix[n - 1].offset + r->chunks[n - 1].hdr_len + ix[n - 1].comp_len;
		if (i < n)
			rc = err__set(&e, -EBADMSG, "index: entry %zu (chunk at offset %" PRIu64 ") %s", i, ix[i].offset,
				      i < r->n_chunks ? "disagrees with the events file" : "is past the last complete chunk");
		else if (covered != end)
			rc = err__set(&e, -EBADMSG, "index: covered size %" PRIu64 " does not match its last chunk",
				      covered);
	}
	free(ix);
	if (rc) {
		s->index = TRACE_INDEX_BAD;
		snprintf(s->index_msg, sizeof(s->index_msg), "%.200s; ignored, rebuilt from chunk headers", e.msg);
	} else if (n < r->n_chunks) {
		s->index = TRACE_INDEX_STALE;
		snprintf(s->index_msg, sizeof(s->index_msg), "index: covers %zu of %zu chunks; rest rebuilt", n,
			 r->n_chunks);
	} else {
		s->index = TRACE_INDEX_OK;
		snprintf(s->index_msg, sizeof(s->index_msg), "index: ok (%zu chunks)", n);
	}
}

static void check_footer(struct trace_reader *r)
{
	struct trace_status *s = &r->status;
	struct rrvm_err e;
	uint8_t *buf;
	size_t len;
	uint64_t ev_bytes = 0;
	char why[300];
	int rc = trace_codec__read_file(r->dirfd, "footer", HEADER_FILE_MAX, &buf, &len, &e);

	if (!rc)
		rc = trace_codec__footer_decode(buf, len, r->h.uuid, &r->footer, &ev_bytes, &e);
	if (rc == -ENOENT && s->end == TRACE_END_COMPLETE) {
		s->end = TRACE_END_UNFINISHED;
		summary(r, "no footer");
	} else if (rc && rc != -ENOENT) {
		snprintf(why, sizeof(why), "footer unreadable (%.200s)", e.msg);
		if (s->end == TRACE_END_COMPLETE) {
			s->end = TRACE_END_UNFINISHED;
			summary(r, why);
		}
	} else if (!rc) {
		r->has_footer = true;
		if (s->end != TRACE_END_COMPLETE)
			; /* truncated after a clean close (a cut copy): keep the scan's verdict */
		else if (r->footer.records != s->n_records || r->footer.exits != s->last_event ||
			 r->footer.chunks != s->n_chunks || ev_bytes != s->file_bytes) {
			s->end = TRACE_END_TRUNCATED;
			snprintf(why, sizeof(why), "events: footer says %" PRIu64 " records in %" PRIu64 " bytes, file has %"
				 PRIu64 " in %" PRIu64 " (cut or appended to after close)", r->footer.records, ev_bytes,
				 s->n_records, s->file_bytes);
			summary(r, why);
		} else {
			summary(r, NULL);
		}
	}
	free(buf);
}

int trace_reader__open(struct trace_reader **rp, const char *dir, struct rrvm_err *err)
{
	uint8_t *buf = NULL, pre[TC_EVENTS_PREAMBLE];
	size_t len;
	struct stat st;
	int rc;

	*rp = NULL;
	struct trace_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return err__set(err, -ENOMEM, "%s: out of memory", dir);
	r->fd = -1;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		rc = err__set(err, -errno, "%s: cannot open trace directory: %s", dir, strerror(errno));
		goto fail;
	}
	if ((rc = trace_codec__read_file(r->dirfd, "header", HEADER_FILE_MAX, &buf, &len, err)))
		goto fail;
	rc = trace_codec__header_decode(buf, len, &r->h, err);
	free(buf);
	if (rc)
		goto fail;

	r->fd = openat(r->dirfd, "events", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0 || fstat(r->fd, &st)) {
		rc = err__set(err, -errno, "events: cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err__set(err, -EINVAL, "events: not a regular file");
		goto fail;
	}
	r->status.file_bytes = (uint64_t)st.st_size;
	if (st.st_size < TC_EVENTS_PREAMBLE) {
		r->status.end = TRACE_END_TRUNCATED;
		summary(r, "events: truncated at offset 0 (preamble incomplete)");
	} else {
		if ((rc = pread_all(r->fd, pre, sizeof(pre), 0))) {
			rc = err__set(err, rc, "events: read at offset 0 failed: %s", strerror(-rc));
			goto fail;
		}
		if (memcmp(pre, TC_EVENTS_MAGIC, 8)) {
			rc = err__set(err, -EBADMSG, "events: offset 0: bad magic (not an rrvm events file)");
			goto fail;
		}
		if (tc_get32(pre + 28) != trace_codec__crc32c(0, pre, 28)) {
			rc = err__set(err, -EBADMSG, "events: offset 28: preamble checksum mismatch");
			goto fail;
		}
		if (tc_get16(pre + 8) != TRACE_FORMAT_MAJOR) {
			rc = err__set(err, -EPROTONOSUPPORT,
				      "events: trace format version %u.%u; this rrvm reads version %u.x (writes %u.%u)",
				      tc_get16(pre + 8), tc_get16(pre + 10), TRACE_FORMAT_MAJOR, TRACE_FORMAT_MAJOR,
				      TRACE_FORMAT_MINOR);
			goto fail;
		}
		if (memcmp(pre + 12, r->h.uuid, TRACE_UUID_LEN)) {
			rc = err__set(err, -EBADMSG, "events: offset 12: uuid differs from the header's (files of "
				      "different traces?)");
			goto fail;
		}
		if ((rc = scan_events(r, (uint64_t)st.st_size, err)))
			goto fail;
	}
	check_index(r);
	if (r->status.end == TRACE_END_COMPLETE && r->status.valid_bytes == r->status.file_bytes)
		summary(r, NULL);
	check_footer(r);
	*rp = r;
	return 0;
fail:
	trace_reader__close(r);
	return rc;
}

void trace_reader__close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	trace_header__free(&r->h);
	free(r->chunks);
	free(r->comp);
	free(r->raw);
	free(r);
}

const struct trace_header *trace_reader__header(const struct trace_reader *r) { return &r->h; }
const struct trace_status *trace_reader__status(const struct trace_reader *r) { return &r->status; }
size_t trace_reader__n_chunks(const struct trace_reader *r) { return r->n_chunks; }
const struct trace_chunk_info *trace_reader__chunk(const struct trace_reader *r, size_t i)
{
	return i < r->n_chunks ? &r->chunks[i] : NULL;
}

void trace_reader__stats(const struct trace_reader *r, struct trace_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (r->has_footer) {
		*st = r->footer;
		st->by_type_valid = r->footer.by_type_valid && r->status.end == TRACE_END_COMPLETE;
	}
	st->records = r->status.n_records;
	st->exits = r->status.last_event;
	st->chunks = r->n_chunks;
	st->raw_bytes = st->comp_bytes = 0;
	for (size_t i = 0; i < r->n_chunks; i++) {
		st->raw_bytes += r->chunks[i].raw_len;
		st->comp_bytes += r->chunks[i].comp_len;
	}
	/* Without a footer: the time at the first record of the first chunk with an exit. */
	if (!r->has_footer)
		for (size_t i = 0; i < r->n_chunks; i++)
			if (r->chunks[i].n_exits) {
				st->first_time_ns = r->chunks[i].first_time_ns;
				break;
			}
	st->last_time_ns = r->n_chunks ? r->chunks[r->n_chunks - 1].last_time_ns : 0;
	st->unknown_records = r->unknown;
}

/* Reads, checks and decompresses chunk i, positioning before its first record. */
static int load_chunk(struct trace_reader *r, size_t i, struct rrvm_err *err)
{
	const struct trace_chunk_info *c = &r->chunks[i];
	int rc;

	r->cur = NULL;
	if (grow(&r->comp, &r->comp_cap, c->comp_len ? c->comp_len : 1))
		return err__set(err, -ENOMEM, "events: out of memory");
	if ((rc = pread_all(r->fd, r->comp, c->comp_len, c->offset + c->hdr_len)))
		return err__set(err, rc == -ENODATA ? -EBADMSG : rc, "events: chunk %" PRIu64 " at offset %" PRIu64
				": read failed: %s", c->seq, c->offset, rc == -ENODATA ? "file shrank" : strerror(-rc));
	if (trace_codec__crc32c(0, r->comp, c->comp_len) != c->body_crc)
		return err__set(err, -EBADMSG, "events: chunk %" PRIu64 " at offset %" PRIu64
				": body checksum mismatch (corrupt)", c->seq, c->offset);
	if (c->codec == TC_CODEC_LZ4) {
		if (grow(&r->raw, &r->raw_cap, c->raw_len))
			return err__set(err, -ENOMEM, "events: out of memory");
		int n = LZ4_decompress_safe((const char *)r->comp, (char *)r->raw, (int)c->comp_len, (int)c->raw_len);
		if (n != (int)c->raw_len)
			return err__set(err, -EBADMSG, "events: chunk %" PRIu64 " at offset %" PRIu64
					": LZ4 body does not decompress to %u bytes", c->seq, c->offset, c->raw_len);
		r->body = r->raw;
	} else {
		r->body = r->comp;
	}
	r->p = r->body;
	r->end = r->body + c->raw_len;
	memset(&r->st, 0, sizeof(r->st));
	r->st.exits = c->base_event;
	r->st.time_ns = c->base_time_ns;
	r->recs = r->exits = 0;
	r->cur = c;
	r->next_chunk = i + 1;
	return 0;
}

/* Remembers a read error: next() repeats it until a seek. */
static int sticky(struct trace_reader *r, int rc, struct rrvm_err *err)
{
	r->fail_rc = rc;
	snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", err ? err->msg : "events: read failed");
	r->cur = NULL;
	r->next_chunk = r->n_chunks;
	return rc;
}

static int corrupt(struct trace_reader *r, struct rrvm_err *err, const char *what)
{
	const struct trace_chunk_info *c = r->cur;
	struct rrvm_err e;
	int rc = err__set(&e, -EBADMSG, "events: chunk %" PRIu64 " at offset %" PRIu64 ", record %u (body offset %zu): %s",
			  c->seq, c->offset, r->recs, (size_t)(r->p - r->body), what);
	if (err)
		*err = e;
	return sticky(r, rc, &e);
}

/* Decodes the next record of the loaded chunk: 1, 0 at its end, <0 corrupt. */
static int decode_one(struct trace_reader *r, struct trace_event *ev, struct rrvm_err *err)
{
	const struct trace_chunk_info *c = r->cur;
	const char *why = NULL;

	while (r->p < r->end) {
		const uint8_t *at = r->p;
		int rc = trace_codec__decode(&r->p, r->end, ev, &r->st, &why);
		if (rc < 0) {
			r->p = at;
			return corrupt(r, err, why);
		}
		if (r->recs == 0 && (ev->event_no != c->first_event || ev->time_ns != c->first_time_ns)) {
			r->p = at;
			return corrupt(r, err, "first record disagrees with the chunk header");
		}
		if (++r->recs > c->n_records)
			return corrupt(r, err, "more records than the chunk header says");
		if (rc == 0) {
			r->unknown++;
			continue;
		}
		r->exits += ev->type == TR_EXIT;
		return 1;
	}
	if (r->recs != c->n_records || r->exits != c->n_exits || r->st.exits != c->last_event ||
	    r->st.time_ns != c->last_time_ns)
		return corrupt(r, err, "record counts or last event disagree with the chunk header");
	return 0;
}

/* load_chunk with the error made sticky. */
static int load(struct trace_reader *r, size_t i, struct rrvm_err *err)
{
	struct rrvm_err e;
	int rc = load_chunk(r, i, &e);
	if (rc) {
		if (err)
			*err = e;
		return sticky(r, rc, &e);
	}
	return 0;
}

int trace_reader__next(struct trace_reader *r, struct trace_event *ev, struct rrvm_err *err)
{
	if (r->fail_rc)
		return err__set(err, r->fail_rc, "%s", r->fail_msg);
	for (;;) {
		if (r->cur) {
			int rc = decode_one(r, ev, err);
			if (rc)
				return rc;
			r->cur = NULL;
		}
		if (r->next_chunk >= r->n_chunks)
			break;
		int rc = load(r, r->next_chunk, err);
		if (rc)
			return rc;
	}
	if (r->status.end == TRACE_END_COMPLETE)
		return 0;
	return err__set(err, r->status.end == TRACE_END_CORRUPT ? -EBADMSG : -ENODATA, "%s", r->status.msg);
}

int trace_reader__seek_event(struct trace_reader *r, uint64_t event_no, struct rrvm_err *err)
{
	size_t lo = 0, hi = r->n_chunks;
	struct trace_event ev;

	while (lo < hi) {       /* first chunk whose last record's event >= event_no */
		size_t mid = lo + (hi - lo) / 2;
		if (r->chunks[mid].last_event < event_no)
			lo = mid + 1;
		else
			hi = mid;
	}
	r->cur = NULL;
	r->fail_rc = 0;
	r->next_chunk = lo;
	if (lo == r->n_chunks)
		return 0;
	int rc = load(r, lo, err);
	if (rc)
		return rc;
	for (;;) {
		const uint8_t *p = r->p;
		struct tc_state st = r->st;
		uint32_t recs = r->recs, exits = r->exits;
		uint64_t unknown = r->unknown;
		rc = decode_one(r, &ev, err);
		if (rc < 0)
			return rc;
		if (rc == 0 || ev.event_no >= event_no) {
			/* Step back so that next() returns this record. */
			r->p = p;
			r->st = st;
			r->recs = recs;
			r->exits = exits;
			r->unknown = unknown;
			return 0;
		}
	}
}

int trace_reader__write_index(struct trace_reader *r, struct rrvm_err *err)
{
	struct tc_buf b = { 0 };
	uint64_t covered = r->n_chunks ? r->chunks[r->n_chunks - 1].offset + r->chunks[r->n_chunks - 1].hdr_len +
					       r->chunks[r->n_chunks - 1].comp_len
				       : TC_EVENTS_PREAMBLE;
	trace_codec__index_encode(&b, r->h.uuid, covered, r->chunks, r->n_chunks);
	int rc = b.oom ? err__set(err, -ENOMEM, "index: out of memory")
		       : trace_codec__write_atomic(r->dirfd, "index", b.p, b.len, err);
	free(b.p);
	if (!rc) {
		r->status.index = TRACE_INDEX_OK;
		snprintf(r->status.index_msg, sizeof(r->status.index_msg), "index: rewritten (%zu chunks)", r->n_chunks);
	}
	return rc;
}
