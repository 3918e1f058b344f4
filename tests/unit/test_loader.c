/* test_loader.c — kernel loader unit tests: synthetic ELF64/PVH, vmlinux and bzImage (gzip, LZ4, xz)
 * images built here, hostile inputs (truncation, corruption), and Debian's kernel when it is present.
 *
 * Usage: test_loader                run the synthetic tests
 *        test_loader --real-kernel  load Debian's cloud vmlinuz (exit 77 when absent); the path comes
 *                                   from $RRVM_LINUX_VMLINUZ, else /tmp/lk/root/boot/vmlinuz-*, else
 *                                   <source>/.cache/linux/<release>/vmlinuz (tools/fetch-linux.sh) */
#include "loader_fixture.h"

/* ---- PVH and vmlinux ELF kernels ---------------------------------------------------------------- */

static void test_pvh(void)
{
	size_t off[4];
	struct buf b = build_elf(&pvh_kernel, off);
	const char *k = tpath("pvh.elf"), *rd = tpath("initrd");
	write_file(k, b.p, b.len);
	make_initrd(rd, 10000);

	struct load_info info;
	struct rrvm_err err;
	mem_reset(64u << 20);
	int rc = load(k, rd, "console=ttyS0 hello", &info, &err);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err.msg);
		goto out;
	}
	CHECK_EQ(info.kind, KERNEL_ELF_PVH);
	CHECK_EQ(info.entry.rip, 0x100010);
	CHECK_EQ(info.entry.rdi, X86_BOOTINFO_ADDR);
	CHECK_EQ(info.entry.rbx, X86_BOOTINFO_ADDR);
	CHECK_EQ(info.entry.rsi, 0);
	CHECK_EQ(info.entry.rsp, X86_BOOT_STACK_TOP);
	CHECK(info.compression[0] == 0);
	check_segments_in_memory(&pvh_kernel, &info);
	CHECK(initrd_ok(&info, 10000));
	CHECK_EQ(info.initrd_gpa, ((64u << 20) - 10000) & ~0xfffull);

	const uint8_t *si = gp(X86_BOOTINFO_ADDR, 56);
	CHECK_EQ(r32(si), 0x336ec578);
	CHECK_EQ(r32(si + 4), 1);
	CHECK_EQ(r32(si + 8), 0);
	CHECK_EQ(r32(si + 12), 1);
	uint64_t ml = r64(si + 16);
	CHECK_EQ(r64(si + 24), X86_CMDLINE_ADDR);
	CHECK_EQ(r64(si + 32), 0);
	CHECK_EQ(r64(si + 40), X86_MEMMAP_ADDR);
	CHECK_EQ(r32(si + 48), 3);
	CHECK_EQ(r32(si + 52), 0);
	const uint8_t *mod = gp(ml, 32);
	CHECK_EQ(r64(mod), info.initrd_gpa);
	CHECK_EQ(r64(mod + 8), 10000);
	CHECK_EQ(r64(mod + 16), 0);
	CHECK(!strcmp((const char *)gp(X86_CMDLINE_ADDR, 64), "console=ttyS0 hello"));
	uint64_t e[4][3];
	int n = expected_map(64u << 20, e);
	for (int i = 0; i < n; i++) {
		const uint8_t *t = gp(X86_MEMMAP_ADDR + 24 * i, 24);
		CHECK_EQ(r64(t), e[i][0]);
		CHECK_EQ(r64(t + 8), e[i][1]);
		CHECK_EQ(r32(t + 16), e[i][2]);
		CHECK_EQ(r32(t + 20), 0);
	}

	/* No initrd, no command line: no module, an empty string. */
	mem_reset(64u << 20);
	CHECK_EQ(load(k, NULL, NULL, &info, &err), 0);
	CHECK_EQ(r32(si + 12), 0);
	CHECK_EQ(r64(si + 16), 0);
	CHECK_EQ(gp(X86_CMDLINE_ADDR, 1)[0], 0);
	CHECK_EQ(info.initrd_size, 0);
out:
	buf_free(&b);
}

/* RAM above 3 GiB continues at 4 GiB: a fourth map entry; the initrd stays below 3 GiB. */
static void test_pvh_highmem(void)
{
	size_t off[4];
	struct buf b = build_elf(&pvh_kernel, off);
	const char *k = tpath("pvh.elf"), *rd = tpath("initrd");
	write_file(k, b.p, b.len);
	make_initrd(rd, 5000);
	uint64_t size = MEM_LOW_LIMIT + (8u << 20);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(size);
	CHECK_EQ(load(k, rd, "x", &info, &err), 0);
	CHECK_EQ(r32(gp(X86_BOOTINFO_ADDR + 48, 4)), 4);
	uint64_t e[4][3];
	int n = expected_map(size, e);
	CHECK_EQ(n, 4);
	for (int i = 0; i < n; i++) {
		const uint8_t *t = gp(X86_MEMMAP_ADDR + 24 * i, 24);
		CHECK_EQ(r64(t), e[i][0]);
		CHECK_EQ(r64(t + 8), e[i][1]);
		CHECK_EQ(r32(t + 16), e[i][2]);
	}
	CHECK_EQ(info.initrd_gpa, (MEM_LOW_LIMIT - 5000) & ~0xfffull);
	CHECK(initrd_ok(&info, 5000));
	mem__fini(&mem);
	buf_free(&b);
}

/* Link addresses: entry given as a kernel-map address; all p_paddr zero. */
static void test_pvh_vaddr(void)
{
	struct telf t = {
		.entry = KMAP + 0x1000040, .nseg = 3,
		.seg = {
			{ 0, KMAP + 0x1000000, 0x200, 0x200, PF_R | PF_X },
			{ 0, KMAP + 0x1200000, 0x80, 0x1000, PF_R | PF_W },
			{ 0, KMAP + 0x1400000, 0, 0x2000, PF_R | PF_W },   /* bss only */
		},
	};
	size_t off[4];
	struct buf b = build_elf(&t, off);
	w64(b.p + 64 + 2 * 56 + 8, UINT64_MAX);   /* p_offset is irrelevant with p_filesz 0 */
	const char *k = tpath("vaddr.elf");
	write_file(k, b.p, b.len);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(64u << 20);
	CHECK_EQ(load(k, NULL, NULL, &info, &err), 0);
	CHECK_EQ(info.kind, KERNEL_ELF_PVH);
	CHECK_EQ(info.entry.rip, 0x1000040);
	check_segments_in_memory(&t, &info);
	buf_free(&b);
}

static void check_bare_boot_params(const struct load_info *info, const char *cmdline, uint64_t size)
{
	const uint8_t *zp = gp(X86_ZEROPAGE_ADDR, 4096);
	CHECK_EQ(r16(zp + 0x1fe), 0xaa55);
	CHECK(!memcmp(zp + 0x202, "HdrS", 4));
	CHECK_EQ(r16(zp + 0x206), 0x020f);
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(zp[0x211] & 0x81, 0x81);
	CHECK_EQ(zp[0x211] & 0x42, 0);
	CHECK_EQ(r32(zp + 0x228), X86_CMDLINE_ADDR);
	CHECK_EQ(r32(zp + 0xc8), 0);
	CHECK_EQ(r32(zp + 0x218), (uint32_t)info->initrd_gpa);
	CHECK_EQ(r32(zp + 0x21c), (uint32_t)info->initrd_size);
	CHECK_EQ(r32(zp + 0xc0), 0);
	CHECK_EQ(r32(zp + 0xc4), 0);
	CHECK_EQ(r64(zp + 0x250), 0);
	CHECK_EQ(zp[0x1ef], 0);
	CHECK_EQ(r64(zp + 0x70), 0);   /* no ACPI RSDP */
	CHECK(!strcmp((const char *)gp(X86_CMDLINE_ADDR, 64), cmdline));
	check_e820(size);
}

static void test_vmlinux(void)
{
	size_t off[4];
	struct buf b = build_elf(&linux_kernel, off);
	const char *k = tpath("vmlinux"), *rd = tpath("initrd");
	write_file(k, b.p, b.len);
	make_initrd(rd, 70000);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(64u << 20);
	int rc = load(k, rd, "root=/dev/ram0", &info, &err);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err.msg);
		goto out;
	}
	CHECK_EQ(info.kind, KERNEL_LINUX_VMLINUX);
	CHECK_EQ(info.entry.rip, 0x1000000);
	CHECK_EQ(info.entry.rsi, X86_ZEROPAGE_ADDR);
	CHECK_EQ(info.entry.rdi, 0);
	check_segments_in_memory(&linux_kernel, &info);
	CHECK(initrd_ok(&info, 70000));
	CHECK_EQ(info.initrd_gpa, ((64u << 20) - 70000) & ~0xfffull);
	check_bare_boot_params(&info, "root=/dev/ram0", 64u << 20);

	/* Detected by its .head.text section alone. */
	struct telf t = linux_kernel;
	t.note = false;
	t.sections = true;
	buf_free(&b);
	b = build_elf(&t, off);
	write_file(k, b.p, b.len);
	mem_reset(64u << 20);
	CHECK_EQ(load(k, NULL, NULL, &info, &err), 0);
	CHECK_EQ(info.kind, KERNEL_LINUX_VMLINUX);
	CHECK_EQ(info.entry.rip, 0x1000000);

	/* Neither marker: a PVH kernel; the physical entry still resolves. */
	t.sections = false;
	buf_free(&b);
	b = build_elf(&t, off);
	write_file(k, b.p, b.len);
	mem_reset(64u << 20);
	CHECK_EQ(load(k, NULL, NULL, &info, &err), 0);
	CHECK_EQ(info.kind, KERNEL_ELF_PVH);
	CHECK_EQ(info.entry.rip, 0x1000000);
	CHECK_EQ(info.entry.rdi, X86_BOOTINFO_ADDR);
out:
	buf_free(&b);
}

static void test_bzimage(enum comp c)
{
	size_t off[4], pend;
	struct buf v = build_elf(&big_kernel, off);
	struct buf p = compress_as(c, &v);
	struct buf b = build_bzimage(&bz_default, &p, &pend);
	const char *k = tpath("bzImage"), *rd = tpath("initrd");
	write_file(k, b.p, b.len);
	make_initrd(rd, 100000);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(64u << 20);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = load(k, rd, "console=ttyS0 panic=-1", &info, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s: %s\n", comp_name[c], err.msg);
		goto out;
	}
	printf("  bzImage/%s: %zu -> %zu bytes in %.1f ms\n", comp_name[c], p.len, v.len,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	CHECK_EQ(info.kind, KERNEL_LINUX_BZIMAGE);
	CHECK(!strcmp(info.compression, comp_name[c]));
	CHECK_EQ(info.entry.rip, 0x1000000);
	CHECK_EQ(info.entry.rsi, X86_ZEROPAGE_ADDR);
	check_segments_in_memory(&big_kernel, &info);
	CHECK(initrd_ok(&info, 100000));
	CHECK_EQ(info.initrd_gpa, ((64u << 20) - 100000) & ~0xfffull);
	CHECK(info.initrd_gpa >= 0x1000000 + bz_default.init_size);

	const uint8_t *zp = gp(X86_ZEROPAGE_ADDR, 4096);
	CHECK(!memcmp(zp + 0x1f1, b.p + 0x1f1, 0x210 - 0x1f1));   /* copied up to type_of_loader */
	CHECK_EQ(r16(zp + 0x1fa), 0xfffd);
	CHECK_EQ(r16(zp + 0x20e), 0x1234);
	CHECK_EQ(r32(zp + 0x24c), p.len);
	CHECK_EQ(r64(zp + 0x258), 0x1000000);
	CHECK_EQ(r32(zp + 0x260), bz_default.init_size);
	CHECK_EQ(r32(zp + 0x224), 0xfe00 - 0x200);
	CHECK_EQ(zp[0x26c], 0);   /* nothing past the header's end */
	CHECK_EQ(r16(zp + 0x206), 0x020f);
	check_bare_boot_params(&info, "console=ttyS0 panic=-1", 64u << 20);
out:
	buf_free(&v);
	buf_free(&p);
	buf_free(&b);
}

/* initrd_addr_max below the kernel's init_size extent: the initrd goes under the kernel. */
static void test_bzimage_initrd_limits(void)
{
	size_t off[4], pend;
	struct buf v = build_elf(&linux_kernel, off);
	struct buf p = compress_gzip(&v);
	struct tbz t = bz_default;
	t.initrd_addr_max = 0x2ffffff;
	struct buf b = build_bzimage(&t, &p, &pend);
	const char *k = tpath("bzImage"), *rd = tpath("initrd");
	write_file(k, b.p, b.len);
	make_initrd(rd, 1u << 20);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(64u << 20);
	CHECK_EQ(load(k, rd, NULL, &info, &err), 0);
	CHECK_EQ(info.initrd_gpa, 0x1000000 - (1u << 20));
	CHECK(initrd_ok(&info, 1u << 20));

	/* Limit above the kernel: highest page below initrd_addr_max + 1. */
	t.initrd_addr_max = 0x37ffffff;
	t.init_size = 0x100000;
	buf_free(&b);
	b = build_bzimage(&t, &p, &pend);
	write_file(k, b.p, b.len);
	mem_reset(1u << 30);
	CHECK_EQ(load(k, rd, NULL, &info, &err), 0);
	CHECK_EQ(info.initrd_gpa, 0x38000000 - (1u << 20));
	mem__fini(&mem);

	/* Too large for what is left: a clear message. */
	mem_reset(64u << 20);
	const char *big = tpath("big-initrd");
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 70u << 20) == 0);
	close(fd);
	expect_fail(64u << 20, k, big, NULL, big, "does not fit in guest RAM");
	unlink(big);
	buf_free(&v);
	buf_free(&p);
	buf_free(&b);
}

/* decompress__buffer on its own: growth without a known size, concatenated LZ4 frames. */
static void test_decompress(void)
{
	size_t off[4];
	struct buf v = build_elf(&big_kernel, off);
	struct buf l = compress_lz4(&v);
	l.len -= 4;   /* no trailer */
	uint8_t *out;
	size_t n;
	struct rrvm_err err;
	CHECK_EQ(decompress__buffer("x", l.p, l.len, 0, 0, 64u << 20, &out, &n, &err), 0);
	CHECK_EQ(n, v.len);
	CHECK(out && !memcmp(out, v.p, v.len));
	free(out);
	/* Too small a cap: an error, not an overflow. */
	CHECK(decompress__buffer("x", l.p, l.len, 0, 0, 1u << 20, &out, &n, &err) < 0);
	CHECK(strstr(err.msg, "x: lz4") != NULL);
	/* Two frames back to back decode as one stream. */
	struct buf two = { 0 };
	buf_append(&two, l.p, l.len);
	buf_append(&two, l.p, l.len);
	CHECK_EQ(decompress__buffer("x", two.p, two.len, 0, 2 * v.len, 64u << 20, &out, &n, &err), 0);
	CHECK_EQ(n, 2 * v.len);
	free(out);
	struct buf g = compress_gzip(&v);
	CHECK_EQ(decompress__buffer("x", g.p, g.len, 0, 0, 64u << 20, &out, &n, &err), 0);
	CHECK_EQ(n, v.len);
	free(out);
	CHECK(decompress__buffer("x", g.p, g.len, 0, 0, v.len - 1, &out, &n, &err) < 0);
	CHECK_EQ(decompress__buffer("x", g.p, g.len, 0, v.len, v.len, &out, &n, &err), 0);
	free(out);
	bool ok;
	CHECK(!strcmp(decompress__detect((const uint8_t *)"\x28\xb5\x2f\xfd", 4, &ok), "zstd") && !ok);
	CHECK(decompress__detect((const uint8_t *)"ABCD", 4, &ok) == NULL);
	buf_free(&two);
	buf_free(&g);
	buf_free(&v);
	buf_free(&l);
}

/* ---- hostile inputs ----------------------------------------------------------------------------- */

/* Writes img with `patch` applied: len bytes of `val` (little-endian) at off. */
static const char *patched(const struct buf *img, size_t off, uint64_t val, int len)
{
	struct buf c = { 0 };
	buf_append(&c, img->p, img->len);
	for (int i = 0; i < len; i++)
		c.p[off + i] = (uint8_t)(val >> (8 * i));
	const char *k = tpath("patched");
	write_file(k, c.p, c.len);
	buf_free(&c);
	return k;
}

static void test_hostile_elf(void)
{
	const uint64_t M64 = 64u << 20;
	const char *k = tpath("k");
	expect_fail(M64, tpath("does-not-exist"), NULL, NULL, "does-not-exist", "cannot open kernel");
	write_file(k, "", 0);
	expect_fail(M64, k, NULL, NULL, k, "empty");
	write_file(k, "hello world, not a kernel", 25);
	expect_fail(M64, k, NULL, NULL, k, "not an ELF64 kernel or a Linux bzImage (first bytes 68 65 6c 6c");
	expect_fail(M64, tmpdir, NULL, NULL, tmpdir, "not a regular file");
	write_file(k, "\177EL", 3);
	expect_fail(M64, k, NULL, NULL, k, "not an ELF64 kernel or a Linux bzImage (first bytes 7f 45 4c)");
	write_file(k, "\177ELF\2\1\1\0\0\0\0\0", 12);
	expect_fail(M64, k, NULL, NULL, k, "truncated ELF header");

	size_t off[4];
	struct buf b = build_elf(&pvh_kernel, off);
	const size_t ph0 = 64, ph1 = 64 + 56;
	expect_fail(M64, patched(&b, 4, 1, 1), NULL, NULL, "patched", "32-bit ELF");
	expect_fail(M64, patched(&b, 5, 2, 1), NULL, NULL, "patched", "not little-endian");
	expect_fail(M64, patched(&b, 18, 3, 2), NULL, NULL, "patched", "ELF machine 3 is not x86-64");
	expect_fail(M64, patched(&b, 16, 3, 2), NULL, NULL, "patched", "not an executable");
	expect_fail(M64, patched(&b, 54, 32, 2), NULL, NULL, "patched", "program header size 32");
	expect_fail(M64, patched(&b, 56, 0, 2), NULL, NULL, "patched", "0 program headers");
	expect_fail(M64, patched(&b, 56, 0xffff, 2), NULL, NULL, "patched", "65535 program headers");
	expect_fail(M64, patched(&b, 32, 1u << 20, 8), NULL, NULL, "patched", "program header table");
	expect_fail(M64, patched(&b, 32, UINT64_MAX - 60, 8), NULL, NULL, "patched", "program header table");
	expect_fail(M64, patched(&b, ph0 + 8, b.len, 8), NULL, NULL, "patched", "segment 0 (file offset");
	expect_fail(M64, patched(&b, ph0 + 8, UINT64_MAX - 4, 8), NULL, NULL, "patched", "extends past the end");
	expect_fail(M64, patched(&b, ph1 + 32, 0x4000, 8), NULL, NULL, "patched", "p_filesz 0x4000 > p_memsz");
	expect_fail(M64, patched(&b, ph1 + 24, 0x8000000, 8), NULL, NULL, "patched",
		    "needs RAM up to 0x8003000, guest has 64 MiB");
	expect_fail(M64, patched(&b, ph1 + 24, 0x3fffff000ull, 8), NULL, NULL, "patched", "above 4 GiB");
	expect_fail(M64, patched(&b, ph1 + 24, UINT64_MAX - 0xfff, 8), NULL, NULL, "patched", "overflows");
	expect_fail(M64, patched(&b, ph1 + 24, 0x7000, 8), NULL, NULL, "patched", "below 1 MiB");
	expect_fail(M64, patched(&b, ph1 + 24, 0x101000, 8), NULL, NULL, "patched", "segments 0 and 1 overlap");
	expect_fail(M64, patched(&b, 24, 0x300000, 8), NULL, NULL, "patched", "entry point 0x300000");
	expect_fail(M64, patched(&b, 24, 0x200000, 8), NULL, NULL, "patched", "not inside an executable segment");
	/* Text segment turned into PT_NULL: the entry is left in no executable segment. */
	expect_fail(M64, patched(&b, ph0, 0, 4), NULL, NULL, "patched",
		    "entry point 0x100010 is not inside an executable segment");
	struct buf none = { 0 };
	buf_append(&none, b.p, b.len);
	w32(none.p + ph0, 0);
	w32(none.p + ph1, 4);
	write_file(k, none.p, none.len);
	expect_fail(M64, k, NULL, NULL, k, "no loadable segments");
	buf_free(&none);

	/* 17 loadable segments. */
	struct buf many = { 0 };
	uint8_t *eh = buf_at(&many, 0, 64 + 17 * 56 + 16);
	memcpy(eh, b.p, 64);
	w16(eh + 56, 17);
	for (int i = 0; i < 17; i++) {
		uint8_t *ph = many.p + 64 + 56 * i;
		w32(ph, 1);
		w32(ph + 4, PF_R | PF_X);
		w64(ph + 8, 64 + 17 * 56);
		w64(ph + 24, 0x100000 + 0x1000 * i);
		w64(ph + 32, 16);
		w64(ph + 40, 16);
	}
	write_file(k, many.p, many.len);
	expect_fail(M64, k, NULL, NULL, k, "more than 16 loadable segments");
	buf_free(&many);

	write_file(k, b.p, b.len);
	expect_fail(M64, k, tpath("no-initrd"), NULL, "no-initrd", "cannot open initrd");
	const char *rd = tpath("empty-initrd");
	write_file(rd, "", 0);
	expect_fail(M64, k, rd, NULL, rd, "initrd is empty");
	char *longcl = malloc(5001);
	memset(longcl, 'a', 5000);
	longcl[5000] = 0;
	expect_fail(M64, k, NULL, longcl, k, "command line is 5000 bytes, this kernel accepts at most 4095");
	free(longcl);
	expect_fail(1u << 20, k, NULL, NULL, k, "needs RAM up to 0x101234, guest has 1 MiB");
	buf_free(&b);
}

static void test_hostile_bzimage(void)
{
	const uint64_t M64 = 64u << 20;
	size_t off[4], pend;
	struct buf v = build_elf(&linux_kernel, off);
	struct buf g = compress_gzip(&v), l = compress_lz4(&v);
	struct buf b = build_bzimage(&bz_default, &g, &pend), bl = build_bzimage(&bz_default, &l, &pend);
	const size_t poff = 4 * 512 + 0x200;

	expect_fail(M64, patched(&b, 0x206, 0x20b, 2), NULL, NULL, "patched",
		    "boot protocol 2.11 is too old: the 64-bit entry needs 2.12");
	expect_fail(M64, patched(&b, 0x236, 0, 2), NULL, NULL, "patched", "no 64-bit entry point (xloadflags 0x0)");
	expect_fail(M64, patched(&b, 0x211, 0, 1), NULL, NULL, "patched", "zImage");
	expect_fail(M64, patched(&b, 0x201, 0x40, 1), NULL, NULL, "patched", "setup header ends at 0x242");
	expect_fail(M64, patched(&b, 0x24c, g.len + 0x400, 4), NULL, NULL, "patched",
		    "truncated bzImage: payload (file offset 0x");
	expect_fail(M64, patched(&b, 0x248, 0xfffffff0, 4), NULL, NULL, "patched", "truncated bzImage: payload");
	expect_fail(M64, patched(&b, 0x24c, 3, 4), NULL, NULL, "patched", "payload length 3 is too short");
	expect_fail(M64, patched(&b, 0x1f1, 200, 1), NULL, NULL, "patched", "truncated bzImage: 102912 setup bytes");
	expect_fail(M64, patched(&b, poff, 0x44434241, 4), NULL, NULL, "patched",
		    "bzImage payload uses an unsupported compression (magic 41 42 43 44)");
	expect_fail(M64, patched(&b, poff, 0xfd2fb528, 4), NULL, NULL, "patched",
		    "unsupported compression (zstd, magic 28 b5 2f fd)");
	expect_fail(M64, patched(&b, poff + g.len / 2, 0xdeadbeef, 4), NULL, NULL, "patched",
		    "gzip decompression failed at input offset 0x");
	expect_fail(M64, patched(&b, poff + g.len - 4, v.len + 1, 4), NULL, NULL, "patched",
		    "gzip decompression failed at input offset 0x");   /* ISIZE is gzip's own */
	expect_fail(M64, patched(&bl, poff + l.len - 4, v.len + 1, 4), NULL, NULL, "patched",
		    "its size trailer says");
	expect_fail(M64, patched(&bl, poff + l.len - 4, v.len - 1, 4), NULL, NULL, "patched", "lz4");
	expect_fail(M64, patched(&bl, poff + l.len - 4, 0xffffffff, 4), NULL, NULL, "patched", "more than the");
	expect_fail(M64, patched(&bl, poff + 4, 0x7fffffff, 4), NULL, NULL, "patched",
		    "lz4 block at offset 0xa04 has an invalid size");
	expect_fail(M64, patched(&bl, poff + 4, l.len, 4), NULL, NULL, "patched", "payload truncated");

	/* Payloads that decompress to something other than an ELF64 vmlinux. */
	struct buf junk = { 0 };
	buf_append(&junk, "this is not an ELF file at all", 30);
	struct buf jp = compress_gzip(&junk), jb = build_bzimage(&bz_default, &jp, &pend);
	write_file(tpath("jb"), jb.p, jb.len);
	expect_fail(M64, tpath("jb"), NULL, NULL, "jb", "decompressed payload: not an ELF file (first bytes 74 68");
	struct buf v32 = { 0 };
	buf_append(&v32, v.p, v.len);
	v32.p[4] = 1;
	struct buf p32 = compress_lz4(&v32), b32 = build_bzimage(&bz_default, &p32, &pend);
	write_file(tpath("b32"), b32.p, b32.len);
	expect_fail(M64, tpath("b32"), NULL, NULL, "b32", "decompressed payload: 32-bit ELF");

	/* Command line longer than the header's cmdline_size. */
	const char *k = patched(&b, 0x238, 16, 4);
	expect_fail(M64, k, NULL, "console=ttyS0 quiet", k, "command line is 19 bytes, this kernel accepts at most 16");
	/* Truncated inside the setup header and the setup sectors. */
	write_file(tpath("cut"), b.p, 0x230);
	expect_fail(M64, tpath("cut"), NULL, NULL, "cut", "truncated bzImage: the setup header ends at 0x26c");
	write_file(tpath("cut"), b.p, 0x300);
	expect_fail(M64, tpath("cut"), NULL, NULL, "cut", "truncated bzImage: 2048 setup bytes");

	buf_free(&junk), buf_free(&jp), buf_free(&jb), buf_free(&v32), buf_free(&p32), buf_free(&b32);
	buf_free(&v), buf_free(&g), buf_free(&l), buf_free(&b), buf_free(&bl);
}

/* Every cut below `required` must fail with a message; cuts above may succeed. */
static void sweep_truncation(const char *name, const struct buf *img, size_t required)
{
	const char *k = tpath(name);
	struct load_info info;
	struct rrvm_err err;
	int bad = 0, tried = 0;
	mem_reset(64u << 20);
	for (size_t cut = 0; cut < img->len; cut += cut < 1024 ? 1 : img->len / 300 + 1) {
		write_file(k, img->p, cut);
		int rc = load(k, NULL, NULL, &info, &err);
		tried++;
		if (cut < required && (rc >= 0 || !strstr(err.msg, k))) {
			if (bad++ < 5)
				fprintf(stderr, "%s cut at %zu: rc %d msg \"%s\"\n", name, cut, rc, err.msg);
		}
	}
	write_file(k, img->p, required - 1);
	CHECK(load(k, NULL, NULL, &info, &err) < 0 && err.msg[0]);
	checks++;
	failures += bad != 0;
	printf("  truncation %s: %d cuts\n", name, tried);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	static bool seeded;
	if (!seeded && getenv("RRVM_TEST_FUZZ_SEED"))
		rng_state ^= strtoull(getenv("RRVM_TEST_FUZZ_SEED"), NULL, 0) * 0x2545f4914f6cdd1dull;
	seeded = true;
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random byte corruption: never a crash; failures carry a message, successes are sane. */
static void fuzz(const char *name, const struct buf *img, int iters, size_t hot)
{
	const char *k = tpath(name);
	struct load_info info;
	struct rrvm_err err;
	struct buf c = { 0 };
	buf_append(&c, img->p, img->len);
	int ok = 0, bad = 0;
	const char *scale = getenv("RRVM_TEST_FUZZ_SCALE");   /* longer runs by hand */
	if (scale && atoi(scale) > 1)
		iters *= atoi(scale);
	mem_reset(64u << 20);
	for (int it = 0; it < iters; it++) {
		memcpy(c.p, img->p, img->len);
		int flips = 1 + (int)(rng() % 4);
		for (int f = 0; f < flips; f++) {
			size_t range = (it & 1) && hot < img->len ? hot : img->len;
			c.p[rng() % range] ^= (uint8_t)(1 + rng() % 255);
		}
		write_file(k, c.p, c.len);
		int rc = load(k, NULL, NULL, &info, &err);
		if (rc < 0) {
			if (!err.msg[0] || !strstr(err.msg, k)) {
				if (bad++ < 5)
					fprintf(stderr, "%s iteration %d: rc %d without a proper message \"%s\"\n", name,
						it, rc, err.msg);
			}
			continue;
		}
		ok++;
		bool sane = info.nr_segs >= 1 && info.nr_segs <= LOADER_MAX_SEGMENTS;
		bool in_seg = false;
		for (int i = 0; sane && i < info.nr_segs; i++)
			in_seg |= info.entry.rip >= info.seg[i].gpa &&
				  info.entry.rip - info.seg[i].gpa < info.seg[i].size && (info.seg[i].flags & PF_X);
		if (!sane || !in_seg) {
			if (bad++ < 5)
				fprintf(stderr, "%s iteration %d: loaded with bad info (segs %d rip 0x%llx)\n", name, it,
					info.nr_segs, (unsigned long long)info.entry.rip);
		}
	}
	checks++;
	failures += bad != 0;
	printf("  corruption %s: %d runs, %d still loaded\n", name, iters, ok);
	buf_free(&c);
}

static void test_sweeps(void)
{
	size_t off[4], pend;
	struct buf e = build_elf(&pvh_kernel, off), v = build_elf(&linux_kernel, off);
	struct buf g = compress_gzip(&v), l = compress_lz4(&v);
	struct buf bg = build_bzimage(&bz_default, &g, &pend);
	sweep_truncation("t-pvh", &e, e.len);
	sweep_truncation("t-vmlinux", &v, v.len);
	sweep_truncation("t-bz-gzip", &bg, pend);
	fuzz("f-pvh", &e, 1500, 64 + 3 * 56);
	fuzz("f-vmlinux", &v, 1500, 64 + 4 * 56 + 24);
	fuzz("f-bz-gzip", &bg, 1500, 0x300);
	buf_free(&bg);
	struct buf bl = build_bzimage(&bz_default, &l, &pend);
	sweep_truncation("t-bz-lz4", &bl, pend);
	fuzz("f-bz-lz4", &bl, 1500, 0x300);
	/* Corrupt anywhere, the compressed stream included. */
	fuzz("f-bz-lz4-payload", &bl, 800, bl.len);
#ifdef RRVM_HAVE_LZMA
	struct buf x = compress_xz(&v), bx = build_bzimage(&bz_default, &x, &pend);
	sweep_truncation("t-bz-xz", &bx, pend);
	fuzz("f-bz-xz", &bx, 800, bx.len);
	buf_free(&x), buf_free(&bx);
#endif
	buf_free(&bl), buf_free(&e), buf_free(&v), buf_free(&g), buf_free(&l);
}

/* ---- Debian's kernel ---------------------------------------------------------------------------- */

static char *find_real_kernel(void)
{
	const char *env = getenv("RRVM_LINUX_VMLINUZ");
	if (env && *env)
		return strdup(env);
	static const char *const patterns[] = {
		"/tmp/lk/root/boot/vmlinuz-*",
#ifdef RRVM_SOURCE_DIR
		RRVM_SOURCE_DIR "/.cache/linux/*/vmlinuz",
#endif
	};
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		glob_t g;
		if (glob(patterns[i], 0, NULL, &g) == 0 && g.gl_pathc) {
			char *p = strdup(g.gl_pathv[g.gl_pathc - 1]);
			globfree(&g);
			return p;
		}
		globfree(&g);
	}
	return NULL;
}

static int test_real_kernel(void)
{
	char *path = find_real_kernel();
	if (!path) {
		printf("SKIP: no Debian kernel found (set RRVM_LINUX_VMLINUZ, run tools/fetch-linux.sh, or "
		       "`apt-get download linux-image-<version>-cloud-amd64` and `dpkg -x` it into /tmp/lk/root)\n");
		return 77;
	}
	uint8_t h[0x300];
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		printf("SKIP: cannot read %s\n", path);
		free(path);
		return 77;
	}
	uint64_t setup = ((h[0x1f1] ? h[0x1f1] : 4) + 1) * 512ull;
	uint64_t poff = setup + r32(h + 0x248), plen = r32(h + 0x24c);
	uint8_t magic[4], trailer[4];
	CHECK(pread(fd, magic, 4, (off_t)poff) == 4 && pread(fd, trailer, 4, (off_t)(poff + plen - 4)) == 4);
	close(fd);
	uint64_t pref = r64(h + 0x258), init_size = r32(h + 0x260);
	printf("  %s: %llu bytes, boot protocol %u.%02u, xloadflags 0x%x, pref_address 0x%llx, init_size 0x%llx\n",
	       path, (unsigned long long)st.st_size, h[0x207], h[0x206], r16(h + 0x236), (unsigned long long)pref,
	       (unsigned long long)init_size);
	printf("  payload at 0x%llx, %llu bytes, magic %02x %02x %02x %02x, decompressed size %u\n",
	       (unsigned long long)poff, (unsigned long long)plen, magic[0], magic[1], magic[2], magic[3],
	       r32(trailer));

	const char *rd = tpath("initrd");
	make_initrd(rd, 1u << 20);
	struct load_info info;
	struct rrvm_err err;
	mem_reset(1u << 30);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = load(path, rd, "console=ttyS0 nolapic", &info, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err.msg);
		free(path);
		return 1;
	}
	printf("  loaded in %.1f ms: compression %s, entry 0x%llx, %d segments\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, info.compression,
	       (unsigned long long)info.entry.rip, info.nr_segs);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info.nr_segs; i++) {
		const struct loaded_segment *s = &info.seg[i];
		printf("    gpa 0x%08llx size 0x%08llx vaddr 0x%016llx %c%c%c\n", (unsigned long long)s->gpa,
		       (unsigned long long)s->size, (unsigned long long)s->vaddr, s->flags & PF_R ? 'R' : '-',
		       s->flags & PF_W ? 'W' : '-', s->flags & PF_X ? 'X' : '-');
		lo = s->gpa < lo ? s->gpa : lo;
		hi = s->gpa + s->size > hi ? s->gpa + s->size : hi;
	}
	CHECK_EQ(info.kind, KERNEL_LINUX_BZIMAGE);
	CHECK(!strcmp(info.compression, decompress__detect(magic, 4, NULL)));
	/* startup_64 is the first byte of the image: e_entry == _text == LOAD_PHYSICAL_ADDR. */
	CHECK_EQ(info.entry.rip, pref);
	CHECK_EQ(info.entry.rip, lo);
	CHECK(info.nr_segs >= 1 && (info.seg[0].flags & PF_X) && info.seg[0].gpa == info.entry.rip);
	CHECK_EQ(info.seg[0].vaddr, KMAP + info.entry.rip);
	CHECK_EQ(info.entry.rsi, X86_ZEROPAGE_ADDR);
	const uint8_t *code = gp(info.entry.rip, 16);
	printf("  bytes at entry:");
	for (int i = 0; i < 16; i++)
		printf(" %02x", code[i]);
	/* Linux 6.1's startup_64 opens with leaq (__end_init_task - PTREGS_SIZE)(%rip), %rsp. */
	printf("%s\n", code[0] == 0x48 && code[1] == 0x8d && code[2] == 0x25 ? "  (leaq disp32(%rip), %rsp)" : "");
	CHECK(info.initrd_gpa >= lo + init_size && info.initrd_gpa >= hi);
	CHECK(initrd_ok(&info, 1u << 20));
	const uint8_t *zp = gp(X86_ZEROPAGE_ADDR, 4096);
	CHECK(!memcmp(zp + 0x202, "HdrS", 4));
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(r32(zp + 0x228), X86_CMDLINE_ADDR);
	check_e820(1u << 30);
	printf("  initrd at 0x%llx; kernel uses [0x%llx, 0x%llx) with init_size\n",
	       (unsigned long long)info.initrd_gpa, (unsigned long long)lo, (unsigned long long)(lo + init_size));
	mem__fini(&mem);
	free(path);
	return failures ? 1 : 0;
}

/* ---- main --------------------------------------------------------------------------------------- */

static void cleanup(void)
{
	static const char *const names[] = { "pvh.elf", "initrd", "vaddr.elf", "vmlinux", "bzImage", "big-initrd",
					     "patched", "k", "empty-initrd", "jb", "b32", "cut", "t-pvh", "t-vmlinux",
					     "t-bz-gzip", "t-bz-lz4", "t-bz-xz", "f-pvh", "f-vmlinux", "f-bz-gzip",
					     "f-bz-lz4", "f-bz-lz4-payload", "f-bz-xz" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tpath(names[i]));
	if (rmdir(tmpdir))
		fprintf(stderr, "note: %s left behind: %s\n", tmpdir, strerror(errno));
}

/* The loader fuzz target's seeds (tests/fuzz/fuzz_loader.c: a mode byte, then the image): the kernels
 * these tests build, as files in dir. */
static void seed(const char *dir, const char *name, uint8_t mode, const struct buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f && fputc(mode, f) == mode && fwrite(b->p, 1, b->len, f) == b->len);
	if (f)
		CHECK(fclose(f) == 0);
}

static void write_seeds(const char *dir)
{
	size_t off[4], pend;
	struct buf pvh = build_elf(&pvh_kernel, off), lx = build_elf(&linux_kernel, off);
	seed(dir, "pvh-elf", 0, &pvh);
	seed(dir, "pvh-elf-initrd", 1, &pvh);
	seed(dir, "vmlinux", 3, &lx);
	for (enum comp c = COMP_GZIP; c <= COMP_XZ; c++) {
#ifndef RRVM_HAVE_LZMA
		if (c == COMP_XZ)
			break;
#endif
		char name[64];
		struct buf p = compress_as(c, &lx);
		struct buf bz = build_bzimage(&bz_default, &p, &pend);
		snprintf(name, sizeof(name), "bzimage-%s", comp_name[c]);
		seed(dir, name, 1, &bz);
		snprintf(name, sizeof(name), "payload-%s", comp_name[c]);
		seed(dir, name, 4, &p);
		buf_free(&bz);
		buf_free(&p);
	}
	buf_free(&pvh);
	buf_free(&lx);
	printf("test_loader: seeds written to %s (%d failures)\n", dir, failures);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rrvm-test-loader-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc > 2 && !strcmp(argv[1], "--write-seeds")) {
		write_seeds(argv[2]);
		cleanup();
		return failures ? 1 : 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--real-kernel")) {
		int rc = test_real_kernel();
		cleanup();
		printf("%d checks, %d failures\n", checks, failures);
		return rc;
	}
	printf("test_loader: PVH\n");
	test_pvh();
	test_pvh_highmem();
	test_pvh_vaddr();
	printf("test_loader: vmlinux\n");
	test_vmlinux();
	printf("test_loader: bzImage\n");
	test_bzimage(COMP_GZIP);
	test_bzimage(COMP_LZ4);
#ifdef RRVM_HAVE_LZMA
	test_bzimage(COMP_XZ);
#else
	printf("  xz: not built (no liblzma)\n");
#endif
	test_bzimage_initrd_limits();
	test_decompress();
	printf("test_loader: hostile inputs\n");
	test_hostile_elf();
	test_hostile_bzimage();
	test_sweeps();
	if (mem.base)
		mem__fini(&mem);
	cleanup();
	printf("test_loader: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
