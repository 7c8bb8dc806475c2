/*
 * banset.h - turn a set of (possibly nested) bans into the elements of
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
 */
#ifndef BC_BANSET_H
#define BC_BANSET_H

#include <stddef.h>
#include <stdint.h>

#include "agent/fw_nft.h"
#include "common/banmap.h"

struct bc_fw_ops {
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
int bc_banset_change(struct bc_banmap *m, const struct bc_ban *b, int remove,
		     int64_t now_ms, enum bc_fw_set set, struct bc_fw_ops *ops);

/* Every element for the whole map (all ADD), for an atomic replace:
 * per family (IPv4 first) the prefix pieces in ascending order, then the
 * hosts in ascending order. */
int bc_banset_all(const struct bc_banmap *m, int64_t now_ms,
		  enum bc_fw_set set, struct bc_fw_ops *ops);

void bc_fw_ops_free(struct bc_fw_ops *ops);

#endif
