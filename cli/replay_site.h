/*
 * replay_site.h - the policy `bancluster replay` runs: the coordinator's
 * defaults, or a site's coordinator.ini or agent.ini (--config). Internal
 * to cli/replay*.c.
 *
 * The coordinator's half lives in replay_coord.c: coordinator/coord.h and
 * agent/agent.h cannot be included in one file (both name a
 * bc_agent_state).
 */
#ifndef BC_REPLAY_SITE_H
#define BC_REPLAY_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/policy.h"

enum bc_replay_role {
	BC_REPLAY_DEFAULT,     /* no --config: the coordinator's defaults */
	BC_REPLAY_COORDINATOR, /* coordinator.ini [policy] */
	BC_REPLAY_AGENT,       /* agent.ini [local] */
};

/* What a ban costs and who may be banned. */
struct bc_replay_site {
	enum bc_replay_role role;
	const char *path;           /* --config, NULL for the defaults */
	int64_t bantime_s, bantime_max_s, recidive_ms;
	double factor;
	unsigned min_hosts;
	bool overlap;               /* no ban of a key overlapping allow */
	const struct bc_addr_list *allow;
	const struct bc_addr_list *nat64;
	void *coord;                /* loaded struct bc_coord_cfg, owned */
	void *agent;                /* loaded struct bc_agent_cfg, owned */
};

/*
 * Load s->path as a coordinator.ini (bc_coord_load_config, allow_file
 * included) into s and its policy into *pc (bc_coord_policy_cfg).
 * Returns 0, or -1 with the loader's one-line message in err.
 */
int bc_replay_site_coord(struct bc_replay_site *s, struct bc_policy_cfg *pc,
			 char *err, size_t errlen);

/* Free what bc_replay_site_coord loaded (safe when nothing was). */
void bc_replay_site_coord_free(struct bc_replay_site *s);

#endif
