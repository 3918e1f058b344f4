/* main.c — kernel entry from C: reads the PVH start_info, parses the command line, runs a scenario. */
#include "kernel.h"

#define HVM_START_MAGIC 0x336ec578u
#define E820_RAM 1
#define CMDLINE_MAX 256
#define MAX_OPTS 16

struct hvm_start_info {
	u32 magic, version, flags, nr_modules;
	u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	u32 memmap_entries, reserved;
};

struct hvm_memmap_entry {
	u64 addr, size;
	u32 type, reserved;
};

const char *g_scenario = "";
u64 g_ram_top;
static char cmdline[CMDLINE_MAX];
static const char *opt_key[MAX_OPTS], *opt_val[MAX_OPTS];
static int nr_opts;

/* Copies what we need out of start_info (it lives in low memory that the
 * kernel's own page tables may not map) and finds the top of RAM. */
static void read_start_info(u64 pa, int *ok)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)pa;
	*ok = pa && si->magic == HVM_START_MAGIC;
	g_ram_top = 64ull << 20;   /* fallback when there is no memmap */
	if (!*ok)
		return;
	if (si->cmdline_paddr) {
		const char *s = (const char *)si->cmdline_paddr;
		int n = 0;
		while (n < CMDLINE_MAX - 1 && s[n])
			cmdline[n] = s[n], n++;
		cmdline[n] = 0;
	}
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_entry *e = (const struct hvm_memmap_entry *)si->memmap_paddr;
		u64 top = 0;
		for (u32 i = 0; i < si->memmap_entries; i++)
			if (e[i].type == E820_RAM && e[i].addr + e[i].size > top)
				top = e[i].addr + e[i].size;
		if (top)
			g_ram_top = top;
	}
}

/* Splits "scenario k=v k=v" in place. */
static void parse_cmdline(void)
{
	char *p = cmdline;
	int word = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = 0;
		if (!*p)
			break;
		char *start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (word++ == 0) {
			g_scenario = start;
			continue;
		}
		if (nr_opts < MAX_OPTS) {
			char *eq = start;
			while (eq < p && *eq != '=')
				eq++;
			opt_key[nr_opts] = start;
			opt_val[nr_opts] = eq < p ? eq + 1 : "";
			if (eq < p)
				*eq = 0;
			nr_opts++;
		}
	}
}

static __attribute__((noreturn)) void usage_error(const char *what, const char *arg)
{
	kprintf("testkernel: %s '%s'\n", what, arg);
	kprintf("RRVM-TEST error: bad command line\n");
	poweroff(EXIT_USAGE);
}

u64 opt_get(const char *key, u64 def)
{
	for (int i = 0; i < nr_opts; i++) {
		if (!streq(opt_key[i], key))
			continue;
		const char *s = opt_val[i];
		u64 v = 0;
		unsigned base = 10;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			base = 16, s += 2;
		if (!*s)
			usage_error("option needs a number:", opt_key[i]);
		for (; *s; s++) {
			unsigned d;
			if (*s >= '0' && *s <= '9')
				d = (unsigned)(*s - '0');
			else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
				d = (unsigned)((*s | 0x20) - 'a' + 10);
			else
				usage_error("option needs a number:", opt_key[i]);
			v = v * base + d;
		}
		return v;
	}
	return def;
}

const char *opt_str(const char *key, const char *def)
{
	for (int i = 0; i < nr_opts; i++)
		if (streq(opt_key[i], key))
			return opt_val[i];
	return def;
}

void opt_check(const char *allowed)
{
	for (int i = 0; i < nr_opts; i++) {
		const char *a = allowed;
		int found = 0;
		while (*a && !found) {
			const char *k = opt_key[i];
			while (*k && *a == *k)
				a++, k++;
			found = !*k && (*a == ' ' || !*a);
			while (*a && *a != ' ')
				a++;
			while (*a == ' ')
				a++;
		}
		if (!found) {
			kprintf("testkernel: scenario '%s' takes options: %s\n", g_scenario,
				*allowed ? allowed : "(none)");
			usage_error("unknown option", opt_key[i]);
		}
	}
}

void kmain(u64 start_info)
{
	int ok;
	read_start_info(start_info, &ok);
	serial_init();
	if (!ok)
		kprintf("testkernel: no PVH start_info at 0x%llx (magic mismatch)\n", start_info);
	parse_cmdline();

	/* The fastest path: no page tables, no IDT, a few dozen port writes. */
	if (streq(g_scenario, "hello")) {
		opt_check("");
		kprintf("rrvm testkernel: hello from ring 0 (%llu MiB RAM)\nRRVM-TEST hello: ok\n",
			g_ram_top >> 20);
		poweroff(EXIT_OK);
	}

	kprintf("rrvm testkernel: scenario '%s', %llu MiB RAM\n", g_scenario, g_ram_top >> 20);
	cpu_init();
	pic_init();
	scenario_run(g_scenario);
	poweroff(EXIT_OK);
}
