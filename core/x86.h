/* x86.h — x86 boot-time machine shape: low-memory layout, page tables, GDT, long-mode vCPU state. */
#ifndef RRVM_X86_H
#define RRVM_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "core/mem.h"

/* Fixed low-memory layout the monitor writes before the first instruction.
 * Everything sits below 1 MiB, outside the kernel image. */
#define X86_GDT_ADDR        0x0500ull   /* 4 entries: null, null, code64 (0x10), data (0x18) */
#define X86_BOOTINFO_ADDR   0x6000ull   /* PVH hvm_start_info (ELF test kernels) */
#define X86_MEMMAP_ADDR     0x6800ull   /* PVH memmap table */
#define X86_ZEROPAGE_ADDR   0x7000ull   /* Linux boot_params */
#define X86_PML4_ADDR       0x9000ull
#define X86_PDPT_ADDR       0xA000ull
#define X86_PD_ADDR         0xB000ull   /* 4 pages: identity map of 0..4 GiB with 2 MiB pages */
#define X86_CMDLINE_ADDR    0x20000ull
#define X86_CMDLINE_MAX     4096ull
#define X86_BOOT_STACK_TOP  0x8FF0ull
#define X86_EBDA_START      0x9FC00ull  /* RAM in e820 ends here; 0xA0000..0xFFFFF is legacy */
#define X86_KERNEL_MIN_ADDR 0x100000ull

#define X86_BOOT_CS 0x10
#define X86_BOOT_DS 0x18

/* Segment/flag bits the monitor needs by name. */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_LA57 (1ull << 12)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NX  (1ull << 11)
#define X86_RFLAGS_IF (1ull << 9)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_RF (1ull << 16)

/* Where the vCPU starts: long mode at `rip` with these argument registers. */
struct x86_entry {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rsi;   /* Linux: boot_params */
	uint64_t rdi;   /* PVH-style ELF kernels: hvm_start_info */
	uint64_t rbx;   /* PVH-style ELF kernels: hvm_start_info */
};

/* Writes the GDT and identity-mapping page tables (first 4 GiB, 2 MiB pages)
 * into guest RAM. RAM must be at least 1 MiB. 0 or -errno. */
int x86__setup_boot_tables(struct guest_mem *m);

/* Puts the vCPU in 64-bit long mode, CPL0, interrupts off, paging on with
 * the tables from x86__setup_boot_tables, and the registers of `e`.
 * Must be called after KVM_SET_CPUID2 (CR4/EFER bits are checked against it). */
int x86__set_long_mode(int vcpu_fd, const struct x86_entry *e);

/* Translates a guest-virtual address with the vCPU's current paging mode
 * (none, 4-level, 5-level). 0 and *gpa, or -EFAULT when not mapped. */
int x86__gva_to_gpa(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4,
		    uint64_t efer, uint64_t gva, uint64_t *gpa);

/* The same walk, also saying whether user mode (CPL 3) may reach the page:
 * *user is true only when the U/S bit is set at every level (no paging:
 * false, the monitor treats that code as supervisor code). */
int x86__walk(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4,
	      uint64_t efer, uint64_t gva, uint64_t *gpa, bool *user);

/* Copies up to len bytes at guest-virtual gva (translated with the paging
 * state in sregs; segment base added outside 64-bit mode) into buf; returns
 * how many bytes were readable before the first unmapped one. */
size_t x86__read_virt(const struct guest_mem *m, const struct kvm_sregs *sregs, uint64_t gva,
		      void *buf, size_t len);

/* True when the instruction bytes start a REP/REPNE string instruction. */
int x86__is_rep_string(const uint8_t *code, size_t len);

#endif
