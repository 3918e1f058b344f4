/* bzimage.c — Linux bzImage: setup header checks, host-side payload decompression, boot_params with e820. */
#include "core/loader_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/decompress.h"

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128

/* struct setup_header, at its offset in boot_params and in the image
 * (Documentation/arch/x86/boot.rst). */
#define HDR_START            0x1f1
#define HDR_SETUP_SECTS      0x1f1
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PAYLOAD_OFFSET   0x248
#define HDR_PAYLOAD_LENGTH   0x24c
#define HDR_SETUP_DATA       0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_END_2_12         0x268   /* the 2.12 header ends after handover_offset */
#define HDR_END_2_15         0x26c   /* ... and 2.15 after kernel_info_offset */

#define LOADED_HIGH   0x01
#define KASLR_FLAG    0x02
#define KEEP_SEGMENTS 0x40
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define BOOT_PROTO(v) ((v) >> 8), ((v) & 0xff)

int bzimage__load(struct guest_mem *m, const struct ksrc *file, const uint8_t *head, size_t hlen,
		  struct load_info *info, struct linux_boot *lb, struct rrvm_err *err)
{
	const char *p = file->path;
	if (hlen < HDR_VERSION + 2)
		return err__set(err, -ENOEXEC, "%s: truncated bzImage setup header (%zu bytes)", p, hlen);
	uint16_t version = get_le16(head + HDR_VERSION);
	if (version < 0x20c)
		return err__set(err, -ENOEXEC,
				"%s: bzImage boot protocol %u.%02u is too old: the 64-bit entry needs 2.12 or later", p,
				BOOT_PROTO(version));
	size_t hdr_end = HDR_MAGIC + (size_t)head[HDR_JUMP + 1];
	if (hdr_end < HDR_END_2_12)
		return err__set(err, -ENOEXEC, "%s: bzImage setup header ends at 0x%zx, too short for protocol %u.%02u",
				p, hdr_end, BOOT_PROTO(version));
	if (hdr_end > hlen)
		return err__set(err, -ENOEXEC, "%s: truncated bzImage: the setup header ends at 0x%zx, the file at 0x%zx",
				p, hdr_end, hlen);
	if (!(head[HDR_LOADFLAGS] & LOADED_HIGH))
		return err__set(err, -ENOEXEC, "%s: zImage (loads low); only bzImage kernels are supported", p);
	uint16_t xlf = get_le16(head + HDR_XLOADFLAGS);
	if (!(xlf & XLF_KERNEL_64))
		return err__set(err, -ENOEXEC, "%s: bzImage has no 64-bit entry point (xloadflags 0x%x)", p, xlf);

	uint64_t sects = head[HDR_SETUP_SECTS] ? head[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (sects + 1) * 512;
	uint64_t poff = setup_size + get_le32(head + HDR_PAYLOAD_OFFSET);
	uint32_t plen = get_le32(head + HDR_PAYLOAD_LENGTH);
	if (setup_size > file->size)
		return err__set(err, -ENOEXEC, "%s: truncated bzImage: %llu setup bytes, file has %llu", p,
				(unsigned long long)setup_size, (unsigned long long)file->size);
	if (plen < 8)
		return err__set(err, -ENOEXEC, "%s: bzImage payload length %u is too short", p, plen);
	if (poff > file->size || plen > file->size - poff)
		return err__set(err, -ENOEXEC,
				"%s: truncated bzImage: payload (file offset 0x%llx, %u bytes) extends past the end (%llu bytes)",
				p, (unsigned long long)poff, plen, (unsigned long long)file->size);

	int rc;
	uint8_t *payload = malloc(plen), *vmlinux = NULL;
	size_t vlen = 0;
	if (!payload)
		return err__set(err, -ENOMEM, "%s: cannot allocate %u bytes for the payload", p, plen);
	if ((rc = ksrc__read(file, poff, payload, plen, "payload", err)))
		goto out;
	/* The build appends the decompressed size as a le32 to every format;
	 * gzip's own trailer already ends with it. */
	bool ok;
	const char *fmt = decompress__detect(payload, plen, &ok);
	size_t expect = get_le32(payload + plen - 4);
	size_t in_len = fmt && !strcmp(fmt, "gzip") ? plen : plen - 4;
	if (fmt && ok && expect == 0) {
		rc = err__set(err, -ENOEXEC, "%s: bzImage payload size trailer is 0", p);
		goto out;
	}
	if ((rc = decompress__buffer(p, payload, in_len, poff, expect, LOADER_MAX_DECOMPRESSED, &vmlinux, &vlen,
				     err)))
		goto out;
	free(payload);
	payload = NULL;

	struct ksrc v = { .path = p, .what = "decompressed payload: ", .fd = -1, .buf = vmlinux, .size = vlen };
	struct elf_kernel ek;
	if ((rc = elf__load(m, &v, true, &ek, info, err)))
		goto out;
	snprintf(info->compression, sizeof(info->compression), "%s", fmt);

	memset(lb->zp, 0, sizeof(lb->zp));
	memcpy(lb->zp + HDR_START, head + HDR_START, hdr_end - HDR_START);
	uint64_t init_end = ek.lo + get_le32(head + HDR_INIT_SIZE);
	lb->kernel_lo = ek.lo;
	lb->kernel_hi = init_end > ek.hi ? init_end : ek.hi;
	lb->initrd_addr_max = get_le32(head + HDR_INITRD_ADDR_MAX);
	lb->cmdline_max = get_le32(head + HDR_CMDLINE_SIZE);
out:
	free(payload);
	free(vmlinux);
	return rc;
}

void bzimage__init_bare(struct linux_boot *lb, const struct elf_kernel *ek)
{
	uint8_t *zp = lb->zp;
	memset(zp, 0, sizeof(lb->zp));
	uint64_t span = (ek->hi - ek->lo + 0xfff) & ~0xfffull;
	put_le16(zp + HDR_BOOT_FLAG, 0xaa55);
	zp[HDR_JUMP] = 0xeb;
	zp[HDR_JUMP + 1] = HDR_END_2_15 - HDR_MAGIC;
	memcpy(zp + HDR_MAGIC, "HdrS", 4);
	put_le16(zp + HDR_VERSION, 0x020f);
	put_le32(zp + HDR_INITRD_ADDR_MAX, 0x7fffffff);
	put_le32(zp + HDR_KERNEL_ALIGNMENT, 0x200000);
	put_le16(zp + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(zp + HDR_CMDLINE_SIZE, 2047);
	put_le64(zp + HDR_PREF_ADDRESS, ek->lo);
	put_le32(zp + HDR_INIT_SIZE, span > UINT32_MAX ? UINT32_MAX : (uint32_t)span);
	lb->kernel_lo = ek->lo;
	lb->kernel_hi = ek->hi;
	lb->initrd_addr_max = 0x7fffffff;
	lb->cmdline_max = 2047;
}

int bzimage__finish(struct guest_mem *m, struct linux_boot *lb, const struct load_info *info,
		    uint64_t cmdline_gpa, const char *path, struct rrvm_err *err)
{
	uint8_t *zp = lb->zp;
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] = (uint8_t)((zp[HDR_LOADFLAGS] | LOADED_HIGH | CAN_USE_HEAP) &
				      ~(KASLR_FLAG | KEEP_SEGMENTS));
	put_le16(zp + HDR_HEAP_END_PTR, 0xfe00 - 0x200);
	put_le32(zp + HDR_CMD_LINE_PTR, (uint32_t)cmdline_gpa);
	put_le32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline_gpa >> 32));
	put_le32(zp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_gpa);
	put_le32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd_gpa >> 32));
	put_le32(zp + HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
	put_le32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
	put_le64(zp + HDR_SETUP_DATA, 0);

	struct memmap_entry e[LOADER_MAX_MEMMAP];
	int n = loader__memmap(m, e, LOADER_MAX_MEMMAP);   /* at most LOADER_MAX_MEMMAP entries */
	_Static_assert(LOADER_MAX_MEMMAP <= BP_E820_MAX, "the e820 table holds every memmap entry");
	for (int i = 0; i < n && i < LOADER_MAX_MEMMAP; i++) {
		uint8_t *t = zp + BP_E820_TABLE + 20 * i;
		put_le64(t, e[i].addr);
		put_le64(t + 8, e[i].size);
		put_le32(t + 16, e[i].type);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	if (mem__write(m, X86_ZEROPAGE_ADDR, zp, sizeof(lb->zp)))
		return err__set(err, -ENOMEM, "%s: guest RAM too small for boot_params at 0x%llx", path,
				(unsigned long long)X86_ZEROPAGE_ADDR);
	return 0;
}
