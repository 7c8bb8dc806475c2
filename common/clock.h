/*
 * clock.h - the two clocks: wall time for what is stored, sent and
 * shown (ban expiries, event times), monotonic time for every timer and
 * deadline (so a clock step never fires or stalls one). Milliseconds.
 * No input, no state, no error (clock_gettime of these two clocks does
 * not fail).
 */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_REALTIME since the epoch. */
int64_t bc_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t bc_mono_ms(void);

#endif
