/* serial.c — 16550 UART on COM1 (polled), kprintf, and the ways to end the VM. */
#include "kernel.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

void serial_init(void)
{
	outb(COM1 + 1, 0x00);   /* IER: no interrupts */
	outb(COM1 + 3, 0x80);   /* LCR: DLAB */
	outb(COM1 + 0, 0x01);   /* divisor 1 = 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8N1 */
	outb(COM1 + 2, 0xc7);   /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + 4, 0x03);   /* DTR | RTS */
}

static void serial_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))   /* LSR.THRE */
		;
	outb(COM1, (u8)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}

static void put_uint(u64 v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;
	do {
		unsigned d = (unsigned)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (n < width--)
		serial_putc(pad);
	while (n)
		serial_putc(buf[--n]);
}

/* Supports %c %s %d %u %x %p with optional '0', width and l/ll/z length. */
void kprintf(const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;
		fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng++, fmt++;
		switch (*fmt) {
		case 'c':
			serial_putc((char)__builtin_va_arg(ap, int));
			break;
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			size_t n = strlen(s ? s : "(null)");
			for (; (int)n < width; width--)
				serial_putc(' ');
			serial_write(s ? s : "(null)", n);
			break;
		}
		case 'd': {
			i64 v = lng ? __builtin_va_arg(ap, i64) : __builtin_va_arg(ap, int);
			if (v < 0) {
				serial_putc('-');
				v = -v;
			}
			put_uint((u64)v, 10, width, pad);
			break;
		}
		case 'u':
			put_uint(lng ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			put_uint(lng ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, unsigned), 16, width, pad);
			break;
		case 'p':
			serial_write("0x", 2);
			put_uint((u64)__builtin_va_arg(ap, void *), 16, 16, '0');
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			serial_putc('%');
			serial_putc(*fmt);
			if (!*fmt)
				fmt--;
		}
	}
	__builtin_va_end(ap);
}

void poweroff(u32 code)
{
	cli();
	outl(DEBUG_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void i8042_reset(void)
{
	cli();
	while (inb(0x64) & 0x02)   /* input buffer full */
		;
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}
