/* test_stop_signal.c — one Ctrl-C stops one vm__run: the run that reports SIGINT consumes it, and the next
 * run goes on (it was process-global and sticky: every later run of a gdb or TUI session stopped at once).
 * No KVM: the VM has no vCPU, so a run that really starts ends at KVM_RUN with EBADF — which is the proof
 * that it was not stopped by the old signal. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "tests/unit/check.h"

static void again(struct vm *vm)
{
	vm->stop = VM_STOP_NONE;
	vm->stop_msg[0] = 0;
}

int main(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct kvm_run *run = calloc(1, sizeof(*run));
	if (!vm || !run)
		return 1;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->wake_fd = vm->input_stop_fd = -1;
	vm->cfg.console_in_fd = vm->cfg.console_out_fd = -1;
	vm->cfg.clock = CLOCK_VIRTUAL;
	vm->run = run;
	vm->next_deadline_ns = UINT64_MAX;
	pthread_mutex_init(&vm->input_lock, NULL);

	/* A first run installs rrvm's SIGINT handler (and ends on a console quit). */
	vm->quit_requested = 1;
	vm__run(vm);
	CHECK(vm->stop == VM_STOP_INTERRUPTED && strstr(vm->stop_msg, "Ctrl-A x"), "quit: %s", vm->stop_msg);
	vm->quit_requested = 0;
	again(vm);

	/* Ctrl-C between runs: the next run stops for it ... */
	raise(SIGINT);
	vm__run(vm);
	CHECK(vm->stop == VM_STOP_INTERRUPTED && strstr(vm->stop_msg, "signal 2"), "after SIGINT: %s", vm->stop_msg);
	again(vm);
	/* ... and consumed it: this run starts (and fails at KVM_RUN, there being no vCPU). */
	vm__run(vm);
	CHECK(vm->stop == VM_STOP_ERROR && strstr(vm->stop_msg, "KVM_RUN"), "the run after: %s", vm->stop_msg);
	again(vm);
	vm__run(vm);
	CHECK(vm->stop == VM_STOP_ERROR, "a later run: %s", vm->stop_msg);

	pthread_mutex_destroy(&vm->input_lock);
	free(run);
	free(vm);
	printf("test_stop_signal: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
