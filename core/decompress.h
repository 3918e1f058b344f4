/* decompress.h — host-side decompression of Linux kernel payloads (gzip, LZ4 legacy, xz). */
#ifndef RRVM_DECOMPRESS_H
#define RRVM_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

/* Names the compression of a stream from its first bytes: "gzip", "lz4",
 * "xz", "zstd", "bzip2", "lzma", "lzo"; NULL when the magic is unknown.
 * *supported says whether this build can decode it. */
const char *decompress__detect(const uint8_t *in, size_t len, bool *supported);

/* Decompresses the stream in [in, in+len) into a new malloc'd buffer.
 * `expect` > 0 is the exact output size (the bzImage size trailer): more or
 * less output is an error. With expect == 0 the output grows up to max_out.
 * Messages start with `name` and give offsets as in_base + position, so a
 * caller passing the payload's file offset gets file offsets.
 * LZ4: the legacy frame the kernel build writes (magic 0x184C2102, blocks of
 * [le32 size][data] of up to 8 MiB output), ending at the end of input.
 * gzip and xz: trailing bytes after the end of the stream are ignored.
 * 0 with *out and *out_len set (the caller frees *out), or -errno with a message. */
int decompress__buffer(const char *name, const uint8_t *in, size_t len, uint64_t in_base,
		       size_t expect, size_t max_out, uint8_t **out, size_t *out_len,
		       struct rrvm_err *err);

#endif
