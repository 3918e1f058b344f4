/* virtq.c — split virtqueue engine: takes and validates descriptor chains, fills the used ring. */
#include "core/virtq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The host is x86 (little-endian, as virtio 1.x rings are); loads go through
 * memcpy so unaligned guest layouts are harmless. */
static uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static void rd_desc(const uint8_t *table, uint32_t i, struct desc *d)
{
	const uint8_t *p = table + 16u * i;
	d->addr = ld64(p);
	d->len = ld32(p + 8);
	d->flags = ld16(p + 12);
	d->next = ld16(p + 14);
}

static int fail(struct virtq *q, char *why, size_t whylen, const char *msg, uint64_t a, uint64_t b)
{
	q->broken = 1;
	if (why && whylen)
		snprintf(why, whylen, msg, (unsigned long long)a, (unsigned long long)b);
	return -EINVAL;
}

/* Adds one data buffer after checking it against RAM and the ordering rule. */
static int add_buf(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c, const struct desc *d,
		   char *why, size_t whylen)
{
	bool w = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
	if (d->len == 0)
		return 0;
	if (!mem__ptr(m, d->addr, d->len))
		return fail(q, why, whylen, "buffer 0x%llx+0x%llx is not inside guest RAM", d->addr, d->len);
	if (!w && c->n > c->n_out)
		return fail(q, why, whylen, "readable buffer 0x%llx after a writable one (chain head %llu)",
			    d->addr, c->head);
	if (c->n >= VIRTQ_MAX_BUFS)
		return fail(q, why, whylen, "chain longer than %llu buffers (head %llu)", VIRTQ_MAX_BUFS, c->head);
	c->buf[c->n++] = (struct virtq_buf){ .gpa = d->addr, .len = d->len, .write = w };
	if (w)
		c->in_len += d->len;
	else {
		c->n_out++;
		c->out_len += d->len;
	}
	return 0;
}

static int walk_indirect(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c,
			 const struct desc *ind, char *why, size_t whylen)
{
	if (ind->len == 0 || ind->len % 16 || ind->len / 16 > VIRTQ_MAX_INDIRECT)
		return fail(q, why, whylen, "indirect table of %llu bytes (multiple of 16, at most %llu entries)",
			    ind->len, VIRTQ_MAX_INDIRECT);
	const uint8_t *table = mem__ptr(m, ind->addr, ind->len);
	if (!table)
		return fail(q, why, whylen, "indirect table 0x%llx+0x%llx is not inside guest RAM", ind->addr, ind->len);
	uint32_t n = ind->len / 16, i = 0;
	uint64_t seen[VIRTQ_MAX_INDIRECT / 64] = { 0 };
	for (;;) {
		if (seen[i / 64] & (1ull << (i % 64)))
			return fail(q, why, whylen, "indirect descriptor %llu visited twice (a loop, head %llu)", i, c->head);
		seen[i / 64] |= 1ull << (i % 64);
		struct desc d;
		rd_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return fail(q, why, whylen, "nested indirect table at entry %llu (head %llu)", i, c->head);
		int rc = add_buf(q, m, c, &d, why, whylen);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return fail(q, why, whylen, "indirect next index %llu outside a table of %llu", d.next, n);
		i = d.next;
	}
}

int virtq__pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c, char *why, size_t whylen)
{
	if (q->broken) {
		if (why && whylen)
			snprintf(why, whylen, "queue is broken (the driver must reset the device)");
		return -EINVAL;
	}
	if (!q->enabled || !q->size)
		return 0;
	const uint8_t *avail = mem__ptr(m, q->avail, 4 + 2ull * q->size);
	const uint8_t *table = mem__ptr(m, q->desc, 16ull * q->size);
	if (!avail || !table)
		return fail(q, why, whylen, "ring at 0x%llx / 0x%llx is not inside guest RAM", q->avail, q->desc);
	uint16_t idx = ld16(avail + 2);
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return fail(q, why, whylen, "avail index %llu is more than a queue ahead of %llu", idx, q->last_avail);
	uint16_t head = ld16(avail + 4 + 2u * (q->last_avail % q->size));
	q->last_avail++;
	c->head = head;
	c->n = c->n_out = 0;
	c->out_len = c->in_len = 0;
	if (head >= q->size)
		return fail(q, why, whylen, "head descriptor %llu outside a queue of %llu", head, q->size);
	uint64_t seen[VIRTQ_MAX_SIZE / 64] = { 0 };
	uint32_t i = head;
	for (uint32_t steps = 0;; steps++) {
		if (seen[i / 64] & (1ull << (i % 64)))
			return fail(q, why, whylen, "descriptor %llu visited twice (a loop, head %llu)", i, head);
		seen[i / 64] |= 1ull << (i % 64);
		struct desc d;
		rd_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (steps || (d.flags & VIRTQ_DESC_F_NEXT))
				return fail(q, why, whylen, "indirect descriptor %llu must be the whole chain (head %llu)",
					    i, head);
			return walk_indirect(q, m, c, &d, why, whylen) ? -EINVAL : 1;
		}
		if (add_buf(q, m, c, &d, why, whylen))
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (d.next >= q->size)
			return fail(q, why, whylen, "next index %llu outside a queue of %llu", d.next, q->size);
		i = d.next;
	}
}

int virtq__push(struct virtq *q, struct guest_mem *m, uint16_t head, uint32_t written)
{
	uint8_t *used = mem__ptr(m, q->used, 4 + 8ull * q->size);
	if (!used || !q->size) {
		q->broken = 1;
		return -EINVAL;
	}
	uint8_t *e = used + 4 + 8u * (q->used_idx % q->size);
	st32(e, head);
	st32(e + 4, written);
	q->used_idx++;
	st16(used + 2, q->used_idx);
	mem__mark_dirty(m, q->used + 2, 2);
	mem__mark_dirty(m, q->used + 4 + 8u * (uint32_t)((q->used_idx - 1) % q->size), 8);
	return 0;
}

bool virtq__no_interrupt(const struct virtq *q, const struct guest_mem *m)
{
	const uint8_t *avail = mem__ptr(m, q->avail, 2);
	return avail && (ld16(avail) & 1);
}

size_t virtq__read(const struct virtq_chain *c, const struct guest_mem *m, uint64_t off, void *dst, size_t len)
{
	size_t done = 0;
	for (uint32_t i = 0; i < c->n_out && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t n = b->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, (const uint8_t *)mem__ptr(m, b->gpa, b->len) + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq__write(const struct virtq_chain *c, struct guest_mem *m, uint64_t off, const void *src, size_t len)
{
	size_t done = 0;
	for (uint32_t i = c->n_out; i < c->n && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t n = b->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)mem__ptr(m, b->gpa, b->len) + off, (const uint8_t *)src + done, n);
		mem__mark_dirty(m, b->gpa + off, n);
		done += n;
		off = 0;
	}
	return done;
}
