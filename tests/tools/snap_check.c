/* snap_check.c — test tool: a refused restore changes nothing (atomic), and restore/replay loops neither leak nor diverge. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/devstate.h"
#include "core/fingerprint.h"
#include "core/vm.h"
#include "replay/session.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

/* Everything a restore could touch, hashed: registers, special registers, FPU, events, RAM, devices, clock. */
static uint64_t machine_hash(struct vm *vm)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;
	struct kvm_vcpu_events e;
	memset(&r, 0, sizeof(r)), memset(&s, 0, sizeof(s)), memset(&f, 0, sizeof(f)), memset(&e, 0, sizeof(e));
	ioctl(vm->vcpu_fd, KVM_GET_REGS, &r);
	ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s);
	ioctl(vm->vcpu_fd, KVM_GET_FPU, &f);
	ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &e);
	uint64_t h = fp__hash(1, &r, sizeof(r));
	h = fp__hash(h, &s, sizeof(s));
	h = fp__hash(h, &f, sizeof(f));
	h = fp__hash(h, &e.exception, sizeof(e.exception));
	h = fp__hash(h, &e.interrupt, sizeof(e.interrupt));
	h = fp__hash(h, &vm->exits, sizeof(vm->exits));
	h ^= fp__memory(vm);
	uint8_t buf[DEV_STATE_MAX];
	for (int i = 0; i < vm->nr_devices; i++) {
		struct ds_out o = { .p = buf, .cap = sizeof(buf) };
		vm->devices[i].save(vm->devices[i].state, &o);
		h = fp__hash(h, buf, o.len);
	}
	return h;
}

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); } } while (0)

static struct snapshot *by_name(struct snap_store *st, const char *name)
{
	for (struct snapshot *s = snap_store__first(st); s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static int atomic_test(const char *dir)
{
	struct rrvm_err err = { "" };
	struct vm_config live = { .console_out_fd = -1, .console_in_fd = -1 };
	struct vm *vm;
	struct snap_store *st;
	if (session__trace_vm(dir, &live, NULL, true, false, &vm, NULL, &err) || snap_store__create(&st, vm, &err) ||
	    snapfile__load_all(st, dir, 0, &err) < 2) {
		fprintf(stderr, "snap_check: %s (needs a trace with 2 snapshots)\n", err.msg);
		return 1;
	}
	struct snapshot *s1 = by_name(st, "1"), *s2 = by_name(st, "2");
	CHECK(s1 && s2, "snapshots 1 and 2 not loaded");
	if (!s1 || !s2)
		return 1;
	CHECK(snap__restore(st, vm, s1, true, NULL, &err) == 0, "restore of snapshot 1: %s", err.msg);
	uint64_t h1 = machine_hash(vm);

	/* A device section missing. */
	struct snap_dev saved = s2->dev[s2->n_dev - 1];
	s2->n_dev--;
	err.msg[0] = 0;
	CHECK(snap__restore(st, vm, s2, true, NULL, &err) != 0 && strstr(err.msg, saved.name),
	      "missing device section accepted (%s)", err.msg);
	printf("missing %s section: refused: %s\n", saved.name, err.msg);
	s2->n_dev++;
	CHECK(machine_hash(vm) == h1, "a refused restore (missing device) changed the machine");

	/* A device field out of range (pic: ICW step 9). */
	uint8_t old = s2->dev[0].data[2 + 6];
	s2->dev[0].data[2 + 6] = 9;
	CHECK(snap__restore(st, vm, s2, true, NULL, &err) != 0, "bad PIC state accepted");
	printf("bad pic field: refused: %s\n", err.msg);
	s2->dev[0].data[2 + 6] = old;
	CHECK(machine_hash(vm) == h1, "a refused restore (device field) changed the machine");

	/* vCPU state KVM refuses (CR0.PG without CR0.PE): rolled back. */
	uint64_t cr0 = s2->cpu.sregs.cr0;
	s2->cpu.sregs.cr0 = 0x80000000ull;
	int rc = snap__restore(st, vm, s2, true, NULL, &err);
	CHECK(rc != 0, "KVM accepted CR0.PG without PE");
	printf("CR0.PG without PE: refused: %s\n", err.msg);
	s2->cpu.sregs.cr0 = cr0;
	CHECK(machine_hash(vm) == h1, "a refused restore (vCPU state) changed the machine");

	/* And the real one applies. */
	CHECK(snap__restore(st, vm, s2, true, NULL, &err) == 0, "restore of snapshot 2: %s", err.msg);
	CHECK(machine_hash(vm) != h1, "snapshot 2 restored the same machine as snapshot 1");
	CHECK(vm->exits == s2->pos.event, "event %" PRIu64 " after restore, want %" PRIu64, vm->exits, s2->pos.event);
	CHECK(snap__restore(st, vm, s1, true, NULL, &err) == 0 && machine_hash(vm) == h1,
	      "back to snapshot 1: not the same machine");
	snap_store__destroy(st);
	vm__destroy(vm);
	printf("%s\n", fails ? "FAILED" : "PASS: refused restores leave the machine exactly as it was");
	return fails ? 1 : 0;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int loop_test(const char *dir, unsigned n)
{
	struct rrvm_err err = { "" };
	struct session_opts o = { .quiet = true, .console_fd = -1, .auto_snapshots = true };
	struct replay_session *a, *b;
	if (session__open(&a, dir, &(struct session_opts){ .quiet = true, .console_fd = -1 }, &err) ||
	    session__open(&b, dir, &o, &err)) {
		fprintf(stderr, "snap_check: %s\n", err.msg);
		return 1;
	}
	uint64_t last = session__last_event(a);
	const uint64_t step = last / 64 ? last / 64 : 1;
	uint64_t npts = last / step + 1, *regs = calloc(npts, 8), *mem = calloc(npts, 8);
	for (uint64_t i = 0; i < npts; i++) {
		if (session__run_to(a, i * step, &err) || session__event(a) != i * step) {
			fprintf(stderr, "snap_check: straight replay stopped at %" PRIu64 ": %s\n", session__event(a),
				session__vm(a)->stop_msg);
			return 1;
		}
		session__state_hash(a, &regs[i], &mem[i]);
	}
	session__close(a);
	uint64_t x = 0x2545f4914f6cdd1dull;
	long rss_warm = 0;
	for (unsigned it = 0; it < n; it++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t p = x % npts, q = p + 1 + (x >> 32) % 3;   /* seek to a point, then replay forward a bit */
		if (q >= npts)
			q = npts - 1;
		uint64_t r = 0, m = 0;   /* printed below even when the seek itself failed */
		if (session__seek(b, p * step, &err) || session__state_hash(b, &r, &m) || r != regs[p] || m != mem[p]) {
			fprintf(stderr, "FAIL: iteration %u: seek to %" PRIu64 " diverged (%s; at %" PRIu64 " stop %s; regs %d mem %d)\n", it, p * step, err.msg, session__event(b), session__vm(b)->stop_msg, r != regs[p], m != mem[p]);
			return 1;
		}
		if (q > p && (session__run_to(b, q * step, &err) || session__state_hash(b, &r, &m) || r != regs[q] ||
			      m != mem[q])) {
			fprintf(stderr, "FAIL: iteration %u: replay from %" PRIu64 " to %" PRIu64 " diverged (%s)\n", it,
				p * step, q * step, session__vm(b)->stop_msg);
			return 1;
		}
		if (it == n / 10)
			rss_warm = rss_kib();
	}
	long rss_end = rss_kib();
	struct session_snap_stats ss;
	session__snapshot_stats(b, &ss);
	printf("%u seek+replay iterations over %" PRIu64 " events: no divergence; %" PRIu64 " restores, %" PRIu64
	       " snapshots taken, %" PRIu64 " thinned, %u kept (%" PRIu64 " KiB of pages); RSS %ld KiB after %u "
	       "iterations, %ld KiB after %u\n", n, last, ss.restored, ss.taken, ss.dropped, ss.stored, ss.bytes >> 10,
	       rss_warm, n / 10, rss_end, n);
	session__close(b);
	free(regs), free(mem);
	if (rss_end - rss_warm > 4096) {
		fprintf(stderr, "FAIL: RSS grew by %ld KiB\n", rss_end - rss_warm);
		return 1;
	}
	printf("PASS: RSS flat (%+ld KiB)\n", rss_end - rss_warm);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "atomic"))
		return atomic_test(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "loop"))
		return loop_test(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 1000);
	fprintf(stderr, "usage: snap_check atomic TRACE_DIR | loop TRACE_DIR [N]\n");
	return 2;
}
