/* snapfile.c — snapshot files: tagged, checksummed sections, explicit little-endian fields, LZ4 page data. */
#include "snapshot/snapfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/devstate.h"
#include "core/mem.h"
#include "core/vm.h"
#include "record/trace.h"
#include "replay/trace_files.h"
#include "snapshot/snapshot.h"

/*
 * File: "RRVMSNAP" magic, u16 major, u16 minor, u32 flags (bit 0: full),
 * then sections until END: u32 tag (4 ASCII bytes), u32 payload length,
 * payload, u32 CRC32C of tag+length+payload. Tags: INFO, CPU_, MON_, DEV_
 * (one per device), PAGE, END_. Spec: traces/FORMAT.md.
 */

static const char magic[8] = { 'R', 'R', 'V', 'M', 'S', 'N', 'A', 'P' };
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define T_INFO TAG('I', 'N', 'F', 'O')
#define T_CPU  TAG('C', 'P', 'U', '_')
#define T_MON  TAG('M', 'O', 'N', '_')
#define T_DEV  TAG('D', 'E', 'V', '_')
#define T_PAGE TAG('P', 'A', 'G', 'E')
#define T_END  TAG('E', 'N', 'D', '_')
#define MAX_SECTION (1u << 30)

enum { PG_ZERO = 0, PG_LZ4 = 1, PG_RAW = 2, PG_SAME = 3 };

const char *snapfile__reason_name(uint32_t r)
{
	switch (r) {
	case SNAP_WHY_EVERY: return "every";
	case SNAP_WHY_CONSOLE: return "console";
	case SNAP_WHY_PANIC: return "panic";
	case SNAP_WHY_START: return "start";
	case SNAP_WHY_REPLAY: return "replay";
	case SNAP_WHY_STOP: return "stop";
	default: return "other";
	}
}

void snapfile__path(char *buf, size_t len, const char *dir, uint32_t seq)
{
	snprintf(buf, len, "%s/%s/%06u.snap", dir, SNAPFILE_DIR, seq);
}

uint32_t snapfile__count(const char *dir)
{
	uint32_t n = 0;
	char path[4096];
	for (;;) {
		snapfile__path(path, sizeof(path), dir, n + 1);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

/* ---- a growable output buffer ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void need(struct buf *b, size_t n)
{
	if (b->oom || b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap - b->len < n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p, b->cap = cap;
}

static void put(struct buf *b, uint64_t v, unsigned bytes)
{
	need(b, bytes);
	if (b->oom)
		return;
	for (unsigned i = 0; i < bytes; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}
static void put_bytes(struct buf *b, const void *d, size_t n)
{
	need(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* Section framing: begin reserves tag + length, end fills the length and appends the CRC. */
static size_t sec_begin(struct buf *b, uint32_t tag)
{
	size_t at = b->len;
	put(b, tag, 4);
	put(b, 0, 4);
	return at;
}
static void sec_end(struct buf *b, size_t at)
{
	if (b->oom)
		return;
	uint32_t len = (uint32_t)(b->len - at - 8);
	for (int i = 0; i < 4; i++)
		b->p[at + 4 + i] = (uint8_t)(len >> (8 * i));
	put(b, trace__value_hash(b->p + at, b->len - at), 4);
}

/* ---- vCPU encoding (field by field, little-endian) ---- */

static void put_seg(struct buf *b, const struct kvm_segment *s)
{
	put(b, s->base, 8), put(b, s->limit, 4), put(b, s->selector, 2);
	const uint8_t f[] = { s->type, s->present, s->dpl, s->db, s->s, s->l, s->g, s->avl, s->unusable };
	put_bytes(b, f, sizeof(f));
}

static void put_cpu(struct buf *b, const struct snap_cpu *c)
{
	const struct kvm_regs *r = &c->regs;
	const uint64_t gpr[] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rsp, r->rbp, r->r8, r->r9,
				 r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags };
	for (size_t i = 0; i < 18; i++)
		put(b, gpr[i], 8);
	const struct kvm_sregs *s = &c->sregs;
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt };
	for (size_t i = 0; i < 8; i++)
		put_seg(b, segs[i]);
	put(b, s->gdt.base, 8), put(b, s->gdt.limit, 2), put(b, s->idt.base, 8), put(b, s->idt.limit, 2);
	const uint64_t cr[] = { s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer, s->apic_base };
	for (size_t i = 0; i < 7; i++)
		put(b, cr[i], 8);
	for (size_t i = 0; i < 4; i++)
		put(b, s->interrupt_bitmap[i], 8);
	const struct kvm_fpu *f = &c->fpu;
	put_bytes(b, f->fpr, sizeof(f->fpr));
	put(b, f->fcw, 2), put(b, f->fsw, 2), put(b, f->ftwx, 1), put(b, f->last_opcode, 2);
	put(b, f->last_ip, 8), put(b, f->last_dp, 8);
	put_bytes(b, f->xmm, sizeof(f->xmm));
	put(b, f->mxcsr, 4);
	put(b, c->has_xsave, 1);
	if (c->has_xsave)
		for (size_t i = 0; i < 1024; i++)
			put(b, c->xsave.region[i], 4);
	put(b, c->has_xcrs, 1);
	if (c->has_xcrs) {
		put(b, c->xcrs.nr_xcrs, 4), put(b, c->xcrs.flags, 4);
		for (uint32_t i = 0; i < c->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			put(b, c->xcrs.xcrs[i].xcr, 4), put(b, c->xcrs.xcrs[i].value, 8);
	}
	const struct kvm_debugregs *d = &c->debugregs;
	for (size_t i = 0; i < 4; i++)
		put(b, d->db[i], 8);
	put(b, d->dr6, 8), put(b, d->dr7, 8), put(b, d->flags, 8);
	const struct kvm_vcpu_events *e = &c->events;
	const uint8_t ev[] = { e->exception.injected, e->exception.nr, e->exception.has_error_code,
			       e->exception.pending, e->interrupt.injected, e->interrupt.nr, e->interrupt.soft,
			       e->interrupt.shadow, e->nmi.injected, e->nmi.pending, e->nmi.masked, e->smi.smm,
			       e->smi.pending, e->smi.smm_inside_nmi, e->smi.latched_init, e->triple_fault.pending,
			       e->exception_has_payload };
	put_bytes(b, ev, sizeof(ev));
	put(b, e->exception.error_code, 4), put(b, e->sipi_vector, 4), put(b, e->flags, 4);
	put(b, e->exception_payload, 8);
	put(b, c->n_msrs, 4);
	for (uint32_t i = 0; i < c->n_msrs; i++)
		put(b, c->msrs[i].index, 4), put(b, c->msrs[i].data, 8);
}

static void get_seg(struct ds_in *in, struct kvm_segment *s)
{
	s->base = ds__g64(in), s->limit = ds__g32(in), s->selector = ds__g16(in);
	uint8_t f[9];
	ds__gbytes(in, f, sizeof(f));
	s->type = f[0], s->present = f[1], s->dpl = f[2], s->db = f[3], s->s = f[4], s->l = f[5], s->g = f[6];
	s->avl = f[7], s->unusable = f[8];
}

static int get_cpu(struct ds_in *in, struct snap_cpu *c, struct rrvm_err *err)
{
	memset(c, 0, sizeof(*c));
	struct kvm_regs *r = &c->regs;
	__u64 *gpr[] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rsp, &r->rbp, &r->r8, &r->r9,
			    &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15, &r->rip, &r->rflags };
	for (size_t i = 0; i < 18; i++)
		*gpr[i] = ds__g64(in);
	struct kvm_sregs *s = &c->sregs;
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt };
	for (size_t i = 0; i < 8; i++)
		get_seg(in, segs[i]);
	s->gdt.base = ds__g64(in), s->gdt.limit = ds__g16(in), s->idt.base = ds__g64(in), s->idt.limit = ds__g16(in);
	__u64 *cr[] = { &s->cr0, &s->cr2, &s->cr3, &s->cr4, &s->cr8, &s->efer, &s->apic_base };
	for (size_t i = 0; i < 7; i++)
		*cr[i] = ds__g64(in);
	for (size_t i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = ds__g64(in);
	struct kvm_fpu *f = &c->fpu;
	ds__gbytes(in, f->fpr, sizeof(f->fpr));
	f->fcw = ds__g16(in), f->fsw = ds__g16(in), f->ftwx = ds__g8(in), f->last_opcode = ds__g16(in);
	f->last_ip = ds__g64(in), f->last_dp = ds__g64(in);
	ds__gbytes(in, f->xmm, sizeof(f->xmm));
	f->mxcsr = ds__g32(in);
	uint8_t hx = ds__g8(in);
	if (hx > 1)
		return err__set(err, -EINVAL, "CPU section: XSAVE flag %u", hx);
	c->has_xsave = hx;
	if (c->has_xsave)
		for (size_t i = 0; i < 1024; i++)
			c->xsave.region[i] = ds__g32(in);
	uint8_t hc = ds__g8(in);
	if (hc > 1)
		return err__set(err, -EINVAL, "CPU section: XCR flag %u", hc);
	c->has_xcrs = hc;
	if (c->has_xcrs) {
		c->xcrs.nr_xcrs = ds__g32(in), c->xcrs.flags = ds__g32(in);
		if (c->xcrs.nr_xcrs > KVM_MAX_XCRS)
			return err__set(err, -EINVAL, "CPU section: %u XCRs (at most %d)", c->xcrs.nr_xcrs, KVM_MAX_XCRS);
		for (uint32_t i = 0; i < c->xcrs.nr_xcrs; i++)
			c->xcrs.xcrs[i].xcr = ds__g32(in), c->xcrs.xcrs[i].value = ds__g64(in);
	}
	struct kvm_debugregs *d = &c->debugregs;
	for (size_t i = 0; i < 4; i++)
		d->db[i] = ds__g64(in);
	d->dr6 = ds__g64(in), d->dr7 = ds__g64(in), d->flags = ds__g64(in);
	struct kvm_vcpu_events *e = &c->events;
	uint8_t ev[17];
	ds__gbytes(in, ev, sizeof(ev));
	e->exception.injected = ev[0], e->exception.nr = ev[1], e->exception.has_error_code = ev[2];
	e->exception.pending = ev[3], e->interrupt.injected = ev[4], e->interrupt.nr = ev[5];
	e->interrupt.soft = ev[6], e->interrupt.shadow = ev[7], e->nmi.injected = ev[8], e->nmi.pending = ev[9];
	e->nmi.masked = ev[10], e->smi.smm = ev[11], e->smi.pending = ev[12], e->smi.smm_inside_nmi = ev[13];
	e->smi.latched_init = ev[14], e->triple_fault.pending = ev[15], e->exception_has_payload = ev[16];
	e->exception.error_code = ds__g32(in), e->sipi_vector = ds__g32(in), e->flags = ds__g32(in);
	e->exception_payload = ds__g64(in);
	c->n_msrs = ds__g32(in);
	if (c->n_msrs > SNAP_MAX_MSRS)
		return err__set(err, -EINVAL, "CPU section: %u MSRs (at most %d)", c->n_msrs, SNAP_MAX_MSRS);
	for (uint32_t i = 0; i < c->n_msrs; i++)
		c->msrs[i].index = ds__g32(in), c->msrs[i].data = ds__g64(in);
	if (!ds__done(in))
		return err__set(err, -EINVAL, "CPU section: %s", in->bad ? "truncated" : "trailing bytes");
	return 0;
}

static void put_mon(struct buf *b, const struct snap_mon *m)
{
	const uint64_t u[] = { m->exits, m->guest_ns, m->virt_ns, (uint64_t)m->wallclock_base, m->rdtsc_rip,
			       m->rdtsc_value, (uint64_t)m->tsc_offset, m->tsc_aux, m->tsc_hz, m->rdmsr_count,
			       m->wrmsr_count, m->gp_count, m->irqs_injected, m->kicks };
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		put(b, u[i], 8);
	put(b, m->rdtsc_aux, 4);
	const uint8_t f[] = { m->last_exit_guest, m->deferred, m->if_flag, m->ready_for_injection,
			      m->request_window, m->rdtsc_valid, m->rdtsc_rdtscp };
	put_bytes(b, f, sizeof(f));
}

static int get_mon(struct ds_in *in, struct snap_mon *m, struct rrvm_err *err)
{
	memset(m, 0, sizeof(*m));
	uint64_t u[14];
	for (size_t i = 0; i < 14; i++)
		u[i] = ds__g64(in);
	m->exits = u[0], m->guest_ns = u[1], m->virt_ns = u[2], m->wallclock_base = (int64_t)u[3];
	m->rdtsc_rip = u[4], m->rdtsc_value = u[5], m->tsc_offset = (int64_t)u[6], m->tsc_aux = u[7];
	m->tsc_hz = u[8], m->rdmsr_count = u[9], m->wrmsr_count = u[10], m->gp_count = u[11];
	m->irqs_injected = u[12], m->kicks = u[13];
	m->rdtsc_aux = ds__g32(in);
	uint8_t f[7];
	ds__gbytes(in, f, sizeof(f));
	for (size_t i = 0; i < 7; i++)
		if (f[i] > 1)
			return err__set(err, -EINVAL, "monitor section: flag %zu is %u, not 0 or 1", i, f[i]);
	m->last_exit_guest = f[0], m->deferred = f[1], m->if_flag = f[2], m->ready_for_injection = f[3];
	m->request_window = f[4], m->rdtsc_valid = f[5], m->rdtsc_rdtscp = f[6];
	if (!ds__done(in))
		return err__set(err, -EINVAL, "monitor section: %s", in->bad ? "truncated" : "trailing bytes");
	if (!m->tsc_hz)
		return err__set(err, -EINVAL, "monitor section: TSC frequency 0");
	return 0;
}

/* ---- write ---- */

int snapfile__write(const char *dir, struct snap_store *st, const struct snapshot *s, const struct snapshot *prev,
		    uint32_t seq, uint32_t reason, const uint8_t uuid[16], uint64_t ram_bytes,
		    struct snapfile_info *info, struct rrvm_err *err)
{
	struct buf b = { 0 };
	struct snapfile_info in = { .seq = seq, .base_seq = prev ? seq - 1 : 0, .event = s->pos.event,
				    .recs = s->pos.recs, .reason = reason, .guest_ns = s->mon.guest_ns,
				    .ram_bytes = ram_bytes, .n_dev = s->n_dev };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	in.created_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	memcpy(in.uuid, uuid, 16);
	put_bytes(&b, magic, 8);
	put(&b, SNAPFILE_MAJOR, 2), put(&b, SNAPFILE_MINOR, 2), put(&b, prev ? 0 : 1, 4);
	size_t at = sec_begin(&b, T_INFO);
	put(&b, seq, 4), put(&b, in.base_seq, 4), put(&b, in.event, 8), put(&b, in.recs, 4), put(&b, reason, 4);
	put(&b, in.guest_ns, 8), put(&b, in.created_ns, 8), put(&b, ram_bytes, 8), put_bytes(&b, uuid, 16);
	sec_end(&b, at);
	at = sec_begin(&b, T_CPU);
	put_cpu(&b, &s->cpu);
	sec_end(&b, at);
	at = sec_begin(&b, T_MON);
	put_mon(&b, &s->mon);
	sec_end(&b, at);
	for (uint32_t i = 0; i < s->n_dev; i++) {
		at = sec_begin(&b, T_DEV);
		size_t nl = strlen(s->dev[i].name);
		put(&b, nl, 1), put_bytes(&b, s->dev[i].name, nl);
		put(&b, s->dev[i].len, 4), put_bytes(&b, s->dev[i].data, s->dev[i].len);
		sec_end(&b, at);
	}
	/* Pages: a full snapshot lists every nonzero page; a delta the pages
	 * written since `prev`, each zero, as at `prev` (rewritten with the
	 * same bytes), or stored (LZ4, raw when it does not compress). */
	at = sec_begin(&b, T_PAGE);
	put(&b, s->n_pages, 4);
	char comp[LZ4_COMPRESSBOUND(MEM_PAGE_SIZE)];
	for (uint32_t i = 0; i < s->n_pages && !b.oom; i++) {
		uint32_t p = s->pages[i];
		const uint8_t *d = snap_store__page(st, s, p);
		const uint8_t *pd = prev ? snap_store__page(st, prev, p) : NULL;
		put(&b, p, 4);
		if (!d) {
			put(&b, PG_ZERO, 1);
			in.n_zero++;
		} else if (prev && d == pd) {
			put(&b, PG_SAME, 1);
			in.n_same++;
		} else {
			int c = LZ4_compress_default((const char *)d, comp, MEM_PAGE_SIZE, (int)sizeof(comp));
			bool raw = c <= 0 || c >= (int)MEM_PAGE_SIZE;
			put(&b, raw ? PG_RAW : PG_LZ4, 1);
			put(&b, raw ? MEM_PAGE_SIZE : (uint32_t)c, 4);
			put_bytes(&b, raw ? (const void *)d : comp, raw ? MEM_PAGE_SIZE : (size_t)c);
			in.n_data++;
			in.page_bytes += raw ? MEM_PAGE_SIZE : (uint64_t)c;
		}
	}
	in.n_pages = s->n_pages;
	sec_end(&b, at);
	at = sec_begin(&b, T_END);
	sec_end(&b, at);
	if (b.oom) {
		free(b.p);
		return err__set(err, -ENOMEM, "snapshot %u: out of memory encoding it", seq);
	}
	char sub[4096], path[4096], tmp[4200];
	snprintf(sub, sizeof(sub), "%s/%s", dir, SNAPFILE_DIR);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
		free(b.p);
		return err__set(err, -errno, "cannot create %s: %s", sub, strerror(errno));
	}
	snapfile__path(path, sizeof(path), dir, seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = 0;
	if (fd < 0) {
		rc = err__set(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
	} else {
		size_t off = 0;
		while (off < b.len && !rc) {
			ssize_t w = write(fd, b.p + off, b.len - off);
			if (w < 0 && errno != EINTR)
				rc = err__set(err, -errno, "writing %s: %s", tmp, strerror(errno));
			else if (w > 0)
				off += (size_t)w;
		}
		if (!rc && fsync(fd) < 0)
			rc = err__set(err, -errno, "fsync %s: %s", tmp, strerror(errno));
		close(fd);
		if (!rc && rename(tmp, path) < 0)
			rc = err__set(err, -errno, "rename %s: %s", tmp, strerror(errno));
		if (rc)
			unlink(tmp);
	}
	in.file_bytes = b.len;
	free(b.p);
	if (info)
		*info = in;
	return rc;
}

/* ---- read ---- */

void snapfile__free_pages(uint32_t *pages, uint8_t **data, uint32_t n)
{
	for (uint32_t i = 0; data && i < n; i++)
		if (data[i] != SNAPFILE_SAME)
			free(data[i]);
	free(data);
	free(pages);
}

static int read_file(const char *path, uint8_t **out, size_t *len, struct rrvm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err__set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	struct stat stt;
	if (fstat(fd, &stt) < 0 || stt.st_size > (off_t)(4ull << 30)) {
		close(fd);
		return err__set(err, -EFBIG, "%s: cannot size it or larger than 4 GiB", path);
	}
	uint8_t *p = malloc((size_t)stt.st_size + 1);
	size_t off = 0;
	while (p && off < (size_t)stt.st_size) {
		ssize_t r = read(fd, p + off, (size_t)stt.st_size - off);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	if (!p)
		return err__set(err, -ENOMEM, "out of memory reading %s", path);
	*out = p;
	*len = off;
	return 0;
}

int snapfile__read_path(const char *path, const uint8_t *uuid, uint64_t ram_bytes, struct snapfile_info *info,
			struct snapshot **out, uint32_t **pages_out, uint8_t ***data_out, struct rrvm_err *err)
{
	uint8_t *f = NULL;
	size_t len = 0;
	int rc = read_file(path, &f, &len, err);
	if (rc)
		return rc;
	rc = snapfile__parse(path, f, len, uuid, ram_bytes, info, out, pages_out, data_out, err);
	free(f);
	return rc;
}

int snapfile__parse(const char *path, const uint8_t *f, size_t len, const uint8_t *uuid, uint64_t ram_bytes,
		    struct snapfile_info *info, struct snapshot **out, uint32_t **pages_out, uint8_t ***data_out,
		    struct rrvm_err *err)
{
	int rc;
	struct snapfile_info in = { .file_bytes = len };
	struct snapshot *s = out ? calloc(1, sizeof(*s)) : NULL;
	uint32_t *pages = NULL;
	uint8_t **data = NULL;
	uint32_t n_alloc = 0;
	bool seen_info = false, seen_cpu = false, seen_mon = false, seen_page = false, seen_end = false;
	if (out && !s) {
		rc = err__set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (len < 16 || memcmp(f, magic, 8)) {
		rc = err__set(err, -EBADMSG, "%s: not an rrvm snapshot (bad magic)", path);
		goto fail;
	}
	uint16_t major = (uint16_t)(f[8] | f[9] << 8), minor = (uint16_t)(f[10] | f[11] << 8);
	uint32_t flags = (uint32_t)f[12] | (uint32_t)f[13] << 8 | (uint32_t)f[14] << 16 | (uint32_t)f[15] << 24;
	if (major != SNAPFILE_MAJOR) {
		rc = err__set(err, -EPROTONOSUPPORT, "%s: snapshot format %u.%u, this rrvm reads %u.x", path, major,
			      minor, SNAPFILE_MAJOR);
		goto fail;
	}
	size_t off = 16;
	while (!seen_end) {
		if (len - off < 12) {
			rc = err__set(err, -EBADMSG, "%s: truncated at offset %zu (no END section)", path, off);
			goto fail;
		}
		uint32_t tag = (uint32_t)f[off] | (uint32_t)f[off + 1] << 8 | (uint32_t)f[off + 2] << 16 |
			       (uint32_t)f[off + 3] << 24;
		uint32_t sl = (uint32_t)f[off + 4] | (uint32_t)f[off + 5] << 8 | (uint32_t)f[off + 6] << 16 |
			      (uint32_t)f[off + 7] << 24;
		char tn[5] = { (char)f[off], (char)f[off + 1], (char)f[off + 2], (char)f[off + 3], 0 };
		for (int i = 0; i < 4; i++)
			if (tn[i] < 0x20 || tn[i] > 0x7e)
				tn[i] = '?';
		if (sl > MAX_SECTION || len - off - 12 < sl) {
			rc = err__set(err, -EBADMSG, "%s: section %s at offset %zu: length %u runs past the end (%zu bytes)",
				      path, tn, off, sl, len);
			goto fail;
		}
		const uint8_t *crcp = f + off + 8 + sl;
		uint32_t crc = (uint32_t)crcp[0] | (uint32_t)crcp[1] << 8 | (uint32_t)crcp[2] << 16 | (uint32_t)crcp[3] << 24;
		if (crc != trace__value_hash(f + off, 8 + sl)) {
			rc = err__set(err, -EBADMSG, "%s: section %s at offset %zu: checksum mismatch", path, tn, off);
			goto fail;
		}
		struct ds_in d = { .p = f + off + 8, .len = sl };
		switch (tag) {
		case T_INFO:
			in.seq = ds__g32(&d), in.base_seq = ds__g32(&d), in.event = ds__g64(&d), in.recs = ds__g32(&d);
			in.reason = ds__g32(&d), in.guest_ns = ds__g64(&d), in.created_ns = ds__g64(&d);
			in.ram_bytes = ds__g64(&d);
			ds__gbytes(&d, in.uuid, 16);
			if (!ds__done(&d) || in.recs > 4 || (in.event == 0 && in.recs)) {
				rc = err__set(err, -EBADMSG, "%s: INFO section malformed", path);
				goto fail;
			}
			if ((flags & 1) != (in.base_seq == 0)) {
				rc = err__set(err, -EBADMSG, "%s: full flag and base snapshot disagree", path);
				goto fail;
			}
			seen_info = true;
			break;
		case T_CPU:
			if (s && (rc = get_cpu(&d, &s->cpu, err))) {
				char m[512];
				snprintf(m, sizeof(m), "%s", err->msg);
				rc = err__set(err, -EBADMSG, "%s: %s", path, m);
				goto fail;
			}
			seen_cpu = true;
			break;
		case T_MON:
			if (s && (rc = get_mon(&d, &s->mon, err))) {
				char m[512];
				snprintf(m, sizeof(m), "%s", err->msg);
				rc = err__set(err, -EBADMSG, "%s: %s", path, m);
				goto fail;
			}
			seen_mon = true;
			break;
		case T_DEV: {
			uint8_t nl = ds__g8(&d);
			char name[32] = "";
			if (nl >= sizeof(name) || d.len - d.off < nl) {
				rc = err__set(err, -EBADMSG, "%s: device section at offset %zu: bad name", path, off);
				goto fail;
			}
			ds__gbytes(&d, name, nl);
			uint32_t dl = ds__g32(&d);
			if (d.bad || d.len - d.off != dl || dl > DEV_STATE_MAX) {
				rc = err__set(err, -EBADMSG, "%s: device %s: state length %u malformed", path, name, dl);
				goto fail;
			}
			in.n_dev++;
			if (s) {
				struct snap_dev *nd = realloc(s->dev, (s->n_dev + 1) * sizeof(*nd));
				if (!nd || !(nd[s->n_dev].data = malloc(dl ? dl : 1))) {
					if (nd)
						s->dev = nd;
					rc = err__set(err, -ENOMEM, "out of memory");
					goto fail;
				}
				s->dev = nd;
				snprintf(nd[s->n_dev].name, sizeof(nd[s->n_dev].name), "%s", name);
				nd[s->n_dev].len = dl;
				memcpy(nd[s->n_dev].data, d.p + d.off, dl);
				s->n_dev++;
			}
			break;
		}
		case T_PAGE: {
			uint32_t n = ds__g32(&d);
			uint64_t max_pages = ram_bytes ? ram_bytes / MEM_PAGE_SIZE : UINT32_MAX;
			/* Each entry takes at least 5 bytes (page, kind): a count the
			 * section cannot hold is refused before anything is allocated. */
			if (d.bad || n > max_pages || n > (d.len - d.off) / 5) {
				rc = err__set(err, -EBADMSG, "%s: PAGE section: %u pages for this RAM", path, n);
				goto fail;
			}
			if (out) {
				pages = calloc(n ? n : 1, sizeof(*pages));
				data = calloc(n ? n : 1, sizeof(*data));
				if (!pages || !data) {
					rc = err__set(err, -ENOMEM, "out of memory");
					goto fail;
				}
			}
			uint32_t last = 0;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t p = ds__g32(&d);
				uint8_t kind = ds__g8(&d);
				if (d.bad || p >= max_pages || (i && p <= last)) {
					rc = err__set(err, -EBADMSG, "%s: PAGE section: entry %u (page %u) %s", path, i, p,
						      d.bad ? "truncated" : "out of range or out of order");
					goto fail;
				}
				last = p;
				uint8_t *pd = NULL;
				if (kind == PG_SAME) {
					if (!in.base_seq) {
						rc = err__set(err, -EBADMSG, "%s: page %u refers to a base in a full snapshot", path, p);
						goto fail;
					}
					pd = SNAPFILE_SAME;
					in.n_same++;
				} else if (kind == PG_LZ4 || kind == PG_RAW) {
					uint32_t cl = ds__g32(&d);
					if (d.bad || d.len - d.off < cl || (kind == PG_RAW && cl != MEM_PAGE_SIZE)) {
						rc = err__set(err, -EBADMSG, "%s: page %u: data length %u malformed", path, p, cl);
						goto fail;
					}
					if (out && !(pd = malloc(MEM_PAGE_SIZE))) {
						rc = err__set(err, -ENOMEM, "out of memory");
						goto fail;
					}
					if (kind == PG_RAW) {
						if (pd)
							memcpy(pd, d.p + d.off, MEM_PAGE_SIZE);
					} else {
						char tmp[MEM_PAGE_SIZE];
						int got = LZ4_decompress_safe((const char *)d.p + d.off, pd ? (char *)pd : tmp,
									      (int)cl, MEM_PAGE_SIZE);
						if (got != (int)MEM_PAGE_SIZE) {
							free(pd);
							rc = err__set(err, -EBADMSG, "%s: page %u: LZ4 data does not decode to 4096 bytes",
								      path, p);
							goto fail;
						}
					}
					d.off += cl;
					in.n_data++;
					in.page_bytes += cl;
				} else if (kind == PG_ZERO) {
					in.n_zero++;
				} else {
					rc = err__set(err, -EBADMSG, "%s: page %u: unknown kind %u", path, p, kind);
					goto fail;
				}
				if (out) {
					pages[i] = p;
					data[i] = pd;
					n_alloc = i + 1;
				}
			}
			if (!ds__done(&d)) {
				rc = err__set(err, -EBADMSG, "%s: PAGE section: trailing bytes", path);
				goto fail;
			}
			in.n_pages = n;
			seen_page = true;
			break;
		}
		case T_END:
			seen_end = true;
			break;
		default:
			break;   /* a newer minor's section: skipped (it carries its length) */
		}
		off += 12 + sl;
	}
	if (!seen_info || !seen_cpu || !seen_mon || !seen_page) {
		rc = err__set(err, -EBADMSG, "%s: missing %s section", path,
			      !seen_info ? "INFO" : !seen_cpu ? "CPU_" : !seen_mon ? "MON_" : "PAGE");
		goto fail;
	}
	if (uuid && memcmp(uuid, in.uuid, 16)) {
		rc = err__set(err, -EINVAL, "%s belongs to another trace (uuid differs)", path);
		goto fail;
	}
	if (ram_bytes && in.ram_bytes != ram_bytes) {
		rc = err__set(err, -EINVAL, "%s: taken with %" PRIu64 " bytes of RAM, this machine has %" PRIu64, path,
			      in.ram_bytes, ram_bytes);
		goto fail;
	}
	if (s) {
		s->pos.event = in.event;
		s->pos.recs = in.recs;
		s->kind = SNAP_RECORDED;
		s->full = in.base_seq == 0;
		snprintf(s->name, sizeof(s->name), "%u", in.seq);
		if (s->mon.exits != in.event) {
			rc = err__set(err, -EBADMSG, "%s: monitor event %" PRIu64 " differs from INFO's %" PRIu64, path,
				      s->mon.exits, in.event);
			goto fail;
		}
	}
	if (info)
		*info = in;
	if (out) {
		*out = s;
		*pages_out = pages;
		*data_out = data;
	}
	return 0;
fail:
	snap__free(s);
	snapfile__free_pages(pages, data, n_alloc);
	return rc;
}

int snapfile__read(const char *dir, uint32_t seq, const uint8_t *uuid, uint64_t ram_bytes,
		   struct snapfile_info *info, struct snapshot **out, uint32_t **pages, uint8_t ***data,
		   struct rrvm_err *err)
{
	char path[4096];
	int rc = trace_files__check(dir, SNAPFILE_DIR, true, err);   /* the file itself is opened O_NOFOLLOW */
	if (rc)
		return rc;
	snapfile__path(path, sizeof(path), dir, seq);
	rc = snapfile__read_path(path, uuid, ram_bytes, info, out, pages, data, err);
	if (!rc && info && info->seq != seq)
		return err__set(err, -EBADMSG, "%s says it is snapshot %u", path, info->seq);
	return rc;
}

int snapfile__load_all(struct snap_store *st, const char *dir, uint32_t upto, struct rrvm_err *err)
{
	struct trace_reader *tr;
	int rc = trace_reader__open(&tr, dir, err);
	if (rc)
		return rc;
	uint8_t uuid[16];
	memcpy(uuid, trace_reader__header(tr)->uuid, 16);
	trace_reader__close(tr);
	uint32_t n = snapfile__count(dir);
	if (upto && upto < n)
		n = upto;
	uint64_t ram_bytes = snap_store__npages(st) * MEM_PAGE_SIZE;
	const struct snapshot *prev = NULL;
	for (uint32_t seq = 1; seq <= n; seq++) {
		struct snapfile_info info;
		struct snapshot *s;
		uint32_t *pages;
		uint8_t **data;
		if ((rc = snapfile__read(dir, seq, uuid, ram_bytes, &info, &s, &pages, &data, err)))
			return rc;
		/* A full snapshot may stand anywhere (one taken later in a replay,
		 * FORMAT.md section 10); a delta must follow its base. */
		if ((info.base_seq && (!prev || info.base_seq != seq - 1 || info.event < prev->pos.event))) {
			snap__free(s);
			snapfile__free_pages(pages, data, info.n_pages);
			return err__set(err, -EBADMSG, "snapshot %u: its base %u is not the snapshot before it", seq,
					info.base_seq);
		}
		/* "Same as the base": the base's content, borrowed from the store. */
		uint8_t *same = calloc(info.n_pages ? info.n_pages : 1, 1);
		if (!same) {
			snap__free(s);
			snapfile__free_pages(pages, data, info.n_pages);
			return err__set(err, -ENOMEM, "out of memory");
		}
		for (uint32_t i = 0; i < info.n_pages; i++)
			if (data[i] == SNAPFILE_SAME) {
				same[i] = 1;
				data[i] = (uint8_t *)snap_store__page(st, prev, pages[i]);
			}
		uint64_t event = s->pos.event;
		rc = snap_store__insert(st, s, pages, data, info.n_pages, err);
		for (uint32_t i = 0; i < info.n_pages; i++)
			if (same[i])
				data[i] = NULL;
		free(same);
		snapfile__free_pages(pages, data, info.n_pages);
		if (rc)
			return rc;
		prev = snap_store__find(st, event);
		if (!prev || prev->pos.event != event)
			return err__set(err, -EBADMSG, "snapshot %u: not stored", seq);
	}
	return (int)n;
}
