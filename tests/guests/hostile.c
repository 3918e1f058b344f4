/* hostile.c — scenario "hostile": a ring-0 guest that attacks the monitor with random I/O.
 *
 * From a seeded PRNG (so a seed names one attack), `count` operations, each one of:
 * port I/O to any port (1/2/4 bytes, in or out, string forms with random counts),
 * MMIO reads and writes anywhere in the unbacked space below 4 GiB (the PCI hole
 * included), garbage virtio descriptor chains when virtio devices are attached
 * (virtio.c, virtio_hostile_op), RDMSR/WRMSR of random and interesting indices, and instructions that
 * do not exist in 64-bit mode. Faults the monitor answers (#GP for an MSR, #UD) are
 * expected: a fixup skips the instruction and counts them. Interrupts stay off, so
 * a PIC reprogrammed with garbage cannot send the kernel to a vector it lacks.
 * Spared, so the run lasts: the debug-exit port, the reset paths (i8042 0x64
 * writes, 0xcf9, 0x92) and UART data writes (the console stays readable); MSRs
 * the kernel itself depends on (EFER, FS/GS bases). At the end, unless
 * end=poweroff, the kernel triple-faults (an empty IDT and a #UD).
 * The monitor must survive all of it, and the recording must replay exactly.
 */
#include "kernel.h"

static u64 rng;

static u64 next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Fault fixup (trap.c): a fault at g_fixup_rip resumes at g_fixup_next. */
extern volatile u64 g_fixup_rip, g_fixup_next, g_fixup_hits;

static int port_spared(u16 port, int out)
{
	if (port == 0xf4 || port == 0xf5 || port == 0xf6 || port == 0xf7)
		return 1;                       /* debug exit */
	if (out && (port == 0x64 || port == 0x92 || (port >= 0xcf9 && port <= 0xcfb)))
		return 1;                       /* reset paths */
	if (out && port >= 0x3f8 && port <= 0x3ff)
		return 1;                       /* the console */
	return 0;
}

static void op_pio(u64 r)
{
	u16 port = (u16)(r >> 16);
	int out = (r >> 8) & 1, size = 1 << ((r >> 9) % 3);
	u32 v = (u32)(r >> 32);
	if (r & 0x800)
		port &= 0x3ff;                  /* most devices live low: hit them more often */
	if (port_spared(port, out) || port_spared((u16)(port + size - 1), out))
		return;
	if ((r & 0x7000) == 0x7000) {   /* string form: rep ins/outs of up to 64 units */
		static u8 buf[256];
		u64 n = 1 + (r >> 56) % 64;
		u8 *p = buf;
		if (out && size == 1)
			__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(port) : "memory");
		else if (out)
			__asm__ volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(port) : "memory");
		else if (size == 1)
			__asm__ volatile("rep insb" : "+D"(p), "+c"(n) : "d"(port) : "memory");
		else
			__asm__ volatile("rep insw" : "+D"(p), "+c"(n) : "d"(port) : "memory");
		return;
	}
	switch (size * 2 + out) {
	case 2: { u8 x; __asm__ volatile("inb %1, %0" : "=a"(x) : "Nd"(port)); break; }
	case 3: __asm__ volatile("outb %0, %1" : : "a"((u8)v), "Nd"(port)); break;
	case 4: { u16 x; __asm__ volatile("inw %1, %0" : "=a"(x) : "Nd"(port)); break; }
	case 5: __asm__ volatile("outw %0, %1" : : "a"((u16)v), "Nd"(port)); break;
	case 8: { u32 x; __asm__ volatile("inl %1, %0" : "=a"(x) : "Nd"(port)); break; }
	default: __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); break;
	}
}

static void op_mmio(u64 r)
{
	u64 ram_top = g_ram_top;
	/* Unbacked guest-physical space: above RAM, below 4 GiB. */
	u64 lo = ram_top < 0xc0000000ull ? ram_top : 0xc0000000ull;
	if (lo >= 0x100000000ull)
		return;
	u64 span = 0x100000000ull - lo;
	u64 a = lo + ((r >> 12) % span);
	if (r & 0x100)
		a = 0xc0000000ull + ((r >> 12) % 0x40000000ull);   /* the PCI hole, BARs live there */
	int size = 1 << ((r >> 4) % 4);
	a &= ~(u64)(size - 1);
	map_mmio(a);
	volatile void *p = (volatile void *)a;
	u64 v = next();
	int write = (r >> 6) & 1;
	switch (size) {
	case 1: if (write) *(volatile u8 *)p = (u8)v; else (void)*(volatile u8 *)p; break;
	case 2: if (write) *(volatile u16 *)p = (u16)v; else (void)*(volatile u16 *)p; break;
	case 4: if (write) *(volatile u32 *)p = (u32)v; else (void)*(volatile u32 *)p; break;
	default: if (write) *(volatile u64 *)p = v; else (void)*(volatile u64 *)p; break;
	}
}

static void op_msr(u64 r)
{
	static const u32 interesting[] = {
		0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xe7, 0xe8, 0xfe, 0x174, 0x175, 0x176, 0x179, 0x17a,
		0x1a0, 0x1d9, 0x200, 0x250, 0x277, 0x2ff, 0x38d, 0x38f, 0x3f1, 0x480, 0x6e0, 0x800, 0x830,
		0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000103, 0xc0010000, 0xc0010015,
		0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x40000000,
	};
	u32 idx;
	switch ((r >> 8) % 3) {
	case 0: idx = interesting[(r >> 16) % (sizeof(interesting) / sizeof(interesting[0]))]; break;
	case 1: idx = (u32)((r >> 16) % 0x2000) | ((r & 0x400) ? 0xc0000000u : 0); break;
	default: idx = (u32)(r >> 32); break;
	}
	if (idx == 0xc0000080 || (idx >= 0xc0000100 && idx <= 0xc0000102))
		return;                         /* EFER, FS/GS bases: the kernel runs on them */
	u64 v = next();
	if (r & 0x800) {
		u32 lo, hi;
		__asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, g_fixup_rip(%%rip);"
				 "lea 2f(%%rip), %%rax; mov %%rax, g_fixup_next(%%rip);"
				 "1: rdmsr; 2:"
				 : "=a"(lo), "=d"(hi) : "c"(idx) : "memory");
		(void)lo, (void)hi;
	} else {
		__asm__ volatile("lea 1f(%%rip), %%r8; mov %%r8, g_fixup_rip(%%rip);"
				 "lea 2f(%%rip), %%r8; mov %%r8, g_fixup_next(%%rip);"
				 "1: wrmsr; 2:"
				 : : "c"(idx), "a"((u32)v), "d"((u32)(v >> 32)) : "r8", "memory");
	}
	g_fixup_rip = 0;
}

/* Opcodes with no meaning in 64-bit mode, each taking #UD; `mask` picks
 * which (bit i = case i below): an emulating host may not know them all. */
static void op_undefined(u64 r, u64 mask)
{
	if (!(mask & 0x3f))
		return;
	while (!(mask >> (r % 6) & 1))
		r++;
#define UD(bytes)                                                                 \
	__asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, g_fixup_rip(%%rip);"     \
			 "lea 2f(%%rip), %%rax; mov %%rax, g_fixup_next(%%rip);"    \
			 "1: .byte " bytes "; 2:" ::: "rax", "memory")
	switch (r % 6) {
	case 0: UD("0x0f, 0x0b"); break;              /* ud2 */
	case 1: UD("0x0f, 0xff, 0xc0"); break;        /* ud0 eax, eax */
	case 2: UD("0x0f, 0xb9, 0xc0"); break;        /* ud1 eax, eax */
	case 3: UD("0x06"); break;                    /* push es */
	case 4: UD("0x27"); break;                    /* daa */
	default: UD("0xd6"); break;                   /* salc */
	}
#undef UD
	g_fixup_rip = 0;
}

void scenario_hostile(void)
{
	opt_check("seed count end ud");
	u64 seed = opt_get("seed", 1), count = opt_get("count", 2000), ud = opt_get("ud", 0x3f);
	const char *end = opt_str("end", "triple");
	if (!streq(end, "triple") && !streq(end, "poweroff")) {
		kprintf("hostile: end must be triple or poweroff\n");
		kprintf("RRVM-TEST error: bad command line\n");
		poweroff(EXIT_USAGE);
	}
	rng = seed * 0x9e3779b97f4a7c15ull | 1;
	kprintf("hostile: seed %llu, %llu operations from ring 0, then %s\n", seed, count, end);
	cli();
	u64 n[5] = { 0 };
	int nvirtio = virtio_hostile_init();
	for (u64 i = 0; i < count; i++) {
		u64 r = next();
		unsigned kind = (unsigned)(r % 16);
		if (nvirtio && (r >> 60) == 0)         /* one in 16, when there are devices */
			virtio_hostile_op(r >> 4, next), n[4]++;
		else if (kind < 8)
			op_pio(r), n[0]++;
		else if (kind < 12)
			op_mmio(r), n[1]++;
		else if (kind < 15)
			op_msr(r), n[2]++;
		else
			op_undefined(r, ud), n[3]++;
	}
	kprintf("hostile: %llu port, %llu mmio, %llu msr, %llu undefined, %llu virtio (%d devices, %llu resets); %llu faults fixed up\n",
		n[0], n[1], n[2], n[3], n[4], nvirtio, g_virtio_resets, g_fixup_hits);
	kprintf("RRVM-TEST hostile: survived\n");
	if (streq(end, "poweroff"))
		return;
	kprintf("hostile: triple fault now\n");
	struct __attribute__((packed)) { u16 limit; u64 base; } idt = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	for (;;)
		;
}
