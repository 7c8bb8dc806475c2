/*
 * etcd_watch.c - bc_etcd_watch (etcd.h): one streaming POST to /v3/watch
 * on the gateway, whose answer is a sequence of newline-separated JSON
 * messages {"result":{...}} (created, events, canceled) or {"error":...}.
 *
 * Inputs: the stream (untrusted: each message capped at max_reply before
 * it is parsed, events checked for type and for revision order — an event
 * older than the one before it ends the watch as malformed). The events
 * handed to the callback point into memory owned here, valid during the
 * call. Cancel: a flag polled by libcurl's progress callback (about once a
 * second while idle, at every chunk otherwise). Never prints, never exits.
 *
 * The connection is made with failover like the unary calls (the endpoint
 * that answered is remembered), but a stream that breaks is not resumed
 * here: the caller calls again from *next_rev (possibly after a status
 * call, since a member cut off from the others keeps a watch open and
 * silent). A canceled answer with compact_revision is reported as
 * BC_ETCD_WATCH_COMPACTED: the caller must resync from a range get.
 */
#include "coordinator/etcd_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_KEEPIDLE_S 10 /* TCP keep-alive on the otherwise silent stream */
#define WATCH_KEEPINTVL_S 5

struct wstate {
	struct bc_etcd *e;
	bc_etcd_watch_fn fn;
	void *arg;
	const atomic_int *cancel;
	char *buf;
	size_t n, cap;
	bool created, stopped;
	enum bc_etcd_watch_end end;
	bool ended;
	int64_t next_rev, last_rev, compact_rev;
	char *err;
	size_t errlen;
};

static void fail(struct wstate *w, enum bc_etcd_watch_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct wstate *w, enum bc_etcd_watch_end end, const char *fmt, ...)
{
	char msg[BC_ETCD_ERR_MAX];
	va_list ap;

	if (w->ended)
		return;
	w->ended = true;
	w->end = end;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bc_etcd_err(w->err, w->errlen, "etcd %s: %s", bc_etcd_endpoint(w->e), msg);
}

/* one event; 1 when the callback asked to stop */
static int event(struct wstate *w, const json_t *ev, const json_t *next)
{
	const json_t *t = json_object_get(ev, "type");
	struct bc_etcd_event e;
	struct bc_etcd_kv kv;
	int stop;

	if (!json_is_object(ev) || (t && !json_is_string(t)) ||
	    bc_etcd_kv_parse(json_object_get(ev, "kv"), &kv) < 0) {
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch event");
		return -1;
	}
	if (t == NULL || strcmp(json_string_value(t), "PUT") == 0)
		e.type = BC_ETCD_EV_PUT;
	else if (strcmp(json_string_value(t), "DELETE") == 0)
		e.type = BC_ETCD_EV_DELETE;
	else {
		bc_etcd_kv_clear(&kv);
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch event (type)");
		return -1;
	}
	/* never older than the one before, nor than the start revision */
	if (kv.mod_revision <= 0 || kv.mod_revision < w->last_rev) {
		bc_etcd_kv_clear(&kv);
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch event (revision out of order)");
		return -1;
	}
	w->last_rev = kv.mod_revision;
	e.kv = &kv;
	stop = w->fn(w->arg, &e);
	if (stop) {
		/* events of one revision come in one message: when the next one
		 * shares it, watch from it again (a repeat, never a gap) */
		int64_t nr = 0;
		const json_t *nkv = next ? json_object_get(next, "kv") : NULL;

		if (json_is_object(nkv))
			bc_etcd_j_i64(nkv, "mod_revision", &nr);
		w->next_rev = nr == kv.mod_revision ? kv.mod_revision : kv.mod_revision + 1;
	} else
		w->next_rev = kv.mod_revision + 1;
	bc_etcd_kv_clear(&kv);
	return stop ? 1 : 0;
}

/* one message of the stream; -1 ends the watch */
static int message(struct wstate *w, const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	const json_t *r, *evs, *x;
	bool b;
	int rc = 0;

	if (!json_is_object(j)) {
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch message");
		json_decref(j);
		return -1;
	}
	x = json_object_get(j, "error");
	if (x) {
		const json_t *m = json_is_object(x) ? json_object_get(x, "message")
						    : json_object_get(j, "message");

		fail(w, BC_ETCD_WATCH_ERROR, "watch: %.160s",
		     json_is_string(m) ? json_string_value(m) : "error");
		json_decref(j);
		return -1;
	}
	r = json_object_get(j, "result");
	if (!json_is_object(r) || bc_etcd_j_bool(r, "created", &b) < 0) {
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch message (result)");
		json_decref(j);
		return -1;
	}
	if (b) {
		int64_t hrev;

		w->created = true;
		/* from now: the first revision not in the header's snapshot */
		if (w->next_rev <= 0 && bc_etcd_header_rev(r, &hrev) == 0 && hrev > 0)
			w->next_rev = hrev + 1;
	}
	if (bc_etcd_j_bool(r, "canceled", &b) < 0 || bc_etcd_j_i64(r, "compact_revision", &w->compact_rev) < 0) {
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch message (canceled)");
		json_decref(j);
		return -1;
	}
	if (b || w->compact_rev > 0) {
		if (w->compact_rev > 0)
			fail(w, BC_ETCD_WATCH_COMPACTED, "watch: revision %" PRId64 " compacted (etcd keeps from %" PRId64 "): resync",
			     w->next_rev, w->compact_rev);
		else {
			x = json_object_get(r, "cancel_reason");
			fail(w, BC_ETCD_WATCH_ERROR, "watch canceled: %.160s",
			     json_is_string(x) ? json_string_value(x) : "no reason given");
		}
		json_decref(j);
		return -1;
	}
	evs = json_object_get(r, "events");
	if (evs && !json_is_null(evs) && !json_is_array(evs)) {
		fail(w, BC_ETCD_WATCH_ERROR, "malformed watch message (events)");
		json_decref(j);
		return -1;
	}
	for (size_t i = 0; evs && i < json_array_size(evs) && rc == 0; i++) {
		rc = event(w, json_array_get(evs, i), json_array_get(evs, i + 1));
		if (rc > 0) {
			w->stopped = true;
			w->ended = true;
			w->end = BC_ETCD_WATCH_STOPPED;
		}
	}
	json_decref(j);
	return rc == 0 ? 0 : -1;
}

static size_t wwrite(char *data, size_t size, size_t nmemb, void *arg)
{
	struct wstate *w = arg;
	size_t n = size * nmemb, start = 0;

	if (w->ended)
		return 0;
	if (n > w->e->max_reply - w->n) {
		fail(w, BC_ETCD_WATCH_ERROR, "watch message over %zu bytes", w->e->max_reply);
		return 0;
	}
	if (w->n + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		char *p;

		while (cap < w->n + n + 1)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (p == NULL) {
			fail(w, BC_ETCD_WATCH_ERROR, "out of memory");
			return 0;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->n, data, n);
	w->n += n;
	for (size_t i = 0; i < w->n; i++) {
		if (w->buf[i] != '\n')
			continue;
		if (i > start && message(w, w->buf + start, i - start) < 0)
			return 0;
		start = i + 1;
	}
	memmove(w->buf, w->buf + start, w->n - start);
	w->n -= start;
	return n;
}

static int wprogress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct wstate *w = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (w->cancel && atomic_load(w->cancel)) {
		if (!w->ended) {
			w->ended = true;
			w->end = BC_ETCD_WATCH_STOPPED;
		}
		return 1;
	}
	return 0;
}

enum bc_etcd_watch_end bc_etcd_watch_feed(struct bc_etcd *e, const char *buf, size_t n,
					  int64_t start_rev, bc_etcd_watch_fn fn, void *arg,
					  int64_t *next_rev, char *err, size_t errlen)
{
	struct wstate w = {.e = e, .fn = fn, .arg = arg, .err = err, .errlen = errlen,
			   .next_rev = start_rev, .last_rev = start_rev};

	if (n > 0 && wwrite((char *)buf, 1, n, &w) == n && !w.ended && w.n > 0)
		message(&w, w.buf, w.n);
	free(w.buf);
	*next_rev = w.next_rev;
	if (!w.ended)
		bc_etcd_err(err, errlen, "etcd %s: watch stream ended", bc_etcd_endpoint(e));
	return w.ended ? w.end : BC_ETCD_WATCH_ERROR;
}

static json_t *watch_req(const void *prefix, size_t prefix_len, int64_t start_rev)
{
	json_t *c = json_object(), *r = json_object();

	if (c == NULL || r == NULL || bc_etcd_set_key(c, prefix, prefix_len, true) < 0 ||
	    (start_rev > 0 && bc_etcd_set_i64(c, "start_revision", start_rev) < 0) ||
	    json_object_set_new(r, "create_request", c) < 0) {
		json_decref(r);
		json_decref(c);
		return NULL;
	}
	return r;
}

enum bc_etcd_watch_end bc_etcd_watch(struct bc_etcd *e, const void *prefix, size_t prefix_len,
				     int64_t start_rev, bc_etcd_watch_fn fn, void *arg,
				     const atomic_int *cancel, int64_t *next_rev,
				     int64_t *compact_rev, char *err, size_t errlen)
{
	struct wstate w = {.e = e, .fn = fn, .arg = arg, .cancel = cancel, .err = err,
			   .errlen = errlen, .next_rev = start_rev, .last_rev = start_rev};
	json_t *req = watch_req(prefix, prefix_len, start_rev);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	CURL *h = curl_easy_init();
	size_t tried;

	json_decref(req);
	if (compact_rev)
		*compact_rev = 0;
	if (body == NULL || h == NULL || bc_etcd_curl_setup(e, h) < 0) {
		bc_etcd_err(err, errlen, "etcd: cannot start a watch (out of memory)");
		free(body);
		if (h)
			curl_easy_cleanup(h);
		*next_rev = start_rev;
		return BC_ETCD_WATCH_ERROR;
	}
	for (tried = 0; tried < e->nep; tried++) {
		char url[BC_ETCD_URL_MAX + 16], cerr[CURL_ERROR_SIZE] = "";
		CURLcode rc;
		long http = 0;

		snprintf(url, sizeof(url), "%s/v3/watch", bc_etcd_endpoint(e));
		w.n = 0;
		w.ended = w.created = false;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->connect_ms);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, (long)WATCH_KEEPIDLE_S);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, (long)WATCH_KEEPINTVL_S);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wwrite);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, wprogress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		if (w.ended)
			break;
		if (rc == CURLE_OK && w.n > 0 && message(&w, w.buf, w.n) < 0)
			break; /* a last message without its newline */
		if (w.created || http != 0) {
			bc_etcd_err(err, errlen, "etcd %s: watch stream ended (%.120s)",
				    bc_etcd_endpoint(e),
				    rc != CURLE_OK ? (cerr[0] ? cerr : curl_easy_strerror(rc))
						   : http != 200 ? "HTTP error" : "closed by the server");
			w.ended = true;
			w.end = BC_ETCD_WATCH_ERROR;
			break;
		}
		/* nothing answered: the next endpoint */
		bc_etcd_err(err, errlen, "etcd %s: %.160s", bc_etcd_endpoint(e),
			    cerr[0] ? cerr : curl_easy_strerror(rc));
		e->cur = (e->cur + 1) % e->nep;
	}
	if (!w.ended)
		w.end = BC_ETCD_WATCH_ERROR; /* err: the last endpoint's failure */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_cleanup(h);
	free(body);
	free(w.buf);
	*next_rev = w.next_rev;
	if (compact_rev)
		*compact_rev = w.compact_rev;
	return w.end;
}
