/* fuzz_gdb_framer.c — libFuzzer target for the gdb stub's byte layers: every input is a byte stream from
 * "gdb"; the framer cuts it into packets, each packet is matched against the command table and its argument
 * schema, and re-encoding a packet must decode to the same bytes. A standalone driver
 * (-DRRVM_FUZZ_STANDALONE) runs a corpus plus seeded mutations in CI. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gdb/framer.h"
#include "gdb/proto.h"

static struct gdb_framer fr, fr2;
static struct gdb_args args;
static char framed[2 * GDB_PACKET_MAX + 8];

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	gdb_framer__reset(&fr);
	for (size_t i = 0; i < n; i++) {
		enum gdb_frame_kind k = gdb_framer__feed(&fr, d[i]);
		if (k != GDB_FRAME_PACKET)
			continue;
		if (fr.len > GDB_PACKET_MAX)
			abort();
		gdb_proto__match(fr.data, fr.len, &args, NULL);
		/* Round trip: what we would send decodes to the same bytes. */
		size_t m = gdb_framer__encode(fr.data, fr.len, framed, sizeof(framed));
		if (!m)
			abort();
		gdb_framer__reset(&fr2);
		enum gdb_frame_kind k2 = GDB_FRAME_NONE;
		for (size_t j = 0; j < m; j++)
			k2 = gdb_framer__feed(&fr2, (uint8_t)framed[j]);
		if (k2 != GDB_FRAME_PACKET || fr2.len != fr.len || memcmp(fr2.data, fr.data, fr.len))
			abort();
	}
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned long runs;

static void run_one(const uint8_t *d, size_t n, int mutations)
{
	LLVMFuzzerTestOneInput(d, n);
	runs++;
	uint8_t *m = malloc(n + 64);
	static const uint8_t special[] = { '$', '#', '}', '*', 0x03, '+', '-', ',', ':', ';', '0', 'f' };
	for (int k = 0; k < mutations; k++) {
		size_t len = n;
		memcpy(m, d, n);
		int edits = 1 + (int)(rnd() % 4);
		for (int e = 0; e < edits && len > 1; e++) {
			size_t at = rnd() % len;
			switch (rnd() % 5) {
			case 0: m[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
			case 1: m[at] = (uint8_t)rnd(); break;
			case 2: len = at; break;
			case 3: m[at] = special[rnd() % sizeof(special)]; break;
			case 4: if (len + 8 < n + 64) {
					memmove(m + at + 8, m + at, len - at);
					for (int i = 0; i < 8; i++)
						m[at + i] = special[rnd() % sizeof(special)];
					len += 8;
				}
				break;
			}
		}
		LLVMFuzzerTestOneInput(m, len);
		runs++;
	}
	free(m);
}

static int run_path(const char *path, int mutations)
{
	struct stat st;
	if (stat(path, &st)) {
		perror(path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *de;
		int rc = 0;
		while (dir && (de = readdir(dir))) {
			char p[4096];
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			rc |= run_path(p, mutations);
		}
		if (dir)
			closedir(dir);
		return rc;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	run_one(b, n, mutations);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	int mutations = 0, rc = 0, i = 1;
	if (argc > 2 && !strcmp(argv[1], "--mutate")) {
		mutations = atoi(argv[2]);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: fuzz_gdb_framer_standalone [--mutate N] CORPUS_DIR|FILE...\n");
		return 2;
	}
	for (; i < argc; i++)
		rc |= run_path(argv[i], mutations);
	printf("fuzz_gdb_framer: %lu inputs, no crash\n", runs);
	return rc;
}
#endif
