/* trace_header.c — the trace's section files (header, index, footer) and the header struct's helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/trace_codec.h"

/* Header section ids (FORMAT.md "header"). Never renumber. */
enum {
	HS_END = 0, HS_UUID = 1, HS_VERSION = 2, HS_CREATED = 3, HS_MACHINE = 4, HS_CPU = 5,
	HS_IMAGES = 6, HS_CMDLINE = 7, HS_CLOCK = 8, HS_HOSTCAPS = 9, HS_FORMAT = 10,
};
/* Index and footer section ids. */
enum { XS_UUID = 1, XS_CHUNKS = 2 };
enum { FS_UUID = 1, FS_STATS = 2, FS_BYTYPE = 3, FS_END = 4 };

#define INDEX_ENTRY_LEN 84

/* ---- struct trace_header helpers --------------------------------------------- */

void trace_header__free(struct trace_header *h)
{
	free(h->cpuid);
	free(h->cmdline);
	for (uint32_t i = 0; i < h->n_caps; i++) {
		free(h->caps[i].key);
		free(h->caps[i].value);
	}
	free(h->caps);
	memset(h, 0, sizeof(*h));
}

int trace_header__set_cmdline(struct trace_header *h, const char *cmdline)
{
	char *c = cmdline ? strdup(cmdline) : NULL;
	if (cmdline && !c)
		return -ENOMEM;
	free(h->cmdline);
	h->cmdline = c;
	return 0;
}

int trace_header__set_cpuid(struct trace_header *h, const struct trace_cpuid_entry *e, uint32_t n)
{
	struct trace_cpuid_entry *c = NULL;
	if (n > TRACE_MAX_CPUID)
		return -E2BIG;
	if (n) {
		c = malloc(n * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memcpy(c, e, n * sizeof(*c));
	}
	free(h->cpuid);
	h->cpuid = c;
	h->n_cpuid = n;
	return 0;
}

int trace_header__add_cap(struct trace_header *h, const char *key, const char *value)
{
	if (h->n_caps >= TRACE_MAX_CAPS)
		return -E2BIG;
	struct trace_kv *kv = realloc(h->caps, (h->n_caps + 1) * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	h->caps = kv;
	kv[h->n_caps].key = strdup(key);
	kv[h->n_caps].value = strdup(value);
	if (!kv[h->n_caps].key || !kv[h->n_caps].value) {
		free(kv[h->n_caps].key);
		free(kv[h->n_caps].value);
		return -ENOMEM;
	}
	h->n_caps++;
	return 0;
}

int trace_header__copy(struct trace_header *dst, const struct trace_header *src)
{
	*dst = *src;
	dst->cpuid = NULL;
	dst->cmdline = NULL;
	dst->caps = NULL;
	dst->n_cpuid = dst->n_caps = 0;
	int rc = trace_header__set_cpuid(dst, src->cpuid, src->n_cpuid);
	if (!rc)
		rc = trace_header__set_cmdline(dst, src->cmdline);
	for (uint32_t i = 0; !rc && i < src->n_caps; i++)
		rc = trace_header__add_cap(dst, src->caps[i].key, src->caps[i].value);
	if (rc)
		trace_header__free(dst);
	return rc;
}

/* ---- header file ------------------------------------------------------------- */

void trace_codec__header_encode(struct tc_buf *b, const struct trace_header *h)
{
	size_t s;
	tc_buf_container(b, TC_HEADER_MAGIC, TRACE_FORMAT_MAJOR, TRACE_FORMAT_MINOR);

	s = tc_buf_section_begin(b, HS_UUID);
	tc_buf_put(b, h->uuid, TRACE_UUID_LEN);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_VERSION);
	tc_buf_str(b, h->rrvm_version);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_CREATED);
	tc_buf_u64(b, (uint64_t)h->created_sec);
	tc_buf_u32(b, h->created_nsec);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_MACHINE);
	tc_buf_u64(b, h->ram_bytes);
	tc_buf_u32(b, h->n_vcpus);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_CPU);
	tc_buf_str(b, h->cpu_profile);
	tc_buf_u32(b, h->n_cpuid);
	for (uint32_t i = 0; i < h->n_cpuid; i++) {
		const struct trace_cpuid_entry *e = &h->cpuid[i];
		tc_buf_u32(b, e->function);
		tc_buf_u32(b, e->index);
		tc_buf_u32(b, e->flags);
		tc_buf_u32(b, e->eax);
		tc_buf_u32(b, e->ebx);
		tc_buf_u32(b, e->ecx);
		tc_buf_u32(b, e->edx);
	}
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_IMAGES);
	tc_buf_u32(b, h->n_images);
	for (uint32_t i = 0; i < h->n_images && i < TRACE_MAX_IMAGES; i++) {
		tc_buf_u32(b, h->images[i].kind);
		tc_buf_u64(b, h->images[i].size);
		tc_buf_put(b, h->images[i].sha256, 32);
		tc_buf_str(b, h->images[i].name);
	}
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_CMDLINE);
	tc_buf_str(b, h->cmdline);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_CLOCK);
	tc_buf_u32(b, h->clock_mode);
	tc_buf_u64(b, h->quantum_ns);
	tc_buf_u64(b, h->wallclock_ns);
	tc_buf_u64(b, h->tsc_hz);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_HOSTCAPS);
	tc_buf_u32(b, h->n_caps);
	for (uint32_t i = 0; i < h->n_caps; i++) {
		tc_buf_str(b, h->caps[i].key);
		tc_buf_str(b, h->caps[i].value);
	}
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_FORMAT);
	tc_buf_u32(b, h->chunk_bytes);
	tc_buf_u64(b, h->quirks);
	tc_buf_section_end(b, s);

	s = tc_buf_section_begin(b, HS_END);
	tc_buf_section_end(b, s);
}

/* Parses one known header section into h. */
static int header_section(const struct tc_section *sec, struct trace_header *h, struct rrvm_err *err)
{
	struct tc_rd r = { sec->payload, sec->payload + sec->len, 0 };
	const uint8_t *p;
	uint32_t n;

	switch (sec->id) {
	case HS_UUID:
		if ((p = tc_rd_bytes(&r, TRACE_UUID_LEN)))
			memcpy(h->uuid, p, TRACE_UUID_LEN);
		break;
	case HS_VERSION:
		tc_rd_str(&r, h->rrvm_version, sizeof(h->rrvm_version));
		break;
	case HS_CREATED:
		h->created_sec = (int64_t)tc_rd_u64(&r);
		h->created_nsec = tc_rd_u32(&r);
		if (h->created_nsec >= 1000000000u)
			r.bad = 1;
		break;
	case HS_MACHINE:
		h->ram_bytes = tc_rd_u64(&r);
		h->n_vcpus = tc_rd_u32(&r);
		break;
	case HS_CPU:
		tc_rd_str(&r, h->cpu_profile, sizeof(h->cpu_profile));
		n = tc_rd_u32(&r);
		if (r.bad || n > TRACE_MAX_CPUID || (size_t)(r.end - r.p) < (size_t)n * 28) {
			r.bad = 1;
			break;
		}
		if (n && !(h->cpuid = calloc(n, sizeof(*h->cpuid))))
			return err__set(err, -ENOMEM, "header: out of memory");
		h->n_cpuid = n;
		for (uint32_t i = 0; i < n; i++) {
			struct trace_cpuid_entry *e = &h->cpuid[i];
			e->function = tc_rd_u32(&r);
			e->index = tc_rd_u32(&r);
			e->flags = tc_rd_u32(&r);
			e->eax = tc_rd_u32(&r);
			e->ebx = tc_rd_u32(&r);
			e->ecx = tc_rd_u32(&r);
			e->edx = tc_rd_u32(&r);
		}
		break;
	case HS_IMAGES:
		n = tc_rd_u32(&r);
		if (n > TRACE_MAX_IMAGES) {
			r.bad = 1;
			break;
		}
		for (uint32_t i = 0; i < n && !r.bad; i++) {
			struct trace_image *im = &h->images[i];
			im->kind = tc_rd_u32(&r);
			im->size = tc_rd_u64(&r);
			if ((p = tc_rd_bytes(&r, 32)))
				memcpy(im->sha256, p, 32);
			tc_rd_str(&r, im->name, sizeof(im->name));
		}
		h->n_images = n;
		break;
	case HS_CMDLINE:
		h->cmdline = tc_rd_strdup(&r);
		if (!h->cmdline && !r.bad)
			return err__set(err, -ENOMEM, "header: out of memory");
		break;
	case HS_CLOCK:
		h->clock_mode = tc_rd_u32(&r);
		h->quantum_ns = tc_rd_u64(&r);
		h->wallclock_ns = tc_rd_u64(&r);
		h->tsc_hz = tc_rd_u64(&r);
		break;
	case HS_HOSTCAPS:
		n = tc_rd_u32(&r);
		if (r.bad || n > TRACE_MAX_CAPS || (size_t)(r.end - r.p) < (size_t)n * 8) {
			r.bad = 1;
			break;
		}
		if (n && !(h->caps = calloc(n, sizeof(*h->caps))))
			return err__set(err, -ENOMEM, "header: out of memory");
		for (uint32_t i = 0; i < n && !r.bad; i++) {
			h->caps[i].key = tc_rd_strdup(&r);
			h->caps[i].value = tc_rd_strdup(&r);
			h->n_caps = i + 1;
			if (!r.bad && (!h->caps[i].key || !h->caps[i].value))
				return err__set(err, -ENOMEM, "header: out of memory");
		}
		break;
	case HS_FORMAT:
		h->chunk_bytes = tc_rd_u32(&r);
		h->quirks = tc_rd_u64(&r);
		break;
	}
	if (r.bad)
		return err__set(err, -EBADMSG, "header: offset %zu: section %u is malformed (%u bytes)", sec->offset,
				sec->id, sec->len);
	return 0;
}

int trace_codec__header_decode(const uint8_t *buf, size_t len, struct trace_header *h, struct rrvm_err *err)
{
	static const uint32_t required = 1u << HS_UUID | 1u << HS_VERSION | 1u << HS_MACHINE | 1u << HS_CPU |
					 1u << HS_CLOCK;
	static const char *const names[] = { [HS_UUID] = "uuid", [HS_VERSION] = "version",
					     [HS_MACHINE] = "machine", [HS_CPU] = "cpu", [HS_CLOCK] = "clock" };
	struct tc_section sec;
	uint32_t seen = 0;
	size_t off = TC_CONTAINER_PREAMBLE;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = trace_codec__container_open(buf, len, TC_HEADER_MAGIC, "header", &h->major, &h->minor, err);
	if (rc)
		return rc;
	while ((rc = trace_codec__container_next(buf, len, &off, &sec, "header", err)) == 1) {
		if (sec.id > HS_FORMAT)
			continue;   /* a section from a newer minor version: skip */
		if (seen & (1u << sec.id)) {
			rc = err__set(err, -EBADMSG, "header: offset %zu: section %u appears twice", sec.offset, sec.id);
			break;
		}
		seen |= 1u << sec.id;
		if ((rc = header_section(&sec, h, err)))
			break;
	}
	if (rc == 0 && (seen & required) != required) {
		for (uint32_t id = 1; id <= HS_CLOCK; id++)
			if ((required & (1u << id)) && !(seen & (1u << id))) {
				rc = err__set(err, -EBADMSG, "header: required section %u (%s) missing", id, names[id]);
				break;
			}
	}
	if (rc < 0) {
		uint16_t maj = h->major, min = h->minor;
		trace_header__free(h);
		h->major = maj;
		h->minor = min;
	}
	return rc < 0 ? rc : 0;
}

/* ---- index file -------------------------------------------------------------- */

void trace_codec__index_encode(struct tc_buf *b, const uint8_t uuid[TRACE_UUID_LEN], uint64_t covered,
			       const struct trace_chunk_info *c, size_t n)
{
	size_t s;
	tc_buf_container(b, TC_INDEX_MAGIC, TRACE_FORMAT_MAJOR, TRACE_FORMAT_MINOR);
	s = tc_buf_section_begin(b, XS_UUID);
	tc_buf_put(b, uuid, TRACE_UUID_LEN);
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, XS_CHUNKS);
	tc_buf_u64(b, covered);
	tc_buf_u32(b, INDEX_ENTRY_LEN);
	tc_buf_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		tc_buf_u64(b, c[i].seq);
		tc_buf_u64(b, c[i].offset);
		tc_buf_u64(b, c[i].base_event);
		tc_buf_u64(b, c[i].base_time_ns);
		tc_buf_u64(b, c[i].first_event);
		tc_buf_u64(b, c[i].last_event);
		tc_buf_u64(b, c[i].first_time_ns);
		tc_buf_u64(b, c[i].last_time_ns);
		tc_buf_u32(b, c[i].n_records);
		tc_buf_u32(b, c[i].n_exits);
		tc_buf_u32(b, c[i].raw_len);
		tc_buf_u32(b, c[i].comp_len);
		tc_buf_u32(b, c[i].codec);
	}
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, 0);
	tc_buf_section_end(b, s);
}

int trace_codec__index_decode(const uint8_t *buf, size_t len, const uint8_t uuid[TRACE_UUID_LEN],
			      uint64_t *covered, struct trace_chunk_info **out, size_t *nout, struct rrvm_err *err)
{
	struct tc_section sec;
	size_t off = TC_CONTAINER_PREAMBLE;
	uint16_t maj, min;
	int rc, got_uuid = 0, got_chunks = 0;

	*out = NULL;
	*nout = 0;
	rc = trace_codec__container_open(buf, len, TC_INDEX_MAGIC, "index", &maj, &min, err);
	while (rc == 0 && (rc = trace_codec__container_next(buf, len, &off, &sec, "index", err)) == 1) {
		struct tc_rd r = { sec.payload, sec.payload + sec.len, 0 };
		rc = 0;
		if (sec.id == XS_UUID) {
			const uint8_t *u = tc_rd_bytes(&r, TRACE_UUID_LEN);
			if (u && memcmp(u, uuid, TRACE_UUID_LEN))
				rc = err__set(err, -EBADMSG, "index: offset %zu: uuid differs from the header's",
					      sec.offset);
			got_uuid = 1;
		} else if (sec.id == XS_CHUNKS && !got_chunks) {
			*covered = tc_rd_u64(&r);
			uint32_t esz = tc_rd_u32(&r), n = tc_rd_u32(&r);
			if (r.bad || esz < INDEX_ENTRY_LEN || esz > 4096 || (size_t)(r.end - r.p) / esz < n) {
				r.bad = 1;
			} else if (n && !(*out = calloc(n, sizeof(**out)))) {
				return err__set(err, -ENOMEM, "index: out of memory");
			}
			for (uint32_t i = 0; i < n && !r.bad; i++) {
				struct trace_chunk_info *c = &(*out)[i];
				const uint8_t *e = tc_rd_bytes(&r, esz);
				struct tc_rd er = { e, e + esz, 0 };
				c->seq = tc_rd_u64(&er);
				c->offset = tc_rd_u64(&er);
				c->base_event = tc_rd_u64(&er);
				c->base_time_ns = tc_rd_u64(&er);
				c->first_event = tc_rd_u64(&er);
				c->last_event = tc_rd_u64(&er);
				c->first_time_ns = tc_rd_u64(&er);
				c->last_time_ns = tc_rd_u64(&er);
				c->n_records = tc_rd_u32(&er);
				c->n_exits = tc_rd_u32(&er);
				c->raw_len = tc_rd_u32(&er);
				c->comp_len = tc_rd_u32(&er);
				c->codec = tc_rd_u32(&er);
				*nout = i + 1;
			}
			got_chunks = 1;
		} else {
			continue;
		}
		if (!rc && r.bad)
			rc = err__set(err, -EBADMSG, "index: offset %zu: section %u is malformed", sec.offset, sec.id);
	}
	if (rc == 0 && (!got_uuid || !got_chunks))
		rc = err__set(err, -EBADMSG, "index: uuid or chunk list section missing");
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*nout = 0;
		return rc;
	}
	return 0;
}

/* ---- footer file ------------------------------------------------------------- */

void trace_codec__footer_encode(struct tc_buf *b, const uint8_t uuid[TRACE_UUID_LEN], const struct trace_stats *st,
				uint64_t events_bytes)
{
	size_t s;
	tc_buf_container(b, TC_FOOTER_MAGIC, TRACE_FORMAT_MAJOR, TRACE_FORMAT_MINOR);
	s = tc_buf_section_begin(b, FS_UUID);
	tc_buf_put(b, uuid, TRACE_UUID_LEN);
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, FS_STATS);
	tc_buf_u64(b, st->records);
	tc_buf_u64(b, st->exits);
	tc_buf_u64(b, st->chunks);
	tc_buf_u64(b, st->raw_bytes);
	tc_buf_u64(b, st->comp_bytes);
	tc_buf_u64(b, st->first_time_ns);
	tc_buf_u64(b, st->last_time_ns);
	tc_buf_u64(b, events_bytes);
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, FS_BYTYPE);
	tc_buf_u32(b, TR__COUNT);
	for (uint32_t t = 0; t < TR__COUNT; t++)
		tc_buf_u64(b, st->by_type[t]);
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, FS_END);
	tc_buf_u32(b, st->end_reason);
	tc_buf_u64(b, (uint64_t)st->end_status);
	tc_buf_str(b, st->end_msg);
	tc_buf_section_end(b, s);
	s = tc_buf_section_begin(b, 0);
	tc_buf_section_end(b, s);
}

int trace_codec__footer_decode(const uint8_t *buf, size_t len, const uint8_t uuid[TRACE_UUID_LEN],
			       struct trace_stats *st, uint64_t *events_bytes, struct rrvm_err *err)
{
	struct tc_section sec;
	size_t off = TC_CONTAINER_PREAMBLE;
	uint16_t maj, min;
	unsigned seen = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = trace_codec__container_open(buf, len, TC_FOOTER_MAGIC, "footer", &maj, &min, err);
	while (rc == 0 && (rc = trace_codec__container_next(buf, len, &off, &sec, "footer", err)) == 1) {
		struct tc_rd r = { sec.payload, sec.payload + sec.len, 0 };
		rc = 0;
		if (sec.id > FS_END)
			continue;
		seen |= 1u << sec.id;
		switch (sec.id) {
		case FS_UUID: {
			const uint8_t *u = tc_rd_bytes(&r, TRACE_UUID_LEN);
			if (u && memcmp(u, uuid, TRACE_UUID_LEN))
				return err__set(err, -EBADMSG, "footer: offset %zu: uuid differs from the header's",
						sec.offset);
			break;
		}
		case FS_STATS:
			st->records = tc_rd_u64(&r);
			st->exits = tc_rd_u64(&r);
			st->chunks = tc_rd_u64(&r);
			st->raw_bytes = tc_rd_u64(&r);
			st->comp_bytes = tc_rd_u64(&r);
			st->first_time_ns = tc_rd_u64(&r);
			st->last_time_ns = tc_rd_u64(&r);
			*events_bytes = tc_rd_u64(&r);
			break;
		case FS_BYTYPE: {
			uint32_t n = tc_rd_u32(&r);
			if (n > 256)
				r.bad = 1;
			for (uint32_t t = 0; t < n && !r.bad; t++)
				st->by_type[t] = tc_rd_u64(&r);
			st->by_type_valid = !r.bad;
			break;
		}
		case FS_END: {
			st->end_reason = tc_rd_u32(&r);
			st->end_status = (int64_t)tc_rd_u64(&r);
			char *m = tc_rd_strdup(&r);
			if (m) {
				snprintf(st->end_msg, sizeof(st->end_msg), "%s", m);
				free(m);
			}
			st->has_end = !r.bad;
			break;
		}
		}
		if (r.bad)
			return err__set(err, -EBADMSG, "footer: offset %zu: section %u is malformed", sec.offset,
					sec.id);
	}
	if (rc == 0 && (seen & 0x1e) != 0x1e)
		rc = err__set(err, -EBADMSG, "footer: a required section is missing");
	return rc < 0 ? rc : 0;
}

/* ---- files ------------------------------------------------------------------- */

int trace_codec__write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}


int trace_codec__write_atomic(int dirfd, const char *name, const void *buf, size_t len, struct rrvm_err *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err__set(err, -errno, "%s: cannot create: %s", tmp, strerror(errno));
	int rc = trace_codec__write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, name))
		rc = -errno;
	if (rc) {
		unlinkat(dirfd, tmp, 0);
		return err__set(err, rc, "%s: write failed: %s", name, strerror(-rc));
	}
	if (fsync(dirfd))
		return err__set(err, -errno, "%s: fsync of the trace directory failed: %s", name, strerror(errno));
	return 0;
}

int trace_codec__read_file(int dirfd, const char *name, size_t max, uint8_t **buf, size_t *len,
			   struct rrvm_err *err)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return err__set(err, -errno, "%s: cannot open: %s", name, strerror(errno));
	if (fstat(fd, &st)) {
		int rc = -errno;
		close(fd);
		return err__set(err, rc, "%s: cannot stat: %s", name, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		int rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		close(fd);
		return err__set(err, rc, "%s: not a regular file of at most %zu bytes", name, max);
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!b) {
		close(fd);
		return err__set(err, -ENOMEM, "%s: out of memory", name);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = n < 0 ? -errno : -EIO;
			free(b);
			close(fd);
			return err__set(err, rc, "%s: read failed at offset %zu: %s", name, got, strerror(-rc));
		}
		got += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}
