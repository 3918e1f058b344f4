/* devstate.h — explicit little-endian encoding of device saved state (snapshots), validated on load. */
#ifndef RRVM_DEVSTATE_H
#define RRVM_DEVSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

/*
 * A device's saved state travels as a byte string: a u16 version first, then
 * every field of its state struct in a fixed order, each little-endian at
 * its declared width (never a raw struct). Writers and readers never fail
 * half-way: an overflow or short read sets `bad` and later calls do nothing,
 * so a handler checks once at the end. Interface: core/dev.h (save/restore).
 */

#define DEV_STATE_MAX 4096   /* bytes one device may save */

struct ds_out {
	uint8_t *p;
	size_t len, cap;
	bool bad;               /* ran out of room */
};

struct ds_in {
	const uint8_t *p;
	size_t len, off;
	bool bad;               /* read past the end */
};

static inline void ds__put(struct ds_out *o, uint64_t v, unsigned bytes)
{
	if (o->bad || o->cap - o->len < bytes) {
		o->bad = true;
		return;
	}
	for (unsigned i = 0; i < bytes; i++)
		o->p[o->len++] = (uint8_t)(v >> (8 * i));
}
static inline void ds__u8(struct ds_out *o, uint8_t v) { ds__put(o, v, 1); }
static inline void ds__u16(struct ds_out *o, uint16_t v) { ds__put(o, v, 2); }
static inline void ds__u32(struct ds_out *o, uint32_t v) { ds__put(o, v, 4); }
static inline void ds__u64(struct ds_out *o, uint64_t v) { ds__put(o, v, 8); }
static inline void ds__bytes(struct ds_out *o, const void *b, size_t n)
{
	if (o->bad || o->cap - o->len < n) {
		o->bad = true;
		return;
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static inline uint64_t ds__get(struct ds_in *in, unsigned bytes)
{
	if (in->bad || in->len - in->off < bytes) {
		in->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)in->p[in->off++] << (8 * i);
	return v;
}
static inline uint8_t ds__g8(struct ds_in *in) { return (uint8_t)ds__get(in, 1); }
static inline uint16_t ds__g16(struct ds_in *in) { return (uint16_t)ds__get(in, 2); }
static inline uint32_t ds__g32(struct ds_in *in) { return (uint32_t)ds__get(in, 4); }
static inline uint64_t ds__g64(struct ds_in *in) { return ds__get(in, 8); }
static inline void ds__gbytes(struct ds_in *in, void *b, size_t n)
{
	if (in->bad || in->len - in->off < n) {
		in->bad = true;
		memset(b, 0, n);
		return;
	}
	memcpy(b, in->p + in->off, n);
	in->off += n;
}
/* True when the whole input was read and nothing ran short. */
static inline bool ds__done(const struct ds_in *in) { return !in->bad && in->off == in->len; }

/* save/restore for devices without state (port80, debugexit, tscport):
 * version 1 and nothing else; the device's `state` is its name. */
int devstate__save_none(void *state, struct ds_out *o);
int devstate__restore_none(void *state, struct ds_in *in, bool apply, struct rrvm_err *err);

/* For restore handlers: fail with a message naming the device and the field. */
#define DS_CHECK(cond, err, dev, what)                                                          \
	do {                                                                                    \
		if (!(cond))                                                                    \
			return err__set((err), -EINVAL, "%s: saved state: %s", (dev), (what)); \
	} while (0)
/* After decoding: the whole input used, the version known. */
#define DS_CHECK_END(in, err, dev)                                                              \
	DS_CHECK(ds__done(in), err, dev, (in)->bad ? "truncated" : "trailing bytes after the last field")

#endif
