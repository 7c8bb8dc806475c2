/*
 * spool.h - events waiting for the coordinator's acknowledgement.
 *
 * A bounded ring. The first `inflight` events belong to the report that
 * was sent and not yet acknowledged; an ack with that report's id drops
 * them, a timeout sends them again under the same id (the coordinator
 * counts a report id once). When the ring is full
 * the oldest event is dropped and counted (an unacknowledged report is
 * abandoned first: its events are the oldest).
 *
 * The signer's alone (agent.h); the ring copies what it is given and
 * frees it in bc_spool_free. No call fails or prints.
 */
#ifndef BC_SPOOL_H
#define BC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define BC_SPOOL_MAX 65536      /* events kept while the coordinator is away */
#define BC_SPOOL_KEEP 256       /* ring kept when emptied (else freed) */
#define BC_SPOOL_LINE 200       /* escaped log excerpt kept per event */
#define BC_SPOOL_SERVICE 32

struct bc_spool_ev {
	int64_t time_ms;
	uint8_t kind;
	struct bc_addr addr;
	char service[BC_SPOOL_SERVICE];
	char line[BC_SPOOL_LINE];
};

struct bc_spool {
	struct bc_spool_ev *v;
	size_t cap, max, head, n;
	size_t inflight;     /* events in the unacknowledged report */
	uint64_t report_id;  /* id of that report, 0 if none */
	int64_t sent_ms;     /* monotonic time it was sent */
	uint64_t dropped, acked;
};

void bc_spool_init(struct bc_spool *sp, size_t max);

/* Append (copy). Never fails: drops the oldest when full or OOM. */
void bc_spool_push(struct bc_spool *sp, const struct bc_spool_ev *ev);

/* The i-th queued event, i < n. */
const struct bc_spool_ev *bc_spool_at(const struct bc_spool *sp, size_t i);

/* Mark the first min(n, max) events in flight under id; returns count. */
size_t bc_spool_take(struct bc_spool *sp, size_t max, uint64_t id,
		     int64_t now_ms);

/* An ack: drop the in-flight events if id matches. Returns 1 if so. */
int bc_spool_ack(struct bc_spool *sp, uint64_t id);

/* Give up on the in-flight report (it will be sent again). */
void bc_spool_unsend(struct bc_spool *sp);

void bc_spool_free(struct bc_spool *sp);

#endif
