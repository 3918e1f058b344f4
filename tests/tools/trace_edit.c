/* trace_edit.c — test tool: copies a trace, changing the value of one recorded exit (to provoke divergence). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/trace.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: trace_edit SRC_DIR DST_DIR EVENT NEW_VALUE\n"
				"  copies SRC_DIR's events into DST_DIR with exit EVENT's value replaced\n");
		return 2;
	}
	uint64_t target = strtoull(argv[3], NULL, 0), value = strtoull(argv[4], NULL, 0);
	struct rrvm_err err = { "" };
	struct trace_reader *r;
	if (trace_reader__open(&r, argv[1], &err)) {
		fprintf(stderr, "trace_edit: %s\n", err.msg);
		return 1;
	}
	struct trace_writer *w;
	if (trace_writer__open(&w, argv[2], trace_reader__header(r), &err)) {
		fprintf(stderr, "trace_edit: %s\n", err.msg);
		return 1;
	}
	struct trace_event ev;
	int rc;
	bool edited = false;
	while ((rc = trace_reader__next(r, &ev, &err)) == 1) {
		if (ev.type == TR_EXIT && ev.event_no == target) {
			if (!ev.u.exit.has_value) {
				fprintf(stderr, "trace_edit: exit %" PRIu64 " carries no value\n", target);
				return 1;
			}
			fprintf(stderr, "trace_edit: event %" PRIu64 ": value 0x%" PRIx64 " -> 0x%" PRIx64 "\n",
				target, ev.u.exit.value, value);
			ev.u.exit.value = value;
			ev.u.exit.hash = trace__value_hash_u64(value, ev.u.exit.size ? ev.u.exit.size : 8);
			edited = true;
		}
		if (ev.type == TR_EXIT)
			ev.event_no = 0; /* the writer numbers exits itself */
		if ((rc = trace_writer__append(w, &ev))) {
			fprintf(stderr, "trace_edit: append: %s\n", strerror(-rc));
			return 1;
		}
	}
	if (rc < 0 && rc != -ENODATA) {
		fprintf(stderr, "trace_edit: %s\n", err.msg);
		return 1;
	}
	if (trace_writer__close(w, &err)) {
		fprintf(stderr, "trace_edit: %s\n", err.msg);
		return 1;
	}
	trace_reader__close(r);
	if (!edited) {
		fprintf(stderr, "trace_edit: no exit %" PRIu64 " in the trace\n", target);
		return 1;
	}
	return 0;
}
