/* fuzz_gdb_cmds.c — libFuzzer target for the gdb stub's command layer as the server drives it: the input
 * (after a mode byte) is a byte stream from "gdb", fed to gdb_conn__input, which frames it, acks, matches
 * each packet against the command table and runs its handler; every reply must be a well-framed packet.
 *
 * The target is test scaffolding, named as such: `nokvm_target` is a VM with 1 MiB of real guest RAM and
 * no vCPU (this host has no /dev/kvm): breakpoints go through the real bookkeeping (gdb/exec.c), monitor
 * commands through the real shared parser (gdb/monitor.c: `phys` reads that RAM), and register or virtual
 * memory access reaches the vCPU ioctls, which fail (EBADF) and are answered Exx as on a lost vCPU. Resume
 * stops at once (nothing can run). Mode bit 0: a replay-like target (writes refused, reverse advertised). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/vm.h"
#include "gdb/exec.h"
#include "gdb/framer.h"
#include "gdb/monitor.h"
#include "gdb/proto.h"

struct nokvm_target {
	struct vm *vm;
	struct exec ex;
	bool replay;
	uint64_t resumes;
};

static struct vm *nk_vm(void *t) { return ((struct nokvm_target *)t)->vm; }
static const char *nk_write_refused(void *t)
{
	return ((struct nokvm_target *)t)->replay ? "a replay cannot be changed (fuzz target)" : NULL;
}
static int nk_insert(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len, const char **why)
{
	struct nokvm_target *n = t;
	return exec__insert(&n->ex, n->vm, type, addr, len, why);
}
static int nk_remove(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	return exec__remove(&((struct nokvm_target *)t)->ex, type, addr, len);
}
static int nk_resume(void *t, enum gdb_resume how, struct gdb_stop *st)
{
	((struct nokvm_target *)t)->resumes++;
	st->kind = how == GDB_RESUME_RCONT ? GDB_STOP_HISTORY : GDB_STOP_SIGNAL;
	st->signo = 5;
	return how == GDB_RESUME_RSTEP ? -EIO : 0;   /* one way to fail, to drive the error reply */
}
static void nk_interrupt(void *t) { (void)t; }
static int nk_monitor(void *t, const char *cmd, struct gdb_text *out)
{
	return monitor__common(((struct nokvm_target *)t)->vm, cmd, out, "fuzz");
}
static void nk_last_stop(void *t, struct gdb_stop *st)
{
	st->kind = GDB_STOP_SIGNAL;
	st->signo = 5;
}

static struct gdb_target_ops nk_ops = {
	.vm = nk_vm, .write_refused = nk_write_refused, .insert = nk_insert, .remove = nk_remove,
	.resume = nk_resume, .interrupt = nk_interrupt, .monitor = nk_monitor, .last_stop = nk_last_stop,
	.name = "fuzz target",
};

/* Every reply is "+", "-", or one framed packet the framer decodes. */
static struct gdb_framer check_fr;
static int check_send(void *ctx, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	(void)ctx;
	if (len == 1 && (b[0] == '+' || b[0] == '-'))
		return (int)len;
	gdb_framer__reset(&check_fr);
	enum gdb_frame_kind k = GDB_FRAME_NONE;
	for (size_t i = 0; i < len; i++) {
		if (k == GDB_FRAME_PACKET)
			abort();   /* bytes after the packet's checksum */
		k = gdb_framer__feed(&check_fr, b[i]);
	}
	if (k != GDB_FRAME_PACKET)
		abort();
	return (int)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct vm *vm;
	static struct nokvm_target t;
	static struct gdb_conn c;
	if (!vm) {
		vm = calloc(1, sizeof(*vm));
		if (!vm || mem__init(&vm->mem, 1ull << 20))
			abort();
		vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
	}
	if (n < 1)
		return 0;
	memset(&t.ex, 0, sizeof(t.ex));
	t.vm = vm;
	t.replay = d[0] & 1;
	nk_ops.reverse = t.replay;
	struct gdb_target gt = { .ops = &nk_ops, .priv = &t };
	gdb_conn__init(&c, &gt, check_send, NULL);
	/* As the server does: bytes in the pieces they arrive in (here: up to 61 at a time). */
	for (size_t i = 1; i < n;) {
		size_t k = n - i < 61 ? n - i : 61;
		int rc = gdb_conn__input(&c, d + i, k);
		if (rc < 0)
			abort();   /* check_send never fails */
		if (rc == 1)
			break;     /* D or k */
		i += k;
	}
	return 0;
}

#ifdef RRVM_FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	static const uint8_t special[] = { '$', '#', '}', '*', 0x03, '+', '-', ',', ':', ';', '=', '0', 'f',
					   'm', 'M', 'X', 'Z', 'z', 'g', 'p', 'q' };
	fuzz_mutator = (struct fuzz_mutator){ .keep = 1, .special = special, .n_special = sizeof(special) };
	return fuzz_standalone_main("fuzz_gdb_cmds", argc, argv);
}
#endif
