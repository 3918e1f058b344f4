/* pic.c — dual 8259A PIC (master 0x20, slave 0xa0 cascaded on IRQ2) with the ELCR at 0x4d0/0x4d1. */
#include "core/pic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

/*
 * Saved state, per chip: request (IRR), in-service (ISR) and mask (IMR)
 * registers, the edge/level control (ELCR), the raw input line levels (for
 * edge detection), the ICW2 vector base, where the ICW1-4 sequence stands,
 * and the OCW/ICW4 mode bits (auto-EOI, rotation, special mask, poll, which
 * register a read of the command port returns).
 *
 * The slave's INT output is wired to master input 2 as a level: the master
 * sees IRQ2 requested exactly while the slave has a request to deliver. That
 * keeps the cascade from losing a slave interrupt that arrives while another
 * is being acknowledged, whatever order the guest sends its EOIs in.
 */
struct pic {
	struct pic_state s;     /* saved part: first member (devices.h) */
	struct vm *vm;
};

static const uint8_t elcr_mask[2] = { 0xf8, 0xde }; /* IRQ 0-2, 8 and 13 are always edge */

/* Priority (0 highest) of the best bit in mask, 8 when empty. */
static int priority(const struct i8259 *c, uint8_t mask)
{
	if (!mask)
		return 8;
	int p = 0;
	while (!(mask & (1u << ((p + c->priority_add) & 7))))
		p++;
	return p;
}

/* The chip's requests, with the slave's output folded into master input 2. */
static uint8_t requests(const struct pic_state *s, int which);

/* The IRQ (0-7) this chip would deliver now, or -1. */
static int chip_get_irq(const struct pic_state *s, int which)
{
	const struct i8259 *c = &s->chip[which];
	int p = priority(c, requests(s, which) & ~c->imr);
	if (p == 8)
		return -1;
	uint8_t in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (which == 0 && c->sfnm)
		in_service &= ~(1u << 2);
	if (p < priority(c, in_service))
		return (p + c->priority_add) & 7;
	return -1;
}

static uint8_t requests(const struct pic_state *s, int which)
{
	uint8_t r = s->chip[which].irr;
	if (which == 0 && !s->chip[0].single) {
		r &= ~(1u << 2);
		if (chip_get_irq(s, 1) >= 0)
			r |= 1u << 2;
	}
	return r;
}

static void chip_intack(struct i8259 *c, int irq)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= ~bit; /* edge: consumed; level: stays while the line is high */
}

void pic__set_irq(struct pic *pic, unsigned irq, int level)
{
	if (!pic || irq > 15)
		return;
	if (irq == 2)
		irq = 9; /* the ISA bus's IRQ2 pin is wired to slave input 1 on a PC */
	struct i8259 *c = &pic->s.chip[irq >> 3];
	uint8_t bit = (uint8_t)(1u << (irq & 7));
	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

bool pic__has_intr(const struct pic *pic)
{
	return pic && chip_get_irq(&pic->s, 0) >= 0;
}

int pic__peek_vector(const struct pic *pic)
{
	const struct pic_state *s = &pic->s;
	int irq = chip_get_irq(s, 0);
	if (irq < 0)
		return s->chip[0].vector_base + 7;
	if (irq == 2 && !s->chip[0].single) {
		int irq2 = chip_get_irq(s, 1);
		return s->chip[1].vector_base + (irq2 < 0 ? 7 : irq2);
	}
	return s->chip[0].vector_base + irq;
}

int pic__ack(struct pic *pic)
{
	struct pic_state *s = &pic->s;
	int irq = chip_get_irq(s, 0);
	if (irq < 0)
		return s->chip[0].vector_base + 7; /* spurious IRQ7: ISR untouched */
	if (irq == 2 && !s->chip[0].single) {
		int irq2 = chip_get_irq(s, 1);
		chip_intack(&s->chip[0], 2);
		if (irq2 < 0)
			return s->chip[1].vector_base + 7; /* spurious IRQ15 */
		chip_intack(&s->chip[1], irq2);
		return s->chip[1].vector_base + irq2;
	}
	chip_intack(&s->chip[0], irq);
	return s->chip[0].vector_base + irq;
}

bool pic__has_request(const struct pic *pic)
{
	return pic && ((pic->s.chip[0].irr & ~pic->s.chip[0].imr) | (pic->s.chip[1].irr & ~pic->s.chip[1].imr)) != 0;
}

void pic__describe(const struct pic *pic, char *buf, size_t len)
{
	const struct pic_state *s = &pic->s;
	snprintf(buf, len, "master irr %02x isr %02x imr %02x, slave irr %02x isr %02x imr %02x, next vector 0x%x",
		 s->chip[0].irr, s->chip[0].isr, s->chip[0].imr, s->chip[1].irr, s->chip[1].isr, s->chip[1].imr,
		 (unsigned)pic__peek_vector(pic));
}

static void chip_init(struct i8259 *c, uint8_t icw1)
{
	uint8_t elcr = c->elcr, lines = c->lines;
	*c = (struct i8259){ 0 };  /* clears IMR and ISR, and edge requests */
	c->elcr = elcr;            /* the ELCR is not part of the 8259 */
	c->lines = lines;          /* an edge line must go low and high again */
	c->irr = lines & elcr;
	c->init_step = 1;
	c->icw4_needed = icw1 & 1;
	c->single = (icw1 >> 1) & 1;
}

static void cmd_write(struct i8259 *c, uint8_t v)
{
	if (v & 0x10) {               /* ICW1 */
		chip_init(c, v);
		return;
	}
	if (v & 0x08) {               /* OCW3 */
		if (v & 0x04)
			c->poll = 1;
		if (v & 0x02)
			c->read_isr = v & 1;
		if (v & 0x40)
			c->special_mask = (v >> 5) & 1;
		return;
	}
	unsigned cmd = v >> 5, irq;   /* OCW2 */
	switch (cmd) {
	case 0: case 4:               /* clear / set rotate in auto-EOI mode */
		c->rotate_on_aeoi = (uint8_t)(cmd >> 2);
		break;
	case 1: case 5: {             /* non-specific EOI (5: and rotate) */
		int p = priority(c, c->isr);
		if (p == 8)
			break;
		irq = (unsigned)(p + c->priority_add) & 7;
		c->isr &= ~(1u << irq);
		if (cmd == 5)
			c->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	}
	case 3:                       /* specific EOI */
		c->isr &= ~(1u << (v & 7));
		break;
	case 6:                       /* set priority */
		c->priority_add = (uint8_t)((v + 1) & 7);
		break;
	case 7:                       /* rotate on specific EOI */
		irq = v & 7;
		c->isr &= ~(1u << irq);
		c->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	default:                      /* 2: no operation */
		break;
	}
}

static void data_write(struct i8259 *c, uint8_t v)
{
	switch (c->init_step) {
	case 0:
		c->imr = v;
		break;
	case 1:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
		break;
	case 2:                       /* ICW3: cascade wiring, fixed on a PC */
		c->init_step = c->icw4_needed ? 3 : 0;
		break;
	default:                      /* ICW4 */
		c->sfnm = (v >> 4) & 1;
		c->auto_eoi = (v >> 1) & 1;
		c->init_step = 0;
		break;
	}
}

/* OCW3 poll command: the next read acknowledges and returns 0x80 | irq. */
static uint8_t poll_read(struct pic_state *s, int which)
{
	int irq = chip_get_irq(s, which);
	if (irq < 0)
		return 0;
	if (which == 0 && irq == 2 && !s->chip[0].single) {
		int irq2 = chip_get_irq(s, 1);
		if (irq2 >= 0)
			chip_intack(&s->chip[1], irq2);
	}
	chip_intack(&s->chip[which], irq);
	return (uint8_t)(0x80 | irq);
}

static uint8_t pic_io8(void *dev, uint64_t off, uint8_t v, bool is_write, int which)
{
	struct pic_state *s = &((struct pic *)dev)->s;
	struct i8259 *c = &s->chip[which];
	if (is_write) {
		if (off == 0)
			cmd_write(c, v);
		else
			data_write(c, v);
		return 0;
	}
	if (c->poll) {
		c->poll = 0;
		return poll_read(s, which);
	}
	if (off == 0)
		return c->read_isr ? c->isr : requests(s, which);
	return c->imr;
}

static uint8_t master_io8(void *dev, uint64_t off, uint8_t v, bool w) { return pic_io8(dev, off, v, w, 0); }
static uint8_t slave_io8(void *dev, uint64_t off, uint8_t v, bool w) { return pic_io8(dev, off, v, w, 1); }

static uint8_t elcr_io8(void *dev, uint64_t off, uint8_t v, bool is_write)
{
	struct i8259 *c = &((struct pic *)dev)->s.chip[off & 1];
	if (!is_write)
		return c->elcr;
	c->elcr = v & elcr_mask[off & 1];
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr)); /* level lines follow their input */
	return 0;
}

static void master_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(master_io8, dev, off, data, size, w);
}

static void slave_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(slave_io8, dev, off, data, size, w);
}

static void elcr_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(elcr_io8, dev, off, data, size, w);
}

/* Saved state (snapshots): version 1, then per chip every i8259 field in declaration order. */
#define PIC_STATE_VERSION 1

static int pic_save(void *state, struct ds_out *o)
{
	const struct pic_state *s = state;
	ds__u16(o, PIC_STATE_VERSION);
	for (int i = 0; i < 2; i++) {
		const struct i8259 *c = &s->chip[i];
		const uint8_t f[] = { c->irr, c->isr, c->imr, c->elcr, c->lines, c->vector_base, c->init_step,
				      c->icw4_needed, c->single, c->auto_eoi, c->rotate_on_aeoi, c->special_mask,
				      c->poll, c->read_isr, c->priority_add, c->sfnm };
		ds__bytes(o, f, sizeof(f));
	}
	return o->bad ? -ENOSPC : 0;
}

static int pic_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct pic_state n;
	DS_CHECK(ds__g16(in) == PIC_STATE_VERSION, err, "pic", "unknown version");
	for (int i = 0; i < 2; i++) {
		struct i8259 *c = &n.chip[i];
		uint8_t f[16];
		ds__gbytes(in, f, sizeof(f));
		*c = (struct i8259){ .irr = f[0], .isr = f[1], .imr = f[2], .elcr = f[3], .lines = f[4],
				     .vector_base = f[5], .init_step = f[6], .icw4_needed = f[7], .single = f[8],
				     .auto_eoi = f[9], .rotate_on_aeoi = f[10], .special_mask = f[11], .poll = f[12],
				     .read_isr = f[13], .priority_add = f[14], .sfnm = f[15] };
		DS_CHECK(!(c->vector_base & 7), err, "pic", "vector base not a multiple of 8");
		DS_CHECK(c->init_step <= 3, err, "pic", "ICW sequence step > 3");
		DS_CHECK(c->priority_add <= 7, err, "pic", "rotation priority > 7");
		DS_CHECK((c->elcr & ~elcr_mask[i]) == 0, err, "pic", "ELCR sets an edge-only line");
		DS_CHECK(c->icw4_needed <= 1 && c->single <= 1 && c->auto_eoi <= 1 && c->rotate_on_aeoi <= 1 &&
			 c->special_mask <= 1 && c->poll <= 1 && c->read_isr <= 1 && c->sfnm <= 1,
			 err, "pic", "a mode flag is not 0 or 1");
	}
	DS_CHECK_END(in, err, "pic");
	if (apply)
		*(struct pic_state *)state = n;
	return 0;
}

int pic__create(struct vm *vm, struct rrvm_err *err)
{
	struct pic *pic = calloc(1, sizeof(*pic));
	if (!pic)
		return err__set(err, -ENOMEM, "pic: out of memory");
	pic->vm = vm;
	/* Power-on: everything masked until the guest initialises the pair. */
	pic->s.chip[0].imr = pic->s.chip[1].imr = 0xff;
	struct device dev = { .name = "pic", .state = pic, .destroy = free, .save = pic_save, .restore = pic_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		free(pic);
		return err__set(err, rc, "pic: cannot add device");
	}
	vm->pic = pic;
	const struct io_region r[] = {
		{ "pic", IO_SPACE_PIO, 0x20, 2, master_io, pic },
		{ "pic", IO_SPACE_PIO, 0xa0, 2, slave_io, pic },
		{ "pic", IO_SPACE_PIO, 0x4d0, 2, elcr_io, pic },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "pic: cannot register ports 0x%llx", (unsigned long long)r[i].base);
	return 0;
}
