/* fuzz_loader.c — libFuzzer target for the kernel loaders (core/loader.c, elf.c, bzimage.c, decompress.c):
 * input byte 0 is a mode, the rest a kernel image. The image goes into a memfd and loader__load opens it by
 * path as `rrvm run --kernel` does, into 64 MiB of guest RAM (mode bit 0: with an initrd, bit 1: with a
 * long command line). Mode bit 2 instead feeds the bytes to the payload decompressor alone, capped at
 * 16 MiB of output. A standalone driver (-DRRVM_FUZZ_STANDALONE) runs a corpus plus mutations in CI. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/decompress.h"
#include "core/loader.h"
#include "core/mem.h"

#define FUZZ_RAM (64ull << 20)

static struct guest_mem mem;
static int kfd = -1, ifd = -1;
static char kpath[64], ipath[64];

static int setup(void)
{
	if (kfd >= 0)
		return 0;
	if (mem__init(&mem, FUZZ_RAM))
		return -1;
	kfd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	ifd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (kfd < 0 || ifd < 0)
		return -1;
	static const char initrd[] = "070701 a small initrd for the fuzzer";
	if (write(ifd, initrd, sizeof(initrd)) != (ssize_t)sizeof(initrd))
		return -1;
	snprintf(kpath, sizeof(kpath), "/proc/self/fd/%d", kfd);
	snprintf(ipath, sizeof(ipath), "/proc/self/fd/%d", ifd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1 || setup())
		return 0;
	uint8_t mode = d[0];
	d++, n--;
	struct rrvm_err err;
	err.msg[0] = 0;
	if (mode & 4) {
		uint8_t *out = NULL;
		size_t out_len = 0;
		size_t expect = mode & 8 ? 4096 : 0;
		int rc = decompress__buffer("fuzz", d, n, 0, expect, 16u << 20, &out, &out_len, &err);
		if (rc == 0 && (out_len > 16u << 20 || (expect && out_len != expect)))
			abort();
		if (rc && !err.msg[0])
			abort();   /* every refusal says why */
		free(out);
		return 0;
	}
	if (ftruncate(kfd, 0) || pwrite(kfd, d, n, 0) != (ssize_t)n)
		return 0;
	static char cmdline[4000];
	if (!cmdline[0])
		memset(cmdline, 'c', sizeof(cmdline) - 1);
	struct boot_config bc = { .kernel = kpath, .initrd = mode & 1 ? ipath : NULL,
				  .cmdline = mode & 2 ? cmdline : "console=ttyS0" };
	static struct load_info info;
	int rc = loader__load(&mem, &bc, &info, &err);
	if (rc && !err.msg[0])
		abort();
	if (!rc) {
		/* What was loaded lies inside guest RAM. */
		for (int i = 0; i < info.nr_segs; i++)
			if (!mem__ptr(&mem, info.seg[i].gpa, info.seg[i].size ? info.seg[i].size : 1))
				abort();
		if (info.initrd_size && !mem__ptr(&mem, info.initrd_gpa, info.initrd_size))
			abort();
	}
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	fuzz_mutator = (struct fuzz_mutator){ .keep = 1 };
	return fuzz_standalone_main("fuzz_loader", argc, argv);
}
#endif
