/*
 * localsync.h - the agent's local bans as the coordinator sees them
 * (issue 14, "every ban, one view"): the list is reported whole
 * (MSG_LOCAL_BANS, in parts) when it changed, at most once a second, and
 * again when the coordinator says it holds another generation; the
 * coordinator's MSG_LOCAL_LIFT lifts local bans (kernel elements, the
 * local map, the local policy's window for that key).
 *
 * Every function works on the signer's context (agent.h). Lifts arrive
 * verified (follow.c opened them against the pinned coordinator key) and
 * range-checked (proto/wire.c); the kernel is reached only through the
 * firewall process. Nothing here exits; failures are logged.
 */
#ifndef BC_LOCALSYNC_H
#define BC_LOCALSYNC_H

#include "agent/agent.h"

#define BC_LOCALSYNC_MAX 10000          /* local bans reported; beyond: counted */
#define BC_LOCALSYNC_DEBOUNCE_MS 1000   /* at most one list a second */

/* At start, after the split: a new generation, and the local bans the
 * kernel still holds from before a restart (local4*, local6*) back into
 * the local map, so they are reported and can be lifted. */
void bc_localsync_start(struct bc_agent_signer *a);

/* The local policy banned b (already in the map and the kernel). */
void bc_localsync_added(struct bc_agent_signer *a, const struct bc_ban *b,
			double events, int64_t window_s);

/* b left the local map (expired): the list changed. */
void bc_localsync_removed(struct bc_agent_signer *a, const struct bc_addr *addr);

/* A verified MSG_LOCAL_LIFT: lift what it names, note its generation. */
void bc_localsync_lift(struct bc_agent_signer *a, const Bancluster__LocalLift *l);

/* From timers(): send the list when due (changed, or asked for). */
void bc_localsync_tick(struct bc_agent_signer *a);

/* Free what the module holds. */
void bc_localsync_free(struct bc_agent_signer *a);

#endif
