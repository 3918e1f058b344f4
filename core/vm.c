/* vm.c — VM lifecycle: /dev/kvm, RAM, CPU model, vCPU, devices, kernel; the guest clock and console. */
#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "core/pic.h"
#include "core/platform.h"
#include "core/virtio.h"
#include "core/x86.h"
#include "record/recorder.h"

#define VM_MIN_MEM (16ull << 20)
/* Fixed guest epoch for --clock=virtual: 2026-01-01T00:00:00Z. */
#define VM_VIRTUAL_EPOCH 1767225600ll
#define VM_DEFAULT_QUANTUM_NS 10000ull

uint64_t vm__host_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int check_mem_size(uint64_t size, struct rrvm_err *err)
{
	struct sysinfo si;
	if (size < VM_MIN_MEM)
		return err__set(err, -EINVAL, "guest RAM %llu MiB is too small (at least %llu MiB)",
				(unsigned long long)(size >> 20), (unsigned long long)(VM_MIN_MEM >> 20));
	if (size % (2ull << 20))
		return err__set(err, -EINVAL, "guest RAM must be a multiple of 2 MiB (got %llu bytes)",
				(unsigned long long)size);
	if (sysinfo(&si) == 0) {
		uint64_t host = (uint64_t)si.totalram * si.mem_unit;
		if (size > host)
			return err__set(err, -E2BIG, "guest RAM %llu MiB exceeds this host's memory (%llu MiB)",
					(unsigned long long)(size >> 20), (unsigned long long)(host >> 20));
	}
	return 0;
}

static int kvm_open(struct vm *vm, struct rrvm_err *err)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err__set(err, -errno, "cannot open /dev/kvm: %s (is KVM enabled, and may this user use it?)",
				strerror(errno));
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return err__set(err, -ENOTSUP, "/dev/kvm speaks API version %d, rrvm needs %d", api, KVM_API_VERSION);
	static const struct { int cap; const char *name; } need[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0)
			return err__set(err, -ENOTSUP, "this host's KVM lacks %s", need[i].name);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err__set(err, -errno, "KVM_CREATE_VM failed: %s", strerror(errno));
	/* Intel needs a TSS region for real mode; harmless elsewhere. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	return 0;
}

static int map_memory(struct vm *vm, struct rrvm_err *err)
{
	int rc = mem__init(&vm->mem, vm->cfg.mem_size);
	if (rc)
		return err__set(err, rc, "cannot map %llu MiB of guest RAM: %s",
				(unsigned long long)(vm->cfg.mem_size >> 20), strerror(-rc));
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region kr = {
			.slot = (uint32_t)i, .guest_phys_addr = r->gpa,
			.memory_size = r->size, .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return err__set(err, -errno, "KVM_SET_USER_MEMORY_REGION (slot %d, %llu MiB): %s", i,
					(unsigned long long)(r->size >> 20), strerror(errno));
	}
	return 0;
}

static int create_vcpu(struct vm *vm, struct rrvm_err *err)
{
	int rc = cpu__setup_msr_filter(vm->vm_fd, err);
	if (rc)
		return rc;
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return err__set(err, -errno, "KVM_CREATE_VCPU failed: %s", strerror(errno));
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return err__set(err, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	vm->run_size = (size_t)sz;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return err__set(err, -errno, "cannot map the vCPU run area: %s", strerror(errno));
	}
	/* Registers at every exit for free (the trace's TR_REGS), where KVM offers it. */
	int sync = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (sync > 0 && (sync & KVM_SYNC_X86_REGS)) {
		vm->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		vm->sync_regs = true;
	}
	if (vm->cfg.cpuid) {
		size_t sz = sizeof(*vm->cpuid) + vm->cfg.cpuid->nent * sizeof(vm->cpuid->entries[0]);
		vm->cpuid = malloc(sz);
		if (!vm->cpuid)
			return err__set(err, -ENOMEM, "out of memory");
		memcpy(vm->cpuid, vm->cfg.cpuid, sz);
		vm->cfg.cpuid = NULL;
	} else if ((rc = cpu__build_cpuid(vm->kvm_fd, vm->cfg.cpu_profile, &vm->cpuid, err))) {
		return rc;
	}
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return err__set(err, -errno, "KVM_SET_CPUID2 (profile %s): %s", vm->cfg.cpu_profile, strerror(errno));
	cpu__msr_init(&vm->msr);
	return 0;
}

static int load_kernel(struct vm *vm, struct rrvm_err *err)
{
	int rc = x86__setup_boot_tables(&vm->mem);
	if (rc)
		return err__set(err, rc, "cannot write boot page tables into guest RAM");
	struct boot_config bc = {
		.kernel = vm->cfg.kernel, .initrd = vm->cfg.initrd, .cmdline = vm->cfg.append,
	};
	rc = loader__load(&vm->mem, &bc, &vm->load, err);
	if (rc)
		return rc;
	rc = x86__set_long_mode(vm->vcpu_fd, &vm->load.entry);
	if (rc)
		return err__set(err, rc, "cannot set the boot vCPU state: %s", strerror(-rc));
	return 0;
}

int vm__create(struct vm **out, const struct vm_config *cfg, struct rrvm_err *err)
{
	*out = NULL;
	if (!cfg->kernel)
		return err__set(err, -EINVAL, "no kernel given (--kernel PATH)");
	int rc = check_mem_size(cfg->mem_size, err);
	if (rc)
		return rc;
	struct vm *vm = calloc(1, sizeof(*vm));
	if (vm)
		vm->gdbg.irq_slot = vm->gdbg.hlt_slot = vm->gdbg.patch_hit = vm->gdbg.irq_patch = vm->gdbg.hlt_patch = -1;
	if (!vm)
		return err__set(err, -ENOMEM, "out of memory");
	vm->cfg = *cfg;
	if (!vm->cfg.cpu_profile)
		vm->cfg.cpu_profile = "baseline";
	if (!vm->cfg.quantum_ns)
		vm->cfg.quantum_ns = VM_DEFAULT_QUANTUM_NS;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->wake_fd = vm->input_stop_fd = -1;
	pthread_mutex_init(&vm->input_lock, NULL);
	vm->vcpu_thread = pthread_self();
	vm->wallclock_base = cfg->clock == CLOCK_VIRTUAL ? VM_VIRTUAL_EPOCH : (int64_t)time(NULL);
	vm->last_exit_guest = true; /* power-on is event 0 */
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0) {
		rc = err__set(err, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = kvm_open(vm, err)) || (rc = map_memory(vm, err)) || (rc = create_vcpu(vm, err)) ||
	    (!cfg->replay && (rc = platform__create(vm, err))) || (rc = virtio__create_all(vm, err)) ||
	    (rc = load_kernel(vm, err)))
		goto fail;
	/* What the snapshot code asks later, asked now: the monitor needs no
	 * more of /dev/kvm than this VM, so it lets go of the system fd
	 * (SECURITY.md: no new VMs from a compromised monitor's fd table). */
	vm->cap_xsave = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	vm->cap_xsave2 = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->cap_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	close(vm->kvm_fd);
	vm->kvm_fd = -1;
	vm->start_mono_ns = vm__host_mono_ns();
	*out = vm;
	return 0;
fail:
	vm__destroy(vm);
	return rc;
}

void vm__destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < sizeof(vm->cfg_owned) / sizeof(vm->cfg_owned[0]); i++)
		free(vm->cfg_owned[i]);
	for (int i = vm->nr_devices - 1; i >= 0; i--)
		if (vm->devices[i].destroy)
			vm->devices[i].destroy(vm->devices[i].state);
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	mem__fini(&vm->mem);
	free(vm->cpuid);
	pthread_mutex_destroy(&vm->input_lock);
	free(vm);
}

int vm__exit_status(const struct vm *vm)
{
	switch (vm->stop) {
	case VM_STOP_POWEROFF:     return RRVM_EXIT_OK;
	case VM_STOP_PANIC:        return RRVM_EXIT_PANIC;
	case VM_STOP_TRIPLE_FAULT: return RRVM_EXIT_TRIPLE;
	case VM_STOP_RESET:        return RRVM_EXIT_RESET;
	case VM_STOP_HOST_LIMIT:   return RRVM_EXIT_HOST_LIMIT;
	case VM_STOP_IDLE:         return RRVM_EXIT_IDLE;
	case VM_STOP_INTERRUPTED:  return RRVM_EXIT_INTERRUPTED;
	case VM_STOP_DIVERGED:     return RRVM_EXIT_DIVERGED;
	case VM_STOP_REPLAYED:     return vm->stop_code;
	case VM_STOP_NONE:
	case VM_STOP_DEBUG:
	case VM_STOP_ERROR:
	default:                   return RRVM_EXIT_ERROR;
	}
}

int vm__add_device(struct vm *vm, const struct device *dev)
{
	if (vm->nr_devices == DEV_MAX_DEVICES)
		return -ENOSPC;
	for (int i = 0; i < vm->nr_devices; i++)
		if (!strcmp(vm->devices[i].name, dev->name))
			return -EEXIST;
	vm->devices[vm->nr_devices++] = *dev;
	return 0;
}

int vm__add_io(struct vm *vm, const struct io_region *r)
{
	return io_bus__register(&vm->bus, r);
}

void vm__set_irq(struct vm *vm, unsigned irq, int level)
{
	if (vm->pic && irq < 16)
		pic__set_irq(vm->pic, irq, level);
}

uint64_t vm__now_ns(const struct vm *vm)
{
	if (vm->cfg.clock == CLOCK_VIRTUAL)
		return vm->virt_ns;
	return vm->start_mono_ns ? vm__host_mono_ns() - vm->start_mono_ns : 0;
}

int64_t vm__wallclock_base(const struct vm *vm)
{
	return vm->wallclock_base;
}

void vm__console_write(struct vm *vm, const uint8_t *buf, size_t len)
{
	if (vm->rec)
		recorder__console(vm->rec, vm, buf, len);
	int fd = vm->cfg.console_out_fd;
	while (len > 0 && fd >= 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* output closed: the guest keeps running */
		buf += n;
		len -= (size_t)n;
	}
}

size_t vm__console_read(struct vm *vm, uint8_t *buf, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&vm->input_lock);
	while (n < max && vm->input_tail != vm->input_head) {
		buf[n++] = vm->input_buf[vm->input_tail % VM_CONSOLE_IN_SIZE];
		vm->input_tail++;
	}
	pthread_mutex_unlock(&vm->input_lock);
	if (vm->rec && n)
		recorder__console_in(vm->rec, vm, buf, n);
	return n;
}

bool vm__console_pending(struct vm *vm)
{
	pthread_mutex_lock(&vm->input_lock);
	bool pending = vm->input_tail != vm->input_head;
	pthread_mutex_unlock(&vm->input_lock);
	return pending;
}

void vm__request_stop(struct vm *vm, enum vm_stop why, int code, const char *fmt, ...)
{
	if (vm->stop != VM_STOP_NONE)
		return; /* the first reason wins */
	vm->stop = why;
	vm->stop_code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
	va_end(ap);
}
