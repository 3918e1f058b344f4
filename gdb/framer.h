/* framer.h — GDB remote serial protocol framing: bytes in, packets/acks/interrupts out; no sockets. */
#ifndef RRVM_GDB_FRAMER_H
#define RRVM_GDB_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest decoded packet we accept (advertised as PacketSize). A bigger
 * one is consumed to its end and answered with a NAK, never buffered. */
#define GDB_PACKET_MAX 16384

enum gdb_frame_kind {
	GDB_FRAME_NONE = 0,   /* byte consumed, nothing complete yet */
	GDB_FRAME_PACKET,     /* a packet with a good checksum: data/len hold it decoded */
	GDB_FRAME_ACK,        /* '+' */
	GDB_FRAME_NAK,        /* '-': resend the last reply */
	GDB_FRAME_INTERRUPT,  /* 0x03 outside a packet (Ctrl-C) */
	GDB_FRAME_BAD,        /* a malformed packet: answer '-' (why says what was wrong) */
};

enum gdb_frame_state { GF_IDLE, GF_BODY, GF_CSUM1, GF_CSUM2 };

struct gdb_framer {
	enum gdb_frame_state state;
	uint8_t raw[GDB_PACKET_MAX];   /* the packet body as sent (escapes, run-lengths) */
	size_t raw_len;
	bool overlong;                 /* the body outgrew raw[]: drop it at '#' */
	uint8_t sum;                   /* running checksum of the body */
	uint8_t csum_hi;
	uint8_t data[GDB_PACKET_MAX + 1]; /* decoded payload, NUL-terminated for convenience */
	size_t len;
	const char *why;               /* GDB_FRAME_BAD: what was wrong */
	uint64_t garbage;              /* bytes ignored between packets */
};

/* Resets to "between packets" (after a connect or disconnect). */
void gdb_framer__reset(struct gdb_framer *f);

/* Feeds one byte; returns what completed (GDB_FRAME_NONE most of the time).
 * On GDB_FRAME_PACKET, f->data[0..f->len) holds the decoded packet until the
 * next call. A '$' inside a body abandons the partial packet (gdb resent it)
 * and starts a new one. Never fails: any byte sequence is accepted. */
enum gdb_frame_kind gdb_framer__feed(struct gdb_framer *f, uint8_t byte);

/* True when a packet is partly received (a disconnect now loses it). */
bool gdb_framer__mid_packet(const struct gdb_framer *f);

/* Frames payload as "$<escaped payload>#xx" into out (cap bytes). Returns the
 * framed length, or 0 when it does not fit. Escapes '$', '#', '}' and '*'. */
size_t gdb_framer__encode(const void *payload, size_t len, char *out, size_t cap);

/* The value of one hex digit (either case), or -1. */
int gdb_framer__hexval(uint8_t c);

#endif
