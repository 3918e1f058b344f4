/* echo.c — the `echo` scenario: reads console input from the UART and echoes it (record/replay of input). */
#include "kernel.h"

#define COM1 0x3f8

/* Reads lines from COM1 (polling LSR.DR) and prints each back as
 * "echo: <line>", until a line "q", `lines` lines, or `ticks` timer ticks
 * without completing (a run with no input still ends). */
void scenario_echo(void)
{
	opt_check("lines ticks");
	u64 max_lines = opt_get("lines", 8), max_ticks = opt_get("ticks", 300);
	char line[80];
	u64 n = 0, lines = 0;
	pit_start(100);
	kprintf("echo: type lines, 'q' to stop\n");
	while (lines < max_lines && g_ticks < max_ticks) {
		if (!(inb(COM1 + 5) & 0x01))   /* LSR.DR: nothing received yet */
			continue;
		char c = (char)inb(COM1);
		if (c == '\r' || c == '\n') {
			if (n == 0)
				continue;
			line[n] = 0;
			kprintf("echo: %s\n", line);
			lines++;
			if (n == 1 && line[0] == 'q')
				break;
			n = 0;
		} else if (n < sizeof(line) - 1) {
			line[n++] = c;
		}
	}
	pit_stop();
	kprintf("echo: %llu lines%s\n", lines, g_ticks >= max_ticks ? " (timed out)" : "");
	kprintf("RRVM-TEST echo: ok\n");
}
