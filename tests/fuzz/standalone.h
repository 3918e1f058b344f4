/* standalone.h — the plain-program driver shared by the fuzz targets (gcc, CI): every corpus input, each
 * also with seeded mutations, through LLVMFuzzerTestOneInput. Included by a target built with
 * -DRRVM_FUZZ_STANDALONE after it set `fuzz_mutator`; libFuzzer builds do not use it. */
#ifndef RRVM_FUZZ_STANDALONE_H
#define RRVM_FUZZ_STANDALONE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* How a target wants its inputs mutated. */
struct fuzz_mutator {
	size_t keep;                 /* leading bytes never changed (a mode byte) */
	const uint8_t *special;      /* bytes that mean something to the parser; NULL: 0x00/0xff and random */
	size_t n_special;
};
static struct fuzz_mutator fuzz_mutator;

static uint64_t fuzz_rng = 0x9e3779b97f4a7c15ull;
static unsigned long fuzz_runs;

static uint64_t fuzz_rnd(void)
{
	fuzz_rng ^= fuzz_rng << 13;
	fuzz_rng ^= fuzz_rng >> 7;
	fuzz_rng ^= fuzz_rng << 17;
	return fuzz_rng;
}

static uint8_t fuzz_byte(int edge)
{
	const struct fuzz_mutator *f = &fuzz_mutator;
	if (f->special && f->n_special)
		return f->special[fuzz_rnd() % f->n_special];
	return edge ? (uint8_t)(fuzz_rnd() & 1 ? 0xff : 0) : (uint8_t)fuzz_rnd();
}

/* The input, then `mutations` seeded variants of it: bit flips, random or special bytes, truncation,
 * insertion of 8 bytes. */
static void fuzz_run_one(const uint8_t *d, size_t n, int mutations)
{
	LLVMFuzzerTestOneInput(d, n);
	fuzz_runs++;
	size_t keep = fuzz_mutator.keep;
	uint8_t *m = malloc(n + 64);
	for (int k = 0; m && k < mutations; k++) {
		size_t len = n;
		memcpy(m, d, n);
		int edits = 1 + (int)(fuzz_rnd() % 4);
		for (int e = 0; e < edits && len > keep + 1; e++) {
			size_t at = keep + fuzz_rnd() % (len - keep);
			switch (fuzz_rnd() % 5) {
			case 0: m[at] ^= (uint8_t)(1u << (fuzz_rnd() % 8)); break;
			case 1: m[at] = (uint8_t)fuzz_rnd(); break;
			case 2: len = at; break;                                        /* truncate */
			case 3: m[at] = fuzz_byte(1); break;
			case 4: if (len + 8 < n + 64) {                                  /* insert */
					memmove(m + at + 8, m + at, len - at);
					for (int i = 0; i < 8; i++)
						m[at + i] = fuzz_byte(0);
					len += 8;
				}
				break;
			}
		}
		LLVMFuzzerTestOneInput(m, len);
		fuzz_runs++;
	}
	free(m);
}

/* A file, or every file in a directory (recursively). 0, or 1 when one could not be read. */
static int fuzz_run_path(const char *path, int mutations)
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
			rc |= fuzz_run_path(p, mutations);
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
	size_t n = b ? fread(b, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (b)
		fuzz_run_one(b, n, mutations);
	free(b);
	return 0;
}

/* `[--mutate N] CORPUS_FILE_OR_DIR...`: 0 when every input ran, 2 on usage errors. */
static int fuzz_standalone_main(const char *name, int argc, char **argv)
{
	int mutations = 0, rc = 0, i = 1;
	if (argc > 2 && strcmp(argv[1], "--mutate") == 0) {
		mutations = atoi(argv[2]);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: %s [--mutate N] CORPUS_FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	for (; i < argc; i++)
		rc |= fuzz_run_path(argv[i], mutations);
	printf("%s: %lu inputs run, no crash\n", name, fuzz_runs);
	return rc;
}

#endif
