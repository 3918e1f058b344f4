/* elf.c — ELF64 x86-64 kernels: header checks, PT_LOAD segments into guest RAM, Linux markers, entry. */
#include "core/loader_int.h"
#include "core/rdtsc.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ELF_MAX_PHDRS  64
#define ELF_MAX_SHDRS  4096
#define ELF_MAX_NOTES  (64u << 10)
#define ELF_MAX_STRTAB (64u << 10)
#define GIB4           0x100000000ull

struct seg {
	uint64_t off, filesz, memsz, gpa, vaddr;
	uint32_t flags;
	int idx;   /* program header index, for messages */
};

/* Checks e_ident and the fixed header fields. */
static int check_ehdr(const struct ksrc *s, const uint8_t *eh, struct rrvm_err *err)
{
	const char *p = s->path, *w = s->what;
	if (memcmp(eh, ELFMAG, SELFMAG))
		return err__set(err, -ENOEXEC, "%s: %snot an ELF file", p, w);
	if (eh[EI_CLASS] == ELFCLASS32)
		return err__set(err, -ENOEXEC, "%s: %s32-bit ELF (ELFCLASS32); only ELF64 x86-64 kernels are supported",
				p, w);
	if (eh[EI_CLASS] != ELFCLASS64)
		return err__set(err, -ENOEXEC, "%s: %sbad ELF class %u", p, w, eh[EI_CLASS]);
	if (eh[EI_DATA] != ELFDATA2LSB)
		return err__set(err, -ENOEXEC, "%s: %sELF is not little-endian (EI_DATA %u)", p, w, eh[EI_DATA]);
	if (eh[EI_VERSION] != EV_CURRENT || get_le32(eh + 20) != EV_CURRENT)
		return err__set(err, -ENOEXEC, "%s: %sbad ELF version", p, w);
	uint16_t type = get_le16(eh + 16), machine = get_le16(eh + 18);
	if (machine != EM_X86_64)
		return err__set(err, -ENOEXEC, "%s: %sELF machine %u is not x86-64 (%u)", p, w, machine, EM_X86_64);
	if (type != ET_EXEC)
		return err__set(err, -ENOEXEC, "%s: %sELF type %u is not an executable (ET_EXEC)", p, w, type);
	if (get_le16(eh + 52) != sizeof(Elf64_Ehdr))
		return err__set(err, -ENOEXEC, "%s: %sELF header size %u, expected %zu", p, w, get_le16(eh + 52),
				sizeof(Elf64_Ehdr));
	if (get_le16(eh + 54) != sizeof(Elf64_Phdr))
		return err__set(err, -ENOEXEC, "%s: %sprogram header size %u, expected %zu", p, w, get_le16(eh + 54),
				sizeof(Elf64_Phdr));
	uint16_t phnum = get_le16(eh + 56);
	if (phnum == 0 || phnum > ELF_MAX_PHDRS)
		return err__set(err, -ENOEXEC, "%s: %s%u program headers (1..%d supported)", p, w, phnum,
				ELF_MAX_PHDRS);
	uint64_t phoff = get_le64(eh + 32), phend;
	if (__builtin_add_overflow(phoff, (uint64_t)phnum * sizeof(Elf64_Phdr), &phend) || phend > s->size)
		return err__set(err, -ENOEXEC,
				"%s: %sprogram header table (offset 0x%llx, %u entries) extends past the end (%llu bytes)",
				p, w, (unsigned long long)phoff, phnum, (unsigned long long)s->size);
	return 0;
}

/* True when a PT_NOTE segment holds a note owned by "Linux" (build salt, version). */
static bool has_linux_note(const struct ksrc *s, const uint8_t *ph, int phnum)
{
	bool found = false;
	for (int i = 0; i < phnum && !found; i++) {
		const uint8_t *h = ph + i * sizeof(Elf64_Phdr);
		if (get_le32(h) != PT_NOTE)
			continue;
		uint64_t off = get_le64(h + 8), len = get_le64(h + 32);
		if (len > ELF_MAX_NOTES)
			len = ELF_MAX_NOTES;
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf || ksrc__read(s, off, buf, len, "note", NULL)) {
			free(buf);
			continue;
		}
		for (uint64_t pos = 0; len - pos >= 12;) {
			uint32_t namesz = get_le32(buf + pos), descsz = get_le32(buf + pos + 4);
			uint64_t name = pos + 12;
			uint64_t next = name + ((namesz + 3ull) & ~3ull) + ((descsz + 3ull) & ~3ull);
			if (namesz > len - name || next > len || next <= pos)
				break;
			if (namesz == 6 && !memcmp(buf + name, "Linux", 6))
				found = true;
			pos = next;
		}
		free(buf);
	}
	return found;
}

/* True when the section headers name .head.text or __ksymtab. */
static bool has_linux_sections(const struct ksrc *s, const uint8_t *eh)
{
	uint64_t shoff = get_le64(eh + 40);
	uint16_t shentsize = get_le16(eh + 58), shnum = get_le16(eh + 60), shstrndx = get_le16(eh + 62);
	if (!shoff || shentsize != sizeof(Elf64_Shdr) || shnum == 0 || shnum > ELF_MAX_SHDRS ||
	    shstrndx >= shnum)
		return false;
	size_t tlen = (size_t)shnum * sizeof(Elf64_Shdr);
	uint8_t *sh = malloc(tlen), *str = NULL;
	bool found = false;
	if (!sh || ksrc__read(s, shoff, sh, tlen, "section headers", NULL))
		goto out;
	const uint8_t *sst = sh + (size_t)shstrndx * sizeof(Elf64_Shdr);
	uint64_t soff = get_le64(sst + 24), slen = get_le64(sst + 32);
	if (slen == 0 || slen > ELF_MAX_STRTAB || !(str = malloc(slen)) ||
	    ksrc__read(s, soff, str, slen, "section names", NULL))
		goto out;
	for (int i = 0; i < shnum && !found; i++) {
		uint32_t n = get_le32(sh + (size_t)i * sizeof(Elf64_Shdr));
		if (n >= slen || !memchr(str + n, 0, slen - n))
			continue;
		const char *name = (const char *)str + n;
		found = !strcmp(name, ".head.text") || !strcmp(name, "__ksymtab");
	}
out:
	free(str);
	free(sh);
	return found;
}

static uint64_t ram_end(const struct guest_mem *m)
{
	if (m->nr_regions == 0)
		return 0;
	const struct mem_region *r = &m->region[m->nr_regions - 1];
	return r->gpa + r->size;
}

/* Reads the PT_LOAD headers into segs[] with their guest-physical places. */
static int collect_segments(const struct guest_mem *m, const struct ksrc *s, const uint8_t *ph, int phnum,
			    struct seg *segs, int *nr, struct rrvm_err *err)
{
	const char *p = s->path, *w = s->what;
	bool all_paddr_zero = true;
	*nr = 0;
	for (int i = 0; i < phnum; i++) {
		const uint8_t *h = ph + i * sizeof(Elf64_Phdr);
		if (get_le32(h) != PT_LOAD)
			continue;
		struct seg g = {
			.off = get_le64(h + 8), .vaddr = get_le64(h + 16), .gpa = get_le64(h + 24),
			.filesz = get_le64(h + 32), .memsz = get_le64(h + 40), .flags = get_le32(h + 4), .idx = i,
		};
		uint64_t fend;
		if (g.filesz > g.memsz)
			return err__set(err, -ENOEXEC, "%s: %ssegment %d has p_filesz 0x%llx > p_memsz 0x%llx", p, w, i,
					(unsigned long long)g.filesz, (unsigned long long)g.memsz);
		if (g.filesz && (__builtin_add_overflow(g.off, g.filesz, &fend) || fend > s->size))
			return err__set(err, -ENOEXEC,
					"%s: %ssegment %d (file offset 0x%llx, size 0x%llx) extends past the end (%llu bytes)",
					p, w, i, (unsigned long long)g.off, (unsigned long long)g.filesz,
					(unsigned long long)s->size);
		if (g.memsz == 0)
			continue;
		if (*nr == LOADER_MAX_SEGMENTS)
			return err__set(err, -ENOEXEC, "%s: %smore than %d loadable segments", p, w, LOADER_MAX_SEGMENTS);
		if (g.gpa)
			all_paddr_zero = false;
		segs[(*nr)++] = g;
	}
	if (*nr == 0)
		return err__set(err, -ENOEXEC, "%s: %sno loadable segments", p, w);
	for (int i = 0; i < *nr; i++) {
		struct seg *g = &segs[i];
		if (all_paddr_zero)  /* physical addresses absent: strip the kernel mapping */
			g->gpa = g->vaddr >= LINUX_START_KERNEL_MAP ? g->vaddr - LINUX_START_KERNEL_MAP : g->vaddr;
		uint64_t end;
		if (__builtin_add_overflow(g->gpa, g->memsz, &end))
			return err__set(err, -ENOEXEC, "%s: %ssegment %d: address 0x%llx + size 0x%llx overflows", p, w,
					g->idx, (unsigned long long)g->gpa, (unsigned long long)g->memsz);
		if (g->gpa < X86_KERNEL_MIN_ADDR)
			return err__set(err, -ENOEXEC,
					"%s: %ssegment %d at 0x%llx is below 1 MiB, where the monitor keeps its boot tables",
					p, w, g->idx, (unsigned long long)g->gpa);
		if (end > GIB4)
			return err__set(err, -ENOEXEC,
					"%s: %ssegment %d [0x%llx, 0x%llx) is above 4 GiB, outside the boot identity map",
					p, w, g->idx, (unsigned long long)g->gpa, (unsigned long long)end);
		if (!mem__ptr(m, g->gpa, g->memsz))
			return err__set(err, -ENOMEM,
					"%s: %ssegment %d [0x%llx, 0x%llx) needs RAM up to 0x%llx, guest has %llu MiB "
					"(RAM ends at 0x%llx%s)", p, w, g->idx, (unsigned long long)g->gpa,
					(unsigned long long)end, (unsigned long long)end,
					(unsigned long long)(m->size >> 20), (unsigned long long)ram_end(m),
					m->nr_regions > 1 ? ", hole at 3-4 GiB" : "");
		for (int j = 0; j < i; j++) {
			if (g->gpa < segs[j].gpa + segs[j].memsz && segs[j].gpa < end)
				return err__set(err, -ENOEXEC, "%s: %ssegments %d and %d overlap in physical memory", p,
						w, segs[j].idx, g->idx);
		}
	}
	return 0;
}

/* Finds the executable segment holding `e`, as a physical or a link address. */
static bool resolve_entry(const struct seg *segs, int nr, uint64_t e, bool phys, uint64_t *rip)
{
	for (int i = 0; i < nr; i++) {
		const struct seg *g = &segs[i];
		uint64_t base = phys ? g->gpa : g->vaddr;
		if ((g->flags & PF_X) && e >= base && e - base < g->memsz) {
			*rip = g->gpa + (e - base);
			return true;
		}
	}
	return false;
}

int elf__load(struct guest_mem *m, const struct ksrc *s, bool linux_hint, struct elf_kernel *ek,
	      struct load_info *info, struct rrvm_err *err)
{
	uint8_t eh[sizeof(Elf64_Ehdr)];
	uint8_t ph[ELF_MAX_PHDRS * sizeof(Elf64_Phdr)];
	struct seg segs[LOADER_MAX_SEGMENTS];
	int nr, rc;

	memset(ek, 0, sizeof(*ek));
	uint64_t have = s->size < sizeof(eh) ? s->size : sizeof(eh);
	if ((rc = ksrc__read(s, 0, eh, have, "ELF header", err)))
		return rc;
	if (have < SELFMAG || memcmp(eh, ELFMAG, SELFMAG)) {
		char hex[40];
		loader__hex_bytes(eh, have, hex, sizeof(hex));
		return err__set(err, -ENOEXEC, "%s: %snot an ELF file (first bytes %s)", s->path, s->what, hex);
	}
	if (have < sizeof(eh))
		return err__set(err, -ENOEXEC, "%s: %struncated ELF header (%llu bytes, need %zu)", s->path, s->what,
				(unsigned long long)s->size, sizeof(eh));
	if ((rc = check_ehdr(s, eh, err)))
		return rc;
	uint16_t phnum = get_le16(eh + 56);
	if ((rc = ksrc__read(s, get_le64(eh + 32), ph, (uint64_t)phnum * sizeof(Elf64_Phdr), "program headers",
			     err)))
		return rc;
	if ((rc = collect_segments(m, s, ph, phnum, segs, &nr, err)))
		return rc;

	ek->is_linux = linux_hint || has_linux_note(s, ph, phnum) || has_linux_sections(s, eh);
	uint64_t e = get_le64(eh + 24), rip;
	if (!resolve_entry(segs, nr, e, ek->is_linux, &rip) && !resolve_entry(segs, nr, e, !ek->is_linux, &rip))
		return err__set(err, -ENOEXEC, "%s: %sentry point 0x%llx is not inside an executable segment",
				s->path, s->what, (unsigned long long)e);

	ek->lo = UINT64_MAX;
	for (int i = 0; i < nr; i++) {
		struct seg *g = &segs[i];
		uint8_t *dst = mem__ptr(m, g->gpa, g->memsz);   /* checked in collect_segments */
		char item[32];
		snprintf(item, sizeof(item), "segment %d", g->idx);
		if (g->filesz && (rc = ksrc__read(s, g->off, dst, g->filesz, item, err)))
			return rc;
		memset(dst + g->filesz, 0, g->memsz - g->filesz);
		info->seg[i] = (struct loaded_segment){
			.gpa = g->gpa, .size = g->memsz, .vaddr = g->vaddr, .flags = g->flags };
		if (g->gpa < ek->lo)
			ek->lo = g->gpa;
		if (g->gpa + g->memsz > ek->hi)
			ek->hi = g->gpa + g->memsz;
	}
	info->nr_segs = nr;
	info->entry.rip = rip;
	if (ek->is_linux)   /* rewrite RDTSC/RDTSCP into exits (core/rdtsc_rewrite.c) */
		return rdtsc__rewrite(m, s, info, err);
	return 0;
}
