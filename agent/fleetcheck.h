/*
 * fleetcheck.h - the agent's half of the fleet-set hash: read the fleet
 * sets back from the kernel through the firewall process and hash them
 * the way proto/fleethash.h says, and count how the kernel differs from
 * the ban map the agent applied.
 *
 * The read-back runs in pages (fw_remote.h: bc_fwr_page), one per turn of
 * the agent's loop, so updates and heartbeats go on while a large set is
 * read (a million elements cost the kernel tens of seconds: fw_nft.h).
 * What the agent writes to the fleet sets meanwhile is told to the check
 * (bc_fleetcheck_touch): those elements may be read before or after the
 * write and are left out of the comparison. A key the kernel's walk
 * missed while the set changed is looked up before it counts as missing.
 */
#ifndef BC_FLEETCHECK_H
#define BC_FLEETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/fw_remote.h"
#include "common/banmap.h"
#include "proto/fleethash.h"

/* Missing host keys looked up at most (the walk of a hash table the
 * kernel is growing misses a fifth of it); beyond, they count. */
#define BC_FLEETCHECK_LOOKUP_MAX 8192

struct bc_fleetcheck {
	int phase;                        /* 0 idle; 1 IPv4; 2 IPv6; 3 read */
	bool start;                       /* the next page opens the family */
	int64_t busy_ms;                  /* the signer's time in the pages */
	struct bc_fleethash_keys have;    /* as read, no cutoff applied yet */
	int64_t *exp;                     /* have's absolute expiries; 0 none */
	size_t expcap;
	struct bc_fleethash_keys touched; /* written while the check ran */
	int64_t now_ms;                   /* wall clock of the page being read */
};

/* Start a check (after aborting any). */
void bc_fleetcheck_begin(struct bc_fleetcheck *c);

static inline bool bc_fleetcheck_running(const struct bc_fleetcheck *c)
{
	return c->phase != 0;
}

/*
 * Read one page. 1 while pages remain, 0 once everything is read
 * (bc_fleetcheck_finish next), -1 with err (the check is abandoned).
 */
int bc_fleetcheck_step(struct bc_fleetcheck *c, struct bc_fwr *fw,
		       char *err, size_t errlen);

/* The fleet ops the agent just applied, while a check runs. */
void bc_fleetcheck_touch(struct bc_fleetcheck *c, const struct bc_fw_elem *ops,
			 size_t n);

/*
 * Compare what was read with the bans of want (at the moment of the
 * call), elements expiring before cutoff_ms left out on both sides, and
 * end the check. When the kernel agrees with want outside the touched
 * elements, out is want's hash (the touched ones were acknowledged by the
 * kernel); else it is the hash of what was read. 0, or -1 with err.
 */
int bc_fleetcheck_finish(struct bc_fleetcheck *c, struct bc_fwr *fw,
			 int64_t cutoff_ms, const struct bc_banmap *want,
			 struct bc_fleethash *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen);

/* Drop a check in progress (a resync rewrites the sets); frees all. */
void bc_fleetcheck_abort(struct bc_fleetcheck *c);

#endif
