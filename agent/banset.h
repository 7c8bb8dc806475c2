/*
 * banset.h - turn a set of (possibly nested) prefix bans into the
 * disjoint interval elements that nftables interval sets require, and
 * compute the smallest element changes for one ban added or removed.
 *
 * CIDR bans are laminar: two prefixes are disjoint or one contains the
 * other. Each address gets the latest expiry of the bans that cover it,
 * so when an outer ban expires in the kernel an inner, longer one stays.
 * An update only recomputes the region of its outermost covering ban.
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

/* Every element for the whole map (all ADD), for an atomic replace. */
int bc_banset_all(const struct bc_banmap *m, int64_t now_ms,
		  enum bc_fw_set set, struct bc_fw_ops *ops);

void bc_fw_ops_free(struct bc_fw_ops *ops);

#endif
