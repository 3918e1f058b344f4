/* store.c — the snapshot store: KVM dirty log, page versions shared between snapshots, take, restore, drop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/devstate.h"
#include "core/vm.h"
#include "snapshot/snapshot.h"

/*
 * Memory model. Pages are numbered by their offset in the VM's one host
 * mapping (flat page numbers). Every snapshot s gets an entry (s's event,
 * data block) for each page written since the snapshot it was taken from
 * (its base: the last one taken or restored), and the first snapshot of a
 * store (or one loaded whole from a file) is "full": an entry for every
 * nonzero page. The content of page p at snapshot t is then the entry of p
 * with the greatest event <= t, not older than the latest full snapshot <=
 * t; no such entry means a zero page. This holds whatever order snapshots
 * are taken in (replay is deterministic: one timeline): a later entry at e
 * between t's base and t holds p's content at e, and p was not written
 * between e and t, or t would have its own entry.
 *
 * Blocks are reference-counted: an entry whose content equals what the
 * lookup would give anyway (the page was rewritten with the same bytes)
 * shares that block. Taking a snapshot costs the dirty pages only (KVM's
 * dirty log plus pages the monitor marked); restoring target t from base b
 * rewrites at most the pages written since b plus the pages with entries
 * between b and t (only those whose bytes differ are copied).
 *
 * Dropping snapshot t: its entries move to the next snapshot u when u has
 * none for that page (then p's content at u was the same), unless u is full.
 */

struct blk {
	uint8_t data[MEM_PAGE_SIZE];
	uint32_t refs;
	struct blk *next_free;
};

/* Blocks come from 2 MiB chunks mapped with MAP_POPULATE (one batch of page
 * faults, not one per page copied) and return to a free list: a store never
 * gives memory back before it is destroyed, and never grows past its
 * high-water mark (thinning bounds that). */
#define BLK_CHUNK 496u   /* blocks per chunk: 496 * 4112 bytes < 2 MiB */
struct chunk {
	struct chunk *next;
	struct blk blk[BLK_CHUNK];
};

struct pver {
	uint64_t event;
	struct blk *b;          /* NULL: a zero page */
};

struct pvec {
	uint32_t n, cap;
	struct pver v[];
};

struct snap_store {
	struct vm *vm;
	uint64_t npages;
	struct pvec **pv;       /* per flat page, entries sorted by event */
	uint64_t *dirty;        /* pages written since base: KVM's log ORed in, plus monitor writes */
	uint64_t *kbits;        /* scratch for KVM_GET_DIRTY_LOG */
	struct snapshot *head, *tail;
	struct snapshot *base;
	uint64_t next_id;
	uint64_t bytes;         /* page data held */
	uint32_t count;
	struct blk *free_blk;
	struct chunk *chunks;
};

static const uint8_t zero_page[MEM_PAGE_SIZE];

static void blk_put(struct snap_store *st, struct blk *b)
{
	if (b && --b->refs == 0) {
		st->bytes -= MEM_PAGE_SIZE;
		b->next_free = st->free_blk;
		st->free_blk = b;
	}
}

static struct blk *blk_new(struct snap_store *st, const uint8_t *data)
{
	if (!st->free_blk) {
		struct chunk *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (c == MAP_FAILED)
			return NULL;
		c->next = st->chunks;
		st->chunks = c;
		for (uint32_t i = BLK_CHUNK; i-- > 0;) {
			c->blk[i].next_free = st->free_blk;
			st->free_blk = &c->blk[i];
		}
	}
	struct blk *b = st->free_blk;
	st->free_blk = b->next_free;
	b->refs = 1;
	memcpy(b->data, data, MEM_PAGE_SIZE);
	st->bytes += MEM_PAGE_SIZE;
	return b;
}

/* The latest full snapshot's event at or before `event` (0 when none: a
 * full snapshot at 0 or none at all behave the same). */
static uint64_t barrier(const struct snap_store *st, uint64_t event)
{
	uint64_t f = 0;
	for (const struct snapshot *s = st->head; s && s->pos.event <= event; s = s->next)
		if (s->full)
			f = s->pos.event;
	return f;
}

/* Index of the entry of p in force at `event`, or -1 (zero page). */
static int64_t lookup(const struct snap_store *st, uint32_t p, uint64_t event, uint64_t floor)
{
	const struct pvec *v = st->pv[p];
	if (!v || !v->n)
		return -1;
	uint32_t lo = 0, hi = v->n;   /* first entry with event > `event` */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v->v[mid].event <= event)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || v->v[lo - 1].event < floor)
		return -1;
	return lo - 1;
}

const uint8_t *snap_store__page(struct snap_store *st, const struct snapshot *s, uint32_t page)
{
	if (page >= st->npages)
		return NULL;
	int64_t i = lookup(st, page, s->pos.event, barrier(st, s->pos.event));
	return i < 0 || !st->pv[page]->v[i].b ? NULL : st->pv[page]->v[i].b->data;
}

static int add_page_to_snapshot(struct snapshot *s, uint32_t p)
{
	if (s->n_pages == s->cap_pages) {
		uint32_t cap = s->cap_pages ? s->cap_pages * 2 : 256;
		uint32_t *n = realloc(s->pages, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->pages = n, s->cap_pages = cap;
	}
	s->pages[s->n_pages++] = p;
	return 0;
}

/* Inserts entry (event, b) for page p (taking the caller's reference).
 * Returns 1 if an entry at that event existed (b released), 0, -ENOMEM. */
static int entry_insert(struct snap_store *st, uint32_t p, uint64_t event, struct blk *b)
{
	struct pvec *v = st->pv[p];
	uint32_t pos = v ? v->n : 0;
	while (pos > 0 && v->v[pos - 1].event > event)
		pos--;
	if (pos > 0 && v->v[pos - 1].event == event) {
		blk_put(st, b);
		return 1;
	}
	if (!v || v->n == v->cap) {
		uint32_t cap = v ? v->cap * 2 : 2;
		struct pvec *n = realloc(v, sizeof(*n) + cap * sizeof(n->v[0]));
		if (!n)
			return -ENOMEM;
		if (!v)
			n->n = 0;
		n->cap = cap;
		st->pv[p] = v = n;
	}
	memmove(&v->v[pos + 1], &v->v[pos], (v->n - pos) * sizeof(v->v[0]));
	v->v[pos] = (struct pver){ event, b };
	v->n++;
	return 0;
}

static void entry_remove(struct snap_store *st, uint32_t p, uint64_t event, bool put)
{
	struct pvec *v = st->pv[p];
	for (uint32_t i = 0; v && i < v->n; i++) {
		if (v->v[i].event != event)
			continue;
		if (put)
			blk_put(st, v->v[i].b);
		memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof(v->v[0]));
		v->n--;
		return;
	}
}

static bool has_entry(const struct snap_store *st, uint32_t p, uint64_t event)
{
	const struct pvec *v = st->pv[p];
	for (uint32_t i = 0; v && i < v->n; i++)
		if (v->v[i].event == event)
			return true;
	return false;
}

/* ---- dirty tracking ---- */

static int set_logging(struct vm *vm, bool on)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region kr = {
			.slot = (uint32_t)i, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0, .guest_phys_addr = r->gpa,
			.memory_size = r->size, .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return -errno;
	}
	return 0;
}

/* ORs KVM's dirty log (pages the guest wrote since the last call) into st->dirty. */
static int sync_dirty(struct snap_store *st)
{
	struct vm *vm = st->vm;
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct mem_region *r = &vm->mem.region[i];
		uint64_t first = (uint64_t)(r->host - vm->mem.base) / MEM_PAGE_SIZE;
		uint64_t n = r->size / MEM_PAGE_SIZE;
		struct kvm_dirty_log log = { .slot = (uint32_t)i, .dirty_bitmap = st->kbits };
		memset(st->kbits, 0, (n + 63) / 64 * 8);
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		if (first % 64 == 0) {
			for (uint64_t w = 0; w < (n + 63) / 64; w++)
				st->dirty[first / 64 + w] |= st->kbits[w];
		} else {
			for (uint64_t pg = 0; pg < n; pg++)
				if (st->kbits[pg / 64] >> (pg % 64) & 1)
					st->dirty[(first + pg) / 64] |= 1ull << ((first + pg) % 64);
		}
	}
	return 0;
}

static int create(struct snap_store **out, struct vm *vm, uint64_t ram_bytes, struct rrvm_err *err)
{
	struct snap_store *st = calloc(1, sizeof(*st));
	if (!st)
		return err__set(err, -ENOMEM, "out of memory");
	st->vm = vm;
	st->npages = ram_bytes / MEM_PAGE_SIZE;
	uint64_t words = (st->npages + 63) / 64;
	st->pv = calloc(st->npages, sizeof(*st->pv));
	st->dirty = calloc(words, 8);
	st->kbits = calloc(words, 8);
	if (!st->pv || !st->dirty || !st->kbits) {
		uint64_t npages = st->npages;   /* the message must not read st after it is freed */
		snap_store__destroy(st);
		return err__set(err, -ENOMEM, "snapshot store: out of memory for %" PRIu64 " pages", npages);
	}
	if (vm) {
		int rc = set_logging(vm, true);
		if (rc) {
			snap_store__destroy(st);
			return err__set(err, rc, "snapshot store: cannot turn on KVM dirty logging: %s", strerror(-rc));
		}
		vm->mem.user_dirty = st->dirty;
	}
	*out = st;
	return 0;
}

int snap_store__create(struct snap_store **out, struct vm *vm, struct rrvm_err *err)
{
	return create(out, vm, vm->mem.size, err);
}

int snap_store__create_offline(struct snap_store **out, uint64_t ram_bytes, struct rrvm_err *err)
{
	return create(out, NULL, ram_bytes, err);
}

uint64_t snap_store__npages(const struct snap_store *st)
{
	return st->npages;
}

void snap__free(struct snapshot *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_dev; i++)
		free(s->dev[i].data);
	free(s->dev);
	free(s->pages);
	free(s);
}

void snap_store__destroy(struct snap_store *st)
{
	if (!st)
		return;
	if (st->vm && st->vm->mem.user_dirty == st->dirty) {
		st->vm->mem.user_dirty = NULL;
		set_logging(st->vm, false);
	}
	for (uint64_t p = 0; st->pv && p < st->npages; p++) {
		struct pvec *v = st->pv[p];
		for (uint32_t i = 0; v && i < v->n; i++)
			blk_put(st, v->v[i].b);
		free(v);
	}
	for (struct snapshot *s = st->head, *n; s; s = n) {
		n = s->next;
		snap__free(s);
	}
	for (struct chunk *c = st->chunks, *n; c; c = n) {
		n = c->next;
		munmap(c, sizeof(*c));
	}
	free(st->pv);
	free(st->dirty);
	free(st->kbits);
	free(st);
}

/* ---- the list ---- */

static void list_insert(struct snap_store *st, struct snapshot *s)
{
	struct snapshot *after = st->tail;
	while (after && after->pos.event > s->pos.event)
		after = after->prev;
	s->prev = after;
	s->next = after ? after->next : st->head;
	if (s->next)
		s->next->prev = s;
	else
		st->tail = s;
	if (after)
		after->next = s;
	else
		st->head = s;
	s->id = st->next_id++;
	st->count++;
}

static struct snapshot *at_event(struct snap_store *st, uint64_t event)
{
	for (struct snapshot *s = st->head; s && s->pos.event <= event; s = s->next)
		if (s->pos.event == event)
			return s;
	return NULL;
}

struct snapshot *snap_store__find(struct snap_store *st, uint64_t event)
{
	struct snapshot *best = NULL;
	for (struct snapshot *s = st->head; s && s->pos.event <= event; s = s->next)
		best = s;
	return best;
}

struct snapshot *snap_store__first(struct snap_store *st) { return st->head; }
struct snapshot *snap_store__base(struct snap_store *st) { return st->base; }
uint64_t snap_store__bytes(const struct snap_store *st) { return st->bytes; }
uint32_t snap_store__count(const struct snap_store *st) { return st->count; }

static void drop(struct snap_store *st, struct snapshot *s, bool move)
{
	struct snapshot *u = move ? s->next : NULL;
	for (uint32_t i = 0; i < s->n_pages; i++) {
		uint32_t p = s->pages[i];
		struct pvec *v = st->pv[p];
		struct blk *b = NULL;
		bool found = false;
		for (uint32_t j = 0; v && j < v->n; j++)
			if (v->v[j].event == s->pos.event)
				b = v->v[j].b, found = true;
		if (!found)
			continue;
		if (u && !u->full && !has_entry(st, p, u->pos.event) && add_page_to_snapshot(u, p) == 0) {
			entry_remove(st, p, s->pos.event, false);
			entry_insert(st, p, u->pos.event, b);
		} else {
			entry_remove(st, p, s->pos.event, true);
		}
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		st->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		st->tail = s->prev;
	st->count--;
	snap__free(s);
}

void snap_store__drop(struct snap_store *st, struct snapshot *s)
{
	if (s && s != st->base)
		drop(st, s, true);
}

/* ---- take ---- */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int save_devices(struct vm *vm, struct snapshot *s, struct rrvm_err *err)
{
	if (!vm->nr_devices)
		return 0;
	s->dev = calloc((size_t)vm->nr_devices, sizeof(*s->dev));
	if (!s->dev)
		return err__set(err, -ENOMEM, "out of memory");
	uint8_t buf[DEV_STATE_MAX];
	for (int i = 0; i < vm->nr_devices; i++) {
		const struct device *d = &vm->devices[i];
		if (!d->save || !d->restore)
			return err__set(err, -ENOTSUP, "device %s has no saved state: it cannot be snapshotted", d->name);
		struct ds_out o = { .p = buf, .cap = sizeof(buf) };
		int rc = d->save(d->state, &o);
		if (rc)
			return err__set(err, rc, "device %s: cannot save its state: %s", d->name, strerror(-rc));
		struct snap_dev *sd = &s->dev[s->n_dev++];
		snprintf(sd->name, sizeof(sd->name), "%s", d->name);
		sd->len = (uint32_t)o.len;
		if (!(sd->data = malloc(o.len ? o.len : 1)))
			return err__set(err, -ENOMEM, "out of memory");
		memcpy(sd->data, buf, o.len);
	}
	return 0;
}

/* Adds an entry at s for page p with the given current content (sharing the
 * block the lookup would give when the bytes are the same). */
static int store_page(struct snap_store *st, struct snapshot *s, uint32_t p, const uint8_t *data, uint64_t floor)
{
	int64_t i = lookup(st, p, s->pos.event, floor);
	struct blk *prev = i < 0 ? NULL : st->pv[p]->v[i].b;
	const uint8_t *prev_data = prev ? prev->data : zero_page;
	struct blk *b;
	if (!memcmp(prev_data, data, MEM_PAGE_SIZE)) {
		b = prev;
		if (b)
			b->refs++;
	} else if (!memcmp(data, zero_page, MEM_PAGE_SIZE)) {
		b = NULL;
	} else {
		if (!(b = blk_new(st, data)))
			return -ENOMEM;
		s->new_bytes += MEM_PAGE_SIZE;
	}
	int rc = entry_insert(st, p, s->pos.event, b);
	if (rc < 0) {
		blk_put(st, b);
		return rc;
	}
	return rc == 0 ? add_page_to_snapshot(s, p) : 0;
}

int snap__take(struct snap_store *st, struct vm *vm, const struct snap_pos *pos, enum snap_kind kind,
	       struct snapshot **out, struct rrvm_err *err)
{
	double t0 = now_us();
	int rc = sync_dirty(st);
	if (rc)
		return err__set(err, rc, "snapshot: KVM_GET_DIRTY_LOG: %s", strerror(-rc));
	struct snapshot *have = at_event(st, pos->event);
	if (have) {
		/* The same point of the same timeline: memory equals it now. */
		memset(st->dirty, 0, (st->npages + 63) / 64 * 8);
		st->base = have;
		*out = have;
		return 0;
	}
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return err__set(err, -ENOMEM, "out of memory");
	s->pos = *pos;
	s->kind = kind;
	snap__mon_get(vm, &s->mon);
	if ((rc = snap__cpu_get(vm, &s->cpu, err)) || (rc = save_devices(vm, s, err))) {
		snap__free(s);
		return rc;
	}
	s->mon.exits = pos->event;
	bool full = st->base == NULL;
	s->full = full;
	list_insert(st, s);
	uint64_t floor = barrier(st, pos->event);
	const uint8_t *base = vm->mem.base;
	if (full) {
		/* Every nonzero page. Pages never touched are neither present nor
		 * swapped (/proc/self/pagemap bits 63, 62): skip them without
		 * faulting them in. Without pagemap, read them all. */
		int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		uint64_t ent[4096];
		for (uint64_t p0 = 0; p0 < st->npages && !rc; p0 += 4096) {
			uint64_t n = st->npages - p0 < 4096 ? st->npages - p0 : 4096;
			uint64_t vpn = (uint64_t)(uintptr_t)(base + p0 * MEM_PAGE_SIZE) / (uint64_t)sysconf(_SC_PAGESIZE);
			bool have = pm >= 0 && pread(pm, ent, n * 8, (off_t)(vpn * 8)) == (ssize_t)(n * 8);
			for (uint64_t k = 0; k < n && !rc; k++) {
				if (have && !(ent[k] >> 62))
					continue;
				const uint8_t *d = base + (p0 + k) * MEM_PAGE_SIZE;
				if (memcmp(d, zero_page, MEM_PAGE_SIZE))
					rc = store_page(st, s, (uint32_t)(p0 + k), d, floor);
			}
		}
		if (pm >= 0)
			close(pm);
		/* Older entries are hidden behind this barrier; nothing else to do. */
	} else {
		for (uint64_t w = 0; w < (st->npages + 63) / 64 && !rc; w++) {
			uint64_t bits = st->dirty[w];
			while (bits && !rc) {
				uint32_t p = (uint32_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
				bits &= bits - 1;
				rc = store_page(st, s, p, base + (uint64_t)p * MEM_PAGE_SIZE, floor);
			}
		}
	}
	if (rc) {
		drop(st, s, false);   /* partial: its entries are not a complete delta */
		return err__set(err, rc, "snapshot: out of memory for page copies");
	}
	memset(st->dirty, 0, (st->npages + 63) / 64 * 8);
	st->base = s;
	s->take_us = now_us() - t0;
	*out = s;
	return 0;
}

/* ---- restore ---- */

static int check_devices(struct vm *vm, const struct snapshot *s, struct rrvm_err *err)
{
	for (int i = 0; i < vm->nr_devices; i++) {
		const struct device *d = &vm->devices[i];
		const struct snap_dev *sd = NULL;
		for (uint32_t j = 0; j < s->n_dev; j++)
			if (!strcmp(s->dev[j].name, d->name))
				sd = &s->dev[j];
		if (!sd)
			return err__set(err, -EINVAL, "snapshot %s has no state for device %s", s->name, d->name);
		if (!d->restore)
			return err__set(err, -ENOTSUP, "device %s cannot restore saved state", d->name);
		struct ds_in in = { .p = sd->data, .len = sd->len };
		int rc = d->restore(d->state, &in, false, err);
		if (rc)
			return rc;
	}
	/* A replay VM runs only some devices (virtio; the rest answer from the
	 * trace): sections of devices it lacks are ignored there. A live VM must
	 * match the snapshot exactly. */
	for (uint32_t j = 0; j < s->n_dev && !vm->cfg.replay; j++) {
		bool known = false;
		for (int i = 0; i < vm->nr_devices; i++)
			known |= !strcmp(s->dev[j].name, vm->devices[i].name);
		/* A replay VM has only the models replay runs (virtio): a snapshot
		 * taken while recording also holds the rest. */
		if (!known && !vm->cfg.replay)
			return err__set(err, -EINVAL, "snapshot %s holds state for device %s, which this machine lacks",
					s->name, s->dev[j].name);
	}
	return 0;
}

/* Marks the pages with entries at snapshots whose event is in [lo, hi]. */
static void mark_entries(struct snap_store *st, uint64_t lo, uint64_t hi, uint64_t *set)
{
	for (const struct snapshot *s = st->head; s && s->pos.event <= hi; s = s->next)
		if (s->pos.event >= lo)
			for (uint32_t i = 0; i < s->n_pages; i++)
				set[s->pages[i] / 64] |= 1ull << (s->pages[i] % 64);
}

int snap__restore(struct snap_store *st, struct vm *vm, struct snapshot *s, bool devices,
		  uint64_t *pages_written, struct rrvm_err *err)
{
	int rc;
	if (devices && (rc = check_devices(vm, s, err)))
		return rc;
	/* vCPU first: the only part KVM may refuse; roll back if it does. */
	struct snap_cpu *old = malloc(sizeof(*old));
	if (!old)
		return err__set(err, -ENOMEM, "out of memory");
	if ((rc = snap__cpu_get(vm, old, err))) {
		free(old);
		return rc;
	}
	if ((rc = snap__cpu_set(vm, &s->cpu, err))) {
		struct rrvm_err e2;
		snap__cpu_set(vm, old, &e2);
		free(old);
		return rc;
	}
	free(old);
	if (devices)
		for (int i = 0; i < vm->nr_devices; i++) {
			const struct device *d = &vm->devices[i];
			for (uint32_t j = 0; j < s->n_dev; j++)
				if (!strcmp(s->dev[j].name, d->name)) {
					struct ds_in in = { .p = s->dev[j].data, .len = s->dev[j].len };
					d->restore(d->state, &in, true, err);   /* validated above */
				}
		}
	/* Memory: pages written since the base, and pages whose entries differ
	 * between the base and the target. */
	if ((rc = sync_dirty(st)))
		return err__set(err, rc, "restore: KVM_GET_DIRTY_LOG: %s", strerror(-rc));
	uint64_t written = 0;
	uint64_t words = (st->npages + 63) / 64;
	uint64_t b = st->base ? st->base->pos.event : 0, t = s->pos.event;
	uint64_t lo = b < t ? b : t, hi = b < t ? t : b;
	if (!st->base) {
		/* Nothing known about the current memory: compare every page. */
		memset(st->dirty, 0xff, words * 8);
	} else if (lo != hi) {
		/* Lookups at lo and hi agree for a page without entries in (lo, hi],
		 * unless a full snapshot in (lo, hi] hides what lo's lookup found:
		 * then the entries lo could see, [barrier(lo), lo], count too. */
		mark_entries(st, lo + 1, hi, st->dirty);
		if (barrier(st, hi) > lo)
			mark_entries(st, barrier(st, lo), lo, st->dirty);
	}
	uint64_t floor = barrier(st, t);
	uint8_t *base = vm->mem.base;
	for (uint64_t w = 0; w < words; w++) {
		uint64_t bits = st->dirty[w];
		while (bits) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (p >= st->npages)
				break;
			int64_t i = lookup(st, (uint32_t)p, t, floor);
			const uint8_t *want = i < 0 || !st->pv[p]->v[i].b ? zero_page : st->pv[p]->v[i].b->data;
			uint8_t *cur = base + p * MEM_PAGE_SIZE;
			if (memcmp(cur, want, MEM_PAGE_SIZE)) {
				memcpy(cur, want, MEM_PAGE_SIZE);
				written++;
			}
		}
	}
	memset(st->dirty, 0, words * 8);
	st->base = s;
	snap__mon_set(vm, &s->mon);
	if (pages_written)
		*pages_written = written;
	return 0;
}

int snap_store__insert(struct snap_store *st, struct snapshot *s, const uint32_t *pages, uint8_t *const *data,
		       uint32_t n, struct rrvm_err *err)
{
	if (at_event(st, s->pos.event)) {
		snap__free(s);
		return 0;   /* already have that point */
	}
	list_insert(st, s);
	uint64_t floor = barrier(st, s->pos.event);
	for (uint32_t i = 0; i < n; i++) {
		if (pages[i] >= st->npages) {
			drop(st, s, false);
			return err__set(err, -EINVAL, "snapshot page %u is beyond guest RAM", pages[i]);
		}
		int rc = store_page(st, s, pages[i], data[i] ? data[i] : zero_page, floor);
		if (rc < 0) {
			drop(st, s, false);
			return err__set(err, rc, "out of memory for snapshot pages");
		}
	}
	return 0;
}
