/*
 * localbans.c - the agents' local bans in the coordinator's memory
 * (localbans.h).
 *
 * Per agent (struct bc_coord_local, hung on its bc_agent_state): the
 * last complete list and its generation, the parts of a list being
 * received, the agent's ROUTER routing id (to reach it unasked), and the
 * pending lifts. The coordinator talks to an agent about local bans only
 * once that agent stated a local generation in a heartbeat: an agent of
 * an older release never gets a MSG_LOCAL_LIFT (its DEALER would count
 * it as a bad envelope).
 *
 * Convergence: a heartbeat whose generation differs from the list held
 * for BC_COORD_LOCAL_ASK_MS gets a MSG_LOCAL_LIFT naming the generation
 * held (the agent then sends its list); a pending lift is sent with the
 * admin's unban, again with every heartbeat BC_COORD_LOCAL_RESEND_MS
 * after the last send, and with every list that still holds the ban; it
 * ends when a complete list no longer holds it (or holds a ban of that
 * address created later), or after BC_COORD_LOCAL_LIFT_TTL_MS.
 */
#include "coordinator/localbans.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/intake.h"

#define RID_MAX 256

struct lift {
	struct bc_addr addr;
	int64_t created_ms;   /* of the ban lifted; 0 = not known */
	int64_t until_ms;     /* wall clock: forgotten after */
	char admin[BC_NAME_MAX];
};

struct bc_coord_local {
	struct bc_coord_local_ban *v;  /* complete list, sorted as the agent sent it */
	size_t n;
	uint64_t gen;                  /* of v; 0 = none */
	struct bc_coord_local_ban *in; /* parts being received */
	size_t nin;
	uint64_t in_gen;
	uint32_t in_next;
	uint64_t in_cut;               /* of them, beyond BC_COORD_LOCAL_MAX */
	uint64_t total, dropped;       /* as stated with v */
	uint64_t hb_gen;               /* the last heartbeat's generation */
	int64_t mismatch_ms, asked_ms, lift_sent_ms; /* monotonic */
	struct lift lifts[BC_COORD_LOCAL_LIFTS];
	size_t nlifts;
	uint8_t rid[RID_MAX];
	size_t rid_len;
};

void bc_coord_local_free(struct bc_agent_state *st)
{
	if (st->local == NULL)
		return;
	free(st->local->v);
	free(st->local->in);
	free(st->local);
	st->local = NULL;
}

static struct bc_coord_local *state(struct bc_coord *c, size_t i,
				    const zmq_msg_t *id)
{
	struct bc_agent_state *st = &c->peer_state[i];
	struct bc_coord_local *l = st->local;

	if (l == NULL) {
		l = calloc(1, sizeof(*l));
		if (l == NULL)
			return NULL;
		st->local = l;
	}
	if (id != NULL && zmq_msg_size(id) <= RID_MAX) {
		memcpy(l->rid, zmq_msg_data((zmq_msg_t *)(uintptr_t)id),
		       zmq_msg_size(id));
		l->rid_len = zmq_msg_size(id);
	}
	return l;
}

static bool connected(const struct bc_coord *c, size_t i)
{
	int64_t seen = c->peer_state[i].last_seen_ms;

	return seen != 0 && bc_now_ms() - seen < BC_COORD_AGENT_TTL_MS;
}

/* A MSG_LOCAL_LIFT with the pending lifts (all, or none) to agent i. */
static int send_lift(struct bc_coord *c, size_t i, bool with_lifts)
{
	struct bc_coord_local *l = c->peer_state[i].local;
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__LocalLift m = BANCLUSTER__LOCAL_LIFT__INIT;
	Bancluster__LocalTarget *t = NULL, **tp = NULL;
	size_t n = with_lifts ? l->nlifts : 0, k;
	zmq_msg_t id;
	int rc = -1;
	uint32_t saved = c->reply_version;

	if (l->rid_len == 0)
		return -1;
	if (n > BC_WIRE_MAX_LOCAL_PER_MSG)
		n = BC_WIRE_MAX_LOCAL_PER_MSG;
	t = calloc(n + 1, sizeof(*t));
	tp = calloc(n + 1, sizeof(*tp));
	if (t == NULL || tp == NULL)
		goto out;
	for (k = 0; k < n; k++) {
		bancluster__local_target__init(&t[k]);
		bc_wire_addr_fill(&l->lifts[k].addr, &t[k].family, &t[k].addr,
				  &t[k].plen);
		t[k].created_ms = l->lifts[k].created_ms;
		tp[k] = &t[k];
	}
	m.n_lifts = n;
	m.lifts = tp;
	m.admin = n > 0 ? l->lifts[n - 1].admin : (char *)"";
	m.have_gen = l->gen;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_LOCAL_LIFT;
	p.local_lift = &m;
	if (zmq_msg_init_size(&id, l->rid_len) == 0) {
		memcpy(zmq_msg_data(&id), l->rid, l->rid_len);
		/* as the agent's last message came (it states a local
		 * generation: a release that knows MSG_LOCAL_LIFT) */
		c->reply_version = c->peer_state[i].wire ? c->peer_state[i].wire
							  : BC_WIRE_VERSION;
		rc = bc_coord_send(c, &id, BANCLUSTER__MSG_TYPE__MSG_LOCAL_LIFT, &p);
		c->reply_version = saved;
		zmq_msg_close(&id);
	}
	if (rc == 0 && n > 0)
		l->lift_sent_ms = bc_mono_ms();
out:
	free(t);
	free(tp);
	return rc;
}

/* Lifts whose time is over are forgotten. */
static void lifts_expire(struct bc_coord_local *l, int64_t now)
{
	size_t k = 0;

	while (k < l->nlifts) {
		if (l->lifts[k].until_ms <= now)
			l->lifts[k] = l->lifts[--l->nlifts];
		else
			k++;
	}
}

void bc_coord_local_heartbeat(struct bc_coord *c, size_t i, const zmq_msg_t *id,
			      const Bancluster__Heartbeat *h)
{
	struct bc_coord_local *l = c->peer_state[i].local;
	int64_t now = bc_mono_ms();

	if (h->local_gen == 0 && l == NULL)
		return; /* an agent that reports no local bans */
	l = state(c, i, id);
	if (l == NULL)
		return;
	if (h->local_gen == 0 && (l->gen != 0 || l->nlifts > 0)) {
		/* the agent reports no local bans any more (an older release
		 * again): its list and the lifts it cannot take are dropped */
		bc_info("agent %s reports no local bans any more: its list "
			"(%zu) and %zu pending lifts dropped", c->ring.v[i].name,
			l->n, l->nlifts);
		free(l->v);
		l->v = NULL;
		l->n = 0;
		l->gen = 0;
		l->nlifts = 0;
	}
	l->hb_gen = h->local_gen;
	lifts_expire(l, bc_now_ms());
	if (h->local_gen != 0 && h->local_gen != l->gen) {
		if (l->mismatch_ms == 0)
			l->mismatch_ms = now;
		if (now - l->mismatch_ms >= BC_COORD_LOCAL_ASK_MS &&
		    now - l->asked_ms >= BC_COORD_LOCAL_ASK_MS * 2) {
			l->asked_ms = now;
			send_lift(c, i, true);
			return;
		}
	} else {
		l->mismatch_ms = 0;
	}
	if (l->nlifts > 0 && h->local_gen != 0 &&
	    now - l->lift_sent_ms >= BC_COORD_LOCAL_RESEND_MS)
		send_lift(c, i, true);
}

/* Does the list hold the ban a pending lift is about? */
static bool holds(const struct bc_coord_local *l, const struct lift *f)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		if (bc_addr_equal(&l->v[k].addr, &f->addr))
			return f->created_ms == 0 || l->v[k].created_ms == 0 ||
			       l->v[k].created_ms == f->created_ms;
	return false;
}

void bc_coord_local_bans(struct bc_coord *c, size_t i, const zmq_msg_t *id,
			 const Bancluster__LocalBans *m)
{
	struct bc_coord_local *l = state(c, i, id);
	const char *name = c->ring.v[i].name;
	size_t k, still = 0;

	if (l == NULL)
		return;
	if (m->part == 0) {
		free(l->in);
		l->in = NULL;
		l->nin = 0;
		l->in_gen = m->gen;
		l->in_next = 0;
		l->in_cut = 0;
	}
	if (m->part != l->in_next || m->gen != l->in_gen)
		return; /* a part of another list: wait for the next whole one */
	l->in_next++;
	if (m->n_bans > 0) {
		size_t room = l->nin < BC_COORD_LOCAL_MAX ? BC_COORD_LOCAL_MAX - l->nin : 0;
		size_t take = m->n_bans < room ? m->n_bans : room;
		struct bc_coord_local_ban *nv;

		l->in_cut += m->n_bans - take;
		nv = realloc(l->in, (l->nin + take + 1) * sizeof(*nv));
		if (nv == NULL)
			return;
		l->in = nv;
		for (k = 0; k < take; k++) {
			const Bancluster__LocalBan *b = m->bans[k];
			struct bc_coord_local_ban *d = &l->in[l->nin++];

			memset(d, 0, sizeof(*d));
			bc_wire_addr(b->family, &b->addr, b->plen, &d->addr);
			d->expires_ms = b->expires_ms;
			d->created_ms = b->created_ms;
			d->events = b->events;
			snprintf(d->reason, sizeof(d->reason), "%s", b->reason);
		}
	}
	if (!m->last)
		return;
	free(l->v);
	l->v = l->in;
	l->n = l->nin;
	l->in = NULL;
	l->nin = 0;
	if (l->gen == 0)
		bc_info("agent %s reports %zu local ban%s", name, l->n,
			l->n == 1 ? "" : "s");
	l->gen = m->gen;
	l->total = m->total;
	l->dropped = m->dropped + l->in_cut; /* the agent's and ours */
	l->mismatch_ms = 0;
	/* the pending lifts: confirmed (gone) or resent */
	k = 0;
	while (k < l->nlifts) {
		if (holds(l, &l->lifts[k])) {
			still++;
			k++;
			continue;
		}
		{
			char as[BC_ADDR_STRLEN];

			bc_info("agent %s: local ban %s lifted (confirmed)", name,
				bc_addr_format(&l->lifts[k].addr, as, sizeof(as)));
		}
		l->lifts[k] = l->lifts[--l->nlifts];
	}
	if (still > 0 && bc_mono_ms() - l->lift_sent_ms >= BC_COORD_LOCAL_RESEND_MS / 4)
		send_lift(c, i, true);
}

static bool pending(const struct bc_coord_local *l, const struct bc_coord_local_ban *b)
{
	size_t k;

	for (k = 0; k < l->nlifts; k++)
		if (bc_addr_equal(&l->lifts[k].addr, &b->addr))
			return true;
	return false;
}

static bool active(const struct bc_coord_local_ban *b, int64_t now)
{
	return b->expires_ms == 0 || b->expires_ms > now;
}

void bc_coord_local_find(struct bc_coord *c, const struct bc_addr *addr,
			 struct bc_coord_local_hit *own, size_t *nown,
			 struct bc_coord_local_hit *cov, size_t *ncov,
			 size_t max)
{
	int64_t now = bc_now_ms();
	size_t i, k;

	*nown = *ncov = 0;
	for (i = 0; i < c->ring.n; i++) {
		const struct bc_coord_local *l = c->peer_state[i].local;

		if (c->ring.v[i].role != BC_ROLE_AGENT || l == NULL)
			continue;
		for (k = 0; k < l->n; k++) {
			const struct bc_coord_local_ban *b = &l->v[k];
			struct bc_coord_local_hit *h;

			if (!active(b, now) || b->addr.family != addr->family)
				continue;
			if (bc_addr_equal(&b->addr, addr)) {
				if (*nown >= max)
					continue;
				h = &own[(*nown)++];
			} else if (b->addr.plen < addr->plen &&
				   bc_addr_contains(&b->addr, addr)) {
				if (*ncov >= max)
					continue;
				h = &cov[(*ncov)++];
			} else {
				continue;
			}
			h->agent = i;
			h->ban = *b;
			h->pending = pending(l, b);
		}
	}
}

int bc_coord_local_lift(struct bc_coord *c, const struct bc_coord_local_hit *h,
			const char *admin, bool *sent, char *err, size_t errlen)
{
	struct bc_coord_local *l = state(c, h->agent, NULL);
	const char *name = c->ring.v[h->agent].name;
	char as[BC_ADDR_STRLEN];
	size_t k;

	*sent = false;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	bc_addr_format(&h->ban.addr, as, sizeof(as));
	for (k = 0; k < l->nlifts; k++)
		if (bc_addr_equal(&l->lifts[k].addr, &h->ban.addr))
			break;
	if (k == l->nlifts) {
		if (l->nlifts >= BC_COORD_LOCAL_LIFTS) {
			snprintf(err, errlen, "%s: %d local lifts wait for agent %s already",
				 as, BC_COORD_LOCAL_LIFTS, name);
			return -1;
		}
		l->nlifts++;
	}
	l->lifts[k].addr = h->ban.addr;
	l->lifts[k].created_ms = h->ban.created_ms;
	l->lifts[k].until_ms = bc_now_ms() + BC_COORD_LOCAL_LIFT_TTL_MS;
	snprintf(l->lifts[k].admin, sizeof(l->lifts[k].admin), "%s", admin);
	*sent = connected(c, h->agent) && send_lift(c, h->agent, true) == 0;
	bc_info("unban local %s on %s by admin %s: %s", as, name, admin,
		*sent ? "lift sent" : "agent offline, lifted when it reconnects");
	return 0;
}

Bancluster__LocalEntry *bc_coord_local_entry(struct bc_coord *c,
					     const struct bc_coord_local_hit *h,
					     struct bc_arena *ar)
{
	Bancluster__LocalEntry *e = bc_arena_alloc(ar, sizeof(*e));
	Bancluster__LocalBan *b = bc_arena_alloc(ar, sizeof(*b));
	uint8_t *bin = bc_arena_alloc(ar, 16);

	if (e == NULL || b == NULL || bin == NULL)
		return NULL;
	bancluster__local_entry__init(e);
	bancluster__local_ban__init(b);
	bc_wire_addr_fill(&h->ban.addr, &b->family, &b->addr, &b->plen);
	memcpy(bin, h->ban.addr.a, b->addr.len);
	b->addr.data = bin;
	b->expires_ms = h->ban.expires_ms;
	b->created_ms = h->ban.created_ms;
	b->events = h->ban.events;
	b->reason = bc_arena_strdup(ar, h->ban.reason);
	e->host = c->ring.v[h->agent].name;
	e->ban = b;
	e->pending = h->pending;
	e->connected = connected(c, h->agent);
	return b->reason != NULL ? e : NULL;
}

int bc_coord_local_list(struct bc_coord *c, uint64_t offset, size_t max,
			Bancluster__AdminReply *r, struct bc_arena *ar,
			char *err, size_t errlen)
{
	Bancluster__LocalEntry **v = bc_arena_alloc(ar, (max + 1) * sizeof(*v));
	Bancluster__AgentStatus **as = bc_arena_alloc(ar, (c->ring.n + 1) * sizeof(*as));
	int64_t now = bc_now_ms();
	uint64_t seen = 0;
	size_t i, k, n = 0, na = 0;

	if (v == NULL || as == NULL)
		goto oom;
	for (i = 0; i < c->ring.n; i++) {
		const struct bc_coord_local *l = c->peer_state[i].local;
		Bancluster__AgentStatus *a;

		if (c->ring.v[i].role != BC_ROLE_AGENT)
			continue;
		a = bc_arena_alloc(ar, sizeof(*a));
		if (a == NULL)
			goto oom;
		bancluster__agent_status__init(a);
		a->id = c->ring.v[i].name;
		a->connected = connected(c, i);
		a->last_seen_ms = c->peer_state[i].last_seen_ms;
		bc_coord_local_status(c, i, a);
		as[na++] = a;
		for (k = 0; l != NULL && k < l->n; k++) {
			struct bc_coord_local_hit h;

			if (!active(&l->v[k], now))
				continue;
			if (seen++ < offset || n >= max)
				continue;
			h.agent = i;
			h.ban = l->v[k];
			h.pending = pending(l, &l->v[k]);
			v[n] = bc_coord_local_entry(c, &h, ar);
			if (v[n] == NULL)
				goto oom;
			n++;
		}
	}
	r->local = v;
	r->n_local = n;
	r->local_total = seen;
	r->agents = as;
	r->n_agents = na;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int bc_coord_local_show(struct bc_coord *c, const struct bc_addr *addr,
			Bancluster__AdminReply *r, struct bc_arena *ar)
{
	struct bc_coord_local_hit *own, *cov;
	Bancluster__LocalEntry **v;
	size_t no, nc, k, n = 0, max = BC_WIRE_MAX_LOCAL_PER_MSG / 2;

	own = bc_arena_alloc(ar, max * sizeof(*own));
	cov = bc_arena_alloc(ar, max * sizeof(*cov));
	v = bc_arena_alloc(ar, 2 * max * sizeof(*v));
	if (own == NULL || cov == NULL || v == NULL)
		return -1;
	bc_coord_local_find(c, addr, own, &no, cov, &nc, max);
	for (k = 0; k < nc + no; k++) {
		v[n] = bc_coord_local_entry(c, k < nc ? &cov[k] : &own[k - nc], ar);
		if (v[n] == NULL)
			return -1;
		n++;
	}
	r->local = v;
	r->n_local = n;
	return 0;
}

void bc_coord_local_status(struct bc_coord *c, size_t i,
			   Bancluster__AgentStatus *a)
{
	const struct bc_coord_local *l = c->peer_state[i].local;
	int64_t now = bc_now_ms();
	size_t k, n = 0;

	if (l == NULL)
		return;
	for (k = 0; k < l->n; k++)
		if (active(&l->v[k], now))
			n++;
	a->local_count = n;
	a->local_pending = l->nlifts;
	a->local_dropped = l->dropped;
	a->local_known = l->gen != 0 && l->gen == l->hb_gen;
}
