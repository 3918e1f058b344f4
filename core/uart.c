/* uart.c — 16550A UART (COM1): buffered console output, console input into the RX FIFO, IRQ per IER. */
#include <errno.h>
#include <stdlib.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

/*
 * Saved state (struct uart_state, devices.h): the registers (IER, IIR, FCR,
 * LCR, MCR, LSR, MSR, SCR, divisor latch), the receive FIFO and its trigger
 * level, the pending THRE and character-timeout interrupt conditions, the
 * guest time of the next character timeout, and the IRQ line level.
 *
 * Transmission is instant: THR is empty again (THRE, TEMT) right after each
 * write, which makes a THRE interrupt pending again when IER asks for it.
 * Output bytes wait in the wrapper's buffer (host-side, not guest state)
 * until a newline, a full buffer, a few exits without a THR write, 1 ms of
 * guest time (returned as a deadline, so a prompt shows while the guest
 * halts: the jump or kick it causes changes nothing the guest sees), the VM
 * stopping, or destroy; then one vm__console_write takes them in order.
 */

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
enum { IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08 };
enum { IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06,
       IIR_CTI = 0x0c, IIR_FIFO = 0xc0 };
enum { FCR_FE = 0x01, FCR_RFR = 0x02, FCR_XFR = 0x04 };
enum { LCR_DLAB = 0x80 };
enum { MCR_LOOP = 0x10 };
enum { LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_INT_ANY = 0x1e };
enum { MSR_DELTA = 0x0f };

#define UART_OUT_BUF 4096
#define UART_IDLE_POLLS 3       /* polls without a THR write before buffered output goes out */
#define UART_FLUSH_NS 1000000ull /* ... or this much guest time (a deadline, so a halted guest's prompt shows) */

struct uart {
	struct uart_state s;    /* saved part: first member */
	struct vm *vm;
	char name[16];
	uint32_t out_len;
	uint32_t idle_polls;
	uint64_t last_thr_ns;   /* guest time of the last buffered byte */
	uint8_t out[UART_OUT_BUF];
};

static void flush(struct uart *u)
{
	if (u->out_len) {
		vm__console_write(u->vm, u->out, u->out_len);
		u->out_len = 0;
	}
}

static void update_irq(struct uart *u)
{
	struct uart_state *s = &u->s;
	uint8_t id = IIR_NONE;
	bool fifo = s->fcr & FCR_FE;
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
		id = IIR_RLSI;
	else if ((s->ier & IER_RDI) && s->timeout_ipending)
		id = IIR_CTI;
	else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) && (!fifo || s->rx_count >= s->rx_trigger))
		id = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thr_ipending)
		id = IIR_THRI;
	else if ((s->ier & IER_MSI) && (s->msr & MSR_DELTA))
		id = IIR_MSI;
	s->iir = (uint8_t)(id | (fifo ? IIR_FIFO : 0));
	uint8_t level = id != IIR_NONE;
	if (level != s->irq_level) {
		s->irq_level = level;
		vm__set_irq(u->vm, s->irq, level);
	}
}

/* Four character times at the programmed rate (10 bits a character). */
static uint64_t char_timeout_ns(const struct uart_state *s)
{
	uint64_t div = s->divisor ? s->divisor : 65536;
	return 4 * 10 * 1000000000ull * div / 115200;
}

static void rx_touch(struct uart *u, uint64_t now)
{
	struct uart_state *s = &u->s;
	s->rx_timeout_ns = ((s->fcr & FCR_FE) && s->rx_count) ? now + char_timeout_ns(s) : 0;
}

static unsigned rx_capacity(const struct uart_state *s)
{
	return (s->fcr & FCR_FE) ? UART_FIFO_SIZE : 1;
}

static void rx_push(struct uart *u, uint8_t b)
{
	struct uart_state *s = &u->s;
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= LSR_OE;       /* overrun: the new byte is lost */
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = b;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static void rx_reset(struct uart_state *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= ~(LSR_DR | LSR_BI);
	s->timeout_ipending = 0;
	s->rx_timeout_ns = 0;
}

static void thr_write(struct uart *u, uint8_t b, uint64_t now)
{
	struct uart_state *s = &u->s;
	/* THR full for the write: a pending THRE interrupt goes away, so the
	 * one raised when it empties again is a fresh edge. */
	s->thr_ipending = 0;
	s->lsr &= ~(LSR_THRE | LSR_TEMT);
	update_irq(u);
	if (s->mcr & MCR_LOOP) {
		rx_push(u, b);
		rx_touch(u, now);
	} else {
		u->out[u->out_len++] = b;
		u->idle_polls = 0;
		u->last_thr_ns = now;
		if (b == '\n' || u->out_len == UART_OUT_BUF)
			flush(u);
	}
	/* Sent at once: THR and the shift register are empty again. */
	s->lsr |= LSR_THRE | LSR_TEMT;
	s->thr_ipending = 1;
}

static void fcr_write(struct uart_state *s, uint8_t v)
{
	if ((v ^ s->fcr) & FCR_FE)
		v |= FCR_RFR | FCR_XFR;     /* toggling the FIFOs clears them */
	if (v & FCR_RFR)
		rx_reset(s);
	if (v & FCR_XFR) {
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = 1;
	}
	s->fcr = v & 0xc9;
	static const uint8_t trig[4] = { 1, 4, 8, 14 };
	s->rx_trigger = trig[v >> 6];
	if (!(s->fcr & FCR_FE) && s->rx_count > 1)
		s->rx_count = 1;
}

static uint8_t uart_io8(void *dev, uint64_t off, uint8_t v, bool is_write)
{
	struct uart *u = dev;
	struct uart_state *s = &u->s;
	uint64_t now = vm__now_ns(u->vm);
	bool dlab = s->lcr & LCR_DLAB;
	if (is_write) {
		switch (off) {
		case RBR_THR:
			if (dlab) {
				s->divisor = (uint16_t)((s->divisor & 0xff00) | v);
				return 0;
			}
			thr_write(u, v, now);
			break;
		case IER:
			if (dlab) {
				s->divisor = (uint16_t)((s->divisor & 0x00ff) | v << 8);
				return 0;
			}
			/* Setting IER.THRI while THR is empty makes a THRE interrupt
			 * pending again (Linux's 8250 driver and Windows rely on it). */
			if ((v ^ s->ier) & IER_THRI)
				s->thr_ipending = (v & IER_THRI) && (s->lsr & LSR_THRE);
			s->ier = v & 0x0f;
			break;
		case IIR_FCR:
			fcr_write(s, v);
			break;
		case LCR:
			s->lcr = v;
			return 0;
		case MCR:
			s->mcr = v & 0x1f;
			return 0;
		case SCR:
			s->scr = v;
			return 0;
		default:            /* LSR, MSR: writes ignored (factory test) */
			return 0;
		}
		update_irq(u);
		return 0;
	}
	uint8_t r;
	switch (off) {
	case RBR_THR:
		if (dlab)
			return (uint8_t)s->divisor;
		r = 0;
		if (s->rx_count) {
			r = s->rx_fifo[s->rx_head];
			s->rx_head = (uint8_t)((s->rx_head + 1) % UART_FIFO_SIZE);
			s->rx_count--;
		}
		if (!s->rx_count)
			s->lsr &= ~(LSR_DR | LSR_BI);
		s->timeout_ipending = 0;
		rx_touch(u, now);
		update_irq(u);
		return r;
	case IER:
		return dlab ? (uint8_t)(s->divisor >> 8) : s->ier;
	case IIR_FCR:
		r = s->iir;
		if ((r & 0x0f) == IIR_THRI) {
			s->thr_ipending = 0;    /* reading IIR acknowledges THRE */
			update_irq(u);
		}
		return r;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		r = s->lsr;
		if (s->lsr & (LSR_BI | LSR_OE)) {
			s->lsr &= ~(LSR_BI | LSR_OE);
			update_irq(u);
		}
		return r;
	case MSR:
		if (s->mcr & MCR_LOOP)  /* outputs looped back: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
			return (uint8_t)((s->mcr & 0x0c) << 4 | (s->mcr & 0x02) << 3 | (s->mcr & 0x01) << 5);
		r = s->msr;
		if (s->msr & MSR_DELTA) {
			s->msr &= 0xf0;
			update_irq(u);
		}
		return r;
	default:
		return s->scr;
	}
}

static void uart_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	IO_BYTEWISE(uart_io8, dev, off, data, size, w);
}

/* Takes console input into the RX FIFO, fires the character timeout and
 * flushes output the guest has stopped adding to. */
static uint64_t uart_poll(void *state, uint64_t now)
{
	struct uart *u = state;
	struct uart_state *s = &u->s;
	if (u->out_len && (++u->idle_polls >= UART_IDLE_POLLS || now - u->last_thr_ns >= UART_FLUSH_NS ||
			   u->vm->stop != VM_STOP_NONE))
		flush(u);
	bool changed = false;
	unsigned room = rx_capacity(s) - s->rx_count;
	if (room && !(s->mcr & MCR_LOOP) && vm__console_pending(u->vm)) {
		uint8_t buf[UART_FIFO_SIZE];
		size_t n = vm__console_read(u->vm, buf, room);
		for (size_t i = 0; i < n; i++)
			rx_push(u, buf[i]);
		if (n) {
			rx_touch(u, now);
			changed = true;
		}
	}
	if (s->rx_timeout_ns && now >= s->rx_timeout_ns) {
		s->rx_timeout_ns = 0;
		s->timeout_ipending = 1;
		changed = true;
	}
	if (changed)
		update_irq(u);
	uint64_t next = s->rx_timeout_ns && (s->ier & IER_RDI) ? s->rx_timeout_ns : UINT64_MAX;
	if (u->out_len && u->last_thr_ns + UART_FLUSH_NS < next)
		next = u->last_thr_ns + UART_FLUSH_NS;
	return next;
}

static void uart_destroy(void *state)
{
	struct uart *u = state;
	flush(u);
	free(u);
}

/* Saved state (snapshots): version 1, then struct uart_state field by field.
 * Buffered output is host-side: it goes out before a save and before a
 * restore replaces the registers (it belongs to the timeline it was written in). */
#define UART_STATE_VERSION 1

static int uart_save(void *state, struct ds_out *o)
{
	struct uart *u = state;
	const struct uart_state *s = &u->s;
	flush(u);
	ds__u16(o, UART_STATE_VERSION);
	ds__u64(o, s->rx_timeout_ns);
	ds__bytes(o, s->rx_fifo, sizeof(s->rx_fifo));
	ds__u8(o, s->rx_head);
	ds__u8(o, s->rx_count);
	ds__u16(o, s->divisor);
	const uint8_t f[] = { s->ier, s->iir, s->fcr, s->lcr, s->mcr, s->lsr, s->msr, s->scr, s->rx_trigger,
			      s->thr_ipending, s->timeout_ipending, s->irq, s->irq_level };
	ds__bytes(o, f, sizeof(f));
	return o->bad ? -ENOSPC : 0;
}

static int uart_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct uart *u = state;
	struct uart_state n;
	DS_CHECK(ds__g16(in) == UART_STATE_VERSION, err, u->name, "unknown version");
	n.rx_timeout_ns = ds__g64(in);
	ds__gbytes(in, n.rx_fifo, sizeof(n.rx_fifo));
	n.rx_head = ds__g8(in);
	n.rx_count = ds__g8(in);
	n.divisor = ds__g16(in);
	uint8_t f[13];
	ds__gbytes(in, f, sizeof(f));
	n.ier = f[0], n.iir = f[1], n.fcr = f[2], n.lcr = f[3], n.mcr = f[4], n.lsr = f[5], n.msr = f[6];
	n.scr = f[7], n.rx_trigger = f[8], n.thr_ipending = f[9], n.timeout_ipending = f[10];
	n.irq = f[11], n.irq_level = f[12];
	DS_CHECK(n.rx_head < UART_FIFO_SIZE && n.rx_count <= UART_FIFO_SIZE, err, u->name, "receive FIFO position out of range");
	DS_CHECK(n.rx_trigger == 1 || n.rx_trigger == 4 || n.rx_trigger == 8 || n.rx_trigger == 14, err, u->name,
		 "receive trigger level not 1, 4, 8 or 14");
	DS_CHECK(n.irq == u->s.irq, err, u->name, "IRQ line differs from this machine's");
	DS_CHECK(n.ier <= 0x0f, err, u->name, "IER reserved bits set");
	DS_CHECK(n.thr_ipending <= 1 && n.timeout_ipending <= 1 && n.irq_level <= 1, err, u->name,
		 "an interrupt flag is not 0 or 1");
	DS_CHECK_END(in, err, u->name);
	if (apply) {
		flush(u);
		u->s = n;
		u->idle_polls = 0;
	}
	return 0;
}

int uart__create(struct vm *vm, const char *name, uint16_t base, unsigned irq, struct rrvm_err *err)
{
	struct uart *u = calloc(1, sizeof(*u));
	if (!u)
		return err__set(err, -ENOMEM, "%s: out of memory", name);
	u->vm = vm;
	snprintf(u->name, sizeof(u->name), "%s", name);
	struct uart_state *s = &u->s;
	s->irq = (uint8_t)irq;
	s->divisor = 12;                /* 9600 baud until the guest programs it */
	s->iir = IIR_NONE;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = 0xb0;                  /* DCD, DSR, CTS: a terminal is attached */
	s->mcr = 0x08;                  /* OUT2 */
	s->rx_trigger = 1;
	struct device dev = { .name = u->name, .state = u, .poll = uart_poll, .destroy = uart_destroy,
			      .save = uart_save, .restore = uart_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		free(u);
		return err__set(err, rc, "%s: cannot add device", name);
	}
	const struct io_region r = { u->name, IO_SPACE_PIO, base, 8, uart_io, u };
	if ((rc = vm__add_io(vm, &r)))
		return err__set(err, rc, "%s: cannot register ports 0x%x-0x%x", name, base, base + 7);
	return 0;
}
