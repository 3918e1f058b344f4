/* pane_mem.c — guest memory at the cursor: a hex view (virtual or physical) and disassembly around RIP. */
#include <capstone/capstone.h>
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/ui.h"

#define DIS_MAX_INSNS 512
#define DIS_BACK_MAX 4096   /* disassemble from the symbol start when it is at most this far back */

/* Evaluates [p:|v:]TERM[(+|-)NUM], TERM a register, a symbol or a number. */
static int eval(const struct tui *t, const char *expr, uint64_t *out, int *phys, char *why, size_t cap)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", expr);
	char *s = buf;
	while (*s == ' ')
		s++;
	*phys = -1;
	if ((s[0] == 'p' || s[0] == 'v') && s[1] == ':') {
		*phys = s[0] == 'p';
		s += 2;
	}
	int64_t off = 0;
	char *op = NULL;
	for (char *q = s + 1; *q; q++)
		if (*q == '+' || *q == '-')
			op = q;
	if (op && op > s) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(op + 1, &end, 0);
		if (errno || *end || end == op + 1) {
			snprintf(why, cap, "'%s' is not an offset", op + 1);
			return -EINVAL;
		}
		off = *op == '-' ? -(int64_t)v : (int64_t)v;
		*op = 0;
	}
	uint64_t base;
	char *end;
	errno = 0;
	base = strtoull(s, &end, 16);
	if (!*s) {
		snprintf(why, cap, "no address");
		return -EINVAL;
	}
	if (!errno && !*end && isxdigit((unsigned char)*s)) {
		/* hex, with or without 0x */
	} else if (tui__reg_value(t, s, &base)) {
		if (!t->cpu.valid) {
			snprintf(why, cap, "register %s: no replayed state yet", s);
			return -EINVAL;
		}
	} else if (!syms__find(&t->syms, s, &base)) {
		snprintf(why, cap, "'%s' is not a number, a register or a known symbol", s);
		return -EINVAL;
	}
	*out = base + (uint64_t)off;
	return 0;
}

int memory__set_addr(struct tui *t, const char *expr)
{
	char why[200];
	uint64_t a;
	int phys;
	if (!*expr)
		return 0;
	if (eval(t, expr, &a, &phys, why, sizeof(why)) && !strstr(why, "no replayed state")) {
		ui__status(t, true, "memory: %s", why);
		return -EINVAL;
	}
	snprintf(t->mem_expr, sizeof(t->mem_expr), "%s", expr);
	if (phys >= 0)
		t->mem_phys = phys;
	t->mem_scroll = 0;
	ui__status(t, false, "memory at %s (%s)", expr, t->mem_phys ? "physical" : "guest-virtual");
	return 0;
}

void memory__draw(struct tui *t, const struct rect *r, bool focus)
{
	char title[300], why[200];
	const char *expr = t->mem_expr[0] ? t->mem_expr : "rsp";
	uint64_t addr = 0;
	int phys;
	int rc = t->cpu.valid ? eval(t, expr, &addr, &phys, why, sizeof(why)) : -EAGAIN;
	snprintf(title, sizeof(title), "4 Memory  %s = 0x%" PRIx64 "  %s", expr, addr,
		 t->mem_phys ? "physical" : "virtual");
	ui__pane_title(t, r, focus, title, tui__state_current(t) || !t->cpu.valid ? "" : "stale ");
	int h = r->h - 1;
	if (h <= 0)
		return;
	if (!t->w || !t->cpu.valid) {
		ui__put(r->y + 1, r->x, r->w, t->w ? "replaying to the cursor..." : t->state_msg, ui__attr(t, R_DIM), false);
		return;
	}
	if (rc) {
		ui__put(r->y + 1, r->x, r->w, why, ui__attr(t, R_ERROR), false);
		return;
	}
	int per = r->w >= 16 + 2 + 16 * 3 + 1 + 16 ? 16 : 8;
	uint64_t start = (addr & ~(uint64_t)(per - 1)) + (uint64_t)(t->mem_scroll * per);
	for (int k = 0; k < h; k++) {
		uint64_t a = start + (uint64_t)k * (uint64_t)per;
		uint8_t b[16] = { 0 };
		size_t got = worker__read(t->w, a, t->mem_phys, b, (size_t)per);
		char line[200];
		int n = snprintf(line, sizeof(line), "%016" PRIx64 " ", a);
		for (int i = 0; i < per; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, (size_t)i < got ? " %02x" : " ??", b[i]);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  ");
		for (int i = 0; i < per && n + 1 < (int)sizeof(line); i++)
			line[n++] = (size_t)i >= got ? ' ' : b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
		line[n] = 0;
		bool here = addr >= a && addr < a + (uint64_t)per;
		ui__put(r->y + 1 + k, r->x, r->w, line, got ? (here ? (int)A_BOLD : 0) : ui__attr(t, R_DIM), false);
	}
}

/* Up/Down by a line, PgUp/PgDn by a page: the hex and disassembly views alike. */
static bool scroll_key(long *scroll, int key, int page)
{
	switch (key) {
	case KEY_UP: --*scroll; return true;
	case KEY_DOWN: ++*scroll; return true;
	case KEY_PPAGE: *scroll -= page; return true;
	case KEY_NPAGE: *scroll += page; return true;
	}
	return false;
}

bool memory__key(struct tui *t, int key, int page)
{
	return scroll_key(&t->mem_scroll, key, page);
}

/* ---- disassembly ---- */

struct insn {
	uint64_t addr;
	uint16_t size;
	uint8_t bytes[16];
	char text[200];
	uint64_t target;   /* direct branch/call target, 0 if none */
};

static cs_mode mode_of(const struct kvm_sregs *s)
{
	if ((s->efer & (1ull << 10)) && s->cs.l)
		return CS_MODE_64;
	return s->cs.db ? CS_MODE_32 : CS_MODE_16;
}

/* Disassembles code[0..len) (at guest address from) into at most max instructions. */
static int sweep(csh h, const uint8_t *code, size_t len, uint64_t from, struct insn *out, int max)
{
	cs_insn *ci = cs_malloc(h);
	if (!ci)
		return 0;
	const uint8_t *p = code;
	size_t left = len;
	uint64_t a = from;
	int n = 0;
	while (n < max && left) {
		if (!cs_disasm_iter(h, &p, &left, &a, ci)) {
			/* Undecodable byte: show it as data and go on. */
			struct insn *o = &out[n++];
			o->addr = a;
			o->size = 1;
			o->bytes[0] = *p;
			snprintf(o->text, sizeof(o->text), "(bad)");
			o->target = 0;
			p++;
			left--;
			a++;
			continue;
		}
		struct insn *o = &out[n++];
		o->addr = ci->address;
		o->size = ci->size;
		memcpy(o->bytes, ci->bytes, ci->size < 16 ? ci->size : 16);
		snprintf(o->text, sizeof(o->text), "%s %s", ci->mnemonic, ci->op_str);
		o->target = 0;
		if (ci->detail && (cs_insn_group(h, ci, CS_GRP_JUMP) || cs_insn_group(h, ci, CS_GRP_CALL))) {
			const cs_x86 *x = &ci->detail->x86;
			if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
				o->target = (uint64_t)x->operands[0].imm;
		}
	}
	cs_free(ci, 1);
	return n;
}

void disasm__draw(struct tui *t, const struct rect *r, bool focus)
{
	char right[120];
	uint64_t rip = t->cpu.regs.rip;
	snprintf(right, sizeof(right), "%s", tui__state_current(t) || !t->cpu.valid ? "" : "stale ");
	ui__pane_title(t, r, focus, "5 Disassembly around RIP", right);
	int h = r->h - 1;
	if (h <= 0)
		return;
	if (!t->w || !t->cpu.valid) {
		ui__put(r->y + 1, r->x, r->w, t->w ? "replaying to the cursor..." : t->state_msg, ui__attr(t, R_DIM), false);
		return;
	}
	cs_mode mode = mode_of(&t->cpu.sregs);
	csh ch;
	if (cs_open(CS_ARCH_X86, mode, &ch) != CS_ERR_OK) {
		ui__put(r->y + 1, r->x, r->w, "cannot open the capstone disassembler", ui__attr(t, R_ERROR), false);
		return;
	}
	cs_option(ch, CS_OPT_DETAIL, CS_OPT_ON);
	/* Instruction boundaries before RIP are only known from a symbol start. */
	uint64_t off = 0, from = rip;
	const struct tui_sym *sym = syms__lookup(&t->syms, rip, &off);
	if (sym && off <= DIS_BACK_MAX)
		from = sym->addr;
	long below = h - h / 3 + (t->dis_scroll > 0 ? t->dis_scroll : 0) + 2;
	size_t len = (size_t)(rip - from) + (size_t)below * 15;
	if (len > 65536)
		len = 65536;
	uint8_t *code = malloc(len);
	struct insn *in = malloc(sizeof(*in) * DIS_MAX_INSNS);
	if (!code || !in) {
		free(code);
		free(in);
		cs_close(&ch);
		return;
	}
	size_t got = worker__read(t->w, from, false, code, len);
	if (got < (size_t)(rip - from)) {
		/* Unreadable before RIP: start at RIP itself. */
		got = worker__read(t->w, rip, false, code, len - (size_t)(rip - from));
		from = rip;
	}
	int n = sweep(ch, code, got, from, in, DIS_MAX_INSNS);
	int at = -1;
	for (int i = 0; i < n; i++)
		if (in[i].addr == rip)
			at = i;
	if (at < 0 && from != rip) {
		/* The sweep from the symbol missed RIP (data in the code?): restart at RIP. */
		size_t g2 = worker__read(t->w, rip, false, code, len);
		n = sweep(ch, code, g2, rip, in, DIS_MAX_INSNS);
		at = n ? 0 : -1;
	}
	cs_close(&ch);
	free(code);
	if (at < 0) {
		ui__printf(r->y + 1, r->x, r->w, ui__attr(t, R_ERROR), "RIP %016" PRIx64 " is not readable guest memory",
			   rip);
		free(in);
		return;
	}
	long first = at - h / 3 + t->dis_scroll;
	if (first < 0)
		first = 0;
	if (first > n - 1)
		first = n - 1;
	t->dis_scroll = first - (at - h / 3);
	int y = r->y + 1;
	char sb[200], line[640];
	for (long i = first; i < n && y < r->y + r->h; i++) {
		const struct insn *o = &in[i];
		uint64_t so;
		const struct tui_sym *s = syms__lookup(&t->syms, o->addr, &so);
		if (s && so == 0 && y < r->y + r->h - 1) {
			ui__printf(y++, r->x, r->w, ui__attr(t, R_SYMBOL), "<%s>:", s->name);
		}
		char hex[40];
		int hn = 0;
		for (int k = 0; k < o->size && k < 8; k++)
			hn += snprintf(hex + hn, sizeof(hex) - (size_t)hn, "%02x", o->bytes[k]);
		if (o->size > 8)
			snprintf(hex + hn, sizeof(hex) - (size_t)hn, "+");
		sb[0] = 0;
		if (o->target)
			syms__fmt(&t->syms, o->target, sb, sizeof(sb));
		snprintf(line, sizeof(line), "%s%016" PRIx64 "  %-17s %s%s%s%s", o->addr == rip ? "=>" : "  ", o->addr,
			 hex, o->text, sb[0] ? "  <" : "", sb, sb[0] ? ">" : "");
		ui__put(y++, r->x, r->w, line, o->addr == rip ? ui__attr(t, R_SELECT) : 0, o->addr == rip);
	}
	free(in);
}

bool disasm__key(struct tui *t, int key, int page)
{
	return scroll_key(&t->dis_scroll, key, page);
}
