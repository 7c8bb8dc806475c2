/*
 * etcd.h - a small synchronous etcd v3 client over etcd's JSON gateway
 * (HTTP/1.1 + JSON, /v3/...), with libcurl and jansson. The foundation of
 * cluster mode (docs/ha.md); nothing in the coordinator calls it yet.
 *
 * Every call blocks for at most the time given in bc_etcd_opts (per
 * endpoint tried) and returns 0 on success or -1 with one line in err.
 * Keys and values are bytes (pointer + length). Revisions, versions and
 * lease ids are int64 as etcd has them.
 *
 * Failover: the client keeps a list of endpoints and the index of the one
 * that answered last. A call starts there; on a connection failure, no
 * answer within attempt_ms, or an "unavailable" answer (gRPC code 14: no
 * leader, leader changed, request timed out) it tries the next endpoint
 * until the call's deadline (timeout_ms). Except a write (put, delete,
 * txn) whose request was sent and then not answered (attempt_ms passed,
 * the connection broke, or etcd said "request timed out"): it is not
 * resent, the call fails at once with bc_etcd_outcome_unknown() true (err
 * says so): it may or may not have been applied. etcd 3.4 answers a
 * proposal that a follower forwarded to a leader that then died only
 * after its own request timeout (about 5 s), so attempt_ms is what bounds
 * a write's wait across a leader's death; the caller decides whether to
 * resend (a txn fenced on its lease, or one that compares what it sets,
 * is safe to resend).
 *
 * Not thread-safe: one struct bc_etcd per thread (a watch in its own
 * thread takes its own struct). Replies are untrusted: size-capped
 * (max_reply), parsed with jansson, every field type- and range-checked;
 * a malformed reply is an error, never a crash.
 */
#ifndef BC_ETCD_H
#define BC_ETCD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_ETCD_ENDPOINTS_MAX 16
#define BC_ETCD_URL_MAX 256
#define BC_ETCD_ERR_MAX 256          /* a useful size for err buffers */
#define BC_ETCD_TIMEOUT_MS 5000      /* default deadline of one call */
#define BC_ETCD_CONNECT_MS 1000      /* default connect timeout per endpoint */
#define BC_ETCD_ATTEMPT_MS 1000      /* default wait for one endpoint's answer */
#define BC_ETCD_REPLY_MAX (32u << 20) /* default cap of one reply / watch message */
#define BC_ETCD_MEMBERS_MAX 64

struct bc_etcd_opts {
	const char *endpoints; /* "https://a:2379, https://b:2379" (comma or blank separated) */
	const char *cert;      /* client certificate (PEM), or NULL */
	const char *key;       /* its private key (PEM), or NULL */
	const char *ca;        /* CA bundle that signed the servers, or NULL: system CAs */
	int timeout_ms;        /* deadline of one call; 0: BC_ETCD_TIMEOUT_MS */
	int connect_ms;        /* connect timeout per endpoint; 0: BC_ETCD_CONNECT_MS */
	int attempt_ms;        /* wait for one endpoint's answer; 0: BC_ETCD_ATTEMPT_MS */
	size_t max_reply;      /* cap of one reply; 0: BC_ETCD_REPLY_MAX */
};

struct bc_etcd;

/* NULL with err filled when an endpoint is not http(s)://host:port, there
 * are none or too many, or libcurl cannot start. Connects to nothing. */
struct bc_etcd *bc_etcd_new(const struct bc_etcd_opts *o, char *err, size_t errlen);
void bc_etcd_free(struct bc_etcd **e);
/* the endpoint that answered last (or the one the next call tries first) */
const char *bc_etcd_endpoint(const struct bc_etcd *e);
/* the last failed call was a write that may have been applied */
bool bc_etcd_outcome_unknown(const struct bc_etcd *e);
size_t bc_etcd_endpoint_count(const struct bc_etcd *e);

/* ---- key-value ------------------------------------------------------- */

struct bc_etcd_kv {
	uint8_t *key, *value; /* owned, each NUL-terminated after its length */
	size_t key_len, value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct bc_etcd_range {
	int64_t revision; /* the store's revision the answer was read at */
	int64_t count;    /* keys in the range (more than n when limited) */
	bool more;
	struct bc_etcd_kv *kvs;
	size_t n;
};

void bc_etcd_range_free(struct bc_etcd_range *r);

/* Keys equal to key, or with prefix: every key starting with it (an empty
 * prefix: every key). revision 0: the newest; limit 0: no limit. */
int bc_etcd_get(struct bc_etcd *e, const void *key, size_t key_len, bool prefix,
		int64_t revision, int64_t limit, struct bc_etcd_range *out,
		char *err, size_t errlen);
/* lease 0: none. *revision (may be NULL): the revision of the put. */
int bc_etcd_put(struct bc_etcd *e, const void *key, size_t key_len,
		const void *value, size_t value_len, int64_t lease,
		int64_t *revision, char *err, size_t errlen);
/* *deleted, *revision may be NULL */
int bc_etcd_delete(struct bc_etcd *e, const void *key, size_t key_len, bool prefix,
		   int64_t *deleted, int64_t *revision, char *err, size_t errlen);

/* ---- transactions ---------------------------------------------------- */

enum bc_etcd_target {
	BC_ETCD_VERSION, BC_ETCD_CREATE, BC_ETCD_MOD, BC_ETCD_VALUE, BC_ETCD_LEASE
};
enum bc_etcd_cmp_op { BC_ETCD_EQUAL, BC_ETCD_GREATER, BC_ETCD_LESS, BC_ETCD_NOT_EQUAL };

/* compare target of key against num (version, create/mod revision, lease
 * id) or value/value_len (BC_ETCD_VALUE). A key that does not exist has
 * version, revisions and lease 0. */
struct bc_etcd_cmp {
	const void *key;
	size_t key_len;
	enum bc_etcd_target target;
	enum bc_etcd_cmp_op op;
	int64_t num;
	const void *value;
	size_t value_len;
};

enum bc_etcd_op_type { BC_ETCD_OP_PUT, BC_ETCD_OP_DELETE, BC_ETCD_OP_RANGE };

struct bc_etcd_op {
	enum bc_etcd_op_type type;
	const void *key;
	size_t key_len;
	const void *value; /* put */
	size_t value_len;
	int64_t lease;     /* put; 0 none */
	bool prefix;       /* delete, range */
};

struct bc_etcd_op_result {
	enum bc_etcd_op_type type;
	int64_t deleted;             /* delete */
	struct bc_etcd_range range;  /* range */
};

struct bc_etcd_txn_result {
	bool succeeded;   /* every compare held: the success ops ran */
	int64_t revision; /* the store's revision after the txn */
	struct bc_etcd_op_result *r; /* one per op of the branch that ran */
	size_t n;
};

void bc_etcd_txn_free(struct bc_etcd_txn_result *t);

/* Runs success when every compare holds, else failure (either may be
 * empty). 0 when etcd answered (whichever branch ran: see succeeded). At
 * most BC_ETCD_TXN_OPS ops per branch (etcd refuses more than its
 * --max-txn-ops, 128 by default). */
#define BC_ETCD_TXN_OPS 4096
int bc_etcd_txn(struct bc_etcd *e, const struct bc_etcd_cmp *cmp, size_t ncmp,
		const struct bc_etcd_op *success, size_t nsuccess,
		const struct bc_etcd_op *failure, size_t nfailure,
		struct bc_etcd_txn_result *out, char *err, size_t errlen);

/* ---- leases ---------------------------------------------------------- */

/* *ttl: the TTL granted (seconds), may be NULL */
int bc_etcd_lease_grant(struct bc_etcd *e, int64_t ttl_s, int64_t *id, int64_t *ttl,
			char *err, size_t errlen);
/* one keep-alive; -1 with "lease not found" when it expired or was revoked */
int bc_etcd_lease_keepalive(struct bc_etcd *e, int64_t id, int64_t *ttl,
			    char *err, size_t errlen);
int bc_etcd_lease_revoke(struct bc_etcd *e, int64_t id, char *err, size_t errlen);

/* ---- cluster --------------------------------------------------------- */

struct bc_etcd_member {
	uint64_t id;
	char name[64];
	char client_url[BC_ETCD_URL_MAX]; /* the first one, "" if none */
};

struct bc_etcd_status {
	uint64_t member_id; /* of the endpoint that answered */
	uint64_t leader;    /* 0: none known */
	int64_t raft_term, raft_index, revision, db_size;
	char version[32];
};

int bc_etcd_members(struct bc_etcd *e, struct bc_etcd_member *m, size_t max, size_t *n,
		    char *err, size_t errlen);
/* status of the endpoint that answers (the current one, or after failover) */
int bc_etcd_status(struct bc_etcd *e, struct bc_etcd_status *st, char *err, size_t errlen);

/* ---- watch ----------------------------------------------------------- */

enum bc_etcd_event_type { BC_ETCD_EV_PUT, BC_ETCD_EV_DELETE };

struct bc_etcd_event {
	enum bc_etcd_event_type type;
	const struct bc_etcd_kv *kv; /* valid during the callback only */
};

/* Called once per event, in revision order; non-zero stops the watch. */
typedef int (*bc_etcd_watch_fn)(void *arg, const struct bc_etcd_event *ev);

enum bc_etcd_watch_end {
	BC_ETCD_WATCH_STOPPED = 0,    /* the callback or *cancel stopped it */
	BC_ETCD_WATCH_ERROR = -1,     /* connection lost, malformed reply...: call again from *next_rev */
	BC_ETCD_WATCH_COMPACTED = -2, /* start revision compacted away: resync (range get), then watch */
};

/* Watches every key under prefix from start_rev (0: from now) and calls fn
 * for each event until fn returns non-zero, *cancel (may be NULL) becomes
 * non-zero (seen within about a second, from any thread), or an error.
 * *next_rev: the revision to watch from to miss nothing (the last event's
 * mod revision + 1; while nothing came, start_rev, or when start_rev was
 * 0 the revision after the one etcd started the watch at); *compact_rev (may be
 * NULL): etcd's compaction revision when COMPACTED. */
enum bc_etcd_watch_end bc_etcd_watch(struct bc_etcd *e, const void *prefix, size_t prefix_len,
				     int64_t start_rev, bc_etcd_watch_fn fn, void *arg,
				     const atomic_int *cancel, int64_t *next_rev,
				     int64_t *compact_rev, char *err, size_t errlen);

#endif
