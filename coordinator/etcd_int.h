/*
 * etcd_int.h - what etcd.c (transport, failover, JSON and base64 helpers),
 * etcd_kv.c (the unary calls) and etcd_watch.c share. Not for callers
 * outside these three files: they use etcd.h.
 */
#ifndef BC_ETCD_INT_H
#define BC_ETCD_INT_H

#include <curl/curl.h>
#include <jansson.h>

#include "coordinator/etcd.h"

#define ETCD_RETRY_PAUSE_MS 50 /* pause after every endpoint failed once */
#define ETCD_RETRY_MIN_MS 100  /* no retry with less time than this left */

struct bc_etcd {
	char ep[BC_ETCD_ENDPOINTS_MAX][BC_ETCD_URL_MAX];
	size_t nep, cur;
	char *cert, *key, *ca;
	int timeout_ms, connect_ms, attempt_ms;
	bool unknown;            /* the last call: a write of unknown outcome */
	size_t max_reply;
	CURL *h;                 /* unary calls: keeps one connection alive */
	struct curl_slist *hdr;
};

/* err <- "fmt..." with bytes outside printable ASCII replaced by '?' */
void bc_etcd_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* the TLS, protocol and proxy options every handle of e gets */
int bc_etcd_curl_setup(const struct bc_etcd *e, CURL *h);

/* POST req (not stolen) to path on the endpoints with failover; *reply: the
 * decoded JSON object of a 200 answer (caller json_decref's). idempotent:
 * may be resent after a timeout once sent. */
int bc_etcd_rpc(struct bc_etcd *e, const char *path, json_t *req, bool idempotent,
		json_t **reply, char *err, size_t errlen);

/* JSON <-> etcd values. Absent fields are etcd's zero (proto3 omits them);
 * a field of the wrong type or out of range is -1. */
int bc_etcd_j_i64(const json_t *o, const char *name, int64_t *out);
int bc_etcd_j_u64(const json_t *o, const char *name, uint64_t *out);
int bc_etcd_j_bool(const json_t *o, const char *name, bool *out);
/* base64 of (p, n) as a new JSON string, NULL when out of memory */
json_t *bc_etcd_b64(const void *p, size_t n);
/* decodes string field name of o (absent: empty) into a malloc'd,
 * NUL-terminated buffer */
int bc_etcd_unb64(const json_t *o, const char *name, uint8_t **out, size_t *len);
/* the range_end that makes (key, n) a prefix, as base64 JSON string */
json_t *bc_etcd_prefix_end(const void *key, size_t n);
/* sets "key" (and "range_end" when prefix) in o; -1 out of memory */
int bc_etcd_set_key(json_t *o, const void *key, size_t n, bool prefix);
int bc_etcd_set_i64(json_t *o, const char *name, int64_t v);

/* the watch's stream reader over bytes already received (as if they were
 * the whole stream), for tests/fuzz/fuzz_etcd.c */
enum bc_etcd_watch_end bc_etcd_watch_feed(struct bc_etcd *e, const char *buf, size_t n,
					  int64_t start_rev, bc_etcd_watch_fn fn, void *arg,
					  int64_t *next_rev, char *err, size_t errlen);

int bc_etcd_kv_parse(const json_t *o, struct bc_etcd_kv *kv);
void bc_etcd_kv_clear(struct bc_etcd_kv *kv);
int bc_etcd_range_parse(const json_t *o, struct bc_etcd_range *r);
int bc_etcd_header_rev(const json_t *reply, int64_t *rev);

#endif
