/* disk.h — raw disk images behind virtio-blk: in place with an undo journal, a clone overlay, or replay's view. */
#ifndef RRVM_DISK_H
#define RRVM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define DISK_SECTOR 512u
#define DISK_UNDO_MAGIC "RRVMUNDO"
#define DISK_UNDO_NAME "disk.undo"     /* in the trace directory */

/*
 * Modes:
 * - in place (run, record without an overlay): reads and writes go to the
 *   image. While recording, the first write to each sector first appends the
 *   sector's old contents to an undo journal in the trace directory, so replay
 *   can still see the image as it was when recording started.
 * - overlay (--disk-overlay PATH): PATH is created as a copy of the image
 *   (sparse; reflinked where the file system can) and takes every read and
 *   write; the image is opened read-only and never changes.
 * - replay: the image, read-only, seen through the undo journal (if the
 *   recording wrote the image in place); the guest's writes go to an unlinked
 *   temporary file that disappears with the process.
 * - read-only (",ro"): the guest is told the disk is read-only; writes fail.
 *
 * Undo journal (little-endian): "RRVMUNDO", u32 version 1, u32 sector size
 * 512, then records of u64 sector number + 512 bytes of the sector's contents
 * before the recording first wrote it.
 */
enum disk_mode { DISK_IN_PLACE = 0, DISK_OVERLAY = 1, DISK_REPLAY = 2 };

struct disk;

struct disk_opts {
	const char *path;
	bool ro;                 /* guest-visible read-only */
	enum disk_mode mode;
	const char *overlay;     /* DISK_OVERLAY: the file to create */
	const char *undo;        /* DISK_REPLAY: the trace's undo journal (missing = none) */
};

int disk__open(struct disk **out, const struct disk_opts *o, struct rrvm_err *err);
void disk__close(struct disk *d);
uint64_t disk__sectors(const struct disk *d);
bool disk__ro(const struct disk *d);

/* Sector-aligned reads and writes (off and len multiples of DISK_SECTOR,
 * inside the disk). 0 or -errno. */
int disk__read(struct disk *d, uint64_t off, void *buf, size_t len);
int disk__write(struct disk *d, uint64_t off, const void *buf, size_t len);
/* Makes every completed write durable (undo journal first). Replay: no-op. */
int disk__flush(struct disk *d);

/* Replay: how many sectors replay has written so far (0 otherwise), and a
 * return to such a position (a snapshot restore in a replay session).
 * Rewinding beyond what this process wrote is -EINVAL; apply=false only
 * checks. Other modes: only position 0 is valid. */
uint64_t disk__replay_pos(const struct disk *d);
int disk__replay_rewind(struct disk *d, uint64_t pos, bool apply);

/* DISK_IN_PLACE while recording: start the undo journal at `path` (created). */
int disk__start_undo(struct disk *d, const char *path, struct rrvm_err *err);

/* SHA-256 of the disk as the guest first sees it (replay: the image with the
 * undo journal applied). */
int disk__hash(struct disk *d, uint8_t out[32], struct rrvm_err *err);

#endif
