/*
 * etcd.c - the transport of the etcd client (etcd.h): the endpoint list,
 * libcurl with client-certificate TLS, the POST of one JSON request with
 * failover and a deadline, and the JSON/base64 helpers the calls share
 * (etcd_int.h). The calls themselves are in etcd_kv.c, the watch in
 * etcd_watch.c.
 *
 * Inputs: the options (trusted: the admin's configuration) and every byte
 * the servers send (untrusted: capped at max_reply while received, parsed
 * by jansson, each field checked for type and range before use; error
 * texts are reduced to printable ASCII and cut to the caller's buffer).
 * Owns its curl handle and the copies of the option strings. Never prints,
 * never exits: -1 and one line in err.
 */
#include "coordinator/etcd_int.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

/* ---- errors ---------------------------------------------------------- */

void bc_etcd_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* ---- life ------------------------------------------------------------ */

static int add_endpoint(struct bc_etcd *e, const char *s, size_t n, char *err, size_t errlen)
{
	size_t skip;

	while (n > 0 && s[n - 1] == '/')
		n--;
	if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else {
		bc_etcd_err(err, errlen, "etcd endpoint \"%.*s\": expected http://host:port or https://host:port",
			    (int)(n > 80 ? 80 : n), s);
		return -1;
	}
	if (n <= skip || n >= BC_ETCD_URL_MAX - 32 || memchr(s + skip, '/', n - skip) != NULL) {
		bc_etcd_err(err, errlen, "etcd endpoint \"%.*s\": expected scheme://host:port, under %d characters",
			    (int)(n > 80 ? 80 : n), s, BC_ETCD_URL_MAX - 32);
		return -1;
	}
	if (e->nep == BC_ETCD_ENDPOINTS_MAX) {
		bc_etcd_err(err, errlen, "etcd: more than %d endpoints", BC_ETCD_ENDPOINTS_MAX);
		return -1;
	}
	memcpy(e->ep[e->nep], s, n);
	e->ep[e->nep][n] = '\0';
	e->nep++;
	return 0;
}

static int dup_opt(char **dst, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -1;
}

struct bc_etcd *bc_etcd_new(const struct bc_etcd_opts *o, char *err, size_t errlen)
{
	struct bc_etcd *e = calloc(1, sizeof(*e));
	const char *s;

	if (e == NULL) {
		bc_etcd_err(err, errlen, "etcd: out of memory");
		return NULL;
	}
	s = o->endpoints ? o->endpoints : "";
	while (*s) {
		size_t n;

		s += strspn(s, ", \t");
		n = strcspn(s, ", \t");
		if (n > 0 && add_endpoint(e, s, n, err, errlen) < 0)
			goto fail_early;
		s += n;
	}
	if (e->nep == 0) {
		bc_etcd_err(err, errlen, "etcd: no endpoint given");
		goto fail_early;
	}
	e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : BC_ETCD_TIMEOUT_MS;
	e->connect_ms = o->connect_ms > 0 ? o->connect_ms : BC_ETCD_CONNECT_MS;
	e->attempt_ms = o->attempt_ms > 0 ? o->attempt_ms : BC_ETCD_ATTEMPT_MS;
	e->max_reply = o->max_reply > 0 ? o->max_reply : BC_ETCD_REPLY_MAX;
	if (dup_opt(&e->cert, o->cert) < 0 || dup_opt(&e->key, o->key) < 0 ||
	    dup_opt(&e->ca, o->ca) < 0) {
		bc_etcd_err(err, errlen, "etcd: out of memory");
		goto fail_early;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		bc_etcd_err(err, errlen, "etcd: curl_global_init failed");
		goto fail_early;
	}
	e->h = curl_easy_init();
	e->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->hdr) {
		struct curl_slist *t = curl_slist_append(e->hdr, "Expect:");

		if (t)
			e->hdr = t;
		else {
			curl_slist_free_all(e->hdr);
			e->hdr = NULL;
		}
	}
	if (e->h == NULL || e->hdr == NULL) {
		bc_etcd_err(err, errlen, "etcd: cannot make a curl handle");
		bc_etcd_free(&e);
		return NULL;
	}
	return e;
fail_early:
	free(e->cert);
	free(e->key);
	free(e->ca);
	free(e);
	return NULL;
}

void bc_etcd_free(struct bc_etcd **ep)
{
	struct bc_etcd *e = *ep;

	if (e == NULL)
		return;
	if (e->h)
		curl_easy_cleanup(e->h);
	curl_slist_free_all(e->hdr);
	curl_global_cleanup();
	free(e->cert);
	free(e->key);
	free(e->ca);
	free(e);
	*ep = NULL;
}

const char *bc_etcd_endpoint(const struct bc_etcd *e)
{
	return e->ep[e->cur];
}

bool bc_etcd_outcome_unknown(const struct bc_etcd *e)
{
	return e->unknown;
}

size_t bc_etcd_endpoint_count(const struct bc_etcd *e)
{
	return e->nep;
}

int bc_etcd_curl_setup(const struct bc_etcd *e, CURL *h)
{
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->hdr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "bancluster-coordinator") != CURLE_OK)
		return -1;
	if (e->cert && curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert) != CURLE_OK)
		return -1;
	if (e->key && curl_easy_setopt(h, CURLOPT_SSLKEY, e->key) != CURLE_OK)
		return -1;
	if (e->ca && curl_easy_setopt(h, CURLOPT_CAINFO, e->ca) != CURLE_OK)
		return -1;
	return 0;
}

/* ---- one request ----------------------------------------------------- */

struct sink {
	char *p;
	size_t n, cap, max;
	bool over;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->n) {
		s->over = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->n + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *p;

		while (cap < s->n + n + 1)
			cap *= 2;
		p = realloc(s->p, cap);
		if (p == NULL)
			return 0;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->n, data, n);
	s->n += n;
	s->p[s->n] = '\0';
	return n;
}

/* the error object of a non-200 answer: {"error","message","code"} */
static void answer_error(const char *ep, long http, const struct sink *s, int *code,
			 bool *timed_out, char *err, size_t errlen)
{
	json_t *j = s->p ? json_loadb(s->p, s->n, 0, NULL) : NULL;
	const json_t *m = j ? json_object_get(j, "message") : NULL;
	const json_t *c = j ? json_object_get(j, "code") : NULL;

	*code = -1;
	*timed_out = m && json_is_string(m) && strstr(json_string_value(m), "timed out");
	if (c && json_is_integer(c) && json_integer_value(c) >= 0 && json_integer_value(c) < 100)
		*code = (int)json_integer_value(c);
	if (m && json_is_string(m))
		bc_etcd_err(err, errlen, "etcd %s: %.160s", ep, json_string_value(m));
	else
		bc_etcd_err(err, errlen, "etcd %s: HTTP %ld", ep, http);
	json_decref(j);
}

static void pause_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

enum attempt { A_OK, A_FAIL, A_NEXT };

static enum attempt attempt(struct bc_etcd *e, const char *path, const char *body, size_t len,
			    bool idempotent, int64_t left_ms, json_t **reply,
			    char *err, size_t errlen)
{
	const char *ep = e->ep[e->cur];
	char url[BC_ETCD_URL_MAX + 64];
	struct sink s = {.max = e->max_reply};
	char cerr[CURL_ERROR_SIZE] = "";
	long http = 0;
	CURLcode rc;
	enum attempt a;

	if (left_ms > e->attempt_ms)
		left_ms = e->attempt_ms;
	snprintf(url, sizeof(url), "%s%s", ep, path);
	if (curl_easy_setopt(e->h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, (long)left_ms) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_CONNECTTIMEOUT_MS,
			     (long)(left_ms < e->connect_ms ? left_ms : e->connect_ms)) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_ERRORBUFFER, cerr) != CURLE_OK ||
	    bc_etcd_curl_setup(e, e->h) < 0) {
		bc_etcd_err(err, errlen, "etcd: curl_easy_setopt failed");
		return A_FAIL;
	}
	rc = curl_easy_perform(e->h);
	curl_easy_setopt(e->h, CURLOPT_ERRORBUFFER, NULL);
	if (s.over) {
		bc_etcd_err(err, errlen, "etcd %s: reply over %zu bytes", ep, e->max_reply);
		a = A_FAIL;
	} else if (rc != CURLE_OK) {
		curl_off_t up = 0;

		/* a write whose body went out and then got no answer (timeout,
		 * connection reset, empty reply) may have been applied; one that
		 * never connected was not (curl resends on a fresh connection
		 * by itself when a kept-alive one turns out dead) */
		curl_easy_getinfo(e->h, CURLINFO_SIZE_UPLOAD_T, &up);
		if (!idempotent && up > 0 && rc != CURLE_COULDNT_CONNECT &&
		    rc != CURLE_COULDNT_RESOLVE_HOST) {
			bc_etcd_err(err, errlen, "etcd %s: write not answered (outcome unknown): %.120s",
				    ep, cerr[0] ? cerr : curl_easy_strerror(rc));
			e->unknown = true;
			a = A_FAIL;
		} else {
			bc_etcd_err(err, errlen, "etcd %s: %.160s", ep,
				    cerr[0] ? cerr : curl_easy_strerror(rc));
			a = A_NEXT;
		}
	} else {
		curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &http);
		if (http != 200) {
			bool timed_out;
			int code;

			answer_error(ep, http, &s, &code, &timed_out, err, errlen);
			/* 14 Unavailable (HTTP 503): no leader, leader changed:
			 * the next member may answer. But "request timed out"
			 * (also 14) means a write was proposed and may yet apply */
			if (code != 14 && http != 503)
				a = A_FAIL;
			else if (!idempotent && timed_out) {
				e->unknown = true;
				a = A_FAIL;
			} else
				a = A_NEXT;
		} else {
			json_error_t je;
			json_t *j = s.p ? json_loadb(s.p, s.n, JSON_REJECT_DUPLICATES, &je) : NULL;

			if (j == NULL || !json_is_object(j)) {
				bc_etcd_err(err, errlen, "etcd %s: malformed reply (%.80s)", ep,
					    j ? "not an object" : s.p ? je.text : "empty");
				json_decref(j);
				a = A_FAIL;
			} else {
				*reply = j;
				a = A_OK;
			}
		}
	}
	free(s.p);
	return a;
}

int bc_etcd_rpc(struct bc_etcd *e, const char *path, json_t *req, bool idempotent,
		json_t **reply, char *err, size_t errlen)
{
	int64_t deadline = bc_mono_ms() + e->timeout_ms;
	char *body = json_dumps(req, JSON_COMPACT);
	size_t tried = 0;
	int rc = -1;

	*reply = NULL;
	e->unknown = false;
	if (body == NULL) {
		bc_etcd_err(err, errlen, "etcd: out of memory");
		return -1;
	}
	for (;;) {
		int64_t left = deadline - bc_mono_ms();
		enum attempt a;

		/* no retry on a sliver of time: it would end as a timeout
		 * (of unknown outcome for a write) hiding the real failure */
		if (left <= 0 || (tried > 0 && left < ETCD_RETRY_MIN_MS)) {
			if (tried == 0)
				bc_etcd_err(err, errlen, "etcd: deadline passed");
			break; /* err holds the last endpoint's failure */
		}
		a = attempt(e, path, body, strlen(body), idempotent, left, reply, err, errlen);
		if (a == A_OK) {
			rc = 0;
			break;
		}
		if (a == A_FAIL)
			break;
		tried++;
		e->cur = (e->cur + 1) % e->nep;
		if (tried % e->nep == 0) {
			int64_t pause = deadline - bc_mono_ms();

			if (pause > ETCD_RETRY_PAUSE_MS)
				pause = ETCD_RETRY_PAUSE_MS;
			if (pause > 0)
				pause_ms(pause);
		}
	}
	free(body);
	return rc;
}

/* ---- JSON and base64 --------------------------------------------------- */

int bc_etcd_j_i64(const json_t *o, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(o, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long long x;

		if (*s == '\0' || json_string_length(v) > 20 || !(*s == '-' || (*s >= '0' && *s <= '9')))
			return -1;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end != '\0')
			return -1;
		*out = x;
		return 0;
	}
	return -1;
}

int bc_etcd_j_u64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long x;

		if (*s < '0' || *s > '9' || json_string_length(v) > 20)
			return -1;
		errno = 0;
		x = strtoull(s, &end, 10);
		if (errno || *end != '\0')
			return -1;
		*out = x;
		return 0;
	}
	return -1;
}

int bc_etcd_j_bool(const json_t *o, const char *name, bool *out)
{
	const json_t *v = json_object_get(o, name);

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

json_t *bc_etcd_b64(const void *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

int bc_etcd_unb64(const json_t *o, const char *name, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(o, name);
	size_t slen = 0, cap;
	uint8_t *b;

	*out = NULL;
	*len = 0;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return -1;
		slen = json_string_length(v);
	}
	cap = slen / 4 * 3 + 3;
	b = malloc(cap + 1);
	if (b == NULL)
		return -1;
	if (slen > 0 && sodium_base642bin(b, cap, json_string_value(v), slen, NULL, len, NULL,
					  sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(b);
		return -1;
	}
	b[*len] = '\0';
	*out = b;
	return 0;
}

json_t *bc_etcd_prefix_end(const void *key, size_t n)
{
	const uint8_t *k = key;
	uint8_t *end;
	json_t *j;

	while (n > 0 && k[n - 1] == 0xff)
		n--;
	if (n == 0) {
		uint8_t zero = 0; /* every key from key on */

		return bc_etcd_b64(&zero, 1);
	}
	end = malloc(n);
	if (end == NULL)
		return NULL;
	memcpy(end, k, n);
	end[n - 1]++;
	j = bc_etcd_b64(end, n);
	free(end);
	return j;
}

int bc_etcd_set_key(json_t *o, const void *key, size_t n, bool prefix)
{
	if (n == 0 && prefix) {
		uint8_t zero = 0; /* key "\0", range_end "\0": every key */

		if (json_object_set_new(o, "key", bc_etcd_b64(&zero, 1)) < 0)
			return -1;
	} else if (json_object_set_new(o, "key", bc_etcd_b64(key, n)) < 0)
		return -1;
	if (prefix && json_object_set_new(o, "range_end", bc_etcd_prefix_end(key, n)) < 0)
		return -1;
	return 0;
}

int bc_etcd_set_i64(json_t *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_object_set_new(o, name, json_string(s));
}

void bc_etcd_kv_clear(struct bc_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

int bc_etcd_kv_parse(const json_t *o, struct bc_etcd_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o) ||
	    bc_etcd_j_i64(o, "create_revision", &kv->create_revision) < 0 ||
	    bc_etcd_j_i64(o, "mod_revision", &kv->mod_revision) < 0 ||
	    bc_etcd_j_i64(o, "version", &kv->version) < 0 ||
	    bc_etcd_j_i64(o, "lease", &kv->lease) < 0 ||
	    bc_etcd_unb64(o, "key", &kv->key, &kv->key_len) < 0 ||
	    bc_etcd_unb64(o, "value", &kv->value, &kv->value_len) < 0) {
		bc_etcd_kv_clear(kv);
		return -1;
	}
	return 0;
}

void bc_etcd_range_free(struct bc_etcd_range *r)
{
	for (size_t i = 0; i < r->n; i++)
		bc_etcd_kv_clear(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

int bc_etcd_header_rev(const json_t *reply, int64_t *rev)
{
	const json_t *h = json_object_get(reply, "header");

	*rev = 0;
	if (h == NULL)
		return 0;
	if (!json_is_object(h))
		return -1;
	return bc_etcd_j_i64(h, "revision", rev);
}

int bc_etcd_range_parse(const json_t *o, struct bc_etcd_range *r)
{
	const json_t *kvs = json_object_get(o, "kvs");
	size_t n;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o) || bc_etcd_header_rev(o, &r->revision) < 0 ||
	    bc_etcd_j_i64(o, "count", &r->count) < 0 || bc_etcd_j_bool(o, "more", &r->more) < 0)
		return -1;
	if (kvs == NULL || json_is_null(kvs))
		return 0;
	if (!json_is_array(kvs))
		return -1;
	n = json_array_size(kvs);
	if (n == 0)
		return 0;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (r->kvs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (bc_etcd_kv_parse(json_array_get(kvs, i), &r->kvs[i]) < 0) {
			bc_etcd_range_free(r);
			return -1;
		}
		r->n++;
	}
	return 0;
}
