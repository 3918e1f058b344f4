/* rtc.c — MC146818 RTC and CMOS RAM at 0x70/0x71: time from the wallclock base plus guest time, IRQ8. */
#include <errno.h>
#include <stdlib.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/mem.h"
#include "core/vm.h"

/*
 * Saved state (struct rtc_state, devices.h): the 128 CMOS bytes (RAM, alarm
 * registers, status registers A-D; the time registers only matter while the
 * guest holds SET, otherwise they are recomputed at each read), the offset
 * between the time the guest set and the time the monitor gave it, the index
 * port, the IRQ8 level, and the guest time up to which reg C's flags were
 * brought up to date. The flags (periodic, update-ended, alarm) are computed
 * lazily over [last_eval_ns, now] from guest time alone, so they are set
 * whether or not their interrupt is enabled, as on the chip.
 */

struct rtc {
	struct rtc_state s;     /* saved part: first member */
	struct vm *vm;
};

#define NS_PER_S 1000000000ull
#define UIP_NS   244000ull      /* UIP is set for the last 244 us of each second */

enum { REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, REG_CENTURY = 0x32 };
enum { B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02 };
enum { C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10 };

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static uint8_t enc(const struct rtc_state *s, unsigned v)
{
	return (s->cmos[REG_B] & B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned dec(const struct rtc_state *s, uint8_t v)
{
	return (s->cmos[REG_B] & B_DM) ? v : (unsigned)((v >> 4) * 10 + (v & 0x0f));
}

static int64_t live_seconds(const struct rtc *r, uint64_t now)
{
	return vm__wallclock_base(r->vm) + (int64_t)(now / NS_PER_S) + r->s.offset_s;
}

/* Writes the time `t` (Unix seconds) into the time registers in the current format. */
static void fill_time(struct rtc_state *s, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	unsigned sod = (unsigned)(t - days * 86400);
	int64_t y;
	unsigned mon, mday;
	civil_from_days(days, &y, &mon, &mday);
	unsigned h = sod / 3600;
	s->cmos[0x00] = enc(s, sod % 60);
	s->cmos[0x02] = enc(s, sod / 60 % 60);
	if (s->cmos[REG_B] & B_24H)
		s->cmos[0x04] = enc(s, h);
	else
		s->cmos[0x04] = (uint8_t)(enc(s, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
	s->cmos[0x06] = enc(s, (unsigned)((days % 7 + 11) % 7) + 1); /* 1970-01-01 was a Thursday; Sunday = 1 */
	s->cmos[0x07] = enc(s, mday);
	s->cmos[0x08] = enc(s, mon);
	if (y < 0)
		y = 0;
	s->cmos[0x09] = enc(s, (unsigned)(y % 100));
	s->cmos[REG_CENTURY] = enc(s, (unsigned)(y / 100 % 100));
}

/* The time held in the time registers, in Unix seconds. */
static int64_t parse_time(const struct rtc_state *s)
{
	unsigned sec = dec(s, s->cmos[0x00]) % 60, min = dec(s, s->cmos[0x02]) % 60;
	uint8_t hr = s->cmos[0x04];
	unsigned h;
	if (s->cmos[REG_B] & B_24H) {
		h = dec(s, hr) % 24;
	} else {
		h = dec(s, hr & 0x7f) % 12 + ((hr & 0x80) ? 12 : 0);
	}
	unsigned mday = dec(s, s->cmos[0x07]), mon = dec(s, s->cmos[0x08]);
	if (mon < 1 || mon > 12)
		mon = 1;
	if (mday < 1 || mday > 31)
		mday = 1;
	int64_t y = (int64_t)dec(s, s->cmos[REG_CENTURY]) * 100 + dec(s, s->cmos[0x09]) % 100;
	return days_from_civil(y, mon, mday) * 86400 + h * 3600 + min * 60 + sec;
}

/* 32.768 kHz divider ticks in guest time, and the periodic tap (log2 ticks). */
static uint64_t ticks32k(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * 32768 / NS_PER_S);
}

static int periodic_shift(const struct rtc_state *s)
{
	unsigned rs = s->cmos[REG_A] & 0x0f;
	if (!rs)
		return -1;
	return rs < 3 ? (int)rs + 6 : (int)rs - 1;
}

static void update_irq(struct rtc *r)
{
	struct rtc_state *s = &r->s;
	if (s->cmos[REG_C] & s->cmos[REG_B] & (C_PF | C_AF | C_UF))
		s->cmos[REG_C] |= C_IRQF;
	uint8_t level = (s->cmos[REG_C] & C_IRQF) ? 1 : 0;
	if (level != s->irq_level) {
		s->irq_level = level;
		vm__set_irq(r->vm, 8, level);
	}
}

static bool alarm_match(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

/* Brings reg C's flags up to `now`. */
static void update_flags(struct rtc *r, uint64_t now)
{
	struct rtc_state *s = &r->s;
	if (now <= s->last_eval_ns) {
		s->last_eval_ns = now;
		return;
	}
	int shift = periodic_shift(s);
	if (shift >= 0 && ticks32k(now) >> shift > ticks32k(s->last_eval_ns) >> shift)
		s->cmos[REG_C] |= C_PF;
	if (!(s->cmos[REG_B] & B_SET) && now / NS_PER_S > s->last_eval_ns / NS_PER_S) {
		s->cmos[REG_C] |= C_UF;
		fill_time(s, live_seconds(r, now));
		if (alarm_match(s->cmos[0x01], s->cmos[0x00]) && alarm_match(s->cmos[0x03], s->cmos[0x02]) &&
		    alarm_match(s->cmos[0x05], s->cmos[0x04]))
			s->cmos[REG_C] |= C_AF;
	}
	s->last_eval_ns = now;
	update_irq(r);
}

static bool is_time_reg(uint8_t i)
{
	return i == 0x00 || i == 0x02 || i == 0x04 || (i >= 0x06 && i <= 0x09) || i == REG_CENTURY;
}

static uint8_t reg_read(struct rtc *r, uint8_t i, uint64_t now)
{
	struct rtc_state *s = &r->s;
	bool set = s->cmos[REG_B] & B_SET;
	if (is_time_reg(i)) {
		if (!set)
			fill_time(s, live_seconds(r, now));
		return s->cmos[i];
	}
	switch (i) {
	case REG_A: {
		uint8_t uip = !set && now % NS_PER_S >= NS_PER_S - UIP_NS ? 0x80 : 0;
		return (uint8_t)((s->cmos[REG_A] & 0x7f) | uip);
	}
	case REG_C: {
		update_flags(r, now);
		uint8_t v = s->cmos[REG_C];
		s->cmos[REG_C] = 0;
		update_irq(r);
		return v;
	}
	case REG_D:
		return 0x80;    /* valid RAM and time */
	default:
		return s->cmos[i];
	}
}

static void reg_write(struct rtc *r, uint8_t i, uint8_t v, uint64_t now)
{
	struct rtc_state *s = &r->s;
	bool set = s->cmos[REG_B] & B_SET;
	if (is_time_reg(i)) {
		if (!set)
			fill_time(s, live_seconds(r, now));
		s->cmos[i] = v;
		if (!set)
			s->offset_s = parse_time(s) - (live_seconds(r, now) - s->offset_s);
		return;
	}
	switch (i) {
	case REG_A:
		update_flags(r, now);
		s->cmos[REG_A] = v & 0x7f;
		break;
	case REG_B:
		update_flags(r, now);
		if (v & B_SET)
			v &= ~B_UIE;
		s->cmos[REG_B] = v;
		if ((v & B_SET) && !set)
			fill_time(s, live_seconds(r, now));             /* freeze */
		else if (!(v & B_SET) && set)
			s->offset_s = parse_time(s) - (live_seconds(r, now) - s->offset_s);
		update_irq(r);
		break;
	case REG_C:
	case REG_D:
		break;          /* read-only */
	default:
		s->cmos[i] = v;
	}
}

static uint8_t rtc_io8(void *dev, uint64_t off, uint8_t v, bool is_write)
{
	struct rtc *r = dev;
	if (off == 0) {
		if (is_write)
			r->s.index = v & 0x7f;  /* bit 7 is the NMI mask: ignored */
		return 0xff;
	}
	uint64_t now = vm__now_ns(r->vm);
	if (is_write) {
		reg_write(r, r->s.index, v, now);
		return 0;
	}
	return reg_read(r, r->s.index, now);
}

static void rtc_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(rtc_io8, dev, off, data, size, w);
}

/* Raises IRQ8 for flags that fell due; the next deadline is the next
 * periodic tap or second boundary an enabled interrupt waits for. */
static uint64_t rtc_poll(void *state, uint64_t now)
{
	struct rtc *r = state;
	struct rtc_state *s = &r->s;
	uint8_t en = s->cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
	if (!en || (s->cmos[REG_C] & C_IRQF))
		return UINT64_MAX;  /* nothing to raise, or IRQ8 already high */
	update_flags(r, now);
	if (s->cmos[REG_C] & C_IRQF)
		return UINT64_MAX;
	uint64_t next = UINT64_MAX;
	int shift = periodic_shift(s);
	if ((en & B_PIE) && shift >= 0) {
		uint64_t k = ((ticks32k(now) >> shift) + 1) << shift;
		next = (uint64_t)(((unsigned __int128)k * NS_PER_S + 32767) / 32768);
	}
	if ((en & (B_AIE | B_UIE)) && !(s->cmos[REG_B] & B_SET)) {
		uint64_t sec = (now / NS_PER_S + 1) * NS_PER_S;
		if (sec < next)
			next = sec;
	}
	return next;
}

/* Memory sizes where a PC BIOS leaves them (KiB below 64 MiB, 64 KiB blocks above 16 MiB and 4 GiB). */
static void fill_memory(struct rtc_state *s, const struct guest_mem *m)
{
	uint64_t low = 0, high = 0;
	for (int i = 0; i < m->nr_regions; i++) {
		if (m->region[i].gpa < MEM_HIGH_BASE)
			low += m->region[i].size;
		else
			high += m->region[i].size;
	}
	uint64_t ext = low > (1u << 20) ? (low >> 10) - 1024 : 0;
	if (ext > 0xffff)
		ext = 0xffff;
	uint64_t above16 = low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0;
	if (above16 > 0xffff)
		above16 = 0xffff;
	uint64_t above4g = high >> 16;
	s->cmos[0x15] = 0x80, s->cmos[0x16] = 0x02;           /* 640 KiB base memory */
	s->cmos[0x17] = s->cmos[0x30] = (uint8_t)ext;
	s->cmos[0x18] = s->cmos[0x31] = (uint8_t)(ext >> 8);
	s->cmos[0x34] = (uint8_t)above16, s->cmos[0x35] = (uint8_t)(above16 >> 8);
	s->cmos[0x5b] = (uint8_t)above4g, s->cmos[0x5c] = (uint8_t)(above4g >> 8);
	s->cmos[0x5d] = (uint8_t)(above4g >> 16);
	s->cmos[0x14] = 0x02;                                  /* equipment: FPU, VGA, no floppy */
	unsigned sum = 0;
	for (int i = 0x10; i <= 0x2d; i++)
		sum += s->cmos[i];
	s->cmos[0x2e] = (uint8_t)(sum >> 8), s->cmos[0x2f] = (uint8_t)sum;
}

/* Saved state (snapshots): version 1, offset_s, last_eval_ns, CMOS RAM, index, irq_level. */
#define RTC_STATE_VERSION 1

static int rtc_save(void *state, struct ds_out *o)
{
	const struct rtc_state *s = state;
	ds__u16(o, RTC_STATE_VERSION);
	ds__u64(o, (uint64_t)s->offset_s);
	ds__u64(o, s->last_eval_ns);
	ds__bytes(o, s->cmos, sizeof(s->cmos));
	ds__u8(o, s->index);
	ds__u8(o, s->irq_level);
	return o->bad ? -ENOSPC : 0;
}

static int rtc_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct rtc_state n;
	DS_CHECK(ds__g16(in) == RTC_STATE_VERSION, err, "rtc", "unknown version");
	n.offset_s = (int64_t)ds__g64(in);
	n.last_eval_ns = ds__g64(in);
	ds__gbytes(in, n.cmos, sizeof(n.cmos));
	n.index = ds__g8(in);
	n.irq_level = ds__g8(in);
	DS_CHECK(n.index < 128, err, "rtc", "CMOS index >= 128");
	DS_CHECK(n.irq_level <= 1, err, "rtc", "IRQ line level not 0 or 1");
	DS_CHECK_END(in, err, "rtc");
	if (apply)
		*(struct rtc_state *)state = n;
	return 0;
}

int rtc__create(struct vm *vm, struct rrvm_err *err)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return err__set(err, -ENOMEM, "rtc: out of memory");
	r->vm = vm;
	r->s.cmos[REG_A] = 0x26;        /* 32.768 kHz time base, 1024 Hz periodic rate */
	r->s.cmos[REG_B] = B_24H;       /* BCD, 24-hour, no interrupts */
	r->s.cmos[REG_D] = 0x80;
	r->s.last_eval_ns = vm__now_ns(vm);
	fill_memory(&r->s, &vm->mem);
	fill_time(&r->s, live_seconds(r, r->s.last_eval_ns));
	struct device dev = { .name = "rtc", .state = r, .poll = rtc_poll, .destroy = free,
			      .save = rtc_save, .restore = rtc_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		free(r);
		return err__set(err, rc, "rtc: cannot add device");
	}
	const struct io_region reg = { "rtc", IO_SPACE_PIO, 0x70, 2, rtc_io, r };
	if ((rc = vm__add_io(vm, &reg)))
		return err__set(err, rc, "rtc: cannot register ports 0x70-0x71");
	return 0;
}
