/*
 * allowlist.c - the allow list of `bancluster allow` in memory (see
 * allowlist.h). Entries come from the coordinator's store or from
 * verified, range-checked wire messages; nothing here parses text.
 */
#include "allowlist.h"

#include <stdlib.h>
#include <string.h>

static bool active(const struct bc_allow *e, int64_t now_ms)
{
	return e->expires_ms == 0 || e->expires_ms > now_ms;
}

long bc_allowlist_find(const struct bc_allowlist *l, const struct bc_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (bc_addr_equal(&l->v[i].addr, a))
			return (long)i;
	return -1;
}

int bc_allowlist_put(struct bc_allowlist *l, const struct bc_allow *e)
{
	long i = bc_allowlist_find(l, &e->addr);

	if (i >= 0) {
		l->v[i] = *e;
		return 0;
	}
	if (l->n >= BC_ALLOW_MAX)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct bc_allow *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

bool bc_allowlist_del(struct bc_allowlist *l, const struct bc_addr *a)
{
	long i = bc_allowlist_find(l, a);

	if (i < 0)
		return false;
	memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof(*l->v));
	l->n--;
	return true;
}

const struct bc_allow *bc_allowlist_match(const struct bc_allowlist *l,
					  const struct bc_addr *a, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (active(&l->v[i], now_ms) && bc_addr_contains(&l->v[i].addr, a))
			return &l->v[i];
	return NULL;
}

const struct bc_allow *bc_allowlist_overlaps(const struct bc_allowlist *l,
					     const struct bc_addr *a,
					     int64_t now_ms)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (active(&l->v[i], now_ms) &&
		    (bc_addr_contains(&l->v[i].addr, a) ||
		     bc_addr_contains(a, &l->v[i].addr)))
			return &l->v[i];
	return NULL;
}

long bc_allowlist_expired(const struct bc_allowlist *l, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!active(&l->v[i], now_ms))
			return (long)i;
	return -1;
}

void bc_allowlist_clear(struct bc_allowlist *l)
{
	l->n = 0;
}

void bc_allowlist_free(struct bc_allowlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
