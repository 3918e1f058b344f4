/* cmd_gdb.c — the front ends that serve gdb: `rrvm run --gdb` (live VM). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/cmds.h"
#include "core/vm.h"
#include "gdb/server.h"
#include "gdb/target_live.h"

int run__gdb(struct vm *vm, const char *spec, bool listen_any)
{
	struct rrvm_err err = { "" };
	struct gdb_listen l;
	if (gdb_server__listen(&l, spec, listen_any, &err)) {
		fprintf(stderr, "rrvm: gdb: %s\n", err.msg);
		return RRVM_EXIT_USAGE;
	}
	if (listen_any)
		fprintf(stderr, "rrvm: gdb: warning: listening on every address: anyone who can connect controls this VM\n");
	fprintf(stderr, "rrvm: gdb: waiting for gdb on %s (gdb -ex 'target remote %s')\n", l.where, l.where);
	struct gdb_target t;
	target_live__open(&t, vm);
	int rc = gdb_server__serve(&l, &t, &err);
	gdb_server__close(&l);
	if (rc < 0) {
		fprintf(stderr, "rrvm: gdb: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (rc == 1) {
		vm__request_stop(vm, VM_STOP_INTERRUPTED, 0, "killed from gdb");
		return 0;
	}
	if (!target_live__ended(&t))
		fprintf(stderr, "rrvm: gdb detached: the guest runs on\n");
	return 0;
}
