/*
 * main.c - bancluster-coordinator: verify, decide, persist, publish.
 *
 * One single-threaded loop, one context struct (struct bc_coord).
 * Sockets: ROUTER (agents and admins), PUB (sequenced updates and hugz),
 * and the ZAP handler that admits only CurveZMQ keys derived from the
 * pinned agent and admin keys. Every frame on the ROUTER is untrusted
 * until bc_wire_open() accepts it; a rejected frame is counted, logged
 * (rate-limited) and changes nothing. Bans are committed to SQLite before
 * they are published (the Clone pattern: the coordinator alone numbers
 * changes; expiry is itself a sequenced removal).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#include "common/daemon.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/notify.h"
#include "common/zsock.h"
#include "coordinator/arena.h"
#include "coordinator/coord.h"

#define ROUTER_BATCH 256 /* frames handled per poll round */
#define ROUTING_ID_MAX 256
#define ZAP_FRAMES_MAX 8
#define LIST_PAGE 2000   /* bans per list reply: 2000 x ~700 B < 4 MiB */

static void reject(struct bc_coord *c, enum bc_reject r, const char *what)
{
	c->rejected[r]++;
	if (c->log_budget > 0) {
		c->log_budget--;
		bc_warn("rejected %s: %s (total %" PRIu64 ")", what,
			bc_wire_reject_name(r), c->rejected[r]);
	}
}

static size_t peer_index(const struct bc_coord *c, const struct bc_peer *p)
{
	return (size_t)(p - c->ring.v);
}

/* Send one sealed payload to a ROUTER peer (identity frame first). */
static int send_to(struct bc_coord *c, const zmq_msg_t *id,
		   Bancluster__MsgType type, Bancluster__Payload *p)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (bc_wire_seal(&c->signer, type, p, &buf, &len) < 0) {
		bc_warn("cannot sign reply");
		return -1;
	}
	rc = zmq_send(c->router, zmq_msg_data((zmq_msg_t *)id),
		      zmq_msg_size((zmq_msg_t *)id), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (rc >= 0)
		rc = zmq_send(c->router, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc < 0 ? -1 : 0;
}

static int publish(struct bc_coord *c, Bancluster__MsgType type,
		   Bancluster__Payload *p)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (bc_wire_seal(&c->signer, type, p, &buf, &len) < 0)
		return -1;
	rc = zmq_send(c->pub, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc < 0 ? -1 : 0;
}

static void fill_ban(Bancluster__Ban *pb, const struct bc_ban *b)
{
	bancluster__ban__init(pb);
	bc_wire_addr_fill(&b->addr, &pb->family, &pb->addr, &pb->plen);
	pb->expires_ms = b->expires_ms;
	pb->created_ms = b->created_ms;
}

/* Publish one sequenced change (the ban is already committed). */
static void publish_change(struct bc_coord *c, const struct bc_ban *b,
			   bool remove)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Update u = BANCLUSTER__UPDATE__INIT;
	Bancluster__Ban pb;

	fill_ban(&pb, b);
	u.epoch = c->epoch;
	u.seq = ++c->seq;
	u.remove = remove;
	u.ban = &pb;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_UPDATE;
	p.update = &u;
	if (publish(c, BANCLUSTER__MSG_TYPE__MSG_UPDATE, &p) < 0)
		bc_warn("publish seq %" PRIu64 " failed: %s", u.seq,
			zmq_strerror(errno));
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

/* Commit, then apply in memory, then publish. Returns 0 or -1 + err. */
static int do_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		  const char *signer, char *err, size_t errlen)
{
	char a[BC_ADDR_STRLEN], d[32];
	bool exists = bc_banmap_find(&c->bans, &sb->ban.addr) >= 0;
	int64_t now = bc_now_ms();

	if (bc_store_ban(c->store, sb, exists ? "extend" : "ban", signer,
			 now) < 0) {
		snprintf(err, errlen, "store: %s", bc_store_error(c->store));
		return -1;
	}
	if (bc_banmap_put(&c->bans, &sb->ban) < 0) {
		snprintf(err, errlen, "ban table full");
		return -1;
	}
	publish_change(c, &sb->ban, false);
	announce(c, &sb->ban, false, sb->origin, sb->reason, signer);
	c->bans_manual++;
	bc_digest_add(&c->digest, &sb->ban, sb->origin, sb->reason);
	bc_addr_format(&sb->ban.addr, a, sizeof(a));
	if (sb->ban.expires_ms == 0)
		snprintf(d, sizeof(d), "permanent");
	else
		bc_duration_format((sb->ban.expires_ms - now + 999) / 1000, d,
				   sizeof(d));
	bc_info("%s %s for %s origin=%s seq=%" PRIu64, exists ? "extend" : "ban",
		a, d, sb->origin, c->seq);
	return 0;
}

static int do_unban(struct bc_coord *c, const struct bc_addr *addr,
		    const char *action, const char *signer, char *err,
		    size_t errlen)
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
		return -1;
	}
	bc_banmap_del(&c->bans, addr);
	bc_policy_forget(c->policy, addr); /* a fresh start after an unban */
	publish_change(c, &b, true);
	announce(c, &b, true, action, NULL, signer);
	if (strcmp(action, "expire") == 0)
		c->expiries++;
	else
		c->unbans++;
	bc_info("%s %s by %s seq=%" PRIu64, action, a,
		signer[0] ? signer : "policy", c->seq);
	return 0;
}

static void send_snapshot(struct bc_coord *c, const zmq_msg_t *id,
			  const ProtobufCBinaryData *nonce)
{
	size_t total = c->bans.n, off = 0, part = 0;
	Bancluster__Ban *pb = NULL, **pp = NULL;
	size_t chunk = BC_WIRE_MAX_BANS_PER_MSG;

	pb = calloc(chunk, sizeof(*pb));
	pp = calloc(chunk, sizeof(*pp));
	if (pb == NULL || pp == NULL) {
		bc_warn("snapshot: out of memory");
		goto out;
	}
	do {
		Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
		Bancluster__Snapshot s = BANCLUSTER__SNAPSHOT__INIT;
		size_t n = total - off < chunk ? total - off : chunk, i;

		for (i = 0; i < n; i++) {
			fill_ban(&pb[i], &c->bans.v[off + i]);
			pp[i] = &pb[i];
		}
		s.nonce = *nonce;
		s.epoch = c->epoch;
		s.seq = c->seq;
		s.part = (uint32_t)part++;
		s.total = total;
		s.n_bans = n;
		s.bans = pp;
		off += n;
		s.last = off >= total;
		p.body_case = BANCLUSTER__PAYLOAD__BODY_SNAPSHOT;
		p.snapshot = &s;
		if (send_to(c, id, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, &p) < 0) {
			bc_warn("snapshot: send failed: %s", zmq_strerror(errno));
			break;
		}
	} while (off < total);
out:
	free(pb);
	free(pp);
}

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
	fill_ban(&l->pb[l->n], &l->sb[l->n].ban);
	l->pb[l->n].reason = l->sb[l->n].reason;
	l->pb[l->n].origin = l->sb[l->n].origin;
	l->pp[l->n] = &l->pb[l->n];
	l->n++;
}

static void handle_admin(struct bc_coord *c, const zmq_msg_t *id,
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
	switch (rq->cmd_case) {
	case BANCLUSTER__ADMIN_REQ__CMD_BAN: {
		const Bancluster__Ban *b = rq->ban->ban;
		char a[BC_ADDR_STRLEN];

		memset(&sb, 0, sizeof(sb));
		bc_wire_ban_addr(b, &sb.ban.addr);
		bc_addr_format(&sb.ban.addr, a, sizeof(a));
		if (!rq->ban->force &&
		    bc_addr_list_overlaps(&c->cfg.allow, &sb.ban.addr)) {
			snprintf(err, sizeof(err),
				 "%s overlaps the allow list; use --force to ban it anyway", a);
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
		if (do_ban(c, &sb, signer, err, sizeof(err)) == 0) {
			fill_ban(&one, &sb.ban);
			one.reason = sb.reason;
			one.origin = sb.origin;
			r.n_bans = 1;
			r.bans = &onep;
		}
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_UNBAN: {
		struct bc_addr a;
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;

		tmp.family = rq->unban->family;
		tmp.addr = rq->unban->addr;
		tmp.plen = rq->unban->plen;
		bc_wire_ban_addr(&tmp, &a);
		do_unban(c, &a, "unban", signer, err, sizeof(err));
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_LIST:
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
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;

		tmp.family = rq->show->family;
		tmp.addr = rq->show->addr;
		tmp.plen = rq->show->plen;
		bc_wire_ban_addr(&tmp, &a);
		bc_coord_show(c, &a, &r, &arena, err, sizeof(err));
		break;
	}
	case BANCLUSTER__ADMIN_REQ__CMD_AUDIT:
		bc_coord_audit(c, &r, &arena, err, sizeof(err));
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
			asp[na] = &as[na];
			na++;
		}
		r.n_agents = na;
		r.agents = asp;
		r.total = c->bans.n;
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
		r.n_decisions = 0;
		r.n_recent = 0;
	}
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REPLY;
	p.admin_reply = &r;
	send_to(c, id, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, &p);
	free(l.pb);
	free(l.pp);
	free(l.sb);
	free(as);
	free(asp);
	bc_arena_free(&arena);
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
	char a[BC_ADDR_STRLEN], d[32];

	/* one NAT64 address is one IPv4 host: never widen it to its /48 */
	if (bc_addr_is_nat64(key, &c->cfg.nat64_prefixes))
		return;
	bc_addr_mask(&net, key->family == AF_INET ? 24 : 48);
	if (bc_banmap_find(&c->bans, &net) >= 0 ||
	    bc_addr_list_overlaps(&c->cfg.allow, &net))
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
	if (bc_store_ban_rule(c->store, &sb, &net, NULL, 0, now) < 0 ||
	    bc_banmap_put(&c->bans, &sb.ban) < 0) {
		bc_warn("ban %s: %s", a, bc_store_error(c->store));
		return;
	}
	publish_change(c, &sb.ban, false);
	announce(c, &sb.ban, false, sb.origin, sb.reason, "");
	c->bans_rule++;
	bc_digest_add(&c->digest, &sb.ban, sb.origin, sb.reason);
	bc_info("ban %s for %s origin=rule:subnet seq=%" PRIu64 ": %s", a,
		bc_duration_format(secs, d, sizeof(d)), c->seq, sb.reason);
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

/* Ban a counting key the policy flagged: escalate, commit, publish. */
static void rule_ban(struct bc_coord *c, const struct bc_policy_hit *h)
{
	struct evlist *ev;
	struct bc_store_ban sb;
	int64_t now = bc_now_ms(), secs;
	long off;
	size_t i;
	char a[BC_ADDR_STRLEN], d[32];

	/* already covered by an active ban (a late event): nothing to do */
	for (i = 0; i <= h->key.plen; i++) {
		struct bc_addr t = h->key;
		long k;

		bc_addr_mask(&t, (unsigned)i);
		k = bc_banmap_find(&c->bans, &t);
		if (k >= 0 && (c->bans.v[k].expires_ms == 0 ||
			       c->bans.v[k].expires_ms > now))
			return;
	}
	if (bc_addr_list_overlaps(&c->cfg.allow, &h->key)) {
		bc_warn("not banning %s: it overlaps the allow list",
			bc_addr_format(&h->key, a, sizeof(a)));
		return;
	}
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
	ev = calloc(1, sizeof(*ev));
	if (ev != NULL)
		bc_coord_events(c, h->refs,
				h->nrefs < (size_t)c->cfg.evidence_max
					? h->nrefs
					: (size_t)c->cfg.evidence_max,
				collect_event, ev);
	if (bc_store_ban_rule(c->store, &sb, &h->key, ev ? ev->v : NULL,
			      ev ? ev->n : 0, now) < 0) {
		free(ev);
		bc_warn("ban %s: store: %s", bc_addr_format(&h->key, a, sizeof(a)),
			bc_store_error(c->store));
		return;
	}
	free(ev);
	if (bc_banmap_put(&c->bans, &sb.ban) < 0) {
		bc_warn("ban table full");
		return;
	}
	publish_change(c, &sb.ban, false);
	announce(c, &sb.ban, false, sb.origin, sb.reason, "");
	c->bans_rule++;
	bc_digest_add(&c->digest, &sb.ban, sb.origin, sb.reason);
	bc_info("ban %s for %s origin=rule:maxretry seq=%" PRIu64 ": %s",
		bc_addr_format(&h->key, a, sizeof(a)), d, c->seq, sb.reason);
	if (c->cfg.subnet_threshold > 0)
		subnet_escalate(c, &h->key);
}

/*
 * A report: store its events (one commit), count them, decide, then ack.
 * A report id not above the last one counted from this agent is a resend
 * whose ack was lost: acknowledged again, not counted twice.
 */
static void handle_report(struct bc_coord *c, const zmq_msg_t *id,
			  const struct bc_peer *from, struct bc_agent_state *st,
			  const Bancluster__Report *r, const uint8_t *frame,
			  size_t flen)
{
	Bancluster__Payload ap = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Ack ack = BANCLUSTER__ACK__INIT;
	int64_t now = bc_now_ms(), row;
	size_t i, n = 0;

	if (r->report_id > st->last_report) {
		size_t allowed = r->n_events;
		double rate = (double)c->cfg.report_rate;

		/* token bucket per agent: a compromised or broken agent cannot
		 * flood the fleet's counts; excess events are dropped, counted */
		st->tokens += (double)(bc_mono_ms() - st->tokens_ms) * rate / 1000;
		if (st->tokens > rate || st->tokens_ms == 0)
			st->tokens = rate;
		st->tokens_ms = bc_mono_ms();
		if ((double)allowed > st->tokens)
			allowed = (size_t)st->tokens;
		st->tokens -= (double)allowed;
		if (allowed < r->n_events) {
			st->rate_dropped += r->n_events - allowed;
			if (c->log_budget > 0) {
				c->log_budget--;
				bc_warn("agent %s over report_rate: %zu events dropped "
					"(total %" PRIu64 ")", from->name,
					r->n_events - allowed, st->rate_dropped);
			}
		}
		if (allowed == 0) /* over the rate: nothing stored, nothing counted */
			goto ack;
		if (bc_store_report_add(c->store, from->name, BC_CHAN_REPORTS,
					r->report_id, allowed, now, frame, flen,
					&row) < 0) {
			bc_warn("report from %s: store: %s", from->name,
				bc_store_error(c->store));
			return; /* not acked: the agent resends */
		}
		for (i = 0; i < allowed; i++) {
			const Bancluster__Event *e = r->events[i];
			Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
			struct bc_policy_event pe;
			struct bc_policy_hit hit;

			tmp.family = e->family;
			tmp.addr = e->addr;
			tmp.plen = e->family == 4 ? 32 : 128;
			if (bc_wire_ban_addr(&tmp, &pe.addr) < 0)
				continue;
			pe.time_ms = e->time_ms;
			if (pe.time_ms <= 0 || pe.time_ms > now + BC_WIRE_SKEW_MS)
				pe.time_ms = now;
			pe.kind = (uint8_t)e->kind;
			pe.host = (uint16_t)peer_index(c, from);
			pe.ref = (uint64_t)row << 16 | i;
			if (pe.kind < BC_POLICY_KINDS)
				c->events_kind[pe.kind]++;
			if (bc_policy_event(c->policy, &pe, now, &hit) ==
			    BC_POLICY_BAN)
				rule_ban(c, &hit);
			n++;
		}
		st->last_report = r->report_id;
		st->events += n;
		c->reports++;
		c->events += n;
	}
ack:
	ack.report_id = r->report_id;
	ap.body_case = BANCLUSTER__PAYLOAD__BODY_ACK;
	ap.ack = &ack;
	send_to(c, id, BANCLUSTER__MSG_TYPE__MSG_ACK, &ap);
}

static void handle_frame(struct bc_coord *c, const zmq_msg_t *id,
			 const uint8_t *buf, size_t len)
{
	const uint32_t allowed = (1u << BANCLUSTER__MSG_TYPE__MSG_REPORT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ);
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	enum bc_reject r;
	struct bc_agent_state *st;
	int64_t prev;

	/* each key may only sign its role's types (set at load) */
	r = bc_wire_open(&c->ring, buf, len, BC_WIRE_MAX_FRAME, allowed,
			 BC_CHAN_ROUTER, c->cfg.cluster, bc_now_ms(), &p, &from);
	if (r != BC_REJ_OK) {
		reject(c, r, "message");
		return;
	}
	st = &c->peer_state[peer_index(c, from)];
	prev = st->last_seen_ms;
	st->last_seen_ms = bc_now_ms();
	if (from->role == BC_ROLE_AGENT &&
	    (prev == 0 || st->last_seen_ms - prev > BC_COORD_AGENT_TTL_MS))
		bc_info("agent %s connected", from->name);
	switch (p->body_case) {
	case BANCLUSTER__PAYLOAD__BODY_HEARTBEAT:
		st->epoch = p->heartbeat->epoch;
		st->seq = p->heartbeat->seq;
		st->fleet_count = p->heartbeat->fleet_count;
		st->hash_valid = p->heartbeat->hash_valid &&
				 p->heartbeat->fleet_hash.len == sizeof(st->hash);
		if (st->hash_valid)
			memcpy(st->hash, p->heartbeat->fleet_hash.data,
			       sizeof(st->hash));
		st->hash_cutoff_ms = p->heartbeat->hash_cutoff_ms;
		st->hash_seq = p->heartbeat->hash_seq;
		st->kernel_count = p->heartbeat->kernel_count;
		if (p->heartbeat->repairs > st->repairs)
			bc_warn("agent %s repaired drift in its kernel sets "
				"(repair %" PRIu64 ")",
				from->name, p->heartbeat->repairs);
		st->repairs = p->heartbeat->repairs;
		break;
	case BANCLUSTER__PAYLOAD__BODY_SNAPSHOT_REQ:
		bc_info("snapshot for %s: %zu bans at epoch %" PRIu64
			" seq %" PRIu64, from->name, c->bans.n, c->epoch, c->seq);
		send_snapshot(c, id, &p->snapshot_req->nonce);
		break;
	case BANCLUSTER__PAYLOAD__BODY_REPORT:
		handle_report(c, id, from, st, p->report, buf, len);
		break;
	case BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ:
		handle_admin(c, id, from, p->admin_req);
		/* an admin command is state-changing: keep its counter durable */
		bc_store_counter_set(c->store, from->name, BC_CHAN_ROUTER,
				     from->last_counter[BC_CHAN_ROUTER]);
		st->counter_saved = from->last_counter[BC_CHAN_ROUTER];
		break;
	default:
		break;
	}
	bancluster__payload__free_unpacked(p, NULL);
}

static void drain_router(struct bc_coord *c)
{
	int i;

	for (i = 0; i < ROUTER_BATCH; i++) {
		zmq_msg_t id, body;
		int more;
		size_t ml = sizeof(more);

		zmq_msg_init(&id);
		if (zmq_msg_recv(&id, c->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id);
			return;
		}
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, c->router, 0) < 0) {
			zmq_msg_close(&id);
			zmq_msg_close(&body);
			return;
		}
		zmq_getsockopt(c->router, ZMQ_RCVMORE, &more, &ml);
		if (more) { /* a client sent several frames: drop them all */
			while (more) {
				zmq_msg_close(&body);
				zmq_msg_init(&body);
				if (zmq_msg_recv(&body, c->router, 0) < 0)
					break;
				zmq_getsockopt(c->router, ZMQ_RCVMORE, &more, &ml);
			}
			reject(c, BC_REJ_ENVELOPE, "multipart message");
		} else if (zmq_msg_size(&id) <= ROUTING_ID_MAX) {
			handle_frame(c, &id, zmq_msg_data(&body),
				     zmq_msg_size(&body));
		}
		zmq_msg_close(&id);
		zmq_msg_close(&body);
	}
}

/* ZAP (RFC 27): admit only CURVE keys of pinned agents and admins. */
static void handle_zap(struct bc_coord *c)
{
	zmq_msg_t f[ZAP_FRAMES_MAX];
	int n = 0, more = 1, i;
	size_t ml = sizeof(more);
	const char *status = "400", *text = "unknown key";
	const struct bc_peer *peer = NULL;

	while (more && n < ZAP_FRAMES_MAX) {
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], c->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[n]);
			break;
		}
		n++;
		zmq_getsockopt(c->zap, ZMQ_RCVMORE, &more, &ml);
	}
	if (n >= 7 && zmq_msg_size(&f[5]) == 5 &&
	    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == 32) {
		peer = bc_keyring_find_curve(&c->ring, zmq_msg_data(&f[6]));
		if (peer != NULL) {
			status = "200";
			text = "OK";
		}
	}
	if (n >= 2) {
		zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
		zmq_send(c->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			 ZMQ_SNDMORE);
		zmq_send(c->zap, status, 3, ZMQ_SNDMORE);
		zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE);
		zmq_send(c->zap, peer ? peer->name : "",
			 peer ? strlen(peer->name) : 0, ZMQ_SNDMORE);
		zmq_send(c->zap, "", 0, 0);
	}
	if (peer == NULL)
		reject(c, BC_REJ_SIGNER, "connection (CURVE key not pinned)");
	for (i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

/*
 * The coordinator's metrics, one text for metrics_file (node_exporter's
 * textfile collector) and GET /metrics: docs/metrics.md.
 */
static void metrics_text(struct bc_coord *c, struct bc_metrics *m)
{
	static const char *kinds[] = {"", "auth_fail", "sender_violation",
				      "auth_abort", "auth_success"};
	static const char *hook_names[] = {"on_ban", "on_unban"};
	static const enum bc_hook_result hook_ends[] = {
		BC_HOOK_OK, BC_HOOK_FAILED, BC_HOOK_TIMEOUT, BC_HOOK_NOT_RUN,
		BC_HOOK_DROPPED};
	static const enum bc_webhook_result web_ends[] = {
		BC_WEBHOOK_DELIVERED, BC_WEBHOOK_FAILED, BC_WEBHOOK_DROPPED};
	struct bc_policy_stats ps;
	struct bc_hooks_stats hs;
	size_t i;
	int k;

	bc_metrics_help(m, "bancluster_coordinator_bans_active", "gauge", "Active bans.");
	bc_metrics_value(m, "bancluster_coordinator_bans_active", NULL, NULL, (double)c->bans.n);
	bc_metrics_help(m, "bancluster_coordinator_bans_added_total", "counter", "Bans decided since start, by origin.");
	bc_metrics_value(m, "bancluster_coordinator_bans_added_total", "origin", "manual", (double)c->bans_manual);
	bc_metrics_value(m, "bancluster_coordinator_bans_added_total", "origin", "rule", (double)c->bans_rule);
	bc_metrics_help(m, "bancluster_coordinator_bans_removed_total", "counter", "Bans ended since start, by cause.");
	bc_metrics_value(m, "bancluster_coordinator_bans_removed_total", "cause", "expire", (double)c->expiries);
	bc_metrics_value(m, "bancluster_coordinator_bans_removed_total", "cause", "unban", (double)c->unbans);
	bc_metrics_help(m, "bancluster_coordinator_events_total", "counter", "Events counted since start, by kind.");
	for (k = 1; k < BC_POLICY_KINDS; k++)
		bc_metrics_value(m, "bancluster_coordinator_events_total", "kind", kinds[k], (double)c->events_kind[k]);
	bc_metrics_help(m, "bancluster_coordinator_reports_total", "counter", "Reports counted since start.");
	bc_metrics_value(m, "bancluster_coordinator_reports_total", NULL, NULL, (double)c->reports);
	bc_metrics_help(m, "bancluster_coordinator_rejected_total", "counter", "Messages and connections rejected, by reason.");
	for (k = 1; k < BC_REJ_MAX; k++)
		bc_metrics_value(m, "bancluster_coordinator_rejected_total", "reason",
				 bc_wire_reject_name((enum bc_reject)k), (double)c->rejected[k]);
	bc_policy_stats(c->policy, &ps);
	bc_metrics_help(m, "bancluster_coordinator_tracked_addresses", "gauge", "Addresses with events in their window.");
	bc_metrics_value(m, "bancluster_coordinator_tracked_addresses", NULL, NULL, (double)ps.tracked);
	bc_metrics_help(m, "bancluster_coordinator_tracked_evicted_total", "counter", "Tracked addresses evicted (max_tracked).");
	bc_metrics_value(m, "bancluster_coordinator_tracked_evicted_total", NULL, NULL, (double)ps.evicted);
	bc_metrics_help(m, "bancluster_coordinator_sequence", "gauge", "Sequence of the last published change.");
	bc_metrics_value(m, "bancluster_coordinator_sequence", NULL, NULL, (double)c->seq);
	bc_metrics_help(m, "bancluster_coordinator_agent_connected", "gauge", "1 when the agent was heard within 5 s.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_connected", "agent", c->ring.v[i].name,
					 c->peer_state[i].last_seen_ms != 0 &&
							 bc_now_ms() - c->peer_state[i].last_seen_ms < BC_COORD_AGENT_TTL_MS
						 ? 1 : 0);
	bc_metrics_help(m, "bancluster_coordinator_agent_lag", "gauge", "Sequences the agent's applied state is behind.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_lag", "agent", c->ring.v[i].name,
					 c->peer_state[i].epoch == c->epoch && c->peer_state[i].seq <= c->seq
						 ? (double)(c->seq - c->peer_state[i].seq)
						 : (double)c->seq);
	bc_metrics_help(m, "bancluster_coordinator_agent_events_total", "counter", "Events counted from the agent, ever.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_events_total", "agent", c->ring.v[i].name,
					 (double)c->peer_state[i].events);
	bc_metrics_help(m, "bancluster_coordinator_agent_events_dropped_total", "counter", "Events over report_rate, since start.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_events_dropped_total", "agent", c->ring.v[i].name,
					 (double)c->peer_state[i].rate_dropped);
	bc_hooks_stats(c->hooks, &hs);
	bc_metrics_help(m, "bancluster_coordinator_hooks_total", "counter", "on_ban and on_unban runs since start, by how they ended.");
	for (k = 0; k < 2; k++)
		for (i = 0; i < sizeof(hook_ends) / sizeof(hook_ends[0]); i++)
			bc_metrics_value2(m, "bancluster_coordinator_hooks_total", "hook", hook_names[k],
					  "result", bc_hook_result_name(hook_ends[i]),
					  (double)hs.hook[k][hook_ends[i]]);
	bc_metrics_help(m, "bancluster_coordinator_hooks_queued", "gauge", "Hook runs waiting for a free slot (hook_max).");
	bc_metrics_value(m, "bancluster_coordinator_hooks_queued", NULL, NULL, (double)hs.hook_queued);
	bc_metrics_help(m, "bancluster_coordinator_hooks_running", "gauge", "Hook programs running now.");
	bc_metrics_value(m, "bancluster_coordinator_hooks_running", NULL, NULL, (double)hs.hook_running);
	bc_metrics_help(m, "bancluster_coordinator_webhook_changes_total", "counter", "Changes posted to the webhook since start, by how they ended.");
	for (i = 0; i < sizeof(web_ends) / sizeof(web_ends[0]); i++)
		bc_metrics_value(m, "bancluster_coordinator_webhook_changes_total", "result",
				 bc_webhook_result_name(web_ends[i]), (double)hs.webhook[web_ends[i]]);
	bc_metrics_help(m, "bancluster_coordinator_webhook_retries_total", "counter", "Failed webhook attempts that were tried again.");
	bc_metrics_value(m, "bancluster_coordinator_webhook_retries_total", NULL, NULL, (double)hs.webhook[BC_WEBHOOK_RETRIED]);
	bc_metrics_help(m, "bancluster_coordinator_webhook_queued", "gauge", "Changes queued, in flight or waiting to retry for the webhook.");
	bc_metrics_value(m, "bancluster_coordinator_webhook_queued", NULL, NULL, (double)hs.webhook_queued);
	if (c->httpd != NULL) {
		struct bc_httpd_stats st;

		bc_httpd_stats(c->httpd, &st);
		bc_metrics_help(m, "bancluster_coordinator_http_requests_total", "counter",
				"Connections to metrics_listen since start, by answer.");
		for (k = 0; k < BC_HTTPD_STATUSES; k++)
			bc_metrics_value(m, "bancluster_coordinator_http_requests_total", "status",
					 bc_httpd_status_name((enum bc_httpd_status)k),
					 (double)st.answers[k]);
		bc_metrics_help(m, "bancluster_coordinator_http_connections", "gauge",
				"Connections to metrics_listen open now.");
		bc_metrics_value(m, "bancluster_coordinator_http_connections", NULL, NULL, (double)st.open);
	}
}

/* metrics_file: written to FILE.tmp, renamed over FILE */
static void write_metrics(struct bc_coord *c)
{
	struct bc_metrics m;

	if (c->cfg.metrics_file[0] == '\0')
		return;
	if (bc_metrics_begin(&m, c->cfg.metrics_file) < 0) {
		bc_warn("metrics_file %s: cannot write", c->cfg.metrics_file);
		return;
	}
	metrics_text(c, &m);
	if (bc_metrics_end(&m) < 0)
		bc_warn("metrics_file %s: cannot write", c->cfg.metrics_file);
}

/* GET /metrics: the same text, in memory */
static int http_metrics(void *arg, char **body, size_t *len)
{
	struct bc_coord *c = arg;
	struct bc_metrics m;

	if (bc_metrics_begin_mem(&m) < 0)
		return -1;
	metrics_text(c, &m);
	return bc_metrics_end_mem(&m, body, len);
}

/* GET /healthz: 200 while the store takes writes */
static bool http_health(void *arg, char *why, size_t len)
{
	struct bc_coord *c = arg;

	return bc_store_healthy(c->store, why, len);
}

static void hooks_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	bc_log(warn ? BC_LOG_WARN : BC_LOG_INFO, "%s", msg);
}

static void tick(struct bc_coord *c)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Hugz h = BANCLUSTER__HUGZ__INIT;
	int64_t now = bc_now_ms();
	size_t i;
	char err[256];

	/* expiry: a sequenced removal for every ban whose time is over */
	for (i = 0; i < c->bans.n;) {
		const struct bc_ban *b = &c->bans.v[i];

		if (b->expires_ms != 0 && b->expires_ms <= now) {
			struct bc_addr a = b->addr;

			if (do_unban(c, &a, "expire", "", err, sizeof(err)) < 0) {
				bc_warn("expire: %s", err);
				i++;
			}
			continue; /* the array shifted */
		}
		i++;
	}
	h.epoch = c->epoch;
	h.seq = c->seq;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HUGZ;
	p.hugz = &h;
	publish(c, BANCLUSTER__MSG_TYPE__MSG_HUGZ, &p);
	for (i = 0; i < c->ring.n; i++) {
		struct bc_agent_state *st = &c->peer_state[i];
		const struct bc_peer *pe = &c->ring.v[i];

		if (pe->role == BC_ROLE_AGENT && st->last_seen_ms != 0 &&
		    now - st->last_seen_ms >= BC_COORD_AGENT_TTL_MS &&
		    now - st->last_seen_ms < BC_COORD_AGENT_TTL_MS + BC_COORD_TICK_MS)
			bc_warn("agent %s offline (silent for %" PRId64 " ms)",
				pe->name, now - st->last_seen_ms);
		if (pe->last_counter[BC_CHAN_ROUTER] != st->counter_saved) {
			bc_store_counter_set(c->store, pe->name, BC_CHAN_ROUTER,
					     pe->last_counter[BC_CHAN_ROUTER]);
			st->counter_saved = pe->last_counter[BC_CHAN_ROUTER];
		}
	}
	c->log_budget = BC_COORD_LOG_BURST;
	if (c->cfg.digest_to[0] != '\0') {
		char derr[256];

		if (bc_digest_flush(&c->digest, c->cfg.sendmail, c->cfg.digest_to,
				    c->cfg.cluster, c->cfg.digest_interval * 1000,
				    bc_mono_ms(), derr, sizeof(derr)) < 0)
			bc_warn("ban digest: %s", derr);
	}
	if (bc_mono_ms() >= c->next_metrics) {
		write_metrics(c);
		c->next_metrics = bc_mono_ms() + BC_COORD_METRICS_MS;
	}
	if (bc_mono_ms() >= c->next_prune) {
		int64_t keep = c->cfg.retention > c->cfg.recidive_window
				       ? c->cfg.retention
				       : c->cfg.recidive_window;
		int64_t ev_keep = c->cfg.findtime > 86400 ? c->cfg.findtime : 86400;

		if (bc_store_prune(c->store, now - ev_keep * 1000,
				   now - keep * 1000) < 0)
			bc_warn("prune: %s", bc_store_error(c->store));
		c->next_prune = bc_mono_ms() + BC_COORD_PRUNE_MS;
	}
}

static void *open_socket(struct bc_coord *c, int type, const char *ep)
{
	void *s = zmq_socket(c->zctx, type);
	int64_t max = BC_WIRE_MAX_FRAME;
	int hwm = type == ZMQ_PUB ? 100000 : 10000;

	if (s == NULL || bc_zsock_options(s, max, hwm) < 0 ||
	    bc_zsock_curve_server(s, &c->signer.key) < 0)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	if (type == ZMQ_ROUTER) {
		int one = 1;

		zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	}
	if (zmq_bind(s, ep) < 0)
		bc_fatal(1, "bind %s: %s", ep, zmq_strerror(errno));
	return s;
}

struct reload_ctx {
	struct bc_coord *c;
	struct bc_banmap decided; /* key -> last decision time (expires_ms) */
	size_t events;
};

static void reload_decided(const char *addr, int64_t time_ms, void *arg)
{
	struct reload_ctx *r = arg;
	char err[128];
	struct bc_ban b;

	memset(&b, 0, sizeof(b));
	if (bc_addr_parse(&b.addr, addr, strlen(addr), err, sizeof(err)) == 0) {
		b.expires_ms = time_ms;
		bc_banmap_put(&r->decided, &b);
	}
}

/*
 * Events acknowledged before a restart still count: every report of the
 * last findtime is decoded and counted again, except the events of a key
 * decided on (banned, unbanned) after the report arrived.
 */
static void reload_report(int64_t row, const char *sender, int64_t recv_ms,
			  const uint8_t *frame, size_t len, void *arg)
{
	struct reload_ctx *r = arg;
	struct bc_coord *c = r->c;
	struct bc_peer *peer = bc_keyring_find_name(&c->ring, sender);
	Bancluster__Envelope *env = bancluster__envelope__unpack(NULL, len, frame);
	Bancluster__Payload *p = NULL;
	size_t i;

	if (env != NULL)
		p = bancluster__payload__unpack(NULL, env->payload.len,
						env->payload.data);
	for (i = 0; p != NULL &&
		    p->body_case == BANCLUSTER__PAYLOAD__BODY_REPORT &&
		    i < p->report->n_events;
	     i++) {
		const Bancluster__Event *e = p->report->events[i];
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
		struct bc_policy_event pe;
		struct bc_policy_hit hit;
		struct bc_addr key;
		long d;

		tmp.family = e->family;
		tmp.addr = e->addr;
		tmp.plen = e->family == 4 ? 32 : 128;
		if (bc_wire_ban_addr(&tmp, &pe.addr) < 0)
			continue;
		bc_policy_key(c->policy, &pe.addr, &key);
		d = bc_banmap_find(&r->decided, &key);
		if (d >= 0 && r->decided.v[d].expires_ms >= recv_ms)
			continue;
		pe.time_ms = e->time_ms > 0 && e->time_ms <= recv_ms ? e->time_ms
								      : recv_ms;
		pe.kind = (uint8_t)e->kind;
		pe.host = peer ? (uint16_t)peer_index(c, peer) : UINT16_MAX;
		pe.ref = (uint64_t)row << 16 | i;
		r->events++;
		if (bc_policy_event(c->policy, &pe, bc_now_ms(), &hit) == BC_POLICY_BAN)
			rule_ban(c, &hit);
	}
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);
	if (env != NULL)
		bancluster__envelope__free_unpacked(env, NULL);
}

static void set_allowed_types(struct bc_keyring *ring)
{
	size_t i;

	for (i = 0; i < ring->n; i++)
		ring->v[i].allowed_types =
			ring->v[i].role == BC_ROLE_ADMIN
				? 1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ
				: (1u << BANCLUSTER__MSG_TYPE__MSG_REPORT) |
					  (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT) |
					  (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ);
}

/*
 * SIGHUP: re-read the policy, the allow lists and the trusted keys. Bans,
 * counts and every known sender's replay counters are kept; a broken file
 * leaves the running configuration in place. Sockets, key and database
 * need a restart.
 */
static void reload(struct bc_coord *c, const char *cfgpath)
{
	struct bc_coord_cfg ncfg;
	struct bc_keyring ring = {0};
	struct bc_agent_state *nst;
	struct bc_policy_cfg pc;
	char err[512];
	size_t i;

	if (bc_coord_load_config(&ncfg, cfgpath, err, sizeof(err)) < 0 ||
	    bc_coord_check_files(&ncfg, cfgpath, NULL, &ring, err,
				 sizeof(err)) < 0) {
		bc_warn("reload refused, running configuration kept: %s", err);
		bc_coord_free_config(&ncfg);
		bc_keyring_free(&ring);
		return;
	}
	nst = calloc(ring.n + 1, sizeof(*nst));
	if (nst == NULL) {
		bc_warn("reload: out of memory");
		bc_coord_free_config(&ncfg);
		bc_keyring_free(&ring);
		return;
	}
	set_allowed_types(&ring);
	for (i = 0; i < ring.n; i++) {
		struct bc_peer *old = bc_keyring_find_name(&c->ring, ring.v[i].name);

		if (old != NULL && memcmp(old->pk, ring.v[i].pk, 32) == 0) {
			memcpy(ring.v[i].last_counter, old->last_counter,
			       sizeof(old->last_counter));
			nst[i] = c->peer_state[old - c->ring.v];
		} else {
			bc_store_counter_get(c->store, ring.v[i].name,
					     BC_CHAN_ROUTER,
					     &ring.v[i].last_counter[BC_CHAN_ROUTER]);
			nst[i].counter_saved = ring.v[i].last_counter[BC_CHAN_ROUTER];
			bc_store_counter_get(c->store, ring.v[i].name,
					     BC_CHAN_REPORTS, &nst[i].last_report);
			bc_store_counter_get(c->store, ring.v[i].name,
					     BC_CHAN_REPORTS + 1, &nst[i].events);
		}
	}
	{
		struct bc_hooks_cfg hc;

		bc_coord_hooks_cfg(&ncfg, &hc);
		if (bc_hooks_set_cfg(c->hooks, &hc, err, sizeof(err)) < 0) {
			bc_warn("reload refused, running configuration kept: %s", err);
			bc_coord_free_config(&ncfg);
			bc_keyring_free(&ring);
			free(nst);
			return;
		}
	}
	if (strcmp(ncfg.listen, c->cfg.listen) != 0 ||
	    strcmp(ncfg.publish, c->cfg.publish) != 0 ||
	    strcmp(ncfg.database, c->cfg.database) != 0 ||
	    strcmp(ncfg.key, c->cfg.key) != 0 ||
	    strcmp(ncfg.cluster, c->cfg.cluster) != 0 ||
	    strcmp(ncfg.metrics_listen, c->cfg.metrics_listen) != 0)
		bc_warn("reload: listen, publish, database, key, cluster and "
			"metrics_listen changes take effect at the next restart");
	snprintf(ncfg.listen, sizeof(ncfg.listen), "%s", c->cfg.listen);
	snprintf(ncfg.publish, sizeof(ncfg.publish), "%s", c->cfg.publish);
	snprintf(ncfg.database, sizeof(ncfg.database), "%s", c->cfg.database);
	snprintf(ncfg.key, sizeof(ncfg.key), "%s", c->cfg.key);
	snprintf(ncfg.cluster, sizeof(ncfg.cluster), "%s", c->cfg.cluster);
	snprintf(ncfg.metrics_listen, sizeof(ncfg.metrics_listen), "%s",
		 c->cfg.metrics_listen);
	bc_coord_free_config(&c->cfg);
	c->cfg = ncfg;
	bc_keyring_free(&c->ring);
	c->ring = ring;
	free(c->peer_state);
	c->peer_state = nst;
	bc_coord_policy_cfg(&c->cfg, &pc);
	bc_policy_set_cfg(c->policy, &pc);
	bc_info("reloaded %s: %zu trusted keys, %zu allow entries, maxretry %lld",
		cfgpath, c->ring.n, c->cfg.allow.n, (long long)c->cfg.maxretry);
}

static void setup(struct bc_coord *c, const char *cfgpath, bool check_only)
{
	char err[512];
	size_t i;

	if (bc_coord_load_config(&c->cfg, cfgpath, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	/* start and --check-config check the same: up to here, and no more */
	if (bc_coord_check_files(&c->cfg, cfgpath, &c->signer.key, &c->ring,
				 err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	set_allowed_types(&c->ring);
	if (check_only) {
		char note[1024];

		bc_cfg_dropins_note(cfgpath, note, sizeof(note));
		printf("%s: OK (%zu trusted keys%s)\n", cfgpath, c->ring.n, note);
		exit(0);
	}
	c->store = bc_store_open(c->cfg.database, err, sizeof(err));
	if (c->store == NULL)
		bc_fatal(1, "%s", err);
	c->epoch = bc_store_next_epoch(c->store);
	if (c->epoch == 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	if (bc_store_load(c->store, &c->bans) < 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	c->peer_state = calloc(c->ring.n + 1, sizeof(*c->peer_state));
	if (c->peer_state == NULL)
		bc_fatal(1, "out of memory");

	for (i = 0; i < c->ring.n; i++) {
		bc_store_counter_get(c->store, c->ring.v[i].name, BC_CHAN_ROUTER,
				     &c->ring.v[i].last_counter[BC_CHAN_ROUTER]);
		c->peer_state[i].counter_saved =
			c->ring.v[i].last_counter[BC_CHAN_ROUTER];
		bc_store_counter_get(c->store, c->ring.v[i].name, BC_CHAN_REPORTS,
				     &c->peer_state[i].last_report);
		bc_store_counter_get(c->store, c->ring.v[i].name,
				     BC_CHAN_REPORTS + 1, &c->peer_state[i].events);
	}
	snprintf(c->signer.cluster, sizeof(c->signer.cluster), "%.63s", c->cfg.cluster);
	snprintf(c->signer.sender, sizeof(c->signer.sender), "coordinator");
	{
		char cpath[BC_CFG_STR_MAX + 16];

		snprintf(cpath, sizeof(cpath), "%s.counter", c->cfg.database);
		if (bc_counter_open(&c->signer.counter, cpath, err, sizeof(err)) < 0)
			bc_fatal(1, "%s", err);
	}
	c->zctx = zmq_ctx_new();
	c->zap = zmq_socket(c->zctx, ZMQ_REP);
	if (c->zap == NULL || zmq_bind(c->zap, "inproc://zeromq.zap.01") < 0)
		bc_fatal(1, "zap: %s", zmq_strerror(errno));
	c->router = open_socket(c, ZMQ_ROUTER, c->cfg.listen);
	c->pub = open_socket(c, ZMQ_PUB, c->cfg.publish);
	{
		/* before the rule bans of the reports counted again */
		struct bc_hooks_cfg hc;

		bc_coord_hooks_cfg(&c->cfg, &hc);
		c->hooks = bc_hooks_new(&hc, hooks_log, c, err, sizeof(err));
		if (c->hooks == NULL)
			bc_fatal(1, "%s", err);
	}
	{
		struct bc_policy_cfg pc;

		bc_coord_policy_cfg(&c->cfg, &pc);
		c->policy = bc_policy_new(&pc);
		if (c->policy == NULL)
			bc_fatal(1, "out of memory");
		struct reload_ctx rc = {c, {0}, 0};
		int64_t since = bc_now_ms() - c->cfg.findtime * 1000;

		if (bc_store_decided_since(c->store, since, reload_decided, &rc) < 0 ||
		    bc_store_reports_each(c->store, since, reload_report, &rc) < 0)
			bc_fatal(1, "%s: %s", c->cfg.database,
				 bc_store_error(c->store));
		if (rc.events > 0)
			bc_info("counted again %zu events of the last %llds",
				rc.events, (long long)c->cfg.findtime);
		bc_banmap_free(&rc.decided);
	}
	if (c->cfg.metrics_listen[0] != '\0') {
		const struct bc_httpd_ops ops = {http_metrics, http_health, c};

		c->httpd = bc_httpd_open(c->cfg.metrics_listen, &ops, err, sizeof(err));
		if (c->httpd == NULL)
			bc_fatal(1, "metrics_listen %s", err);
	}
	c->started_ms = bc_now_ms();
	c->log_budget = BC_COORD_LOG_BURST;
	bc_info("started: epoch %" PRIu64 ", %zu active bans, %zu trusted keys, "
		"listening on %s, publishing on %s%s%s",
		c->epoch, c->bans.n, c->ring.n, c->cfg.listen, c->cfg.publish,
		c->httpd != NULL ? ", metrics on http://" : "",
		c->httpd != NULL ? c->cfg.metrics_listen : "");
}

int main(int argc, char **argv)
{
	/* --version: beside libzmq, libsodium, libprotobuf-c and inih */
	const struct bc_version_lib libs[] = {
		{"sqlite3", sqlite3_libversion(), true},
		{"libsystemd", bc_version_built("libsystemd"), false},
	};
	const char *cfgpath = "/etc/bancluster/coordinator.ini";
	struct bc_coord *c;
	bool check = false;
	int i;

	bc_log_init("bancluster-coordinator", BC_LOG_INFO);
	bc_daemon_args(argc, argv, "bancluster-coordinator", libs,
		       sizeof(libs) / sizeof(libs[0]), &cfgpath, &check);
	if (sodium_init() < 0)
		bc_fatal(1, "libsodium failed to initialise");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		bc_fatal(1, "out of memory");
	setup(c, cfgpath, check);
	bc_daemon_signals();
	c->next_tick = bc_mono_ms() + BC_COORD_TICK_MS;
	{
		char st[128];

		snprintf(st, sizeof(st), "epoch %llu, %zu active bans",
			 (unsigned long long)c->epoch, c->bans.n);
		bc_notify_ready(st);
	}
	while (!bc_stop_flag) {
		zmq_pollitem_t items[2 + BC_HTTPD_POLLITEMS] = {
			{c->router, 0, ZMQ_POLLIN, 0},
			{c->zap, 0, ZMQ_POLLIN, 0},
		};
		int64_t wait = c->next_tick - bc_mono_ms();
		long hw = bc_hooks_wait_ms(c->hooks);
		size_t nh = c->httpd != NULL
				    ? bc_httpd_pollitems(c->httpd, items + 2, BC_HTTPD_POLLITEMS)
				    : 0;

		if (hw >= 0 && hw < wait)
			wait = hw;
		if (zmq_poll(items, 2 + (int)nh, wait > 0 ? (long)wait : 0) < 0) {
			if (errno != EINTR)
				bc_fatal(1, "poll: %s", zmq_strerror(errno));
			nh = 0; /* revents not set */
		}
		if (items[1].revents & ZMQ_POLLIN)
			handle_zap(c);
		if (items[0].revents & ZMQ_POLLIN)
			drain_router(c);
		bc_hooks_poll(c->hooks, bc_mono_ms());
		if (c->httpd != NULL)
			bc_httpd_handle(c->httpd, items + 2, nh, bc_mono_ms());
		bc_notify_tick(&c->notify, bc_mono_ms());
		if (bc_reload_flag) {
			bc_reload_flag = 0;
			reload(c, cfgpath);
		}
		if (bc_mono_ms() >= c->next_tick) {
			tick(c);
			c->next_tick = bc_mono_ms() + BC_COORD_TICK_MS;
		}
	}
	bc_notify_stopping();
	bc_info("stopping: %" PRIu64 " reports, %" PRIu64 " events received",
		c->reports, c->events);
	for (i = 0; i < BC_REJ_MAX; i++)
		if (c->rejected[i])
			bc_info("rejected %s: %" PRIu64, bc_wire_reject_name(i),
				c->rejected[i]);
	bc_hooks_free(&c->hooks);
	bc_httpd_close(&c->httpd);
	zmq_close(c->router);
	zmq_close(c->pub);
	zmq_close(c->zap);
	zmq_ctx_term(c->zctx);
	bc_store_close(&c->store);
	bc_policy_free(&c->policy);
	bc_banmap_free(&c->bans);
	bc_key_wipe(&c->signer.key);
	bc_keyring_free(&c->ring);
	bc_coord_free_config(&c->cfg);
	free(c->peer_state);
	free(c);
	return 0;
}
