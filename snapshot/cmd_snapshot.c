/* cmd_snapshot.c — `rrvm snapshot list|show|diff TRACE_DIR`: what the recorded snapshots hold. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cmds.h"
#include "core/devstate.h"
#include "core/mem.h"
#include "record/trace.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rrvm snapshot list TRACE_DIR\n"
		   "       rrvm snapshot show TRACE_DIR N\n"
		   "       rrvm snapshot diff TRACE_DIR A B\n\n"
		   "Snapshots written while recording (rrvm record --snapshot-every, Ctrl-A s, guest panic)\n"
		   "live in TRACE_DIR/snapshots/ (format: traces/FORMAT.md). N is a snapshot number (N, sN\n"
		   "or NNNNNN.snap).\n"
		   "  list   number, event, guest time, why, pages (stored/zero/same as the previous one),\n"
		   "         bytes on disk\n"
		   "  show   registers, pending events, MSRs and device state of one snapshot\n"
		   "  diff   which guest pages and how many bytes differ between two, and which registers and\n"
		   "         device states changed\n"
		   "Every file is read completely and checked (checksums, lengths, page data); a damaged one\n"
		   "is reported with the offset and section, exit status 1.\n");
}

static int load_header(const char *dir, uint8_t uuid[16], uint64_t *ram, struct rrvm_err *err)
{
	struct trace_reader *tr;
	int rc = trace_reader__open(&tr, dir, err);
	if (rc)
		return rc;
	memcpy(uuid, trace_reader__header(tr)->uuid, 16);
	*ram = trace_reader__header(tr)->ram_bytes;
	trace_reader__close(tr);
	return 0;
}

static int cmd_list(const char *dir)
{
	struct rrvm_err err = { "" };
	uint8_t uuid[16];
	uint64_t ram;
	if (load_header(dir, uuid, &ram, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	uint32_t n = snapfile__count(dir);
	printf("%-5s %10s %14s %-8s %8s %8s %6s %6s %12s %10s\n", "snap", "event", "guest time s", "why", "pages",
	       "stored", "zero", "same", "disk bytes", "base");
	int status = 0;
	uint64_t total = 0;
	for (uint32_t seq = 1; seq <= n; seq++) {
		struct snapfile_info in;
		if (snapfile__read(dir, seq, uuid, ram, &in, NULL, NULL, NULL, &err)) {
			fprintf(stderr, "rrvm: %s\n", err.msg);
			status = RRVM_EXIT_ERROR;
			continue;
		}
		total += in.file_bytes;
		char base[24] = "full";
		if (in.base_seq)
			snprintf(base, sizeof(base), "delta on %u", in.base_seq);
		printf("%-5u %10" PRIu64 " %14.6f %-8s %8u %8u %6u %6u %12" PRIu64 " %s\n", seq, in.event,
		       (double)in.guest_ns / 1e9, snapfile__reason_name(in.reason), in.n_pages, in.n_data, in.n_zero,
		       in.n_same, in.file_bytes, base);
	}
	printf("%u snapshots, %" PRIu64 " bytes on disk, guest RAM %" PRIu64 " MiB\n", n, total, ram >> 20);
	return status;
}

static void print_cpu(const struct snap_cpu *c)
{
	const struct kvm_regs *r = &c->regs;
	printf("registers\n");
	printf("  rip %016llx  rflags %016llx  rsp %016llx  rbp %016llx\n", r->rip, r->rflags, r->rsp, r->rbp);
	printf("  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n", r->rax, r->rbx, r->rcx, r->rdx);
	printf("  rsi %016llx  rdi %016llx  r8  %016llx  r9  %016llx\n", r->rsi, r->rdi, r->r8, r->r9);
	printf("  r10 %016llx  r11 %016llx  r12 %016llx  r13 %016llx\n", r->r10, r->r11, r->r12, r->r13);
	printf("  r14 %016llx  r15 %016llx\n", r->r14, r->r15);
	const struct kvm_sregs *s = &c->sregs;
	printf("  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx  efer %llx\n", s->cr0, s->cr2, s->cr3,
	       s->cr4, s->efer);
	printf("  cs %04x (dpl %u, l %u)  ss %04x  ds %04x  tr %04x  gdt %llx/%x  idt %llx/%x\n", s->cs.selector,
	       s->cs.dpl, s->cs.l, s->ss.selector, s->ds.selector, s->tr.selector, s->gdt.base, s->gdt.limit,
	       s->idt.base, s->idt.limit);
	printf("  fcw %04x fsw %04x mxcsr %08x  %s, %s\n", c->fpu.fcw, c->fpu.fsw, c->fpu.mxcsr,
	       c->has_xsave ? "XSAVE area saved" : "FXSAVE state only",
	       c->has_xcrs ? "XCRs saved" : "no XCRs");
	printf("  dr6 %llx dr7 %llx\n", c->debugregs.dr6, c->debugregs.dr7);
	const struct kvm_vcpu_events *e = &c->events;
	printf("events: exception %s%s (vector %u)  interrupt %s (vector %u)  shadow %u  nmi pending %u masked %u\n",
	       e->exception.injected ? "injected" : "-", e->exception.pending ? " pending" : "", e->exception.nr,
	       e->interrupt.injected ? "injected" : "-", e->interrupt.nr, e->interrupt.shadow, e->nmi.pending,
	       e->nmi.masked);
	printf("msrs (%u):", c->n_msrs);
	for (uint32_t i = 0; i < c->n_msrs; i++)
		printf("%s %x=%llx", i % 4 ? "" : "\n ", c->msrs[i].index, c->msrs[i].data);
	printf("\n");
}

static int load_one(const char *dir, uint32_t seq, struct snapfile_info *in, struct snapshot **s,
		    struct rrvm_err *err)
{
	uint8_t uuid[16];
	uint64_t ram;
	int rc = load_header(dir, uuid, &ram, err);
	if (rc)
		return rc;
	uint32_t *pages;
	uint8_t **data;
	if ((rc = snapfile__read(dir, seq, uuid, ram, in, s, &pages, &data, err)))
		return rc;
	snapfile__free_pages(pages, data, in->n_pages);
	return 0;
}

static int cmd_show(const char *dir, const char *which)
{
	uint32_t seq = snapshot__parse_seq(which);
	if (!seq) {
		fprintf(stderr, "rrvm snapshot show: '%s' is not a snapshot number\n", which);
		return RRVM_EXIT_USAGE;
	}
	struct rrvm_err err = { "" };
	struct snapfile_info in;
	struct snapshot *s;
	if (load_one(dir, seq, &in, &s, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	printf("snapshot %u of %s: event %" PRIu64 " (+%u records), guest time %.6f s, taken on %s, %s\n", seq, dir,
	       in.event, in.recs, (double)in.guest_ns / 1e9, snapfile__reason_name(in.reason),
	       in.base_seq ? "delta" : "full");
	time_t ct = (time_t)(in.created_ns / 1000000000ull);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&ct));
	printf("written %s; %u page entries (%u stored, %u zero, %u as before), %" PRIu64 " bytes of page data, "
	       "%" PRIu64 " bytes on disk\n", when, in.n_pages, in.n_data, in.n_zero, in.n_same, in.page_bytes,
	       in.file_bytes);
	print_cpu(&s->cpu);
	printf("monitor: event %" PRIu64 ", guest ns %" PRIu64 ", irqs injected %" PRIu64 ", if %u ready %u, "
	       "tsc offset %" PRId64 "\n", s->mon.exits, s->mon.guest_ns, s->mon.irqs_injected, s->mon.if_flag,
	       s->mon.ready_for_injection, s->mon.tsc_offset);
	printf("devices (%u):\n", s->n_dev);
	for (uint32_t i = 0; i < s->n_dev; i++) {
		printf("  %-10s %4u bytes:", s->dev[i].name, s->dev[i].len);
		for (uint32_t j = 0; j < s->dev[i].len && j < 32; j++)
			printf(" %02x", s->dev[i].data[j]);
		printf("%s\n", s->dev[i].len > 32 ? " ..." : "");
	}
	snap__free(s);
	return 0;
}

static int cmd_diff(const char *dir, const char *wa, const char *wb)
{
	uint32_t a = snapshot__parse_seq(wa), b = snapshot__parse_seq(wb);
	if (!a || !b) {
		fprintf(stderr, "rrvm snapshot diff: give two snapshot numbers, not '%s' '%s'\n", wa, wb);
		return RRVM_EXIT_USAGE;
	}
	struct rrvm_err err = { "" };
	uint8_t uuid[16];
	uint64_t ram;
	struct snap_store *st = NULL;
	int rc = load_header(dir, uuid, &ram, &err);
	if (!rc)
		rc = snap_store__create_offline(&st, ram, &err);
	if (!rc && (rc = snapfile__load_all(st, dir, a > b ? a : b, &err)) >= 0 && (uint32_t)rc < (a > b ? a : b))
		rc = err__set(&err, -ENOENT, "%s has %d snapshots", dir, rc);
	if (rc < 0) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		snap_store__destroy(st);
		return RRVM_EXIT_ERROR;
	}
	struct snapshot *sa = NULL, *sb = NULL;
	char na[16], nb[16];
	snprintf(na, sizeof(na), "%u", a);
	snprintf(nb, sizeof(nb), "%u", b);
	for (struct snapshot *s = snap_store__first(st); s; s = s->next) {
		if (!strcmp(s->name, na))
			sa = s;
		if (!strcmp(s->name, nb))
			sb = s;
	}
	if (!sa || !sb) {
		fprintf(stderr, "rrvm: snapshots %u and %u are at the same event or missing\n", a, b);
		snap_store__destroy(st);
		return RRVM_EXIT_ERROR;
	}
	static const uint8_t zero[MEM_PAGE_SIZE];
	uint64_t pages = 0, bytes = 0, shown = 0;
	printf("snapshot %u (event %" PRIu64 ") -> %u (event %" PRIu64 ")\n", a, sa->pos.event, b, sb->pos.event);
	for (uint64_t p = 0; p < snap_store__npages(st); p++) {
		const uint8_t *x = snap_store__page(st, sa, (uint32_t)p), *y = snap_store__page(st, sb, (uint32_t)p);
		if (x == y)
			continue;
		x = x ? x : zero, y = y ? y : zero;
		uint32_t diff = 0;
		for (uint32_t i = 0; i < MEM_PAGE_SIZE; i++)
			diff += x[i] != y[i];
		if (!diff)
			continue;
		pages++, bytes += diff;
		if (shown++ < 32)
			printf("  page 0x%09llx: %u bytes differ\n", (unsigned long long)(p * MEM_PAGE_SIZE), diff);
	}
	if (shown > 32)
		printf("  ... %" PRIu64 " more pages\n", shown - 32);
	printf("memory: %" PRIu64 " pages differ, %" PRIu64 " bytes\n", pages, bytes);
	const struct kvm_regs *ra = &sa->cpu.regs, *rb = &sb->cpu.regs;
	const char *names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11",
				"r12", "r13", "r14", "r15", "rip", "rflags" };
	const __u64 *va = &ra->rax, *vb = &rb->rax;
	printf("registers:");
	int nreg = 0;
	for (int i = 0; i < 18; i++)
		if (va[i] != vb[i])
			printf(" %s %llx->%llx", names[i], va[i], vb[i]), nreg++;
	if (sa->cpu.sregs.cr3 != sb->cpu.sregs.cr3)
		printf(" cr3 %llx->%llx", sa->cpu.sregs.cr3, sb->cpu.sregs.cr3), nreg++;
	printf("%s\n", nreg ? "" : " same");
	printf("devices:");
	int ndev = 0;
	for (uint32_t i = 0; i < sb->n_dev; i++) {
		const struct snap_dev *db = &sb->dev[i], *da = NULL;
		for (uint32_t j = 0; j < sa->n_dev; j++)
			if (!strcmp(sa->dev[j].name, db->name))
				da = &sa->dev[j];
		if (!da || da->len != db->len || memcmp(da->data, db->data, da->len))
			printf(" %s%s", db->name, da ? "" : " (new)"), ndev++;
	}
	/* A snapshot taken in a replay has no state for the legacy devices. */
	for (uint32_t j = 0; j < sa->n_dev; j++) {
		bool in_b = false;
		for (uint32_t i = 0; i < sb->n_dev; i++)
			in_b |= !strcmp(sa->dev[j].name, sb->dev[i].name);
		if (!in_b)
			printf(" %s (not in %s)", sa->dev[j].name, sb->name), ndev++;
	}
	printf("%s\n", ndev ? " changed" : " same");
	snap_store__destroy(st);
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? RRVM_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "list") && argc == 3)
		return cmd_list(argv[2]);
	if (!strcmp(argv[1], "show") && argc == 4)
		return cmd_show(argv[2], argv[3]);
	if (!strcmp(argv[1], "diff") && argc == 5)
		return cmd_diff(argv[2], argv[3], argv[4]);
	fprintf(stderr, "rrvm snapshot: unknown command or wrong arguments (rrvm snapshot --help)\n");
	return RRVM_EXIT_USAGE;
}
