/*
 * policy.c - the counting table behind every ban decision (policy.h).
 *
 * A chained hash table of keys, each with a small growable ring of its
 * recent events (time, kind, host), which keeps "events within
 * findtime" exact rather than bucketed. A ring that left its entry
 * keeps its events' count by kind in a header, updated as events come
 * and go, so an event is scored without walking the ring; the walk
 * (hosts, times, evidence) is made only once the score reaches maxretry.
 *
 * The bucket array starts small and doubles while the keys outnumber
 * the buckets, up to the size max_tracked calls for (the smallest power
 * of two at or above it), which it reaches before the table is full: a
 * policy made for a million keys that tracks a few thousand keeps them
 * in a few cache-friendly pages, not in an 8 MB array touched at random.
 * A split keeps each chain's order (insertion order), so the heads that
 * eviction samples are those a full-size table would have.
 *
 * Memory: a key costs 64 bytes, the most of the agent's heap after a
 * burst (20,000 keys). Entries live in chunks of CHUNK (no malloc header
 * each), are named by 32-bit indexes (chains, buckets, the free list),
 * and keep their first event inside them, where the pointer to a longer
 * ring would be. The chunks are released when the table is empty again.
 */
#include "policy.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BUCKETS_MIN 1024
#define CHUNK 1024 /* entries a chunk: 64 KiB */

struct rec {
	int64_t time_ms;
	uint64_t ref;
	uint16_t host;
	uint8_t kind;
	uint8_t pad[5];
};

struct entry {
	uint32_t next;    /* the chain's next entry (NONE: the last) */
	uint32_t hash;    /* hash_addr(&key)'s low bits: a split needs no rehash */
	struct bc_addr key;
	uint16_t n, cap;  /* events in the ring, room (cap <= 1: u.one) */
	int64_t last_ms;
	union {
		struct rec one;   /* most keys never see a second event */
		struct rec *ring; /* oldest first, once cap > 1 */
	} u;
};

_Static_assert(sizeof(struct entry) == 64, "struct entry grew");
_Static_assert(BC_POLICY_RING_MAX <= UINT16_MAX, "ring sizes are 16 bits");
#define NONE UINT32_MAX
/* buckets stay at most 1 << 24, so the hash's low 32 bits place a key */
#define BUCKETS_MAX ((size_t)1 << 24)

struct bc_policy {
	struct bc_policy_cfg cfg;
	uint32_t *buckets;   /* an entry's index, NONE */
	size_t nbuckets;
	struct entry **chunks; /* entry i: chunks[i / CHUNK][i % CHUNK] */
	size_t nchunks, capchunks;
	uint32_t used;       /* indexes handed out so far */
	uint32_t free_head;  /* freed entries, through next; NONE */
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

static inline struct entry *E(const struct bc_policy *p, uint32_t i)
{
	return &p->chunks[i / CHUNK][i % CHUNK];
}

static inline struct rec *ring(struct entry *e)
{
	return e->cap <= 1 ? &e->u.one : e->u.ring;
}

/* before a ring that left its entry: its events by kind */
struct ringhdr {
	uint32_t counts[BC_POLICY_KINDS];
};
#define RHDR ((sizeof(struct ringhdr) + 7) & ~(size_t)7)

static inline struct ringhdr *hdr(struct entry *e)
{
	return (struct ringhdr *)(void *)((char *)e->u.ring - RHDR);
}

/* r leaves the ring (or comes in: d = 1) */
static inline void tally(struct entry *e, const struct rec *r, int d)
{
	if (e->cap > 1 && r->kind < BC_POLICY_KINDS)
		hdr(e)->counts[r->kind] += (uint32_t)d;
}

/* A ring of cap records (header included) holding e's n, or NULL. */
static struct rec *ring_alloc(struct entry *e, uint32_t cap)
{
	char *m;
	struct ringhdr *h;

	if (e->cap > 1) {
		m = realloc(hdr(e), RHDR + cap * sizeof(struct rec));
		return m == NULL ? NULL : (struct rec *)(void *)(m + RHDR);
	}
	m = malloc(RHDR + cap * sizeof(struct rec));
	if (m == NULL)
		return NULL;
	h = (struct ringhdr *)(void *)m;
	memset(h, 0, sizeof(*h));
	if (e->n == 1 && e->u.one.kind < BC_POLICY_KINDS) /* the one event */
		h->counts[e->u.one.kind] = 1;
	((struct rec *)(void *)(m + RHDR))[0] = e->u.one;
	return (struct rec *)(void *)(m + RHDR);
}

/* The score from the counts (without walking a ring), counts filled. */
static double quick_score(const struct bc_policy *p, struct entry *e,
			  unsigned counts[BC_POLICY_KINDS])
{
	double sc = 0;
	unsigned k;

	if (e->cap <= 1) {
		memset(counts, 0, BC_POLICY_KINDS * sizeof(counts[0]));
		if (e->n == 1 && e->u.one.kind < BC_POLICY_KINDS)
			counts[e->u.one.kind] = 1;
	} else {
		for (k = 0; k < BC_POLICY_KINDS; k++)
			counts[k] = hdr(e)->counts[k];
	}
	for (k = 0; k < BC_POLICY_KINDS; k++)
		if (counts[k] > 0)
			sc += counts[k] * p->cfg.weight[k];
	return sc;
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
	p->buckets = malloc(n * sizeof(*p->buckets));
	if (p->buckets == NULL) {
		free(p);
		return NULL;
	}
	memset(p->buckets, 0xff, n * sizeof(*p->buckets)); /* NONE */
	p->nbuckets = n;
	p->free_head = NONE;
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

/* The link that holds k's entry, or the chain's last (NONE). */
static uint32_t *find_slot(struct bc_policy *p, const struct bc_addr *k)
{
	uint32_t *e = &p->buckets[hash_addr(p, k) & (p->nbuckets - 1)];

	while (*e != NONE && !bc_addr_equal(&E(p, *e)->key, k))
		e = &E(p, *e)->next;
	return e;
}

/* A zeroed entry's index, NONE out of memory (or of indexes). */
static uint32_t new_entry(struct bc_policy *p)
{
	uint32_t i = p->free_head;

	if (i != NONE) {
		p->free_head = E(p, i)->next;
	} else {
		if (p->used == NONE - 1)
			return NONE;
		if (p->used / CHUNK == p->nchunks) {
			if (p->nchunks == p->capchunks) {
				size_t cap = p->capchunks ? p->capchunks * 2 : 16;
				struct entry **v = realloc(p->chunks, cap * sizeof(*v));

				if (v == NULL)
					return NONE;
				p->chunks = v;
				p->capchunks = cap;
			}
			p->chunks[p->nchunks] = malloc(CHUNK * sizeof(struct entry));
			if (p->chunks[p->nchunks] == NULL)
				return NONE;
			p->nchunks++;
		}
		i = p->used++;
	}
	memset(E(p, i), 0, sizeof(struct entry));
	return i;
}

/* An empty table gives its chunks back (a burst's keys all gone). */
static void release_if_empty(struct bc_policy *p)
{
	size_t c;

	if (p->count > 0 || p->nchunks == 0)
		return;
	for (c = 0; c < p->nchunks; c++)
		free(p->chunks[c]);
	free(p->chunks);
	p->chunks = NULL;
	p->nchunks = p->capchunks = 0;
	p->used = 0;
	p->free_head = NONE;
}

/*
 * Double the bucket array, each chain split in order (see the top).
 * Out of memory keeps the current array: longer chains, same answers.
 */
static void grow(struct bc_policy *p)
{
	size_t n = p->nbuckets * 2, b;
	uint32_t *nb = malloc(n * sizeof(*nb));

	if (nb == NULL)
		return;
	memset(nb, 0xff, n * sizeof(*nb));
	for (b = 0; b < p->nbuckets; b++) {
		uint32_t *tail[2] = {&nb[b], &nb[b + p->nbuckets]};
		uint32_t i = p->buckets[b], next;

		for (; i != NONE; i = next) {
			struct entry *e = E(p, i);
			int hi = (e->hash & (n - 1)) != b;

			next = e->next;
			e->next = NONE;
			*tail[hi] = i;
			tail[hi] = &e->next;
		}
	}
	free(p->buckets);
	p->buckets = nb;
	p->nbuckets = n;
}

static void free_entry(struct bc_policy *p, uint32_t i)
{
	struct entry *e = E(p, i);

	if (e->cap > 1)
		free(hdr(e));
	e->next = p->free_head;
	p->free_head = i;
	p->count--;
}

static void remove_key(struct bc_policy *p, const struct bc_addr *k)
{
	uint32_t *slot = find_slot(p, k), i = *slot;

	if (i == NONE)
		return;
	*slot = E(p, i)->next;
	free_entry(p, i);
}

/* Evict the coldest of a few sampled buckets' heads. */
static void evict_one(struct bc_policy *p)
{
	struct entry *coldest = NULL;
	int i;

	for (i = 0; i < BC_POLICY_EVICT_SAMPLE * 8 && p->count > 0; i++) {
		struct entry *e;
		uint32_t h;

		p->rng ^= p->rng << 13;
		p->rng ^= p->rng >> 7;
		p->rng ^= p->rng << 17;
		h = p->buckets[p->rng & (p->nbuckets - 1)];
		if (h == NONE)
			continue;
		e = E(p, h);
		if (coldest == NULL || e->last_ms < coldest->last_ms)
			coldest = e;
		if (i >= BC_POLICY_EVICT_SAMPLE && coldest != NULL)
			break;
	}
	if (coldest == NULL) { /* sparse table: take any */
		size_t b;

		for (b = 0; b < p->nbuckets && coldest == NULL; b++)
			if (p->buckets[b] != NONE)
				coldest = E(p, p->buckets[b]);
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
	struct rec *r = ring(e);
	uint32_t i = 0;

	while (i < e->n && r[i].time_ms <= now - p->cfg.findtime_ms)
		tally(e, &r[i++], -1);
	if (i > 0) {
		memmove(r, r + i, (e->n - i) * sizeof(*r));
		e->n = (uint16_t)(e->n - i);
	}
}

static void score(const struct bc_policy *p, struct entry *e,
		  struct bc_policy_hit *h)
{
	const struct rec *rg = ring(e);
	uint16_t hosts[64];
	unsigned nh = 0;
	uint32_t i;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->key = e->key;
	for (i = 0; i < e->n; i++) {
		const struct rec *r = &rg[i];
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
		if (rg[i].kind < BC_POLICY_KINDS && p->cfg.weight[rg[i].kind] > 0)
			h->refs[h->nrefs++] = rg[i].ref;
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
	struct entry *e;
	struct rec *rg;
	uint32_t *slot, i;

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
	if (*slot == NONE) {
		uint32_t ni;

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
		ni = new_entry(p); /* slot is in a chunk or the buckets: stays put */
		if (ni == NONE)
			return BC_POLICY_IGNORED;
		e = E(p, ni);
		e->next = NONE;
		e->key = key;
		e->hash = (uint32_t)hash_addr(p, &key);
		*slot = ni;
		p->count++;
	}
	e = E(p, *slot);
	e->last_ms = ev->time_ms > e->last_ms ? ev->time_ms : e->last_ms;
	expire(p, e, now_ms);
	rg = ring(e);
	if (ev->kind == BC_KIND_AUTH_SUCCESS) {
		/* success voids the earlier auth_abort events of this key */
		uint32_t o = 0;

		for (i = 0; i < e->n; i++)
			if (!(rg[i].kind == BC_KIND_AUTH_ABORT &&
			      rg[i].time_ms <= ev->time_ms))
				rg[o++] = rg[i];
			else
				tally(e, &rg[i], -1);
		e->n = (uint16_t)o;
		return BC_POLICY_COUNTED;
	}
	if (p->cfg.weight[ev->kind] <= 0)
		return BC_POLICY_IGNORED;
	if (e->n == e->cap) {
		uint32_t max = ring_cap(p);

		if (e->cap < max) {
			uint32_t cap = e->cap ? (uint32_t)e->cap * 2 : 1;

			if (cap > max)
				cap = max;
			if (cap > 1) { /* out of the entry, or larger */
				struct rec *r = ring_alloc(e, cap);

				if (r == NULL)
					return BC_POLICY_IGNORED;
				e->u.ring = r;
			}
			e->cap = (uint16_t)cap;
		} else { /* full: forget the oldest */
			tally(e, &rg[0], -1);
			memmove(rg, rg + 1, (e->n - 1) * sizeof(*rg));
			e->n--;
		}
		rg = ring(e);
	}
	/* keep the ring sorted by time (reports may arrive out of order) */
	i = e->n;
	while (i > 0 && rg[i - 1].time_ms > ev->time_ms) {
		rg[i] = rg[i - 1];
		i--;
	}
	rg[i].time_ms = ev->time_ms;
	rg[i].ref = ev->ref;
	rg[i].host = ev->host;
	rg[i].kind = ev->kind;
	e->n++;
	tally(e, &rg[i], 1);
	{
		double sc = quick_score(p, e, hit->counts);

		/* far below maxretry: no ban, the rest of the hit not needed
		 * (the margin covers a sum's rounding in another order) */
		if (sc + 1e-6 < p->cfg.maxretry) {
			/* not the whole hit: its refs are not read (nrefs 0) */
			hit->key = e->key;
			hit->score = sc;
			hit->hosts = 0;
			hit->first_ms = hit->last_ms = 0;
			hit->nrefs = 0;
			return BC_POLICY_COUNTED;
		}
	}
	score(p, e, hit);
	if (hit->score + 1e-9 >= p->cfg.maxretry &&
	    hit->hosts >= (p->cfg.min_hosts ? p->cfg.min_hosts : 1)) {
		p->bans++;
		remove_key(p, &key);
		release_if_empty(p);
		return BC_POLICY_BAN;
	}
	return BC_POLICY_COUNTED;
}

bool bc_policy_peek(struct bc_policy *p, const struct bc_addr *a,
		    int64_t now_ms, struct bc_policy_hit *hit)
{
	struct bc_addr key;
	uint32_t i;

	bc_policy_key(p, a, &key);
	i = *find_slot(p, &key);
	if (i == NONE)
		return false;
	expire(p, E(p, i), now_ms);
	score(p, E(p, i), hit);
	return true;
}

void bc_policy_forget(struct bc_policy *p, const struct bc_addr *a)
{
	struct bc_addr key;

	bc_policy_key(p, a, &key);
	remove_key(p, &key);
	release_if_empty(p);
}

size_t bc_policy_sweep(struct bc_policy *p, int64_t now_ms, size_t buckets)
{
	size_t gone = 0;

	if (buckets > p->nbuckets)
		buckets = p->nbuckets;
	while (buckets-- > 0) {
		uint32_t *slot = &p->buckets[p->sweep_at];

		while (*slot != NONE) {
			uint32_t i = *slot;
			struct entry *e = E(p, i);

			if (e->last_ms <= now_ms - p->cfg.findtime_ms) {
				*slot = e->next;
				free_entry(p, i);
				gone++;
			} else {
				slot = &e->next;
			}
		}
		p->sweep_at = (p->sweep_at + 1) & (p->nbuckets - 1);
	}
	release_if_empty(p);
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
		uint32_t i = p->buckets[b];

		while (i != NONE) {
			uint32_t n = E(p, i)->next;

			free_entry(p, i);
			i = n;
		}
	}
	release_if_empty(p);
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
