/* err.h — a caller-owned error message that travels with a negative errno. */
#ifndef RRVM_ERR_H
#define RRVM_ERR_H

#include <stdarg.h>
#include <stdio.h>

struct rrvm_err {
	char msg[512];
};

/* Formats the message into *e (when e is not NULL) and returns rc, so a
 * failing path reads `return err__set(e, -EINVAL, "bad %s", what);`. */
static inline int __attribute__((format(printf, 3, 4)))
err__set(struct rrvm_err *e, int rc, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

#endif
