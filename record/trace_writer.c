/* trace_writer.c — appends event records to a trace directory in checksummed, LZ4-compressed chunks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lz4.h>

#include "record/trace_codec.h"

#ifndef RRVM_VERSION
#define RRVM_VERSION "unknown"
#endif

struct trace_writer {
	int dirfd, fd;
	uint8_t uuid[TRACE_UUID_LEN];
	uint32_t chunk_bytes, sync;
	uint8_t *raw;                    /* encoded records of the open chunk */
	size_t raw_len, raw_cap;
	uint8_t *out;                    /* chunk header + compressed body */
	size_t out_cap;
	struct tc_state st;              /* encoder state (reset at each chunk start) */
	struct trace_chunk_info cur;     /* the open chunk */
	uint64_t file_off;               /* bytes of `events` written in full */
	struct trace_chunk_info *chunks; /* chunks written, for the index */
	size_t n_chunks, cap_chunks;
	struct trace_stats stats;
	int failed;                      /* sticky -errno of a failed write */
	char errmsg[512];
	/* Disk space for the open chunk is allocated before its records are
	 * accepted (fallocate, KEEP_SIZE: invisible to readers), so a full disk
	 * stops the recording with every accepted event on disk. */
	uint64_t reserved_end;           /* `events` bytes allocated, >= file_off */
	int reserve;                     /* 1: the filesystem supports it */
};

static int fail(struct trace_writer *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct trace_writer *w, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	w->failed = rc;
	return rc;
}


static void chunk_reset(struct trace_writer *w)
{
	w->raw_len = 0;
	memset(&w->cur, 0, sizeof(w->cur));
	w->cur.base_event = w->st.exits;
	w->cur.base_time_ns = w->st.time_ns;
	w->st.have_addr = 0;
	memset(w->st.regs, 0, sizeof(w->st.regs));
}

/* Compresses the open chunk and writes header + body with one write(). On
 * failure the file is cut back to the last complete chunk (best effort) and
 * the writer fails stickily. */
static int seal(struct trace_writer *w)
{
	if (w->failed)
		return w->failed;
	if (!w->raw_len)
		return 0;
	struct trace_chunk_info ci = w->cur;
	int bound = LZ4_compressBound((int)w->raw_len);
	size_t need = TC_CHUNK_HDR_LEN + (size_t)bound;
	if (need > w->out_cap) {
		uint8_t *o = realloc(w->out, need);
		if (!o)
			return fail(w, -ENOMEM, "events: out of memory sealing chunk %zu", w->n_chunks);
		w->out = o;
		w->out_cap = need;
	}
	if (w->n_chunks == w->cap_chunks) {
		size_t cap = w->cap_chunks ? 2 * w->cap_chunks : 64;
		struct trace_chunk_info *c = realloc(w->chunks, cap * sizeof(*c));
		if (!c)
			return fail(w, -ENOMEM, "events: out of memory sealing chunk %zu", w->n_chunks);
		w->chunks = c;
		w->cap_chunks = cap;
	}
	ci.seq = w->n_chunks;
	ci.offset = w->file_off;
	ci.raw_len = (uint32_t)w->raw_len;
	int c = LZ4_compress_default((const char *)w->raw, (char *)w->out + TC_CHUNK_HDR_LEN, (int)w->raw_len, bound);
	if (c > 0 && (size_t)c < w->raw_len) {
		ci.codec = TC_CODEC_LZ4;
		ci.comp_len = (uint32_t)c;
	} else {
		ci.codec = TC_CODEC_STORED;
		ci.comp_len = ci.raw_len;
		memcpy(w->out + TC_CHUNK_HDR_LEN, w->raw, w->raw_len);
	}
	trace_codec__chunk_hdr_put(w->out, &ci, trace_codec__crc32c(0, w->out + TC_CHUNK_HDR_LEN, ci.comp_len));

	int rc = trace_codec__write_all(w->fd, w->out, TC_CHUNK_HDR_LEN + (size_t)ci.comp_len);
	if (rc) {
		if (ftruncate(w->fd, (off_t)w->file_off) == 0)
			lseek(w->fd, (off_t)w->file_off, SEEK_SET);
		return fail(w, rc, "events: writing chunk %llu (%u bytes) at offset %llu failed: %s; the trace ends "
			    "after event %llu", (unsigned long long)ci.seq, TC_CHUNK_HDR_LEN + ci.comp_len,
			    (unsigned long long)w->file_off, strerror(-rc), (unsigned long long)ci.base_event);
	}
	if (w->sync == TRACE_SYNC_CHUNK && fdatasync(w->fd))
		return fail(w, -errno, "events: fdatasync after chunk %llu failed: %s", (unsigned long long)ci.seq,
			    strerror(errno));
	w->chunks[w->n_chunks++] = ci;
	w->file_off += TC_CHUNK_HDR_LEN + (uint64_t)ci.comp_len;
	w->stats.chunks++;
	w->stats.raw_bytes += ci.raw_len;
	w->stats.comp_bytes += ci.comp_len;
	chunk_reset(w);
	return 0;
}

/* Makes sure the open chunk, grown by `need` raw bytes, fits in allocated
 * space (sealed uncompressed at worst). Asks for a chunk target more than
 * that at a time; when the disk cannot give it, for exactly that; when not
 * even that, seals the open chunk into the space it has and, if the record
 * still does not fit, fails with -ENOSPC: the trace then holds every record
 * accepted before. */
static int reserve_for(struct trace_writer *w, size_t need)
{
	if (!w->reserve)
		return 0;
	for (int sealed = 0;; sealed = 1) {
		uint64_t end = w->file_off + TC_CHUNK_HDR_LEN + w->raw_len + need;
		if (end <= w->reserved_end)
			return 0;
		uint64_t want[2] = { end + w->chunk_bytes, end };
		int nospace = 0;
		for (int i = 0; i < 2; i++) {
			if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->reserved_end,
				      (off_t)(want[i] - w->reserved_end)) == 0) {
				w->reserved_end = want[i];
				return 0;
			}
			if (errno == EINTR) {
				i--;              /* a kick signal (no SA_RESTART) landed: ask again */
				continue;
			}
			if (errno == EOPNOTSUPP || errno == ENOSYS) {
				w->reserve = 0;   /* this filesystem cannot: writes may fail as before */
				return 0;
			}
			if (errno != ENOSPC && errno != EDQUOT && errno != EFBIG)
				return fail(w, -errno, "events: cannot allocate disk space at offset %llu: %s",
					    (unsigned long long)w->reserved_end, strerror(errno));
			nospace = errno;
		}
		if (sealed || !w->raw_len)
			return fail(w, -nospace, "events: out of space (%s) after offset %llu; the trace holds every "
				    "event up to %llu", strerror(nospace), (unsigned long long)w->file_off,
				    (unsigned long long)w->st.exits);
		int rc = seal(w);
		if (rc)
			return rc;
	}
}

int trace_writer__append(struct trace_writer *w, const struct trace_event *ev)
{
	uint32_t blen;
	const uint8_t *b;
	int exit = ev->type == TR_EXIT;

	if (w->failed)
		return w->failed;
	if (ev->type == 0 || ev->type >= TR__COUNT)
		return -EINVAL;
	if (exit ? (ev->event_no && ev->event_no != w->st.exits + 1) || ev->u.exit.dir > TRACE_DIR_OUT ||
			   w->st.exits == UINT64_MAX
		 : ev->event_no != w->st.exits)
		return -EINVAL;
	b = trace_codec__blob(ev, &blen);
	if (blen > TRACE_MAX_BYTES)
		return -E2BIG;
	if (blen && !b)
		return -EINVAL;

	size_t need = trace_codec__max_size(ev);
	if (w->raw_len + need > w->chunk_bytes && w->raw_len) {
		int rc = seal(w);
		if (rc)
			return rc;
	}
	int rrc = reserve_for(w, need);
	if (rrc)
		return rrc;
	if (need > w->raw_cap) {
		uint8_t *r = realloc(w->raw, need);
		if (!r)
			return -ENOMEM;
		w->raw = r;
		w->raw_cap = need;
	}
	if (w->cur.n_records == 0) {
		w->cur.first_event = w->st.exits + (uint64_t)exit;
		w->cur.first_time_ns = exit ? ev->time_ns : w->st.time_ns;
	}
	w->raw_len += trace_codec__encode(w->raw + w->raw_len, ev, &w->st);
	w->cur.n_records++;
	w->cur.n_exits += (uint32_t)exit;
	w->cur.last_event = w->st.exits;
	w->cur.last_time_ns = w->st.time_ns;

	w->stats.records++;
	w->stats.by_type[ev->type]++;
	if (exit) {
		if (w->stats.exits++ == 0)
			w->stats.first_time_ns = ev->time_ns;
		w->stats.last_time_ns = ev->time_ns;
	} else if (ev->type == TR_STOP) {
		size_t n = blen < sizeof(w->stats.end_msg) - 1 ? blen : sizeof(w->stats.end_msg) - 1;
		w->stats.end_reason = ev->u.stop.reason;
		w->stats.end_status = ev->u.stop.status;
		if (n)
			memcpy(w->stats.end_msg, b, n);
		w->stats.end_msg[n] = 0;
	}
	return 0;
}

int trace_writer__flush(struct trace_writer *w)
{
	return seal(w);
}

int trace_writer__sync(struct trace_writer *w)
{
	int rc = seal(w);
	if (!rc && fdatasync(w->fd))
		rc = fail(w, -errno, "events: fdatasync failed: %s", strerror(errno));
	return rc;
}

uint64_t trace_writer__event_no(const struct trace_writer *w) { return w->st.exits; }
const uint8_t *trace_writer__uuid(const struct trace_writer *w) { return w->uuid; }
const char *trace_writer__error(const struct trace_writer *w) { return w->errmsg; }

void trace_writer__stats(const struct trace_writer *w, struct trace_stats *st)
{
	*st = w->stats;
	st->by_type_valid = true;
	st->has_end = w->stats.by_type[TR_STOP] > 0;
}

static void writer_free(struct trace_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w->raw);
	free(w->out);
	free(w->chunks);
	free(w);
}

void trace_writer__abandon(struct trace_writer *w)
{
	if (w)
		writer_free(w);
}

int trace_writer__close(struct trace_writer *w, struct rrvm_err *err)
{
	struct tc_buf b = { 0 };
	struct rrvm_err e2;
	int rc = seal(w);

	/* Give back the allocation past the data: index and footer may need it. */
	if (w->reserve && w->reserved_end > w->file_off)
		fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)w->file_off,
			  (off_t)(w->reserved_end - w->file_off));

	if (!rc && fsync(w->fd))
		rc = fail(w, -errno, "events: fsync failed: %s", strerror(errno));
	/* The index describes the chunks on disk even after a failure. */
	trace_codec__index_encode(&b, w->uuid, w->file_off, w->chunks, w->n_chunks);
	int irc = b.oom ? err__set(&e2, -ENOMEM, "index: out of memory")
			: trace_codec__write_atomic(w->dirfd, "index", b.p, b.len, &e2);
	if (!rc && irc)
		rc = fail(w, irc, "%s", e2.msg);
	if (!rc) {
		struct trace_stats st;
		trace_writer__stats(w, &st);
		b.len = 0;
		trace_codec__footer_encode(&b, w->uuid, &st, w->file_off);
		int frc = b.oom ? err__set(&e2, -ENOMEM, "footer: out of memory")
				: trace_codec__write_atomic(w->dirfd, "footer", b.p, b.len, &e2);
		if (frc)
			rc = fail(w, frc, "%s", e2.msg);
	}
	free(b.p);
	if (rc)
		err__set(err, rc, "%s", w->errmsg);
	writer_free(w);
	return rc;
}

/* Creates dir 0700, or accepts an existing empty directory. */
static int make_dir(const char *dir, struct rrvm_err *err)
{
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return err__set(err, -errno, "%s: cannot create trace directory: %s", dir, strerror(errno));
	DIR *d = opendir(dir);
	if (!d)
		return err__set(err, -errno, "%s: exists and cannot be opened: %s", dir, strerror(errno));
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	if (!empty)
		return err__set(err, -EEXIST, "%s: exists and is not empty; refusing to overwrite", dir);
	return 0;
}

int trace_writer__open(struct trace_writer **wp, const char *dir, const struct trace_header *h,
		       struct rrvm_err *err)
{
	return trace_writer__open_opts(wp, dir, h, NULL, err);
}

int trace_writer__open_opts(struct trace_writer **wp, const char *dir, const struct trace_header *h,
			    const struct trace_writer_opts *opts, struct rrvm_err *err)
{
	struct trace_header hh = *h;   /* shallow: defaults filled in, arrays shared */
	struct tc_buf b = { 0 };
	uint8_t pre[TC_EVENTS_PREAMBLE];
	static const uint8_t zero[TRACE_UUID_LEN];
	int rc;

	*wp = NULL;
	if (h->n_images > TRACE_MAX_IMAGES || h->n_cpuid > TRACE_MAX_CPUID || h->n_caps > TRACE_MAX_CAPS ||
	    memchr(h->rrvm_version, 0, TRACE_NAME_MAX) == NULL || memchr(h->cpu_profile, 0, TRACE_NAME_MAX) == NULL)
		return err__set(err, -EINVAL, "%s: trace header has out-of-range fields", dir);
	struct trace_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return err__set(err, -ENOMEM, "%s: out of memory", dir);
	w->fd = w->dirfd = -1;
	w->chunk_bytes = opts && opts->chunk_bytes ? opts->chunk_bytes : TRACE_DEFAULT_CHUNK;
	if (w->chunk_bytes < TRACE_MIN_CHUNK)
		w->chunk_bytes = TRACE_MIN_CHUNK;
	if (w->chunk_bytes > TRACE_MAX_CHUNK)
		w->chunk_bytes = TRACE_MAX_CHUNK;
	w->sync = opts ? opts->sync : TRACE_SYNC_CLOSE;
	w->raw_cap = w->chunk_bytes;
	if (!(w->raw = malloc(w->raw_cap))) {
		rc = err__set(err, -ENOMEM, "%s: out of memory", dir);
		goto fail;
	}

	if (!memcmp(hh.uuid, zero, TRACE_UUID_LEN)) {
		size_t got = 0;
		while (got < TRACE_UUID_LEN) {
			ssize_t n = getrandom(hh.uuid + got, TRACE_UUID_LEN - got, 0);
			if (n < 0 && errno != EINTR) {
				rc = err__set(err, -errno, "getrandom for the trace uuid: %s", strerror(errno));
				goto fail;
			}
			got += n > 0 ? (size_t)n : 0;
		}
		hh.uuid[6] = (uint8_t)((hh.uuid[6] & 0x0f) | 0x40);   /* RFC 4122 version 4 */
		hh.uuid[8] = (uint8_t)((hh.uuid[8] & 0x3f) | 0x80);
	}
	memcpy(w->uuid, hh.uuid, TRACE_UUID_LEN);
	if (!hh.rrvm_version[0])
		snprintf(hh.rrvm_version, sizeof(hh.rrvm_version), "%s", RRVM_VERSION);
	if (!hh.created_sec) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		hh.created_sec = ts.tv_sec;
		hh.created_nsec = (uint32_t)ts.tv_nsec;
	}
	hh.chunk_bytes = w->chunk_bytes;

	if ((rc = make_dir(dir, err)))
		goto fail;
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = err__set(err, -errno, "%s: cannot open: %s", dir, strerror(errno));
		goto fail;
	}
	trace_codec__header_encode(&b, &hh);
	if (b.oom) {
		rc = err__set(err, -ENOMEM, "header: out of memory");
		goto fail;
	}
	if ((rc = trace_codec__write_atomic(w->dirfd, "header", b.p, b.len, err)))
		goto fail;
	w->fd = openat(w->dirfd, "events", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		rc = err__set(err, -errno, "events: cannot create: %s", strerror(errno));
		goto fail;
	}
	trace_codec__events_preamble(pre, w->uuid);
	if ((rc = trace_codec__write_all(w->fd, pre, sizeof(pre)))) {
		err__set(err, rc, "events: writing the preamble failed: %s", strerror(-rc));
		goto fail;
	}
	w->file_off = sizeof(pre);
	w->reserved_end = w->file_off;
	w->reserve = 1;
	chunk_reset(w);
	free(b.p);
	*wp = w;
	return 0;
fail:
	free(b.p);
	writer_free(w);
	return rc;
}
