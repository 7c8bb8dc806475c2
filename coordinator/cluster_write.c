/*
 * cluster_write.c - what the loop writes to etcd in cluster mode
 * (cluster.h): decisions (the events of each drain: cluster_events.c).
 *
 * Decisions: a txn that compares PREFIX/seq with the last value known
 * and sets it n higher, with one record per decision under PREFIX/d/
 * (JSON: q seq, x action, a address, c created, e expires, o origin,
 * r reason, s signer, n node, k rule). The leader's (rule bans, expiry)
 * also compare PREFIX/leader's lease with its own: the fence. A failed
 * compare reads seq and leader back in the same txn: another writer
 * took the number (wait until its decisions are applied, which drops
 * what they decided already, and try again) or this coordinator does not
 * lead (its decisions stay pending). A txn of unknown outcome is not
 * resent blindly: the watch says whether it landed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "coordinator/allow.h"
#include "coordinator/cluster_int.h"
#include "coordinator/decide.h"

void cl_prop_free(struct cl_prop *p)
{
	free(p->ev);
	free(p->evtext);
	p->ev = NULL;
	p->evtext = NULL;
}

void cl_prop_to_flight(struct cl_prop *p, struct cl_flight *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = p->sb.ban.addr;
	f->ev = p->ev;
	f->evtext = p->evtext;
	f->nev = p->nev;
	p->ev = NULL;
	p->evtext = NULL;
	p->nev = 0;
}

void cl_flight_free(struct cl_flight *f)
{
	free(f->ev);
	free(f->evtext);
	f->ev = NULL;
	f->evtext = NULL;
}

/* ---- housekeeping leases ------------------------------------------------ */

int64_t cl_house_lease(struct bc_cluster *k, int kind)
{
	int64_t now = bc_mono_ms(), ttl;
	char err[BC_ETCD_ERR_MAX];

	if (k->house_lease[kind] != 0 && now < k->house_next_ms[kind])
		return k->house_lease[kind];
	ttl = kind == CL_HOUSE_TOMB
		      ? CL_TOMB_TTL_S
		      : (int64_t)k->c->cfg.recidive_window + CL_OFF_MARGIN_S;
	if (bc_etcd_lease_grant(k->etcd, ttl, &k->house_lease[kind], NULL, err,
				sizeof(err)) < 0) {
		/* housekeeping waits: the key goes without a lease, and the
		 * next key tries again in a minute */
		k->house_lease[kind] = 0;
		k->house_next_ms[kind] = now + 60000;
		k->house_lease_failures++;
		return 0;
	}
	k->house_next_ms[kind] = now + (kind == CL_HOUSE_TOMB ? CL_TOMB_EVERY_MS
							      : CL_OFF_EVERY_MS);
	return k->house_lease[kind];
}

void cl_house_reset(struct bc_cluster *k)
{
	k->house_lease[0] = k->house_lease[1] = 0;
	k->house_next_ms[0] = k->house_next_ms[1] = 0;
}

/* ---- decisions --------------------------------------------------------- */

char *cl_record(const struct bc_cluster *k, const struct bc_store_ban *sb,
		const char *action, const char *signer, bool rule, uint64_t seq)
{
	char a[BC_ADDR_STRLEN + 8];
	json_t *o;
	char *s;

	bc_addr_format(&sb->ban.addr, a, sizeof(a));
	if (strchr(a, '/') == NULL)
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", sb->ban.addr.plen);
	o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:b}",
		      "q", (json_int_t)seq, "x", action, "a", a,
		      "c", (json_int_t)sb->ban.created_ms,
		      "e", (json_int_t)sb->ban.expires_ms, "o", sb->origin,
		      "r", sb->reason, "s", signer, "n", k->node, "k", rule);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* PREFIX/WHAT/ADDR/PLEN (the prefix length always written) */
static void addr_key(const struct bc_cluster *k, const char *what,
		     const struct bc_addr *a, char *out, size_t len)
{
	char t[BC_ADDR_STRLEN + 8];

	bc_addr_format(a, t, sizeof(t));
	if (strchr(t, '/') == NULL)
		snprintf(t + strlen(t), sizeof(t) - strlen(t), "/%u", a->plen);
	cl_key(k, out, len, "%s/%s", what, t);
}

void cl_offkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	       size_t len)
{
	addr_key(k, "off", a, out, len);
}

/* {"t":[ms,...]}: a's offences within recidive_window, plus at */
char *cl_offences(const struct bc_cluster *k, const struct bc_addr *a, int64_t at)
{
	struct bc_coord *c = k->c;
	int64_t t[CL_OFFENCES_MAX];
	long n = bc_store_offence_times(c->store, a,
					at - c->cfg.recidive_window * 1000, t,
					CL_OFFENCES_MAX - 1);
	json_t *o = json_object(), *arr = json_array();
	char *s = NULL;
	long i;

	if (o == NULL || arr == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (t[i] != at)
			json_array_append_new(arr, json_integer(t[i]));
	json_array_append_new(arr, json_integer(at));
	json_object_set(o, "t", arr);
	s = json_dumps(o, JSON_COMPACT);
out:
	json_decref(arr);
	json_decref(o);
	return s;
}

void cl_dkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	     size_t len)
{
	addr_key(k, "d", a, out, len);
}

/* A decision to commit: a ban's (sb), or, with allow set, a change of
 * the allow list (its record under PREFIX/al/, sb unused). */
struct one {
	struct bc_store_ban sb;
	const char *action, *signer;
	bool rule;
	const struct bc_allow *allow;
};

char *cl_allow_record(const struct bc_cluster *k, const struct bc_allow *e,
		      const char *action, const char *signer, uint64_t seq)
{
	char a[BC_ADDR_STRLEN + 8];
	json_t *o;
	char *s;

	bc_addr_format(&e->addr, a, sizeof(a));
	if (strchr(a, '/') == NULL)
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", e->addr.plen);
	o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "q",
		      (json_int_t)seq, "x", action, "a", a, "c",
		      (json_int_t)e->created_ms, "e", (json_int_t)e->expires_ms,
		      "m", e->comment, "s", signer, "n", k->node);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

void cl_alkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	      size_t len)
{
	addr_key(k, "al", a, out, len);
}

enum { C_OK = 0, C_FAIL = -1, C_RETRY = -2, C_FENCED = -3 };

static void job_free(struct cl_job *j)
{
	size_t i;

	for (i = 0; j->recs != NULL && i < 2 * j->n; i++)
		free(j->recs[i]);
	free(j->recs);
	free(j->keys);
	free(j->ops);
	free(j->addr);
	bc_etcd_txn_free(&j->t);
	j->recs = NULL;
	j->keys = NULL;
	j->ops = NULL;
	j->addr = NULL;
	j->n = 0;
}

/*
 * Build the txn of decisions v[0..n), numbered from seq_known + 1, into
 * j (its pointers into itself: j must not move until it ran). C_OK, or
 * C_FENCED (not the leader), C_FAIL (err: out of memory).
 */
static int job_build(struct bc_cluster *k, const struct one *v, size_t n,
		     bool fence, struct cl_job *j, char *err, size_t errlen)
{
	size_t i;

	memset(j, 0, sizeof(*j));
	j->keys = calloc(2 * n, sizeof(*j->keys));
	j->recs = calloc(2 * n, sizeof(*j->recs));
	j->ops = calloc(2 * n + 1, sizeof(*j->ops));
	j->addr = calloc(n, sizeof(*j->addr));
	j->n = n;
	if (j->keys == NULL || j->recs == NULL || j->ops == NULL || j->addr == NULL)
		goto oom;
	j->fence = fence;
	if (fence && !cl_is_leader(k, &j->lease)) {
		job_free(j);
		return C_FENCED;
	}
	j->base = k->seq_known;
	cl_key(k, j->skey, sizeof(j->skey), "seq");
	cl_key(k, j->lkey, sizeof(j->lkey), "leader");
	snprintf(j->sv, sizeof(j->sv), "%" PRIu64, j->base);
	snprintf(j->nv, sizeof(j->nv), "%" PRIu64, j->base + n);
	j->cmp[0] = (struct bc_etcd_cmp){j->skey, strlen(j->skey), BC_ETCD_VALUE,
					 BC_ETCD_EQUAL, 0, j->sv, strlen(j->sv)};
	j->ncmp = 1;
	if (fence)
		j->cmp[j->ncmp++] = (struct bc_etcd_cmp){j->lkey, strlen(j->lkey),
							 BC_ETCD_LEASE, BC_ETCD_EQUAL,
							 j->lease, NULL, 0};
	j->ops[0] = (struct bc_etcd_op){BC_ETCD_OP_PUT, j->skey, strlen(j->skey),
					j->nv, strlen(j->nv), 0, false};
	j->nops = 1;
	for (i = 0; i < n; i++) {
		if (v[i].allow != NULL) {
			/* an entry's record stays while it is on the list; a
			 * removal's is forgotten an hour later */
			bool live = strcmp(v[i].action, "allow") == 0;

			j->addr[i] = v[i].allow->addr;
			cl_alkey(k, &v[i].allow->addr, j->keys[i], sizeof(j->keys[i]));
			j->recs[i] = cl_allow_record(k, v[i].allow, v[i].action,
						     v[i].signer, j->base + 1 + i);
			if (j->recs[i] == NULL)
				goto oom;
			j->ops[j->nops++] = (struct bc_etcd_op){
				BC_ETCD_OP_PUT, j->keys[i], strlen(j->keys[i]),
				j->recs[i], strlen(j->recs[i]),
				live ? 0 : cl_house_lease(k, CL_HOUSE_TOMB), false};
			continue;
		}
		j->addr[i] = v[i].sb.ban.addr;
		cl_dkey(k, &v[i].sb.ban.addr, j->keys[i], sizeof(j->keys[i]));
		j->recs[i] = cl_record(k, &v[i].sb, v[i].action, v[i].signer, v[i].rule,
				       j->base + 1 + i);
		if (j->recs[i] == NULL)
			goto oom;
		/* a final decision's record: etcd forgets it an hour later */
		j->ops[j->nops++] = (struct bc_etcd_op){
			BC_ETCD_OP_PUT, j->keys[i], strlen(j->keys[i]), j->recs[i],
			strlen(j->recs[i]),
			cl_live_action(v[i].action) ? 0
						      : cl_house_lease(k, CL_HOUSE_TOMB),
			false};
		if (!v[i].rule)
			continue;
		/* the offence history of the key, this offence included */
		cl_offkey(k, &v[i].sb.ban.addr, j->keys[n + i], sizeof(j->keys[n + i]));
		j->recs[n + i] = cl_offences(k, &v[i].sb.ban.addr, v[i].sb.ban.created_ms);
		if (j->recs[n + i] == NULL)
			goto oom;
		j->ops[j->nops++] = (struct bc_etcd_op){
			BC_ETCD_OP_PUT, j->keys[n + i], strlen(j->keys[n + i]),
			j->recs[n + i], strlen(j->recs[n + i]),
			cl_house_lease(k, CL_HOUSE_OFF), false};
	}
	j->fail[0] = (struct bc_etcd_op){BC_ETCD_OP_RANGE, j->skey, strlen(j->skey),
					 NULL, 0, 0, false};
	j->fail[1] = (struct bc_etcd_op){BC_ETCD_OP_RANGE, j->lkey, strlen(j->lkey),
					 NULL, 0, 0, false};
	return C_OK;
oom:
	job_free(j);
	snprintf(err, errlen, "out of memory");
	return C_FAIL;
}

static void job_run(struct bc_etcd *e, struct cl_job *j)
{
	j->err[0] = '\0';
	j->rc = bc_etcd_txn(e, j->cmp, j->ncmp, j->ops, j->nops, j->fail, 2, &j->t,
			    j->err, sizeof(j->err));
	j->unknown = j->rc < 0 && bc_etcd_outcome_unknown(e);
}

/*
 * What etcd answered to j. C_OK: done (*rev its revision); C_RETRY:
 * another writer took the number (the loop applied up to its revision:
 * call again with what is left); C_FENCED: not the leader; C_FAIL: err
 * (etcd error, outcome unknown when j->unknown).
 */
static int job_answer(struct bc_cluster *k, struct cl_job *j, int64_t *rev,
		      char *err, size_t errlen)
{
	struct bc_etcd_txn_result *t = &j->t;

	if (j->rc < 0) {
		k->commit_failures++;
		if (strstr(j->err, "lease not found") != NULL)
			cl_house_reset(k); /* expired under us (a long pause) */
		snprintf(err, errlen, "%s", j->err);
		return C_FAIL;
	}
	*rev = t->revision;
	if (t->succeeded) {
		if (k->seq_known < j->base + j->n) /* a failed compare may have read it */
			k->seq_known = j->base + j->n;
		k->commits++;
		return C_OK;
	}
	bool seq_moved = false, fenced = false;

	if (t->n == 2 && t->r[0].range.n == 1) {
		uint64_t s = strtoull((const char *)t->r[0].range.kvs[0].value, NULL, 10);

		seq_moved = s != j->base;
		if (s > k->seq_known)
			k->seq_known = s;
	}
	if (j->fence && t->n == 2 &&
	    (t->r[1].range.n != 1 || t->r[1].range.kvs[0].lease != j->lease))
		fenced = true;
	if (fenced) {
		k->fenced++;
		return C_FENCED;
	}
	if (seq_moved)
		return C_RETRY;
	snprintf(err, errlen, "txn refused");
	return C_FAIL;
}

/* One txn, in the loop (an admin's change). */
static int txn(struct bc_cluster *k, const struct one *v, size_t n, bool fence,
	       int64_t *rev, char *err, size_t errlen)
{
	struct cl_job *j = calloc(1, sizeof(*j));
	int rc;

	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return C_FAIL;
	}
	rc = job_build(k, v, n, fence, j, err, errlen);
	if (rc == C_OK) {
		job_run(k->etcd, j);
		rc = job_answer(k, j, rev, err, errlen);
		job_free(j);
	}
	free(j);
	return rc;
}

/* An admin's change (or, fenced, the leader's expiry of an allow list
 * entry): commit (taking the next number), then wait until this
 * coordinator applied it. */
static int commit_one(struct bc_cluster *k, const struct one *o, bool fence,
		      char *err, size_t errlen)
{
	int64_t rev = 0, end = bc_mono_ms() + CL_ADMIN_MS;
	int attempt, rc = C_FAIL;

	if (!cl_etcd_ok(k)) {
		snprintf(err, errlen, "etcd unreachable: no fleet decision can be "
			 "made now (bans already made stay in force)");
		return -1;
	}
	for (attempt = 0; attempt < 8 && bc_mono_ms() < end; attempt++) {
		rc = txn(k, o, 1, fence, &rev, err, errlen);
		if (rc != C_RETRY)
			break;
		cl_wait_seq(k, k->seq_known, 500);
	}
	if (rc != C_OK) {
		if (rc == C_RETRY)
			snprintf(err, errlen, "etcd: too many concurrent changes, "
				 "try again");
		else if (rc == C_FENCED)
			snprintf(err, errlen, "not the leader");
		else if (bc_etcd_outcome_unknown(k->etcd))
			snprintf(err + strlen(err), errlen - strlen(err),
				 " (it may have been made: see bancluster list)");
		return -1;
	}
	if (cl_wait_seq(k, k->seq_known, CL_WAIT_MS) < 0) { /* rev: for the message */
		snprintf(err, errlen, "committed at etcd revision %" PRId64
			 " but not yet seen here; see bancluster list", rev);
		return -1;
	}
	return 0;
}

int bc_cluster_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		   const char *signer, char *err, size_t errlen)
{
	struct one o = {*sb, bc_banmap_find(&c->bans, &sb->ban.addr) >= 0 ? "extend"
									    : "ban",
			signer, false, NULL};

	return commit_one(c->cluster, &o, false, err, errlen);
}

int bc_cluster_unban(struct bc_coord *c, const struct bc_ban *b,
		     const char *action, const char *signer, char *err,
		     size_t errlen)
{
	struct one o;

	memset(&o, 0, sizeof(o));
	o.sb.ban = *b;
	snprintf(o.sb.origin, sizeof(o.sb.origin), "%s", action);
	o.action = action;
	o.signer = signer;
	return commit_one(c->cluster, &o, false, err, errlen);
}

int bc_cluster_allow(struct bc_coord *c, const struct bc_allow *e,
		     const char *action, const char *signer, char *err,
		     size_t errlen)
{
	struct one o;

	memset(&o, 0, sizeof(o));
	o.action = action;
	o.signer = signer;
	o.allow = e;
	return commit_one(c->cluster, &o, false, err, errlen);
}

/* The leader: an allow list entry whose time is over is removed through
 * etcd (a sequenced change, like an expiry), a few a tick. */
static void allow_expire(struct bc_cluster *k, int64_t now)
{
	struct bc_coord *c = k->c;
	int done;

	if (!cl_etcd_ok(k)) /* said in status and metrics already */
		return;
	for (done = 0; done < 8; done++) {
		long i = bc_allowlist_expired(&c->allows, now);
		struct bc_allow e;
		struct one o;
		char err[BC_ETCD_ERR_MAX + 64], as[BC_ADDR_STRLEN];

		if (i < 0)
			return;
		e = c->allows.v[i];
		memset(&o, 0, sizeof(o));
		o.action = "allow-expire";
		o.signer = "";
		o.allow = &e;
		if (commit_one(k, &o, true, err, sizeof(err)) < 0) {
			bc_warn("cluster: allow-expire %s: %s (tried again)",
				bc_addr_format(&e.addr, as, sizeof(as)), err);
			return;
		}
		if (bc_allowlist_find(&c->allows, &e.addr) >= 0)
			return; /* applied, yet still here: not again this tick */
	}
}

void bc_cluster_lift(struct bc_coord *c, const char *agent,
		     const struct bc_addr *a, int64_t created_ms, const char *admin)
{
	struct bc_cluster *k = c->cluster;
	char key[CL_KEY_MAX], as[BC_ADDR_STRLEN + 8], e[BC_ETCD_ERR_MAX];
	int64_t lease;
	json_t *o;
	char *v;

	bc_addr_format(a, as, sizeof(as));
	if (strchr(as, '/') == NULL)
		snprintf(as + strlen(as), sizeof(as) - strlen(as), "/%u", a->plen);
	/* on the lease of final decisions: etcd forgets it within the hour
	 * (a key without one would be taken again at every start) */
	lease = cl_etcd_ok(k) ? cl_house_lease(k, CL_HOUSE_TOMB) : 0;
	if (lease == 0) {
		bc_warn("cluster: local lift of %s on %s kept by %s alone (etcd "
			"unreachable): if %s stops before %s takes it, run the "
			"unban again", as, agent, k->node, k->node, agent);
		return;
	}
	cl_key(k, key, sizeof(key), "lift/%s/%s", agent, as);
	o = json_pack("{s:I, s:s, s:s}", "c", (json_int_t)created_ms, "s", admin,
		      "n", k->node);
	v = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (v == NULL ||
	    bc_etcd_put(k->etcd, key, strlen(key), v, strlen(v), lease, NULL, e,
			sizeof(e)) < 0)
		bc_warn("cluster: local lift of %s on %s kept by %s alone: %s", as,
			agent, k->node, v == NULL ? "out of memory" : e);
	free(v);
}

int bc_cluster_enrol(struct bc_coord *c, const char *role, const char *name,
		     const uint8_t *pk, char *err, size_t errlen)
{
	struct bc_cluster *k = c->cluster;
	char key[CL_KEY_MAX], v[BC_KEY_B64_LEN], e[BC_ETCD_ERR_MAX];

	cl_key(k, key, sizeof(key), "k/%s/%s", role, name);
	if (pk != NULL)
		bc_key_public_b64(pk, v);
	else
		snprintf(v, sizeof(v), "-");
	if (bc_etcd_put(k->etcd, key, strlen(key), v, strlen(v), 0, NULL, e,
			sizeof(e)) < 0) {
		snprintf(err, errlen, "etcd unreachable: %s not %s on the cluster: %s",
			 name, pk != NULL ? "enrolled" : "removed", e);
		return -1;
	}
	return 0;
}

static bool in_flight(const struct bc_cluster *k, const struct bc_addr *a)
{
	return cl_idx_get(&k->fli, a) >= 0;
}

static bool queued(const struct bc_cluster *k, const struct bc_addr *a)
{
	return cl_idx_get(&k->qi, a) >= 0;
}

void cl_q_del(struct bc_cluster *k, size_t i)
{
	struct bc_addr a = k->q[i].sb.ban.addr;

	if (k->q[i].sending)
		k->nsend--;
	cl_prop_free(&k->q[i]);
	cl_idx_del(&k->qi, &a);
	if (i != --k->nq) {
		k->q[i] = k->q[k->nq];
		cl_idx_put(&k->qi, &k->q[i].sb.ban.addr, i); /* present: no alloc */
	}
}

void cl_fl_del(struct bc_cluster *k, size_t i)
{
	struct bc_addr a = k->fl[i].addr;

	cl_flight_free(&k->fl[i]);
	cl_idx_del(&k->fli, &a);
	if (i != --k->nfl) {
		k->fl[i] = k->fl[k->nfl];
		cl_idx_put(&k->fli, &k->fl[i].addr, i);
	}
}

/* a new entry for a (not queued), or NULL: the queue is full */
static struct cl_prop *push(struct bc_cluster *k, const struct bc_addr *a)
{
	if (k->nq >= CL_QUEUE_MAX)
		return NULL;
	if (k->nq == k->capq) {
		size_t cap = k->capq ? k->capq * 2 : 64;
		void *n = realloc(k->q, cap * sizeof(*k->q));

		if (n == NULL)
			return NULL;
		k->q = n;
		k->capq = cap;
	}
	if (cl_idx_put(&k->qi, a, k->nq) < 0)
		return NULL;
	memset(&k->q[k->nq], 0, sizeof(k->q[0]));
	k->q[k->nq].sb.ban.addr = *a;
	return &k->q[k->nq++];
}

bool bc_cluster_deciding(const struct bc_coord *c, const struct bc_addr *a)
{
	return queued(c->cluster, a) || in_flight(c->cluster, a);
}

void bc_cluster_rule_ban(struct bc_coord *c, const struct bc_store_ban *sb,
			 const struct bc_store_event *ev, size_t n)
{
	struct bc_cluster *k = c->cluster;
	struct cl_prop *p;
	size_t i;

	if (queued(k, &sb->ban.addr) || in_flight(k, &sb->ban.addr))
		return;
	p = push(k, &sb->ban.addr);
	if (p == NULL) {
		bc_warn("cluster: decision queue full: ban of the policy dropped");
		return;
	}
	p->sb = *sb;
	p->rule = true;
	/* a follower's pending ban carries no evidence: kilobytes each, and
	 * it is committed only if the leader dies first */
	if (n > 0 && atomic_load(&k->leader_now)) {
		p->ev = calloc(n, sizeof(*p->ev));
		p->evtext = calloc(n, sizeof(*p->evtext));
		if (p->ev == NULL || p->evtext == NULL) {
			cl_q_del(k, k->nq - 1);
			return;
		}
		for (i = 0; i < n; i++) {
			p->ev[i] = ev[i];
			snprintf(p->evtext[i][0], sizeof(p->evtext[i][0]), "%s", ev[i].host ? ev[i].host : "");
			snprintf(p->evtext[i][1], sizeof(p->evtext[i][1]), "%s", ev[i].service ? ev[i].service : "");
			snprintf(p->evtext[i][2], sizeof(p->evtext[i][2]), "%s", ev[i].line ? ev[i].line : "");
			p->ev[i].host = p->evtext[i][0];
			p->ev[i].service = p->evtext[i][1];
			p->ev[i].line = p->evtext[i][2];
		}
		p->nev = n;
	}
}

/* Still worth committing: a rule ban not covered by an active ban nor
 * allowed; an expiry of a ban still there and over. */
static bool still_due(struct bc_coord *c, const struct cl_prop *p, int64_t now)
{
	long i;

	if (p->expiry) {
		i = bc_banmap_find(&c->bans, &p->sb.ban.addr);
		return i >= 0 && c->bans.v[i].expires_ms != 0 &&
		       c->bans.v[i].expires_ms <= now &&
		       c->bans.v[i].created_ms == p->sb.ban.created_ms;
	}
	return !bc_coord_covered(c, &p->sb.ban.addr, now) &&
	       !bc_coord_allowed(c, &p->sb.ban.addr, NULL, 0);
}

static int add_flight(struct bc_cluster *k, struct cl_prop *p, int64_t rev)
{
	struct cl_flight *f;
	long j = cl_idx_get(&k->fli, &p->sb.ban.addr);

	if (j >= 0) /* never while in flight (bc_cluster_rule_ban): kept simple */
		cl_fl_del(k, (size_t)j);
	if (k->nfl == k->capfl) {
		size_t cap = k->capfl ? k->capfl * 2 : 64;
		void *n = realloc(k->fl, cap * sizeof(*k->fl));

		if (n == NULL)
			return -1;
		k->fl = n;
		k->capfl = cap;
	}
	if (cl_idx_put(&k->fli, &p->sb.ban.addr, k->nfl) < 0)
		return -1;
	f = &k->fl[k->nfl++];
	cl_prop_to_flight(p, f);
	f->rev = rev;
	return 0;
}

/* ---- the committer thread ------------------------------------------- */

static void *commit_main(void *arg)
{
	struct bc_cluster *k = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&k->cmu);
	while (!atomic_load(&k->stop)) {
		if (k->jstate != CL_JOB_QUEUED) {
			pthread_cond_wait(&k->ccv, &k->cmu);
			continue;
		}
		pthread_mutex_unlock(&k->cmu);
		job_run(k->cetcd, &k->job); /* the loop leaves the job alone */
		pthread_mutex_lock(&k->cmu);
		k->jstate = CL_JOB_DONE;
		if (write(k->commit_fd, &one, sizeof(one)) < 0) {
			/* the counter is full: the loop is being woken anyway */
		}
	}
	pthread_mutex_unlock(&k->cmu);
	return NULL;
}

int cl_worker_start(struct bc_cluster *k, struct bc_etcd **e, int *fd,
		    pthread_t *th, void *(*fn)(void *), const char *what,
		    char *err, size_t errlen)
{
	char m[BC_ETCD_ERR_MAX];

	*e = bc_etcd_new(&k->opts, m, sizeof(m));
	if (*e == NULL) {
		snprintf(err, errlen, "[cluster] etcd: %s", m);
		return -1;
	}
	*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "cluster: eventfd: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(th, NULL, fn, k) != 0) {
		snprintf(err, errlen, "cluster: cannot start the %s thread", what);
		return -1;
	}
	return 0;
}

int cl_commit_start(struct bc_cluster *k, char *err, size_t errlen)
{
	if (cl_worker_start(k, &k->cetcd, &k->commit_fd, &k->commit_th,
			    commit_main, "committer", err, errlen) < 0)
		return -1;
	k->commit_up = true;
	return 0;
}

/* after k->stop is set */
void cl_commit_stop(struct bc_cluster *k)
{
	if (k->commit_up) {
		pthread_mutex_lock(&k->cmu);
		pthread_cond_signal(&k->ccv);
		pthread_mutex_unlock(&k->cmu);
		pthread_join(k->commit_th, NULL);
		k->commit_up = false;
	}
	job_free(&k->job);
	if (k->commit_fd >= 0)
		close(k->commit_fd);
	k->commit_fd = -1;
	bc_etcd_free(&k->cetcd);
}

static int job_state(struct bc_cluster *k)
{
	int st;

	pthread_mutex_lock(&k->cmu);
	st = k->jstate;
	pthread_mutex_unlock(&k->cmu);
	return st;
}

/* The entries of the job go back to waiting (not committed). */
static void job_unmark(struct bc_cluster *k)
{
	size_t i;

	for (i = 0; i < k->job.n; i++) {
		long q = cl_idx_get(&k->qi, &k->job.addr[i]);

		if (q >= 0 && k->q[q].sending) {
			k->q[q].sending = false;
			k->nsend--;
		}
	}
}

/* The committer's answer to the job, in the loop. -1: stop committing
 * for this turn. */
static int job_done(struct bc_cluster *k)
{
	struct bc_coord *c = k->c;
	char err[BC_ETCD_ERR_MAX];
	int64_t rev = 0;
	uint64_t ev;
	size_t i;
	int rc;

	if (read(k->commit_fd, &ev, sizeof(ev)) < 0) {
		/* already read: the wake-up served */
	}
	rc = job_answer(k, &k->job, &rev, err, sizeof(err));
	if (rc == C_OK && !k->streak) {
		k->streak = true;
		k->streak_from = k->job.base;
	} else if (rc != C_OK) {
		k->streak = false;
	}
	if (rc == C_OK) {
		/* committed: a rule ban's evidence waits for its record as a
		 * flight. An entry gone already was applied from the watch
		 * first (apply_decision took its evidence). */
		for (i = 0; i < k->job.n; i++) {
			long q = cl_idx_get(&k->qi, &k->job.addr[i]);

			if (q < 0 || !k->q[q].sending)
				continue;
			if (k->q[q].rule)
				add_flight(k, &k->q[q], rev);
			cl_q_del(k, (size_t)q);
		}
	} else {
		job_unmark(k);
	}
	if (rc == C_FAIL) {
		if (c->log_budget > 0) {
			c->log_budget--;
			bc_warn("cluster: %zu decisions not committed: %s%s", k->nq, err,
				k->job.unknown ? " (the watch will tell)" : "");
		}
	} else if (rc == C_FENCED) {
		bc_warn("cluster: %s does not hold the leader's lease: %zu "
			"decisions wait for the leader", k->node, k->nq);
	} else if (rc == C_RETRY) { /* what the other writer decided first */
		cl_wait_seq(k, k->seq_known, 1000);
	}
	job_free(&k->job);
	pthread_mutex_lock(&k->cmu);
	k->jstate = CL_JOB_IDLE;
	pthread_mutex_unlock(&k->cmu);
	return rc == C_OK || rc == C_RETRY ? 0 : -1;
}

/*
 * The leader commits its queue, max_txn_ops - 1 decisions a txn (a ban
 * and its offence history: two ops): the next txn is built while none
 * runs, from what waits then, so a burst makes txns as large as etcd
 * takes while the loop goes on.
 */
int cl_commit_queue(struct bc_cluster *k)
{
	struct bc_coord *c = k->c;
	size_t per = ((size_t)c->cfg.max_txn_ops - 1) / 2; /* ban + history */
	char err[BC_ETCD_ERR_MAX];
	struct one *v;
	size_t i, n = 0;
	int64_t now;
	int rc;

	if (!k->commit_up)
		return -1;
	switch (job_state(k)) {
	case CL_JOB_QUEUED:
		return 0;
	case CL_JOB_DONE:
		if (job_done(k) < 0)
			return -1;
		break;
	default:
		break;
	}
	if (k->nq <= k->nsend || !atomic_load(&k->leader_now))
		return 0;
	if (per > BC_ETCD_TXN_OPS * 64)
		per = BC_ETCD_TXN_OPS * 64;
	/* decide only on a ban table holding every decision another writer
	 * numbered: else one decided by the previous leader (still in the
	 * watch) would be decided again. This leader's own txns since then
	 * need no wait (their bans are flights). */
	uint64_t need = k->streak ? k->streak_from : k->seq_known;

	if (c->seq < need && cl_wait_seq(k, need, 1000) < 0)
		return -1;
	now = bc_now_ms();
	v = calloc(per, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < k->nq && n < per;) {
		struct cl_prop *p = &k->q[i];

		if (p->sending) {
			i++;
			continue;
		}
		if (!still_due(c, p, now)) {
			cl_q_del(k, i);
			continue;
		}
		v[n].sb = p->sb;
		v[n].action = p->expiry ? "expire" : "ban";
		v[n].signer = "";
		v[n].rule = p->rule;
		n++;
		i++;
	}
	rc = n > 0 ? job_build(k, v, n, true, &k->job, err, sizeof(err)) : C_FAIL;
	free(v);
	if (n == 0)
		return 0;
	if (rc == C_FENCED) {
		bc_warn("cluster: %s does not hold the leader's lease: %zu "
			"decisions wait for the leader", k->node, k->nq);
		return -1;
	}
	if (rc != C_OK) {
		bc_warn("cluster: %zu decisions not committed: %s", k->nq, err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		long q = cl_idx_get(&k->qi, &k->job.addr[i]);

		k->q[q].sending = true;
		k->nsend++;
	}
	if (n <= CL_INLINE_MAX) {
		/* a few decisions, none in the committer's hands: run the txn
		 * here, as waking the thread costs a ban's latency a
		 * scheduler's delay on a busy machine (p99 +3-5 ms measured) */
		job_run(k->etcd, &k->job);
		pthread_mutex_lock(&k->cmu);
		k->jstate = CL_JOB_DONE;
		pthread_mutex_unlock(&k->cmu);
		return job_done(k);
	}
	pthread_mutex_lock(&k->cmu);
	k->jstate = CL_JOB_QUEUED;
	pthread_cond_signal(&k->ccv);
	pthread_mutex_unlock(&k->cmu);
	return 0;
}

bool cl_commit_ready(struct bc_cluster *k)
{
	return k->commit_up && job_state(k) == CL_JOB_IDLE && k->nq > k->nsend;
}

void bc_cluster_tick(struct bc_coord *c, int64_t now)
{
	struct bc_cluster *k = c->cluster;
	size_t i;

	/* expiries are found again each tick; rule bans wait until the
	 * leader's decision on their key arrives, or they are no longer due
	 * (cl_commit_queue): a leader cut off longer than findtime still
	 * commits what it counted */
	for (i = 0; i < k->nq;) {
		if (!k->q[i].sending &&
		    (k->q[i].expiry || !still_due(c, &k->q[i], now))) {
			cl_q_del(k, i);
			continue;
		}
		i++;
	}
	for (i = 0; i < k->nfl;) {
		if (k->fl[i].rev <= k->done_rev) { /* its record never came */
			cl_fl_del(k, i);
			continue;
		}
		i++;
	}
	if (!atomic_load(&k->leader_now) || !k->synced)
		return;
	for (i = 0; i < c->bans.n; i++) {
		const struct bc_ban *b = &c->bans.v[i];
		struct cl_prop *p;

		if (b->expires_ms == 0 || b->expires_ms > now)
			continue;
		/* a rule ban queued on the key replaces the ban anyway (and
		 * etcd refuses a txn putting one key twice) */
		if (queued(k, &b->addr))
			continue;
		p = push(k, &b->addr);
		if (p == NULL)
			break;
		p->sb.ban = *b;
		p->expiry = true;
		snprintf(p->sb.origin, sizeof(p->sb.origin), "expire");
	}
	if (k->nq > 0)
		cl_commit_queue(k);
	allow_expire(k, now);
}
