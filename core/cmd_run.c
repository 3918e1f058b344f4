/* cmd_run.c — `rrvm run`: options shared by VM-booting commands, terminal setup, and the stop report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/cmds.h"
#include "core/sandbox.h"
#include "snapshot/snapshot.h"
#include "core/fingerprint.h"
#include "core/vcpu.h"
#include <sys/ioctl.h>

const char run_opts_help[] =
	"  --kernel PATH       kernel: the built-in test kernel ELF, a Linux vmlinux or bzImage\n"
	"                      (may also be given as the last argument)\n"
	"  --initrd PATH       initial ramdisk (Linux) or boot module (ELF kernels)\n"
	"  --append TEXT       kernel command line (test kernel: the scenario, e.g. \"hello\")\n"
	"  --mem SIZE          guest RAM, e.g. 256M, 1G (default 256M; multiple of 2M, at most host RAM)\n"
	"  --cpu PROFILE       CPU model: baseline (default, portable) or host (rrvm cpuid --help)\n"
	"  --clock=real|virtual  real (default): timers follow host time and kick the vCPU;\n"
	"                      virtual: time advances a fixed quantum per exit and jumps to the next\n"
	"                      deadline on HLT, so runs are reproducible without a trace\n"
	"  --quantum NS        guest nanoseconds per exit with --clock=virtual (default 10000)\n"
	"  --stats             print exit counts by reason when the guest stops\n"
	"  --disk PATH[,ro]    virtio-blk disk on a raw image (PCI 00:01.0, IRQ 10); ,ro: read-only.\n"
	"                      Writes go to the image (record keeps an undo journal in the trace)\n"
	"  --disk-overlay PATH create PATH as a copy of the image and send the guest's writes there;\n"
	"                      the image itself is never written\n"
	"  --rng               virtio-rng entropy device fed by getrandom (PCI 00:02.0, IRQ 11)\n"
	"  --virtio-console    virtio-console, Linux's hvc0 (PCI 00:03.0, IRQ 9); the UART stays\n"
	"  --no-sandbox        keep every right once the VM exists (by default Landlock and seccomp\n"
	"                      confine files to the trace and forbid exec, sockets, ptrace: SECURITY.md)\n";

static void run_usage(FILE *f)
{
	fprintf(f, "usage: rrvm run [options] [--] [KERNEL]\n\n"
		   "Boots a kernel as a live VM on a deterministic platform (8259 PIC, 8254 PIT, CMOS RTC,\n"
		   "16550 UART on COM1 as the console, i8042 reset, debug-exit port 0xf4). Console output\n"
		   "goes to stdout; on a terminal, stdin is raw and typed into the guest (Ctrl-A x quits).\n\n"
		   "options:\n%s"
		   "  --gdb[=PORT|unix:PATH]  wait for gdb before the first instruction (default port 1234,\n"
		   "                      127.0.0.1 only; a Unix socket is created mode 0600); debug forwards\n"
		   "  --gdb-listen-any    listen on every address, not only 127.0.0.1 (anyone who can\n"
		   "                      connect controls the VM)\n"
		   "  -h, --help          this help\n\n"
		   "rrvm run --from TRACE_DIR@N instead resumes snapshot N of a recording live (rrvm run --from -h)\n\n"
		   "exit status: 0 poweroff, 1 monitor error, 2 usage, 3 guest panic, 4 triple fault,\n"
		   "5 guest reset, 6 guest code this host's KVM cannot run, 7 idle forever, 8 interrupted\n",
		run_opts_help);
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_MEM, OPT_CPU, OPT_CLOCK, OPT_QUANTUM, OPT_STATS, OPT_GDB,
       OPT_GDB_ANY, OPT_DISK, OPT_DISK_OVERLAY, OPT_RNG, OPT_VCONSOLE, OPT_NO_SANDBOX };

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "clock", required_argument, NULL, OPT_CLOCK },
	{ "quantum", required_argument, NULL, OPT_QUANTUM },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "disk-overlay", required_argument, NULL, OPT_DISK_OVERLAY },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "virtio-console", no_argument, NULL, OPT_VCONSOLE },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "gdb", optional_argument, NULL, OPT_GDB },
	{ "gdb-listen-any", no_argument, NULL, OPT_GDB_ANY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int run_opts__parse(struct run_opts *o, int argc, char **argv, const char *cmd)
{
	memset(o, 0, sizeof(*o));
	o->cfg.mem_size = 256ull << 20;
	o->cfg.cpu_profile = "baseline";
	o->cfg.clock = CLOCK_REAL;
	o->cfg.console_out_fd = STDOUT_FILENO;
	o->cfg.console_in_fd = STDIN_FILENO;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->cfg.kernel = optarg; break;
		case OPT_INITRD: o->cfg.initrd = optarg; break;
		case OPT_APPEND: o->cfg.append = optarg; break;
		case OPT_CPU: o->cfg.cpu_profile = optarg; break;
		case OPT_STATS: o->stats = true; break;
		case OPT_RNG: o->cfg.virtio_rng = true; break;
		case OPT_VCONSOLE: o->cfg.virtio_console = true; break;
		case OPT_NO_SANDBOX: o->no_sandbox = true; break;
		case OPT_DISK_OVERLAY: o->cfg.disk_overlay = optarg; break;
		case OPT_DISK: {
			size_t n = strlen(optarg);
			bool ro = n > 3 && !strcmp(optarg + n - 3, ",ro");
			if (n == 0 || n >= sizeof(o->disk_path) || (!ro && strchr(optarg, ','))) {
				fprintf(stderr, "rrvm %s: --disk takes PATH or PATH,ro, not '%s'\n", cmd, optarg);
				return RRVM_EXIT_USAGE;
			}
			snprintf(o->disk_path, sizeof(o->disk_path), "%.*s", (int)(ro ? n - 3 : n), optarg);
			o->cfg.disk = o->disk_path;
			o->cfg.disk_ro = ro;
			break;
		}
		case OPT_GDB:
		case OPT_GDB_ANY:
			if (strcmp(cmd, "run")) {
				fprintf(stderr, "rrvm %s: %s is for `rrvm run` and `rrvm replay` (debug the recording "
					"with rrvm replay --gdb)\n", cmd, argv[optind - 1]);
				return RRVM_EXIT_USAGE;
			}
			if (c == OPT_GDB)
				o->gdb = optarg ? optarg : "";
			else
				o->gdb_listen_any = true;
			break;
		case OPT_MEM:
			if (mem__parse_size(optarg, &o->cfg.mem_size)) {
				fprintf(stderr, "rrvm %s: --mem '%s' is not a size (e.g. 256M, 1G)\n", cmd, optarg);
				return RRVM_EXIT_USAGE;
			}
			break;
		case OPT_CLOCK:
			if (!strcmp(optarg, "real")) {
				o->cfg.clock = CLOCK_REAL;
			} else if (!strcmp(optarg, "virtual")) {
				o->cfg.clock = CLOCK_VIRTUAL;
			} else {
				fprintf(stderr, "rrvm %s: --clock must be 'real' or 'virtual', not '%s'\n", cmd, optarg);
				return RRVM_EXIT_USAGE;
			}
			break;
		case OPT_QUANTUM: {
			char *end;
			errno = 0;
			unsigned long long q = strtoull(optarg, &end, 10);
			if (errno || *end || q == 0 || q > 1000000000ull) {
				fprintf(stderr, "rrvm %s: --quantum takes nanoseconds (1..1e9), not '%s'\n", cmd, optarg);
				return RRVM_EXIT_USAGE;
			}
			o->cfg.quantum_ns = q;
			break;
		}
		case 'h':
			return -1;
		default:
			fprintf(stderr, "rrvm %s: unknown option '%s' (rrvm %s --help)\n", cmd, argv[optind - 1], cmd);
			return RRVM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (o->cfg.kernel || optind + 1 < argc) {
			fprintf(stderr, "rrvm %s: unexpected argument '%s'\n", cmd, argv[optind]);
			return RRVM_EXIT_USAGE;
		}
		o->cfg.kernel = argv[optind];
	}
	if (!o->cfg.kernel) {
		fprintf(stderr, "rrvm %s: no kernel given (--kernel PATH)\n", cmd);
		return RRVM_EXIT_USAGE;
	}
	if (o->cfg.disk_overlay && (!o->cfg.disk || o->cfg.disk_ro)) {
		fprintf(stderr, "rrvm %s: --disk-overlay needs a writable --disk PATH\n", cmd);
		return RRVM_EXIT_USAGE;
	}
	return 0;
}

int run__report_stop(const struct vm *vm)
{
	int status = vm__exit_status(vm);
	fprintf(stderr, "rrvm: %s\n", vm->stop_msg[0] ? vm->stop_msg : "stopped");
	return status;
}

double run__now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void run__print_final_state(struct vm *vm)
{
	struct kvm_regs regs;
	uint64_t h, m;
	/* The end is a stop point like any other: finish the last exit's I/O
	 * instruction first (KVM leaves RIP on an OUT until the next KVM_RUN),
	 * so the state does not depend on whether a snapshot there already
	 * did (a recording's panic snapshot, a replay's seek). */
	snap__complete_io(vm);
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || fp__state(vm, &h, &m) < 0)
		return;
	fprintf(stderr, "rrvm: final state: event %llu, rip 0x%llx, registers %016llx, memory %016llx\n",
		(unsigned long long)vm->exits, (unsigned long long)regs.rip, (unsigned long long)h,
		(unsigned long long)m);
}

void run__sandbox(const struct run_opts *o, const char *rw_dir)
{
	if (o->no_sandbox) {
		if (o->stats)
			fprintf(stderr, "rrvm: sandbox: off (--no-sandbox)\n");
		return;
	}
	struct sandbox_state s;
	int rc = sandbox__enter(rw_dir, &s);
	if (rc)
		fprintf(stderr, "rrvm: warning: the sandbox is incomplete: %s\n", s.note);
	else if (o->stats)
		fprintf(stderr, "rrvm: sandbox: Landlock %s, seccomp %s%s%s\n",
			s.landlock ? (rw_dir ? "on (files: the trace and /proc/self only)" : "on (files: /proc/self only)")
				   : "off",
			s.seccomp ? "on" : "off", s.note[0] ? ": " : "", s.note);
}

void run__console_run(struct vm *vm, const struct run_opts *o, double t0)
{
	/* Raw terminal: keystrokes go to the guest as typed. */
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	vm__run(vm);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (o->stats)
		vcpu__print_stats(vm, stderr, run__now_s() - t0);
}

int cmd_run(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--from") || !strncmp(argv[i], "--from=", 7))
			return cmd_resume(argc, argv);   /* resume a recorded snapshot live */
	struct run_opts o;
	int rc = run_opts__parse(&o, argc, argv, "run");
	if (rc < 0) {
		run_usage(stdout);
		return 0;
	}
	if (rc)
		return rc;

	struct rrvm_err err = { "" };
	struct vm *vm;
	double t0 = run__now_s();
	if (vm__create(&vm, &o.cfg, &err)) {
		fprintf(stderr, "rrvm: %s\n", err.msg);
		return RRVM_EXIT_ERROR;
	}
	if (o.gdb) {
		rc = run__gdb(vm, &o);
		if (rc) {
			vm__destroy(vm);
			return rc;
		}
	} else {
		run__sandbox(&o, NULL);
	}
	if (vm->stop == VM_STOP_NONE)
		run__console_run(vm, &o, t0);
	int status = run__report_stop(vm);
	vm__destroy(vm);
	return status;
}
