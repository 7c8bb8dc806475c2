/*
 * banmap.c - sorted array of active bans (see banmap.h).
 */
#include "banmap.h"

#include <stdlib.h>
#include <string.h>

size_t bc_banmap_lower(const struct bc_banmap *m, const struct bc_addr *a)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bc_addr_cmp(&m->v[mid].addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long bc_banmap_find(const struct bc_banmap *m, const struct bc_addr *a)
{
	size_t i = bc_banmap_lower(m, a);

	if (i < m->n && bc_addr_cmp(&m->v[i].addr, a) == 0)
		return (long)i;
	return -1;
}

static int grow(struct bc_banmap *m, size_t want)
{
	size_t cap = m->cap ? m->cap : 64;
	struct bc_ban *v;

	if (want > BC_BANMAP_MAX)
		return -1;
	if (want <= m->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	v = realloc(m->v, cap * sizeof(*v));
	if (v == NULL)
		return -1;
	m->v = v;
	m->cap = cap;
	return 0;
}

int bc_banmap_put(struct bc_banmap *m, const struct bc_ban *b)
{
	size_t i = bc_banmap_lower(m, &b->addr);

	if (i < m->n && bc_addr_cmp(&m->v[i].addr, &b->addr) == 0) {
		m->v[i] = *b;
		return 0;
	}
	if (grow(m, m->n + 1) < 0)
		return -1;
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = *b;
	m->n++;
	return 0;
}

int bc_banmap_del(struct bc_banmap *m, const struct bc_addr *a)
{
	long i = bc_banmap_find(m, a);

	if (i < 0)
		return -1;
	memmove(&m->v[i], &m->v[i + 1], (m->n - (size_t)i - 1) * sizeof(*m->v));
	m->n--;
	return 0;
}

static int cmp_ban(const void *x, const void *y)
{
	return bc_addr_cmp(&((const struct bc_ban *)x)->addr,
			   &((const struct bc_ban *)y)->addr);
}

int bc_banmap_load(struct bc_banmap *m, const struct bc_ban *v, size_t n)
{
	size_t i, o = 0;

	if (grow(m, n) < 0)
		return -1;
	if (n > 0)
		memcpy(m->v, v, n * sizeof(*v));
	if (n > 1)
		qsort(m->v, n, sizeof(*m->v), cmp_ban);
	for (i = 0; i < n; i++) { /* drop duplicate keys (one is kept) */
		if (o > 0 && bc_addr_cmp(&m->v[o - 1].addr, &m->v[i].addr) == 0)
			m->v[o - 1] = m->v[i];
		else
			m->v[o++] = m->v[i];
	}
	m->n = o;
	return 0;
}

void bc_banmap_clear(struct bc_banmap *m)
{
	m->n = 0;
}

void bc_banmap_free(struct bc_banmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}
