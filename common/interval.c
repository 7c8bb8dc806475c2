/*
 * interval.c - bans to nftables elements: one element per host ban (the
 * hash set), prefix bans flattened into disjoint interval elements (the
 * _nets set); and the same flattening for any ranges the firewall
 * process is asked to write (bc_interval_disjoint).
 *
 * One algorithm cuts ranges into disjoint pieces: flatten(), a sweep over
 * the ranges' boundaries with a max-heap of the ranges open at each
 * boundary, O(n log n). Prefix bans are laminar, so the ban map's are cut
 * one top-level prefix (region) at a time, never merged across regions:
 * bc_interval_change() recomputes one region and must find the others'
 * elements as it left them.
 *
 * Inputs: the agent's own ban map (already verified coordinator data) and
 * the firewall records handed to bc_interval_disjoint (checked by the
 * caller: family, first <= last). Addresses are handled as 128-bit
 * integers; IPv4 uses the low 32 bits. The caller owns the map and the
 * ops vector; memory exhaustion is the one failure (-1).
 */
#include "common/interval.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

__extension__ typedef unsigned __int128 u128;

#define PERMANENT INT64_MAX

struct piece {
	u128 first, last;
	int64_t exp;  /* PERMANENT for no expiry */
	size_t group; /* flatten(): pieces of one group merge, never across */
};

struct pvec {
	struct piece *v;
	size_t n, cap;
	int oom;
	int merge_ok; /* 0 at the start of each group */
};

/* A big-endian number of n bytes (4 or 16). */
static u128 load(const uint8_t *bytes, size_t n)
{
	u128 x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x = (x << 8) | bytes[i];
	return x;
}

/* x as n big-endian bytes into out[16], the unused tail zero. */
static void store(u128 x, size_t n, uint8_t out[16])
{
	size_t i;

	memset(out, 0, 16);
	for (i = n; i-- > 0;) {
		out[i] = (uint8_t)(x & 0xff);
		x >>= 8;
	}
}

/* The all-ones address of a family. */
static u128 fam_max(int family)
{
	return family == AF_INET ? (u128)0xffffffffu : ~(u128)0;
}

static size_t fam_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

void bc_interval_addr_inc(uint8_t *a, size_t len)
{
	uint8_t out[16];

	store(load(a, len) + 1, len, out); /* all ones: the carry falls off */
	memcpy(a, out, len);
}

void bc_interval_addr_dec(uint8_t *a, size_t len)
{
	uint8_t out[16];

	store(load(a, len) - 1, len, out);
	memcpy(a, out, len);
}

bool bc_interval_addr_is_max(const uint8_t *a, size_t len)
{
	return load(a, len) ==
	       fam_max(len == 4 ? AF_INET : AF_INET6);
}

static u128 to_u128(const struct bc_addr *a, const uint8_t *bytes)
{
	return load(bytes, bc_addr_bytes(a));
}

/* A ban of one address: its own element in the hash set. */
static int is_host(const struct bc_ban *b)
{
	return b->addr.plen == bc_addr_maxlen(&b->addr);
}

static void range(const struct bc_ban *b, u128 *f, u128 *l)
{
	uint8_t first[16], last[16];

	bc_addr_range(&b->addr, first, last);
	*f = to_u128(&b->addr, first);
	*l = to_u128(&b->addr, last);
}

/* Append p to pv (pv->oom set when memory runs out). */
static void push(struct pvec *pv, struct piece p)
{
	if (pv->oom)
		return;
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 16;
		struct piece *v = realloc(pv->v, cap * sizeof(*v));

		if (v == NULL) {
			pv->oom = 1;
			return;
		}
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = p;
}

/* Append [f, l] with exp, merged into the previous piece when it ends
 * just before f with the same exp and merging is allowed. */
static void emit(struct pvec *pv, u128 f, u128 l, int64_t exp)
{
	struct piece *p;

	if (f > l || pv->oom)
		return;
	if (pv->merge_ok && pv->n > 0) {
		p = &pv->v[pv->n - 1];
		if (p->exp == exp && p->last + 1 == f) {
			p->last = l;
			return;
		}
	}
	push(pv, (struct piece){f, l, exp, 0});
	pv->merge_ok = !pv->oom;
}

/* qsort: pieces by first address. */
static int cmp_first(const void *x, const void *y)
{
	const struct piece *a = x, *b = y;

	return (a->first > b->first) - (a->first < b->first);
}

/* qsort: addresses. */
static int cmp_u128(const void *x, const void *y)
{
	const u128 *a = x, *b = y;

	return (*a > *b) - (*a < *b);
}

/* True when piece x should sit above piece y in the heap: it lasts
 * longer (PERMANENT outlasts every expiry). */
static bool longer(const struct piece *sp, size_t x, size_t y)
{
	return sp[x].exp > sp[y].exp;
}

/* Max-heap of piece indices by expiry: push v. */
static void heap_push(size_t *h, size_t *hn, const struct piece *sp, size_t v)
{
	size_t i = (*hn)++;

	h[i] = v;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!longer(sp, h[i], h[p]))
			break;
		size_t tmp = h[p];
		h[p] = h[i];
		h[i] = tmp;
		i = p;
	}
}

/* Remove the top of the max-heap. */
static void heap_pop(size_t *h, size_t *hn, const struct piece *sp)
{
	size_t i = 0, n = --(*hn);

	h[0] = h[n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && longer(sp, h[l], h[m]))
			m = l;
		if (r < n && longer(sp, h[r], h[m]))
			m = r;
		if (m == i)
			break;
		size_t tmp = h[m];
		h[m] = h[i];
		h[i] = tmp;
		i = m;
	}
}

/*
 * The one flattening: cut n possibly overlapping ranges of one family
 * (max: its all-ones address) into disjoint pieces, each with the latest
 * expiry of the ranges that cover it, and emit them to pv in ascending
 * order; neighbours of equal expiry merge when their ranges share a
 * group. Every boundary (a first, or a last + 1) starts a segment; the
 * heap holds the ranges open there, the longest-lasting on top (those
 * that ended are popped when they reach the top). sp is reordered.
 */
static void flatten(struct piece *sp, size_t n, u128 max, struct pvec *pv)
{
	u128 *b = NULL;
	size_t *heap = NULL, nb = 0, hn = 0, j = 0, i, group = 0;
	bool started = false;

	if (n == 0 || pv->oom)
		return;
	b = malloc((2 * n + 1) * sizeof(*b));
	heap = malloc((n + 1) * sizeof(*heap));
	if (b == NULL || heap == NULL) {
		pv->oom = 1;
		goto out;
	}
	qsort(sp, n, sizeof(*sp), cmp_first);
	for (i = 0; i < n; i++) {
		b[nb++] = sp[i].first;
		if (sp[i].last != max)
			b[nb++] = sp[i].last + 1;
	}
	qsort(b, nb, sizeof(*b), cmp_u128);
	for (i = 0; i < nb; i++) {
		u128 p = b[i], last = max;
		size_t k;

		if (i > 0 && b[i - 1] == p)
			continue;
		while (j < n && sp[j].first <= p)
			heap_push(heap, &hn, sp, j++);
		while (hn > 0 && sp[heap[0]].last < p)
			heap_pop(heap, &hn, sp);
		if (hn == 0)
			continue;
		for (k = i + 1; k < nb; k++)
			if (b[k] != p) {
				last = b[k] - 1;
				break;
			}
		if (!started || sp[heap[0]].group != group) {
			pv->merge_ok = 0;
			group = sp[heap[0]].group;
			started = true;
		}
		emit(pv, p, last, sp[heap[0]].exp);
	}
out:
	free(b);
	free(heap);
}

/*
 * Flatten the prefix bans among n laminar bans of one family sorted by
 * bc_addr_cmp; host bans are skipped (they contain nothing, so the
 * nesting of the others is unchanged). Each top-level prefix and the
 * prefixes inside it are one group: its pieces never merge with a
 * neighbouring region's.
 */
static void sweep(const struct bc_ban *v, size_t n, struct pvec *pv)
{
	struct pvec in = {0};
	size_t i, group = 0;
	u128 top_last = 0;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		struct piece p;

		if (is_host(&v[i]))
			continue;
		range(&v[i], &p.first, &p.last);
		p.exp = v[i].expires_ms ? v[i].expires_ms : PERMANENT;
		/* sorted by start, outer first: a prefix that starts past the
		 * current top-level one is the next top-level one */
		if (in.n == 0 || p.first > top_last) {
			group++;
			top_last = p.last;
		}
		p.group = group;
		push(&in, p);
	}
	if (in.oom)
		pv->oom = 1;
	else
		flatten(in.v, in.n, fam_max(v[0].addr.family), pv);
	free(in.v);
}

static int push_op(struct bc_interval_ops *ops, int op, enum bc_fw_set set,
		   int family, const struct piece *p, int64_t now_ms)
{
	struct bc_fw_elem *e;
	size_t n = fam_len(family);

	if (op == BC_FW_ADD && p->exp != PERMANENT && p->exp <= now_ms)
		return 0; /* already over: nothing to add */
	if (ops->n == ops->cap) {
		size_t cap = ops->cap ? ops->cap * 2 : 64;
		struct bc_fw_elem *v = realloc(ops->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		ops->v = v;
		ops->cap = cap;
	}
	e = &ops->v[ops->n++];
	memset(e, 0, sizeof(*e));
	e->op = (uint8_t)op;
	e->set = (uint8_t)set;
	e->family = (uint8_t)family;
	e->timeout_ms = op == BC_FW_ADD && p->exp != PERMANENT
				? (uint64_t)(p->exp - now_ms)
				: 0;
	store(p->first, n, e->first);
	store(p->last, n, e->last);
	return 0;
}

/* Index range [lo, hi) of the bans inside prefix r (r included). */
static void region(const struct bc_banmap *m, const struct bc_addr *r,
		   size_t *lo, size_t *hi)
{
	size_t i = bc_banmap_lower(m, r);

	*lo = i;
	while (i < m->n && bc_addr_contains(r, &m->v[i].addr))
		i++;
	*hi = i;
}

/* The outermost prefix in m that contains a, or a itself. */
static struct bc_addr outermost(const struct bc_banmap *m,
				const struct bc_addr *a)
{
	unsigned p;

	for (p = 0; p < a->plen; p++) {
		struct bc_addr t = *a;

		bc_addr_mask(&t, p);
		if (bc_banmap_find(m, &t) >= 0)
			return t;
	}
	return *a;
}

static int cmp_piece(const struct piece *x, const struct piece *y)
{
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	if (x->exp != y->exp)
		return x->exp < y->exp ? -1 : 1;
	return 0;
}

/* The element of one host ban, as a piece. */
static struct piece host_piece(const struct bc_ban *b)
{
	struct piece p;

	range(b, &p.first, &p.last);
	p.exp = b->expires_ms ? b->expires_ms : PERMANENT;
	return p;
}

/*
 * A host ban changes its own element only: DEL the old one (if its expiry
 * differs or it is removed), ADD the new one. Same contract as
 * bc_interval_change().
 */
static int host_change(struct bc_banmap *m, const struct bc_ban *b,
		       int remove, int64_t now_ms, enum bc_fw_set set,
		       struct bc_interval_ops *ops)
{
	long had = bc_banmap_find(m, &b->addr);
	size_t mark = ops->n;
	int family = b->addr.family;

	if (remove && had < 0)
		return 0; /* nothing to do */
	if (!remove && had >= 0 && m->v[had].expires_ms == b->expires_ms) {
		m->v[had] = *b; /* same element */
		return 0;
	}
	if (had >= 0) {
		struct piece old = host_piece(&m->v[had]);

		if (push_op(ops, BC_FW_DEL, set, family, &old, now_ms) < 0)
			return -1;
	}
	if (!remove) {
		struct piece p = host_piece(b);

		if (push_op(ops, BC_FW_ADD, set, family, &p, now_ms) < 0 ||
		    bc_banmap_put(m, b) < 0) {
			ops->n = mark;
			return -1;
		}
	} else {
		bc_banmap_del(m, &b->addr);
	}
	return 0;
}

int bc_interval_change(struct bc_banmap *m, const struct bc_ban *b, int remove,
		     int64_t now_ms, enum bc_fw_set set, struct bc_interval_ops *ops)
{
	struct pvec before = {0}, after = {0};
	struct bc_addr r = outermost(m, &b->addr);
	size_t lo, hi, i = 0, j = 0, mark = ops->n;
	struct bc_ban saved;
	long had = bc_banmap_find(m, &b->addr);
	int family = b->addr.family, rc = -1;

	if (is_host(b))
		return host_change(m, b, remove, now_ms, set, ops);
	if (had >= 0)
		saved = m->v[had];
	region(m, &r, &lo, &hi);
	sweep(m->v + lo, hi - lo, &before);
	if (remove) {
		if (had < 0) {
			rc = 0; /* nothing to do */
			goto out;
		}
		bc_banmap_del(m, &b->addr);
	} else if (bc_banmap_put(m, b) < 0) {
		goto out;
	}
	region(m, &r, &lo, &hi);
	sweep(m->v + lo, hi - lo, &after);
	if (before.oom || after.oom)
		goto undo;
	/* deletes first, then adds, so new pieces never overlap old ones */
	while (i < before.n || j < after.n) {
		int c = i == before.n   ? 1
			: j == after.n ? -1
				       : cmp_piece(&before.v[i], &after.v[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			if (push_op(ops, BC_FW_DEL, set, family, &before.v[i++],
				    now_ms) < 0)
				goto undo;
		} else {
			j++;
		}
	}
	for (i = 0, j = 0; j < after.n;) {
		int c = i == before.n ? 1 : cmp_piece(&before.v[i], &after.v[j]);

		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else if (push_op(ops, BC_FW_ADD, set, family, &after.v[j++],
				   now_ms) < 0) {
			goto undo;
		}
	}
	rc = 0;
	goto out;
undo:
	ops->n = mark;
	if (had >= 0)
		bc_banmap_put(m, &saved);
	else
		bc_banmap_del(m, &b->addr);
out:
	free(before.v);
	free(after.v);
	return rc;
}

int bc_interval_all(const struct bc_banmap *m, int64_t now_ms,
		  enum bc_fw_set set, struct bc_interval_ops *ops)
{
	struct pvec pv = {0};
	size_t i, start = 0;
	int rc = 0;

	/* per family (bc_addr_cmp sorts by family first): the prefix
	 * pieces, then the hosts */
	for (i = 1; i <= m->n && rc == 0; i++) {
		int family = m->v[start].addr.family;
		size_t k;

		if (i < m->n && m->v[i].addr.family == family)
			continue;
		pv.n = 0;
		sweep(m->v + start, i - start, &pv);
		if (pv.oom) {
			rc = -1;
			break;
		}
		for (k = 0; k < pv.n && rc == 0; k++)
			if (push_op(ops, BC_FW_ADD, set, family, &pv.v[k],
				    now_ms) < 0)
				rc = -1;
		for (k = start; k < i && rc == 0; k++) {
			struct piece p;

			if (!is_host(&m->v[k]))
				continue;
			p = host_piece(&m->v[k]);
			if (push_op(ops, BC_FW_ADD, set, family, &p, now_ms) < 0)
				rc = -1;
		}
		start = i;
	}
	free(pv.v);
	return rc;
}

int bc_interval_disjoint(const struct bc_fw_elem *v, size_t n, int family,
			 enum bc_fw_set set, struct bc_interval_ops *ops)
{
	struct pvec in = {0}, out = {0};
	size_t i, len = fam_len(family);
	int rc = 0;

	for (i = 0; i < n; i++) {
		struct piece p;

		if (v[i].family != family ||
		    memcmp(v[i].first, v[i].last, len) == 0)
			continue;
		p.first = load(v[i].first, len);
		p.last = load(v[i].last, len);
		/* a timeout is an expiry at "now" 0; 0 = none outlasts all */
		p.exp = v[i].timeout_ms == 0 ? PERMANENT
			: v[i].timeout_ms >= (uint64_t)PERMANENT
				? PERMANENT - 1
				: (int64_t)v[i].timeout_ms;
		p.group = 0;
		push(&in, p);
	}
	/* ranges that overlap, directly or through others, are one group:
	 * their pieces may merge; ranges that only touch stay apart, so
	 * the kernel holds what a later change of either one deletes */
	if (!in.oom && in.n > 0) {
		size_t g = 0;
		u128 reach;

		qsort(in.v, in.n, sizeof(*in.v), cmp_first);
		reach = in.v[0].last;
		for (i = 0; i < in.n; i++) {
			if (i > 0 && in.v[i].first > reach) {
				g++;
				reach = in.v[i].last;
			} else if (in.v[i].last > reach) {
				reach = in.v[i].last;
			}
			in.v[i].group = g;
		}
		flatten(in.v, in.n, fam_max(family), &out);
	}
	if (in.oom || out.oom)
		rc = -1;
	for (i = 0; i < out.n && rc == 0; i++)
		if (push_op(ops, BC_FW_ADD, set, family, &out.v[i], 0) < 0)
			rc = -1;
	free(in.v);
	free(out.v);
	return rc;
}

void bc_interval_ops_free(struct bc_interval_ops *ops)
{
	free(ops->v);
	memset(ops, 0, sizeof(*ops));
}
