/*
 * event.c - the kind table (event.h).
 */
#include "common/event.h"

#include <string.h>

const struct bc_kind_info bc_kinds[BC_KINDS] = {
	[BC_KIND_AUTH_FAIL] = {"auth_fail", 1},
	[BC_KIND_SENDER_VIOLATION] = {"sender_violation", 1},
	[BC_KIND_AUTH_ABORT] = {"auth_abort", 0.5},
	[BC_KIND_AUTH_SUCCESS] = {"auth_success", 0},
};

const char *bc_kind_name(int k)
{
	if (k < BC_KIND_FIRST || k > BC_KIND_MAX)
		return "?";
	return bc_kinds[k].name;
}

int bc_kind_parse(const char *s)
{
	int k;

	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		if (strcmp(s, bc_kinds[k].name) == 0)
			return k;
	return 0;
}

const char *bc_kind_list(void)
{
	return "auth_fail, sender_violation, auth_abort or auth_success";
}
