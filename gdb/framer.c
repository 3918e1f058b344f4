/* framer.c — byte-fed GDB packet framer (checksums, '}' escapes, '*' run-lengths, size limit). */
#include "gdb/framer.h"

#include <string.h>

int gdb_framer__hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_framer__reset(struct gdb_framer *f)
{
	f->state = GF_IDLE;
	f->raw_len = 0;
	f->overlong = false;
	f->sum = 0;
	f->len = 0;
	f->why = NULL;
}

bool gdb_framer__mid_packet(const struct gdb_framer *f)
{
	return f->state != GF_IDLE;
}

/* Undoes escapes and run-length encoding of raw[] into data[]. */
static enum gdb_frame_kind decode(struct gdb_framer *f)
{
	size_t o = 0;
	for (size_t i = 0; i < f->raw_len; i++) {
		uint8_t c = f->raw[i];
		if (c == '}') {
			if (++i == f->raw_len) {
				f->why = "packet ends inside an escape ('}' last)";
				return GDB_FRAME_BAD;
			}
			c = f->raw[i] ^ 0x20;
		} else if (c == '*') {
			/* Run-length: repeat the previous byte (count - 29) more times. */
			if (o == 0 || ++i == f->raw_len) {
				f->why = "run-length '*' without a byte to repeat or a count";
				return GDB_FRAME_BAD;
			}
			int n = (int)f->raw[i] - 29;
			if (n < 3 || n > 97) {
				f->why = "run-length count out of range";
				return GDB_FRAME_BAD;
			}
			if (o + (size_t)n > GDB_PACKET_MAX) {
				f->why = "packet longer than PacketSize once expanded";
				return GDB_FRAME_BAD;
			}
			memset(f->data + o, f->data[o - 1], (size_t)n);
			o += (size_t)n;
			continue;
		}
		if (o >= GDB_PACKET_MAX) {
			f->why = "packet longer than PacketSize";
			return GDB_FRAME_BAD;
		}
		f->data[o++] = c;
	}
	f->data[o] = 0;
	f->len = o;
	return GDB_FRAME_PACKET;
}

enum gdb_frame_kind gdb_framer__feed(struct gdb_framer *f, uint8_t b)
{
	switch (f->state) {
	case GF_IDLE:
		if (b == '$') {
			gdb_framer__reset(f);
			f->state = GF_BODY;
			return GDB_FRAME_NONE;
		}
		if (b == '+')
			return GDB_FRAME_ACK;
		if (b == '-')
			return GDB_FRAME_NAK;
		if (b == 0x03)
			return GDB_FRAME_INTERRUPT;
		f->garbage++;
		return GDB_FRAME_NONE;
	case GF_BODY:
		if (b == '#') {
			f->state = GF_CSUM1;
			return GDB_FRAME_NONE;
		}
		if (b == '$') {
			/* gdb gave up on the partial packet and started over. */
			gdb_framer__reset(f);
			f->state = GF_BODY;
			return GDB_FRAME_NONE;
		}
		f->sum = (uint8_t)(f->sum + b);
		if (f->raw_len < sizeof(f->raw))
			f->raw[f->raw_len++] = b;
		else
			f->overlong = true;
		return GDB_FRAME_NONE;
	case GF_CSUM1: {
		int v = gdb_framer__hexval(b);
		if (v < 0) {
			gdb_framer__reset(f);
			f->why = "checksum is not two hex digits";
			return GDB_FRAME_BAD;
		}
		f->csum_hi = (uint8_t)v;
		f->state = GF_CSUM2;
		return GDB_FRAME_NONE;
	}
	case GF_CSUM2: {
		int v = gdb_framer__hexval(b);
		uint8_t sum = f->sum;
		bool overlong = f->overlong;
		f->state = GF_IDLE;
		if (v < 0) {
			f->why = "checksum is not two hex digits";
			return GDB_FRAME_BAD;
		}
		if ((uint8_t)(f->csum_hi << 4 | v) != sum) {
			f->why = "bad checksum";
			return GDB_FRAME_BAD;
		}
		if (overlong) {
			f->why = "packet longer than PacketSize";
			return GDB_FRAME_BAD;
		}
		return decode(f);
	}
	}
	gdb_framer__reset(f);
	return GDB_FRAME_NONE;
}

size_t gdb_framer__encode(const void *payload, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = payload;
	size_t o = 0;
	uint8_t sum = 0;
	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		bool esc = c == '$' || c == '#' || c == '}' || c == '*';
		if (o + (esc ? 2 : 1) + 3 > cap)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum = (uint8_t)(sum + c);
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return o;
}
