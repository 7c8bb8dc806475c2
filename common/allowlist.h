/*
 * allowlist.h - the allow list an admin keeps with `bancluster allow`:
 * entries (address or prefix, expiry, who added it and why) that the
 * coordinator never bans and that the agents keep out of their local
 * bans. The coordinator holds every field (loaded from its store); an
 * agent holds address and expiry (from the Clone stream), the text left
 * empty. Used by coordinator/ and agent/.
 *
 * A small unsorted array, at most BC_ALLOW_MAX entries, one per prefix
 * (put replaces). Lookups are linear: allow lists are short. An entry
 * whose expiry is over no longer matches, even before it is removed.
 * The list owns its array (bc_allowlist_free); errors are -1 (full, out
 * of memory). Nothing prints.
 */
#ifndef BC_ALLOWLIST_H
#define BC_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define BC_ALLOW_MAX 1000        /* entries (BC_WIRE_MAX_ALLOWS) */
#define BC_ALLOW_COMMENT_MAX 200 /* allow add --comment, characters */
#define BC_ALLOW_BY_MAX 64       /* the admin key's name */

struct bc_allow {
	struct bc_addr addr;
	int64_t created_ms;
	int64_t expires_ms;      /* 0 = until removed */
	char comment[BC_ALLOW_COMMENT_MAX + 1];
	char by[BC_ALLOW_BY_MAX];
};

struct bc_allowlist {
	struct bc_allow *v;
	size_t n, cap;
};

/* Insert, or replace the entry of the same prefix. 0, or -1 when full
 * (BC_ALLOW_MAX) or out of memory. */
int bc_allowlist_put(struct bc_allowlist *l, const struct bc_allow *e);

/* Index of the entry of exactly this prefix, or -1. */
long bc_allowlist_find(const struct bc_allowlist *l, const struct bc_addr *a);

/* Remove the entry of exactly this prefix: true if there was one. */
bool bc_allowlist_del(struct bc_allowlist *l, const struct bc_addr *a);

/* An entry active at now_ms that contains a (a is inside it), or NULL. */
const struct bc_allow *bc_allowlist_match(const struct bc_allowlist *l,
					  const struct bc_addr *a, int64_t now_ms);

/* An entry active at now_ms that contains a or lies inside it (a ban of
 * a would cover an allowed address), or NULL. */
const struct bc_allow *bc_allowlist_overlaps(const struct bc_allowlist *l,
					     const struct bc_addr *a,
					     int64_t now_ms);

/* Index of an entry whose expiry is over at now_ms, or -1. */
long bc_allowlist_expired(const struct bc_allowlist *l, int64_t now_ms);

void bc_allowlist_clear(struct bc_allowlist *l);
void bc_allowlist_free(struct bc_allowlist *l);

#endif
