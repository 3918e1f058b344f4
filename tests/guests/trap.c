/* trap.c — interrupt/exception dispatch and the panic register dump. */
#include "kernel.h"

void (*g_tick_hook)(void);
void (*g_irq_hook)(int irq);
void (*g_panic_hook)(void);

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
	"invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
	"invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
	"page fault", "reserved (15)", "x87 FPU error", "alignment check", "machine check",
	"SIMD floating-point exception", "virtualization exception", "control protection exception",
	"reserved (22)", "reserved (23)", "reserved (24)", "reserved (25)", "reserved (26)",
	"reserved (27)", "hypervisor injection exception", "VMM communication exception",
	"security exception", "reserved (31)",
};

void panic_frame(const struct frame *f)
{
	cli();
	u64 cr2 = read_cr2();
	int ring = (int)(f->cs & 3);
	if (f->vec == 14)
		kprintf("KERNEL PANIC: page fault at 0x%016llx\n", cr2);
	else
		kprintf("KERNEL PANIC: %s\n", f->vec < 32 ? exc_names[f->vec] : "unexpected vector");
	kprintf("  vector %llu, error code 0x%llx", f->vec, f->err);
	if (f->vec == 14)
		kprintf(" (%s, %s, %s%s)", f->err & 1 ? "protection" : "not present",
			f->err & 2 ? "write" : "read", f->err & 4 ? "user" : "kernel",
			f->err & 16 ? ", instruction fetch" : "");
	kprintf(", in ring %d\n", ring);
	kprintf("  RIP 0x%016llx  CS  0x%04llx  RFLAGS 0x%016llx\n", f->rip, f->cs, f->rflags);
	kprintf("  RSP 0x%016llx  SS  0x%04llx  CR2    0x%016llx\n", f->rsp, f->ss, cr2);
	kprintf("  CR3 0x%016llx\n", read_cr3());
	kprintf("  RAX 0x%016llx  RBX 0x%016llx  RCX 0x%016llx\n", f->rax, f->rbx, f->rcx);
	kprintf("  RDX 0x%016llx  RSI 0x%016llx  RDI 0x%016llx\n", f->rdx, f->rsi, f->rdi);
	kprintf("  RBP 0x%016llx  R8  0x%016llx  R9  0x%016llx\n", f->rbp, f->r8, f->r9);
	kprintf("  R10 0x%016llx  R11 0x%016llx  R12 0x%016llx\n", f->r10, f->r11, f->r12);
	kprintf("  R13 0x%016llx  R14 0x%016llx  R15 0x%016llx\n", f->r13, f->r14, f->r15);
	if (g_panic_hook)
		g_panic_hook();   /* prints the scenario's own token */
	else
		kprintf("RRVM-TEST %s: panic\n", g_scenario);
	poweroff(EXIT_PANIC);
}

/* A fault at g_fixup_rip resumes at g_fixup_next (the hostile scenario's
 * expected #GP and #UD); 0 = none armed. */
volatile u64 g_fixup_rip, g_fixup_next, g_fixup_hits;

struct frame *trap_dispatch(struct frame *f)
{
	if (f->vec < 32 && g_fixup_rip && f->rip == g_fixup_rip) {
		f->rip = g_fixup_next;
		g_fixup_hits++;
		return f;
	}
	if (f->vec == 6 && syscall_is_ud2(f))
		return syscall_dispatch(f);
	if (f->vec < 32)
		panic_frame(f);
	if (f->vec == 0x80)
		return syscall_dispatch(f);
	int irq = (int)f->vec - 0x20;
	if (irq == 7 || irq == 15) {   /* spurious unless the PIC's ISR says otherwise */
		u16 cmd = irq == 7 ? 0x20 : 0xa0;
		outb(cmd, 0x0b);
		if (!(inb(cmd) & 0x80)) {
			if (irq == 15)
				pic_eoi(2);
			return f;
		}
	}
	if (irq == 0) {
		g_ticks++;
		if (g_tick_hook)
			g_tick_hook();
		pic_eoi(0);
		return sched_tick(f);
	}
	if (g_irq_hook)
		g_irq_hook(irq);
	pic_eoi(irq);
	return f;
}
