/*
 * decide.c - the coordinator's decisions: bans (manual, and the policy's
 * rule bans with their escalation to a prefix), unbans and expiry, each
 * committed to the store, applied to the ban table, published as one
 * sequenced change and announced to the hooks, in that order; and the
 * heartbeat (HUGZ) on the PUB socket.
 *
 * Inputs are already verified (intake.c, admin.c) or the coordinator's
 * own (the policy's hits, the clock). A store failure leaves memory,
 * sequence and subscribers untouched: manual requests get it back in
 * err, rule bans and expiry log it (and expiry retries next tick). The
 * Clone pattern: the coordinator alone numbers changes, a ban is on
 * disk before any agent hears of it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/version.h"
#include "coordinator/allow.h"
#include "coordinator/cluster.h"
#include "coordinator/decide.h"
#include "coordinator/evidence.h"
#include "coordinator/intake.h"
#include "proto/wire_zmq.h"

/*
 * PUB reaches every agent at once, so what is published is sealed with
 * the oldest wire version the coordinator speaks: every agent it accepts
 * can open it (an agent of the previous release included).
 */
static int publish(struct bc_coord *c, Bancluster__MsgType type,
		   Bancluster__Payload *p)
{
	return bc_wire_send(&c->signer, BC_WIRE_VERSION_MIN, c->pub, NULL, type,
			    p, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

void bc_coord_fill_ban(Bancluster__Ban *pb, const struct bc_ban *b)
{
	bancluster__ban__init(pb);
	bc_wire_addr_fill(&b->addr, &pb->family, &pb->addr, &pb->plen);
	pb->expires_ms = b->expires_ms;
	pb->created_ms = b->created_ms;
}

/* u (ban or allow entry set) as change c->seq (the caller numbered it). */
static void publish_update(struct bc_coord *c, Bancluster__Update *u,
			   bool remove)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;

	u->epoch = c->epoch;
	u->seq = c->seq;
	u->remove = remove;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_UPDATE;
	p.update = u;
	if (publish(c, BANCLUSTER__MSG_TYPE__MSG_UPDATE, &p) < 0)
		bc_warn("publish seq %" PRIu64 " failed: %s", u->seq,
			zmq_strerror(errno));
}

/* Publish one sequenced change (the ban is already committed). */
static void publish_change(struct bc_coord *c, const struct bc_ban *b,
			   bool remove)
{
	Bancluster__Update u = BANCLUSTER__UPDATE__INIT;
	Bancluster__Ban pb;

	bc_coord_fill_ban(&pb, b);
	u.ban = &pb;
	publish_update(c, &u, remove);
}

void bc_coord_publish_allow(struct bc_coord *c, const struct bc_allow *e,
			    bool remove)
{
	Bancluster__Update u = BANCLUSTER__UPDATE__INIT;
	Bancluster__Allow pa;

	bc_coord_allow_fill(&pa, e, false);
	u.allow = &pa;
	c->seq++;
	publish_update(c, &u, remove);
}

/* Hand a published change to on_ban/on_unban and the webhook (queued). */
static void announce(struct bc_coord *c, const struct bc_ban *b, bool remove,
		     const char *origin, const char *reason, const char *signer)
{
	struct bc_hook_event e = {
		.remove = remove, .ban = b, .origin = origin, .reason = reason,
		.signer = signer, .cluster = c->cfg.cluster, .epoch = c->epoch,
		.seq = c->seq, .time_ms = bc_now_ms(),
	};

	bc_hooks_fire(c->hooks, &e);
}

/* "permanent" or the time left of a ban, for log lines */
static const char *left(const struct bc_ban *b, int64_t now, char *d, size_t dl)
{
	if (b->expires_ms == 0)
		snprintf(d, dl, "permanent");
	else
		bc_duration_format((b->expires_ms - now + 999) / 1000, d, dl);
	return d;
}

int bc_coord_apply_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		       const char *action, const char *signer, bool rule,
		       const struct bc_store_event *ev, size_t nev,
		       const struct bc_coord_seq *q, char *err, size_t errlen)
{
	char a[BC_ADDR_STRLEN], d[32];
	int64_t now = bc_now_ms();
	/* a rule's offence is dated by its decision (the same on every
	 * coordinator of a cluster) */
	int rc = rule ? bc_store_ban_rule(c->store, sb, &sb->ban.addr, ev, nev,
					  sb->ban.created_ms)
		      : bc_store_ban(c->store, sb, action, signer, now);

	if (rc < 0) {
		snprintf(err, errlen, "store: %s", bc_store_error(c->store));
		if (!q->committed)
			return -1;
		/* committed in etcd: the cluster's decision stands */
		bc_warn("%s %s: %s (applied without the local store)", action,
			bc_addr_format(&sb->ban.addr, a, sizeof(a)), err);
	}
	if (bc_banmap_put(&c->bans, &sb->ban) < 0) {
		snprintf(err, errlen, "ban table full");
		return -1;
	}
	if (!q->publish)
		return 0;
	c->seq = q->seq != 0 ? q->seq : c->seq + 1;
	publish_change(c, &sb->ban, false);
	if (!q->mine)
		return 0;
	announce(c, &sb->ban, false, sb->origin, sb->reason, signer);
	if (rule)
		c->bans_rule++;
	else
		c->bans_manual++;
	bc_digest_add(&c->digest, &sb->ban, sb->origin, sb->reason);
	bc_addr_format(&sb->ban.addr, a, sizeof(a));
	if (rule) {
		/* a cluster's record is read back from etcd: escaped */
		char why[sizeof(sb->reason) * 4];

		bc_escape(why, sizeof(why), sb->reason, strlen(sb->reason));
		bc_info("ban %s for %s origin=%s seq=%" PRIu64 ": %s", a,
			left(&sb->ban, sb->ban.created_ms, d, sizeof(d)), sb->origin,
			c->seq, why);
	}
	else
		bc_info("%s %s for %s origin=%s seq=%" PRIu64, action, a,
			left(&sb->ban, now, d, sizeof(d)), sb->origin, c->seq);
	return 0;
}

int bc_coord_apply_unban(struct bc_coord *c, const struct bc_addr *addr,
			 const char *action, const char *signer,
			 const struct bc_coord_seq *q, char *err, size_t errlen)
{
	long i = bc_banmap_find(&c->bans, addr);
	struct bc_ban b;
	char a[BC_ADDR_STRLEN];

	bc_addr_format(addr, a, sizeof(a));
	if (i < 0) {
		snprintf(err, errlen, "%s: not banned", a);
		return -1;
	}
	b = c->bans.v[i];
	if (bc_store_unban(c->store, addr, action, signer, bc_now_ms()) < 0) {
		snprintf(err, errlen, "store: %s", bc_store_error(c->store));
		if (!q->committed)
			return -1;
		bc_warn("%s %s: %s (applied without the local store)", action, a,
			err);
	}
	bc_banmap_del(&c->bans, addr);
	bc_policy_forget(c->policy, addr); /* a fresh start after an unban */
	if (!q->publish)
		return 0;
	c->seq = q->seq != 0 ? q->seq : c->seq + 1;
	publish_change(c, &b, true);
	if (!q->mine)
		return 0;
	announce(c, &b, true, action, NULL, signer);
	if (strcmp(action, "expire") == 0)
		c->expiries++;
	else
		c->unbans++;
	bc_info("%s %s by %s seq=%" PRIu64, action, a,
		signer[0] ? signer : "policy", c->seq);
	return 0;
}

static const struct bc_coord_seq local_seq = {0, true, true, false};

/* Commit, then apply in memory, then publish. Returns 0 or -1 + err. */
int bc_coord_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		  const char *signer, char *err, size_t errlen)
{
	bool exists = bc_banmap_find(&c->bans, &sb->ban.addr) >= 0;

	if (c->cluster != NULL)
		return bc_cluster_ban(c, sb, signer, err, errlen);
	return bc_coord_apply_ban(c, sb, exists ? "extend" : "ban", signer, false,
				  NULL, 0, &local_seq, err, errlen);
}

int bc_coord_unban(struct bc_coord *c, const struct bc_addr *addr,
		    const char *action, const char *signer, char *err,
		    size_t errlen)
{
	long i = bc_banmap_find(&c->bans, addr);
	char a[BC_ADDR_STRLEN];

	if (c->cluster != NULL) {
		if (i < 0) {
			snprintf(err, errlen, "%s: not banned",
				 bc_addr_format(addr, a, sizeof(a)));
			return -1;
		}
		return bc_cluster_unban(c, &c->bans.v[i], action, signer, err,
					errlen);
	}
	return bc_coord_apply_unban(c, addr, action, signer, &local_seq, err,
				    errlen);
}

/*
 * Prefix escalation (off unless subnet_threshold > 0): when that many
 * addresses or /ipv6_prefix keys of one IPv4 /24 or IPv6 /48 are banned,
 * the whole prefix is banned.
 */
static void subnet_escalate(struct bc_coord *c, const struct bc_addr *key)
{
	struct bc_addr net = *key;
	struct bc_store_ban sb;
	size_t i, n = 0;
	int64_t now = bc_now_ms(), secs;
	long off;
	char a[BC_ADDR_STRLEN], e[256];

	/* one NAT64 address is one IPv4 host: never widen it to its /48 */
	if (bc_addr_is_nat64(key, &c->cfg.nat64_prefixes))
		return;
	bc_addr_mask(&net, key->family == AF_INET ? 24 : 48);
	if (bc_banmap_find(&c->bans, &net) >= 0 ||
	    bc_coord_allowed(c, &net, NULL, 0))
		return;
	for (i = bc_banmap_lower(&c->bans, &net);
	     i < c->bans.n && bc_addr_contains(&net, &c->bans.v[i].addr); i++)
		n++;
	if ((int64_t)n < c->cfg.subnet_threshold)
		return;
	off = bc_store_offences(c->store, &net,
				now - c->cfg.recidive_window * 1000);
	secs = bc_policy_bantime(c->cfg.bantime, c->cfg.bantime_factor,
				 c->cfg.bantime_max, off > 0 ? (unsigned)off : 0);
	memset(&sb, 0, sizeof(sb));
	sb.ban.addr = net;
	sb.ban.created_ms = now;
	sb.ban.expires_ms = now + secs * 1000;
	snprintf(sb.origin, sizeof(sb.origin), "rule:subnet");
	snprintf(sb.reason, sizeof(sb.reason),
		 "%zu banned addresses in %s (subnet_threshold %lld)", n,
		 bc_addr_format(&net, a, sizeof(a)),
		 (long long)c->cfg.subnet_threshold);
	if (c->cluster != NULL) {
		bc_cluster_rule_ban(c, &sb, NULL, 0);
		return;
	}
	if (bc_coord_apply_ban(c, &sb, "ban", "", true, NULL, 0, &local_seq, e,
			       sizeof(e)) < 0)
		bc_warn("ban %s: %s", a, e);
}

/* Evidence events copied out of decoded reports (they are freed next). */
struct evlist {
	struct bc_store_event v[BC_POLICY_HIT_REFS];
	char text[BC_POLICY_HIT_REFS][3][BC_WIRE_MAX_TEXT + 1];
	size_t n;
};

static void collect_event(const struct bc_store_event *e, void *arg)
{
	struct evlist *l = arg;

	if (l->n >= BC_POLICY_HIT_REFS)
		return;
	l->v[l->n] = *e;
	snprintf(l->text[l->n][0], sizeof(l->text[0][0]), "%s", e->host);
	snprintf(l->text[l->n][1], sizeof(l->text[0][1]), "%s", e->service);
	snprintf(l->text[l->n][2], sizeof(l->text[0][2]), "%s", e->line);
	l->v[l->n].host = l->text[l->n][0];
	l->v[l->n].service = l->text[l->n][1];
	l->v[l->n].line = l->text[l->n][2];
	l->n++;
}

bool bc_coord_covered(const struct bc_coord *c, const struct bc_addr *a,
		      int64_t now)
{
	unsigned l;

	/* the key itself first: a late event of an address banned already
	 * is found in one lookup, not after every shorter prefix */
	for (l = a->plen + 1; l-- > 0;) {
		struct bc_addr t = *a;
		long k;

		bc_addr_mask(&t, l);
		k = bc_banmap_find(&c->bans, &t);
		if (k >= 0 && (c->bans.v[k].expires_ms == 0 ||
			       c->bans.v[k].expires_ms > now))
			return true;
	}
	return false;
}

/* Ban a counting key the policy flagged: escalate, commit, publish. */
void bc_coord_rule_ban(struct bc_coord *c, const struct bc_policy_hit *h)
{
	struct evlist *ev;
	struct bc_store_ban sb;
	int64_t now = bc_now_ms(), secs;
	long off;
	char a[BC_ADDR_STRLEN], d[32], why[BC_ADDR_STRLEN + BC_NAME_MAX + 32];

	/* already covered by an active ban (a late event): nothing to do */
	if (bc_coord_covered(c, &h->key, now))
		return;
	/* cluster: decided already, on its way through etcd (the policy
	 * flags the key again meanwhile: no store reads for nothing) */
	if (c->cluster != NULL && bc_cluster_deciding(c, &h->key))
		return;
	if (bc_coord_allowed(c, &h->key, why, sizeof(why))) {
		bc_warn("not banning %s: it overlaps the allow list%s",
			bc_addr_format(&h->key, a, sizeof(a)), why);
		return;
	}
	/* the reports that led here are committed (and acked) first, and
	 * the ban commits on its own before it is published (cluster mode:
	 * the events are in etcd already; the decision commits there) */
	if (c->cluster == NULL)
		bc_coord_commit_reports(c);
	off = bc_store_offences(c->store, &h->key,
				now - c->cfg.recidive_window * 1000);
	if (off < 0)
		off = 0;
	secs = bc_policy_bantime(c->cfg.bantime, c->cfg.bantime_factor,
				 c->cfg.bantime_max, (unsigned)off);
	memset(&sb, 0, sizeof(sb));
	sb.ban.addr = h->key;
	sb.ban.created_ms = now;
	sb.ban.expires_ms = now + secs * 1000;
	snprintf(sb.origin, sizeof(sb.origin), "rule:maxretry");
	snprintf(sb.reason, sizeof(sb.reason),
		 "%g weighted events from %u host%s in %llds (auth_fail %u, "
		 "sender_violation %u, auth_abort %u); offence %ld, banned %s",
		 h->score, h->hosts, h->hosts == 1 ? "" : "s",
		 (long long)((h->last_ms - h->first_ms) / 1000), h->counts[1],
		 h->counts[2], h->counts[3], off + 1,
		 bc_duration_format(secs, d, sizeof(d)));
	/* a follower's pending ban carries no evidence (cluster_write.c) */
	ev = c->cluster == NULL || bc_cluster_leading(c) ? calloc(1, sizeof(*ev))
							 : NULL;
	if (ev != NULL)
		bc_coord_events(c, h->refs,
				h->nrefs < (size_t)c->cfg.evidence_max
					? h->nrefs
					: (size_t)c->cfg.evidence_max,
				collect_event, ev);
	if (c->cluster != NULL) {
		bc_cluster_rule_ban(c, &sb, ev ? ev->v : NULL, ev ? ev->n : 0);
		free(ev);
		return;
	}
	if (bc_coord_apply_ban(c, &sb, "ban", "", true, ev ? ev->v : NULL,
			       ev ? ev->n : 0, &local_seq, why, sizeof(why)) < 0) {
		free(ev);
		bc_warn("ban %s: %s", bc_addr_format(&h->key, a, sizeof(a)), why);
		return;
	}
	free(ev);
	bc_coord_escalate(c, &h->key);
}

void bc_coord_escalate(struct bc_coord *c, const struct bc_addr *key)
{
	if (c->cfg.subnet_threshold > 0)
		subnet_escalate(c, key);
}

/* expiry: a sequenced removal for every ban whose time is over */
void bc_coord_expire(struct bc_coord *c, int64_t now)
{
	size_t i;
	char err[256];

	if (c->cluster != NULL) /* the leader's, through etcd (cluster.c) */
		return;
	for (i = 0; i < c->bans.n;) {
		const struct bc_ban *b = &c->bans.v[i];

		if (b->expires_ms != 0 && b->expires_ms <= now) {
			struct bc_addr a = b->addr;

			if (bc_coord_unban(c, &a, "expire", "", err, sizeof(err)) < 0) {
				bc_warn("expire: %s", err);
				i++;
			}
			continue; /* the array shifted */
		}
		i++;
	}
}

void bc_coord_hugz(struct bc_coord *c)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Hugz h = BANCLUSTER__HUGZ__INIT;

	h.epoch = c->epoch;
	h.seq = c->seq;
	h.wire_min = BC_WIRE_VERSION_MIN;
	h.wire_max = BC_WIRE_VERSION;
	h.software = (char *)bc_version_wire();
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HUGZ;
	p.hugz = &h;
	publish(c, BANCLUSTER__MSG_TYPE__MSG_HUGZ, &p);
}
