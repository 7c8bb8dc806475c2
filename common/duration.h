/*
 * duration.h - strict parsing and printing of durations: "30s", "10m",
 * "3h", "7d", "2w", or a bare number of seconds. No sign, no spaces,
 * no overflow: anything else is an error naming the bad value. Also the
 * strict decimal number parser the config loader, the counter file and
 * the CLI share. Pure functions over the caller's buffers. (The clocks
 * that were here are common/clock.h.)
 */
#ifndef BC_DURATION_H
#define BC_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define BC_DURATION_MAX_S (10LL * 365 * 86400) /* ten years */

/* Parse into seconds. Returns 0, or -1 with a one-line reason in err. */
int bc_duration_parse(const char *s, int64_t *secs, char *err, size_t errlen);

/* Format seconds as the shortest exact form ("3h", "90m", "45s"). */
const char *bc_duration_format(int64_t secs, char *buf, size_t len);

/* Strict unsigned decimal: digits only, value in [min, max]. */
int bc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
