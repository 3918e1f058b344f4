/* monitor.h — qRcmd ("monitor ...") commands both targets share: help, phys, regs. */
#ifndef RRVM_GDB_MONITOR_H
#define RRVM_GDB_MONITOR_H

#include <stdbool.h>

#include "gdb/target.h"

struct vm;

/* Runs a command every target knows ("help", "phys ADDR [LEN]", "translate GVA");
 * 0, or -EINVAL for an unknown command (out says so). `which` names the target. */
int monitor__common(struct vm *vm, const char *cmd, struct gdb_text *out, const char *which);

/* False on hosts whose KVM cannot single-step guest ring 3 (the development host's nested KVM). */
bool monitor__host_steps_ring3(void);

/* True where watchpoints must be checked by single-stepping and comparing
 * values: no data breakpoints on the nested host, or KVM's debug registers
 * do not fire at all (rrvm doctor's probe, cached). */
bool monitor__watch_by_stepping(void);

#endif
