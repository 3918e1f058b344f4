/* tsc_port.c — the "tscport" device: answers rewritten RDTSC/RDTSCP sites (IN from RRVM_TSC_PORT/RRVM_TSCP_PORT). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/rdtsc.h"
#include "core/vm.h"

/*
 * A rewritten site is `in eax, RRVM_TSC_PORT` (rdtsc) or `in eax,
 * RRVM_TSCP_PORT; nop` (rdtscp), see core/rdtsc.h. The handler answers EAX
 * with the low half of the guest TSC, computed exactly as a guest RDMSR of
 * IA32_TSC is (core/msr.c: TSC(guest time) + the guest's offset), and leaves
 * the whole value in vm->rdtsc_last. The rest of the instruction's result
 * cannot be given through the I/O exit: vcpu__apply_rdtsc writes RDX (and
 * RCX) right after the handler, in the same exit.
 *
 * Anything but a 4-byte IN at offset 0 is not a rewritten site: reads
 * return all-ones, writes are ignored, vm->rdtsc_last is untouched.
 * No saved state: the answer depends only on the guest clock and the MSR
 * state, which are saved elsewhere.
 */

static void answer(struct vm *vm, uint64_t off, uint8_t *data, uint32_t size, bool is_write, bool rdtscp)
{
	if (is_write || off != 0 || size != 4) {
		if (!is_write)
			io__put(data, size, 0xffffffffu);
		return;
	}
	uint64_t tsc = cpu__tsc_at(&vm->msr, vm__now_ns(vm)) + (uint64_t)vm->msr.tsc_offset;
	vm->rdtsc_last.valid = true;
	vm->rdtsc_last.rip = 0;   /* filled by vcpu__apply_rdtsc */
	vm->rdtsc_last.value = tsc;
	vm->rdtsc_last.aux = (uint32_t)vm->msr.tsc_aux;
	vm->rdtsc_last.rdtscp = rdtscp;
	io__put(data, 4, (uint32_t)tsc);
}

static void tsc_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	answer(dev, off, data, size, is_write, false);
}

static void tscp_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	answer(dev, off, data, size, is_write, true);
}

int tscport__create(struct vm *vm, struct rrvm_err *err)
{
	struct device d = { .name = "tscport", .state = (void *)"tscport",
			    .save = devstate__save_none, .restore = devstate__restore_none };
	int rc = vm__add_device(vm, &d);
	if (rc)
		return err__set(err, rc, "tscport: cannot add device");
	const struct io_region r[] = {
		{ "tscport", IO_SPACE_PIO, RRVM_TSC_PORT, 4, tsc_io, vm },
		{ "tscport", IO_SPACE_PIO, RRVM_TSCP_PORT, 4, tscp_io, vm },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "tscport: cannot register ports 0x%llx-0x%llx",
					(unsigned long long)r[i].base, (unsigned long long)(r[i].base + r[i].len - 1));
	return 0;
}

/*
 * vcpu__apply_rdtsc: the second half of a rewritten RDTSC/RDTSCP, called by
 * the vCPU loop's PIO handling right after the port handler ran.
 *
 * At a KVM_EXIT_IO for IN, KVM has not completed the instruction: the data
 * reaches EAX, and RIP moves past the IN, only when KVM_RUN is entered
 * again. Setting RDX/RCX with KVM_SET_REGS before that is NOT safe: on this
 * development host's emulated ring 0 the completion then loses EAX (measured:
 * RAX kept its old value; tests/rdtsc.cmake, unit_rdtsc_vm). So the IN is
 * completed first, as the KVM API documents for KVM_EXIT_IO: KVM_RUN with
 * immediate_exit set finishes the pending operation and returns -EINTR
 * without running a guest instruction. Then KVM_GET_REGS shows EAX = TSC low
 * and RIP past the IN (site + 2 for both kinds; for RDTSCP the NOP is still
 * to run), and KVM_SET_REGS adds RDX (and RCX). The kvm_run fields the loop
 * and the recorder read afterwards are those of the IN exit again
 * (exit_reason is restored; io and its data are untouched by the extra
 * entry), and immediate_exit keeps the value it had (a pending kick stays
 * pending).
 *
 * Applies only when this exit is a 4-byte IN from one of the two ports and
 * the handler filled vm->rdtsc_last (valid stays set after the exit until
 * the recorder consumes it, so a stale one must not be applied again).
 * The replayer can use it too: fill the IN data and vm->rdtsc_last from the
 * trace, then call it.
 */
int vcpu__apply_rdtsc(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	if (!vm->rdtsc_last.valid || run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_IN ||
	    run->io.size != 4 || run->io.count != 1 ||
	    run->io.port != (vm->rdtsc_last.rdtscp ? RRVM_TSCP_PORT : RRVM_TSC_PORT))
		return 0;
	const char *what = "KVM_RUN (completing the IN)";
	uint8_t kick = run->immediate_exit;
	run->immediate_exit = 1;
	int r = ioctl(vm->vcpu_fd, KVM_RUN, 0), e = errno;
	run->immediate_exit = kick;
	run->exit_reason = KVM_EXIT_IO;
	if (r == 0 || e != EINTR)   /* it must return at once, without running the guest */
		goto fail;
	struct kvm_regs regs;
	what = "KVM_GET_REGS";
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		goto fail_errno;
	vm->rdtsc_last.rip = regs.rip - 2;
	regs.rdx = vm->rdtsc_last.value >> 32;
	if (vm->rdtsc_last.rdtscp)
		regs.rcx = vm->rdtsc_last.aux;
	what = "KVM_SET_REGS";
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto fail_errno;
	return 0;
fail_errno:
	e = errno;
fail:
	vm__request_stop(vm, VM_STOP_ERROR, r == 0 ? -EIO : -e, "rewritten rdtsc at port 0x%x: %s %s",
			 run->io.port, what, r == 0 ? "ran the guest instead of returning at once" : strerror(e));
	return r == 0 ? -EIO : -e;
}
