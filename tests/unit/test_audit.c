/*
 * test_audit.c - `audit fleet` (coordinator/audit.c, bc_coord_audit) and
 * the reply arena (coordinator/arena.c). Out of memory in the middle of
 * the agent list is an error with "out of memory" and no agents, never
 * success with a shorter list (before the fix: 0 and one agent of two).
 * The arena's limit makes allocation number limit + 1 fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "coordinator/admin.h"
#include "coordinator/arena.h"
#include "tap.h"

static void add_peer(struct bc_keyring *ring, const char *name, int role)
{
	struct bc_peer p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.role = role;
	bc_keyring_add(ring, &p);
}

int main(void)
{
	struct bc_coord *c = calloc(1, sizeof(*c));
	Bancluster__AdminReply r;
	struct bc_arena ar = {0};
	char err[128];
	size_t lim;
	int rc;

	if (c == NULL)
		return 1;
	add_peer(&c->ring, "mx1", BC_ROLE_AGENT);
	add_peer(&c->ring, "admin", BC_ROLE_ADMIN);
	add_peer(&c->ring, "mx2", BC_ROLE_AGENT);
	c->peer_state = calloc(c->ring.n, sizeof(*c->peer_state));
	if (c->ring.n != 3 || c->peer_state == NULL)
		return 1;
	c->epoch = 7;
	c->seq = 3;
	c->peer_state[0].last_seen_ms = bc_now_ms(); /* mx1 heard just now */
	c->peer_state[0].epoch = 7;
	c->peer_state[0].seq = 2;

	/* enough memory: both agents, the admin left out */
	bancluster__admin_reply__init(&r);
	err[0] = '\0';
	rc = bc_coord_audit(c, &r, &ar, err, sizeof(err));
	CHECK(rc == 0 && err[0] == '\0', "audit: 0, no error (%d, %s)", rc, err);
	CHECK(r.n_agents == 2 && strcmp(r.agents[0]->id, "mx1") == 0 &&
		      strcmp(r.agents[1]->id, "mx2") == 0,
	      "two agents, in key order (%zu)", r.n_agents);
	CHECK(r.n_agents == 2 && strcmp(r.agents[0]->audit, "lagging") == 0 &&
		      strcmp(r.agents[1]->audit, "offline") == 0,
	      "mx1 lagging (seq 2 of 3), mx2 offline (never heard)");
	bc_arena_free(&ar);

	/* the list (1), mx1 (2), mx2 (3): any of them failing is an error */
	for (lim = 1; lim <= 3; lim++) {
		memset(&ar, 0, sizeof(ar));
		ar.limit = lim;
		bancluster__admin_reply__init(&r);
		err[0] = '\0';
		rc = bc_coord_audit(c, &r, &ar, err, sizeof(err));
		if (lim < 3)
			CHECK(rc == -1 && strcmp(err, "out of memory") == 0 && r.n_agents == 0,
			      "allocation %zu fails: -1, \"out of memory\", no agents "
			      "(rc %d, err \"%s\", %zu agents)", lim + 1, rc, err, r.n_agents);
		else
			CHECK(rc == 0 && r.n_agents == 2,
			      "three allocations granted: the whole list (rc %d, %zu agents)",
			      rc, r.n_agents);
		bc_arena_free(&ar);
	}

	/* the arena itself */
	memset(&ar, 0, sizeof(ar));
	ar.limit = 2;
	CHECK(bc_arena_alloc(&ar, 8) != NULL && bc_arena_strdup(&ar, "x") != NULL && !ar.oom,
	      "arena: two allocations granted");
	CHECK(bc_arena_alloc(&ar, 8) == NULL && ar.oom, "arena: the third fails, oom set");
	bc_arena_free(&ar);
	CHECK(ar.n == 0 && ar.limit == 0 && !ar.oom, "arena_free: empty again");

	bc_keyring_free(&c->ring);
	free(c->peer_state);
	free(c);
	return tap_done();
}
