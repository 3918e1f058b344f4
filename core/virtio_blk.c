/* virtio_blk.c — virtio-blk over a raw image (core/disk.c): read, write, flush, get-id. */
#include "core/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/devstate.h"
#include "core/disk.h"
#include "core/pci.h"
#include "core/vm.h"
#include "record/sha256.h"

#define BLK_F_SEG_MAX 2
#define BLK_F_RO      5
#define BLK_F_FLUSH   9

#define BLK_T_IN     0
#define BLK_T_OUT    1
#define BLK_T_FLUSH  4
#define BLK_T_GET_ID 8

#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2

#define BLK_SEG_MAX  126u
#define BLK_BOUNCE   (64u << 10)

struct blk {
	struct disk *disk;
	uint8_t bounce[BLK_BOUNCE];
	uint64_t reads, writes, flushes;   /* requests served (statistics) */
};

static void blk_cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	struct blk *b = d->priv;
	uint8_t cfg[24] = { 0 };
	uint64_t cap = disk__sectors(b->disk);
	for (int i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(cap >> (8 * i));
	cfg[12] = (uint8_t)BLK_SEG_MAX;            /* seg_max (le32 at 12) */
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

/* Moves `len` bytes between the disk at `pos` and the chain's data part. */
static int xfer(struct virtio_dev *d, struct blk *b, bool to_guest, uint64_t pos, uint64_t len)
{
	const struct virtq_chain *c = &d->chain;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < BLK_BOUNCE ? (size_t)(len - done) : BLK_BOUNCE;
		int rc;
		if (to_guest) {
			if ((rc = disk__read(b->disk, pos + done, b->bounce, n)))
				return rc;
			virtq__write(c, &d->vm->mem, done, b->bounce, n);
		} else {
			virtq__read(c, &d->vm->mem, 16 + done, b->bounce, n);
			if ((rc = disk__write(b->disk, pos + done, b->bounce, n)))
				return rc;
		}
		done += n;
	}
	return 0;
}

static void blk_request(struct virtio_dev *d, struct blk *b)
{
	const struct virtq_chain *c = &d->chain;
	uint8_t hdr[16];
	if (c->out_len < 16 || c->in_len < 1) {
		virtio__fail(d, 0, "request without a 16-byte header or a status byte");
		return;
	}
	virtq__read(c, &d->vm->mem, 0, hdr, 16);
	uint32_t type = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	uint64_t sector = 0;
	for (int i = 0; i < 8; i++)
		sector |= (uint64_t)hdr[8 + i] << (8 * i);
	uint64_t data_in = c->in_len - 1, data_out = c->out_len - 16;
	uint8_t status = BLK_S_OK;
	uint32_t written = 0;
	uint64_t pos = sector * DISK_SECTOR;
	bool sector_ok = sector < disk__sectors(b->disk);
	switch (type) {
	case BLK_T_IN:
		if (!sector_ok || data_in % DISK_SECTOR || xfer(d, b, true, pos, data_in))
			status = BLK_S_IOERR;
		else
			written = (uint32_t)data_in;
		b->reads++;
		break;
	case BLK_T_OUT:
		if (disk__ro(b->disk) || !sector_ok || data_out % DISK_SECTOR || xfer(d, b, false, pos, data_out))
			status = BLK_S_IOERR;
		b->writes++;
		break;
	case BLK_T_FLUSH:
		if (disk__flush(b->disk))
			status = BLK_S_IOERR;
		b->flushes++;
		break;
	case BLK_T_GET_ID: {
		char id[20] = "rrvm-disk";
		written = (uint32_t)virtq__write(c, &d->vm->mem, 0, id, data_in < 20 ? (size_t)data_in : 20);
		break;
	}
	default:
		status = BLK_S_UNSUPP;
		break;
	}
	virtq__write(c, &d->vm->mem, c->in_len - 1, &status, 1);
	virtio__push(d, 0, written + 1);
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk *b = d->priv;
	while (q == 0 && virtio__pop(d, 0) == 1)
		blk_request(d, b);
}

/* Saved: where replay's write log stands (core/disk.h), so a replay
 * session's snapshot restore also rewinds the disk. A live VM's disk
 * contents are not part of snapshots yet: once the guest has written the
 * disk, a live snapshot is refused (it would restore RAM that disagrees
 * with the disk). */
static int blk_save(struct virtio_dev *d, struct ds_out *o)
{
	struct blk *b = d->priv;
	if (!d->vm->cfg.replay && b->writes) {
		fprintf(stderr, "rrvm: virtio-blk: the guest has written the disk; disk contents are not part of "
				"live snapshots yet, so this VM cannot be snapshotted\n");
		return -ENOTSUP;
	}
	ds__u64(o, disk__replay_pos(b->disk));
	return 0;
}

static int blk_restore(struct virtio_dev *d, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	struct blk *b = d->priv;
	uint64_t pos = ds__g64(in);
	DS_CHECK(in->bad || disk__replay_rewind(b->disk, pos, false) == 0, err, d->name,
		 "disk write position this replay has not reached");
	if (apply && !in->bad)
		disk__replay_rewind(b->disk, pos, true);
	return 0;
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *b = d->priv;
	if (!b)
		return;
	disk__close(b->disk);
	free(b);
}

static const struct virtio_ops blk_ops = {
	.kind = "virtio-blk", .device_id = 2, .class_code = 0x018000, .nr_queues = 1, .queue_max = 256,
	.features = (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_FLUSH),
	.cfg_read = blk_cfg_read, .notify = blk_notify, .save = blk_save, .restore = blk_restore, .destroy = blk_destroy,
};
static const struct virtio_ops blk_ro_ops = {
	.kind = "virtio-blk", .device_id = 2, .class_code = 0x018000, .nr_queues = 1, .queue_max = 256,
	.features = (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_FLUSH) | (1ull << BLK_F_RO),
	.cfg_read = blk_cfg_read, .notify = blk_notify, .save = blk_save, .restore = blk_restore, .destroy = blk_destroy,
};

int virtio_blk__create(struct vm *vm, unsigned slot, struct rrvm_err *err)
{
	const struct vm_config *c = &vm->cfg;
	struct blk *b = calloc(1, sizeof(*b));
	if (!b)
		return err__set(err, -ENOMEM, "virtio-blk: out of memory");
	struct disk_opts o = {
		.path = c->disk, .ro = c->disk_ro, .overlay = c->disk_overlay, .undo = c->disk_undo,
		.mode = c->replay ? DISK_REPLAY : c->disk_overlay ? DISK_OVERLAY : DISK_IN_PLACE,
	};
	int rc = disk__open(&b->disk, &o, err);
	if (rc) {
		free(b);
		return rc;
	}
	if (c->replay && c->disk_sha256) {
		/* Replay reads the image as it was when recording started. */
		uint8_t sum[32];
		if ((rc = disk__hash(b->disk, sum, err))) {
			blk_destroy(&(struct virtio_dev){ .priv = b });
			return rc;
		}
		if (memcmp(sum, c->disk_sha256, 32)) {
			char want[65], got[65];
			sha256__hex(c->disk_sha256, want);
			sha256__hex(sum, got);
			blk_destroy(&(struct virtio_dev){ .priv = b });
			return err__set(err, -EBADMSG, "--disk %s has changed since it was recorded (sha256 %s%s, recorded %s): "
					"refusing to replay", c->disk, got, c->disk_undo ? " with the trace's undo journal" : "",
					want);
		}
	}
	return virtio__create(vm, slot, "virtio-blk", c->disk_ro ? &blk_ro_ops : &blk_ops, b, NULL, err);
}

int virtio__record_start(struct vm *vm, const char *dir, struct rrvm_err *err)
{
	if (!vm->pci || !vm->cfg.disk || !vm->pci->present[1])
		return 0;
	struct virtio_dev *d = vm->pci->fn[1].dev;
	struct blk *b = d->priv;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, DISK_UNDO_NAME);
	return disk__start_undo(b->disk, path, err);
}
