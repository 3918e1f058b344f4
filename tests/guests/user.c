/* user.c — ring-3 programs; the linker script puts all of this file in user-accessible pages. */
#include "kernel.h"

/* Nothing here may call kernel code: only the syscalls below. The syscall
 * instruction is UD2: on the dev host's nested paravirtual KVM, INT n from
 * guest ring 3 arrives as #UD and SYSCALL enters LSTAR still at CPL 3, while
 * exceptions are delivered everywhere. (The kernel also takes INT 0x80.) */

static inline u64 sys2(u64 nr, u64 a, u64 b)
{
	__asm__ volatile("ud2" : "+a"(nr) : "D"(a), "S"(b) : "memory");
	return nr;
}

static __attribute__((noreturn)) void u_exit(u64 result, u64 status)
{
	sys2(SYS_EXIT, result, status);
	for (;;)
		;
}

struct line {
	char buf[120];
	int n;
};

static void u_str(struct line *l, const char *s)
{
	while (*s && l->n < (int)sizeof(l->buf))
		l->buf[l->n++] = *s++;
}

static void u_dec(struct line *l, u64 v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && l->n < (int)sizeof(l->buf))
		l->buf[l->n++] = tmp[--n];
}

static void u_hex(struct line *l, u64 v)
{
	u_str(l, "0x");
	for (int i = 60; i >= 0 && l->n < (int)sizeof(l->buf); i -= 4)
		l->buf[l->n++] = "0123456789abcdef"[(v >> i) & 15];
}

static void u_flush(struct line *l)
{
	sys2(SYS_WRITE, (u64)l->buf, (u64)l->n);
	l->n = 0;
}

/* One step of a 64-bit mixer (from MurmurHash3's finalizer). */
static inline u64 mix(u64 h, u64 i)
{
	h ^= i;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

void user_compute(u64 id, u64 iters, u64 phases)
{
	struct line l;
	l.n = 0;   /* no initializer: it could become a call to the kernel's memset */
	u64 h = 0x9e3779b97f4a7c15ull * (id + 1);
	for (u64 p = 1; p <= phases; p++) {
		for (u64 i = 0; i < iters; i++)
			h = mix(h, i);
		u_str(&l, "task ");
		u_dec(&l, id);
		u_str(&l, ": phase ");
		u_dec(&l, p);
		u_str(&l, "/");
		u_dec(&l, phases);
		u_str(&l, " h=");
		u_hex(&l, h);
		u_str(&l, "\n");
		u_flush(&l);
	}
	u_exit(h, 0);
}

void user_memstress(u64 base, u64 bytes, u64 passes)
{
	struct line l;
	l.n = 0;   /* no initializer: it could become a call to the kernel's memset */
	volatile u64 *mem = (volatile u64 *)base;
	u64 n = bytes / 8, sum = 0, errors = 0;
	for (u64 p = 1; p <= passes; p++) {
		u64 k = p * 0x9e3779b97f4a7c15ull;
		for (u64 i = 0; i < n; i++)
			mem[i] = (i * 0x100000001b3ull) ^ k;
		for (u64 i = 0; i < n; i++) {
			u64 v = mem[i];
			if (v != ((i * 0x100000001b3ull) ^ k))
				errors++;
			sum = (sum ^ v) * 0x100000001b3ull;
			sum ^= sum >> 29;
		}
		u_str(&l, "memstress: pass ");
		u_dec(&l, p);
		u_str(&l, "/");
		u_dec(&l, passes);
		u_str(&l, " sum=");
		u_hex(&l, sum);
		u_str(&l, "\n");
		u_flush(&l);
	}
	u_exit(sum, errors);
}

void user_spin(u64 iters, u64 unused1, u64 unused2)
{
	u64 h = 1;
	for (u64 i = 0; i < iters; i++)
		h = mix(h, i);
	u_exit(h, 0);
}
