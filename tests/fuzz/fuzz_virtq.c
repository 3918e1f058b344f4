/* fuzz_virtq.c — libFuzzer target and standalone property test for the virtqueue engine (core/virtq.c):
 * random rings and descriptor tables must never make it touch memory outside guest RAM, or loop.
 *
 * Guest RAM here is two malloc'd regions with a gap between them ([0, 32K) and [64K, 96K)), so AddressSanitizer
 * sees any access past either end. Input: byte 0 = log2 queue size (mod 9), bytes 1-6 = 16-bit page-ish
 * offsets of the descriptor table, avail ring and used ring (scaled to cover the gap and beyond), byte 7 =
 * flags (bit 0: drive the rings with a consistent avail index), the rest is copied over guest RAM. The
 * standalone build (-DRRVM_FUZZ_STANDALONE) runs `--iterations N` random inputs from `--seed S`, with
 * descriptor tables biased towards valid-looking chains (loops, indirect tables, boundaries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/virtq.h"

#define REGION 0x8000u

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_virtq: %s\n", what);
	abort();
}

static unsigned long n_chains, n_bufs, n_rejected;

static void run_one(const uint8_t *data, size_t size)
{
	struct guest_mem m;
	memset(&m, 0, sizeof(m));
	uint8_t *lo = calloc(1, REGION), *hi = calloc(1, REGION);
	if (!lo || !hi)
		fail("out of memory");
	m.region[0] = (struct mem_region){ .gpa = 0, .size = REGION, .host = lo };
	m.region[1] = (struct mem_region){ .gpa = 0x10000, .size = REGION, .host = hi };
	m.nr_regions = 2;
	m.size = 2 * REGION;
	struct virtq q;
	memset(&q, 0, sizeof(q));
	uint8_t h[8] = { 0 };
	memcpy(h, data, size < 8 ? size : 8);
	q.size = (uint16_t)(1u << (h[0] % 9));
	q.max_size = VIRTQ_MAX_SIZE;
	q.enabled = 1;
	q.desc = (uint64_t)(h[1] | h[2] << 8) * 2;
	q.avail = (uint64_t)(h[3] | h[4] << 8) * 2;
	q.used = (uint64_t)(h[5] | h[6] << 8) * 2;
	if (size > 8) {
		size_t n = size - 8;
		memcpy(lo, data + 8, n < REGION ? n : REGION);
		if (n > REGION)
			memcpy(hi, data + 8 + REGION, n - REGION < REGION ? n - REGION : REGION);
	}
	static struct virtq_chain c;
	static uint8_t scratch[1 << 16];
	char why[160];
	unsigned pops = 0;
	for (;;) {
		int rc = virtq__pop(&q, &m, &c, why, sizeof(why));
		n_rejected += rc < 0;
		if (rc <= 0)
			break;
		n_chains++;
		n_bufs += c.n;
		if (++pops > q.size)
			fail("more chains than the queue holds (avail index not bounded)");
		if (c.n > VIRTQ_MAX_BUFS || c.n_out > c.n)
			fail("chain bookkeeping out of range");
		for (uint32_t i = 0; i < c.n; i++)
			if (!mem__ptr(&m, c.buf[i].gpa, c.buf[i].len) || (i < c.n_out) == (c.buf[i].write != 0))
				fail("a buffer outside RAM or out of order was accepted");
		/* Touch every byte the chain allows, as the devices do. */
		for (uint64_t off = 0; off < c.out_len; off += sizeof(scratch))
			virtq__read(&c, &m, off, scratch, sizeof(scratch));
		for (uint64_t off = 0; off < c.in_len; off += sizeof(scratch))
			virtq__write(&c, &m, off, scratch, sizeof(scratch));
		virtq__push(&q, &m, c.head, (uint32_t)c.in_len);
	}
	virtq__no_interrupt(&q, &m);
	free(lo);
	free(hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_one(data, size);
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
static uint64_t rng_state;
static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

/* A RAM image with rings at the chosen offsets and plausible descriptors. */
static size_t make_input(uint8_t *in, size_t max)
{
	size_t n = 8 + REGION + (rnd() % 2 ? REGION : 0);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)rnd();
	unsigned lg = rnd() % 9, qs = 1u << lg;
	in[0] = (uint8_t)lg;
	uint32_t desc = (rnd() % 0x3000) & ~15u, avail = 0x6000 + (rnd() % 0x800 & ~1u), used = 0x7000 & ~3u;
	if (rnd() % 8 == 0)
		desc = 0x7ff0 + (rnd() % 0x20);        /* straddles the end of region 0 */
	uint32_t v[3] = { desc / 2, avail / 2, used / 2 };
	for (int i = 0; i < 3; i++) {
		in[1 + 2 * i] = (uint8_t)v[i];
		in[2 + 2 * i] = (uint8_t)(v[i] >> 8);
	}
	uint8_t *ram = in + 8;
	size_t ram_len = n - 8;
	for (unsigned i = 0; i < qs && desc + 16 * i + 16 <= ram_len; i++) {
		uint8_t *d = ram + desc + 16 * i;
		uint64_t addr = rnd() % 8 ? (rnd() % 2 ? 0 : 0x10000) + rnd() % 0x7c00 : ((uint64_t)rnd() << 32 | rnd());
		uint32_t len = rnd() % 8 ? rnd() % 0x400 : rnd();
		uint16_t flags = (uint16_t)((rnd() % 2) | (rnd() % 2) << 1 | (rnd() % 16 == 0) << 2), next = (uint16_t)(rnd() % 3 ? (i + 1) % qs : rnd() % (qs + 4));
		if ((flags & 4) && rnd() % 2)
			len = 16 * (1 + rnd() % 300);
		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
	}
	if (avail + 4 + 2 * qs <= ram_len) {
		uint16_t idx = (uint16_t)(rnd() % 3 ? rnd() % (qs + 1) : rnd());
		memcpy(ram + avail + 2, &idx, 2);
		for (unsigned i = 0; i < qs; i++) {
			uint16_t head = (uint16_t)(rnd() % 4 ? rnd() % qs : rnd());
			memcpy(ram + avail + 4 + 2 * i, &head, 2);
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	unsigned long iters = 20000, seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--iterations"))
			iters = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[i + 1], NULL, 0);
	}
	rng_state = seed;
	static uint8_t in[8 + 2 * REGION];
	for (unsigned long i = 0; i < iters; i++)
		run_one(in, make_input(in, sizeof(in)));
	printf("fuzz_virtq: %lu random queues (seed %lu): %lu chains (%lu buffers) accepted, %lu rejected; "
	       "no access outside guest RAM, no loop\n", iters, seed, n_chains, n_bufs, n_rejected);
	if (!n_chains || !n_rejected)
		fail("the generator no longer reaches both valid and invalid chains");
	return 0;
}
#endif
