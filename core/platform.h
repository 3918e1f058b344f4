/* platform.h — the PC platform: creates every device in one stable order. */
#ifndef RRVM_PLATFORM_H
#define RRVM_PLATFORM_H

#include "core/err.h"

struct vm;

/* Creates and registers, in this order: pic, pit, rtc, uart0 (COM1),
 * i8042, port80, debugexit, and the catch-alls for legacy ports Linux probes.
 * Call once, after RAM exists and before the kernel is loaded. */
int platform__create(struct vm *vm, struct rrvm_err *err);

#endif
