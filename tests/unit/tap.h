/*
 * tap.h - the smallest test harness: each check prints "ok - NAME" or
 * "not ok - NAME (file:line)"; tests/run.sh counts them. tap_done()
 * returns the exit status for main().
 */
#ifndef BC_TAP_H
#define BC_TAP_H

#include <stdio.h>

static int tap_failed;
static int tap_passed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		int tap_ok_ = !!(cond); /* evaluated once */                  \
		if (tap_ok_) {                                                \
			tap_passed++;                                         \
			printf("ok - ");                                      \
		} else {                                                      \
			tap_failed++;                                         \
			printf("not ok - ");                                  \
		}                                                             \
		printf(__VA_ARGS__);                                          \
		if (!tap_ok_)                                                 \
			printf(" (%s:%d)", __FILE__, __LINE__);               \
		printf("\n");                                                 \
		fflush(stdout);                                               \
	} while (0)

static inline int tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
