/* regs.h — the x86-64 register file as gdb sees it (g/p packets) and its target.xml. */
#ifndef RRVM_GDB_REGS_H
#define RRVM_GDB_REGS_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* Largest g packet payload in bytes (binary, before hex encoding). */
#define GDB_REGS_MAX 1024

/* Number of registers in target.xml order. */
int gdb_regs__count(void);
/* Name of register n (NULL when out of range). */
const char *gdb_regs__name(int n);
/* Looks a register up by name; -1 when unknown. */
int gdb_regs__by_name(const char *name);

/* Reads every register into buf (little endian, target.xml order);
 * returns the byte count or -errno. */
int gdb_regs__read_all(struct vm *vm, uint8_t *buf, size_t cap);
/* Reads register n into buf; returns its size or -errno (-EINVAL: no such register). */
int gdb_regs__read_one(struct vm *vm, int n, uint8_t *buf, size_t cap);
/* Writes register n (size bytes) / every register. 0 or -errno. */
int gdb_regs__write_one(struct vm *vm, int n, const uint8_t *buf, size_t size);
int gdb_regs__write_all(struct vm *vm, const uint8_t *buf, size_t size);

/* RIP and CS.selector (CPL in bits 0-1), 0 or -errno. */
int gdb_regs__pc(struct vm *vm, uint64_t *rip, unsigned *cpl);

/* The target description (x86-64 core, SSE, segment bases, system registers). */
const char *gdb_regs__target_xml(void);

#endif
