/* cpu.c — the kernel's own GDT/TSS, IDT and page tables (page 0 unmapped, ring-3 pages marked user). */
#include "kernel.h"

#define PTE_P  0x001ull
#define PTE_W  0x002ull
#define PTE_U  0x004ull
#define PTE_PS 0x080ull
#define MIB2   0x200000ull
#define GIB    0x40000000ull

struct tss {
	u32 reserved0;
	u64 rsp0, rsp1, rsp2;
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

struct idt_entry {
	u16 off_lo, sel;
	u8 ist, type;
	u16 off_mid;
	u32 off_hi, zero;
};

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

extern u64 gdt[];
extern struct desc_ptr gdt_ptr;
extern const u64 isr_table[48];
extern const u64 isr_syscall;

/* Zero-filled in the ELF file (.data.pt): no ring-0 time spent clearing them. */
#define PAGE_DATA __attribute__((aligned(4096), section(".data.pt")))
static u64 pml4[512] PAGE_DATA;
static u64 pdpt[512] PAGE_DATA;
static u64 pd[4][512] PAGE_DATA;
static u64 pt0[512] PAGE_DATA;        /* 4 KiB pages for 0..2 MiB */
static struct idt_entry idt[256] PAGE_DATA;

static struct tss tss __attribute__((aligned(16)));
static u8 df_stack[4096] __attribute__((aligned(16), section(".noinit")));

void tss_set_rsp0(u64 rsp0)
{
	tss.rsp0 = rsp0;
}

static void gdt_load(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;
	gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
			   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	tss.iomap_base = sizeof(tss);          /* no I/O bitmap: ring-3 port I/O faults */
	tss.ist[0] = (u64)df_stack + sizeof(df_stack);
	tss_set_rsp0((u64)&df_stack);          /* replaced per task by tasks.c */

	__asm__ volatile("lgdt %0" : : "m"(gdt_ptr));
	__asm__ volatile("pushq %0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%ss\n\t"
			 "mov %1, %%fs\n\t"
			 "mov %1, %%gs\n\t"
			 "ltr %w2"
			 : : "i"(SEL_KCODE), "r"((u64)SEL_KDATA), "r"(SEL_TSS) : "rax", "memory");
}

static void idt_set(int vec, u64 handler, u8 type, u8 ist)
{
	struct idt_entry *e = &idt[vec];
	e->off_lo = (u16)handler;
	e->sel = SEL_KCODE;
	e->ist = ist;
	e->type = type;
	e->off_mid = (u16)(handler >> 16);
	e->off_hi = (u32)(handler >> 32);
	e->zero = 0;
}

static void idt_load(void)
{
	for (int v = 0; v < 48; v++)
		idt_set(v, isr_table[v], 0x8e, v == 8 ? 1 : 0);   /* interrupt gates, DPL 0 */
	idt_set(0x80, isr_syscall, 0xee, 0);                   /* DPL 3: int 0x80 from ring 3 */
	struct desc_ptr p = { sizeof(idt) - 1, (u64)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

/* Identity map of RAM: 4 KiB pages below 2 MiB (page 0 not present, user
 * pages only for the .user section), 2 MiB user pages above, up to the top
 * of RAM from the memmap (at most 4 GiB). */
static void paging_init(void)
{
	u64 top = g_ram_top > 4 * GIB ? 4 * GIB : g_ram_top & ~(MIB2 - 1);
	u64 ustart = (u64)__user_start, uend = (u64)__user_end;

	pml4[0] = (u64)pdpt | PTE_P | PTE_W | PTE_U;
	for (u64 g = 0; g * GIB < top; g++)
		pdpt[g] = (u64)pd[g] | PTE_P | PTE_W | PTE_U;
	pd[0][0] = (u64)pt0 | PTE_P | PTE_W | PTE_U;
	for (u64 a = MIB2; a < top; a += MIB2)
		pd[a / GIB][(a / MIB2) & 511] = a | PTE_P | PTE_W | PTE_U | PTE_PS;
	for (u64 i = 1; i < 512; i++) {
		u64 a = i << 12;
		pt0[i] = a | PTE_P | PTE_W | (a >= ustart && a < uend ? PTE_U : 0);
	}

	u64 cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & (1ull << 7))   /* PGE off: flush global entries of the boot map too */
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~(1ull << 7)) : "memory");
	__asm__ volatile("mov %0, %%cr3" : : "r"((u64)pml4) : "memory");
}

void map_mmio(u64 addr)
{
	u64 a = addr & ~(MIB2 - 1);
	if (a >= 4 * GIB)
		return;
	if (!(pdpt[a / GIB] & PTE_P))
		pdpt[a / GIB] = (u64)pd[a / GIB] | PTE_P | PTE_W;
	pd[a / GIB][(a / MIB2) & 511] = a | PTE_P | PTE_W | PTE_PS | 0x10 /* PCD */;
	__asm__ volatile("invlpg (%0)" : : "r"(a) : "memory");
}

void cpu_init(void)
{
	gdt_load();
	idt_load();
	paging_init();
}
