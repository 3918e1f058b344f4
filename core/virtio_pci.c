/* virtio_pci.c — virtio 1.x modern PCI transport: capabilities, common config, ISR, notify, servicing. */
#include "core/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/pci.h"
#include "core/vm.h"
#include "record/recorder.h"
#include "replay/replayer.h"

enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };

static uint64_t offered(const struct virtio_dev *d)
{
	return VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT | d->ops->features;
}

static void update_irq(struct virtio_dev *d)
{
	pci_fn__set_irq(d->vm->pci, d->fn, d->s.isr != 0);
}

static void device_reset(struct virtio_dev *d)
{
	memset(&d->s, 0, sizeof(d->s));
	for (unsigned i = 0; i < d->ops->nr_queues; i++) {
		d->s.q[i].max_size = d->ops->queue_max;
		d->s.q[i].size = d->ops->queue_max;
		d->s.q[i].msix_vector = 0xffff;
	}
	d->s.config_msix = 0xffff;
	if (d->ops->reset)
		d->ops->reset(d);
	update_irq(d);
}

static void needs_reset(struct virtio_dev *d, unsigned q, const char *why)
{
	if (!(d->s.status & VIRTIO_STATUS_NEEDS_RESET))
		fprintf(stderr, "rrvm: %s: queue %u: %s; device needs reset\n", d->name, q, why);
	d->s.status |= VIRTIO_STATUS_NEEDS_RESET;
	d->s.isr |= 2;                /* configuration change */
	update_irq(d);
}

/* ---- common configuration (virtio 1.x §4.1.4.3), as a little-endian image ---- */

static void put(uint8_t *b, uint32_t off, uint64_t v, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *b, uint32_t off, uint32_t size)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint64_t)b[off + i] << (8 * i);
	return v;
}

static void common_image(const struct virtio_dev *d, uint8_t *b)
{
	const struct virtio_state *s = &d->s;
	memset(b, 0, VIRTIO_COMMON_LEN);
	put(b, 0x00, s->dev_feature_sel, 4);
	put(b, 0x04, s->dev_feature_sel < 2 ? offered(d) >> (32 * s->dev_feature_sel) : 0, 4);
	put(b, 0x08, s->drv_feature_sel, 4);
	put(b, 0x0c, s->drv_feature_sel < 2 ? s->driver_features >> (32 * s->drv_feature_sel) : 0, 4);
	put(b, 0x10, s->config_msix, 2);
	put(b, 0x12, d->ops->nr_queues, 2);
	put(b, 0x14, s->status, 1);
	put(b, 0x15, s->config_gen, 1);
	put(b, 0x16, s->queue_sel, 2);
	if (s->queue_sel < d->ops->nr_queues) {
		const struct virtq *q = &s->q[s->queue_sel];
		put(b, 0x18, q->size, 2);
		put(b, 0x1a, q->msix_vector, 2);
		put(b, 0x1c, q->enabled, 2);
		put(b, 0x1e, s->queue_sel, 2);      /* queue_notify_off */
		put(b, 0x20, q->desc, 8);
		put(b, 0x28, q->avail, 8);
		put(b, 0x30, q->used, 8);
	}
}

static bool touched(uint64_t off, uint32_t size, uint32_t field, uint32_t flen)
{
	return off < field + flen && field < off + size;
}

static void set_status(struct virtio_dev *d, uint8_t v)
{
	struct virtio_state *s = &d->s;
	if (v == 0) {
		device_reset(d);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(s->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* Accept only a subset of what was offered, with VERSION_1 (no legacy). */
		if ((s->driver_features & ~offered(d)) || !(s->driver_features & VIRTIO_F_VERSION_1))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	s->status = (uint8_t)(v | (s->status & VIRTIO_STATUS_NEEDS_RESET));
}

static void common_write(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	struct virtio_state *s = &d->s;
	uint8_t b[VIRTIO_COMMON_LEN];
	common_image(d, b);
	memcpy(b + off, data, size);
	if (touched(off, size, 0x00, 4))
		s->dev_feature_sel = (uint32_t)get(b, 0x00, 4);
	if (touched(off, size, 0x08, 4))
		s->drv_feature_sel = (uint32_t)get(b, 0x08, 4);
	if (touched(off, size, 0x0c, 4) && s->drv_feature_sel < 2 && !(s->status & VIRTIO_STATUS_FEATURES_OK)) {
		unsigned sh = 32 * s->drv_feature_sel;
		s->driver_features = (s->driver_features & ~(0xffffffffull << sh)) | (get(b, 0x0c, 4) << sh);
	}
	if (touched(off, size, 0x10, 2))
		s->config_msix = (uint16_t)get(b, 0x10, 2);
	if (touched(off, size, 0x16, 2))
		s->queue_sel = (uint16_t)get(b, 0x16, 2);
	if (touched(off, size, 0x14, 1))
		set_status(d, b[0x14]);
	if (s->queue_sel >= d->ops->nr_queues || (s->status & VIRTIO_STATUS_DRIVER_OK))
		return;               /* queue fields: only while setting up */
	struct virtq *q = &s->q[s->queue_sel];
	if (q->enabled && !touched(off, size, 0x1a, 2))
		return;               /* an enabled queue keeps its layout */
	if (touched(off, size, 0x18, 2))
		q->size = (uint16_t)get(b, 0x18, 2);
	if (touched(off, size, 0x1a, 2))
		q->msix_vector = (uint16_t)get(b, 0x1a, 2);
	if (touched(off, size, 0x20, 8))
		q->desc = get(b, 0x20, 8);
	if (touched(off, size, 0x28, 8))
		q->avail = get(b, 0x28, 8);
	if (touched(off, size, 0x30, 8))
		q->used = get(b, 0x30, 8);
	if (touched(off, size, 0x1c, 2) && get(b, 0x1c, 2) == 1) {
		q->enabled = 1;
		q->last_avail = q->used_idx = 0;
		if (!q->size || q->size > q->max_size || (q->size & (q->size - 1)))
			needs_reset(d, s->queue_sel, "queue size is not a power of two up to the maximum");
	}
}

static void bar_io(void *dev, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_dev *d = dev;
	if (off + size <= VIRTIO_COMMON_OFF + VIRTIO_COMMON_LEN) {
		if (is_write) {
			common_write(d, off, data, size);
		} else {
			uint8_t b[VIRTIO_COMMON_LEN];
			common_image(d, b);
			memcpy(data, b + off, size);
		}
		return;
	}
	if (off == VIRTIO_ISR_OFF) {
		if (!is_write) {
			memset(data, 0, size);
			data[0] = d->s.isr;
			d->s.isr = 0;     /* read to clear, and the line drops */
			update_irq(d);
		}
		return;
	}
	if (off >= VIRTIO_DEVCFG_OFF && off + size <= VIRTIO_DEVCFG_OFF + VIRTIO_DEVCFG_LEN) {
		if (!is_write) {
			memset(data, 0, size);
			if (d->ops->cfg_read)
				d->ops->cfg_read(d, (uint32_t)(off - VIRTIO_DEVCFG_OFF), data, size);
		}
		return;
	}
	if (off >= VIRTIO_NOTIFY_OFF && off < VIRTIO_NOTIFY_OFF + VIRTIO_NOTIFY_MULT * d->ops->nr_queues) {
		unsigned q = (unsigned)(off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT;
		if (is_write)
			d->s.notify_pending |= 1u << q;
		else
			memset(data, 0, size);
		return;
	}
	if (!is_write)
		memset(data, 0xff, size);
}

/* After a guest-caused exit: run the queues notified at it, then interrupt. */
static void service(void *dev)
{
	struct virtio_dev *d = dev;
	uint32_t pending = d->s.notify_pending;
	d->s.notify_pending = 0;
	if (!pending || !(d->s.status & VIRTIO_STATUS_DRIVER_OK) || (d->s.status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	d->pushed = false;
	for (unsigned q = 0; q < d->ops->nr_queues; q++)
		if ((pending & (1u << q)) && d->s.q[q].enabled)
			d->ops->notify(d, q);
	if (d->pushed) {
		d->s.isr |= 1;
		update_irq(d);
	}
}

void virtio__fail(struct virtio_dev *d, unsigned q, const char *why)
{
	needs_reset(d, q, why);
}

int virtio__pop(struct virtio_dev *d, unsigned q)
{
	char why[160];
	if (d->s.status & VIRTIO_STATUS_NEEDS_RESET)
		return 0;
	int rc = virtq__pop(&d->s.q[q], &d->vm->mem, &d->chain, why, sizeof(why));
	if (rc < 0) {
		needs_reset(d, q, why);
		return 0;
	}
	return rc;
}

void virtio__push(struct virtio_dev *d, unsigned q, uint32_t written)
{
	if (virtq__push(&d->s.q[q], &d->vm->mem, d->chain.head, written)) {
		needs_reset(d, q, "used ring is not inside guest RAM");
		return;
	}
	d->pushed = true;
}

int virtio__input(struct virtio_dev *d, uint64_t gpa, uint8_t *buf, uint32_t len,
		  int (*fill)(void *ctx, uint8_t *buf, uint32_t len), void *ctx)
{
	struct vm *vm = d->vm;
	if (vm->rep)
		return replayer__dma(vm->rep, vm, gpa, buf, len);
	int rc = fill(ctx, buf, len);
	if (rc) {
		vm__request_stop(vm, VM_STOP_ERROR, rc, "%s: cannot get input bytes: %s", d->name, strerror(-rc));
		return rc;
	}
	if (vm->rec)
		recorder__dma(vm->rec, vm, gpa, buf, len);
	return 0;
}

#define VIRTIO_STATE_VERSION 1

static int virtio_save(void *state, struct ds_out *o)
{
	struct virtio_dev *d = state;
	const struct virtio_state *s = &d->s;
	ds__u16(o, VIRTIO_STATE_VERSION);
	ds__u64(o, s->driver_features);
	ds__u32(o, s->dev_feature_sel);
	ds__u32(o, s->drv_feature_sel);
	ds__u16(o, s->config_msix);
	ds__u16(o, s->queue_sel);
	ds__u8(o, s->status);
	ds__u8(o, s->isr);
	ds__u8(o, s->config_gen);
	ds__u32(o, s->notify_pending);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &s->q[i];
		ds__u64(o, q->desc);
		ds__u64(o, q->avail);
		ds__u64(o, q->used);
		ds__u16(o, q->size);
		ds__u16(o, q->max_size);
		ds__u16(o, q->enabled);
		ds__u16(o, q->last_avail);
		ds__u16(o, q->used_idx);
		ds__u16(o, q->msix_vector);
		ds__u16(o, q->broken);
	}
	int rc = d->ops->save ? d->ops->save(d, o) : 0;
	return rc ? rc : o->bad ? -ENOSPC : 0;
}

static int virtio_restore(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct virtio_dev *d = state;
	struct virtio_state n;
	memset(&n, 0, sizeof(n));
	DS_CHECK(ds__g16(in) == VIRTIO_STATE_VERSION, err, d->name, "unknown version");
	n.driver_features = ds__g64(in);
	n.dev_feature_sel = ds__g32(in);
	n.drv_feature_sel = ds__g32(in);
	n.config_msix = ds__g16(in);
	n.queue_sel = ds__g16(in);
	n.status = ds__g8(in);
	n.isr = ds__g8(in);
	n.config_gen = ds__g8(in);
	n.notify_pending = ds__g32(in);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtq *q = &n.q[i];
		q->desc = ds__g64(in);
		q->avail = ds__g64(in);
		q->used = ds__g64(in);
		q->size = ds__g16(in);
		q->max_size = ds__g16(in);
		q->enabled = ds__g16(in);
		q->last_avail = ds__g16(in);
		q->used_idx = ds__g16(in);
		q->msix_vector = ds__g16(in);
		q->broken = ds__g16(in);
		bool here = i < d->ops->nr_queues;
		DS_CHECK(q->max_size == (here ? d->ops->queue_max : 0), err, d->name, "queue maximum of another model");
		DS_CHECK(q->size <= VIRTQ_MAX_SIZE && q->enabled <= 1 && q->broken <= 1, err, d->name,
			 "queue size or flags out of range");
		DS_CHECK(!q->enabled || (q->size && !(q->size & (q->size - 1))), err, d->name,
			 "enabled queue whose size is not a power of two");
	}
	DS_CHECK(!(n.driver_features & ~offered(d)), err, d->name, "features this device does not offer");
	DS_CHECK(n.isr <= 3 && n.notify_pending < (1u << d->ops->nr_queues), err, d->name, "ISR or notify bits out of range");
	size_t dev_off = in->off;
	if (d->ops->restore) {
		int rc = d->ops->restore(d, in, false, err);
		if (rc)
			return rc;
	}
	DS_CHECK_END(in, err, d->name);
	if (apply) {
		d->s = n;
		if (d->ops->restore) {   /* validated above: decode the device part again, applying */
			in->off = dev_off;
			return d->ops->restore(d, in, true, err);
		}
	}
	return 0;
}

static void virtio_destroy(void *state)
{
	struct virtio_dev *d = state;
	if (d->ops->destroy)
		d->ops->destroy(d);
	free(d);
}

static void vcap(uint8_t *body, uint8_t type, uint32_t off, uint32_t len, uint8_t cap_len)
{
	memset(body, 0, 18);
	body[0] = cap_len;            /* cap_len counts the 2-byte header */
	body[1] = type;
	body[2] = 0;                  /* BAR 0 */
	put(body, 6, off, 4);
	put(body, 10, len, 4);
}

int virtio__create(struct vm *vm, unsigned slot, const char *name, const struct virtio_ops *ops, void *priv,
		   struct virtio_dev **out, struct rrvm_err *err)
{
	struct virtio_dev *d = calloc(1, sizeof(*d));
	if (!d) {
		if (ops->destroy) {
			struct virtio_dev tmp = { .priv = priv };
			ops->destroy(&tmp);
		}
		return err__set(err, -ENOMEM, "%s: out of memory", name);
	}
	d->vm = vm;
	d->ops = ops;
	d->priv = priv;
	snprintf(d->name, sizeof(d->name), "%s", name);
	struct device dev = { .name = d->name, .state = d, .destroy = virtio_destroy, .save = virtio_save,
			      .restore = virtio_restore };
	int rc = vm__add_device(vm, &dev);
	if (rc) {
		virtio_destroy(d);
		return err__set(err, rc, "%s: cannot add device", name);
	}
	d->fn = pci__add(vm->pci, slot, 0x1af4, (uint16_t)(0x1040 + ops->device_id), ops->class_code, 1,
			 (uint16_t)(0x40 + ops->device_id), VIRTIO_BAR_SIZE, bar_io, d, service);
	if (!d->fn)
		return err__set(err, -EEXIST, "%s: PCI slot %u is taken or invalid", name, slot);
	uint8_t body[18];
	vcap(body, CAP_COMMON, VIRTIO_COMMON_OFF, VIRTIO_COMMON_LEN, 16);
	pci_fn__add_cap(d->fn, 0x09, body, 14);
	vcap(body, CAP_NOTIFY, VIRTIO_NOTIFY_OFF, VIRTIO_NOTIFY_MULT * ops->nr_queues, 20);
	put(body, 14, VIRTIO_NOTIFY_MULT, 4);
	pci_fn__add_cap(d->fn, 0x09, body, 18);
	vcap(body, CAP_ISR, VIRTIO_ISR_OFF, 4, 16);
	pci_fn__add_cap(d->fn, 0x09, body, 14);
	vcap(body, CAP_DEVICE, VIRTIO_DEVCFG_OFF, VIRTIO_DEVCFG_LEN, 16);
	pci_fn__add_cap(d->fn, 0x09, body, 14);
	device_reset(d);
	if (out)
		*out = d;
	return 0;
}

int virtio__create_all(struct vm *vm, struct rrvm_err *err)
{
	const struct vm_config *c = &vm->cfg;
	if (!c->disk && !c->virtio_rng && !c->virtio_console)
		return 0;
	int rc = pci__create(vm, err);
	if (rc)
		return rc;
	if (c->disk && (rc = virtio_blk__create(vm, 1, err)))
		return rc;
	if (c->virtio_rng && (rc = virtio_rng__create(vm, 2, err)))
		return rc;
	if (c->virtio_console && (rc = virtio_console__create(vm, 3, err)))
		return rc;
	return 0;
}
