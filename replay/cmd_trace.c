/* cmd_trace.c — `rrvm trace info|dump|console`: read a trace without replaying it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cmds.h"
#include "record/trace.h"
#include "replay/trace_show.h"

#define EXIT_TRACE 1   /* trace missing, corrupt, or (dump/console) ended before what was asked */
#define EXIT_USAGE 2

static const char trace_help[] =
	"usage: rrvm trace <info|dump|console> [options] TRACE_DIR\n"
	"\n"
	"Reads a trace written by `rrvm record` without replaying it.\n"
	"  info      header and statistics (events by reason and port, records by type,\n"
	"            landmarks, deferrals, bytes per second of guest time, compression, end status)\n"
	"  dump      one line per record, with filters\n"
	"  console   the guest's console output, raw\n"
	"Each takes --json (machine-readable output) and --help.\n"
	"\n"
	"exit status: 0 ok; 1 the trace is missing or corrupt, or (dump, console) its readable\n"
	"prefix ended before what was asked (the prefix is still printed, where it ends goes to\n"
	"stderr); 2 usage error.\n";

static const char info_help[] =
	"usage: rrvm trace info [--json] TRACE_DIR\n"
	"\n"
	"Header (format, uuid, rrvm version, creation time, RAM, CPU profile, images, command\n"
	"line, clock, host capabilities) and statistics: exits by reason and by port/address/MSR,\n"
	"records by type, landmarks and deferrals per second of guest time, events-file bytes,\n"
	"bytes per second of guest time, compression ratio, chunks, and how the trace ends.\n"
	"Counts come from the footer when the trace closed cleanly, else from reading every\n"
	"complete chunk. A trace that did not finish cleanly still exits 0 (its status is shown\n"
	"first and on stderr); a missing or corrupt one exits 1.\n"
	"  --json   one JSON object (byte strings as Latin-1 code points: \\u00XX is byte XX)\n";

static const char dump_help[] =
	"usage: rrvm trace dump [options] TRACE_DIR\n"
	"\n"
	"One line per record: event number, guest time (s), kind, fields.\n"
	"  --kind K[,K..]  only these kinds: exit, in_value, irq, landmark, deferral, console,\n"
	"                  input, dma, rdtsc, snapshot, stop, regs\n"
	"  --from N        from event N (records belonging to exit N and later; seeks)\n"
	"  --to N          up to event N, inclusive\n"
	"  --port P        only exits to this port / MMIO address / MSR (decimal or 0x hex)\n"
	"  --limit N       at most N records\n"
	"  --json          one JSON object per line\n";

static const char console_help[] =
	"usage: rrvm trace console [--from N] [--to N] [--json] TRACE_DIR\n"
	"\n"
	"Writes the guest console output (every TR_CONSOLE_OUT byte) raw to stdout, from event\n"
	"--from (default 0) up to event --to inclusive (default: the end).\n"
	"  --json   {\"text\": ..., \"bytes\": N, \"from\": N, \"to\": N, \"complete\": bool, \"end\": ...}\n";

/* ---- options ----------------------------------------------------------- */

struct trace_opts {
	const char *dir;
	bool json;
	uint32_t kinds;         /* 0 = all */
	uint64_t from, to, limit;
	bool has_port;
	uint64_t port;
};

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* Matches --name VALUE or --name=VALUE at argv[*i]: 1 matched (value in *val), 0 not this option, -1 missing value. */
static int opt_arg(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* Parses argv (argv[0] = the subcommand). `allowed` lists the value options it takes.
 * Returns 0, 1 for --help (printed), or EXIT_USAGE (printed why). */
static int parse_opts(int argc, char **argv, const char *allowed, const char *help, struct trace_opts *o)
{
	static const char *const valopts[] = { "--kind", "--from", "--to", "--port", "--limit" };
	bool opts_done = false;
	memset(o, 0, sizeof(*o));
	o->to = UINT64_MAX;
	o->limit = UINT64_MAX;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (!opts_done && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				opts_done = true;
				continue;
			}
			if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
				fputs(help, stdout);
				return 1;
			}
			if (!strcmp(a, "--json")) {
				o->json = true;
				continue;
			}
			size_t k;
			int m = 0;
			for (k = 0; k < sizeof(valopts) / sizeof(valopts[0]); k++)
				if (strstr(allowed, valopts[k]) && (m = opt_arg(argc, argv, &i, valopts[k], &val)))
					break;
			if (m < 0) {
				fprintf(stderr, "rrvm trace %s: %s needs a value\n", argv[0], a);
				return EXIT_USAGE;
			}
			if (!m) {
				fprintf(stderr, "rrvm trace %s: unknown option '%s' (--help lists them)\n", argv[0], a);
				return EXIT_USAGE;
			}
			bool ok = true;
			char bad[80];
			switch (k) {
			case 0:
				if (trace_show__parse_kinds(val, &o->kinds, bad, sizeof(bad))) {
					fprintf(stderr, "rrvm trace %s: unknown kind '%s' (exit, in_value, irq, landmark, "
						"deferral, console, input, dma, rdtsc, snapshot, stop)\n", argv[0], bad);
					return EXIT_USAGE;
				}
				break;
			case 1: ok = parse_u64(val, &o->from); break;
			case 2: ok = parse_u64(val, &o->to); break;
			case 3: ok = parse_u64(val, &o->port); o->has_port = true; break;
			case 4: ok = parse_u64(val, &o->limit); break;
			}
			if (!ok) {
				fprintf(stderr, "rrvm trace %s: %s: '%s' is not a number\n", argv[0], valopts[k], val);
				return EXIT_USAGE;
			}
			continue;
		}
		if (o->dir) {
			fprintf(stderr, "rrvm trace %s: one TRACE_DIR only ('%s' and '%s')\n", argv[0], o->dir, a);
			return EXIT_USAGE;
		}
		o->dir = a;
	}
	if (!o->dir) {
		fprintf(stderr, "rrvm trace %s: missing TRACE_DIR\n%s", argv[0], help);
		return EXIT_USAGE;
	}
	if (o->from > o->to) {
		fprintf(stderr, "rrvm trace %s: --from %" PRIu64 " is after --to %" PRIu64 "\n", argv[0], o->from, o->to);
		return EXIT_USAGE;
	}
	return 0;
}

/* Prints a reader error; messages that do not name the trace directory get it in front. */
static void report(const char *cmd, const char *dir, const char *what, const char *msg)
{
	int n = (int)strlen(msg);
	while (n && msg[n - 1] == ' ')
		n--;
	if (!strncmp(msg, dir, strlen(dir)))
		fprintf(stderr, "rrvm trace %s: %s%.*s\n", cmd, what, n, msg);
	else
		fprintf(stderr, "rrvm trace %s: %s%s/%.*s\n", cmd, what, dir, n, msg);
}

static int open_trace(const char *cmd, const char *dir, struct trace_reader **r)
{
	struct rrvm_err err = { "" };
	if (trace_reader__open(r, dir, &err)) {
		report(cmd, dir, "", err.msg);
		return EXIT_TRACE;
	}
	return 0;
}

/* ---- dump -------------------------------------------------------------- */

static int trace_dump(int argc, char **argv)
{
	struct trace_opts o;
	struct trace_reader *r;
	struct trace_event ev;
	struct rrvm_err err = { "" };
	char line[2048];
	uint64_t shown = 0;
	bool exit_matched = false;
	int rc = parse_opts(argc, argv, "--kind --from --to --port --limit", dump_help, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if ((rc = open_trace("dump", o.dir, &r)))
		return rc;
	if (!o.json)
		printf("%10s %17s  %-9s %s\n", "event", "guest time (s)", "kind", "fields");
	rc = trace_reader__seek_event(r, o.from, &err);
	while (rc == 0 && shown < o.limit && (rc = trace_reader__next(r, &ev, &err)) == 1) {
		rc = 0;
		if (ev.event_no > o.to)
			break;
		if (ev.event_no < o.from)
			continue;
		if (ev.type == TR_EXIT)
			exit_matched = !o.has_port || ev.u.exit.addr == o.port;
		if (o.kinds && !(ev.type < 32 && (o.kinds >> ev.type) & 1))
			continue;
		/* --port keeps the matching exits and the values returned at them. */
		if (o.has_port && !((ev.type == TR_EXIT || ev.type == TR_IN_VALUE) && exit_matched))
			continue;
		if (o.json) {
			trace_show__json_event(stdout, &ev);
			putchar('\n');
		} else {
			trace_show__fields(line, sizeof(line), &ev);
			printf("%10" PRIu64 " %7" PRIu64 ".%09" PRIu64 "  %-9s %s\n", ev.event_no, ev.time_ns / 1000000000u,
			       ev.time_ns % 1000000000u, trace_show__kind_name(ev.type), line);
		}
		shown++;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "rrvm trace dump: writing the listing failed\n");
		rc = -EIO;
	} else if (rc < 0) {
		report("dump", o.dir, rc == -ENODATA ? "trace ends early: " : "", err.msg);
	}
	trace_reader__close(r);
	return rc < 0 ? EXIT_TRACE : 0;
}

/* ---- console ----------------------------------------------------------- */

struct console_out {
	bool json;
	uint64_t bytes;
};

static int console_sink(void *ctx, const uint8_t *data, size_t len)
{
	struct console_out *c = ctx;
	c->bytes += len;
	if (c->json)
		trace_show__json_bytes(stdout, data, len);
	else if (fwrite(data, 1, len, stdout) != len)
		return -EPIPE;   /* distinct from the reader's errors */
	return 0;
}

static int trace_console(int argc, char **argv)
{
	struct trace_opts o;
	struct trace_reader *r;
	struct rrvm_err err = { "" };
	struct console_out c = { 0 };
	int rc = parse_opts(argc, argv, "--from --to", console_help, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if ((rc = open_trace("console", o.dir, &r)))
		return rc;
	c.json = o.json;
	if (o.json)
		fputs("{\"text\":\"", stdout);
	rc = trace_show__console(r, o.from, o.to, console_sink, &c, &err);
	if (o.json) {
		fprintf(stdout, "\",\"bytes\":%" PRIu64 ",\"from\":%" PRIu64 ",\"to\":", c.bytes, o.from);
		if (o.to == UINT64_MAX)
			fputs("null", stdout);
		else
			printf("%" PRIu64, o.to);
		printf(",\"complete\":%s,\"end\":\"", rc ? "false" : "true");
		if (rc)
			trace_show__json_str(stdout, err.msg);
		fputs("\"}\n", stdout);
	}
	if (fflush(stdout) || ferror(stdout) || rc == -EPIPE) {
		fprintf(stderr, "rrvm trace console: writing the console text failed\n");
		rc = -EIO;
	} else if (rc < 0) {
		report("console", o.dir, rc == -ENODATA ? "trace ends early: " : "", err.msg);
	}
	trace_reader__close(r);
	return rc < 0 ? EXIT_TRACE : 0;
}

/* ---- info -------------------------------------------------------------- */

/* What info shows, merged from the header, the reader's status, the footer and a scan. */
struct info {
	const char *dir;
	const struct trace_header *h;
	const struct trace_status *s;
	struct trace_stats st;
	struct trace_scan sc;
	bool from_footer;             /* counts from the footer (clean close, scan agreed) */
	bool failed;                  /* corrupt or unreadable: exit 1 */
	const char *end_name, *end_msg;
	char msgbuf[512];
	bool stop_from_footer;        /* the TR_STOP record itself was not readable */
	uint64_t records, exits, first_ns, last_ns;
	const uint64_t *by_type;
	bool has_stop;
	uint32_t stop_reason;
	int64_t stop_status;
	const uint8_t *stop_msg;
	size_t stop_len;
	const char *rdtsc_sites, *rdtscp_sites; /* host capability values (rewritten sites), or NULL */
};

static const char *const end_names[] = { "complete", "unfinished", "truncated", "corrupt" };
static const char *const index_names[] = { "ok", "absent", "stale", "bad" };

static void info_gather(struct info *in, struct trace_reader *r)
{
	in->h = trace_reader__header(r);
	in->s = trace_reader__status(r);
	trace_reader__stats(r, &in->st);
	in->end_name = in->s->end <= TRACE_END_CORRUPT ? end_names[in->s->end] : "unknown";
	snprintf(in->msgbuf, sizeof(in->msgbuf), "%s", in->s->msg);
	in->end_msg = in->msgbuf;
	in->failed = in->s->end == TRACE_END_CORRUPT;
	if (in->sc.end_rc && in->sc.end_rc != -ENODATA) {
		/* A chunk body failed its checks (or reading failed): that is where the readable part ends. */
		in->failed = true;
		in->end_name = in->sc.end_rc == -EBADMSG ? "corrupt" : "unreadable";
		snprintf(in->msgbuf, sizeof(in->msgbuf), "%s", in->sc.end_msg);
	}
	for (size_t n = strlen(in->msgbuf); n && in->msgbuf[n - 1] == ' ';)
		in->msgbuf[--n] = 0;
	in->from_footer = in->st.by_type_valid && !in->failed;
	if (in->from_footer) {
		in->records = in->st.records;
		in->exits = in->st.exits;
		in->by_type = in->st.by_type;
		in->first_ns = in->st.first_time_ns;
		in->last_ns = in->st.last_time_ns;
	} else {
		in->records = in->sc.records;
		in->exits = in->sc.exits;
		in->by_type = in->sc.by_type;
		in->first_ns = in->sc.first_time_ns;
		in->last_ns = in->sc.last_time_ns;
	}
	if (in->sc.has_stop) {
		in->has_stop = true;
		in->stop_reason = in->sc.stop_reason;
		in->stop_status = in->sc.stop_status;
		in->stop_msg = in->sc.stop_msg;
		in->stop_len = in->sc.stop_len;
	} else if (in->st.has_end && (in->st.end_reason || in->st.end_status || in->st.end_msg[0])) {
		in->has_stop = true;
		in->stop_reason = in->st.end_reason;
		in->stop_status = in->st.end_status;
		in->stop_msg = (const uint8_t *)in->st.end_msg;
		in->stop_len = strnlen(in->st.end_msg, sizeof(in->st.end_msg));
		in->stop_from_footer = true;
	}
	for (uint32_t i = 0; i < in->h->n_caps; i++) {
		const char *k = in->h->caps[i].key;
		if (k && !strcmp(k, "rdtsc_sites"))
			in->rdtsc_sites = in->h->caps[i].value;
		if (k && !strcmp(k, "rdtscp_sites"))
			in->rdtscp_sites = in->h->caps[i].value;
	}
	trace_show__scan_sort(&in->sc);
}

static const char *image_kind(uint32_t k)
{
	return k == TRACE_IMG_KERNEL ? "kernel" : k == TRACE_IMG_INITRD ? "initrd" : k == TRACE_IMG_DISK ? "disk" : "image";
}

static void fmt_uuid(char out[37], const uint8_t *u)
{
	int o = 0;
	for (int i = 0; i < TRACE_UUID_LEN; i++)
		o += snprintf(out + o, (size_t)(37 - o), "%s%02x", (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "", u[i]);
}

static void fmt_sha(char out[65], const uint8_t *d)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* "2023-11-14 22:13:20" (UTC), or the raw number when out of range. */
static void fmt_time(char *out, size_t cap, int64_t sec, uint32_t nsec, bool iso)
{
	struct tm tm;
	time_t t = (time_t)sec;
	if ((int64_t)t == sec && gmtime_r(&t, &tm) && tm.tm_year < 8000 && tm.tm_year > -1900 &&
	    strftime(out, cap, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm)) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, ".%09u%s", nsec, iso ? "Z" : " UTC");
	} else {
		snprintf(out, cap, "%" PRId64 ".%09u", sec, nsec);
	}
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* Human-readable escaped copy of a header string. */
static const char *esc(char *buf, size_t cap, const char *s)
{
	if (!s)
		s = "";
	trace_show__escape(buf, cap, (const uint8_t *)s, strlen(s), cap);
	return buf;
}

static void info_text(const struct info *in)
{
	const struct trace_header *h = in->h;
	const struct trace_status *s = in->s;
	char b[1100], b2[80];
	double gs = secs(in->last_ns);

	printf("trace        %s\n", esc(b, sizeof(b), in->dir));
	printf("status       %s", strcmp(in->end_name, "complete") ? "*** " : "");
	if (strncmp(in->end_msg, in->end_name, strlen(in->end_name)))
		printf("%s: ", in->end_name);
	printf("%s\n", in->end_msg);
	fmt_uuid(b2, h->uuid);
	printf("format       %u.%u, chunk target %u bytes, quirks 0x%" PRIx64 "\n", h->major, h->minor, h->chunk_bytes,
	       h->quirks);
	printf("uuid         %s\n", b2);
	printf("written by   rrvm %s\n", esc(b, sizeof(b), h->rrvm_version));
	fmt_time(b, sizeof(b), h->created_sec, h->created_nsec, false);
	printf("created      %s\n", b);
	printf("machine      %" PRIu64 " MiB RAM (%" PRIu64 " bytes), %u vCPU\n", h->ram_bytes >> 20, h->ram_bytes,
	       h->n_vcpus);
	printf("cpu          profile %s, %u CPUID leaves\n", esc(b, sizeof(b), h->cpu_profile), h->n_cpuid);
	for (uint32_t i = 0; i < h->n_images && i < TRACE_MAX_IMAGES; i++) {
		char sha[65];
		fmt_sha(sha, h->images[i].sha256);
		printf("image        %s \"%s\", %" PRIu64 " bytes, sha256 %s\n", image_kind(h->images[i].kind),
		       esc(b, sizeof(b), h->images[i].name), h->images[i].size, sha);
	}
	printf("cmdline      \"%s\"\n", esc(b, sizeof(b), h->cmdline));
	fmt_time(b, sizeof(b), (int64_t)(h->wallclock_ns / 1000000000u), (uint32_t)(h->wallclock_ns % 1000000000u), false);
	if (h->clock_mode == TRACE_CLOCK_VIRTUAL)
		printf("clock        virtual, %" PRIu64 " ns per exit", h->quantum_ns);
	else
		printf("clock        %s", h->clock_mode == TRACE_CLOCK_REAL ? "real" : "unknown mode");
	printf("; guest time 0 = %s; TSC %" PRIu64 " Hz\n", b, h->tsc_hz);
	for (uint32_t i = 0; i < h->n_caps; i++) {
		printf("%s", i ? "             " : "host caps    ");
		printf("%s", esc(b, sizeof(b), h->caps[i].key));
		printf("=%s\n", esc(b, sizeof(b), h->caps[i].value));
	}
	if (in->rdtsc_sites || in->rdtscp_sites) {
		printf("rdtsc sites  %s RDTSC", esc(b, sizeof(b), in->rdtsc_sites ? in->rdtsc_sites : "?"));
		printf(" + %s RDTSCP rewritten\n", esc(b, sizeof(b), in->rdtscp_sites ? in->rdtscp_sites : "?"));
	}
	printf("\n");

	if (s->end == TRACE_END_TRUNCATED)
		printf("end          truncated at events offset %" PRIu64 " of %" PRIu64 " bytes, after event %" PRIu64 "\n",
		       s->valid_bytes, s->file_bytes, s->last_event);
	else if (in->failed)
		printf("end          %s; readable up to event %" PRIu64 "\n", in->end_name, in->sc.exits);
	else
		printf("end          %s (%s), index %s\n", in->end_name,
		       s->end == TRACE_END_COMPLETE ? "footer present" : "no footer", index_names[s->index & 3]);
	if (s->index != TRACE_INDEX_OK && s->index_msg[0])
		printf("             %s\n", s->index_msg);
	if (in->has_stop) {
		const char *n = trace_show__stop_name(in->stop_reason);
		trace_show__escape(b, sizeof(b), in->stop_msg, in->stop_len, 255);
		if (n)
			printf("stop         %s, status %" PRId64 ": \"%s\"", n, in->stop_status, b);
		else
			printf("stop         reason %u, status %" PRId64 ": \"%s\"", in->stop_reason, in->stop_status, b);
		printf("%s\n", in->stop_from_footer ? " (from the footer; the record is past the readable end)" : "");
	} else {
		printf("stop         none recorded\n");
	}
	printf("\nevents       %" PRIu64 " exits in %.9f s of guest time (first exit at %.9f s)\n", in->exits, gs,
	       secs(in->first_ns));
	for (int i = 0; i < 256; i++) {
		if (!in->sc.by_reason[i])
			continue;
		const char *n = trace_show__exit_name((uint32_t)i);
		snprintf(b2, sizeof(b2), "reason %d", i);
		printf("  %-14s %12" PRIu64 "  %5.1f%%\n", n ? n : b2, in->sc.by_reason[i],
		       in->sc.exits ? 100.0 * (double)in->sc.by_reason[i] / (double)in->sc.exits : 0.0);
	}
	if (in->sc.n_addrs)
		printf("top ports, addresses and MSRs\n");
	for (size_t i = 0; i < in->sc.n_addrs && i < 10; i++) {
		const struct trace_show_addr *a = &in->sc.addrs[i];
		const char *n = trace_show__exit_name(a->reason);
		printf("  %-6s %#-12" PRIx64 " %12" PRIu64 "  %5.1f%%\n", n ? n : "?", a->addr, a->count,
		       in->sc.exits ? 100.0 * (double)a->count / (double)in->sc.exits : 0.0);
	}
	if (in->sc.n_addrs > 10 || in->sc.other_addr)
		printf("  (%zu more%s)\n", in->sc.n_addrs > 10 ? in->sc.n_addrs - 10 : 0,
		       in->sc.other_addr ? ", and exits beyond the table" : "");
	printf("records      %" PRIu64 " (%s)\n", in->records, in->from_footer ? "footer" : "counted");
	for (uint32_t t = 1; t < 256; t++)
		if (in->by_type[t])
			printf("  %-14s %12" PRIu64 "\n", t < TR__COUNT ? trace__rec_name(t) : "unknown", in->by_type[t]);
	if (in->st.unknown_records)
		printf("  %-14s %12" PRIu64 " (newer record types, skipped)\n", "unknown", in->st.unknown_records);
	uint64_t lm = in->by_type[TR_LANDMARK], df = in->by_type[TR_DEFERRAL];
	if (gs > 0) {
		printf("landmarks    %" PRIu64 " (%.1f per guest second)\n", lm, (double)lm / gs);
		printf("deferrals    %" PRIu64 " (%.1f per guest second)\n", df, (double)df / gs);
	} else {
		printf("landmarks    %" PRIu64 "\ndeferrals    %" PRIu64 "\n", lm, df);
	}
	printf("console      %" PRIu64 " bytes out, %" PRIu64 " bytes in\n", in->sc.console_bytes, in->sc.input_bytes);
	printf("events file  %" PRIu64 " bytes on disk, %" PRIu64 " chunks", s->file_bytes, in->st.chunks);
	if (gs > 0)
		printf(", %.0f bytes per guest second", (double)s->file_bytes / gs);
	printf("\ncompression  %" PRIu64 " -> %" PRIu64 " bytes", in->st.raw_bytes, in->st.comp_bytes);
	if (in->st.comp_bytes)
		printf(" (ratio %.2f)", (double)in->st.raw_bytes / (double)in->st.comp_bytes);
	printf("\n");
}

static void json_rate(const char *key, double num, double gs)
{
	if (gs > 0)
		printf(",\"%s\":%.6g", key, num / gs);
	else
		printf(",\"%s\":null", key);
}

/* ,"key":N for a numeric capability value, a string otherwise, null when absent. */
static void json_count(const char *key, const char *v)
{
	uint64_t n;
	printf(",\"%s\":", key);
	if (!v)
		fputs("null", stdout);
	else if (parse_u64(v, &n))
		printf("%" PRIu64, n);
	else {
		fputc('"', stdout);
		trace_show__json_str(stdout, v);
		fputc('"', stdout);
	}
}

static void info_json(const struct info *in)
{
	const struct trace_header *h = in->h;
	const struct trace_status *s = in->s;
	char b[160];
	double gs = secs(in->last_ns);

	fputs("{\"trace\":\"", stdout);
	trace_show__json_str(stdout, in->dir);
	fmt_uuid(b, h->uuid);
	printf("\",\"format\":{\"major\":%u,\"minor\":%u,\"chunk_bytes\":%u,\"quirks\":%" PRIu64 "},\"uuid\":\"%s\"",
	       h->major, h->minor, h->chunk_bytes, h->quirks, b);
	fputs(",\"rrvm_version\":\"", stdout);
	trace_show__json_str(stdout, h->rrvm_version);
	fmt_time(b, sizeof(b), h->created_sec, h->created_nsec, true);
	printf("\",\"created\":{\"sec\":%" PRId64 ",\"nsec\":%u,\"utc\":\"%s\"}", h->created_sec, h->created_nsec, b);
	printf(",\"machine\":{\"ram_bytes\":%" PRIu64 ",\"vcpus\":%u},\"cpu\":{\"profile\":\"", h->ram_bytes, h->n_vcpus);
	trace_show__json_str(stdout, h->cpu_profile);
	printf("\",\"cpuid_leaves\":%u},\"images\":[", h->n_cpuid);
	for (uint32_t i = 0; i < h->n_images && i < TRACE_MAX_IMAGES; i++) {
		char sha[65];
		fmt_sha(sha, h->images[i].sha256);
		printf("%s{\"kind\":\"%s\",\"kind_no\":%u,\"size\":%" PRIu64 ",\"sha256\":\"%s\",\"name\":\"", i ? "," : "",
		       image_kind(h->images[i].kind), h->images[i].kind, h->images[i].size, sha);
		trace_show__json_str(stdout, h->images[i].name);
		fputs("\"}", stdout);
	}
	fputs("],\"cmdline\":\"", stdout);
	trace_show__json_str(stdout, h->cmdline);
	printf("\",\"clock\":{\"mode\":\"%s\",\"mode_no\":%u,\"quantum_ns\":%" PRIu64 ",\"wallclock_ns\":%" PRIu64
	       ",\"tsc_hz\":%" PRIu64 "},\"host_caps\":[",
	       h->clock_mode == TRACE_CLOCK_VIRTUAL ? "virtual" : h->clock_mode == TRACE_CLOCK_REAL ? "real" : "unknown",
	       h->clock_mode, h->quantum_ns, h->wallclock_ns, h->tsc_hz);
	for (uint32_t i = 0; i < h->n_caps; i++) {
		printf("%s{\"key\":\"", i ? "," : "");
		trace_show__json_str(stdout, h->caps[i].key);
		fputs("\",\"value\":\"", stdout);
		trace_show__json_str(stdout, h->caps[i].value);
		fputs("\"}", stdout);
	}
	fputs("]", stdout);
	json_count("rdtsc_sites", in->rdtsc_sites);
	json_count("rdtscp_sites", in->rdtscp_sites);
	printf(",\"end\":{\"status\":\"%s\",\"message\":\"", in->end_name);
	trace_show__json_str(stdout, in->end_msg);
	printf("\",\"valid_bytes\":%" PRIu64 ",\"file_bytes\":%" PRIu64 ",\"last_event\":%" PRIu64
	       ",\"readable_events\":%" PRIu64 ",\"footer\":%s,\"index\":\"%s\",\"index_message\":\"",
	       s->valid_bytes, s->file_bytes, s->last_event, in->sc.exits, in->st.has_end ? "true" : "false",
	       index_names[s->index & 3]);
	trace_show__json_str(stdout, s->index_msg);
	fputs("\"},\"stop\":", stdout);
	if (in->has_stop) {
		const char *n = trace_show__stop_name(in->stop_reason);
		printf("{\"reason\":\"%s\",\"reason_no\":%u,\"status\":%" PRId64 ",\"message\":\"", n ? n : "unknown",
		       in->stop_reason, in->stop_status);
		trace_show__json_bytes(stdout, in->stop_msg, in->stop_len);
		printf("\",\"from_footer\":%s}", in->stop_from_footer ? "true" : "false");
	} else {
		fputs("null", stdout);
	}
	printf(",\"stats\":{\"source\":\"%s\",\"records\":%" PRIu64 ",\"exits\":%" PRIu64 ",\"records_by_type\":{",
	       in->from_footer ? "footer" : "scan", in->records, in->exits);
	bool first = true;
	for (uint32_t t = 1; t < 256; t++)
		if (in->by_type[t]) {
			printf("%s\"%s\":%" PRIu64, first ? "" : ",", t < TR__COUNT ? trace__rec_name(t) : "unknown",
			       in->by_type[t]);
			first = false;
		}
	printf("},\"unknown_records\":%" PRIu64 ",\"exits_by_reason\":{", in->st.unknown_records);
	first = true;
	for (int i = 0; i < 256; i++)
		if (in->sc.by_reason[i]) {
			const char *n = trace_show__exit_name((uint32_t)i);
			if (n)
				printf("%s\"%s\":%" PRIu64, first ? "" : ",", n, in->sc.by_reason[i]);
			else
				printf("%s\"reason_%d\":%" PRIu64, first ? "" : ",", i, in->sc.by_reason[i]);
			first = false;
		}
	fputs("},\"top_addrs\":[", stdout);
	for (size_t i = 0; i < in->sc.n_addrs && i < 64; i++) {
		const char *n = trace_show__exit_name(in->sc.addrs[i].reason);
		printf("%s{\"reason\":\"%s\",\"addr\":%" PRIu64 ",\"count\":%" PRIu64 "}", i ? "," : "", n ? n : "unknown",
		       in->sc.addrs[i].addr, in->sc.addrs[i].count);
	}
	uint64_t lm = in->by_type[TR_LANDMARK], df = in->by_type[TR_DEFERRAL];
	printf("],\"distinct_addrs\":%zu,\"landmarks\":%" PRIu64 ",\"deferrals\":%" PRIu64, in->sc.n_addrs, lm, df);
	json_rate("landmarks_per_s", (double)lm, gs);
	json_rate("deferrals_per_s", (double)df, gs);
	printf(",\"first_time_ns\":%" PRIu64 ",\"last_time_ns\":%" PRIu64 ",\"guest_seconds\":%.9f", in->first_ns,
	       in->last_ns, gs);
	printf(",\"console_bytes\":%" PRIu64 ",\"input_bytes\":%" PRIu64 ",\"events_file_bytes\":%" PRIu64,
	       in->sc.console_bytes, in->sc.input_bytes, s->file_bytes);
	json_rate("bytes_per_s", (double)s->file_bytes, gs);
	printf(",\"chunks\":%" PRIu64 ",\"raw_bytes\":%" PRIu64 ",\"comp_bytes\":%" PRIu64 ",\"compression_ratio\":",
	       in->st.chunks, in->st.raw_bytes, in->st.comp_bytes);
	if (in->st.comp_bytes)
		printf("%.4f", (double)in->st.raw_bytes / (double)in->st.comp_bytes);
	else
		fputs("null", stdout);
	fputs("}}\n", stdout);
}

static int trace_info(int argc, char **argv)
{
	struct trace_opts o;
	struct trace_reader *r;
	int rc = parse_opts(argc, argv, "", info_help, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if ((rc = open_trace("info", o.dir, &r)))
		return rc;
	struct info in = { .dir = o.dir };
	if (trace_show__scan(r, &in.sc)) {
		fprintf(stderr, "rrvm trace info: out of memory\n");
		trace_reader__close(r);
		return EXIT_TRACE;
	}
	info_gather(&in, r);
	if (o.json)
		info_json(&in);
	else
		info_text(&in);
	rc = fflush(stdout) || ferror(stdout) ? EXIT_TRACE : 0;
	if (strcmp(in.end_name, "complete"))
		report("info", o.dir, in.failed ? "" : "warning: ", in.end_msg);
	if (in.failed)
		rc = EXIT_TRACE;
	trace_show__scan_free(&in.sc);
	trace_reader__close(r);
	return rc;
}

int cmd_trace(int argc, char **argv)
{
	if (argc < 2) {
		fputs(trace_help, stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(trace_help, stdout);
		return 0;
	}
	if (!strcmp(sub, "info"))
		return trace_info(argc - 1, argv + 1);
	if (!strcmp(sub, "dump"))
		return trace_dump(argc - 1, argv + 1);
	if (!strcmp(sub, "console"))
		return trace_console(argc - 1, argv + 1);
	fprintf(stderr, "rrvm trace: unknown subcommand '%s' (info, dump, console)\n", sub);
	return EXIT_USAGE;
}
