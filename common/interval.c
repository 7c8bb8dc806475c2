/*
 * interval.c - bans to nftables elements: one element per host ban (the
 * hash set), prefix bans flattened into disjoint interval elements (the
 * _nets set).
 *
 * Input is the agent's own ban map (already verified coordinator data).
 * Addresses are handled as 128-bit integers; IPv4 uses the low 32 bits.
 */
#include "common/interval.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

__extension__ typedef unsigned __int128 u128;

#define PERMANENT INT64_MAX
#define STACK_MAX 130

struct piece {
	u128 first, last;
	int64_t exp; /* PERMANENT for no expiry */
};

struct pvec {
	struct piece *v;
	size_t n, cap;
	int oom;
	int merge_ok; /* 0 at the start of each top-level ban */
};

static u128 to_u128(const struct bc_addr *a, const uint8_t *bytes)
{
	u128 x = 0;
	size_t i, n = bc_addr_bytes(a);

	for (i = 0; i < n; i++)
		x = (x << 8) | bytes[i];
	return x;
}

static void from_u128(u128 x, size_t n, uint8_t out[16])
{
	size_t i;

	memset(out, 0, 16);
	for (i = n; i-- > 0;) {
		out[i] = (uint8_t)(x & 0xff);
		x >>= 8;
	}
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
	pv->v[pv->n++] = (struct piece){f, l, exp};
	pv->merge_ok = 1;
}

/*
 * Sweep the prefix bans among n laminar bans sorted by bc_addr_cmp into
 * disjoint pieces; host bans are skipped (they contain nothing, so the
 * nesting of the others is unchanged).
 */
static void sweep(const struct bc_ban *v, size_t n, struct pvec *pv)
{
	struct {
		u128 last;
		int64_t cum;
	} st[STACK_MAX];
	size_t sp = 0, i;
	u128 pos = 0;
	int ended = 0;

	for (i = 0; i <= n; i++) {
		u128 f = 0, l = 0;
		int64_t e = 0;

		if (i < n && is_host(&v[i]))
			continue;
		if (i < n) {
			range(&v[i], &f, &l);
			e = v[i].expires_ms ? v[i].expires_ms : PERMANENT;
		}
		/* close every open ban that ends before this one starts */
		while (sp > 0 && (i == n || st[sp - 1].last < f)) {
			if (!ended)
				emit(pv, pos, st[sp - 1].last, st[sp - 1].cum);
			if (st[sp - 1].last == ~(u128)0)
				ended = 1;
			else
				pos = st[sp - 1].last + 1;
			sp--;
		}
		if (i == n)
			break;
		if (sp == 0) {
			pv->merge_ok = 0;
			ended = 0;
		} else if (pos < f) {
			emit(pv, pos, f - 1, st[sp - 1].cum);
		}
		pos = f;
		if (sp == STACK_MAX) /* cannot happen with valid prefixes */
			continue;
		st[sp].last = l;
		st[sp].cum = sp > 0 && st[sp - 1].cum > e ? st[sp - 1].cum : e;
		sp++;
	}
}

static int push_op(struct bc_interval_ops *ops, int op, enum bc_fw_set set,
		   int family, const struct piece *p, int64_t now_ms)
{
	struct bc_fw_elem *e;
	size_t n = family == AF_INET ? 4 : 16;

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
	from_u128(p->first, n, e->first);
	from_u128(p->last, n, e->last);
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

void bc_interval_ops_free(struct bc_interval_ops *ops)
{
	free(ops->v);
	memset(ops, 0, sizeof(*ops));
}
