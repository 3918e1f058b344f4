/* rdtsc_rewrite.c — finds a Linux kernel's RDTSC/RDTSCP instructions by disassembly and rewrites them into IN exits. */
#include "core/loader_int.h"
#include "core/rdtsc.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SH_MAX         0xff00          /* below SHN_LORESERVE: no extended numbering */
#define SHSTR_MAX      (1u << 20)
#define NAME_MAX_LEN   40
#define CONTEXT        3               /* instructions listed either side of a site (debug) */
#define SUSPECT_BYTES  32              /* a site this close after skipped data is flagged */

/* A byte pattern 0f 31 or 0f 01 f9 at a section offset. */
struct match {
	uint64_t off;
	uint8_t rdtscp;
};

struct scan {
	struct guest_mem *m;
	struct load_info *info;
	const char *path, *what;   /* the kernel, for messages */
	csh cs;
	bool debug;
	uint32_t skipped_bytes, decoys, suspects, unmapped;
	struct match *mt;
	size_t nmt, capmt;
};

/* Every 0f 31 / 0f 01 f9 in code[0, size), in order (for the audit: those
 * that are not instructions are listed as decoys). */
static int find_patterns(struct scan *sc, const uint8_t *code, uint64_t size)
{
	sc->nmt = 0;
	for (uint64_t i = 0; i + 1 < size; i++) {
		if (code[i] != 0x0f)
			continue;
		bool tsc = code[i + 1] == 0x31;
		bool tscp = code[i + 1] == 0x01 && i + 2 < size && code[i + 2] == 0xf9;
		if (!tsc && !tscp)
			continue;
		if (sc->nmt == sc->capmt) {
			size_t cap = sc->capmt ? sc->capmt * 2 : 256;
			struct match *n = realloc(sc->mt, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			sc->mt = n;
			sc->capmt = cap;
		}
		sc->mt[sc->nmt++] = (struct match){ i, tscp };
	}
	return 0;
}

/* Prints up to `n` instructions of code[off, size) starting at `off`. */
static void print_insns(struct scan *sc, const uint8_t *code, uint64_t size, uint64_t vaddr, uint64_t off,
			int n, const char *mark)
{
	cs_insn *insn;
	size_t got = cs_disasm(sc->cs, code + off, size - off, vaddr + off, (size_t)n, &insn);
	for (size_t i = 0; i < got; i++) {
		char hex[3 * 16] = "";
		for (int b = 0, pos = 0; b < insn[i].size && b < 15; b++)
			pos += snprintf(hex + pos, sizeof(hex) - (size_t)pos, "%02x ", insn[i].bytes[b]);
		fprintf(stderr, "      %s %016llx  %-24s %s %s\n", i == 0 ? mark : " ",
			(unsigned long long)insn[i].address, hex, insn[i].mnemonic, insn[i].op_str);
	}
	if (got)
		cs_free(insn, got);
}

/* Records and patches one site found by the sweep at section offset `off`. */
static int patch_site(struct scan *sc, const char *sec, uint8_t *code, uint64_t size, uint64_t vaddr,
		      uint64_t gpa, uint64_t off, uint16_t len, bool tscp, const uint64_t *prev, int nprev,
		      bool suspect, struct rrvm_err *err)
{
	struct load_info *info = sc->info;
	if (len < (tscp ? 3 : 2) || len > sizeof(info->tsc_site[0].orig))
		return err__set(err, -ENOEXEC, "%s: %s%s at 0x%llx in %s is %u bytes long: cannot rewrite it",
				sc->path, sc->what, tscp ? "rdtscp" : "rdtsc", (unsigned long long)(vaddr + off), sec,
				len);
	if (sc->debug) {
		fprintf(stderr, "rrvm: rdtsc site %u: %s in %s at vaddr 0x%llx gpa 0x%llx%s\n",
			info->rdtsc_sites + info->rdtscp_sites + 1, tscp ? "rdtscp" : "rdtsc", sec,
			(unsigned long long)(vaddr + off), (unsigned long long)(gpa + off),
			suspect ? "  ** SUSPECT: shortly after bytes the sweep skipped as data **" : "");
		for (int i = 0; i < nprev; i++)
			print_insns(sc, code, size, vaddr, prev[i], 1, " ");
		print_insns(sc, code, size, vaddr, off, 1 + CONTEXT, ">");
	}
	if (info->tsc_nr_listed < LOADER_MAX_TSC_SITES) {
		struct tsc_site *t = &info->tsc_site[info->tsc_nr_listed++];
		t->gpa = gpa + off;
		t->len = (uint8_t)len;
		t->rdtscp = tscp;
		memcpy(t->orig, code + off, len);
	}
	code[off] = 0xe5;                                 /* in eax, imm8 */
	code[off + 1] = tscp ? RRVM_TSCP_PORT : RRVM_TSC_PORT;
	memset(code + off + 2, 0x90, len - 2u);           /* nop padding */
	if (tscp)
		info->rdtscp_sites++;
	else
		info->rdtsc_sites++;
	if (suspect)
		sc->suspects++;
	return 0;
}

/* Linear sweep of one executable section held in guest RAM at `code`. */
static int sweep(struct scan *sc, const char *sec, uint8_t *code, uint64_t size, uint64_t vaddr, uint64_t gpa,
		 struct rrvm_err *err)
{
	int rc = find_patterns(sc, code, size);
	if (rc)
		return err__set(err, rc, "%s: rdtsc rewrite: out of memory", sc->path);
	if (sc->debug)
		fprintf(stderr, "rrvm: rdtsc: section %s: vaddr 0x%llx gpa 0x%llx size 0x%llx, %zu byte pattern(s)\n",
			sec, (unsigned long long)vaddr, (unsigned long long)gpa, (unsigned long long)size, sc->nmt);
	if (sc->nmt == 0)   /* no 0f 31 / 0f 01 f9 bytes at all: nothing to find */
		return 0;

	cs_insn *insn = cs_malloc(sc->cs);
	if (!insn)
		return err__set(err, -ENOMEM, "%s: rdtsc rewrite: out of memory", sc->path);
	const uint8_t *p = code;
	size_t left = (size_t)size;
	uint64_t addr = vaddr, prev[CONTEXT], skip_end = 0;
	int nprev = 0;
	bool skipped_any = false;
	size_t j = 0;
	while (left) {
		/* A run of int3 (cc) is that many one-byte instructions: step over it
		 * without the disassembler. Linux pads between functions with int3:
		 * 4.1 M of the 6.7 M instructions in Debian's 6.1 .text. Same sweep,
		 * half the time (capstone costs ~0.4 us per instruction here). */
		if (*p == 0xcc) {
			size_t n = 1;
			while (n < left && p[n] == 0xcc)
				n++;
			p += n, left -= n, addr += n;
			prev[0] = addr - vaddr - 1, nprev = 1;
			continue;
		}
		if (!cs_disasm_iter(sc->cs, &p, &left, &addr, insn))
			break;
		uint64_t off = insn->address - vaddr, end = off + insn->size;
		bool data = insn->id == 0;   /* CS_OPT_SKIPDATA: bytes that decode to nothing */
		bool site = insn->id == X86_INS_RDTSC || insn->id == X86_INS_RDTSCP;
		if (data) {
			sc->skipped_bytes += insn->size;
			skip_end = end;
			skipped_any = true;
		}
		/* Patterns inside this instruction: the site's own, or decoys. */
		for (; j < sc->nmt && sc->mt[j].off < end; j++) {
			if (site)
				continue;
			sc->decoys++;
			if (sc->debug) {
				fprintf(stderr, "rrvm: rdtsc: not a site: %s bytes in %s at vaddr 0x%llx, %s\n",
					sc->mt[j].rdtscp ? "0f 01 f9" : "0f 31", sec,
					(unsigned long long)(vaddr + sc->mt[j].off),
					data ? "in bytes skipped as data" : "starting inside this instruction:");
				if (!data)
					print_insns(sc, code, size, vaddr, off, 1, "~");
			}
		}
		if (site) {
			bool suspect = skipped_any && off - skip_end < SUSPECT_BYTES;
			if ((rc = patch_site(sc, sec, code, size, vaddr, gpa, off, insn->size,
					     insn->id == X86_INS_RDTSCP, prev, nprev, suspect, err)))
				break;
		}
		if (nprev == CONTEXT)
			memmove(prev, prev + 1, sizeof(prev[0]) * (CONTEXT - 1)), nprev--;
		prev[nprev++] = off;
	}
	cs_free(insn, 1);
	if (!rc && left)
		rc = err__set(err, -EIO, "%s: %srdtsc rewrite: the sweep of %s stopped at vaddr 0x%llx, 0x%zx "
			      "bytes before its end", sc->path, sc->what, sec, (unsigned long long)addr, left);
	return rc;
}

/* The guest-RAM copy of [sh_addr, sh_addr + size): through the loaded
 * segment whose link addresses hold it. NULL when none does. */
static uint8_t *section_in_ram(struct scan *sc, uint64_t sh_addr, uint64_t size, uint64_t *gpa)
{
	const struct load_info *info = sc->info;
	for (int i = 0; i < info->nr_segs; i++) {
		const struct loaded_segment *g = &info->seg[i];
		if (sh_addr < g->vaddr || sh_addr - g->vaddr > g->size || size > g->size - (sh_addr - g->vaddr))
			continue;
		*gpa = g->gpa + (sh_addr - g->vaddr);
		return mem__ptr(sc->m, *gpa, size);
	}
	return NULL;
}

/* Reads the section header table and its names; 0 when there is none or it
 * is unreadable (then *sh stays NULL). */
static int read_sections(const struct ksrc *s, uint8_t **sh, uint16_t *shnum, char **str, uint64_t *slen)
{
	uint8_t eh[sizeof(Elf64_Ehdr)];
	*sh = NULL;
	*str = NULL;
	if (ksrc__read(s, 0, eh, sizeof(eh), "ELF header", NULL))
		return 0;
	uint64_t shoff = get_le64(eh + 40);
	uint16_t shentsize = get_le16(eh + 58), n = get_le16(eh + 60), shstrndx = get_le16(eh + 62);
	if (!shoff || shentsize != sizeof(Elf64_Shdr) || n == 0 || n > SH_MAX || shstrndx >= n)
		return 0;
	size_t tlen = (size_t)n * sizeof(Elf64_Shdr);
	uint8_t *t = malloc(tlen);
	if (!t)
		return -ENOMEM;
	if (ksrc__read(s, shoff, t, tlen, "section headers", NULL)) {
		free(t);
		return 0;
	}
	const uint8_t *sst = t + (size_t)shstrndx * sizeof(Elf64_Shdr);
	uint64_t soff = get_le64(sst + 24), len = get_le64(sst + 32);
	if (len == 0 || len > SHSTR_MAX) {
		free(t);
		return 0;
	}
	char *names = malloc(len + 1);
	if (!names) {
		free(t);
		return -ENOMEM;
	}
	if (ksrc__read(s, soff, names, len, "section names", NULL)) {
		free(names);
		free(t);
		return 0;
	}
	names[len] = 0;
	*sh = t;
	*shnum = n;
	*str = names;
	*slen = len;
	return 0;
}

int rdtsc__rewrite(struct guest_mem *m, const struct ksrc *s, struct load_info *info, struct rrvm_err *err)
{
	struct scan sc = { .m = m, .info = info, .path = s->path, .what = s->what };
	const char *dbg = getenv("RRVM_DEBUG_RDTSC");
	sc.debug = dbg && *dbg && strcmp(dbg, "0");
	info->rdtsc_sites = info->rdtscp_sites = info->tsc_nr_listed = 0;
	info->tsc_scanned = 0;

	uint8_t *sh;
	uint16_t shnum = 0;
	char *names;
	uint64_t slen = 0;
	int rc = read_sections(s, &sh, &shnum, &names, &slen);
	if (rc)
		return err__set(err, rc, "%s: %srdtsc rewrite: out of memory", s->path, s->what);
	if (!sh) {
		if (sc.debug)
			fprintf(stderr, "rrvm: rdtsc: %s: no readable section headers, nothing rewritten\n", s->path);
		return 0;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &sc.cs) != CS_ERR_OK) {
		rc = err__set(err, -EIO, "%s: rdtsc rewrite: cannot open the capstone disassembler", s->path);
		goto out;
	}
	cs_option(sc.cs, CS_OPT_SKIPDATA, CS_OPT_ON);

	for (uint16_t i = 1; i < shnum && !rc; i++) {
		const uint8_t *h = sh + (size_t)i * sizeof(Elf64_Shdr);
		uint32_t nm = get_le32(h), type = get_le32(h + 4);
		uint64_t flags = get_le64(h + 8), addr = get_le64(h + 16), size = get_le64(h + 32);
		if (!(flags & SHF_EXECINSTR) || type == SHT_NOBITS || size == 0)
			continue;
		char sec[NAME_MAX_LEN + 8];
		snprintf(sec, sizeof(sec), "%.*s", NAME_MAX_LEN, nm < slen ? names + nm : "?");
		uint64_t gpa;
		uint8_t *code = section_in_ram(&sc, addr, size, &gpa);
		if (!code) {
			sc.unmapped++;
			if (sc.debug)
				fprintf(stderr, "rrvm: rdtsc: section %s (vaddr 0x%llx, 0x%llx bytes) is in no loaded "
					"segment: not swept\n", sec, (unsigned long long)addr, (unsigned long long)size);
			continue;
		}
		rc = sweep(&sc, sec, code, size, addr, gpa, err);
	}
	if (!rc) {
		info->tsc_scanned = 1;
		if (sc.debug)
			fprintf(stderr, "rrvm: rdtsc: %u rdtsc + %u rdtscp sites rewritten (ports 0x%x/0x%x); "
				"%u byte pattern(s) not at an instruction, %u site(s) flagged suspect, %u byte(s) "
				"skipped as data, %u executable section(s) outside the loaded segments\n",
				info->rdtsc_sites, info->rdtscp_sites, RRVM_TSC_PORT, RRVM_TSCP_PORT, sc.decoys,
				sc.suspects, sc.skipped_bytes, sc.unmapped);
	}
	cs_close(&sc.cs);
out:
	free(sc.mt);
	free(names);
	free(sh);
	return rc;
}
