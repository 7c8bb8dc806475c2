/*
 * localsync.c - the agent's local bans, reported to the coordinator and
 * lifted by it (localsync.h).
 *
 * The list: every local ban of the map (a->local) with what the local
 * policy knew when it fired (events, window; kept here, sorted by
 * address, in struct bc_local_meta), at most BC_LOCALSYNC_MAX of them
 * (the rest counted as dropped), in parts of BC_WIRE_MAX_LOCAL_PER_MSG,
 * all under one generation. The generation starts random at each start
 * and moves on every change, so a coordinator that restarted, or holds
 * the list of this agent's previous run, sees a generation it does not
 * have in the heartbeat and asks for it (a MSG_LOCAL_LIFT whose have_gen
 * differs). Lists go only to a coordinator that asked since its start
 * (the epoch applied when it asked): one of an older release never asks,
 * so it is never sent a message type it would count as bad. A failed
 * send is tried again a second later.
 *
 * Untrusted: nothing from the log reaches here but through the policy's
 * hit (numbers). Lifts come from the coordinator, verified; each names
 * an exact local ban (and its creation time, or 0 for any), so a lift
 * resent after the address was banned again does not lift the new ban.
 */
#include "agent/localsync.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/follow.h"
#include "common/clock.h"
#include "common/log.h"

struct bc_local_meta {
	struct bc_addr addr;
	uint32_t events;  /* 0: not known (found in the kernel at start) */
	int64_t window_s;
};

static long meta_find(const struct bc_agent_signer *a, const struct bc_addr *x,
		      size_t *at)
{
	size_t lo = 0, hi = a->nlmeta;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = bc_addr_cmp(&a->lmeta[mid].addr, x);

		if (c == 0) {
			*at = mid;
			return (long)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return -1;
}

static void meta_put(struct bc_agent_signer *a, const struct bc_local_meta *m)
{
	size_t at;

	if (meta_find(a, &m->addr, &at) >= 0) {
		a->lmeta[at] = *m;
		return;
	}
	if (a->nlmeta == a->caplmeta) {
		size_t cap = a->caplmeta ? a->caplmeta * 2 : 64;
		struct bc_local_meta *v = realloc(a->lmeta, cap * sizeof(*v));

		if (v == NULL)
			return; /* reported without its counts */
		a->lmeta = v;
		a->caplmeta = cap;
	}
	memmove(&a->lmeta[at + 1], &a->lmeta[at],
		(a->nlmeta - at) * sizeof(*a->lmeta));
	a->lmeta[at] = *m;
	a->nlmeta++;
}

static void meta_del(struct bc_agent_signer *a, const struct bc_addr *x)
{
	size_t at;

	if (meta_find(a, x, &at) < 0)
		return;
	memmove(&a->lmeta[at], &a->lmeta[at + 1],
		(a->nlmeta - at - 1) * sizeof(*a->lmeta));
	a->nlmeta--;
}

static void changed(struct bc_agent_signer *a)
{
	if (++a->local_gen == 0)
		a->local_gen = 1;
}

/*
 * A kernel element back to the prefix it was written for: [first, last]
 * must be exactly one prefix (the local policy bans hosts and, for IPv6,
 * its ipv6_prefix). 0, or -1 for a range that is none.
 */
static int elem_prefix(const struct bc_fw_elem *e, struct bc_addr *out)
{
	size_t len = e->family == AF_INET ? 4 : 16, i;
	unsigned plen = 0;
	bool host = true;

	for (i = 0; i < len * 8; i++) {
		int f = e->first[i / 8] >> (7 - i % 8) & 1;
		int l = e->last[i / 8] >> (7 - i % 8) & 1;

		if (host && f == l) {
			plen++;
			continue;
		}
		host = false;
		if (f != 0 || l != 1) /* below the prefix: all 0 to all 1 */
			return -1;
	}
	bc_addr_from_bin(out, e->family, e->first, plen);
	return 0;
}

static void kernel_cb(const struct bc_fw_elem *e, void *arg)
{
	struct bc_agent_signer *a = arg;
	struct bc_ban b;
	struct bc_local_meta m;

	memset(&b, 0, sizeof(b));
	if (elem_prefix(e, &b.addr) < 0 || bc_banmap_find(&a->local, &b.addr) >= 0)
		return;
	b.expires_ms = e->timeout_ms ? bc_now_ms() + (int64_t)e->timeout_ms : 0;
	b.created_ms = 0; /* not known */
	if (bc_banmap_put(&a->local, &b) < 0)
		return;
	memset(&m, 0, sizeof(m));
	m.addr = b.addr;
	meta_put(a, &m);
}

void bc_localsync_start(struct bc_agent_signer *a)
{
	static const int fams[2] = {AF_INET, AF_INET6};
	char err[256];
	int i;

	randombytes_buf(&a->local_gen, sizeof(a->local_gen));
	if (a->local_gen == 0)
		a->local_gen = 1;
	for (i = 0; i < 2; i++)
		if (bc_fwr_dump(&a->fwr, BC_FW_LOCAL, fams[i], kernel_cb, a, err,
				sizeof(err)) < 0)
			bc_warn("local bans: kernel read-back failed: %s", err);
	if (a->local.n > 0)
		bc_info("local bans: %zu found in the kernel from before the "
			"start, kept and reported", a->local.n);
}

void bc_localsync_added(struct bc_agent_signer *a, const struct bc_ban *b,
			double events, int64_t window_s)
{
	struct bc_local_meta m;

	memset(&m, 0, sizeof(m));
	m.addr = b->addr;
	m.events = events >= 1 && events < 4e9 ? (uint32_t)events : 0;
	m.window_s = window_s;
	meta_put(a, &m);
	changed(a);
}

void bc_localsync_removed(struct bc_agent_signer *a, const struct bc_addr *addr)
{
	meta_del(a, addr);
	changed(a);
}

/* Lift one local ban: kernel first, then the map, the policy's window
 * and the metadata. 0 lifted, -1 not (absent, another ban, failure). */
static int lift_one(struct bc_agent_signer *a, const Bancluster__LocalTarget *t,
		    const char *admin)
{
	struct bc_interval_ops ops = {0};
	struct bc_ban b;
	char err[256] = "out of memory", as[BC_ADDR_STRLEN];
	long i;

	memset(&b, 0, sizeof(b));
	if (bc_wire_addr(t->family, &t->addr, t->plen, &b.addr) < 0)
		return -1;
	i = bc_banmap_find(&a->local, &b.addr);
	if (i < 0)
		return -1;
	b = a->local.v[i];
	/* a ban made after the one the admin lifted stays */
	if (t->created_ms != 0 && b.created_ms != 0 && b.created_ms != t->created_ms)
		return -1;
	bc_addr_format(&b.addr, as, sizeof(as));
	if (bc_interval_change(&a->local, &b, 1, bc_now_ms(), BC_FW_LOCAL, &ops) < 0 ||
	    bc_fwr_apply(&a->fwr, ops.v, ops.n, err, sizeof(err)) < 0) {
		if (bc_banmap_find(&a->local, &b.addr) < 0)
			bc_banmap_put(&a->local, &b); /* the kernel still has it */
		bc_warn("local ban %s: lift by admin %s failed: %s", as, admin, err);
		bc_interval_ops_free(&ops);
		return -1;
	}
	bc_interval_ops_free(&ops);
	/* the window that fired starts again from nothing */
	bc_policy_forget(a->local_policy, &b.addr);
	meta_del(a, &b.addr);
	a->local_lifts++;
	bc_info("local ban %s lifted by admin %s", as, admin);
	return 0;
}

void bc_localsync_lift(struct bc_agent_signer *a, const Bancluster__LocalLift *l)
{
	char admin[BC_NAME_MAX * 4];
	size_t i, n = 0;

	bc_escape(admin, sizeof(admin), l->admin, strlen(l->admin));
	for (i = 0; i < l->n_lifts; i++)
		if (lift_one(a, l->lifts[i], admin) == 0)
			n++;
	if (n > 0) {
		changed(a);
		a->local_sent_ms = 0; /* confirm at once */
	}
	if (l->have_gen != a->local_gen)
		a->local_asked = true;
	a->local_coord_epoch = a->epoch ? a->epoch : 1; /* it knows lists */
}

/* One part of the list: bans [off, off + n) of the map. */
static int send_part(struct bc_agent_signer *a, size_t off, size_t n,
		     uint32_t part, bool last, size_t total, size_t dropped)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__LocalBans m = BANCLUSTER__LOCAL_BANS__INIT;
	Bancluster__LocalBan *v = calloc(n ? n : 1, sizeof(*v));
	Bancluster__LocalBan **vp = calloc(n ? n : 1, sizeof(*vp));
	char (*reason)[80] = calloc(n ? n : 1, sizeof(*reason));
	size_t i;
	int rc = -1;

	if (v == NULL || vp == NULL || reason == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		const struct bc_ban *b = &a->local.v[off + i];
		size_t at;
		long k = meta_find(a, &b->addr, &at);

		bancluster__local_ban__init(&v[i]);
		bc_wire_addr_fill(&b->addr, &v[i].family, &v[i].addr, &v[i].plen);
		v[i].expires_ms = b->expires_ms;
		v[i].created_ms = b->created_ms;
		if (k >= 0 && a->lmeta[k].events > 0) {
			v[i].events = a->lmeta[k].events;
			snprintf(reason[i], sizeof(reason[i]),
				 "local policy: %" PRIu32 " events in %llds",
				 a->lmeta[k].events, (long long)a->lmeta[k].window_s);
		} else {
			snprintf(reason[i], sizeof(reason[i]),
				 "local ban found in the kernel at agent start");
		}
		v[i].reason = reason[i];
		vp[i] = &v[i];
	}
	m.gen = a->local_gen;
	m.part = part;
	m.last = last;
	m.total = total;
	m.dropped = dropped;
	m.n_bans = n;
	m.bans = vp;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_LOCAL_BANS;
	p.local_bans = &m;
	rc = bc_follow_send_all(a, BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS, &p);
out:
	free(v);
	free(vp);
	free(reason);
	return rc;
}

void bc_localsync_tick(struct bc_agent_signer *a)
{
	int64_t now = bc_mono_ms();
	size_t total = a->local.n, sent, off = 0, dropped;
	uint32_t part = 0;

	if (a->local_sent_gen == a->local_gen && !a->local_asked)
		return;
	if (a->local_coord_epoch == 0 ||
	    (a->epoch != 0 && a->local_coord_epoch != a->epoch))
		return; /* not asked by this coordinator (yet): it asks when
			 * the heartbeat's generation differs from its own */
	if (a->local_sent_ms != 0 && now - a->local_sent_ms < BC_LOCALSYNC_DEBOUNCE_MS)
		return;
	a->local_sent_ms = now;
	sent = total < BC_LOCALSYNC_MAX ? total : BC_LOCALSYNC_MAX;
	dropped = total - sent;
	do {
		size_t n = sent - off < BC_WIRE_MAX_LOCAL_PER_MSG
				   ? sent - off
				   : BC_WIRE_MAX_LOCAL_PER_MSG;

		if (send_part(a, off, n, part++, off + n >= sent, total, dropped) < 0)
			return; /* not connected: again in a second */
		off += n;
	} while (off < sent);
	if (dropped > 0 && a->local_dropped != dropped)
		bc_warn("local bans: %zu beyond the %d reported to the coordinator",
			dropped, BC_LOCALSYNC_MAX);
	a->local_dropped = dropped;
	a->local_sent_gen = a->local_gen;
	a->local_asked = false;
}

void bc_localsync_free(struct bc_agent_signer *a)
{
	free(a->lmeta);
	a->lmeta = NULL;
	a->nlmeta = a->caplmeta = 0;
}
