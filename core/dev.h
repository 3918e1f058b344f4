/* dev.h — the device model interface: one handler signature for PIO and MMIO, one ordered table. */
#ifndef RRVM_DEV_H
#define RRVM_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct ds_out;
struct ds_in;

enum io_space { IO_SPACE_PIO = 0, IO_SPACE_MMIO = 1 };

/* One signature for port and memory-mapped I/O. `offset` is relative to the
 * region's base; `data` holds `size` (1, 2, 4 or 8) little-endian bytes: the
 * value written, or the buffer to fill for a read. Handlers run in the vCPU
 * thread at the exit that asks (DESIGN.md contract 4) and must not fail:
 * reads of nothing return all-ones. */
typedef void io_handler_fn(void *dev, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);

struct io_region {
	const char *name;       /* stable name, e.g. "uart0"; matches its device */
	enum io_space space;
	uint64_t base;
	uint64_t len;
	io_handler_fn *fn;
	void *dev;
};

/* A device: a stable name keys its saved state (never link order). */
struct device {
	const char *name;
	void *state;
	/* Optional. Called in the vCPU thread after every exit with the guest
	 * clock; raises interrupts that fell due. Returns the next guest-time
	 * deadline in ns, or UINT64_MAX for none. */
	uint64_t (*poll)(void *state, uint64_t now_ns);
	/* Optional. Frees the state. */
	void (*destroy)(void *state);
	/* Saved state for snapshots (core/devstate.h; both or neither; a device
	 * without them cannot be snapshotted, and snapshots refuse such a VM).
	 * save: appends a u16 version and the device's state struct, field by
	 * field, little-endian; 0 or -errno (-ENOSPC past DEV_STATE_MAX).
	 * restore: decodes and validates every field (version, ranges, exact
	 * length); with apply false it only validates, with apply true it
	 * validates and then replaces the state, all or nothing. 0, or -EINVAL
	 * with *err naming the field. Both run in the vCPU thread between runs. */
	int (*save)(void *state, struct ds_out *out);
	int (*restore)(void *state, struct ds_in *in, bool apply, struct rrvm_err *err);
};

#define IO_MAX_REGIONS 64
#define DEV_MAX_DEVICES 32

/* Ordered I/O table: regions sorted by (space, base), overlaps rejected. */
struct io_bus {
	struct io_region region[IO_MAX_REGIONS];
	int nr;
};

/* 0, -EEXIST on overlap, -ENOSPC when full, -EINVAL for an empty region. */
int io_bus__register(struct io_bus *bus, const struct io_region *r);
/* The region containing [addr, addr+size), or NULL. */
const struct io_region *io_bus__find(const struct io_bus *bus, enum io_space space,
				     uint64_t addr, uint32_t size);

#endif
