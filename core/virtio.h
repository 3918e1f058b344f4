/* virtio.h — internal: the virtio 1.x PCI transport (modern) shared by virtio-blk, -rng and -console. */
#ifndef RRVM_VIRTIO_H
#define RRVM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/virtq.h"

struct vm;
struct pci_fn;
struct ds_out;
struct ds_in;

#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_F_VERSION_1        (1ull << 32)
#define VIRTIO_F_RING_INDIRECT    (1ull << 28)

#define VIRTIO_STATUS_ACK         0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* BAR 0 layout (16 KiB): one region per capability. */
#define VIRTIO_BAR_SIZE    0x4000u
#define VIRTIO_COMMON_OFF  0x0000u
#define VIRTIO_COMMON_LEN  0x0038u
#define VIRTIO_ISR_OFF     0x1000u
#define VIRTIO_DEVCFG_OFF  0x2000u
#define VIRTIO_DEVCFG_LEN  0x0100u
#define VIRTIO_NOTIFY_OFF  0x3000u
#define VIRTIO_NOTIFY_MULT 4u

/* The transport's saved state: fixed-width fields only. */
struct virtio_state {
	uint64_t driver_features;
	uint32_t dev_feature_sel, drv_feature_sel;
	uint16_t config_msix, queue_sel;
	uint8_t status, isr, config_gen, pad;
	uint32_t notify_pending;      /* queues notified since the last service (bit per queue) */
	uint32_t pad2;
	struct virtq q[VIRTIO_MAX_QUEUES];
};

struct virtio_dev;

struct virtio_ops {
	const char *kind;             /* "virtio-blk", ... (messages) */
	uint16_t device_id;           /* virtio device type: 2 blk, 3 console, 4 entropy */
	uint32_t class_code;          /* PCI class code */
	unsigned nr_queues;
	uint16_t queue_max;
	uint64_t features;            /* device-specific feature bits offered */
	/* Device configuration space (bounds already checked: off + size <= VIRTIO_DEVCFG_LEN). */
	void (*cfg_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size);
	/* Queue `q` was notified: runs after the notify exit was logged/checked. */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* Device reset by the driver (status 0): device-specific state back to power-on. */
	void (*reset)(struct virtio_dev *d);
	/* Optional: device-specific saved state after the transport's (same
	 * rules as struct device save/restore: restore validates first and
	 * changes nothing unless apply). */
	int (*save)(struct virtio_dev *d, struct ds_out *o);
	int (*restore)(struct virtio_dev *d, struct ds_in *in, bool apply, struct rrvm_err *err);
	/* Frees priv. */
	void (*destroy)(struct virtio_dev *d);
};

struct virtio_dev {
	struct virtio_state s;        /* first: the saved part */
	struct vm *vm;
	struct pci_fn *fn;
	const struct virtio_ops *ops;
	void *priv;
	char name[24];
	bool pushed;                  /* used buffers added during this service */
	struct virtq_chain chain;     /* scratch for the chain being serviced */
};

/* Creates a virtio-pci device named `name` in PCI slot `slot` (after
 * pci__create): device and BAR registered, serviced at each guest-caused exit
 * (record, run and replay alike). priv belongs to the device from then on
 * (ops->destroy). */
int virtio__create(struct vm *vm, unsigned slot, const char *name, const struct virtio_ops *ops, void *priv,
		   struct virtio_dev **out, struct rrvm_err *err);

/* Next validated chain of queue q: 1 (in d->chain), 0 none. A protocol
 * violation marks the device NEEDS_RESET, tells the driver (config
 * interrupt) and returns 0. */
int virtio__pop(struct virtio_dev *d, unsigned q);
/* The driver broke the protocol on queue q: NEEDS_RESET + config interrupt. */
void virtio__fail(struct virtio_dev *d, unsigned q, const char *why);
/* Returns d->chain's head to queue q with `written` bytes written. */
void virtio__push(struct virtio_dev *d, unsigned q, uint32_t written);

/* Bytes from outside (entropy, console input) that the device writes into
 * guest memory at gpa (DESIGN.md contract 5). Live: produced by fill(buf,
 * len) and, while recording, logged as TR_DMA. Replay: taken from the trace
 * (the record must match gpa and len, or replay stops as diverged). 0 or
 * -errno (VM stopped). */
int virtio__input(struct virtio_dev *d, uint64_t gpa, uint8_t *buf, uint32_t len,
		  int (*fill)(void *ctx, uint8_t *buf, uint32_t len), void *ctx);

/* The devices (core/virtio_blk.c, virtio_rng.c, virtio_console.c). */
int virtio_blk__create(struct vm *vm, unsigned slot, struct rrvm_err *err);
int virtio_rng__create(struct vm *vm, unsigned slot, struct rrvm_err *err);
int virtio_console__create(struct vm *vm, unsigned slot, struct rrvm_err *err);

/* Creates the PCI bus and the virtio devices vm->cfg asks for, in a fixed
 * order: slot 1 virtio-blk, 2 virtio-rng, 3 virtio-console (absent ones
 * leave their slot empty). Nothing when none is asked for. */
int virtio__create_all(struct vm *vm, struct rrvm_err *err);

/* Recording starts in trace directory `dir` (virtio-blk's undo journal when
 * it writes the image in place). */
int virtio__record_start(struct vm *vm, const char *dir, struct rrvm_err *err);

#endif
