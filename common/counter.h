/*
 * counter.h - a per-sender strictly increasing message counter that
 * survives restarts. Values are reserved on disk in blocks (write, fsync,
 * rename) so a crash can skip numbers but never reuse one. The counter
 * also never falls below the current time in microseconds, so a lost
 * state file still yields fresh values.
 *
 * The state file is the process's own but parsed strictly
 * (bc_parse_u64); a bad one is an error of bc_counter_open (-1 with a
 * reason in err). Nothing prints.
 */
#ifndef BC_COUNTER_H
#define BC_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#define BC_COUNTER_BLOCK 10000000 /* 10 s of microseconds */

struct bc_counter {
	char path[4096]; /* empty: time-based only (one-shot CLI) */
	uint64_t next;
	uint64_t reserved; /* values below this are on disk as used */
};

/* Open (path may be NULL). Returns 0 or -1 with err. */
int bc_counter_open(struct bc_counter *c, const char *path, char *err,
		    size_t errlen);

/* Next value; 0 on failure to persist (callers refuse to send). */
uint64_t bc_counter_next(struct bc_counter *c);

#endif
