/*
 * test_cluster_idx.c - the address index of cluster mode's decision
 * queue and flights (coordinator/cluster_idx.c), against a plain array
 * doing the same: 200,000 random puts, moves and deletes over a small
 * key space (so keys come back after their tombstone, the table grows
 * and is rebuilt), IPv4 and IPv6 keys that differ only in family or
 * prefix length, then every key checked; freeing resets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>

#include "coordinator/cluster_int.h"
#include "tap.h"

#define KEYS 3000

static struct bc_addr key_of(unsigned i)
{
	struct bc_addr a;

	memset(&a, 0, sizeof(a));
	/* i and i + 1000 share bytes: only family or prefix tell them apart */
	a.family = i < 1000 ? AF_INET : AF_INET6;
	a.plen = i < 1000 ? 32 : i < 2000 ? 128 : 64;
	a.a[0] = 198;
	a.a[1] = 51;
	a.a[2] = (uint8_t)((i % 1000) >> 8);
	a.a[3] = (uint8_t)(i % 1000);
	return a;
}

int main(void)
{
	struct cl_idx x;
	long model[KEYS];
	unsigned i, bad = 0, seed = 12345;
	size_t live = 0;

	if (sodium_init() < 0) {
		CHECK(0, "sodium_init");
		return tap_done();
	}
	memset(&x, 0, sizeof(x));
	for (i = 0; i < KEYS; i++)
		model[i] = -1;
	CHECK(cl_idx_get(&x, &(struct bc_addr){0}) == -1, "an empty index finds nothing");
	cl_idx_del(&x, &(struct bc_addr){0}); /* absent, empty: no effect */

	for (i = 0; i < 200000; i++) {
		unsigned k, op;
		struct bc_addr a;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % KEYS;
		op = (seed >> 20) % 3;
		a = key_of(k);
		if (op < 2) {
			if (cl_idx_put(&x, &a, i) < 0)
				bad++;
			if (model[k] < 0)
				live++;
			model[k] = i;
		} else {
			cl_idx_del(&x, &a);
			if (model[k] >= 0)
				live--;
			model[k] = -1;
		}
		if (cl_idx_get(&x, &a) != model[k])
			bad++;
	}
	CHECK(bad == 0, "200,000 random puts and deletes agree with the model at once (%u bad)", bad);
	for (i = 0, bad = 0; i < KEYS; i++) {
		struct bc_addr a = key_of(i);

		if (cl_idx_get(&x, &a) != model[i])
			bad++;
	}
	CHECK(bad == 0, "every one of %d keys agrees with the model afterwards (%u bad)", KEYS, bad);
	CHECK(x.live == live, "live entries counted: %zu (model %zu)", x.live, live);
	CHECK(x.used * 4 <= x.cap * 3, "at most 3/4 of %zu slots used (%zu)", x.cap, x.used);

	/* delete all: every key gone, then put back */
	for (i = 0; i < KEYS; i++) {
		struct bc_addr a = key_of(i);

		cl_idx_del(&x, &a);
	}
	for (i = 0, bad = 0; i < KEYS; i++) {
		struct bc_addr a = key_of(i);

		if (cl_idx_get(&x, &a) != -1)
			bad++;
	}
	CHECK(bad == 0 && x.live == 0, "all deleted: none found (%u bad, %zu live)", bad, x.live);
	for (i = 0, bad = 0; i < KEYS; i++) {
		struct bc_addr a = key_of(i);

		if (cl_idx_put(&x, &a, KEYS - i) < 0)
			bad++;
	}
	for (i = 0; i < KEYS; i++) {
		struct bc_addr a = key_of(i);

		if (cl_idx_get(&x, &a) != (long)(KEYS - i))
			bad++;
	}
	CHECK(bad == 0 && x.live == KEYS, "put back over the tombstones: all found (%u bad)", bad);
	cl_idx_free(&x);
	CHECK(x.v == NULL && x.cap == 0 && x.live == 0, "freed: empty again");
	CHECK(cl_idx_get(&x, &(struct bc_addr){0}) == -1, "freed: finds nothing");
	return tap_done();
}
