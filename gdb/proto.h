/* proto.h — the GDB remote protocol's command table: packets in, replies out, on a gdb_target. No sockets. */
#ifndef RRVM_GDB_PROTO_H
#define RRVM_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb/framer.h"
#include "gdb/target.h"

/* Arguments parsed from a packet by its schema (see gdb_args__parse). */
struct gdb_args {
	uint64_t n[4];            /* hex numbers, in order */
	int nn;
	const uint8_t *rest;      /* 's', 'B' (decoded in bin[]) or '*' (binary) tail */
	size_t rest_len;
	uint8_t bin[GDB_PACKET_MAX / 2 + 1];
};

/* Parses `pkt` (after the command's prefix) against schema:
 *   x  a hex number (up to 16 digits)      , : ; =  that literal byte
 *   B  hex-encoded bytes to the end         *  binary bytes to the end
 *   s  any text to the end                  ?  everything after is optional
 * Returns 0, or -EINVAL when the packet does not fit the schema. */
int gdb_args__parse(const char *schema, const uint8_t *pkt, size_t len, struct gdb_args *a);

/* Finds the command a packet names and parses its arguments: the table
 * index, -ENOENT (unsupported: replied ""), or -EINVAL (malformed: Exx). */
int gdb_proto__match(const uint8_t *pkt, size_t len, struct gdb_args *a, const char **name);

typedef int (*gdb_send_fn)(void *ctx, const void *buf, size_t len);

struct gdb_conn {
	struct gdb_framer fr;
	struct gdb_target *t;
	gdb_send_fn send;
	void *send_ctx;
	bool noack;
	bool done;                /* D or k: the connection ends */
	bool killed;              /* k: the user asked to kill the VM */
	char last[2 * GDB_PACKET_MAX + 8];   /* the last framed reply (resent on '-') */
	size_t last_len;
	uint64_t bad_packets, packets;
};

/* Starts a connection on target t; replies go through send(ctx, ...). */
void gdb_conn__init(struct gdb_conn *c, struct gdb_target *t, gdb_send_fn send, void *ctx);

/* Feeds bytes received from gdb; runs each complete command (a resume
 * blocks until the target stops). Returns 0, 1 when the session ended
 * (detach or kill), or -errno when a reply could not be sent. */
int gdb_conn__input(struct gdb_conn *c, const uint8_t *buf, size_t len);

/* Sends "O<hex text>" (console output in gdb). */
int gdb_conn__console(struct gdb_conn *c, const char *text);

#endif
