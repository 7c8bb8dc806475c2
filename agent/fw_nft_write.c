/*
 * fw_nft_write.c - the firewall writer's element changes (fw_nft.h):
 * bc_fw_apply (ADD/DEL records in order, one transaction) and
 * bc_fw_replace (a set name's four kernel sets flushed and refilled in
 * one transaction).
 *
 * Set-element requests are written straight into the batch pages (struct
 * elw), not built from one libnftnl object per element: at a million
 * elements the allocations cost more than the kernel's work.
 *
 * Interval sets: [first, last] is a start element (key first, carrying the
 * timeout) plus an end element (key last + 1, flag INTERVAL_END, no
 * timeout); when last is the all-ones address there is no end element,
 * as nftables does it. The kernel rejects overlapping intervals, so
 * bc_fw_replace() first cuts its ranges into disjoint pieces (the one
 * flattening, common/interval.h: bc_interval_disjoint), each with
 * the longest timeout that covers it. (Verified on 6.18: a timeout on an
 * interval-end element is refused with EINVAL.)
 *
 * Inputs: the caller's records, checked (op, set, family, first <= last)
 * before anything is built. Errors: -1 with one line in err naming the
 * op and set where the kernel's ack allows; nothing prints or exits.
 */
#include "agent/fw_nft_priv.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>

#include <linux/netlink.h>

#include "common/interval.h"

/* "a" or "a-b" for error messages. */
static void fmt_range(char *buf, size_t len, int family, const uint8_t *first,
		      const uint8_t *last)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (inet_ntop(family, first, a, sizeof a) == NULL ||
	    inet_ntop(family, last, b, sizeof b) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (memcmp(first, last, fam_len(family)) == 0)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s-%s", a, b);
}

/* Check one record; `add_only` for bc_fw_replace. */
static int check_elem(const struct bc_fw_elem *e, size_t i, bool add_only,
		      char *err, size_t errlen)
{
	if (e->op != BC_FW_ADD && (add_only || e->op != BC_FW_DEL)) {
		seterr(err, errlen, "fw: record %zu: bad op %u", i, e->op);
		return -1;
	}
	if (e->set != BC_FW_FLEET && e->set != BC_FW_LOCAL) {
		seterr(err, errlen, "fw: record %zu: bad set %u", i, e->set);
		return -1;
	}
	if (e->family != AF_INET && e->family != AF_INET6) {
		seterr(err, errlen, "fw: record %zu: bad family %u", i,
		       e->family);
		return -1;
	}
	if (memcmp(e->first, e->last, fam_len(e->family)) > 0) {
		seterr(err, errlen, "fw: record %zu: first > last", i);
		return -1;
	}
	return 0;
}

/*
 * Element writer: NEWSETELEM / DELSETELEM requests for one kernel set
 * written straight into the batch pages, as many requests as the 64 KiB
 * nest limit needs, each with the same msg_ref. No libnftnl object per
 * element: a million elements cost a million small copies, not a million
 * allocations. Nothing else may be added to the batch between the first
 * elw_key() and elw_close().
 */
struct elw {
	struct bc_fw *fw;
	struct txn *t;
	uint16_t type;
	struct msg_ref ref;
	const char *name;
	struct nlmsghdr *nlh; /* request being written, or NULL */
	struct nlattr *list;  /* its NFTA_SET_ELEM_LIST_ELEMENTS nest */
};

static void elw_init(struct elw *w, struct bc_fw *fw, struct txn *t,
		     uint16_t type, const struct msg_ref *ref)
{
	memset(w, 0, sizeof *w);
	w->fw = fw;
	w->t = t;
	w->type = type;
	w->ref = *ref;
	w->name = set_name(ref->set, ref->family, ref->skind);
}

/* End the request being written (if any) and account it in the batch. */
static int elw_close(struct elw *w)
{
	if (w->nlh == NULL)
		return 0;
	mnl_attr_nest_end(w->nlh, w->list);
	w->nlh = NULL;
	return nftnl_batch_update(w->t->b);
}

/* One element: key, optional timeout, optional flags. 0 or -1. */
static int elw_key(struct elw *w, const uint8_t *key, size_t len,
		   uint64_t timeout_ms, uint32_t flags)
{
	struct nlattr *e, *k;

	if (w->nlh != NULL &&
	    w->nlh->nlmsg_len + ELEM_MAX_SIZE > ELEM_MSG_MAX &&
	    elw_close(w) < 0)
		return -1;
	if (w->nlh == NULL) {
		w->nlh = bc_fwn_txn_msg(w->fw, w->t, w->type,
				 w->type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE
							       : 0,
				 &w->ref);
		if (w->nlh == NULL)
			return -1;
		put_set_name(w->nlh, w->name);
		w->list = mnl_attr_nest_start(w->nlh,
					      NFTA_SET_ELEM_LIST_ELEMENTS);
	}
	e = mnl_attr_nest_start(w->nlh, NFTA_LIST_ELEM);
	k = mnl_attr_nest_start(w->nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(w->nlh, NFTA_DATA_VALUE, len, key);
	mnl_attr_nest_end(w->nlh, k);
	if (timeout_ms != 0)
		mnl_attr_put_u64(w->nlh, NFTA_SET_ELEM_TIMEOUT,
				 htobe64(timeout_ms));
	if (flags != 0)
		mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
	mnl_attr_nest_end(w->nlh, e);
	return 0;
}

/*
 * The kernel elements for the interval [first, last]: the start key (with
 * the timeout, if any) and, unless last is all ones, the end key last + 1
 * flagged INTERVAL_END.
 */
static int put_interval(struct elw *w, int family, const uint8_t *first,
			const uint8_t *last, uint64_t timeout_ms)
{
	size_t len = fam_len(family);
	uint8_t end[16];

	if (elw_key(w, first, len, timeout_ms, 0) < 0)
		return -1;
	if (bc_interval_addr_is_max(last, len))
		return 0;
	memcpy(end, last, len);
	bc_interval_addr_inc(end, len);
	return elw_key(w, end, len, 0, NFT_SET_ELEM_INTERVAL_END);
}

/* [first, last] as the writer's set kind wants it. */
static int put_elem(struct elw *w, int family, const uint8_t *first,
		    const uint8_t *last, uint64_t timeout_ms)
{
	if (w->ref.skind == KIND_HOST)
		return elw_key(w, first, fam_len(family), timeout_ms, 0);
	return put_interval(w, family, first, last, timeout_ms);
}

/* ---- apply ------------------------------------------------------------ */

/*
 * Build the apply transaction from the ops not marked in skip. Runs of
 * ADDs to the same kernel set go in shared requests unless split_adds;
 * every DEL is a request of its own so that an ENOENT names exactly one
 * op. A record of one address goes to the hash set of its name, any
 * wider range to the _nets interval set.
 */
static int build_apply(struct bc_fw *fw, struct txn *t,
		       const struct bc_fw_elem *ops, size_t n,
		       const uint8_t *skip, bool split_adds)
{
	size_t i = 0;

	while (i < n) {
		const struct bc_fw_elem *e = &ops[i];
		int kind = elem_kind(e);
		struct msg_ref ref = {.set = e->set, .family = e->family,
				      .skind = (uint8_t)kind, .op = i};
		struct elw w;
		size_t j = i + 1;
		int rc = 0;

		if (skip[i]) {
			i++;
			continue;
		}
		/* the run of ADDs to this kernel set that share requests */
		for (; e->op == BC_FW_ADD && !split_adds && j < n; j++) {
			const struct bc_fw_elem *f = &ops[j];

			if (skip[j])
				continue;
			if (f->op != BC_FW_ADD || f->set != e->set ||
			    f->family != e->family || elem_kind(f) != kind)
				break;
		}
		ref.kind = e->op == BC_FW_DEL ? MSG_DEL : MSG_ADD;
		ref.op_end = j;
		elw_init(&w, fw, t,
			 e->op == BC_FW_DEL ? NFT_MSG_DELSETELEM
					    : NFT_MSG_NEWSETELEM,
			 &ref);
		for (size_t k = i; rc == 0 && k < j; k++)
			if (!skip[k])
				rc = put_elem(&w, ops[k].family, ops[k].first,
					      ops[k].last,
					      ops[k].op == BC_FW_DEL
						      ? 0
						      : ops[k].timeout_ms);
		if (rc < 0 || elw_close(&w) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* Describe the op(s) behind a failed request r in err. */
static void explain_op(char *err, size_t errlen, const struct bc_fw_elem *ops,
		       const struct msg_ref *r, int code)
{
	const struct bc_fw_elem *e = &ops[r->op];
	char range[ERRBUF_ADDR];

	fmt_range(range, sizeof range, e->family, e->first, e->last);
	if (r->op_end - r->op > 1)
		seterr(err, errlen, "fw: ops %zu..%zu (ADD to %s): %s", r->op,
		       r->op_end - 1, set_name(r->set, r->family, r->skind),
		       strerror(code));
	else
		seterr(err, errlen, "fw: op %zu (%s %s %s): %s%s", r->op,
		       e->op == BC_FW_ADD ? "ADD" : "DEL", range,
		       set_name(r->set, r->family, r->skind), strerror(code),
		       code == EEXIST && r->skind == KIND_NETS
			       ? " (overlaps an existing interval)"
			       : "");
}

/*
 * See fw_nft.h. Each round sends the whole transaction; DELs answered
 * ENOENT are dropped and a shared ADD request that failed is split so the
 * next round names the op, at most APPLY_MAX_RETRIES more rounds.
 */
int bc_fw_apply(struct bc_fw *fw, const struct bc_fw_elem *ops, size_t n,
		char *err, size_t errlen)
{
	bool split_adds = false;
	uint8_t *skip;
	int rc = -1;

	if (fw == NULL || (ops == NULL && n != 0) || n > MAX_ELEMS) {
		seterr(err, errlen, "fw: apply: bad arguments");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (check_elem(&ops[i], i, false, err, errlen) < 0)
			return -1;
	skip = calloc(n ? n : 1, 1);
	if (skip == NULL) {
		seterr(err, errlen, "fw: out of memory");
		return -1;
	}
	for (int round = 0; round <= APPLY_MAX_RETRIES; round++) {
		bool dropped = false, left = false, retry_split = false;
		struct ack_ctx a;
		struct txn t;

		for (size_t i = 0; i < n && !left; i++)
			left = !skip[i];
		if (!left) {
			rc = 0;
			break;
		}
		if (bc_fwn_txn_init(fw, &t) < 0 ||
		    build_apply(fw, &t, ops, n, skip, split_adds) < 0) {
			bc_fwn_txn_free(&t);
			seterr(err, errlen, "fw: out of memory building batch");
			break;
		}
		if (bc_fwn_txn_talk(fw, &t, &a, err, errlen) < 0) {
			bc_fwn_ack_free(&a);
			bc_fwn_txn_free(&t);
			break;
		}
		rc = 0;
		for (size_t k = 0; k < a.nerrs && rc == 0; k++) {
			const struct msg_ref *r = &t.refs[a.errs[k].ref];

			if (r->kind == MSG_DEL && a.errs[k].err == ENOENT) {
				skip[r->op] = 1; /* already gone: drop it */
				dropped = true;
			} else if (r->kind == MSG_ADD &&
				   r->op_end - r->op > 1 && !split_adds) {
				retry_split = true; /* find the one op */
			} else {
				explain_op(err, errlen, ops, r, a.errs[k].err);
				rc = -1;
			}
		}
		bc_fwn_ack_free(&a);
		bc_fwn_txn_free(&t);
		if (rc < 0)
			break;
		if (!dropped && !retry_split)
			break; /* committed */
		split_adds = split_adds || retry_split;
		rc = -1;
		seterr(err, errlen, "fw: apply: still failing after %d retries",
		       APPLY_MAX_RETRIES);
	}
	free(skip);
	return rc;
}

/* ---- replace ---------------------------------------------------------- */

/* Order of timeouts: 0 (permanent) outlasts every finite one. */
static uint64_t tkey(uint64_t timeout_ms)
{
	return timeout_ms == 0 ? UINT64_MAX : timeout_ms;
}

/*
 * The n ranges of sp into w, cut into disjoint pieces by the one
 * flattening (common/interval.h): the kernel refuses overlapping
 * intervals, and each piece keeps the longest timeout that covers it, so
 * a ban inside a banned /24 outlives the /24 if it is longer.
 */
static int put_disjoint(struct elw *w, int family, const struct span *sp,
			size_t n)
{
	struct bc_fw_elem *v = malloc((n ? n : 1) * sizeof *v);
	struct bc_interval_ops ops = {0};
	size_t len = fam_len(family);
	int rc = -1;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof v[i]);
		v[i].op = BC_FW_ADD;
		v[i].set = w->ref.set;
		v[i].family = (uint8_t)family;
		v[i].timeout_ms = sp[i].timeout_ms;
		memcpy(v[i].first, sp[i].first, len);
		memcpy(v[i].last, sp[i].last, len);
	}
	if (bc_interval_disjoint(v, n, family, (enum bc_fw_set)w->ref.set,
				 &ops) == 0) {
		rc = 0;
		for (size_t i = 0; i < ops.n && rc == 0; i++)
			rc = put_interval(w, family, ops.v[i].first,
					  ops.v[i].last, ops.v[i].timeout_ms);
	}
	bc_interval_ops_free(&ops);
	free(v);
	return rc;
}

/* qsort: hosts by address; of equal ones the longest timeout first. */
static int cmp_host(const void *x, const void *y)
{
	const struct span *a = x, *b = y;
	int c = memcmp(a->first, b->first, 16);
	uint64_t ta = tkey(a->timeout_ms), tb = tkey(b->timeout_ms);

	if (c != 0)
		return c;
	return (ta < tb) - (ta > tb);
}

/* Single addresses into s, one element each: duplicates keep the
 * longest timeout. sp is reordered. */
static int put_hosts(struct elw *w, int family, struct span *sp,
		     size_t n)
{
	size_t len = fam_len(family);
	bool sorted = true;

	/* bc_interval_all hands them over in order: skip the sort then */
	for (size_t i = 1; i < n && sorted; i++)
		sorted = cmp_host(&sp[i - 1], &sp[i]) <= 0;
	if (!sorted)
		qsort(sp, n, sizeof *sp, cmp_host);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && memcmp(sp[i - 1].first, sp[i].first, 16) == 0)
			continue;
		if (elw_key(w, sp[i].first, len, sp[i].timeout_ms, 0) < 0)
			return -1;
	}
	return 0;
}

/* DELSETELEM naming only the set: flush it, in this transaction. */
static int txn_flush(struct bc_fw *fw, struct txn *t, int set, int family,
		     int kind)
{
	struct msg_ref ref = {.kind = MSG_FLUSH, .set = (uint8_t)set,
			      .family = (uint8_t)family,
			      .skind = (uint8_t)kind};
	struct nlmsghdr *nlh =
		bc_fwn_txn_msg(fw, t, NFT_MSG_DELSETELEM, 0, &ref);

	if (nlh == NULL)
		return -1;
	put_set_name(nlh, set_name(set, family, kind));
	return nftnl_batch_update(t->b);
}

/*
 * Add the m spans of one set name and family to the (empty) kernel sets:
 * single addresses to the hash set, ranges cut into disjoint pieces to
 * the _nets set. sp is reordered.
 */
int bc_fwn_put_family(struct bc_fw *fw, struct txn *t, int set, int family,
		      struct span *sp, size_t m)
{
	size_t nh = 0, len = fam_len(family);

	/* hosts to the front, ranges behind them */
	for (size_t i = 0; i < m; i++) {
		if (memcmp(sp[i].first, sp[i].last, len) != 0)
			continue;
		if (i != nh) {
			struct span tmp = sp[nh];

			sp[nh] = sp[i];
			sp[i] = tmp;
		}
		nh++;
	}
	for (int kind = KIND_HOST; kind <= KIND_NETS; kind++) {
		struct msg_ref ref = {.kind = MSG_ADD, .set = (uint8_t)set,
				      .family = (uint8_t)family,
				      .skind = (uint8_t)kind};
		size_t cnt = kind == KIND_HOST ? nh : m - nh;
		struct elw w;
		int rc;

		if (cnt == 0)
			continue;
		elw_init(&w, fw, t, NFT_MSG_NEWSETELEM, &ref);
		rc = kind == KIND_HOST ? put_hosts(&w, family, sp, nh)
				       : put_disjoint(&w, family, sp + nh, cnt);
		if (rc < 0 || elw_close(&w) < 0)
			return -1;
	}
	return 0;
}

/* Copy a record's addresses into a span (unused tail bytes zero). */
static void to_span(struct span *sp, const struct bc_fw_elem *e)
{
	memset(sp, 0, sizeof *sp);
	memcpy(sp->first, e->first, fam_len(e->family));
	memcpy(sp->last, e->last, fam_len(e->family));
	sp->timeout_ms = e->timeout_ms;
}

/*
 * See fw_nft.h. Per family: flush both sets, then the hosts and the
 * disjoint pieces of the ranges in as many NEWSETELEM requests as they
 * need.
 */
int bc_fw_replace(struct bc_fw *fw, enum bc_fw_set set,
		  const struct bc_fw_elem *elems, size_t n, char *err,
		  size_t errlen)
{
	static const int fams[] = {AF_INET, AF_INET6};
	struct span *sp = NULL;
	struct ack_ctx a;
	struct txn t;
	int rc = -1;

	if (fw == NULL || (set != BC_FW_FLEET && set != BC_FW_LOCAL) ||
	    (elems == NULL && n != 0) || n > MAX_ELEMS) {
		seterr(err, errlen, "fw: replace: bad arguments");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (check_elem(&elems[i], i, true, err, errlen) < 0)
			return -1;
		if (elems[i].set != set) {
			seterr(err, errlen, "fw: record %zu: wrong set", i);
			return -1;
		}
	}
	sp = malloc((n ? n : 1) * sizeof *sp);
	if (sp == NULL || bc_fwn_txn_init(fw, &t) < 0) {
		free(sp);
		seterr(err, errlen, "fw: out of memory");
		return -1;
	}
	for (size_t f = 0; f < 2; f++) {
		size_t m = 0;

		if (txn_flush(fw, &t, set, fams[f], KIND_HOST) < 0 ||
		    txn_flush(fw, &t, set, fams[f], KIND_NETS) < 0)
			goto oom;
		for (size_t i = 0; i < n; i++)
			if (elems[i].family == fams[f])
				to_span(&sp[m++], &elems[i]);
		if (bc_fwn_put_family(fw, &t, set, fams[f], sp, m) < 0)
			goto oom;
	}
	if (bc_fwn_txn_talk(fw, &t, &a, err, errlen) == 0) {
		if (a.nerrs == 0) {
			rc = 0;
		} else {
			const struct msg_ref *r = &t.refs[a.errs[0].ref];

			seterr(err, errlen, "fw: replace: %s %s: %s",
			       r->kind == MSG_FLUSH ? "flush" : "add to",
			       set_name(r->set, r->family, r->skind),
			       strerror(a.errs[0].err));
		}
	}
	bc_fwn_ack_free(&a);
	bc_fwn_txn_free(&t);
	free(sp);
	return rc;
oom:
	bc_fwn_txn_free(&t);
	free(sp);
	seterr(err, errlen, "fw: out of memory building batch");
	return -1;
}

