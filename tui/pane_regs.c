/* pane_regs.c — registers at the cursor: GPRs, RIP with its symbol, decoded RFLAGS, segments, control registers. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/vm.h"
#include "tui/ui.h"

struct bitname {
	int bit;
	const char *name;
};

static const struct bitname rflags_bits[] = {
	{ 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" }, { 8, "TF" }, { 9, "IF" }, { 10, "DF" },
	{ 11, "OF" }, { 14, "NT" }, { 16, "RF" }, { 17, "VM" }, { 18, "AC" }, { 19, "VIF" }, { 20, "VIP" },
	{ 21, "ID" }, { -1, NULL },
};
static const struct bitname cr0_bits[] = {
	{ 0, "PE" }, { 1, "MP" }, { 2, "EM" }, { 3, "TS" }, { 4, "ET" }, { 5, "NE" }, { 16, "WP" }, { 18, "AM" },
	{ 29, "NW" }, { 30, "CD" }, { 31, "PG" }, { -1, NULL },
};
static const struct bitname cr4_bits[] = {
	{ 0, "VME" }, { 1, "PVI" }, { 2, "TSD" }, { 3, "DE" }, { 4, "PSE" }, { 5, "PAE" }, { 6, "MCE" },
	{ 7, "PGE" }, { 8, "PCE" }, { 9, "OSFXSR" }, { 10, "OSXMMEXCPT" }, { 11, "UMIP" }, { 12, "LA57" },
	{ 13, "VMXE" }, { 16, "FSGSBASE" }, { 17, "PCIDE" }, { 18, "OSXSAVE" }, { 20, "SMEP" }, { 21, "SMAP" },
	{ 22, "PKE" }, { -1, NULL },
};
static const struct bitname efer_bits[] = {
	{ 0, "SCE" }, { 8, "LME" }, { 10, "LMA" }, { 11, "NXE" }, { 12, "SVME" }, { -1, NULL },
};

static void bits(char *buf, size_t cap, uint64_t v, const struct bitname *b)
{
	size_t n = 0;
	buf[0] = 0;
	for (; b->name && n + 1 < cap; b++)
		if (v & (1ull << b->bit))
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", b->name);
}

/* Draws "NAME value" with the value highlighted when it differs from the previous stop. */
static void reg(struct tui *t, int y, int x, int w, const char *name, int nw, uint64_t v, uint64_t old, bool cmp,
		int digits)
{
	char val[32];
	snprintf(val, sizeof(val), "%0*" PRIx64, digits, v);
	ui__printf(y, x, w, ui__attr(t, R_DIM), "%-*s", nw, name);
	ui__put(y, x + nw + 1, w - nw - 1, val, cmp && v != old ? ui__attr(t, R_CHANGED) : 0, false);
}

static const char *mode_name(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return "real mode";
	if (s->efer & (1ull << 10))
		return s->cs.l ? "long mode, 64-bit" : "long mode, compatibility";
	return s->cs.db ? "protected, 32-bit" : "protected, 16-bit";
}

void regs__draw(struct tui *t, const struct rect *r, bool focus)
{
	char title[160], right[160];
	const struct tui_cpu *c = &t->cpu, *p = &t->cpu_prev;
	bool cur = tui__state_current(t);
	snprintf(title, sizeof(title), "2 Registers");
	if (c->valid)
		snprintf(right, sizeof(right), "%sat event %" PRIu64 " ", cur ? "" : "stale: ", c->event);
	else
		right[0] = 0;
	ui__pane_title(t, r, focus, title, right);
	int y = r->y + 1, ye = r->y + r->h, w = r->w;
	if (y >= ye)
		return;
	if (!t->w || !c->valid) {
		const char *msg = t->w ? (t->state_msg[0] ? t->state_msg : "replaying to the cursor...") : t->state_msg;
		ui__put(y, r->x, w, msg, ui__attr(t, t->w && !t->state_rc ? R_DIM : R_ERROR), false);
		return;
	}
	if (!cur) {
		char m[200];
		uint64_t d, tg;
		double secs;
		bool busy = worker__busy(t->w, &d, &tg, &secs) || t->seek_wanted;
		snprintf(m, sizeof(m), "(state at event %" PRIu64 "; cursor at %" PRIu64 ": %s)", c->event, t->cursor,
			 busy ? "replaying there" : c->stop == VM_STOP_INTERRUPTED ? "seek cancelled, r replays" :
			 "replay stopped early, see the status line");
		ui__put(y++, r->x, w, m, ui__attr(t, R_DIM), false);
	}
	bool cmp = p->valid;
	const struct kvm_regs *R = &c->regs, *P = &p->regs;
	const struct kvm_sregs *S = &c->sregs, *PS = &p->sregs;
	char sym[200], buf[300];

	/* RIP and its symbol. */
	if (y < ye) {
		reg(t, y, r->x, w, "RIP", 3, R->rip, P->rip, cmp, 16);
		syms__fmt(&t->syms, R->rip, sym, sizeof(sym));
		if (sym[0])
			ui__printf(y, r->x + 21, w - 21, ui__attr(t, R_SYMBOL), "<%s>", sym);
		else if (!t->syms.n)
			ui__put(y, r->x + 21, w - 21, "(no symbols)", ui__attr(t, R_DIM), false);
		y++;
	}
	const struct {
		const char *n;
		uint64_t v, o;
	} g[16] = {
		{ "RAX", R->rax, P->rax }, { "RBX", R->rbx, P->rbx }, { "RCX", R->rcx, P->rcx }, { "RDX", R->rdx, P->rdx },
		{ "RSI", R->rsi, P->rsi }, { "RDI", R->rdi, P->rdi }, { "RBP", R->rbp, P->rbp }, { "RSP", R->rsp, P->rsp },
		{ "R8", R->r8, P->r8 },    { "R9", R->r9, P->r9 },    { "R10", R->r10, P->r10 }, { "R11", R->r11, P->r11 },
		{ "R12", R->r12, P->r12 }, { "R13", R->r13, P->r13 }, { "R14", R->r14, P->r14 }, { "R15", R->r15, P->r15 },
	};
	int per = w >= 4 * 22 ? 4 : w >= 3 * 22 - 2 ? 3 : w >= 2 * 22 - 2 ? 2 : 1;
	for (int i = 0; i < 16 && y < ye; y++)
		for (int k = 0; k < per && i < 16; k++, i++)
			reg(t, y, r->x + k * 22, 21, g[i].n, 3, g[i].v, g[i].o, cmp, 16);
	if (y < ye) {
		reg(t, y, r->x, w, "RFL", 3, R->rflags, P->rflags, cmp, 16);
		bits(buf, sizeof(buf), R->rflags, rflags_bits);
		ui__printf(y, r->x + 21, w - 21, A_NORMAL, "%s IOPL=%u", buf, (unsigned)(R->rflags >> 12) & 3);
		y++;
	}
	if (y < ye) {
		const struct kvm_segment *seg[6] = { &S->cs, &S->ss, &S->ds, &S->es, &S->fs, &S->gs };
		const struct kvm_segment *pseg[6] = { &PS->cs, &PS->ss, &PS->ds, &PS->es, &PS->fs, &PS->gs };
		static const char *const sn[6] = { "CS", "SS", "DS", "ES", "FS", "GS" };
		int x = r->x;
		for (int i = 0; i < 6 && x + 7 <= r->x + w; i++, x += 8)
			reg(t, y, x, 7, sn[i], 2, seg[i]->selector, pseg[i]->selector, cmp, 4);
		if (x + 6 < r->x + w)
			ui__printf(y, x, r->x + w - x, A_NORMAL, "CPL %u  %s", S->cs.selector & 3, mode_name(S));
		y++;
	}
	if (y < ye && (S->fs.base || S->gs.base || (cmp && (PS->fs.base || PS->gs.base)))) {
		reg(t, y, r->x, 27, "FS.base", 7, S->fs.base, PS->fs.base, cmp, 16);
		reg(t, y, r->x + 27, w - 27, "GS.base", 7, S->gs.base, PS->gs.base, cmp, 16);
		y++;
	}
	if (y < ye) {
		reg(t, y, r->x, w, "CR0", 3, S->cr0, PS->cr0, cmp, 16);
		bits(buf, sizeof(buf), S->cr0, cr0_bits);
		ui__put(y++, r->x + 21, w - 21, buf, A_NORMAL, false);
	}
	if (y < ye) {
		reg(t, y, r->x, 21, "CR2", 3, S->cr2, PS->cr2, cmp, 16);
		reg(t, y, r->x + 22, w - 22, "CR3", 3, S->cr3, PS->cr3, cmp, 16);
		y++;
	}
	if (y < ye) {
		reg(t, y, r->x, w, "CR4", 3, S->cr4, PS->cr4, cmp, 16);
		bits(buf, sizeof(buf), S->cr4, cr4_bits);
		ui__put(y++, r->x + 21, w - 21, buf, A_NORMAL, false);
	}
	if (y < ye) {
		reg(t, y, r->x, w, "EFER", 4, S->efer, PS->efer, cmp, 8);
		bits(buf, sizeof(buf), S->efer, efer_bits);
		ui__put(y++, r->x + 14, w - 14, buf, A_NORMAL, false);
	}
	if (y < ye) {
		snprintf(buf, sizeof(buf), "GDT %" PRIx64 "/%x  IDT %" PRIx64 "/%x  TR %04x  LDT %04x", (uint64_t)S->gdt.base,
			 S->gdt.limit, (uint64_t)S->idt.base, S->idt.limit, S->tr.selector, S->ldt.selector);
		ui__put(y++, r->x, w, buf, A_NORMAL, false);
	}
	if (y < ye && (c->dregs.dr7 & 0xff)) {
		snprintf(buf, sizeof(buf), "DR0 %llx DR1 %llx DR2 %llx DR3 %llx DR6 %llx DR7 %llx",
			 (unsigned long long)c->dregs.db[0], (unsigned long long)c->dregs.db[1],
			 (unsigned long long)c->dregs.db[2], (unsigned long long)c->dregs.db[3],
			 (unsigned long long)c->dregs.dr6, (unsigned long long)c->dregs.dr7);
		ui__put(y++, r->x, w, buf, A_NORMAL, false);
	}
	if (y < ye && c->stop != VM_STOP_REPLAYED && c->stop_msg[0])
		ui__printf(y++, r->x, w, ui__attr(t, R_CRASH), "stop: %s", c->stop_msg);
}
