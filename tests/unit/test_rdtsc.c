/* test_rdtsc.c — RDTSC/RDTSCP rewriting: synthetic Linux ELFs with sites and decoys, a VM that runs rewritten
 * sites, and Debian's cloud kernel.
 *
 *   test_rdtsc                       synthetic kernels: only real instructions are patched, counts exact
 *   test_rdtsc --vm                  a tiny Linux-marked ELF runs rewritten sites in a VM (77 without /dev/kvm)
 *   test_rdtsc --dump-vmlinux OUT    writes the decompressed vmlinux of Debian's kernel to OUT (77 when absent)
 *   test_rdtsc --real-kernel LIST    loads Debian's kernel with loader__load and writes "vaddr kind" of every
 *                                    rewritten site to LIST (tests/rdtsc_real_kernel.sh compares with objdump)
 * The kernel: $RRVM_LINUX_VMLINUZ, else <source>/.cache/linux/<release>/vmlinuz (tools/fetch-linux.sh). */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/decompress.h"
#include "core/loader.h"
#include "core/mem.h"
#include "core/rdtsc.h"
#include "core/vm.h"
#include "core/x86.h"

static int failures, checks;

#define CHECK(c) do { checks++; if (!(c)) { failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (a), b_ = (b); checks++; if (a_ != b_) { failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s == %s (0x%llx != 0x%llx)\n", __FILE__, __LINE__, #a, #b, \
		a_, b_); } } while (0)

/* ---- guest code, assembled by the host assembler ------------------------------------------------- */

#define SNIP(n) extern const uint8_t n[], n##_end[];
#define LBL(n) ".globl " #n "\n.hidden " #n "\n" #n ":\n"
SNIP(tr_text) SNIP(tr_alt) SNIP(tr_vm)
extern const uint8_t tr_s1[], tr_s2[], tr_s3[], tr_s4[], tr_a1[], tr_a2[], tr_v1[], tr_v2[], tr_v3[];

__asm__(".pushsection .rodata\n"
	/* .text: real sites at instruction boundaries, and decoys. */
	LBL(tr_text)
	LBL(tr_s1) "rdtsc\n"
	"mov $0x310f, %eax\n"                 /* b8 0f 31 00 00: 0f 31 inside an immediate */
	"mov $0xf9010f, %rax\n"               /* 48 c7 c0 0f 01 f9 00: rdtscp bytes in an immediate */
	LBL(tr_s2) "rdtscp\n"
	"nop\n"
	"lfence\n"
	LBL(tr_s3) "rdtsc\n"
	"mov $0x0f, %al\n"                    /* b0 0f | 31 c0: 0f 31 across two instructions */
	"xor %eax, %eax\n"
	"mov 0x310f(%rbx), %ecx\n"            /* 8b 8b 0f 31 00 00: in a displacement */
	"ret\n"
	".byte 0x06\n"                        /* invalid in 64-bit mode: the sweep skips it as data */
	LBL(tr_s4) "rdtsc\n"
	"ret\n"
	LBL(tr_text_end)
	/* .altinstr_replacement: what `ALTERNATIVE_2 "rdtsc", "lfence; rdtsc", .., "rdtscp", ..` holds. */
	LBL(tr_alt)
	"lfence\n"
	LBL(tr_a1) "rdtsc\n"
	LBL(tr_a2) "rdtscp\n"
	LBL(tr_alt_end)
	/* Runs in a VM (ring 0, identity map): results at 0x1100000. */
	LBL(tr_vm)
	"mov $0x10, %ecx\n"                   /* IA32_TSC = 7 << 32: RDX must carry the high half */
	"xor %eax, %eax\n"
	"mov $7, %edx\n"
	"wrmsr\n"
	"mov $0xc0000103, %ecx\n"             /* IA32_TSC_AUX */
	"mov $0x1234abcd, %eax\n"
	"xor %edx, %edx\n"
	"wrmsr\n"
	"movabs $0x5555555555555555, %rdx\n"
	"mov %rdx, %rax\n"
	LBL(tr_v1) "rdtsc\n"
	"mov %rax, 0x1100000\n"
	"mov %rdx, 0x1100008\n"
	"movabs $0x6666666666666666, %rcx\n"
	"mov %rcx, %rdx\n"
	"mov %rcx, %rax\n"
	LBL(tr_v2) "rdtscp\n"
	"mov %rax, 0x1100010\n"
	"mov %rdx, 0x1100018\n"
	"mov %rcx, 0x1100020\n"
	"lfence\n"
	LBL(tr_v3) "rdtsc\n"
	"mov %rax, 0x1100028\n"
	"mov %rdx, 0x1100030\n"
	"mov $0x310f, %eax\n"
	"cli\n"
	"hlt\n"                                /* HLT with IF=0: the monitor reports a poweroff */
	LBL(tr_vm_end)
	".popsection\n");

/* ---- a synthetic ELF64 with sections ------------------------------------------------------------ */

#define KMAP    0xffffffff80000000ull
#define SHF_W   1
#define SHF_A   2
#define SHF_X   4

struct xseg { uint64_t paddr, vaddr, size; uint32_t flags; };
struct xsec {
	const char *name;
	uint32_t type;      /* 1 PROGBITS, 8 NOBITS */
	uint64_t flags;
	int seg;            /* segment holding it */
	uint64_t at;        /* offset in the segment */
	const uint8_t *data, *end;
};
struct xelf {
	uint64_t entry;
	int nseg, nsec;
	struct xseg seg[4];
	struct xsec sec[10];
	bool no_sections;
	bool note;          /* a PT_NOTE with a "Linux" note (marks it Linux without sections) */
};

static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
static void w64(uint8_t *p, uint64_t v) { w32(p, v); w32(p + 4, v >> 32); }

static const uint8_t decoy_data[] = { 0x0f, 0x31, 0x0f, 0x01, 0xf9, 0x0f, 0x31 };

/* Segment file images; section headers with names; a "Linux" ELF when .head.text is named. */
static void write_elf(const char *path, const struct xelf *x)
{
	int nph = x->nseg + (x->note ? 1 : 0);
	size_t off = 64 + (size_t)nph * 56, segoff[4];
	for (int k = 0; k < x->nseg; k++) {
		off = (off + 4095) & ~(size_t)4095;
		segoff[k] = off;
		off += x->seg[k].size;
	}
	size_t stroff = off, strlen_ = 1;
	for (int i = 0; i < x->nsec; i++)
		strlen_ += strlen(x->sec[i].name) + 1;
	strlen_ += sizeof(".shstrtab");
	size_t noteoff = (stroff + strlen_ + 7) & ~(size_t)7;
	size_t shoff = noteoff + 24;
	int nsh = x->nsec + 2;
	size_t total = shoff + (size_t)nsh * 64;
	uint8_t *b = calloc(1, total);
	if (!b)
		abort();
	memcpy(b, "\177ELF\2\1\1", 7);
	w16(b + 16, 2);
	w16(b + 18, 62);
	w32(b + 20, 1);
	w64(b + 24, x->entry);
	w64(b + 32, 64);
	w16(b + 52, 64);
	w16(b + 54, 56);
	w16(b + 56, (uint16_t)nph);
	if (x->note) {
		uint8_t *n = b + noteoff, *ph = b + 64 + x->nseg * 56;
		w32(n, 6);
		w32(n + 4, 4);
		w32(n + 8, 0x100);
		memcpy(n + 12, "Linux", 6);
		w32(ph, 4 /* PT_NOTE */);
		w32(ph + 4, 4);
		w64(ph + 8, noteoff);
		w64(ph + 32, 24);
		w64(ph + 40, 24);
	}
	for (int k = 0; k < x->nseg; k++) {
		uint8_t *ph = b + 64 + k * 56;
		w32(ph, 1);
		w32(ph + 4, x->seg[k].flags);
		w64(ph + 8, segoff[k]);
		w64(ph + 16, x->seg[k].vaddr);
		w64(ph + 24, x->seg[k].paddr);
		w64(ph + 32, x->seg[k].size);
		w64(ph + 40, x->seg[k].size);
		w64(ph + 48, 0x1000);
		memset(b + segoff[k], 0xcc, x->seg[k].size);   /* int3 padding, like Linux between functions */
	}
	char *names = (char *)b + stroff;
	size_t npos = 1;
	for (int i = 0; i < x->nsec; i++) {
		const struct xsec *s = &x->sec[i];
		size_t len = (size_t)(s->end - s->data);
		memcpy(b + segoff[s->seg] + s->at, s->data, len);
		uint8_t *sh = b + shoff + (size_t)(i + 1) * 64;
		w32(sh, (uint32_t)npos);
		w32(sh + 4, s->type);
		w64(sh + 8, s->flags);
		w64(sh + 16, x->seg[s->seg].vaddr + s->at);
		w64(sh + 24, segoff[s->seg] + s->at);
		w64(sh + 32, len);
		w64(sh + 48, 1);
		strcpy(names + npos, s->name);
		npos += strlen(s->name) + 1;
	}
	uint8_t *sh = b + shoff + (size_t)(nsh - 1) * 64;
	w32(sh, (uint32_t)npos);
	w32(sh + 4, 3);
	w64(sh + 24, stroff);
	w64(sh + 32, strlen_);
	strcpy(names + npos, ".shstrtab");
	if (!x->no_sections) {
		w64(b + 40, shoff);
		w16(b + 58, 64);
		w16(b + 60, (uint16_t)nsh);
		w16(b + 62, (uint16_t)(nsh - 1));
	}
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, b, total) != (ssize_t)total || close(fd)) {
		perror(path);
		exit(1);
	}
	free(b);
}

static char tmpdir[64];

static const char *tpath(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

/* Linux-like layout: an R E text segment (.head.text, .text, .rodata), a percpu-like segment at vaddr 0
 * and an RWE init segment (.init.data, .altinstr_replacement). */
static struct xelf linux_like(void)
{
	struct xelf x = {
		.entry = 0x1000000, .nseg = 3, .nsec = 6,
		.seg = {
			{ 0x1000000, KMAP + 0x1000000, 0x3000, 5 },
			{ 0x1400000, 0, 0x1000, 6 },
			{ 0x1600000, KMAP + 0x1600000, 0x1000, 7 },
		},
		.sec = {
			{ ".head.text", 1, SHF_A | SHF_X, 0, 0, tr_vm, tr_vm_end },
			{ ".text", 1, SHF_A | SHF_X, 0, 0x1000, tr_text, tr_text_end },
			{ ".rodata", 1, SHF_A, 0, 0x2000, decoy_data, decoy_data + sizeof(decoy_data) },
			{ ".data..percpu", 1, SHF_A | SHF_W, 1, 0, decoy_data, decoy_data + sizeof(decoy_data) },
			{ ".init.data", 1, SHF_A | SHF_W, 2, 0, decoy_data, decoy_data + sizeof(decoy_data) },
			{ ".altinstr_replacement", 1, SHF_A | SHF_X, 2, 0x100, tr_alt, tr_alt_end },
		},
	};
	return x;
}

static struct guest_mem mem;

static int load(const char *kernel, struct load_info *info, struct rrvm_err *err)
{
	struct boot_config bc = { .kernel = kernel, .cmdline = "" };
	err->msg[0] = 0;
	memset(mem.base, 0, 32u << 20);
	int rc = loader__load(&mem, &bc, info, err);
	if (rc)
		fprintf(stderr, "  load %s: %s\n", kernel, err->msg);
	return rc;
}

/* The gpa where snippet byte `p` of section `i` lands. */
static uint64_t gpa_of(const struct xelf *x, int i, const uint8_t *p)
{
	const struct xsec *s = &x->sec[i];
	return x->seg[s->seg].paddr + s->at + (uint64_t)(p - s->data);
}

/* Every byte of section i is as built, except the listed sites, which hold the rewrite. */
static void check_section(const struct xelf *x, int i, const uint8_t *const *sites, const bool *tscp, int n)
{
	const struct xsec *s = &x->sec[i];
	size_t len = (size_t)(s->end - s->data);
	uint8_t *want = malloc(len);
	memcpy(want, s->data, len);
	for (int k = 0; k < n; k++) {
		size_t o = (size_t)(sites[k] - s->data);
		want[o] = 0xe5;
		want[o + 1] = tscp[k] ? RRVM_TSCP_PORT : RRVM_TSC_PORT;
		if (tscp[k])
			want[o + 2] = 0x90;
	}
	const uint8_t *got = mem__ptr(&mem, gpa_of(x, i, s->data), len);
	CHECK(got != NULL);
	if (got && memcmp(got, want, len)) {
		failures++;
		for (size_t o = 0; o < len; o++)
			if (got[o] != want[o])
				fprintf(stderr, "  %s+0x%zx: got %02x want %02x\n", s->name, o, got[o], want[o]);
	}
	checks++;
	free(want);
}

static void test_synthetic(void)
{
	struct load_info *info = calloc(1, sizeof(*info));
	struct rrvm_err err;
	struct xelf x = linux_like();
	const char *k = tpath("linux-like.elf");
	write_elf(k, &x);
	CHECK_EQ(load(k, info, &err), 0);
	CHECK_EQ(info->kind, KERNEL_LINUX_VMLINUX);
	CHECK_EQ(info->tsc_scanned, 1);
	/* .head.text 2 + 1, .text 3 + 1, .altinstr_replacement 1 + 1 */
	CHECK_EQ(info->rdtsc_sites, 6);
	CHECK_EQ(info->rdtscp_sites, 3);
	CHECK_EQ(info->tsc_nr_listed, 9);
	{
		const uint8_t *s[] = { tr_v1, tr_v2, tr_v3 };
		const bool t[] = { false, true, false };
		check_section(&x, 0, s, t, 3);
	}
	{
		const uint8_t *s[] = { tr_s1, tr_s2, tr_s3, tr_s4 };
		const bool t[] = { false, true, false, false };
		check_section(&x, 1, s, t, 4);
	}
	{
		const uint8_t *s[] = { tr_a1, tr_a2 };
		const bool t[] = { false, true };
		check_section(&x, 5, s, t, 2);
	}
	for (int i = 2; i <= 4; i++)   /* data sections: untouched */
		check_section(&x, i, NULL, NULL, 0);
	/* The site list: guest-physical address, length, kind and original bytes, in sweep order. */
	struct { int sec; const uint8_t *p; bool tscp; } want[] = {
		{ 0, tr_v1, false }, { 0, tr_v2, true }, { 0, tr_v3, false },
		{ 1, tr_s1, false }, { 1, tr_s2, true }, { 1, tr_s3, false }, { 1, tr_s4, false },
		{ 5, tr_a1, false }, { 5, tr_a2, true },
	};
	for (uint32_t i = 0; i < 9 && i < info->tsc_nr_listed; i++) {
		const struct tsc_site *t = &info->tsc_site[i];
		CHECK_EQ(t->gpa, gpa_of(&x, want[i].sec, want[i].p));
		CHECK_EQ(t->rdtscp, want[i].tscp);
		CHECK_EQ(t->len, want[i].tscp ? 3 : 2);
		CHECK(!memcmp(t->orig, want[i].tscp ? (const uint8_t[]){ 0x0f, 0x01, 0xf9 } : (const uint8_t[]){ 0x0f, 0x31 },
			      t->len));
	}

	/* A Linux kernel (by its note) without a section table: nothing is swept or touched, the
	 * load still works and says so (tsc_scanned 0). */
	x.no_sections = true;
	x.note = true;
	write_elf(k, &x);
	CHECK_EQ(load(k, info, &err), 0);
	CHECK_EQ(info->kind, KERNEL_LINUX_VMLINUX);
	CHECK_EQ(info->rdtsc_sites + info->rdtscp_sites, 0);
	CHECK_EQ(info->tsc_scanned, 0);
	check_section(&x, 1, NULL, NULL, 0);

	/* Not a Linux kernel (no .head.text, no note): an ELF test kernel is loaded as it is. */
	x = linux_like();
	x.sec[0].name = ".boot";
	x.entry = 0x1000000;
	write_elf(k, &x);
	CHECK_EQ(load(k, info, &err), 0);
	CHECK_EQ(info->kind, KERNEL_ELF_PVH);
	CHECK_EQ(info->rdtsc_sites + info->rdtscp_sites, 0);
	check_section(&x, 1, NULL, NULL, 0);
	free(info);
}

/* ---- a VM runs the rewritten sites ------------------------------------------------------------- */

static int test_vm(void)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("SKIP: /dev/kvm is not usable here\n");
		return 77;
	}
	struct xelf x = linux_like();
	const char *k = tpath("vm.elf");
	write_elf(k, &x);
	struct vm_config cfg = {
		.mem_size = 64ull << 20, .kernel = k, .append = "", .cpu_profile = "baseline",
		.clock = CLOCK_VIRTUAL, .console_out_fd = 1, .console_in_fd = -1,
	};
	struct vm *vm;
	struct rrvm_err err;
	int rc = vm__create(&vm, &cfg, &err);
	if (rc) {
		printf("SKIP: cannot create a VM: %s\n", err.msg);
		return 77;
	}
	CHECK_EQ(vm->load.rdtsc_sites, 6);
	CHECK_EQ(vm->load.rdtscp_sites, 3);
	rc = vm__run(vm);
	CHECK_EQ(rc, 0);
	printf("  vm stopped: %s (exits %llu)\n", vm->stop_msg, (unsigned long long)vm->exits);
	CHECK_EQ(vm->stop, VM_STOP_POWEROFF);
	uint64_t r[7];
	CHECK_EQ(mem__read(&vm->mem, 0x1100000, r, sizeof(r)), 0);
	printf("  rdtsc  rax %016llx rdx %016llx\n", (unsigned long long)r[0], (unsigned long long)r[1]);
	printf("  rdtscp rax %016llx rdx %016llx rcx %016llx\n", (unsigned long long)r[2], (unsigned long long)r[3],
	       (unsigned long long)r[4]);
	printf("  rdtsc  rax %016llx rdx %016llx\n", (unsigned long long)r[5], (unsigned long long)r[6]);
	/* EDX:EAX, upper halves of RAX/RDX/RCX zero as after the real instructions. */
	CHECK_EQ(r[1], 7);
	CHECK_EQ(r[3], 7);
	CHECK_EQ(r[6], 7);
	CHECK(r[0] >> 32 == 0 && r[2] >> 32 == 0 && r[5] >> 32 == 0);
	CHECK_EQ(r[4], 0x1234abcd);
	uint64_t t1 = r[1] << 32 | r[0], t2 = r[3] << 32 | r[2], t3 = r[6] << 32 | r[5];
	CHECK(t1 < t2 && t2 < t3);
	CHECK(t3 - t1 < 1000000000ull);   /* guest time: a few exits' worth of quanta */
	/* The last site: its value and its RIP (the IN itself, identity-mapped) are in vm->rdtsc_last. */
	CHECK(vm->rdtsc_last.valid);
	CHECK_EQ(vm->rdtsc_last.value, t3);
	CHECK_EQ(vm->rdtsc_last.rdtscp, 0);
	CHECK_EQ(vm->rdtsc_last.rip, gpa_of(&x, 0, tr_v3));
	vm__destroy(vm);
	return 0;
}

/* ---- Debian's kernel ----------------------------------------------------------------------------- */

static char *find_real_kernel(void)
{
	const char *env = getenv("RRVM_LINUX_VMLINUZ");
	if (env && *env)
		return strdup(env);
#ifdef RRVM_SOURCE_DIR
	glob_t g;
	if (glob(RRVM_SOURCE_DIR "/.cache/linux/*/vmlinuz", 0, NULL, &g) == 0 && g.gl_pathc) {
		char *p = strdup(g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
		return p;
	}
	globfree(&g);
#endif
	return NULL;
}

static int no_kernel(void)
{
	printf("***************************************************************\n"
	       "*** SKIPPED: Debian's cloud kernel is not cached: set RRVM_LINUX_VMLINUZ or run tools/fetch-linux.sh\n"
	       "***************************************************************\n");
	return 77;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size);
	size_t done = 0;
	while (b && done < (size_t)st.st_size) {
		ssize_t n = read(fd, b + done, (size_t)st.st_size - done);
		if (n <= 0) {
			free(b);
			b = NULL;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return b;
}

/* The bzImage payload, decompressed as the loader does it (for objdump). */
static int dump_vmlinux(const char *out)
{
	char *path = find_real_kernel();
	if (!path)
		return no_kernel();
	size_t len;
	uint8_t *f = read_all(path, &len);
	if (!f || len < 0x300) {
		printf("cannot read %s\n", path);
		return 1;
	}
	uint64_t setup = ((f[0x1f1] ? f[0x1f1] : 4) + 1) * 512ull;
	uint64_t poff = setup + (f[0x248] | f[0x249] << 8 | f[0x24a] << 16 | (uint64_t)f[0x24b] << 24);
	uint64_t plen = f[0x24c] | f[0x24d] << 8 | f[0x24e] << 16 | (uint64_t)f[0x24f] << 24;
	if (poff + plen > len || plen < 8) {
		printf("%s: bad payload bounds\n", path);
		return 1;
	}
	const uint8_t *p = f + poff;
	const char *fmt = decompress__detect(p, plen, NULL);
	size_t expect = p[plen - 4] | p[plen - 3] << 8 | p[plen - 2] << 16 | (size_t)p[plen - 1] << 24;
	size_t in_len = fmt && !strcmp(fmt, "gzip") ? plen : plen - 4;
	uint8_t *v;
	size_t vlen;
	struct rrvm_err err;
	if (decompress__buffer(path, p, in_len, poff, expect, 512u << 20, &v, &vlen, &err)) {
		printf("%s\n", err.msg);
		return 1;
	}
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = fd >= 0 && write(fd, v, vlen) == (ssize_t)vlen && !close(fd) ? 0 : 1;
	printf("%s: %s payload, vmlinux %zu bytes -> %s\n", path, fmt ? fmt : "?", vlen, out);
	free(v);
	free(f);
	free(path);
	return rc;
}

static int real_kernel(const char *list)
{
	char *path = find_real_kernel();
	if (!path)
		return no_kernel();
	struct load_info *info = calloc(1, sizeof(*info));
	struct rrvm_err err;
	if (!info || mem__init(&mem, 1ull << 30)) {
		free(info);
		free(path);
		return 1;
	}
	struct boot_config bc = { .kernel = path, .cmdline = "console=ttyS0" };
	int rc = loader__load(&mem, &bc, info, &err);
	if (rc) {
		printf("%s: %s\n", path, err.msg);
		return 1;
	}
	printf("%s: %u rdtsc and %u rdtscp sites rewritten (listed %u)\n", path, info->rdtsc_sites,
	       info->rdtscp_sites, info->tsc_nr_listed);
	CHECK_EQ(info->tsc_scanned, 1);
	CHECK_EQ(info->tsc_nr_listed, info->rdtsc_sites + info->rdtscp_sites);
	FILE *f = fopen(list, "w");
	for (uint32_t i = 0; f && i < info->tsc_nr_listed; i++) {
		const struct tsc_site *t = &info->tsc_site[i];
		uint64_t vaddr = 0;
		for (int s = 0; s < info->nr_segs; s++)
			if (t->gpa >= info->seg[s].gpa && t->gpa - info->seg[s].gpa < info->seg[s].size)
				vaddr = info->seg[s].vaddr + (t->gpa - info->seg[s].gpa);
		const uint8_t *now = mem__ptr(&mem, t->gpa, t->len);
		CHECK(now && now[0] == 0xe5 && now[1] == (t->rdtscp ? RRVM_TSCP_PORT : RRVM_TSC_PORT));
		fprintf(f, "%llx %s\n", (unsigned long long)vaddr, t->rdtscp ? "rdtscp" : "rdtsc");
	}
	if (!f || fclose(f)) {
		printf("cannot write %s\n", list);
		return 1;
	}
	free(info);
	free(path);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "--dump-vmlinux"))
		return dump_vmlinux(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "--real-kernel"))
		return real_kernel(argv[2]);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rrvm-rdtsc-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = 0;
	if (argc > 1 && !strcmp(argv[1], "--vm")) {
		rc = test_vm();
	} else {
		if (mem__init(&mem, 64ull << 20))
			return 1;
		test_synthetic();
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd)) { /* best effort */ }
	if (rc == 77)
		return 77;
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : rc;
}
