/*
 * replay_policy.c - what `bancluster replay` counts and bans
 * (replay_run.h): one record per distinct address with its events per
 * kind, at most --max-addresses (events of further addresses are counted
 * as untracked and still reach the policy, whose own table is bounded
 * and evicts), and one record per banned key with its recent ban times.
 *
 * The policy is common/policy.c, as on the coordinator or the agent; a
 * key already banned sends nothing more (the firewall would drop it), and
 * the ban length escalates with the key's earlier bans of this replay
 * within the recidive window. Input is the parser's events (binary
 * addresses, times, kinds), never log text. Memory errors drop a record
 * or a ban silently (the counts stay right); the tables are freed by
 * bc_replay_table_free.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "cli/replay_run.h"

#define REPLAY_KEYS_MAX (1u << 22)    /* banned keys remembered */

static void *rec_at(const struct bc_replay_table *t, size_t k)
{
	return t->rec + k * t->size;
}

/* The addresses are the log's, which attackers write: a keyed hash
 * (common/addr.h), its high 32 bits the slot's. */
static uint32_t hash32(const struct bc_replay_table *t, const struct bc_addr *a)
{
	return (uint32_t)(bc_addr_hash(a, t->key) >> 32);
}

static int table_grow(struct bc_replay_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, i;
	struct bc_replay_slot *ns;

	if (ncap > UINT32_MAX)
		return -1;
	if (t->cap == 0) /* the table opens */
		randombytes_buf(t->key, sizeof(t->key));
	ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		size_t j;

		if (t->slot[i].rec == 0)
			continue;
		for (j = t->slot[i].hash & (ncap - 1); ns[j].rec != 0;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

/* Slot of a (hash h), or the empty slot where it would go (t->cap > 0). */
static size_t table_probe(const struct bc_replay_table *t,
			  const struct bc_addr *a, uint32_t h)
{
	size_t j;

	for (j = h & (t->cap - 1); t->slot[j].rec != 0; j = (j + 1) & (t->cap - 1))
		if (t->slot[j].hash == h &&
		    bc_addr_equal(rec_at(t, t->slot[j].rec - 1), a))
			break;
	return j;
}

static void *table_find(const struct bc_replay_table *t, const struct bc_addr *a)
{
	size_t j;

	if (t->cap == 0)
		return NULL;
	j = table_probe(t, a, hash32(t, a));
	return t->slot[j].rec == 0 ? NULL : rec_at(t, t->slot[j].rec - 1);
}

/*
 * Find or add (a new record is zero but for its address). A new record
 * is made only while the table holds fewer than max (checked on every
 * insert, not only when the table grows). NULL when a is new and the
 * table is full, or out of memory. Records may move on a later insert.
 */
static void *table_get(struct bc_replay_table *t, const struct bc_addr *a, size_t max)
{
	uint32_t h;
	size_t j;
	void *r;

	if (t->cap == 0 && table_grow(t) < 0) /* draws the key first */
		return NULL;
	h = hash32(t, a);
	j = table_probe(t, a, h);
	if (t->slot[j].rec != 0)
		return rec_at(t, t->slot[j].rec - 1);
	if (t->n >= max || t->n >= UINT32_MAX - 1)
		return NULL;
	if ((t->n + 1) * 4 > t->cap * 3 && table_grow(t) < 0)
		return NULL;
	if (t->n == t->reccap) {
		size_t nc = t->reccap ? t->reccap * 2 : 1024;
		unsigned char *nr;

		if (nc > SIZE_MAX / t->size ||
		    (nr = realloc(t->rec, nc * t->size)) == NULL)
			return NULL;
		t->rec = nr;
		t->reccap = nc;
	}
	j = table_probe(t, a, h);
	r = rec_at(t, t->n);
	memset(r, 0, t->size);
	memcpy(r, a, sizeof(*a));
	t->n++;
	t->slot[j].rec = (uint32_t)t->n;
	t->slot[j].hash = h;
	return r;
}

void bc_replay_table_free(struct bc_replay_table *t)
{
	free(t->slot);
	free(t->rec);
	t->slot = NULL;
	t->rec = NULL;
	t->cap = t->n = t->reccap = 0;
}

/* An address and its record number, sorted by value (no record is
 * read while sorting). */
struct sort_item {
	struct bc_addr addr;
	uint32_t rec;
};

/*
 * The byte of an item that radix pass d sorts on: bc_addr_cmp's order
 * (family, then the 16 address bytes, then the prefix length) from the
 * least significant, plen, to the most, family.
 */
#define SORT_DIGITS 18

static uint8_t digit(const struct sort_item *x, int d)
{
	if (d == 0)
		return x->addr.plen;
	if (d == SORT_DIGITS - 1)
		return x->addr.family;
	return x->addr.a[16 - d];
}

/*
 * Records of the address table in address order (caller frees). A least
 * significant digit radix sort, stable, one pass per byte position in
 * which the addresses differ (an IPv4-only log: four), where qsort's
 * comparisons were a third of a large replay's report.
 */
struct bc_replay_rec **bc_replay_table_sorted(const struct bc_replay_table *t)
{
	size_t n = t->n ? t->n : 1, i;
	struct bc_replay_rec **v = malloc(n * sizeof(*v));
	struct sort_item *s = malloc(n * sizeof(*s));
	struct sort_item *tmp = malloc(n * sizeof(*tmp));
	size_t (*count)[256] = calloc(SORT_DIGITS, sizeof(*count));
	int d;

	if (v == NULL || s == NULL || tmp == NULL || count == NULL) {
		free(v);
		free(s);
		free(tmp);
		free(count);
		return NULL;
	}
	for (i = 0; i < t->n; i++) {
		memcpy(&s[i].addr, rec_at(t, i), sizeof(s[i].addr));
		s[i].rec = (uint32_t)i;
		for (d = 0; d < SORT_DIGITS; d++)
			count[d][digit(&s[i], d)]++;
	}
	for (d = 0; d < SORT_DIGITS; d++) {
		size_t pos = 0, c;
		struct sort_item *x;
		int k;

		if (t->n == 0 || count[d][digit(&s[0], d)] == t->n)
			continue; /* one value in this position: nothing to do */
		for (k = 0; k < 256; k++) { /* counts -> first positions */
			c = count[d][k];
			count[d][k] = pos;
			pos += c;
		}
		for (i = 0; i < t->n; i++)
			tmp[count[d][digit(&s[i], d)]++] = s[i];
		x = s;
		s = tmp;
		tmp = x;
	}
	for (i = 0; i < t->n; i++)
		v[i] = rec_at(t, s[i].rec);
	free(s);
	free(tmp);
	free(count);
	return v;
}

static struct bc_addr ban_key(const struct bc_replay *r, const struct bc_addr *a)
{
	struct bc_addr k;

	bc_policy_key(r->pol, a, &k);
	return k;
}

static int add_ban(struct bc_replay *r, const struct bc_addr *k, int64_t at,
		   int64_t until, double score)
{
	if (r->nbans == r->capbans) {
		size_t nc = r->capbans ? r->capbans * 2 : 64;
		struct bc_replay_ban *nb = realloc(r->bans, nc * sizeof(*nb));

		if (nb == NULL)
			return -1;
		r->bans = nb;
		r->capbans = nc;
	}
	r->bans[r->nbans].prefix = *k;
	r->bans[r->nbans].at = at;
	r->bans[r->nbans].until = until;
	r->bans[r->nbans].score = score;
	r->nbans++;
	return 0;
}

/* Earlier bans of the key since `since` (the recidive window). */
static unsigned offences(const struct bc_replay_key *g, int64_t since)
{
	unsigned i, n = 0, kept = g->bans < REPLAY_OFFENCES_MAX
					   ? g->bans
					   : REPLAY_OFFENCES_MAX;

	for (i = 0; i < kept; i++)
		if (g->offence[i] >= since)
			n++;
	return n;
}

/*
 * The policy over this log as if one host reported it; a key already
 * banned sends nothing more (the firewall drops it). Escalation counts
 * the earlier bans of this replay within the recidive window. Every event
 * reaches this, whether or not its address is listed.
 */
static void policy(struct bc_replay *r, const struct bc_event *ev)
{
	struct bc_addr k = ban_key(r, &ev->addr);
	struct bc_policy_event pe;
	struct bc_policy_hit hit;
	struct bc_replay_key *g;
	int64_t t = ev->time_ms ? ev->time_ms : r->last_t, len;
	unsigned off = 0;

	if (ev->time_ms)
		r->last_t = ev->time_ms;
	g = table_find(&r->keys, &k);
	if (g != NULL && t < g->banned_until)
		return;
	memset(&pe, 0, sizeof(pe));
	pe.time_ms = t;
	pe.kind = ev->kind;
	pe.addr = ev->addr;
	if (bc_policy_event(r->pol, &pe, t, &hit) != BC_POLICY_BAN)
		return;
	if (r->site.overlap && bc_addr_list_overlaps(r->site.allow, &k)) {
		r->refused++; /* the coordinator: "it overlaps the allow list" */
		return;
	}
	if (g == NULL)
		g = table_get(&r->keys, &k, REPLAY_KEYS_MAX);
	if (g != NULL)
		off = offences(g, t - r->site.recidive_ms);
	len = bc_policy_bantime(r->site.bantime_s, r->site.factor,
				r->site.bantime_max_s, off) * 1000;
	if (g != NULL) {
		g->offence[g->bans % REPLAY_OFFENCES_MAX] = t;
		g->bans++;
		g->banned_until = t + len;
	}
	(void)add_ban(r, &k, t, t + len, hit.score);
}

void bc_replay_event(struct bc_replay *r, const struct bc_event *ev)
{
	struct bc_replay_rec *a;

	if (ev->kind < 1 || ev->kind > BC_KIND_MAX)
		return;
	r->events[ev->kind]++;
	a = table_get(&r->addrs, &ev->addr, r->max_addrs);
	if (a != NULL)
		a->n[ev->kind]++;
	else
		r->untracked++;
	if (bc_addr_list_match(r->site.allow, &ev->addr)) {
		if (a != NULL)
			a->allowed = 1;
		return;
	}
	policy(r, ev);
}

const struct bc_replay_key *bc_replay_key_of(const struct bc_replay *r,
					     const struct bc_replay_rec *a)
{
	struct bc_addr k = ban_key(r, &a->addr);

	return table_find(&r->keys, &k);
}
