/* fuzz_trace_reader.c — libFuzzer target for the trace reader (header/index/footer/records/whole directory),
 * plus a standalone driver (-DRRVM_FUZZ_STANDALONE) that runs it over a corpus, with optional mutations, in CI.
 *
 * Input: byte 0 selects the mode; bit 0 = recompute every checksum before reading (so mutations reach the
 * decoders behind them), bit 1 = write an index file, bit 2 = write a footer file, bits 3-4: 0-1 = a whole
 * trace directory, 2 = header/index/footer decoders in memory, 3 = one chunk body of records.
 * Then u16 LE lengths of the header, index and footer parts, those parts, and the events file (the rest). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/trace_codec.h"

struct parts {
	const uint8_t *p[4];   /* header, index, footer, events */
	size_t n[4];
};

static void split(const uint8_t *d, size_t len, struct parts *pt)
{
	size_t off = 7;
	for (int i = 0; i < 3; i++) {
		size_t want = len >= 7 ? tc_get16(d + 1 + 2 * i) : 0;
		size_t have = len > off ? len - off : 0;
		pt->n[i] = want < have ? want : have;
		pt->p[i] = d + (off < len ? off : len);
		off += pt->n[i];
	}
	pt->p[3] = d + (off < len ? off : len);
	pt->n[3] = len > off ? len - off : 0;
}

/* Rewrites the checksums of a section container in place. */
static void fix_container(uint8_t *b, size_t len)
{
	if (len < TC_CONTAINER_PREAMBLE)
		return;
	tc_put32(b + 12, trace_codec__crc32c(0, b, 12));
	for (size_t o = TC_CONTAINER_PREAMBLE; len - o >= 12;) {
		uint32_t n = tc_get32(b + o + 4);
		if (n > len - o - 12)
			return;
		tc_put32(b + o + 8 + n, trace_codec__crc32c(0, b + o, 8 + (size_t)n));
		o += 12 + (size_t)n;
	}
}

/* Rewrites the preamble and chunk checksums of an events file in place. */
static void fix_events(uint8_t *b, size_t len)
{
	if (len < TC_EVENTS_PREAMBLE)
		return;
	tc_put32(b + 28, trace_codec__crc32c(0, b, 28));
	for (size_t o = TC_EVENTS_PREAMBLE; len - o >= 8;) {
		int hl = trace_codec__chunk_hdr_len(b + o);
		if (hl < 0 || len - o < (size_t)hl)
			return;
		uint32_t comp = tc_get32(b + o + 76);
		if (comp <= len - o - (size_t)hl)
			tc_put32(b + o + 80, trace_codec__crc32c(0, b + o + hl, comp));
		tc_put32(b + o + hl - 4, trace_codec__crc32c(0, b + o, (size_t)hl - 4));
		if (comp > len - o - (size_t)hl)
			return;
		o += (size_t)hl + comp;
	}
}

static const char *workdir(void)
{
	static char dir[128];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/rrvm-fuzz-trace-%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (int)getpid());
		mkdir(dir, 0700);
	}
	return dir;
}

static void put_file(const char *dir, const char *name, const uint8_t *b, size_t n, int present)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	if (!present)
		return;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	if (n && write(fd, b, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void read_dir(const char *dir)
{
	struct trace_reader *r;
	struct trace_event ev;
	struct rrvm_err err;
	struct trace_stats st;
	if (trace_reader__open(&r, dir, &err))
		return;
	trace_reader__stats(r, &st);
	for (int i = 0; i < 100000 && trace_reader__next(r, &ev, &err) == 1; i++)
		;
	uint64_t last = trace_reader__status(r)->last_event;
	uint64_t targets[] = { 0, 1, last / 2, last, last + 1 };
	for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++)
		if (trace_reader__seek_event(r, targets[k], &err) == 0)
			for (int i = 0; i < 50 && trace_reader__next(r, &ev, &err) == 1; i++)
				;
	trace_reader__close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	struct parts pt;
	split(data, size, &pt);
	uint8_t *buf[4];
	for (int i = 0; i < 4; i++) {
		buf[i] = malloc(pt.n[i] + 1);
		if (pt.n[i])
			memcpy(buf[i], pt.p[i], pt.n[i]);
	}
	if (mode & 1) {
		for (int i = 0; i < 3; i++)
			fix_container(buf[i], pt.n[i]);
		fix_events(buf[3], pt.n[3]);
	}
	switch ((mode >> 3) & 3) {
	case 0:
	case 1: {
		const char *dir = workdir();
		put_file(dir, "header", buf[0], pt.n[0], 1);
		put_file(dir, "index", buf[1], pt.n[1], mode & 2);
		put_file(dir, "footer", buf[2], pt.n[2], mode & 4);
		put_file(dir, "events", buf[3], pt.n[3], 1);
		read_dir(dir);
		break;
	}
	case 2: {
		struct trace_header h;
		struct rrvm_err err;
		struct trace_stats st;
		struct trace_chunk_info *c;
		size_t n;
		uint64_t covered, evb;
		if (trace_codec__header_decode(buf[0], pt.n[0], &h, &err) == 0)
			trace_header__free(&h);
		if (trace_codec__index_decode(buf[1], pt.n[1], (const uint8_t *)"0123456789abcdef", &covered, &c, &n,
					      &err) == 0)
			free(c);
		trace_codec__footer_decode(buf[2], pt.n[2], (const uint8_t *)"0123456789abcdef", &st, &evb, &err);
		break;
	}
	case 3: {
		struct tc_state st = { 0 };
		struct trace_event ev;
		const uint8_t *p = buf[3], *end = buf[3] + pt.n[3];
		const char *why;
		while (p < end && trace_codec__decode(&p, end, &ev, &st, &why) >= 0)
			;
		break;
	}
	}
	for (int i = 0; i < 4; i++)
		free(buf[i]);
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
/* ---- standalone driver --------------------------------------------------- */
#include "tests/fuzz/standalone.h"

/* Packs a trace directory into one input (mode byte `mode`). */
static int make_seed(const char *dir, const char *out, int mode)
{
	static const char *const names[4] = { "header", "index", "footer", "events" };
	uint8_t *b[4] = { 0 };
	size_t n[4] = { 0 };
	for (int i = 0; i < 4; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		b[i] = malloc(1 << 20);
		n[i] = fread(b[i], 1, 1 << 20, f);
		fclose(f);
		if (i < 3 && n[i] > 65535)
			n[i] = 65535;
	}
	FILE *f = fopen(out, "wb");
	if (!f) {
		perror(out);
		return 1;
	}
	uint8_t hdr[7] = { (uint8_t)mode };
	for (int i = 0; i < 3; i++)
		tc_put16(hdr + 1 + 2 * i, (uint16_t)n[i]);
	fwrite(hdr, 1, 7, f);
	for (int i = 0; i < 4; i++) {
		if (n[i])
			fwrite(b[i], 1, n[i], f);
		free(b[i]);
	}
	fclose(f);
	return 0;
}

static void cleanup(void)
{
	static const char *const names[] = { "header", "index", "footer", "events", "index.tmp" };
	char p[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", workdir(), names[i]);
		unlink(p);
	}
	rmdir(workdir());
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--make-seed") == 0)
		return make_seed(argv[2], argv[3], (int)strtol(argv[4], NULL, 0));
	fuzz_mutator.keep = 1;   /* the mode byte picks the parser: keep it */
	atexit(cleanup);
	return fuzz_standalone_main("fuzz_trace_reader", argc, argv);
}
#endif
