/*
 * enrol.h - enrolment by signed admin requests (enrol.c): `agent add
 * NAME PUBKEY`, `agent remove NAME`, `agent list`, and the same for
 * admins. The coordinator writes agents_dir/NAME.pub (admins_dir for
 * admins) or removes it, then reloads its trusted keys from the two
 * directories, as SIGHUP does for them; the key ring is the one ZAP and
 * the signature checks use, so a removed key's next connection and next
 * message are refused.
 */
#ifndef BC_COORD_ENROL_H
#define BC_COORD_ENROL_H

#include <stddef.h>

#include "coordinator/arena.h"
#include "coordinator/coord.h"

/*
 * Carry out an enrolment request (rq->cmd_case ENROL_ADD, ENROL_REMOVE
 * or ENROL_LIST) of the admin `from` into r (objects in ar). Returns 0,
 * or -1 with a one-line error in err and nothing changed. add and remove
 * replace c->ring: `from` and every other pointer into the old ring are
 * invalid after the call (callers copy what they need before).
 */
int bc_coord_enrol(struct bc_coord *c, const struct bc_peer *from,
		   const Bancluster__AdminReq *rq, Bancluster__AdminReply *r,
		   struct bc_arena *ar, char *err, size_t errlen);

/*
 * Make ring (fully loaded, roles set) the coordinator's trusted keys:
 * allowed types set, and every key that stays (same name, same public
 * key) keeps its replay counters and state; a new or changed key starts
 * from the counters in the store. Takes ring's array (ring is left
 * empty). Returns 0, or -1 (out of memory: nothing changed, ring freed).
 */
int bc_coord_adopt_ring(struct bc_coord *c, struct bc_keyring *ring);

/*
 * Re-read agents_dir and admins_dir of the running configuration and
 * adopt them (bc_coord_adopt_ring). Returns 0, or -1 with the loader's
 * one-line error and the running keys kept.
 */
int bc_coord_reload_keys(struct bc_coord *c, char *err, size_t errlen);

/*
 * Cluster mode: make this coordinator's key directories hold what etcd
 * says of role_name ("agent" or "admin") NAME: key pk, or not enrolled
 * (pk NULL); a file with another key is replaced. Nothing to do: 0.
 * Returns 0, or -1 with a one-line reason and nothing changed (a bad
 * name, the key or name enrolled here otherwise, the directories not
 * loading with it).
 */
int bc_coord_enrol_apply(struct bc_coord *c, const char *role_name,
			 const char *name, const uint8_t *pk, char *err,
			 size_t errlen);

#endif
