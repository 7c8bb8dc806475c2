/*
 * spool.c - bounded ring of unacknowledged events (spool.h), kept by the
 * signer. Its events come from the reader's checked records (the log
 * excerpt already escaped and cut). The ring owns copies of them; it
 * never fails: when memory runs out or the ring is full, the oldest
 * event is dropped and counted in `dropped`. Emptied by an ack, a ring
 * grown past BC_SPOOL_KEEP events is given back.
 */
#include "spool.h"

#include <stdlib.h>
#include <string.h>

void bc_spool_init(struct bc_spool *sp, size_t max)
{
	memset(sp, 0, sizeof(*sp));
	sp->max = max ? max : BC_SPOOL_MAX;
}

static void pop(struct bc_spool *sp, size_t k)
{
	sp->head = (sp->head + k) % (sp->cap ? sp->cap : 1);
	sp->n -= k;
	if (sp->n == 0)
		sp->head = 0;
}

static int grow(struct bc_spool *sp)
{
	size_t cap = sp->cap ? sp->cap * 2 : 64, i;
	struct bc_spool_ev *v;

	if (cap > sp->max)
		cap = sp->max;
	if (cap <= sp->cap)
		return -1;
	v = malloc(cap * sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < sp->n; i++) /* linearize */
		v[i] = sp->v[(sp->head + i) % sp->cap];
	free(sp->v);
	sp->v = v;
	sp->cap = cap;
	sp->head = 0;
	return 0;
}

void bc_spool_push(struct bc_spool *sp, const struct bc_spool_ev *ev)
{
	if (sp->n == sp->cap && grow(sp) < 0) {
		if (sp->cap == 0)
			return; /* nowhere to put it */
		if (sp->inflight > 0)
			bc_spool_unsend(sp);
		pop(sp, 1);
		sp->dropped++;
	}
	sp->v[(sp->head + sp->n) % sp->cap] = *ev;
	sp->n++;
}

const struct bc_spool_ev *bc_spool_at(const struct bc_spool *sp, size_t i)
{
	return &sp->v[(sp->head + i) % sp->cap];
}

size_t bc_spool_take(struct bc_spool *sp, size_t max, uint64_t id,
		     int64_t now_ms)
{
	sp->inflight = sp->n < max ? sp->n : max;
	sp->report_id = id;
	sp->sent_ms = now_ms;
	return sp->inflight;
}

int bc_spool_ack(struct bc_spool *sp, uint64_t id)
{
	if (sp->inflight == 0 || id != sp->report_id)
		return 0;
	pop(sp, sp->inflight);
	sp->acked += sp->inflight;
	sp->inflight = 0;
	sp->report_id = 0;
	if (sp->n == 0 && sp->cap > BC_SPOOL_KEEP) {
		/* a burst's ring (up to 17 MB) is not kept at rest */
		free(sp->v);
		sp->v = NULL;
		sp->cap = 0;
	}
	return 1;
}

void bc_spool_unsend(struct bc_spool *sp)
{
	sp->inflight = 0;
	sp->report_id = 0;
}

void bc_spool_free(struct bc_spool *sp)
{
	free(sp->v);
	memset(sp, 0, sizeof(*sp));
}
