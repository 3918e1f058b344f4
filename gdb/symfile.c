/* symfile.c — a System.map / kallsyms text turned into a minimal ELF64 symbol file for gdb. */
#include "gdb/symfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct msym {
	uint64_t addr;
	uint32_t name;    /* offset in the string table */
	bool text;
};

struct table {
	struct msym *v;
	size_t n, cap;
	char *str;
	size_t slen, scap;
};

static int push(struct table *t, uint64_t addr, bool text, const char *name, size_t nlen)
{
	if (t->n >= SYMFILE_MAX_SYMS)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 4096;
		struct msym *q = realloc(t->v, nc * sizeof(*q));
		if (!q)
			return -ENOMEM;
		t->v = q;
		t->cap = nc;
	}
	if (t->slen + nlen + 1 > t->scap) {
		size_t nc = t->scap ? t->scap : 65536;
		while (nc < t->slen + nlen + 1)
			nc *= 2;
		char *q = realloc(t->str, nc);
		if (!q)
			return -ENOMEM;
		t->str = q;
		t->scap = nc;
	}
	if (!t->slen)
		t->str[t->slen++] = 0;   /* ELF string tables start with an empty name */
	memcpy(t->str + t->slen, name, nlen);
	t->str[t->slen + nlen] = 0;
	t->v[t->n++] = (struct msym){ .addr = addr, .name = (uint32_t)t->slen, .text = text };
	t->slen += nlen + 1;
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One line (no newline, no CR). 0 and its fields, or -ENOEXEC and *why. */
static int parse_line(const char *l, size_t len, uint64_t *addr, char *type, const char **name, size_t *nlen,
		      const char **why)
{
	size_t i = 0, d = 0;
	uint64_t a = 0;
	for (; i < len && hexval(l[i]) >= 0; i++, d++)
		a = a << 4 | (uint64_t)hexval(l[i]);
	if (!d || d > 16) {
		*why = d ? "address longer than 64 bits" : "no hexadecimal address";
		return -ENOEXEC;
	}
	if (i + 2 >= len || l[i] != ' ' || l[i + 2] != ' ' ||
	    !((l[i + 1] >= 'a' && l[i + 1] <= 'z') || (l[i + 1] >= 'A' && l[i + 1] <= 'Z'))) {
		*why = "expected ADDRESS TYPE NAME (one type letter between single spaces)";
		return -ENOEXEC;
	}
	*type = l[i + 1];
	i += 3;
	size_t s = i;
	while (i < len && l[i] > ' ' && l[i] < 0x7f)
		i++;
	if (i == s || i - s > SYMFILE_MAX_NAME) {
		*why = i == s ? "no symbol name" : "symbol name longer than 255 bytes";
		return -ENOEXEC;
	}
	*name = l + s;
	*nlen = i - s;
	/* kallsyms: an optional "\t[module]" or " [module]". */
	if (i < len && (l[i] == '\t' || l[i] == ' ') && i + 2 < len && l[i + 1] == '[' && l[len - 1] == ']') {
		for (size_t k = i + 2; k < len - 1; k++)
			if (l[k] <= ' ' || l[k] >= 0x7f || l[k] == '[' || l[k] == ']') {
				*why = "bad module name";
				return -ENOEXEC;
			}
		i = len;
	}
	if (i != len) {
		*why = l[i] < ' ' || l[i] >= 0x7f ? "a control or non-ASCII byte in the line" : "unexpected text after the name";
		return -ENOEXEC;
	}
	*addr = a;
	return 0;
}

static int parse(struct table *t, const char *text, size_t len, size_t *zero, struct rrvm_err *err)
{
	size_t lineno = 0;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		lineno++;
		size_t l = e - i;
		if (l && text[i + l - 1] == '\r')
			l--;
		const char *line = text + i;
		i = e + 1;
		if (!l)
			continue;
		uint64_t addr;
		char type;
		const char *name, *why = "";
		size_t nlen;
		/* nm's undefined and weak-undefined symbols have no address. */
		size_t sp = 0;
		while (sp < l && line[sp] == ' ')
			sp++;
		if (sp >= 8 && sp + 2 < l && strchr("Uwv", line[sp]) && line[sp + 1] == ' ')
			continue;
		if (parse_line(line, l, &addr, &type, &name, &nlen, &why))
			return err__set(err, -ENOEXEC, "line %zu: not a System.map or kallsyms line: %s", lineno, why);
		char lt = (char)(type | 0x20);
		if (lt == 'u' || lt == 'a')
			continue;
		if (!addr) {
			(*zero)++;
			continue;
		}
		int rc = push(t, addr, lt == 't' || lt == 'w', name, nlen);
		if (rc == -E2BIG)
			return err__set(err, rc, "line %zu: more than %u symbols", lineno, SYMFILE_MAX_SYMS);
		if (rc)
			return err__set(err, rc, "out of memory");
	}
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct msym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Section header: name, type, flags, addr, offset, size, link, info, align, entsize. */
static void shdr(uint8_t *p, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr, uint64_t off,
		 uint64_t size, uint32_t link, uint32_t info, uint64_t align, uint64_t entsize)
{
	put(p, name, 4); put(p + 4, type, 4); put(p + 8, flags, 8); put(p + 16, addr, 8);
	put(p + 24, off, 8); put(p + 32, size, 8); put(p + 40, link, 4); put(p + 44, info, 4);
	put(p + 48, align, 8); put(p + 56, entsize, 8);
}

#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_NOBITS 8
#define SHF_ALLOC 2
#define SHF_EXECINSTR 4
#define SHN_ABS 0xfff1
#define STB_GLOBAL 1
#define STT_OBJECT 1
#define STT_FUNC 2
#define TEXT_SIZE_MAX (1ull << 20)   /* a function's size runs to the next one, at most this */

static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
enum { SH_TEXT = 1, SH_SYMTAB = 7, SH_STRTAB = 15, SH_SHSTRTAB = 23 };   /* names in shstr */
enum { SEC_TEXT = 1, SEC_SYMTAB, SEC_STRTAB, SEC_SHSTRTAB, SEC_COUNT };

static int build(const struct table *t, uint8_t **elf, size_t *elf_len)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].text) {
			lo = t->v[i].addr < lo ? t->v[i].addr : lo;
			hi = t->v[i].addr > hi ? t->v[i].addr : hi;
		}
	if (lo == UINT64_MAX)
		lo = hi = 0;
	uint64_t text_size = hi - lo + 16;   /* past the last function's first bytes */
	size_t symoff = 64, nsym = t->n + 1;
	size_t stroff = symoff + nsym * 24;
	size_t shsoff = stroff + t->slen;
	size_t shoff = (shsoff + sizeof(shstr) + 7) & ~(size_t)7;
	size_t total = shoff + SEC_COUNT * 64;
	uint8_t *p = calloc(1, total);
	if (!p)
		return -ENOMEM;
	/* ELF header: ELF64, little-endian, version 1, ET_EXEC, EM_X86_64. */
	memcpy(p, "\177ELF\2\1\1", 7);
	put(p + 16, 2, 2); put(p + 18, 62, 2); put(p + 20, 1, 4);
	put(p + 40, shoff, 8); put(p + 52, 64, 2); put(p + 54, 56, 2);
	put(p + 58, 64, 2); put(p + 60, SEC_COUNT, 2); put(p + 62, SEC_SHSTRTAB, 2);
	for (size_t i = 0; i < t->n; i++) {
		const struct msym *m = &t->v[i];
		uint8_t *s = p + symoff + (i + 1) * 24;
		uint64_t size = 0;
		if (m->text) {
			for (size_t k = i + 1; k < t->n && !size; k++)
				if (t->v[k].text && t->v[k].addr > m->addr)
					size = t->v[k].addr - m->addr;
			if (size > TEXT_SIZE_MAX)
				size = 0;
		}
		put(s, m->name, 4);
		s[4] = (uint8_t)(STB_GLOBAL << 4 | (m->text ? STT_FUNC : STT_OBJECT));
		put(s + 6, m->text ? SEC_TEXT : SHN_ABS, 2);
		put(s + 8, m->addr, 8);
		put(s + 16, size, 8);
	}
	memcpy(p + stroff, t->str, t->slen);
	memcpy(p + shsoff, shstr, sizeof(shstr));
	uint8_t *sh = p + shoff;
	shdr(sh + 64 * SEC_TEXT, SH_TEXT, SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, lo, 64, text_size, 0, 0, 16, 0);
	shdr(sh + 64 * SEC_SYMTAB, SH_SYMTAB, SHT_SYMTAB, 0, 0, symoff, nsym * 24, SEC_STRTAB, 1, 8, 24);
	shdr(sh + 64 * SEC_STRTAB, SH_STRTAB, SHT_STRTAB, 0, 0, stroff, t->slen, 0, 0, 1, 0);
	shdr(sh + 64 * SEC_SHSTRTAB, SH_SHSTRTAB, SHT_STRTAB, 0, 0, shsoff, sizeof(shstr), 0, 0, 1, 0);
	*elf = p;
	*elf_len = total;
	return 0;
}

int symfile__from_text(const char *text, size_t len, uint8_t **elf, size_t *elf_len, size_t *nsyms,
		       struct rrvm_err *err)
{
	struct table t = { 0 };
	size_t zero = 0;
	int rc = parse(&t, text, len, &zero, err);
	if (!rc && !t.n)
		rc = zero ? err__set(err, -ENOEXEC, "all %zu addresses are 0 (kallsyms read without the privilege to see "
				     "them: read /proc/kallsyms as root, or kptr_restrict)", zero)
			  : err__set(err, -ENOEXEC, "no symbols in it");
	if (!rc) {
		qsort(t.v, t.n, sizeof(*t.v), by_addr);
		rc = build(&t, elf, elf_len);
		if (rc)
			err__set(err, rc, "out of memory");
		else
			*nsyms = t.n;
	}
	free(t.v);
	free(t.str);
	return rc;
}

bool symfile__is_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char m[4];
	bool ok = read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
	close(fd);
	return ok;
}

int symfile__convert(const char *map_path, const char *out_path, size_t *nsyms, struct rrvm_err *err)
{
	int rc = 0, out = -1;
	char *text = NULL;
	uint8_t *elf = NULL;
	size_t len = 0, elf_len = 0;
	int fd = open(map_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__set(err, -errno, "%s: %s", map_path, strerror(errno));
	/* Read to EOF: /proc/kallsyms has no size. */
	size_t cap = 1 << 20;
	if (!(text = malloc(cap))) {
		rc = err__set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= SYMFILE_MAX_TEXT) {
				rc = err__set(err, -EFBIG, "%s: larger than %u MiB: not a System.map", map_path,
					      SYMFILE_MAX_TEXT >> 20);
				goto out;
			}
			char *q = realloc(text, cap * 2);
			if (!q) {
				rc = err__set(err, -ENOMEM, "out of memory");
				goto out;
			}
			text = q;
			cap *= 2;
		}
		ssize_t r = read(fd, text + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err__set(err, -errno, "%s: %s", map_path, strerror(errno));
			goto out;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	struct rrvm_err perr;
	if ((rc = symfile__from_text(text, len, &elf, &elf_len, nsyms, &perr))) {
		err__set(err, rc, "%s: %s", map_path, perr.msg);
		goto out;
	}
	out = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = err__set(err, -errno, "%s: %s", out_path, strerror(errno));
		goto out;
	}
	for (size_t o = 0; o < elf_len;) {
		ssize_t w = write(out, elf + o, elf_len - o);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err__set(err, w < 0 ? -errno : -EIO, "%s: %s", out_path, strerror(w < 0 ? errno : EIO));
			unlink(out_path);
			goto out;
		}
		o += (size_t)w;
	}
out:
	if (out >= 0 && close(out) && !rc) {
		rc = err__set(err, -errno, "%s: %s", out_path, strerror(errno));
		unlink(out_path);
	}
	free(elf);
	free(text);
	close(fd);
	return rc;
}
