/*
 * etcd_probe.c - drives the coordinator's etcd client (coordinator/etcd.h)
 * against a real etcd cluster or a fake server, for
 * tests/integration/test_etcd.sh. Prints TAP lines ("ok - ", "not ok - ",
 * "# ") for the scenarios; the one-shot commands print their result.
 *
 *   etcd_probe [OPTIONS] SCENARIO [ARGS]
 *     -e ENDPOINTS  comma-separated (required)
 *     -c CERT -k KEY -a CA   client certificate, key, CA bundle
 *     -t MS         call deadline (default 5000)   -m BYTES  max_reply
 *     -A MS         wait for one endpoint (default 1000)
 *     -p PREFIX     key prefix of the scenario (default /hx/<pid>/)
 *
 *   kv            put, get, prefix get at a revision, txn compares
 *                 (value, version, create, mod) both ways, delete, binary keys
 *   lease         grant, put on the lease, keepalive, revoke (key gone),
 *                 expiry, a txn fenced on an expired lease fails
 *   watch         events in revision order from a revision, next_rev,
 *                 cancel from another thread, compaction -> COMPACTED
 *   put K V       one put: prints the revision, or the error on stderr (exit 1)
 *   status        prints "member M leader L term T endpoint E"
 *   bench N       put, txn of 100 puts, lease-fenced txn: N each, median/p99
 *   failover BOUND_MS EP=PID...   kill -9 the member the client talks to
 *                 (by its PID from the list), then a put must succeed
 *                 through another endpoint within BOUND_MS
 *   leaderkill BOUND_MS EP=PID... kill -9 the leader; time to the first
 *                 acknowledged put, within BOUND_MS
 *   malformed     against tests/integration/etcd_fake.py: every bad reply
 *                 is a clean error
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "coordinator/etcd.h"
#include "coordinator/etcd_int.h"

static int fails;
static char pfx[128];
static struct bc_etcd_opts opts;

#define OK(cond, ...)                                   \
	do {                                            \
		if (cond)                               \
			printf("ok - ");                \
		else {                                  \
			printf("not ok - ");            \
			fails++;                        \
		}                                       \
		printf(__VA_ARGS__);                    \
		printf("\n");                           \
		fflush(stdout);                         \
	} while (0)

static void key(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s%s", pfx, name);
}

static bool value_is(struct bc_etcd *e, const char *k, const char *want)
{
	struct bc_etcd_range r;
	char err[BC_ETCD_ERR_MAX];
	bool same;

	if (bc_etcd_get(e, k, strlen(k), false, 0, 0, &r, err, sizeof(err)) < 0) {
		printf("# get %s: %s\n", k, err);
		return false;
	}
	if (want == NULL)
		same = r.n == 0;
	else
		same = r.n == 1 && r.kvs[0].value_len == strlen(want) &&
		       memcmp(r.kvs[0].value, want, strlen(want)) == 0;
	bc_etcd_range_free(&r);
	return same;
}

/* ---- kv -------------------------------------------------------------- */

static int put(struct bc_etcd *e, const char *k, const char *v, int64_t lease, int64_t *rev)
{
	char err[BC_ETCD_ERR_MAX];

	if (bc_etcd_put(e, k, strlen(k), v, strlen(v), lease, rev, err, sizeof(err)) < 0) {
		printf("# put %s: %s\n", k, err);
		return -1;
	}
	return 0;
}

static void scen_kv(struct bc_etcd *e)
{
	char k1[160], k2[160], k3[160], err[BC_ETCD_ERR_MAX];
	int64_t r1 = 0, r2 = 0, del = -1;
	struct bc_etcd_range r;
	struct bc_etcd_txn_result t;
	int rc;

	key(k1, sizeof(k1), "a");
	key(k2, sizeof(k2), "b");
	key(k3, sizeof(k3), "c");
	OK(put(e, k1, "v1", 0, &r1) == 0 && r1 > 0, "put %s: revision %" PRId64, k1, r1);
	rc = bc_etcd_get(e, k1, strlen(k1), false, 0, 0, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 1 && r.kvs[0].value_len == 2 && memcmp(r.kvs[0].value, "v1", 2) == 0 &&
		   r.kvs[0].version == 1 && r.kvs[0].create_revision == r1 && r.kvs[0].mod_revision == r1 &&
		   r.revision >= r1,
	   "get %s: v1, version 1, create = mod = %" PRId64, k1, r1);
	bc_etcd_range_free(&r);
	OK(put(e, k2, "v2", 0, &r2) == 0 && r2 == r1 + 1, "put %s: revision %" PRId64, k2, r2);
	rc = bc_etcd_get(e, pfx, strlen(pfx), true, 0, 0, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 2 && r.count == 2 && strcmp((char *)r.kvs[0].key, k1) == 0 &&
		   strcmp((char *)r.kvs[1].key, k2) == 0,
	   "prefix get: 2 keys in order");
	bc_etcd_range_free(&r);
	rc = bc_etcd_get(e, pfx, strlen(pfx), true, r1, 0, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 1 && strcmp((char *)r.kvs[0].key, k1) == 0,
	   "prefix get at revision %" PRId64 ": only %s", r1, k1);
	bc_etcd_range_free(&r);
	rc = bc_etcd_get(e, pfx, strlen(pfx), true, 0, 1, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 1 && r.more && r.count == 2, "prefix get limit 1: 1 key, more, count 2");
	bc_etcd_range_free(&r);

	/* value compare holds: success branch */
	{
		struct bc_etcd_cmp c = {.key = k1, .key_len = strlen(k1), .target = BC_ETCD_VALUE,
					.op = BC_ETCD_EQUAL, .value = "v1", .value_len = 2};
		struct bc_etcd_op s = {.type = BC_ETCD_OP_PUT, .key = k1, .key_len = strlen(k1),
				       .value = "v1b", .value_len = 3};
		struct bc_etcd_op f = {.type = BC_ETCD_OP_RANGE, .key = k1, .key_len = strlen(k1)};

		rc = bc_etcd_txn(e, &c, 1, &s, 1, &f, 1, &t, err, sizeof(err));
		OK(rc == 0 && t.succeeded && t.revision == r2 + 1 && t.n == 1 &&
			   t.r[0].type == BC_ETCD_OP_PUT,
		   "txn value == v1: succeeded at revision %" PRId64 " (%s)", t.revision, rc ? err : "");
		bc_etcd_txn_free(&t);
		OK(value_is(e, k1, "v1b"), "txn success branch wrote v1b");
		/* the same compare fails now: failure branch, range answers */
		rc = bc_etcd_txn(e, &c, 1, &s, 1, &f, 1, &t, err, sizeof(err));
		OK(rc == 0 && !t.succeeded && t.n == 1 && t.r[0].type == BC_ETCD_OP_RANGE &&
			   t.r[0].range.n == 1 && t.r[0].range.kvs[0].value_len == 3 &&
			   memcmp(t.r[0].range.kvs[0].value, "v1b", 3) == 0 && t.revision == r2 + 1,
		   "txn value == v1 again: failed, failure branch read v1b, revision unchanged");
		bc_etcd_txn_free(&t);
	}
	/* version, mod revision, create revision (absent key: 0) */
	{
		struct bc_etcd_cmp c[3] = {
			{.key = k1, .key_len = strlen(k1), .target = BC_ETCD_VERSION, .op = BC_ETCD_EQUAL, .num = 2},
			{.key = k1, .key_len = strlen(k1), .target = BC_ETCD_MOD, .op = BC_ETCD_EQUAL, .num = r2 + 1},
			{.key = k3, .key_len = strlen(k3), .target = BC_ETCD_CREATE, .op = BC_ETCD_EQUAL, .num = 0},
		};
		struct bc_etcd_op s[2] = {
			{.type = BC_ETCD_OP_PUT, .key = k3, .key_len = strlen(k3), .value = "new", .value_len = 3},
			{.type = BC_ETCD_OP_DELETE, .key = k2, .key_len = strlen(k2)},
		};

		rc = bc_etcd_txn(e, c, 3, s, 2, NULL, 0, &t, err, sizeof(err));
		OK(rc == 0 && t.succeeded && t.n == 2 && t.r[1].type == BC_ETCD_OP_DELETE && t.r[1].deleted == 1,
		   "txn version == 2, mod == %" PRId64 ", %s absent: put + delete ran", r2 + 1, k3);
		bc_etcd_txn_free(&t);
		OK(value_is(e, k3, "new") && value_is(e, k2, NULL), "%s created, %s deleted", k3, k2);
		rc = bc_etcd_txn(e, &c[2], 1, s, 1, NULL, 0, &t, err, sizeof(err));
		OK(rc == 0 && !t.succeeded && t.n == 0, "create-if-absent again: not succeeded");
		bc_etcd_txn_free(&t);
		c[0].op = BC_ETCD_GREATER;
		c[0].num = 5;
		rc = bc_etcd_txn(e, c, 1, s, 1, NULL, 0, &t, err, sizeof(err));
		OK(rc == 0 && !t.succeeded, "txn version > 5: not succeeded");
		bc_etcd_txn_free(&t);
	}
	/* binary key and value: 0xff bytes (prefix end), NUL inside */
	{
		char bk[200];
		size_t n = (size_t)snprintf(bk, sizeof(bk), "%sbin", pfx);
		const char bv[] = {'x', 0, (char)0xff, 'y'};

		bk[n++] = (char)0xff;
		bk[n++] = (char)0xff;
		rc = bc_etcd_put(e, bk, n, bv, sizeof(bv), 0, NULL, err, sizeof(err));
		if (rc == 0)
			rc = bc_etcd_get(e, bk, n - 2, true, 0, 0, &r, err, sizeof(err));
		OK(rc == 0 && r.n == 1 && r.kvs[0].key_len == n && memcmp(r.kvs[0].key, bk, n) == 0 &&
			   r.kvs[0].value_len == sizeof(bv) && memcmp(r.kvs[0].value, bv, sizeof(bv)) == 0,
		   "binary key ending in 0xff 0xff and value with NUL round-trip");
		if (rc == 0)
			bc_etcd_range_free(&r);
	}
	rc = bc_etcd_delete(e, pfx, strlen(pfx), true, &del, NULL, err, sizeof(err));
	OK(rc == 0 && del == 3, "delete prefix: 3 deleted (%" PRId64 ")", del);
	rc = bc_etcd_get(e, pfx, strlen(pfx), true, 0, 0, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 0 && r.count == 0, "prefix empty after delete");
	bc_etcd_range_free(&r);
}

/* ---- lease ----------------------------------------------------------- */

static void scen_lease(struct bc_etcd *e)
{
	char kl[160], kf[160], kg[160], err[BC_ETCD_ERR_MAX];
	int64_t id = 0, ttl = 0, id2 = 0;
	struct bc_etcd_range r;
	struct bc_etcd_txn_result t;
	int rc;

	key(kl, sizeof(kl), "leased");
	key(kf, sizeof(kf), "fence");
	key(kg, sizeof(kg), "guarded");
	rc = bc_etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err));
	OK(rc == 0 && id != 0 && ttl == 30, "lease grant 30 s: id %" PRId64 " ttl %" PRId64, id, ttl);
	OK(put(e, kl, "x", id, NULL) == 0, "put on the lease");
	rc = bc_etcd_get(e, kl, strlen(kl), false, 0, 0, &r, err, sizeof(err));
	OK(rc == 0 && r.n == 1 && r.kvs[0].lease == id, "the key carries the lease");
	bc_etcd_range_free(&r);
	ttl = 0;
	rc = bc_etcd_lease_keepalive(e, id, &ttl, err, sizeof(err));
	OK(rc == 0 && ttl == 30, "keepalive: ttl %" PRId64, ttl);
	rc = bc_etcd_lease_revoke(e, id, err, sizeof(err));
	OK(rc == 0 && value_is(e, kl, NULL), "revoke: the key is gone");
	rc = bc_etcd_lease_keepalive(e, id, &ttl, err, sizeof(err));
	OK(rc < 0 && strstr(err, "not found"), "keepalive of a revoked lease: %s", err);

	/* expiry: a 1 s lease not kept alive */
	rc = bc_etcd_lease_grant(e, 1, &id2, &ttl, err, sizeof(err));
	OK(rc == 0 && put(e, kf, "leader", id2, NULL) == 0, "grant 1 s lease, fence key on it (ttl %" PRId64 ")", ttl);
	{
		struct bc_etcd_cmp c = {.key = kf, .key_len = strlen(kf), .target = BC_ETCD_LEASE,
					.op = BC_ETCD_EQUAL, .num = id2};
		struct bc_etcd_op s = {.type = BC_ETCD_OP_PUT, .key = kg, .key_len = strlen(kg),
				       .value = "w1", .value_len = 2};

		rc = bc_etcd_txn(e, &c, 1, &s, 1, NULL, 0, &t, err, sizeof(err));
		OK(rc == 0 && t.succeeded && value_is(e, kg, "w1"), "txn fenced on the live lease: written");
		bc_etcd_txn_free(&t);
		int64_t t0 = bc_mono_ms();
		while (!value_is(e, kf, NULL) && bc_mono_ms() - t0 < 6000)
			usleep(100000);
		OK(value_is(e, kf, NULL), "the lease expired: fence key gone after %" PRId64 " ms",
		   bc_mono_ms() - t0);
		s.value = "w2";
		rc = bc_etcd_txn(e, &c, 1, &s, 1, NULL, 0, &t, err, sizeof(err));
		OK(rc == 0 && !t.succeeded && value_is(e, kg, "w1"),
		   "txn fenced on the expired lease: not succeeded, guarded key still w1");
		bc_etcd_txn_free(&t);
	}
	rc = bc_etcd_put(e, kl, strlen(kl), "y", 1, id2, NULL, err, sizeof(err));
	OK(rc < 0 && strstr(err, "lease not found"), "put on the expired lease refused: %s", err);
	bc_etcd_delete(e, pfx, strlen(pfx), true, NULL, NULL, err, sizeof(err));
}

/* ---- watch ----------------------------------------------------------- */

struct seen {
	int n, stop_at;
	int64_t rev[16];
	int type[16];
	char key[16][64];
};

static int on_event(void *arg, const struct bc_etcd_event *ev)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->rev[s->n] = ev->kv->mod_revision;
		s->type[s->n] = ev->type;
		snprintf(s->key[s->n], sizeof(s->key[0]), "%s", (const char *)ev->kv->key);
	}
	s->n++;
	return s->n >= s->stop_at;
}

static atomic_int cancel_flag;

static void *canceller(void *arg)
{
	(void)arg;
	usleep(300000);
	atomic_store(&cancel_flag, 1);
	return NULL;
}

static void scen_watch(struct bc_etcd *e)
{
	char k[6][160], other[160], err[BC_ETCD_ERR_MAX];
	int64_t rev[6] = {0}, next = 0, crev = 0, first;
	struct seen s = {.stop_at = 6};
	enum bc_etcd_watch_end end;
	bool order = true;

	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i);
		key(k[i], sizeof(k[i]), name);
		put(e, k[i], "x", 0, &rev[i]);
	}
	snprintf(other, sizeof(other), "%.120sother", pfx);
	other[strlen(pfx) - 1] = '_'; /* outside the prefix */
	put(e, other, "x", 0, NULL);
	bc_etcd_delete(e, k[1], strlen(k[1]), false, NULL, &rev[5], err, sizeof(err));
	first = rev[0];
	end = bc_etcd_watch(e, pfx, strlen(pfx), first, on_event, &s, NULL, &next, &crev, err, sizeof(err));
	for (int i = 1; i < 6 && i < s.n; i++)
		order = order && s.rev[i] > s.rev[i - 1];
	OK(end == BC_ETCD_WATCH_STOPPED && s.n == 6 && order && s.rev[0] == rev[0] && s.rev[5] == rev[5] &&
		   s.type[5] == BC_ETCD_EV_DELETE && s.type[4] == BC_ETCD_EV_PUT &&
		   strcmp(s.key[5], k[1]) == 0,
	   "watch from %" PRId64 ": 6 events in revision order, the last a DELETE of %s (end %d, %d events: %s)",
	   first, k[1], end, s.n, end == BC_ETCD_WATCH_STOPPED ? "" : err);
	OK(next == rev[5] + 1, "next_rev %" PRId64 " = last event + 1", next);
	/* from the middle: starts at rev[3] */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	end = bc_etcd_watch(e, pfx, strlen(pfx), rev[3], on_event, &s, NULL, &next, &crev, err, sizeof(err));
	OK(end == BC_ETCD_WATCH_STOPPED && s.n == 1 && s.rev[0] == rev[3] && strcmp(s.key[0], k[3]) == 0,
	   "watch from %" PRId64 ": first event is %s at that revision", rev[3], k[3]);
	/* cancel from another thread while idle */
	{
		pthread_t th;
		int64_t t0 = bc_mono_ms(), took;

		memset(&s, 0, sizeof(s));
		s.stop_at = 1000;
		atomic_store(&cancel_flag, 0);
		pthread_create(&th, NULL, canceller, NULL);
		end = bc_etcd_watch(e, pfx, strlen(pfx), 0, on_event, &s, &cancel_flag, &next, &crev,
				    err, sizeof(err));
		took = bc_mono_ms() - t0;
		pthread_join(th, NULL);
		OK(end == BC_ETCD_WATCH_STOPPED && s.n == 0 && took < 2500,
		   "idle watch canceled from another thread: stopped in %" PRId64 " ms", took);
		struct bc_etcd_range r;
		int rc = bc_etcd_get(e, pfx, strlen(pfx), true, 0, 0, &r, err, sizeof(err));

		OK(rc == 0 && next == r.revision + 1,
		   "watch from now: next_rev %" PRId64 " is the store's revision %" PRId64 " + 1", next,
		   rc == 0 ? r.revision : -1);
		if (rc == 0)
			bc_etcd_range_free(&r);
	}
	/* compaction: watching from a compacted revision */
	{
		json_t *req = json_pack("{s:s}", "revision", "0"), *rep = NULL;
		char rs[24];

		snprintf(rs, sizeof(rs), "%" PRId64, rev[5]);
		json_object_set_new(req, "revision", json_string(rs));
		int rc = bc_etcd_rpc(e, "/v3/kv/compaction", req, false, &rep, err, sizeof(err));
		json_decref(req);
		json_decref(rep);
		memset(&s, 0, sizeof(s));
		s.stop_at = 1;
		end = bc_etcd_watch(e, pfx, strlen(pfx), first, on_event, &s, NULL, &next, &crev, err, sizeof(err));
		OK(rc == 0 && end == BC_ETCD_WATCH_COMPACTED && crev == rev[5] && s.n == 0,
		   "watch from compacted %" PRId64 ": COMPACTED, compact revision %" PRId64 " (%s)", first,
		   crev, err);
	}
	bc_etcd_delete(e, pfx, strlen(pfx), true, NULL, NULL, err, sizeof(err));
	bc_etcd_delete(e, other, strlen(other), false, NULL, NULL, err, sizeof(err));
}

/* ---- bench ----------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(const char *what, int64_t *us, int n, int errs)
{
	qsort(us, (size_t)n, sizeof(*us), cmp_i64);
	printf("# bench %-22s n=%d errors=%d median %.2f ms p99 %.2f ms max %.2f ms\n", what, n, errs,
	       us[n / 2] / 1000.0, us[(n * 99) / 100] / 1000.0, us[n - 1] / 1000.0);
	OK(errs == 0, "bench %s: %d calls without error", what, n);
}

static void scen_bench(struct bc_etcd *e, int n)
{
	int64_t *us = calloc((size_t)n, sizeof(*us)), id = 0;
	struct bc_etcd_op ops[100];
	char keys[100][160], k[160], kf[160], err[BC_ETCD_ERR_MAX];
	int errs = 0;

	if (us == NULL)
		return;
	key(k, sizeof(k), "bench");
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_us();

		errs += bc_etcd_put(e, k, strlen(k), "value-of-a-ban-record-0123456789", 32, 0, NULL, err,
				    sizeof(err)) < 0;
		us[i] = now_us() - t0;
	}
	report("put", us, n, errs);
	for (int j = 0; j < 100; j++) {
		snprintf(keys[j], sizeof(keys[j]), "%sb/%03d", pfx, j);
		ops[j] = (struct bc_etcd_op){.type = BC_ETCD_OP_PUT, .key = keys[j], .key_len = strlen(keys[j]),
					     .value = "value-of-a-ban-record-0123456789", .value_len = 32};
	}
	errs = 0;
	for (int i = 0; i < n; i++) {
		struct bc_etcd_txn_result t;
		int64_t t0 = now_us();

		errs += bc_etcd_txn(e, NULL, 0, ops, 100, NULL, 0, &t, err, sizeof(err)) < 0 || !t.succeeded;
		us[i] = now_us() - t0;
		bc_etcd_txn_free(&t);
	}
	report("txn of 100 puts", us, n, errs);
	key(kf, sizeof(kf), "fence");
	errs = bc_etcd_lease_grant(e, 60, &id, NULL, err, sizeof(err)) < 0 || put(e, kf, "me", id, NULL) < 0;
	for (int i = 0; i < n; i++) {
		struct bc_etcd_cmp c = {.key = kf, .key_len = strlen(kf), .target = BC_ETCD_LEASE,
					.op = BC_ETCD_EQUAL, .num = id};
		struct bc_etcd_txn_result t;
		int64_t t0 = now_us();

		errs += bc_etcd_txn(e, &c, 1, ops, 1, NULL, 0, &t, err, sizeof(err)) < 0 || !t.succeeded;
		us[i] = now_us() - t0;
		bc_etcd_txn_free(&t);
	}
	report("lease-fenced txn", us, n, errs);
	bc_etcd_lease_revoke(e, id, err, sizeof(err));
	bc_etcd_delete(e, pfx, strlen(pfx), true, NULL, NULL, err, sizeof(err));
	free(us);
}

/* ---- kills ----------------------------------------------------------- */

static pid_t pid_of(const char *ep, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *eq = strrchr(argv[i], '=');

		if (eq && (size_t)(eq - argv[i]) == strlen(ep) && strncmp(argv[i], ep, strlen(ep)) == 0)
			return (pid_t)atoi(eq + 1);
	}
	return 0;
}

/* puts until one is acknowledged; ms from t0, -1 past bound */
static int64_t first_ack(struct bc_etcd *e, int64_t t0, int64_t bound, char *err, size_t errlen)
{
	char k[160];
	int tries = 0;

	key(k, sizeof(k), "after-kill");
	while (bc_mono_ms() - t0 < bound) {
		tries++;
		if (bc_etcd_put(e, k, strlen(k), "x", 1, 0, NULL, err, errlen) == 0) {
			printf("# first put acknowledged through %s after %d tries\n", bc_etcd_endpoint(e), tries);
			return bc_mono_ms() - t0;
		}
		printf("# put failed: %s\n", err);
	}
	return -1;
}

static void scen_kill(struct bc_etcd *e, bool leader, int64_t bound, int argc, char **argv)
{
	char err[BC_ETCD_ERR_MAX], victim[BC_ETCD_URL_MAX] = "";
	struct bc_etcd_status st;
	int64_t t0, ms;
	pid_t pid = 0;

	if (put(e, pfx, "before", 0, NULL) < 0 || bc_etcd_status(e, &st, err, sizeof(err)) < 0) {
		OK(0, "cluster answers before the kill");
		return;
	}
	if (!leader) {
		snprintf(victim, sizeof(victim), "%s", bc_etcd_endpoint(e));
	} else {
		struct bc_etcd_member m[BC_ETCD_MEMBERS_MAX];
		size_t n = 0;

		if (bc_etcd_members(e, m, BC_ETCD_MEMBERS_MAX, &n, err, sizeof(err)) == 0)
			for (size_t i = 0; i < n; i++)
				if (m[i].id == st.leader)
					snprintf(victim, sizeof(victim), "%s", m[i].client_url);
		printf("# leader %" PRIx64 " term %" PRId64 " at %s\n", st.leader, st.raft_term, victim);
	}
	pid = pid_of(victim, argc, argv);
	if (pid <= 0) {
		OK(0, "pid of %s in the list", victim);
		return;
	}
	t0 = bc_mono_ms();
	kill(pid, SIGKILL);
	ms = first_ack(e, t0, bound, err, sizeof(err));
	OK(ms >= 0 && strcmp(bc_etcd_endpoint(e), victim) != 0,
	   "kill -9 of %s (%s, pid %d): first acknowledged put after %" PRId64 " ms through %s (bound %" PRId64 " ms)",
	   leader ? "the leader" : "the current member", victim, (int)pid, ms, bc_etcd_endpoint(e), bound);
	printf("# %s %" PRId64 "\n", leader ? "leaderkill_ms" : "failover_ms", ms);
	if (ms >= 0 && bc_etcd_status(e, &st, err, sizeof(err)) == 0)
		printf("# new leader %" PRIx64 " term %" PRId64 "\n", st.leader, st.raft_term);
}

/* ---- malformed replies from tests/integration/etcd_fake.py ------------ */

static void bad_get(struct bc_etcd *e, const char *mode, const char *want)
{
	char err[BC_ETCD_ERR_MAX] = "";
	struct bc_etcd_range r;
	int64_t t0 = bc_mono_ms();
	int rc = bc_etcd_get(e, mode, strlen(mode), false, 0, 0, &r, err, sizeof(err));

	OK(rc < 0 && strstr(err, want) && strchr(err, '\n') == NULL && strchr(err, '\033') == NULL,
	   "reply \"%s\": clean error in %" PRId64 " ms: %s", mode, bc_mono_ms() - t0, err);
	if (rc == 0)
		bc_etcd_range_free(&r);
}

static int count_event(void *arg, const struct bc_etcd_event *ev)
{
	(void)ev;
	++*(int *)arg;
	return 0;
}

static void scen_malformed(struct bc_etcd *e)
{
	static const struct { const char *mode, *want; } get[] = {
		{"garbage", "malformed reply"},     {"array", "malformed reply"},
		{"types", "malformed reply"},       {"b64", "malformed reply"},
		{"bigint", "malformed reply"},      {"huge", "reply over"},
		{"deep", "malformed reply"},        {"trunc", "malformed reply"},
		{"err500", "boom"},                 {"slow", "timed out"},
		{"kvtypes", "malformed reply"},     {"dup", "malformed reply"},
	};
	static const struct { const char *mode; enum bc_etcd_watch_end end; const char *want; } w[] = {
		{"wgarbage", BC_ETCD_WATCH_ERROR, "malformed watch message"},
		{"worder", BC_ETCD_WATCH_ERROR, "out of order"},
		{"wold", BC_ETCD_WATCH_ERROR, "out of order"},
		{"whuge", BC_ETCD_WATCH_ERROR, "over"},
		{"wcompact", BC_ETCD_WATCH_COMPACTED, "compacted"},
		{"wtype", BC_ETCD_WATCH_ERROR, "malformed watch event"},
		{"wcancel", BC_ETCD_WATCH_ERROR, "canceled"},
	};
	char err[BC_ETCD_ERR_MAX];

	for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++)
		bad_get(e, get[i].mode, get[i].want);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		int n = 0;
		int64_t next = 0, crev = 0;
		enum bc_etcd_watch_end end = bc_etcd_watch(e, w[i].mode, strlen(w[i].mode), 5, count_event, &n,
							   NULL, &next, &crev, err, sizeof(err));

		OK(end == w[i].end && strstr(err, w[i].want) && next >= 5,
		   "watch reply \"%s\": end %d after %d events, next %" PRId64 ": %s", w[i].mode, end, n, next, err);
	}
	{
		struct bc_etcd_op op = {.type = BC_ETCD_OP_RANGE, .key = "txnmismatch", .key_len = 11};
		struct bc_etcd_txn_result t;
		int rc = bc_etcd_txn(e, NULL, 0, &op, 1, NULL, 0, &t, err, sizeof(err));

		OK(rc < 0 && strstr(err, "malformed reply"), "txn reply with the wrong responses: %s", err);
	}
	{
		struct bc_etcd_status st;
		int rc = bc_etcd_status(e, &st, err, sizeof(err));

		OK(rc < 0 && strstr(err, "malformed reply"), "status reply with wrong types: %s", err);
	}
	/* writes that may have been applied are never resent; reads are */
	{
		static const struct { const char *mode; bool unknown; const char *want; } wr[] = {
			{"drop", true, "outcome unknown"},
			{"tmo", true, "request timed out"},
			{"noleader", false, "no leader"},
		};

		for (size_t i = 0; i < sizeof(wr) / sizeof(wr[0]); i++) {
			int64_t t0 = bc_mono_ms();
			int rc = bc_etcd_put(e, wr[i].mode, strlen(wr[i].mode), "x", 1, 0, NULL, err, sizeof(err));

			OK(rc < 0 && bc_etcd_outcome_unknown(e) == wr[i].unknown && strstr(err, wr[i].want),
			   "put answered \"%s\": error, outcome %s, in %" PRId64 " ms: %s", wr[i].mode,
			   bc_etcd_outcome_unknown(e) ? "unknown" : "known (not applied)", bc_mono_ms() - t0, err);
		}
		bad_get(e, "drop", "Empty reply");
		OK(!bc_etcd_outcome_unknown(e), "a read that got no answer is not of unknown outcome");
	}
}

/* ---- main ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: etcd_probe -e ENDPOINTS [-c CERT -k KEY -a CA] [-t MS] [-A MS] [-m BYTES] [-p PREFIX] SCENARIO [ARGS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char err[BC_ETCD_ERR_MAX];
	struct bc_etcd *e;
	int c;

	snprintf(pfx, sizeof(pfx), "/hx/%d/", (int)getpid());
	while ((c = getopt(argc, argv, "+e:c:k:a:t:A:m:p:")) != -1) {
		switch (c) {
		case 'e': opts.endpoints = optarg; break;
		case 'c': opts.cert = optarg; break;
		case 'k': opts.key = optarg; break;
		case 'a': opts.ca = optarg; break;
		case 't': opts.timeout_ms = atoi(optarg); break;
		case 'A': opts.attempt_ms = atoi(optarg); break;
		case 'm': opts.max_reply = (size_t)atol(optarg); break;
		case 'p': snprintf(pfx, sizeof(pfx), "%s", optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || opts.endpoints == NULL)
		usage();
	e = bc_etcd_new(&opts, err, sizeof(err));
	if (e == NULL) {
		fprintf(stderr, "etcd_probe: %s\n", err);
		return 1;
	}
	const char *s = argv[optind];
	int rest = argc - optind - 1;
	char **args = argv + optind + 1;

	if (strcmp(s, "kv") == 0)
		scen_kv(e);
	else if (strcmp(s, "lease") == 0)
		scen_lease(e);
	else if (strcmp(s, "watch") == 0)
		scen_watch(e);
	else if (strcmp(s, "bench") == 0 && rest == 1)
		scen_bench(e, atoi(args[0]) > 0 ? atoi(args[0]) : 100);
	else if (strcmp(s, "malformed") == 0)
		scen_malformed(e);
	else if ((strcmp(s, "failover") == 0 || strcmp(s, "leaderkill") == 0) && rest >= 2)
		scen_kill(e, s[0] == 'l', atoi(args[0]), rest - 1, args + 1);
	else if (strcmp(s, "put") == 0 && rest == 2) {
		int64_t rev = 0;

		if (bc_etcd_put(e, args[0], strlen(args[0]), args[1], strlen(args[1]), 0, &rev, err,
				sizeof(err)) < 0) {
			fprintf(stderr, "etcd_probe: %s\n", err);
			fails++;
		} else
			printf("revision %" PRId64 "\n", rev);
	} else if (strcmp(s, "status") == 0) {
		struct bc_etcd_status st;

		if (bc_etcd_status(e, &st, err, sizeof(err)) < 0) {
			fprintf(stderr, "etcd_probe: %s\n", err);
			fails++;
		} else
			printf("member %" PRIx64 " leader %" PRIx64 " term %" PRId64 " endpoint %s\n",
			       st.member_id, st.leader, st.raft_term, bc_etcd_endpoint(e));
	} else {
		bc_etcd_free(&e);
		usage();
	}
	bc_etcd_free(&e);
	return fails ? 1 : 0;
}
