/*
 * admin.h - the requests of admin keys: ban, unban, list, status
 * (admin.c), show (show.c) and audit fleet (audit.c).
 *
 * Each request arrives verified (intake.c: signature of a pinned admin
 * key, counter, cluster, ranges); its text fields are still an admin's
 * input and are only stored and echoed, never interpreted. Every
 * request gets exactly one reply: the result, or code 1 and a one-line
 * error, with nothing half-filled.
 */
#ifndef BC_COORD_ADMIN_H
#define BC_COORD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#include "common/covering.h"
#include "coordinator/arena.h"
#include "coordinator/coord.h"
#include "coordinator/localbans.h"

#define BC_COORD_UNBAN_LOCAL_MAX 256 /* local bans one unban lifts or names */

/* Carry out one admin request and send its reply to the ROUTER peer id. */
void bc_coord_admin(struct bc_coord *c, const zmq_msg_t *id,
		    const struct bc_peer *from,
		    const Bancluster__AdminReq *rq);

/* What an admin's unban did: the bans lifted (the address's own first,
 * then the covering ones, widest first) and the covering bans it left. */
struct bc_coord_unban_result {
	struct bc_ban lifted[BC_COVERING_MAX + 1];
	size_t nlifted;
	struct bc_ban still[BC_COVERING_MAX];
	size_t nstill;
	/* bc_coord_unban_every: the local bans lifted (pending: the agent is
	 * offline, lifted when it reconnects) and the covering ones left */
	struct bc_coord_local_hit llifted[BC_COORD_UNBAN_LOCAL_MAX];
	size_t nllifted;
	struct bc_coord_local_hit lstill[BC_COORD_UNBAN_LOCAL_MAX];
	size_t nlstill;
};

/*
 * `unban ADDR [--covering]`: lift the ban on exactly addr; with covering
 * also every ban on a wider prefix that contains it, each its own
 * sequenced removal (bc_coord_unban). Without covering such bans stay
 * and are listed in res->still. Returns 0, or -1 + err:
 *   "ADDR: not banned" - neither banned itself nor covered;
 *   "ADDR is not banned itself; it is inside P (fleet ban): use
 *     --covering to lift that ban" - covered, and covering not asked;
 *   "store: ..." - a removal failed; those made before it stay made and
 *     are named ("(unbanned already: A, B)").
 */
int bc_coord_unban_admin(struct bc_coord *c, const struct bc_addr *addr,
			 bool covering, const char *signer,
			 struct bc_coord_unban_result *res, char *err,
			 size_t errlen);

/*
 * `unban ADDR [--covering] [--fleet-only|--local-only]`: fleet and the
 * agents' local bans (localbans.h) alike. fleet false: local bans only;
 * local false: bc_coord_unban_admin as it is. With both, an address
 * banned itself anywhere (fleet or locally on any MX) loses those bans
 * and is told about the covering ones left; one banned nowhere itself
 * but covered is refused, naming each covering ban ("(fleet ban)",
 * "(local ban on mx1)") unless covering. Errors as bc_coord_unban_admin,
 * and "ADDR: not banned locally on any MX" for local alone.
 */
int bc_coord_unban_every(struct bc_coord *c, const struct bc_addr *addr,
			 bool covering, bool fleet, bool local,
			 const char *signer, struct bc_coord_unban_result *res,
			 char *err, size_t errlen);

/* Fill r for `audit fleet`: each agent in_sync, lagging, drifted or
 * offline, with the kernel element counts. 0, or -1 + err (out of
 * memory: nothing of r is to be used). Objects live in ar. */
int bc_coord_audit(struct bc_coord *c, Bancluster__AdminReply *r,
		   struct bc_arena *ar, char *err, size_t errlen);

/* Fill r for `show`: covering bans, decisions with evidence, window.
 * 0, or -1 + err. Objects live in ar. */
int bc_coord_show(struct bc_coord *c, const struct bc_addr *addr,
		  Bancluster__AdminReply *r, struct bc_arena *ar, char *err,
		  size_t errlen);

#endif
