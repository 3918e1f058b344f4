/* kernel.h — shared declarations of the rrvm test kernel (freestanding, ring 0 and ring 3). */
#ifndef TK_KERNEL_H
#define TK_KERNEL_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
typedef unsigned long size_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* GDT selectors (boot.S builds the table in the same order). */
#define SEL_KCODE32 0x08
#define SEL_KCODE   0x10   /* rrvm enters with CS=0x10 ... */
#define SEL_KDATA   0x18   /* ... and DS/ES/SS=0x18 */
#define SEL_UCODE32 0x20   /* unused; keeps the sysret layout */
#define SEL_UDATA   0x2b   /* 0x28 | RPL 3 */
#define SEL_UCODE   0x33   /* 0x30 | RPL 3 */
#define SEL_TSS     0x38

/* Memory map used by ring-3 work (all above the 2 MiB of 4 KiB pages). */
#define USER_STACK_BASE 0x200000ull   /* task i stack: [BASE + i*64K, BASE + (i+1)*64K) */
#define USER_STACK_SIZE 0x10000ull
#define USER_HEAP_BASE  0x400000ull   /* memstress buffer */
#define MAX_TASKS 8

/* Exit codes written to the debug-exit port (rrvm exits 0 only for 0). */
#define EXIT_OK      0
#define EXIT_USAGE   2   /* unknown scenario or option */
#define EXIT_PANIC   3   /* CPU exception in the kernel or a task */
#define EXIT_CHECK   4   /* a self-check failed (wrong result) */

/* Interrupt/exception frame: what isr_common pushes, then what the CPU pushed. */
struct frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vec, err;
	u64 rip, cs, rflags, rsp, ss;
};

/* Syscalls from ring 3: UD2 (or INT 0x80 where the host delivers it) with
 * rax = number, rdi/rsi = arguments; result in rax. */
#define SYS_WRITE 1   /* (buf, len) -> len */
#define SYS_EXIT  2   /* (result, status): never returns */
#define SYS_YIELD 3   /* () -> 0 */

/* ---- port I/O ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* Atomically enables interrupts and waits for one (sti's shadow covers hlt). */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }

/* ---- lib.c ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int streq(const char *a, const char *b);

/* ---- serial.c: COM1 console and printf ---- */
void serial_init(void);
void serial_write(const char *s, size_t n);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes V to the debug-exit port (0 = poweroff) and halts forever. */
__attribute__((noreturn)) void poweroff(u32 code);
/* Pulses the i8042 reset line; halts if the platform ignores it. */
__attribute__((noreturn)) void i8042_reset(void);

/* ---- main.c: command line ---- */
extern const char *g_scenario;
/* Value of option `key` (decimal or 0x hex) or `def` when absent. */
u64 opt_get(const char *key, u64 def);
/* String value of option `key`, or `def`. */
const char *opt_str(const char *key, const char *def);
/* Prints an error and exits EXIT_USAGE unless every option is in `allowed` (space separated). */
void opt_check(const char *allowed);
extern u64 g_ram_top;

/* ---- cpu.c: GDT/TSS, IDT, page tables ---- */
void cpu_init(void);
void tss_set_rsp0(u64 rsp0);
/* Maps the 2 MiB page holding `addr` (below 4 GiB) uncached, for device MMIO. */
void map_mmio(u64 addr);
extern char __user_start[], __user_end[];

/* ---- trap.c ---- */
struct frame *trap_dispatch(struct frame *f);
__attribute__((noreturn)) void panic_frame(const struct frame *f);
/* Optional hook run by the IRQ0 handler after the tick count is bumped. */
extern void (*g_tick_hook)(void);
/* Optional handler for IRQs 1-15 (before the EOI). */
extern void (*g_irq_hook)(int irq);
/* Optional hook that prints scenario context before the panic token. */
extern void (*g_panic_hook)(void);

/* ---- pic_pit.c: 8259 PIC, 8254 PIT, CMOS RTC ---- */
void pic_init(void);
void pic_eoi(int irq);
void pit_start(u32 hz);
void pit_stop(void);
u16 pit_get_divisor(void);
/* Latches and reads PIT channel 0's count (3 port exits). */
u16 pit_read_count(void);
extern volatile u64 g_ticks;
/* Sleeps (sti;hlt) until the tick count reaches `target`; returns with IF=0. */
void wait_ticks_until(u64 target);
struct rtc_time { u8 h, m, s; };
void rtc_read(struct rtc_time *t);

/* ---- tasks.c: ring-3 tasks, round-robin scheduler, syscalls ---- */
struct task_result { u64 result, status; };
/* Creates ring-3 task `i` (0-based) starting at entry(a0, a1, a2) on its own stacks. */
void task_create(int i, void *entry, u64 a0, u64 a1, u64 a2);
/* Runs the created tasks to completion (preempted by IRQ0 if the PIT runs). */
void tasks_run(void);
const struct task_result *task_result(int i);
struct frame *sched_tick(struct frame *f);
struct frame *syscall_dispatch(struct frame *f);
/* True for a #UD frame that is a ring-3 UD2 syscall; advances RIP past it. */
int syscall_is_ud2(struct frame *f);

/* ---- user.c: ring-3 programs (placed in user-accessible pages) ---- */
__attribute__((noreturn)) void user_compute(u64 id, u64 iters, u64 phases);
__attribute__((noreturn)) void user_memstress(u64 base, u64 bytes, u64 passes);
__attribute__((noreturn)) void user_spin(u64 iters, u64 unused1, u64 unused2);

/* ---- scenarios.c / race.c ---- */
void scenario_run(const char *name);
void scenario_race(void);
void scenario_echo(void);
void scenario_virtio(void);
void scenario_hostile(void);
/* virtio.c, for the hostile scenario: set up the virtio devices (returns how
 * many), and send them one garbage request drawn from r and rnd. */
int virtio_hostile_init(void);
void virtio_hostile_op(u64 r, u64 (*rnd)(void));
extern u64 g_virtio_resets;   /* device resets virtio_hostile_op made */

#endif
