/* pci.h — the PCI host bridge: configuration mechanism #1 at 0xcf8/0xcfc and one MMIO window for BARs. */
#ifndef RRVM_PCI_H
#define RRVM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dev.h"
#include "core/err.h"

struct vm;

/*
 * Bus 0 only. 00:00.0 is the host bridge (Intel 440FX ids, so Linux's
 * pci_sanity_check accepts mechanism #1); devices sit in slots 1.. with one
 * function each. BARs are 32-bit memory BARs, preassigned as firmware would
 * inside the window [PCI_MMIO_BASE, +PCI_MMIO_SIZE) of the hole below 4 GiB
 * (core/mem.h: RAM stops at 3 GiB and is never reported there in the e820/PVH
 * memmap). The guest may move a BAR anywhere inside the window.
 *
 * INTx: slot s drives INTA# on ISA line pci_irq_of_slot(s) of the 8259 PIC
 * (slot 1 -> IRQ 10, 2 -> 11, 3 -> 9, 4 -> 5), written into the Interrupt
 * Line register, which is where Linux finds it without ACPI or a $PIR table.
 */
#define PCI_MMIO_BASE 0xe0000000ull
#define PCI_MMIO_SIZE 0x01000000ull
#define PCI_MAX_SLOTS 5           /* host bridge + 4 devices */

struct pci_fn_state {             /* saved state: the 256-byte configuration space */
	uint8_t cfg[256];
};

struct pci_fn {
	struct pci_fn_state s;
	uint8_t wmask[256];           /* writable bits of cfg */
	uint32_t bar0_size;           /* 0: no BAR */
	io_handler_fn *bar0_fn;       /* BAR 0 accesses: offset inside the BAR */
	void *dev;
	unsigned irq;                 /* ISA line of INTA# */
	bool irq_level;
	uint8_t cap_free;             /* next free capability offset (0: 0x40) */
};

struct pci_bus {
	struct vm *vm;
	uint32_t addr;                /* CONFIG_ADDRESS as last written */
	struct pci_fn fn[PCI_MAX_SLOTS];
	bool present[PCI_MAX_SLOTS];
	/* After every guest-caused exit (record, run and replay): devices that
	 * deferred work from an I/O handler (a queue notify) run it here. */
	void (*service[PCI_MAX_SLOTS])(void *dev);
};

unsigned pci_irq_of_slot(unsigned slot);

/* Creates the host bridge: registers 0xcf8-0xcff (keeping the 0xcf9 reset
 * control byte) and the BAR window, both serviced during replay too. Sets
 * vm->pci. Call before adding devices. */
int pci__create(struct vm *vm, struct rrvm_err *err);

/* Adds a device in `slot` (1..PCI_MAX_SLOTS-1) with vendor/device ids, class
 * code (24 bits) and revision; a 32-bit memory BAR 0 of `bar_size` bytes (a
 * power of two >= 4096) handled by bar_fn(dev, ...). Returns the function
 * for the caller to add capabilities (pci_fn__add_cap), or NULL. */
struct pci_fn *pci__add(struct pci_bus *bus, unsigned slot, uint16_t vendor, uint16_t device,
			uint32_t class_code, uint8_t rev, uint16_t subsys, uint32_t bar_size,
			io_handler_fn *bar_fn, void *dev, void (*service)(void *dev));

/* Appends a capability (body after the 2-byte id/next header) to the list;
 * returns its config offset or 0 when full. */
uint8_t pci_fn__add_cap(struct pci_fn *f, uint8_t id, const uint8_t *body, uint8_t len);

/* Drives INTA# of the function (also reflected in the status register). */
void pci_fn__set_irq(struct pci_bus *bus, struct pci_fn *f, bool level);

/* Runs deferred device work; the vCPU loop calls it after each guest-caused
 * exit was logged (record) or checked (replay). */
void pci__service(struct pci_bus *bus);

#endif
