/* proto.c — GDB remote protocol commands: a table of packet prefixes with argument schemas and handlers. */
#include "gdb/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/mem.h"
#include "core/vm.h"
#include "core/x86.h"
#include "gdb/framer.h"
#include "gdb/regs.h"

static const char hexd[] = "0123456789abcdef";


void gdb_text__printf(struct gdb_text *t, const char *fmt, ...)
{
	if (t->len >= sizeof(t->buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (size_t)n < sizeof(t->buf) ? t->len + (size_t)n : sizeof(t->buf) - 1;
}

int gdb_args__parse(const char *schema, const uint8_t *p, size_t len, struct gdb_args *a)
{
	size_t i = 0;
	bool optional = false;
	a->nn = 0;
	a->rest = NULL;
	a->rest_len = 0;
	for (const char *s = schema; *s; s++) {
		if (*s == '?') {
			optional = true;
			continue;
		}
		if (optional && i == len)
			return 0;
		switch (*s) {
		case 'x': {
			uint64_t v = 0;
			size_t d = 0;
			while (i < len && gdb_framer__hexval(p[i]) >= 0) {
				if (++d > 16)
					return -EINVAL;
				v = v << 4 | (uint64_t)gdb_framer__hexval(p[i++]);
			}
			if (!d || a->nn >= 4)
				return -EINVAL;
			a->n[a->nn++] = v;
			break;
		}
		case 'B': {
			size_t n = (len - i) / 2;
			if ((len - i) % 2 || n > sizeof(a->bin))
				return -EINVAL;
			for (size_t k = 0; k < n; k++) {
				int hi = gdb_framer__hexval(p[i + 2 * k]), lo = gdb_framer__hexval(p[i + 2 * k + 1]);
				if (hi < 0 || lo < 0)
					return -EINVAL;
				a->bin[k] = (uint8_t)(hi << 4 | lo);
			}
			a->rest = a->bin;
			a->rest_len = n;
			i = len;
			break;
		}
		case '*':
		case 's':
			a->rest = p + i;
			a->rest_len = len - i;
			i = len;
			break;
		default:
			if (i >= len || p[i] != (uint8_t)*s)
				return -EINVAL;
			i++;
			break;
		}
	}
	return i == len ? 0 : -EINVAL;
}

/* ---- replies ---- */

static int send_raw(struct gdb_conn *c, const char *buf, size_t len)
{
	return c->send(c->send_ctx, buf, len) < 0 ? -EPIPE : 0;
}

static int reply(struct gdb_conn *c, const void *payload, size_t len)
{
	size_t n = gdb_framer__encode(payload, len, c->last, sizeof(c->last));
	if (!n)
		n = gdb_framer__encode("E0c", 3, c->last, sizeof(c->last));
	c->last_len = n;
	return send_raw(c, c->last, n);
}

static int reply_str(struct gdb_conn *c, const char *s)
{
	return reply(c, s, strlen(s));
}

static int reply_err(struct gdb_conn *c, int err)
{
	char b[8];
	snprintf(b, sizeof(b), "E%02x", (unsigned)(err < 0 ? -err : err) & 0xff);
	return reply_str(c, b);
}

static int reply_hex(struct gdb_conn *c, const uint8_t *data, size_t n)
{
	static char out[GDB_PACKET_MAX];
	if (2 * n > sizeof(out))
		n = sizeof(out) / 2;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[data[i] >> 4];
		out[2 * i + 1] = hexd[data[i] & 15];
	}
	return reply(c, out, 2 * n);
}

int gdb_conn__console(struct gdb_conn *c, const char *text)
{
	static char out[GDB_PACKET_MAX];
	size_t n = strlen(text), o = 0;
	out[o++] = 'O';
	for (size_t i = 0; i < n && o + 2 < sizeof(out); i++) {
		out[o++] = hexd[(uint8_t)text[i] >> 4];
		out[o++] = hexd[(uint8_t)text[i] & 15];
	}
	return reply(c, out, o);
}

static int reply_stop(struct gdb_conn *c, const struct gdb_stop *st)
{
	char b[128];
	if (st->note[0]) {
		char note[sizeof(st->note) + 8];
		snprintf(note, sizeof(note), "rrvm: %s\n", st->note);
		int rc = gdb_conn__console(c, note);
		if (rc)
			return rc;
	}
	switch (st->kind) {
	case GDB_STOP_EXITED:
		snprintf(b, sizeof(b), "W%02x", st->exit_code & 0xff);
		break;
	case GDB_STOP_BREAK:
		snprintf(b, sizeof(b), "T05%s:;thread:1;", st->hw ? "hwbreak" : "swbreak");
		break;
	case GDB_STOP_WATCH:
		snprintf(b, sizeof(b), "T05%s:%" PRIx64 ";thread:1;",
			 st->watch_type == GDB_WP_READ ? "rwatch" : st->watch_type == GDB_WP_ACCESS ? "awatch" : "watch",
			 st->watch_addr);
		break;
	case GDB_STOP_HISTORY:
		snprintf(b, sizeof(b), "T05replaylog:%s;thread:1;", st->history_end ? "end" : "begin");
		break;
	default:
		snprintf(b, sizeof(b), "T%02xthread:1;", st->signo & 0xff);
		break;
	}
	return reply_str(c, b);
}

/* ---- memory through the guest's page tables ---- */

static int get_sregs(struct vm *vm, struct kvm_sregs *s)
{
	return ioctl(vm->vcpu_fd, KVM_GET_SREGS, s) < 0 ? -errno : 0;
}

static int write_virt(struct vm *vm, uint64_t gva, const uint8_t *buf, size_t len)
{
	struct kvm_sregs s;
	int rc = get_sregs(vm, &s);
	if (rc)
		return rc;
	while (len) {
		uint64_t gpa, chunk = 4096 - (gva & 4095);
		if (chunk > len)
			chunk = len;
		if (x86__gva_to_gpa(&vm->mem, s.cr0, s.cr3, s.cr4, s.efer, gva, &gpa) ||
		    mem__write(&vm->mem, gpa, buf, chunk))
			return -EFAULT;
		gva += chunk, buf += chunk, len -= chunk;
	}
	return 0;
}

/* ---- command handlers ---- */

static int cmd_supported(struct gdb_conn *c, struct gdb_args *a)
{
	char b[256];
	snprintf(b, sizeof(b), "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"
		 "QStartNoAckMode+%s", GDB_PACKET_MAX, c->t->ops->reverse ? ";ReverseStep+;ReverseContinue+" : "");
	return reply_str(c, b);
}

static int cmd_noack(struct gdb_conn *c, struct gdb_args *a)
{
	int rc = reply_str(c, "OK");
	c->noack = true;
	return rc;
}

static int cmd_xfer_features(struct gdb_conn *c, struct gdb_args *a)
{
	/* "target.xml:OFF,LEN" */
	static const char name[] = "target.xml:";
	struct gdb_args n;
	if (a->rest_len < sizeof(name) - 1 || memcmp(a->rest, name, sizeof(name) - 1))
		return reply_str(c, "E00");
	if (gdb_args__parse("x,x", a->rest + sizeof(name) - 1, a->rest_len - (sizeof(name) - 1), &n))
		return reply_err(c, EINVAL);
	const char *xml = gdb_regs__target_xml();
	size_t total = strlen(xml), off = n.n[0], len = n.n[1];
	if (off >= total)
		return reply_str(c, "l");
	if (len > GDB_PACKET_MAX - 16)
		len = GDB_PACKET_MAX - 16;
	static char b[GDB_PACKET_MAX];
	bool last = total - off <= len;
	size_t k = last ? total - off : len;
	b[0] = last ? 'l' : 'm';
	memcpy(b + 1, xml + off, k);
	return reply(c, b, k + 1);
}

static int cmd_const(struct gdb_conn *c, const char *s) { return reply_str(c, s); }
static int cmd_attached(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "1"); }
static int cmd_qc(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "QC1"); }
static int cmd_fthread(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "m1"); }
static int cmd_sthread(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "l"); }
static int cmd_ok(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "OK"); }
static int cmd_empty(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, ""); }
static int cmd_vcont_q(struct gdb_conn *c, struct gdb_args *a) { return cmd_const(c, "vCont;c;C;s;S"); }

static int cmd_why(struct gdb_conn *c, struct gdb_args *a)
{
	struct gdb_stop st;
	memset(&st, 0, sizeof(st));
	c->t->ops->last_stop(c->t->priv, &st);
	return reply_stop(c, &st);
}

static int cmd_g(struct gdb_conn *c, struct gdb_args *a)
{
	uint8_t b[GDB_REGS_MAX];
	int n = gdb_regs__read_all(c->t->ops->vm(c->t->priv), b, sizeof(b));
	return n < 0 ? reply_err(c, n) : reply_hex(c, b, (size_t)n);
}

static int refuse(struct gdb_conn *c)
{
	const char *why = c->t->ops->write_refused(c->t->priv);
	if (!why)
		return 0;
	fprintf(stderr, "rrvm gdb: write refused: %s\n", why);
	char b[600];
	snprintf(b, sizeof(b), "E.%s", why);   /* gdb >= 10 shows the text */
	reply_str(c, b);
	return 1;
}

static int cmd_G(struct gdb_conn *c, struct gdb_args *a)
{
	if (refuse(c))
		return 0;
	int rc = gdb_regs__write_all(c->t->ops->vm(c->t->priv), a->rest, a->rest_len);
	return rc ? reply_err(c, rc) : reply_str(c, "OK");
}

static int cmd_p(struct gdb_conn *c, struct gdb_args *a)
{
	uint8_t b[64];
	int n = gdb_regs__read_one(c->t->ops->vm(c->t->priv), (int)a->n[0], b, sizeof(b));
	return n < 0 ? reply_err(c, n) : reply_hex(c, b, (size_t)n);
}

static int cmd_P(struct gdb_conn *c, struct gdb_args *a)
{
	if (refuse(c))
		return 0;
	int rc = gdb_regs__write_one(c->t->ops->vm(c->t->priv), (int)a->n[0], a->rest, a->rest_len);
	return rc ? reply_err(c, rc) : reply_str(c, "OK");
}

static int cmd_m(struct gdb_conn *c, struct gdb_args *a)
{
	static uint8_t b[GDB_PACKET_MAX / 2];
	struct vm *vm = c->t->ops->vm(c->t->priv);
	struct kvm_sregs s;
	size_t len = a->n[1] < sizeof(b) ? a->n[1] : sizeof(b);
	if (get_sregs(vm, &s))
		return reply_err(c, EIO);
	size_t got = x86__read_virt(&vm->mem, &s, a->n[0], b, len);
	if (!got && len)
		return reply_err(c, EFAULT);
	/* The stub's HLT patches are never in guest memory here: they live only
	 * inside the vCPU loop (core/guest_debug.h). */
	return reply_hex(c, b, got);
}

static int cmd_M(struct gdb_conn *c, struct gdb_args *a)
{
	if (refuse(c))
		return 0;
	if (a->rest_len != a->n[1])
		return reply_err(c, EINVAL);
	int rc = write_virt(c->t->ops->vm(c->t->priv), a->n[0], a->rest, a->rest_len);
	return rc ? reply_err(c, rc) : reply_str(c, "OK");
}

static int cmd_Z(struct gdb_conn *c, struct gdb_args *a, bool insert)
{
	if (a->n[0] > GDB_WP_ACCESS)
		return reply_str(c, "");
	if (!insert)
		return c->t->ops->remove(c->t->priv, (enum gdb_bp_type)a->n[0], a->n[1], a->n[2]) ? reply_err(c, EINVAL)
												 : reply_str(c, "OK");
	const char *why = NULL;
	int rc = c->t->ops->insert(c->t->priv, (enum gdb_bp_type)a->n[0], a->n[1], a->n[2], &why);
	if (rc == -ENOTSUP)
		return reply_str(c, "");
	if (rc) {
		if (why)
			fprintf(stderr, "rrvm gdb: %s\n", why);
		char b[400];
		snprintf(b, sizeof(b), "E.%s", why ? why : "cannot set a breakpoint there");
		return reply_str(c, b);
	}
	return reply_str(c, "OK");
}
static int cmd_Zins(struct gdb_conn *c, struct gdb_args *a) { return cmd_Z(c, a, true); }
static int cmd_Zrem(struct gdb_conn *c, struct gdb_args *a) { return cmd_Z(c, a, false); }

static int resume(struct gdb_conn *c, enum gdb_resume how)
{
	struct gdb_stop st;
	memset(&st, 0, sizeof(st));
	if ((how == GDB_RESUME_RCONT || how == GDB_RESUME_RSTEP) && !c->t->ops->reverse)
		return reply_str(c, "E01");
	int rc = c->t->ops->resume(c->t->priv, how, &st);
	if (rc < 0) {
		snprintf(st.note, sizeof(st.note), "the %s stopped with an error: %s", c->t->ops->name, strerror(-rc));
		st.kind = GDB_STOP_SIGNAL;
		st.signo = 5;
	}
	return reply_stop(c, &st);
}

static int cmd_c(struct gdb_conn *c, struct gdb_args *a) { return resume(c, GDB_RESUME_CONT); }
static int cmd_s(struct gdb_conn *c, struct gdb_args *a) { return resume(c, GDB_RESUME_STEP); }
static int cmd_bc(struct gdb_conn *c, struct gdb_args *a) { return resume(c, GDB_RESUME_RCONT); }
static int cmd_bs(struct gdb_conn *c, struct gdb_args *a) { return resume(c, GDB_RESUME_RSTEP); }

static int cmd_vcont(struct gdb_conn *c, struct gdb_args *a)
{
	/* One thread: the first action decides ("c", "C05", "s", "S05", with or without ":1"). */
	if (!a->rest_len)
		return reply_err(c, EINVAL);
	switch (a->rest[0]) {
	case 'c': case 'C': return resume(c, GDB_RESUME_CONT);
	case 's': case 'S': return resume(c, GDB_RESUME_STEP);
	default: return reply_str(c, "");
	}
}

static int cmd_rcmd(struct gdb_conn *c, struct gdb_args *a)
{
	static struct gdb_text out;
	char cmd[1024];
	size_t n = a->rest_len < sizeof(cmd) - 1 ? a->rest_len : sizeof(cmd) - 1;
	memcpy(cmd, a->rest, n);
	cmd[n] = 0;
	out.len = 0;
	out.buf[0] = 0;
	int rc = c->t->ops->monitor(c->t->priv, cmd, &out);
	/* Output in console packets of bounded size. */
	for (size_t o = 0; o < out.len; o += 1024) {
		char part[1025];
		size_t k = out.len - o < 1024 ? out.len - o : 1024;
		memcpy(part, out.buf + o, k);
		part[k] = 0;
		if (gdb_conn__console(c, part))
			return -EPIPE;
	}
	return rc ? reply_str(c, "E01") : reply_str(c, "OK");
}

static int cmd_detach(struct gdb_conn *c, struct gdb_args *a)
{
	c->done = true;
	return reply_str(c, "OK");
}

static int cmd_kill(struct gdb_conn *c, struct gdb_args *a)
{
	c->done = true;
	c->killed = true;
	return 0;   /* k has no reply */
}

/* The command table: first matching prefix wins (longer prefixes first). */
struct gdb_cmd {
	const char *prefix;
	const char *schema;
	int (*fn)(struct gdb_conn *c, struct gdb_args *a);
};

static const struct gdb_cmd cmds[] = {
	{ "qSupported", "?s", cmd_supported },
	{ "QStartNoAckMode", "", cmd_noack },
	{ "qXfer:features:read:", "s", cmd_xfer_features },
	{ "qAttached", "?s", cmd_attached },
	{ "qC", "", cmd_qc },
	{ "qfThreadInfo", "", cmd_fthread },
	{ "qsThreadInfo", "", cmd_sthread },
	{ "qRcmd,", "B", cmd_rcmd },
	{ "qSymbol", "s", cmd_ok },
	{ "vCont?", "", cmd_vcont_q },
	{ "vCont;", "s", cmd_vcont },
	{ "vMustReplyEmpty", "", cmd_empty },
	{ "?", "", cmd_why },
	{ "g", "", cmd_g },
	{ "G", "B", cmd_G },
	{ "p", "x", cmd_p },
	{ "P", "x=B", cmd_P },
	{ "m", "x,x", cmd_m },
	{ "M", "x,x:B", cmd_M },
	{ "X", "x,x:*", cmd_M },
	{ "Z", "x,x,x?s", cmd_Zins },
	{ "z", "x,x,x?s", cmd_Zrem },
	{ "bc", "", cmd_bc },
	{ "bs", "", cmd_bs },
	{ "c", "?x", cmd_c },
	{ "s", "?x", cmd_s },
	{ "H", "s", cmd_ok },
	{ "T", "s", cmd_ok },
	{ "D", "?s", cmd_detach },
	{ "k", "", cmd_kill },
};

int gdb_proto__match(const uint8_t *p, size_t len, struct gdb_args *a, const char **name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t k = strlen(cmds[i].prefix);
		if (len < k || memcmp(p, cmds[i].prefix, k))
			continue;
		if (name)
			*name = cmds[i].prefix;
		return gdb_args__parse(cmds[i].schema, p + k, len - k, a) ? -EINVAL : (int)i;
	}
	return -ENOENT;
}

static int dispatch(struct gdb_conn *c, const uint8_t *p, size_t len)
{
	static struct gdb_args a;
	c->packets++;
	int i = gdb_proto__match(p, len, &a, NULL);
	if (i == -ENOENT)
		return reply_str(c, "");   /* unsupported */
	if (i < 0) {
		c->bad_packets++;
		return reply_err(c, EINVAL);
	}
	return cmds[i].fn(c, &a);
}

void gdb_conn__init(struct gdb_conn *c, struct gdb_target *t, gdb_send_fn send, void *ctx)
{
	memset(c, 0, sizeof(*c));
	gdb_framer__reset(&c->fr);
	c->t = t;
	c->send = send;
	c->send_ctx = ctx;
}

int gdb_conn__input(struct gdb_conn *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && !c->done; i++) {
		int rc = 0;
		switch (gdb_framer__feed(&c->fr, buf[i])) {
		case GDB_FRAME_PACKET:
			if (!c->noack)
				rc = send_raw(c, "+", 1);
			if (!rc)
				rc = dispatch(c, c->fr.data, c->fr.len);
			break;
		case GDB_FRAME_BAD:
			c->bad_packets++;
			if (!c->noack)
				rc = send_raw(c, "-", 1);
			break;
		case GDB_FRAME_NAK:
			if (c->last_len)
				rc = send_raw(c, c->last, c->last_len);
			break;
		case GDB_FRAME_INTERRUPT:
			/* Ctrl-C after the target stopped on its own: the stop
			 * reply is already on its way; nothing to interrupt. */
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	return c->done ? 1 : 0;
}
