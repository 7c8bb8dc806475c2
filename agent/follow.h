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

/* Seal p with the agent's key and send it on the DEALER without
 * blocking. 0, or -1 (not signed, or not sent). */
int bc_follow_send(struct bc_agent_signer *a, Bancluster__MsgType type,
		   Bancluster__Payload *p);

/* Stop trusting the fleet state and ask for a snapshot (logged as a
 * resync with `why` when one starts; repeats while syncing are attempts
 * of the same). */
void bc_follow_resync(struct bc_agent_signer *a, const char *why);

/* The heartbeat: applied epoch and sequence, kernel hash, spool size. */
void bc_follow_heartbeat(struct bc_agent_signer *a);

/* Frames waiting on the DEALER: snapshot parts and report acks. */
void bc_follow_dealer(struct bc_agent_signer *a);

/* A burst of frames from SUB: updates in one firewall transaction. */
void bc_follow_updates(struct bc_agent_signer *a);

/* Read the fleet sets back and compare with the mirror; drift seen twice
 * in a row is repaired with one atomic replace. */
void bc_follow_check(struct bc_agent_signer *a);

#endif
