/* main.c — the rrvm binary: dispatches subcommands. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "core/cmds.h"
#include "core/cpu.h"
#include "core/doctor.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "boot a kernel (the built-in test kernel, a vmlinux or a bzImage) as a live VM" },
	{ "record", cmd_record, "run a VM and record everything nondeterministic into a trace" },
	{ "replay", cmd_replay, "re-execute a trace exactly, stopping at the first divergence" },
	{ "trace", cmd_trace, "show a trace: header and statistics, events, console text" },
	{ "snapshot", cmd_snapshot, "list, show and compare the snapshots recorded in a trace" },
	{ "tui", cmd_tui, "browse a trace in the terminal: timeline, console, events, registers, memory" },
	{ "cpuid", cpu__cmd, "print the CPUID table of a CPU profile" },
	{ "doctor", doctor__cmd, "probe what this host's KVM can do and what rrvm will do about it" },
};

static void usage(FILE *f)
{
	fprintf(f, "rrvm %s — deterministic record/replay virtual machine monitor for Linux KVM\n\n"
		   "usage: rrvm <command> [options]   (rrvm <command> --help for each)\n\ncommands:\n",
		RRVM_VERSION);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "  %-10s %s\n", "version", "print the version");
	fprintf(f, "\nexit status of commands that run a guest:\n"
		   "  0 guest powered off   1 monitor error   2 usage error   3 guest panic\n"
		   "  4 guest triple fault  5 guest reset     6 guest code this host's KVM cannot run\n"
		   "  7 guest idle forever  8 interrupted     9 replay diverged\n");
}

int main(int argc, char **argv)
{
	/* Nothing rrvm starts (gdb from the TUI) ever gains privileges through
	 * exec: a hostile guest or trace that got code running here gets no
	 * setuid binary's rights (SECURITY.md). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		perror("rrvm: warning: prctl(PR_SET_NO_NEW_PRIVS)");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("rrvm %s\n", RRVM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(cmd, subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rrvm: unknown command '%s' (rrvm --help lists them)\n", cmd);
	return 2;
}
