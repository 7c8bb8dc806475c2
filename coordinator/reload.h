/*
 * reload.h - SIGHUP (reload.c): the policy, allow lists, hooks and
 * trusted keys re-read while bans, counts and replay counters stay.
 */
#ifndef BC_COORD_RELOAD_H
#define BC_COORD_RELOAD_H

#include "coordinator/coord.h"

/* Which message types each key may sign: admins ADMIN_REQ, agents
 * REPORT, HEARTBEAT and SNAPSHOT_REQ. */
void bc_coord_set_allowed_types(struct bc_keyring *ring);

/* Re-read cfgpath. A file that does not load or check leaves the running
 * configuration in place (logged); so does a webhook that cannot start. */
void bc_coord_reload(struct bc_coord *c, const char *cfgpath);

#endif
