/*
 * intake.h - what comes in on the ROUTER socket and the ZAP handler
 * (intake.c): every frame verified before it is looked at, reports
 * stored and counted, heartbeats and snapshot requests answered, admin
 * requests handed to admin.c; and the replay counters made durable.
 */
#ifndef BC_COORD_INTAKE_H
#define BC_COORD_INTAKE_H

#include <stddef.h>
#include <zmq.h>

#include "coordinator/coord.h"

/* Handle up to a batch of frames waiting on the ROUTER socket. */
void bc_coord_drain_router(struct bc_coord *c);

/*
 * Group commit: the reports taken since the last call are committed in
 * one transaction and then acknowledged (none is, if the commit fails:
 * the agents resend). The drain calls it at its end, before an admin
 * request, and decide.c before a rule ban, so that every published
 * change is committed first. Nothing to do outside a batch.
 */
void bc_coord_commit_reports(struct bc_coord *c);
/* Send acks v[0..n) when ok, and release their routing ids. */
void bc_coord_send_acks(struct bc_coord *c, struct bc_coord_ack *v, size_t n,
			bool ok);

/* Answer one ZAP request (RFC 27): admit only pinned CURVE keys. */
void bc_coord_zap(struct bc_coord *c);

/* Send one sealed payload to the ROUTER peer id. 0 or -1 (errno). */
int bc_coord_send(struct bc_coord *c, const zmq_msg_t *id,
		  Bancluster__MsgType type, Bancluster__Payload *p);

/* Count again the stored reports of the last findtime (start-up), except
 * the events of keys decided on since. 0, or -1 (store error). */
int bc_coord_recount(struct bc_coord *c);

/* Read the replay counter, last counted report and event total of p
 * from the store (missing rows leave the values as they are). */
void bc_coord_load_counters(struct bc_store *s, struct bc_peer *p,
			    struct bc_agent_state *st);

/*
 * Write the ROUTER replay counter of ring.v[i] to the store. 0, or -1
 * when the store refused it: then peer_state[i].counter_saved is left as
 * it was (so the next tick tries again), c->counter_save_failures counts
 * it and the first failure of a spell is logged, as is the recovery.
 */
int bc_coord_save_counter(struct bc_coord *c, size_t i);

#endif
