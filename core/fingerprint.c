/* fingerprint.c — landmark fingerprints and whole-memory hashes. */
#include "core/fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"
#include "core/x86.h"

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0x9e3779b97f4a7c15ull;
	h = (h << 27 | h >> 37) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

uint64_t fp__hash(uint64_t seed, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = mix(seed, len);
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = mix(h, v);
		p += 8;
		len -= 8;
	}
	uint64_t tail = 0;
	memcpy(&tail, p, len);
	return mix(h, tail ^ ((uint64_t)len << 56));
}

int fp__compute(struct vm *vm, uint64_t *fp)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_FPU, &fpu) < 0)
		return -errno;
	/* RF and TF belong to the debugger's stepping, not to the guest's state. */
	regs.rflags &= ~(X86_RFLAGS_RF | X86_RFLAGS_TF);
	uint64_t h = fp__hash(0x72727666, &regs, sizeof(regs));
	uint64_t cr[4] = { sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer };
	h = fp__hash(h, cr, sizeof(cr));
	h = fp__hash(h, fpu.fpr, sizeof(fpu.fpr));
	h = fp__hash(h, fpu.xmm, sizeof(fpu.xmm));
	uint64_t fpc[3] = { fpu.fcw, fpu.fsw, fpu.mxcsr };
	h = fp__hash(h, fpc, sizeof(fpc));
	uint64_t gpa;
	if (!x86__gva_to_gpa(&vm->mem, sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer,
			     regs.rsp & ~0xfffull, &gpa)) {
		const void *page = mem__ptr(&vm->mem, gpa, 4096);
		if (page && vm->gdbg.npatch) {
			/* The debugger's HLT patches are not the guest's state. */
			uint8_t copy[4096];
			memcpy(copy, page, sizeof(copy));
			guest_debug__patch_mask(vm, gpa, copy, sizeof(copy));
			h = fp__hash(h, copy, sizeof(copy));
		} else if (page) {
			h = fp__hash(h, page, 4096);
		}
	}
	*fp = h;
	return 0;
}

/* Page-table flags of `n` pages from `addr` in this process (bit 63 present,
 * bit 62 swapped: /proc/self/pagemap); false when they cannot be read. */
static bool pagemap_read(int fd, const void *addr, size_t n, uint64_t *out)
{
	off_t at = (off_t)((uintptr_t)addr / 4096 * 8);
	size_t len = n * 8, got = 0;
	while (got < len) {
		ssize_t r = pread(fd, (uint8_t *)out + got, len - got, at + (off_t)got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

uint64_t fp__memory(const struct vm *vm)
{
	/* Page by page. Guest RAM is private anonymous memory, so a page that is
	 * neither present nor swapped out (pagemap) was never touched and reads
	 * as zeros; a present page of zeros is found with memcmp. Either counts
	 * as one word. Hashing 256 MiB whole took 0.46 s, and touching every
	 * page to compare it still 0.14 s: most of a short recording's wall time
	 * (record and replay print this hash at the end). */
	static const uint8_t zero[4096];
	enum { BATCH = 512 };
	uint64_t flags[BATCH];
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t h = 0x6d656d;
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const uint8_t *p = vm->mem.region[i].host;
		uint64_t size = vm->mem.region[i].size, off = 0;
		while (off + sizeof(zero) <= size) {
			size_t n = (size_t)((size - off) / sizeof(zero));
			if (n > BATCH)
				n = BATCH;
			bool known = pm >= 0 && pagemap_read(pm, p + off, n, flags);
			for (size_t k = 0; k < n; k++, off += sizeof(zero)) {
				bool untouched = known && !(flags[k] >> 62 & 3);
				h = !untouched && memcmp(p + off, zero, sizeof(zero)) ? fp__hash(h, p + off, sizeof(zero))
										      : mix(h, 0x7a65726f70616765ull);
			}
		}
		if (off < size)
			h = fp__hash(h, p + off, size - off);
	}
	if (pm >= 0)
		close(pm);
	return h;
}

int fp__state(struct vm *vm, uint64_t *regs_hash, uint64_t *mem_hash)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	uint64_t h = fp__hash(1, &regs, sizeof(regs));
	uint64_t cr[4] = { sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4 };
	*regs_hash = fp__hash(h, cr, sizeof(cr));
	*mem_hash = fp__memory(vm);
	return 0;
}
