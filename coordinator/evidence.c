/*
 * evidence.c - events behind a decision, read back from the stored
 * reports. The policy remembers for every counted event a reference
 * (report row << 16 | index in the report); the report itself is kept as
 * the signed frame the agent sent, so evidence is what the agent signed.
 * Frames were verified at intake; here they are only decoded.
 *
 * A report pruned meanwhile or that does not decode is skipped (the count
 * returned says how many events were found). The events handed to the
 * callback point into the decoded report: valid during the call only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "coordinator/evidence.h"

struct decoded {
	int64_t row;
	char sender[64];
	Bancluster__Envelope *env;
	Bancluster__Payload *p;
};

static void drop(struct decoded *d)
{
	if (d->p != NULL)
		bancluster__payload__free_unpacked(d->p, NULL);
	if (d->env != NULL)
		bancluster__envelope__free_unpacked(d->env, NULL);
	memset(d, 0, sizeof(*d));
}

static int load(struct bc_coord *c, struct decoded *d, int64_t row)
{
	uint8_t *frame;
	size_t len;
	int64_t recv;

	drop(d);
	if (bc_store_report_get(c->store, row, &frame, &len, d->sender, &recv) < 0)
		return -1;
	d->env = bancluster__envelope__unpack(NULL, len, frame);
	free(frame);
	if (d->env == NULL)
		return -1;
	d->p = bancluster__payload__unpack(NULL, d->env->payload.len,
					   d->env->payload.data);
	if (d->p == NULL || d->p->body_case != BANCLUSTER__PAYLOAD__BODY_REPORT) {
		drop(d);
		return -1;
	}
	d->row = row;
	return 0;
}

/*
 * The reports decoded last, kept across calls: in a burst every ban's
 * evidence lies in the same few reports of thousands of events, and
 * reading and decoding one per ban was most of a burst's cost. Stored
 * reports never change; bc_coord_events_forget (after a prune, whose
 * deletions may let SQLite hand a row id out again) empties it.
 */
#define EVCACHE 8
struct bc_evcache {
	struct decoded d[EVCACHE];
	uint64_t used[EVCACHE];
	uint64_t clock;
};

void bc_coord_events_forget(struct bc_coord *c)
{
	size_t i;

	if (c->evcache == NULL)
		return;
	for (i = 0; i < EVCACHE; i++)
		drop(&c->evcache->d[i]);
	free(c->evcache);
	c->evcache = NULL;
}

/* the decoded report of row, from the cache or loaded into it */
static struct decoded *report(struct bc_coord *c, int64_t row)
{
	struct bc_evcache *k = c->evcache;
	size_t i, old = 0;

	if (k == NULL && (k = c->evcache = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	for (i = 0; i < EVCACHE; i++) {
		if (k->d[i].p != NULL && k->d[i].row == row) {
			k->used[i] = ++k->clock;
			return &k->d[i];
		}
		if (k->used[i] < k->used[old])
			old = i;
	}
	if (load(c, &k->d[old], row) < 0)
		return NULL;
	k->used[old] = ++k->clock;
	return &k->d[old];
}

size_t bc_coord_events(struct bc_coord *c, const uint64_t *refs, size_t n,
		       bc_store_event_cb cb, void *arg)
{
	struct decoded *d = NULL;
	size_t i, done = 0;

	for (i = 0; i < n; i++) {
		int64_t row = (int64_t)(refs[i] >> 16);
		size_t idx = (size_t)(refs[i] & 0xffff);
		const Bancluster__Event *e;
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
		struct bc_store_event se;

		if ((d == NULL || d->row != row) && (d = report(c, row)) == NULL)
			continue; /* pruned meanwhile */
		if (idx >= d->p->report->n_events)
			continue;
		e = d->p->report->events[idx];
		memset(&se, 0, sizeof(se));
		tmp.family = e->family;
		tmp.addr = e->addr;
		tmp.plen = e->family == 4 ? 32 : 128;
		if (bc_wire_ban_addr(&tmp, &se.addr) < 0)
			continue;
		se.time_ms = e->time_ms;
		se.kind = (uint8_t)e->kind;
		se.host = d->sender;
		se.service = e->service;
		se.line = e->line;
		cb(&se, arg);
		done++;
	}
	return done;
}
