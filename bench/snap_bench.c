/* snap_bench.c — snapshot take/restore cost vs a memcpy floor, seek latency, and dirty tracking methods (KVM dirty log vs userfaultfd-WP). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/vm.h"
#include "replay/replayer.h"
#include "replay/session.h"
#include "replay/session_int.h"
#include "snapshot/snapshot.h"

/* PAGEMAP_SCAN (Linux 6.7); this libc's headers may predate it. */
#ifndef PAGEMAP_SCAN
struct page_region { uint64_t start, end, categories; };
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n ? v[n / 2] : 0;
}

/* The floor: copying `pages` scattered 4 KiB pages once (what taking or restoring them must at least do). */
static double memcpy_floor_us(uint64_t pages)
{
	if (!pages)
		return 0;
	uint8_t *src = malloc(pages * 4096), *dst = malloc(pages * 4096);
	memset(src, 0x5a, pages * 4096), memset(dst, 0xa5, pages * 4096);
	double t[7];
	for (int r = 0; r < 7; r++) {
		double t0 = now_us();
		for (uint64_t p = 0; p < pages; p++)
			memcpy(dst + p * 4096, src + p * 4096, 4096);
		t[r] = now_us() - t0;
		__asm__ volatile("" ::"r"(dst) : "memory");
	}
	free(src), free(dst);
	return median(t, 7);
}

#define REPS 7

static int fail(const char *what, const struct rrvm_err *err)
{
	fprintf(stderr, "snap_bench: %s: %s\n", what, err ? err->msg : strerror(errno));
	return 1;
}

/* uffd-WP (async) on guest RAM over the same replay interval: does it see
 * the guest's writes, and what does it cost. */
static void uffd_probe(struct replay_session *s, uint64_t e1, uint64_t e2, uint64_t want_pages)
{
	struct rrvm_err err = { "" };
	struct vm *vm = s->vm;
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0 || pm < 0) {
		printf("| uffd-WP (async) | not available here: %s | | |\n", strerror(errno));
		return;
	}
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)vm->mem.base, vm->mem.size },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
		printf("| uffd-WP (async) | UFFDIO_REGISTER on guest RAM failed: %s | | |\n", strerror(errno));
		close(uffd), close(pm);
		return;
	}
	static struct page_region vec[65536];
	struct pm_scan_arg a = { .size = sizeof(a), .flags = PM_SCAN_WP_MATCHING,
				 .start = (uint64_t)(uintptr_t)vm->mem.base,
				 .end = (uint64_t)(uintptr_t)vm->mem.base + vm->mem.size, .vec = (uint64_t)(uintptr_t)vec,
				 .vec_len = 65536, .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	/* Protect everything (scan + write-protect). */
	struct uffdio_writeprotect wp = { .range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	double t0 = now_us();
	int wprc = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
	double t_protect = now_us() - t0;
	double t1 = now_us();
	session__seek(s, e2, &err);   /* from e1 (restored by the caller) to e2 */
	double t_run = now_us() - t1;
	t0 = now_us();
	long n = ioctl(pm, PAGEMAP_SCAN, &a);
	double t_scan = now_us() - t0;
	uint64_t pages = 0;
	for (long i = 0; i < n; i++)
		pages += (vec[i].end - vec[i].start) / 4096;
	printf("| uffd-WP (async) + PAGEMAP_SCAN | %s: %" PRIu64 " pages seen written (dirty log: %" PRIu64
	       ") | protect 1 GiB %.0f µs, scan+re-protect %.0f µs | replay %" PRIu64 "->%" PRIu64 " %.0f µs |\n",
	       wprc == 0 && n >= 0 ? (pages >= want_pages ? "works" : "MISSES guest writes") : "failed", pages,
	       want_pages, t_protect, t_scan, e1, e2, t_run);
	struct uffdio_range un = reg.range;
	ioctl(uffd, UFFDIO_UNREGISTER, &un);
	close(uffd), close(pm);
}

/* Seek latency inside one session (what gdb and the TUI pay): to events at
 * 25/50/75/95% of the trace, each time from the far end, with the trace's
 * recorded snapshots, and with none (replay from boot). */
static int seek_bench(const char *dir)
{
	struct rrvm_err err = { "" };
	struct session_opts o = { .quiet = true, .console_fd = -1 };
	struct replay_session *s;
	double t0 = now_us();
	if (session__open(&s, dir, &o, &err))
		return fail("open", &err);
	double open_us = now_us() - t0;
	struct session_snap_stats ss;
	session__snapshot_stats(s, &ss);
	uint64_t last = session__last_event(s);
	printf("| target event | seek with %u recorded snapshots, ms | seek from boot (no snapshots), ms | ratio |\n"
	       "|---|---|---|---|\n", ss.recorded);
	for (int f = 25; f <= 95; f += f == 75 ? 20 : 25) {
		uint64_t e = last * (uint64_t)f / 100 + 37;
		double a[5], b[5];
		for (int r = 0; r < 5; r++) {
			session__seek(s, r % 2 ? 0 : last, &err);
			t0 = now_us();
			if (session__seek(s, e, &err) || session__event(s) != e)
				return fail("seek", &err);
			a[r] = (now_us() - t0) / 1000;
			/* From boot: a fresh VM replaying 0 -> e (what a seek costs without snapshots). */
			struct replay_session *z;
			struct session_opts oz = o;
			if (session__open(&z, dir, &oz, &err))
				return fail("open", &err);
			z->want_store = false;
			session__snap_drop(z);
			t0 = now_us();
			if (session__run_to(z, e, &err) || session__event(z) != e)
				return fail("run_to", &err);
			b[r] = (now_us() - t0) / 1000;
			session__close(z);
		}
		double ma = median(a, 5), mb = median(b, 5);
		printf("| %" PRIu64 " | %.1f | %.1f | %.3f |\n", e, ma, mb, ma / mb);
	}
	printf("\n(opening the session, which loads the recorded snapshots: %.1f ms)\n", open_us / 1000);
	session__close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seek"))
		return seek_bench(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: snap_bench TRACE_DIR MIB\n"
				"  TRACE_DIR: `memstress mb=MIB passes=1 hz=0` recorded in a 1 GiB guest, no snapshots\n");
		return 2;
	}
	uint64_t mib = strtoull(argv[2], NULL, 10);
	struct rrvm_err err = { "" };
	struct session_opts o = { .quiet = true, .console_fd = -1 };
	struct replay_session *s;
	if (session__open(&s, argv[1], &o, &err))
		return fail("open", &err);
	struct vm *vm = s->vm;
	struct snap_store *st;
	if (snap_store__create(&st, vm, &err))
		return fail("store", &err);
	struct snap_pos pos = { 0, 0 };
	struct snapshot *snap, *big = NULL, *before = NULL, *prev = NULL;
	double t0 = now_us();
	if (snap__take(st, vm, &pos, SNAP_AUTO, &snap, &err))
		return fail("take at 0", &err);
	double full_us = now_us() - t0;
	uint32_t full_pages = snap->n_pages;
	/* A snapshot at every event: the memstress pass is the one with the most pages. */
	uint64_t last = session__last_event(s);
	double small[4096];
	int n_small = 0;
	prev = snap;
	for (uint64_t e = 1; e < last; e++) {
		if (session__run_to(s, e, &err) || session__event(s) != e)
			return fail("run_to", &err);
		replayer__pos(s->rep, &pos.event, &pos.recs);
		t0 = now_us();
		if (snap__take(st, vm, &pos, SNAP_AUTO, &snap, &err))
			return fail("take", &err);
		double us = now_us() - t0;
		if (snap->n_pages <= 2 && n_small < 4096)
			small[n_small++] = us;
		if (!big || snap->n_pages > big->n_pages)
			big = snap, before = prev;
		prev = snap;
	}
	uint64_t bigp = big->n_pages;
	/* Take the big one again REPS times: restore the one before, replay, drop, take. */
	double take[REPS], restore_back[REPS], restore_fwd[REPS], seek_us[REPS];
	uint64_t e1 = before->pos.event, e2 = big->pos.event;
	for (int r = 0; r < REPS; r++) {
		uint64_t written;
		t0 = now_us();
		if (snap__restore(st, vm, before, false, &written, &err))
			return fail("restore before", &err);
		restore_back[r] = now_us() - t0;
		if (replayer__reposition(s->rep, e1, before->pos.recs, &err))
			return fail("reposition", &err);
		replayer__force_target(s->rep);
		t0 = now_us();
		if (session__run_to(s, e2, &err) || session__event(s) != e2)
			return fail("run_to e2", &err);
		seek_us[r] = now_us() - t0;
		snap_store__drop(st, big);
		replayer__pos(s->rep, &pos.event, &pos.recs);
		t0 = now_us();
		if (snap__take(st, vm, &pos, SNAP_AUTO, &big, &err))
			return fail("take big", &err);
		take[r] = now_us() - t0;
		/* restore forward: from `before` to `big` */
		if (snap__restore(st, vm, before, false, NULL, &err))
			return fail("restore", &err);
		t0 = now_us();
		if (snap__restore(st, vm, big, false, &written, &err))
			return fail("restore big", &err);
		restore_fwd[r] = now_us() - t0;
		if (replayer__reposition(s->rep, e2, big->pos.recs, &err))
			return fail("reposition", &err);
		replayer__force_target(s->rep);
	}
	/* Restoring a snapshot the machine already equals (nothing dirty): the fixed cost. */
	double r0[REPS];
	for (int r = 0; r < REPS; r++) {
		t0 = now_us();
		snap__restore(st, vm, big, false, NULL, &err);
		r0[r] = now_us() - t0;
	}
	double floor = memcpy_floor_us(bigp);
	double tk = median(take, REPS), rb = median(restore_back, REPS), rf = median(restore_fwd, REPS);
	printf("## dirtied %" PRIu64 " MiB (memstress pass: event %" PRIu64 " -> %" PRIu64 ", %" PRIu64 " pages = %.1f MiB)\n",
	       mib, e1, e2, bigp, (double)bigp / 256.0);
	printf("| what | median µs | memcpy floor µs | ratio |\n|---|---|---|---|\n");
	printf("| take (%" PRIu64 " dirty pages) | %.0f | %.0f | %.2f |\n", bigp, tk, floor, floor > 0 ? tk / floor : 0);
	printf("| restore backwards over them | %.0f | %.0f | %.2f |\n", rb, floor, floor > 0 ? rb / floor : 0);
	printf("| restore forwards over them | %.0f | %.0f | %.2f |\n", rf, floor, floor > 0 ? rf / floor : 0);
	printf("| take, <= 2 dirty pages (%d events) | %.0f | - | - |\n", n_small, median(small, n_small));
	printf("| restore, nothing to rewrite | %.0f | - | - |\n", median(r0, REPS));
	printf("| first (full) snapshot: pagemap scan of 1 GiB, %u nonzero pages | %.0f | - | - |\n", full_pages, full_us);
	printf("| replay %" PRIu64 " -> %" PRIu64 " (the pass itself) | %.0f | - | - |\n", e1, e2, median(seek_us, REPS));
	/* Dirty tracking, the same interval: KVM's log (used) and uffd-WP. */
	printf("\n| dirty tracking | result | cost | interval |\n|---|---|---|---|\n");
	printf("| KVM dirty log (KVM_GET_DIRTY_LOG, used) | works: %" PRIu64 " pages | inside take above | replay %.0f µs |\n",
	       bigp, median(seek_us, REPS));
	printf("| KVM dirty ring | KVM_CAP_DIRTY_LOG_RING = %d here; must be enabled before the vCPU exists, so not "
	       "measured (see BENCHMARKS.md) | | |\n", ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING));
	snap__restore(st, vm, before, false, NULL, &err);
	replayer__reposition(s->rep, e1, before->pos.recs, &err);
	replayer__force_target(s->rep);
	snap_store__destroy(st);   /* dirty logging off, so only uffd sees writes */
	uffd_probe(s, e1, e2, bigp);
	session__close(s);
	return 0;
}
