/* x86.c — boot tables in guest RAM, long-mode vCPU setup, and guest page-table walks. */
#include "core/x86.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

static const uint64_t gdt[4] = {
	0,
	0,
	0x00af9b000000ffffull, /* 0x10: 64-bit code, present, DPL0 */
	0x00cf93000000ffffull, /* 0x18: data, present, DPL0, 4 GiB */
};

int x86__setup_boot_tables(struct guest_mem *m)
{
	uint64_t *pml4 = mem__ptr(m, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = mem__ptr(m, X86_PDPT_ADDR, 4096);
	uint64_t *pd = mem__ptr(m, X86_PD_ADDR, 4 * 4096);
	if (!pml4 || !pdpt || !pd || mem__write(m, X86_GDT_ADDR, gdt, sizeof(gdt)))
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | 0x3;          /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;       /* present, writable, 2 MiB page */
	return 0;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

int x86__set_long_mode(int vcpu_fd, const struct x86_entry *e)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = seg(X86_BOOT_CS, 0xb, 1, 0);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(X86_BOOT_DS, 0x3, 0, 1);
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs.cr3 = X86_PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	struct kvm_regs regs = {
		.rip = e->rip, .rsp = e->rsp ? e->rsp : X86_BOOT_STACK_TOP,
		.rsi = e->rsi, .rdi = e->rdi, .rbx = e->rbx, .rflags = 0x2,
	};
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

#define PTE_P  0x1ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

#define PTE_US 0x4ull

int x86__gva_to_gpa(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4,
		    uint64_t efer, uint64_t gva, uint64_t *gpa)
{
	bool user;
	return x86__walk(m, cr0, cr3, cr4, efer, gva, gpa, &user);
}

int x86__walk(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4,
	      uint64_t efer, uint64_t gva, uint64_t *gpa, bool *user)
{
	/* User-accessible only when every level allows it (SDM 4.6.1). */
	*user = false;
	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gva;
		return 0;
	}
	if (!(efer & X86_EFER_LMA)) {
		/* 32-bit paging (PAE or not) — only needed for early boot stubs. */
		if (cr4 & X86_CR4_PAE) {
			uint64_t pdpte;
			if (mem__read(m, (cr3 & ~0x1full) + ((gva >> 30) & 3) * 8, &pdpte, 8) || !(pdpte & PTE_P))
				return -EFAULT;
			uint64_t pde;
			if (mem__read(m, (pdpte & PTE_ADDR) + ((gva >> 21) & 511) * 8, &pde, 8) || !(pde & PTE_P))
				return -EFAULT;
			if (pde & PTE_PS) {
				*gpa = (pde & PTE_ADDR & ~0x1fffffull) | (gva & 0x1fffff);
				*user = (pde & PTE_US) != 0;
				return 0;
			}
			uint64_t pte;
			if (mem__read(m, (pde & PTE_ADDR) + ((gva >> 12) & 511) * 8, &pte, 8) || !(pte & PTE_P))
				return -EFAULT;
			*gpa = (pte & PTE_ADDR) | (gva & 0xfff);
			*user = (pde & pte & PTE_US) != 0;
			return 0;
		}
		uint32_t pde, pte;
		if (mem__read(m, (cr3 & 0xfffff000ull) + ((gva >> 22) & 1023) * 4, &pde, 4) || !(pde & PTE_P))
			return -EFAULT;
		if ((pde & PTE_PS) && (cr4 & (1ull << 4))) {
			*gpa = (pde & 0xffc00000ull) | (gva & 0x3fffff);
			*user = (pde & PTE_US) != 0;
			return 0;
		}
		if (mem__read(m, (pde & 0xfffff000ull) + ((gva >> 12) & 1023) * 4, &pte, 4) || !(pte & PTE_P))
			return -EFAULT;
		*gpa = (pte & 0xfffff000ull) | (gva & 0xfff);
		*user = (pde & pte & PTE_US) != 0;
		return 0;
	}
	int levels = (cr4 & X86_CR4_LA57) ? 5 : 4;
	uint64_t table = cr3 & PTE_ADDR, us = PTE_US;
	for (int level = levels; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint64_t e;
		if (mem__read(m, table + ((gva >> shift) & 511) * 8, &e, 8) || !(e & PTE_P))
			return -EFAULT;
		us &= e;
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			uint64_t mask = (1ull << shift) - 1;
			*gpa = (e & PTE_ADDR & ~mask) | (gva & mask);
			*user = us != 0;
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -EFAULT;
}

size_t x86__read_virt(const struct guest_mem *m, const struct kvm_sregs *sregs, uint64_t gva,
		      void *buf, size_t len)
{
	uint8_t *out = buf;
	if (!sregs->cs.l)
		gva += sregs->cs.base;
	size_t n = 0;
	while (n < len) {
		uint64_t gpa;
		if (x86__gva_to_gpa(m, sregs->cr0, sregs->cr3, sregs->cr4, sregs->efer, gva + n, &gpa))
			break;
		/* Copy up to the end of this page in one go. */
		size_t chunk = 4096 - ((gva + n) & 0xfff);
		if (chunk > len - n)
			chunk = len - n;
		if (mem__read(m, gpa, out + n, chunk))
			break;
		n += chunk;
	}
	return n;
}

int x86__is_rep_string(const uint8_t *code, size_t len)
{
	int rep = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = code[i];
		if (b == 0xf2 || b == 0xf3) {
			rep = 1;
		} else if (b == 0x66 || b == 0x67 || b == 0xf0 || b == 0x2e || b == 0x36 || b == 0x3e ||
			   b == 0x26 || b == 0x64 || b == 0x65 || (b >= 0x40 && b <= 0x4f)) {
			continue;
		} else {
			return rep && ((b >= 0xa4 && b <= 0xa7) || (b >= 0xaa && b <= 0xaf) || (b >= 0x6c && b <= 0x6f));
		}
	}
	return 0;
}
