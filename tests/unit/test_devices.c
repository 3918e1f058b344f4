/* test_devices.c — unit tests for the legacy PC devices, driven through the I/O table of a KVM-less struct vm. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/devices.h"
#include "core/pic.h"
#include "core/platform.h"
#include "core/vm.h"

static int checks, failures;

#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		checks++;                                                        \
		if (!(cond)) {                                                   \
			failures++;                                              \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
		}                                                                \
	} while (0)

/* 2026-01-01T13:45:30Z */
#define BASE_EPOCH (1767225600ll + 13 * 3600 + 45 * 60 + 30)

static int out_pipe[2];

/* A VM with no KVM behind it: virtual clock, 256 MiB of (unmapped) RAM
 * described for the CMOS, console output into a pipe, the platform devices. */
static struct vm *make_vm(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	vm->cfg.clock = CLOCK_VIRTUAL;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->wake_fd = vm->input_stop_fd = -1;
	vm->cfg.console_in_fd = -1;
	vm->cfg.console_out_fd = out_pipe[1];
	pthread_mutex_init(&vm->input_lock, NULL);
	vm->wallclock_base = BASE_EPOCH;
	vm->mem.nr_regions = 1;
	vm->mem.region[0].size = vm->mem.size = 256ull << 20;
	struct rrvm_err err = { "" };
	int rc = platform__create(vm, &err);
	if (rc) {
		fprintf(stderr, "platform__create: %d %s\n", rc, err.msg);
		exit(1);
	}
	return vm;
}

static void io(struct vm *vm, uint16_t port, uint8_t *data, uint32_t size, bool w)
{
	const struct io_region *r = io_bus__find(&vm->bus, IO_SPACE_PIO, port, size);
	if (r)
		r->fn(r->dev, port - r->base, data, size, w);
	else if (!w)
		memset(data, 0xff, size);
}

static void outb(struct vm *vm, uint16_t port, uint8_t v) { io(vm, port, &v, 1, true); }
static uint8_t inb(struct vm *vm, uint16_t port) { uint8_t v; io(vm, port, &v, 1, false); return v; }
static void outl(struct vm *vm, uint16_t port, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	io(vm, port, d, 4, true);
}
static uint32_t inl(struct vm *vm, uint16_t port)
{
	uint8_t d[4];
	io(vm, port, d, 4, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

/* What the loop does after every exit: poll each device, keep the earliest deadline. */
static uint64_t poll_all(struct vm *vm)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].poll) {
			uint64_t d = vm->devices[i].poll(vm->devices[i].state, vm->virt_ns);
			if (d < next)
				next = d;
		}
	return next;
}

static uint8_t pic_irr(struct vm *vm, uint16_t base) { outb(vm, base, 0x0a); return inb(vm, base); }
static uint8_t pic_isr(struct vm *vm, uint16_t base)
{
	outb(vm, base, 0x0b);
	uint8_t v = inb(vm, base);
	outb(vm, base, 0x0a);
	return v;
}

/* Linux's init_8259A: vectors 0x30/0x38, cascade on IRQ2, normal EOI. */
static void pic_init(struct vm *vm, uint8_t icw4_master)
{
	outb(vm, 0x21, 0xff);
	outb(vm, 0x20, 0x11), outb(vm, 0x21, 0x30), outb(vm, 0x21, 0x04), outb(vm, 0x21, icw4_master);
	outb(vm, 0xa0, 0x11), outb(vm, 0xa1, 0x38), outb(vm, 0xa1, 0x02), outb(vm, 0xa1, 0x01);
	outb(vm, 0x21, 0x00), outb(vm, 0xa1, 0x00);
}

static void reset_stop(struct vm *vm)
{
	vm->stop = VM_STOP_NONE;
	vm->stop_code = 0;
	vm->stop_msg[0] = 0;
}

static size_t drain_output(char *buf, size_t max)
{
	ssize_t n = read(out_pipe[0], buf, max - 1);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static void test_order(struct vm *vm)
{
	static const char *want[] = { "pic", "pit", "rtc", "uart0", "i8042", "port80", "debugexit", "tscport" };
	CHECK(vm->nr_devices == 8, "%d devices", vm->nr_devices);
	for (int i = 0; i < 8 && i < vm->nr_devices; i++)
		CHECK(!strcmp(vm->devices[i].name, want[i]), "device %d is %s", i, vm->devices[i].name);
	CHECK(vm->pic != NULL, "vm->pic not set");
}

static void test_pic(struct vm *vm)
{
	struct pic *pic = vm->pic;
	/* Linux's probe: the mask register reads back. */
	outb(vm, 0xa1, 0xff);
	outb(vm, 0x21, 0xfb);
	CHECK(inb(vm, 0x21) == 0xfb, "mask probe");
	pic_init(vm, 0x01);
	CHECK(!pic__has_intr(pic), "nothing pending after init");
	CHECK(pic__ack(pic) == 0x37, "spurious IRQ7");
	CHECK(pic_isr(vm, 0x20) == 0, "spurious ack left ISR alone");

	vm__set_irq(vm, 3, 1);
	CHECK(pic__has_intr(pic), "IRQ3 pending");
	CHECK(pic_irr(vm, 0x20) == 0x08, "IRR %02x", pic_irr(vm, 0x20));
	CHECK(pic__ack(pic) == 0x33, "IRQ3 vector");
	CHECK(pic_isr(vm, 0x20) == 0x08, "IRQ3 in service");
	CHECK(!pic__has_intr(pic), "in service blocks equal priority");
	vm__set_irq(vm, 1, 1);              /* higher priority nests */
	CHECK(pic__has_intr(pic), "IRQ1 nests over IRQ3");
	CHECK(pic__ack(pic) == 0x31, "IRQ1 vector");
	outb(vm, 0x20, 0x20);               /* non-specific EOI: the highest (IRQ1) */
	CHECK(pic_isr(vm, 0x20) == 0x08, "non-specific EOI cleared IRQ1 first");
	outb(vm, 0x20, 0x63);               /* specific EOI IRQ3 */
	CHECK(pic_isr(vm, 0x20) == 0, "specific EOI");
	vm__set_irq(vm, 3, 1);              /* still high: no new edge */
	CHECK(!pic__has_intr(pic), "edge needs a low-high transition");
	vm__set_irq(vm, 3, 0), vm__set_irq(vm, 1, 0);

	/* Masked lines latch in IRR and deliver when unmasked. */
	outb(vm, 0x21, 0x20);
	vm__set_irq(vm, 5, 1), vm__set_irq(vm, 5, 0);
	CHECK(!pic__has_intr(pic) && pic_irr(vm, 0x20) == 0x20, "masked IRQ5 latched");
	outb(vm, 0x21, 0x00);
	CHECK(pic__ack(pic) == 0x35, "IRQ5 after unmask");
	outb(vm, 0x20, 0x65);

	/* Slave through the cascade; Linux EOIs slave then master. */
	vm__set_irq(vm, 10, 1);
	CHECK(pic__has_intr(pic), "IRQ10 via cascade");
	CHECK(pic__ack(pic) == 0x3a, "IRQ10 vector");
	CHECK(pic_isr(vm, 0x20) == 0x04 && pic_isr(vm, 0xa0) == 0x04, "cascade in service");
	vm__set_irq(vm, 10, 0);
	vm__set_irq(vm, 8, 1);              /* arrives while IRQ10 in service (higher priority) */
	outb(vm, 0xa0, 0x62), outb(vm, 0x20, 0x62);
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x38, "IRQ8 after cascade EOI");
	outb(vm, 0xa0, 0x60), outb(vm, 0x20, 0x62);
	vm__set_irq(vm, 8, 0);
	CHECK(!pic__has_intr(pic), "idle");

	/* Level-triggered line through the ELCR. */
	outb(vm, 0x4d1, 0x04);              /* IRQ10 level */
	CHECK(inb(vm, 0x4d1) == 0x04, "ELCR reads back");
	vm__set_irq(vm, 10, 1);
	CHECK(pic__ack(pic) == 0x3a, "level IRQ10");
	outb(vm, 0xa0, 0x62), outb(vm, 0x20, 0x62);
	CHECK(pic__has_intr(pic), "level line still high re-requests");
	vm__set_irq(vm, 10, 0);
	CHECK(!pic__has_intr(pic), "level line low: gone");
	outb(vm, 0x4d1, 0x00);

	/* OCW3 poll mode. */
	vm__set_irq(vm, 6, 1);
	outb(vm, 0x20, 0x0c);
	CHECK(inb(vm, 0x20) == 0x86, "poll read");
	CHECK(pic_isr(vm, 0x20) == 0x40, "poll acknowledged");
	outb(vm, 0x20, 0x66);
	vm__set_irq(vm, 6, 0);

	/* Auto-EOI: acknowledge leaves ISR clear. */
	pic_init(vm, 0x03);
	vm__set_irq(vm, 4, 1);
	CHECK(pic__ack(pic) == 0x34 && pic_isr(vm, 0x20) == 0, "auto-EOI");
	vm__set_irq(vm, 4, 0);
	pic_init(vm, 0x01);
}

static uint64_t ns_for_ticks(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static void test_pit(struct vm *vm)
{
	struct pic *pic = vm->pic;
	pic_init(vm, 0x01);
	vm->virt_ns = 1000;                 /* load time */
	outb(vm, 0x43, 0x34);               /* ch0 lohi mode 2 */
	outb(vm, 0x40, 1193 & 0xff), outb(vm, 0x40, 1193 >> 8);
	uint64_t d1 = poll_all(vm);
	CHECK(d1 == 1000 + 999848, "first deadline %llu", (unsigned long long)d1);
	vm->virt_ns = d1 - 1;
	poll_all(vm);
	CHECK(!pic__has_intr(pic), "no IRQ0 before the period");
	outb(vm, 0x43, 0x00);               /* latch */
	uint16_t c = inb(vm, 0x40);
	c |= (uint16_t)(inb(vm, 0x40) << 8);
	CHECK(c == 1, "count just before the edge is 1 (got %u)", c);
	vm->virt_ns = d1;
	uint64_t d2 = poll_all(vm);
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x30, "IRQ0 at the period");
	outb(vm, 0x20, 0x60);
	CHECK(d2 == 1000 + ns_for_ticks(2 * 1193), "second deadline %llu", (unsigned long long)d2);
	CHECK(poll_all(vm) == d2 && !pic__has_intr(pic), "no double edge");

	/* Far behind: one edge, then back on the exact grid. */
	vm->virt_ns = 1000 + ns_for_ticks(1000000ull * 1193) + 5;
	uint64_t d = poll_all(vm);
	CHECK(pic__has_intr(pic), "edge after falling behind");
	pic__ack(pic), outb(vm, 0x20, 0x60);
	CHECK(d == 1000 + ns_for_ticks(1000001ull * 1193), "grid without drift: %llu", (unsigned long long)d);
	poll_all(vm);
	CHECK(!pic__has_intr(pic), "no storm of pending edges");

	/* Read-back: status then count of channel 0. */
	outb(vm, 0x43, 0xc2);
	uint8_t st = inb(vm, 0x40);
	CHECK((st & 0x3f) == 0x34, "status %02x", st);
	c = inb(vm, 0x40);
	c |= (uint16_t)(inb(vm, 0x40) << 8);
	CHECK(c >= 1 && c <= 1193, "read-back count %u", c);

	/* Mode 4 one-shot (Linux's oneshot clockevent): one IRQ, then none. */
	vm->virt_ns = 5000000000ull;
	outb(vm, 0x43, 0x38);
	outb(vm, 0x40, 100), outb(vm, 0x40, 0);
	d = poll_all(vm);
	CHECK(d == 5000000000ull + ns_for_ticks(100), "one-shot deadline");
	vm->virt_ns = d;
	CHECK(poll_all(vm) == UINT64_MAX, "one-shot disarms");
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x30, "one-shot IRQ0");
	outb(vm, 0x20, 0x60);
	vm->virt_ns += 100000000;
	poll_all(vm);
	CHECK(!pic__has_intr(pic), "one-shot fired once");
	outb(vm, 0x43, 0x30);               /* stop: control word without count */
	CHECK(poll_all(vm) == UINT64_MAX, "stopped");
}

static void test_pit_ch2(struct vm *vm)
{
	vm->virt_ns = 7000000;
	outb(vm, 0x61, 0x01);               /* gate on, speaker off */
	outb(vm, 0x43, 0xb0);               /* ch2 lohi mode 0 */
	CHECK(!(inb(vm, 0x61) & 0x20), "out2 low after mode 0 control word");
	outb(vm, 0x42, 0x00), outb(vm, 0x42, 0x10);  /* 4096 */
	uint64_t t = 7000000 + ns_for_ticks(4096);
	CHECK(t == 7000000 + 3432838, "expected time");
	vm->virt_ns = t - 1;
	CHECK(!(inb(vm, 0x61) & 0x20), "out2 still low one ns early");
	uint8_t lo = inb(vm, 0x42), hi = inb(vm, 0x42);
	CHECK((lo | hi << 8) == 1, "count 1 just before terminal count (got %d)", lo | hi << 8);
	vm->virt_ns = t;
	CHECK(inb(vm, 0x61) & 0x20, "out2 high at terminal count");
	CHECK((inb(vm, 0x61) & 0x03) == 0x01, "port 0x61 gate/speaker bits");

	/* Gate low pauses mode 0. */
	vm->virt_ns = 20000000;
	outb(vm, 0x43, 0xb0);
	outb(vm, 0x42, 0x00), outb(vm, 0x42, 0x10);
	vm->virt_ns += ns_for_ticks(2048);
	outb(vm, 0x61, 0x00);
	vm->virt_ns += 50000000;
	CHECK(!(inb(vm, 0x61) & 0x20), "paused while gate low");
	outb(vm, 0x61, 0x01);
	vm->virt_ns += ns_for_ticks(2049);
	CHECK(inb(vm, 0x61) & 0x20, "resumed after gate high");

	/* Mode 3 square wave: OUT high for the first half of each period. */
	vm->virt_ns = 30000000;
	outb(vm, 0x43, 0xb6);               /* ch2 lohi mode 3 */
	outb(vm, 0x42, 100), outb(vm, 0x42, 0);
	vm->virt_ns += ns_for_ticks(49);
	CHECK(inb(vm, 0x61) & 0x20, "square wave high in the first half");
	vm->virt_ns = 30000000 + ns_for_ticks(50);
	CHECK(!(inb(vm, 0x61) & 0x20), "square wave low in the second half");
	vm->virt_ns = 30000000 + ns_for_ticks(100);
	CHECK(inb(vm, 0x61) & 0x20, "square wave high again");

	/* BCD counting, lobyte-only access. */
	vm->virt_ns = 40000000;
	outb(vm, 0x43, 0xb1);               /* ch2 lohi mode 0 BCD */
	outb(vm, 0x42, 0x00), outb(vm, 0x42, 0x10);  /* 1000 decimal */
	vm->virt_ns += ns_for_ticks(500);
	outb(vm, 0x43, 0x80);
	lo = inb(vm, 0x42), hi = inb(vm, 0x42);
	CHECK((lo | hi << 8) == 0x0500, "BCD count %02x%02x", hi, lo);
	outb(vm, 0x43, 0x90);               /* ch2 lobyte only, mode 0 */
	outb(vm, 0x42, 200);
	vm->virt_ns += ns_for_ticks(50);
	CHECK(inb(vm, 0x42) == 150 && inb(vm, 0x42) == 150, "lobyte-only reads");

	/* Refresh toggle follows guest time. */
	vm->virt_ns = 0;
	uint8_t a = inb(vm, 0x61) & 0x10;
	vm->virt_ns = 15085;
	CHECK((inb(vm, 0x61) & 0x10) != a, "refresh bit toggles");
}

static uint8_t cmos(struct vm *vm, uint8_t reg) { outb(vm, 0x70, reg); return inb(vm, 0x71); }
static void cmos_w(struct vm *vm, uint8_t reg, uint8_t v) { outb(vm, 0x70, reg); outb(vm, 0x71, v); }

static void test_rtc(struct vm *vm)
{
	struct pic *pic = vm->pic;
	vm->virt_ns = 0;
	CHECK(cmos(vm, 0x00) == 0x30 && cmos(vm, 0x02) == 0x45 && cmos(vm, 0x04) == 0x13, "BCD time %02x:%02x:%02x",
	      cmos(vm, 0x04), cmos(vm, 0x02), cmos(vm, 0x00));
	CHECK(cmos(vm, 0x07) == 0x01 && cmos(vm, 0x08) == 0x01 && cmos(vm, 0x09) == 0x26 && cmos(vm, 0x32) == 0x20,
	      "BCD date");
	CHECK(cmos(vm, 0x06) == 5, "Thursday is day 5");
	CHECK(cmos(vm, 0x0d) == 0x80, "reg D valid");
	vm->virt_ns = 61500000000ull;       /* +61.5 s: 13:46:31 */
	CHECK(cmos(vm, 0x00) == 0x31 && cmos(vm, 0x02) == 0x46, "time advances with guest time");
	outb(vm, 0x70, 0x80 | 0x00);        /* NMI-mask bit ignored */
	CHECK(inb(vm, 0x71) == 0x31, "NMI bit ignored");
	cmos_w(vm, 0x0b, 0x06);             /* binary, 24h */
	CHECK(cmos(vm, 0x00) == 31 && cmos(vm, 0x04) == 13 && cmos(vm, 0x09) == 26, "binary mode");
	cmos_w(vm, 0x0b, 0x04);             /* binary, 12h */
	CHECK(cmos(vm, 0x04) == (0x80 | 1), "12h PM: %02x", cmos(vm, 0x04));
	cmos_w(vm, 0x0b, 0x02);
	vm->virt_ns = 61999800000ull;
	CHECK(cmos(vm, 0x0a) & 0x80, "UIP in the last 244 us");
	vm->virt_ns = 61999700000ull;
	CHECK(!(cmos(vm, 0x0a) & 0x80), "no UIP before");

	/* Memory size like a BIOS: 256 MiB -> 240 MiB above 16 MiB = 3840 blocks. */
	CHECK((cmos(vm, 0x34) | cmos(vm, 0x35) << 8) == 3840, "0x34/0x35");
	CHECK((cmos(vm, 0x30) | cmos(vm, 0x31) << 8) == 0xffff, "0x30/0x31");

	/* Setting the time with SET. */
	cmos_w(vm, 0x0b, 0x82);
	cmos_w(vm, 0x04, 0x08);
	vm->virt_ns += 5000000000ull;       /* frozen while SET */
	CHECK(cmos(vm, 0x04) == 0x08 && cmos(vm, 0x00) == 0x31, "frozen while SET");
	cmos_w(vm, 0x0b, 0x02);
	vm->virt_ns += 2000000000ull;
	CHECK(cmos(vm, 0x04) == 0x08 && cmos(vm, 0x00) == 0x33, "runs from the set time: %02x", cmos(vm, 0x00));

	/* Periodic interrupt at 1024 Hz on IRQ8. */
	pic_init(vm, 0x01);
	cmos(vm, 0x0c);
	vm->virt_ns = 100000000000ull;      /* a multiple of the 1024 Hz period */
	cmos(vm, 0x0c);
	cmos_w(vm, 0x0a, 0x26);
	cmos_w(vm, 0x0b, 0x42);
	uint64_t d = poll_all(vm);
	CHECK(d == 100000000000ull + 976563, "periodic deadline %llu", (unsigned long long)d);
	vm->virt_ns = d - 1;
	poll_all(vm);
	CHECK(!pic__has_intr(pic), "no IRQ8 early");
	vm->virt_ns = d;
	poll_all(vm);
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x38, "IRQ8");
	uint8_t c = cmos(vm, 0x0c);
	CHECK(c == 0xc0, "reg C %02x", c);
	CHECK(cmos(vm, 0x0c) == 0, "reg C cleared by read");
	outb(vm, 0xa0, 0x60), outb(vm, 0x20, 0x62);
	CHECK(poll_all(vm) == 100000000000ull + 2 * 976562 + 1, "next periodic deadline");

	/* Update-ended interrupt at the second boundary. */
	cmos_w(vm, 0x0b, 0x12);
	cmos(vm, 0x0c);
	d = poll_all(vm);
	CHECK(d == 101000000000ull, "update deadline %llu", (unsigned long long)d);
	vm->virt_ns = d;
	poll_all(vm);
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x38, "update IRQ8");
	CHECK((cmos(vm, 0x0c) & 0x90) == 0x90, "UF|IRQF");
	outb(vm, 0xa0, 0x60), outb(vm, 0x20, 0x62);
	cmos_w(vm, 0x0b, 0x02);
}

static void test_uart(struct vm *vm)
{
	struct pic *pic = vm->pic;
	char buf[256];
	pic_init(vm, 0x01);
	drain_output(buf, sizeof(buf));
	/* Linux's autoconfig. */
	outb(vm, 0x3f9, 0x00);
	CHECK((inb(vm, 0x3f9) & 0x0f) == 0, "IER 0");
	outb(vm, 0x3f9, 0x0f);
	CHECK((inb(vm, 0x3f9) & 0x0f) == 0x0f, "IER 0x0f");
	outb(vm, 0x3f9, 0x00);
	outb(vm, 0x3fc, 0x10 | 0x0a);
	CHECK((inb(vm, 0x3fe) & 0xf0) == 0x90, "loopback MSR %02x", inb(vm, 0x3fe));
	outb(vm, 0x3fc, 0x08);
	outb(vm, 0x3fb, 0xbf), outb(vm, 0x3fa, 0x00), outb(vm, 0x3fb, 0x00);
	outb(vm, 0x3fa, 0x01);
	CHECK((inb(vm, 0x3fa) >> 6) == 3, "16550A FIFO bits in IIR");
	outb(vm, 0x3fb, 0x80);
	CHECK(inb(vm, 0x3fa) != 0, "no EFR with DLAB");
	outb(vm, 0x3f8, 0x01), outb(vm, 0x3f9, 0x00);
	CHECK(inb(vm, 0x3f8) == 0x01 && inb(vm, 0x3f9) == 0, "divisor latch");
	outb(vm, 0x3fb, 0x03);

	/* Loopback: a written byte comes back. */
	outb(vm, 0x3fa, 0x07);
	outb(vm, 0x3fc, 0x18);
	outb(vm, 0x3f8, 'A');
	CHECK(inb(vm, 0x3fd) & 0x01, "DR in loopback");
	CHECK(inb(vm, 0x3f8) == 'A', "loopback byte");
	CHECK(!(inb(vm, 0x3fd) & 0x01), "DR clear");
	outb(vm, 0x3fc, 0x0b);
	CHECK(drain_output(buf, sizeof(buf)) == 0, "loopback bytes stay inside");

	/* THRE interrupt: raised when IER.THRI is set with THR empty, acknowledged
	 * by reading IIR, raised again by the next IER.THRI set. */
	outb(vm, 0x3f9, 0x02);
	CHECK((inb(vm, 0x3fd) & 0x60) == 0x60, "THRE|TEMT");
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x34, "IRQ4 for THRE");
	CHECK(inb(vm, 0x3fa) == 0xc2, "IIR THRI");
	CHECK(inb(vm, 0x3fa) == 0xc1, "IIR read acknowledged THRE");
	outb(vm, 0x20, 0x64);
	CHECK(!pic__has_intr(pic), "line low");
	outb(vm, 0x3f9, 0x00), outb(vm, 0x3f9, 0x02);
	CHECK(inb(vm, 0x3fa) == 0xc2, "THRE re-raised by IER");
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x34, "fresh IRQ4 edge");
	outb(vm, 0x20, 0x64);
	outb(vm, 0x3f8, 'x');               /* a write while THRI enabled: another edge */
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x34, "IRQ4 after THR write");
	outb(vm, 0x20, 0x64);
	outb(vm, 0x3f9, 0x00);
	CHECK(inb(vm, 0x3fa) == 0xc1, "no interrupt with IER 0");

	/* Output: whole lines at once, a partial line after a few idle polls. */
	outb(vm, 0x3f8, 'h'), outb(vm, 0x3f8, 'i'), outb(vm, 0x3f8, '\n');
	drain_output(buf, sizeof(buf));
	CHECK(!strcmp(buf, "xhi\n"), "line output '%s'", buf);
	outb(vm, 0x3f8, '$'), poll_all(vm);
	CHECK(drain_output(buf, sizeof(buf)) == 0, "partial line buffered");
	poll_all(vm), poll_all(vm);
	drain_output(buf, sizeof(buf));
	CHECK(!strcmp(buf, "$"), "partial line flushed when idle: '%s'", buf);
	outb(vm, 0x3f8, '%');               /* a prompt, then the guest halts: a deadline flushes it */
	uint64_t fd = poll_all(vm);
	CHECK(fd == vm->virt_ns + 1000000, "flush deadline %llu", (unsigned long long)fd);
	vm->virt_ns = fd;
	CHECK(poll_all(vm) == UINT64_MAX, "no deadline once flushed");
	drain_output(buf, sizeof(buf));
	CHECK(!strcmp(buf, "%"), "flushed at the deadline: '%s'", buf);

	/* Input: console bytes into the FIFO, RDI at the trigger level. */
	const char *in = "ls\n";
	memcpy(vm->input_buf, in, 3);
	vm->input_head = 3, vm->input_tail = 0;
	outb(vm, 0x3fa, 0x07);              /* FIFO, trigger 1 */
	outb(vm, 0x3f9, 0x01);
	poll_all(vm);
	CHECK((inb(vm, 0x3fa) & 0x0f) == 0x04, "RDI");
	CHECK(pic__has_intr(pic) && pic__ack(pic) == 0x34, "IRQ4 for RX");
	outb(vm, 0x20, 0x64);
	CHECK(inb(vm, 0x3f8) == 'l' && inb(vm, 0x3f8) == 's' && inb(vm, 0x3f8) == '\n', "RX bytes in order");
	CHECK(!(inb(vm, 0x3fd) & 0x01) && inb(vm, 0x3fa) == 0xc1, "RX drained");
	/* Below the trigger level: character timeout. */
	outb(vm, 0x3fa, 0xc7);              /* trigger 14 */
	memcpy(vm->input_buf + 3, "ab", 2);
	vm->input_head = 5;
	uint64_t d = poll_all(vm);
	CHECK(inb(vm, 0x3fa) == 0xc1 && d != UINT64_MAX, "no RDI below trigger, timeout armed");
	vm->virt_ns = d;
	poll_all(vm);
	CHECK(inb(vm, 0x3fa) == 0xcc, "character timeout");
	inb(vm, 0x3f8), inb(vm, 0x3f8);
	outb(vm, 0x3f9, 0x00);
	pic__ack(pic), outb(vm, 0x20, 0x64);
}

static void test_i8042(struct vm *vm)
{
	CHECK(!(inb(vm, 0x64) & 0x01), "output buffer empty (probe flush ends)");
	outb(vm, 0x64, 0xaa);
	CHECK(inb(vm, 0x64) & 0x01, "OBF after self-test");
	CHECK(inb(vm, 0x60) == 0x55, "self-test 0x55");
	outb(vm, 0x64, 0x20);
	uint8_t ctr = inb(vm, 0x60);
	CHECK(ctr & 0x04, "CTR %02x", ctr);
	outb(vm, 0x64, 0x60), outb(vm, 0x60, ctr & ~0x03);
	outb(vm, 0x64, 0x20);
	CHECK(inb(vm, 0x60) == (ctr & ~0x03), "CTR write");
	outb(vm, 0x64, 0xd3), outb(vm, 0x60, 0x5a);
	CHECK((inb(vm, 0x64) & 0x21) == 0x21 && inb(vm, 0x60) == 0x5a, "AUX loop");
	/* Linux's AUX IRQ test: loop-back with AUX interrupts on raises IRQ12. */
	pic_init(vm, 0x01);
	outb(vm, 0x64, 0xa8);
	outb(vm, 0x64, 0x60), outb(vm, 0x60, 0x47);
	outb(vm, 0x64, 0xd3), outb(vm, 0x60, 0xa5);
	CHECK(pic__has_intr(vm->pic) && pic__ack(vm->pic) == 0x3c, "IRQ12 for AUX data");
	CHECK(inb(vm, 0x60) == 0xa5, "AUX byte");
	outb(vm, 0xa0, 0x64), outb(vm, 0x20, 0x62);
	CHECK(!pic__has_intr(vm->pic), "IRQ12 done");
	outb(vm, 0x64, 0x60), outb(vm, 0x60, 0x44);
	outb(vm, 0x64, 0xa7);
	outb(vm, 0x64, 0x20);
	CHECK(inb(vm, 0x60) & 0x20, "AUX disabled");
	outb(vm, 0x60, 0xf2);               /* to the keyboard: nobody there */
	CHECK((inb(vm, 0x64) & 0x41) == 0x41 && inb(vm, 0x60) == 0xfe, "no keyboard: timeout + 0xfe");
	CHECK(vm->stop == VM_STOP_NONE, "no stop yet");
	outb(vm, 0x64, 0xfe);
	CHECK(vm->stop == VM_STOP_RESET && !strcmp(vm->stop_msg, "guest requested reset via i8042"), "reset: %s",
	      vm->stop_msg);
	reset_stop(vm);
	CHECK(inb(vm, 0x92) == 0x02, "port 0x92");
	outb(vm, 0x92, 0x03);
	CHECK(vm->stop == VM_STOP_RESET, "port 0x92 fast reset");
	reset_stop(vm);
	outb(vm, 0xcf9, 0x02);
	CHECK(vm->stop == VM_STOP_NONE, "0xcf9 without bit 2");
	outb(vm, 0xcf9, 0x06);
	CHECK(vm->stop == VM_STOP_RESET, "0xcf9 reset");
	reset_stop(vm);
}

static void test_legacy(struct vm *vm)
{
	CHECK(inb(vm, 0x80) == 0xff, "port80 reads 0xff");
	outb(vm, 0x80, 0x12);
	CHECK(inb(vm, 0x2f8 + 1) == 0xff && inb(vm, 0x3e8) == 0xff, "absent serial ports");
	CHECK(inl(vm, 0xcfc) == 0xffffffffu, "PCI config data all-ones");
	outl(vm, 0xcf8, 0x80000000u);
	CHECK(vm->stop == VM_STOP_NONE, "CONFIG_ADDRESS write is not a reset");
	outl(vm, 0xf4, 7);
	CHECK(vm->stop == VM_STOP_PANIC && vm->stop_code == 7 && !strcmp(vm->stop_msg, "guest panic: debug-exit code 7"),
	      "panic: %d %s", vm->stop_code, vm->stop_msg);
	reset_stop(vm);
	outl(vm, 0xf4, 0);
	CHECK(vm->stop == VM_STOP_POWEROFF && !strcmp(vm->stop_msg, "guest powered off via debug-exit"), "poweroff: %s",
	      vm->stop_msg);
	reset_stop(vm);
	outb(vm, 0xf4, 3);
	CHECK(vm->stop == VM_STOP_PANIC && vm->stop_code == 3, "byte-wide debug-exit");
	reset_stop(vm);
}

static void test_destroy_flush(struct vm *vm)
{
	char buf[64];
	drain_output(buf, sizeof(buf));
	outb(vm, 0x3f8, 'z'), outb(vm, 0x3f8, 'z');
	vm__destroy(vm);
	drain_output(buf, sizeof(buf));
	CHECK(!strcmp(buf, "zz"), "destroy flushes output: '%s'", buf);
}

int main(void)
{
	if (pipe(out_pipe) < 0)
		return 1;
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	struct vm *vm = make_vm();
	test_order(vm);
	test_pic(vm);
	test_pit(vm);
	test_pit_ch2(vm);
	test_rtc(vm);
	test_uart(vm);
	test_i8042(vm);
	test_legacy(vm);
	test_destroy_flush(vm);
	printf("test_devices: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
