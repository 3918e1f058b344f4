/* vcpu.c — exit names, internal-error diagnosis (with the faulting instruction), console input, stats. */
#include "core/vcpu.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"
#include "core/x86.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN", [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_IO] = "KVM_EXIT_IO", [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG", [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	[KVM_EXIT_INTR] = "KVM_EXIT_INTR", [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS", [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR", [KVM_EXIT_OSI] = "KVM_EXIT_OSI",
	[KVM_EXIT_WATCHDOG] = "KVM_EXIT_WATCHDOG", [KVM_EXIT_EPR] = "KVM_EXIT_EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT", [KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "KVM_EXIT_HYPERV", [KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR", [KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "KVM_EXIT_AP_RESET_HOLD", [KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
};

const char *vcpu__exit_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	return "unknown";
}

/* Decodes one instruction; returns its length (0 when undecodable). */
static size_t disassemble(const uint8_t *code, size_t len, uint64_t addr, bool long_mode, bool db,
			  char *out, size_t outlen)
{
	size_t size = 0;
	csh h;
	cs_mode mode = long_mode ? CS_MODE_64 : db ? CS_MODE_32 : CS_MODE_16;
	snprintf(out, outlen, "undecodable");
	if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK)
		return 0;
	cs_insn *insn;
	if (cs_disasm(h, code, len, addr, 1, &insn) == 1) {
		snprintf(out, outlen, "%s%s%s", insn[0].mnemonic, insn[0].op_str[0] ? " " : "", insn[0].op_str);
		size = insn[0].size;
		cs_free(insn, 1);
	}
	cs_close(&h);
	return size;
}

void vcpu__describe_internal_error(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		vm__request_stop(vm, VM_STOP_ERROR, 0, "KVM internal error (suberror %u); registers unreadable",
				 run->internal.suberror);
		return;
	}
	uint8_t code[15];
	size_t n = x86__read_virt(&vm->mem, &sregs, regs.rip, code, sizeof(code));
	char text[192], bytes[64] = "";
	size_t len = disassemble(code, n, regs.rip, sregs.cs.l, sregs.cs.db, text, sizeof(text));
	if (len == 0)
		len = n < 8 ? n : 8;
	for (size_t i = 0, o = 0; i < len && o + 4 < sizeof(bytes); i++)
		o += (size_t)snprintf(bytes + o, sizeof(bytes) - o, "%s%02x", i ? " " : "", code[i]);
	unsigned cpl = sregs.cs.selector & 3;
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		vm__request_stop(vm, VM_STOP_HOST_LIMIT, (int)run->internal.suberror,
				 "this host's KVM cannot execute the guest instruction '%s' (bytes %s) at RIP 0x%llx "
				 "(CPL%u): its instruction emulator rejected it (KVM_EXIT_INTERNAL_ERROR, emulation "
				 "failure). `rrvm doctor` lists what this host emulates; Linux guests run in tools/svm-lane",
				 text, bytes, (unsigned long long)regs.rip, cpl);
		return;
	}
	static const char *const sub[] = { "", "emulation failure", "simultaneous exceptions",
					    "delivery event via unexpected exit", "unexpected exit reason" };
	unsigned s = run->internal.suberror;
	vm__request_stop(vm, VM_STOP_ERROR, (int)s,
			 "KVM internal error (suberror %u: %s) at RIP 0x%llx (CPL%u, instruction '%s', bytes %s)",
			 s, s < 5 ? sub[s] : "unknown", (unsigned long long)regs.rip, cpl, text, bytes);
}

/* ---- console input ---- */

static void kick(struct vm *vm)
{
	uint64_t one = 1;
	if (write(vm->wake_fd, &one, sizeof(one)) < 0) { /* already signalled */ }
	pthread_kill(vm->vcpu_thread, VCPU_KICK_SIGNAL);
}

static void *input_main(void *arg)
{
	struct vm *vm = arg;
	int fd = vm->cfg.console_in_fd;
	bool tty = isatty(fd);
	bool escape = false;
	struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = vm->input_stop_fd, .events = POLLIN } };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			return NULL;
		uint8_t buf[256];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(&vm->input_lock);
		for (ssize_t i = 0; i < n; i++) {
			/* Ctrl-A x quits, Ctrl-A s snapshots (recording), Ctrl-A Ctrl-A sends one Ctrl-A (terminals only). */
			if (tty && escape) {
				escape = false;
				if (buf[i] == 'x') {
					vm->quit_requested = 1;
					continue;
				}
				if (buf[i] == 's') {
					vm->snapshot_requested = 1;   /* rrvm record: a snapshot */
					continue;
				}
				if (buf[i] != 0x01)
					continue;
			} else if (tty && buf[i] == 0x01) {
				escape = true;
				continue;
			}
			if (vm->input_head - vm->input_tail < VM_CONSOLE_IN_SIZE)
				vm->input_buf[vm->input_head++ % VM_CONSOLE_IN_SIZE] = buf[i];
		}
		pthread_mutex_unlock(&vm->input_lock);
		kick(vm);
	}
	pthread_mutex_lock(&vm->input_lock);
	vm->input_eof = true;
	pthread_mutex_unlock(&vm->input_lock);
	kick(vm);
	return NULL;
}

int vcpu__start_input(struct vm *vm)
{
	if (vm->cfg.console_in_fd < 0)
		return 0;
	vm->input_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->input_stop_fd < 0)
		return -errno;
	/* The input thread must never take the kick or stop signals. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&vm->input_thread, NULL, input_main, vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	vm->input_thread_running = true;
	return 0;
}

void vcpu__stop_input(struct vm *vm)
{
	if (vm->input_thread_running) {
		uint64_t one = 1;
		if (write(vm->input_stop_fd, &one, sizeof(one)) < 0) { /* thread sees it anyway */ }
		pthread_join(vm->input_thread, NULL);
		vm->input_thread_running = false;
	}
	if (vm->input_stop_fd >= 0) {
		close(vm->input_stop_fd);
		vm->input_stop_fd = -1;
	}
}

void vcpu__print_stats(const struct vm *vm, FILE *f, double wall_s)
{
	double guest_s = (double)vm__now_ns(vm) / 1e9;
	fprintf(f, "rrvm: %llu guest-caused exits in %.3f s guest time (%.3f s wall), %.0f exits/s of guest time\n",
		(unsigned long long)vm->exits, guest_s, wall_s, guest_s > 0 ? (double)vm->exits / guest_s : 0.0);
	for (unsigned r = 0; r < 64; r++)
		if (vm->exits_by_reason[r])
			fprintf(f, "rrvm:   %-26s %llu\n", vcpu__exit_name(r), (unsigned long long)vm->exits_by_reason[r]);
	fprintf(f, "rrvm:   kicks %llu, interrupts injected %llu, MSR exits %llu, unhandled PIO %llu, MMIO %llu\n",
		(unsigned long long)vm->kicks, (unsigned long long)vm->irqs_injected,
		(unsigned long long)vm->msr_exits, (unsigned long long)vm->unhandled_pio,
		(unsigned long long)vm->unhandled_mmio);
}

static int read_regs(struct vm *vm, uint64_t out[18])
{
	struct kvm_regs g;
	if (vm->sync_regs)
		g = vm->run->s.regs.regs;
	else if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &g) < 0)
		return -errno;
	const uint64_t v[18] = { g.rax, g.rbx, g.rcx, g.rdx, g.rsi, g.rdi, g.rsp, g.rbp, g.r8, g.r9,
				 g.r10, g.r11, g.r12, g.r13, g.r14, g.r15, g.rip, g.rflags };
	memcpy(out, v, sizeof(v));
	return 0;
}

void vcpu__capture_exit_regs(struct vm *vm)
{
	vm->exit_regs_valid = read_regs(vm, vm->exit_regs) == 0;
}

int vcpu__exit_regs(struct vm *vm, uint64_t out[18])
{
	if (!vm->exit_regs_valid)
		return read_regs(vm, out);
	memcpy(out, vm->exit_regs, sizeof(vm->exit_regs));
	return 0;
}
