/* cmd_replay.c — `rrvm replay`: re-execute a trace on a device-less VM and check it exit by exit. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cmds.h"
#include "core/vcpu.h"
#include "record/sha256.h"
#include "record/trace.h"
#include "replay/replayer.h"

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: rrvm replay [options] TRACE_DIR\n\n"
		   "Re-executes a recording: the guest gets every recorded value at the same exit and every\n"
		   "interrupt at the same point, and each exit is compared with the recorded one. At the\n"
		   "first difference replay stops and reports the event, what was expected and what happened.\n"
		   "Only the virtio models run (their queues write guest memory); every value the guest\n"
		   "reads still comes from the trace. Time the guest spent halted is skipped.\n\n"
		   "options:\n"
		   "  --to EVENT          stop after this event\n"
		   "  --quiet             do not print the guest console\n"
		   "  --check             exit 0 only if the whole trace replayed without divergence\n"
		   "  --allow-image-mismatch  replay even if the kernel/initrd in TRACE_DIR no longer\n"
		   "                      match the hashes in its header (to find where they differ)\n"
		   "  --stats             print exit counts when done\n"
		   "  --disk PATH         the raw image a recording with --disk used: it must hash to the\n"
		   "                      recorded SHA-256 (seen through the trace's disk.undo journal when the\n"
		   "                      recording wrote it in place); replay's writes go to a throw-away\n"
		   "                      temporary file, never to PATH\n"
		   "  -h, --help          this help\n\n"
		   "exit status: the recorded run's status when replay reaches its end (0 poweroff,\n"
		   "3 panic, ...; with --check: 0), 9 divergence, 1 unreadable trace or monitor error\n");
}

/* Checks that TRACE_DIR/<name> still hashes to what the header says. */
static int check_image(const char *dir, const char *name, const struct trace_image *img, bool allow,
		       struct rrvm_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	uint8_t sum[32];
	uint64_t size;
	int rc = sha256__file(path, sum, &size, err);
	if (rc)
		return rc;
	if (size == img->size && !memcmp(sum, img->sha256, 32))
		return 0;
	if (allow) {
		fprintf(stderr, "rrvm: warning: %s differs from the recorded image (%s): replaying anyway\n", path,
			img->name);
		return 0;
	}
	return err__set(err, -EBADMSG, "%s differs from the image recorded in the trace header (%s, %" PRIu64
			" bytes): refusing to replay (--allow-image-mismatch to find where it diverges)",
			path, img->name, img->size);
}

static struct kvm_cpuid2 *cpuid_from_header(const struct trace_header *h)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + h->n_cpuid * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = h->n_cpuid;
	for (uint32_t i = 0; i < h->n_cpuid; i++) {
		const struct trace_cpuid_entry *e = &h->cpuid[i];
		c->entries[i] = (struct kvm_cpuid_entry2){ .function = e->function, .index = e->index,
							   .flags = e->flags, .eax = e->eax, .ebx = e->ebx,
							   .ecx = e->ecx, .edx = e->edx };
	}
	return c;
}

enum { OPT_TO = 256, OPT_QUIET, OPT_CHECK, OPT_ALLOW, OPT_STATS, OPT_DISK };

/* The virtio devices the recording had (header capability "virtio"). */
static int virtio_from_header(const struct trace_header *h, struct vm_config *cfg, const char *disk,
			      const char *undo, struct rrvm_err *err)
{
	const char *list = NULL;
	for (uint32_t i = 0; i < h->n_caps; i++)
		if (!strcmp(h->caps[i].key, "virtio"))
			list = h->caps[i].value;
	if (!list)
		return disk ? err__set(err, -EINVAL, "--disk given, but the recording had no virtio disk") : 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "blk") || !strcmp(t, "blk-ro")) {
			const struct trace_image *img = NULL;
			for (uint32_t i = 0; i < h->n_images; i++)
				if (h->images[i].kind == TRACE_IMG_DISK)
					img = &h->images[i];
			if (!img)
				return err__set(err, -EBADMSG, "trace header: virtio-blk without a disk image entry");
			if (!disk) {
				char hex[65];
				sha256__hex(img->sha256, hex);
				return err__set(err, -EINVAL, "this recording used a virtio disk (%s, %" PRIu64 " bytes, sha256 %s): "
						"give its image with --disk PATH", img->name, img->size, hex);
			}
			cfg->disk = disk;
			cfg->disk_ro = !strcmp(t, "blk-ro");
			cfg->disk_sha256 = img->sha256;
			cfg->disk_undo = undo;
		} else if (!strcmp(t, "rng")) {
			cfg->virtio_rng = true;
		} else if (!strcmp(t, "console")) {
			cfg->virtio_console = true;
		} else {
			return err__set(err, -EPROTONOSUPPORT, "trace header: unknown virtio device '%s' (newer rrvm?)", t);
		}
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "allow-image-mismatch", no_argument, NULL, OPT_ALLOW },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_opts ro = { .console_fd = STDOUT_FILENO };
	bool check = false, allow = false, stats = false;
	const char *disk = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TO: {
			char *end;
			errno = 0;
			ro.to_event = strtoull(optarg, &end, 10);
			if (errno || *end || !ro.to_event) {
				fprintf(stderr, "rrvm replay: --to takes an event number >= 1, not '%s'\n", optarg);
				return RRVM_EXIT_USAGE;
			}
			break;
		}
		case OPT_QUIET: ro.quiet = true; break;
		case OPT_CHECK: check = true; break;
		case OPT_ALLOW: allow = true; break;
		case OPT_STATS: stats = true; break;
		case OPT_DISK: disk = optarg; break;
		case 'h': replay_usage(stdout); return 0;
		default:
			fprintf(stderr, "rrvm replay: unknown option '%s' (rrvm replay --help)\n", argv[optind - 1]);
			return RRVM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rrvm replay: give exactly one TRACE_DIR (rrvm replay --help)\n");
		return RRVM_EXIT_USAGE;
	}
	const char *dir = argv[optind];

	struct rrvm_err err = { "" };
	struct trace_reader *tr;
	if (trace_reader__open(&tr, dir, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	const struct trace_status *st = trace_reader__status(tr);
	if (st->end != TRACE_END_COMPLETE)
		fprintf(stderr, "rrvm: warning: %s\n", st->msg);
	const struct trace_header *h = trace_reader__header(tr);
	char kernel[4096], initrd[4096];
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	bool has_initrd = false;
	for (uint32_t i = 0; i < h->n_images; i++) {
		const struct trace_image *img = &h->images[i];
		const char *name = img->kind == TRACE_IMG_KERNEL ? "kernel" : img->kind == TRACE_IMG_INITRD ? "initrd" : NULL;
		if (!name)
			continue;
		has_initrd |= img->kind == TRACE_IMG_INITRD;
		if (check_image(dir, name, img, allow, &err)) {
			fprintf(stderr, "rrvm: %s\n", err.msg);
			trace_reader__close(tr);
			return RRVM_EXIT_ERROR;
		}
	}
	char undo[4096];
	snprintf(undo, sizeof(undo), "%s/disk.undo", dir);
	struct vm_config cfg = {
		.mem_size = h->ram_bytes, .kernel = kernel, .initrd = has_initrd ? initrd : NULL,
		.append = h->cmdline, .cpu_profile = h->cpu_profile,
		.clock = h->clock_mode == TRACE_CLOCK_VIRTUAL ? CLOCK_VIRTUAL : CLOCK_REAL,
		.quantum_ns = h->quantum_ns, .console_out_fd = -1, .console_in_fd = -1, .replay = true,
	};
	if (virtio_from_header(h, &cfg, disk, undo, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		trace_reader__close(tr);
		return RRVM_EXIT_ERROR;
	}
	struct kvm_cpuid2 *cpuid = cpuid_from_header(h);
	cfg.cpuid = cpuid;
	struct vm *vm;
	double t0 = run__now_s();
	int rc = cpuid ? vm__create(&vm, &cfg, &err) : err__set(&err, -ENOMEM, "out of memory");
	free(cpuid);
	if (rc) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		trace_reader__close(tr);
		return RRVM_EXIT_ERROR;
	}
	struct replayer *rep;
	if (replayer__open(&rep, vm, tr, &ro, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		trace_reader__close(tr);
		vm__destroy(vm);
		return RRVM_EXIT_ERROR;
	}
	vm__run(vm);
	if (stats)
		vcpu__print_stats(vm, stderr, run__now_s() - t0);
	uint64_t events, landmarks, misses;
	replayer__counts(rep, &events, &landmarks, &misses);
	int status = run__report_stop(vm);
	run__print_final_state(vm);
	fprintf(stderr, "rrvm: replay: %llu events, %llu landmarks reached (%llu breakpoint hits stepped over) in %.3f s\n",
		(unsigned long long)events, (unsigned long long)landmarks, (unsigned long long)misses,
		run__now_s() - t0);
	if (check)
		status = vm->stop == VM_STOP_REPLAYED ? 0 : (status ? status : RRVM_EXIT_ERROR);
	if (vm->stop == VM_STOP_REPLAYED && st->end != TRACE_END_COMPLETE) {
		struct trace_stats ts;
		trace_reader__stats(tr, &ts);
		if (ts.has_end || st->end == TRACE_END_CORRUPT) {
			/* Closed cleanly, yet not all there: damaged after the fact. */
			fprintf(stderr, "rrvm: the trace is damaged: %s\n", st->msg);
			status = RRVM_EXIT_ERROR;
		} else if (check) {
			fprintf(stderr, "rrvm: --check: the recording did not finish; only its prefix replayed\n");
			status = RRVM_EXIT_ERROR;
		}
	}
	vm->rep = NULL;
	replayer__close(rep);
	vm__destroy(vm);
	return status;
}
