/* virtio_rng.c — virtio entropy device fed by getrandom(2); the bytes are recorded and replayed (TR_DMA). */
#include "core/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "core/vm.h"

#define RNG_MAX_REQUEST 4096u    /* bytes served per request at most */

struct rng {
	uint8_t buf[RNG_MAX_REQUEST];
	uint64_t bytes;
};

static int fill_random(void *ctx, uint8_t *buf, uint32_t len)
{
	(void)ctx;
	while (len) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (uint32_t)n;
	}
	return 0;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	while (q == 0 && virtio__pop(d, 0) == 1) {
		const struct virtq_chain *c = &d->chain;
		uint32_t written = 0;
		/* Buffer by buffer, so each TR_DMA names where its bytes went. */
		for (uint32_t i = c->n_out; i < c->n && written < RNG_MAX_REQUEST; i++) {
			uint32_t n = c->buf[i].len;
			if (n > RNG_MAX_REQUEST - written)
				n = RNG_MAX_REQUEST - written;
			if (virtio__input(d, c->buf[i].gpa, r->buf, n, fill_random, NULL))
				return;
			mem__write(&d->vm->mem, c->buf[i].gpa, r->buf, n);
			written += n;
		}
		r->bytes += written;
		virtio__push(d, 0, written);
	}
}

static void rng_destroy(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_ops rng_ops = {
	.kind = "virtio-rng", .device_id = 4, .class_code = 0x00ff00, .nr_queues = 1, .queue_max = 64,
	.notify = rng_notify, .destroy = rng_destroy,
};

int virtio_rng__create(struct vm *vm, unsigned slot, struct rrvm_err *err)
{
	struct rng *r = calloc(1, sizeof(*r));
	if (!r)
		return err__set(err, -ENOMEM, "virtio-rng: out of memory");
	return virtio__create(vm, slot, "virtio-rng", &rng_ops, r, NULL, err);
}
