/*
 * fleetcheck.c - the kernel side of the fleet-set hash (fleetcheck.h,
 * proto/fleethash.h), run by the signer one page at a time.
 *
 * Input: the fleet sets' elements as the firewall process reads them
 * (kernel data, relayed over the checked socketpair of fw_remote.h), the
 * fleet ops the signer applied meanwhile, and its ban map. The key lists
 * are owned by the check and freed when it ends. Errors: -1 with one
 * line in err (a failed read or lookup, or out of memory); nothing
 * prints.
 */
#include "agent/fleetcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"

static void keys_reset(struct bc_fleethash_keys *k)
{
	bc_fleethash_keys_free(k);
	memset(k, 0, sizeof(*k));
}

void bc_fleetcheck_abort(struct bc_fleetcheck *c)
{
	keys_reset(&c->have);
	keys_reset(&c->touched);
	free(c->exp);
	memset(c, 0, sizeof(*c));
}

void bc_fleetcheck_begin(struct bc_fleetcheck *c)
{
	bc_fleetcheck_abort(c);
	c->phase = 1;
	c->start = true;
}

/* One element read: its key, and its expiry beside it. */
static void page_cb(const struct bc_fw_elem *e, void *arg)
{
	struct bc_fleetcheck *c = arg;
	size_t i = c->have.n;

	bc_fleethash_add(&c->have, e, 0); /* no cutoff yet: see finish */
	if (c->have.n == i)
		return; /* out of memory: have.oom is set */
	if (c->expcap < c->have.cap) {
		int64_t *v = realloc(c->exp, c->have.cap * sizeof(*v));

		if (v == NULL) {
			c->have.oom = 1;
			c->have.n = i;
			return;
		}
		c->exp = v;
		c->expcap = c->have.cap;
	}
	c->exp[i] = e->timeout_ms ? c->now_ms + (int64_t)e->timeout_ms : 0;
}

int bc_fleetcheck_step(struct bc_fleetcheck *c, struct bc_fwr *fw,
		       char *err, size_t errlen)
{
	int family = c->phase == 1 ? AF_INET : AF_INET6;
	int64_t t0 = bc_mono_ms();
	int rc;

	if (c->phase < 1 || c->phase > 2) {
		snprintf(err, errlen, "no read-back in progress");
		return -1;
	}
	c->now_ms = bc_now_ms();
	rc = bc_fwr_page(fw, BC_FW_FLEET, family, c->start, page_cb, c, err,
			 errlen);
	c->busy_ms += bc_mono_ms() - t0;
	c->start = false;
	if (rc >= 0 && c->have.oom) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc < 0) {
		bc_fleetcheck_abort(c);
		return -1;
	}
	if (rc == 0) { /* this family is read: the next one */
		c->phase++;
		c->start = true;
	}
	return c->phase == 3 ? 0 : 1;
}

void bc_fleetcheck_touch(struct bc_fleetcheck *c, const struct bc_fw_elem *ops,
			 size_t n)
{
	if (!bc_fleetcheck_running(c))
		return;
	for (size_t i = 0; i < n; i++)
		bc_fleethash_add(&c->touched, &ops[i], 0);
}

static bool touched(const struct bc_fleetcheck *c,
		    const struct bc_fleethash_key *k)
{
	return c->touched.n > 0 &&
	       bsearch(k, c->touched.v, c->touched.n, sizeof(*k),
		       bc_fleethash_key_cmp) != NULL;
}

static void count_cb(const struct bc_fw_elem *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

/*
 * have without what expires by cutoff, sorted, each key once (the walk
 * repeats a key when the set changes between pages).
 */
static void have_final(struct bc_fleetcheck *c, int64_t cutoff_ms)
{
	size_t i, j = 0;

	for (i = 0; i < c->have.n; i++)
		if (c->exp[i] == 0 || c->exp[i] > cutoff_ms)
			c->have.v[j++] = c->have.v[i];
	c->have.n = j;
	bc_fleethash_sort(&c->have);
	for (i = j = 0; i < c->have.n; i++)
		if (j == 0 ||
		    bc_fleethash_key_cmp(&c->have.v[j - 1], &c->have.v[i]) != 0)
			c->have.v[j++] = c->have.v[i];
	c->have.n = j;
}

/* What the comparison found: counts, and the hosts to look up. */
struct diff {
	const struct bc_fleetcheck *c;
	size_t missing, extra;
	struct bc_fw_elem *look;
	size_t nlook, caplook;
	bool oom;
};

static void on_diff(const struct bc_fleethash_key *k, bool extra, void *arg)
{
	struct diff *d = arg;
	struct bc_fw_elem *e;

	if (touched(d->c, k))
		return; /* written meanwhile: read before or after */
	if (extra) {
		d->extra++;
		return;
	}
	if (d->nlook >= BC_FLEETCHECK_LOOKUP_MAX ||
	    memcmp(k->first, k->last, 16) != 0) {
		d->missing++;
		return;
	}
	/* a host the walk may have skipped: ask the kernel */
	if (d->nlook == d->caplook) { /* rare: grown as needed */
		size_t ncap = d->caplook ? 2 * d->caplook : 64;
		struct bc_fw_elem *v = realloc(d->look, ncap * sizeof(*v));

		if (v == NULL) {
			d->oom = true;
			return;
		}
		d->look = v;
		d->caplook = ncap;
	}
	e = &d->look[d->nlook++];
	memset(e, 0, sizeof(*e));
	e->op = BC_FW_ADD;
	e->set = BC_FW_FLEET;
	e->family = k->family;
	memcpy(e->first, k->first, 16);
	memcpy(e->last, k->last, 16);
}

int bc_fleetcheck_finish(struct bc_fleetcheck *c, struct bc_fwr *fw,
			 int64_t cutoff_ms, const struct bc_banmap *want,
			 struct bc_fleethash *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen)
{
	struct bc_fleethash_keys w = {.cutoff_ms = cutoff_ms};
	struct diff d = {.c = c};
	size_t i, found = 0;
	int rc = -1;

	*missing = *extra = 0;
	if (c->phase != 3) {
		snprintf(err, errlen, "read-back not finished");
		goto out;
	}
	have_final(c, cutoff_ms);
	if (bc_fleethash_expected_keys(want, &w) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	bc_fleethash_sort(&w);
	bc_fleethash_sort(&c->touched);
	bc_fleethash_diff_each(&c->have, &w, on_diff, &d);
	if (d.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < d.nlook; i += BC_FWR_CHUNK)
		if (bc_fwr_lookup(fw, BC_FW_FLEET, d.look + i,
				  d.nlook - i < BC_FWR_CHUNK ? d.nlook - i
							     : BC_FWR_CHUNK,
				  count_cb, &found, err, errlen) < 0)
			goto out;
	*missing = d.missing + d.nlook - found;
	*extra = d.extra;
	bc_fleethash_final(*missing == 0 && *extra == 0 ? &w : &c->have, out);
	rc = 0;
out:
	free(d.look);
	bc_fleethash_keys_free(&w);
	bc_fleetcheck_abort(c);
	return rc;
}
