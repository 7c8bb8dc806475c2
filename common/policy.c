/*
 * policy.c - the counting table behind every ban decision (policy.h).
 *
 * A chained hash table of keys, each with a small growable ring of its
 * recent events (time, kind, host). The score is recomputed over the
 * ring on each event: rings are short (bounded by the window) and this
 * keeps "events within findtime" exact rather than bucketed.
 *
 * The bucket array starts small and doubles while the keys outnumber
 * the buckets, up to the size max_tracked calls for (the smallest power
 * of two at or above it), which it reaches before the table is full: a
 * policy made for a million keys that tracks a few thousand keeps them
 * in a few cache-friendly pages, not in an 8 MB array touched at random.
 * A split keeps each chain's order (insertion order), so the heads that
 * eviction samples are those a full-size table would have.
 */
#include "policy.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BUCKETS_MIN 1024

struct rec {
	int64_t time_ms;
	uint64_t ref;
	uint16_t host;
	uint8_t kind;
	uint8_t pad[5];
};

struct entry {
	struct entry *next;
	struct bc_addr key;
	uint32_t hash;    /* hash_addr(&key)'s low bits: a split needs no rehash */
	int64_t last_ms;
	struct rec *ring; /* oldest first; &one while cap is 1 */
	uint32_t n, cap;
	struct rec one;   /* most keys never see a second event */
};

/* the hash fills the key's padding: no byte more per tracked key */
_Static_assert(sizeof(struct entry) == 80, "struct entry grew");
/* buckets stay at most 1 << 24, so the hash's low 32 bits place a key */
#define BUCKETS_MAX ((size_t)1 << 24)

struct bc_policy {
	struct bc_policy_cfg cfg;
	struct entry **buckets;
	size_t nbuckets;
	size_t nbuckets_max; /* what max_tracked calls for */
	size_t count;
	size_t sweep_at;  /* next bucket bc_policy_sweep visits */
	uint64_t evicted, events, bans;
	uint64_t rng;
	uint8_t hkey[BC_ADDR_HASH_KEYBYTES];
};

void bc_policy_cfg_defaults(struct bc_policy_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->maxretry = 5;
	cfg->findtime_ms = 600000;
	for (int k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		cfg->weight[k] = bc_kinds[k].weight;
	cfg->min_hosts = 1;
	cfg->ipv6_prefix = 64;
	cfg->max_tracked = 100000;
}

/* The attacker picks the addresses: keyed (common/addr.h). */
static uint64_t hash_addr(const struct bc_policy *p, const struct bc_addr *a)
{
	return bc_addr_hash(a, p->hkey);
}

struct bc_policy *bc_policy_new(const struct bc_policy_cfg *cfg)
{
	struct bc_policy *p = calloc(1, sizeof(*p));
	size_t n = BUCKETS_MIN;

	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	while (n < cfg->max_tracked && n < BUCKETS_MAX)
		n <<= 1;
	p->nbuckets_max = n;
	n = BUCKETS_MIN;
	p->buckets = calloc(n, sizeof(*p->buckets));
	if (p->buckets == NULL) {
		free(p);
		return NULL;
	}
	p->nbuckets = n;
	p->rng = 0x9e3779b97f4a7c15ULL;
	randombytes_buf(p->hkey, sizeof(p->hkey));
	return p;
}

void bc_policy_set_cfg(struct bc_policy *p, const struct bc_policy_cfg *cfg)
{
	p->cfg = *cfg;
}

void bc_policy_key(const struct bc_policy *p, const struct bc_addr *a,
		   struct bc_addr *key)
{
	*key = *a;
	if (a->family == AF_INET6 && a->plen > p->cfg.ipv6_prefix &&
	    !bc_addr_is_nat64(a, p->cfg.nat64))
		bc_addr_mask(key, p->cfg.ipv6_prefix);
}

static struct entry **find_slot(struct bc_policy *p, const struct bc_addr *k)
{
	struct entry **e = &p->buckets[hash_addr(p, k) & (p->nbuckets - 1)];

	while (*e != NULL && !bc_addr_equal(&(*e)->key, k))
		e = &(*e)->next;
	return e;
}

/*
 * Double the bucket array, each chain split in order (see the top).
 * Out of memory keeps the current array: longer chains, same answers.
 */
static void grow(struct bc_policy *p)
{
	size_t n = p->nbuckets * 2, b;
	struct entry **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;
	for (b = 0; b < p->nbuckets; b++) {
		struct entry **tail[2] = {&nb[b], &nb[b + p->nbuckets]};
		struct entry *e = p->buckets[b], *next;

		for (; e != NULL; e = next) {
			int hi = (e->hash & (n - 1)) != b;

			next = e->next;
			e->next = NULL;
			*tail[hi] = e;
			tail[hi] = &e->next;
		}
	}
	free(p->buckets);
	p->buckets = nb;
	p->nbuckets = n;
}

static void free_entry(struct entry *e)
{
	if (e->ring != &e->one)
		free(e->ring);
	free(e);
}

static void remove_key(struct bc_policy *p, const struct bc_addr *k)
{
	struct entry **slot = find_slot(p, k), *e = *slot;

	if (e == NULL)
		return;
	*slot = e->next;
	free_entry(e);
	p->count--;
}

/* Evict the coldest of a few sampled buckets' heads. */
static void evict_one(struct bc_policy *p)
{
	struct entry *coldest = NULL;
	int i;

	for (i = 0; i < BC_POLICY_EVICT_SAMPLE * 8 && p->count > 0; i++) {
		struct entry *e;

		p->rng ^= p->rng << 13;
		p->rng ^= p->rng >> 7;
		p->rng ^= p->rng << 17;
		e = p->buckets[p->rng & (p->nbuckets - 1)];
		if (e == NULL)
			continue;
		if (coldest == NULL || e->last_ms < coldest->last_ms)
			coldest = e;
		if (i >= BC_POLICY_EVICT_SAMPLE && coldest != NULL)
			break;
	}
	if (coldest == NULL) { /* sparse table: take any */
		size_t b;

		for (b = 0; b < p->nbuckets && coldest == NULL; b++)
			coldest = p->buckets[b];
	}
	if (coldest != NULL) {
		struct bc_addr k = coldest->key;

		remove_key(p, &k);
		p->evicted++;
	}
}

/* Drop ring entries older than the window. */
static void expire(const struct bc_policy *p, struct entry *e, int64_t now)
{
	uint32_t i = 0;

	while (i < e->n && e->ring[i].time_ms <= now - p->cfg.findtime_ms)
		i++;
	if (i > 0) {
		memmove(e->ring, e->ring + i, (e->n - i) * sizeof(*e->ring));
		e->n -= i;
	}
}

static void score(const struct bc_policy *p, const struct entry *e,
		  struct bc_policy_hit *h)
{
	uint16_t hosts[64];
	unsigned nh = 0;
	uint32_t i;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->key = e->key;
	for (i = 0; i < e->n; i++) {
		const struct rec *r = &e->ring[i];
		unsigned j;

		if (r->kind >= BC_POLICY_KINDS)
			continue;
		h->counts[r->kind]++;
		h->score += p->cfg.weight[r->kind];
		if (p->cfg.weight[r->kind] <= 0)
			continue;
		for (j = 0; j < nh && hosts[j] != r->host; j++)
			;
		if (j == nh && nh < 64)
			hosts[nh++] = r->host;
		if (first || r->time_ms < h->first_ms)
			h->first_ms = r->time_ms;
		first = false;
		if (r->time_ms > h->last_ms)
			h->last_ms = r->time_ms;
	}
	h->hosts = nh;
	for (i = e->n; i-- > 0 && h->nrefs < BC_POLICY_HIT_REFS;)
		if (e->ring[i].kind < BC_POLICY_KINDS &&
		    p->cfg.weight[e->ring[i].kind] > 0)
			h->refs[h->nrefs++] = e->ring[i].ref;
}

/* Events kept per key: enough of the lightest kind to reach maxretry. */
static uint32_t ring_cap(const struct bc_policy *p)
{
	double n = bc_policy_max_events(&p->cfg);
	double need = n > 0 ? n + 4 : 8;

	return need > BC_POLICY_RING_MAX ? BC_POLICY_RING_MAX : (uint32_t)need;
}

enum bc_policy_verdict bc_policy_event(struct bc_policy *p,
				       const struct bc_policy_event *ev,
				       int64_t now_ms,
				       struct bc_policy_hit *hit)
{
	struct bc_policy_hit local;
	struct bc_addr key;
	struct entry **slot, *e;
	uint32_t i;

	if (hit == NULL)
		hit = &local;
	p->events++;
	if (ev->kind == 0 || ev->kind >= BC_POLICY_KINDS)
		return BC_POLICY_IGNORED;
	if (p->cfg.allow != NULL && bc_addr_list_match(p->cfg.allow, &ev->addr))
		return BC_POLICY_ALLOWED;
	if (ev->time_ms <= now_ms - p->cfg.findtime_ms)
		return BC_POLICY_IGNORED;
	bc_policy_key(p, &ev->addr, &key);
	slot = find_slot(p, &key);
	e = *slot;
	if (e == NULL) {
		if (p->cfg.weight[ev->kind] <= 0)
			return BC_POLICY_IGNORED; /* a success alone: nothing to track */
		if (p->count >= p->cfg.max_tracked) {
			evict_one(p);
			slot = find_slot(p, &key);
		}
		if (p->count >= p->nbuckets && p->nbuckets < p->nbuckets_max) {
			grow(p);
			slot = find_slot(p, &key);
		}
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return BC_POLICY_IGNORED;
		e->key = key;
		e->hash = (uint32_t)hash_addr(p, &key);
		*slot = e;
		p->count++;
	}
	e->last_ms = ev->time_ms > e->last_ms ? ev->time_ms : e->last_ms;
	expire(p, e, now_ms);
	if (ev->kind == BC_KIND_AUTH_SUCCESS) {
		/* success voids the earlier auth_abort events of this key */
		uint32_t o = 0;

		for (i = 0; i < e->n; i++)
			if (!(e->ring[i].kind == BC_KIND_AUTH_ABORT &&
			      e->ring[i].time_ms <= ev->time_ms))
				e->ring[o++] = e->ring[i];
		e->n = o;
		return BC_POLICY_COUNTED;
	}
	if (p->cfg.weight[ev->kind] <= 0)
		return BC_POLICY_IGNORED;
	if (e->n == e->cap) {
		uint32_t max = ring_cap(p);

		if (e->cap < max) {
			uint32_t cap = e->cap ? e->cap * 2 : 1;
			struct rec *r;

			if (cap > max)
				cap = max;
			if (cap == 1) {
				r = &e->one;
			} else if (e->ring == &e->one) {
				r = malloc(cap * sizeof(*r));
				if (r == NULL)
					return BC_POLICY_IGNORED;
				r[0] = e->one;
			} else {
				r = realloc(e->ring, cap * sizeof(*r));
				if (r == NULL)
					return BC_POLICY_IGNORED;
			}
			e->ring = r;
			e->cap = cap;
		} else { /* full: forget the oldest */
			memmove(e->ring, e->ring + 1, (e->n - 1) * sizeof(*e->ring));
			e->n--;
		}
	}
	/* keep the ring sorted by time (reports may arrive out of order) */
	i = e->n;
	while (i > 0 && e->ring[i - 1].time_ms > ev->time_ms) {
		e->ring[i] = e->ring[i - 1];
		i--;
	}
	e->ring[i].time_ms = ev->time_ms;
	e->ring[i].ref = ev->ref;
	e->ring[i].host = ev->host;
	e->ring[i].kind = ev->kind;
	e->n++;
	score(p, e, hit);
	if (hit->score + 1e-9 >= p->cfg.maxretry &&
	    hit->hosts >= (p->cfg.min_hosts ? p->cfg.min_hosts : 1)) {
		p->bans++;
		remove_key(p, &key);
		return BC_POLICY_BAN;
	}
	return BC_POLICY_COUNTED;
}

bool bc_policy_peek(struct bc_policy *p, const struct bc_addr *a,
		    int64_t now_ms, struct bc_policy_hit *hit)
{
	struct bc_addr key;
	struct entry *e;

	bc_policy_key(p, a, &key);
	e = *find_slot(p, &key);
	if (e == NULL)
		return false;
	expire(p, e, now_ms);
	score(p, e, hit);
	return true;
}

void bc_policy_forget(struct bc_policy *p, const struct bc_addr *a)
{
	struct bc_addr key;

	bc_policy_key(p, a, &key);
	remove_key(p, &key);
}

size_t bc_policy_sweep(struct bc_policy *p, int64_t now_ms, size_t buckets)
{
	size_t gone = 0;

	if (buckets > p->nbuckets)
		buckets = p->nbuckets;
	while (buckets-- > 0) {
		struct entry **slot = &p->buckets[p->sweep_at];

		while (*slot != NULL) {
			struct entry *e = *slot;

			if (e->last_ms <= now_ms - p->cfg.findtime_ms) {
				*slot = e->next;
				free_entry(e);
				p->count--;
				gone++;
			} else {
				slot = &e->next;
			}
		}
		p->sweep_at = (p->sweep_at + 1) & (p->nbuckets - 1);
	}
	return gone;
}

void bc_policy_stats(const struct bc_policy *p, struct bc_policy_stats *out)
{
	out->tracked = p->count;
	out->evicted = p->evicted;
	out->events = p->events;
	out->bans = p->bans;
}

void bc_policy_free(struct bc_policy **pp)
{
	struct bc_policy *p = *pp;
	size_t b;

	if (p == NULL)
		return;
	for (b = 0; b < p->nbuckets; b++) {
		struct entry *e = p->buckets[b];

		while (e != NULL) {
			struct entry *n = e->next;

			free_entry(e);
			e = n;
		}
	}
	free(p->buckets);
	free(p);
	*pp = NULL;
}

int64_t bc_policy_bantime(int64_t bantime_s, double factor, int64_t max_s,
			  unsigned offences)
{
	double t = (double)bantime_s;
	unsigned i;

	/* at most ~64 doublings reach any int64 cap; factor <= 1 never grows */
	for (i = 0; i < offences && factor > 1 && t < (double)max_s; i++)
		t *= factor;
	if (t >= (double)max_s)
		return max_s;
	return (int64_t)t;
}

double bc_policy_max_events(const struct bc_policy_cfg *cfg)
{
	double minw = 0;
	unsigned k;

	for (k = 1; k < BC_POLICY_KINDS; k++)
		if (cfg->weight[k] > 0 && (minw == 0 || cfg->weight[k] < minw))
			minw = cfg->weight[k];
	return minw > 0 ? ceil(cfg->maxretry / minw) : 0;
}
