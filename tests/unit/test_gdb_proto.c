/* test_gdb_proto.c — the gdb stub's byte-level layers: framer (checksums, escapes, run-lengths, limits,
 * garbage, disconnects mid-packet), packet encoding round trips, argument schemas, and target.xml. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/vm.h"
#include "gdb/framer.h"
#include "gdb/monitor.h"
#include "gdb/proto.h"
#include "gdb/regs.h"

static int failures, checks;
#define CHECK(c)                                                                          \
	do {                                                                              \
		checks++;                                                                 \
		if (!(c)) {                                                               \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
		}                                                                         \
	} while (0)

struct result {
	int packets, bad, acks, naks, intr;
	char last[GDB_PACKET_MAX + 1];
	size_t last_len;
	const char *why;
};

static void feed(struct gdb_framer *f, const void *bytes, size_t n, struct result *r)
{
	const uint8_t *b = bytes;
	for (size_t i = 0; i < n; i++) {
		switch (gdb_framer__feed(f, b[i])) {
		case GDB_FRAME_PACKET:
			r->packets++;
			memcpy(r->last, f->data, f->len);
			r->last[f->len] = 0;
			r->last_len = f->len;
			break;
		case GDB_FRAME_BAD: r->bad++; r->why = f->why; break;
		case GDB_FRAME_ACK: r->acks++; break;
		case GDB_FRAME_NAK: r->naks++; break;
		case GDB_FRAME_INTERRUPT: r->intr++; break;
		default: break;
		}
	}
}

static struct result run(const char *s)
{
	static struct gdb_framer f;
	struct result r;
	memset(&r, 0, sizeof(r));
	gdb_framer__reset(&f);
	feed(&f, s, strlen(s), &r);
	return r;
}

static void test_framer(void)
{
	struct result r = run("$g#67");
	CHECK(r.packets == 1 && !strcmp(r.last, "g"));
	r = run("+$qSupported:multiprocess+#c6-");
	CHECK(r.acks == 1 && r.naks == 1);
	r = run("$g#68");                          /* bad checksum */
	CHECK(r.packets == 0 && r.bad == 1 && !strcmp(r.why, "bad checksum"));
	r = run("$g#6");                           /* truncated checksum */
	CHECK(r.packets == 0 && r.bad == 0);
	r = run("$g#zz");                          /* non-hex checksum */
	CHECK(r.bad == 1);
	r = run("$g#6z");
	CHECK(r.bad == 1);
	r = run("$m10$g#67");                      /* abandoned packet, then a good one */
	CHECK(r.packets == 1 && !strcmp(r.last, "g"));
	r = run("\x03");
	CHECK(r.intr == 1);
	r = run("garbage\xff\x80 $g#67");          /* garbage between packets is ignored */
	CHECK(r.packets == 1);
	/* Escapes: "}]" is ']' ^ 0x20 = '}' ; checksum is over the raw bytes. */
	char buf[64];
	size_t n = gdb_framer__encode("a}b#c$d*e", 9, buf, sizeof(buf));
	CHECK(n > 0);
	buf[n] = 0;
	r = run(buf);
	CHECK(r.packets == 1 && !strcmp(r.last, "a}b#c$d*e"));
	/* Run-length: "0* " = '0' + 3 more ('*' then ' ' = 32 - 29 = 3). */
	r = run("$0* #7a");
	CHECK(r.packets == 1 && !strcmp(r.last, "0000"));
	r = run("$*3#5d");                         /* run-length with nothing to repeat */
	CHECK(r.bad == 1);
	r = run("$0*#5a");                         /* run-length without a count */
	CHECK(r.bad == 1);
	r = run("$}#da");                          /* escape at the end */
	CHECK(r.bad == 1);
	/* Overlong: one byte past the limit is refused, exactly the limit is fine. */
	static char big[GDB_PACKET_MAX + 16];
	static char framed[2 * GDB_PACKET_MAX + 32];
	memset(big, 'A', sizeof(big));
	n = gdb_framer__encode(big, GDB_PACKET_MAX, framed, sizeof(framed));
	framed[n] = 0;
	r = run(framed);
	CHECK(r.packets == 1 && r.last_len == GDB_PACKET_MAX);
	n = gdb_framer__encode(big, GDB_PACKET_MAX + 1, framed, sizeof(framed));
	framed[n] = 0;
	r = run(framed);
	CHECK(r.packets == 0 && r.bad == 1);
	/* Run-length expanding past the limit. */
	size_t o = 0;
	char rl[GDB_PACKET_MAX];
	rl[o++] = 'A';
	while (o + 2 < sizeof(rl) - 8) {
		rl[o++] = '*';
		rl[o++] = (char)(97 + 29);
	}
	n = gdb_framer__encode(NULL, 0, framed, sizeof(framed));   /* "$#00" */
	CHECK(n == 4);
	uint8_t sum = 0;
	for (size_t i = 0; i < o; i++)
		sum = (uint8_t)(sum + (uint8_t)rl[i]);
	static struct gdb_framer f;
	gdb_framer__reset(&f);
	memset(&r, 0, sizeof(r));
	feed(&f, "$", 1, &r);
	feed(&f, rl, o, &r);
	char tail[4];
	snprintf(tail, sizeof(tail), "#%02x", sum);
	feed(&f, tail, 3, &r);
	CHECK(r.bad == 1 && r.packets == 0);
	/* Disconnect mid-packet: the framer says so, a reset drops it, the next packet is clean. */
	gdb_framer__reset(&f);
	memset(&r, 0, sizeof(r));
	feed(&f, "$m1000,", 7, &r);
	CHECK(gdb_framer__mid_packet(&f));
	gdb_framer__reset(&f);
	CHECK(!gdb_framer__mid_packet(&f));
	feed(&f, "$g#67", 5, &r);
	CHECK(r.packets == 1 && !strcmp(r.last, "g"));
	/* Encoding refuses what does not fit. */
	CHECK(gdb_framer__encode("abc", 3, buf, 6) == 0);
	/* Every byte value survives encode + feed. */
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	n = gdb_framer__encode(all, 256, framed, sizeof(framed));
	gdb_framer__reset(&f);
	memset(&r, 0, sizeof(r));
	feed(&f, framed, n, &r);
	CHECK(r.packets == 1 && r.last_len == 256 && !memcmp(r.last, all, 256));
}

static void test_schemas(void)
{
	static struct gdb_args a;
	CHECK(gdb_args__parse("x,x", (const uint8_t *)"1000,40", 7, &a) == 0 && a.nn == 2 && a.n[0] == 0x1000 &&
	      a.n[1] == 0x40);
	CHECK(gdb_args__parse("x,x", (const uint8_t *)"1000,", 5, &a) < 0);
	CHECK(gdb_args__parse("x,x", (const uint8_t *)"1000", 4, &a) < 0);
	CHECK(gdb_args__parse("x,x", (const uint8_t *)"zz,1", 4, &a) < 0);
	CHECK(gdb_args__parse("x,x", (const uint8_t *)"11112222333344445,1", 19, &a) < 0);   /* 17 digits */
	CHECK(gdb_args__parse("x,x:B", (const uint8_t *)"10,2:abcd", 9, &a) == 0 && a.rest_len == 2 &&
	      a.bin[0] == 0xab && a.bin[1] == 0xcd);
	CHECK(gdb_args__parse("x,x:B", (const uint8_t *)"10,2:abc", 8, &a) < 0);             /* odd hex */
	CHECK(gdb_args__parse("x,x:B", (const uint8_t *)"10,2:abxd", 9, &a) < 0);
	CHECK(gdb_args__parse("?x", (const uint8_t *)"", 0, &a) == 0 && a.nn == 0);
	CHECK(gdb_args__parse("?x", (const uint8_t *)"100", 3, &a) == 0 && a.nn == 1 && a.n[0] == 0x100);
	CHECK(gdb_args__parse("", (const uint8_t *)"x", 1, &a) < 0);                         /* trailing junk */
	CHECK(gdb_args__parse("x,x,x?s", (const uint8_t *)"0,102550,1", 10, &a) == 0 && a.nn == 3);
	CHECK(gdb_args__parse("x,x,x?s", (const uint8_t *)"0,102550,1;X1,2", 15, &a) == 0 && a.rest_len == 5);
	CHECK(gdb_args__parse("x=B", (const uint8_t *)"10=0100000000000000", 19, &a) == 0 && a.n[0] == 16 &&
	      a.rest_len == 8);
}

static void test_target_xml(void)
{
	const char *x = gdb_regs__target_xml();
	CHECK(strstr(x, "<architecture>i386:x86-64</architecture>"));
	const char *names[] = { "rax", "rip", "eflags", "st7", "fop", "xmm15", "mxcsr", "fs_base", "gs_base",
				"cr0", "cr2", "cr3", "cr4", "efer" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char pat[64];
		snprintf(pat, sizeof(pat), "name=\"%s\"", names[i]);
		CHECK(strstr(x, pat) != NULL);
		CHECK(gdb_regs__by_name(names[i]) >= 0);
	}
	CHECK(strlen(x) < 12000);
	CHECK(gdb_regs__by_name("nosuch") == -1);
}

/* The monitor's shared commands on a VM with RAM and no vCPU: numbers in C syntax, up to 64 bits. */
static void test_monitor(void)
{
	static struct vm vm;
	static struct gdb_text out;
	CHECK(mem__init(&vm.mem, 1u << 20) == 0);
	vm.vcpu_fd = -1;
	memcpy(vm.mem.base + 0x1000, "\x11\x22\x33", 3);
	CHECK(monitor__common(&vm, "phys 0x1000 3", &out, "test") == 0);
	CHECK(strstr(out.buf, "0000000000001000: 11 22 33\n") != NULL);
	out.len = 0;
	out.buf[0] = 0;
	CHECK(monitor__common(&vm, "phys 4096 2", &out, "test") == 0);
	CHECK(strstr(out.buf, "0000000000001000: 11 22\n") != NULL);
	out.len = 0;
	out.buf[0] = 0;
	/* A kernel-half address stays itself (sscanf's %lli made it 0x7fffffffffffffff). */
	CHECK(monitor__common(&vm, "phys 0xffffffff81000000 16", &out, "test") == 0);
	CHECK(strstr(out.buf, "phys: 0xffffffff81000000+16 is not guest RAM") != NULL);
	out.len = 0;
	out.buf[0] = 0;
	CHECK(monitor__common(&vm, "translate 0x1000", &out, "test") < 0);   /* no vCPU: its ioctl fails */
	CHECK(monitor__common(&vm, "bogus 1", &out, "test") == -EINVAL);
	CHECK(strstr(out.buf, "unknown monitor command 'bogus 1'") != NULL);
	mem__fini(&vm.mem);
}

int main(void)
{
	test_framer();
	test_schemas();
	test_target_xml();
	test_monitor();
	printf("test_gdb_proto: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
