/* check.h — the unit tests' CHECK(cond, fmt, ...): counts checks, prints each failure with its line. */
#ifndef RRVM_TEST_CHECK_H
#define RRVM_TEST_CHECK_H

#include <stdio.h>

static int failures, checks;
#define CHECK(c, ...)                                                   \
	do {                                                            \
		checks++;                                               \
		if (!(c)) {                                             \
			failures++;                                     \
			fprintf(stderr, "%s:%d: CHECK failed: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
		}                                                       \
	} while (0)

#endif
