/*
 * follow.h - the signer follows the coordinator: the Clone pattern's
 * client (snapshot, then sequenced updates, resync on a gap, a new epoch
 * or silence), heartbeats, and the kernel self-check of the fleet sets.
 * Every function works on the signer's context alone (agent.h); frames
 * are verified before use, failures start a resync (follow.c).
 */
#ifndef BC_FOLLOW_H
#define BC_FOLLOW_H

#include "agent/agent.h"

/* Seal p with the agent's key and send it without blocking to one
 * coordinator: cur_ep, or the next of the list whose connection is up.
 * 0 (the endpoint's index in *to, if to is not NULL), or -1 (not
 * signed, or no coordinator connected). */
int bc_follow_send(struct bc_agent_signer *a, Bancluster__MsgType type,
		   Bancluster__Payload *p, int *to);

/* The same to every coordinator whose connection is up (heartbeats,
 * the local-ban list: each coordinator of the list keeps its own view).
 * 0 if at least one took it, else -1. */
int bc_follow_send_all(struct bc_agent_signer *a, Bancluster__MsgType type,
		       Bancluster__Payload *p);

/* Endpoint k (of [agent] coordinator) did not answer what was sent to
 * it: if it is cur_ep, the next endpoint becomes cur_ep. */
void bc_follow_unanswered(struct bc_agent_signer *a, int k);

/* Wait up to ms for a frame on any DEALER and read what came. */
void bc_follow_dealer_wait(struct bc_agent_signer *a, int ms);

/* Stop trusting the fleet state and ask for a snapshot (logged as a
 * resync with `why` when one starts; repeats while syncing are attempts
 * of the same). */
void bc_follow_resync(struct bc_agent_signer *a, const char *why);

/* The heartbeat: applied epoch and sequence, kernel hash, spool size. */
void bc_follow_heartbeat(struct bc_agent_signer *a);

/* Frames waiting on the DEALERs: snapshot parts, report acks, local
 * lifts; the coordinator that answered becomes cur_ep. */
void bc_follow_dealer(struct bc_agent_signer *a);

/* A burst of frames from SUB: updates in one firewall transaction. */
void bc_follow_updates(struct bc_agent_signer *a);

/* Read the fleet sets back, one page a call (starting a check when none
 * runs), and at the end compare with the mirror; drift seen twice in a
 * row is repaired with one atomic replace. True while the check runs:
 * call again on the next turn. */
bool bc_follow_check(struct bc_agent_signer *a);

#endif
