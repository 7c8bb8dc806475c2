/*
 * audit.c - `bancluster audit fleet`: compare what each agent read back
 * from its kernel with the coordinator's own bans at the same sequence.
 *
 * Inputs: each agent's last heartbeat (verified at intake, but the
 * agent's word: its kernel count and fleet hash) and the coordinator's
 * ban table. An agent is offline (not heard within
 * BC_COORD_AGENT_TTL_MS), lagging (another epoch or sequence, or no hash
 * of this sequence), drifted (its kernel's hash differs from the one
 * computed here, proto/fleethash.c) or in_sync. The reply's objects live
 * in the caller's arena; out of memory is an error (-1 + err), never a
 * shorter list.
 */
#include <stdio.h>
#include <string.h>

#include "proto/fleethash.h"
#include "common/clock.h"
#include "coordinator/arena.h"
#include "coordinator/admin.h"
#include "coordinator/localbans.h"

int bc_coord_audit(struct bc_coord *c, Bancluster__AdminReply *r,
		   struct bc_arena *ar, char *err, size_t errlen)
{
	Bancluster__AgentStatus **v;
	int64_t now = bc_now_ms();
	size_t i, n = 0;

	v = bc_arena_alloc(ar, (c->ring.n + 1) * sizeof(*v));
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->ring.n; i++) {
		const struct bc_agent_state *st = &c->peer_state[i];
		Bancluster__AgentStatus *a;
		const char *verdict;
		struct bc_fleethash want;

		if (c->ring.v[i].role != BC_ROLE_AGENT)
			continue;
		a = bc_arena_alloc(ar, sizeof(*a));
		if (a == NULL) { /* no partial list: the admin gets the error */
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		bancluster__agent_status__init(a);
		a->id = c->ring.v[i].name;
		a->last_seen_ms = st->last_seen_ms;
		a->connected = st->last_seen_ms != 0 &&
			       now - st->last_seen_ms < BC_COORD_AGENT_TTL_MS;
		a->applied_epoch = st->epoch;
		a->applied_seq = st->seq;
		a->fleet_count = st->fleet_count;
		a->kernel_count = st->kernel_count;
		a->repairs = st->repairs;
		bc_coord_local_status(c, i, a); /* its local bans, lifts pending */
		if (!a->connected)
			verdict = "offline";
		else if (st->epoch != c->epoch || st->seq != c->seq ||
			 !st->hash_valid || st->hash_seq != c->seq)
			verdict = "lagging";
		else if (bc_fleethash_expected(&c->bans, st->hash_cutoff_ms,
						&want) < 0)
			verdict = "lagging";
		else if (memcmp(want.hash, st->hash, sizeof(st->hash)) != 0)
			verdict = "drifted";
		else
			verdict = "in_sync";
		a->audit = (char *)verdict;
		v[n++] = a;
	}
	r->agents = v;
	r->n_agents = n;
	r->total = c->bans.n;
	return 0;
}
