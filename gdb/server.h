/* server.h — the gdb stub's socket side: listen (TCP loopback or Unix socket), accept, pump bytes. */
#ifndef RRVM_GDB_SERVER_H
#define RRVM_GDB_SERVER_H

#include <stdbool.h>

#include "core/err.h"
#include "gdb/target.h"

struct gdb_listen {
	int fd;
	int conn;            /* the accepted connection, -1 before gdb_server__accept */
	char where[300];     /* "127.0.0.1:1234" or "unix:/path" — for `target remote` */
	char unix_path[256]; /* removed once gdb is connected, or at close */
};

/* Parses --gdb[=SPEC]: "" or NULL (port 1234), "PORT", "HOST:PORT"? no: "PORT"
 * or "unix:PATH". Listens on 127.0.0.1 (any address with listen_any), or a
 * Unix socket created mode 0600. Port 0 picks a free port (where says which). */
int gdb_server__listen(struct gdb_listen *l, const char *spec, bool listen_any, struct rrvm_err *err);

/* Waits for one gdb to connect. A Unix socket's path is removed then: one
 * gdb per listen, and nothing is left to clean up later (a sandboxed monitor
 * could not remove it). 0 or -errno. */
int gdb_server__accept(struct gdb_listen *l, struct rrvm_err *err);

/* Serves the connected gdb (accepting one first if gdb_server__accept was not
 * called) until it detaches, kills or disconnects.
 * Returns 0 (detached or disconnected), 1 (gdb asked to kill), -errno. */
int gdb_server__serve(struct gdb_listen *l, struct gdb_target *t, struct rrvm_err *err);

void gdb_server__close(struct gdb_listen *l);

#endif
