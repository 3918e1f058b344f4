/* regs.c — maps KVM's register structs to gdb's x86-64 register numbering, and describes it in target.xml. */
#include "gdb/regs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"

enum src { S_GPR, S_RIP, S_FLAGS, S_SEG, S_ST, S_FPC, S_XMM, S_MXCSR, S_BASE, S_CR, S_EFER };

struct reg {
	const char *name;
	unsigned size;       /* bytes */
	enum src src;
	unsigned idx;
	const char *type, *group, *feature;
};

#define CORE "org.gnu.gdb.i386.core"
#define SSE "org.gnu.gdb.i386.sse"
#define SEGS "org.gnu.gdb.i386.segments"
#define SYS "org.rrvm.x86.system"

static const struct reg regs[] = {
	{ "rax", 8, S_GPR, 0, "int64", NULL, CORE },  { "rbx", 8, S_GPR, 1, "int64", NULL, CORE },
	{ "rcx", 8, S_GPR, 2, "int64", NULL, CORE },  { "rdx", 8, S_GPR, 3, "int64", NULL, CORE },
	{ "rsi", 8, S_GPR, 4, "int64", NULL, CORE },  { "rdi", 8, S_GPR, 5, "int64", NULL, CORE },
	{ "rbp", 8, S_GPR, 6, "data_ptr", NULL, CORE }, { "rsp", 8, S_GPR, 7, "data_ptr", NULL, CORE },
	{ "r8", 8, S_GPR, 8, "int64", NULL, CORE },   { "r9", 8, S_GPR, 9, "int64", NULL, CORE },
	{ "r10", 8, S_GPR, 10, "int64", NULL, CORE }, { "r11", 8, S_GPR, 11, "int64", NULL, CORE },
	{ "r12", 8, S_GPR, 12, "int64", NULL, CORE }, { "r13", 8, S_GPR, 13, "int64", NULL, CORE },
	{ "r14", 8, S_GPR, 14, "int64", NULL, CORE }, { "r15", 8, S_GPR, 15, "int64", NULL, CORE },
	{ "rip", 8, S_RIP, 0, "code_ptr", NULL, CORE }, { "eflags", 4, S_FLAGS, 0, "i386_eflags", NULL, CORE },
	{ "cs", 4, S_SEG, 0, "int32", NULL, CORE },   { "ss", 4, S_SEG, 1, "int32", NULL, CORE },
	{ "ds", 4, S_SEG, 2, "int32", NULL, CORE },   { "es", 4, S_SEG, 3, "int32", NULL, CORE },
	{ "fs", 4, S_SEG, 4, "int32", NULL, CORE },   { "gs", 4, S_SEG, 5, "int32", NULL, CORE },
	{ "st0", 10, S_ST, 0, "i387_ext", NULL, CORE }, { "st1", 10, S_ST, 1, "i387_ext", NULL, CORE },
	{ "st2", 10, S_ST, 2, "i387_ext", NULL, CORE }, { "st3", 10, S_ST, 3, "i387_ext", NULL, CORE },
	{ "st4", 10, S_ST, 4, "i387_ext", NULL, CORE }, { "st5", 10, S_ST, 5, "i387_ext", NULL, CORE },
	{ "st6", 10, S_ST, 6, "i387_ext", NULL, CORE }, { "st7", 10, S_ST, 7, "i387_ext", NULL, CORE },
	{ "fctrl", 4, S_FPC, 0, "int", "float", CORE }, { "fstat", 4, S_FPC, 1, "int", "float", CORE },
	{ "ftag", 4, S_FPC, 2, "int", "float", CORE },  { "fiseg", 4, S_FPC, 3, "int", "float", CORE },
	{ "fioff", 4, S_FPC, 4, "int", "float", CORE }, { "foseg", 4, S_FPC, 5, "int", "float", CORE },
	{ "fooff", 4, S_FPC, 6, "int", "float", CORE }, { "fop", 4, S_FPC, 7, "int", "float", CORE },
	{ "xmm0", 16, S_XMM, 0, "vec128", NULL, SSE },   { "xmm1", 16, S_XMM, 1, "vec128", NULL, SSE },
	{ "xmm2", 16, S_XMM, 2, "vec128", NULL, SSE },   { "xmm3", 16, S_XMM, 3, "vec128", NULL, SSE },
	{ "xmm4", 16, S_XMM, 4, "vec128", NULL, SSE },   { "xmm5", 16, S_XMM, 5, "vec128", NULL, SSE },
	{ "xmm6", 16, S_XMM, 6, "vec128", NULL, SSE },   { "xmm7", 16, S_XMM, 7, "vec128", NULL, SSE },
	{ "xmm8", 16, S_XMM, 8, "vec128", NULL, SSE },   { "xmm9", 16, S_XMM, 9, "vec128", NULL, SSE },
	{ "xmm10", 16, S_XMM, 10, "vec128", NULL, SSE }, { "xmm11", 16, S_XMM, 11, "vec128", NULL, SSE },
	{ "xmm12", 16, S_XMM, 12, "vec128", NULL, SSE }, { "xmm13", 16, S_XMM, 13, "vec128", NULL, SSE },
	{ "xmm14", 16, S_XMM, 14, "vec128", NULL, SSE }, { "xmm15", 16, S_XMM, 15, "vec128", NULL, SSE },
	{ "mxcsr", 4, S_MXCSR, 0, "i386_mxcsr", "vector", SSE },
	{ "fs_base", 8, S_BASE, 0, "int", NULL, SEGS },  { "gs_base", 8, S_BASE, 1, "int", NULL, SEGS },
	{ "cr0", 8, S_CR, 0, "int64", "system", SYS },  { "cr2", 8, S_CR, 2, "int64", "system", SYS },
	{ "cr3", 8, S_CR, 3, "int64", "system", SYS },  { "cr4", 8, S_CR, 4, "int64", "system", SYS },
	{ "cr8", 8, S_CR, 8, "int64", "system", SYS },  { "efer", 8, S_EFER, 0, "int64", "system", SYS },
};
#define NREGS ((int)(sizeof(regs) / sizeof(regs[0])))

struct cpu {
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;
};

static int get(struct vm *vm, struct cpu *c)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &c->r) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &c->s) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_FPU, &c->f) < 0)
		return -errno;
	return 0;
}

static int put(struct vm *vm, const struct cpu *c)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &c->r) < 0 || ioctl(vm->vcpu_fd, KVM_SET_SREGS, &c->s) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_FPU, &c->f) < 0)
		return -errno;
	return 0;
}

static __u64 *gpr(struct kvm_regs *r, unsigned i)
{
	__u64 *t[16] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			    &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	return t[i];
}

static struct kvm_segment *seg(struct kvm_sregs *s, unsigned i)
{
	struct kvm_segment *t[6] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs };
	return t[i];
}

static __u64 *cr(struct kvm_sregs *s, unsigned i)
{
	return i == 0 ? &s->cr0 : i == 2 ? &s->cr2 : i == 3 ? &s->cr3 : i == 4 ? &s->cr4 : &s->cr8;
}

/* Abridged (FXSAVE) tag byte to the full x87 tag word: valid (00) or empty (11). */
static uint32_t full_tag(uint8_t abridged)
{
	uint32_t t = 0;
	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			t |= 3u << (2 * i);
	return t;
}

static void encode(const struct reg *g, struct cpu *c, uint8_t *b)
{
	uint64_t v = 0;
	switch (g->src) {
	case S_GPR: v = *gpr(&c->r, g->idx); break;
	case S_RIP: v = c->r.rip; break;
	case S_FLAGS: v = c->r.rflags; break;
	case S_SEG: v = seg(&c->s, g->idx)->selector; break;
	case S_ST: memcpy(b, c->f.fpr[g->idx], 10); return;
	case S_FPC: {
		uint32_t f[8] = { c->f.fcw, c->f.fsw, full_tag(c->f.ftwx), 0, (uint32_t)c->f.last_ip, 0,
				  (uint32_t)c->f.last_dp, c->f.last_opcode };
		v = f[g->idx];
		break;
	}
	case S_XMM: memcpy(b, c->f.xmm[g->idx], 16); return;
	case S_MXCSR: v = c->f.mxcsr; break;
	case S_BASE: v = g->idx ? c->s.gs.base : c->s.fs.base; break;
	case S_CR: v = *cr(&c->s, g->idx); break;
	case S_EFER: v = c->s.efer; break;
	}
	memcpy(b, &v, g->size);   /* x86 is little endian, as gdb expects */
}

static void decode(const struct reg *g, struct cpu *c, const uint8_t *b)
{
	uint64_t v = 0;
	if (g->size <= 8)
		memcpy(&v, b, g->size);
	switch (g->src) {
	case S_GPR: *gpr(&c->r, g->idx) = v; break;
	case S_RIP: c->r.rip = v; break;
	case S_FLAGS: c->r.rflags = v | 2; break;
	case S_SEG: seg(&c->s, g->idx)->selector = (uint16_t)v; break;
	case S_ST: memcpy(c->f.fpr[g->idx], b, 10); break;
	case S_FPC:
		if (g->idx == 0) c->f.fcw = (uint16_t)v;
		else if (g->idx == 1) c->f.fsw = (uint16_t)v;
		else if (g->idx == 4) c->f.last_ip = v;
		else if (g->idx == 6) c->f.last_dp = v;
		else if (g->idx == 7) c->f.last_opcode = (uint16_t)v;
		break;
	case S_XMM: memcpy(c->f.xmm[g->idx], b, 16); break;
	case S_MXCSR: c->f.mxcsr = (uint32_t)v; break;
	case S_BASE: (g->idx ? &c->s.gs : &c->s.fs)->base = v; break;
	case S_CR: *cr(&c->s, g->idx) = v; break;
	case S_EFER: c->s.efer = v; break;
	}
}

int gdb_regs__count(void) { return NREGS; }

const char *gdb_regs__name(int n)
{
	return n >= 0 && n < NREGS ? regs[n].name : NULL;
}

int gdb_regs__by_name(const char *name)
{
	for (int i = 0; i < NREGS; i++)
		if (!strcmp(regs[i].name, name))
			return i;
	return -1;
}

int gdb_regs__read_all(struct vm *vm, uint8_t *buf, size_t cap)
{
	struct cpu c;
	int rc = get(vm, &c);
	if (rc)
		return rc;
	size_t o = 0;
	for (int i = 0; i < NREGS; i++) {
		if (o + regs[i].size > cap)
			return -ENOSPC;
		encode(&regs[i], &c, buf + o);
		o += regs[i].size;
	}
	return (int)o;
}

int gdb_regs__read_one(struct vm *vm, int n, uint8_t *buf, size_t cap)
{
	if (n < 0 || n >= NREGS || cap < regs[n].size)
		return -EINVAL;
	struct cpu c;
	int rc = get(vm, &c);
	if (rc)
		return rc;
	encode(&regs[n], &c, buf);
	return (int)regs[n].size;
}

int gdb_regs__write_one(struct vm *vm, int n, const uint8_t *buf, size_t size)
{
	if (n < 0 || n >= NREGS || size != regs[n].size)
		return -EINVAL;
	struct cpu c;
	int rc = get(vm, &c);
	if (rc)
		return rc;
	decode(&regs[n], &c, buf);
	return put(vm, &c);
}

int gdb_regs__write_all(struct vm *vm, const uint8_t *buf, size_t size)
{
	struct cpu c;
	int rc = get(vm, &c);
	if (rc)
		return rc;
	size_t o = 0;
	/* gdb may send only the registers it knows the size of; take what came. */
	for (int i = 0; i < NREGS && o + regs[i].size <= size; i++) {
		decode(&regs[i], &c, buf + o);
		o += regs[i].size;
	}
	return put(vm, &c);
}

int gdb_regs__pc(struct vm *vm, uint64_t *rip, unsigned *cpl)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	*rip = r.rip;
	*cpl = s.cs.selector & 3;
	return 0;
}

const char *gdb_regs__target_xml(void)
{
	static char xml[12288];
	if (xml[0])
		return xml;
	size_t o = 0;
	o += (size_t)snprintf(xml + o, sizeof(xml) - o,
		"<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n"
		"<architecture>i386:x86-64</architecture>\n");
	const char *feat = NULL;
	for (int i = 0; i < NREGS; i++) {
		const struct reg *g = &regs[i];
		if (!feat || strcmp(feat, g->feature)) {
			if (feat)
				o += (size_t)snprintf(xml + o, sizeof(xml) - o, "</feature>\n");
			feat = g->feature;
			o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<feature name=\"%s\">\n", feat);
			if (!strcmp(feat, CORE))
				o += (size_t)snprintf(xml + o, sizeof(xml) - o,
					"<flags id=\"i386_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" end=\"0\"/>"
					"<field name=\"\" start=\"1\" end=\"1\"/><field name=\"PF\" start=\"2\" end=\"2\"/>"
					"<field name=\"AF\" start=\"4\" end=\"4\"/><field name=\"ZF\" start=\"6\" end=\"6\"/>"
					"<field name=\"SF\" start=\"7\" end=\"7\"/><field name=\"TF\" start=\"8\" end=\"8\"/>"
					"<field name=\"IF\" start=\"9\" end=\"9\"/><field name=\"DF\" start=\"10\" end=\"10\"/>"
					"<field name=\"OF\" start=\"11\" end=\"11\"/><field name=\"NT\" start=\"14\" end=\"14\"/>"
					"<field name=\"RF\" start=\"16\" end=\"16\"/><field name=\"VM\" start=\"17\" end=\"17\"/>"
					"<field name=\"AC\" start=\"18\" end=\"18\"/><field name=\"VIF\" start=\"19\" end=\"19\"/>"
					"<field name=\"VIP\" start=\"20\" end=\"20\"/><field name=\"ID\" start=\"21\" end=\"21\"/>"
					"</flags>\n");
			if (!strcmp(feat, SSE))
				o += (size_t)snprintf(xml + o, sizeof(xml) - o,
					"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
					"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
					"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
					"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
					"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
					"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
					"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
					"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
					"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
					"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>\n"
					"<flags id=\"i386_mxcsr\" size=\"4\"><field name=\"IE\" start=\"0\" end=\"0\"/>"
					"<field name=\"DE\" start=\"1\" end=\"1\"/><field name=\"ZE\" start=\"2\" end=\"2\"/>"
					"<field name=\"OE\" start=\"3\" end=\"3\"/><field name=\"UE\" start=\"4\" end=\"4\"/>"
					"<field name=\"PE\" start=\"5\" end=\"5\"/><field name=\"DAZ\" start=\"6\" end=\"6\"/>"
					"<field name=\"IM\" start=\"7\" end=\"7\"/><field name=\"DM\" start=\"8\" end=\"8\"/>"
					"<field name=\"ZM\" start=\"9\" end=\"9\"/><field name=\"OM\" start=\"10\" end=\"10\"/>"
					"<field name=\"UM\" start=\"11\" end=\"11\"/><field name=\"PM\" start=\"12\" end=\"12\"/>"
					"<field name=\"FZ\" start=\"15\" end=\"15\"/></flags>\n");
		}
		o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%d\"%s%s%s/>\n",
				      g->name, g->size * 8, g->type, i, g->group ? " group=\"" : "",
				      g->group ? g->group : "", g->group ? "\"" : "");
	}
	snprintf(xml + o, sizeof(xml) - o, "</feature>\n</target>\n");
	return xml;
}
