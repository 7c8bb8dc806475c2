/*
 * allow.c - the allow list of `bancluster allow` on the coordinator (see
 * allow.h): add, list, remove, expiry, the snapshot's entries and the
 * check every ban passes.
 *
 * Requests arrive verified and range-checked (intake.c, proto/wire.c);
 * the comment is an admin's text, stored and echoed as sent (bounded
 * here), never interpreted. Order of every change: store (entry and
 * decision in one commit), memory, a sequenced Update, a log line; a
 * store failure changes nothing and is the request's error. An entry
 * added over addresses banned now leaves their bans in place: the reply
 * counts them (banned_inside) and the CLI says to lift them with unban.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "coordinator/allow.h"
#include "coordinator/cluster.h"
#include "coordinator/decide.h"

void bc_coord_allow_fill(Bancluster__Allow *pa, const struct bc_allow *e,
			 bool text)
{
	bancluster__allow__init(pa);
	bc_wire_addr_fill(&e->addr, &pa->family, &pa->addr, &pa->plen);
	pa->expires_ms = e->expires_ms;
	pa->created_ms = e->created_ms;
	if (text) {
		pa->comment = (char *)(uintptr_t)e->comment;
		pa->added_by = (char *)(uintptr_t)e->by;
	}
}

bool bc_coord_allowed(const struct bc_coord *c, const struct bc_addr *a,
		      char *why, size_t whylen)
{
	const struct bc_allow *e;
	char as[BC_ADDR_STRLEN];

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (bc_addr_list_overlaps(&c->cfg.allow, a))
		return true;
	e = bc_allowlist_overlaps(&c->allows, a, bc_now_ms());
	if (e == NULL)
		return false;
	if (why != NULL)
		snprintf(why, whylen, " (%s, allow add by %s)",
			 bc_addr_format(&e->addr, as, sizeof(as)), e->by);
	return true;
}

/* "until 2026-12-07T04:00:00Z" or "until removed" */
static const char *until(int64_t ms, char *buf, size_t len)
{
	if (ms == 0) {
		snprintf(buf, len, "until removed");
	} else {
		char d[32];

		bc_duration_format((ms - bc_now_ms() + 999) / 1000, d, sizeof(d));
		snprintf(buf, len, "for %s", d);
	}
	return buf;
}

static void allow_add(struct bc_coord *c, const char *signer,
		      const Bancluster__AllowAddCmd *cmd,
		      Bancluster__AdminReply *r, struct bc_arena *ar,
		      char *err, size_t errlen)
{
	Bancluster__Allow *pa = bc_arena_alloc(ar, sizeof(*pa));
	Bancluster__Allow **pp = bc_arena_alloc(ar, sizeof(*pp));
	struct bc_allow *e = bc_arena_alloc(ar, sizeof(*e));
	char as[BC_ADDR_STRLEN], u[48];
	int64_t now = bc_now_ms();
	size_t i, inside = 0;

	if (pa == NULL || pp == NULL || e == NULL) {
		snprintf(err, errlen, "out of memory");
		return;
	}
	memset(e, 0, sizeof(*e));
	bc_wire_addr(cmd->family, &cmd->addr, cmd->plen, &e->addr);
	bc_addr_format(&e->addr, as, sizeof(as));
	if (strlen(cmd->comment) > BC_ALLOW_COMMENT_MAX) {
		snprintf(err, errlen, "%s: comment longer than %d characters", as,
			 BC_ALLOW_COMMENT_MAX);
		return;
	}
	if (c->allows.n >= BC_ALLOW_MAX &&
	    bc_allowlist_find(&c->allows, &e->addr) < 0) {
		snprintf(err, errlen, "%s: the allow list is full (%d entries)", as,
			 BC_ALLOW_MAX);
		return;
	}
	e->created_ms = now;
	e->expires_ms = cmd->for_s ? now + (int64_t)cmd->for_s * 1000 : 0;
	snprintf(e->comment, sizeof(e->comment), "%s", cmd->comment);
	snprintf(e->by, sizeof(e->by), "%s", signer);
	if (bc_cluster_on(c)) {
		/* through etcd: every coordinator applies and publishes it */
		if (bc_cluster_allow(c, e, "allow", signer, err, errlen) < 0)
			return;
	} else {
		if (bc_store_allow_put(c->store, e, now) < 0) {
			snprintf(err, errlen, "store: %s", bc_store_error(c->store));
			return;
		}
		if (bc_allowlist_put(&c->allows, e) < 0) { /* checked above */
			snprintf(err, errlen, "out of memory");
			return;
		}
		bc_coord_publish_allow(c, e, false);
	}
	/* bans made before stay: counted for the admin to lift them */
	for (i = 0; i < c->bans.n; i++)
		if (bc_addr_contains(&e->addr, &c->bans.v[i].addr) ||
		    bc_addr_contains(&c->bans.v[i].addr, &e->addr))
			inside++;
	bc_info("allow %s %s by %s seq=%" PRIu64 " (%zu active ban%s inside)",
		as, until(e->expires_ms, u, sizeof(u)), signer, c->seq, inside,
		inside == 1 ? "" : "s");
	bc_coord_allow_fill(pa, e, true);
	pp[0] = pa;
	r->allows = pp;
	r->n_allows = 1;
	r->banned_inside = inside;
}

static void allow_remove(struct bc_coord *c, const char *signer,
			 const Bancluster__AllowRemoveCmd *cmd, char *err,
			 size_t errlen)
{
	struct bc_allow e;
	char as[BC_ADDR_STRLEN];
	long i;
	size_t k;

	memset(&e, 0, sizeof(e));
	bc_wire_addr(cmd->family, &cmd->addr, cmd->plen, &e.addr);
	bc_addr_format(&e.addr, as, sizeof(as));
	i = bc_allowlist_find(&c->allows, &e.addr);
	if (i < 0) {
		for (k = 0; k < c->cfg.allow.n; k++)
			if (bc_addr_equal(&c->cfg.allow.v[k], &e.addr)) {
				snprintf(err, errlen,
					 "%s is in [policy] allow of the coordinator's "
					 "configuration: remove it there and reload",
					 as);
				return;
			}
		snprintf(err, errlen, "%s: not in the allow list", as);
		return;
	}
	e = c->allows.v[i];
	if (bc_cluster_on(c)) {
		bc_cluster_allow(c, &e, "allow-remove", signer, err, errlen);
		return; /* logged where applied */
	}
	if (bc_store_allow_del(c->store, &e.addr, "allow-remove", signer,
			       bc_now_ms()) < 0) {
		snprintf(err, errlen, "store: %s", bc_store_error(c->store));
		return;
	}
	bc_allowlist_del(&c->allows, &e.addr);
	bc_coord_publish_allow(c, &e, true);
	bc_info("allow-remove %s by %s seq=%" PRIu64, as, signer, c->seq);
}

/* Every active entry with its text, then the configuration's (at most
 * BC_WIRE_MAX_ALLOWS of them; r->total counts them all). */
static void allow_list(struct bc_coord *c, Bancluster__AdminReply *r,
		       struct bc_arena *ar, char *err, size_t errlen)
{
	size_t ncfg = c->cfg.allow.n < BC_WIRE_MAX_ALLOWS ? c->cfg.allow.n
							  : BC_WIRE_MAX_ALLOWS;
	size_t max = c->allows.n + ncfg, n = 0, i;
	Bancluster__Allow *pa = bc_arena_alloc(ar, (max + 1) * sizeof(*pa));
	Bancluster__Allow **pp = bc_arena_alloc(ar, (max + 1) * sizeof(*pp));
	int64_t now = bc_now_ms();

	if (pa == NULL || pp == NULL) {
		snprintf(err, errlen, "out of memory");
		return;
	}
	for (i = 0; i < c->allows.n; i++) {
		const struct bc_allow *e = &c->allows.v[i];

		if (e->expires_ms != 0 && e->expires_ms <= now)
			continue; /* the next tick removes it */
		bc_coord_allow_fill(&pa[n], e, true);
		pp[n] = &pa[n];
		n++;
	}
	for (i = 0; i < ncfg; i++) {
		bancluster__allow__init(&pa[n]);
		bc_wire_addr_fill(&c->cfg.allow.v[i], &pa[n].family, &pa[n].addr,
				  &pa[n].plen);
		pa[n].config = 1;
		pp[n] = &pa[n];
		n++;
	}
	r->allows = pp;
	r->n_allows = n;
	r->total = c->cfg.allow.n; /* configuration entries, all of them */
}

void bc_coord_allow_admin(struct bc_coord *c, const char *signer,
			  const Bancluster__AdminReq *rq,
			  Bancluster__AdminReply *r, struct bc_arena *ar,
			  char *err, size_t errlen)
{
	switch (rq->cmd_case) {
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD:
		allow_add(c, signer, rq->allow_add, r, ar, err, errlen);
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE:
		allow_remove(c, signer, rq->allow_remove, err, errlen);
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST:
		allow_list(c, r, ar, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown command");
		break;
	}
}

void bc_coord_allow_expire(struct bc_coord *c, int64_t now_ms)
{
	long i;

	if (bc_cluster_on(c))
		return; /* the leader's, through etcd (cluster_write.c) */

	while ((i = bc_allowlist_expired(&c->allows, now_ms)) >= 0) {
		struct bc_allow e = c->allows.v[i];
		char as[BC_ADDR_STRLEN];

		bc_addr_format(&e.addr, as, sizeof(as));
		if (bc_store_allow_del(c->store, &e.addr, "allow-expire", "",
				       now_ms) < 0) {
			bc_warn("allow-expire %s: store: %s", as,
				bc_store_error(c->store));
			return; /* again at the next tick */
		}
		bc_allowlist_del(&c->allows, &e.addr);
		bc_coord_publish_allow(c, &e, true);
		bc_info("allow-expire %s (added by %s) seq=%" PRIu64, as, e.by,
			c->seq);
	}
}

size_t bc_coord_allow_wire(const struct bc_coord *c, Bancluster__Allow *pa,
			   Bancluster__Allow **pp, size_t max, int64_t now_ms)
{
	size_t i, n = 0;

	for (i = 0; i < c->allows.n && n < max; i++) {
		const struct bc_allow *e = &c->allows.v[i];

		if (e->expires_ms != 0 && e->expires_ms <= now_ms)
			continue;
		bc_coord_allow_fill(&pa[n], e, false);
		pp[n] = &pa[n];
		n++;
	}
	return n;
}
