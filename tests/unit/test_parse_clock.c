/*
 * test_parse_clock.c - the year of lines that carry none (RFC 3164,
 * "Mmm dd hh:mm:ss") follows the wall clock for the whole life of a
 * parser, not the clock at its creation: an agent runs for months.
 *
 * clock_gettime is replaced here (the static libraries resolve to it) so
 * that the clock can move forward after bc_parser_new.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logparse/parse.h"
#include "tap.h"

static long shift_s; /* added to CLOCK_REALTIME */

int clock_gettime(clockid_t c, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
	if (real == NULL || real(c, ts) < 0)
		return -1;
	if (c == CLOCK_REALTIME)
		ts->tv_sec += shift_s;
	return 0;
}

/* A Postfix failure dated at t (local time, no year); its event time. */
static long long event_at(struct bc_parser *p, time_t t, int pid)
{
	char d[32], line[256];
	struct bc_event ev;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(d, sizeof(d), "%b %e %H:%M:%S", &tm);
	snprintf(line, sizeof(line),
		 "%s mx1 postfix/smtpd[%d]: warning: unknown[192.0.2.7]: "
		 "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		 d, pid);
	if (bc_parser_feed(p, line, strlen(line), &ev) != BC_PARSE_MATCH)
		return -1;
	return ev.time_ms / 1000;
}

int main(void)
{
	static const long days[] = {2, 40, 200, 400};
	struct bc_parser *p = bc_parser_new(BC_FMT_POSTFIX);
	time_t t0 = time(NULL);
	size_t i;

	CHECK(p != NULL, "parser");
	if (p == NULL)
		return tap_done();
	CHECK(event_at(p, t0, 100) == (long long)t0, "a line of now is dated now");
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		time_t t = t0 + days[i] * 86400;

		shift_s = days[i] * 86400;
		CHECK(event_at(p, t, 101 + (int)i) == (long long)t,
		      "%ld days after the parser was made, a line of then is "
		      "dated then, not a year back",
		      days[i]);
	}
	CHECK(event_at(p, t0 + 400 * 86400 - 86400 * 30, 110) ==
		      (long long)(t0 + 400 * 86400 - 86400 * 30),
	      "a line of a month ago is in this year or the last, rightly");
	bc_parser_free(&p);
	return tap_done();
}
