/* scenarios.c — the test scenarios selected by the first word of the command line. */
#include "kernel.h"

#define SCENARIO_LIST "hello timer tasks crash race memstress badinsn ring3spin reboot echo virtio hostile msrgp ring0spin"

static void scenario_timer(void)
{
	opt_check("ticks hz");
	u64 n = opt_get("ticks", 50), hz = opt_get("hz", 100);
	u64 every = n >= 5 ? n / 5 : 1;
	struct rtc_time t;
	rtc_read(&t);
	kprintf("timer: PIT at %llu Hz, counting %llu ticks; rtc %02u:%02u:%02u\n", hz, n, t.h, t.m, t.s);
	pit_start((u32)hz);
	/* Print only guest-visible state (tick targets, RTC): same bytes on every
	 * run under --clock=virtual. */
	for (u64 next = every; next <= n; next += every) {
		wait_ticks_until(next);
		rtc_read(&t);
		kprintf("timer: tick %llu rtc %02u:%02u:%02u\n", next, t.h, t.m, t.s);
	}
	wait_ticks_until(n);
	pit_stop();
	kprintf("timer: %llu ticks counted\n", n);
	kprintf("RRVM-TEST timer: ok\n");
}

/* Results of user_compute(id, 3000000, 4) for id 0..7 (the defaults). */
static const u64 tasks_expected[MAX_TASKS] = {
	0xf20347a9b5e166b6ull, 0x154a17b656a04dd4ull, 0xf37b5e515738a9c6ull, 0x2222d23e3664519cull,
	0x6ca4be6d7602c58aull, 0x56bd296b14eed70dull, 0xb743f3b1ce26a7b0ull, 0xb16b1a40a0a51a5eull,
};

static void scenario_tasks(void)
{
	opt_check("n iters phases hz");
	u64 n = opt_get("n", 3), iters = opt_get("iters", 3000000), phases = opt_get("phases", 4);
	u64 hz = opt_get("hz", 100);
	if (n < 1 || n > MAX_TASKS) {
		kprintf("tasks: n must be 1..%d\n", MAX_TASKS);
		kprintf("RRVM-TEST error: bad command line\n");
		poweroff(EXIT_USAGE);
	}
	kprintf("tasks: %llu ring-3 tasks x %llu phases x %llu iterations, preempted at %llu Hz\n", n,
		phases, iters, hz);
	for (u64 i = 0; i < n; i++)
		task_create((int)i, user_compute, i, iters, phases);
	if (hz)
		pit_start((u32)hz);
	tasks_run();
	pit_stop();
	int bad = 0;
	for (u64 i = 0; i < n; i++) {
		u64 r = task_result((int)i)->result;
		int check = iters == 3000000 && phases == 4;
		kprintf("tasks: task %llu result 0x%016llx%s\n", i, r,
			!check ? "" : r == tasks_expected[i] ? " (expected)" : " (WRONG)");
		bad |= check && r != tasks_expected[i];
	}
	if (bad) {
		kprintf("RRVM-TEST tasks: FAIL\n");
		poweroff(EXIT_CHECK);
	}
	kprintf("RRVM-TEST tasks: ok\n");
}

static __attribute__((noinline)) u64 read_field(const volatile u64 *p)
{
	return *p;
}

static void scenario_crash(void)
{
	opt_check("");
	const volatile u64 *volatile obj = NULL;   /* "looked up" and not checked */
	kprintf("crash: dereferencing a NULL pointer in ring 0\n");
	u64 v = read_field(obj);
	kprintf("crash: survived a NULL dereference (read 0x%llx)?\n", v);
	kprintf("RRVM-TEST crash: FAIL\n");
	poweroff(EXIT_CHECK);
}

static void scenario_memstress(void)
{
	opt_check("mb passes hz");
	u64 mb = opt_get("mb", 16), passes = opt_get("passes", 4), hz = opt_get("hz", 100);
	u64 bytes = mb << 20, mapped = g_ram_top > (4ull << 30) ? 4ull << 30 : g_ram_top & ~0x1fffffull;
	if (!mb || USER_HEAP_BASE + bytes > mapped) {
		kprintf("memstress: mb=%llu does not fit: RAM above 4 MiB is %llu MiB\n", mb,
			(mapped - USER_HEAP_BASE) >> 20);
		kprintf("RRVM-TEST error: bad command line\n");
		poweroff(EXIT_USAGE);
	}
	kprintf("memstress: %llu MiB at 0x%llx, %llu passes, from ring 3\n", mb, USER_HEAP_BASE, passes);
	task_create(0, user_memstress, USER_HEAP_BASE, bytes, passes);
	if (hz)
		pit_start((u32)hz);
	tasks_run();
	pit_stop();
	const struct task_result *r = task_result(0);
	kprintf("memstress: %llu MiB x %llu passes, checksum 0x%016llx, %llu errors\n", mb, passes,
		r->result, r->status);
	if (r->status) {
		kprintf("RRVM-TEST memstress: FAIL\n");
		poweroff(EXIT_CHECK);
	}
	kprintf("RRVM-TEST memstress: ok\n");
}

static void badinsn_panic(void)
{
	kprintf("badinsn: the CPU raised an exception instead: this CPU model lacks the instruction"
		" (QEMU: use -cpu max)\n");
	kprintf("RRVM-TEST badinsn: panic\n");
}

static void scenario_badinsn(void)
{
	opt_check("insn");
	const char *insn = opt_str("insn", "popcnt");
	g_panic_hook = badinsn_panic;
	if (streq(insn, "popcnt")) {
		u64 in = 0xf0f0f0f00f0f0f0full, out;
		kprintf("badinsn: executing popcnt in ring 0\n");
		__asm__ volatile("popcnt %1, %0" : "=r"(out) : "r"(in));
		kprintf("badinsn: popcnt(0x%016llx) = %llu\n", in, out);
		if (out != 32) {
			kprintf("RRVM-TEST badinsn: FAIL\n");
			poweroff(EXIT_CHECK);
		}
	} else if (streq(insn, "cmpxchg16b")) {
		static u64 pair[2] __attribute__((aligned(16))) = { 1, 2 };
		u64 lo = 1, hi = 2;
		kprintf("badinsn: executing lock cmpxchg16b in ring 0\n");
		__asm__ volatile("lock cmpxchg16b %0" : "+m"(pair[0]), "+a"(lo), "+d"(hi) : "b"(3ull), "c"(4ull)
				 : "memory", "cc");
		kprintf("badinsn: cmpxchg16b stored {%llu, %llu}\n", pair[0], pair[1]);
		if (pair[0] != 3 || pair[1] != 4) {
			kprintf("RRVM-TEST badinsn: FAIL\n");
			poweroff(EXIT_CHECK);
		}
	} else {
		kprintf("badinsn: insn must be popcnt or cmpxchg16b\n");
		kprintf("RRVM-TEST error: bad command line\n");
		poweroff(EXIT_USAGE);
	}
	kprintf("RRVM-TEST badinsn: ok\n");
}

static void scenario_ring3spin(void)
{
	opt_check("iters hz");
	u64 iters = opt_get("iters", 100000000), hz = opt_get("hz", 0);
	kprintf("ring3spin: %llu iterations in ring 3, timer %s\n", iters, hz ? "on" : "off");
	task_create(0, user_spin, iters, 0, 0);
	if (hz)
		pit_start((u32)hz);
	tasks_run();
	pit_stop();
	u64 r = task_result(0)->result;
	int check = iters == 100000000;
	kprintf("ring3spin: result 0x%016llx%s\n", r,
		!check ? "" : r == 0x42291ad951846d65ull ? " (expected)" : " (WRONG)");
	if (check && r != 0x42291ad951846d65ull) {
		kprintf("RRVM-TEST ring3spin: FAIL\n");
		poweroff(EXIT_CHECK);
	}
	kprintf("RRVM-TEST ring3spin: ok\n");
}

static void scenario_reboot(void)
{
	opt_check("");
	kprintf("RRVM-TEST reboot: resetting through the i8042\n");
	i8042_reset();
}

/* Fault fixup (trap.c): a fault at g_fixup_rip resumes at g_fixup_next. */
extern volatile u64 g_fixup_rip, g_fixup_next, g_fixup_hits;

/* RDMSR of an MSR the monitor answers with #GP, in a loop with interrupts
 * on and the timer running: nearly every tick falls due at such an exit.
 * An interrupt injected there collides with KVM's #GP and is lost, with
 * IRQ0 left in service: the ticks stop (what Linux's check_bugs hit). A
 * monitor that waits for the window instead keeps them coming. */
static void scenario_msrgp(void)
{
	opt_check("ticks hz msr");
	u64 n = opt_get("ticks", 100), hz = opt_get("hz", 1000), msr = opt_get("msr", 0xc0011028);
	const u64 limit = 400000;
	kprintf("msrgp: PIT at %llu Hz, faulting RDMSR 0x%llx until %llu ticks\n", hz, msr, n);
	pit_start((u32)hz);
	u64 rdmsrs = 0;
	sti();
	while (g_ticks < n && rdmsrs < limit) {
		u32 lo, hi;
		__asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, g_fixup_rip(%%rip);"
				 "lea 2f(%%rip), %%rax; mov %%rax, g_fixup_next(%%rip);"
				 "1: rdmsr; 2:"
				 : "=a"(lo), "=d"(hi) : "c"((u32)msr) : "memory");
		(void)lo, (void)hi;
		rdmsrs++;
	}
	cli();
	g_fixup_rip = 0;
	pit_stop();
	if (g_ticks < n) {
		kprintf("msrgp: only %llu of %llu ticks in %llu faulting RDMSRs: the timer interrupt was lost\n",
			g_ticks, n, rdmsrs);
		kprintf("RRVM-TEST msrgp: FAILED\n");
		poweroff(EXIT_PANIC);
	}
	/* Only guest-visible counts that do not depend on timing. */
	kprintf("msrgp: %llu ticks counted, every RDMSR faulted: %s\n", n, g_fixup_hits == rdmsrs ? "yes" : "no");
	kprintf("RRVM-TEST msrgp: ok\n");
}

/* A ring-0 spin-wait without a single exit while the timer runs: its
 * ticks can only arrive at kicks. Every pass of the loop is in the same
 * state, so the recorder (after stepping one pass where replay would use a
 * HLT patch) injects there at a landmark, and replay finds the recorded
 * state at the first hit of the breakpoint. A monitor that can only defer
 * ring-0 ticks to the next exit never delivers one: the loop spins forever. */
static void scenario_ring0spin(void)
{
	opt_check("ticks hz");
	u64 n = opt_get("ticks", 20), hz = opt_get("hz", 100);
	kprintf("ring0spin: PIT at %llu Hz, spinning in ring 0 until %llu ticks\n", hz, n);
	pit_start((u32)hz);
	u64 first = g_ticks, digest = 0xcbf29ce484222325ull;
	sti();
	for (u64 seen = first; seen - first < n;) {
		while (g_ticks == seen)
			__asm__ volatile("pause");
		seen = g_ticks;
		digest = (digest ^ seen) * 0x100000001b3ull;
	}
	cli();
	pit_stop();
	kprintf("ring0spin: %llu ticks, digest 0x%016llx\n", n, digest);
	kprintf("RRVM-TEST ring0spin: ok\n");
}

void scenario_run(const char *name)
{
	if (streq(name, "timer"))
		scenario_timer();
	else if (streq(name, "tasks"))
		scenario_tasks();
	else if (streq(name, "crash"))
		scenario_crash();
	else if (streq(name, "race"))
		scenario_race();
	else if (streq(name, "memstress"))
		scenario_memstress();
	else if (streq(name, "badinsn"))
		scenario_badinsn();
	else if (streq(name, "ring3spin"))
		scenario_ring3spin();
	else if (streq(name, "reboot"))
		scenario_reboot();
	else if (streq(name, "echo"))
		scenario_echo();
	else if (streq(name, "virtio"))
		scenario_virtio();
	else if (streq(name, "hostile"))
		scenario_hostile();
	else if (streq(name, "msrgp"))
		scenario_msrgp();
	else if (streq(name, "ring0spin"))
		scenario_ring0spin();
	else {
		kprintf("testkernel: %s '%s'\n", *name ? "unknown scenario" : "no scenario given", name);
		kprintf("scenarios: " SCENARIO_LIST "\n");
		kprintf("RRVM-TEST error: unknown scenario\n");
		poweroff(EXIT_USAGE);
	}
}
