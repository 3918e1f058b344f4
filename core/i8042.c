/* i8042.c — PS/2 controller at 0x60/0x64 with no keyboard or mouse attached; reset lines (0xFE, port 0x92). */
#include <errno.h>
#include <stdlib.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

/*
 * Saved state (struct i8042_state, devices.h): the output buffer queue with
 * each byte's source (keyboard or AUX) and timeout flag, the controller
 * configuration byte, the output port, a command waiting for its data byte,
 * the status CMD bit, the last data byte, port 0x92 and the IRQ1/IRQ12 levels.
 *
 * Enough for Linux's i8042 probe to finish at once: self-tests pass, the
 * configuration byte reads back, the AUX loop-back command echoes (with
 * IRQ12, as Linux's AUX IRQ test wants), and bytes sent to the absent
 * keyboard or mouse are answered with 0xFE and the timeout bit, which
 * Linux's PS/2 layer treats as "no device" without waiting.
 */

struct i8042 {
	struct i8042_state s;   /* saved part: first member */
	struct vm *vm;
};

enum { ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUX = 0x20, ST_TIMEOUT = 0x40 };
enum { CTR_KBDINT = 0x01, CTR_AUXINT = 0x02, CTR_SYS = 0x04, CTR_KBDDIS = 0x10, CTR_AUXDIS = 0x20 };
enum { Q_AUX = 0x01, Q_TIMEOUT = 0x02 };

static void drive(struct i8042 *k, unsigned irq, uint8_t *cur, uint8_t level)
{
	if (*cur != level) {
		*cur = level;
		vm__set_irq(k->vm, irq, level);
	}
}

/* The output buffer interrupts on IRQ1 or IRQ12 by its head byte's source;
 * `fresh` drops both lines first so a following byte makes a new edge. */
static void update_irq(struct i8042 *k, bool fresh)
{
	struct i8042_state *s = &k->s;
	if (fresh) {
		drive(k, 1, &s->irq1_level, 0);
		drive(k, 12, &s->irq12_level, 0);
	}
	bool aux = s->qcount && (s->qflags[s->qhead] & Q_AUX);
	drive(k, 1, &s->irq1_level, s->qcount && !aux && (s->ctr & CTR_KBDINT));
	drive(k, 12, &s->irq12_level, aux && (s->ctr & CTR_AUXINT));
}

static void queue(struct i8042 *k, uint8_t b, uint8_t flags)
{
	struct i8042_state *s = &k->s;
	if (s->qcount == I8042_QUEUE)
		return;
	unsigned i = (s->qhead + s->qcount) % I8042_QUEUE;
	s->queue[i] = b;
	s->qflags[i] = flags;
	s->qcount++;
	update_irq(k, false);
}

static void reset(struct i8042 *k)
{
	vm__request_stop(k->vm, VM_STOP_RESET, 0, "guest requested reset via i8042");
}

static void command(struct i8042 *k, uint8_t v)
{
	struct i8042_state *s = &k->s;
	s->pending = 0;
	switch (v) {
	case 0x20:                      /* read configuration byte */
		queue(k, s->ctr, 0);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		s->pending = v;         /* takes a data byte at 0x60 */
		break;
	case 0xa7: s->ctr |= CTR_AUXDIS; break;
	case 0xa8: s->ctr &= ~CTR_AUXDIS; break;
	case 0xa9: queue(k, 0x00, 0); break;   /* AUX interface test: ok */
	case 0xaa:                      /* controller self-test */
		s->ctr |= CTR_SYS;
		queue(k, 0x55, 0);
		break;
	case 0xab: queue(k, 0x00, 0); break;   /* keyboard interface test: ok */
	case 0xad: s->ctr |= CTR_KBDDIS; break;
	case 0xae: s->ctr &= ~CTR_KBDDIS; break;
	case 0xc0: queue(k, 0x00, 0); break;   /* input port */
	case 0xd0: queue(k, s->outport, 0); break;
	case 0xdd: s->outport &= ~0x02; break; /* A20 off/on: recorded only */
	case 0xdf: s->outport |= 0x02; break;
	default:
		if (v >= 0xf0 && !(v & 0x01))  /* pulse output port bit 0: CPU reset (0xFE) */
			reset(k);
		break;
	}
	update_irq(k, false);
}

static void data(struct i8042 *k, uint8_t v)
{
	struct i8042_state *s = &k->s;
	uint8_t cmd = s->pending;
	s->pending = 0;
	switch (cmd) {
	case 0x60:
		s->ctr = v;
		break;
	case 0xd1:
		s->outport = v;
		if (!(v & 0x01))
			reset(k);
		break;
	case 0xd2:
		queue(k, v, 0);
		break;
	case 0xd3:
		queue(k, v, Q_AUX);
		break;
	case 0xd4:                      /* to the mouse: nobody answers */
		queue(k, 0xfe, Q_AUX | Q_TIMEOUT);
		break;
	default:                        /* to the keyboard: nobody answers */
		queue(k, 0xfe, Q_TIMEOUT);
		break;
	}
	update_irq(k, false);
}

static uint8_t read_data(struct i8042 *k)
{
	struct i8042_state *s = &k->s;
	if (!s->qcount)
		return s->last_data;
	s->last_data = s->queue[s->qhead];
	s->qhead = (uint8_t)((s->qhead + 1) % I8042_QUEUE);
	s->qcount--;
	update_irq(k, true);
	return s->last_data;
}

static uint8_t status(const struct i8042_state *s)
{
	uint8_t st = ST_UNLOCKED | (s->ctr & CTR_SYS ? ST_SYS : 0) | (s->last_was_cmd ? ST_CMD : 0);
	if (s->qcount) {
		uint8_t f = s->qflags[s->qhead];
		st |= ST_OBF | (f & Q_AUX ? ST_AUX : 0) | (f & Q_TIMEOUT ? ST_TIMEOUT : 0);
	}
	return st;
}

static uint8_t i8042_io8(void *dev, uint64_t port, uint8_t v, bool is_write)
{
	struct i8042 *k = dev;
	if (port == 0x60) {
		if (!is_write)
			return read_data(k);
		k->s.last_was_cmd = 0;
		data(k, v);
		return 0;
	}
	if (!is_write)
		return status(&k->s);
	k->s.last_was_cmd = 1;
	command(k, v);
	return 0;
}

static void data_io(void *dev, uint64_t off, uint8_t *d, uint32_t size, bool w)
{
	IO_BYTEWISE(i8042_io8, dev, 0x60 + off, d, size, w);
}

static void cmd_io(void *dev, uint64_t off, uint8_t *d, uint32_t size, bool w)
{
	IO_BYTEWISE(i8042_io8, dev, 0x64 + off, d, size, w);
}

/* System control port A: bit 0 rising = fast reset, bit 1 = A20. */
static void port92_io(void *dev, uint64_t off, uint8_t *d, uint32_t size, bool w)
{
	struct i8042 *k = dev;
	if (!w) {
		io__put(d, size, k->s.port92);
		return;
	}
	uint8_t v = d[0];
	if ((v & 0x01) && !(k->s.port92 & 0x01))
		vm__request_stop(k->vm, VM_STOP_RESET, 0, "guest requested reset via port 0x92");
	k->s.port92 = v;
}

/* Saved state (snapshots): version 1, then struct i8042_state field by field. */
#define I8042_STATE_VERSION 1

static int i8042_save(void *state, struct ds_out *o)
{
	const struct i8042_state *s = state;
	ds__u16(o, I8042_STATE_VERSION);
	ds__bytes(o, s->queue, sizeof(s->queue));
	ds__bytes(o, s->qflags, sizeof(s->qflags));
	const uint8_t f[] = { s->qhead, s->qcount, s->ctr, s->outport, s->pending, s->last_was_cmd, s->last_data,
			      s->port92, s->irq1_level, s->irq12_level };
	ds__bytes(o, f, sizeof(f));
	return o->bad ? -ENOSPC : 0;
}

static int i8042_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct i8042_state n;
	DS_CHECK(ds__g16(in) == I8042_STATE_VERSION, err, "i8042", "unknown version");
	ds__gbytes(in, n.queue, sizeof(n.queue));
	ds__gbytes(in, n.qflags, sizeof(n.qflags));
	uint8_t f[10];
	ds__gbytes(in, f, sizeof(f));
	n.qhead = f[0], n.qcount = f[1], n.ctr = f[2], n.outport = f[3], n.pending = f[4];
	n.last_was_cmd = f[5], n.last_data = f[6], n.port92 = f[7], n.irq1_level = f[8], n.irq12_level = f[9];
	DS_CHECK(n.qhead < I8042_QUEUE && n.qcount <= I8042_QUEUE, err, "i8042", "output queue position out of range");
	for (int i = 0; i < I8042_QUEUE; i++)
		DS_CHECK(n.qflags[i] <= 3, err, "i8042", "queue byte flags other than bits 0-1");
	DS_CHECK(n.last_was_cmd <= 1 && n.irq1_level <= 1 && n.irq12_level <= 1, err, "i8042",
		 "a flag is not 0 or 1");
	DS_CHECK_END(in, err, "i8042");
	if (apply)
		*(struct i8042_state *)state = n;
	return 0;
}

int i8042__create(struct vm *vm, struct rrvm_err *err)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return err__set(err, -ENOMEM, "i8042: out of memory");
	k->vm = vm;
	k->s.ctr = 0x40 | CTR_AUXDIS | CTR_SYS | CTR_KBDINT; /* translate, AUX off, as a BIOS leaves it */
	k->s.outport = 0x03;            /* not in reset, A20 on */
	k->s.port92 = 0x02;
	struct device dev = { .name = "i8042", .state = k, .destroy = free, .save = i8042_save, .restore = i8042_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		free(k);
		return err__set(err, rc, "i8042: cannot add device");
	}
	const struct io_region r[] = {
		{ "i8042", IO_SPACE_PIO, 0x60, 1, data_io, k },
		{ "i8042", IO_SPACE_PIO, 0x64, 1, cmd_io, k },
		{ "i8042", IO_SPACE_PIO, 0x92, 1, port92_io, k },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "i8042: cannot register port 0x%llx", (unsigned long long)r[i].base);
	return 0;
}
