/* test_tui.c — the trace browser's model and symbols: golden traces read whole, every record re-read by
 * position, console offsets and lines; ELF and System.map symbols agree; bad symbol files are refused. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/trace_show.h"
#include "tui/model.h"

static int checks, failed;
#define CHECK(c, ...)                                                   \
	do {                                                            \
		checks++;                                               \
		if (!(c)) {                                             \
			failed++;                                       \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
		}                                                       \
	} while (0)

struct buf {
	uint8_t *p;
	size_t n;
};

static int sink(void *ctx, const uint8_t *d, size_t len)
{
	struct buf *b = ctx;
	b->p = realloc(b->p, b->n + len + 1);
	memcpy(b->p + b->n, d, len);
	b->n += len;
	return 0;
}

static void model_golden(const char *dir)
{
	struct tui_model m = { 0 };
	struct rrvm_err err = { "" };
	int rc = model__open(&m, dir, &err);
	CHECK(rc == 0, "%s: model__open: %s", dir, err.msg);
	if (rc)
		return;
	/* Counts against a plain reader. */
	struct trace_reader *r;
	CHECK(trace_reader__open(&r, dir, &err) == 0, "%s: %s", dir, err.msg);
	struct trace_scan sc;
	trace_show__scan(r, &sc);
	CHECK(m.n_recs == sc.records, "%s: %zu records, scan says %" PRIu64, dir, m.n_recs, sc.records);
	CHECK(m.n_events == sc.exits, "%s: %" PRIu64 " events, scan says %" PRIu64, dir, m.n_events, sc.exits);
	CHECK(m.con_len == sc.console_bytes, "%s: %zu console bytes, scan says %" PRIu64, dir, m.con_len,
	      sc.console_bytes);
	trace_show__scan_free(&sc);
	/* Console up to every event equals trace_show__console's. */
	for (uint64_t ev = 0; ev <= m.n_events; ev++) {
		struct buf b = { 0 };
		trace_show__console(r, 0, ev, sink, &b, &err);
		size_t end = model__con_end(&m, ev);
		CHECK(end == b.n && (!end || !memcmp(m.con, b.p, end)), "%s: console up to %" PRIu64 ": %zu vs %zu bytes",
		      dir, ev, end, b.n);
		free(b.p);
	}
	trace_reader__close(r);
	/* Every record read back by index, in a scrambled order, is the one the model holds. */
	srand(7);
	for (size_t k = 0; k < 3 * m.n_recs; k++) {
		size_t i = k < m.n_recs ? k : (size_t)rand() % m.n_recs;
		struct trace_event ev;
		rc = model__read_rec(&m, i, &ev, &err);
		CHECK(rc == 0 && ev.type == m.recs[i].type && ev.event_no == m.recs[i].event_no,
		      "%s: record %zu: rc %d type %u/%u event %" PRIu64 "/%" PRIu64, dir, i, rc, ev.type, m.recs[i].type,
		      ev.event_no, m.recs[i].event_no);
	}
	CHECK(model__read_rec(&m, m.n_recs, NULL, &err) == -ERANGE, "read past the end");
	/* Lines: offsets ascend, each starts after a newline, events never go back. */
	for (size_t i = 1; i < m.n_lines; i++) {
		CHECK(m.lines[i].off > m.lines[i - 1].off && m.con[m.lines[i].off - 1] == '\n', "%s: line %zu", dir, i);
		CHECK(m.lines[i].ev >= m.lines[i - 1].ev, "%s: line %zu event", dir, i);
	}
	CHECK(!m.damaged, "%s: golden trace reads as damaged: %s", dir, m.end_msg);
	model__close(&m);
}

static void symbols(const char *elf)
{
	struct tui_syms s;
	struct rrvm_err err = { "" };
	int rc = syms__load(&s, elf, &err);
	CHECK(rc == 0 && s.n > 10, "%s: %s (%zu symbols)", elf, err.msg, s.n);
	if (rc)
		return;
	/* A System.map written from the same table reads back to the same lookups. */
	char map[] = "/tmp/test_tui_mapXXXXXX";
	int fd = mkstemp(map);
	FILE *f = fdopen(fd, "w");
	for (size_t i = 0; i < s.n; i++)
		fprintf(f, "%016" PRIx64 " T %s\n", s.v[i].addr, s.v[i].name);
	fclose(f);
	struct tui_syms m;
	rc = syms__load(&m, map, &err);
	CHECK(rc == 0 && m.n == s.n, "System.map: %s (%zu vs %zu)", err.msg, m.n, s.n);
	uint64_t main_addr;
	CHECK(syms__find(&s, "scenario_run", &main_addr), "no scenario_run in %s", elf);
	for (size_t i = 0; !rc && i < s.n; i++) {
		uint64_t o1, o2;
		const struct tui_sym *a = syms__lookup(&s, s.v[i].addr, &o1), *b = syms__lookup(&m, s.v[i].addr, &o2);
		CHECK(a && b && a->addr == s.v[i].addr && o1 == 0 && b->addr == a->addr && o2 == 0,
		      "lookup of %s at %" PRIx64, s.v[i].name, s.v[i].addr);
	}
	char buf[200];
	CHECK(!strcmp(syms__fmt(&s, main_addr + 3, buf, sizeof(buf)), "scenario_run+0x3"), "fmt: %s", buf);
	CHECK(!syms__lookup(&s, 0x10, NULL), "an address below every symbol has none");
	syms__free(&m);
	syms__free(&s);
	/* Refused: garbage, a System.map with a bad line, a missing file. */
	f = fopen(map, "w");
	fputs("\x01\x02garbage", f);
	fclose(f);
	CHECK(syms__load(&m, map, &err) == -ENOEXEC && strstr(err.msg, map), "garbage: %s", err.msg);
	f = fopen(map, "w");
	fputs("ffffffff81000000 T _text\nthis is not a map line\n", f);
	fclose(f);
	CHECK(syms__load(&m, map, &err) == -ENOEXEC && strstr(err.msg, ":2:"), "bad line: %s", err.msg);
	unlink(map);
	CHECK(syms__load(&m, map, &err) == -ENOENT, "missing: %s", err.msg);
}

int main(int argc, char **argv)
{
	model_golden(RRVM_SOURCE_DIR "/traces/golden/v1.0-synthetic");
	model_golden(RRVM_SOURCE_DIR "/traces/golden/v1.1-synthetic");
	if (argc > 1)
		symbols(argv[1]);
	printf("test_tui: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
