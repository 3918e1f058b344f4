/* io_bus.c — the ordered PIO/MMIO region table and its lookup. */
#include "core/dev.h"

#include <errno.h>
#include <string.h>

static int cmp(enum io_space sa, uint64_t a, enum io_space sb, uint64_t b)
{
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

int io_bus__register(struct io_bus *bus, const struct io_region *r)
{
	if (r->len == 0 || r->base + r->len < r->base || !r->fn || !r->name)
		return -EINVAL;
	if (bus->nr == IO_MAX_REGIONS)
		return -ENOSPC;
	for (int i = 0; i < bus->nr; i++) {
		const struct io_region *o = &bus->region[i];
		if (o->space == r->space && r->base < o->base + o->len && o->base < r->base + r->len)
			return -EEXIST;
	}
	int pos = bus->nr;
	while (pos > 0 && cmp(r->space, r->base, bus->region[pos - 1].space, bus->region[pos - 1].base) < 0)
		pos--;
	memmove(&bus->region[pos + 1], &bus->region[pos], (bus->nr - pos) * sizeof(*r));
	bus->region[pos] = *r;
	bus->nr++;
	return 0;
}

const struct io_region *io_bus__find(const struct io_bus *bus, enum io_space space,
				     uint64_t addr, uint32_t size)
{
	int lo = 0, hi = bus->nr - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct io_region *r = &bus->region[mid];
		if (cmp(space, addr, r->space, r->base) < 0) {
			hi = mid - 1;
		} else if (r->space == space && addr < r->base + r->len) {
			return addr + size <= r->base + r->len ? r : NULL;
		} else {
			lo = mid + 1;
		}
	}
	return NULL;
}
