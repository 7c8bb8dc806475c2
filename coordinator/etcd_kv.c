/*
 * etcd_kv.c - the unary calls of the etcd client (etcd.h): range, put,
 * delete range, txn, lease grant / keep-alive / revoke, member list and
 * status, each one JSON request to the v3 gateway through bc_etcd_rpc
 * (etcd.c) and one checked reply.
 *
 * Inputs: the caller's keys, values and ops (trusted) and the replies
 * (untrusted: every field through the typed getters of etcd.c; a field of
 * the wrong type, a bad base64 or a response of the wrong kind makes the
 * call fail with "malformed reply"). Results are owned by the caller
 * (bc_etcd_range_free, bc_etcd_txn_free). Never prints, never exits.
 */
#include "coordinator/etcd_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(char *err, size_t errlen)
{
	bc_etcd_err(err, errlen, "etcd: out of memory");
	return -1;
}

static int malformed(const struct bc_etcd *e, const char *what, char *err, size_t errlen)
{
	bc_etcd_err(err, errlen, "etcd %s: malformed reply (%s)", bc_etcd_endpoint(e), what);
	return -1;
}

/* ---- range / put / delete --------------------------------------------- */

static json_t *range_req(const void *key, size_t key_len, bool prefix, int64_t revision,
			 int64_t limit)
{
	json_t *r = json_object();

	if (r == NULL || bc_etcd_set_key(r, key, key_len, prefix) < 0 ||
	    (revision > 0 && bc_etcd_set_i64(r, "revision", revision) < 0) ||
	    (limit > 0 && bc_etcd_set_i64(r, "limit", limit) < 0)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static json_t *put_req(const void *key, size_t key_len, const void *value, size_t value_len,
		       int64_t lease)
{
	json_t *r = json_object();

	if (r == NULL || bc_etcd_set_key(r, key, key_len, false) < 0 ||
	    json_object_set_new(r, "value", bc_etcd_b64(value, value_len)) < 0 ||
	    (lease != 0 && bc_etcd_set_i64(r, "lease", lease) < 0)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static json_t *delete_req(const void *key, size_t key_len, bool prefix)
{
	json_t *r = json_object();

	if (r == NULL || bc_etcd_set_key(r, key, key_len, prefix) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

int bc_etcd_get(struct bc_etcd *e, const void *key, size_t key_len, bool prefix,
		int64_t revision, int64_t limit, struct bc_etcd_range *out,
		char *err, size_t errlen)
{
	json_t *req = range_req(key, key_len, prefix, revision, limit), *rep;
	int rc;

	memset(out, 0, sizeof(*out));
	if (req == NULL)
		return oom(err, errlen);
	rc = bc_etcd_rpc(e, "/v3/kv/range", req, true, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	rc = bc_etcd_range_parse(rep, out);
	json_decref(rep);
	return rc < 0 ? malformed(e, "range", err, errlen) : 0;
}

int bc_etcd_put(struct bc_etcd *e, const void *key, size_t key_len,
		const void *value, size_t value_len, int64_t lease,
		int64_t *revision, char *err, size_t errlen)
{
	json_t *req = put_req(key, key_len, value, value_len, lease), *rep;
	int64_t rev;
	int rc;

	if (req == NULL)
		return oom(err, errlen);
	rc = bc_etcd_rpc(e, "/v3/kv/put", req, false, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	rc = bc_etcd_header_rev(rep, &rev);
	json_decref(rep);
	if (rc < 0 || rev <= 0)
		return malformed(e, "put: no revision", err, errlen);
	if (revision)
		*revision = rev;
	return 0;
}

int bc_etcd_delete(struct bc_etcd *e, const void *key, size_t key_len, bool prefix,
		   int64_t *deleted, int64_t *revision, char *err, size_t errlen)
{
	json_t *req = delete_req(key, key_len, prefix), *rep;
	int64_t rev, del;
	int rc;

	if (req == NULL)
		return oom(err, errlen);
	rc = bc_etcd_rpc(e, "/v3/kv/deleterange", req, false, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	rc = bc_etcd_header_rev(rep, &rev) < 0 || bc_etcd_j_i64(rep, "deleted", &del) < 0 ? -1 : 0;
	json_decref(rep);
	if (rc < 0 || rev <= 0 || del < 0)
		return malformed(e, "delete", err, errlen);
	if (deleted)
		*deleted = del;
	if (revision)
		*revision = rev;
	return 0;
}

/* ---- txn ------------------------------------------------------------- */

static json_t *cmp_json(const struct bc_etcd_cmp *c)
{
	static const char *target[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
	static const char *field[] = {"version", "create_revision", "mod_revision", "value", "lease"};
	static const char *op[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
	json_t *j;
	int bad;

	if ((unsigned)c->target > BC_ETCD_LEASE || (unsigned)c->op > BC_ETCD_NOT_EQUAL)
		return NULL;
	j = json_object();
	if (j == NULL)
		return NULL;
	bad = bc_etcd_set_key(j, c->key, c->key_len, false) < 0 ||
	      json_object_set_new(j, "target", json_string(target[c->target])) < 0 ||
	      json_object_set_new(j, "result", json_string(op[c->op])) < 0;
	if (!bad && c->target == BC_ETCD_VALUE)
		bad = json_object_set_new(j, "value", bc_etcd_b64(c->value, c->value_len)) < 0;
	else if (!bad)
		bad = bc_etcd_set_i64(j, field[c->target], c->num) < 0;
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *op_json(const struct bc_etcd_op *o)
{
	json_t *inner, *j;
	const char *name;

	switch (o->type) {
	case BC_ETCD_OP_PUT:
		inner = put_req(o->key, o->key_len, o->value, o->value_len, o->lease);
		name = "request_put";
		break;
	case BC_ETCD_OP_DELETE:
		inner = delete_req(o->key, o->key_len, o->prefix);
		name = "request_delete_range";
		break;
	case BC_ETCD_OP_RANGE:
		inner = range_req(o->key, o->key_len, o->prefix, 0, 0);
		name = "request_range";
		break;
	default:
		return NULL;
	}
	if (inner == NULL)
		return NULL;
	j = json_object();
	if (j == NULL || json_object_set_new(j, name, inner) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *ops_json(const struct bc_etcd_op *ops, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, op_json(&ops[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

void bc_etcd_txn_free(struct bc_etcd_txn_result *t)
{
	for (size_t i = 0; i < t->n; i++)
		bc_etcd_range_free(&t->r[i].range);
	free(t->r);
	memset(t, 0, sizeof(*t));
}

/* responses[i] must answer ops[i]: same kind, same count */
static int txn_parse(const json_t *rep, const struct bc_etcd_op *ops, size_t nops,
		     struct bc_etcd_txn_result *t)
{
	const json_t *resp = json_object_get(rep, "responses");
	size_t n = 0;

	if (bc_etcd_j_bool(rep, "succeeded", &t->succeeded) < 0 ||
	    bc_etcd_header_rev(rep, &t->revision) < 0 || t->revision <= 0)
		return -1;
	if (resp != NULL && !json_is_null(resp)) {
		if (!json_is_array(resp))
			return -1;
		n = json_array_size(resp);
	}
	if (n != nops)
		return -1;
	if (n == 0)
		return 0;
	t->r = calloc(n, sizeof(*t->r));
	if (t->r == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(resp, i), *x;

		t->n++;
		t->r[i].type = ops[i].type;
		if (!json_is_object(r))
			return -1;
		switch (ops[i].type) {
		case BC_ETCD_OP_PUT:
			if (!json_is_object(json_object_get(r, "response_put")))
				return -1;
			break;
		case BC_ETCD_OP_DELETE:
			x = json_object_get(r, "response_delete_range");
			if (!json_is_object(x) || bc_etcd_j_i64(x, "deleted", &t->r[i].deleted) < 0)
				return -1;
			break;
		case BC_ETCD_OP_RANGE:
			x = json_object_get(r, "response_range");
			if (!json_is_object(x) || bc_etcd_range_parse(x, &t->r[i].range) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

int bc_etcd_txn(struct bc_etcd *e, const struct bc_etcd_cmp *cmp, size_t ncmp,
		const struct bc_etcd_op *success, size_t nsuccess,
		const struct bc_etcd_op *failure, size_t nfailure,
		struct bc_etcd_txn_result *out, char *err, size_t errlen)
{
	json_t *req, *c, *rep;
	int rc;

	memset(out, 0, sizeof(*out));
	if (nsuccess > BC_ETCD_TXN_OPS || nfailure > BC_ETCD_TXN_OPS || ncmp > BC_ETCD_TXN_OPS) {
		bc_etcd_err(err, errlen, "etcd: txn of more than %d compares or ops per branch",
			    BC_ETCD_TXN_OPS);
		return -1;
	}
	req = json_object();
	c = json_array();
	for (size_t i = 0; req && c && i < ncmp; i++)
		if (json_array_append_new(c, cmp_json(&cmp[i])) < 0) {
			json_decref(c);
			c = NULL;
		}
	if (req == NULL || c == NULL || json_object_set_new(req, "compare", c) < 0 ||
	    json_object_set_new(req, "success", ops_json(success, nsuccess)) < 0 ||
	    json_object_set_new(req, "failure", ops_json(failure, nfailure)) < 0) {
		json_decref(req);
		return oom(err, errlen);
	}
	rc = bc_etcd_rpc(e, "/v3/kv/txn", req, false, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	/* which branch ran is known only from the reply */
	rc = bc_etcd_j_bool(rep, "succeeded", &out->succeeded);
	if (rc == 0)
		rc = out->succeeded ? txn_parse(rep, success, nsuccess, out)
				    : txn_parse(rep, failure, nfailure, out);
	json_decref(rep);
	if (rc < 0) {
		bc_etcd_txn_free(out);
		return malformed(e, "txn", err, errlen);
	}
	return 0;
}

/* ---- leases ---------------------------------------------------------- */

static int lease_call(struct bc_etcd *e, const char *path, int64_t id, int64_t ttl,
		      json_t **rep, char *err, size_t errlen)
{
	json_t *req = json_object();
	int rc;

	if (req == NULL || (ttl > 0 && bc_etcd_set_i64(req, "TTL", ttl) < 0) ||
	    (id != 0 && bc_etcd_set_i64(req, "ID", id) < 0)) {
		json_decref(req);
		return oom(err, errlen);
	}
	/* a grant sent twice makes a spare lease that expires: retry is safe */
	rc = bc_etcd_rpc(e, path, req, true, rep, err, errlen);
	json_decref(req);
	return rc;
}

int bc_etcd_lease_grant(struct bc_etcd *e, int64_t ttl_s, int64_t *id, int64_t *ttl,
			char *err, size_t errlen)
{
	json_t *rep;
	int64_t i, t;
	int rc;

	if (ttl_s <= 0) {
		bc_etcd_err(err, errlen, "etcd: lease TTL must be at least 1 s");
		return -1;
	}
	if (lease_call(e, "/v3/lease/grant", 0, ttl_s, &rep, err, errlen) < 0)
		return -1;
	rc = bc_etcd_j_i64(rep, "ID", &i) < 0 || bc_etcd_j_i64(rep, "TTL", &t) < 0 ? -1 : 0;
	json_decref(rep);
	if (rc < 0 || i == 0 || t <= 0)
		return malformed(e, "lease grant", err, errlen);
	*id = i;
	if (ttl)
		*ttl = t;
	return 0;
}

int bc_etcd_lease_keepalive(struct bc_etcd *e, int64_t id, int64_t *ttl,
			    char *err, size_t errlen)
{
	const json_t *res;
	json_t *rep;
	int64_t t = 0;
	int rc;

	if (lease_call(e, "/v3/lease/keepalive", id, 0, &rep, err, errlen) < 0)
		return -1;
	/* a stream of one message: {"result":{...}} */
	res = json_object_get(rep, "result");
	rc = json_is_object(res) ? bc_etcd_j_i64(res, "TTL", &t) : -1;
	if (json_is_object(json_object_get(rep, "error")))
		rc = -2;
	json_decref(rep);
	if (rc == -1)
		return malformed(e, "lease keepalive", err, errlen);
	if (rc == -2 || t <= 0) {
		bc_etcd_err(err, errlen, "etcd %s: lease %" PRId64 " not found (expired or revoked)",
			    bc_etcd_endpoint(e), id);
		return -1;
	}
	if (ttl)
		*ttl = t;
	return 0;
}

int bc_etcd_lease_revoke(struct bc_etcd *e, int64_t id, char *err, size_t errlen)
{
	json_t *rep;

	if (lease_call(e, "/v3/lease/revoke", id, 0, &rep, err, errlen) < 0)
		return -1;
	json_decref(rep);
	return 0;
}

/* ---- cluster --------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const json_t *s)
{
	size_t n = json_is_string(s) ? json_string_length(s) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, json_string_value(s), n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e)
			dst[i] = '?';
}

int bc_etcd_members(struct bc_etcd *e, struct bc_etcd_member *m, size_t max, size_t *n,
		    char *err, size_t errlen)
{
	json_t *req = json_object(), *rep;
	const json_t *a;
	int rc;

	*n = 0;
	if (req == NULL)
		return oom(err, errlen);
	rc = bc_etcd_rpc(e, "/v3/cluster/member/list", req, true, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	a = json_object_get(rep, "members");
	if (!json_is_array(a)) {
		json_decref(rep);
		return malformed(e, "member list", err, errlen);
	}
	for (size_t i = 0; i < json_array_size(a) && *n < max; i++) {
		const json_t *x = json_array_get(a, i), *u;
		struct bc_etcd_member *p = &m[*n];

		if (!json_is_object(x) || bc_etcd_j_u64(x, "ID", &p->id) < 0) {
			json_decref(rep);
			return malformed(e, "member list", err, errlen);
		}
		copy_str(p->name, sizeof(p->name), json_object_get(x, "name"));
		u = json_object_get(x, "clientURLs");
		copy_str(p->client_url, sizeof(p->client_url),
			 json_is_array(u) ? json_array_get(u, 0) : NULL);
		(*n)++;
	}
	json_decref(rep);
	return 0;
}

int bc_etcd_status(struct bc_etcd *e, struct bc_etcd_status *st, char *err, size_t errlen)
{
	json_t *req = json_object(), *rep;
	const json_t *h;
	int rc;

	memset(st, 0, sizeof(*st));
	if (req == NULL)
		return oom(err, errlen);
	rc = bc_etcd_rpc(e, "/v3/maintenance/status", req, true, &rep, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	h = json_object_get(rep, "header");
	rc = !json_is_object(h) || bc_etcd_j_u64(h, "member_id", &st->member_id) < 0 ||
	     bc_etcd_j_i64(h, "revision", &st->revision) < 0 ||
	     bc_etcd_j_u64(rep, "leader", &st->leader) < 0 ||
	     bc_etcd_j_i64(rep, "raftTerm", &st->raft_term) < 0 ||
	     bc_etcd_j_i64(rep, "raftIndex", &st->raft_index) < 0 ||
	     bc_etcd_j_i64(rep, "dbSize", &st->db_size) < 0;
	copy_str(st->version, sizeof(st->version), json_object_get(rep, "version"));
	json_decref(rep);
	return rc ? malformed(e, "status", err, errlen) : 0;
}
