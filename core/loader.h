/* loader.h — puts a kernel in guest RAM: ELF64 (test kernel, vmlinux) or a Linux bzImage. */
#ifndef RRVM_LOADER_H
#define RRVM_LOADER_H

#include <stdint.h>
#include "core/err.h"
#include "core/mem.h"
#include "core/x86.h"

enum kernel_kind {
	KERNEL_ELF_PVH,       /* ELF64 entered in long mode with a PVH hvm_start_info (test kernel) */
	KERNEL_LINUX_VMLINUX, /* uncompressed vmlinux ELF, 64-bit boot protocol */
	KERNEL_LINUX_BZIMAGE, /* bzImage, payload decompressed on the host */
};

#define LOADER_MAX_SEGMENTS 16

struct loaded_segment {
	uint64_t gpa, size;   /* bytes in guest RAM */
	uint64_t vaddr;       /* link address (Linux: __START_KERNEL_map + ...) */
	uint32_t flags;       /* ELF PF_X/PF_W/PF_R */
};

#define LOADER_MAX_TSC_SITES 512

/* One rewritten RDTSC/RDTSCP instruction in guest RAM and what it was. */
struct tsc_site {
	uint64_t gpa;
	uint8_t len;          /* instruction length: 2 (rdtsc), 3 (rdtscp), more with prefixes */
	uint8_t rdtscp;       /* 0 rdtsc, 1 rdtscp */
	uint8_t orig[6];      /* the original bytes */
};

struct load_info {
	enum kernel_kind kind;
	struct x86_entry entry;
	struct loaded_segment seg[LOADER_MAX_SEGMENTS];
	int nr_segs;
	uint64_t initrd_gpa, initrd_size;
	char compression[16];  /* bzImage payload: "lz4", "gzip", ... or "" */
	uint32_t rdtsc_sites, rdtscp_sites;  /* Linux: RDTSC/RDTSCP instructions rewritten to exit */
	/* The rewrite (core/rdtsc.h): 1 once the kernel's section table was
	 * swept; the first LOADER_MAX_TSC_SITES sites with the bytes they replaced. */
	uint8_t tsc_scanned;
	uint32_t tsc_nr_listed;
	struct tsc_site tsc_site[LOADER_MAX_TSC_SITES];
};

struct boot_config {
	const char *kernel;   /* path */
	const char *initrd;   /* path or NULL */
	const char *cmdline;  /* or NULL */
};

/* Detects the kernel format, loads it, the initrd and the command line, and
 * writes the boot information (PVH start_info, or Linux boot_params with its
 * e820 map). Boot tables (x86__setup_boot_tables) must already be written.
 * On error: -errno and a one-line message naming the file and the problem. */
int loader__load(struct guest_mem *m, const struct boot_config *bc, struct load_info *info,
		 struct rrvm_err *err);

#endif
