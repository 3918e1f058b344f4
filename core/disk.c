/* disk.c — raw disk image backends for virtio-blk: in place + undo journal, clone overlay, replay view. */
#include "core/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/sha256.h"

struct undo_ent { uint64_t sector, off; };

struct disk {
	int fd;                  /* image (or overlay clone) */
	uint64_t size;
	bool ro;
	enum disk_mode mode;
	char path[4096];
	/* recording in place */
	int undo_fd;
	uint8_t *undo_done;      /* bitmap: sector already journaled */
	/* replay */
	int undo_rfd;
	struct undo_ent *undo;   /* sorted by sector */
	size_t n_undo;
	/* Replay's writes: a log of sectors in an unlinked temporary file. Slot
	 * k holds one sector; slots [0, cursor) are the writes so far. A rewind
	 * (snapshot restore) moves the cursor back; the slots after it stay,
	 * since replay writes the same sectors again in the same order. */
	int tmp_fd;
	uint32_t *slot_of;       /* sector -> its latest slot + 1 below cursor, 0 none */
	uint64_t *slot_sector;   /* slot -> sector */
	uint64_t n_slots, cap_slots, cursor;
};

static bool bit(const uint8_t *m, uint64_t i) { return m[i / 8] & (1u << (i % 8)); }
static void set_bit(uint8_t *m, uint64_t i) { m[i / 8] |= (uint8_t)(1u << (i % 8)); }

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {            /* past EOF of a sparse temp file: zeros */
			memset(p, 0, len);
			return 0;
		}
		p += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

static int cmp_undo(const void *a, const void *b)
{
	const struct undo_ent *x = a, *y = b;
	return x->sector < y->sector ? -1 : x->sector > y->sector;
}

static const struct undo_ent *find_undo(const struct disk *d, uint64_t sector)
{
	struct undo_ent key = { sector, 0 };
	return d->n_undo ? bsearch(&key, d->undo, d->n_undo, sizeof(key), cmp_undo) : NULL;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Loads the undo journal's index (first record per sector wins). */
static int load_undo(struct disk *d, const char *path, struct rrvm_err *err)
{
	d->undo_rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);   /* a trace's own file, never a link */
	if (d->undo_rfd < 0)
		return errno == ENOENT ? 0 : err__set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	uint8_t hdr[16];
	if (fstat(d->undo_rfd, &st) < 0 || pread_all(d->undo_rfd, hdr, 16, 0) || st.st_size < 16 ||
	    memcmp(hdr, DISK_UNDO_MAGIC, 8) || le32(hdr + 8) != 1 || le32(hdr + 12) != DISK_SECTOR)
		return err__set(err, -EBADMSG, "%s: not an rrvm undo journal (version 1, 512-byte sectors)", path);
	uint64_t rec = 8 + DISK_SECTOR, n = ((uint64_t)st.st_size - 16) / rec;
	if (((uint64_t)st.st_size - 16) % rec)
		return err__set(err, -EBADMSG, "%s: truncated record at offset %llu", path,
				(unsigned long long)(16 + n * rec));
	d->undo = calloc(n ? n : 1, sizeof(*d->undo));
	if (!d->undo)
		return err__set(err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		uint8_t b[8];
		uint64_t off = 16 + i * rec;
		if (pread_all(d->undo_rfd, b, 8, off))
			return err__set(err, -EIO, "%s: read error at offset %llu", path, (unsigned long long)off);
		uint64_t s = le64(b);
		if (s >= d->size / DISK_SECTOR)
			return err__set(err, -EBADMSG, "%s: record at offset %llu names sector %llu, past the disk's end",
					path, (unsigned long long)off, (unsigned long long)s);
		d->undo[d->n_undo++] = (struct undo_ent){ s, off + 8 };
	}
	/* Stable: keep the first record of a sector (qsort is not stable, so
	 * order by (sector, offset) and drop later duplicates). */
	qsort(d->undo, d->n_undo, sizeof(*d->undo), cmp_undo);
	size_t w = 0;
	for (size_t i = 0; i < d->n_undo; i++) {
		if (w && d->undo[w - 1].sector == d->undo[i].sector) {
			if (d->undo[i].off < d->undo[w - 1].off)
				d->undo[w - 1] = d->undo[i];
			continue;
		}
		d->undo[w++] = d->undo[i];
	}
	d->n_undo = w;
	return 0;
}

/* Sparse copy of the image into a new overlay file. */
static int clone_image(struct disk *d, const char *dst, struct rrvm_err *err)
{
	int out = open(dst, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return err__set(err, -errno, "--disk-overlay %s: cannot create (it must not exist): %s", dst,
				strerror(errno));
	int rc = ftruncate(out, (off_t)d->size) < 0 ? -errno : 0;
	off_t pos = 0;
	while (!rc && (uint64_t)pos < d->size) {
		off_t data = lseek(d->fd, pos, SEEK_DATA);
		if (data < 0)
			break;                     /* only a hole is left */
		off_t hole = lseek(d->fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = (off_t)d->size;
		off_t in = data, o = data;
		while (in < hole) {
			ssize_t n = copy_file_range(d->fd, &in, out, &o, (size_t)(hole - in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
		}
		pos = hole;
	}
	if (rc) {
		close(out);
		unlink(dst);
		return err__set(err, rc, "--disk-overlay %s: cannot copy the image: %s", dst, strerror(-rc));
	}
	close(d->fd);
	d->fd = out;
	return 0;
}

int disk__open(struct disk **out, const struct disk_opts *o, struct rrvm_err *err)
{
	*out = NULL;
	struct disk *d = calloc(1, sizeof(*d));
	if (!d)
		return err__set(err, -ENOMEM, "out of memory");
	d->fd = d->undo_fd = d->undo_rfd = d->tmp_fd = -1;
	d->ro = o->ro;
	d->mode = o->mode;
	snprintf(d->path, sizeof(d->path), "%s", o->path);
	int rc;
	bool rw = o->mode == DISK_IN_PLACE && !o->ro;
	d->fd = open(o->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0) {
		rc = err__set(err, -errno, "--disk %s: cannot open%s: %s", o->path, rw ? " for writing" : "",
			      strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % DISK_SECTOR) {
		rc = err__set(err, -EINVAL, "--disk %s: must be a regular, non-empty file whose size is a multiple "
			      "of 512 bytes (a raw image)", o->path);
		goto fail;
	}
	d->size = (uint64_t)st.st_size;
	if (o->mode == DISK_OVERLAY && (rc = clone_image(d, o->overlay, err)))
		goto fail;
	if (o->mode == DISK_REPLAY) {
		if (o->undo && (rc = load_undo(d, o->undo, err)))
			goto fail;
		char tmpl[] = "/tmp/rrvm-replay-disk-XXXXXX";
		d->tmp_fd = mkostemp(tmpl, O_CLOEXEC);
		if (d->tmp_fd < 0) {
			rc = err__set(err, -errno, "cannot create replay's throw-away disk overlay: %s", strerror(errno));
			goto fail;
		}
		unlink(tmpl);
		d->slot_of = calloc(d->size / DISK_SECTOR, sizeof(*d->slot_of));
		if (!d->slot_of) {
			rc = err__set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	disk__close(d);
	return rc;
}

void disk__close(struct disk *d)
{
	if (!d)
		return;
	int fds[] = { d->fd, d->undo_fd, d->undo_rfd, d->tmp_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(d->undo_done);
	free(d->undo);
	free(d->slot_of);
	free(d->slot_sector);
	free(d);
}

uint64_t disk__sectors(const struct disk *d) { return d->size / DISK_SECTOR; }
bool disk__ro(const struct disk *d) { return d->ro; }

static bool in_range(const struct disk *d, uint64_t off, size_t len)
{
	return off % DISK_SECTOR == 0 && len % DISK_SECTOR == 0 && off <= d->size && len <= d->size - off;
}

int disk__read(struct disk *d, uint64_t off, void *buf, size_t len)
{
	if (!in_range(d, off, len))
		return -EINVAL;
	int rc = pread_all(d->fd, buf, len, off);
	if (rc || d->mode != DISK_REPLAY)
		return rc;
	/* Replay's view: replay's own writes, else the pre-recording contents. */
	for (size_t i = 0; i < len / DISK_SECTOR; i++) {
		uint64_t s = off / DISK_SECTOR + i;
		uint8_t *p = (uint8_t *)buf + i * DISK_SECTOR;
		const struct undo_ent *u;
		if (d->slot_of[s])
			rc = pread_all(d->tmp_fd, p, DISK_SECTOR, (uint64_t)(d->slot_of[s] - 1) * DISK_SECTOR);
		else if ((u = find_undo(d, s)))
			rc = pread_all(d->undo_rfd, p, DISK_SECTOR, u->off);
		if (rc)
			return rc;
	}
	return 0;
}

int disk__write(struct disk *d, uint64_t off, const void *buf, size_t len)
{
	if (!in_range(d, off, len))
		return -EINVAL;
	if (d->ro)
		return -EROFS;
	if (d->mode == DISK_REPLAY) {
		uint64_t n = len / DISK_SECTOR;
		if (d->cursor + n > UINT32_MAX - 1)
			return -EFBIG;
		if (d->cursor + n > d->cap_slots) {
			uint64_t cap = (d->cursor + n) * 2;
			uint64_t *p = realloc(d->slot_sector, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			d->slot_sector = p;
			d->cap_slots = cap;
		}
		int rc = pwrite_all(d->tmp_fd, buf, len, d->cursor * DISK_SECTOR);
		if (rc)
			return rc;
		for (uint64_t i = 0; i < n; i++) {
			d->slot_sector[d->cursor] = off / DISK_SECTOR + i;
			d->slot_of[off / DISK_SECTOR + i] = (uint32_t)(d->cursor + 1);
			d->cursor++;
		}
		if (d->cursor > d->n_slots)
			d->n_slots = d->cursor;
		return 0;
	}
	if (d->undo_fd >= 0) {
		uint8_t rec[8 + DISK_SECTOR];
		for (size_t i = 0; i < len / DISK_SECTOR; i++) {
			uint64_t s = off / DISK_SECTOR + i;
			if (bit(d->undo_done, s))
				continue;
			put64(rec, s);
			int rc = pread_all(d->fd, rec + 8, DISK_SECTOR, s * DISK_SECTOR);
			if (!rc && write(d->undo_fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
				rc = -EIO;
			if (rc)
				return rc;
			set_bit(d->undo_done, s);
		}
	}
	return pwrite_all(d->fd, buf, len, off);
}

uint64_t disk__replay_pos(const struct disk *d)
{
	return d->mode == DISK_REPLAY ? d->cursor : 0;
}

int disk__replay_rewind(struct disk *d, uint64_t pos, bool apply)
{
	if (d->mode != DISK_REPLAY)
		return pos == 0 ? 0 : -EINVAL;
	if (pos > d->n_slots)
		return -EINVAL;
	if (!apply)
		return 0;
	memset(d->slot_of, 0, d->size / DISK_SECTOR * sizeof(*d->slot_of));
	for (uint64_t k = 0; k < pos; k++)
		d->slot_of[d->slot_sector[k]] = (uint32_t)(k + 1);
	d->cursor = pos;
	return 0;
}

int disk__flush(struct disk *d)
{
	if (d->mode == DISK_REPLAY || d->ro)
		return 0;
	if (d->undo_fd >= 0 && fdatasync(d->undo_fd) < 0)
		return -errno;
	return fdatasync(d->fd) < 0 ? -errno : 0;
}

int disk__start_undo(struct disk *d, const char *path, struct rrvm_err *err)
{
	if (d->mode != DISK_IN_PLACE || d->ro)
		return 0;
	d->undo_done = calloc(d->size / DISK_SECTOR / 8 + 1, 1);
	if (!d->undo_done)
		return err__set(err, -ENOMEM, "out of memory");
	d->undo_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (d->undo_fd < 0)
		return err__set(err, -errno, "%s: cannot create the disk undo journal: %s", path, strerror(errno));
	uint8_t hdr[16];
	memcpy(hdr, DISK_UNDO_MAGIC, 8);
	put32(hdr + 8, 1);
	put32(hdr + 12, DISK_SECTOR);
	if (write(d->undo_fd, hdr, 16) != 16)
		return err__set(err, -EIO, "%s: cannot write the undo journal header", path);
	return 0;
}

int disk__hash(struct disk *d, uint8_t out[32], struct rrvm_err *err)
{
	struct sha256 s;
	sha256__init(&s);
	size_t blk = 1u << 20;
	uint8_t *buf = malloc(blk);
	if (!buf)
		return err__set(err, -ENOMEM, "out of memory");
	int rc = 0;
	for (uint64_t off = 0; off < d->size; off += blk) {
		size_t n = d->size - off < blk ? (size_t)(d->size - off) : blk;
		if ((rc = disk__read(d, off, buf, n))) {
			rc = err__set(err, rc, "%s: read error at offset %llu: %s", d->path, (unsigned long long)off,
				      strerror(-rc));
			break;
		}
		sha256__update(&s, buf, n);
	}
	free(buf);
	if (!rc)
		sha256__final(&s, out);
	return rc;
}
