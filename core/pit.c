/* pit.c — 8254 PIT: channel 0 drives IRQ0, channel 2 is gated through port 0x61; counts derive from guest time. */
#include <errno.h>
#include <stdlib.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

/*
 * Saved state (struct pit_state, devices.h): per channel the programmed mode,
 * access and BCD bits, the reload value, the guest time counting started and
 * the clocks counted before it (a gate pause), the read/write byte toggles,
 * latched count and status, gate, and for channel 0 how many IRQ0 edges have
 * been signalled since the count was loaded; plus port 0x61's writable bits.
 *
 * Nothing ticks: the count, OUT and the next IRQ0 edge are computed from
 * vm__now_ns and the 1193182 Hz input clock with integer arithmetic, so the
 * edges sit on an exact grid from the load time and never drift.
 */

struct pit {
	struct pit_state s;     /* saved part: first member */
	struct vm *vm;
};

typedef unsigned __int128 u128;

/* Whole input clocks in ns of guest time. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((u128)ns * PIT_HZ / 1000000000u);
}

/* The first ns at which ns_to_ticks reaches `ticks`. */
static uint64_t ticks_to_ns_ceil(uint64_t ticks)
{
	u128 ns = ((u128)ticks * 1000000000u + PIT_HZ - 1) / PIT_HZ;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static unsigned eff_mode(const struct pit_channel *c)
{
	return c->mode;         /* 6/7 are folded to 2/3 when programmed */
}

/* Input clocks counted since the count was loaded. */
static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = c->base_ticks;
	if (c->running && now > c->load_ns)
		d += ns_to_ticks(now - c->load_ns);
	return d;
}

/* Guest time at which `elapsed` reaches `ticks` (the channel is running). */
static uint64_t time_of(const struct pit_channel *c, uint64_t ticks)
{
	if (ticks <= c->base_ticks)
		return c->load_ns;
	uint64_t dt = ticks_to_ns_ceil(ticks - c->base_ticks);
	return dt > UINT64_MAX - c->load_ns ? UINT64_MAX : c->load_ns + dt;
}

static uint16_t to_bcd16(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

static uint32_t from_bcd16(uint16_t v)
{
	return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint16_t get_count(const struct pit_channel *c, uint64_t now)
{
	if (!c->loaded)
		return 0;
	uint64_t d = elapsed(c, now), r = c->reload;
	uint32_t v;
	switch (eff_mode(c)) {
	case 2:
		v = (uint32_t)(r - d % r);
		break;
	case 3:
		v = (uint32_t)(r - (2 * d) % r);
		break;
	default: {              /* 0, 1, 4, 5: wraps after reaching zero */
		uint64_t m = c->bcd ? 10000 : 65536;
		v = (uint32_t)((r + m - d % m) % m);
		break;
	}
	}
	return c->bcd ? to_bcd16(v) : (uint16_t)v;
}

static int get_out(const struct pit_channel *c, uint64_t now)
{
	unsigned m = eff_mode(c);
	if (!c->loaded)
		return m != 0;
	uint64_t d = elapsed(c, now), r = c->reload;
	switch (m) {
	case 0:
		return d >= r;
	case 1:
		return !c->running || d >= r;
	case 2:
		return !c->running || d % r != r - 1;
	case 3:
		return !c->running || d % r < (r + 1) / 2;
	case 4:
		return d != r;
	default:
		return !c->running || d != r;
	}
}

static void load_count(struct pit_channel *c, uint16_t v, uint64_t now)
{
	uint32_t r = c->bcd ? from_bcd16(v) : v;
	c->reload = r ? r : (c->bcd ? 10000 : 65536);
	c->loaded = 1;
	c->edges = 0;
	c->base_ticks = 0;
	c->load_ns = now;
	c->running = (c->mode == 1 || c->mode == 5) ? 0 : c->gate;
}

static void set_gate(struct pit_channel *c, uint8_t gate, uint64_t now)
{
	gate = gate ? 1 : 0;
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->loaded)
		return;
	unsigned m = eff_mode(c);
	if (!gate) {
		if (m == 1 || m == 5)
			return;         /* gate only triggers these */
		c->base_ticks = elapsed(c, now);
		c->running = 0;
		return;
	}
	if (m == 0 || m == 4) { /* resume */
		c->load_ns = now;
		c->running = 1;
		return;
	}
	c->base_ticks = 0;      /* 1, 2, 3, 5: rising edge restarts from the reload */
	c->load_ns = now;
	c->running = 1;
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->latched_count = get_count(c, now);
	c->count_latched = c->access == 3 ? 2 : 1;
	c->latched_hi = c->access == 2;
}

static void control_write(struct pit_state *s, uint8_t v, uint64_t now)
{
	unsigned sel = v >> 6;
	if (sel == 3) {         /* read-back */
		for (unsigned i = 0; i < 3; i++) {
			struct pit_channel *c = &s->ch[i];
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x20))
				latch_count(c, now);
			if (!(v & 0x10) && !c->status_latched) {
				c->status = (uint8_t)(get_out(c, now) << 7 | (!c->loaded) << 6 |
						      c->access << 4 | c->mode << 1 | c->bcd);
				c->status_latched = 1;
			}
		}
		return;
	}
	struct pit_channel *c = &s->ch[sel];
	unsigned access = (v >> 4) & 3;
	if (access == 0) {
		latch_count(c, now);
		return;
	}
	unsigned mode = (v >> 1) & 7;
	c->mode = (uint8_t)(mode >= 6 ? mode - 4 : mode);
	c->access = (uint8_t)access;
	c->bcd = v & 1;
	c->read_state = c->write_state = 0;
	c->count_latched = 0;
	c->loaded = 0;          /* stops the counter until a count is written */
	c->running = 0;
	c->edges = 0;
}

static void data_write(struct pit_channel *c, uint8_t v, uint64_t now)
{
	switch (c->access) {
	case 1:
		load_count(c, v, now);
		break;
	case 2:
		load_count(c, (uint16_t)(v << 8), now);
		break;
	case 3:
		if (!c->write_state) {
			c->write_latch = v;
			c->write_state = 1;
		} else {
			load_count(c, (uint16_t)(c->write_latch | v << 8), now);
			c->write_state = 0;
		}
		break;
	default:                /* never programmed: ignore */
		break;
	}
}

static uint8_t data_read(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		uint8_t b = c->latched_hi ? (uint8_t)(c->latched_count >> 8) : (uint8_t)c->latched_count;
		c->count_latched--;
		c->latched_hi = !c->latched_hi;
		return b;
	}
	uint16_t count = get_count(c, now);
	switch (c->access) {
	case 2:
		return (uint8_t)(count >> 8);
	case 3:
		c->read_state ^= 1;
		return c->read_state ? (uint8_t)count : (uint8_t)(count >> 8);
	default:
		return (uint8_t)count;
	}
}

static uint8_t pit_io8(void *dev, uint64_t off, uint8_t v, bool is_write)
{
	struct pit *p = dev;
	uint64_t now = vm__now_ns(p->vm);
	if (off == 3) {
		if (is_write)
			control_write(&p->s, v, now);
		return 0xff;    /* the control register is write-only */
	}
	if (is_write) {
		data_write(&p->s.ch[off], v, now);
		return 0;
	}
	return data_read(&p->s.ch[off], now);
}

/* Refresh request toggle: flips every 15.085 us of guest time. */
#define REFRESH_NS 15085u

static uint8_t port61_io8(void *dev, uint64_t off, uint8_t v, bool is_write)
{
	struct pit *p = dev;
	uint64_t now = vm__now_ns(p->vm);
	if (is_write) {
		p->s.port61 = v & 0x0f;
		set_gate(&p->s.ch[2], v & 1, now);
		return 0;
	}
	return (uint8_t)(p->s.port61 | ((now / REFRESH_NS) & 1) << 4 | get_out(&p->s.ch[2], now) << 5);
}

static void pit_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(pit_io8, dev, off, data, size, w);
}

static void port61_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(port61_io8, dev, off, data, size, w);
}

static void irq0_pulse(struct pit *p)
{
	vm__set_irq(p->vm, 0, 1);
	vm__set_irq(p->vm, 0, 0);
}

/* Raises the IRQ0 edge that fell due (at most one: a guest that fell many
 * periods behind gets one interrupt, as the PIC's single IRR bit would have
 * kept) and returns the guest time of the next one. */
static uint64_t pit_poll(void *state, uint64_t now)
{
	struct pit *p = state;
	struct pit_channel *c = &p->s.ch[0];
	if (!c->loaded || !c->running)
		return UINT64_MAX;
	uint64_t d = elapsed(c, now);
	switch (eff_mode(c)) {
	case 0:
	case 4:                 /* one shot at terminal count */
		if (c->edges)
			return UINT64_MAX;
		if (d < c->reload)
			return time_of(c, c->reload);
		c->edges = 1;
		irq0_pulse(p);
		return UINT64_MAX;
	case 2:
	case 3: {               /* an edge at every multiple of the reload */
		uint64_t due = d / c->reload;
		if (due > c->edges) {
			c->edges = due;
			irq0_pulse(p);
		}
		return time_of(c, (c->edges + 1) * c->reload);
	}
	default:                /* 1, 5 need a gate trigger channel 0 never gets */
		return UINT64_MAX;
	}
}

/* Saved state (snapshots): version 1, each channel's fields in declaration order, then port61. */
#define PIT_STATE_VERSION 1

static int pit_save(void *state, struct ds_out *o)
{
	const struct pit_state *s = state;
	ds__u16(o, PIT_STATE_VERSION);
	for (int i = 0; i < 3; i++) {
		const struct pit_channel *c = &s->ch[i];
		ds__u64(o, c->load_ns);
		ds__u64(o, c->base_ticks);
		ds__u64(o, c->edges);
		ds__u32(o, c->reload);
		ds__u16(o, c->latched_count);
		const uint8_t f[] = { c->mode, c->access, c->bcd, c->read_state, c->write_state, c->write_latch,
				      c->count_latched, c->latched_hi, c->status_latched, c->status, c->gate,
				      c->loaded, c->running };
		ds__bytes(o, f, sizeof(f));
	}
	ds__u8(o, s->port61);
	return o->bad ? -ENOSPC : 0;
}

static int pit_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct pit_state n;
	DS_CHECK(ds__g16(in) == PIT_STATE_VERSION, err, "pit", "unknown version");
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &n.ch[i];
		c->load_ns = ds__g64(in);
		c->base_ticks = ds__g64(in);
		c->edges = ds__g64(in);
		c->reload = ds__g32(in);
		c->latched_count = ds__g16(in);
		uint8_t f[13];
		ds__gbytes(in, f, sizeof(f));
		c->mode = f[0], c->access = f[1], c->bcd = f[2], c->read_state = f[3], c->write_state = f[4];
		c->write_latch = f[5], c->count_latched = f[6], c->latched_hi = f[7], c->status_latched = f[8];
		c->status = f[9], c->gate = f[10], c->loaded = f[11], c->running = f[12];
		DS_CHECK(c->mode <= 5, err, "pit", "channel mode > 5");
		DS_CHECK(c->access <= 3, err, "pit", "access mode > 3");
		DS_CHECK(c->reload <= 65536, err, "pit", "reload count > 65536");
		DS_CHECK(c->count_latched <= 2, err, "pit", "latched byte count > 2");
		DS_CHECK(c->bcd <= 1 && c->read_state <= 1 && c->write_state <= 1 && c->latched_hi <= 1 &&
			 c->status_latched <= 1 && c->gate <= 1 && c->loaded <= 1 && c->running <= 1,
			 err, "pit", "a channel flag is not 0 or 1");
	}
	n.port61 = ds__g8(in);
	DS_CHECK(n.port61 <= 0x0f, err, "pit", "port 0x61 bits above 3 set");
	DS_CHECK_END(in, err, "pit");
	if (apply)
		*(struct pit_state *)state = n;
	return 0;
}

int pit__create(struct vm *vm, struct rrvm_err *err)
{
	struct pit *p = calloc(1, sizeof(*p));
	if (!p)
		return err__set(err, -ENOMEM, "pit: out of memory");
	p->vm = vm;
	/* As a PC BIOS leaves it (and QEMU resets it): every counter in mode 3
	 * with count 65536, loaded, so software polling the read-back status
	 * never sees NULL COUNT forever (Linux's early KASLR entropy does). */
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &p->s.ch[i];
		c->gate = i != 2;
		c->mode = 3;
		c->access = 3;
		load_count(c, 0, 0);
	}
	struct device dev = { .name = "pit", .state = p, .poll = pit_poll, .destroy = free,
			      .save = pit_save, .restore = pit_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		free(p);
		return err__set(err, rc, "pit: cannot add device");
	}
	const struct io_region r[] = {
		{ "pit", IO_SPACE_PIO, 0x40, 4, pit_io, p },
		{ "pit", IO_SPACE_PIO, 0x61, 1, port61_io, p },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "pit: cannot register port 0x%llx", (unsigned long long)r[i].base);
	return 0;
}
