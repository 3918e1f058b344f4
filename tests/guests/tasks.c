/* tasks.c — ring-3 tasks: creation, round-robin preemption from IRQ0, and syscalls (UD2 or int 0x80). */
#include "kernel.h"

#define KSTACK_SIZE 8192
#define RFLAGS_IF 0x200ull
#define RFLAGS_RESERVED 0x2ull

enum task_state { TASK_FREE, TASK_RUNNABLE, TASK_DONE };

struct task {
	struct frame *frame;   /* saved context while not running */
	enum task_state state;
	struct task_result res;
};

/* tasks[0] is the kernel's own thread (scenario code); 1..n are ring-3 tasks. */
static struct task tasks[MAX_TASKS + 1];
static int cur, nr_user, sched_on;
static u8 kstacks[MAX_TASKS][KSTACK_SIZE] __attribute__((aligned(16), section(".noinit")));

void task_create(int i, void *entry, u64 a0, u64 a1, u64 a2)
{
	u64 top = (u64)kstacks[i] + KSTACK_SIZE;
	struct frame *f = (struct frame *)(top - sizeof(*f));
	memset(f, 0, sizeof(*f));
	f->rip = (u64)entry;
	f->cs = SEL_UCODE;
	f->rflags = RFLAGS_IF | RFLAGS_RESERVED;
	f->rsp = USER_STACK_BASE + (u64)(i + 1) * USER_STACK_SIZE - 8;   /* as if called */
	f->ss = SEL_UDATA;
	f->rdi = a0, f->rsi = a1, f->rdx = a2;
	tasks[i + 1].frame = f;
	tasks[i + 1].state = TASK_RUNNABLE;
	if (i + 1 > nr_user)
		nr_user = i + 1;
}

const struct task_result *task_result(int i)
{
	return &tasks[i + 1].res;
}

/* Next runnable ring-3 task after the current one, or 0 (the kernel) if none. */
static int pick_next(void)
{
	for (int k = 1; k <= nr_user; k++) {
		int t = (cur + k - 1) % nr_user + 1;
		if (tasks[t].state == TASK_RUNNABLE)
			return t;
	}
	return 0;
}

static struct frame *switch_to(struct frame *f, int next)
{
	tasks[cur].frame = f;
	cur = next;
	if (next)
		tss_set_rsp0((u64)kstacks[next - 1] + KSTACK_SIZE);
	return tasks[next].frame;
}

struct frame *sched_tick(struct frame *f)
{
	if (!sched_on)
		return f;
	int next = pick_next();
	return next == cur ? f : switch_to(f, next);
}

static int user_range_ok(u64 p, u64 n)
{
	if (p + n < p)
		return 0;
	if (p >= (u64)__user_start && p + n <= (u64)__user_end)
		return 1;
	return p >= USER_STACK_BASE && p + n <= g_ram_top;
}

int syscall_is_ud2(struct frame *f)
{
	if ((f->cs & 3) != 3 || !user_range_ok(f->rip, 2))
		return 0;
	const u8 *p = (const u8 *)f->rip;
	if (p[0] != 0x0f || p[1] != 0x0b)
		return 0;
	f->rip += 2;
	return 1;
}

struct frame *syscall_dispatch(struct frame *f)
{
	switch (f->rax) {
	case SYS_WRITE:
		if (f->rsi > 4096 || !user_range_ok(f->rdi, f->rsi)) {
			f->rax = (u64)-14;   /* -EFAULT */
			return f;
		}
		serial_write((const char *)f->rdi, f->rsi);
		f->rax = f->rsi;
		return f;
	case SYS_EXIT:
		if (!cur)
			return f;
		tasks[cur].res.result = f->rdi;
		tasks[cur].res.status = f->rsi;
		tasks[cur].state = TASK_DONE;
		return switch_to(f, pick_next());
	case SYS_YIELD: {
		f->rax = 0;
		if (!sched_on)
			return f;
		int next = pick_next();
		return next == cur ? f : switch_to(f, next);
	}
	default:
		f->rax = (u64)-38;   /* -ENOSYS */
		return f;
	}
}

/* boot.S: a software int 0x80 / SYS_YIELD from ring 0 (clobbers RAX only;
 * every other register comes back from the saved frame). */
void kernel_yield(void);

void tasks_run(void)
{
	cli();
	cur = 0;
	sched_on = 1;
	/* The kernel thread yields; it is resumed only when no ring-3 task can run. */
	kernel_yield();
	sched_on = 0;
	for (int t = 1; t <= nr_user; t++)
		if (tasks[t].state == TASK_RUNNABLE) {
			kprintf("testkernel: task %d still runnable after the scheduler returned\n", t - 1);
			poweroff(EXIT_CHECK);
		}
}
