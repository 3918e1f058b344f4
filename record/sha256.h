/* sha256.h — SHA-256 (FIPS 180-4) for the image hashes in a trace header. */
#ifndef RRVM_SHA256_H
#define RRVM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	uint8_t buf[64];
	size_t fill;
};

void sha256__init(struct sha256 *s);
void sha256__update(struct sha256 *s, const void *data, size_t len);
void sha256__final(struct sha256 *s, uint8_t out[32]);
/* One-shot hash of a buffer. */
void sha256__buf(const void *data, size_t len, uint8_t out[32]);
/* Hashes a whole file; *size gets its length (may be NULL). */
int sha256__file(const char *path, uint8_t out[32], uint64_t *size, struct rrvm_err *err);
/* 64 lowercase hex digits + NUL. */
void sha256__hex(const uint8_t d[32], char out[65]);

#endif
