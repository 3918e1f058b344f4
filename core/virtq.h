/* virtq.h — split virtqueues (virtio 1.x §2.7): validated descriptor chains over guest RAM. */
#ifndef RRVM_VIRTQ_H
#define RRVM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define VIRTQ_MAX_SIZE    256u    /* largest queue a device offers (power of two) */
#define VIRTQ_MAX_BUFS    VIRTQ_MAX_SIZE /* buffers in one chain, indirect included */
/* Entries in one indirect table: fixed, whatever the queue size (Linux puts
 * up to seg_max + 2 entries in one table even on a smaller queue). */
#define VIRTQ_MAX_INDIRECT VIRTQ_MAX_SIZE

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

/* A queue as the driver configured it: plain fixed-width fields (saved state). */
struct virtq {
	uint64_t desc, avail, used;   /* guest-physical ring addresses */
	uint16_t size;                /* entries (power of two, <= VIRTQ_MAX_SIZE) */
	uint16_t max_size;            /* what the device offers */
	uint16_t enabled;             /* queue_enable was written 1 */
	uint16_t last_avail;          /* next avail->ring entry the device takes */
	uint16_t used_idx;            /* next used->ring entry the device fills */
	uint16_t msix_vector;         /* as written (no MSI-X: never used) */
	uint16_t broken;              /* the driver broke the protocol: no more processing */
	uint16_t pad;
};

/* One guest buffer of a chain: [gpa, gpa+len) lies inside one RAM region. */
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	uint32_t write;               /* device-writable */
};

struct virtq_chain {
	uint16_t head;                /* descriptor index to return in the used ring */
	uint32_t n;                   /* buffers: readable ones first, then writable */
	uint32_t n_out;               /* readable (driver -> device) buffers */
	uint64_t out_len, in_len;     /* total readable / writable bytes */
	struct virtq_buf buf[VIRTQ_MAX_BUFS];
};

/* Takes the next available chain and validates it completely: the head and
 * every next index below size, no descriptor visited twice (a loop), at most
 * one level of indirection with a table inside RAM, a multiple of 16 bytes
 * and at most VIRTQ_MAX_INDIRECT entries, every buffer inside one RAM region,
 * writable buffers only after readable ones, and the avail index at most
 * `size` ahead of the device. Returns 1 with *c filled, 0 when nothing is
 * available, or -EINVAL with a one-line reason in why (the queue is then
 * marked broken and every later call returns -EINVAL). Never reads or writes
 * outside guest RAM, and takes O(size + VIRTQ_MAX_INDIRECT) steps. */
int virtq__pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c, char *why, size_t whylen);

/* Returns chain `head` to the driver with `written` bytes written into its
 * writable buffers. 0, or -EINVAL when the used ring is not in RAM (queue
 * marked broken). */
int virtq__push(struct virtq *q, struct guest_mem *m, uint16_t head, uint32_t written);

/* True when the driver asked for no interrupt (avail flags bit 0). */
bool virtq__no_interrupt(const struct virtq *q, const struct guest_mem *m);

/* Copies up to `len` readable bytes of the chain starting at byte `off` into
 * dst; returns the count copied. */
size_t virtq__read(const struct virtq_chain *c, const struct guest_mem *m, uint64_t off, void *dst, size_t len);
/* Copies up to `len` bytes into the chain's writable buffers starting at byte
 * `off` of the writable part; returns the count copied. */
size_t virtq__write(const struct virtq_chain *c, struct guest_mem *m, uint64_t off, const void *src, size_t len);

#endif
