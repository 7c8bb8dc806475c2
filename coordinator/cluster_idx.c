/*
 * cluster_idx.c - address -> position in the decision queue or the
 * flights (cluster_int.h): open addressing with linear probing and
 * tombstones, SipHash-2-4 (libsodium's crypto_shorthash) under a key
 * drawn at creation, so addresses an attacker picks (an IPv6 /64 holds
 * plenty) cannot be chosen to collide. A burst of 10,000 rule bans
 * looked each one up in a linear scan of the queue, on every coordinator
 * and for every decision applied: quadratic.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "coordinator/cluster_int.h"

enum { EMPTY = 0, LIVE = 1, GONE = 2 };

_Static_assert(sizeof(((struct cl_idx *)0)->key) == BC_ADDR_HASH_KEYBYTES,
	       "cl_idx's key is a bc_addr_hash key");

static size_t slot_of(const struct cl_idx *x, const struct bc_addr *a)
{
	return (size_t)bc_addr_hash(a, x->key) & (x->cap - 1);
}

/* the slot holding a, or the first free one on its probe (-1: neither) */
static long probe(const struct cl_idx *x, const struct bc_addr *a, bool *found)
{
	size_t i, s, n;
	long first_free = -1;

	*found = false;
	if (x->cap == 0)
		return -1;
	s = slot_of(x, a);
	for (n = 0; n < x->cap; n++) {
		i = (s + n) & (x->cap - 1);
		if (x->v[i].state == EMPTY)
			return first_free >= 0 ? first_free : (long)i;
		if (x->v[i].state == GONE) {
			if (first_free < 0)
				first_free = (long)i;
		} else if (bc_addr_equal(&x->v[i].a, a)) {
			*found = true;
			return (long)i;
		}
	}
	return first_free;
}

long cl_idx_get(const struct cl_idx *x, const struct bc_addr *a)
{
	bool found;
	long i = probe(x, a, &found);

	return found ? (long)x->v[i].pos : -1;
}

static int rebuild(struct cl_idx *x, size_t cap)
{
	struct cl_slot *old = x->v;
	size_t i, oldcap = x->cap;

	x->v = calloc(cap, sizeof(*x->v));
	if (x->v == NULL) {
		x->v = old;
		return -1;
	}
	if (oldcap == 0)
		randombytes_buf(x->key, sizeof(x->key));
	x->cap = cap;
	x->used = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].state == LIVE) {
			bool found;
			long j = probe(x, &old[i].a, &found);

			x->v[j] = old[i];
			x->used++;
		}
	free(old);
	return 0;
}

int cl_idx_put(struct cl_idx *x, const struct bc_addr *a, size_t pos)
{
	bool found;
	long i = probe(x, a, &found);

	if (found) {
		x->v[i].pos = pos;
		return 0;
	}
	/* at most 3/4 of the slots used, tombstones included */
	if (x->cap == 0 || (x->used + 1) * 4 > x->cap * 3) {
		size_t cap = x->cap ? x->cap : 64;

		if (x->live * 2 >= cap)
			cap *= 2;
		if (rebuild(x, cap) < 0)
			return -1;
		i = probe(x, a, &found);
	}
	if (x->v[i].state == EMPTY)
		x->used++;
	x->v[i].a = *a;
	x->v[i].pos = pos;
	x->v[i].state = LIVE;
	x->live++;
	return 0;
}

void cl_idx_del(struct cl_idx *x, const struct bc_addr *a)
{
	bool found;
	long i = probe(x, a, &found);

	if (!found)
		return;
	x->v[i].state = GONE;
	x->live--;
}

void cl_idx_free(struct cl_idx *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}
