/* virtio_console.c — virtio console (Linux hvc0): guest output in whole buffers, one exit per notify. */
#include "core/virtio.h"

#include <errno.h>
#include <stdlib.h>

#include "core/vm.h"

#define CON_RX 0
#define CON_TX 1
#define CON_CHUNK 4096u

struct con {
	uint8_t buf[CON_CHUNK];
	uint64_t bytes_out;
};

static void con_notify(struct virtio_dev *d, unsigned q)
{
	struct con *c = d->priv;
	if (q != CON_TX)
		return;       /* receive buffers wait: console input still goes to the UART (README) */
	while (virtio__pop(d, CON_TX) == 1) {
		const struct virtq_chain *ch = &d->chain;
		for (uint64_t off = 0; off < ch->out_len;) {
			size_t n = virtq__read(ch, &d->vm->mem, off, c->buf, CON_CHUNK);
			if (!n)
				break;
			vm__console_write(d->vm, c->buf, n);
			off += n;
		}
		c->bytes_out += ch->out_len;
		virtio__push(d, CON_TX, 0);
	}
}

static void con_destroy(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_ops con_ops = {
	.kind = "virtio-console", .device_id = 3, .class_code = 0x078000, .nr_queues = 2, .queue_max = 128,
	.notify = con_notify, .destroy = con_destroy,
};

int virtio_console__create(struct vm *vm, unsigned slot, struct rrvm_err *err)
{
	struct con *c = calloc(1, sizeof(*c));
	if (!c)
		return err__set(err, -ENOMEM, "virtio-console: out of memory");
	return virtio__create(vm, slot, "virtio-console", &con_ops, c, NULL, err);
}
