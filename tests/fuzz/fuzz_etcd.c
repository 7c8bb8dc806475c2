/*
 * fuzz_etcd.c - libFuzzer harness for the etcd client's reply readers
 * (coordinator/etcd.c, etcd_watch.c): the first byte picks the reader,
 * the rest is what a hostile etcd endpoint sends.
 *   even: one unary reply body: jansson, then the range reader
 *         (bc_etcd_range_parse) and the header's revision
 *   odd:  a watch stream (bc_etcd_watch_feed: line splitter, message and
 *         event readers) with a 4 KiB cap on one message
 * Aborts when the contract breaks: an event older than the one before it
 * or not NUL-terminated, next_rev below the start revision, an error line
 * that is not printable ASCII. Seeds: tests/fuzz/etcd_reply/.
 * Built and run by `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/etcd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable_or_abort(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

static int64_t last;

static int on_event(void *arg, const struct bc_etcd_event *ev)
{
	(void)arg;
	if (ev->kv->mod_revision < last || ev->kv->mod_revision <= 0 ||
	    ev->kv->key[ev->kv->key_len] != '\0' || ev->kv->value[ev->kv->value_len] != '\0')
		abort();
	last = ev->kv->mod_revision;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bc_etcd *e;
	char err[BC_ETCD_ERR_MAX] = "";

	if (e == NULL) {
		struct bc_etcd_opts o = {.endpoints = "http://127.0.0.1:1", .max_reply = 4096};

		e = bc_etcd_new(&o, err, sizeof(err));
		if (e == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
		struct bc_etcd_range r;
		int64_t rev;

		if (j && bc_etcd_range_parse(j, &r) == 0) {
			for (size_t i = 0; i < r.n; i++)
				if (r.kvs[i].key[r.kvs[i].key_len] != '\0')
					abort();
			bc_etcd_range_free(&r);
		}
		if (j)
			(void)bc_etcd_header_rev(j, &rev);
		json_decref(j);
	} else {
		int64_t next = 0;

		last = 0;
		(void)bc_etcd_watch_feed(e, (const char *)data + 1, size - 1, 5, on_event, NULL, &next,
					 err, sizeof(err));
		if (next < 5)
			abort();
		printable_or_abort(err);
	}
	return 0;
}
