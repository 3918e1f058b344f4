/* devices.h — internal: the PC platform's device constructors and their saved-state structs. */
#ifndef RRVM_DEVICES_H
#define RRVM_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

struct vm;

/*
 * Every device keeps what a snapshot must save in one plain struct of
 * fixed-width fields (no pointers, no host handles), declared here, and host
 * pointers (struct vm *, output buffers) in a wrapper beside it. The wrapper
 * registered as `struct device.state` always has that struct as its FIRST
 * member, so `(struct pit_state *)dev->state` is the saved part. Devices read
 * time only through vm__now_ns/vm__wallclock_base and raise interrupts only
 * from their I/O handlers and poll (the vCPU thread).
 *
 * All constructors: call after pic__create (they drive IRQ lines), register
 * the device (vm__add_device) and then its I/O regions (vm__add_io). Return 0,
 * or a negative errno with a message in *err; once the device is added the VM
 * owns it (vm__destroy frees it).
 */

/* ---- dual 8259A PIC (pic.c; its interface is core/pic.h). ---- */

struct i8259 {
	uint8_t irr, isr, imr, elcr;
	uint8_t lines;          /* input levels as last driven */
	uint8_t vector_base;    /* ICW2 & 0xf8 */
	uint8_t init_step;      /* 0 ready; 1, 2, 3: expecting ICW2, ICW3, ICW4 */
	uint8_t icw4_needed, single;
	uint8_t auto_eoi, rotate_on_aeoi, special_mask;
	uint8_t poll, read_isr;
	uint8_t priority_add;   /* IRQ with the lowest priority + 1 (rotation) */
	uint8_t sfnm;           /* special fully nested mode (ICW4 bit 4) */
};

struct pic_state {
	struct i8259 chip[2];   /* 0 master, 1 slave */
};

/* ---- i8254 PIT (pit.c): channels 0-2 at 0x40-0x43, port 0x61. ---- */

#define PIT_HZ 1193182ull

struct pit_channel {
	uint64_t load_ns;       /* guest time counting (re)started */
	uint64_t base_ticks;    /* input clocks counted before load_ns (gate pauses) */
	uint64_t edges;         /* channel 0: IRQ0 edges already signalled since the load */
	uint32_t reload;        /* initial count in input clocks, 1..65536 (BCD: 1..10000) */
	uint16_t latched_count; /* value captured by a counter latch command */
	uint8_t mode;           /* 0-5 as programmed (6/7 stored as 2/3) */
	uint8_t access;         /* 1 lobyte, 2 hibyte, 3 lobyte then hibyte */
	uint8_t bcd;
	uint8_t read_state;     /* lohi: 0 next read is low byte, 1 high byte */
	uint8_t write_state;    /* lohi: 0 next write is low byte, 1 high byte */
	uint8_t write_latch;    /* low byte held until the high byte arrives */
	uint8_t count_latched;  /* bytes of latched_count left to read: 0, 1 or 2 */
	uint8_t latched_hi;     /* 1: the one byte left is the high byte */
	uint8_t status_latched;
	uint8_t status;
	uint8_t gate;           /* channel 2 from port 0x61 bit 0; channels 0/1 tied high */
	uint8_t loaded;         /* a count was written since the control word */
	uint8_t running;        /* counting now (gated, or triggered in modes 1/5) */
};

struct pit_state {
	struct pit_channel ch[3];
	uint8_t port61;         /* bits 0-3 as last written (gate2, speaker, parity/IOCHK enables) */
};

int pit__create(struct vm *vm, struct rrvm_err *err);

/* ---- MC146818 RTC + CMOS RAM (rtc.c): ports 0x70-0x71, IRQ8. ---- */

struct rtc_state {
	int64_t offset_s;       /* guest-set time minus (wallclock base + guest seconds) */
	uint64_t last_eval_ns;  /* guest time reg C flags were last brought up to date */
	uint8_t cmos[128];      /* RAM; regs A-D; time regs hold the frozen time while SET */
	uint8_t index;          /* port 0x70, NMI bit dropped */
	uint8_t irq_level;      /* IRQ8 line as driven (1 while IRQF is set) */
};

int rtc__create(struct vm *vm, struct rrvm_err *err);

/* ---- 16550A UART (uart.c). ---- */

#define UART_FIFO_SIZE 16

struct uart_state {
	uint64_t rx_timeout_ns; /* guest time of the character timeout, 0 none */
	uint8_t rx_fifo[UART_FIFO_SIZE];
	uint8_t rx_head, rx_count;
	uint16_t divisor;
	uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr;
	uint8_t rx_trigger;     /* FIFO receive trigger level: 1, 4, 8 or 14 */
	uint8_t thr_ipending;   /* THRE interrupt pending (cleared by IIR read / THR write) */
	uint8_t timeout_ipending;
	uint8_t irq;            /* ISA line */
	uint8_t irq_level;      /* line as driven */
};

/* Creates a 16550A named `name` at port `base` on ISA line `irq`. Guest
 * output is buffered and handed to vm__console_write at each newline, when
 * the guest stops writing for a few exits, when the VM is stopping (the
 * loop's last poll) and on destroy: never lost, never reordered. */
int uart__create(struct vm *vm, const char *name, uint16_t base, unsigned irq, struct rrvm_err *err);

/* ---- i8042 keyboard controller (i8042.c): ports 0x60/0x64, port 0x92. ---- */

#define I8042_QUEUE 8

struct i8042_state {
	uint8_t queue[I8042_QUEUE]; /* output buffer: bytes for the guest to read at 0x60 */
	uint8_t qflags[I8042_QUEUE];/* per byte: bit 0 from AUX, bit 1 timeout */
	uint8_t qhead, qcount;
	uint8_t ctr;            /* controller configuration ("command") byte */
	uint8_t outport;        /* output port: bit 0 reset line (1 = run), bit 1 A20 */
	uint8_t pending;        /* command waiting for its data byte at 0x60, 0 none */
	uint8_t last_was_cmd;   /* status bit 3: last write went to 0x64 */
	uint8_t last_data;      /* what 0x60 reads when the output buffer is empty */
	uint8_t port92;         /* system control port A as written (bit 1 A20) */
	uint8_t irq1_level, irq12_level;
};

int i8042__create(struct vm *vm, struct rrvm_err *err);

/* ---- legacy_io.c: port80, debugexit and the named catch-alls (no state). ---- */

int legacy_io__create(struct vm *vm, struct rrvm_err *err);

/* ---- tsc_port.c: "tscport", answers rewritten RDTSC/RDTSCP sites (core/rdtsc.h; no state). ---- */

int tscport__create(struct vm *vm, struct rrvm_err *err);

/* ---- helpers for byte-wide register files ---- */

/* A little-endian value from/into an I/O handler's data buffer. */
static inline uint32_t io__get(const uint8_t *data, uint32_t size)
{
	uint32_t v = 0;
	for (uint32_t i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

static inline void io__put(uint8_t *data, uint32_t size, uint32_t v)
{
	memset(data, 0xff, size);
	for (uint32_t i = 0; i < size && i < 4; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

/* Splits a wide access to 8-bit registers into byte accesses at consecutive
 * offsets, as the ISA bus does (the bus guarantees the range is inside the
 * region). */
#define IO_BYTEWISE(fn8, dev, offset, data, size, is_write)                     \
	do {                                                                    \
		for (uint32_t i__ = 0; i__ < (size); i__++) {                   \
			if (is_write)                                           \
				fn8((dev), (offset) + i__, (data)[i__], true);  \
			else                                                    \
				(data)[i__] = fn8((dev), (offset) + i__, 0, false); \
		}                                                               \
	} while (0)

#endif
