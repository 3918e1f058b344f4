/* snapshot.h — copy-on-write machine snapshots: vCPU, devices, monitor state, and memory shared page by page. */
#ifndef RRVM_SNAPSHOT_H
#define RRVM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "core/err.h"

struct vm;
struct snap_store;

/* MSRs kept in a snapshot: those of this list KVM_GET_MSRS can read on the VM. */
#define SNAP_MAX_MSRS 64

/* The vCPU as KVM holds it (in memory; snapshot/file.c encodes it field by field). */
struct snap_cpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;             /* always (x87/SSE as FXSAVE lays them out) */
	bool has_xsave;                 /* KVM_GET_XSAVE worked: xsave is authoritative */
	struct kvm_xsave xsave;
	bool has_xcrs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_vcpu_events events;
	uint32_t n_msrs;
	struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
};

/* The monitor's part of the machine (struct vm fields that change while running). */
struct snap_mon {
	uint64_t exits;                 /* event number */
	uint64_t guest_ns;              /* vm__now_ns at the snapshot */
	uint64_t virt_ns;               /* virtual clock */
	int64_t wallclock_base;
	uint8_t last_exit_guest, deferred;
	uint8_t if_flag, ready_for_injection, request_window; /* kvm_run fields of the last exit */
	uint8_t rdtsc_valid, rdtsc_rdtscp;
	uint64_t rdtsc_rip, rdtsc_value;
	uint32_t rdtsc_aux;
	int64_t tsc_offset;             /* struct cpu_msr_state */
	uint64_t tsc_aux, tsc_hz, rdmsr_count, wrmsr_count, gp_count;
	uint64_t irqs_injected, kicks;
};

/* One device's saved state, keyed by its stable name (core/dev.h save). */
struct snap_dev {
	char name[32];
	uint32_t len;
	uint8_t *data;
};

/* Where in the trace a snapshot stands: `event` exits replayed/recorded and
 * `recs` records of that event consumed (its TR_EXIT, TR_REGS, TR_IN_VALUE
 * and TR_RDTSC: at most 4; 0 at event 0). Replay repositions its reader with these. */
struct snap_pos {
	uint64_t event;
	uint32_t recs;
};

enum snap_kind { SNAP_AUTO = 0, SNAP_BASE = 1, SNAP_RECORDED = 2 };

struct snapshot {
	uint64_t id;                    /* per store, in the order taken/loaded */
	struct snap_pos pos;
	enum snap_kind kind;
	bool full;                      /* holds every nonzero page (a barrier for older entries) */
	char name[64];                  /* recorded snapshots: the file name */
	struct snap_cpu cpu;
	struct snap_mon mon;
	uint32_t n_dev;
	struct snap_dev *dev;
	/* Memory: the guest pages (flat page numbers, ascending) that have an
	 * entry at this snapshot in the store, and the bytes they hold alone. */
	uint32_t *pages;
	uint32_t n_pages, cap_pages;
	uint64_t new_bytes;             /* page data first stored by this snapshot */
	double take_us;                 /* how long taking it took */
	struct snapshot *prev, *next;   /* the store's list, by event */
};

/* Creates the page store for vm and turns on KVM dirty logging for its RAM
 * (and marks monitor writes: mem__mark_dirty). Takes no snapshot. */
int snap_store__create(struct snap_store **out, struct vm *vm, struct rrvm_err *err);
void snap_store__destroy(struct snap_store *st);
/* A store with no VM (tools reading snapshot files: list, show, diff):
 * insert, find, page lookups only. */
int snap_store__create_offline(struct snap_store **out, uint64_t ram_bytes, struct rrvm_err *err);
uint64_t snap_store__npages(const struct snap_store *st);

/* Takes a snapshot of vm at pos (the VM stopped between runs, at an exit):
 * completes a pending I/O instruction first, then saves vCPU, devices (every
 * device must have save/restore), monitor state and the pages written since
 * the last snapshot taken or restored (the first one: every nonzero page).
 * When a snapshot at pos.event is already stored, that one is returned. */
int snap__take(struct snap_store *st, struct vm *vm, const struct snap_pos *pos, enum snap_kind kind,
	       struct snapshot **out, struct rrvm_err *err);

/* Restores vm to s: validates everything first (with `devices`: every
 * device of vm needs its section; a live VM also refuses sections of
 * devices it lacks, a replay VM ignores them), then vCPU (rolled back if KVM refuses
 * a part), devices, memory (only pages that differ from s) and monitor
 * state. -errno + *err with nothing changed when validation fails.
 * *pages_written (may be NULL): guest pages rewritten. */
int snap__restore(struct snap_store *st, struct vm *vm, struct snapshot *s, bool devices,
		  uint64_t *pages_written, struct rrvm_err *err);

/* The nearest stored snapshot at or before event, or NULL. */
struct snapshot *snap_store__find(struct snap_store *st, uint64_t event);
struct snapshot *snap_store__first(struct snap_store *st);
/* Removes s (not the current base; its page entries move to the next
 * snapshot where that one needs them). */
void snap_store__drop(struct snap_store *st, struct snapshot *s);
/* Page data bytes held, snapshots stored. */
uint64_t snap_store__bytes(const struct snap_store *st);
uint32_t snap_store__count(const struct snap_store *st);
/* The snapshot the VM's memory derives from (last taken or restored). */
struct snapshot *snap_store__base(struct snap_store *st);

/* The content of flat page `page` at snapshot s (NULL = a zero page). */
const uint8_t *snap_store__page(struct snap_store *st, const struct snapshot *s, uint32_t page);

/* Inserts a snapshot decoded from a file (snapshot/file.c): takes ownership
 * of s; its pages (page numbers + 4 KiB data each, NULL data = zero) become
 * entries at s->pos.event. */
int snap_store__insert(struct snap_store *st, struct snapshot *s, const uint32_t *pages, uint8_t *const *data,
		       uint32_t n, struct rrvm_err *err);

/* ---- vCPU state (snapshot/cpu_state.c) ---- */

/* KVM_RUN with immediate_exit: finishes an I/O or MMIO instruction whose
 * exit was handled (its data reaches the registers) without running on. */
int snap__complete_io(struct vm *vm);
/* Reads / writes the whole vCPU state (order: see cpu_state.c). */
int snap__cpu_get(struct vm *vm, struct snap_cpu *c, struct rrvm_err *err);
int snap__cpu_set(struct vm *vm, const struct snap_cpu *c, struct rrvm_err *err);
/* Monitor state. */
void snap__mon_get(struct vm *vm, struct snap_mon *m);
void snap__mon_set(struct vm *vm, const struct snap_mon *m);

/* ---- resume.c ---- */

/* "N", "sN" or "N.snap" -> N (>= 1); 0 when it is none of those. */
uint32_t snapshot__parse_seq(const char *s);
/* A live VM (devices, console fds from `live`) made as TRACE_DIR's header
 * says, restored to recorded snapshot seq: ready for vm__run. */
struct vm_config;
int snapshot__restore_live(struct vm **out, const char *dir, uint32_t seq, const struct vm_config *live,
			   struct rrvm_err *err);

/* Frees a snapshot that is not in a store. */
void snap__free(struct snapshot *s);

#endif
