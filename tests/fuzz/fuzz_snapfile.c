/* fuzz_snapfile.c — libFuzzer target for the snapshot file loader (snapshot/snapfile.c): input byte 0 is a
 * mode, the rest a snapshot file. Mode bit 0 recomputes every section's checksum first (so mutations reach
 * the section decoders instead of stopping at the CRC), bit 1 checks against a 1 MiB machine and, when the
 * file is accepted, inserts it into an offline snapshot store as `snapshot load` does. A standalone driver
 * (-DRRVM_FUZZ_STANDALONE) runs a corpus plus seeded mutations in CI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "record/trace.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

#define FUZZ_RAM (1ull << 20)

static void fix_crcs(uint8_t *f, size_t len)
{
	for (size_t off = 16; len >= 12 && off <= len - 12;) {
		size_t sl = (size_t)f[off + 4] | (size_t)f[off + 5] << 8 | (size_t)f[off + 6] << 16 |
			    (size_t)f[off + 7] << 24;
		if (sl > len - off - 12)
			return;
		uint32_t crc = trace__value_hash(f + off, 8 + sl);
		for (int k = 0; k < 4; k++)
			f[off + 8 + sl + (size_t)k] = (uint8_t)(crc >> (8 * k));
		off += 12 + sl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	uint8_t mode = d[0];
	uint8_t *f = malloc(n);
	if (!f)
		return 0;
	memcpy(f, d + 1, n - 1);
	if (mode & 1)
		fix_crcs(f, n - 1);
	uint64_t ram = mode & 2 ? FUZZ_RAM : 0;
	struct snapfile_info info;
	struct snapshot *s = NULL;
	uint32_t *pages = NULL;
	uint8_t **data = NULL;
	struct rrvm_err err;
	int rc = snapfile__parse("fuzz", f, n - 1, NULL, ram, &info, &s, &pages, &data, &err);
	free(f);
	if (rc) {
		if (!err.msg[0])
			abort();   /* every refusal says why */
		return 0;
	}
	if (info.n_pages && (!pages || !data))
		abort();
	struct snap_store *st;
	if (ram && !info.base_seq && !snap_store__create_offline(&st, ram, &err)) {
		/* What snapfile__load_all does with a full snapshot: the store takes s. */
		rc = snap_store__insert(st, s, pages, data, info.n_pages, &err);
		if (!rc) {
			for (uint32_t i = 0; i < info.n_pages; i++) {
				static const uint8_t zero[MEM_PAGE_SIZE];
				const uint8_t *p = snap_store__page(st, s, pages[i]);
				if (data[i] && memcmp(p ? p : zero, data[i], MEM_PAGE_SIZE))
					abort();   /* the store must hold what the file said (NULL: a zero page) */
			}
		}
		s = NULL;
		snap_store__destroy(st);
	}
	snap__free(s);
	snapfile__free_pages(pages, data, info.n_pages);
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	fuzz_mutator = (struct fuzz_mutator){ .keep = 1 };
	return fuzz_standalone_main("fuzz_snapfile", argc, argv);
}
#endif
