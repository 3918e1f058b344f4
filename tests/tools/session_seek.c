/* session_seek.c — test tool: seeks a replay session backwards and forwards and checks every stop against a straight replay. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "replay/session.h"

struct point { uint64_t event, regs, mem; };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int stop_at(struct replay_session *s, uint64_t ev, const char *how, uint64_t *regs, uint64_t *mem)
{
	struct vm *vm = session__vm(s);
	if (!vm || vm->stop != VM_STOP_REPLAYED || session__event(s) != ev) {
		fprintf(stderr, "session_seek: %s %" PRIu64 " stopped at event %" PRIu64 ": %s\n", how, ev,
			session__event(s), vm ? vm->stop_msg : "no VM");
		return -1;
	}
	return session__state_hash(s, regs, mem);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: session_seek TRACE_DIR EVENT...\n"
				"  replays TRACE_DIR straight through, stopping at each EVENT (sorted), then opens a\n"
				"  second session and seeks to the EVENTs in the order given; every stop must have the\n"
				"  state of the straight replay, and the end the same final state\n");
		return 2;
	}
	int n = argc - 2;
	uint64_t *sorted = calloc((size_t)n, sizeof(*sorted));
	struct point *straight = calloc((size_t)n, sizeof(*straight));
	for (int i = 0; i < n; i++)
		sorted[i] = strtoull(argv[i + 2], NULL, 10);
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_u64);
	struct rrvm_err err = { "" };
	struct session_opts o = { .quiet = true, .console_fd = -1, .disk = getenv("SESSION_SEEK_DISK") };
	struct replay_session *a, *b;
	if (session__open(&a, argv[1], &o, &err)) {
		fprintf(stderr, "session_seek: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		straight[i].event = sorted[i];
		if (session__run_to(a, sorted[i], &err) ||
		    stop_at(a, sorted[i], "run_to", &straight[i].regs, &straight[i].mem))
			return 1;
	}
	uint64_t end_regs, end_mem, end_event;
	session__run_to(a, UINT64_MAX, &err);
	if (!session__finished(a) || session__state_hash(a, &end_regs, &end_mem)) {
		fprintf(stderr, "session_seek: straight replay did not reach the end: %s\n", session__vm(a)->stop_msg);
		return 1;
	}
	end_event = session__event(a);
	printf("straight: end at event %" PRIu64 " (%s): registers %016" PRIx64 ", memory %016" PRIx64 "\n",
	       end_event, session__vm(a)->stop_msg, end_regs, end_mem);
	session__close(a);

	o.auto_snapshots = getenv("SESSION_SEEK_NO_AUTO") == NULL;
	if (session__open(&b, argv[1], &o, &err)) {
		fprintf(stderr, "session_seek: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		uint64_t ev = strtoull(argv[i + 2], NULL, 10), r, m;
		const struct point *want = NULL;
		for (int j = 0; j < n; j++)
			if (straight[j].event == ev)
				want = &straight[j];
		if (session__seek(b, ev, &err)) {
			fprintf(stderr, "session_seek: seek %" PRIu64 ": %s\n", ev, err.msg);
			return 1;
		}
		if (stop_at(b, ev, "seek", &r, &m))
			return 1;
		if (r != want->regs || m != want->mem) {
			fprintf(stderr, "session_seek: FAIL: after seek to %" PRIu64 " registers %016" PRIx64
				" memory %016" PRIx64 ", straight replay had %016" PRIx64 " %016" PRIx64 "\n",
				ev, r, m, want->regs, want->mem);
			return 1;
		}
		printf("seek %" PRIu64 ": registers %016" PRIx64 ", memory %016" PRIx64 " (same as straight)\n", ev, r, m);
	}
	uint64_t r, m;
	session__run_to(b, UINT64_MAX, &err);
	if (!session__finished(b) || session__state_hash(b, &r, &m) || session__event(b) != end_event ||
	    r != end_regs || m != end_mem) {
		fprintf(stderr, "session_seek: FAIL: the end after seeking differs (event %" PRIu64 ", %s)\n",
			session__event(b), session__vm(b)->stop_msg);
		return 1;
	}
	struct session_snap_stats ss;
	session__snapshot_stats(b, &ss);
	printf("end after seeks: same final state (snapshots: %" PRIu64 " taken, %" PRIu64 " restores, %" PRIu64
	       " thinned out, %u stored of which %u recorded, %" PRIu64 " KiB of pages)\n",
	       ss.taken, ss.restored, ss.dropped, ss.stored, ss.recorded, ss.bytes >> 10);
	session__close(b);
	free(sorted);
	free(straight);
	return 0;
}
