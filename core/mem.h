/* mem.h — guest physical memory and the one checked translation every monitor access goes through. */
#ifndef RRVM_MEM_H
#define RRVM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RAM below 3 GiB is mapped at 0; anything beyond continues at 4 GiB, leaving
 * [3 GiB, 4 GiB) for device MMIO (PCI holes, future virtio). */
#define MEM_LOW_LIMIT   0xC0000000ull
#define MEM_HIGH_BASE   0x100000000ull
#define MEM_MAX_REGIONS 2
#define MEM_PAGE_SIZE   4096ull

struct mem_region {
	uint64_t gpa;   /* guest-physical start */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* host mapping */
};

struct guest_mem {
	struct mem_region region[MEM_MAX_REGIONS];
	int nr_regions;
	uint64_t size;      /* total RAM bytes */
	uint8_t *base;      /* one contiguous host mapping holding every region */
	/* Set by the snapshot store: one bit per 4 KiB page of `base`, for pages
	 * the monitor writes (KVM's dirty log sees only the guest's writes). */
	uint64_t *user_dirty;
};

/* Maps `size` bytes of anonymous guest RAM (page aligned, > 0). Returns 0 or
 * -errno; on error *m is left empty. */
int mem__init(struct guest_mem *m, uint64_t size);
void mem__fini(struct guest_mem *m);

/* The checked translation: a host pointer for [gpa, gpa+len) when the whole
 * range lies inside one RAM region, NULL when it is out of range, crosses a
 * region boundary or overflows. len == 0 is treated as 1. */
void *mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy helpers on top of mem__ptr: 0 or -EFAULT (nothing copied). */
int mem__read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int mem__write(struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/* Code that writes guest RAM through a mem__ptr pointer (device DMA, the
 * replayer's recorded DMA) must call this for the range it wrote, so
 * snapshots see the change; mem__write does it itself. No-op while no
 * snapshot store tracks this memory. */
void mem__mark_dirty(struct guest_mem *m, uint64_t gpa, uint64_t len);

/* True when gpa is guest RAM. */
bool mem__is_ram(const struct guest_mem *m, uint64_t gpa);

/* Parses "256M", "1G", "65536K", "1048576" into bytes. 0 or -EINVAL. */
int mem__parse_size(const char *s, uint64_t *out);

#endif
