/*
 * localbans.h - the agents' local bans as the coordinator knows them
 * (issue 14, "every ban, one view"), in memory only, per agent: the last
 * complete list each agent reported (MSG_LOCAL_BANS), and the lifts an
 * admin asked for that the agent has not confirmed yet. Nothing is
 * stored: after a coordinator restart each agent's heartbeat states a
 * generation the coordinator does not hold, and it asks for the list
 * again (docs/protocol.md); a lift not yet confirmed when the
 * coordinator stops is lost, and `list --local` shows the ban again
 * (in cluster mode every coordinator holds it: bc_cluster_lift).
 *
 * Inputs: verified messages of agent keys (intake.c), range-checked by
 * proto/wire.c; their text (reasons) is the agent's word, cut to
 * BC_COORD_LOCAL_REASON and escaped by the CLI. Bounded: at most
 * BC_COORD_LOCAL_MAX bans per agent (beyond: counted as dropped) and
 * BC_COORD_LOCAL_LIFTS pending lifts per agent.
 */
#ifndef BC_COORD_LOCALBANS_H
#define BC_COORD_LOCALBANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "coordinator/arena.h"
#include "coordinator/coord.h"

#define BC_COORD_LOCAL_MAX 10000     /* local bans held per agent */
#define BC_COORD_LOCAL_LIFTS 1024    /* pending lifts per agent */
#define BC_COORD_LOCAL_REASON 96     /* bytes of an agent's reason kept */
#define BC_COORD_LOCAL_ASK_MS 1500   /* generation differs this long: ask */
#define BC_COORD_LOCAL_RESEND_MS 2000 /* pending lift unconfirmed: again */
#define BC_COORD_LOCAL_LIFT_TTL_MS (7LL * 86400 * 1000) /* pending lift kept */

struct bc_coord_local_ban {
	struct bc_addr addr;
	int64_t expires_ms, created_ms;
	uint32_t events;
	char reason[BC_COORD_LOCAL_REASON + 1];
};

/* One local ban found for an admin request: which agent, which ban. */
struct bc_coord_local_hit {
	size_t agent;            /* index in c->ring.v */
	struct bc_coord_local_ban ban;
	bool pending;            /* a lift is waiting for the agent */
};

/* Free one agent's state (reload, exit). */
void bc_coord_local_free(struct bc_agent_state *st);

/* A verified heartbeat of agent i from ROUTER peer id: remember the
 * peer, ask for the list when its generation differs, resend pending
 * lifts. */
void bc_coord_local_heartbeat(struct bc_coord *c, size_t i, const zmq_msg_t *id,
			      const Bancluster__Heartbeat *h);

/* A verified MSG_LOCAL_BANS part of agent i: the list is replaced when
 * its last part arrived; pending lifts are confirmed or resent. */
void bc_coord_local_bans(struct bc_coord *c, size_t i, const zmq_msg_t *id,
			 const Bancluster__LocalBans *m);

/*
 * The local bans that concern addr, over every agent (active ones
 * only): *own those on exactly addr, *cov those on wider prefixes that
 * contain it. At most max of each (v arrays of the caller).
 */
void bc_coord_local_find(struct bc_coord *c, const struct bc_addr *addr,
			 struct bc_coord_local_hit *own, size_t *nown,
			 struct bc_coord_local_hit *cov, size_t *ncov,
			 size_t max);

/*
 * Lift one local ban (an admin's unban, signed by `admin`): logged, kept
 * as pending until the agent's list no longer holds it, and sent to the
 * agent now if it is connected. *sent tells which. 0, or -1 when the
 * agent has too many pending lifts (err).
 */
int bc_coord_local_lift(struct bc_coord *c, const struct bc_coord_local_hit *h,
			const char *admin, bool *sent, char *err, size_t errlen);

/* Fill a LocalEntry (objects in ar); NULL when out of memory. */
Bancluster__LocalEntry *bc_coord_local_entry(struct bc_coord *c,
					     const struct bc_coord_local_hit *h,
					     struct bc_arena *ar);

/* list --local: entries [offset, offset + max) over every agent into
 * r->local, r->local_total, and each agent's local state in r->agents.
 * 0, or -1 + err (out of memory). */
int bc_coord_local_list(struct bc_coord *c, uint64_t offset, size_t max,
			Bancluster__AdminReply *r, struct bc_arena *ar,
			char *err, size_t errlen);

/* show: the local bans covering addr (each agent's), into r->local. */
int bc_coord_local_show(struct bc_coord *c, const struct bc_addr *addr,
			Bancluster__AdminReply *r, struct bc_arena *ar);

/* audit fleet / status: agent i's local figures into a. */
void bc_coord_local_status(struct bc_coord *c, size_t i,
			   Bancluster__AgentStatus *a);

#endif
