/* symbols.c — kernel symbols for the trace browser: ELF64 .symtab/.dynsym (test kernel, vmlinux) or a System.map. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tui/model.h"

#define NEAREST_MAX (64u << 10)   /* a size-less symbol covers at most this much */

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct build {
	struct tui_sym *v;
	size_t n, cap;
	char *strs;
	size_t slen, scap;
};

static int add(struct build *b, uint64_t addr, uint64_t size, const char *name, size_t nlen)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		struct tui_sym *q = realloc(b->v, nc * sizeof(*q));
		if (!q)
			return -ENOMEM;
		b->v = q;
		b->cap = nc;
	}
	if (b->slen + nlen + 1 > b->scap) {
		size_t nc = b->scap ? b->scap * 2 : 16384;
		while (nc < b->slen + nlen + 1)
			nc *= 2;
		char *q = realloc(b->strs, nc);
		if (!q)
			return -ENOMEM;
		b->strs = q;
		b->scap = nc;
	}
	memcpy(b->strs + b->slen, name, nlen);
	b->strs[b->slen + nlen] = 0;
	/* Names are offsets until the string buffer stops moving. */
	b->v[b->n++] = (struct tui_sym){ addr, size, (const char *)(uintptr_t)b->slen };
	b->slen += nlen + 1;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct tui_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Sized symbols first: they win the lookup. */
	return (x->size == 0) - (y->size == 0);
}

static int load_elf(struct build *b, const uint8_t *f, size_t len, const char *path, struct rrvm_err *err)
{
	if (len < 64 || f[4] != 2 || f[5] != 1)
		return err__set(err, -ENOEXEC, "%s: not a little-endian ELF64 file", path);
	uint64_t shoff = le(f + 0x28, 8);
	uint32_t shentsize = (uint32_t)le(f + 0x3a, 2), shnum = (uint32_t)le(f + 0x3c, 2);
	if (!shoff || shentsize < 64 || shoff > len || (uint64_t)shnum * shentsize > len - shoff)
		return err__set(err, -ENOEXEC, "%s: no readable section headers (stripped or truncated ELF)", path);
	for (int want = 2; want; want = want == 2 ? 11 : 0) {   /* SHT_SYMTAB, then SHT_DYNSYM */
		for (uint32_t i = 0; i < shnum; i++) {
			const uint8_t *sh = f + shoff + (uint64_t)i * shentsize;
			if (le(sh + 4, 4) != (uint64_t)want)
				continue;
			uint64_t off = le(sh + 0x18, 8), size = le(sh + 0x20, 8), entsize = le(sh + 0x38, 8);
			uint32_t link = (uint32_t)le(sh + 0x28, 4);
			if (entsize < 24 || off > len || size > len - off || link >= shnum)
				return err__set(err, -ENOEXEC, "%s: section %u: symbol table out of the file", path, i);
			const uint8_t *lsh = f + shoff + (uint64_t)link * shentsize;
			uint64_t soff = le(lsh + 0x18, 8), ssize = le(lsh + 0x20, 8);
			if (soff > len || ssize > len - soff)
				return err__set(err, -ENOEXEC, "%s: section %u: string table out of the file", path, link);
			const char *str = (const char *)f + soff;
			for (uint64_t k = 1; k < size / entsize; k++) {
				const uint8_t *s = f + off + k * entsize;
				uint32_t name = (uint32_t)le(s, 4);
				uint8_t type = s[4] & 0xf;
				uint16_t shndx = (uint16_t)le(s + 6, 2);
				uint64_t value = le(s + 8, 8), sz = le(s + 16, 8);
				if (!value || shndx == 0 || name >= ssize || type > 2)   /* NOTYPE, OBJECT, FUNC */
					continue;
				size_t nlen = strnlen(str + name, ssize - name);
				if (!nlen || nlen == ssize - name || str[name] == '$')
					continue;
				if (add(b, value, sz, str + name, nlen))
					return err__set(err, -ENOMEM, "%s: out of memory", path);
			}
			if (b->n)
				return 0;
		}
	}
	return err__set(err, -ENOEXEC, "%s: the ELF file has no symbols (stripped?)", path);
}

static int load_map(struct build *b, const char *f, size_t len, const char *path, struct rrvm_err *err)
{
	size_t lineno = 0;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && f[e] != '\n')
			e++;
		lineno++;
		char line[512];
		size_t l = e - i < sizeof(line) - 1 ? e - i : sizeof(line) - 1;
		memcpy(line, f + i, l);
		line[l] = 0;
		i = e + 1;
		char type, name[256];
		unsigned long long addr;
		if (!l)
			continue;
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			return err__set(err, -ENOEXEC, "%s:%zu: not a System.map line (ADDRESS TYPE NAME)", path, lineno);
		type = (char)tolower((unsigned char)type);
		if (!addr || type == 'u' || type == 'a' || type == 'w' || type == 'v')
			continue;
		if (add(b, addr, 0, name, strlen(name)))
			return err__set(err, -ENOMEM, "%s: out of memory", path);
	}
	if (!b->n)
		return err__set(err, -ENOEXEC, "%s: no symbols in this System.map", path);
	return 0;
}

int syms__load(struct tui_syms *s, const char *path, struct rrvm_err *err)
{
	memset(s, 0, sizeof(*s));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__set(err, -errno, "%s: %s", path, strerror(errno));
	struct stat stb;
	if (fstat(fd, &stb) || !S_ISREG(stb.st_mode) || stb.st_size < 4) {
		close(fd);
		return err__set(err, -ENOEXEC, "%s: not a symbol file (empty or not a regular file)", path);
	}
	size_t len = (size_t)stb.st_size;
	const uint8_t *f = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return err__set(err, -errno, "%s: mmap: %s", path, strerror(errno));
	struct build b = { 0 };
	int rc;
	if (!memcmp(f, "\177ELF", 4))
		rc = load_elf(&b, f, len, path, err);
	else if (isxdigit(f[0]))
		rc = load_map(&b, (const char *)f, len, path, err);
	else
		rc = err__set(err, -ENOEXEC, "%s: neither an ELF file nor a System.map (a bzImage has no symbols: "
			      "give its vmlinux or System.map with --symbols)", path);
	munmap((void *)f, len);
	if (rc) {
		free(b.v);
		free(b.strs);
		return rc;
	}
	for (size_t i = 0; i < b.n; i++)
		b.v[i].name = b.strs + (uintptr_t)b.v[i].name;
	if (b.n)   /* a file without symbols leaves b.v NULL, and qsort's pointer must not be */
		qsort(b.v, b.n, sizeof(*b.v), by_addr);
	/* Size-less symbols (System.map, assembly labels) reach the next one. */
	for (size_t i = 0; i < b.n; i++)
		if (!b.v[i].size) {
			size_t j = i + 1;
			while (j < b.n && b.v[j].addr == b.v[i].addr)
				j++;
			uint64_t gap = j < b.n ? b.v[j].addr - b.v[i].addr : NEAREST_MAX;
			b.v[i].size = gap < NEAREST_MAX ? gap : NEAREST_MAX;
		}
	s->v = b.v;
	s->n = b.n;
	s->strs = b.strs;
	snprintf(s->source, sizeof(s->source), "%s", path);
	return 0;
}

void syms__free(struct tui_syms *s)
{
	free(s->v);
	free(s->strs);
	memset(s, 0, sizeof(*s));
}

const struct tui_sym *syms__lookup(const struct tui_syms *s, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Walk back over symbols at or below addr: the nearest one that covers it. */
	for (size_t i = lo, tries = 0; i > 0 && tries < 16; i--, tries++) {
		const struct tui_sym *y = &s->v[i - 1];
		if (addr - y->addr < y->size) {
			/* Prefer the first (sized) entry at that address. */
			while (i > 1 && s->v[i - 2].addr == y->addr && addr - s->v[i - 2].addr < s->v[i - 2].size)
				y = &s->v[--i - 1];
			if (off)
				*off = addr - y->addr;
			return y;
		}
	}
	return NULL;
}

const char *syms__fmt(const struct tui_syms *s, uint64_t addr, char *buf, size_t cap)
{
	uint64_t off;
	const struct tui_sym *y = syms__lookup(s, addr, &off);
	if (!y)
		snprintf(buf, cap, "%s", "");
	else if (off)
		snprintf(buf, cap, "%s+0x%" PRIx64, y->name, off);
	else
		snprintf(buf, cap, "%s", y->name);
	return buf;
}

bool syms__find(const struct tui_syms *s, const char *name, uint64_t *addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name)) {
			*addr = s->v[i].addr;
			return true;
		}
	return false;
}
