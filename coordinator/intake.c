/*
 * intake.c - everything that arrives on the ROUTER socket, and the ZAP
 * handler in front of it.
 *
 * Untrusted: every frame and every ZAP request. ZAP admits only the
 * CURVE keys of pinned agents and admins. A ROUTER frame is looked at
 * only after bc_wire_open() accepted it (size cap, envelope, signature of
 * a pinned key allowed to sign that type, replay counter, cluster, value
 * ranges); a rejected frame is counted, logged (rate-limited) and changes
 * nothing. Accepted: heartbeats (the agent's applied state, for status
 * and audit), snapshot requests (the ban table in parts), reports (stored
 * as the signed frame, counted by the policy within the agent's
 * report_rate, and acked once committed: the reports of one drain of the
 * socket share one commit, group commit; a resent report is acked again,
 * not counted twice), local ban lists (localbans.c) and admin requests
 * (admin.c; the reports before one are committed first, and the request
 * commits on its own).
 *
 * Replay counters: the last accepted counter of each key is saved to the
 * store after an admin request and every tick, and loaded at start-up
 * and reload. At start-up the reports of the last findtime are counted
 * again from the store (bc_coord_recount).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"
#include "conf/coordinator.h"
#include "coordinator/admin.h"
#include "coordinator/allow.h"
#include "coordinator/decide.h"
#include "coordinator/cluster.h"
#include "coordinator/intake.h"
#include "coordinator/localbans.h"
#include "proto/wire_zmq.h"

#define ROUTER_BATCH 256 /* frames handled per poll round, one commit */
#define ROUTING_ID_MAX 256
#define ZAP_FRAMES_MAX 8
_Static_assert(ROUTER_BATCH <= BC_COORD_ACKS, "an ack for every frame of a drain");

static void reject(struct bc_coord *c, enum bc_reject r, const char *what)
{
	c->rejected[r]++;
	if (c->log_budget > 0) {
		c->log_budget--;
		bc_warn("rejected %s: %s (total %" PRIu64 ")", what,
			bc_wire_reject_name(r), c->rejected[r]);
	}
}

static const char *role_name(int role)
{
	return role == BC_ROLE_ADMIN ? "admin" : "agent";
}

/*
 * A rejected frame, logged with the peer it names: the key id's
 * fingerprint, the name that key is enrolled under and, once its
 * signature checked out, the sender name the message claims (escaped).
 */
static void reject_seen(struct bc_coord *c, enum bc_reject r,
			const struct bc_wire_seen *sn)
{
	char fpr[BC_KEY_FPR_LEN], who[1024];
	char said[BC_NAME_MAX * 4], cl[BC_NAME_MAX * 4];

	c->rejected[r]++;
	if (c->log_budget <= 0)
		return;
	c->log_budget--;
	bc_key_fingerprint(sn->key_id, sn->key_id_len, fpr);
	if (sn->key_id_len == 0)
		snprintf(who, sizeof(who), "no key id");
	else if (sn->peer == NULL)
		snprintf(who, sizeof(who),
			 "key %s is not in agents_dir or admins_dir", fpr);
	else if (!sn->verified)
		snprintf(who, sizeof(who),
			 "key %s is enrolled as %s \"%s\", the signature does "
			 "not verify with it", fpr, role_name(sn->peer->role),
			 sn->peer->name);
	else if (r == BC_REJ_SENDER && strcmp(sn->cluster, c->cfg.cluster) != 0)
		snprintf(who, sizeof(who),
			 "key %s is enrolled as %s \"%s\", the message is for "
			 "cluster \"%s\", this is \"%s\"", fpr,
			 role_name(sn->peer->role), sn->peer->name,
			 bc_escape(cl, sizeof(cl), sn->cluster, strlen(sn->cluster)),
			 c->cfg.cluster);
	else if (r == BC_REJ_SENDER)
		snprintf(who, sizeof(who),
			 "key %s is enrolled as %s \"%s\", the message says \"%s\"",
			 fpr, role_name(sn->peer->role), sn->peer->name,
			 bc_escape(said, sizeof(said), sn->sender,
				   strlen(sn->sender)));
	else
		snprintf(who, sizeof(who), "key %s, enrolled as %s \"%s\"", fpr,
			 role_name(sn->peer->role), sn->peer->name);
	bc_warn("rejected message: %s: %s (total %" PRIu64 ")",
		bc_wire_reject_name(r), who, c->rejected[r]);
}

/*
 * An admin request whose signature verified with an enrolled admin key
 * but which names another sender (the key file on the CLI's side is not
 * called as its .pub here): the peer is authenticated, so it is told at
 * once. Nothing else is answered; unauthenticated peers get silence.
 */
static void answer_wrong_sender(struct bc_coord *c, const zmq_msg_t *id,
				const struct bc_wire_seen *sn)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__AdminReply r = BANCLUSTER__ADMIN_REPLY__INIT;
	char err[BC_WIRE_MAX_TEXT];

	if (!sn->verified || sn->peer == NULL ||
	    sn->peer->role != BC_ROLE_ADMIN || sn->nonce_len != 16 ||
	    sn->type != BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ ||
	    strcmp(sn->cluster, c->cfg.cluster) != 0)
		return;
	snprintf(err, sizeof(err),
		 "this admin key is enrolled as \"%s\" in admins_dir; set "
		 "key = .../%s in cli.ini or rename the .pub",
		 sn->peer->name, sn->peer->name);
	r.nonce.data = (uint8_t *)(uintptr_t)sn->nonce;
	r.nonce.len = sn->nonce_len;
	r.code = 1;
	r.error = err;
	r.seq = c->seq;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REPLY;
	p.admin_reply = &r;
	c->reply_version = sn->version;
	bc_coord_send(c, id, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, &p);
}

/* A frame of a wire version this coordinator does not speak: say which. */
static void reject_version(struct bc_coord *c, const uint8_t *buf, size_t len)
{
	c->rejected[BC_REJ_VERSION]++;
	if (c->log_budget > 0) {
		c->log_budget--;
		bc_warn("rejected message: %s: wire %" PRIu32
			", this coordinator speaks %d..%d (total %" PRIu64 ")",
			bc_wire_reject_name(BC_REJ_VERSION),
			bc_wire_peek_version(buf, len), BC_WIRE_VERSION_MIN,
			BC_WIRE_VERSION, c->rejected[BC_REJ_VERSION]);
	}
}

/*
 * What a heartbeat says of the agent's versions, for status. A wire 1
 * agent states nothing (software "", range 0): status shows "unknown".
 * Logged when it changes, so an upgrade shows up in the log.
 */
static void note_versions(struct bc_agent_state *st, const struct bc_peer *from,
			  const Bancluster__Heartbeat *h)
{
	if (st->versions_seen && st->wire_min == h->wire_min &&
	    st->wire_max == h->wire_max && strcmp(st->software, h->software) == 0)
		return;
	st->versions_seen = true;
	st->wire_min = h->wire_min;
	st->wire_max = h->wire_max;
	snprintf(st->software, sizeof(st->software), "%s", h->software);
	if (h->wire_max == 0)
		bc_info("agent %s states no version: an agent of wire %" PRIu32
			" (an older release)", from->name, from->wire_version);
	else
		bc_info("agent %s runs %s, speaks wire %" PRIu32 "..%" PRIu32,
			from->name, h->software[0] ? h->software : "unknown",
			h->wire_min, h->wire_max);
}

/* Send one sealed payload to a ROUTER peer (identity frame first). */
int bc_coord_send(struct bc_coord *c, const zmq_msg_t *id,
		   Bancluster__MsgType type, Bancluster__Payload *p)
{
	int rc = bc_wire_send(&c->signer, c->reply_version, c->router, id, type,
			      p, ZMQ_DONTWAIT);

	if (rc == BC_WIRE_SEND_SIGN)
		bc_warn("cannot sign reply");
	return rc < 0 ? -1 : 0;
}

static void send_snapshot(struct bc_coord *c, const zmq_msg_t *id,
			  const ProtobufCBinaryData *nonce)
{
	size_t total = c->bans.n, off = 0, part = 0;
	Bancluster__Ban *pb = NULL, **pp = NULL;
	Bancluster__Allow *pa = NULL, **pap = NULL;
	size_t chunk = BC_WIRE_MAX_BANS_PER_MSG, na;

	pb = calloc(chunk, sizeof(*pb));
	pp = calloc(chunk, sizeof(*pp));
	pa = calloc(c->allows.n + 1, sizeof(*pa));
	pap = calloc(c->allows.n + 1, sizeof(*pap));
	if (pb == NULL || pp == NULL || pa == NULL || pap == NULL) {
		bc_warn("snapshot: out of memory");
		goto out;
	}
	/* the allow list (bancluster allow) travels in part 0 */
	na = bc_coord_allow_wire(c, pa, pap, c->allows.n, bc_now_ms());
	do {
		Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
		Bancluster__Snapshot s = BANCLUSTER__SNAPSHOT__INIT;
		size_t n = total - off < chunk ? total - off : chunk, i;

		for (i = 0; i < n; i++) {
			bc_coord_fill_ban(&pb[i], &c->bans.v[off + i]);
			pp[i] = &pb[i];
		}
		s.nonce = *nonce;
		s.epoch = c->epoch;
		s.seq = c->seq;
		s.part = (uint32_t)part++;
		s.total = total;
		s.n_bans = n;
		s.bans = pp;
		if (part == 1) {
			s.n_allows = na;
			s.allows = pap;
		}
		off += n;
		s.last = off >= total;
		p.body_case = BANCLUSTER__PAYLOAD__BODY_SNAPSHOT;
		p.snapshot = &s;
		if (bc_coord_send(c, id, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, &p) < 0) {
			bc_warn("snapshot: send failed: %s", zmq_strerror(errno));
			break;
		}
	} while (off < total);
out:
	free(pb);
	free(pp);
	free(pa);
	free(pap);
}

/*
 * A report: store its events (one commit), count them, decide, then ack.
 * A report id not above the last one counted from this agent is a resend
 * whose ack was lost: acknowledged again, not counted twice.
 */
/* The ack of report_id to id: now, or after the batch commits. */
static void ack_report(struct bc_coord *c, const zmq_msg_t *id,
		       uint64_t report_id)
{
	Bancluster__Payload ap = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Ack ack = BANCLUSTER__ACK__INIT;
	struct bc_coord_ack *q;

	if (bc_store_in_batch(c->store) && c->nacks < BC_COORD_ACKS) {
		q = &c->acks[c->nacks];
		zmq_msg_init(&q->id);
		if (zmq_msg_copy(&q->id, (zmq_msg_t *)id) == 0) {
			q->report_id = report_id;
			q->version = c->reply_version;
			c->nacks++;
			return;
		}
		zmq_msg_close(&q->id);
		return; /* not acked: the agent resends */
	}
	ack.report_id = report_id;
	ap.body_case = BANCLUSTER__PAYLOAD__BODY_ACK;
	ap.ack = &ack;
	bc_coord_send(c, id, BANCLUSTER__MSG_TYPE__MSG_ACK, &ap);
}

void bc_coord_send_acks(struct bc_coord *c, struct bc_coord_ack *v, size_t n,
			bool ok)
{
	uint32_t keep = c->reply_version;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ok) {
			Bancluster__Payload ap = BANCLUSTER__PAYLOAD__INIT;
			Bancluster__Ack ack = BANCLUSTER__ACK__INIT;

			ack.report_id = v[i].report_id;
			ap.body_case = BANCLUSTER__PAYLOAD__BODY_ACK;
			ap.ack = &ack;
			c->reply_version = v[i].version;
			bc_coord_send(c, &v[i].id, BANCLUSTER__MSG_TYPE__MSG_ACK, &ap);
		}
		zmq_msg_close(&v[i].id);
	}
	c->reply_version = keep;
}

/*
 * Commit the reports of this drain in one transaction, then send their
 * acks; if the commit fails none is acked and the agents resend them
 * (their events were counted once already: a resent report id is acked
 * without counting).
 */
void bc_coord_commit_reports(struct bc_coord *c)
{
	bool ok;

	if (!bc_store_in_batch(c->store))
		return;
	c->batches++;
	ok = bc_store_batch_end(c->store) == 0;
	if (!ok) {
		c->batch_failures++;
		bc_warn("reports: store: %s (%zu reports not acknowledged; the "
			"agents send them again)", bc_store_error(c->store),
			c->nacks);
	}
	/* cluster: acked once the events are in etcd (cluster_events.c),
	 * maybe after this returns */
	if (c->cluster != NULL && bc_cluster_flush_events(c, ok) < 0)
		ok = false;
	bc_coord_send_acks(c, c->acks, c->nacks, ok);
	c->nacks = 0;
}

static void handle_report(struct bc_coord *c, const zmq_msg_t *id,
			  const struct bc_peer *from, struct bc_agent_state *st,
			  const Bancluster__Report *r, const uint8_t *frame,
			  size_t flen)
{
	int64_t now = bc_now_ms(), row;
	size_t i, n = 0;
	uint64_t failed = c->batch_failures;

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
		if (bc_store_batch_begin(c->store) < 0 ||
		    bc_store_report_add(c->store, from->name, BC_CHAN_REPORTS,
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
			pe.host = (uint16_t)bc_coord_peer_index(c, from);
			pe.ref = (uint64_t)row << 16 | i;
			if (pe.kind < BC_POLICY_KINDS)
				c->events_kind[pe.kind]++;
			n++;
			/* cluster: counted by every coordinator from etcd */
			if (c->cluster != NULL)
				bc_cluster_event(c, bc_coord_peer_index(c, from), now,
						 row, r->report_id, &pe);
			else if (bc_policy_event(c->policy, &pe, now, &hit) ==
				 BC_POLICY_BAN)
				bc_coord_rule_ban(c, &hit);
		}
		if (c->cluster != NULL)
			bc_cluster_report(c, bc_coord_peer_index(c, from),
					  st->last_report, r->report_id);
		st->last_report = r->report_id;
		st->events += n;
		c->reports++;
		c->events += n;
	} else if (bc_cluster_unlanded(c, bc_coord_peer_index(c, from),
				       r->report_id)) {
		return; /* counted, its events not yet in etcd: the agent resends */
	}
ack:
	/* a rule ban committed the batch holding this report: if that
	 * commit failed, the report is not stored and gets no ack */
	if (c->batch_failures == failed)
		ack_report(c, id, r->report_id);
}

static void open_frame(struct bc_coord *c, const zmq_msg_t *id,
		       const uint8_t *buf, size_t len, int preverified,
		       ProtobufCAllocator *alloc)
{
	const uint32_t allowed = (1u << BANCLUSTER__MSG_TYPE__MSG_REPORT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS);
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	struct bc_wire_seen seen;
	enum bc_reject r;
	struct bc_agent_state *st;
	int64_t prev;

	/* each key may only sign its role's types (set at load) */
	r = bc_wire_open_pre(&c->ring, buf, len, BC_WIRE_MAX_FRAME, allowed,
			     BC_CHAN_ROUTER, c->cfg.cluster, bc_now_ms(),
			     preverified, alloc, &p, &from, &seen);
	if (r == BC_REJ_VERSION) {
		reject_version(c, buf, len);
		return;
	}
	if (r != BC_REJ_OK) {
		reject_seen(c, r, &seen);
		if (r == BC_REJ_SENDER)
			answer_wrong_sender(c, id, &seen);
		return;
	}
	st = &c->peer_state[bc_coord_peer_index(c, from)];
	/* answer in the version the request came in: its sender opens it */
	c->reply_version = from->wire_version;
	st->wire = from->wire_version;
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
		note_versions(st, from, p->heartbeat);
		bc_coord_local_heartbeat(c, bc_coord_peer_index(c, from), id,
					 p->heartbeat);
		break;
	case BANCLUSTER__PAYLOAD__BODY_LOCAL_BANS:
		bc_coord_local_bans(c, bc_coord_peer_index(c, from), id,
				    p->local_bans);
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
		/* an admin's change commits on its own, after the reports */
		bc_coord_commit_reports(c);
		c->reply_version = from->wire_version;
		/* an admin command is state-changing: keep its counter durable
		 * (first: enrolment replaces the ring that from points into) */
		bc_coord_save_counter(c, bc_coord_peer_index(c, from));
		bc_coord_admin(c, id, from, p->admin_req);
		break;
	default:
		break;
	}
	bancluster__payload__free_unpacked(p, alloc);
}

/*
 * One frame: unpacked into the bump block (a report's thousands of
 * events are as many messages in protobuf-c: no malloc and free each),
 * taken back once the frame is handled. A frame handled while another
 * is (a nested wait of an admin request) unpacks with malloc: the outer
 * one's payload is still in the block.
 */
static void handle_frame(struct bc_coord *c, const zmq_msg_t *id,
			 const uint8_t *buf, size_t len, int preverified)
{
	bool top = c->frame_depth == 0 && c->bump.buf != NULL;

	c->frame_depth++;
	open_frame(c, id, buf, len, preverified, top ? &c->bump.pa : NULL);
	c->frame_depth--;
	if (top)
		bc_wire_bump_reset(&c->bump);
}

/*
 * The verify pool: the signatures of a pass's frames are checked on two
 * cores, a helper thread taking every other frame while this one takes
 * the rest (bc_wire_preverify reads only the keyring, which nothing
 * changes meanwhile); the frames are then handled one by one in arrival
 * order, so every agent's order and the replay counters stay as they
 * were. Below POOL_MIN frames one thread does it all.
 */
#define POOL_MIN 8

struct pool {
	struct bc_coord *c;
	zmq_msg_t *body;
	int *pre;
	size_t n, first;
};

static void *preverify_every_other(void *arg)
{
	struct pool *w = arg;
	size_t i;

	for (i = w->first; i < w->n; i += 2)
		w->pre[i] = bc_wire_preverify(&w->c->ring,
					      zmq_msg_data(&w->body[i]),
					      zmq_msg_size(&w->body[i]),
					      BC_WIRE_MAX_FRAME);
	return NULL;
}

static void preverify(struct bc_coord *c, zmq_msg_t *body, int *pre, size_t n)
{
	struct pool helper = {c, body, pre, n, 1}, self = {c, body, pre, n, 0};
	pthread_t t;
	bool threaded = n >= POOL_MIN &&
			pthread_create(&t, NULL, preverify_every_other,
				       &helper) == 0;

	if (!threaded) {
		memset(pre, 0, n * sizeof(*pre)); /* verified in the open */
		return;
	}
	preverify_every_other(&self);
	pthread_join(t, NULL);
}

void bc_coord_drain_router(struct bc_coord *c)
{
	zmq_msg_t id[ROUTER_BATCH], body[ROUTER_BATCH]; /* 32 KiB of stack */
	int pre[ROUTER_BATCH];
	size_t n = 0, i;

	/* take what is there: a frame of one part (id, body) each */
	while (n < ROUTER_BATCH) {
		int more;
		size_t ml = sizeof(more);

		zmq_msg_init(&id[n]);
		if (zmq_msg_recv(&id[n], c->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id[n]);
			break;
		}
		zmq_msg_init(&body[n]);
		if (zmq_msg_recv(&body[n], c->router, 0) < 0) {
			zmq_msg_close(&id[n]);
			zmq_msg_close(&body[n]);
			break;
		}
		zmq_getsockopt(c->router, ZMQ_RCVMORE, &more, &ml);
		if (more) { /* a client sent several frames: drop them all */
			while (more) {
				zmq_msg_close(&body[n]);
				zmq_msg_init(&body[n]);
				if (zmq_msg_recv(&body[n], c->router, 0) < 0)
					break;
				zmq_getsockopt(c->router, ZMQ_RCVMORE, &more, &ml);
			}
			reject(c, BC_REJ_ENVELOPE, "multipart message");
		} else if (zmq_msg_size(&id[n]) <= ROUTING_ID_MAX) {
			n++;
			continue;
		}
		zmq_msg_close(&id[n]);
		zmq_msg_close(&body[n]);
	}
	preverify(c, body, pre, n);
	for (i = 0; i < n; i++) {
		handle_frame(c, &id[i], zmq_msg_data(&body[i]),
			     zmq_msg_size(&body[i]), pre[i]);
		zmq_msg_close(&id[i]);
		zmq_msg_close(&body[i]);
	}
	bc_coord_commit_reports(c); /* ROUTER_BATCH <= BC_COORD_ACKS: every ack fits */
}

/* ZAP (RFC 27): admit only CURVE keys of pinned agents and admins. */
void bc_coord_zap(struct bc_coord *c)
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
	if (peer == NULL) {
		char ck[BC_KEY_CURVE_HEX_LEN] = "";

		if (n >= 7 && zmq_msg_size(&f[6]) == 32)
			bc_key_fingerprint_curve(zmq_msg_data(&f[6]), ck);
		c->rejected[BC_REJ_SIGNER]++;
		if (c->log_budget > 0) {
			c->log_budget--;
			bc_warn("rejected connection: %s: CURVE key %s is not in "
				"agents_dir or admins_dir (total %" PRIu64 ")",
				bc_wire_reject_name(BC_REJ_SIGNER),
				ck[0] ? ck : "(none: not a CURVE handshake)",
				c->rejected[BC_REJ_SIGNER]);
		}
	}
	for (i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

struct recount_ctx {
	struct bc_coord *c;
	struct bc_banmap decided; /* key -> last decision time (expires_ms) */
	size_t events;
};

static void recount_decided(const char *addr, int64_t time_ms, void *arg)
{
	struct recount_ctx *r = arg;
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
static void recount_report(int64_t row, const char *sender, int64_t recv_ms,
			  const uint8_t *frame, size_t len, void *arg)
{
	struct recount_ctx *r = arg;
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
		pe.host = peer ? (uint16_t)bc_coord_peer_index(c, peer) : UINT16_MAX;
		pe.ref = (uint64_t)row << 16 | i;
		r->events++;
		if (bc_policy_event(c->policy, &pe, bc_now_ms(), &hit) == BC_POLICY_BAN)
			bc_coord_rule_ban(c, &hit);
	}
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);
	if (env != NULL)
		bancluster__envelope__free_unpacked(env, NULL);
}

int bc_coord_recount(struct bc_coord *c)
{
	struct recount_ctx rc = {c, {0}, 0};
	int64_t since = bc_now_ms() - c->cfg.findtime * 1000;
	int rv = 0;

	if (bc_store_decided_since(c->store, since, recount_decided, &rc) < 0 ||
	    bc_store_reports_each(c->store, since, recount_report, &rc) < 0)
		rv = -1;
	else if (rc.events > 0)
		bc_info("counted again %zu events of the last %llds",
			rc.events, (long long)c->cfg.findtime);
	bc_banmap_free(&rc.decided);
	return rv;
}

void bc_coord_load_counters(struct bc_store *s, struct bc_peer *p,
			    struct bc_agent_state *st)
{
	bc_store_counter_get(s, p->name, BC_CHAN_ROUTER,
			     &p->last_counter[BC_CHAN_ROUTER]);
	st->counter_saved = p->last_counter[BC_CHAN_ROUTER];
	bc_store_counter_get(s, p->name, BC_CHAN_REPORTS, &st->last_report);
	bc_store_counter_get(s, p->name, BC_CHAN_REPORTS + 1, &st->events);
}

int bc_coord_save_counter(struct bc_coord *c, size_t i)
{
	const struct bc_peer *pe = &c->ring.v[i];
	struct bc_agent_state *st = &c->peer_state[i];
	uint64_t v = pe->last_counter[BC_CHAN_ROUTER];

	if (bc_store_counter_try(c->store, pe->name, BC_CHAN_ROUTER, v) != 0) {
		/* not saved: counter_saved stays behind, the next tick retries */
		c->counter_save_failures++;
		if (!st->counter_failing)
			bc_warn("replay counter of %s not saved, retried every "
				"second: store: %s", pe->name,
				bc_store_error(c->store));
		st->counter_failing = true;
		return -1;
	}
	if (st->counter_failing)
		bc_info("replay counter of %s saved again", pe->name);
	st->counter_failing = false;
	st->counter_saved = v;
	return 0;
}
