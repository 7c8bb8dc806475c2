/*
 * admin.c - the requests of admin keys: ban, unban (fleet and local
 * bans, with the bans that cover the address: named, or lifted with
 * --covering), list (paged; --local from localbans.c) and status here;
 * show (show.c), audit fleet (audit.c) and allow add/list/remove
 * (allow.c) are called from here. One reply per request, sent to the
 * ROUTER peer that asked.
 *
 * The request arrives verified (intake.c); its fields are an admin's
 * input: addresses are checked against the allow list (unless --force)
 * and times against the clock, reasons are stored and echoed as typed.
 * Allocations live until the reply is sent (heap or the reply's arena).
 * Any failure becomes code 1 and a one-line error, with no partial list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/covering.h"
#include "common/version.h"
#include "coordinator/admin.h"
#include "coordinator/allow.h"
#include "coordinator/cluster.h"
#include "coordinator/arena.h"
#include "coordinator/decide.h"
#include "coordinator/enrol.h"
#include "coordinator/intake.h"

#define LIST_PAGE 2000   /* bans per list reply: 2000 x ~700 B < 4 MiB */

struct list_ctx {
	Bancluster__Ban *pb;
	Bancluster__Ban **pp;
	struct bc_store_ban *sb;
	size_t n, max;
	uint64_t offset, seen;
	int manual_only;
	int64_t since_ms;
};

static void list_cb(const struct bc_store_ban *b, void *arg)
{
	struct list_ctx *l = arg;

	if (l->manual_only && strncmp(b->origin, "manual:", 7) != 0)
		return;
	if (b->ban.created_ms < l->since_ms)
		return;
	if (l->seen++ < l->offset || l->n >= l->max)
		return;
	l->sb[l->n] = *b;
	bc_coord_fill_ban(&l->pb[l->n], &l->sb[l->n].ban);
	l->pb[l->n].reason = l->sb[l->n].reason;
	l->pb[l->n].origin = l->sb[l->n].origin;
	l->pp[l->n] = &l->pb[l->n];
	l->n++;
}

/* The bans on prefixes wider than addr that contain it, widest first. */
static size_t covering_bans(const struct bc_coord *c, const struct bc_addr *addr,
			    struct bc_ban *v)
{
	size_t n = 0;
	unsigned p;

	for (p = 0; p < addr->plen && n < BC_COVERING_MAX; p++) {
		struct bc_addr t = *addr;
		long i;

		bc_addr_mask(&t, p);
		i = bc_banmap_find(&c->bans, &t);
		if (i >= 0)
			v[n++] = c->bans.v[i];
	}
	return n;
}

int bc_coord_unban_admin(struct bc_coord *c, const struct bc_addr *addr,
			 bool covering, const char *signer,
			 struct bc_coord_unban_result *res, char *err,
			 size_t errlen)
{
	struct bc_ban cov[BC_COVERING_MAX];
	char a[BC_ADDR_STRLEN], text[BC_WIRE_MAX_TEXT];
	long own = bc_banmap_find(&c->bans, addr);
	size_t nc = covering_bans(c, addr, cov), i;

	res->nlifted = 0;
	res->nstill = 0;
	bc_addr_format(addr, a, sizeof(a));
	if (own < 0 && nc == 0) /* "ADDR: not banned", as always */
		return bc_coord_unban(c, addr, "unban", signer, err, errlen);
	if (own < 0 && !covering) {
		struct bc_addr ca[BC_COVERING_MAX];
		int w = snprintf(err, errlen, "%s is not banned itself; it is ", a);

		for (i = 0; i < nc; i++)
			ca[i] = cov[i].addr;
		/* the list fits what is left of err, "and N more" if need be */
		if (w > 0 && (size_t)w < errlen)
			bc_covering_text(ca, nc, err + w, errlen - (size_t)w);
		return -1;
	}
	if (own >= 0) {
		struct bc_ban b = c->bans.v[own];

		if (bc_coord_unban(c, addr, "unban", signer, err, errlen) < 0)
			return -1;
		res->lifted[res->nlifted++] = b;
	}
	for (i = 0; i < nc; i++) {
		if (!covering) {
			res->still[res->nstill++] = cov[i];
			continue;
		}
		if (bc_coord_unban(c, &cov[i].addr, "unban", signer, text,
				   sizeof(text)) < 0) {
			size_t k, off;

			/* the ones lifted so far stay lifted: say which */
			off = (size_t)snprintf(err, errlen, "%s", text);
			for (k = 0; k < res->nlifted && off < errlen; k++)
				off += (size_t)snprintf(err + off, errlen - off, "%s%s",
							k ? ", " : " (unbanned already: ",
							bc_addr_format(&res->lifted[k].addr, a, sizeof(a)));
			if (res->nlifted > 0 && off < errlen)
				snprintf(err + off, errlen - off, ")");
			return -1;
		}
		res->lifted[res->nlifted++] = cov[i];
	}
	return 0;
}

/* "inside P (fleet ban) and Q (local ban on mx1): use --covering ..." */
static void covering_refusal(const struct bc_addr *addr, const struct bc_ban *fc,
			     size_t nf, const struct bc_coord_local_hit *lc,
			     size_t nl, struct bc_coord *c, char *err,
			     size_t errlen)
{
	struct bc_addr v[BC_COVERING_MAX + BC_COORD_UNBAN_LOCAL_MAX];
	char lab[BC_COORD_UNBAN_LOCAL_MAX][BC_NAME_MAX + 16];
	const char *labels[BC_COVERING_MAX + BC_COORD_UNBAN_LOCAL_MAX];
	char a[BC_ADDR_STRLEN];
	size_t i, n = 0;
	int w;

	for (i = 0; i < nf; i++) {
		v[n] = fc[i].addr;
		labels[n++] = "fleet ban";
	}
	for (i = 0; i < nl; i++) {
		snprintf(lab[i], sizeof(lab[i]), "local ban on %s",
			 c->ring.v[lc[i].agent].name);
		v[n] = lc[i].ban.addr;
		labels[n++] = lab[i];
	}
	w = snprintf(err, errlen, "%s is not banned itself; it is ",
		     bc_addr_format(addr, a, sizeof(a)));
	if (w > 0 && (size_t)w < errlen)
		bc_covering_text_labelled(v, labels, n, err + w, errlen - (size_t)w);
}

int bc_coord_unban_every(struct bc_coord *c, const struct bc_addr *addr,
			 bool covering, bool fleet, bool local,
			 const char *signer, struct bc_coord_unban_result *res,
			 char *err, size_t errlen)
{
	struct bc_ban fcov[BC_COVERING_MAX];
	struct bc_coord_local_hit *lown = res->llifted, *lcov = res->lstill;
	size_t nfc = 0, nlo = 0, nlc = 0, i;
	bool fown = false;
	char a[BC_ADDR_STRLEN];

	res->nlifted = res->nstill = res->nllifted = res->nlstill = 0;
	if (!local)
		return bc_coord_unban_admin(c, addr, covering, signer, res, err,
					    errlen);
	if (fleet) {
		fown = bc_banmap_find(&c->bans, addr) >= 0;
		nfc = covering_bans(c, addr, fcov);
	}
	/* found in place: own ones become the lifted, covering the left */
	bc_coord_local_find(c, addr, lown, &nlo, lcov, &nlc,
			    BC_COORD_UNBAN_LOCAL_MAX);
	bc_addr_format(addr, a, sizeof(a));
	if (!fown && nlo == 0 && nfc == 0 && nlc == 0) {
		if (fleet) /* "ADDR: not banned", as always */
			return bc_coord_unban(c, addr, "unban", signer, err, errlen);
		snprintf(err, errlen, "%s: not banned locally on any MX", a);
		return -1;
	}
	if (!fown && nlo == 0 && !covering) {
		covering_refusal(addr, fcov, nfc, lcov, nlc, c, err, errlen);
		return -1;
	}
	/* the fleet's part first: sequenced, stored, published */
	if (fown || (covering && nfc > 0)) {
		if (bc_coord_unban_admin(c, addr, covering, signer, res, err,
					 errlen) < 0)
			return -1;
	} else {
		for (i = 0; i < nfc; i++)
			res->still[res->nstill++] = fcov[i];
	}
	/* then every MX's own: each lift logged, sent, kept until confirmed */
	if (covering) {
		for (i = 0; i < nlc && nlo < BC_COORD_UNBAN_LOCAL_MAX; i++)
			lown[nlo++] = lcov[i];
		nlc = 0;
	}
	for (i = 0; i < nlo; i++) {
		bool sent;

		if (bc_coord_local_lift(c, &lown[i], signer, &sent, err, errlen) < 0)
			return -1; /* those before stay lifted */
		lown[i].pending = !sent;
		if (bc_cluster_on(c)) /* every coordinator sends it too */
			bc_cluster_lift(c, c->ring.v[lown[i].agent].name,
					&lown[i].ban.addr, lown[i].ban.created_ms,
					signer);
	}
	res->nllifted = nlo;
	res->nlstill = nlc;
	return 0;
}

/* LocalEntry list of the reply (in the arena): NULL when out of memory */
static Bancluster__LocalEntry **reply_local(struct bc_coord *c, struct bc_arena *ar,
					    const struct bc_coord_local_hit *v,
					    size_t n)
{
	Bancluster__LocalEntry **pp = bc_arena_alloc(ar, (n + 1) * sizeof(*pp));
	size_t i;

	for (i = 0; pp != NULL && i < n; i++)
		if ((pp[i] = bc_coord_local_entry(c, &v[i], ar)) == NULL)
			return NULL;
	return pp;
}

/* bans[] of the reply from n of v (in the arena): NULL when out of memory */
static Bancluster__Ban **reply_bans(struct bc_arena *ar, const struct bc_ban *v,
				    size_t n)
{
	Bancluster__Ban *pb = bc_arena_alloc(ar, (n + 1) * sizeof(*pb));
	Bancluster__Ban **pp = bc_arena_alloc(ar, (n + 1) * sizeof(*pp));
	size_t i;

	if (pb == NULL || pp == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		bc_coord_fill_ban(&pb[i], &v[i]);
		pp[i] = &pb[i];
	}
	return pp;
}

void bc_coord_admin(struct bc_coord *c, const zmq_msg_t *id,
			 const struct bc_peer *from,
			 const Bancluster__AdminReq *rq)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__AdminReply r = BANCLUSTER__ADMIN_REPLY__INIT;
	Bancluster__Ban one;
	Bancluster__Ban *onep = &one;
	Bancluster__AgentStatus *as = NULL, **asp = NULL;
	struct list_ctx l = {0};
	struct bc_arena arena = {0};
	char err[BC_WIRE_MAX_TEXT] = "";
	char signer[BC_NAME_MAX + 8];
	struct bc_store_ban sb;
	size_t i, na = 0;

	snprintf(signer, sizeof(signer), "%s", from->name);
	r.nonce = rq->nonce;
	r.epoch = c->epoch;
	r.started_ms = c->started_ms;
	r.software = (char *)bc_version_wire();
	r.wire_min = BC_WIRE_VERSION_MIN;
	r.wire_max = BC_WIRE_VERSION;
	switch (rq->cmd_case) {
	case BANCLUSTER__ADMIN_REQ__CMD_BAN: {
		const Bancluster__Ban *b = rq->ban->ban;
		char a[BC_ADDR_STRLEN], why[BC_ADDR_STRLEN + BC_NAME_MAX + 32];

		memset(&sb, 0, sizeof(sb));
		bc_wire_ban_addr(b, &sb.ban.addr);
		bc_addr_format(&sb.ban.addr, a, sizeof(a));
		if (!rq->ban->force &&
		    bc_coord_allowed(c, &sb.ban.addr, why, sizeof(why))) {
			snprintf(err, sizeof(err), "%s overlaps the allow list%s; "
				 "use --force to ban it anyway", a, why);
			break;
		}
		if (b->expires_ms != 0 && b->expires_ms <= bc_now_ms()) {
			snprintf(err, sizeof(err), "%s: expiry in the past", a);
			break;
		}
		sb.ban.expires_ms = b->expires_ms;
		sb.ban.created_ms = bc_now_ms();
		snprintf(sb.reason, sizeof(sb.reason), "%s", b->reason);
		snprintf(sb.origin, sizeof(sb.origin), "manual:%s", from->name);
		if (bc_coord_ban(c, &sb, signer, err, sizeof(err)) == 0) {
			bc_coord_fill_ban(&one, &sb.ban);
			one.reason = sb.reason;
			one.origin = sb.origin;
			r.n_bans = 1;
			r.bans = &onep;
		}
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_UNBAN: {
		struct bc_addr a;
		struct bc_coord_unban_result *u = bc_arena_alloc(&arena, sizeof(*u));

		bc_wire_addr(rq->unban->family, &rq->unban->addr, rq->unban->plen, &a);
		if (u == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		if (bc_coord_unban_every(c, &a, rq->unban->covering,
					 !rq->unban->local_only,
					 !rq->unban->fleet_only, signer, u,
					 err, sizeof(err)) < 0)
			break;
		/* done; the lists only tell the CLI what it was */
		r.bans = reply_bans(&arena, u->lifted, u->nlifted);
		r.covering = reply_bans(&arena, u->still, u->nstill);
		r.local = reply_local(c, &arena, u->llifted, u->nllifted);
		r.local_covering = reply_local(c, &arena, u->lstill, u->nlstill);
		if (r.bans != NULL && r.covering != NULL && r.local != NULL &&
		    r.local_covering != NULL) {
			r.n_bans = u->nlifted;
			r.n_covering = u->nstill;
			r.n_local = u->nllifted;
			r.n_local_covering = u->nlstill;
		}
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_LIST:
		if (rq->list->local) {
			bc_coord_local_list(c, rq->list->offset,
					    BC_WIRE_MAX_LOCAL_PER_MSG, &r,
					    &arena, err, sizeof(err));
			break;
		}
		l.max = LIST_PAGE;
		l.offset = rq->list->offset;
		l.manual_only = rq->list->manual_only;
		l.since_ms = rq->list->since_ms;
		l.pb = calloc(l.max, sizeof(*l.pb));
		l.pp = calloc(l.max, sizeof(*l.pp));
		l.sb = calloc(l.max, sizeof(*l.sb));
		if (l.pb == NULL || l.pp == NULL || l.sb == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		if (bc_store_each(c->store, list_cb, &l) < 0) {
			snprintf(err, sizeof(err), "store: %s",
				 bc_store_error(c->store));
			break;
		}
		r.n_bans = l.n;
		r.bans = l.pp;
		r.total = l.seen;
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_SHOW: {
		struct bc_addr a;

		bc_wire_addr(rq->show->family, &rq->show->addr, rq->show->plen, &a);
		bc_coord_show(c, &a, &r, &arena, err, sizeof(err));
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_AUDIT:
		bc_coord_audit(c, &r, &arena, err, sizeof(err));
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD:
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE:
	case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST:
		bc_coord_allow_admin(c, signer, rq, &r, &arena, err, sizeof(err));
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_ADD: /* enrol.c; from is stale after */
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_REMOVE:
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_LIST:
		bc_coord_enrol(c, from, rq, &r, &arena, err, sizeof(err));
		break;
	case BANCLUSTER__ADMIN_REQ__CMD_STATUS:
		as = calloc(c->ring.n + 1, sizeof(*as));
		asp = calloc(c->ring.n + 1, sizeof(*asp));
		if (as == NULL || asp == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		for (i = 0; i < c->ring.n; i++) {
			const struct bc_agent_state *st = &c->peer_state[i];

			if (c->ring.v[i].role != BC_ROLE_AGENT)
				continue;
			bancluster__agent_status__init(&as[na]);
			as[na].id = c->ring.v[i].name;
			as[na].last_seen_ms = st->last_seen_ms;
			as[na].connected = st->last_seen_ms != 0 &&
					   bc_now_ms() - st->last_seen_ms <
						   BC_COORD_AGENT_TTL_MS;
			as[na].applied_epoch = st->epoch;
			as[na].applied_seq = st->seq;
			as[na].fleet_count = st->fleet_count;
			as[na].events = st->events;
			as[na].dropped = st->rate_dropped;
			as[na].software = (char *)st->software;
			as[na].wire = st->wire;
			as[na].wire_min = st->wire_min;
			as[na].wire_max = st->wire_max;
			bc_coord_local_status(c, i, &as[na]);
			asp[na] = &as[na];
			na++;
		}
		r.n_agents = na;
		r.agents = asp;
		r.total = c->bans.n;
		bc_cluster_status(c, &arena, &r);
		break;
	default:
		snprintf(err, sizeof(err), "unknown command");
		break;
	}
	r.seq = c->seq;
	if (err[0] != '\0') {
		r.code = 1;
		r.error = err;
		r.n_bans = 0;
		r.n_covering = 0;
		r.n_decisions = 0;
		r.n_recent = 0;
		r.n_allows = 0;
		r.n_local = 0;
		r.n_local_covering = 0;
		r.n_agents = 0;
		r.n_keys = 0;
	}
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REPLY;
	p.admin_reply = &r;
	bc_coord_send(c, id, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, &p);
	free(l.pb);
	free(l.pp);
	free(l.sb);
	free(as);
	free(asp);
	bc_arena_free(&arena);
}
