/*
 * test_spool.c - the agent's bounded spool of unacknowledged events
 * (agent/spool.h): push, at, take, ack and unsend.
 *
 * Scripted cases are tables of operations, each row with the return
 * value and the spool it must leave (length, in flight, first event,
 * dropped and acked counts). Every pushed event carries a sequence
 * number, so "the spool holds events first..first+n-1 in order" is the
 * whole content check. Long random runs compare the ring with a plain
 * FIFO array after every operation, across wrap-around and growth.
 */
#include "agent/spool.h"
#include "common/addr.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NONE (-1)     /* want_first: the spool is empty */
#define MODEL_MAX 4096

/* Event number seq: every field derived from it. */
static struct bc_spool_ev mkev(uint64_t seq)
{
	struct bc_spool_ev ev;
	uint8_t b[4];

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = (int64_t)seq;
	ev.kind = (uint8_t)(1 + seq % 4);
	b[0] = 10;
	b[1] = (uint8_t)(seq >> 16);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	bc_addr_from_bin(&ev.addr, AF_INET, b, 32);
	snprintf(ev.service, sizeof(ev.service), "svc%llu",
		 (unsigned long long)(seq % 97));
	snprintf(ev.line, sizeof(ev.line), "line %llu: auth failed",
		 (unsigned long long)seq);
	return ev;
}

static int ev_is(const struct bc_spool_ev *ev, uint64_t seq)
{
	struct bc_spool_ev want = mkev(seq);

	return ev->time_ms == want.time_ms && ev->kind == want.kind &&
	       bc_addr_equal(&ev->addr, &want.addr) &&
	       strcmp(ev->service, want.service) == 0 &&
	       strcmp(ev->line, want.line) == 0;
}

/* The spool holds events first, first+1, ... (n of them), in order. */
static int holds_run(const struct bc_spool *sp, uint64_t first)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		if (!ev_is(bc_spool_at(sp, i), first + i))
			return 0;
	return 1;
}

enum op { PUSH, TAKE, ACK, UNSEND };

struct row {
	enum op op;
	unsigned count;  /* PUSH: events; TAKE: max */
	uint64_t id;     /* TAKE, ACK */
	long want_ret;   /* TAKE: count taken; ACK: 0/1; else unchecked */
	size_t want_n, want_inflight;
	long want_first; /* sequence number of at(0), NONE when empty */
	uint64_t want_dropped, want_acked;
	uint64_t want_report_id;
};

struct script {
	const char *name;
	size_t max;
	const struct row *rows;
	size_t nrows;
};

#define SCRIPT(nm, mx, r) {.name = (nm), .max = (mx), .rows = (r), .nrows = NELEM(r)}

/* An ack with any other id, or with no report in flight, changes nothing. */
static const struct row ack_wrong_id[] = {
	{PUSH, 5, 0, 0, 5, 0, 0, 0, 0, 0},
	{ACK, 0, 7, 0, 5, 0, 0, 0, 0, 0},       /* nothing in flight */
	{TAKE, 3, 7, 3, 5, 3, 0, 0, 0, 7},
	{ACK, 0, 8, 0, 5, 3, 0, 0, 0, 7},
	{ACK, 0, 6, 0, 5, 3, 0, 0, 0, 7},
	{ACK, 0, 0, 0, 5, 3, 0, 0, 0, 7},
	{ACK, 0, 7 + (1ULL << 32), 0, 5, 3, 0, 0, 0, 7},
	{ACK, 0, 7, 1, 2, 0, 3, 0, 3, 0},
	{ACK, 0, 7, 0, 2, 0, 3, 0, 3, 0},       /* a duplicate ack */
};

/* An ack pops exactly the in-flight events, not those pushed since. */
static const struct row ack_pops_inflight[] = {
	{PUSH, 10, 0, 0, 10, 0, 0, 0, 0, 0},
	{TAKE, 4, 1, 4, 10, 4, 0, 0, 0, 1},
	{PUSH, 3, 0, 0, 13, 4, 0, 0, 0, 1},
	{ACK, 0, 1, 1, 9, 0, 4, 0, 4, 0},
	{TAKE, 100, 2, 9, 9, 9, 4, 0, 4, 2},
	{PUSH, 1, 0, 0, 10, 9, 4, 0, 4, 2},
	{ACK, 0, 2, 1, 1, 0, 13, 0, 13, 0},
	{TAKE, 1, 3, 1, 1, 1, 13, 0, 13, 3},
	{ACK, 0, 3, 1, 0, 0, NONE, 0, 14, 0},
	{TAKE, 10, 4, 0, 0, 0, NONE, 0, 14, 4}, /* nothing to send */
	{ACK, 0, 4, 0, 0, 0, NONE, 0, 14, 4},
	{PUSH, 2, 0, 0, 2, 0, 14, 0, 14, 4},
	{TAKE, 0, 5, 0, 2, 0, 14, 0, 14, 5},    /* max 0 takes nothing */
	{ACK, 0, 5, 0, 2, 0, 14, 0, 14, 5},
};

/* A timeout: unsend, then the same events go again under a new id. */
static const struct row resend[] = {
	{PUSH, 5, 0, 0, 5, 0, 0, 0, 0, 0},
	{TAKE, 3, 1, 3, 5, 3, 0, 0, 0, 1},
	{UNSEND, 0, 0, 0, 5, 0, 0, 0, 0, 0},
	{ACK, 0, 1, 0, 5, 0, 0, 0, 0, 0},       /* the old id is dead */
	{TAKE, 5, 2, 5, 5, 5, 0, 0, 0, 2},
	{ACK, 0, 1, 0, 5, 5, 0, 0, 0, 2},
	{TAKE, 2, 3, 2, 5, 2, 0, 0, 0, 3},      /* retaken without unsend */
	{ACK, 0, 2, 0, 5, 2, 0, 0, 0, 3},
	{ACK, 0, 3, 1, 3, 0, 2, 0, 2, 0},
};

/* max 8: the 9th push drops the oldest, counted. */
static const struct row overflow[] = {
	{PUSH, 8, 0, 0, 8, 0, 0, 0, 0, 0},
	{PUSH, 1, 0, 0, 8, 0, 1, 1, 0, 0},
	{PUSH, 2, 0, 0, 8, 0, 3, 3, 0, 0},
	{PUSH, 20, 0, 0, 8, 0, 23, 23, 0, 0},
	{TAKE, 8, 9, 8, 8, 8, 23, 23, 0, 9},
	{ACK, 0, 9, 1, 0, 0, NONE, 23, 8, 0},
	{PUSH, 8, 0, 0, 8, 0, 31, 23, 8, 0},    /* full again, no drop */
};

/*
 * Overflow with a report in flight: the report is abandoned (its events
 * are the oldest), the oldest is dropped, and its late ack does nothing.
 */
static const struct row overflow_inflight[] = {
	{PUSH, 8, 0, 0, 8, 0, 0, 0, 0, 0},
	{TAKE, 5, 42, 5, 8, 5, 0, 0, 0, 42},
	{PUSH, 1, 0, 0, 8, 0, 1, 1, 0, 0},
	{ACK, 0, 42, 0, 8, 0, 1, 1, 0, 0},
	{TAKE, 8, 43, 8, 8, 8, 1, 1, 0, 43},
	{ACK, 0, 43, 1, 0, 0, NONE, 1, 8, 0},
	/* not full: a report in flight survives pushes */
	{PUSH, 3, 0, 0, 3, 0, 9, 1, 8, 0},
	{TAKE, 2, 44, 2, 3, 2, 9, 1, 8, 44},
	{PUSH, 5, 0, 0, 8, 2, 9, 1, 8, 44},
	{ACK, 0, 44, 1, 6, 0, 11, 1, 10, 0},
};

/* max 1: each push replaces the one before. */
static const struct row max_one[] = {
	{PUSH, 1, 0, 0, 1, 0, 0, 0, 0, 0},
	{PUSH, 1, 0, 0, 1, 0, 1, 1, 0, 0},
	{TAKE, 5, 1, 1, 1, 1, 1, 1, 0, 1},
	{PUSH, 1, 0, 0, 1, 0, 2, 2, 0, 0},
	{ACK, 0, 1, 0, 1, 0, 2, 2, 0, 0},
	{TAKE, 5, 2, 1, 1, 1, 2, 2, 0, 2},
	{ACK, 0, 2, 1, 0, 0, NONE, 2, 1, 0},
};

static const struct script scripts[] = {
	SCRIPT("ack wrong id", 0, ack_wrong_id),
	SCRIPT("ack pops in-flight", 0, ack_pops_inflight),
	SCRIPT("resend", 100, resend),
	SCRIPT("overflow max 8", 8, overflow),
	SCRIPT("overflow in flight", 8, overflow_inflight),
	SCRIPT("max 1", 1, max_one),
};

static const char *op_name(enum op op)
{
	switch (op) {
	case PUSH:
		return "push";
	case TAKE:
		return "take";
	case ACK:
		return "ack";
	case UNSEND:
		return "unsend";
	}
	return "?";
}

static void run_script(const struct script *sc)
{
	struct bc_spool sp;
	uint64_t seq = 0;
	size_t r;

	bc_spool_init(&sp, sc->max);
	for (r = 0; r < sc->nrows; r++) {
		const struct row *w = &sc->rows[r];
		long ret = 0;
		unsigned k;
		int ok;

		switch (w->op) {
		case PUSH:
			for (k = 0; k < w->count; k++) {
				struct bc_spool_ev ev = mkev(seq++);

				bc_spool_push(&sp, &ev);
				memset(&ev, 0, sizeof(ev)); /* push copies */
			}
			break;
		case TAKE:
			ret = (long)bc_spool_take(&sp, w->count, w->id,
						  1000 + (int64_t)r);
			break;
		case ACK:
			ret = bc_spool_ack(&sp, w->id);
			break;
		case UNSEND:
			bc_spool_unsend(&sp);
			break;
		}
		ok = (w->op != TAKE && w->op != ACK) || ret == w->want_ret;
		CHECK(ok, "%s: row %zu %s(%u, %llu) returns %ld (want %ld)",
		      sc->name, r, op_name(w->op), w->count,
		      (unsigned long long)w->id, ret, w->want_ret);
		ok = sp.n == w->want_n && sp.inflight == w->want_inflight &&
		     sp.dropped == w->want_dropped && sp.acked == w->want_acked &&
		     (w->want_inflight == 0 || sp.report_id == w->want_report_id);
		CHECK(ok,
		      "%s: row %zu %s: n %zu inflight %zu dropped %llu acked %llu "
		      "id %llu (want %zu %zu %llu %llu %llu)",
		      sc->name, r, op_name(w->op), sp.n, sp.inflight,
		      (unsigned long long)sp.dropped,
		      (unsigned long long)sp.acked,
		      (unsigned long long)sp.report_id, w->want_n,
		      w->want_inflight, (unsigned long long)w->want_dropped,
		      (unsigned long long)w->want_acked,
		      (unsigned long long)w->want_report_id);
		ok = w->want_first == NONE ? sp.n == 0
					   : holds_run(&sp, (uint64_t)w->want_first);
		CHECK(ok, "%s: row %zu %s: holds events %ld.. in order", sc->name,
		      r, op_name(w->op), w->want_first);
		if (w->op == TAKE && w->want_ret > 0)
			CHECK(sp.sent_ms == 1000 + (int64_t)r,
			      "%s: row %zu take records sent_ms", sc->name, r);
	}
	bc_spool_free(&sp);
	CHECK(sp.v == NULL && sp.n == 0 && sp.cap == 0,
	      "%s: free leaves an empty spool", sc->name);
	bc_spool_free(&sp); /* twice: harmless */
}

static void test_scripts(void)
{
	size_t i;

	for (i = 0; i < NELEM(scripts); i++)
		run_script(&scripts[i]);
}

/*
 * The model: a plain FIFO of sequence numbers, shifted by hand, with the
 * spool's rules stated directly.
 */
struct model {
	uint64_t v[MODEL_MAX];
	size_t n, max, inflight;
	uint64_t id, dropped, acked;
};

static void model_push(struct model *m, uint64_t seq)
{
	if (m->n == m->max) {
		m->inflight = 0; /* the report in flight is abandoned */
		m->id = 0;
		memmove(m->v, m->v + 1, (m->n - 1) * sizeof(m->v[0]));
		m->n--;
		m->dropped++;
	}
	m->v[m->n++] = seq;
}

static size_t model_take(struct model *m, size_t max, uint64_t id)
{
	m->inflight = m->n < max ? m->n : max;
	m->id = id;
	return m->inflight;
}

static int model_ack(struct model *m, uint64_t id)
{
	if (m->inflight == 0 || id != m->id)
		return 0;
	memmove(m->v, m->v + m->inflight,
		(m->n - m->inflight) * sizeof(m->v[0]));
	m->n -= m->inflight;
	m->acked += m->inflight;
	m->inflight = 0;
	m->id = 0;
	return 1;
}

static int same(const struct bc_spool *sp, const struct model *m)
{
	size_t i;

	if (sp->n != m->n || sp->inflight != m->inflight ||
	    sp->dropped != m->dropped || sp->acked != m->acked ||
	    sp->n > sp->max)
		return 0;
	for (i = 0; i < m->n; i++) /* the order, cheaply */
		if (bc_spool_at(sp, i)->time_ms != (int64_t)m->v[i])
			return 0;
	/* and every field at both ends */
	return m->n == 0 || (ev_is(bc_spool_at(sp, 0), m->v[0]) &&
			     ev_is(bc_spool_at(sp, m->n - 1), m->v[m->n - 1]));
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct model_case {
	size_t max;
	unsigned ops;
	unsigned push_most; /* pushes per push op: 1..push_most */
	uint64_t seed;
};

/* Random push / take / ack / wrong ack / unsend against the model. */
static void test_model(void)
{
	static const struct model_case c[] = {
		{8, 20000, 3, 1},
		{64, 50000, 10, 2},
		{100, 50000, 20, 3},    /* cap 64 then 100: not a power of 2 */
		{1000, 50000, 40, 4},   /* grows 64, 128, ... 1000 with wraps */
		{3, 20000, 5, 5},
		{1, 5000, 2, 6},
	};
	static struct model m;
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct bc_spool sp;
		uint64_t s = c[i].seed * 0x9e3779b97f4a7c15ULL, seq = 0;
		uint64_t next_id = 1;
		unsigned op, bad_op = 0, wraps = 0, grows = 0;
		size_t last_cap = 0;
		int ok = 1;

		memset(&m, 0, sizeof(m));
		m.max = c[i].max;
		bc_spool_init(&sp, c[i].max);
		for (op = 0; op < c[i].ops && ok; op++) {
			unsigned what = (unsigned)(rnd(&s) % 10);

			if (what < 5) {
				unsigned k, n = 1 + (unsigned)(rnd(&s) % c[i].push_most);

				for (k = 0; k < n; k++) {
					struct bc_spool_ev ev = mkev(seq);

					bc_spool_push(&sp, &ev);
					model_push(&m, seq++);
				}
			} else if (what < 7) {
				size_t max = (size_t)(rnd(&s) % (c[i].max + 2));
				size_t a = bc_spool_take(&sp, max, next_id, 0);

				ok = a == model_take(&m, max, next_id);
				next_id++;
			} else if (what < 9) {
				/* mostly the right id, sometimes a stale one */
				uint64_t id = rnd(&s) % 4 ? m.id : next_id - 2;

				ok = bc_spool_ack(&sp, id) == model_ack(&m, id);
			} else {
				bc_spool_unsend(&sp);
				m.inflight = 0;
				m.id = 0;
			}
			ok = ok && same(&sp, &m);
			if (!ok)
				bad_op = op;
			if (sp.cap && sp.head + sp.n > sp.cap)
				wraps++;
			if (sp.cap != last_cap) {
				grows++;
				last_cap = sp.cap;
			}
		}
		CHECK(ok, "model max %zu: %u ops agree with a FIFO array%s",
		      c[i].max, ok ? op : bad_op,
		      ok ? "" : " (differ after the op counted)");
		CHECK(sp.cap <= c[i].max, "model max %zu: cap %zu within max",
		      c[i].max, sp.cap);
		CHECK(c[i].max < 3 || wraps > 0,
		      "model max %zu: the ring wrapped around (after %u ops)",
		      c[i].max, wraps);
		CHECK(m.dropped > 0 && m.acked > 0,
		      "model max %zu: run saw drops (%llu) and acks (%llu)",
		      c[i].max, (unsigned long long)m.dropped,
		      (unsigned long long)m.acked);
		bc_spool_free(&sp);
	}
}

/*
 * Growth from a small capacity keeps the order, also when the ring has
 * wrapped at the moment it grows.
 */
static void test_growth(void)
{
	struct bc_spool sp;
	uint64_t seq = 0, first;
	size_t caps[16], ncaps = 0, i;
	int ok;

	bc_spool_init(&sp, 1000);
	for (i = 0; i < 64; i++) {
		struct bc_spool_ev ev = mkev(seq++);

		bc_spool_push(&sp, &ev);
	}
	caps[ncaps++] = sp.cap;
	CHECK(bc_spool_take(&sp, 10, 1, 0) == 10 && bc_spool_ack(&sp, 1) == 1,
	      "growth: 10 of 64 acked");
	for (i = 0; i < 10; i++) { /* fill the ring up, wrapping */
		struct bc_spool_ev ev = mkev(seq++);

		bc_spool_push(&sp, &ev);
	}
	CHECK(sp.n == sp.cap && sp.head != 0,
	      "growth: ring full and wrapped (head %zu, n %zu, cap %zu)",
	      sp.head, sp.n, sp.cap);
	CHECK(bc_spool_take(&sp, 5, 2, 0) == 5, "growth: 5 in flight over the wrap");
	for (i = 0; i < 1000 - 64; i++) {
		struct bc_spool_ev ev = mkev(seq++);

		bc_spool_push(&sp, &ev);
		if (sp.cap != caps[ncaps - 1] && ncaps < NELEM(caps))
			caps[ncaps++] = sp.cap;
	}
	CHECK(sp.n == 1000 && sp.dropped == 0,
	      "growth: 1000 held, none dropped (n %zu, dropped %llu)", sp.n,
	      (unsigned long long)sp.dropped);
	CHECK(holds_run(&sp, 10), "growth: events 10..1009 in order");
	CHECK(ncaps == 5 && caps[0] == 64 && caps[1] == 128 && caps[2] == 256 &&
		      caps[3] == 512 && caps[4] == 1000,
	      "growth: capacity 64, 128, 256, 512, 1000 (%zu steps)", ncaps);
	CHECK(sp.inflight == 5 && sp.report_id == 2,
	      "growth: the report in flight survives growth");
	CHECK(bc_spool_ack(&sp, 2) == 1 && sp.n == 995 && holds_run(&sp, 15),
	      "growth: its ack pops the right 5");

	/* at max now: each push drops the oldest */
	for (i = 0; i < 10; i++) {
		struct bc_spool_ev ev = mkev(seq++);

		bc_spool_push(&sp, &ev);
	}
	first = seq - 1000;
	ok = sp.n == 1000 && sp.dropped == 5 && holds_run(&sp, first);
	CHECK(ok, "growth: at max the oldest go (dropped %llu, first %llu)",
	      (unsigned long long)sp.dropped, (unsigned long long)first);
	bc_spool_free(&sp);

	/* max 0 means the default bound */
	bc_spool_init(&sp, 0);
	CHECK(sp.max == BC_SPOOL_MAX && sp.n == 0 && sp.inflight == 0 &&
		      sp.report_id == 0,
	      "init: max 0 -> BC_SPOOL_MAX (%zu)", sp.max);
	bc_spool_free(&sp);
}

/* The full default bound: 65536 kept, then the oldest dropped. */
static void test_default_bound(void)
{
	struct bc_spool sp;
	uint64_t seq;

	bc_spool_init(&sp, 0);
	for (seq = 0; seq < BC_SPOOL_MAX + 100; seq++) {
		struct bc_spool_ev ev = mkev(seq);

		bc_spool_push(&sp, &ev);
	}
	CHECK(sp.n == BC_SPOOL_MAX && sp.dropped == 100 && sp.cap == BC_SPOOL_MAX,
	      "default bound: n %zu dropped %llu cap %zu", sp.n,
	      (unsigned long long)sp.dropped, sp.cap);
	CHECK(holds_run(&sp, 100), "default bound: events 100.. in order");
	bc_spool_free(&sp);
}

/* A burst's ring is given back once acked empty; a small one is kept,
 * and the spool fills again either way. */
static void test_shrink(void)
{
	struct bc_spool sp;
	struct bc_spool_ev ev;
	uint64_t seq = 0;
	size_t i;
	int round;

	bc_spool_init(&sp, 0);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 5000; i++) {
			ev = mkev(seq++);
			bc_spool_push(&sp, &ev);
		}
		CHECK(sp.cap >= 5000 && sp.n == 5000, "shrink %d: 5000 events spooled "
		      "(cap %zu)", round, sp.cap);
		bc_spool_take(&sp, 3000, 1, 0);
		bc_spool_ack(&sp, 1);
		CHECK(sp.n == 2000 && sp.cap >= 5000 && ev_is(bc_spool_at(&sp, 0), seq - 2000),
		      "shrink %d: a partial ack keeps the ring and the oldest left", round);
		bc_spool_take(&sp, 5000, 2, 0);
		bc_spool_ack(&sp, 2);
		CHECK(sp.n == 0 && sp.cap == 0 && sp.v == NULL && sp.acked == 5000 * (size_t)(round + 1),
		      "shrink %d: acked empty, the ring of %d events is freed", round, 5000);
	}
	for (i = 0; i < 100; i++) {
		ev = mkev(seq++);
		bc_spool_push(&sp, &ev);
	}
	bc_spool_take(&sp, 100, 3, 0);
	bc_spool_ack(&sp, 3);
	CHECK(sp.n == 0 && sp.cap > 0 && sp.cap <= BC_SPOOL_KEEP,
	      "shrink: a ring of %zu events (at most %d) is kept", sp.cap, BC_SPOOL_KEEP);
	ev = mkev(seq);
	bc_spool_push(&sp, &ev);
	CHECK(sp.n == 1 && ev_is(bc_spool_at(&sp, 0), seq), "shrink: and takes the next");
	bc_spool_free(&sp);
}

int main(void)
{
	test_scripts();
	test_model();
	test_growth();
	test_default_bound();
	test_shrink();
	return tap_done();
}
