/* test_trace.c — unit tests for the trace format: codec, round trips, chunks and seeking, torn and corrupt
 * traces, versions, crash safety, the golden 1.0 trace, and an append benchmark.
 * Usage: test_trace [--bench-only] | --golden DIR (write the golden trace) | --sample DIR | --record-seed FILE
 * (the last two make fuzz seeds). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record/sha256.h"
#include "record/trace.h"
#include "record/trace_codec.h"

#ifndef RRVM_SOURCE_DIR
#define RRVM_SOURCE_DIR "."
#endif

static int failures, checks;
#define CHECK(c)                                                                          \
	do {                                                                              \
		checks++;                                                                 \
		if (!(c)) {                                                               \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
		}                                                                         \
	} while (0)
#define CHECKM(c, ...)                                                                    \
	do {                                                                              \
		checks++;                                                                 \
		if (!(c)) {                                                               \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c); \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
		}                                                                         \
	} while (0)

static char tmproot[256];

/* ---- helpers ----------------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}
static void rm_rf(const char *p) { nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void path(char *out, const char *name)
{
	snprintf(out, 512, "%s/%s", tmproot, name);
}

static uint8_t *slurp(const char *dir, const char *file, size_t *len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static void spit(const char *dir, const char *file, const void *buf, size_t len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "wb");
	if (!f) {
		perror(p);
		exit(2);
	}
	if (len)
		fwrite(buf, 1, len, f);
	fclose(f);
}

static void rm_file(const char *dir, const char *file)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	unlink(p);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void make_header(struct trace_header *h)
{
	static const struct trace_cpuid_entry cpuid[] = {
		{ 0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },
		{ 1, 0, 0, 0x000806c1, 0x00100800, 0x80202001, 0x078bfbff },
		{ 7, 0, 1, 0, 0x009c0329, 0, 0xbc000400 },
		{ 0xd, 1, 1, 0xf, 0, 0, 0 },
		{ 0x80000008, 0, 0, 0x3027, 0, 0, 0 },
	};
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < TRACE_UUID_LEN; i++)
		h->uuid[i] = (uint8_t)(0xa0 + i);
	snprintf(h->rrvm_version, sizeof(h->rrvm_version), "test-9.9");
	h->created_sec = 1700000000;
	h->created_nsec = 123456789;
	h->ram_bytes = 256ull << 20;
	h->n_vcpus = 1;
	snprintf(h->cpu_profile, sizeof(h->cpu_profile), "baseline");
	trace_header__set_cpuid(h, cpuid, 5);
	h->n_images = 2;
	h->images[0].kind = TRACE_IMG_KERNEL;
	h->images[0].size = 12345;
	sha256__buf("kernel", 6, h->images[0].sha256);
	snprintf(h->images[0].name, sizeof(h->images[0].name), "vmlinuz");
	h->images[1].kind = TRACE_IMG_DISK;
	h->images[1].size = UINT64_MAX;
	memset(h->images[1].sha256, 0xff, 32);
	trace_header__set_cmdline(h, "console=ttyS0 panic=-1 quiet");
	h->clock_mode = TRACE_CLOCK_VIRTUAL;
	h->quantum_ns = 1000;
	h->wallclock_ns = 1700000000000000000ull;
	h->tsc_hz = 2000000000ull;
	trace_header__add_cap(h, "kvm.api", "12");
	trace_header__add_cap(h, "bp.ring3", "no");
	trace_header__add_cap(h, "", "");
}

/* A test event list: events own their byte strings via `pool`. */
struct evlist {
	struct trace_event *ev;
	size_t n, cap;
	uint64_t exits, time;
};

static struct trace_event *ev_add(struct evlist *l, uint32_t type)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->ev = realloc(l->ev, l->cap * sizeof(*l->ev));
	}
	struct trace_event *e = &l->ev[l->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->event_no = l->exits;
	e->time_ns = l->time;
	return e;
}

static struct trace_event *ev_exit(struct evlist *l, uint8_t reason, uint8_t dir, uint64_t addr, uint32_t size,
				   uint64_t time)
{
	struct trace_event *e = ev_add(l, TR_EXIT);
	e->event_no = ++l->exits;
	e->time_ns = l->time = time;
	e->u.exit.reason = reason;
	e->u.exit.dir = dir;
	e->u.exit.addr = addr;
	e->u.exit.size = size;
	e->u.exit.count = 1;
	return e;
}

static const uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	memcpy(d, p, n);
	return d;
}

static void evlist_free(struct evlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct trace_event *e = &l->ev[i];
		switch (e->type) {
		case TR_IN_VALUE: free((void *)e->u.in.data); break;
		case TR_CONSOLE_OUT:
		case TR_CONSOLE_IN: free((void *)e->u.bytes.data); break;
		case TR_DMA: free((void *)e->u.dma.data); break;
		case TR_SNAPSHOT: free((void *)e->u.snapshot.name); break;
		case TR_STOP: free((void *)e->u.stop.msg); break;
		}
	}
	free(l->ev);
	memset(l, 0, sizeof(*l));
}

static int bytes_eq(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static int ev_eq(const struct trace_event *a, const struct trace_event *b)
{
	if (a->type != b->type || a->event_no != b->event_no || a->time_ns != b->time_ns)
		return 0;
	switch (a->type) {
	case TR_EXIT: {
		const struct trace_exit *x = &a->u.exit, *y = &b->u.exit;
		return x->reason == y->reason && x->dir == y->dir && x->has_value == y->has_value &&
		       x->size == y->size && (x->count ? x->count : 1) == (y->count ? y->count : 1) &&
		       x->hash == y->hash && x->addr == y->addr && (!x->has_value || x->value == y->value);
	}
	case TR_IN_VALUE:
		return a->u.in.size == b->u.in.size && a->u.in.value == b->u.in.value &&
		       bytes_eq(a->u.in.data, a->u.in.len, b->u.in.data, b->u.in.len);
	case TR_IRQ: return a->u.irq.vector == b->u.irq.vector;
	case TR_LANDMARK:
		return a->u.landmark.rip == b->u.landmark.rip && a->u.landmark.fingerprint == b->u.landmark.fingerprint &&
		       a->u.landmark.hits == b->u.landmark.hits && a->u.landmark.vector == b->u.landmark.vector;
	case TR_DEFERRAL: return a->u.deferral.rip == b->u.deferral.rip && a->u.deferral.reason == b->u.deferral.reason;
	case TR_CONSOLE_OUT:
	case TR_CONSOLE_IN: return bytes_eq(a->u.bytes.data, a->u.bytes.len, b->u.bytes.data, b->u.bytes.len);
	case TR_DMA:
		return a->u.dma.gpa == b->u.dma.gpa && bytes_eq(a->u.dma.data, a->u.dma.len, b->u.dma.data, b->u.dma.len);
	case TR_RDTSC:
		return a->u.rdtsc.rip == b->u.rdtsc.rip && a->u.rdtsc.value == b->u.rdtsc.value &&
		       a->u.rdtsc.aux == b->u.rdtsc.aux;
	case TR_SNAPSHOT:
		return a->u.snapshot.id == b->u.snapshot.id &&
		       bytes_eq(a->u.snapshot.name, a->u.snapshot.len, b->u.snapshot.name, b->u.snapshot.len);
	case TR_STOP:
		return a->u.stop.reason == b->u.stop.reason && a->u.stop.status == b->u.stop.status &&
		       bytes_eq(a->u.stop.msg, a->u.stop.len, b->u.stop.msg, b->u.stop.len);
	case TR_REGS:
		return memcmp(a->u.regs.v, b->u.regs.v, sizeof(a->u.regs.v)) == 0;
	}
	return 0;
}

/* A realistic mixed stream of n exits with every record type sprinkled in. */
static void gen_stream(struct evlist *l, size_t n_exits, uint64_t seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	uint64_t t = 1000;
	for (size_t i = 0; i < n_exits; i++) {
		uint64_t r = rnd();
		t += 10000 + r % 8000;
		struct trace_event *e;
		switch (r % 16) {
		case 0:
			e = ev_exit(l, 6 /* MMIO */, TRACE_DIR_IN, 0xfee00030, 4, t);
			e->u.exit.has_value = true;
			e->u.exit.value = r >> 32;
			e->u.exit.hash = trace__value_hash(&e->u.exit.value, 4);
			break;
		case 1:
			e = ev_exit(l, 29 /* RDMSR */, TRACE_DIR_IN, 0x10, 8, t);
			e->u.exit.has_value = true;
			e->u.exit.value = t * 2;
			break;
		case 2:
			ev_exit(l, 5 /* HLT */, TRACE_DIR_NONE, 0, 0, t);
			t += 1000000;
			break;
		default:
			e = ev_exit(l, 2 /* IO */, (r & 32) ? TRACE_DIR_IN : TRACE_DIR_OUT, (r & 64) ? 0x3f8 : 0x3fd, 1, t);
			if (e->u.exit.dir == TRACE_DIR_IN) {
				e->u.exit.has_value = true;
				e->u.exit.value = 0x60;
			}
			e->u.exit.hash = (uint32_t)(r >> 40);
			if ((r & 64) && e->u.exit.dir == TRACE_DIR_OUT) {
				char c = (char)('a' + r % 26);
				e = ev_add(l, TR_CONSOLE_OUT);
				e->u.bytes.data = dup_bytes(&c, 1);
				e->u.bytes.len = 1;
			}
			break;
		}
		/* Registers at most exits: a few slots change each time (deltas both
		 * ways, kernel addresses, wrap-around), and chunks restart from zero. */
		if (r & 0x80) {
			static uint64_t regs[TRACE_NREGS];
			if (i == 0)
				for (unsigned k = 0; k < TRACE_NREGS; k++)
					regs[k] = k == 16 ? 0xffffffff81000000ull : k * 0x1111;
			for (unsigned k = 0, m = (unsigned)(r >> 20) % 4; k <= m; k++) {
				uint64_t x = rnd();
				regs[x % TRACE_NREGS] += (x & 1) ? (x >> 40) : -(x >> 44);
			}
			regs[16] += r % 7;
			memcpy(ev_add(l, TR_REGS)->u.regs.v, regs, sizeof(regs));
		}
		switch ((r >> 8) % 64) {
		case 0: ev_add(l, TR_IRQ)->u.irq.vector = 0x20; break;
		case 1:
			e = ev_add(l, TR_LANDMARK);
			e->u.landmark.rip = 0xffffffff81000000ull + (r & 0xffff);
			e->u.landmark.fingerprint = r;
			e->u.landmark.hits = (uint32_t)(r % 5);
			e->u.landmark.vector = 0x20;
			break;
		case 2:
			e = ev_add(l, TR_DEFERRAL);
			e->u.deferral.rip = 0x401000 + (r & 0xff);
			e->u.deferral.reason = 1;
			break;
		case 3:
			e = ev_add(l, TR_RDTSC);
			e->u.rdtsc.rip = 0xffffffff81020000ull;
			e->u.rdtsc.value = t * 2;
			break;
		case 4: {
			uint8_t buf[64];
			for (int k = 0; k < 64; k++)
				buf[k] = (uint8_t)rnd();
			e = ev_add(l, TR_DMA);
			e->u.dma.gpa = 0x100000 + (r & 0xfff000);
			e->u.dma.data = dup_bytes(buf, 1 + r % 64);
			e->u.dma.len = (uint32_t)(1 + r % 64);
			break;
		}
		case 5:
			e = ev_add(l, TR_CONSOLE_IN);
			e->u.bytes.data = dup_bytes("ls\n", 3);
			e->u.bytes.len = 3;
			break;
		}
	}
}

static int write_list(const char *dir, const struct trace_header *h, const struct evlist *l, uint32_t chunk,
		      int close_cleanly)
{
	struct trace_writer *w;
	struct trace_writer_opts o = { .chunk_bytes = chunk };
	struct rrvm_err err = { "" };
	int rc = trace_writer__open_opts(&w, dir, h, &o, &err);
	CHECKM(rc == 0, "%s", err.msg);
	if (rc)
		return rc;
	for (size_t i = 0; i < l->n; i++) {
		rc = trace_writer__append(w, &l->ev[i]);
		CHECKM(rc == 0, "append %zu: %d", i, rc);
		if (rc)
			break;
	}
	if (close_cleanly) {
		rc = trace_writer__close(w, &err);
		CHECKM(rc == 0, "%s", err.msg);
	} else {
		CHECK(trace_writer__flush(w) == 0);
		trace_writer__abandon(w);
	}
	return rc;
}

/* Reads every record and compares with l. Returns records read; *last_rc gets next()'s final result. */
static size_t read_compare(const char *dir, const struct evlist *l, int *open_rc, int *last_rc, int strict)
{
	struct trace_reader *r;
	struct trace_event ev;
	struct rrvm_err err = { "" };
	size_t n = 0;
	int rc = trace_reader__open(&r, dir, &err);
	*open_rc = rc;
	*last_rc = rc;
	if (rc)
		return 0;
	while ((rc = trace_reader__next(r, &ev, &err)) == 1) {
		int ok = n < l->n && ev_eq(&ev, &l->ev[n]);
		if (strict)
			CHECKM(ok, "record %zu differs (type %u event %" PRIu64 ")", n, ev.type, ev.event_no);
		if (!ok) {   /* never deliver a wrong record: that would be undetected corruption */
			CHECKM(0, "%s: record %zu delivered wrong", dir, n);
			break;
		}
		n++;
	}
	*last_rc = rc;
	if (rc < 0)   /* errors are sticky */
		CHECK(trace_reader__next(r, &ev, &err) == rc);
	trace_reader__close(r);
	return n;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_codec(void)
{
	uint8_t b[16];
	const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, 1ull << 63, UINT64_MAX - 1, UINT64_MAX };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = tc_varint_put(b, vals[i]);
		const uint8_t *p = b;
		uint64_t v;
		CHECK(n == tc_varint_len(vals[i]));
		CHECK(tc_varint_get(&p, b + n, &v) == 0 && v == vals[i] && p == b + n);
		p = b;
		CHECK(tc_varint_get(&p, b + n - 1, &v) == -1);   /* cut short */
		CHECK(tc_unzigzag(tc_zigzag((int64_t)vals[i])) == (int64_t)vals[i]);
	}
	memset(b, 0xff, sizeof(b));
	const uint8_t *p = b;
	uint64_t v;
	CHECK(tc_varint_get(&p, b + 16, &v) == -1);   /* 11+ bytes */
	b[9] = 0x02;
	p = b;
	CHECK(tc_varint_get(&p, b + 16, &v) == -1);   /* 10th byte overflows 64 bits */
	CHECK(trace_codec__crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(trace_codec__crc32c(trace_codec__crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
	CHECK(trace_codec__crc32c(0, "", 0) == 0);
	CHECK(strcmp(trace__rec_name(TR_LANDMARK), "landmark") == 0 && strcmp(trace__rec_name(99), "unknown") == 0);
}

static void test_sha256(void)
{
	static const struct { const char *msg, *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t d[32];
	char hex[65];
	for (size_t i = 0; i < 3; i++) {
		sha256__buf(v[i].msg, strlen(v[i].msg), d);
		sha256__hex(d, hex);
		CHECKM(strcmp(hex, v[i].hex) == 0, "sha256(%s) = %s", v[i].msg, hex);
	}
	/* One million 'a' in uneven pieces. */
	struct sha256 s;
	char a[997];
	memset(a, 'a', sizeof(a));
	sha256__init(&s);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(a) ? left : sizeof(a);
		sha256__update(&s, a, n);
		left -= n;
	}
	sha256__final(&s, d);
	sha256__hex(d, hex);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
	/* A file. */
	char dir[512], p[600];
	path(dir, "shafile");
	spit(tmproot, "shafile", "abc", 3);
	uint64_t size;
	struct rrvm_err err;
	snprintf(p, sizeof(p), "%s", dir);
	CHECK(sha256__file(p, d, &size, &err) == 0 && size == 3);
	sha256__hex(d, hex);
	CHECK(strcmp(hex, v[1].hex) == 0);
	CHECK(sha256__file("/nonexistent/x", d, &size, &err) == -ENOENT && strstr(err.msg, "/nonexistent/x"));
}

static void test_header_roundtrip(void)
{
	char dir[512];
	struct trace_header h, h2;
	struct rrvm_err err;
	struct trace_writer *w;
	struct trace_reader *r;

	path(dir, "hdr");
	make_header(&h);
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	CHECK(trace_writer__close(w, &err) == 0);
	CHECKM(trace_reader__open(&r, dir, &err) == 0, "%s", err.msg);
	const struct trace_header *g = trace_reader__header(r);
	CHECK(g->major == TRACE_FORMAT_MAJOR && g->minor == TRACE_FORMAT_MINOR);
	CHECK(memcmp(g->uuid, h.uuid, TRACE_UUID_LEN) == 0);
	CHECK(strcmp(g->rrvm_version, "test-9.9") == 0 && strcmp(g->cpu_profile, "baseline") == 0);
	CHECK(g->created_sec == h.created_sec && g->created_nsec == h.created_nsec);
	CHECK(g->ram_bytes == h.ram_bytes && g->n_vcpus == 1);
	CHECK(g->n_cpuid == 5 && memcmp(g->cpuid, h.cpuid, 5 * sizeof(*h.cpuid)) == 0);
	CHECK(g->n_images == 2 && memcmp(&g->images[0], &h.images[0], sizeof(h.images[0])) == 0);
	CHECK(g->images[1].size == UINT64_MAX && g->images[1].kind == TRACE_IMG_DISK && g->images[1].name[0] == 0);
	CHECK(g->cmdline && strcmp(g->cmdline, h.cmdline) == 0);
	CHECK(g->clock_mode == TRACE_CLOCK_VIRTUAL && g->quantum_ns == 1000 && g->wallclock_ns == h.wallclock_ns &&
	      g->tsc_hz == h.tsc_hz);
	CHECK(g->n_caps == 3 && strcmp(g->caps[0].key, "kvm.api") == 0 && strcmp(g->caps[1].value, "no") == 0 &&
	      strcmp(g->caps[2].key, "") == 0);
	CHECK(g->chunk_bytes == TRACE_DEFAULT_CHUNK);
	CHECK(trace_header__copy(&h2, g) == 0 && h2.n_caps == 3 && strcmp(h2.cmdline, h.cmdline) == 0);
	trace_header__free(&h2);
	/* Empty trace: complete, zero events, next() = 0. */
	struct trace_event ev;
	CHECK(trace_reader__next(r, &ev, &err) == 0);
	CHECK(trace_reader__status(r)->end == TRACE_END_COMPLETE && trace_reader__status(r)->n_records == 0);
	trace_reader__close(r);

	/* Defaults: zero uuid -> random v4, "" version -> RRVM_VERSION, 0 time -> now. */
	path(dir, "hdr-defaults");
	memset(h.uuid, 0, sizeof(h.uuid));
	h.rrvm_version[0] = 0;
	h.created_sec = 0;
	h.n_cpuid = 0;   /* minimal header: empty table (pointer stays owned by h) */
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	CHECK(trace_writer__close(w, &err) == 0);
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	g = trace_reader__header(r);
	static const uint8_t zero[TRACE_UUID_LEN];
	CHECK(memcmp(g->uuid, zero, TRACE_UUID_LEN) != 0 && (g->uuid[6] >> 4) == 4);
	CHECK(g->rrvm_version[0] != 0 && g->created_sec > 1600000000 && g->n_cpuid == 0 && g->cpuid == NULL);
	trace_reader__close(r);
	h.n_cpuid = 5;
	trace_header__free(&h);

	/* Directory rules: 0700 directory, 0600 files; refuse a non-empty one; accept an empty one. */
	struct stat st;
	char p[600];
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	snprintf(p, sizeof(p), "%s/events", dir);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(p, sizeof(p), "%s/footer", dir);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	make_header(&h);
	CHECK(trace_writer__open(&w, dir, &h, &err) == -EEXIST && strstr(err.msg, "not empty"));
	path(dir, "hdr-empty");
	mkdir(dir, 0755);
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	trace_writer__abandon(w);
	trace_header__free(&h);
}

static void test_records_roundtrip(void)
{
	struct evlist l = { 0 };
	struct trace_event *e;
	uint8_t *big = malloc(1u << 20);
	for (size_t i = 0; i < 1u << 20; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 11));

	e = ev_add(&l, TR_SNAPSHOT);   /* before any exit: event 0 */
	e->u.snapshot.name = dup_bytes("", 0);
	e = ev_add(&l, TR_CONSOLE_IN);
	e->u.bytes.data = dup_bytes("x", 0);
	e = ev_exit(&l, 0, TRACE_DIR_NONE, 0, 0, 0);
	e = ev_exit(&l, 255, TRACE_DIR_OUT, UINT64_MAX, UINT32_MAX, UINT64_MAX);
	e->u.exit.count = UINT32_MAX;
	e->u.exit.hash = UINT32_MAX;
	e->u.exit.has_value = true;
	e->u.exit.value = UINT64_MAX;
	e = ev_exit(&l, 2, TRACE_DIR_IN, UINT64_MAX, 3, 0);   /* same address, time going backwards */
	e->u.exit.has_value = true;
	e->u.exit.value = 0;
	for (uint32_t s = 0; s <= 9; s++) {
		e = ev_exit(&l, 6, TRACE_DIR_OUT, 0xfee00000, s, 5 + s);
		e->u.exit.hash = s;
	}
	e = ev_exit(&l, 2, TRACE_DIR_IN, 0x60, 1, 1ull << 63);
	e->u.exit.count = 0;   /* 0 means one access: reads back as 1 */
	e->u.exit.has_value = false;
	e = ev_add(&l, TR_IN_VALUE);
	e->u.in.size = UINT32_MAX;
	e->u.in.value = UINT64_MAX;
	e = ev_add(&l, TR_IN_VALUE);
	e->u.in.size = 4096;
	e->u.in.data = dup_bytes(big, 4096);
	e->u.in.len = 4096;
	ev_add(&l, TR_IRQ)->u.irq.vector = 0;
	ev_add(&l, TR_IRQ)->u.irq.vector = UINT32_MAX;
	e = ev_add(&l, TR_LANDMARK);
	e->u.landmark.rip = UINT64_MAX;
	e->u.landmark.fingerprint = UINT64_MAX;
	e->u.landmark.hits = UINT32_MAX;
	e->u.landmark.vector = 255;
	ev_add(&l, TR_LANDMARK);
	e = ev_add(&l, TR_DEFERRAL);
	e->u.deferral.rip = UINT64_MAX;
	e->u.deferral.reason = UINT32_MAX;
	e = ev_add(&l, TR_CONSOLE_OUT);
	e->u.bytes.data = dup_bytes(big, 1u << 20);   /* longer than a chunk */
	e->u.bytes.len = 1u << 20;
	e = ev_add(&l, TR_CONSOLE_OUT);
	e->u.bytes.data = dup_bytes("", 0);
	e = ev_add(&l, TR_DMA);
	e->u.dma.gpa = UINT64_MAX;
	e->u.dma.data = dup_bytes(big + 5, 300);
	e->u.dma.len = 300;
	e = ev_add(&l, TR_DMA);
	e->u.dma.data = dup_bytes("", 0);
	e = ev_add(&l, TR_RDTSC);
	e->u.rdtsc.rip = UINT64_MAX;
	e->u.rdtsc.value = UINT64_MAX;
	e->u.rdtsc.aux = UINT32_MAX;
	ev_add(&l, TR_RDTSC);
	e = ev_add(&l, TR_SNAPSHOT);
	e->u.snapshot.id = UINT64_MAX;
	e->u.snapshot.name = dup_bytes("before-panic", 12);
	e->u.snapshot.len = 12;
	e = ev_exit(&l, 8, TRACE_DIR_NONE, 0, 0, (1ull << 63) + 1);
	e = ev_add(&l, TR_STOP);
	e->u.stop.reason = TRACE_STOP_PANIC;
	e->u.stop.status = INT64_MIN;
	e->u.stop.msg = dup_bytes("guest panic: page fault", 23);
	e->u.stop.len = 23;
	e = ev_add(&l, TR_STOP);
	e->u.stop.reason = UINT32_MAX;
	e->u.stop.status = INT64_MAX;
	e->u.stop.msg = dup_bytes("", 0);
	/* Normalise expectations: count 0 reads back as 1. */
	for (size_t i = 0; i < l.n; i++)
		if (l.ev[i].type == TR_EXIT && l.ev[i].u.exit.count == 0)
			l.ev[i].u.exit.count = 1;

	char dir[512];
	struct trace_header h;
	int orc, lrc;
	path(dir, "records");
	make_header(&h);
	write_list(dir, &h, &l, 512, 1);
	size_t n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECKM(orc == 0 && lrc == 0 && n == l.n, "orc %d lrc %d n %zu of %zu", orc, lrc, n, l.n);

	/* Statistics: footer counts by type, end reason from the last TR_STOP. */
	struct trace_reader *r;
	struct trace_stats st;
	struct rrvm_err err;
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	trace_reader__stats(r, &st);
	CHECK(st.by_type_valid && st.records == l.n && st.exits == l.exits && st.by_type[TR_EXIT] == l.exits);
	CHECK(st.by_type[TR_IN_VALUE] == 2 && st.by_type[TR_STOP] == 2 && st.by_type[TR_DMA] == 2);
	CHECK(st.has_end && st.end_reason == UINT32_MAX && st.end_status == INT64_MAX && st.end_msg[0] == 0);
	CHECK(trace_reader__status(r)->end == TRACE_END_COMPLETE && trace_reader__status(r)->index == TRACE_INDEX_OK);
	CHECK(st.chunks == trace_reader__n_chunks(r) && st.chunks >= 3);
	trace_reader__close(r);
	trace_header__free(&h);
	evlist_free(&l);
	free(big);
}

static void test_writer_validation(void)
{
	char dir[512];
	struct trace_header h;
	struct trace_writer *w;
	struct rrvm_err err;
	struct trace_event ev = { .type = TR_EXIT };
	path(dir, "validation");
	make_header(&h);
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	ev.event_no = 2;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);      /* the first exit is 1 */
	ev.event_no = 0;
	CHECK(trace_writer__append(w, &ev) == 0 && trace_writer__event_no(w) == 1);
	ev.event_no = 2;
	CHECK(trace_writer__append(w, &ev) == 0);
	ev.u.exit.dir = 3;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);
	memset(&ev, 0, sizeof(ev));
	ev.type = TR_IRQ;
	ev.event_no = 1;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);      /* records belong to the latest exit */
	ev.event_no = 2;
	CHECK(trace_writer__append(w, &ev) == 0);
	ev.type = 0;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);
	ev.type = TR__COUNT;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);
	ev.type = TR_CONSOLE_OUT;
	ev.u.bytes.len = TRACE_MAX_BYTES + 1;
	ev.u.bytes.data = (const uint8_t *)"";
	CHECK(trace_writer__append(w, &ev) == -E2BIG);
	ev.u.bytes.len = 5;
	ev.u.bytes.data = NULL;
	CHECK(trace_writer__append(w, &ev) == -EINVAL);
	CHECK(trace_writer__error(w)[0] == 0);
	CHECK(trace_writer__close(w, &err) == 0);
	trace_header__free(&h);
}

static void test_chunks_and_seek(void)
{
	struct evlist l = { 0 };
	char dir[512];
	struct trace_header h;
	struct trace_reader *r;
	struct rrvm_err err;
	struct trace_event ev;
	int orc, lrc;

	gen_stream(&l, 60000, 7);
	path(dir, "seek");
	make_header(&h);
	write_list(dir, &h, &l, 4096, 1);
	size_t n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECKM(orc == 0 && lrc == 0 && n == l.n, "orc %d lrc %d n %zu of %zu", orc, lrc, n, l.n);

	CHECK(trace_reader__open(&r, dir, &err) == 0);
	size_t nch = trace_reader__n_chunks(r);
	CHECKM(nch > 100, "%zu chunks", nch);
	/* first[i] = index in l of the first record with event number >= i. */
	size_t *first = malloc((l.exits + 2) * sizeof(*first));
	for (size_t i = 0, e = 0; e <= l.exits + 1; e++) {
		while (i < l.n && l.ev[i].event_no < e)
			i++;
		first[e] = i;
	}
	rng_state = 99;
	for (int k = 0; k < 2000; k++) {
		uint64_t target = k < 3 ? (uint64_t[]){ 0, l.exits, l.exits + 1 }[k] : rnd() % (l.exits + 1);
		CHECK(trace_reader__seek_event(r, target, &err) == 0);
		size_t want = first[target];
		int rc = trace_reader__next(r, &ev, &err);
		if (want == l.n) {
			CHECK(rc == 0);
			continue;
		}
		CHECKM(rc == 1 && ev_eq(&ev, &l.ev[want]), "seek %" PRIu64 ": rc %d event %" PRIu64, target, rc,
		       ev.event_no);
		/* And a few more in sequence, across a chunk boundary now and then. */
		for (size_t j = want + 1; j < want + 40 && j < l.n; j++)
			CHECK(trace_reader__next(r, &ev, &err) == 1 && ev_eq(&ev, &l.ev[j]));
	}
	CHECK(trace_reader__seek_event(r, UINT64_MAX, &err) == 0 && trace_reader__next(r, &ev, &err) == 0);
	/* Chunk info is consistent and the stats add up. */
	struct trace_stats st;
	trace_reader__stats(r, &st);
	CHECK(st.records == l.n && st.exits == l.exits && st.chunks == nch && st.by_type_valid);
	CHECK(trace_reader__chunk(r, 0)->seq == 0 && trace_reader__chunk(r, nch - 1)->last_event == l.exits);
	CHECK(trace_reader__chunk(r, nch) == NULL);
	trace_reader__close(r);

	/* Without the index: same result, index reported absent; write_index restores it. */
	rm_file(dir, "index");
	n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECK(orc == 0 && lrc == 0 && n == l.n);
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	CHECK(trace_reader__status(r)->index == TRACE_INDEX_ABSENT);
	CHECK(trace_reader__seek_event(r, l.exits / 2, &err) == 0 && trace_reader__next(r, &ev, &err) == 1 &&
	      ev_eq(&ev, &l.ev[first[l.exits / 2]]));
	CHECK(trace_reader__write_index(r, &err) == 0);
	trace_reader__close(r);
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	CHECK(trace_reader__status(r)->index == TRACE_INDEX_OK);
	trace_reader__close(r);
	free(first);
	trace_header__free(&h);
	evlist_free(&l);
}

/* Cuts `events` at every offset: every complete chunk is delivered, the cut is reported. */
static void test_torn(void)
{
	struct evlist l = { 0 };
	char dir[512], cut[512];
	struct trace_header h;
	size_t len;

	gen_stream(&l, 400, 3);
	path(dir, "torn-src");
	path(cut, "torn");
	make_header(&h);
	write_list(dir, &h, &l, 512, 1);
	uint8_t *ev = slurp(dir, "events", &len);
	size_t hl, il;
	uint8_t *hdr = slurp(dir, "header", &hl), *idx = slurp(dir, "index", &il);
	mkdir(cut, 0700);
	spit(cut, "header", hdr, hl);

	/* Chunk boundaries and record counts up to each. */
	struct trace_reader *r;
	struct rrvm_err err;
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	size_t nch = trace_reader__n_chunks(r);
	uint64_t *bound = calloc(nch + 1, sizeof(*bound)), *recs = calloc(nch + 1, sizeof(*recs));
	bound[0] = TC_EVENTS_PREAMBLE;
	for (size_t i = 0; i < nch; i++) {
		const struct trace_chunk_info *c = trace_reader__chunk(r, i);
		bound[i + 1] = c->offset + c->hdr_len + c->comp_len;
		recs[i + 1] = recs[i] + c->n_records;
	}
	trace_reader__close(r);
	CHECK(bound[nch] == len);

	for (int with_index = 0; with_index < 2; with_index++) {
		rm_file(cut, "index");
		if (with_index)
			spit(cut, "index", idx, il);
		for (size_t off = 0; off <= len; off++) {
			spit(cut, "events", ev, off);
			size_t k = 0;
			while (k < nch && bound[k + 1] <= off)
				k++;
			int orc, lrc;
			size_t n = read_compare(cut, &l, &orc, &lrc, 0);
			CHECKM(orc == 0 && n == recs[k] && lrc == -ENODATA, "cut at %zu: open %d, %zu records (want %"
			       PRIu64 "), last %d", off, orc, n, recs[k], lrc);
			CHECK(trace_reader__open(&r, cut, &err) == 0);
			const struct trace_status *s = trace_reader__status(r);
			uint64_t at = off < TC_EVENTS_PREAMBLE ? 0 : bound[k];
			int at_boundary = off == bound[k] && off >= TC_EVENTS_PREAMBLE;
			CHECKM(s->end == (at_boundary ? TRACE_END_UNFINISHED : TRACE_END_TRUNCATED) &&
			       s->valid_bytes == (off < TC_EVENTS_PREAMBLE ? 0 : bound[k]) && s->n_records == recs[k],
			       "cut at %zu: end %d valid %" PRIu64 ": %s", off, s->end, s->valid_bytes, s->msg);
			char want[64];
			snprintf(want, sizeof(want), "offset %" PRIu64, at);
			CHECKM(at_boundary || strstr(s->msg, want), "cut at %zu: %s", off, s->msg);
			CHECKM(strstr(s->msg, "did not finish cleanly"), "%s", s->msg);
			if (with_index && off < len)
				CHECK(s->index == TRACE_INDEX_BAD);
			trace_reader__close(r);
		}
	}
	/* A clean trace cut after close (footer present): truncated, not complete. */
	size_t fl;
	uint8_t *foot = slurp(dir, "footer", &fl);
	spit(cut, "footer", foot, fl);
	spit(cut, "events", ev, bound[nch / 2]);
	CHECK(trace_reader__open(&r, cut, &err) == 0);
	CHECKM(trace_reader__status(r)->end == TRACE_END_TRUNCATED, "%s", trace_reader__status(r)->msg);
	trace_reader__close(r);
	free(foot);
	free(bound);
	free(recs);
	free(ev);
	free(hdr);
	free(idx);
	trace_header__free(&h);
	evlist_free(&l);
}

/* Flips bits everywhere in every file: a clear error or detected corruption, never a wrong record. */
static void test_flips(void)
{
	struct evlist l = { 0 };
	char dir[512], bad[512];
	struct trace_header h;
	static const char *const files[] = { "header", "events", "index", "footer" };
	uint8_t *orig[4];
	size_t len[4];

	gen_stream(&l, 150, 11);
	path(dir, "flip-src");
	path(bad, "flip");
	make_header(&h);
	write_list(dir, &h, &l, 512, 1);
	mkdir(bad, 0700);
	for (int f = 0; f < 4; f++)
		orig[f] = slurp(dir, files[f], &len[f]);
	rng_state = 5;
	for (int f = 0; f < 4; f++) {
		for (int g = 0; g < 4; g++)
			spit(bad, files[g], orig[g], len[g]);
		uint8_t *b = malloc(len[f]);
		for (size_t off = 0; off < len[f] + 300; off++) {
			memcpy(b, orig[f], len[f]);
			if (off < len[f]) {
				b[off] ^= (uint8_t)(1u << (off % 8));
			} else {   /* random multi-byte damage */
				for (int k = 0; k < 1 + (int)(rnd() % 4); k++)
					b[rnd() % len[f]] = (uint8_t)rnd();
			}
			spit(bad, files[f], b, len[f]);
			int orc, lrc;
			struct rrvm_err err = { "" };
			struct trace_reader *r;
			size_t n = read_compare(bad, &l, &orc, &lrc, 0);
			int o2 = trace_reader__open(&r, bad, &err);
			const struct trace_status *s = o2 ? NULL : trace_reader__status(r);
			if (f == 0) {   /* header: everything is checksummed */
				CHECKM(orc < 0 && strncmp(err.msg, "header:", 7) == 0, "header flip at %zu: %d %s", off,
				       orc, err.msg);
			} else if (f == 1) {   /* events: an error or a non-complete status */
				int memcmp_same = memcmp(b, orig[f], len[f]) == 0;
				CHECKM(memcmp_same || orc < 0 || lrc < 0 || (s && s->end != TRACE_END_COMPLETE),
				       "events flip at %zu undetected (%zu records)", off, n);
				if (orc < 0)
					CHECKM(strncmp(err.msg, "events:", 7) == 0, "%s", err.msg);
			} else {   /* index / footer: data intact, damage reported */
				CHECKM(orc == 0 && n == l.n, "%s flip at %zu: open %d, %zu records", files[f], off, orc, n);
				if (f == 2 && s)
					CHECK(s->index == TRACE_INDEX_BAD);
				if (f == 3 && s)
					CHECK(s->end == TRACE_END_UNFINISHED && lrc == -ENODATA);
			}
			if (!o2) {   /* poke seek too */
				struct trace_event ev;
				if (trace_reader__seek_event(r, rnd() % 200, &err) == 0)
					while (trace_reader__next(r, &ev, &err) == 1)
						;
				trace_reader__close(r);
			}
		}
		free(b);
	}
	/* A damaged body in the middle: the chunks before it, then an error naming chunk and offset. */
	for (int g = 0; g < 4; g++)
		spit(bad, files[g], orig[g], len[g]);
	struct trace_reader *r;
	struct rrvm_err err;
	CHECK(trace_reader__open(&r, bad, &err) == 0);
	struct trace_chunk_info c1 = *trace_reader__chunk(r, 1);
	uint64_t at = c1.offset + c1.hdr_len + c1.comp_len / 2, c0recs = trace_reader__chunk(r, 0)->n_records;
	trace_reader__close(r);
	orig[1][at] ^= 0x10;
	spit(bad, "events", orig[1], len[1]);
	CHECK(trace_reader__open(&r, bad, &err) == 0);
	CHECK(trace_reader__status(r)->end == TRACE_END_COMPLETE);   /* bodies are checked when read */
	struct trace_event ev;
	uint64_t n = 0;
	int rc;
	while ((rc = trace_reader__next(r, &ev, &err)) == 1)
		n++;
	char want[80];
	snprintf(want, sizeof(want), "events: chunk 1 at offset %" PRIu64 ": body checksum", c1.offset);
	CHECKM(rc == -EBADMSG && n == c0recs && strstr(err.msg, want), "rc %d n %" PRIu64 ": %s", rc, n, err.msg);
	CHECK(trace_reader__seek_event(r, 0, &err) == 0 && trace_reader__next(r, &ev, &err) == 1);   /* seek clears */
	trace_reader__close(r);
	for (int f = 0; f < 4; f++)
		free(orig[f]);
	trace_header__free(&h);
	evlist_free(&l);
}

static void put_preamble_version(uint8_t *b, uint16_t major, uint16_t minor, int is_events)
{
	tc_put16(b + 8, major);
	tc_put16(b + 10, minor);
	if (is_events)
		tc_put32(b + 28, trace_codec__crc32c(0, b, 28));
	else
		tc_put32(b + 12, trace_codec__crc32c(0, b, 12));
}

/* Major versions are refused naming both; a newer minor's unknown sections, records and fields are skipped. */
static void test_versions(void)
{
	struct evlist l = { 0 };
	char dir[512];
	struct trace_header h;
	struct rrvm_err err;
	struct trace_reader *r;
	size_t hl, el;

	gen_stream(&l, 50, 1);
	path(dir, "version");
	make_header(&h);
	write_list(dir, &h, &l, 1024, 1);
	uint8_t *hdr = slurp(dir, "header", &hl), *ev = slurp(dir, "events", &el);

	put_preamble_version(hdr, 2, 3, 0);
	spit(dir, "header", hdr, hl);
	CHECK(trace_reader__open(&r, dir, &err) == -EPROTONOSUPPORT);
	CHECKM(strstr(err.msg, "2.3") && strstr(err.msg, "1.x") && strstr(err.msg, "header"), "%s", err.msg);
	put_preamble_version(hdr, 1, 0, 0);
	spit(dir, "header", hdr, hl);
	put_preamble_version(ev, 7, 0, 1);
	spit(dir, "events", ev, el);
	CHECK(trace_reader__open(&r, dir, &err) == -EPROTONOSUPPORT);
	CHECKM(strstr(err.msg, "7.0") && strstr(err.msg, "events"), "%s", err.msg);
	put_preamble_version(ev, 1, 0, 1);

	/* Minor 1.9: an extra header section before END. */
	struct tc_buf b = { 0 };
	tc_buf_put(&b, hdr, hl - 12);   /* all but the END section */
	size_t s = tc_buf_section_begin(&b, 4242);
	tc_buf_str(&b, "something new");
	tc_buf_section_end(&b, s);
	s = tc_buf_section_begin(&b, 0);
	tc_buf_section_end(&b, s);
	put_preamble_version(b.p, 1, 9, 0);
	spit(dir, "header", b.p, b.len);

	/* An events file with one hand-built chunk: exit, unknown type 200, irq with an extra trailing field. */
	uint8_t raw[256], chunk[512];
	size_t n = 0;
	struct tc_state st = { 0 };
	struct trace_event e1 = { .type = TR_EXIT, .time_ns = 500, .u.exit = { .reason = 2, .size = 1, .addr = 0x80 } };
	n += trace_codec__encode(raw + n, &e1, &st);
	raw[n++] = 200;
	raw[n++] = 3;
	raw[n++] = 1; raw[n++] = 2; raw[n++] = 3;
	raw[n++] = TR_IRQ;
	raw[n++] = 3;
	raw[n++] = 0x20; raw[n++] = 0x7f; raw[n++] = 0x7f;   /* vector, then two bytes of a future field */
	struct trace_chunk_info ci = { .first_event = 1, .last_event = 1, .first_time_ns = 500, .last_time_ns = 500,
				       .n_records = 3, .n_exits = 1, .raw_len = (uint32_t)n, .comp_len = (uint32_t)n,
				       .codec = TC_CODEC_STORED };
	memcpy(chunk + TC_CHUNK_HDR_LEN, raw, n);
	trace_codec__chunk_hdr_put(chunk, &ci, trace_codec__crc32c(0, raw, n));
	struct tc_buf eb = { 0 };
	tc_buf_put(&eb, ev, TC_EVENTS_PREAMBLE);
	put_preamble_version(eb.p, 1, 9, 1);
	tc_buf_put(&eb, chunk, TC_CHUNK_HDR_LEN + n);
	spit(dir, "events", eb.p, eb.len);
	rm_file(dir, "index");
	rm_file(dir, "footer");

	CHECKM(trace_reader__open(&r, dir, &err) == 0, "%s", err.msg);
	CHECK(trace_reader__header(r)->minor == 9 && trace_reader__header(r)->n_cpuid == 5);
	struct trace_event e;
	CHECK(trace_reader__next(r, &e, &err) == 1 && e.type == TR_EXIT && e.u.exit.addr == 0x80 && e.time_ns == 500);
	CHECK(trace_reader__next(r, &e, &err) == 1 && e.type == TR_IRQ && e.u.irq.vector == 0x20 &&
	      e.event_no == 1 && e.time_ns == 500);
	CHECK(trace_reader__next(r, &e, &err) == -ENODATA);
	struct trace_stats sts;
	trace_reader__stats(r, &sts);
	CHECK(sts.unknown_records == 1 && sts.records == 3 && !sts.by_type_valid);
	trace_reader__close(r);
	free(b.p);
	free(eb.p);
	free(hdr);
	free(ev);
	trace_header__free(&h);
	evlist_free(&l);
}

static void test_missing(void)
{
	struct evlist l = { 0 };
	char dir[512], p[600];
	struct trace_header h;
	struct rrvm_err err;
	struct trace_reader *r;
	int orc, lrc;

	gen_stream(&l, 300, 2);
	path(dir, "missing");
	make_header(&h);
	write_list(dir, &h, &l, 512, 1);

	rm_file(dir, "footer");
	size_t n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECK(orc == 0 && n == l.n && lrc == -ENODATA);
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	char want[128];
	snprintf(want, sizeof(want), "recording did not finish cleanly: no footer; %zu complete records up to event %" PRIu64,
		 l.n, l.exits);
	CHECKM(strcmp(trace_reader__status(r)->msg, want) == 0, "%s", trace_reader__status(r)->msg);
	trace_reader__close(r);

	rm_file(dir, "index");
	n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECK(orc == 0 && n == l.n && lrc == -ENODATA);

	char aside[600];
	snprintf(p, sizeof(p), "%s/events", dir);
	snprintf(aside, sizeof(aside), "%s/events-aside", tmproot);
	CHECK(rename(p, aside) == 0);
	CHECK(trace_reader__open(&r, dir, &err) == -ENOENT && strstr(err.msg, "events"));
	CHECK(rename(aside, p) == 0);
	rm_file(dir, "header");
	CHECK(trace_reader__open(&r, dir, &err) == -ENOENT && strstr(err.msg, "header"));
	CHECK(trace_reader__open(&r, "/nonexistent/trace", &err) == -ENOENT && strstr(err.msg, "/nonexistent/trace"));
	/* Empty file instead of a header. */
	spit(dir, "header", "", 0);
	CHECK(trace_reader__open(&r, dir, &err) == -EBADMSG && strstr(err.msg, "header"));
	trace_header__free(&h);
	evlist_free(&l);
}

/* SIGKILL the writer at random moments: the trace opens and replays a prefix exactly. */
static void test_sigkill(void)
{
	struct evlist l = { 0 };
	struct trace_header h;
	gen_stream(&l, 200000, 5);
	make_header(&h);
	int prefixes = 0;
	for (int trial = 0; trial < 12; trial++) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/kill%d", tmproot, trial);
		pid_t pid = fork();
		if (pid == 0) {
			struct trace_writer *w;
			struct rrvm_err err;
			struct trace_writer_opts o = { .chunk_bytes = 2048 };
			if (trace_writer__open_opts(&w, dir, &h, &o, &err))
				_exit(1);
			for (size_t i = 0; i < l.n; i++) {
				if (trace_writer__append(w, &l.ev[i]))
					_exit(1);
				if (i % 997 == 0)
					trace_writer__flush(w);
			}
			trace_writer__close(w, &err);
			_exit(0);
		}
		struct timespec ts = { 0, (long)(1000000 + (trial * 7919 % 30) * 1000000) };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		int orc, lrc;
		size_t n = read_compare(dir, &l, &orc, &lrc, 1);
		if (orc == -ENOENT)   /* killed before the header existed */
			continue;
		CHECKM(orc == 0 && (lrc == -ENODATA || (lrc == 0 && n == l.n)), "trial %d: open %d last %d", trial, orc,
		       lrc);
		prefixes += orc == 0;
	}
	printf("sigkill: %d of 12 killed recordings opened and replayed their prefix exactly\n", prefixes);
	CHECK(prefixes >= 6);
	trace_header__free(&h);
	evlist_free(&l);
}

/* Running out of room (file size limit: EFBIG, like ENOSPC) is reported, sticky, and leaves a readable
 * prefix of every record accepted. */
static void test_write_error(void)
{
	struct evlist l = { 0 };
	struct trace_header h;
	char dir[512];
	gen_stream(&l, 20000, 9);
	make_header(&h);
	path(dir, "full");
	pid_t pid = fork();
	if (pid == 0) {
		struct trace_writer *w;
		struct rrvm_err err;
		struct trace_writer_opts o = { .chunk_bytes = 1024 };
		struct rlimit rl = { 20000, 20000 };
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (trace_writer__open_opts(&w, dir, &h, &o, &err))
			_exit(10);
		int rc = 0;
		size_t i;
		for (i = 0; i < l.n && !rc; i++)
			rc = trace_writer__append(w, &l.ev[i]);
		if (rc != -EFBIG || !strstr(trace_writer__error(w), "the trace holds every event up to"))
			_exit(11);
		if (trace_writer__append(w, &l.ev[i]) != -EFBIG)   /* sticky */
			_exit(12);
		if (trace_writer__close(w, &err) != -EFBIG || !strstr(err.msg, "out of space"))
			_exit(13);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECKM(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	int orc, lrc;
	size_t n = read_compare(dir, &l, &orc, &lrc, 1);
	CHECKM(orc == 0 && lrc == -ENODATA && n > 100, "open %d last %d n %zu", orc, lrc, n);
	struct trace_reader *r;
	struct rrvm_err err;
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	CHECK(trace_reader__status(r)->end == TRACE_END_UNFINISHED && trace_reader__status(r)->index == TRACE_INDEX_OK);
	trace_reader__close(r);
	trace_header__free(&h);
	evlist_free(&l);
}

/* ---- the golden 1.0 trace ------------------------------------------------- */

static void golden_header(struct trace_header *h, unsigned minor)
{
	static const struct trace_cpuid_entry cpuid[] = {
		{ 0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },
		{ 1, 0, 0, 0x000806c1, 0x00000800, 0x80202001, 0x078bfbff },
		{ 0xd, 0, 1, 0x7, 0x340, 0x340, 0 },
	};
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < TRACE_UUID_LEN; i++)
		h->uuid[i] = (uint8_t)i;
	snprintf(h->rrvm_version, sizeof(h->rrvm_version), "golden-1.%u", minor);
	h->created_sec = 1700000000;
	h->created_nsec = 1;
	h->ram_bytes = 64ull << 20;
	h->n_vcpus = 1;
	snprintf(h->cpu_profile, sizeof(h->cpu_profile), "baseline");
	trace_header__set_cpuid(h, cpuid, 3);
	h->n_images = 1;
	h->images[0].kind = TRACE_IMG_KERNEL;
	h->images[0].size = 18;
	sha256__buf("rrvm golden kernel", 18, h->images[0].sha256);
	snprintf(h->images[0].name, sizeof(h->images[0].name), "testkernel.elf");
	trace_header__set_cmdline(h, "console=ttyS0");
	h->clock_mode = TRACE_CLOCK_VIRTUAL;
	h->quantum_ns = 1000;
	h->wallclock_ns = 1700000000000000000ull;
	h->tsc_hz = 2000000000ull;
	trace_header__add_cap(h, "kvm.irqchip", "userspace");
}

/* minor >= 1 adds TR_REGS after every exit from the 10th on. */
static void golden_events(struct evlist *l, unsigned minor)
{
	struct trace_event *e;
	e = ev_add(l, TR_SNAPSHOT);
	e->u.snapshot.name = dup_bytes("start", 5);
	e->u.snapshot.len = 5;
	for (int i = 1; i <= 24; i++) {
		uint64_t t = (uint64_t)i * 1000;
		if (i % 6 == 0) {
			e = ev_exit(l, 2, TRACE_DIR_IN, 0x3fd, 1, t);
			e->u.exit.has_value = true;
			e->u.exit.value = 0x60;
			uint8_t v = 0x60;
			e->u.exit.hash = trace__value_hash(&v, 1);
		} else {
			uint8_t c = (uint8_t)('A' + i);
			e = ev_exit(l, 2, TRACE_DIR_OUT, 0x3f8, 1, t);
			e->u.exit.hash = trace__value_hash(&c, 1);
			e = ev_add(l, TR_CONSOLE_OUT);
			e->u.bytes.data = dup_bytes(&c, 1);
			e->u.bytes.len = 1;
		}
		if (i % 8 == 0)
			ev_add(l, TR_IRQ)->u.irq.vector = 0x20;
		if (minor >= 1 && i >= 10) {
			e = ev_add(l, TR_REGS);
			for (unsigned k = 0; k < TRACE_NREGS; k++)
				e->u.regs.v[k] = k == 16 ? 0x100200 + (uint64_t)i : k == 17 ? 0x202 : k * 0x10 + (uint64_t)(i & 3);
		}
	}
	e = ev_exit(l, 6, TRACE_DIR_IN, 0xfed00000, 4, 30000);
	e->u.exit.has_value = true;
	e->u.exit.value = 0xdeadbeef;
	e = ev_exit(l, 29, TRACE_DIR_IN, 0x10, 8, 31000);
	e->u.exit.has_value = true;
	e->u.exit.value = 62000;
	e = ev_exit(l, 2, TRACE_DIR_IN, 0x1f0, 2, 32000);
	e->u.exit.count = 4;
	e = ev_add(l, TR_IN_VALUE);
	e->u.in.size = 8;
	e->u.in.data = dup_bytes("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	e->u.in.len = 8;
	e = ev_add(l, TR_LANDMARK);
	e->u.landmark.rip = 0x100234;
	e->u.landmark.fingerprint = 0x0123456789abcdefull;
	e->u.landmark.hits = 3;
	e->u.landmark.vector = 0x20;
	e = ev_add(l, TR_DEFERRAL);
	e->u.deferral.rip = 0x400100;
	e->u.deferral.reason = 1;
	e = ev_exit(l, 5, TRACE_DIR_NONE, 0, 0, 1000000);
	e = ev_add(l, TR_CONSOLE_IN);
	e->u.bytes.data = dup_bytes("race\n", 5);
	e->u.bytes.len = 5;
	e = ev_add(l, TR_DMA);
	e->u.dma.gpa = 0x9000;
	e->u.dma.data = dup_bytes("race\n", 5);
	e->u.dma.len = 5;
	e = ev_exit(l, 2, TRACE_DIR_IN, 0x4f0, 4, 1001000);
	e->u.exit.has_value = true;
	e->u.exit.value = 2002000;
	e = ev_add(l, TR_RDTSC);
	e->u.rdtsc.rip = 0x100400;
	e->u.rdtsc.value = 2002000;
	e->u.rdtsc.aux = 0;
	e = ev_exit(l, 2, TRACE_DIR_OUT, 0x604, 2, 1002000);
	e->u.exit.hash = 0x2000;
	e = ev_add(l, TR_STOP);
	e->u.stop.reason = TRACE_STOP_POWEROFF;
	e->u.stop.status = 0;
	e->u.stop.msg = dup_bytes("powered off", 11);
	e->u.stop.len = 11;
}

/* Writes the golden trace of the current minor version. */
static int golden_write(const char *dir)
{
	struct trace_header h;
	struct evlist l = { 0 };
	golden_header(&h, TRACE_FORMAT_MINOR);
	golden_events(&l, TRACE_FORMAT_MINOR);
	int rc = write_list(dir, &h, &l, 256, 1);
	trace_header__free(&h);
	evlist_free(&l);
	return rc;
}

/* Every golden trace kept in traces/golden: 1.minor, written by that version's writer. */
static void test_golden(unsigned minor)
{
	char gdir[512];
	snprintf(gdir, sizeof(gdir), RRVM_SOURCE_DIR "/traces/golden/v1.%u-synthetic", minor);
	char gver[32];
	snprintf(gver, sizeof(gver), "golden-1.%u", minor);
	struct trace_header h;
	struct evlist l = { 0 };
	struct trace_reader *r;
	struct rrvm_err err;
	int orc, lrc;

	golden_header(&h, minor);
	golden_events(&l, minor);
	size_t n = read_compare(gdir, &l, &orc, &lrc, 1);
	CHECKM(orc == 0 && lrc == 0 && n == l.n, "golden: open %d last %d n %zu of %zu", orc, lrc, n, l.n);
	CHECKM(trace_reader__open(&r, gdir, &err) == 0, "%s", err.msg);
	if (orc == 0) {
		const struct trace_header *g = trace_reader__header(r);
		CHECK(g->major == 1 && g->minor == minor && memcmp(g->uuid, h.uuid, 16) == 0);
		CHECK(strcmp(g->rrvm_version, gver) == 0 && g->created_sec == 1700000000 && g->created_nsec == 1);
		CHECK(g->n_cpuid == 3 && memcmp(g->cpuid, h.cpuid, 3 * sizeof(*h.cpuid)) == 0);
		CHECK(g->n_images == 1 && memcmp(g->images[0].sha256, h.images[0].sha256, 32) == 0);
		CHECK(strcmp(g->cmdline, "console=ttyS0") == 0 && g->n_caps == 1 && g->chunk_bytes == 256);
		const struct trace_status *s = trace_reader__status(r);
		CHECKM(s->end == TRACE_END_COMPLETE && s->index == TRACE_INDEX_OK && s->n_chunks > 3, "%s / %s", s->msg,
		       s->index_msg);
		struct trace_stats st;
		trace_reader__stats(r, &st);
		CHECK(st.by_type_valid && st.by_type[TR_EXIT] == l.exits && st.by_type[TR_CONSOLE_OUT] == 20 && st.end_reason == TRACE_STOP_POWEROFF &&
		      strcmp(st.end_msg, "powered off") == 0);
		trace_reader__close(r);
	}
	/* This writer still produces the same header bytes as its own version's
	 * golden (events depend on the LZ4 version; compared decoded). */
	if (TRACE_FORMAT_MAJOR == 1 && TRACE_FORMAT_MINOR == minor) {
		char dir[512];
		size_t a, b;
		path(dir, "golden-again");
		golden_write(dir);
		uint8_t *x = slurp(dir, "header", &a), *y = slurp(gdir, "header", &b);
		CHECK(x && y && a == b && memcmp(x, y, a) == 0);
		free(x);
		free(y);
	}
	trace_header__free(&h);
	evlist_free(&l);
}

/* ---- benchmark ------------------------------------------------------------ */

/* CPU time of this thread: other load on the host does not inflate the figures. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* jitter: real clock (exit spacing varies by up to 2 us); without: virtual clock (fixed quantum). */
static void bench(int jitter)
{
	struct trace_header h;
	struct trace_writer *w;
	struct rrvm_err err;
	char dir[512];
	const size_t N = 2000000;
	const char *label = jitter ? "bench (real clock)" : "bench (virtual clock)";
	make_header(&h);
	path(dir, jitter ? "bench-real" : "bench-virtual");
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	/* A serial-console-heavy guest: OUT to THR + IN from LSR, PIT reads, ~15 us apart, some jitter. */
	struct trace_event ev = { .type = TR_EXIT };
	struct trace_event co = { .type = TR_CONSOLE_OUT };
	uint64_t t = 0, x = 88172645463325252ull;
	double t0 = now_s();
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		t += jitter ? 14000 + (x & 2047) : 15000;
		ev.event_no = 0;
		ev.time_ns = t;
		ev.u.exit.reason = 2;
		ev.u.exit.size = 1;
		switch (i % 3) {
		case 0:
			ev.u.exit.dir = TRACE_DIR_IN;
			ev.u.exit.addr = 0x3fd;
			ev.u.exit.has_value = true;
			ev.u.exit.value = 0x60;
			ev.u.exit.hash = trace__value_hash_u64(0x60, 1);
			break;
		case 1: {
			uint8_t c = (uint8_t)(' ' + (i / 3) % 95);
			ev.u.exit.dir = TRACE_DIR_OUT;
			ev.u.exit.addr = 0x3f8;
			ev.u.exit.has_value = true;   /* the value written, so the hash is implied */
			ev.u.exit.value = c;
			ev.u.exit.hash = trace__value_hash(&c, 1);
			trace_writer__append(w, &ev);
			co.event_no = trace_writer__event_no(w);
			co.u.bytes.data = &c;
			co.u.bytes.len = 1;
			trace_writer__append(w, &co);
			continue;
		}
		default:
			ev.u.exit.dir = TRACE_DIR_IN;
			ev.u.exit.addr = 0x40;
			ev.u.exit.has_value = true;
			ev.u.exit.value = (t / 838) & 0xff;
			ev.u.exit.hash = trace__value_hash_u64(ev.u.exit.value, 1);
			break;
		}
		trace_writer__append(w, &ev);
	}
	double t1 = now_s();
	struct trace_stats st;
	trace_writer__stats(w, &st);
	CHECK(trace_writer__close(w, &err) == 0);
	double t2 = now_s();
	printf("%s: %zu exits + %" PRIu64 " console records: %.1f ns/append CPU (incl. compression and writes), "
	       "close %.1f ms\n", label, N, st.records - N, (t1 - t0) * 1e9 / (double)st.records, (t2 - t1) * 1e3);
	printf("%s: encoded %.2f bytes/record, on disk %.2f bytes/record, compression ratio %.2f, %" PRIu64
	       " chunks; %.0f bytes per guest second\n", label, (double)st.raw_bytes / (double)st.records,
	       (double)st.comp_bytes / (double)st.records, (double)st.raw_bytes / (double)st.comp_bytes, st.chunks,
	       (double)st.comp_bytes / ((double)t * 1e-9));

	/* Encode-only cost (no seal): the hot-path floor. */
	uint8_t *buf = malloc(64u << 20);
	struct tc_state s = { 0 };
	size_t off = 0;
	double t3 = now_s();
	for (size_t i = 0; i < N; i++) {
		ev.time_ns += 15000;
		ev.u.exit.addr = (i & 1) ? 0x3f8 : 0x3fd;
		off += trace_codec__encode(buf + off, &ev, &s);
		if (off > (60u << 20))
			off = 0;
	}
	double t4 = now_s();
	printf("%s: encode only %.1f ns/record\n", label, (t4 - t3) * 1e9 / (double)N);

	/* Read back speed. */
	struct trace_reader *r;
	struct trace_event e;
	size_t n = 0;
	double t5 = now_s();
	CHECK(trace_reader__open(&r, dir, &err) == 0);
	while (trace_reader__next(r, &e, &err) == 1)
		n++;
	trace_reader__close(r);
	double t6 = now_s();
	CHECK(n == st.records);
	printf("%s: read %.1f ns/record\n", label, (t6 - t5) * 1e9 / (double)n);
	free(buf);
	trace_header__free(&h);
}

/* Fuzz seeds: a mixed sample trace, and the golden events as one raw record body (fuzz mode 3). */
static int write_sample(const char *dir)
{
	struct trace_header h;
	struct evlist l = { 0 };
	make_header(&h);
	gen_stream(&l, 300, 4);
	int rc = write_list(dir, &h, &l, 512, 1);
	trace_header__free(&h);
	evlist_free(&l);
	return rc;
}

static int write_record_seed(const char *out)
{
	struct evlist l = { 0 };
	struct tc_state st = { 0 };
	uint8_t *b = calloc(1, 1 << 16);
	size_t n = 7;
	golden_events(&l, TRACE_FORMAT_MINOR);
	b[0] = 3 << 3;
	for (size_t i = 0; i < l.n; i++)
		n += trace_codec__encode(b + n, &l.ev[i], &st);
	FILE *f = fopen(out, "wb");
	int ok = f && fwrite(b, 1, n, f) == n;
	if (f)
		fclose(f);
	free(b);
	evlist_free(&l);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--golden") == 0)
		return golden_write(argv[2]) ? 1 : 0;
	if (argc == 3 && strcmp(argv[1], "--sample") == 0)
		return write_sample(argv[2]) ? 1 : 0;
	if (argc == 3 && strcmp(argv[1], "--record-seed") == 0)
		return write_record_seed(argv[2]);
	/* Default to tmpfs when there is one: the writer fsyncs, and disks under load make that slow. */
	const char *t = getenv("TMPDIR");
	if (!t || !*t)
		t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmproot, sizeof(tmproot), "%s/rrvm-test-trace-XXXXXX", t);
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "--bench-only") == 0) {
		bench(1);
		bench(0);
	} else {
		test_codec();
		test_sha256();
		test_header_roundtrip();
		test_records_roundtrip();
		test_writer_validation();
		test_chunks_and_seek();
		test_torn();
		test_flips();
		test_versions();
		test_missing();
		test_sigkill();
		test_write_error();
		test_golden(0);
		test_golden(1);
		bench(1);
		bench(0);
	}
	rm_rf(tmproot);
	printf("test_trace: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
