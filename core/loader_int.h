/* loader_int.h — private interfaces between loader.c, elf.c and bzimage.c (not for other modules). */
#ifndef RRVM_LOADER_INT_H
#define RRVM_LOADER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/loader.h"

#define LINUX_START_KERNEL_MAP 0xffffffff80000000ull /* __START_KERNEL_map */
#define LOADER_MAX_DECOMPRESSED (512ull << 20)       /* cap on a bzImage payload's output */
#define LOADER_MAX_MEMMAP 8

/* Explicit little-endian accessors for byte buffers (host-side images of
 * guest structures and untrusted file bytes): never cast structs over them. */
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* A kernel image being parsed: a file read with pread, or a host buffer
 * (a decompressed bzImage payload). Every read is bounds-checked. */
struct ksrc {
	const char *path;   /* named in every message */
	const char *what;   /* message prefix after the path: "" or "decompressed payload: " */
	int fd;             /* used when buf is NULL */
	const uint8_t *buf;
	uint64_t size;
};

/* Copies [off, off+len) of the image to dst. 0, or -EINVAL/-EIO with a
 * message naming `item` when the range is outside the image or the file
 * is shorter than it was (truncated while reading). */
int ksrc__read(const struct ksrc *s, uint64_t off, void *dst, uint64_t len, const char *item,
	       struct rrvm_err *err);

/* Formats up to 8 leading bytes as "7f 45 4c 46 ..." for messages. */
void loader__hex_bytes(const uint8_t *p, size_t n, char *out, size_t outlen);

/* Result of loading an ELF64 kernel. */
struct elf_kernel {
	bool is_linux;      /* Linux vmlinux markers ("Linux" note, .head.text, __ksymtab) */
	uint64_t lo, hi;    /* guest-physical extent of the loaded segments */
};

/* Validates the ELF64 in `s`, copies its PT_LOAD segments into guest RAM,
 * fills info->seg[], info->nr_segs and info->entry.rip. With `linux_hint`
 * (or when Linux markers are found) e_entry is a physical address (the
 * vmlinux convention); otherwise it is a link address translated through the
 * segment that holds it. Segments must sit in RAM between 1 MiB and 4 GiB. */
int elf__load(struct guest_mem *m, const struct ksrc *s, bool linux_hint, struct elf_kernel *ek,
	      struct load_info *info, struct rrvm_err *err);

/* One memory-map entry (PVH memmap and Linux e820 share the layout). */
struct memmap_entry {
	uint64_t addr, size;
	uint32_t type;      /* 1 RAM, 2 reserved */
};
#define MEMMAP_RAM      1
#define MEMMAP_RESERVED 2

/* The guest's physical map: RAM 0..EBDA, reserved EBDA..1 MiB, RAM 1 MiB..end
 * of low RAM, RAM at 4 GiB for the rest. Returns the number of entries. */
int loader__memmap(const struct guest_mem *m, struct memmap_entry *e, int max);

/* Linux boot state built on the host, then copied to X86_ZEROPAGE_ADDR. */
struct linux_boot {
	uint8_t zp[4096];          /* boot_params image */
	uint64_t kernel_lo, kernel_hi; /* memory the kernel uses (image + init_size) */
	uint32_t initrd_addr_max;  /* highest address the initrd may use (inclusive) */
	uint32_t cmdline_max;      /* longest command line (bytes, without NUL) */
};

/* Loads a bzImage whose first `hlen` bytes are in `head`: checks the setup
 * header, decompresses the payload, loads the vmlinux inside, copies the
 * setup header into lb->zp. */
int bzimage__load(struct guest_mem *m, const struct ksrc *file, const uint8_t *head, size_t hlen,
		  struct load_info *info, struct linux_boot *lb, struct rrvm_err *err);

/* Starts lb->zp for a bare vmlinux (no setup header in the file). */
void bzimage__init_bare(struct linux_boot *lb, const struct elf_kernel *ek);

/* Completes boot_params (loader fields, command line, initrd, e820) and
 * writes it to X86_ZEROPAGE_ADDR. */
int bzimage__finish(struct guest_mem *m, struct linux_boot *lb, const struct load_info *info,
		    uint64_t cmdline_gpa, const char *path, struct rrvm_err *err);

#endif
