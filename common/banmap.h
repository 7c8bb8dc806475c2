/*
 * banmap.h - the set of active bans in memory: a sorted array of fixed
 * 40-byte records keyed by address/prefix (bc_addr_cmp order: family,
 * address, then shorter prefix first, so a prefix precedes every prefix
 * nested in it). Lookup is a binary search; insert and delete move the
 * tail. Bounded by BC_BANMAP_MAX.
 *
 * Records come from the caller's own state (wire messages are range-
 * checked by proto/wire.c first). The map owns its array
 * (bc_banmap_free); errors (full, out of memory, absent) are -1.
 */
#ifndef BC_BANMAP_H
#define BC_BANMAP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define BC_BANMAP_MAX 2000000

struct bc_ban {
	struct bc_addr addr;
	int64_t expires_ms; /* 0 = permanent */
	int64_t created_ms;
};

struct bc_banmap {
	struct bc_ban *v;
	size_t n;
	size_t cap;
};

/* Index of the exact key, or -1. */
long bc_banmap_find(const struct bc_banmap *m, const struct bc_addr *a);

/* First index whose key is >= a. */
size_t bc_banmap_lower(const struct bc_banmap *m, const struct bc_addr *a);

/* Insert or replace. Returns 0, or -1 when full or out of memory. */
int bc_banmap_put(struct bc_banmap *m, const struct bc_ban *b);

/* Remove the exact key. Returns 0, or -1 when absent. */
int bc_banmap_del(struct bc_banmap *m, const struct bc_addr *a);

/* Replace the whole content with n records (sorted here; of records
 * with the same key one is kept). */
int bc_banmap_load(struct bc_banmap *m, const struct bc_ban *v, size_t n);

void bc_banmap_clear(struct bc_banmap *m);
void bc_banmap_free(struct bc_banmap *m);

#endif
