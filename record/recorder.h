/* recorder.h — logs every nondeterministic input of a live VM into a trace (DESIGN.md contract 5). */
#ifndef RRVM_RECORDER_H
#define RRVM_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vm;
struct recorder;

/* Deferral reasons (TR_DEFERRAL.reason). */
enum rec_defer {
	REC_DEFER_NO_BREAKPOINT = 1,  /* the host cannot stop replay at this CPL */
	REC_DEFER_REP_STRING = 2,     /* kick inside a REP string instruction */
	REC_DEFER_STATE = 3,          /* the vCPU state could not be read */
	REC_DEFER_NO_PATCH = 4,       /* ring-0 breakpoints are HLT patches here, and RIP cannot take one */
	REC_DEFER_NO_REPEAT = 5,      /* HLT patches: one pass from RIP did not come back in the same state */
};

/* Creates the trace directory `dir`, copies the kernel and initrd into it (so
 * the trace replays anywhere), and writes the header from the VM as created.
 * Call after vm__create, before vm__run; sets vm->rec. */
int recorder__open(struct recorder **out, struct vm *vm, const char *dir, struct rrvm_err *err);

/* After a guest-caused exit was serviced (values filled in): logs it. */
void recorder__exit(struct recorder *r, struct vm *vm);
/* An interrupt injected right after the latest guest-caused exit. */
void recorder__irq(struct recorder *r, struct vm *vm, uint32_t vector);
/* A kick found an interrupt the guest could take: decides whether replay can
 * reach this point (a landmark: logged, returns true, the caller injects) or
 * not (a deferral: logged, returns false). */
bool recorder__kick_point(struct recorder *r, struct vm *vm, uint32_t vector);
/* A single-step of the kick point's probe ended (KVM_EXIT_DEBUG with
 * GD_STEP_PROBE; core/guest_debug.c). */
void recorder__probe_step(struct recorder *r, struct vm *vm);
/* Ends the kick probe, if one runs (a guest-caused exit came first). */
void recorder__probe_cancel(struct recorder *r, struct vm *vm);
/* Console input handed to the guest's UART (for trace tools; replay gets it
 * through the recorded IN values). */
void recorder__console_in(struct recorder *r, struct vm *vm, const uint8_t *buf, size_t len);
/* Bytes from a nondeterministic source (virtio-rng) a device is about to
 * write into guest memory at gpa, at the current event (TR_DMA). */
void recorder__dma(struct recorder *r, struct vm *vm, uint64_t gpa, const uint8_t *buf, uint32_t len);
/* Guest console output. */
void recorder__console(struct recorder *r, struct vm *vm, const uint8_t *buf, size_t len);
/* Logs how the run ended, seals the trace (index, footer) and frees r. */
int recorder__close(struct recorder *r, struct vm *vm, struct rrvm_err *err);

/* Snapshots while recording (record/rec_snapshot.h): turns them on; the
 * recorder owns rs from here. */
struct rec_snap;
void recorder__set_snapshots(struct recorder *r, struct rec_snap *rs);
/* After every guest-caused exit, devices polled: a snapshot when one is due. */
void recorder__snapshot_point(struct recorder *r, struct vm *vm);
/* record --from: the starting state as snapshot 1 at event 0 (before vm__run). */
int recorder__start_snapshot(struct recorder *r, struct vm *vm);
/* The trace's uuid. */
const uint8_t *recorder__uuid(const struct recorder *r);
/* Snapshots written. */
uint32_t recorder__snapshots(const struct recorder *r);

/* Landmarks and deferrals so far. */
void recorder__counts(const struct recorder *r, uint64_t *landmarks, uint64_t *deferrals);

#endif
