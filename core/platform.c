/* platform.c — the PC platform: creates every legacy device in one stable order with stable names. */
#include "core/platform.h"

#include "core/devices.h"
#include "core/pic.h"
#include "core/vm.h"

/* Order and names are part of the snapshot format (state is keyed by name):
 * pic, pit, rtc, uart0, i8042, port80, debugexit, tscport; then catch-all
 * regions.
 * The PIC comes first because every other device drives its lines. */
int platform__create(struct vm *vm, struct rrvm_err *err)
{
	int rc;
	if ((rc = pic__create(vm, err)) ||
	    (rc = pit__create(vm, err)) ||
	    (rc = rtc__create(vm, err)) ||
	    (rc = uart__create(vm, "uart0", 0x3f8, 4, err)) ||
	    (rc = i8042__create(vm, err)) ||
	    (rc = legacy_io__create(vm, err)) ||
	    (rc = tscport__create(vm, err)))
		return rc;
	return 0;
}
