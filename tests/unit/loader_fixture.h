/* loader_fixture.h — builders for test_loader.c: synthetic ELF64 kernels, bzImages with gzip/LZ4/xz
 * payloads made with the libraries' own encoders, and the loading/checking helpers. Included once. */
#ifndef RRVM_TEST_LOADER_FIXTURE_H
#define RRVM_TEST_LOADER_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lz4.h>
#include <zlib.h>
#ifdef RRVM_HAVE_LZMA
#include <lzma.h>
#endif

#include "core/decompress.h"
#include "core/loader.h"
#include "core/mem.h"
#include "core/x86.h"

static int failures, checks;
static char tmpdir[64];

#define CHECK(c) do { checks++; if (!(c)) { failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (a), b_ = (b); checks++; if (a_ != b_) { failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s == %s (0x%llx != 0x%llx)\n", __FILE__, __LINE__, #a, #b, \
		a_, b_); } } while (0)

/* ---- byte buffers -------------------------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t len)
{
	if (len <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < len)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		abort();
	memset(b->p + b->cap, 0, cap - b->cap);
	b->cap = cap;
}

/* Grows to `len` bytes (new bytes zero) and returns a pointer at `off`. */
static uint8_t *buf_at(struct buf *b, size_t off, size_t n)
{
	buf_reserve(b, off + n);
	if (off + n > b->len)
		b->len = off + n;
	return b->p + off;
}

static void buf_append(struct buf *b, const void *d, size_t n)
{
	memcpy(buf_at(b, b->len, n), d, n);
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
static void w64(uint8_t *p, uint64_t v) { w32(p, v); w32(p + 4, v >> 32); }
static uint16_t r16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t r32(const uint8_t *p) { return r16(p) | (uint32_t)r16(p + 2) << 16; }
static uint64_t r64(const uint8_t *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }

static char *tpath(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const void *d, size_t n)
{
	/* A fresh inode each time: truncating a file in place makes ext4 flush it on close. */
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n) || close(fd)) {
		perror(path);
		exit(1);
	}
}

/* ---- synthetic ELF64 kernels -------------------------------------------------------------------- */

struct tseg {
	uint64_t paddr, vaddr, filesz, memsz;
	uint32_t flags;
};

struct telf {
	uint64_t entry;
	int nseg;
	struct tseg seg[4];
	bool note;       /* a PT_NOTE with a "Linux" note */
	bool sections;   /* section headers naming .head.text */
};

static uint8_t seg_byte(int k, uint64_t i)
{
	return (uint8_t)(0x40 + k * 17 + i * 31 + (i >> 9));
}

/* Builds the ELF; *data_off[k] receives each segment's file offset. The
 * segment data comes last, so cutting the file anywhere breaks it. */
static struct buf build_elf(const struct telf *t, size_t *data_off)
{
	struct buf b = { 0 };
	int nph = t->nseg + (t->note ? 1 : 0);
	uint8_t *eh = buf_at(&b, 0, 64);
	memcpy(eh, "\177ELF\2\1\1", 7);
	w16(eh + 16, 2);
	w16(eh + 18, 62);
	w32(eh + 20, 1);
	w64(eh + 24, t->entry);
	w64(eh + 32, 64);
	w16(eh + 52, 64);
	w16(eh + 54, 56);
	w16(eh + 56, (uint16_t)nph);
	size_t off = 64 + (size_t)nph * 56;
	if (t->note) {
		uint8_t *n = buf_at(&b, off, 24);
		w32(n, 6);
		w32(n + 4, 4);
		w32(n + 8, 0x100);
		memcpy(n + 12, "Linux", 6);
		w32(n + 20, 0x12345678);
		uint8_t *ph = b.p + 64 + (size_t)t->nseg * 56;
		w32(ph, 4 /* PT_NOTE */);
		w32(ph + 4, 4);
		w64(ph + 8, off);
		w64(ph + 32, 24);
		w64(ph + 40, 24);
		off += 24;
	}
	if (t->sections) {
		static const char names[] = "\0.head.text\0.shstrtab";
		memcpy(buf_at(&b, off, sizeof(names)), names, sizeof(names));
		size_t stroff = off;
		off = (off + sizeof(names) + 7) & ~7ul;
		uint8_t *sh = buf_at(&b, off, 3 * 64);
		w32(sh + 64, 1);             /* .head.text */
		w32(sh + 64 + 4, 1);
		w64(sh + 64 + 16, t->seg[0].vaddr);
		w32(sh + 128, 12);           /* .shstrtab */
		w32(sh + 128 + 4, 3);
		w64(sh + 128 + 24, stroff);
		w64(sh + 128 + 32, sizeof(names));
		eh = b.p;
		w64(eh + 40, off);
		w16(eh + 58, 64);
		w16(eh + 60, 3);
		w16(eh + 62, 2);
		off += 3 * 64;
	}
	for (int k = 0; k < t->nseg; k++) {
		const struct tseg *s = &t->seg[k];
		off = (off + 15) & ~15ul;
		data_off[k] = off;
		uint8_t *d = buf_at(&b, off, s->filesz);
		for (uint64_t i = 0; i < s->filesz; i++)
			d[i] = seg_byte(k, i);
		uint8_t *ph = b.p + 64 + (size_t)k * 56;
		w32(ph, 1 /* PT_LOAD */);
		w32(ph + 4, s->flags);
		w64(ph + 8, off);
		w64(ph + 16, s->vaddr);
		w64(ph + 24, s->paddr);
		w64(ph + 32, s->filesz);
		w64(ph + 40, s->memsz);
		w64(ph + 48, 0x1000);
		off += s->filesz;
	}
	return b;
}

#define PF_X 1
#define PF_W 2
#define PF_R 4
#define KMAP 0xffffffff80000000ull

static const struct telf pvh_kernel = {
	.entry = 0x100010, .nseg = 2,
	.seg = {
		{ 0x100000, 0x100000, 0x1234, 0x1234, PF_R | PF_X },
		{ 0x200000, 0x200000, 0x100, 0x3000, PF_R | PF_W },
	},
};

static const struct telf linux_kernel = {
	.entry = 0x1000000, .nseg = 3, .note = true,
	.seg = {
		{ 0x1000000, KMAP + 0x1000000, 0x3000, 0x3000, PF_R | PF_X },
		{ 0x1400000, 0, 0x800, 0x800, PF_R | PF_W },              /* like .data..percpu */
		{ 0x1600000, KMAP + 0x1600000, 0x1000, 0x5000, PF_R | PF_W | PF_X },
	},
};

/* ---- loading helpers ---------------------------------------------------------------------------- */

static struct guest_mem mem;
static uint64_t mem_size;

static void mem_reset(uint64_t size)
{
	if (mem.base && size == mem_size) {
		memset(mem.base, 0xcc, 16u << 20 < size ? 16u << 20 : size);
		return;
	}
	if (mem.base)
		mem__fini(&mem);
	if (mem__init(&mem, size)) {
		fprintf(stderr, "mem__init(%llu) failed\n", (unsigned long long)size);
		exit(1);
	}
	mem_size = size;
	memset(mem.base, 0xcc, 16u << 20 < size ? 16u << 20 : size);
}

static int load(const char *kernel, const char *initrd, const char *cmdline, struct load_info *info,
		struct rrvm_err *err)
{
	struct boot_config bc = { .kernel = kernel, .initrd = initrd, .cmdline = cmdline };
	err->msg[0] = 0;
	return loader__load(&mem, &bc, info, err);
}

static const uint8_t *gp(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = mem__ptr(&mem, gpa, len);
	if (!p) {
		fprintf(stderr, "gpa 0x%llx+0x%llx not in RAM\n", (unsigned long long)gpa, (unsigned long long)len);
		abort();
	}
	return p;
}

/* Loading must fail with a message naming `path` and containing `want`. */
static void expect_fail(uint64_t memsize, const char *kernel, const char *initrd, const char *cmdline,
			const char *path, const char *want)
{
	struct load_info info;
	struct rrvm_err err;
	mem_reset(memsize);
	int rc = load(kernel, initrd, cmdline, &info, &err);
	checks++;
	if (rc >= 0 || !strstr(err.msg, path) || !strstr(err.msg, want)) {
		failures++;
		fprintf(stderr, "expected failure containing \"%s\" naming %s; got rc %d: %s\n", want, path, rc,
			err.msg);
	} else if (getenv("VERBOSE")) {
		printf("  ok: %s\n", err.msg);
	}
}

static void check_segments_in_memory(const struct telf *t, const struct load_info *info)
{
	CHECK_EQ(info->nr_segs, t->nseg);
	for (int k = 0; k < t->nseg && k < info->nr_segs; k++) {
		const struct tseg *s = &t->seg[k];
		CHECK_EQ(info->seg[k].gpa, s->paddr ? s->paddr : s->vaddr - KMAP);
		CHECK_EQ(info->seg[k].size, s->memsz);
		CHECK_EQ(info->seg[k].vaddr, s->vaddr);
		CHECK_EQ(info->seg[k].flags, s->flags);
		const uint8_t *d = gp(info->seg[k].gpa, s->memsz);
		bool ok = true;
		for (uint64_t i = 0; i < s->memsz; i++)
			ok &= d[i] == (i < s->filesz ? seg_byte(k, i) : 0);
		CHECK(ok);
	}
}

/* The e820/PVH map for a guest of `size` bytes. */
static int expected_map(uint64_t size, uint64_t e[][3])
{
	uint64_t low = size < MEM_LOW_LIMIT ? size : MEM_LOW_LIMIT;
	int n = 0;
	e[n][0] = 0, e[n][1] = 0x9fc00, e[n++][2] = 1;
	e[n][0] = 0x9fc00, e[n][1] = 0x60400, e[n++][2] = 2;
	e[n][0] = 0x100000, e[n][1] = low - 0x100000, e[n++][2] = 1;
	if (size > low)
		e[n][0] = MEM_HIGH_BASE, e[n][1] = size - low, e[n++][2] = 1;
	return n;
}

static void check_e820(uint64_t size)
{
	uint64_t e[4][3];
	int n = expected_map(size, e);
	const uint8_t *zp = gp(X86_ZEROPAGE_ADDR, 4096);
	CHECK_EQ(zp[0x1e8], n);
	for (int i = 0; i < n; i++) {
		const uint8_t *t = zp + 0x2d0 + 20 * i;
		CHECK_EQ(r64(t), e[i][0]);
		CHECK_EQ(r64(t + 8), e[i][1]);
		CHECK_EQ(r32(t + 16), e[i][2]);
	}
}

static void make_initrd(const char *path, size_t n)
{
	uint8_t *d = malloc(n);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	write_file(path, d, n);
	free(d);
}

static bool initrd_ok(const struct load_info *info, size_t n)
{
	if (info->initrd_size != n || info->initrd_gpa % 4096)
		return false;
	const uint8_t *d = gp(info->initrd_gpa, n);
	for (size_t i = 0; i < n; i++)
		if (d[i] != (uint8_t)(i * 7 + 3))
			return false;
	return true;
}


/* ---- bzImage ------------------------------------------------------------------------------------ */

static struct buf compress_gzip(const struct buf *in)
{
	struct buf out = { 0 };
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	size_t cap = deflateBound(&zs, in->len) + 64;
	buf_reserve(&out, cap);
	zs.next_in = in->p;
	zs.avail_in = in->len;
	zs.next_out = out.p;
	zs.avail_out = cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	out.len = zs.total_out;
	deflateEnd(&zs);
	return out;   /* gzip's trailer already ends with the size */
}

static void append_size(struct buf *out, size_t n)
{
	uint8_t sz[4];
	w32(sz, (uint32_t)n);
	buf_append(out, sz, 4);
}

/* The legacy frame `lz4 -l` writes: magic, [le32 size][block] per 8 MiB; then the kbuild size trailer. */
static struct buf compress_lz4(const struct buf *in)
{
	struct buf out = { 0 };
	uint8_t m[4];
	w32(m, 0x184C2102);
	buf_append(&out, m, 4);
	int bound = LZ4_compressBound(8 << 20);
	char *tmp = malloc(bound);
	for (size_t pos = 0; pos < in->len;) {
		int n = in->len - pos > (8u << 20) ? 8 << 20 : (int)(in->len - pos);
		int c = LZ4_compress_default((const char *)in->p + pos, tmp, n, bound);
		if (c <= 0)
			abort();
		append_size(&out, (size_t)c);
		buf_append(&out, tmp, (size_t)c);
		pos += (size_t)n;
	}
	free(tmp);
	append_size(&out, in->len);
	return out;
}

#ifdef RRVM_HAVE_LZMA
static struct buf compress_xz(const struct buf *in)
{
	struct buf out = { 0 };
	size_t cap = lzma_stream_buffer_bound(in->len), pos = 0;
	buf_reserve(&out, cap);
	if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in->p, in->len, out.p, &pos, cap) != LZMA_OK)
		abort();
	out.len = pos;
	append_size(&out, in->len);
	return out;
}
#endif

struct tbz {
	uint16_t version, xlf;
	uint8_t setup_sects, loadflags;
	uint32_t initrd_addr_max, init_size, cmdline_size;
};

static const struct tbz bz_default = {
	.version = 0x020f, .xlf = 0x7f, .setup_sects = 3, .loadflags = 0x01 | 0x02 /* LOADED_HIGH | KASLR */,
	.initrd_addr_max = 0x7fffffff, .init_size = 0x2000000, .cmdline_size = 2047,
};

/* setup sectors with the header, 0x200 bytes of "protected-mode code", the
 * payload, then 0x300 trailing bytes (like the EFI/.reloc tail of real images). */
static struct buf build_bzimage(const struct tbz *t, const struct buf *payload, size_t *payload_end)
{
	struct buf b = { 0 };
	size_t setup = ((t->setup_sects ? t->setup_sects : 4) + 1) * 512u;
	uint8_t *h = buf_at(&b, 0, setup);
	memcpy(h, "MZ", 2);
	h[0x1f1] = t->setup_sects;
	w16(h + 0x1f2, 1);            /* root_flags */
	w16(h + 0x1fa, 0xfffd);       /* vid_mode: copied as is */
	w16(h + 0x1fe, 0xaa55);
	h[0x200] = 0xeb;
	h[0x201] = 0x6a;              /* header ends at 0x26c */
	memcpy(h + 0x202, "HdrS", 4);
	w16(h + 0x206, t->version);
	w16(h + 0x20e, 0x1234);       /* kernel_version: copied as is */
	h[0x211] = t->loadflags;
	w32(h + 0x214, 0x100000);
	w32(h + 0x22c, t->initrd_addr_max);
	w32(h + 0x230, 0x200000);
	h[0x234] = 1;
	w16(h + 0x236, t->xlf);
	w32(h + 0x238, t->cmdline_size);
	w32(h + 0x248, 0x200);
	w32(h + 0x24c, (uint32_t)payload->len);
	w64(h + 0x258, 0x1000000);
	w32(h + 0x260, t->init_size);
	memset(buf_at(&b, setup, 0x200), 0x90, 0x200);
	buf_append(&b, payload->p, payload->len);
	*payload_end = b.len;
	memset(buf_at(&b, b.len, 0x300), 0xee, 0x300);
	return b;
}

enum comp { COMP_GZIP, COMP_LZ4, COMP_XZ };
static const char *const comp_name[] = { "gzip", "lz4", "xz" };

static struct buf compress_as(enum comp c, const struct buf *in)
{
	switch (c) {
	case COMP_GZIP: return compress_gzip(in);
	case COMP_LZ4: return compress_lz4(in);
#ifdef RRVM_HAVE_LZMA
	case COMP_XZ: return compress_xz(in);
#endif
	default: abort();
	}
}

/* A vmlinux with a 9 MiB segment, so LZ4 needs two blocks. */
static const struct telf big_kernel = {
	.entry = 0x1000000, .nseg = 2, .note = true,
	.seg = {
		{ 0x1000000, KMAP + 0x1000000, 0x2000, 0x2000, PF_R | PF_X },
		{ 0x1200000, KMAP + 0x1200000, 9u << 20, (9u << 20) + 0x1000, PF_R | PF_W },
	},
};

#endif
