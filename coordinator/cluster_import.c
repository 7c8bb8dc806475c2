/*
 * cluster_import.c - bancluster-coordinator --cluster-import: a site
 * moving from one coordinator to a cluster (docs/ha.md) copies the
 * active bans and the offence history (recidive_window) of its SQLite
 * store into the etcd of [cluster], once, before the cluster's first
 * decision: refused when etcd holds decisions already (PREFIX/seq above
 * 0), so an import never overwrites what a cluster decided.
 *
 * Bans become decision records numbered 1..n ("ban", node "import",
 * their origin, reason, creation and expiry kept), the entries of
 * `bancluster allow` allow list records numbered after them, offences the
 * PREFIX/off/ histories escalation reads, in transactions of at most
 * max_txn_ops operations, the last one setting PREFIX/seq to n. Each
 * txn compares PREFIX/seq with what the previous one set, so two
 * imports (or a coordinator deciding meanwhile) cannot interleave.
 * Prints one line of what it did; errors are one line and exit 1.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "coordinator/cluster_int.h"

struct imp {
	struct bc_store_ban *bans;
	size_t n, cap;
	char (*keys)[BC_ADDR_STRLEN];
	size_t nk, capk;
};

static void take_ban(const struct bc_store_ban *b, void *arg)
{
	struct imp *m = arg;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		void *p = realloc(m->bans, cap * sizeof(*m->bans));

		if (p == NULL)
			return;
		m->bans = p;
		m->cap = cap;
	}
	m->bans[m->n++] = *b;
}

static void take_key(const char *key, void *arg)
{
	struct imp *m = arg;

	if (m->nk == m->capk) {
		size_t cap = m->capk ? m->capk * 2 : 256;
		void *p = realloc(m->keys, cap * sizeof(*m->keys));

		if (p == NULL)
			return;
		m->keys = p;
		m->capk = cap;
	}
	snprintf(m->keys[m->nk++], sizeof(m->keys[0]), "%s", key);
}

static char *history(struct bc_store *s, const struct bc_addr *a, int64_t since)
{
	int64_t t[CL_OFFENCES_MAX];
	long n = bc_store_offence_times(s, a, since, t, CL_OFFENCES_MAX), i;
	json_t *o = json_object(), *arr = json_array();
	char *out = NULL;

	if (n > 0 && o != NULL && arr != NULL) {
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_integer(t[i]));
		json_object_set(o, "t", arr);
		out = json_dumps(o, JSON_COMPACT);
	}
	json_decref(arr);
	json_decref(o);
	return out;
}

/* One txn: compare seq == from, ops, set seq to to. */
static int put_batch(struct bc_cluster *k, struct bc_etcd_op *ops, size_t n,
		     uint64_t from, uint64_t to, char *err, size_t errlen)
{
	char skey[CL_KEY_MAX], sv[24], nv[24];
	struct bc_etcd_cmp cmp;
	struct bc_etcd_txn_result t;
	int rc;

	cl_key(k, skey, sizeof(skey), "seq");
	snprintf(sv, sizeof(sv), "%" PRIu64, from);
	snprintf(nv, sizeof(nv), "%" PRIu64, to);
	cmp = (struct bc_etcd_cmp){skey, strlen(skey), from ? BC_ETCD_VALUE : BC_ETCD_VERSION,
				   BC_ETCD_EQUAL, 0, sv, strlen(sv)};
	if (from == 0) { /* absent, or "0" */
		struct bc_etcd_range r;

		if (bc_etcd_get(k->etcd, skey, strlen(skey), false, 0, 0, &r, err,
				errlen) < 0)
			return -1;
		if (r.n == 1)
			cmp = (struct bc_etcd_cmp){skey, strlen(skey), BC_ETCD_VALUE,
						   BC_ETCD_EQUAL, 0, sv, strlen(sv)};
		bc_etcd_range_free(&r);
	}
	ops[n] = (struct bc_etcd_op){BC_ETCD_OP_PUT, skey, strlen(skey), nv,
				     strlen(nv), 0, false};
	if (bc_etcd_txn(k->etcd, &cmp, 1, ops, n + 1, NULL, 0, &t, err, errlen) < 0)
		return -1;
	rc = t.succeeded ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "etcd's decisions changed during the import "
			 "(another import, or a coordinator deciding): nothing "
			 "more written");
	bc_etcd_txn_free(&t);
	return rc;
}

int bc_cluster_import(const char *cfgpath)
{
	struct bc_coord *c = calloc(1, sizeof(*c));
	struct bc_cluster *k = calloc(1, sizeof(*k));
	struct imp m = {0};
	struct bc_allowlist al = {0};
	char err[512], skey[CL_KEY_MAX];
	struct bc_etcd_range r;
	struct bc_etcd_op *ops = NULL;
	char **vals = NULL, (*keys)[CL_KEY_MAX] = NULL;
	size_t per, i, j, done = 0, nhist = 0, total, nkeys = 0;
	uint64_t seq = 0, epoch;
	int64_t since;
	int rc = 1;

	if (c == NULL || k == NULL)
		bc_fatal(1, "out of memory");
	if (bc_coord_load_config(&c->cfg, cfgpath, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	if (c->cfg.etcd[0] == '\0')
		bc_fatal(1, "%s: [cluster] etcd is not set: nothing to import into",
			 cfgpath);
	c->store = bc_store_open(c->cfg.database, err, sizeof(err));
	if (c->store == NULL)
		bc_fatal(1, "%s", err);
	k->c = c;
	snprintf(k->prefix, sizeof(k->prefix), "/bancluster/%.63s/", c->cfg.cluster);
	k->plen = strlen(k->prefix);
	snprintf(k->node, sizeof(k->node), "import");
	k->opts.endpoints = c->cfg.etcd;
	k->opts.cert = c->cfg.etcd_cert[0] ? c->cfg.etcd_cert : NULL;
	k->opts.key = c->cfg.etcd_key[0] ? c->cfg.etcd_key : NULL;
	k->opts.ca = c->cfg.etcd_ca[0] ? c->cfg.etcd_ca : NULL;
	k->etcd = bc_etcd_new(&k->opts, err, sizeof(err));
	if (k->etcd == NULL)
		bc_fatal(1, "[cluster] etcd: %s", err);
	/* refused over a cluster that decided anything */
	cl_key(k, skey, sizeof(skey), "seq");
	if (bc_etcd_get(k->etcd, skey, strlen(skey), false, 0, 0, &r, err,
			sizeof(err)) < 0)
		bc_fatal(1, "etcd %s: %s", c->cfg.etcd, err);
	if (r.n == 1 && strcmp((const char *)r.kvs[0].value, "0") != 0)
		bc_fatal(1, "etcd %s: cluster %s holds %s decisions already: an "
			 "import only goes into a cluster that has made none",
			 c->cfg.etcd, c->cfg.cluster, (const char *)r.kvs[0].value);
	bc_etcd_range_free(&r);
	since = bc_now_ms() - c->cfg.recidive_window * 1000;
	if (bc_store_each(c->store, take_ban, &m) < 0 ||
	    bc_store_offence_keys(c->store, since, take_key, &m) < 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	if (bc_store_allow_load(c->store, &al) < 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	total = m.n + al.n + m.nk;
	per = (size_t)c->cfg.max_txn_ops - 1;
	ops = calloc(per + 1, sizeof(*ops));
	vals = calloc(per, sizeof(*vals));
	keys = calloc(per, sizeof(*keys));
	if (ops == NULL || vals == NULL || keys == NULL)
		bc_fatal(1, "out of memory");
	/* the epoch, when this is the cluster's very first write */
	randombytes_buf(&epoch, sizeof(epoch));
	epoch = (epoch >> 1) | 1;
	{
		char ekey[CL_KEY_MAX], ev[24];
		struct bc_etcd_cmp cmp;
		struct bc_etcd_op put;
		struct bc_etcd_txn_result t;

		cl_key(k, ekey, sizeof(ekey), "epoch");
		snprintf(ev, sizeof(ev), "%" PRIu64, epoch);
		cmp = (struct bc_etcd_cmp){ekey, strlen(ekey), BC_ETCD_VERSION,
					   BC_ETCD_EQUAL, 0, NULL, 0};
		put = (struct bc_etcd_op){BC_ETCD_OP_PUT, ekey, strlen(ekey), ev,
					  strlen(ev), 0, false};
		if (bc_etcd_txn(k->etcd, &cmp, 1, &put, 1, NULL, 0, &t, err,
				sizeof(err)) < 0)
			bc_fatal(1, "etcd %s: %s", c->cfg.etcd, err);
		bc_etcd_txn_free(&t);
	}
	for (i = 0; i < total;) {
		size_t n = 0;
		uint64_t to = seq;

		for (; i < total && n < per; i++) {
			if (i < m.n) {
				const struct bc_store_ban *b = &m.bans[i];

				cl_dkey(k, &b->ban.addr, keys[n], sizeof(keys[n]));
				vals[n] = cl_record(k, b, "ban", "import", false, ++to);
			} else if (i < m.n + al.n) {
				/* `bancluster allow` entries, numbered after the
				 * bans, their creation, expiry, comment and admin kept */
				const struct bc_allow *e = &al.v[i - m.n];

				cl_alkey(k, &e->addr, keys[n], sizeof(keys[n]));
				vals[n] = cl_allow_record(k, e, "allow", e->by, ++to);
			} else {
				struct bc_addr a;
				const char *ks = m.keys[i - m.n - al.n];

				if (bc_addr_parse(&a, ks, strlen(ks), err, sizeof(err)) < 0)
					continue;
				cl_offkey(k, &a, keys[n], sizeof(keys[n]));
				vals[n] = history(c->store, &a, since);
				if (vals[n] == NULL)
					continue;
				nhist++;
			}
			if (vals[n] == NULL)
				bc_fatal(1, "out of memory");
			/* a history goes on the lease that lets etcd forget
			 * it after recidive_window, as the leader's do */
			ops[n] = (struct bc_etcd_op){
				BC_ETCD_OP_PUT, keys[n], strlen(keys[n]), vals[n],
				strlen(vals[n]),
				i < m.n + al.n ? 0 : cl_house_lease(k, CL_HOUSE_OFF),
				false};
			n++;
		}
		if (put_batch(k, ops, n, seq, to, err, sizeof(err)) < 0) {
			fprintf(stderr, "bancluster-coordinator: --cluster-import: %s "
				"(%zu of %zu bans and allow list entries written)\n",
				err, done, m.n + al.n);
			goto out;
		}
		for (j = 0; j < n; j++) {
			free(vals[j]);
			vals[j] = NULL;
		}
		done = to;
		seq = to;
	}
	/* the enrolled keys: every coordinator of the cluster takes them */
	{
		struct bc_keyring ring = {0};

		if (bc_keyring_load_dir(&ring, c->cfg.agents_dir, BC_ROLE_AGENT, err,
					sizeof(err)) < 0 ||
		    bc_keyring_load_dir(&ring, c->cfg.admins_dir, BC_ROLE_ADMIN, err,
					sizeof(err)) < 0) {
			fprintf(stderr, "bancluster-coordinator: --cluster-import: %s "
				"(the bans are imported, the keys are not)\n", err);
			bc_keyring_free(&ring);
			goto out;
		}
		for (j = 0; j < ring.n; j++) {
			char kk[CL_KEY_MAX], b64[BC_KEY_B64_LEN];

			cl_key(k, kk, sizeof(kk), "k/%s/%s",
			       ring.v[j].role == BC_ROLE_ADMIN ? "admin" : "agent",
			       ring.v[j].name);
			bc_key_public_b64(ring.v[j].pk, b64);
			if (bc_etcd_put(k->etcd, kk, strlen(kk), b64, strlen(b64), 0,
					NULL, err, sizeof(err)) < 0) {
				fprintf(stderr, "bancluster-coordinator: --cluster-import: "
					"%s (the bans are imported, %zu of %zu keys)\n",
					err, j, ring.n);
				bc_keyring_free(&ring);
				goto out;
			}
		}
		nkeys = ring.n;
		bc_keyring_free(&ring);
	}
	printf("imported %zu active bans, %zu allow list entries, %zu offence "
	       "histories (the last %llds) and %zu enrolled keys from %s into "
	       "etcd %s, cluster %s; decisions go on from seq %" PRIu64 "\n",
	       m.n, al.n, nhist, (long long)c->cfg.recidive_window, nkeys,
	       c->cfg.database,
	       c->cfg.etcd, c->cfg.cluster, seq);
	rc = 0;
out:
	for (j = 0; vals != NULL && j < per; j++)
		free(vals[j]);
	free(vals);
	free(keys);
	free(ops);
	free(m.bans);
	free(m.keys);
	bc_allowlist_free(&al);
	bc_etcd_free(&k->etcd);
	bc_store_close(&c->store);
	bc_coord_free_config(&c->cfg);
	free(k);
	free(c);
	return rc;
}
