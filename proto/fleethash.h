/*
 * fleethash.h - the fleet-set hash: a contract the agent and the
 * coordinator compute the same way, so `audit fleet` can tell in_sync,
 * lagging and drifted agents apart without moving the sets.
 *
 * The agent hashes what it reads back from the kernel (agent/fleetcheck.c)
 * and what its applied ban map says the kernel must hold; the coordinator
 * hashes its own ban map (coordinator/audit.c). The elements are every
 * element of the fleet sets - fleet4 and fleet4_nets, fleet6 and
 * fleet6_nets - as the kernel holds them, and on the expected side
 * bc_interval_all() of the ban map: one element per host ban, the prefix
 * bans flattened into disjoint ranges. A host element is [a, a] and a
 * range is never a single address (a prefix shorter than /32 or /128 and
 * its pieces span two or more), so the two sets' elements need no tag.
 * An element is hashed as (family, first, last) only: kernel timeouts
 * drift by milliseconds. Elements expiring before `cutoff_ms` (absolute,
 * chosen by the agent and sent in its heartbeat) are left out on both
 * sides, so a ban that is about to time out does not make a false alarm.
 * The hash is BLAKE2b (libsodium's generichash) of the sorted keys.
 *
 * Inputs are each side's own state (ban map, kernel read-back); the hash
 * travels in a signed heartbeat. A key list owns its array
 * (bc_fleethash_keys_free); out of memory sets its oom flag and the
 * calls that build it return -1. Nothing prints.
 */
#ifndef BC_FLEETHASH_H
#define BC_FLEETHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/banmap.h"
#include "common/interval.h"

#define BC_FLEETHASH_LEN 16
#define BC_FLEETHASH_MARGIN_MS 2000 /* cutoff = now + this */

struct bc_fleethash {
	uint8_t hash[BC_FLEETHASH_LEN];
	size_t count;
};

/* One hashed element, and a growing list of them. */
struct bc_fleethash_key {
	uint8_t family;
	uint8_t first[16];
	uint8_t last[16];
};

struct bc_fleethash_keys {
	struct bc_fleethash_key *v;
	size_t n, cap;
	int oom;           /* an add failed: the list is incomplete */
	int64_t cutoff_ms; /* elements expiring at or before are left out */
};

/* Add e, which expires at abs_exp (absolute ms; 0 = never), unless it
 * expires before k->cutoff_ms. Sets k->oom on memory exhaustion. */
void bc_fleethash_add(struct bc_fleethash_keys *k, const struct bc_fw_elem *e,
		      int64_t abs_exp);

/* The keys the bans of m make (absolute expiries), added to k. 0 or -1. */
int bc_fleethash_expected_keys(const struct bc_banmap *m,
			       struct bc_fleethash_keys *k);

/* Sort k (as final does). */
void bc_fleethash_sort(struct bc_fleethash_keys *k);

/* Sort k and hash it into out. */
void bc_fleethash_final(struct bc_fleethash_keys *k, struct bc_fleethash *out);

/* Hash of the elements the bans of m make. 0, or -1 out of memory. */
int bc_fleethash_expected(const struct bc_banmap *m, int64_t cutoff_ms,
			  struct bc_fleethash *out);

/* Order of keys (memcmp of the whole key), as sort and diff use it. */
int bc_fleethash_key_cmp(const void *x, const void *y);

/* Of two sorted lists, in order: each key of have not in want (extra
 * true) and each key of want not in have (extra false), to cb. */
void bc_fleethash_diff_each(const struct bc_fleethash_keys *have,
			    const struct bc_fleethash_keys *want,
			    void (*cb)(const struct bc_fleethash_key *k,
				       bool extra, void *arg),
			    void *arg);

/* Of two sorted lists: keys of want missing from have, keys of have not
 * in want. */
void bc_fleethash_diff(const struct bc_fleethash_keys *have,
		       const struct bc_fleethash_keys *want, size_t *missing,
		       size_t *extra);

void bc_fleethash_keys_free(struct bc_fleethash_keys *k);

#endif
