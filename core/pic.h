/* pic.h — dual 8259A programmable interrupt controller (the loop injects from it). */
#ifndef RRVM_PIC_H
#define RRVM_PIC_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"

struct vm;
struct pic;

/* Creates the PIC pair, registers ports 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1
 * and the device "pic"; sets vm->pic. */
int pic__create(struct vm *vm, struct rrvm_err *err);

/* Drives ISA line irq (0-15): edge-triggered lines latch on 0->1. */
void pic__set_irq(struct pic *pic, unsigned irq, int level);

/* True when an unmasked, unserviced request should interrupt the CPU. */
bool pic__has_intr(const struct pic *pic);

/* The vector pic__ack would return now, without acknowledging anything. */
int pic__peek_vector(const struct pic *pic);

/* The CPU's interrupt acknowledge: returns the vector to inject and moves
 * the request to in-service (spurious IRQ7/IRQ15 vectors when none). */
int pic__ack(struct pic *pic);

/* True when either chip has an unmasked request latched, deliverable now or
 * not (behind an interrupt in service). */
bool pic__has_request(const struct pic *pic);

/* One line for diagnostics: IRR/ISR/IMR of both chips and the vector that
 * would be delivered. */
void pic__describe(const struct pic *pic, char *buf, size_t len);

#endif
