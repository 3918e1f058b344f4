/* virtio.c — the `virtio` scenario: a small virtio-pci driver for blk, rng and console (INTx on the 8259). */
#include "kernel.h"

#define VQ_SIZE 16

static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static u32 pci_read(int slot, int reg)
{
	outl(0xcf8, 0x80000000u | (u32)slot << 11 | (u32)(reg & 0xfc));
	return inl(0xcfc);
}

static u8 r8(volatile u8 *b, u32 off) { return *(volatile u8 *)(b + off); }
static u16 r16(volatile u8 *b, u32 off) { return *(volatile u16 *)(b + off); }
static u32 r32(volatile u8 *b, u32 off) { return *(volatile u32 *)(b + off); }
static void w8(volatile u8 *b, u32 off, u8 v) { *(volatile u8 *)(b + off) = v; }
static void w16(volatile u8 *b, u32 off, u16 v) { *(volatile u16 *)(b + off) = v; }
static void w32(volatile u8 *b, u32 off, u32 v) { *(volatile u32 *)(b + off) = v; }

struct desc { u64 addr; u32 len; u16 flags, next; };
struct vq {
	u16 size, index, avail_idx, last_used;
	volatile struct desc *desc;
	volatile u16 *avail;      /* flags, idx, ring[] */
	volatile u32 *used;       /* flags|idx, then {id, len} pairs */
	volatile u8 *notify;
};

struct vdev {
	const char *name;
	int slot, irq, type;
	volatile u8 *common, *isr, *devcfg, *notify;
	u32 notify_mult;
	struct vq q[2];
	volatile u64 irqs;
};

static struct vdev devs[3];
static int ndevs;
static u8 ring_mem[6][4096] __attribute__((aligned(4096)));
static int rings_used;

static void fail(const char *what);

static void on_irq(int irq)
{
	for (int i = 0; i < ndevs; i++) {
		if (devs[i].irq != irq)
			continue;
		u8 isr = r8(devs[i].isr, 0);
		if (isr & 2)      /* configuration change: here only NEEDS_RESET */
			fail(r8(devs[i].common, 0x14) & 0x40 ? "device needs reset (it refused a request)"
							     : "unexpected configuration change");
		if (isr & 1)
			devs[i].irqs++;
	}
}

static void unmask(int irq)
{
	if (irq >= 8) {
		outb(0xa1, inb(0xa1) & (u8) ~(1u << (irq - 8)));
		irq = 2;
	}
	outb(0x21, inb(0x21) & (u8) ~(1u << irq));
}

static int find_caps(struct vdev *d)
{
	u32 bar = pci_read(d->slot, 0x10) & ~0xfu;
	map_mmio(bar);
	volatile u8 *base = (volatile u8 *)(u64)bar;
	for (u32 p = pci_read(d->slot, 0x34) & 0xff; p; p = (pci_read(d->slot, (int)p) >> 8) & 0xff) {
		u32 h = pci_read(d->slot, (int)p);
		if ((h & 0xff) != 0x09)
			continue;
		u32 type = (h >> 24) & 0xff, off = pci_read(d->slot, (int)p + 8);
		if ((pci_read(d->slot, (int)p + 4) & 0xff) != 0)
			continue;     /* only BAR 0 */
		if (type == 1) d->common = base + off;
		if (type == 2) { d->notify = base + off; d->notify_mult = pci_read(d->slot, (int)p + 16); }
		if (type == 3) d->isr = base + off;
		if (type == 4) d->devcfg = base + off;
	}
	return d->common && d->notify && d->isr;
}

static int setup_queue(struct vdev *d, int qi)
{
	struct vq *q = &d->q[qi];
	w16(d->common, 0x16, (u16)qi);
	u16 max = r16(d->common, 0x18);
	if (!max || (!q->desc && rings_used == 6))
		return 0;
	q->size = max < VQ_SIZE ? max : VQ_SIZE;
	q->index = (u16)qi;
	u8 *mem = q->desc ? (u8 *)q->desc : ring_mem[rings_used++];   /* a reset device keeps its rings */
	q->desc = (volatile struct desc *)mem;
	q->avail = (volatile u16 *)(mem + 16 * VQ_SIZE);
	q->used = (volatile u32 *)(mem + 2048);
	w16(d->common, 0x18, q->size);
	w32(d->common, 0x20, (u32)(u64)q->desc);
	w32(d->common, 0x24, 0);
	w32(d->common, 0x28, (u32)(u64)q->avail);
	w32(d->common, 0x2c, 0);
	w32(d->common, 0x30, (u32)(u64)q->used);
	w32(d->common, 0x34, 0);
	q->notify = d->notify + r16(d->common, 0x1e) * d->notify_mult;
	w16(d->common, 0x1c, 1);
	return 1;
}

static int dev_init(struct vdev *d, u32 feature_lo, int nq)
{
	if (!find_caps(d))
		return 0;
	w8(d->common, 0x14, 0);                 /* reset */
	w8(d->common, 0x14, 1 | 2);             /* ACKNOWLEDGE | DRIVER */
	w32(d->common, 0x00, 1);
	if (!(r32(d->common, 0x04) & 1))        /* VIRTIO_F_VERSION_1 */
		return 0;
	w32(d->common, 0x08, 0);
	w32(d->common, 0x0c, feature_lo);
	w32(d->common, 0x08, 1);
	w32(d->common, 0x0c, 1);
	w8(d->common, 0x14, 1 | 2 | 8);
	if (!(r8(d->common, 0x14) & 8))
		return 0;
	for (int i = 0; i < nq; i++)
		if (!setup_queue(d, i))
			return 0;
	w8(d->common, 0x14, 1 | 2 | 8 | 4);     /* DRIVER_OK */
	unmask(d->irq);
	return 1;
}

struct buf { u64 addr; u32 len; int write; };

/* Submits one chain, notifies, and sleeps until the device's interrupt. */
static u32 submit(struct vdev *d, int qi, const struct buf *b, int n)
{
	struct vq *q = &d->q[qi];
	for (int i = 0; i < n; i++) {
		q->desc[i].addr = b[i].addr;
		q->desc[i].len = b[i].len;
		q->desc[i].flags = (u16)((b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0));
		q->desc[i].next = (u16)(i + 1);
	}
	q->avail[2 + q->avail_idx % q->size] = 0;
	barrier();
	q->avail[1] = ++q->avail_idx;
	barrier();
	u64 before = d->irqs;
	*(volatile u16 *)q->notify = q->index;
	while (d->irqs == before)
		sti_hlt();
	u16 used_idx = ((volatile u16 *)q->used)[1];
	if (used_idx != (u16)(q->last_used + 1)) {
		kprintf("virtio: %s: used index %u, expected %u\n", d->name, used_idx, q->last_used + 1);
		kprintf("RRVM-TEST virtio: FAIL\n");
		poweroff(EXIT_CHECK);
	}
	u32 len = q->used[2 + 2 * (q->last_used % q->size)];
	q->last_used++;
	return len;
}

static struct vdev *find(int type)
{
	for (int i = 0; i < ndevs; i++)
		if (devs[i].type == type)
			return &devs[i];
	return NULL;
}

static void fail(const char *what)
{
	kprintf("virtio: %s\n", what);
	kprintf("RRVM-TEST virtio: FAIL\n");
	poweroff(EXIT_CHECK);
}

static u8 sector[512] __attribute__((aligned(512)));
static u8 big[65536] __attribute__((aligned(4096)));

static int blk_io(struct vdev *d, int write, u64 lba, void *data, u32 len)
{
	static struct { u32 type, reserved; u64 sector; } hdr;
	static u8 status;
	hdr.type = write ? 1 : 0;
	hdr.sector = lba;
	status = 0xff;
	struct buf b[3] = {
		{ (u64)&hdr, 16, 0 }, { (u64)data, len, !write }, { (u64)&status, 1, 1 },
	};
	submit(d, 0, b, 3);
	return status;
}

static void hex(const u8 *p, int n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* The virtio-pci devices on bus 0 (up to 3) into devs[]. */
static void probe(void)
{
	static const char *const names[] = { [2] = "blk", [3] = "console", [4] = "rng" };
	for (int slot = 0; slot < 32 && ndevs < 3; slot++) {
		u32 id = pci_read(slot, 0);
		if ((id & 0xffff) != 0x1af4 || (id >> 16) < 0x1042 || (id >> 16) > 0x1044)
			continue;
		struct vdev *d = &devs[ndevs++];
		d->slot = slot;
		d->type = (int)(id >> 16) - 0x1040;
		d->name = names[d->type];
		d->irq = (int)(pci_read(slot, 0x3c) & 0xff);
	}
}

/* blk: FLUSH and INDIRECT_DESC; the console has two queues. */
static u32 dev_features(const struct vdev *d) { return d->type == 2 ? (1u << 9) | (1u << 28) : 0; }
static int dev_queues(const struct vdev *d) { return d->type == 3 ? 2 : 1; }

void scenario_virtio(void)
{
	opt_check("mib conkib con");
	u64 mib = opt_get("mib", 0), conkib = opt_get("conkib", 0);
	const char *con = opt_str("con", "virtio");
	g_irq_hook = on_irq;
	probe();
	for (int i = 0; i < ndevs; i++) {
		struct vdev *d = &devs[i];
		kprintf("virtio: found %s at 00:%02x.0 irq %d\n", d->name, d->slot, d->irq);
		if (!dev_init(d, dev_features(d), dev_queues(d)))
			fail("device initialisation failed");
	}
	if (!ndevs)
		fail("no virtio devices on PCI bus 0");

	char hx[80];
	u8 rnd[32];
	struct vdev *rng = find(4), *blk = find(2), *cons = find(3);
	if (rng) {
		struct buf b = { (u64)rnd, sizeof(rnd), 1 };
		u32 n = submit(rng, 0, &b, 1);
		hex(rnd, 32, hx);
		kprintf("virtio: rng %u bytes %s\n", n, hx);
	}
	if (blk) {
		u64 cap = r32(blk->devcfg, 0) | (u64)r32(blk->devcfg, 4) << 32;
		kprintf("virtio: blk capacity %llu sectors\n", cap);
		if (blk_io(blk, 0, 0, sector, 512))
			fail("blk: read of sector 0 failed");
		char sig[17];
		for (int i = 0; i < 16; i++)
			sig[i] = sector[i] >= 32 && sector[i] < 127 ? (char)sector[i] : '.';
		sig[16] = 0;
		kprintf("virtio: blk sector 0: %s\n", sig);
		/* 64 KiB from sector 0 through one indirect table of 130 entries
		 * (header, 128 sectors, status), as Linux builds for big requests. */
		{
			static struct desc ind[130] __attribute__((aligned(16)));
			static struct { u32 type, reserved; u64 sector; } ih = { 0, 0, 0 };
			static u8 ist;
			ist = 0xff;
			ind[0] = (struct desc){ (u64)&ih, 16, 1, 1 };
			for (int i = 0; i < 128; i++)
				ind[1 + i] = (struct desc){ (u64)big + 512u * (u32)i, 512, 2 | 1, (u16)(2 + i) };
			ind[129] = (struct desc){ (u64)&ist, 1, 2, 0 };
			struct buf ib = { (u64)ind, sizeof(ind), 0 };
			struct vq *q = &blk->q[0];
			q->desc[0].addr = ib.addr;
			q->desc[0].len = ib.len;
			q->desc[0].flags = 4;     /* INDIRECT */
			q->desc[0].next = 0;
			q->avail[2 + q->avail_idx % q->size] = 0;
			barrier();
			q->avail[1] = ++q->avail_idx;
			barrier();
			u64 before = blk->irqs;
			*(volatile u16 *)q->notify = q->index;
			while (blk->irqs == before)
				sti_hlt();
			q->last_used++;
			if (ist != 0 || memcmp(big, sector, 512))   /* sector 0, read above */
				fail("blk: 64 KiB read through an indirect table failed");
			kprintf("virtio: blk read 64 KiB through a 130-entry indirect table: ok\n");
		}
		/* Sector 1: a line carrying this run's entropy (or a fixed one). */
		memset(sector, 0, 512);
		memcpy(sector, "RRVM-WRITE ", 11);
		hex(rnd, 8, (char *)sector + 11);
		sector[27] = '\n';
		if (blk_io(blk, 1, 1, sector, 512))
			fail("blk: write of sector 1 failed");
		memset(sector, 0, 512);
		if (blk_io(blk, 0, 1, sector, 512))
			fail("blk: read of sector 1 failed");
		hex(rnd, 8, hx);
		if (memcmp(sector, "RRVM-WRITE ", 11) || memcmp(sector + 11, hx, 16))
			fail("blk: sector 1 did not read back what was written");
		sector[27] = 0;
		kprintf("virtio: blk wrote and read back sector 1: %s\n", (char *)sector);
		static struct { u32 type, reserved; u64 sector; } fl = { 4, 0, 0 };
		static u8 st = 0xff;
		struct buf b[2] = { { (u64)&fl, 16, 0 }, { (u64)&st, 1, 1 } };
		submit(blk, 0, b, 2);
		kprintf("virtio: blk flush status %u\n", st);
		if (mib) {
			if (2048 + mib * 2048 > cap)
				fail("blk: mib= does not fit on the disk after its first MiB");
			for (u64 i = 0; i < mib * 16; i++)
				if (blk_io(blk, 1, 2048 + i * 128, big, sizeof(big)))
					fail("blk: bench write failed");
			for (u64 i = 0; i < mib * 16; i++)
				if (blk_io(blk, 0, 2048 + i * 128, big, sizeof(big)))
					fail("blk: bench read failed");
			kprintf("virtio: blk bench wrote and read %llu MiB in 64 KiB requests\n", mib);
		}
	}
	if (cons) {
		static const char msg[] = "virtio-console: hello from the test kernel over hvc\n";
		struct buf b = { (u64)msg, sizeof(msg) - 1, 0 };
		submit(cons, 1, &b, 1);
		kprintf("virtio: console sent %u bytes\n", (u32)sizeof(msg) - 1);
	}
	if (conkib) {
		/* 1 KiB of text: 16 lines of 64 bytes. */
		for (int i = 0; i < 1024; i++)
			big[i] = (i % 64) == 63 ? '\n' : (u8)('a' + (i / 64));
		for (u64 k = 0; k < conkib; k++) {
			if (streq(con, "uart")) {
				serial_write((const char *)big, 1024);
			} else if (cons) {
				struct buf b = { (u64)big, 1024, 0 };
				submit(cons, 1, &b, 1);
			} else {
				fail("con=virtio needs the virtio console");
			}
		}
		kprintf("virtio: console bench sent %llu KiB through %s\n", conkib, con);
	}
	kprintf("virtio: interrupts");
	for (int i = 0; i < ndevs; i++)
		kprintf(" %s=%llu", devs[i].name, devs[i].irqs);
	kprintf("\n");
	kprintf("RRVM-TEST virtio: ok\n");
}

/* ---- the hostile scenario's virtio attack (hostile.c) ----
 * Garbage descriptor chains into initialised queues: random addresses, lengths,
 * flags and next links (loops, out-of-range indices, indirect tables, chains that
 * run past RAM or wrap around the address space), random avail entries and index
 * jumps, notifies of queues that do not exist, resets mid-request. The rule that
 * keeps the kernel alive: a descriptor the device may write (and any indirect
 * table) points into `scratch` or outside RAM; everything else may point
 * anywhere. Interrupts stay off: the requests are never waited for. */
static u8 hscratch[65536] __attribute__((aligned(4096)));     /* the devices may write here */
static struct desc itab[256] __attribute__((aligned(16)));    /* indirect tables, only the guest writes */
static int hready;
u64 g_virtio_resets;

int virtio_hostile_init(void)
{
	probe();
	for (int i = 0; i < ndevs; i++)
		if (dev_init(&devs[i], dev_features(&devs[i]), dev_queues(&devs[i])))
			hready |= 1 << i;
	return ndevs;
}

/* A length: mostly small, sometimes up to `room`, sometimes anything. */
static u32 hlen(u64 r, u32 room)
{
	switch (r % 8) {
	case 0: return 0;
	case 1: return (u32)(r >> 8);
	case 2: case 3: return room ? (u32)((r >> 8) % room) + 1 : 0;
	default: return (u32)((r >> 8) % 64) + 1;
	}
}

/* One descriptor by the rule above; `table` allows an indirect one. */
static struct desc hdesc(u64 (*rnd)(void), u16 size, int table)
{
	u64 r = rnd(), a = rnd();
	u64 top = g_ram_top;
	struct desc d = { 0, 0, (u16)(rnd() & 1), (u16)(r & 0x100 ? (r >> 16) : (r >> 16) % size) };
	int writable = 1;
	switch ((r >> 4) % 8) {
	case 0: case 1: case 2: {           /* scratch */
		u32 off = (u32)(a % sizeof(hscratch));
		d.addr = (u64)hscratch + off;
		d.len = hlen(a >> 16, (u32)sizeof(hscratch) - off);
		if (d.len > sizeof(hscratch) - off)
			d.len = (u32)sizeof(hscratch) - off;
		break;
	}
	case 3:                             /* beyond RAM: the PCI hole, high memory, the top */
		d.addr = a & 1 ? top + (a >> 8) % 0x100000000ull : a & 2 ? a >> 12 << 12 : ~0ull - (a >> 8) % 4096;
		if (d.addr < top)
			d.addr = top;
		d.len = hlen(a >> 16, 0xffffffffu);
		break;
	case 4:                             /* straddling the end of RAM (read-only) */
		d.addr = top - 1 - (a >> 8) % 4096;
		d.len = hlen(a >> 20, 65536);
		writable = 0;
		break;
	case 5:                             /* the kernel's own memory (read-only) */
		d.addr = 0x100000 + (a >> 8) % 0x100000;
		d.len = (u32)((a >> 24) % 512);
		writable = 0;
		break;
	case 6:                             /* low memory and address 0 (read-only) */
		d.addr = a & 1 ? 0 : (a >> 8) % 0x100000;
		d.len = hlen(a >> 24, 4096);
		writable = 0;
		break;
	default:                            /* an indirect table, or scratch again */
		if (table) {
			u32 n = (u32)(a % 256);
			d.addr = (u64)&itab[(a >> 8) % 256];
			d.len = a & 0x10000 ? (u32)(a >> 20) : n * 16;   /* sometimes not a multiple of 16 */
			u64 room = (u64)&itab[256] - d.addr;
			if (d.len > room)
				d.len = (u32)room;
			d.flags = 4 | (u16)(a >> 40 & 3);   /* with NEXT or WRITE too, now and then */
			if (!writable)
				d.flags &= (u16)~2;
			return d;
		}
		d.addr = (u64)hscratch;
		d.len = (u32)((a >> 8) % 64);
		break;
	}
	if (writable && (r & 0x200))
		d.flags |= 2;
	return d;
}

void virtio_hostile_op(u64 r, u64 (*rnd)(void))
{
	if (!hready)
		return;
	int di = (int)(r % 3);
	while (!(hready >> (di % 3) & 1))
		di++;
	struct vdev *d = &devs[di % 3];
	int qi = (int)((r >> 2) % (u64)dev_queues(d));
	struct vq *q = &d->q[qi];
	/* A device that refused the last request (NEEDS_RESET), or that garbage
	 * status left without DRIVER_OK, gets a reset, as a driver would do. */
	u8 st = r8(d->common, 0x14);
	int reset = (r >> 4) % 16 == 1 || (st & 0x40) || !(st & 4);
	if (reset) {                                /* mid-request, then a driver's set-up again */
		w8(d->common, 0x14, 0);
		for (int i = 0; i < dev_queues(d); i++)
			d->q[i].avail_idx = d->q[i].last_used = 0;
		g_virtio_resets++;
		/* Now and then with features the driver does not know (EVENT_IDX, ...). */
		if (!dev_init(d, (r & 0x2000 ? (u32)(r >> 32) : 0) | dev_features(d), dev_queues(d)) &&
		    (w8(d->common, 0x14, 0), !dev_init(d, dev_features(d), dev_queues(d)))) {
			hready &= ~(1 << (di % 3));   /* refused even the features it offers */
			return;
		}
	}
	switch ((r >> 4) % 16) {
	case 0:                                     /* a queue that is not there */
		*(volatile u16 *)q->notify = (u16)(r >> 16);
		return;
	case 2:                                     /* the device status, garbage */
		w8(d->common, 0x14, (u8)(r >> 16));
		return;
	default:
		break;
	}
	for (int i = 0; i < 256; i++)
		itab[i] = hdesc(rnd, 256, 0);
	for (u16 i = 0; i < q->size; i++)
		q->desc[i] = hdesc(rnd, q->size, 1);
	int heads = 1 + (int)((r >> 8) % 4);
	for (int i = 0; i < heads; i++)
		q->avail[2 + (q->avail_idx + i) % q->size] = (u16)(rnd() % 4 == 0 ? rnd() : rnd() % q->size);
	barrier();
	/* A jump of the index now and then: more buffers than the ring holds. */
	q->avail_idx = (u16)(q->avail_idx + ((r >> 12) % 8 == 0 ? (u16)(r >> 20) : (u16)heads));
	q->avail[1] = q->avail_idx;
	barrier();
	*(volatile u16 *)q->notify = q->index;
}
