/*
 * follow.c - the signer follows the coordinator (follow.h): it mirrors
 * the coordinator's bans into the kernel's fleet sets after the ZeroMQ
 * Guide's Clone pattern, and checks the kernel against the mirror.
 *
 * SUB is connected first, then a snapshot is requested on the DEALER
 * with a fresh nonce; updates wait in the SUB queue until the snapshot
 * is applied (one atomic replace), then only updates with the next
 * sequence of the same epoch are applied, a burst per transaction. A
 * gap, a new epoch or a coordinator silent for BC_AGENT_COORD_TTL_MS
 * starts a resync; meanwhile the kernel keeps every ban and expires
 * each on time by its element timeout.
 *
 * Several coordinators (a cluster, [agent] updates a list): each
 * publishes the identical stream (one epoch, one seq), so the SUB hears
 * every Update once per coordinator. An Update whose seq is already
 * applied is another's copy: skipped, counted in `duplicates` only; a
 * hugz below the applied seq is a coordinator a little behind; silence
 * means no coordinator was heard. A snapshot comes from whichever
 * coordinator the DEALER gave the request to; if that one dies, the
 * request is repeated after BC_AGENT_SYNC_RETRY_MS and reaches another.
 *
 * Wire versions: the agent states its range in every heartbeat and
 * seals with the highest version the coordinator's hugz says it speaks
 * (BC_WIRE_VERSION_MIN before the first hugz).
 *
 * Untrusted: every frame on SUB and DEALER. Each is verified against the
 * pinned coordinator key (proto/wire.h) before anything else looks at
 * it; a rejected one is counted and logged within the log budget, and
 * changes nothing. A fleet ban that overlaps [local] allow is refused.
 * The coordinator's allow list (bancluster allow) arrives in the same
 * stream, in snapshot part 0 and as sequenced Updates carrying an Allow;
 * it is kept in fleet_allow for the local policy (events.c).
 * The kernel is reached only through the firewall process (s->fwr); a
 * failed transaction starts a resync, never a crash.
 */
#include "agent/follow.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "agent/events.h"
#include "agent/fleetcheck.h"
#include "agent/localsync.h"
#include "agent/metrics.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/wire_zmq.h"
#include "common/version.h"

/* Count and log a rejected frame; an unsupported version names itself. */
static void reject(struct bc_agent_signer *a, enum bc_reject r, const char *where,
		   zmq_msg_t *m)
{
	a->rejected[r]++;
	if (a->log_budget <= 0)
		return;
	a->log_budget--;
	if (r == BC_REJ_VERSION)
		bc_warn("rejected message on %s: %s: wire %" PRIu32
			", this agent speaks %d..%d (total %" PRIu64 ")", where,
			bc_wire_reject_name(r),
			bc_wire_peek_version(zmq_msg_data(m), zmq_msg_size(m)),
			BC_WIRE_VERSION_MIN, BC_WIRE_VERSION, a->rejected[r]);
	else
		bc_warn("rejected message on %s: %s (total %" PRIu64 ")", where,
			bc_wire_reject_name(r), a->rejected[r]);
}

/*
 * The lowest version every coordinator heard lately opens (the highest
 * each speaks with this agent, and the lowest of those), or 0 if none
 * stated a range in common.
 */
static uint32_t common_of_all(const struct bc_agent_signer *a)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < a->ncoord_wire; i++) {
		uint32_t c = bc_wire_common_version(a->coord_wire[i].min,
						    a->coord_wire[i].max);

		if (c != 0 && (v == 0 || c < v))
			v = c;
	}
	return v;
}

/*
 * The coordinator states its wire range in every hugz (none: it is of
 * wire 1). The agent seals with the highest version both speak; until it
 * has heard a hugz, with BC_WIRE_VERSION_MIN, which every coordinator
 * of this and the previous release opens. Logged when it changes.
 * Several coordinators (a cluster in a rolling upgrade) may state
 * different ranges, and the DEALER hands a message to any of them: the
 * agent keeps each distinct range heard in the last
 * BC_AGENT_WIRE_FORGET_MS and seals with the lowest version they all
 * open. A range is logged when first heard, the version when it changes.
 * With one updates endpoint, a new range replaces the one known at once
 * (the coordinator was replaced), as before lists.
 */
static void learn_versions(struct bc_agent_signer *a, const Bancluster__Hugz *h)
{
	int64_t now = bc_mono_ms();
	struct bc_agent_wire *w = NULL;
	uint32_t v, mine;
	size_t i;

	for (i = 0; i < a->ncoord_wire;) {
		/* one publisher: its last hugz is the coordinator's range */
		if (now - a->coord_wire[i].heard_ms > BC_AGENT_WIRE_FORGET_MS ||
		    (a->nupd_ep <= 1 &&
		     (a->coord_wire[i].min != h->wire_min ||
		      a->coord_wire[i].max != h->wire_max ||
		      strcmp(a->coord_wire[i].software, h->software) != 0)))
			a->coord_wire[i] = a->coord_wire[--a->ncoord_wire];
		else
			i++;
	}
	for (i = 0; i < a->ncoord_wire && w == NULL; i++)
		if (a->coord_wire[i].min == h->wire_min &&
		    a->coord_wire[i].max == h->wire_max &&
		    strcmp(a->coord_wire[i].software, h->software) == 0)
			w = &a->coord_wire[i];
	if (w != NULL) {
		w->heard_ms = now;
		v = common_of_all(a);
		if (v != 0 && v != a->send_version) {
			bc_info("coordinators heard in the last %d s speak wire %" PRIu32
				" in common: sending wire %" PRIu32,
				BC_AGENT_WIRE_FORGET_MS / 1000, v, v);
			a->send_version = v;
		}
		return;
	}
	if (a->ncoord_wire == BC_CFG_ENDPOINTS_MAX) { /* replace the oldest */
		size_t o = 0;

		for (i = 1; i < a->ncoord_wire; i++)
			if (a->coord_wire[i].heard_ms < a->coord_wire[o].heard_ms)
				o = i;
		a->coord_wire[o] = a->coord_wire[--a->ncoord_wire];
	}
	w = &a->coord_wire[a->ncoord_wire++];
	w->min = h->wire_min;
	w->max = h->wire_max;
	snprintf(w->software, sizeof(w->software), "%s", h->software);
	w->heard_ms = now;
	mine = bc_wire_common_version(h->wire_min, h->wire_max);
	v = common_of_all(a);
	if (h->wire_max == 0)
		bc_info("coordinator states no version: it speaks wire 1 only "
			"(an older release), this agent %d..%d: sending wire %" PRIu32,
			BC_WIRE_VERSION_MIN, BC_WIRE_VERSION, v);
	else if (mine == 0)
		bc_warn("coordinator %s speaks wire %" PRIu32 "..%" PRIu32
			", this agent %d..%d: no version in common; "
			"upgrade this agent (docs/upgrade.md)",
			h->software[0] ? h->software : "unknown", h->wire_min,
			h->wire_max, BC_WIRE_VERSION_MIN, BC_WIRE_VERSION);
	else
		bc_info("coordinator %s speaks wire %" PRIu32 "..%" PRIu32
			", this agent %d..%d: sending wire %" PRIu32,
			h->software[0] ? h->software : "unknown", h->wire_min,
			h->wire_max, BC_WIRE_VERSION_MIN, BC_WIRE_VERSION, v);
	if (v != 0)
		a->send_version = v;
}

/*
 * bc_wire_open for a frame of the coordinator's on SUB or DEALER. The
 * coordinators of a cluster share one key and one sender name, and each
 * numbers its frames with its own counter: when the agent follows
 * several on a channel, their counters interleave, and the replay guard
 * (a counter above the last one seen) would refuse every frame of the
 * coordinator that is behind, duplicates and acks alike. On such a
 * channel the guard is left out (the last counter is cleared before
 * each open). What it guarded stays guarded: an Update applies only as
 * the next seq of its epoch, a snapshot only as the answer to the
 * request's nonce, an ack only for the report in flight, a lift only
 * for the exact ban; the send time must lie within BC_WIRE_SKEW_MS; and
 * only a holder of the coordinator's secret key can put a frame on the
 * CurveZMQ connection at all.
 */
static enum bc_reject coord_open(struct bc_agent_signer *a, zmq_msg_t *m,
				 uint32_t allowed, enum bc_chan chan,
				 Bancluster__Payload **p)
{
	struct bc_peer *from;
	size_t n = chan == BC_CHAN_SUB ? a->nupd_ep : a->ncoord_ep;

	if (n > 1)
		a->coord.v[0].last_counter[chan] = 0;
	return bc_wire_open(&a->coord, zmq_msg_data(m), zmq_msg_size(m),
			    BC_WIRE_MAX_FRAME, allowed, chan, a->cfg.cluster,
			    bc_now_ms(), p, &from);
}

/*
 * A copy of an Update applied already (this epoch, a seq not above the
 * applied one): following n coordinators, n - 1 of every n Updates. It
 * is told from the frame before the signature check (an Ed25519 verify
 * each, most of a following agent's CPU in a burst) and dropped, which
 * is what opening it would end in; a frame that only claims to be one
 * (it could come only from a holder of the coordinator's CurveZMQ key)
 * is dropped alike and changes nothing. Everything else is opened.
 */
static bool applied_copy(const struct bc_agent_signer *a, zmq_msg_t *m)
{
	uint64_t epoch, seq;

	return a->nupd_ep > 1 && a->epoch != 0 &&
	       bc_wire_peek_update(zmq_msg_data(m), zmq_msg_size(m), &epoch, &seq) &&
	       epoch == a->epoch && seq <= a->seq;
}

static int send_to(struct bc_agent_signer *a, size_t k,
		   Bancluster__MsgType type, Bancluster__Payload *p)
{
	int rc = bc_wire_send(&a->signer, a->send_version, a->dealer[k], NULL,
			      type, p, ZMQ_DONTWAIT);

	if (rc == BC_WIRE_SEND_SIGN)
		bc_warn("cannot sign message");
	return rc;
}

/*
 * Reports and snapshot requests go to one coordinator, cur_ep, while it
 * answers (ZMQ_IMMEDIATE: a send fails at once while its connection is
 * down, and the next endpoint of the list is tried). One DEALER per
 * endpoint rather than one DEALER dealing round-robin: a coordinator
 * that keeps its connection but answers nothing (its loop stuck, or
 * cut from etcd's majority) would otherwise get a share of every
 * resend for as long as it stays connected; here it loses cur_ep at
 * the first ack timeout and gets nothing more until the others fail.
 */
int bc_follow_send(struct bc_agent_signer *a, Bancluster__MsgType type,
		   Bancluster__Payload *p, int *to)
{
	size_t j, k;

	for (j = 0; j < a->ncoord_ep; j++) {
		int rc;

		k = (a->cur_ep + j) % a->ncoord_ep;
		rc = send_to(a, k, type, p);
		if (rc == BC_WIRE_SEND_SIGN)
			return -1;
		if (rc == 0) { /* those before it are not connected */
			a->cur_ep = k;
			if (to != NULL)
				*to = (int)k;
			return 0;
		}
	}
	return -1;
}

int bc_follow_send_all(struct bc_agent_signer *a, Bancluster__MsgType type,
		       Bancluster__Payload *p)
{
	size_t k;
	int any = -1;

	for (k = 0; k < a->ncoord_ep; k++) {
		int rc = send_to(a, k, type, p);

		if (rc == BC_WIRE_SEND_SIGN)
			return -1;
		if (rc == 0)
			any = 0;
	}
	return any;
}

void bc_follow_unanswered(struct bc_agent_signer *a, int k)
{
	if (a->ncoord_ep < 2 || k < 0 || (size_t)k != a->cur_ep)
		return;
	a->cur_ep = (a->cur_ep + 1) % a->ncoord_ep;
	a->coord_switches++;
}

void bc_follow_resync(struct bc_agent_signer *a, const char *why)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__SnapshotReq r = BANCLUSTER__SNAPSHOT_REQ__INIT;

	/* a resync starts when the agent stops trusting its fleet state (or
	 * at start); requests repeated while syncing are attempts of it */
	if (a->state == BC_AGENT_ACTIVE || a->snap_requests == 0) {
		bc_info("resync: %s", why);
		a->resyncs++;
	}
	/* the last request got no snapshot: ask the next coordinator */
	if (a->state == BC_AGENT_SYNCING && a->request_sent)
		bc_follow_unanswered(a, a->request_ep);
	a->request_ep = -1;
	a->state = BC_AGENT_SYNCING;
	bc_fleetcheck_abort(&a->check); /* the snapshot rewrites the sets */
	a->snap_requests++;
	randombytes_buf(a->nonce, sizeof(a->nonce));
	a->next_part = 0;
	bc_banmap_clear(&a->pending);
	bc_allowlist_clear(&a->pending_allow);
	a->sync_started_ms = bc_mono_ms();
	r.nonce.data = a->nonce;
	r.nonce.len = sizeof(a->nonce);
	p.body_case = BANCLUSTER__PAYLOAD__BODY_SNAPSHOT_REQ;
	p.snapshot_req = &r;
	/* ZMQ_IMMEDIATE: fails while not connected; timers() in main.c
	 * asks again */
	a->request_sent = bc_follow_send(a, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ,
					 &p, &a->request_ep) == 0;
	if (!a->request_sent)
		a->snap_request_failures++;
}

void bc_follow_heartbeat(struct bc_agent_signer *a)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Heartbeat h = BANCLUSTER__HEARTBEAT__INIT;

	h.epoch = a->epoch;
	h.seq = a->seq;
	h.fleet_count = a->fleet.n;
	h.hash_valid = a->hash_valid;
	h.fleet_hash.data = a->kernel_hash;
	h.fleet_hash.len = a->hash_valid ? sizeof(a->kernel_hash) : 0;
	h.hash_cutoff_ms = a->hash_cutoff_ms;
	h.hash_seq = a->hash_seq;
	h.kernel_count = a->kernel_count;
	h.repairs = a->repairs;
	h.spooled = a->spool.n;
	h.local_count = a->local.n;
	h.local_gen = a->local_gen;
	h.wire_min = BC_WIRE_VERSION_MIN;
	h.wire_max = BC_WIRE_VERSION;
	h.software = (char *)bc_version_wire();
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HEARTBEAT;
	p.heartbeat = &h;
	bc_follow_send_all(a, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, &p);
}

/* ", N entries in the coordinator's allow list" for the snapshot's line */
static const char *allow_note(const struct bc_agent_signer *a)
{
	static char buf[64];

	if (a->fleet_allow.n == 0)
		return "";
	snprintf(buf, sizeof(buf), ", %zu entr%s in the coordinator's allow list",
		 a->fleet_allow.n, a->fleet_allow.n == 1 ? "y" : "ies");
	return buf;
}

/* An Allow of the Clone stream (range-checked by proto/wire.c) in
 * memory: prefix and expiry, no text. */
static void wire_allow(const Bancluster__Allow *pa, struct bc_allow *e)
{

	memset(e, 0, sizeof(*e));
	bc_wire_addr(pa->family, &pa->addr, pa->plen, &e->addr);
	e->expires_ms = pa->expires_ms;
	e->created_ms = pa->created_ms;
}

/*
 * A change of the coordinator's allow list (bancluster allow): kept for
 * the local policy (events.c), no kernel change. Fleet bans are left as
 * the coordinator publishes them: it checked them against this list.
 */
static void apply_allow(struct bc_agent_signer *a, const Bancluster__Update *u)
{
	struct bc_allow e;
	char as[BC_ADDR_STRLEN];

	wire_allow(u->allow, &e);
	bc_addr_format(&e.addr, as, sizeof(as));
	if (u->remove) {
		bc_allowlist_del(&a->fleet_allow, &e.addr);
		bc_info("allow entry %s removed by the coordinator (seq %" PRIu64 ")",
			as, u->seq);
	} else if (bc_allowlist_put(&a->fleet_allow, &e) < 0) {
		bc_warn("allow entry %s: allow list full", as);
	} else {
		bc_info("allow entry %s from the coordinator (seq %" PRIu64 "): "
			"no local ban inside it", as, u->seq);
	}
}

static void apply_snapshot(struct bc_agent_signer *a)
{
	struct bc_interval_ops ops = {0};
	char err[256] = "out of memory"; /* interval.c fails on that alone */
	int64_t t0 = bc_mono_ms(), t1 = 0;
	int rc = bc_interval_all(&a->pending, bc_now_ms(), BC_FW_FLEET, &ops);

	if (rc == 0) {
		t1 = bc_mono_ms();
		rc = bc_fwr_replace(&a->fwr, BC_FW_FLEET, ops.v, ops.n, err,
				    sizeof(err));
	}
	if (rc < 0) {
		bc_warn("snapshot apply failed: %s; retrying", err);
		bc_interval_ops_free(&ops);
		bc_follow_resync(a, "apply failed");
		return;
	}
	/* the pending map becomes the applied one */
	bc_banmap_free(&a->fleet);
	a->fleet = a->pending;
	memset(&a->pending, 0, sizeof(a->pending));
	bc_allowlist_free(&a->fleet_allow);
	a->fleet_allow = a->pending_allow;
	memset(&a->pending_allow, 0, sizeof(a->pending_allow));
	a->epoch = a->snap_epoch;
	a->seq = a->snap_seq;
	a->coord_seq = a->seq;
	a->state = BC_AGENT_ACTIVE;
	a->last_heard_ms = bc_mono_ms();
	bc_info("snapshot applied: %zu bans as %zu elements at epoch %" PRIu64
		" seq %" PRIu64 " in %" PRId64 " ms (kernel transaction %" PRId64 " ms)%s",
		a->fleet.n, ops.n, a->epoch, a->seq, bc_mono_ms() - t0,
		bc_mono_ms() - t1, allow_note(a));
	bc_interval_ops_free(&ops);
}

/*
 * The agent's own [local] allow list outranks the coordinator: a fleet ban
 * that would cover an allowed address (the MX's admin network) is not
 * installed, so a compromised coordinator cannot cut the MX off.
 */
static bool refused_by_allow(struct bc_agent_signer *a, const struct bc_ban *b)
{
	char as[BC_ADDR_STRLEN];

	if (!bc_addr_list_overlaps(&a->cfg.local_allow, &b->addr))
		return false;
	a->refused++;
	if (a->log_budget > 0) {
		a->log_budget--;
		bc_warn("fleet ban of %s not installed: it overlaps [local] allow",
			bc_addr_format(&b->addr, as, sizeof(as)));
	}
	return true;
}

static void on_snapshot(struct bc_agent_signer *a, const Bancluster__Snapshot *s)
{
	size_t i;

	if (a->state != BC_AGENT_SYNCING ||
	    s->nonce.len != sizeof(a->nonce) ||
	    sodium_memcmp(s->nonce.data, a->nonce, sizeof(a->nonce)) != 0)
		return; /* an answer to an older request */
	if (s->part != a->next_part ||
	    (s->part > 0 && (s->epoch != a->snap_epoch || s->seq != a->snap_seq))) {
		bc_follow_resync(a, "snapshot parts out of order");
		return;
	}
	a->snap_epoch = s->epoch;
	a->snap_seq = s->seq;
	a->next_part++;
	for (i = 0; i < s->n_allows; i++) {
		struct bc_allow e;

		wire_allow(s->allows[i], &e);
		if (bc_allowlist_put(&a->pending_allow, &e) < 0)
			break; /* range-checked: at most BC_ALLOW_MAX */
	}
	for (i = 0; i < s->n_bans; i++) {
		struct bc_ban b;

		memset(&b, 0, sizeof(b));
		bc_wire_ban_addr(s->bans[i], &b.addr);
		b.expires_ms = s->bans[i]->expires_ms;
		b.created_ms = s->bans[i]->created_ms;
		if (refused_by_allow(a, &b))
			continue;
		if (bc_banmap_put(&a->pending, &b) < 0) {
			bc_warn("snapshot: ban table full");
			break;
		}
	}
	if (s->last)
		apply_snapshot(a);
}

static void dealer_read(struct bc_agent_signer *a, size_t k)
{
	int i;

	for (i = 0; i < 64; i++) {
		Bancluster__Payload *p;
		enum bc_reject r;
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->dealer[k], ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		r = coord_open(a, &m,
			       (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT) |
				       (1u << BANCLUSTER__MSG_TYPE__MSG_ACK) |
				       (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_LIFT),
			       BC_CHAN_DEALER, &p);
		if (r != BC_REJ_OK) {
			reject(a, r, "dealer", &m);
			zmq_msg_close(&m);
			continue;
		}
		zmq_msg_close(&m);
		/* it answers: reports and requests go on going to it */
		if (p->body_case == BANCLUSTER__PAYLOAD__BODY_SNAPSHOT ||
		    p->body_case == BANCLUSTER__PAYLOAD__BODY_ACK)
			a->cur_ep = k;
		if (p->body_case == BANCLUSTER__PAYLOAD__BODY_SNAPSHOT) {
			a->snap_ep = (int)k;
			on_snapshot(a, p->snapshot);
		} else if (p->body_case == BANCLUSTER__PAYLOAD__BODY_ACK) {
			bc_events_ack(a, p->ack->report_id);
		} else if (p->body_case == BANCLUSTER__PAYLOAD__BODY_LOCAL_LIFT) {
			bc_localsync_lift(a, p->local_lift);
		}
		bancluster__payload__free_unpacked(p, NULL);
	}
}

void bc_follow_dealer(struct bc_agent_signer *a)
{
	size_t k;

	for (k = 0; k < a->ncoord_ep; k++)
		dealer_read(a, k);
}

void bc_follow_dealer_wait(struct bc_agent_signer *a, int ms)
{
	zmq_pollitem_t it[BC_CFG_ENDPOINTS_MAX];
	size_t k;

	memset(it, 0, sizeof(it));
	for (k = 0; k < a->ncoord_ep; k++) {
		it[k].socket = a->dealer[k];
		it[k].events = ZMQ_POLLIN;
	}
	if (zmq_poll(it, (int)a->ncoord_ep, ms) > 0)
		bc_follow_dealer(a);
}

/* Apply a burst of updates from SUB in one firewall transaction. */
void bc_follow_updates(struct bc_agent_signer *a)
{
	struct bc_interval_ops ops = {0};
	char err[256];
	int n = 0, resync = 0;
	const char *why = "";

	while (n < BC_AGENT_UPDATE_BURST && !resync) {
		Bancluster__Payload *p;
		enum bc_reject r;
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		if (applied_copy(a, &m)) {
			a->duplicates++;
			zmq_msg_close(&m);
			continue;
		}
		r = coord_open(a, &m,
			       (1u << BANCLUSTER__MSG_TYPE__MSG_UPDATE) |
				       (1u << BANCLUSTER__MSG_TYPE__MSG_HUGZ),
			       BC_CHAN_SUB, &p);
		if (r != BC_REJ_OK) {
			reject(a, r, "updates", &m);
			zmq_msg_close(&m);
			continue;
		}
		zmq_msg_close(&m);
		a->last_heard_ms = bc_mono_ms();
		if (p->body_case == BANCLUSTER__PAYLOAD__BODY_HUGZ) {
			learn_versions(a, p->hugz);
			if (p->hugz->epoch == a->epoch &&
			    p->hugz->seq > a->coord_seq)
				a->coord_seq = p->hugz->seq;
			/* a seq below the applied one: a coordinator a few
			 * ms behind another, nothing missed */
			if (p->hugz->epoch != a->epoch) {
				resync = 2;
				why = "coordinator restarted (new epoch)";
			} else if (p->hugz->seq > a->seq) {
				resync = 1;
				why = "missed updates";
			}
		} else {
			const Bancluster__Update *u = p->update;
			struct bc_ban b;

			if (u->epoch != a->epoch) {
				resync = 2;
				why = "coordinator restarted (new epoch)";
			} else if (u->seq > a->seq + 1) {
				resync = 1;
				why = "gap in update sequence";
			} else if (u->seq == a->seq + 1 && u->allow != NULL) {
				apply_allow(a, u);
				a->seq = u->seq;
			} else if (u->seq == a->seq + 1) {
				memset(&b, 0, sizeof(b));
				bc_wire_ban_addr(u->ban, &b.addr);
				b.expires_ms = u->ban->expires_ms;
				b.created_ms = u->ban->created_ms;
				if (!u->remove && refused_by_allow(a, &b)) {
					a->seq = u->seq; /* applied: as a no-op */
				} else if (bc_interval_change(&a->fleet, &b, u->remove,
						     bc_now_ms(), BC_FW_FLEET,
						     &ops) < 0) {
					resync = 1;
					why = "out of memory";
				} else {
					a->seq = u->seq;
					a->updates_applied++;
					n++;
				}
			} else {
				/* already applied: in the snapshot, or another
				 * coordinator's copy of the same decision */
				a->duplicates++;
			}
		}
		bancluster__payload__free_unpacked(p, NULL);
	}
	if (ops.n > 0) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (bc_fwr_apply(&a->fwr, ops.v, ops.n, err, sizeof(err)) < 0) {
			bc_warn("firewall update failed: %s", err);
			resync = 1;
			why = "firewall update failed";
		} else {
			bc_fleetcheck_touch(&a->check, ops.v, ops.n);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* apply latency: one kernel transaction per burst of updates */
		bc_agent_metrics_apply(a, (double)(t1.tv_sec - t0.tv_sec) +
					       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	bc_interval_ops_free(&ops);
	/* the snapshot's coordinator is not of the publishers' epoch (a list
	 * naming a coordinator of another fleet): ask the next one, or
	 * each snapshot would be followed by this resync again */
	if (resync == 2)
		bc_follow_unanswered(a, a->snap_ep);
	if (resync)
		bc_follow_resync(a, why);
}

/*
 * Read the fleet sets back from the kernel, a page a call, and compare
 * them with the applied ban map at the end. Drift seen on two checks in
 * a row (an element deleted or added by hand) is repaired with one
 * atomic replace, and logged.
 */
bool bc_follow_check(struct bc_agent_signer *a)
{
	struct bc_fleethash k;
	int64_t now, cutoff;
	size_t missing, extra;
	char err[256];
	int rc;

	if (a->state != BC_AGENT_ACTIVE) {
		bc_fleetcheck_abort(&a->check);
		a->hash_valid = false;
		return false;
	}
	if (!bc_fleetcheck_running(&a->check))
		bc_fleetcheck_begin(&a->check);
	rc = bc_fleetcheck_step(&a->check, &a->fwr, err, sizeof(err));
	if (rc > 0)
		return true; /* more pages: updates go on in between */
	a->check_busy_ms = a->check.busy_ms;
	now = bc_now_ms();
	cutoff = now + BC_FLEETHASH_MARGIN_MS;
	if (rc < 0 ||
	    bc_fleetcheck_finish(&a->check, &a->fwr, cutoff, &a->fleet, &k,
				 &missing, &extra, err, sizeof(err)) < 0) {
		bc_warn("kernel read-back failed: %s", err);
		a->hash_valid = false;
		return false;
	}
	memcpy(a->kernel_hash, k.hash, sizeof(a->kernel_hash));
	a->hash_cutoff_ms = cutoff;
	a->hash_seq = a->seq;
	a->kernel_count = k.count;
	a->hash_valid = true;
	if (missing == 0 && extra == 0) {
		a->drift_seen = 0;
		return false;
	}
	if (++a->drift_seen < 2)
		return false; /* may be an update in flight: look again */
	bc_warn("kernel fleet sets drifted from the coordinator's bans: "
		"%zu element%s missing, %zu unexpected; repairing",
		missing, missing == 1 ? "" : "s", extra);
	{
		struct bc_interval_ops ops = {0};

		snprintf(err, sizeof(err), "out of memory"); /* interval.c's one failure */
		if (bc_interval_all(&a->fleet, now, BC_FW_FLEET, &ops) < 0 ||
		    bc_fwr_replace(&a->fwr, BC_FW_FLEET, ops.v, ops.n, err,
				  sizeof(err)) < 0) {
			bc_warn("repair failed: %s; resyncing", err);
			bc_follow_resync(a, "repair failed");
		} else {
			a->repairs++;
			a->drift_seen = 0;
			bc_info("repair %" PRIu64 ": fleet sets rewritten (%zu elements)",
				a->repairs, ops.n);
		}
		bc_interval_ops_free(&ops);
	}
	return false;
}
