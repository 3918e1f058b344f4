/* model.c — reads a whole trace once into compact arrays the browser draws from (records, console, marks). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "snapshot/snapfile.h"
#include "tui/model.h"

static int push(void **p, size_t *n, size_t *cap, size_t elem, const void *v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		void *q = realloc(*p, nc * elem);
		if (!q)
			return -ENOMEM;
		*p = q;
		*cap = nc;
	}
	memcpy((uint8_t *)*p + *n * elem, v, elem);
	(*n)++;
	return 0;
}

#define PUSH(arr, n, cap, val) push((void **)&(arr), &(n), &(cap), sizeof(*(arr)), &(val))

struct caps {
	size_t recs, irq, snaps, con, con_recs, lines, inp;
};

static int add_console(struct tui_model *m, struct caps *c, uint64_t ev, const uint8_t *d, uint32_t len)
{
	if (!len)
		return 0;
	if (m->con_len + len > c->con) {
		size_t nc = c->con ? c->con : 4096;
		while (nc < m->con_len + len)
			nc *= 2;
		uint8_t *q = realloc(m->con, nc);
		if (!q)
			return -ENOMEM;
		m->con = q;
		c->con = nc;
	}
	size_t base = m->con_len;
	memcpy(m->con + base, d, len);
	m->con_len += len;
	struct tui_con_rec cr = { ev, m->con_len };
	if (PUSH(m->con_recs, m->n_con_recs, c->con_recs, cr))
		return -ENOMEM;
	/* Lines: a line starts at offset 0 and after every newline; its event
	 * is the one that printed its newline (or its latest byte while unfinished). */
	for (uint32_t i = 0; i < len; i++) {
		uint64_t off = base + i;
		if (off == 0 || m->con[off - 1] == '\n') {
			struct tui_line l = { off, ev };
			if (PUSH(m->lines, m->n_lines, c->lines, l))
				return -ENOMEM;
		}
		m->lines[m->n_lines - 1].ev = ev;
	}
	return 0;
}

static int add_record(struct tui_model *m, struct caps *c, const struct trace_event *ev)
{
	struct tui_rec r = { .event_no = ev->event_no, .type = (uint8_t)ev->type };
	switch (ev->type) {
	case TR_EXIT:
		r.a = ev->u.exit.addr;
		r.b = ev->u.exit.size;
		r.reason = ev->u.exit.reason;
		r.dir = ev->u.exit.dir;
		m->n_events = ev->event_no;
		m->last_time_ns = ev->time_ns;
		break;
	case TR_IRQ:
	case TR_LANDMARK: {
		r.a = ev->type == TR_IRQ ? ev->u.irq.vector : ev->u.landmark.vector;
		r.b = ev->type == TR_IRQ ? 0 : ev->u.landmark.hits;
		if (PUSH(m->irq_ev, m->n_irq, c->irq, ev->event_no))
			return -ENOMEM;
		break;
	}
	case TR_DEFERRAL:
		r.a = ev->u.deferral.rip;
		break;
	case TR_CONSOLE_OUT:
		r.a = m->con_len;
		r.b = ev->u.bytes.len;
		if (add_console(m, c, ev->event_no, ev->u.bytes.data, ev->u.bytes.len))
			return -ENOMEM;
		break;
	case TR_CONSOLE_IN:
		r.a = m->inp_len;
		r.b = ev->u.bytes.len;
		if (ev->u.bytes.len) {
			uint8_t *q = realloc(m->inp, m->inp_len + ev->u.bytes.len);
			if (!q)
				return -ENOMEM;
			m->inp = q;
			memcpy(m->inp + m->inp_len, ev->u.bytes.data, ev->u.bytes.len);
			m->inp_len += ev->u.bytes.len;
		}
		break;
	case TR_SNAPSHOT: {
		struct tui_snap s = { .event_no = ev->event_no, .id = ev->u.snapshot.id, .bytes = -1 };
		size_t l = ev->u.snapshot.len < sizeof(s.name) - 1 ? ev->u.snapshot.len : sizeof(s.name) - 1;
		for (size_t i = 0; i < l; i++) {
			uint8_t ch = ev->u.snapshot.name[i];
			s.name[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
		r.a = s.id;
		if (PUSH(m->snaps, m->n_snaps, c->snaps, s))
			return -ENOMEM;
		break;
	}
	case TR_STOP: {
		r.a = ev->u.stop.reason;
		m->has_stop = true;
		m->stop_reason = ev->u.stop.reason;
		m->stop_status = ev->u.stop.status;
		m->stop_event = ev->event_no;
		size_t l = ev->u.stop.len < sizeof(m->stop_msg) - 1 ? ev->u.stop.len : sizeof(m->stop_msg) - 1;
		for (size_t i = 0; i < l; i++) {
			uint8_t ch = ev->u.stop.msg[i];
			m->stop_msg[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
		m->stop_msg[l] = 0;
		break;
	}
	default:
		break;
	}
	return PUSH(m->recs, m->n_recs, c->recs, r);
}

int model__open(struct tui_model *m, const char *dir, struct rrvm_err *err)
{
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	m->rd_next = (size_t)-1;
	int rc = trace_reader__open(&m->r, dir, err);
	if (rc) {
		m->r = NULL;
		return rc;
	}
	m->status = *trace_reader__status(m->r);
	struct caps c = { 0 };
	struct trace_stats st;
	trace_reader__stats(m->r, &st);
	if (st.by_type_valid && st.records) {
		/* The footer says how many: allocate once. */
		size_t n = (size_t)st.records;
		m->recs = malloc(n * sizeof(*m->recs));
		if (m->recs)
			c.recs = n;
	}
	struct trace_event ev;
	struct rrvm_err rerr = { "" };
	while ((rc = trace_reader__next(m->r, &ev, &rerr)) == 1) {
		if (add_record(m, &c, &ev)) {
			model__close(m);
			return err__set(err, -ENOMEM, "%s: out of memory reading record %zu", dir, m->n_recs);
		}
	}
	if (rc < 0) {
		m->end_rc = rc;
		snprintf(m->end_msg, sizeof(m->end_msg), "%s", rerr.msg);
		m->damaged = true;
	}
	if (m->status.end != TRACE_END_COMPLETE && m->status.end != TRACE_END_UNFINISHED) {
		m->damaged = true;
		if (!m->end_msg[0])
			snprintf(m->end_msg, sizeof(m->end_msg), "%s", m->status.msg);
	} else if (m->status.end == TRACE_END_UNFINISHED && !m->end_msg[0]) {
		snprintf(m->end_msg, sizeof(m->end_msg), "%s", m->status.msg);
	}
	if (st.has_end && m->status.end != TRACE_END_COMPLETE)
		m->damaged = true;   /* closed cleanly once, not all there now */
	/* Snapshot files are found by number, never by a name stored in the trace. */
	for (size_t i = 0; i < m->n_snaps; i++) {
		char path[4200];
		struct stat sb;
		snapfile__path(path, sizeof(path), dir, (uint32_t)m->snaps[i].id);
		m->snaps[i].bytes = m->snaps[i].id <= UINT32_MAX && !stat(path, &sb) ? (int64_t)sb.st_size : -1;
	}
	/* Files no TR_SNAPSHOT record names (taken later, in a replay: the
	 * events file is never rewritten; FORMAT.md section 10). */
	uint32_t nf = snapfile__count(dir);
	for (uint32_t seq = 1; seq <= nf; seq++) {
		bool named = false;
		for (size_t i = 0; i < m->n_snaps && !named; i++)
			named = m->snaps[i].id == seq;
		struct rrvm_err serr = { "" };
		if (!named && model__add_snapfile(m, seq, &serr) == -ENOMEM) {
			model__close(m);
			return err__set(err, -ENOMEM, "%s: out of memory", dir);
		}
	}
	return 0;
}

int model__add_snapfile(struct tui_model *m, uint32_t seq, struct rrvm_err *err)
{
	struct snapfile_info info;
	int rc = snapfile__read(m->dir, seq, NULL, 0, &info, NULL, NULL, NULL, err);
	if (rc)
		return rc;
	struct tui_snap *v = realloc(m->snaps, (m->n_snaps + 1) * sizeof(*v));
	if (!v)
		return err__set(err, -ENOMEM, "out of memory");
	m->snaps = v;
	size_t at = m->n_snaps;
	while (at > 0 && v[at - 1].event_no > info.event)
		at--;
	memmove(&v[at + 1], &v[at], (m->n_snaps - at) * sizeof(*v));
	struct tui_snap sn = { .event_no = info.event, .id = seq, .bytes = (int64_t)info.file_bytes };
	snprintf(sn.name, sizeof(sn.name), "%06u.snap", seq);
	v[at] = sn;
	m->n_snaps++;
	return 0;
}

void model__close(struct tui_model *m)
{
	if (m->r)
		trace_reader__close(m->r);
	free(m->recs);
	free(m->irq_ev);
	free(m->snaps);
	free(m->con);
	free(m->con_recs);
	free(m->lines);
	free(m->inp);
	memset(m, 0, sizeof(*m));
}

size_t model__rec_at(const struct tui_model *m, uint64_t ev)
{
	size_t lo = 0, hi = m->n_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->recs[mid].event_no < ev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t model__con_end(const struct tui_model *m, uint64_t ev)
{
	/* Last console record with event <= ev. */
	size_t lo = 0, hi = m->n_con_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->con_recs[mid].ev <= ev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? (size_t)m->con_recs[lo - 1].end : 0;
}

size_t model__line_of(const struct tui_model *m, size_t off)
{
	size_t lo = 0, hi = m->n_lines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->lines[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t model__count_in(const uint64_t *v, size_t n, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (v[mid] < lo)
			a = mid + 1;
		else
			b = mid;
	}
	size_t first = a;
	b = n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (v[mid] < hi)
			a = mid + 1;
		else
			b = mid;
	}
	return a - first;
}

int model__read_rec(struct tui_model *m, size_t idx, struct trace_event *ev, struct rrvm_err *err)
{
	static const size_t NONE = (size_t)-1;
	if (idx >= m->n_recs)
		return err__set(err, -ERANGE, "record %zu is past the end", idx);
	/* Sequential reads continue where the last one stopped; anything else
	 * seeks to the record's event (one chunk loaded) and skips forward. */
	size_t start = m->rd_next;
	if (start == NONE || start > idx || idx - start > 4096) {
		uint64_t e = m->recs[idx].event_no;
		int rc = trace_reader__seek_event(m->r, e, err);
		if (rc) {
			m->rd_next = NONE;
			return rc;
		}
		start = model__rec_at(m, e);
	}
	for (;;) {
		int rc = trace_reader__next(m->r, ev, err);
		if (rc != 1) {
			m->rd_next = NONE;
			return rc < 0 ? rc : err__set(err, -ENODATA, "record %zu: the trace ended before it", idx);
		}
		if (start++ == idx) {
			m->rd_next = start;
			return 0;
		}
	}
}

int64_t model__event_time(struct tui_model *m, uint64_t ev)
{
	if (ev == 0)
		return 0;
	size_t i = model__rec_at(m, ev);
	if (i >= m->n_recs || m->recs[i].type != TR_EXIT)
		return -1;
	struct trace_event te;
	struct rrvm_err err;
	if (model__read_rec(m, i, &te, &err))
		return -1;
	return (int64_t)te.time_ns;
}
