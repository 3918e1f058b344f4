/* fuzz_gdb_framer.c — libFuzzer target for the gdb stub's byte layers: every input is a byte stream from
 * "gdb"; the framer cuts it into packets, each packet is matched against the command table and its argument
 * schema, and re-encoding a packet must decode to the same bytes. A standalone driver
 * (-DRRVM_FUZZ_STANDALONE) runs a corpus plus seeded mutations in CI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	static const uint8_t special[] = { '$', '#', '}', '*', 0x03, '+', '-', ',', ':', ';', '0', 'f' };
	fuzz_mutator = (struct fuzz_mutator){ .special = special, .n_special = sizeof(special) };
	return fuzz_standalone_main("fuzz_gdb_framer", argc, argv);
}
#endif
