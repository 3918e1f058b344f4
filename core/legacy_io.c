/* legacy_io.c — port 0x80, the debug-exit port 0xf4, 0xcf9 reset control and named catch-alls for absent ISA/PCI hardware. */
#include <errno.h>
#include <string.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/vm.h"

/*
 * None of these keeps state. The catch-alls answer like an empty bus (reads
 * all-ones, writes ignored); they exist only so that the exit log names what
 * the guest probed. Ports nobody registers behave the same in the loop.
 */

static void absent_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if (!is_write)
		io__put(data, size, 0xffffffffu);
}

/* Port 0x80: POST codes and I/O delays. */
static void port80_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	absent_io(dev, off, data, size, is_write);
}

/* Port 0xf4 (4 bytes): writing 0 powers off, any other value is a guest panic with that code. */
static void debugexit_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = dev;
	if (!is_write) {
		io__put(data, size, 0xffffffffu);
		return;
	}
	uint32_t v = io__get(data, size) << (8 * off);
	if (v == 0)
		vm__request_stop(vm, VM_STOP_POWEROFF, 0, "guest powered off via debug-exit");
	else
		vm__request_stop(vm, VM_STOP_PANIC, (int)v, "guest panic: debug-exit code %u", v);
}

/*
 * 0xcf8-0xcff: PCI configuration mechanism #1 with no devices behind it
 * (CONFIG_DATA reads all-ones, so Linux finds no host bridge), and the
 * chipset's reset control register at 0xcf9 (byte access): writing bit 2
 * resets the machine (Linux's reboot=pci writes 0x02, then 0x06 or 0x0e).
 * A PCI host bridge that takes over these ports must keep the 0xcf9 byte.
 */
static void pci_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = dev;
	if (off == 1 && size == 1) {
		if (!is_write)
			data[0] = 0x00;
		else if (data[0] & 0x04)
			vm__request_stop(vm, VM_STOP_RESET, 0, "guest requested reset via port 0xcf9");
		return;
	}
	absent_io(dev, off, data, size, is_write);
}

static int add_dev(struct vm *vm, const char *name, struct rrvm_err *err)
{
	struct device d = { .name = name, .state = (void *)name,
			    .save = devstate__save_none, .restore = devstate__restore_none };
	int rc = vm__add_device(vm, &d);
	return rc ? err__set(err, rc, "%s: cannot add device", name) : 0;
}

int legacy_io__create(struct vm *vm, struct rrvm_err *err)
{
	int rc;
	if ((rc = add_dev(vm, "port80", err)) || (rc = add_dev(vm, "debugexit", err)))
		return rc;
	/* Ordered by port; names are stable (they appear in exit logs). */
	const struct io_region r[] = {
		{ "dma1", IO_SPACE_PIO, 0x00, 0x20, absent_io, vm },
		{ "port80", IO_SPACE_PIO, 0x80, 1, port80_io, vm },
		{ "dma-page", IO_SPACE_PIO, 0x81, 0x0f, absent_io, vm },
		{ "dma2", IO_SPACE_PIO, 0xc0, 0x20, absent_io, vm },
		{ "debugexit", IO_SPACE_PIO, 0xf4, 4, debugexit_io, vm },
		{ "com4", IO_SPACE_PIO, 0x2e8, 8, absent_io, vm },
		{ "com2", IO_SPACE_PIO, 0x2f8, 8, absent_io, vm },
		{ "lpt1", IO_SPACE_PIO, 0x378, 3, absent_io, vm },
		{ "vga", IO_SPACE_PIO, 0x3c0, 0x20, absent_io, vm },
		{ "com3", IO_SPACE_PIO, 0x3e8, 8, absent_io, vm },
		{ "floppy", IO_SPACE_PIO, 0x3f0, 8, absent_io, vm },
		{ "fw_cfg", IO_SPACE_PIO, 0x510, 2, absent_io, vm },
		{ "pci", IO_SPACE_PIO, 0xcf8, 8, pci_io, vm },
	};
	/* With virtio devices the PCI host bridge (core/pci.c) owns 0xcf8-0xcff. */
	bool pci_bridge = vm->cfg.disk || vm->cfg.virtio_rng || vm->cfg.virtio_console;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((!pci_bridge || strcmp(r[i].name, "pci")) && (rc = vm__add_io(vm, &r[i])))
			return err__set(err, rc, "%s: cannot register ports 0x%llx-0x%llx", r[i].name,
					(unsigned long long)r[i].base, (unsigned long long)(r[i].base + r[i].len - 1));
	return 0;
}
