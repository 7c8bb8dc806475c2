/*
 * fleetcheck.h - compare the kernel's fleet sets with the bans they must
 * hold, as one hash. The agent hashes what it reads back from the kernel
 * (bc_fw_dump) and what its applied ban map says the kernel must hold;
 * the coordinator hashes its own ban map the same way, so `audit fleet`
 * can tell in_sync, lagging and drifted agents apart.
 *
 * The kernel side is every element of the fleet sets - fleet4 and
 * fleet4_nets, fleet6 and fleet6_nets - as bc_fw_dump returns them; the
 * expected side is bc_banset_all() of the ban map: one element per host
 * ban, the prefix bans flattened into disjoint ranges. A host element is
 * [a, a] and a range is never a single address (a prefix shorter than
 * /32 or /128 and its pieces span two or more), so the two sets' elements
 * need no tag. An element is hashed as (family, first, last) only: kernel
 * timeouts drift by milliseconds. Elements expiring before `cutoff_ms`
 * (absolute, chosen by the agent) are left out on both sides, so a ban
 * that is about to time out does not make a false alarm. The coordinator
 * (coordinator/audit.c) calls bc_fleetcheck_expected() itself, so both
 * ends always hash the same way.
 */
#ifndef BC_FLEETCHECK_H
#define BC_FLEETCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "agent/fw_nft.h"
#include "agent/fw_remote.h"
#include "common/banmap.h"

#define BC_FLEETCHECK_HASH 16
#define BC_FLEETCHECK_MARGIN_MS 2000

struct bc_fleetcheck {
	uint8_t hash[BC_FLEETCHECK_HASH];
	size_t count;
};

/* Hash of the elements the bans of m make (absolute expiries). */
int bc_fleetcheck_expected(const struct bc_banmap *m, int64_t cutoff_ms,
			   struct bc_fleetcheck *out);

/*
 * Hash of the fleet sets as the kernel holds them at now_ms, and the
 * number of elements expected by `want` that are missing or unexpected
 * (want may be NULL: counts then stay 0).
 */
int bc_fleetcheck_kernel(struct bc_fwr *fw, int64_t now_ms, int64_t cutoff_ms,
			 const struct bc_banmap *want,
			 struct bc_fleetcheck *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen);

#endif
