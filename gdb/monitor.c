/* monitor.c — shared monitor commands: physical memory, address translation, help. */
#include "gdb/monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/doctor.h"
#include "core/vm.h"
#include "core/x86.h"

bool monitor__host_steps_ring3(void)
{
	/* The nested paravirtual KVM (kvm_pvm) hands ring-3 single-step traps to
	 * the guest (HOST.md); hardware KVM does not. */
	return access("/sys/module/kvm_pvm", F_OK) != 0;
}

bool monitor__watch_by_stepping(void)
{
	if (!monitor__host_steps_ring3())
		return true;   /* the nested PVM host: no data breakpoints */
	/* Where KVM's debug registers do not fire (QEMU-TCG's emulated SVM,
	 * HOST.md), a data breakpoint would never stop: step and compare. */
	struct host_caps caps;
	struct rrvm_err err;
	return doctor__probe(&caps, &err) == 0 && caps.hw_bp[0].outcome != DOC_OK;
}

static void hexdump(struct gdb_text *out, uint64_t addr, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		gdb_text__printf(out, "%016" PRIx64 ":", addr + i);
		for (size_t k = i; k < i + 16 && k < n; k++)
			gdb_text__printf(out, " %02x", b[k]);
		gdb_text__printf(out, "\n");
	}
}

int monitor__common(struct vm *vm, const char *cmd, struct gdb_text *out, const char *which)
{
	/* "WORD [ADDR [LEN]]", numbers in C syntax. strtoull, not sscanf's %lli:
	 * that one is signed and turns a kernel address (0xffffffff81000000)
	 * into LLONG_MAX. */
	char word[32] = "";
	unsigned long long a = 0, n = 64;
	int used = 0, k = sscanf(cmd, "%31s%n", word, &used);
	const char *p = cmd + (k == 1 ? used : 0);
	for (int i = 0; k >= 1 && i < 2; i++) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		unsigned long long v = strtoull(p, &end, 0);
		if (end == p)
			break;
		*(i ? &n : &a) = v;
		p = end;
		k++;
	}
	if (k >= 2 && !strcmp(word, "phys")) {
		if (n > 1024)
			n = 1024;
		uint8_t b[1024];
		if (mem__read(&vm->mem, a, b, n)) {
			gdb_text__printf(out, "phys: 0x%llx+%llu is not guest RAM\n", a, n);
			return 0;
		}
		hexdump(out, a, b, n);
		return 0;
	}
	if (k >= 2 && !strcmp(word, "translate")) {
		struct kvm_sregs s;
		uint64_t gpa;
		if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
			return -errno;
		if (x86__gva_to_gpa(&vm->mem, s.cr0, s.cr3, s.cr4, s.efer, a, &gpa))
			gdb_text__printf(out, "0x%llx is not mapped (cr3 0x%llx, %s paging)\n", a,
					 (unsigned long long)s.cr3, (s.cr4 & X86_CR4_LA57) ? "5-level" : "4-level");
		else
			gdb_text__printf(out, "0x%llx -> physical 0x%" PRIx64 "\n", a, gpa);
		return 0;
	}
	if (!strcmp(word, "help") || !word[0]) {
		gdb_text__printf(out,
			"rrvm monitor commands (%s):\n"
			"  when                 where the guest is: event number and position\n"
			"  phys ADDR [LEN]      dump guest-physical memory\n"
			"  translate GVA        guest-virtual to guest-physical through the guest's page tables\n", which);
		if (!strcmp(which, "replay"))
			gdb_text__printf(out,
				"  seek EVENT|sNAME     go to event EVENT (or a snapshot) of the recording\n"
				"  snapshots            list the snapshots\n"
				"  info-trace           the trace: header, events, how it ended\n");
		return 0;
	}
	gdb_text__printf(out, "unknown monitor command '%s' (monitor help)\n", cmd);
	return -EINVAL;
}
