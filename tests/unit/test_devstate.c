/* test_devstate.c — every device's saved state round-trips, and damaged saved state is refused with nothing applied. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/devices.h"
#include "core/devstate.h"
#include "core/platform.h"
#include "core/vm.h"

static int checks, failures;

#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		checks++;                                                        \
		if (!(cond)) {                                                   \
			failures++;                                              \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
		}                                                                \
	} while (0)

static int out_pipe[2];

/* A VM with no KVM behind it (as test_devices.c): virtual clock, the platform devices. */
static struct vm *make_vm(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	vm->cfg.clock = CLOCK_VIRTUAL;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->wake_fd = vm->input_stop_fd = -1;
	vm->cfg.console_in_fd = -1;
	vm->cfg.console_out_fd = out_pipe[1];
	pthread_mutex_init(&vm->input_lock, NULL);
	vm->wallclock_base = 1767225600ll;
	vm->mem.nr_regions = 1;
	vm->mem.region[0].size = vm->mem.size = 256ull << 20;
	struct rrvm_err err = { "" };
	if (platform__create(vm, &err)) {
		fprintf(stderr, "platform__create: %s\n", err.msg);
		exit(1);
	}
	return vm;
}

static void io(struct vm *vm, uint16_t port, uint8_t *data, uint32_t size, bool w)
{
	const struct io_region *r = io_bus__find(&vm->bus, IO_SPACE_PIO, port, size);
	if (r)
		r->fn(r->dev, port - r->base, data, size, w);
	else if (!w)
		memset(data, 0xff, size);
}
static void outb(struct vm *vm, uint16_t port, uint8_t v) { io(vm, port, &v, 1, true); }
static uint8_t inb(struct vm *vm, uint16_t port) { uint8_t v; io(vm, port, &v, 1, false); return v; }

static void poll_all(struct vm *vm)
{
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].poll)
			vm->devices[i].poll(vm->devices[i].state, vm->virt_ns);
}

/* Puts every device in a state far from power-on. */
static void exercise(struct vm *vm)
{
	outb(vm, 0x20, 0x11), outb(vm, 0x21, 0x30), outb(vm, 0x21, 0x04), outb(vm, 0x21, 0x01);
	outb(vm, 0xa0, 0x11), outb(vm, 0xa1, 0x38), outb(vm, 0xa1, 0x02), outb(vm, 0xa1, 0x01);
	outb(vm, 0x21, 0xb8), outb(vm, 0xa1, 0x00);
	outb(vm, 0x43, 0x34), outb(vm, 0x40, 0x9c), outb(vm, 0x40, 0x2e);   /* PIT ch0 rate generator */
	outb(vm, 0x61, 0x01), outb(vm, 0x43, 0xb0), outb(vm, 0x42, 0x10);   /* ch2 lobyte pending */
	outb(vm, 0x70, 0x0b), outb(vm, 0x71, 0x42), outb(vm, 0x70, 0x20), outb(vm, 0x71, 0x5a);
	outb(vm, 0x3fb, 0x80), outb(vm, 0x3f8, 0x01), outb(vm, 0x3fb, 0x03);
	outb(vm, 0x3f9, 0x03), outb(vm, 0x3fa, 0xc7), outb(vm, 0x3ff, 0x77), outb(vm, 0x3f8, 'x');
	outb(vm, 0x64, 0x60), outb(vm, 0x60, 0x47), outb(vm, 0x64, 0xaa);
	vm->virt_ns += 3333333;
	poll_all(vm);
}

/* Reads every readable register of every device (the guest-visible state). */
static void observe(struct vm *vm, uint8_t *buf, size_t *n)
{
	*n = 0;
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x61, 0x3f9, 0x3fa, 0x3fb, 0x3fc,
					  0x3fd, 0x3fe, 0x3ff, 0x64, 0x60, 0x92 };
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		buf[(*n)++] = inb(vm, ports[i]);
	outb(vm, 0x43, 0x00);
	buf[(*n)++] = inb(vm, 0x40), buf[(*n)++] = inb(vm, 0x40);
	for (uint8_t r = 0; r < 0x40; r++) {
		outb(vm, 0x70, r);
		buf[(*n)++] = inb(vm, 0x71);
	}
}

static int save(struct vm *vm, int i, uint8_t *buf, size_t *len)
{
	struct ds_out o = { .p = buf, .cap = DEV_STATE_MAX };
	int rc = vm->devices[i].save(vm->devices[i].state, &o);
	*len = o.len;
	return rc;
}

static int restore(struct vm *vm, int i, const uint8_t *buf, size_t len, bool apply, struct rrvm_err *err)
{
	struct ds_in in = { .p = buf, .len = len };
	return vm->devices[i].restore(vm->devices[i].state, &in, apply, err);
}

int main(void)
{
	if (pipe(out_pipe) < 0)
		return 1;
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	struct vm *a = make_vm(), *b = make_vm();
	exercise(a);
	b->virt_ns = a->virt_ns;
	static uint8_t sa[DEV_STATE_MAX], sb[DEV_STATE_MAX], bad[DEV_STATE_MAX + 1];
	size_t la, lb;
	struct rrvm_err err;
	CHECK(a->nr_devices == b->nr_devices, "device tables differ");
	for (int i = 0; i < a->nr_devices; i++) {
		const char *name = a->devices[i].name;
		CHECK(a->devices[i].save && a->devices[i].restore, "%s has no save/restore", name);
		if (!a->devices[i].save)
			continue;
		CHECK(save(a, i, sa, &la) == 0 && la >= 2, "%s: save failed", name);
		CHECK(sa[0] == 1 && sa[1] == 0, "%s: version is not 1 (little-endian u16 first)", name);
		size_t lb0;
		uint8_t sb0[DEV_STATE_MAX];
		save(b, i, sb0, &lb0);
		/* Damaged: every truncation, a trailing byte, another version. */
		for (size_t cut = 0; cut < la; cut++) {
			err.msg[0] = 0;
			CHECK(restore(b, i, sa, cut, true, &err) == -EINVAL && strstr(err.msg, name),
			      "%s: truncated to %zu accepted (%s)", name, cut, err.msg);
		}
		memcpy(bad, sa, la);
		bad[la] = 0;
		CHECK(restore(b, i, bad, la + 1, true, &err) == -EINVAL && strstr(err.msg, "trailing"),
		      "%s: trailing byte accepted (%s)", name, err.msg);
		bad[0] = 2;
		CHECK(restore(b, i, bad, la, true, &err) == -EINVAL && strstr(err.msg, "version"),
		      "%s: version 2 accepted (%s)", name, err.msg);
		/* Every single-byte change is either refused or, if accepted, applied whole;
		 * a refused one leaves the device exactly as it was. */
		for (size_t off = 2; off < la; off++) {
			memcpy(bad, sa, la);
			bad[off] = 0xff;
			if (restore(b, i, bad, la, true, &err) == 0) {
				save(b, i, sb, &lb);
				CHECK(lb == la && !memcmp(sb, bad, la), "%s: accepted byte %zu not applied as given", name, off);
				restore(b, i, sb0, lb0, true, &err);
			} else {
				save(b, i, sb, &lb);
				CHECK(lb == lb0 && !memcmp(sb, sb0, lb0), "%s: refused byte %zu changed the device", name, off);
			}
		}
		/* Validate-only changes nothing. */
		CHECK(restore(b, i, sa, la, false, &err) == 0, "%s: valid state refused: %s", name, err.msg);
		save(b, i, sb, &lb);
		CHECK(lb == lb0 && !memcmp(sb, sb0, lb0), "%s: validate-only changed the device", name);
		/* The round trip. */
		CHECK(restore(b, i, sa, la, true, &err) == 0, "%s: restore failed: %s", name, err.msg);
		save(b, i, sb, &lb);
		CHECK(lb == la && !memcmp(sa, sb, la), "%s: saved state differs after a round trip", name);
	}
	/* The restored platform behaves as the original from here on. */
	uint8_t oa[256], ob[256];
	size_t na, nb;
	for (int step = 0; step < 5; step++) {
		a->virt_ns += 777777, b->virt_ns += 777777;
		poll_all(a), poll_all(b);
		observe(a, oa, &na), observe(b, ob, &nb);
		CHECK(na == nb && !memcmp(oa, ob, na), "step %d: a restored device reads differently", step);
	}
	vm__destroy(a);   /* its devices, so the sanitizer build's leak check sees a clean exit */
	vm__destroy(b);
	printf("test_devstate: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
