/* pic_pit.c — 8259 PIC pair (vectors 0x20-0x2f), 8254 PIT channel 0 (IRQ0), CMOS RTC. */
#include "kernel.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u
#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71

volatile u64 g_ticks;
static u16 pit_divisor;

void pic_init(void)
{
	outb(PIC1, 0x11);       /* ICW1: edge, cascade, ICW4 */
	outb(PIC2, 0x11);
	outb(PIC1 + 1, 0x20);   /* ICW2: vector base */
	outb(PIC2 + 1, 0x28);
	outb(PIC1 + 1, 0x04);   /* ICW3: slave on IRQ2 */
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01);   /* ICW4: 8086 mode */
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xff);   /* everything masked until a scenario asks */
	outb(PIC2 + 1, 0xff);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2, 0x20);
	outb(PIC1, 0x20);
}

u16 pit_get_divisor(void)
{
	return pit_divisor;
}

void pit_start(u32 hz)
{
	if (hz < 19)
		hz = 19;
	if (hz > 10000)
		hz = 10000;
	pit_divisor = (u16)((PIT_HZ + hz / 2) / hz);
	outb(PIT_CMD, 0x34);    /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(PIT_CH0, (u8)pit_divisor);
	outb(PIT_CH0, (u8)(pit_divisor >> 8));
	outb(PIC1 + 1, 0xfe);   /* unmask IRQ0 only */
}

void pit_stop(void)
{
	outb(PIC1 + 1, 0xff);
}

/* Latches and reads channel 0's current count (counts down from the divisor). */
u16 pit_read_count(void)
{
	outb(PIT_CMD, 0x00);
	u8 lo = inb(PIT_CH0);
	u8 hi = inb(PIT_CH0);
	return (u16)(lo | hi << 8);
}

void wait_ticks_until(u64 target)
{
	cli();
	while (g_ticks < target)
		sti_hlt();
}

static u8 cmos_read(u8 reg)
{
	outb(CMOS_ADDR, reg);
	return inb(CMOS_DATA);
}

static u8 bcd(u8 v)
{
	return (u8)((v & 0x0f) + (v >> 4) * 10);
}

/* Waits for no update in progress, reads until two reads agree, converts. */
void rtc_read(struct rtc_time *t)
{
	struct rtc_time a, b;
	do {
		while (cmos_read(0x0a) & 0x80)
			;
		a.s = cmos_read(0x00), a.m = cmos_read(0x02), a.h = cmos_read(0x04);
		while (cmos_read(0x0a) & 0x80)
			;
		b.s = cmos_read(0x00), b.m = cmos_read(0x02), b.h = cmos_read(0x04);
	} while (a.s != b.s || a.m != b.m || a.h != b.h);
	u8 regb = cmos_read(0x0b);
	u8 pm = b.h & 0x80;
	b.h &= 0x7f;
	if (!(regb & 0x04)) {   /* BCD */
		b.s = bcd(b.s), b.m = bcd(b.m), b.h = bcd(b.h);
	}
	if (!(regb & 0x02)) {   /* 12-hour clock */
		b.h %= 12;
		if (pm)
			b.h += 12;
	}
	*t = b;
}
