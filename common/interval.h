/*
 * interval.h - turn a set of (possibly nested) bans into the elements of
 * the kernel sets (agent/fw_nft.h), and compute the smallest element
 * changes for one ban added or removed.
 *
 * A host ban (/32, /128) is one element of its own, [a, a], with its own
 * timeout: fw_nft puts it in the hash set, where adding or removing it
 * costs the same whatever else is banned. Prefix bans go to the _nets
 * interval set, which needs disjoint elements. CIDR bans are laminar: two
 * prefixes are disjoint or one contains the other. Of the prefixes, each
 * address gets the latest expiry of the prefixes that cover it, so when
 * an outer ban expires in the kernel an inner, longer one stays. A host
 * inside a banned prefix is in both sets, each with its own timeout, so
 * nothing is flattened across the two: every ban the map holds is in the
 * kernel until its own expiry. An update of a prefix only recomputes the
 * region of its outermost covering prefix.
 *
 * The same flattening serves the firewall process (agent/fw_nft.h's
 * bc_fw_replace), whose ranges may overlap in any way: see
 * bc_interval_disjoint. Nothing here prints; memory exhaustion is the one
 * failure, returned as -1.
 */
#ifndef BC_INTERVAL_H
#define BC_INTERVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/banmap.h"

enum bc_fw_set {
	BC_FW_FLEET = 0, /* fleet4 / fleet6: mirror of the coordinator */
	BC_FW_LOCAL = 1, /* local4 / local6: this agent's own bans */
};

enum bc_fw_op {
	BC_FW_ADD = 1,
	BC_FW_DEL = 2,
};

/* One element: an address (first == last) or a range; fixed size so it
 * can cross a socketpair as is. */
struct bc_fw_elem {
	uint8_t op;      /* enum bc_fw_op */
	uint8_t set;     /* enum bc_fw_set */
	uint8_t family;  /* AF_INET or AF_INET6 */
	uint8_t pad[5];
	uint64_t timeout_ms; /* ADD: kernel timeout; 0 = none (permanent) */
	uint8_t first[16];   /* first address, network order (v4: 4 bytes) */
	uint8_t last[16];    /* last address, inclusive */
};

struct bc_interval_ops {
	struct bc_fw_elem *v;
	size_t n;
	size_t cap;
};

/*
 * Apply one change to m (put b, or remove b->addr when remove) and append
 * to ops the DEL and ADD elements that take the kernel set `set` from the
 * old content to the new one. Element timeouts are relative to now_ms.
 * Returns 0, or -1 on memory exhaustion (m unchanged).
 */
int bc_interval_change(struct bc_banmap *m, const struct bc_ban *b, int remove,
		     int64_t now_ms, enum bc_fw_set set, struct bc_interval_ops *ops);

/* Every element for the whole map (all ADD), for an atomic replace:
 * per family (IPv4 first) the prefix pieces in ascending order, then the
 * hosts in ascending order. */
int bc_interval_all(const struct bc_banmap *m, int64_t now_ms,
		  enum bc_fw_set set, struct bc_interval_ops *ops);

/*
 * The ranges (first < last) of `family` among v[0..n), which may overlap
 * in any way, cut into disjoint ones, each with the longest timeout of
 * the records that cover it (timeout_ms 0 = none outlasts every finite
 * one); neighbouring pieces of equal timeout become one when they come
 * from ranges that overlap (directly or through others), never when
 * their ranges only touch: disjoint input comes out as it went in, so a
 * replace puts in the kernel exactly the elements later changes of
 * bc_interval_change delete. Appended to ops as ADD
 * records of `set`, in ascending order. Records of the other family and
 * single addresses are left out (they go to the hash set, an element
 * each). Timeouts of 2^63 ms or more count as 2^63 - 1 ms (a kernel
 * refuses them either way). Returns 0, or -1 on memory exhaustion.
 */
int bc_interval_disjoint(const struct bc_fw_elem *v, size_t n, int family,
			 enum bc_fw_set set, struct bc_interval_ops *ops);

/* Big-endian address arithmetic on len bytes (4 or 16), for the
 * kernel's interval ends: a + 1 (all ones wraps to zero), a - 1 (a must
 * not be zero), and whether a is all ones. */
void bc_interval_addr_inc(uint8_t *a, size_t len);
void bc_interval_addr_dec(uint8_t *a, size_t len);
bool bc_interval_addr_is_max(const uint8_t *a, size_t len);

void bc_interval_ops_free(struct bc_interval_ops *ops);

#endif
