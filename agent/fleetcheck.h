/*
 * fleetcheck.h - the agent's half of the fleet-set hash: read the fleet
 * sets back from the kernel through the firewall process and hash them
 * the way proto/fleethash.h says, and count how the kernel differs from
 * the ban map the agent applied.
 */
#ifndef BC_FLEETCHECK_H
#define BC_FLEETCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "agent/fw_remote.h"
#include "common/banmap.h"
#include "proto/fleethash.h"

/*
 * Hash of the fleet sets as the kernel holds them at now_ms, and the
 * number of elements expected by `want` that are missing or unexpected
 * (want may be NULL: counts then stay 0). 0, or -1 with err.
 */
int bc_fleetcheck_kernel(struct bc_fwr *fw, int64_t now_ms, int64_t cutoff_ms,
			 const struct bc_banmap *want,
			 struct bc_fleethash *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen);

#endif
