/* loader.c — kernel format dispatch, command line, initrd placement, PVH start_info and the memory map. */
#include "core/loader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PVH_START_MAGIC   0x336ec578u
#define PVH_START_SIZE    56
#define PVH_MODLIST_ADDR  (X86_BOOTINFO_ADDR + 64)   /* one hvm_modlist_entry (32 bytes) */
#define PVH_MEMMAP_ENTRY  24
#define GIB4              0x100000000ull
#define PAGE_MASK         (MEM_PAGE_SIZE - 1)

int ksrc__read(const struct ksrc *s, uint64_t off, void *dst, uint64_t len, const char *item,
	       struct rrvm_err *err)
{
	uint64_t end;
	if (__builtin_add_overflow(off, len, &end) || end > s->size)
		return err__set(err, -EINVAL, "%s: %s%s (offset 0x%llx, %llu bytes) extends past the end (%llu bytes)",
				s->path, s->what, item, (unsigned long long)off, (unsigned long long)len,
				(unsigned long long)s->size);
	if (s->buf) {
		if (len)
			memcpy(dst, s->buf + off, len);
		return 0;
	}
	for (uint64_t done = 0; done < len;) {
		size_t chunk = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
		ssize_t n = pread(s->fd, (uint8_t *)dst + done, chunk, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			return err__set(err, -EIO, "%s: reading %s at offset 0x%llx: %s", s->path, item,
					(unsigned long long)(off + done), strerror(e));
		}
		if (n == 0)
			return err__set(err, -EIO, "%s: truncated while reading %s (file ends at 0x%llx, expected 0x%llx)",
					s->path, item, (unsigned long long)(off + done), (unsigned long long)end);
		done += (uint64_t)n;
	}
	return 0;
}

void loader__hex_bytes(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = 0;
	for (size_t i = 0; i < n && i < 8 && pos + 4 <= outlen; i++)
		pos += (size_t)snprintf(out + pos, outlen - pos, i ? " %02x" : "%02x", p[i]);
}

static void memmap_add(struct memmap_entry *e, int *n, int max, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && *n < max)
		e[(*n)++] = (struct memmap_entry){ addr, size, type };
}

int loader__memmap(const struct guest_mem *m, struct memmap_entry *e, int max)
{
	int n = 0;
	uint64_t low_end = m->nr_regions ? m->region[0].size : 0;
	memmap_add(e, &n, max, 0, low_end < X86_EBDA_START ? low_end : X86_EBDA_START, MEMMAP_RAM);
	if (low_end > X86_EBDA_START)
		memmap_add(e, &n, max, X86_EBDA_START, X86_KERNEL_MIN_ADDR - X86_EBDA_START, MEMMAP_RESERVED);
	if (low_end > X86_KERNEL_MIN_ADDR)
		memmap_add(e, &n, max, X86_KERNEL_MIN_ADDR, low_end - X86_KERNEL_MIN_ADDR, MEMMAP_RAM);
	if (m->nr_regions > 1)
		memmap_add(e, &n, max, m->region[1].gpa, m->region[1].size, MEMMAP_RAM);
	return n;
}

/* Highest page-aligned place for `size` bytes below `limit` (exclusive) in
 * low RAM, above 1 MiB and outside [klo, khi). */
static int initrd_place(const struct guest_mem *m, const char *path, uint64_t size, uint64_t limit,
			uint64_t klo, uint64_t khi, uint64_t *gpa, struct rrvm_err *err)
{
	uint64_t low_end = m->nr_regions ? m->region[0].size : 0;
	uint64_t top = limit < low_end ? limit : low_end;
	uint64_t above = (khi + PAGE_MASK) & ~PAGE_MASK;
	if (above < X86_KERNEL_MIN_ADDR)
		above = X86_KERNEL_MIN_ADDR;
	if (size <= top && ((top - size) & ~PAGE_MASK) >= above) {
		*gpa = (top - size) & ~PAGE_MASK;
		return 0;
	}
	uint64_t below = klo < top ? klo : top;
	if (below >= X86_KERNEL_MIN_ADDR && size <= below - X86_KERNEL_MIN_ADDR &&
	    ((below - size) & ~PAGE_MASK) >= X86_KERNEL_MIN_ADDR) {
		*gpa = (below - size) & ~PAGE_MASK;
		return 0;
	}
	return err__set(err, -ENOMEM,
			"%s: initrd of %llu bytes does not fit in guest RAM (%llu MiB): the kernel uses "
			"[0x%llx, 0x%llx) and the initrd must end below 0x%llx", path, (unsigned long long)size,
			(unsigned long long)(m->size >> 20), (unsigned long long)klo, (unsigned long long)khi,
			(unsigned long long)top);
}

static int initrd_load(struct guest_mem *m, const char *path, uint64_t limit, uint64_t klo, uint64_t khi,
		       struct load_info *info, struct rrvm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = errno;
	if (fd < 0)
		return err__set(err, -e, "%s: cannot open initrd: %s", path, strerror(e));
	struct stat st;
	int rc;
	uint64_t gpa = 0;
	if (fstat(fd, &st)) {
		e = errno;
		rc = err__set(err, -e, "%s: cannot stat initrd: %s", path, strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err__set(err, -EINVAL, "%s: initrd is not a regular file", path);
		goto out;
	}
	if (st.st_size == 0) {
		rc = err__set(err, -EINVAL, "%s: initrd is empty", path);
		goto out;
	}
	if ((rc = initrd_place(m, path, (uint64_t)st.st_size, limit, klo, khi, &gpa, err)))
		goto out;
	struct ksrc src = { .path = path, .what = "", .fd = fd, .size = (uint64_t)st.st_size };
	uint8_t *dst = mem__ptr(m, gpa, src.size);
	if (!dst) {
		rc = err__set(err, -EFAULT, "%s: initrd place 0x%llx is not RAM", path, (unsigned long long)gpa);
		goto out;
	}
	if ((rc = ksrc__read(&src, 0, dst, src.size, "initrd", err)))
		goto out;
	info->initrd_gpa = gpa;
	info->initrd_size = src.size;
out:
	close(fd);
	return rc;
}

static int cmdline_write(struct guest_mem *m, const char *path, const char *cmdline, uint64_t max,
			 struct rrvm_err *err)
{
	size_t len = strlen(cmdline);
	if (max > X86_CMDLINE_MAX - 1)
		max = X86_CMDLINE_MAX - 1;
	if (len > max)
		return err__set(err, -E2BIG, "%s: command line is %zu bytes, this kernel accepts at most %llu", path,
				len, (unsigned long long)max);
	uint8_t *dst = mem__ptr(m, X86_CMDLINE_ADDR, X86_CMDLINE_MAX);
	if (!dst)
		return err__set(err, -ENOMEM, "%s: guest RAM too small for the command line at 0x%llx", path,
				(unsigned long long)X86_CMDLINE_ADDR);
	memset(dst, 0, X86_CMDLINE_MAX);
	memcpy(dst, cmdline, len);
	return 0;
}

/* hvm_start_info (Xen public/arch-x86/hvm/start_info.h), its module list and memmap. */
static int pvh_write(struct guest_mem *m, const char *path, const struct load_info *info, struct rrvm_err *err)
{
	uint8_t si[X86_MEMMAP_ADDR - X86_BOOTINFO_ADDR], mm[X86_ZEROPAGE_ADDR - X86_MEMMAP_ADDR];
	struct memmap_entry e[LOADER_MAX_MEMMAP];
	int n = loader__memmap(m, e, LOADER_MAX_MEMMAP);
	memset(si, 0, sizeof(si));
	memset(mm, 0, sizeof(mm));
	put_le32(si + 0, PVH_START_MAGIC);
	put_le32(si + 4, 1);                         /* version */
	put_le32(si + 8, 0);                         /* flags */
	put_le32(si + 12, info->initrd_size ? 1 : 0); /* nr_modules */
	put_le64(si + 16, info->initrd_size ? PVH_MODLIST_ADDR : 0);
	put_le64(si + 24, X86_CMDLINE_ADDR);
	put_le64(si + 32, 0);                        /* rsdp_paddr: no ACPI */
	put_le64(si + 40, X86_MEMMAP_ADDR);
	put_le32(si + 48, (uint32_t)n);
	if (info->initrd_size) {
		uint8_t *mod = si + (PVH_MODLIST_ADDR - X86_BOOTINFO_ADDR);
		put_le64(mod + 0, info->initrd_gpa);
		put_le64(mod + 8, info->initrd_size);
		put_le64(mod + 16, 0);               /* module command line */
	}
	for (int i = 0; i < n; i++) {
		put_le64(mm + PVH_MEMMAP_ENTRY * i, e[i].addr);
		put_le64(mm + PVH_MEMMAP_ENTRY * i + 8, e[i].size);
		put_le32(mm + PVH_MEMMAP_ENTRY * i + 16, e[i].type);
	}
	if (mem__write(m, X86_BOOTINFO_ADDR, si, sizeof(si)) || mem__write(m, X86_MEMMAP_ADDR, mm, sizeof(mm)))
		return err__set(err, -ENOMEM, "%s: guest RAM too small for the PVH start_info at 0x%llx", path,
				(unsigned long long)X86_BOOTINFO_ADDR);
	return 0;
}

/* Opens the kernel and loads it by format; on success fills lb for Linux. */
static int kernel_load(struct guest_mem *m, const char *path, struct load_info *info, struct linux_boot *lb,
		       struct rrvm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = errno;
	if (fd < 0)
		return err__set(err, -e, "%s: cannot open kernel: %s", path, strerror(e));
	struct stat st;
	int rc;
	if (fstat(fd, &st)) {
		e = errno;
		rc = err__set(err, -e, "%s: cannot stat kernel: %s", path, strerror(e));
		goto out;
	}
	if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
		rc = err__set(err, -EINVAL, "%s: kernel is not a regular file", path);
		goto out;
	}
	if (st.st_size == 0) {
		rc = err__set(err, -ENOEXEC, "%s: kernel file is empty", path);
		goto out;
	}
	struct ksrc src = { .path = path, .what = "", .fd = fd, .size = (uint64_t)st.st_size };
	uint8_t head[4096];
	size_t hlen = src.size < sizeof(head) ? (size_t)src.size : sizeof(head);
	if ((rc = ksrc__read(&src, 0, head, hlen, "header", err)))
		goto out;
	if (hlen >= 0x206 && !memcmp(head + 0x202, "HdrS", 4)) {
		info->kind = KERNEL_LINUX_BZIMAGE;
		rc = bzimage__load(m, &src, head, hlen, info, lb, err);
	} else if (hlen >= 4 && !memcmp(head, "\177ELF", 4)) {
		struct elf_kernel ek;
		if ((rc = elf__load(m, &src, false, &ek, info, err)))
			goto out;
		info->kind = ek.is_linux ? KERNEL_LINUX_VMLINUX : KERNEL_ELF_PVH;
		if (ek.is_linux)
			bzimage__init_bare(lb, &ek);
		lb->kernel_lo = ek.lo;
		lb->kernel_hi = ek.hi > lb->kernel_hi ? ek.hi : lb->kernel_hi;
	} else {
		char hex[40];
		loader__hex_bytes(head, hlen, hex, sizeof(hex));
		rc = err__set(err, -ENOEXEC, "%s: not an ELF64 kernel or a Linux bzImage (first bytes %s)", path, hex);
	}
out:
	close(fd);
	return rc;
}

int loader__load(struct guest_mem *m, const struct boot_config *bc, struct load_info *info,
		 struct rrvm_err *err)
{
	memset(info, 0, sizeof(*info));
	if (!bc || !bc->kernel)
		return err__set(err, -EINVAL, "no kernel given");
	struct linux_boot *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return err__set(err, -ENOMEM, "%s: out of memory", bc->kernel);
	int rc = kernel_load(m, bc->kernel, info, lb, err);
	if (rc)
		goto out;
	bool is_linux = info->kind != KERNEL_ELF_PVH;
	uint64_t cmax = is_linux ? lb->cmdline_max : X86_CMDLINE_MAX - 1;
	if ((rc = cmdline_write(m, bc->kernel, bc->cmdline ? bc->cmdline : "", cmax, err)))
		goto out;
	if (bc->initrd) {
		uint64_t limit = is_linux ? (uint64_t)lb->initrd_addr_max + 1 : GIB4;
		if ((rc = initrd_load(m, bc->initrd, limit, lb->kernel_lo, lb->kernel_hi, info, err)))
			goto out;
	}
	info->entry.rsp = X86_BOOT_STACK_TOP;
	if (is_linux) {
		rc = bzimage__finish(m, lb, info, X86_CMDLINE_ADDR, bc->kernel, err);
		info->entry.rsi = X86_ZEROPAGE_ADDR;
	} else {
		rc = pvh_write(m, bc->kernel, info, err);
		info->entry.rdi = info->entry.rbx = X86_BOOTINFO_ADDR;
	}
out:
	free(lb);
	return rc;
}
