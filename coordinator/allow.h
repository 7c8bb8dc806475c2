/*
 * allow.h - the coordinator's allow list of `bancluster allow` (allow.c):
 * the admin requests allow add, allow list and allow remove, the expiry
 * of entries added with --for, the entries in a snapshot, and the one
 * question every decision asks: may this address or prefix be banned?
 *
 * Entries live in c->allows (loaded from the store at start) beside the
 * configuration's [policy] allow, which they never change. Each change
 * is committed to the store with its decision, then applied in memory,
 * then published as one sequenced Update carrying an Allow, like a ban.
 */
#ifndef BC_COORD_ALLOW_H
#define BC_COORD_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/arena.h"
#include "coordinator/coord.h"

/*
 * true when a ban of a would cover an allowed address: a overlaps
 * [policy] allow or an active entry of the allow list (either contains
 * the other). why (may be NULL) gets "" for the configuration's entries
 * or " (P, allow add by ADMIN)" for the allow list's.
 */
bool bc_coord_allowed(const struct bc_coord *c, const struct bc_addr *a,
		      char *why, size_t whylen);

/* allow add / list / remove: fill r (objects in ar), or err. */
void bc_coord_allow_admin(struct bc_coord *c, const char *signer,
			  const Bancluster__AdminReq *rq,
			  Bancluster__AdminReply *r, struct bc_arena *ar,
			  char *err, size_t errlen);

/* Remove (store, memory, a sequenced removal) every entry whose time is
 * over; a store failure is logged and retried at the next tick. */
void bc_coord_allow_expire(struct bc_coord *c, int64_t now_ms);

/* The active entries for a snapshot: address, prefix and expiry, no
 * text, in pa[0..n) with pp[i] = &pa[i]. Returns n (at most max). */
size_t bc_coord_allow_wire(const struct bc_coord *c, Bancluster__Allow *pa,
			   Bancluster__Allow **pp, size_t max, int64_t now_ms);

/* The wire form of an entry; with text, comment and added_by too
 * (pointing into e). */
void bc_coord_allow_fill(Bancluster__Allow *pa, const struct bc_allow *e,
			 bool text);

#endif
