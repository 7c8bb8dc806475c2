/*
 * fleetcheck.c - kernel set versus ban map, as a hash (fleetcheck.h).
 */
#include "fleetcheck.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/banset.h"

struct key {
	uint8_t family;
	uint8_t first[16];
	uint8_t last[16];
};

struct keys {
	struct key *v;
	size_t n, cap;
	int oom;
	int64_t now_ms, cutoff_ms;
};

static int cmp_key(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct key));
}

static void add(struct keys *k, const struct bc_fw_elem *e, int64_t abs_exp)
{
	if (abs_exp != 0 && abs_exp <= k->cutoff_ms)
		return;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		struct key *v = realloc(k->v, cap * sizeof(*v));

		if (v == NULL) {
			k->oom = 1;
			return;
		}
		k->v = v;
		k->cap = cap;
	}
	memset(&k->v[k->n], 0, sizeof(k->v[k->n]));
	k->v[k->n].family = e->family;
	memcpy(k->v[k->n].first, e->first, 16);
	memcpy(k->v[k->n].last, e->last, 16);
	k->n++;
}

static void hash(struct keys *k, struct bc_fleetcheck *out)
{
	crypto_generichash_state st;

	if (k->n > 1)
		qsort(k->v, k->n, sizeof(*k->v), cmp_key);
	crypto_generichash_init(&st, NULL, 0, BC_FLEETCHECK_HASH);
	if (k->n > 0)
		crypto_generichash_update(&st, (const uint8_t *)k->v,
					  k->n * sizeof(*k->v));
	crypto_generichash_final(&st, out->hash, BC_FLEETCHECK_HASH);
	out->count = k->n;
}

static int expected_keys(const struct bc_banmap *m, int64_t cutoff_ms,
			 struct keys *k)
{
	struct bc_fw_ops ops = {0};
	size_t i;

	/* now = 0: element timeouts come out as absolute expiry times */
	if (bc_banset_all(m, 0, BC_FW_FLEET, &ops) < 0)
		return -1;
	k->cutoff_ms = cutoff_ms;
	for (i = 0; i < ops.n; i++)
		add(k, &ops.v[i], (int64_t)ops.v[i].timeout_ms);
	bc_fw_ops_free(&ops);
	return k->oom ? -1 : 0;
}

int bc_fleetcheck_expected(const struct bc_banmap *m, int64_t cutoff_ms,
			   struct bc_fleetcheck *out)
{
	struct keys k = {0};
	int rc = expected_keys(m, cutoff_ms, &k);

	if (rc == 0)
		hash(&k, out);
	free(k.v);
	return rc;
}

static void dump_cb(const struct bc_fw_elem *e, void *arg)
{
	struct keys *k = arg;

	add(k, e, e->timeout_ms ? k->now_ms + (int64_t)e->timeout_ms : 0);
}

int bc_fleetcheck_kernel(struct bc_fwr *fw, int64_t now_ms, int64_t cutoff_ms,
			 const struct bc_banmap *want,
			 struct bc_fleetcheck *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen)
{
	struct keys k = {0}, w = {0};
	int rc = -1;

	k.now_ms = now_ms;
	k.cutoff_ms = cutoff_ms;
	*missing = *extra = 0;
	if (bc_fwr_dump(fw, BC_FW_FLEET, AF_INET, dump_cb, &k, err, errlen) < 0 ||
	    bc_fwr_dump(fw, BC_FW_FLEET, AF_INET6, dump_cb, &k, err, errlen) < 0)
		goto out;
	if (k.oom)
		goto out;
	hash(&k, out);
	if (want != NULL) {
		size_t i = 0, j = 0;

		if (expected_keys(want, cutoff_ms, &w) < 0)
			goto out;
		if (w.n > 1)
			qsort(w.v, w.n, sizeof(*w.v), cmp_key);
		while (i < k.n || j < w.n) {
			int c = i == k.n ? 1 : j == w.n ? -1
					       : cmp_key(&k.v[i], &w.v[j]);
			if (c == 0) {
				i++;
				j++;
			} else if (c < 0) {
				(*extra)++;
				i++;
			} else {
				(*missing)++;
				j++;
			}
		}
	}
	rc = 0;
out:
	free(k.v);
	free(w.v);
	return rc;
}
