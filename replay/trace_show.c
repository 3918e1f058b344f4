/* trace_show.c — presenting trace records: names, one-line and JSON rendering, console text, scan statistics. */
#include "replay/trace_show.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------- */

static const char *const kind_names[TR__COUNT] = {
	[TR_EXIT] = "exit", [TR_IN_VALUE] = "in_value", [TR_IRQ] = "irq", [TR_LANDMARK] = "landmark",
	[TR_DEFERRAL] = "deferral", [TR_CONSOLE_OUT] = "console", [TR_CONSOLE_IN] = "input", [TR_DMA] = "dma",
	[TR_RDTSC] = "rdtsc", [TR_SNAPSHOT] = "snapshot", [TR_STOP] = "stop", [TR_REGS] = "regs",
};

const char *trace_show__kind_name(uint32_t type)
{
	return type > 0 && type < TR__COUNT && kind_names[type] ? kind_names[type] : "unknown";
}

static int kind_by_name(const char *s, size_t n)
{
	for (uint32_t t = 1; t < TR__COUNT; t++) {
		const char *a = kind_names[t], *b = trace__rec_name(t);
		if ((strlen(a) == n && !strncmp(a, s, n)) || (strlen(b) == n && !strncmp(b, s, n)))
			return (int)t;
	}
	return -1;
}

int trace_show__parse_kinds(const char *list, uint32_t *mask, char *bad, size_t badlen)
{
	*mask = 0;
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");
		int t = kind_by_name(p, n);
		if (t < 0) {
			if (badlen)
				snprintf(bad, badlen, "%.*s", (int)(n < 64 ? n : 64), p);
			return -EINVAL;
		}
		*mask |= 1u << t;
		p += n;
		if (!*p)
			return 0;
	}
}

const char *trace_show__exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_X86_RDMSR: return "RDMSR";
	case KVM_EXIT_X86_WRMSR: return "WRMSR";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_X86_BUS_LOCK: return "BUS_LOCK";
	default: return NULL;
	}
}

const char *trace_show__stop_name(uint32_t reason)
{
	static const char *const names[] = {
		[TRACE_STOP_UNSPEC] = "unspecified", [TRACE_STOP_POWEROFF] = "poweroff", [TRACE_STOP_PANIC] = "panic",
		[TRACE_STOP_SHUTDOWN] = "shutdown", [TRACE_STOP_SIGNAL] = "signal", [TRACE_STOP_ERROR] = "error",
		[TRACE_STOP_LIMIT] = "limit",
	};
	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : NULL;
}

/* What the address of an exit is called. */
static const char *addr_label(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "port";
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR: return "msr";
	default: return "addr";
	}
}

static const char *dir_name(uint32_t reason, uint32_t dir)
{
	bool io = reason == KVM_EXIT_IO;
	switch (dir) {
	case TRACE_DIR_IN: return io ? "in" : "read";
	case TRACE_DIR_OUT: return io ? "out" : "write";
	default: return NULL;
	}
}

/* ---- escaping ---------------------------------------------------------- */

size_t trace_show__escape(char *out, size_t cap, const uint8_t *data, size_t len, size_t max)
{
	size_t o = 0;
	if (!cap)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char e[8];
		uint8_t c = data[i];
		if (i >= max)
			goto cut;
		switch (c) {
		case '\n': strcpy(e, "\\n"); break;
		case '\r': strcpy(e, "\\r"); break;
		case '\t': strcpy(e, "\\t"); break;
		case '\\': strcpy(e, "\\\\"); break;
		case '"': strcpy(e, "\\\""); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				e[0] = (char)c;
				e[1] = 0;
			} else {
				snprintf(e, sizeof(e), "\\x%02x", c);
			}
		}
		size_t n = strlen(e);
		if (o + n + 4 > cap) /* keep room for "..." and the NUL */
			goto cut;
		memcpy(out + o, e, n);
		o += n;
	}
	out[o] = 0;
	return o;
cut:
	if (o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return o;
}

void trace_show__json_bytes(FILE *f, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\u%04x", c);
	}
}

void trace_show__json_str(FILE *f, const char *s)
{
	trace_show__json_bytes(f, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
}

/* ---- one record -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t cap, len;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->len + 1 >= b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

static void sb_bytes(struct sbuf *b, const uint8_t *data, size_t len)
{
	char esc[1200];
	trace_show__escape(esc, sizeof(esc), data, len, 256);
	sb_printf(b, "\"%s\"", esc);
	if (len > 256)
		sb_printf(b, " (%zu bytes)", len);
}

static void exit_fields(struct sbuf *b, const struct trace_exit *x)
{
	const char *name = trace_show__exit_name(x->reason), *dir = dir_name(x->reason, x->dir);
	if (name)
		sb_printf(b, "%-10s", name);
	else
		sb_printf(b, "reason=%-3u", x->reason);
	if (dir)
		sb_printf(b, " %-5s", dir);
	if (x->addr || x->size || x->reason == KVM_EXIT_IO || x->reason == KVM_EXIT_MMIO)
		sb_printf(b, " %s=0x%" PRIx64, addr_label(x->reason), x->addr);
	if (x->size)
		sb_printf(b, " size=%u", x->size);
	if (x->count > 1)
		sb_printf(b, " count=%u", x->count);
	if (x->has_value)
		sb_printf(b, " value=0x%" PRIx64, x->value);
	else if (x->size)
		sb_printf(b, " hash=0x%08x", x->hash);
}

size_t trace_show__fields(char *buf, size_t cap, const struct trace_event *ev)
{
	struct sbuf b = { buf, cap, 0 };
	const char *s;
	if (!cap)
		return 0;
	buf[0] = 0;
	switch (ev->type) {
	case TR_EXIT:
		exit_fields(&b, &ev->u.exit);
		break;
	case TR_IN_VALUE:
		sb_printf(&b, "size=%u value=0x%" PRIx64, ev->u.in.size, ev->u.in.value);
		if (ev->u.in.len) {
			sb_printf(&b, " data=");
			sb_bytes(&b, ev->u.in.data, ev->u.in.len);
		}
		break;
	case TR_IRQ:
		sb_printf(&b, "vector=0x%x", ev->u.irq.vector);
		break;
	case TR_LANDMARK:
		sb_printf(&b, "rip=0x%" PRIx64 " fingerprint=0x%016" PRIx64 " hits=%u vector=0x%x", ev->u.landmark.rip,
			  ev->u.landmark.fingerprint, ev->u.landmark.hits, ev->u.landmark.vector);
		break;
	case TR_DEFERRAL:
		sb_printf(&b, "rip=0x%" PRIx64 " reason=%u", ev->u.deferral.rip, ev->u.deferral.reason);
		break;
	case TR_CONSOLE_OUT:
	case TR_CONSOLE_IN:
		sb_bytes(&b, ev->u.bytes.data, ev->u.bytes.len);
		break;
	case TR_DMA:
		sb_printf(&b, "gpa=0x%" PRIx64 " len=%u ", ev->u.dma.gpa, ev->u.dma.len);
		sb_bytes(&b, ev->u.dma.data, ev->u.dma.len);
		break;
	case TR_RDTSC:
		sb_printf(&b, "rip=0x%" PRIx64 " value=0x%" PRIx64 " aux=0x%x", ev->u.rdtsc.rip, ev->u.rdtsc.value,
			  ev->u.rdtsc.aux);
		break;
	case TR_SNAPSHOT:
		sb_printf(&b, "id=%" PRIu64 " name=", ev->u.snapshot.id);
		sb_bytes(&b, ev->u.snapshot.name, ev->u.snapshot.len);
		break;
	case TR_STOP:
		if ((s = trace_show__stop_name(ev->u.stop.reason)))
			sb_printf(&b, "%s", s);
		else
			sb_printf(&b, "reason=%u", ev->u.stop.reason);
		sb_printf(&b, " status=%" PRId64 " ", ev->u.stop.status);
		sb_bytes(&b, ev->u.stop.msg, ev->u.stop.len);
		break;
	case TR_REGS:
		/* Only what changed since the chunk's previous regs record. */
		for (unsigned i = 0; i < TRACE_NREGS; i++)
			if (ev->u.regs.changed >> i & 1)
				sb_printf(&b, "%s=0x%" PRIx64 " ", trace__reg_name(i), ev->u.regs.v[i]);
		break;
	default:
		sb_printf(&b, "type=%u", ev->type);
	}
	while (b.len && buf[b.len - 1] == ' ')
		buf[--b.len] = 0;
	return b.len;
}

static void json_named_bytes(FILE *f, const char *key, const uint8_t *data, uint32_t len)
{
	fprintf(f, ",\"len\":%u,\"%s\":\"", len, key);
	trace_show__json_bytes(f, data, len);
	fputc('"', f);
}

void trace_show__json_event(FILE *f, const struct trace_event *ev)
{
	const char *s;
	fprintf(f, "{\"event\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"kind\":\"%s\"", ev->event_no, ev->time_ns,
		trace_show__kind_name(ev->type));
	switch (ev->type) {
	case TR_REGS:
		fputs(",\"regs\":{", f);
		for (unsigned i = 0; i < TRACE_NREGS; i++)
			fprintf(f, "%s\"%s\":\"0x%" PRIx64 "\"", i ? "," : "", trace__reg_name(i), ev->u.regs.v[i]);
		fputc('}', f);
		break;
	case TR_EXIT: {
		const struct trace_exit *x = &ev->u.exit;
		s = trace_show__exit_name(x->reason);
		fprintf(f, ",\"reason\":\"%s\",\"reason_no\":%u", s ? s : "unknown", x->reason);
		s = dir_name(x->reason, x->dir);
		fprintf(f, ",\"dir\":\"%s\",\"addr\":%" PRIu64 ",\"size\":%u,\"count\":%u,\"hash\":\"0x%08x\"",
			s ? s : "none", x->addr, x->size, x->count, x->hash);
		if (x->has_value)
			fprintf(f, ",\"value\":\"0x%" PRIx64 "\"", x->value);
		break;
	}
	case TR_IN_VALUE:
		fprintf(f, ",\"size\":%u,\"value\":\"0x%" PRIx64 "\"", ev->u.in.size, ev->u.in.value);
		json_named_bytes(f, "data", ev->u.in.data, ev->u.in.len);
		break;
	case TR_IRQ:
		fprintf(f, ",\"vector\":%u", ev->u.irq.vector);
		break;
	case TR_LANDMARK:
		fprintf(f, ",\"rip\":%" PRIu64 ",\"fingerprint\":\"0x%016" PRIx64 "\",\"hits\":%u,\"vector\":%u",
			ev->u.landmark.rip, ev->u.landmark.fingerprint, ev->u.landmark.hits, ev->u.landmark.vector);
		break;
	case TR_DEFERRAL:
		fprintf(f, ",\"rip\":%" PRIu64 ",\"reason\":%u", ev->u.deferral.rip, ev->u.deferral.reason);
		break;
	case TR_CONSOLE_OUT:
	case TR_CONSOLE_IN:
		json_named_bytes(f, "data", ev->u.bytes.data, ev->u.bytes.len);
		break;
	case TR_DMA:
		fprintf(f, ",\"gpa\":%" PRIu64, ev->u.dma.gpa);
		json_named_bytes(f, "data", ev->u.dma.data, ev->u.dma.len);
		break;
	case TR_RDTSC:
		fprintf(f, ",\"rip\":%" PRIu64 ",\"value\":\"0x%" PRIx64 "\",\"aux\":%u", ev->u.rdtsc.rip,
			ev->u.rdtsc.value, ev->u.rdtsc.aux);
		break;
	case TR_SNAPSHOT:
		fprintf(f, ",\"id\":%" PRIu64, ev->u.snapshot.id);
		json_named_bytes(f, "name", ev->u.snapshot.name, ev->u.snapshot.len);
		break;
	case TR_STOP:
		s = trace_show__stop_name(ev->u.stop.reason);
		fprintf(f, ",\"reason\":\"%s\",\"reason_no\":%u,\"status\":%" PRId64, s ? s : "unknown",
			ev->u.stop.reason, ev->u.stop.status);
		json_named_bytes(f, "message", ev->u.stop.msg, ev->u.stop.len);
		break;
	default:
		fprintf(f, ",\"type\":%u", ev->type);
	}
	fputc('}', f);
}

/* ---- console ----------------------------------------------------------- */

int trace_show__console(struct trace_reader *r, uint64_t from, uint64_t to, trace_show_sink sink, void *ctx,
			struct rrvm_err *err)
{
	struct trace_event ev;
	int rc = trace_reader__seek_event(r, from, err);
	if (rc)
		return rc;
	while ((rc = trace_reader__next(r, &ev, err)) == 1) {
		if (ev.event_no > to)
			return 0;
		if (ev.type == TR_CONSOLE_OUT && ev.event_no >= from && ev.u.bytes.len &&
		    (rc = sink(ctx, ev.u.bytes.data, ev.u.bytes.len)))
			return rc;
	}
	return rc;
}

/* ---- scan statistics --------------------------------------------------- */

static int count_addr(struct trace_scan *s, uint32_t *slots, size_t nslots, uint8_t reason, uint64_t addr)
{
	uint64_t h = (addr ^ ((uint64_t)reason << 56)) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 40) & (nslots - 1);
	for (;; i = (i + 1) & (nslots - 1)) {
		uint32_t k = slots[i];
		if (!k)
			break;
		struct trace_show_addr *a = &s->addrs[k - 1];
		if (a->reason == reason && a->addr == addr) {
			a->count++;
			return 0;
		}
	}
	if (s->n_addrs >= TRACE_SHOW_MAX_ADDRS) {
		s->other_addr++;
		return 0;
	}
	if (s->n_addrs == s->cap_addrs) {
		size_t cap = s->cap_addrs ? s->cap_addrs * 2 : 64;
		struct trace_show_addr *p = realloc(s->addrs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->addrs = p;
		s->cap_addrs = cap;
	}
	s->addrs[s->n_addrs] = (struct trace_show_addr){ reason, addr, 1 };
	slots[i] = (uint32_t)++s->n_addrs;
	return 0;
}

int trace_show__scan(struct trace_reader *r, struct trace_scan *s)
{
	enum { NSLOTS = 2 * TRACE_SHOW_MAX_ADDRS };   /* power of two, at most half full */
	struct trace_event ev;
	struct rrvm_err e = { "" };
	int rc;

	memset(s, 0, sizeof(*s));
	uint32_t *slots = calloc(NSLOTS, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	rc = trace_reader__seek_event(r, 0, &e);
	while (rc == 0 && (rc = trace_reader__next(r, &ev, &e)) == 1) {
		rc = 0;
		s->records++;
		s->by_type[ev.type & 0xff]++;
		switch (ev.type) {
		case TR_EXIT:
			if (!s->exits++)
				s->first_time_ns = ev.time_ns;
			s->last_time_ns = ev.time_ns;
			s->by_reason[ev.u.exit.reason]++;
			if (ev.u.exit.reason == KVM_EXIT_IO || ev.u.exit.reason == KVM_EXIT_MMIO ||
			    ev.u.exit.reason == KVM_EXIT_X86_RDMSR || ev.u.exit.reason == KVM_EXIT_X86_WRMSR)
				rc = count_addr(s, slots, NSLOTS, ev.u.exit.reason, ev.u.exit.addr);
			break;
		case TR_CONSOLE_OUT: s->console_bytes += ev.u.bytes.len; break;
		case TR_CONSOLE_IN: s->input_bytes += ev.u.bytes.len; break;
		case TR_DMA: s->dma_bytes += ev.u.dma.len; break;
		case TR_STOP:
			s->has_stop = true;
			s->stop_reason = ev.u.stop.reason;
			s->stop_status = ev.u.stop.status;
			s->stop_len = ev.u.stop.len < sizeof(s->stop_msg) ? ev.u.stop.len : sizeof(s->stop_msg);
			memcpy(s->stop_msg, ev.u.stop.msg, s->stop_len);
			break;
		}
	}
	free(slots);
	s->end_rc = rc;
	if (rc)
		snprintf(s->end_msg, sizeof(s->end_msg), "%s", e.msg[0] ? e.msg : strerror(-rc));
	return 0;
}

void trace_show__scan_free(struct trace_scan *s)
{
	free(s->addrs);
	s->addrs = NULL;
	s->n_addrs = s->cap_addrs = 0;
}

static int addr_cmp(const void *a, const void *b)
{
	const struct trace_show_addr *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->reason != y->reason)
		return x->reason < y->reason ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void trace_show__scan_sort(struct trace_scan *s)
{
	if (s->n_addrs > 1)
		qsort(s->addrs, s->n_addrs, sizeof(*s->addrs), addr_cmp);
}
