/*
 * duration.c - durations and strict integers (duration.h); the clocks
 * are common/clock.c.
 *
 * Inputs come from config files, state files and the command line; every
 * parse is anchored at both ends and overflow-checked. Errors are -1
 * (with a reason in err where the function takes one); nothing prints.
 */
#include "duration.h"

#include <stdio.h>
#include <string.h>

int bc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '\0' || strlen(s) > 20)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int bc_duration_parse(const char *s, int64_t *secs, char *err, size_t errlen)
{
	static const struct {
		char unit;
		int64_t mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
		     {'w', 7 * 86400}};
	char num[24];
	size_t len = strlen(s), i;
	int64_t mult = 1;
	uint64_t v;

	if (len == 0 || len >= sizeof(num)) {
		snprintf(err, errlen, "\"%.32s\": bad duration (use 30s, 10m, 3h, 7d)", s);
		return -1;
	}
	memcpy(num, s, len + 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[len - 1] == units[i].unit) {
			mult = units[i].mult;
			num[--len] = '\0';
			break;
		}
	}
	if (bc_parse_u64(num, 0, (uint64_t)(BC_DURATION_MAX_S / mult), &v) < 0) {
		snprintf(err, errlen, "\"%.32s\": bad duration (use 30s, 10m, 3h, 7d; at most 10 years)", s);
		return -1;
	}
	*secs = (int64_t)v * mult;
	return 0;
}

const char *bc_duration_format(int64_t secs, char *buf, size_t len)
{
	if (secs != 0 && secs % 86400 == 0)
		snprintf(buf, len, "%lldd", (long long)(secs / 86400));
	else if (secs != 0 && secs % 3600 == 0)
		snprintf(buf, len, "%lldh", (long long)(secs / 3600));
	else if (secs != 0 && secs % 60 == 0)
		snprintf(buf, len, "%lldm", (long long)(secs / 60));
	else
		snprintf(buf, len, "%llds", (long long)secs);
	return buf;
}
