/*
 * cluster.c - cluster mode's start, its two threads and its status
 * (cluster.h has the design).
 *
 * Session thread (its own etcd client): keeps this coordinator's lease
 * alive (lease_ttl, renewed every third of it), registers PREFIX/n/NODE
 * on it, and campaigns for PREFIX/leader every CL_SESSION_MS (a txn that
 * creates the key on our lease only when it does not exist). When a
 * keep-alive says the lease is gone, or etcd cannot be reached for
 * longer than the lease, this coordinator stops counting itself leader
 * at once; the fence in every write (cluster_write.c) is what makes that
 * safe even when this thread was paused. It also says whether etcd
 * answers (etcd_ok) for status, metrics and the intake.
 *
 * Watch thread (its own client): reads the whole prefix once, sorted by
 * revision, and hands it to the loop between RESET and SYNCED; then
 * watches from the next revision and hands every event over; on a
 * compaction or error it reads the prefix again (a RESET: the loop skips
 * what it already applied, by revision). Messages go over an inproc
 * PAIR: [type][revision(8)] [key] [value].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>
#include <zmq.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "coordinator/arena.h"
#include "coordinator/cluster_int.h"

void cl_key(const struct bc_cluster *k, char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(out, len, "%s", k->prefix);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(out + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

bool cl_is_leader(struct bc_cluster *k, int64_t *lease)
{
	bool l;

	pthread_mutex_lock(&k->mu);
	l = k->leader;
	if (lease != NULL)
		*lease = k->lease;
	pthread_mutex_unlock(&k->mu);
	return l;
}

bool cl_etcd_ok(struct bc_cluster *k)
{
	bool ok;

	pthread_mutex_lock(&k->mu);
	ok = k->etcd_ok;
	pthread_mutex_unlock(&k->mu);
	return ok;
}

bool bc_cluster_on(const struct bc_coord *c)
{
	return c->cluster != NULL;
}

bool bc_cluster_leading(struct bc_coord *c)
{
	return atomic_load(&c->cluster->leader_now) != 0;
}

void *bc_cluster_socket(struct bc_coord *c)
{
	return c->cluster->pipe_r;
}

int bc_cluster_fd(struct bc_coord *c)
{
	return c->cluster->commit_fd;
}

static void nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- session thread --------------------------------------------------- */

static void set_state(struct bc_cluster *k, int64_t lease, bool leader,
		      const char *leader_name, int64_t leader_lease, bool ok,
		      const char *err)
{
	bool was;

	pthread_mutex_lock(&k->mu);
	was = k->leader;
	k->lease = lease;
	k->leader = leader;
	snprintf(k->leader_name, sizeof(k->leader_name), "%s", leader_name);
	k->leader_lease = leader_lease;
	if (!ok && k->etcd_ok)
		bc_warn("cluster: etcd unreachable: %s (no fleet decisions until "
			"it answers; bans already made stay published)", err);
	if (ok && !k->etcd_ok && k->etcd_err[0] != '\0')
		bc_info("cluster: etcd answers again");
	k->etcd_ok = ok;
	snprintf(k->etcd_err, sizeof(k->etcd_err), "%s", ok ? "" : err);
	pthread_mutex_unlock(&k->mu);
	atomic_store(&k->leader_now, leader);
	if (leader && !was)
		bc_info("cluster: %s leads (lease %" PRIx64 ")", k->node,
			(uint64_t)lease);
	else if (!leader && was)
		bc_warn("cluster: %s no longer leads", k->node);
}

static void *session_main(void *arg)
{
	struct bc_cluster *k = arg;
	struct bc_etcd_opts o = k->opts;
	struct bc_etcd *e;
	char err[BC_ETCD_ERR_MAX] = "", lkey[CL_KEY_MAX], nkey[CL_KEY_MAX];
	char reg[512], lname[CL_NAME_MAX] = "";
	int64_t lease = 0, lleader = 0, ttl_ms = k->ttl_s * 1000;
	int64_t next_ka = 0, last_ok = bc_mono_ms();
	bool leader = false, ok = true;
	struct cl_peer peer;

	o.attempt_ms = (int)(ttl_ms / 3 > 200 ? ttl_ms / 3 : 200);
	o.timeout_ms = (int)(ttl_ms / 2 > 300 ? ttl_ms / 2 : 300);
	cl_peer_init(&peer);
	e = bc_etcd_new(&o, err, sizeof(err));
	if (e == NULL) {
		set_state(k, 0, false, "", 0, false, err);
		return NULL;
	}
	cl_key(k, lkey, sizeof(lkey), "leader");
	cl_key(k, nkey, sizeof(nkey), "n/%s", k->node);
	{ /* JSON by jansson: advertise is the admin's text, escaped */
		json_t *j = json_pack("{s:s, s:I, s:s}", "endpoint", k->advertise,
				      "started_ms", (json_int_t)k->started_ms,
				      "software", bc_version());
		char *t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

		snprintf(reg, sizeof(reg), "%s", t != NULL ? t : "{}");
		free(t);
		json_decref(j);
	}
	while (!atomic_load(&k->stop)) {
		int64_t now = bc_mono_ms();
		bool fine = true;

		if (lease == 0) {
			if (bc_etcd_lease_grant(e, k->ttl_s, &lease, NULL,
						err, sizeof(err)) < 0) {
				lease = 0;
				fine = false;
			} else if (bc_etcd_put(e, nkey, strlen(nkey), reg, strlen(reg),
					       lease, NULL, err, sizeof(err)) < 0) {
				fine = false;
			}
			next_ka = now + ttl_ms / 3;
		} else if (now >= next_ka) {
			int64_t t = 0;

			int rc = bc_etcd_lease_keepalive(e, lease, &t, err, sizeof(err));

			if (rc < 0 || t <= 0) {
				/* gone (expired, revoked): a new lease, no longer
				 * leading. No answer (etcd electing its leader, which
				 * keeps every lease alive): the same lease, tried
				 * again; leading ends only if that lasts a whole ttl */
				if (rc == 0 || strstr(err, "not found") != NULL) {
					lease = 0;
					leader = false;
					if (rc == 0)
						snprintf(err, sizeof(err), "lease expired");
				}
				fine = false;
			}
			next_ka = now + ttl_ms / 3;
		}
		if (lease != 0 && fine) {
			struct bc_etcd_cmp cmp = {lkey, strlen(lkey), BC_ETCD_CREATE,
						  BC_ETCD_EQUAL, 0, NULL, 0};
			struct bc_etcd_op put = {BC_ETCD_OP_PUT, lkey, strlen(lkey),
						 k->node, strlen(k->node), lease, false};
			struct bc_etcd_op get = {BC_ETCD_OP_RANGE, lkey, strlen(lkey),
						 NULL, 0, 0, false};
			struct bc_etcd_txn_result t;

			if (bc_etcd_txn(e, &cmp, 1, &put, 1, &get, 1, &t, err,
					sizeof(err)) < 0) {
				fine = false;
			} else {
				if (t.succeeded) {
					leader = true;
					lleader = lease;
					snprintf(lname, sizeof(lname), "%s", k->node);
				} else if (t.n == 1 && t.r[0].range.n == 1) {
					const struct bc_etcd_kv *kv = &t.r[0].range.kvs[0];

					lleader = kv->lease;
					snprintf(lname, sizeof(lname), "%.*s",
						 (int)(kv->value_len < CL_NAME_MAX - 1
							       ? kv->value_len
							       : CL_NAME_MAX - 1),
						 (const char *)kv->value);
					leader = kv->lease == lease;
				} else {
					leader = false;
					lname[0] = '\0';
				}
				bc_etcd_txn_free(&t);
			}
		}
		if (fine)
			last_ok = now;
		/* etcd silent longer than the lease: it has expired there */
		if (!fine && now - last_ok >= ttl_ms)
			leader = false;
		ok = fine || now - last_ok < ttl_ms;
		set_state(k, lease, leader && lease != 0, leader || fine ? lname : "",
			  lleader, ok, err);
		/* the leader's process died: its lease goes now, not in a ttl */
		if (fine && !leader &&
		    cl_peer_tick(&peer, e, k, lname, lleader)) {
			char why[BC_ETCD_ERR_MAX];

			if (bc_etcd_lease_revoke(e, lleader, why, sizeof(why)) == 0) {
				bc_warn("cluster: leader %s is gone (its endpoint "
					"closed the connection and refuses a new one): "
					"its lease %" PRIx64 " revoked, campaigning",
					lname, (uint64_t)lleader);
				continue; /* campaign at once */
			}
		}
		nap(CL_SESSION_MS);
	}
	cl_peer_close(&peer);
	if (lease != 0) /* a clean stop hands leadership over at once */
		bc_etcd_lease_revoke(e, lease, err, sizeof(err));
	bc_etcd_free(&e);
	return NULL;
}

/* ---- watch thread ----------------------------------------------------- */

struct wctx {
	struct bc_cluster *k;
	void *pipe;
};

static void send_msg(void *pipe, int type, int64_t rev, const void *key,
		     size_t klen, const void *val, size_t vlen)
{
	uint8_t h[9];
	int i;

	h[0] = (uint8_t)type;
	for (i = 0; i < 8; i++)
		h[1 + i] = (uint8_t)((uint64_t)rev >> (8 * i));
	zmq_send(pipe, h, sizeof(h), ZMQ_SNDMORE);
	zmq_send(pipe, key, klen, ZMQ_SNDMORE);
	zmq_send(pipe, val, vlen, 0);
}

static int on_event(void *arg, const struct bc_etcd_event *ev)
{
	struct wctx *w = arg;

	send_msg(w->pipe, ev->type == BC_ETCD_EV_PUT ? CL_MSG_PUT : CL_MSG_DEL,
		 ev->kv->mod_revision, ev->kv->key, ev->kv->key_len,
		 ev->kv->value, ev->kv->value_len);
	return atomic_load(&w->k->stop) ? 1 : 0;
}

/* a decision record's seq ("q", written first by cl_record); 0 else */
static uint64_t rec_seq(const struct bc_etcd_kv *kv)
{
	const char *v = (const char *)kv->value;

	return kv->value_len > 5 && strncmp(v, "{\"q\":", 5) == 0
		       ? strtoull(v + 5, NULL, 10) : 0;
}

/* revision order; within one revision (one txn), decisions in seq order
 * (etcd lists a txn's keys in key order) */
static int by_rev(const void *a, const void *b)
{
	const struct bc_etcd_kv *x = a, *y = b;
	uint64_t qx, qy;

	if (x->mod_revision != y->mod_revision)
		return x->mod_revision < y->mod_revision ? -1 : 1;
	qx = rec_seq(x);
	qy = rec_seq(y);
	return qx < qy ? -1 : qx > qy ? 1 : 0;
}

/* The whole prefix, in revision order, between RESET and SYNCED. */
static int read_all(struct bc_cluster *k, struct bc_etcd *e, void *pipe,
		    int64_t *rev, char *err, size_t errlen)
{
	struct bc_etcd_range r;
	size_t i;

	if (bc_etcd_get(e, k->prefix, k->plen, true, 0, 0, &r, err, errlen) < 0)
		return -1;
	qsort(r.kvs, r.n, sizeof(*r.kvs), by_rev);
	send_msg(pipe, CL_MSG_RESET, r.revision, "", 0, "", 0);
	for (i = 0; i < r.n; i++)
		send_msg(pipe, CL_MSG_PUT, r.kvs[i].mod_revision, r.kvs[i].key,
			 r.kvs[i].key_len, r.kvs[i].value, r.kvs[i].value_len);
	send_msg(pipe, CL_MSG_SYNCED, r.revision, "", 0, "", 0);
	*rev = r.revision;
	bc_etcd_range_free(&r);
	return 0;
}

static void *watch_main(void *arg)
{
	struct bc_cluster *k = arg;
	struct wctx w = {k, k->pipe_w};
	struct bc_etcd *e;
	struct bc_etcd_opts o = k->opts;
	char err[BC_ETCD_ERR_MAX];
	int64_t rev = 0, next = 0;
	bool need_read = true;
	int64_t last_err_log = 0;

	o.timeout_ms = 2000;
	o.max_reply = CL_READ_MAX; /* the whole prefix in one range */
	e = bc_etcd_new(&o, err, sizeof(err));
	if (e == NULL) {
		send_msg(w.pipe, CL_MSG_ERROR, 0, "", 0, err, strlen(err));
		return NULL;
	}
	while (!atomic_load(&k->stop)) {
		enum bc_etcd_watch_end end;

		if (need_read) {
			if (read_all(k, e, w.pipe, &rev, err, sizeof(err)) < 0) {
				if (bc_mono_ms() - last_err_log > 10000) {
					bc_warn("cluster: reading %s: %s", k->prefix, err);
					last_err_log = bc_mono_ms();
				}
				nap(200);
				continue;
			}
			next = rev + 1;
			need_read = false;
		}
		end = bc_etcd_watch(e, k->prefix, k->plen, next, on_event, &w,
				    &k->stop, &next, NULL, err, sizeof(err));
		if (end == BC_ETCD_WATCH_COMPACTED) {
			bc_warn("cluster: watch from revision %" PRId64
				" compacted away: reading the prefix again", next);
			need_read = true;
		} else if (end == BC_ETCD_WATCH_ERROR) {
			if (bc_mono_ms() - last_err_log > 10000) {
				bc_warn("cluster: watch: %s (again from revision %" PRId64 ")",
					err, next);
				last_err_log = bc_mono_ms();
			}
			nap(100);
		}
	}
	bc_etcd_free(&e);
	return NULL;
}

/* ---- start, stop ------------------------------------------------------ */

static int read_or_create(struct bc_cluster *k, const char *name,
			  uint64_t initial, uint64_t *out, char *err,
			  size_t errlen)
{
	char key[CL_KEY_MAX], v[32];
	struct bc_etcd_cmp cmp = {key, 0, BC_ETCD_VERSION, BC_ETCD_EQUAL, 0, NULL, 0};
	struct bc_etcd_op put = {BC_ETCD_OP_PUT, key, 0, v, 0, 0, false};
	struct bc_etcd_op get = {BC_ETCD_OP_RANGE, key, 0, NULL, 0, 0, false};
	struct bc_etcd_txn_result t;
	char *end;

	cl_key(k, key, sizeof(key), "%s", name);
	cmp.key_len = put.key_len = get.key_len = strlen(key);
	snprintf(v, sizeof(v), "%" PRIu64, initial);
	put.value_len = strlen(v);
	if (bc_etcd_txn(k->etcd, &cmp, 1, &put, 1, &get, 1, &t, err, errlen) < 0)
		return -1;
	if (t.succeeded) {
		*out = initial;
	} else if (t.n == 1 && t.r[0].range.n == 1) {
		errno = 0;
		*out = strtoull((const char *)t.r[0].range.kvs[0].value, &end, 10);
		if (errno != 0 || *end != '\0' || end == (char *)t.r[0].range.kvs[0].value) {
			snprintf(err, errlen, "%s: not a number in etcd", key);
			bc_etcd_txn_free(&t);
			return -1;
		}
	} else {
		snprintf(err, errlen, "%s: unexpected answer", key);
		bc_etcd_txn_free(&t);
		return -1;
	}
	bc_etcd_txn_free(&t);
	return 0;
}

int bc_cluster_check(const struct bc_coord_cfg *cfg, const char *cfgpath,
		     char *err, size_t errlen)
{
	struct bc_etcd_opts o = {0};
	struct bc_etcd *e;
	char why[BC_ETCD_ERR_MAX];
	const char *files[3] = {cfg->etcd_cert, cfg->etcd_key, cfg->etcd_ca};
	const char *names[3] = {"etcd_cert", "etcd_key", "etcd_ca"};
	int i;

	o.endpoints = cfg->etcd;
	e = bc_etcd_new(&o, why, sizeof(why));
	if (e == NULL) {
		snprintf(err, errlen, "%s: [cluster] etcd: %s", cfgpath, why);
		return -1;
	}
	bc_etcd_free(&e);
	for (i = 0; i < 3; i++)
		if (files[i][0] != '\0' && access(files[i], R_OK) != 0) {
			snprintf(err, errlen, "%s: [cluster] %s: %s: %s", cfgpath,
				 names[i], files[i], strerror(errno));
			return -1;
		}
	if ((cfg->etcd_cert[0] == '\0') != (cfg->etcd_key[0] == '\0')) {
		snprintf(err, errlen, "%s: [cluster] etcd_cert and etcd_key go "
			 "together", cfgpath);
		return -1;
	}
	return 0;
}

int bc_cluster_start(struct bc_coord *c, char *err, size_t errlen)
{
	struct bc_cluster *k = calloc(1, sizeof(*k));
	char host[CL_NAME_MAX], e[BC_ETCD_ERR_MAX];
	uint64_t epoch = 0, seq0;
	int64_t t0;

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->cluster = k;
	k->c = c;
	/* etcd holds the allow list (PREFIX/al/) as it holds the bans: the
	 * store's is kept where etcd holds it alike (cluster_apply.c) */
	k->reset_allows = c->allows;
	memset(&c->allows, 0, sizeof(c->allows));
	/* the store's bans: kept where etcd holds them alike (cluster_apply.c) */
	k->reset_bans = c->bans;
	memset(&c->bans, 0, sizeof(c->bans));
	k->cur_agent = SIZE_MAX;
	k->started_ms = bc_now_ms();
	pthread_mutex_init(&k->mu, NULL);
	pthread_mutex_init(&k->cmu, NULL);
	pthread_cond_init(&k->ccv, NULL);
	pthread_mutex_init(&k->emu, NULL);
	pthread_cond_init(&k->ecv, NULL);
	k->commit_fd = -1;
	k->ev_fd = -1;
	k->etcd_ok = true;
	snprintf(k->prefix, sizeof(k->prefix), "/bancluster/%.63s/", c->cfg.cluster);
	k->plen = strlen(k->prefix);
	if (c->cfg.node[0] != '\0') {
		snprintf(k->node, sizeof(k->node), "%.63s", c->cfg.node);
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "coordinator");
		host[sizeof(host) - 1] = '\0';
		snprintf(k->node, sizeof(k->node), "%s", host);
	}
	if (!bc_name_valid(k->node)) { /* a host name config did not check */
		char esc[256];

		bc_escape(esc, sizeof(esc), k->node, strlen(k->node));
		snprintf(err, errlen, "[cluster] name: the host name \"%s\" is "
			 "not a node name (letters, digits, '.', '_', '-'): set "
			 "name", esc);
		return -1;
	}
	/* the threads read copies: a reload rewrites c->cfg */
	memcpy(k->etcd_eps, c->cfg.etcd, sizeof(k->etcd_eps));
	memcpy(k->cert, c->cfg.etcd_cert, sizeof(k->cert));
	memcpy(k->key, c->cfg.etcd_key, sizeof(k->key));
	memcpy(k->ca, c->cfg.etcd_ca, sizeof(k->ca));
	memcpy(k->advertise, c->cfg.advertise[0] ? c->cfg.advertise : c->cfg.listen,
	       sizeof(k->advertise));
	k->ttl_s = c->cfg.lease_ttl;
	k->opts.endpoints = k->etcd_eps;
	k->opts.cert = k->cert[0] ? k->cert : NULL;
	k->opts.key = k->key[0] ? k->key : NULL;
	k->opts.ca = k->ca[0] ? k->ca : NULL;
	k->opts.attempt_ms = 500;
	k->opts.timeout_ms = 2000;
	k->etcd = bc_etcd_new(&k->opts, e, sizeof(e));
	if (k->etcd == NULL) {
		snprintf(err, errlen, "[cluster] etcd: %s", e);
		return -1;
	}
	/* the cluster's epoch: made once, by the first coordinator */
	randombytes_buf(&epoch, sizeof(epoch));
	epoch = (epoch >> 1) | 1; /* never 0, fits int64 */
	t0 = bc_mono_ms();
	while (read_or_create(k, "epoch", epoch, &c->epoch, e, sizeof(e)) < 0 ||
	       read_or_create(k, "seq", 0, &seq0, e, sizeof(e)) < 0) {
		if (bc_mono_ms() - t0 > 30000) {
			snprintf(err, errlen, "[cluster] etcd %s: %s", c->cfg.etcd, e);
			return -1;
		}
		bc_warn("cluster: etcd: %s (trying again)", e);
		nap(500);
	}
	k->seq_known = seq0;
	/* one name, one coordinator: hooks, the digest and evidence follow
	 * the name. A registration of this name still alive is another
	 * coordinator, or this one killed less than lease_ttl ago: wait for
	 * it to expire, then refuse */
	{
		char nkey[CL_KEY_MAX];
		int64_t until = bc_mono_ms() + k->ttl_s * 1000 + 2000;
		struct bc_etcd_range r;

		cl_key(k, nkey, sizeof(nkey), "n/%s", k->node);
		for (;;) {
			if (bc_etcd_get(k->etcd, nkey, strlen(nkey), false, 0, 0, &r, e,
					sizeof(e)) < 0) {
				snprintf(err, errlen, "[cluster] etcd %s: %s", c->cfg.etcd, e);
				return -1;
			}
			if (r.n == 0) {
				bc_etcd_range_free(&r);
				break;
			}
			bc_etcd_range_free(&r);
			if (bc_mono_ms() > until) {
				snprintf(err, errlen, "[cluster] name %s: another coordinator "
					 "of this name is running (its registration %s is "
					 "alive): give each coordinator its own name",
					 k->node, nkey);
				return -1;
			}
			nap(200);
		}
	}
	k->pipe_r = zmq_socket(c->zctx, ZMQ_PAIR);
	k->pipe_w = zmq_socket(c->zctx, ZMQ_PAIR);
	if (k->pipe_r == NULL || k->pipe_w == NULL ||
	    zmq_bind(k->pipe_r, "inproc://bc-cluster-watch") < 0 ||
	    zmq_connect(k->pipe_w, "inproc://bc-cluster-watch") < 0) {
		snprintf(err, errlen, "cluster pipe: %s", zmq_strerror(errno));
		return -1;
	}
	{
		int hwm = 0; /* never drop a watched change */

		zmq_setsockopt(k->pipe_r, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(k->pipe_w, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	}
	if (pthread_create(&k->watch_th, NULL, watch_main, k) != 0) {
		snprintf(err, errlen, "cluster: cannot start the watch thread");
		return -1;
	}
	k->watch_up = true;
	/* the cluster's state before anything is served */
	while (!k->synced) {
		zmq_pollitem_t it = {k->pipe_r, 0, ZMQ_POLLIN, 0};

		if (zmq_poll(&it, 1, 1000) > 0)
			bc_cluster_drain(c);
		else if (bc_mono_ms() - t0 > 60000) {
			snprintf(err, errlen, "[cluster] etcd %s: cannot read %s",
				 c->cfg.etcd, k->prefix);
			return -1;
		}
	}
	if (cl_commit_start(k, err, errlen) < 0 || cl_events_start(k, err, errlen) < 0)
		return -1;
	if (pthread_create(&k->session_th, NULL, session_main, k) != 0) {
		snprintf(err, errlen, "cluster: cannot start the session thread");
		return -1;
	}
	k->session_up = true;
	bc_info("cluster: %s of cluster %s on etcd %s: epoch %" PRIu64
		", seq %" PRIu64 ", %zu active bans, revision %" PRId64,
		k->node, c->cfg.cluster, c->cfg.etcd, c->epoch, c->seq, c->bans.n,
		k->applied_rev);
	return 0;
}

void bc_cluster_stop(struct bc_coord *c)
{
	struct bc_cluster *k = c->cluster;
	size_t i;

	if (k == NULL)
		return;
	cl_events_stop(k); /* first: the last batch's acks go out */
	atomic_store(&k->stop, 1);
	if (k->session_up)
		pthread_join(k->session_th, NULL);
	if (k->watch_up)
		pthread_join(k->watch_th, NULL);
	cl_commit_stop(k);
	if (k->pipe_r)
		zmq_close(k->pipe_r);
	if (k->pipe_w)
		zmq_close(k->pipe_w);
	bc_etcd_free(&k->etcd);
	for (i = 0; i < k->nq; i++)
		cl_prop_free(&k->q[i]);
	for (i = 0; i < k->nfl; i++)
		cl_flight_free(&k->fl[i]);
	free(k->q);
	free(k->fl);
	cl_idx_free(&k->qi);
	cl_idx_free(&k->fli);
	free(k->enq);
	free(k->ev);
	free(k->reps);
	free(k->seen);
	bc_banmap_free(&k->reset_bans);
	bc_allowlist_free(&k->reset_allows);
	pthread_mutex_destroy(&k->mu);
	pthread_mutex_destroy(&k->cmu);
	pthread_cond_destroy(&k->ccv);
	pthread_mutex_destroy(&k->emu);
	pthread_cond_destroy(&k->ecv);
	free(k);
	c->cluster = NULL;
}

/* ---- status ----------------------------------------------------------- */

static char *adup(struct bc_arena *ar, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = bc_arena_alloc(ar, n);

	if (d != NULL)
		memcpy(d, s, n);
	return d != NULL ? d : (char *)"";
}

/* one coordinator's registration {"endpoint","started_ms","software"}
 * (session_main writes it), read with jansson; what is missing stays "" */
static void parse_reg(const struct bc_etcd_kv *kv, Bancluster__ClusterNode *n,
		      struct bc_arena *ar)
{
	json_error_t je;
	json_t *o = json_loadb((const char *)kv->value, kv->value_len,
			       JSON_REJECT_DUPLICATES, &je);
	json_t *ep = json_object_get(o, "endpoint"), *sw = json_object_get(o, "software");
	json_t *st = json_object_get(o, "started_ms");

	if (json_is_string(ep))
		n->endpoint = adup(ar, json_string_value(ep));
	if (json_is_string(sw))
		n->software = adup(ar, json_string_value(sw));
	if (json_is_integer(st))
		n->started_ms = (int64_t)json_integer_value(st);
	json_decref(o);
}

void bc_cluster_status(struct bc_coord *c, struct bc_arena *ar,
		       Bancluster__AdminReply *r)
{
	struct bc_cluster *k = c->cluster;
	Bancluster__ClusterStatus *cs;
	struct bc_etcd_range nodes;
	struct bc_etcd_member m[BC_ETCD_MEMBERS_MAX];
	size_t nm = 0, i;
	char key[CL_KEY_MAX], err[BC_ETCD_ERR_MAX];
	uint64_t leader_id = 0;

	if (k == NULL)
		return;
	cs = bc_arena_alloc(ar, sizeof(*cs));
	if (cs == NULL)
		return;
	bancluster__cluster_status__init(cs);
	cs->name = adup(ar, k->node);
	pthread_mutex_lock(&k->mu);
	cs->leader = adup(ar, k->leader_name);
	cs->lease_id = k->leader_lease;
	cs->etcd_ok = k->etcd_ok;
	cs->etcd_error = adup(ar, k->etcd_err);
	pthread_mutex_unlock(&k->mu);
	cs->lease_ttl = c->cfg.lease_ttl;
	cs->revision = k->applied_rev;
	cs->pending = k->nq;
	if (!cs->etcd_ok) { /* every call would wait for its timeout */
		r->cluster = cs;
		return;
	}
	cl_key(k, key, sizeof(key), "n/");
	if (bc_etcd_get(k->etcd, key, strlen(key), true, 0, 64, &nodes, err,
			sizeof(err)) == 0) {
		cs->coordinators = bc_arena_alloc(ar, (nodes.n + 1) * sizeof(void *));
		for (i = 0; cs->coordinators != NULL && i < nodes.n; i++) {
			Bancluster__ClusterNode *n = bc_arena_alloc(ar, sizeof(*n));

			if (n == NULL)
				break;
			bancluster__cluster_node__init(n);
			n->name = adup(ar, (const char *)nodes.kvs[i].key + strlen(key));
			n->leader = strcmp(n->name, cs->leader) == 0;
			parse_reg(&nodes.kvs[i], n, ar);
			cs->coordinators[cs->n_coordinators++] = n;
		}
		bc_etcd_range_free(&nodes);
	}
	if (bc_etcd_members(k->etcd, m, BC_ETCD_MEMBERS_MAX, &nm, err, sizeof(err)) < 0)
		nm = 0;
	cs->etcd = nm ? bc_arena_alloc(ar, nm * sizeof(void *)) : NULL;
	for (i = 0; cs->etcd != NULL && i < nm; i++) {
		Bancluster__EtcdMember *em = bc_arena_alloc(ar, sizeof(*em));
		struct bc_etcd_opts o = k->opts;
		struct bc_etcd *one;
		struct bc_etcd_status st;

		if (em == NULL)
			break;
		bancluster__etcd_member__init(em);
		em->id = m[i].id;
		em->name = adup(ar, m[i].name);
		em->client_url = adup(ar, m[i].client_url);
		/* health: that member alone answers a status call */
		o.endpoints = m[i].client_url;
		o.timeout_ms = o.attempt_ms = o.connect_ms = 500;
		one = m[i].client_url[0] ? bc_etcd_new(&o, err, sizeof(err)) : NULL;
		if (one != NULL && bc_etcd_status(one, &st, err, sizeof(err)) == 0) {
			em->healthy = true;
			if (st.leader != 0)
				leader_id = st.leader;
		}
		bc_etcd_free(&one);
		cs->etcd[cs->n_etcd++] = em;
	}
	for (i = 0; i < cs->n_etcd; i++)
		cs->etcd[i]->leader = leader_id != 0 && cs->etcd[i]->id == leader_id;
	r->cluster = cs;
}

void bc_cluster_metrics(struct bc_coord *c, struct bc_cluster_metrics *m)
{
	struct bc_cluster *k = c->cluster;

	memset(m, 0, sizeof(*m));
	if (k == NULL)
		return;
	m->leader = cl_is_leader(k, NULL);
	m->etcd_ok = cl_etcd_ok(k);
	m->pending = k->nq;
	m->commits = k->commits;
	m->commit_failures = k->commit_failures;
	m->lease_failures = k->house_lease_failures;
	m->fenced = k->fenced;
	m->event_puts = k->event_puts;
	m->event_put_failures = k->event_put_failures;
	m->applied = k->applied;
	m->malformed = k->bad_records;
	m->duplicate_reports = k->dup_reports;
	m->revision = k->applied_rev;
}
