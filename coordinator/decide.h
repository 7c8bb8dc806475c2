/*
 * decide.h - the coordinator's decisions (decide.c): a ban or unban is
 * committed to the store, applied to the in-memory ban table, published
 * as one sequenced change on the PUB socket and announced to the hooks,
 * in that order. The coordinator alone numbers changes (c->seq); an
 * expiry is itself a sequenced removal.
 */
#ifndef BC_COORD_DECIDE_H
#define BC_COORD_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/coord.h"

/* The wire form of a ban (address, prefix, times; no text). */
void bc_coord_fill_ban(Bancluster__Ban *pb, const struct bc_ban *b);

/* How a decision is applied: seq 0 takes the next number (one
 * coordinator); publish false applies it without a word to the agents
 * (cluster start-up); mine: this coordinator made it (hooks, digest,
 * counters, log line); committed: it is in etcd already, so a local
 * store failure does not stop it. */
struct bc_coord_seq {
	uint64_t seq;
	bool publish, mine, committed;
};

/* Apply a decision: store (rule: with the offence and evidence ev),
 * ban table, PUB, hooks. Returns 0, or -1 + err. */
int bc_coord_apply_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		       const char *action, const char *signer, bool rule,
		       const struct bc_store_event *ev, size_t nev,
		       const struct bc_coord_seq *q, char *err, size_t errlen);
int bc_coord_apply_unban(struct bc_coord *c, const struct bc_addr *addr,
			 const char *action, const char *signer,
			 const struct bc_coord_seq *q, char *err, size_t errlen);
/* a, or a prefix containing it, is banned and the ban not over at now */
bool bc_coord_covered(const struct bc_coord *c, const struct bc_addr *a,
		      int64_t now);

/* Prefix escalation after a rule ban of key (subnet_threshold). */
void bc_coord_escalate(struct bc_coord *c, const struct bc_addr *key);

/* A manual ban (or extension): commit, apply, publish, announce.
 * Returns 0, or -1 + err (store failure, table full): nothing changed. */
int bc_coord_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		 const char *signer, char *err, size_t errlen);

/* Remove the ban on exactly addr; action "unban" or "expire", signer ""
 * for the policy. Returns 0, or -1 + err (not banned, store failure). */
int bc_coord_unban(struct bc_coord *c, const struct bc_addr *addr,
		   const char *action, const char *signer, char *err,
		   size_t errlen);

/* The policy flagged a counting key: ban it (escalated bantime, its
 * evidence stored), and the prefix too when subnet_threshold is met.
 * Failures are logged; nothing is published then. */
void bc_coord_rule_ban(struct bc_coord *c, const struct bc_policy_hit *h);

/* Expire every ban whose time is over (now: bc_now_ms()). */
void bc_coord_expire(struct bc_coord *c, int64_t now);

/* Publish one sequenced change of the allow list (already committed):
 * an Update carrying the entry's prefix and expiry. */
void bc_coord_publish_allow(struct bc_coord *c, const struct bc_allow *e,
			    bool remove);

/* Publish the heartbeat (HUGZ) with the current epoch and sequence. */
void bc_coord_hugz(struct bc_coord *c);

#endif
