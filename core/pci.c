/* pci.c — PCI host bridge: mechanism #1 configuration cycles, a BAR window below 4 GiB, INTx to the 8259. */
#include "core/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

#define CMD_MEM        0x0002
#define CMD_MASTER     0x0004
#define CMD_INTX_OFF   0x0400
#define STATUS_INTX    0x0008
#define STATUS_CAPS    0x0010

unsigned pci_irq_of_slot(unsigned slot)
{
	static const unsigned irq[PCI_MAX_SLOTS] = { 0, 10, 11, 9, 5 };
	return slot < PCI_MAX_SLOTS ? irq[slot] : 0;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

static void fn_init(struct pci_fn *f, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t rev,
		    uint16_t subsys)
{
	memset(f, 0, sizeof(*f));
	uint8_t *c = f->s.cfg;
	put16(c + 0x00, vendor);
	put16(c + 0x02, device);
	c[0x08] = rev;
	c[0x09] = (uint8_t)class_code;
	c[0x0a] = (uint8_t)(class_code >> 8);
	c[0x0b] = (uint8_t)(class_code >> 16);
	put16(c + 0x2c, vendor);
	put16(c + 0x2e, subsys);
	put16(f->wmask + 0x04, CMD_MEM | CMD_MASTER | CMD_INTX_OFF);
	f->wmask[0x0c] = 0xff;            /* cache line size */
	f->wmask[0x0d] = 0xff;            /* latency timer */
}

/* Configuration read of `size` bytes at register `reg` of bus 0 / devfn. */
static uint32_t cfg_read(struct pci_bus *bus, uint32_t devfn, uint32_t reg, uint32_t size)
{
	unsigned slot = devfn >> 3;
	if ((devfn & 7) || slot >= PCI_MAX_SLOTS || !bus->present[slot])
		return 0xffffffffu;
	const uint8_t *c = bus->fn[slot].s.cfg;
	uint32_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint32_t)c[reg + i] << (8 * i);
	return v;
}

static void cfg_write(struct pci_bus *bus, uint32_t devfn, uint32_t reg, uint32_t size, uint32_t v)
{
	unsigned slot = devfn >> 3;
	if ((devfn & 7) || slot >= PCI_MAX_SLOTS || !bus->present[slot])
		return;
	struct pci_fn *f = &bus->fn[slot];
	uint8_t *c = f->s.cfg;
	for (uint32_t i = 0; i < size; i++) {
		uint8_t m = f->wmask[reg + i], b = (uint8_t)(v >> (8 * i));
		c[reg + i] = (uint8_t)((c[reg + i] & ~m) | (b & m));
	}
	/* INTx disable may change what the line shows. */
	if (reg <= 0x05 && reg + size > 0x04 && f->irq)
		pci_fn__set_irq(bus, f, f->irq_level);
}

/* 0xcf8-0xcff: CONFIG_ADDRESS (dword at 0xcf8), the 0xcf9 reset control
 * byte, CONFIG_DATA (any width at 0xcfc-0xcff). */
static void conf1_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *bus = dev;
	if (off == 0 && size == 4) {
		if (is_write)
			bus->addr = io__get(data, 4) & 0x80fffffcu;
		else
			io__put(data, 4, bus->addr);
		return;
	}
	if (off == 1 && size == 1) {
		if (!is_write)
			data[0] = 0x00;
		else if (data[0] & 0x04)
			vm__request_stop(bus->vm, VM_STOP_RESET, 0, "guest requested reset via port 0xcf9");
		return;
	}
	if (off < 4) {            /* other accesses to 0xcf8-0xcfb: no effect */
		if (!is_write)
			io__put(data, size, 0xffffffffu);
		return;
	}
	uint32_t a = bus->addr, reg = (a & 0xfc) + (uint32_t)(off - 4);
	bool ok = (a & 0x80000000u) && ((a >> 16) & 0xff) == 0 && reg + size <= 256;
	uint32_t devfn = (a >> 8) & 0xff;
	if (is_write) {
		if (ok)
			cfg_write(bus, devfn, reg, size, io__get(data, size));
	} else {
		io__put(data, size, ok ? cfg_read(bus, devfn, reg, size) : 0xffffffffu);
	}
}

/* The BAR window: routes to the function whose enabled BAR 0 holds the address. */
static void window_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *bus = dev;
	uint64_t addr = PCI_MMIO_BASE + off;
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_fn *f = &bus->fn[s];
		if (!bus->present[s] || !f->bar0_size || !(get16(f->s.cfg + 0x04) & CMD_MEM))
			continue;
		uint64_t base = get32(f->s.cfg + 0x10) & ~(uint64_t)(f->bar0_size - 1) & 0xffffffffull;
		if (addr >= base && addr + size <= base + f->bar0_size) {
			f->bar0_fn(f->dev, addr - base, data, size, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
}

#define PCI_STATE_VERSION 1

/* Saved: CONFIG_ADDRESS and every function's configuration space and INTx
 * level (which functions exist comes from the VM's configuration). */
static int pci_save(void *state, struct ds_out *o)
{
	struct pci_bus *bus = state;
	ds__u16(o, PCI_STATE_VERSION);
	ds__u32(o, bus->addr);
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		ds__u8(o, bus->present[s]);
		ds__bytes(o, bus->fn[s].s.cfg, 256);
		ds__u8(o, bus->fn[s].irq_level);
	}
	return o->bad ? -ENOSPC : 0;
}

static int pci_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct pci_bus *bus = state;
	struct pci_fn_state cfg[PCI_MAX_SLOTS];
	uint8_t level[PCI_MAX_SLOTS];
	DS_CHECK(ds__g16(in) == PCI_STATE_VERSION, err, "pci", "unknown version");
	uint32_t addr = ds__g32(in);
	DS_CHECK(!(addr & ~0x80fffffcu), err, "pci", "CONFIG_ADDRESS with reserved bits set");
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		uint8_t present = ds__g8(in);
		ds__gbytes(in, cfg[s].cfg, 256);
		level[s] = ds__g8(in);
		DS_CHECK(in->bad || present == bus->present[s], err, "pci", "a different set of PCI devices");
		DS_CHECK(level[s] <= 1, err, "pci", "INTx level other than 0/1");
		/* Read-only bytes (ids, capabilities) must be this build's. */
		for (unsigned i = 0; !in->bad && present && i < 256; i++)
			DS_CHECK(((cfg[s].cfg[i] ^ bus->fn[s].s.cfg[i]) & ~bus->fn[s].wmask[i] & ~(i == 6 ? 0x08 : 0)) == 0,
				 err, "pci", "read-only configuration bytes differ (another device model)");
	}
	DS_CHECK_END(in, err, "pci");
	if (apply) {
		bus->addr = addr;
		for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
			bus->fn[s].s = cfg[s];
			bus->fn[s].irq_level = level[s];
		}
	}
	return 0;
}

static void pci_destroy(void *state)
{
	free(state);
}

int pci__create(struct vm *vm, struct rrvm_err *err)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return err__set(err, -ENOMEM, "pci: out of memory");
	bus->vm = vm;
	fn_init(&bus->fn[0], 0x8086, 0x1237, 0x060000, 0x02, 0);   /* 440FX host bridge */
	bus->present[0] = true;
	struct device d = { .name = "pci", .state = bus, .destroy = pci_destroy, .save = pci_save,
			    .restore = pci_restore };
	int rc = vm__add_device(vm, &d);
	if (rc) {
		free(bus);
		return err__set(err, rc, "pci: cannot add device");
	}
	vm->pci = bus;
	const struct io_region r[] = {
		{ "pci", IO_SPACE_PIO, 0xcf8, 8, conf1_io, bus },
		{ "pci-mmio", IO_SPACE_MMIO, PCI_MMIO_BASE, PCI_MMIO_SIZE, window_io, bus },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "%s: cannot register its region", r[i].name);
	return 0;
}

struct pci_fn *pci__add(struct pci_bus *bus, unsigned slot, uint16_t vendor, uint16_t device,
			uint32_t class_code, uint8_t rev, uint16_t subsys, uint32_t bar_size,
			io_handler_fn *bar_fn, void *dev, void (*service)(void *dev))
{
	if (slot == 0 || slot >= PCI_MAX_SLOTS || bus->present[slot] || bar_size < 4096 ||
	    (bar_size & (bar_size - 1)) || bar_size > PCI_MMIO_SIZE / PCI_MAX_SLOTS)
		return NULL;
	struct pci_fn *f = &bus->fn[slot];
	fn_init(f, vendor, device, class_code, rev, subsys);
	f->bar0_size = bar_size;
	f->bar0_fn = bar_fn;
	f->dev = dev;
	f->irq = pci_irq_of_slot(slot);
	/* Preassigned as firmware would: slot s at base + s * 1 MiB, decoding on. */
	put32(f->s.cfg + 0x10, (uint32_t)(PCI_MMIO_BASE + (uint64_t)slot * (PCI_MMIO_SIZE / 16)));
	put32(f->wmask + 0x10, ~(bar_size - 1));
	put16(f->s.cfg + 0x04, CMD_MEM);
	f->s.cfg[0x3c] = (uint8_t)f->irq;
	f->s.cfg[0x3d] = 1;                  /* INTA# */
	f->wmask[0x3c] = 0xff;
	bus->present[slot] = true;
	bus->service[slot] = service;
	return f;
}

uint8_t pci_fn__add_cap(struct pci_fn *f, uint8_t id, const uint8_t *body, uint8_t len)
{
	uint8_t *c = f->s.cfg;
	uint8_t pos = f->cap_free ? f->cap_free : 0x40;
	if ((unsigned)pos + 2 + len > 256)
		return 0;
	uint8_t *link = &c[0x34];
	while (*link)
		link = &c[*link + 1];
	c[pos] = id;
	c[pos + 1] = 0;
	memcpy(&c[pos + 2], body, len);
	*link = pos;
	f->cap_free = (uint8_t)((pos + 2 + len + 3) & ~3);
	put16(c + 0x06, get16(c + 0x06) | STATUS_CAPS);
	return pos;
}

void pci_fn__set_irq(struct pci_bus *bus, struct pci_fn *f, bool level)
{
	f->irq_level = level;
	uint16_t st = get16(f->s.cfg + 0x06);
	put16(f->s.cfg + 0x06, level ? st | STATUS_INTX : st & ~STATUS_INTX);
	bool drive = level && !(get16(f->s.cfg + 0x04) & CMD_INTX_OFF);
	vm__set_irq(bus->vm, f->irq, drive);
}

void pci__service(struct pci_bus *bus)
{
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (bus->present[s] && bus->service[s])
			bus->service[s](bus->fn[s].dev);
}
