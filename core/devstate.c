/* devstate.c — saved state of devices that keep none (port80, debugexit, tscport): a version and nothing else. */
#include "core/devstate.h"

#include <errno.h>

#include "core/dev.h"

/* `state` is the device's name (a string constant). */
int devstate__save_none(void *state, struct ds_out *o)
{
	ds__u16(o, 1);
	return o->bad ? -ENOSPC : 0;
}

int devstate__restore_none(void *state, struct ds_in *in, bool apply, struct rrvm_err *err)
{
	const char *name = state;
	DS_CHECK(ds__g16(in) == 1, err, name, "unknown version");
	DS_CHECK_END(in, err, name);
	return 0;
}
