/* test_symfile.c — System.map / kallsyms text to gdb's ELF symbol file: good maps (types, sizes,
 * modules, CRLF), hostile input (garbage, binary, long names and lines, truncation, all-zero kallsyms),
 * and the ELF read back. With a path argument it also writes a sample ELF there (for gdb itself). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/symfile.h"

static int failures, checks;
#define CHECK(c)                                                                          \
	do {                                                                              \
		checks++;                                                                 \
		if (!(c)) {                                                               \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
		}                                                                         \
	} while (0)

static uint64_t rd(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct found {
	uint64_t value, size;
	int type, shndx;
};

/* Reads the ELF back (checking every offset) and finds a symbol by name. */
static int lookup(const uint8_t *e, size_t len, const char *name, struct found *f)
{
	if (len < 64 || memcmp(e, "\177ELF\2\1\1", 7) || rd(e + 18, 2) != 62)
		return -1;
	uint64_t shoff = rd(e + 40, 8), shnum = rd(e + 60, 2);
	if (shoff > len || shnum * 64 > len - shoff)
		return -1;
	for (uint64_t i = 0; i < shnum; i++) {
		const uint8_t *sh = e + shoff + 64 * i;
		if (rd(sh + 4, 4) != 2)
			continue;
		uint64_t off = rd(sh + 24, 8), size = rd(sh + 32, 8), link = rd(sh + 40, 4);
		if (off > len || size > len - off || link >= shnum)
			return -1;
		const uint8_t *str = e + shoff + 64 * link;
		uint64_t soff = rd(str + 24, 8), ssize = rd(str + 32, 8);
		if (soff > len || ssize > len - soff)
			return -1;
		for (uint64_t k = 24; k + 24 <= size; k += 24) {
			const uint8_t *s = e + off + k;
			uint64_t n = rd(s, 4);
			if (n >= ssize || !memchr(e + soff + n, 0, ssize - n))
				return -1;
			if (!strcmp((const char *)e + soff + n, name)) {
				f->type = s[4] & 0xf;
				f->shndx = (int)rd(s + 6, 2);
				f->value = rd(s + 8, 8);
				f->size = rd(s + 16, 8);
				return 0;
			}
		}
	}
	return 1;
}

static int conv(const char *text, size_t len, uint8_t **elf, size_t *elen, size_t *n, struct rrvm_err *err)
{
	*elf = NULL;
	*n = 0;
	return symfile__from_text(text, len, elf, elen, n, err);
}

static const char good_map[] =
	"ffffffff81000000 T _text\n"
	"ffffffff81001000 T startup_64\n"
	"ffffffff810a0000 t sysrq_handle_crash\r\n"
	"ffffffff810a0040 T __handle_sysrq\n"
	"\n"
	"ffffffff81c00000 T panic\n"
	"ffffffff81c00200 W arch_cpu_idle\n"
	"ffffffff82000000 D jiffies\n"
	"ffffffff82100000 B some_bss\n"
	"0000000000000000 A __per_cpu_start\n"
	"                 U undefined_sym\n"
	"0000000000014000 d per_cpu_thing\n"
	"ffffffffc0200000 t kvm_init\t[kvm]\n";

static void test_good(void)
{
	uint8_t *elf;
	size_t elen, n;
	struct rrvm_err err = { "" };
	CHECK(conv(good_map, strlen(good_map), &elf, &elen, &n, &err) == 0);
	CHECK(n == 10);   /* 13 lines - empty - A - U */
	struct found f;
	CHECK(lookup(elf, elen, "panic", &f) == 0 && f.value == 0xffffffff81c00000ull && f.type == 2 && f.shndx == 1);
	CHECK(f.size == 0x200);   /* to arch_cpu_idle, the next function */
	CHECK(lookup(elf, elen, "sysrq_handle_crash", &f) == 0 && f.value == 0xffffffff810a0000ull && f.size == 0x40);
	CHECK(lookup(elf, elen, "jiffies", &f) == 0 && f.type == 1 && f.shndx == 0xfff1);
	CHECK(lookup(elf, elen, "kvm_init", &f) == 0 && f.value == 0xffffffffc0200000ull && f.type == 2);
	CHECK(lookup(elf, elen, "__per_cpu_start", &f) == 1);   /* absolute: left out */
	CHECK(lookup(elf, elen, "per_cpu_thing", &f) == 0 && f.value == 0x14000);
	free(elf);
}

static void expect_refused(const char *what, const char *text, size_t len, const char *msg)
{
	uint8_t *elf;
	size_t elen, n;
	struct rrvm_err err = { "" };
	int rc = conv(text, len, &elf, &elen, &n, &err);
	checks++;
	if (rc == 0 || !strstr(err.msg, msg)) {
		failures++;
		fprintf(stderr, "hostile input '%s': rc %d, message '%s' (wanted '%s')\n", what, rc, err.msg, msg);
	}
	if (rc == 0)
		free(elf);
}

static void test_hostile(void)
{
	expect_refused("empty", "", 0, "no symbols");
	expect_refused("only newlines", "\n\n\r\n", 4, "no symbols");
	expect_refused("a bzImage header", "MZ\xea\x07\x00\xc0\x07\x8c", 8, "no hexadecimal address");
	expect_refused("binary", "ffffffff81000000 T pa\x01nic\n", 26, "control or non-ASCII");
	expect_refused("NUL inside", "ffffffff81000000 T pa\0nic\n", 26, "control or non-ASCII");
	expect_refused("no type", "ffffffff81000000\n", 17, "one type letter");
	expect_refused("two-letter type", "ffffffff81000000 TT x\n", 22, "one type letter");
	expect_refused("digit type", "ffffffff81000000 7 x\n", 21, "one type letter");
	expect_refused("no name", "ffffffff81000000 T \n", 20, "no symbol name");
	expect_refused("tab instead of space", "ffffffff81000000\tT x\n", 21, "one type letter");
	expect_refused("address > 64 bits", "1ffffffff81000000 T x\n", 22, "longer than 64 bits");
	expect_refused("trailing junk", "ffffffff81000000 T x y\n", 23, "after the name");
	expect_refused("an address-less T", "                 T x\n", 20, "no hexadecimal address");
	expect_refused("bad module", "ffffffff81000000 t x\t[a b]\n", 27, "module name");
	expect_refused("truncated line", "ffffffff81000000 T", 18, "one type letter");
	expect_refused("all-zero kallsyms", "0000000000000000 T a\n0000000000000000 t b\n", 42, "all 2 addresses are 0");
	expect_refused("second line bad", "ffffffff81000000 T a\nxyz\n", 25, "line 2");
	/* A 300-byte name and a 100 KB line. */
	char big[100100];
	int o = snprintf(big, sizeof(big), "ffffffff81000000 T ");
	memset(big + o, 'a', 300);
	big[o + 300] = '\n';
	expect_refused("long name", big, (size_t)o + 301, "longer than 255");
	memset(big, 'f', sizeof(big));
	expect_refused("100 KB of hex", big, sizeof(big), "longer than 64 bits");
	/* Random bytes: never a crash, always an answer. */
	unsigned seed = 1;
	for (int round = 0; round < 2000; round++) {
		char r[256];
		size_t len = (size_t)(seed % sizeof(r));
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			r[i] = (char)(seed >> 16);
			if (round & 1)   /* half the rounds: map-like alphabet */
				r[i] = "0123456789abcdefTtDd \n\r["[(seed >> 16) % 25];
		}
		uint8_t *elf;
		size_t elen, n;
		struct rrvm_err err = { "" };
		if (conv(r, len, &elf, &elen, &n, &err) == 0) {
			struct found f;
			CHECK(n > 0 && lookup(elf, elen, "no-such-symbol", &f) == 1);
			free(elf);
		} else {
			CHECK(err.msg[0] != 0);
		}
	}
}

int main(int argc, char **argv)
{
	test_good();
	test_hostile();
	if (argc > 1) {
		/* The sample for gdb (the symfile_gdb test). */
		char path[4096];
		snprintf(path, sizeof(path), "%s.map", argv[1]);
		FILE *f = fopen(path, "w");
		CHECK(f && fputs(good_map, f) >= 0 && fclose(f) == 0);
		remove(argv[1]);
		size_t n;
		struct rrvm_err err = { "" };
		CHECK(symfile__convert(path, argv[1], &n, &err) == 0 && n == 10);
		CHECK(symfile__convert(path, argv[1], &n, &err) == -EEXIST);   /* never overwrites */
		CHECK(symfile__is_elf(argv[1]) && !symfile__is_elf(path));
		if (failures)
			fprintf(stderr, "convert: %s\n", err.msg);
	}
	printf("test_symfile: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
