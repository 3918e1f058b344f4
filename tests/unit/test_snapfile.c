/* test_snapfile.c — snapshot files without KVM: a trace written by the real writer plus a full and a delta
 * snapshot written by snapfile__write from an offline store; round trip, file modes (0700 directories,
 * 0600 files), hostile page counts, and a trace whose files are symlinks. `--write-seeds DIR` leaves the
 * snapshot files in DIR (the snapfile fuzz target's seed corpus). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "record/sha256.h"
#include "record/trace.h"
#include "replay/trace_files.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"

static int failures, checks;
#define CHECK(c)                                                                          \
	do {                                                                              \
		checks++;                                                                 \
		if (!(c)) {                                                               \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
		}                                                                         \
	} while (0)

#define RAM (1ull << 20)
static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static mode_t mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) ? (mode_t)-1 : st.st_mode & 07777;
}

/* A trace directory with a header and no events, as the recorder creates it. */
static void make_trace(const char *dir)
{
	struct trace_header h;
	struct trace_writer *w;
	struct rrvm_err err;
	memset(&h, 0, sizeof(h));
	memcpy(h.uuid, uuid, 16);
	h.ram_bytes = RAM;
	h.n_vcpus = 1;
	snprintf(h.cpu_profile, sizeof(h.cpu_profile), "baseline");
	CHECK(trace_writer__open(&w, dir, &h, &err) == 0);
	struct trace_event ev = { .type = TR_EXIT, .event_no = 1 };
	CHECK(trace_writer__append(w, &ev) == 0);
	CHECK(trace_writer__close(w, &err) == 0);
	trace_header__free(&h);
}

/* A machine state with a few pages of each kind the writer knows: compressible, incompressible, zero. */
static struct snapshot *make_snap(uint64_t event, uint8_t salt, uint32_t **pages, uint8_t ***data, uint32_t *n)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	s->pos.event = event;
	s->pos.recs = event ? 1 : 0;
	s->mon.exits = event;
	s->mon.guest_ns = event * 1000;
	s->mon.tsc_hz = 2000000000;
	s->cpu.regs.rip = 0x100000 + event;
	s->cpu.regs.rflags = 2;
	s->cpu.regs.rsp = 0x8000;
	s->cpu.sregs.cr0 = 0x80000011;
	s->cpu.sregs.efer = 0x500;
	s->cpu.n_msrs = 2;
	s->cpu.msrs[0] = (struct kvm_msr_entry){ .index = 0xc0000080, .data = 0x500 };
	s->cpu.msrs[1] = (struct kvm_msr_entry){ .index = 0x10, .data = event };
	s->n_dev = 1;
	s->dev = calloc(1, sizeof(*s->dev));
	snprintf(s->dev[0].name, sizeof(s->dev[0].name), "uart0");
	s->dev[0].len = 8;
	s->dev[0].data = malloc(8);
	memcpy(s->dev[0].data, "\x01\x00\x03\x00\x00\x60\x00\x00", 8);
	*n = 4;
	*pages = calloc(*n, sizeof(**pages));
	*data = calloc(*n, sizeof(**data));
	uint64_t x = 0x9e3779b97f4a7c15ull ^ salt;
	for (uint32_t i = 0; i < *n; i++) {
		(*pages)[i] = 1 + 7 * i + salt;
		if (i == 3)
			continue;                               /* a zero page */
		uint8_t *p = malloc(MEM_PAGE_SIZE);
		for (size_t k = 0; k < MEM_PAGE_SIZE; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[k] = i == 1 ? (uint8_t)x : (uint8_t)(k / 64 + salt);   /* page 1 does not compress */
		}
		(*data)[i] = p;
	}
	return s;
}

static void free_data(uint8_t **data, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(data[i]);
	free(data);
}

static int copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
	char b[65536];
	size_t n;
	while (out && (n = fread(b, 1, sizeof(b), in)) > 0)
		fwrite(b, 1, n, out);
	int rc = in && out ? 0 : -1;
	if (out && fclose(out))
		rc = -1;
	if (in)
		fclose(in);
	return rc;
}

int main(int argc, char **argv)
{
	const char *seeds = argc > 2 && !strcmp(argv[1], "--write-seeds") ? argv[2] : NULL;
	char base[] = "/tmp/rrvm-test-snapfile-XXXXXX", dir[256], path[512], sub[512];
	umask(0);   /* the modes below must not depend on the user's umask */
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/trace", base);
	make_trace(dir);

	struct snap_store *st;
	struct rrvm_err err;
	CHECK(snap_store__create_offline(&st, RAM, &err) == 0);
	uint32_t *pages, n;
	uint8_t **data;
	struct snapshot *s1 = make_snap(10, 0, &pages, &data, &n);
	CHECK(snap_store__insert(st, s1, pages, data, n, &err) == 0);
	free(pages);
	free_data(data, n);
	struct snapfile_info info;
	CHECK(snapfile__write(dir, st, s1, NULL, 1, SNAP_WHY_EVERY, uuid, RAM, &info, &err) == 0);
	struct snapshot *s2 = make_snap(20, 1, &pages, &data, &n);
	CHECK(snap_store__insert(st, s2, pages, data, n, &err) == 0);
	free(pages);
	free_data(data, n);
	CHECK(snapfile__write(dir, st, s2, s1, 2, SNAP_WHY_CONSOLE, uuid, RAM, &info, &err) == 0);
	CHECK(snapfile__count(dir) == 2);

	/* Modes: the recorder's directories 0700, its files 0600, whatever the umask. */
	CHECK(mode_of(dir) == 0700);
	const char *files[] = { "header", "events", "snapshots/000001.snap", "snapshots/000002.snap" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		mode_t m = mode_of(path);
		if (m != 0600)
			fprintf(stderr, "%s: mode %o\n", path, (unsigned)m);
		CHECK(m == 0600);
	}
	snprintf(sub, sizeof(sub), "%s/snapshots", dir);
	CHECK(mode_of(sub) == 0700);

	/* Round trip: the files read back, checked against the trace's uuid and RAM size. */
	struct snapshot *r;
	uint32_t *rp;
	uint8_t **rd;
	int rc = snapfile__read(dir, 1, uuid, RAM, &info, &r, &rp, &rd, &err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "snapshot 1: %s\n", err.msg);
	CHECK(rc == 0 && info.base_seq == 0 && info.n_pages == 4 && info.n_data == 3 && info.n_zero == 1);
	if (rc == 0) {
		CHECK(r->cpu.regs.rip == 0x10000a && r->cpu.n_msrs == 2 && r->n_dev == 1 && !strcmp(r->dev[0].name, "uart0"));
		CHECK(rp[1] == 8 && rd[1] && !memcmp(rd[1], snap_store__page(st, s1, 8), MEM_PAGE_SIZE));
		snap__free(r);
		snapfile__free_pages(rp, rd, info.n_pages);
	}
	rc = snapfile__read(dir, 2, uuid, RAM, &info, &r, &rp, &rd, &err);
	CHECK(rc == 0 && info.base_seq == 1 && info.event == 20);
	if (rc) {
		fprintf(stderr, "snapshot 2: %s\n", err.msg);
	} else {
		snap__free(r);
		snapfile__free_pages(rp, rd, info.n_pages);
	}
	struct snap_store *st2;
	CHECK(snap_store__create_offline(&st2, RAM, &err) == 0);
	CHECK(snapfile__load_all(st2, dir, 0, &err) == 2);
	snap_store__destroy(st2);
	CHECK(snapfile__read(dir, 1, uuid, 2 * RAM, &info, NULL, NULL, NULL, &err) == -EINVAL);

	/* A PAGE section that claims more entries than it holds is refused before allocating them. */
	snprintf(path, sizeof(path), "%s/snapshots/000001.snap", dir);
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 16];
	size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	CHECK(len > 100);
	for (size_t off = 16; off + 12 <= len;) {
		uint32_t sl = (uint32_t)buf[off + 4] | (uint32_t)buf[off + 5] << 8 | (uint32_t)buf[off + 6] << 16 |
			      (uint32_t)buf[off + 7] << 24;
		if (!memcmp(buf + off, "PAGE", 4)) {
			memset(buf + off + 8, 0xff, 4);          /* 4294967295 entries */
			uint32_t crc = trace__value_hash(buf + off, 8 + sl);
			for (int k = 0; k < 4; k++)
				buf[off + 8 + sl + k] = (uint8_t)(crc >> (8 * k));
		}
		off += 12 + sl;
	}
	CHECK(snapfile__parse("hostile", buf, len, NULL, 0, &info, &r, &rp, &rd, &err) == -EBADMSG);
	CHECK(strstr(err.msg, "PAGE section") != NULL);

	/* Paths inside a trace stay inside it: a snapshots directory or a kernel that is a symlink is refused. */
	char evil[256], target[300];
	snprintf(evil, sizeof(evil), "%s/evil", base);
	make_trace(evil);
	snprintf(target, sizeof(target), "%s/snapshots", dir);
	snprintf(path, sizeof(path), "%s/snapshots", evil);
	CHECK(symlink(target, path) == 0);
	CHECK(trace_files__check(evil, "snapshots", true, &err) == -ELOOP);
	CHECK(strstr(err.msg, "symlink") != NULL);
	snprintf(path, sizeof(path), "%s/kernel", evil);
	CHECK(symlink("/etc/passwd", path) == 0);
	CHECK(trace_files__check(evil, "kernel", false, &err) == -ELOOP);
	CHECK(trace_files__check(dir, "kernel", false, &err) == 0);          /* absent: fine */
	CHECK(trace_files__check(dir, "snapshots", true, &err) == 0);
	CHECK(trace_files__check(dir, "header", true, &err) == -ENOTDIR);
	CHECK(trace_files__check(dir, "header", false, &err) == 0);

	if (seeds) {
		for (int i = 1; i <= 2; i++) {
			char src[512], dst[512];
			snprintf(src, sizeof(src), "%s/snapshots/%06d.snap", dir, i);
			snprintf(dst, sizeof(dst), "%s/writer-%d.snap", seeds, i);
			CHECK(copy_file(src, dst) == 0);
		}
	}
	snap_store__destroy(st);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", base);
	printf("test_snapfile: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
