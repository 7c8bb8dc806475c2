/*
 * cluster_apply.c - the loop applies what the watch thread delivers
 * (cluster.h): decisions (PREFIX/d/...) and changes of the allow list
 * (PREFIX/al/...) in seq order through decide.c and allow.h,
 * event batches (PREFIX/ev/...) into the policy, PREFIX/seq into what the
 * next commit compares against.
 *
 * A change whose revision is not above the last applied one was applied
 * already (a RESET after a compaction lists the whole prefix again): it
 * is skipped, so nothing is counted or published twice. Before the
 * first SYNCED (start-up) decisions rebuild the ban table without a word
 * to the agents, and the local store's bans are made to match etcd's.
 * Records come from etcd, written by coordinators holding the cluster's
 * client certificate; they are still parsed strictly: a malformed one is
 * counted and logged, never applied.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/keys.h"
#include "common/log.h"
#include "coordinator/allow.h"
#include "coordinator/cluster_int.h"
#include "coordinator/decide.h"
#include "coordinator/enrol.h"
#include "coordinator/localbans.h"

/* Drop the flight on a, its evidence moved to *fl (whether there was one). */
static bool take_flight(struct bc_cluster *k, const struct bc_addr *a,
			struct cl_flight *fl)
{
	long i = cl_idx_get(&k->fli, a);

	if (i < 0)
		return false;
	*fl = k->fl[i];
	k->fl[i].ev = NULL; /* moved */
	k->fl[i].evtext = NULL;
	cl_fl_del(k, (size_t)i);
	return true;
}

/* The evidence of a's rule ban in the committer's txn, moved to *fl:
 * its record can come through the watch before the committer's answer. */
static bool take_sending(struct bc_cluster *k, const struct bc_addr *a,
			 struct cl_flight *fl)
{
	long i = cl_idx_get(&k->qi, a);

	if (i < 0 || !k->q[i].sending || !k->q[i].rule)
		return false;
	cl_prop_to_flight(&k->q[i], fl);
	return true;
}

void cl_forget_key(struct bc_cluster *k, const struct bc_addr *a)
{
	long i = cl_idx_get(&k->qi, a);

	if (i >= 0)
		cl_q_del(k, (size_t)i);
}

static void apply_decision(struct bc_cluster *k, const uint8_t *val,
			   size_t vlen, const char *key)
{
	struct bc_coord *c = k->c;
	struct cl_rec r;
	struct cl_flight fl;
	struct bc_coord_seq q;
	char err[256];
	bool has_fl;

	if (cl_rec_parse(val, vlen, &r, err, sizeof(err)) < 0) {
		k->bad_records++;
		bc_warn("cluster: %s: malformed decision: %s (skipped)", key, err);
		return;
	}
	if (k->synced && r.seq != c->seq + 1 && r.seq > c->seq)
		bc_warn("cluster: decision seq %" PRIu64 " after %" PRIu64
			" (agents resynchronise)", r.seq, c->seq);
	if (k->synced && r.seq <= c->seq) {
		k->bad_records++; /* out of order: a writer did not take seq */
		bc_warn("cluster: %s: seq %" PRIu64 " not after %" PRIu64
			" (skipped)", key, r.seq, c->seq);
		return;
	}
	q.seq = r.seq;
	q.publish = k->synced;
	q.mine = k->synced && strcmp(r.node, k->node) == 0;
	q.committed = true;
	has_fl = take_flight(k, &r.sb.ban.addr, &fl) ||
		 (r.rule && strcmp(r.node, k->node) == 0 &&
		  take_sending(k, &r.sb.ban.addr, &fl));
	cl_forget_key(k, &r.sb.ban.addr);
	if (cl_live_action(r.action)) {
		long j = k->synced ? -1
			 : bc_banmap_find(&k->reset_bans, &r.sb.ban.addr);

		/* start-up: a ban the local store holds already as it is */
		if (j >= 0 && k->reset_bans.v[j].created_ms == r.sb.ban.created_ms &&
		    k->reset_bans.v[j].expires_ms == r.sb.ban.expires_ms) {
			bc_banmap_put(&c->bans, &r.sb.ban);
		} else if (bc_coord_apply_ban(c, &r.sb, r.action, r.signer, r.rule,
					      has_fl ? fl.ev : NULL,
					      has_fl ? fl.nev : 0, &q, err,
					      sizeof(err)) < 0) {
			bc_warn("cluster: %s: %s", key, err);
			if (q.publish && r.seq > c->seq)
				c->seq = r.seq; /* agents see the gap, resync */
		} else if (r.rule && k->synced) {
			/* every coordinator: the leader commits, the others keep
			 * it pending in case the leader dies first */
			bc_coord_escalate(c, &r.sb.ban.addr);
		}
	} else if (bc_banmap_find(&c->bans, &r.sb.ban.addr) >= 0) {
		if (bc_coord_apply_unban(c, &r.sb.ban.addr, r.action, r.signer, &q,
					 err, sizeof(err)) < 0)
			bc_warn("cluster: %s: %s", key, err);
	} else {
		/* a removal of a ban this coordinator never had (it was
		 * applied before a reset): only the sequence moves, and an
		 * agent that sees the gap resynchronises */
		bc_policy_forget(c->policy, &r.sb.ban.addr);
		if (q.publish)
			c->seq = r.seq;
	}
	if (!k->synced && r.seq > c->seq)
		c->seq = r.seq;
	if (has_fl)
		cl_flight_free(&fl);
	k->applied++;
}


/* The store's allow list entry that is the same as e (start-up: applied
 * in memory only, the store holds it already). */
static bool allow_kept(const struct bc_cluster *k, const struct bc_allow *e)
{
	long j = bc_allowlist_find(&k->reset_allows, &e->addr);

	return j >= 0 && k->reset_allows.v[j].created_ms == e->created_ms &&
	       k->reset_allows.v[j].expires_ms == e->expires_ms &&
	       strcmp(k->reset_allows.v[j].comment, e->comment) == 0 &&
	       strcmp(k->reset_allows.v[j].by, e->by) == 0;
}

/*
 * PREFIX/al/ADDR/PLEN: a change of `bancluster allow` made through any
 * coordinator (bc_cluster_allow) or the leader's expiry: store (a
 * mirror: a failure is logged, etcd holds it), list, then, once synced,
 * the sequenced Update every coordinator publishes alike.
 */
static void apply_allow(struct bc_cluster *k, const uint8_t *val, size_t vlen,
			const char *key)
{
	struct bc_coord *c = k->c;
	struct cl_allow_rec r;
	char err[256], as[BC_ADDR_STRLEN];
	bool add, had;
	int64_t now = bc_now_ms();

	if (cl_allow_parse(val, vlen, &r, err, sizeof(err)) < 0) {
		k->bad_records++;
		bc_warn("cluster: %s: malformed allow list change: %s (skipped)",
			key, err);
		return;
	}
	if (k->synced && r.seq <= c->seq) {
		k->bad_records++;
		bc_warn("cluster: %s: seq %" PRIu64 " not after %" PRIu64
			" (skipped)", key, r.seq, c->seq);
		return;
	}
	bc_addr_format(&r.e.addr, as, sizeof(as));
	add = strcmp(r.action, "allow") == 0;
	had = bc_allowlist_find(&c->allows, &r.e.addr) >= 0;
	if (add) {
		if (!(!k->synced && allow_kept(k, &r.e)) &&
		    bc_store_allow_put(c->store, &r.e, now) < 0)
			bc_warn("cluster: %s: store: %s", key, bc_store_error(c->store));
		if (bc_allowlist_put(&c->allows, &r.e) < 0)
			bc_warn("cluster: %s: the allow list is full (%d entries): "
				"not applied here", key, BC_ALLOW_MAX);
	} else if (had || (!k->synced &&
			   bc_allowlist_find(&k->reset_allows, &r.e.addr) >= 0)) {
		/* start-up: removed while this coordinator was down */
		if (bc_store_allow_del(c->store, &r.e.addr, r.action, r.signer,
				       now) < 0)
			bc_warn("cluster: %s: store: %s", key, bc_store_error(c->store));
		bc_allowlist_del(&c->allows, &r.e.addr);
		bc_allowlist_del(&k->reset_allows, &r.e.addr);
	}
	if (k->synced) {
		/* an absent entry's removal still moves the sequence */
		c->seq = r.seq - 1;
		bc_coord_publish_allow(c, &r.e, !add);
		if (add) {
			char d[32] = "until removed";

			if (r.e.expires_ms != 0) {
				snprintf(d, sizeof(d), "for ");
				int64_t left = (r.e.expires_ms - now + 999) / 1000;

				bc_duration_format(left > 0 ? left : 0, d + 4,
						   sizeof(d) - 4);
			}
			bc_info("allow %s %s by %s seq=%" PRIu64 " node %s", as, d,
				r.signer, c->seq, r.node);
		}
		else
			bc_info("%s %s%s%s seq=%" PRIu64 " node %s", r.action, as,
				r.signer[0] ? " by " : "", r.signer, c->seq, r.node);
	} else if (r.seq > c->seq) {
		c->seq = r.seq;
	}
	k->applied++;
}


/*
 * An agent has one report in flight at a time and its report ids only
 * grow (agent/events.c): an id not above the last one counted from that
 * agent is a resend. The same on every coordinator (the same stream).
 */
static bool report_new(struct bc_cluster *k, const char *agent, uint64_t id)
{
	size_t i;

	for (i = 0; i < k->nseen; i++)
		if (strcmp(k->seen[i].name, agent) == 0) {
			if (id <= k->seen[i].last)
				return false;
			k->seen[i].last = id;
			return true;
		}
	if (k->nseen == k->capseen) {
		size_t cap = k->capseen ? k->capseen * 2 : 16;
		void *nv = realloc(k->seen, cap * sizeof(*k->seen));

		if (nv == NULL)
			return true;
		k->seen = nv;
		k->capseen = cap;
	}
	snprintf(k->seen[k->nseen].name, sizeof(k->seen[0].name), "%s", agent);
	k->seen[k->nseen++].last = id;
	return true;
}

struct evctx {
	struct bc_cluster *k;
	const char *node; /* the writer's: filled before the first report */
};

static void count_report(void *arg, const struct cl_ev_report *r)
{
	struct evctx *x = arg;
	struct bc_coord *c = x->k->c;
	const struct bc_peer *p;
	bool mine = strcmp(x->node, x->k->node) == 0;
	size_t pos;
	uint32_t i;

	/* a report resent to another coordinator (its ack was lost with the
	 * first) is in etcd twice: counted once */
	if (!report_new(x->k, r->agent, r->report_id)) {
		x->k->dup_reports++;
		return;
	}
	p = bc_keyring_find_name(&c->ring, r->agent);
	for (i = 0, pos = 0; i < r->n; i++) {
		struct bc_policy_event pe;
		struct bc_policy_hit hit;
		int got = cl_ev_next(r, &pos, &pe);

		if (got == 0)
			break;
		if (got < 0)
			continue;
		pe.host = p != NULL ? (uint16_t)bc_coord_peer_index(c, p) : UINT16_MAX;
		pe.ref = mine && r->row > 0 ? (uint64_t)r->row << 16 | i : 0;
		if (bc_policy_event(c->policy, &pe, r->recv_ms, &hit) == BC_POLICY_BAN)
			bc_coord_rule_ban(c, &hit);
	}
}

/* One event batch (cluster_write.c writes it): counted in the policy. */
static void apply_events(struct bc_cluster *k, const uint8_t *v, size_t len,
			 const char *key)
{
	char node[CL_NAME_MAX];
	struct evctx x = {k, node};

	/* all or nothing: checked whole before the first report is counted */
	if (cl_ev_parse(v, len, node, count_report, &x) < 0) {
		k->bad_records++;
		bc_warn("cluster: %s: malformed event batch (skipped)", key);
	}
}

/* PREFIX/off/ADDR/PLEN {"t":[...]}: the key's offence history, merged
 * into the local store (escalation reads it there) */
static void apply_offences(struct bc_cluster *k, const char *addr,
			   const uint8_t *v, size_t len, const char *key)
{
	int64_t t[CL_OFFENCES_MAX];
	struct bc_addr a;
	json_error_t je;
	json_t *o = json_loadb((const char *)v, len, JSON_REJECT_DUPLICATES, &je);
	json_t *arr = json_object_get(o, "t");
	char err[128];
	size_t i, n = 0;

	if (!json_is_array(arr) ||
	    bc_addr_parse(&a, addr, strlen(addr), err, sizeof(err)) < 0)
		goto bad;
	for (i = 0; i < json_array_size(arr) && n < CL_OFFENCES_MAX; i++) {
		json_t *x = json_array_get(arr, i);

		if (!json_is_integer(x) || json_integer_value(x) <= 0)
			goto bad;
		t[n++] = (int64_t)json_integer_value(x);
	}
	json_decref(o);
	if (bc_store_offence_merge(k->c->store, &a, t, n) < 0)
		bc_warn("cluster: %s: store: %s", key, bc_store_error(k->c->store));
	return;
bad:
	json_decref(o);
	k->bad_records++;
	bc_warn("cluster: %s: malformed offence history (skipped)", key);
}

/* PREFIX/k/ROLE/NAME: an enrolment made through any coordinator
 * (bc_cluster_enrol): the key in base64, or "-" once removed. Queued:
 * made by apply_enrolments at the loop's top level. */
static void apply_enrol(struct bc_cluster *k, const char *rest,
			const uint8_t *val, size_t vlen, const char *key)
{
	char text[128], err[512];
	const char *name = rest + 8;
	struct cl_enrol *en;

	if (strlen(name) >= sizeof(en->name) || name[0] == '\0') {
		k->bad_records++;
		bc_warn("cluster: %s: malformed enrolment: no name, or longer "
			"than %d (skipped)", key, BC_NAME_MAX - 1);
		return;
	}
	if (k->nenq == k->capenq) {
		size_t cap = k->capenq ? k->capenq * 2 : 16;
		struct cl_enrol *v = realloc(k->enq, cap * sizeof(*v));

		if (v == NULL) {
			bc_warn("cluster: %s: out of memory (skipped)", key);
			return;
		}
		k->enq = v;
		k->capenq = cap;
	}
	en = &k->enq[k->nenq];
	memset(en, 0, sizeof(*en));
	memcpy(en->role, rest + 2, 5);
	snprintf(en->name, sizeof(en->name), "%s", name);
	en->removed = vlen == 1 && val[0] == '-';
	if (!en->removed) {
		if (vlen == 0 || vlen >= sizeof(text)) {
			k->bad_records++;
			bc_warn("cluster: %s: malformed enrolment (skipped)", key);
			return;
		}
		memcpy(text, val, vlen);
		text[vlen] = '\0';
		if (bc_key_parse_public(text, en->pk, err, sizeof(err)) < 0) {
			k->bad_records++;
			bc_warn("cluster: %s: malformed enrolment: %s (skipped)", key, err);
			return;
		}
	}
	k->nenq++;
}

/* PREFIX/lift/AGENT/ADDR/PLEN: an admin's lift of a local ban taken by
 * another coordinator (bc_cluster_lift): kept pending here as well and
 * sent to the agent, which lifts it once (the ban's creation time tells
 * a later ban on the same address apart). */
static void apply_lift(struct bc_cluster *k, const char *rest,
		       const uint8_t *val, size_t vlen, const char *key)
{
	struct bc_coord *c = k->c;
	struct cl_lift_rec r;
	struct bc_coord_local_hit h;
	const struct bc_peer *p;
	char agent[BC_NAME_MAX], err[256];
	const char *slash = strchr(rest, '/');
	bool sent;

	if (slash == NULL || slash == rest || (size_t)(slash - rest) >= sizeof(agent) ||
	    cl_lift_parse(val, vlen, &r, err, sizeof(err)) < 0) {
		k->bad_records++;
		bc_warn("cluster: %s: malformed local lift (skipped)", key);
		return;
	}
	memcpy(agent, rest, (size_t)(slash - rest));
	agent[slash - rest] = '\0';
	memset(&h, 0, sizeof(h));
	if (bc_addr_parse(&h.ban.addr, slash + 1, strlen(slash + 1), err,
			  sizeof(err)) < 0) {
		k->bad_records++;
		bc_warn("cluster: %s: malformed local lift: %s (skipped)", key, err);
		return;
	}
	if (k->synced && strcmp(r.node, k->node) == 0)
		return; /* this coordinator took it: pending here already */
	p = bc_keyring_find_name(&c->ring, agent);
	if (p == NULL || p->role != BC_ROLE_AGENT) {
		bc_warn("cluster: %s: agent %s not enrolled here (skipped)", key,
			agent);
		return;
	}
	h.agent = bc_coord_peer_index(c, p);
	h.ban.created_ms = r.created_ms;
	if (bc_coord_local_lift(c, &h, r.admin, &sent, err, sizeof(err)) < 0)
		bc_warn("cluster: %s: %s", key, err);
}

static void apply_enrolments(struct bc_cluster *k)
{
	size_t i;

	for (i = 0; i < k->nenq; i++) {
		struct cl_enrol *en = &k->enq[i];
		char err[512];

		if (bc_coord_enrol_apply(k->c, en->role, en->name,
					 en->removed ? NULL : en->pk, err,
					 sizeof(err)) < 0)
			bc_warn("cluster: %sk/%s/%s: %s", k->prefix, en->role,
				en->name, err);
	}
	k->nenq = 0;
}

void cl_apply(struct bc_cluster *k, int type, int64_t rev, const uint8_t *key,
	      size_t klen, const uint8_t *val, size_t vlen)
{
	struct bc_coord *c = k->c;
	char name[CL_KEY_MAX];
	const char *rest;

	if (type == CL_MSG_RESET) /* what follows is skipped by revision */
		return;
	if (type == CL_MSG_SYNCED) {
		if (!k->synced) {
			size_t i;

			/* the local store keeps no ban etcd does not hold */
			for (i = 0; i < k->reset_bans.n; i++)
				if (bc_banmap_find(&c->bans, &k->reset_bans.v[i].addr) < 0)
					bc_store_unban(c->store, &k->reset_bans.v[i].addr,
						       "sync", "", bc_now_ms());
			bc_banmap_free(&k->reset_bans);
			/* nor an allow list entry etcd does not hold: made
			 * before the site moved to a cluster (--cluster-import
			 * copies them) or removed meanwhile */
			for (i = 0; i < k->reset_allows.n; i++) {
				const struct bc_allow *e = &k->reset_allows.v[i];
				char as[BC_ADDR_STRLEN];

				if (bc_allowlist_find(&c->allows, &e->addr) >= 0)
					continue;
				bc_warn("cluster: allow list entry %s (allow add by %s) "
					"of %s is not in etcd: removed here (add it "
					"again with bancluster allow add)",
					bc_addr_format(&e->addr, as, sizeof(as)), e->by,
					c->cfg.database);
				bc_store_allow_del(c->store, &e->addr, "sync", "",
						   bc_now_ms());
			}
			bc_allowlist_free(&k->reset_allows);
			memset(&k->reset_allows, 0, sizeof(k->reset_allows));
			if (k->seq_known > c->seq)
				c->seq = k->seq_known;
		}
		k->synced = true;
		if (rev > k->applied_rev)
			k->applied_rev = rev;
		k->done_rev = k->applied_rev;
		return;
	}
	if (type == CL_MSG_ERROR) {
		bc_warn("cluster: watch: %.*s", (int)vlen, (const char *)val);
		return;
	}
	/* every event of a revision comes in one watch answer: a revision
	 * is done once a later one arrives (or SYNCED says so) */
	if (rev <= k->done_rev)
		return; /* applied already */
	if (rev > k->applied_rev) {
		k->done_rev = k->applied_rev;
		k->applied_rev = rev;
	}
	if (klen <= k->plen || klen >= sizeof(name) ||
	    memcmp(key, k->prefix, k->plen) != 0)
		goto done;
	memcpy(name, key, klen);
	name[klen] = '\0';
	rest = name + k->plen;
	/* every key this code writes is printable ASCII: another one is
	 * not applied, and is logged escaped (keys reach the log below) */
	for (size_t i = 0; i < klen; i++)
		if (key[i] < 0x20 || key[i] > 0x7e) {
			char esc[CL_KEY_MAX * 4];

			k->bad_records++;
			bc_escape(esc, sizeof(esc), name, klen);
			bc_warn("cluster: %s: malformed key (skipped)", esc);
			goto done;
		}
	if (type == CL_MSG_DEL)
		goto done; /* leases ending, collected tombstones: nothing to do */
	if (strncmp(rest, "d/", 2) == 0) {
		apply_decision(k, val, vlen, name);
	} else if (strncmp(rest, "al/", 3) == 0) {
		apply_allow(k, val, vlen, name);
	} else if (strncmp(rest, "lift/", 5) == 0) {
		apply_lift(k, rest + 5, val, vlen, name);
	} else if (strncmp(rest, "ev/", 3) == 0) {
		apply_events(k, val, vlen, name);
	} else if (strncmp(rest, "off/", 4) == 0) {
		apply_offences(k, rest + 4, val, vlen, name);
	} else if (strncmp(rest, "k/agent/", 8) == 0 ||
		   strncmp(rest, "k/admin/", 8) == 0) {
		apply_enrol(k, rest, val, vlen, name);
	} else if (strcmp(rest, "seq") == 0) {
		char v[24];
		uint64_t s;

		if (vlen > 0 && vlen < sizeof(v)) {
			memcpy(v, val, vlen);
			v[vlen] = '\0';
			s = strtoull(v, NULL, 10);
			if (s > k->seq_known)
				k->seq_known = s;
		}
	}
done:
	return;
}

/* what the watch delivered so far, at most max changes */
static void drain_pipe(struct bc_cluster *k, size_t max)
{
	size_t done;

	for (done = 0; done < max; done++) {
		zmq_msg_t m[3];
		int i, ok = 1;
		const uint8_t *h;

		for (i = 0; i < 3; i++)
			zmq_msg_init(&m[i]);
		if (zmq_msg_recv(&m[0], k->pipe_r, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m[0]);
			return;
		}
		for (i = 1; i < 3; i++)
			if (zmq_msg_recv(&m[i], k->pipe_r, 0) < 0)
				ok = 0;
		h = zmq_msg_data(&m[0]);
		if (ok && zmq_msg_size(&m[0]) == 9)
			cl_apply(k, h[0], (int64_t)cl_rd64(h + 1), zmq_msg_data(&m[1]),
				 zmq_msg_size(&m[1]), zmq_msg_data(&m[2]),
				 zmq_msg_size(&m[2]));
		for (i = 0; i < 3; i++)
			zmq_msg_close(&m[i]);
	}
}

int cl_wait_seq(struct bc_cluster *k, uint64_t seq, int ms)
{
	int64_t end = bc_mono_ms() + ms;

	while (k->c->seq < seq) {
		zmq_pollitem_t it = {k->pipe_r, 0, ZMQ_POLLIN, 0};
		int64_t left = end - bc_mono_ms();

		if (left <= 0)
			return -1;
		if (zmq_poll(&it, 1, (long)left) > 0)
			drain_pipe(k, SIZE_MAX);
	}
	return 0;
}

void bc_cluster_drain(struct bc_coord *c)
{
	struct bc_cluster *k = c->cluster;

	/* one SQLite commit for the decisions of a turn, not one a ban */
	bool batch = !bc_store_in_batch(c->store) &&
		     bc_store_batch_begin(c->store) == 0;

	drain_pipe(k, k->synced ? CL_DRAIN_MAX : SIZE_MAX);
	if (k->synced) /* the committer's answer, whoever leads now */
		cl_commit_queue(k);
	apply_enrolments(k);
	if (batch && bc_store_batch_end(c->store) < 0)
		bc_warn("cluster: store: %s (this coordinator's mirror of the "
			"decisions lacks some; etcd holds them)",
			bc_store_error(c->store));
}

bool bc_cluster_busy(struct bc_coord *c)
{
	struct bc_cluster *k = c->cluster;

	return k->synced && atomic_load(&k->leader_now) && cl_commit_ready(k) &&
	       cl_etcd_ok(k);
}

void bc_cluster_turn(struct bc_coord *c)
{
	struct bc_cluster *k = c->cluster;

	if (k->synced)
		cl_commit_queue(k);
	apply_enrolments(k);
}
