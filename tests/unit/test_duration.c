/*
 * test_duration.c - strict durations, strict integers and the clocks
 * (common/duration.h).
 */
#include "common/clock.h"
#include "common/duration.h"
#include "tests/unit/tap.h"

#include <inttypes.h>
#include <string.h>

#define ERRLEN 256

struct dur_case {
	const char *in;
	int ok;
	int64_t secs;
};

static const struct dur_case dur_cases[] = {
	{"30s", 1, 30},
	{"10m", 1, 600},
	{"3h", 1, 10800},
	{"7d", 1, 604800},
	{"2w", 1, 1209600},
	{"45", 1, 45},
	{"0", 1, 0},
	{"0s", 1, 0},
	{"1s", 1, 1},
	{"1m", 1, 60},
	{"90m", 1, 5400},
	{"36h", 1, 129600},
	{"007m", 1, 420},
	{"315360000", 1, BC_DURATION_MAX_S},  /* exactly ten years */
	{"315360000s", 1, BC_DURATION_MAX_S},
	{"5256000m", 1, BC_DURATION_MAX_S},
	{"87600h", 1, BC_DURATION_MAX_S},
	{"3650d", 1, BC_DURATION_MAX_S},
	{"521w", 1, 521LL * 604800},
	/* malformed */
	{"", 0, 0},
	{"-1", 0, 0},
	{"-1s", 0, 0},
	{"+5", 0, 0},
	{"3x", 0, 0},
	{"h", 0, 0},
	{"s", 0, 0},
	{"w", 0, 0},
	{"10 m", 0, 0},
	{" 10m", 0, 0},
	{"10m ", 0, 0},
	{"10\tm", 0, 0},
	{"1.5h", 0, 0},
	{"1e3", 0, 0},
	{"0x10", 0, 0},
	{"10M", 0, 0},
	{"10S", 0, 0},
	{"1h30m", 0, 0},
	{"10mm", 0, 0},
	{"m10", 0, 0},
	{"ten", 0, 0},
	{"10y", 0, 0},
	{"10ms", 0, 0},
	/* over ten years and overflow */
	{"315360001", 0, 0},
	{"315360001s", 0, 0},
	{"5256001m", 0, 0},
	{"87601h", 0, 0},
	{"3651d", 0, 0},
	{"522w", 0, 0},
	{"18446744073709551615", 0, 0},
	{"18446744073709551616", 0, 0},
	{"9223372036854775807s", 0, 0},
	{"30500568904943w", 0, 0}, /* * 604800 wraps int64 */
	{"99999999999999999999999", 0, 0},
	{"1000000000000000000000000000000000000000m", 0, 0},
};

static void test_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *c = &dur_cases[i];
		int64_t s = -12345;
		char err[ERRLEN] = "";
		int rc = bc_duration_parse(c->in, &s, err, sizeof(err));

		if (c->ok) {
			CHECK(rc == 0 && s == c->secs,
			      "duration \"%s\" = %" PRId64 " s (got rc %d, %" PRId64 ", \"%s\")",
			      c->in, c->secs, rc, s, err);
		} else {
			CHECK(rc < 0 && s == -12345 && err[0] != '\0',
			      "duration \"%s\" refused, output untouched (\"%s\")",
			      c->in, err);
		}
	}
}

/* The error names the bad value, and stays inside a small buffer. */
static void test_errors(void)
{
	char err[ERRLEN], tiny[10];
	int64_t s;

	CHECK(bc_duration_parse("3x", &s, err, sizeof(err)) < 0 &&
		      strstr(err, "\"3x\"") != NULL,
	      "error names the value (\"%s\")", err);
	CHECK(bc_duration_parse("522w", &s, err, sizeof(err)) < 0 &&
		      strstr(err, "522w") != NULL,
	      "over-limit error names the value (\"%s\")", err);
	memset(tiny, 'x', sizeof(tiny));
	CHECK(bc_duration_parse("bogus", &s, tiny, sizeof(tiny)) < 0 &&
		      memchr(tiny, '\0', sizeof(tiny)) != NULL,
	      "error cut to a 10-byte buffer and NUL-terminated");
}

struct fmt_case {
	int64_t secs;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
	{0, "0s"},
	{1, "1s"},
	{45, "45s"},
	{59, "59s"},
	{60, "1m"},
	{90, "90s"},
	{5400, "90m"},
	{3600, "1h"},
	{10800, "3h"},
	{86400, "1d"},
	{90000, "25h"},
	{604800, "7d"},
	{86401, "86401s"},
	{BC_DURATION_MAX_S, "3650d"},
};

static void test_format(void)
{
	size_t i;

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		char buf[32];
		int64_t back = -1;
		char err[ERRLEN];

		bc_duration_format(fmt_cases[i].secs, buf, sizeof(buf));
		CHECK(strcmp(buf, fmt_cases[i].want) == 0,
		      "format %" PRId64 " -> %s (got %s)", fmt_cases[i].secs,
		      fmt_cases[i].want, buf);
		CHECK(bc_duration_parse(buf, &back, err, sizeof(err)) == 0 &&
			      back == fmt_cases[i].secs,
		      "format %" PRId64 " parses back", fmt_cases[i].secs);
	}
	{
		char small[3];

		CHECK(strcmp(bc_duration_format(12345, small, sizeof(small)),
			     "12") == 0,
		      "format cut to the buffer (got \"%s\")", small);
	}
}

struct u64_case {
	const char *in;
	uint64_t min, max;
	int ok;
	uint64_t want;
};

static const struct u64_case u64_cases[] = {
	{"0", 0, 10, 1, 0},
	{"10", 0, 10, 1, 10},
	{"11", 0, 10, 0, 0},
	{"4", 5, 10, 0, 0},
	{"5", 5, 10, 1, 5},
	{"0042", 0, 100, 1, 42},
	{"18446744073709551615", 0, UINT64_MAX, 1, UINT64_MAX},
	{"18446744073709551616", 0, UINT64_MAX, 0, 0},
	{"18446744073709551620", 0, UINT64_MAX, 0, 0},
	{"99999999999999999999", 0, UINT64_MAX, 0, 0},
	{"000000000000000000001", 0, UINT64_MAX, 0, 0}, /* 21 chars */
	{"", 0, 10, 0, 0},
	{"-1", 0, 10, 0, 0},
	{"+1", 0, 10, 0, 0},
	{" 1", 0, 10, 0, 0},
	{"1 ", 0, 10, 0, 0},
	{"1a", 0, 10, 0, 0},
	{"0x1", 0, 10, 0, 0},
	{"1.0", 0, 10, 0, 0},
};

static void test_u64(void)
{
	size_t i;

	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *c = &u64_cases[i];
		uint64_t v = 777;
		int rc = bc_parse_u64(c->in, c->min, c->max, &v);

		if (c->ok)
			CHECK(rc == 0 && v == c->want,
			      "u64 \"%s\" in [%" PRIu64 ", %" PRIu64 "] = %" PRIu64,
			      c->in, c->min, c->max, c->want);
		else
			CHECK(rc < 0 && v == 777,
			      "u64 \"%s\" in [%" PRIu64 ", %" PRIu64 "] refused",
			      c->in, c->min, c->max);
	}
}

static void test_clocks(void)
{
	int64_t r1 = bc_now_ms(), m1 = bc_mono_ms(), r2, m2;

	/* 2020-01-01 .. 2100-01-01 */
	CHECK(r1 > 1577836800000LL && r1 < 4102444800000LL,
	      "realtime clock in ms (%" PRId64 ")", r1);
	r2 = bc_now_ms();
	m2 = bc_mono_ms();
	CHECK(m1 >= 0 && m2 >= m1, "monotonic clock does not go back");
	CHECK(r2 - r1 >= 0 && r2 - r1 < 5000, "two realtime reads are close");
}

int main(void)
{
	test_parse();
	test_errors();
	test_format();
	test_u64();
	test_clocks();
	return tap_done();
}
