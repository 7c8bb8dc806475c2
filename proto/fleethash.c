/*
 * fleethash.c - the fleet-set hash both ends compute (fleethash.h).
 */
#include "proto/fleethash.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int bc_fleethash_key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct bc_fleethash_key));
}

void bc_fleethash_add(struct bc_fleethash_keys *k, const struct bc_fw_elem *e,
		      int64_t abs_exp)
{
	if (abs_exp != 0 && abs_exp <= k->cutoff_ms)
		return;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		struct bc_fleethash_key *v = realloc(k->v, cap * sizeof(*v));

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

void bc_fleethash_sort(struct bc_fleethash_keys *k)
{
	if (k->n > 1)
		qsort(k->v, k->n, sizeof(*k->v), bc_fleethash_key_cmp);
}

void bc_fleethash_final(struct bc_fleethash_keys *k, struct bc_fleethash *out)
{
	crypto_generichash_state st;

	bc_fleethash_sort(k);
	crypto_generichash_init(&st, NULL, 0, BC_FLEETHASH_LEN);
	if (k->n > 0)
		crypto_generichash_update(&st, (const uint8_t *)k->v,
					  k->n * sizeof(*k->v));
	crypto_generichash_final(&st, out->hash, BC_FLEETHASH_LEN);
	out->count = k->n;
}

int bc_fleethash_expected_keys(const struct bc_banmap *m,
			       struct bc_fleethash_keys *k)
{
	struct bc_interval_ops ops = {0};
	size_t i;

	/* now = 0: element timeouts come out as absolute expiry times */
	if (bc_interval_all(m, 0, BC_FW_FLEET, &ops) < 0)
		return -1;
	for (i = 0; i < ops.n; i++)
		bc_fleethash_add(k, &ops.v[i], (int64_t)ops.v[i].timeout_ms);
	bc_interval_ops_free(&ops);
	return k->oom ? -1 : 0;
}

int bc_fleethash_expected(const struct bc_banmap *m, int64_t cutoff_ms,
			  struct bc_fleethash *out)
{
	struct bc_fleethash_keys k = {.cutoff_ms = cutoff_ms};
	int rc = bc_fleethash_expected_keys(m, &k);

	if (rc == 0)
		bc_fleethash_final(&k, out);
	bc_fleethash_keys_free(&k);
	return rc;
}

void bc_fleethash_diff_each(const struct bc_fleethash_keys *have,
			    const struct bc_fleethash_keys *want,
			    void (*cb)(const struct bc_fleethash_key *k,
				       bool extra, void *arg),
			    void *arg)
{
	size_t i = 0, j = 0;

	while (i < have->n || j < want->n) {
		int c = i == have->n ? 1 : j == want->n ? -1
				: bc_fleethash_key_cmp(&have->v[i], &want->v[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			cb(&have->v[i++], true, arg);
		} else {
			cb(&want->v[j++], false, arg);
		}
	}
}

struct counts {
	size_t *missing, *extra;
};

static void count_diff(const struct bc_fleethash_key *k, bool extra, void *arg)
{
	struct counts *n = arg;

	(void)k;
	(*(extra ? n->extra : n->missing))++;
}

void bc_fleethash_diff(const struct bc_fleethash_keys *have,
		       const struct bc_fleethash_keys *want, size_t *missing,
		       size_t *extra)
{
	struct counts n = {missing, extra};

	*missing = *extra = 0;
	bc_fleethash_diff_each(have, want, count_diff, &n);
}

void bc_fleethash_keys_free(struct bc_fleethash_keys *k)
{
	free(k->v);
	k->v = NULL;
	k->n = k->cap = 0;
}
