/* fingerprint.h — a hash of the vCPU state that tells apart instances of the same RIP (landmarks). */
#ifndef RRVM_FINGERPRINT_H
#define RRVM_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* 64-bit hash of a byte range (not cryptographic; fast, stable across hosts). */
uint64_t fp__hash(uint64_t seed, const void *data, size_t len);

/* Fingerprint of the machine state at the current vCPU stop: RIP, RFLAGS,
 * every GPR, CR0/CR3/CR4, the FPU/SSE registers, and the contents of the
 * guest page holding the stack pointer (so loops whose state lives on the
 * stack are told apart). Equal fingerprints at the same RIP are taken as the
 * same machine state: injecting at the first match gives the same future.
 * Returns 0 and *fp, or -errno when the state cannot be read. */
int fp__compute(struct vm *vm, uint64_t *fp);

/* Hash of every byte of guest RAM (final-state checks). */
uint64_t fp__memory(const struct vm *vm);

/* The final-state hashes: registers (GPRs, RIP, RFLAGS, CR0/2/3/4) and all
 * of guest RAM. Equal values from two runs mean the same end state. */
int fp__state(struct vm *vm, uint64_t *regs_hash, uint64_t *mem_hash);

#endif
