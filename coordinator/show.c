/*
 * show.c - `bancluster show ADDR`: everything the coordinator knows about
 * one address: the bans covering it, the decisions about it (newest
 * first) with the evidence each was taken on, and the events of its
 * current window. Text is returned as the agents sent it (their excerpts
 * are escaped at the source); the CLI escapes for its output.
 *
 * Every object of the reply lives in the caller's arena. Errors: -1 +
 * err, "store: ..." when the decisions cannot be read and "out of
 * memory" when any allocation failed (no partial reply). A decision
 * whose evidence cannot be read is shown without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "coordinator/arena.h"
#include "coordinator/admin.h"
#include "coordinator/allow.h"
#include "coordinator/evidence.h"

#define SHOW_DECISIONS 50
#define SHOW_EVIDENCE 20 /* per decision in a reply (more are stored) */

struct collect {
	struct bc_coord *c;
	struct bc_arena *ar;
	Bancluster__Decision **dv;
	size_t dn;
	Bancluster__EvidenceItem **ev;
	size_t en, emax;
};

static Bancluster__EvidenceItem *item(struct bc_arena *ar,
				      const struct bc_store_event *e)
{
	Bancluster__EvidenceItem *it = bc_arena_alloc(ar, sizeof(*it));
	char a[BC_ADDR_STRLEN];

	if (it == NULL)
		return NULL;
	bancluster__evidence_item__init(it);
	it->time_ms = e->time_ms;
	it->host = bc_arena_strdup(ar, e->host);
	it->kind = e->kind;
	it->addr = bc_arena_strdup(ar, e->addr.family
						? bc_addr_format(&e->addr, a, sizeof(a))
						: "");
	it->service = bc_arena_strdup(ar, e->service);
	it->line = bc_arena_strdup(ar, e->line);
	if (!it->host || !it->addr || !it->service || !it->line)
		return NULL;
	return it;
}

static void evidence_cb(const struct bc_store_event *e, void *arg)
{
	struct collect *k = arg;
	Bancluster__EvidenceItem *it;

	if (k->en >= k->emax)
		return;
	it = item(k->ar, e);
	if (it != NULL)
		k->ev[k->en++] = it;
}

static void decision_cb(const struct bc_store_decision *d, void *arg)
{
	struct collect *k = arg;
	Bancluster__Decision *pd;
	struct collect ek = *k;

	if (k->dn >= SHOW_DECISIONS)
		return;
	pd = bc_arena_alloc(k->ar, sizeof(*pd));
	if (pd == NULL)
		return;
	bancluster__decision__init(pd);
	pd->time_ms = d->time_ms;
	pd->expires_ms = d->expires_ms;
	pd->action = bc_arena_strdup(k->ar, d->action);
	pd->addr = bc_arena_strdup(k->ar, d->addr);
	pd->reason = bc_arena_strdup(k->ar, d->reason);
	pd->origin = bc_arena_strdup(k->ar, d->origin);
	pd->signer = bc_arena_strdup(k->ar, d->signer);
	if (!pd->action || !pd->addr || !pd->reason || !pd->origin || !pd->signer)
		return;
	ek.emax = k->c->cfg.evidence_max < SHOW_EVIDENCE
			  ? (size_t)k->c->cfg.evidence_max
			  : SHOW_EVIDENCE;
	ek.en = 0;
	ek.ev = bc_arena_alloc(k->ar, ek.emax * sizeof(*ek.ev));
	if (ek.ev != NULL &&
	    bc_store_evidence(k->c->store, d->id, evidence_cb, &ek) == 0) {
		pd->evidence = ek.ev;
		pd->n_evidence = ek.en;
	}
	k->dv[k->dn++] = pd;
}

int bc_coord_show(struct bc_coord *c, const struct bc_addr *addr,
		  Bancluster__AdminReply *r, struct bc_arena *ar, char *err,
		  size_t errlen)
{
	struct collect k = {c, ar, NULL, 0, NULL, 0, 0};
	struct bc_policy_hit hit;
	struct bc_addr key;
	char as[BC_ADDR_STRLEN], ks[BC_ADDR_STRLEN];
	Bancluster__Ban **bans;
	size_t nb = 0;
	unsigned p;
	int64_t now = bc_now_ms();

	bc_policy_key(c->policy, addr, &key);
	bc_addr_format(addr, as, sizeof(as));
	bc_addr_format(&key, ks, sizeof(ks));
	/* every active ban that covers the address */
	bans = bc_arena_alloc(ar, 129 * sizeof(*bans));
	for (p = 0; bans != NULL && p <= bc_addr_maxlen(addr); p++) {
		struct bc_addr t = *addr;
		long i;

		if (p > addr->plen && addr->plen != bc_addr_maxlen(addr))
			break;
		bc_addr_mask(&t, p);
		i = bc_banmap_find(&c->bans, &t);
		if (i >= 0) {
			Bancluster__Ban *b = bc_arena_alloc(ar, sizeof(*b));

			if (b == NULL)
				break;
			bancluster__ban__init(b);
			bc_wire_addr_fill(&c->bans.v[i].addr, &b->family,
					  &b->addr, &b->plen);
			b->addr.data = bc_arena_alloc(ar, 16);
			if (b->addr.data == NULL)
				break;
			memcpy(b->addr.data, c->bans.v[i].addr.a, b->addr.len);
			b->expires_ms = c->bans.v[i].expires_ms;
			b->created_ms = c->bans.v[i].created_ms;
			b->reason = (char *)"";
			b->origin = (char *)"";
			bans[nb++] = b;
		}
	}
	r->bans = bans;
	r->n_bans = nb;
	k.dv = bc_arena_alloc(ar, SHOW_DECISIONS * sizeof(*k.dv));
	if (k.dv == NULL ||
	    bc_store_decisions(c->store, as, ks, SHOW_DECISIONS, decision_cb,
			       &k) < 0) {
		snprintf(err, errlen, "store: %s", bc_store_error(c->store));
		return -1;
	}
	r->decisions = k.dv;
	r->n_decisions = k.dn;
	/* the current window: the newest events the policy holds */
	k.emax = BC_POLICY_HIT_REFS;
	k.en = 0;
	k.ev = bc_arena_alloc(ar, k.emax * sizeof(*k.ev));
	if (k.ev != NULL && bc_policy_peek(c->policy, addr, now, &hit)) {
		r->score = hit.score;
		bc_coord_events(c, hit.refs, hit.nrefs, evidence_cb, &k);
	}
	r->recent = k.ev;
	r->n_recent = k.en;
	r->allowed = bc_addr_list_match(&c->cfg.allow, addr);
	{
		const struct bc_allow *e = bc_allowlist_match(&c->allows, addr, now);
		Bancluster__Allow *pa = e ? bc_arena_alloc(ar, sizeof(*pa)) : NULL;

		if (pa != NULL) { /* bancluster allow: by whom, until when */
			bc_coord_allow_fill(pa, e, true);
			r->allowed_by = pa;
			r->allowed = true;
		}
	}
	/* the local bans of every MX that cover it */
	if (bc_coord_local_show(c, addr, r, ar) < 0)
		ar->oom = 1;
	if (ar->oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
