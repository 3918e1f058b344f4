/* race.c — the "race" scenario: ring-0 code and the IRQ0 handler share a pointer without locking. */
#include "kernel.h"

#define ROUNDS_PER_TICK 2
#define LN2_PERMILLE 693

struct race_obj {
	u64 magic, hits;
};

static struct race_obj race_obj = { 0x5241434543415345ull, 0 };
static struct race_obj *volatile race_shared = &race_obj;
static volatile u64 race_round, race_rounds;

/* Runs in IRQ0: the bug. It trusts race_shared to be valid. */
static void race_tick(void)
{
	struct race_obj *o = race_shared;
	o->hits++;
}

static void race_panic(void)
{
	kprintf("race: crashed in round %llu: the timer interrupt saw race_shared == NULL\n",
		race_round);
	kprintf("RRVM-TEST race: crashed in round %llu\n", race_round);
}

/* The one busy loop both calibration and the race use: no exits, no memory. */
static __attribute__((noinline)) void spin(u64 n)
{
	for (u64 i = 0; i < n; i++)
		__asm__ volatile("");
}

static u64 prng(u64 *s)
{
	u64 x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* spin() iterations per timer tick, timed with PIT channel 0's counter
 * (IF=0 and IRQ0 masked, so no handler time is counted). k doubles until spin(k) takes a
 * quarter tick. Where time does not pass without exits (rrvm
 * --clock=virtual) the elapsed count never grows: *virt is set and a small
 * fixed figure returned, so the scenario stays short and deterministic. */
static u64 calibrate(int *virt)
{
	u64 div = pit_get_divisor(), first = 0;
	*virt = 0;
	for (u64 k = 64;; k *= 2) {
		u16 c0 = pit_read_count();
		spin(k);
		u16 c1 = pit_read_count();
		u64 el = c0 >= c1 ? (u64)(c0 - c1) : c0 + div - c1;
		if (k == 64)
			first = el;
		if (el >= div / 4)
			return k * div / el;
		if (k >= (1ull << 16) && el <= first + 2) {
			*virt = 1;
			return 4096;
		}
		if (k >= (1ull << 34))
			return k;
	}
}

void scenario_race(void)
{
	opt_check("ticks rounds window seed");
	u64 ticks = opt_get("ticks", 16), seed = opt_get("seed", 0x5eed0000c0ffeeull);
	if (!ticks)
		ticks = 1;
	if (!seed)
		seed = 1;

	/* Calibrate with IRQ0 masked: a tick left pending at IF=0 makes some
	 * monitors request an interrupt window, and rrvm's vCPU then runs ring-0
	 * code several times slower than it will in the race. */
	pit_start(100);
	pit_stop();
	int virt;
	u64 per_tick = calibrate(&virt);
	pit_start(100);

	/* Window W and mean round length L with W/L = ln2/ticks, whatever the
	 * calibration says: the race runs for `ticks` ticks, each landing in a
	 * window with probability W/L, so P(survive) = (1 - ln2/ticks)^ticks ~ 1/2.
	 * The calibration only sizes the rounds (about ROUNDS_PER_TICK a tick). */
	u64 win = per_tick / ROUNDS_PER_TICK * LN2_PERMILLE / (1000 * ticks);
	win = opt_get("window", win ? win : 1);
	u64 len = win * 1000 * ticks / LN2_PERMILLE;
	u64 gap = len > win ? len - win : 1;   /* mean spacing between windows */
	/* Where no time passes without exits, no tick would end the loop: count
	 * rounds instead (the default when told rounds=). */
	race_rounds = opt_get("rounds", virt ? ticks * ROUNDS_PER_TICK : 0);
	if (race_rounds)
		kprintf("race: %llu loop iterations per tick%s; %llu rounds, window %llu, mean gap %llu\n",
			per_tick, virt ? " (no time passes without exits: fixed sizes)" : "", race_rounds,
			win, gap);
	else
		kprintf("race: %llu loop iterations per tick; rounds for %llu ticks, window %llu, mean gap %llu\n",
			per_tick, ticks, win, gap);

	g_panic_hook = race_panic;
	g_tick_hook = race_tick;
	wait_ticks_until(g_ticks + 1);   /* start right after a tick: none pending */
	u64 t0 = g_ticks, r;
	sti();
	for (r = 1; race_rounds ? r <= race_rounds : g_ticks - t0 < ticks; r++) {
		race_round = r;
		race_shared = NULL;          /* "being replaced" ... */
		for (u64 i = 0; i < win; i++) /* inline: no call overhead in the window */
			__asm__ volatile("");
		race_shared = &race_obj;     /* ... and back */
		spin(gap / 2 + prng(&seed) % (gap + 1));
	}
	cli();
	g_tick_hook = NULL;
	pit_stop();
	kprintf("race: survived %llu rounds over %llu ticks\n", r - 1, g_ticks - t0);
	kprintf("RRVM-TEST race: survived\n");
}
