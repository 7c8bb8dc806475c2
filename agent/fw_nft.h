/*
 * fw_nft.h - the firewall writer: the only code that talks to nftables.
 *
 * Owns `table inet bancluster`: for each of fleet4, fleet6, local4 and
 * local6 a hash set of that name (flags timeout) holding single addresses
 * and an interval set NAME_nets (flags interval,timeout) holding wider
 * ranges, and chain input dropping sources found in any of the eight on
 * the protected ports. Callers see one set per name and family: a record
 * whose first and last address are equal goes to the hash set, any other
 * to the _nets set. Elements are written through libnftnl netlink
 * batches, one transaction per call, every ack read and matched to its
 * request.
 *
 * Narrow interface on purpose (open, apply, replace, dump, close): the
 * agent runs this module in its firewall process alone, the one holding
 * CAP_NET_ADMIN (agent/fw_remote.h), fed over a socketpair with the
 * fixed-size struct bc_fw_elem records of common/interval.h; the signer
 * calls it through bc_fwr_*. Its files are listed in fw_nft_priv.h.
 * Nothing here prints or exits; errors come back as -1 plus a one-line
 * message.
 */
#ifndef BC_FW_NFT_H
#define BC_FW_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "common/interval.h"

#define BC_FW_TABLE "bancluster"
#define BC_FW_MAX_PORTS 64

struct bc_fw_config {
	int all_ports;                    /* 1: drop every port */
	uint16_t ports[BC_FW_MAX_PORTS];  /* protected TCP ports */
	size_t nports;
};

struct bc_fw;

/*
 * Open a netlink socket and create the table, the eight sets and the input
 * chain idempotently (existing elements are kept; the chain's rules are
 * replaced so that the port list follows the config). Touches no other
 * table. A table in the old layout (fleet4 etc. as interval sets), or any
 * set of ours of another type, is replaced in the same one transaction:
 * its elements move to the new sets with their remaining timeouts, and no
 * packet sees a moment without them. Returns NULL and fills err on
 * failure. Caller owns the result.
 */
struct bc_fw *bc_fw_open(const struct bc_fw_config *cfg, char *err,
			 size_t errlen);

/* How many elements bc_fw_open() moved out of the old layout, or -1 when
 * it found none to replace (for the agent's log). */
long bc_fw_migrated(const struct bc_fw *fw);

/*
 * Apply n ADD/DEL records in one transaction, in order. A DEL of an element
 * that is no longer there (it timed out in the kernel) is not an error:
 * the failing request is identified from its ack and the transaction is
 * retried without it. Returns 0 or -1 (nothing applied).
 *
 * Runs of ADDs to the same kernel set share requests; each DEL is a
 * request of its own. Re-adding an identical element is not an error (no
 * NLM_F_EXCL); older kernels keep its old timeout, recent ones (6.18
 * here) take the new one, so to change a timeout everywhere DEL then ADD
 * in the same call, as common/interval.h does. A host inside a range already in the _nets set is no
 * conflict (they are different sets), but the kernel refuses a range
 * that partly overlaps or contains one already in _nets (EEXIST): the
 * call then fails and err names the op. A call that touches only hash
 * sets costs the same whatever they hold; one that touches a _nets set
 * pays for the whole _nets set at commit: group a burst into one call.
 */
int bc_fw_apply(struct bc_fw *fw, const struct bc_fw_elem *ops, size_t n,
		char *err, size_t errlen);

/*
 * Atomically replace the four kernel sets of `set` (v4 and v6, hosts and
 * _nets) with elems (all ADD): one transaction that flushes them and adds
 * every element, in paged batches, so 1 000 000 elements go in at once.
 * Of equal hosts one element is kept; overlapping ranges are cut into
 * disjoint intervals first, each piece keeping the longest timeout that
 * covers it (0 = none counts as longest). Returns 0 or -1.
 */
int bc_fw_replace(struct bc_fw *fw, enum bc_fw_set set,
		  const struct bc_fw_elem *elems, size_t n, char *err,
		  size_t errlen);

/*
 * Read back the elements of one set name and family (set + AF_INET or
 * AF_INET6: the hash set and its _nets set) with set-element dumps, never
 * by running nft. Calls cb once per element, in ascending order of first,
 * then last address, with op = BC_FW_ADD and timeout_ms = remaining time
 * (0 if none); a host inside a range comes out as both. Returns the
 * number of elements or -1.
 */
typedef void (*bc_fw_dump_cb)(const struct bc_fw_elem *e, void *arg);
long bc_fw_dump(struct bc_fw *fw, enum bc_fw_set set, int family,
		bc_fw_dump_cb cb, void *arg, char *err, size_t errlen);

/*
 * The same read-back in pages, on a netlink socket of its own, so the
 * writer can apply transactions between pages. A hash set's dump costs
 * the kernel a walk of the set from its start for every reply it fills
 * (nft_set_hash skips what it sent before): read at once, a million
 * elements take it tens of seconds. bc_fw_pager_next() reads replies
 * until `budget_ms` has passed (at least one), gives their elements to cb
 * unsorted, and returns 1 while more follow, 0 after the last page (the
 * _nets set comes whole in that one), -1 on error. A key may come twice
 * or be missed when the set changes between pages: callers compare
 * modulo what they changed, and look a missed key up (bc_fw_lookup).
 */
struct bc_fw_pager;
struct bc_fw_pager *bc_fw_pager_open(struct bc_fw *fw, enum bc_fw_set set,
				     int family, char *err, size_t errlen);
int bc_fw_pager_next(struct bc_fw_pager *p, int budget_ms, bc_fw_dump_cb cb,
		     void *arg, char *err, size_t errlen);
void bc_fw_pager_close(struct bc_fw_pager **p);

/*
 * Look the single addresses e[0..n) (first == last; others are skipped)
 * up in the hash set of `set` and their family, one request each: cb gets
 * each one the kernel holds. Returns how many it holds, or -1.
 */
long bc_fw_lookup(struct bc_fw *fw, enum bc_fw_set set,
		  const struct bc_fw_elem *e, size_t n, bc_fw_dump_cb cb,
		  void *arg, char *err, size_t errlen);

/* Close the socket; the table and its elements stay in the kernel. */
void bc_fw_close(struct bc_fw **fw);

#endif
