/* vcpu.h — vCPU helpers used by the exit loop: names, diagnostics, console input, statistics. */
#ifndef RRVM_VCPU_H
#define RRVM_VCPU_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

struct vm;

/* Sent to the vCPU thread to make KVM_RUN return (a kick). */
#define VCPU_KICK_SIGNAL SIGUSR1

/* "KVM_EXIT_IO" etc.; "unknown" for reasons this build does not name. */
const char *vcpu__exit_name(uint32_t reason);

/* KVM_EXIT_INTERNAL_ERROR: stops the VM with a message naming the
 * instruction (disassembled) and its address. Emulation failures are this
 * host's limit (VM_STOP_HOST_LIMIT), anything else a monitor error. */
void vcpu__describe_internal_error(struct vm *vm);

/* Starts the console input thread when cfg.console_in_fd >= 0. The thread
 * fills vm->input_buf and wakes the vCPU; Ctrl-A x on a terminal quits. */
int vcpu__start_input(struct vm *vm);
void vcpu__stop_input(struct vm *vm);

/* Keeps the registers as KVM_RUN returned them (vm->exit_regs): from the run
 * area when KVM syncs them, else KVM_GET_REGS. Called by the loop right
 * after KVM_RUN, before any handler runs: completing an IN (core/tsc_port.c)
 * moves RIP and RAX on. */
void vcpu__capture_exit_regs(struct vm *vm);
/* The registers at the latest exit in TR_REGS order (record/trace.h: rax ...
 * r15, rip, rflags): the captured ones, else read now. 0 or -errno. */
int vcpu__exit_regs(struct vm *vm, uint64_t out[18]);

/* Exit counts by reason, kicks and injected interrupts. */
void vcpu__print_stats(const struct vm *vm, FILE *f, double wall_s);

#endif
