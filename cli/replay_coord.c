/*
 * replay_coord.c - `replay --config coordinator.ini`: the coordinator's
 * own loader and policy builder, so replay runs the [policy] the
 * coordinator would (replay_site.h). The file is the admin's, not
 * attacker text; errors are the loader's "FILE:LINE: ..." lines.
 */
#include "cli/replay_site.h"

#include <stdio.h>
#include <stdlib.h>

#include "conf/coordinator.h"

int bc_replay_site_coord(struct bc_replay_site *s, struct bc_policy_cfg *pc,
			 char *err, size_t errlen)
{
	struct bc_coord_cfg *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (bc_coord_load_config(c, s->path, err, errlen) < 0) {
		bc_coord_free_config(c);
		free(c);
		return -1;
	}
	s->coord = c;
	bc_coord_policy_cfg(c, pc);
	s->bantime_s = c->bantime;
	s->factor = c->bantime_factor;
	s->bantime_max_s = c->bantime_max;
	s->recidive_ms = c->recidive_window * 1000;
	s->overlap = true; /* as the coordinator's rule_ban */
	return 0;
}

void bc_replay_site_coord_free(struct bc_replay_site *s)
{
	if (s->coord != NULL) {
		bc_coord_free_config(s->coord);
		free(s->coord);
		s->coord = NULL;
	}
}
