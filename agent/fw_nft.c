/*
 * fw_nft.c - the firewall writer: keeps `table inet bancluster` in the
 * kernel with libnftnl netlink batches, never by running nft.
 *
 * Every call is one nf_tables transaction (BEGIN, requests, END) built in
 * paged nftnl_batch buffers and sent with a single sendmsg(). Every request
 * carries NLM_F_ACK; all acks are read back and an error is matched to the
 * request that caused it by nlmsg_seq, so it can be named (op index,
 * address, set) or, for the one expected failure - deleting an element
 * that already timed out - dropped before the transaction is retried.
 * Set-element requests are written straight into the batch pages (struct
 * elw), not built from one libnftnl object per element: at a million
 * elements the allocations cost more than the kernel's work.
 *
 * Inputs: struct bc_fw_elem records from the agent (trusted, but checked:
 * family, set, op, first <= last) and the kernel's replies (parsed by
 * libmnl/libnftnl). The module owns its netlink socket and every libnftnl
 * object it allocates; the caller owns the records it passes in and the
 * struct bc_fw it gets from bc_fw_open(). Nothing prints or exits: errors
 * return -1 (or NULL) with one line in the caller's err buffer.
 *
 * Layout: each of fleet4, fleet6, local4, local6 is a pair of sets. The
 * set of that name is a hash set with timeouts holding single addresses
 * (a record with first == last); NAME_nets is an interval set holding
 * every wider range. The kernel's hash set costs O(1) per element and
 * nothing per transaction; its interval set (nft_rbtree) rebuilds a
 * lookup array of the whole set at every commit that touches it (about
 * 4-10 ms at 100 000 elements on 6.18), so host bans - nearly all of
 * them - never go there. A host inside a banned range is in both sets,
 * each element with its own timeout: whichever lasts longer keeps the
 * address banned.
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
 * Old layout: an agent before the split kept everything in interval sets
 * named fleet4 etc. bc_fw_open() finds any of the eight sets whose type
 * differs from the layout above, reads every element of those sets, and
 * in the same transaction that (re)creates the table flushes the chain,
 * deletes them, creates the eight sets, puts the elements back (remaining
 * timeouts) and adds the rules: packets see the old generation or the new
 * one, never a moment without the bans.
 */
#include "agent/fw_nft.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

/* Batch pages as nftables' mnl.c: 2 MiB pages, overrun room for one
 * maximal message (a 64 KiB element nest plus headers). */
#define BATCH_PAGE_SIZE (2u * 1024u * 1024u)
#define BATCH_OVERRUN (UINT16_MAX + 4096u)
#define RX_BUF_SIZE (64u * 1024u)          /* one recv: acks or dump part */
#define RCVBUF_PER_ACK 2048u               /* skb truesize of one ack */
#define RCVBUF_MIN (256u * 1024u)
#define SOCKBUF_MAX (256u * 1024u * 1024u)
#define ACK_WAIT_MS 2000                   /* acks are queued by sendmsg */
#define DUMP_WAIT_MS 5000
#define APPLY_MAX_RETRIES 8                /* rounds that drop stale DELs */
#define MAX_ELEMS (4u * 1024u * 1024u)     /* records in one call */
#define ERRBUF_ADDR 96                     /* "first-last" for messages */
#define CHAIN_PRIORITY (-10)
#define KEYTYPE_IPV4 7                     /* nftables datatype ids */
#define KEYTYPE_IPV6 8
#define KEYTYPE_INET_SERVICE 13
#define CHAIN_NAME "input"
#define PORTSET_NAME "__set%d"             /* anonymous: kernel numbers it */
#define SET_ID_BASE 1                      /* batch-local ids of new sets */
#define PORTSET_ID_BASE 20
#define NSETS 8              /* {fleet, local} x {v4, v6} x {host, nets} */
#define SPANS_INIT 256
/* The hash sets' garbage collector walks the whole set each interval
 * (default 1 s: 12 % of a core at 1,000,000 elements, measured); expired
 * elements no longer match before it frees them. */
#define HOST_GC_INTERVAL_MS 60000u
#define ELEM_MSG_MAX 60000u  /* a request this long ends (nest < 64 KiB) */
#define ELEM_MAX_SIZE 128u   /* one element's attributes, at most */

/* The two sets behind each name: single addresses, and wider ranges. */
enum set_kind {
	KIND_HOST = 0, /* NAME: hash set, flags timeout */
	KIND_NETS = 1, /* NAME_nets: interval set, flags interval,timeout */
};

struct bc_fw {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint8_t *rx;
	long migrated; /* elements carried over from the old layout, or -1 */
};

/* What each acked request in a transaction was, to explain its error. */
enum msg_kind {
	MSG_SETUP = 0, /* table, set, chain, rule in bc_fw_open */
	MSG_ADD,       /* ops [op, op_end) added to one set */
	MSG_DEL,       /* op deleted */
	MSG_FLUSH,     /* a whole set flushed by bc_fw_replace */
};

struct msg_ref {
	uint32_t seq;
	uint8_t kind;  /* enum msg_kind */
	uint8_t set;
	uint8_t family;
	uint8_t skind; /* enum set_kind */
	size_t op;
	size_t op_end;
};

struct txn {
	struct nftnl_batch *b;
	struct msg_ref *refs;
	size_t nrefs;
	size_t cap;
	uint32_t first_seq;
};

/* One kernel error, matched to the request (refs index) that caused it. */
struct nl_error {
	size_t ref;
	int err;
};

struct ack_ctx {
	const struct txn *t;
	uint32_t end_seq;
	size_t acks;
	struct nl_error *errs;
	size_t nerrs;
	size_t errcap;
	int unmatched; /* error answering BEGIN or END: whole batch refused */
};

/* Fill the caller's one-line error buffer (either may be NULL/0). */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- addresses as big-endian numbers of 4 or 16 bytes ---------------- */

static size_t fam_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Kernel name of the set holding `set` addresses of `family`, `kind`. */
static const char *set_name(int set, int family, int kind)
{
	static const char *const names[2][2][2] = {
		{{"fleet4", "fleet4_nets"}, {"fleet6", "fleet6_nets"}},
		{{"local4", "local4_nets"}, {"local6", "local6_nets"}},
	};

	return names[set == BC_FW_LOCAL][family == AF_INET6][kind == KIND_NETS];
}

/* The kernel sets numbered 0..NSETS-1 as set_name() orders them. */
static int idx_set(size_t i)
{
	return i < 4 ? BC_FW_FLEET : BC_FW_LOCAL;
}

static int idx_family(size_t i)
{
	return (i & 2) ? AF_INET6 : AF_INET;
}

static int idx_kind(size_t i)
{
	return (i & 1) ? KIND_NETS : KIND_HOST;
}

/* The set flags each kind is created with. */
static uint32_t set_flags(int kind)
{
	return kind == KIND_NETS ? NFT_SET_INTERVAL | NFT_SET_TIMEOUT
				 : NFT_SET_TIMEOUT;
}

/* Which set of its name a record goes to: one address or a range. */
static int elem_kind(const struct bc_fw_elem *e)
{
	return memcmp(e->first, e->last, fam_len(e->family)) == 0 ? KIND_HOST
								   : KIND_NETS;
}

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

/* ---- libnftnl objects ------------------------------------------------- */

static struct nftnl_set *set_handle(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, BC_FW_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

/*
 * Name the set of a set-element request and nothing else: with no element
 * list, DELSETELEM flushes the set and GETSETELEM dumps all of it.
 */
static void put_set_name(struct nlmsghdr *nlh, const char *name)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, BC_FW_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
}

/*
 * Expression builders: each returns a new expression loading into or
 * testing register 1, or NULL when out of memory.
 */
static struct nftnl_expr *expr_meta(uint32_t key)
{
	struct nftnl_expr *x = nftnl_expr_alloc("meta");

	if (x == NULL)
		return NULL;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return x;
}

/* cmp eq reg1, one byte. */
static struct nftnl_expr *expr_cmp_u8(uint8_t val)
{
	struct nftnl_expr *x = nftnl_expr_alloc("cmp");

	if (x == NULL)
		return NULL;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, &val, sizeof val);
	return x;
}

/* payload load len bytes at base + off into reg1. */
static struct nftnl_expr *expr_payload(uint32_t base, uint32_t off,
				       uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("payload");

	if (x == NULL)
		return NULL;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	return x;
}

/* Lookup in a named set, or (id != 0) in the anonymous set with that id. */
static struct nftnl_expr *expr_lookup(const char *name, uint32_t id)
{
	struct nftnl_expr *x = nftnl_expr_alloc("lookup");

	if (x == NULL)
		return NULL;
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, name);
	if (id != 0)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, id);
	return x;
}

/* immediate verdict drop. */
static struct nftnl_expr *expr_drop(void)
{
	struct nftnl_expr *x = nftnl_expr_alloc("immediate");

	if (x == NULL)
		return NULL;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	return x;
}

/* Add x to r, or report that it could not be allocated. */
static int rule_push(struct nftnl_rule *r, struct nftnl_expr *x)
{
	if (x == NULL)
		return -1;
	nftnl_rule_add_expr(r, x);
	return 0;
}

/*
 * The rule for one banned set (fleet4, fleet4_nets, ...):
 *   meta nfproto ipv4 ip saddr @fleet4 [meta l4proto tcp th dport @ports]
 *   counter drop
 * portset_id != 0 names the anonymous port set created in this batch.
 */
static struct nftnl_rule *build_rule(int set, int family, int kind,
				     uint32_t portset_id)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	bool v4 = family == AF_INET;
	int rc = 0;

	if (r == NULL)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, BC_FW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CHAIN_NAME);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	rc |= rule_push(r, expr_meta(NFT_META_NFPROTO));
	rc |= rule_push(r, expr_cmp_u8(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6));
	rc |= rule_push(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER,
					v4 ? 12 : 8, v4 ? 4 : 16));
	rc |= rule_push(r, expr_lookup(set_name(set, family, kind), 0));
	if (portset_id != 0) {
		rc |= rule_push(r, expr_meta(NFT_META_L4PROTO));
		rc |= rule_push(r, expr_cmp_u8(IPPROTO_TCP));
		rc |= rule_push(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER,
						2, 2));
		rc |= rule_push(r, expr_lookup(PORTSET_NAME, portset_id));
	}
	rc |= rule_push(r, nftnl_expr_alloc("counter"));
	rc |= rule_push(r, expr_drop());
	if (rc != 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

/* ---- transactions ----------------------------------------------------- */

static int txn_init(struct bc_fw *fw, struct txn *t)
{
	memset(t, 0, sizeof *t);
	t->b = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_OVERRUN);
	if (t->b == NULL)
		return -1;
	nftnl_batch_begin(nftnl_batch_buffer(t->b), fw->seq++);
	t->first_seq = fw->seq;
	return nftnl_batch_update(t->b);
}

/* Free the batch pages and the request table; t can be reused. */
static void txn_free(struct txn *t)
{
	if (t->b != NULL)
		nftnl_batch_free(t->b);
	free(t->refs);
	memset(t, 0, sizeof *t);
}

/* Start a request in the batch; remember what it is by its seq. */
static struct nlmsghdr *txn_msg(struct bc_fw *fw, struct txn *t, uint16_t type,
				uint16_t flags, const struct msg_ref *ref)
{
	if (t->nrefs == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct msg_ref *p = realloc(t->refs, ncap * sizeof *p);

		if (p == NULL)
			return NULL;
		t->refs = p;
		t->cap = ncap;
	}
	t->refs[t->nrefs] = *ref;
	t->refs[t->nrefs].seq = fw->seq;
	t->nrefs++;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(t->b), type,
				     NFPROTO_INET, flags | NLM_F_ACK,
				     fw->seq++);
}

/*
 * Write the elements of s as one or more NEWSETELEM / DELSETELEM requests
 * (a nest holds at most 64 KiB, so large sets take several), each with ref.
 */
static int txn_elems(struct bc_fw *fw, struct txn *t, uint16_t type,
		     struct nftnl_set *s, const struct msg_ref *ref)
{
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
	uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0;
	int more = 1, rc = 0;

	if (it == NULL)
		return -1;
	while (more == 1) {
		struct nlmsghdr *nlh = txn_msg(fw, t, type, flags, ref);

		if (nlh == NULL) {
			rc = -1;
			break;
		}
		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
		if (more < 0 || nftnl_batch_update(t->b) < 0) {
			rc = -1;
			break;
		}
	}
	nftnl_set_elems_iter_destroy(it);
	return rc;
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
		w->nlh = txn_msg(w->fw, w->t, w->type,
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

/*
 * NLMSG_ERROR callback for mnl_cb_run2(): count acks of this transaction
 * and record each error with the index of the request it answers.
 */
static int nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct ack_ctx *a = data;
	const struct txn *t = a->t;
	size_t idx;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e))
		return MNL_CB_ERROR;
	idx = nlh->nlmsg_seq - t->first_seq;
	if (nlh->nlmsg_seq < t->first_seq || idx >= t->nrefs ||
	    t->refs[idx].seq != nlh->nlmsg_seq) {
		/* BEGIN or END refused: the batch as a whole failed. */
		if (e->error != 0 && (nlh->nlmsg_seq == t->first_seq - 1 ||
				      nlh->nlmsg_seq == a->end_seq))
			a->unmatched = -e->error;
		return MNL_CB_OK; /* else stale, from an earlier exchange */
	}
	a->acks++;
	if (e->error == 0)
		return MNL_CB_OK;
	if (a->nerrs == a->errcap) {
		size_t ncap = a->errcap ? a->errcap * 2 : 16;
		struct nl_error *p = realloc(a->errs, ncap * sizeof *p);

		if (p == NULL)
			return MNL_CB_ERROR;
		a->errs = p;
		a->errcap = ncap;
	}
	a->errs[a->nerrs].ref = idx;
	a->errs[a->nerrs].err = -e->error;
	a->nerrs++;
	return MNL_CB_OK;
}

/* Discard replies left over from an exchange that was cut short. */
static void drain(struct bc_fw *fw)
{
	int fd = mnl_socket_get_fd(fw->nl);

	while (recv(fd, fw->rx, RX_BUF_SIZE, MSG_DONTWAIT) > 0)
		;
}

/* Grow a socket buffer, forcing past the sysctl limit when permitted. */
static void sock_buf(int fd, int opt, int force_opt, size_t want)
{
	int v = want > SOCKBUF_MAX ? (int)SOCKBUF_MAX : (int)want;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

/*
 * End the batch, send it in one sendmsg(), and read one ack per request.
 * Returns 0 with a->errs listing every failed request (the kernel then
 * aborted the whole transaction), or -1 when the exchange itself failed.
 */
static int txn_talk(struct bc_fw *fw, struct txn *t, struct ack_ctx *a,
		    char *err, size_t errlen)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {0};
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
	struct msghdr msg = {0};
	struct iovec *iov;
	int fd = mnl_socket_get_fd(fw->nl);
	size_t total = 0;
	ssize_t ret;
	int niov;

	memset(a, 0, sizeof *a);
	a->t = t;
	a->end_seq = fw->seq;
	nftnl_batch_end(nftnl_batch_buffer(t->b), fw->seq++);
	if (nftnl_batch_update(t->b) < 0) {
		seterr(err, errlen, "fw: out of memory building batch");
		return -1;
	}
	niov = nftnl_batch_iovec_len(t->b);
	iov = calloc((size_t)niov, sizeof *iov);
	if (iov == NULL) {
		seterr(err, errlen, "fw: out of memory");
		return -1;
	}
	nftnl_batch_iovec(t->b, iov, (uint32_t)niov);
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	sock_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, total + RCVBUF_MIN);
	sock_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE,
		 RCVBUF_MIN + t->nrefs * (size_t)RCVBUF_PER_ACK);
	drain(fw);
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof snl;
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)niov;
	ret = sendmsg(fd, &msg, 0);
	free(iov);
	if (ret < 0 || (size_t)ret != total) {
		seterr(err, errlen, "fw: sendmsg of %zu-byte batch: %s", total,
		       ret < 0 ? strerror(errno) : "short write");
		return -1;
	}
	ctl[NLMSG_ERROR] = nl_error_cb;
	while (a->acks < t->nrefs && a->unmatched == 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rc;

		ret = recv(fd, fw->rx, RX_BUF_SIZE, MSG_DONTWAIT);
		if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = poll(&pfd, 1, ACK_WAIT_MS);
			if (rc == 0) {
				seterr(err, errlen,
				       "fw: %zu of %zu acks missing",
				       t->nrefs - a->acks, t->nrefs);
				return -1;
			}
			if (rc < 0 && errno != EINTR)
				goto recv_fail;
			continue;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			goto recv_fail;
		rc = mnl_cb_run2(fw->rx, (size_t)ret, 0, fw->portid, NULL, a,
				 ctl, NLMSG_MIN_TYPE);
		if (rc < 0) {
			seterr(err, errlen, "fw: bad netlink reply: %s",
			       strerror(errno));
			return -1;
		}
	}
	if (a->unmatched != 0) {
		seterr(err, errlen, "fw: transaction failed: %s",
		       strerror(a->unmatched));
		return -1;
	}
	return 0;
recv_fail:
	seterr(err, errlen, "fw: reading acks: %s", strerror(errno));
	return -1;
}

/* Free the error list of an exchange. */
static void ack_free(struct ack_ctx *a)
{
	free(a->errs);
	a->errs = NULL;
}

/* ---- open ------------------------------------------------------------- */

static int cmp_u16(const void *x, const void *y)
{
	uint16_t a = *(const uint16_t *)x, b = *(const uint16_t *)y;

	return (a > b) - (a < b);
}

/* One request carrying a table, set, chain or rule object. */
static int setup_msg(struct bc_fw *fw, struct txn *t, uint16_t type,
		     uint16_t flags, void *obj)
{
	struct msg_ref ref = {.kind = MSG_SETUP};
	struct nlmsghdr *nlh = txn_msg(fw, t, type, flags, &ref);

	if (nlh == NULL)
		return -1;
	switch (type) {
	case NFT_MSG_NEWTABLE:
		nftnl_table_nlmsg_build_payload(nlh, obj);
		break;
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
		nftnl_set_nlmsg_build_payload(nlh, obj);
		break;
	case NFT_MSG_NEWCHAIN:
		nftnl_chain_nlmsg_build_payload(nlh, obj);
		break;
	default: /* NFT_MSG_NEWRULE, NFT_MSG_DELRULE */
		nftnl_rule_nlmsg_build_payload(nlh, obj);
		break;
	}
	return nftnl_batch_update(t->b);
}

/* NEWTABLE inet bancluster, without NLM_F_EXCL: idempotent. */
static int open_table(struct bc_fw *fw, struct txn *t)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	int rc;

	if (tb == NULL)
		return -1;
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, BC_FW_TABLE);
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	rc = setup_msg(fw, t, NFT_MSG_NEWTABLE, NLM_F_CREATE, tb);
	nftnl_table_free(tb);
	return rc;
}

/* The eight banned sets; an existing set is left as it is, with elements. */
static int open_sets(struct bc_fw *fw, struct txn *t)
{
	for (size_t i = 0; i < NSETS; i++) {
		int set = idx_set(i), family = idx_family(i);
		int kind = idx_kind(i);
		struct nftnl_set *s = set_handle(set_name(set, family, kind));
		bool v4 = family == AF_INET;
		int rc;

		if (s == NULL)
			return -1;
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, set_flags(kind));
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
				  v4 ? KEYTYPE_IPV4 : KEYTYPE_IPV6);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v4 ? 4 : 16);
		nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)(SET_ID_BASE + i));
		if (kind == KIND_HOST)
			nftnl_set_set_u32(s, NFTNL_SET_GC_INTERVAL,
					  HOST_GC_INTERVAL_MS);
		rc = setup_msg(fw, t, NFT_MSG_NEWSET, NLM_F_CREATE, s);
		nftnl_set_free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * The base chain (filter, hook input, priority -10, policy accept), then
 * a flush of its rules: open_rules() adds the current ones after it.
 */
static int open_chain(struct bc_fw *fw, struct txn *t)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *flush;
	int rc;

	if (c == NULL)
		return -1;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, BC_FW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CHAIN_NAME);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, CHAIN_PRIORITY);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	rc = setup_msg(fw, t, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c);
	nftnl_chain_free(c);
	if (rc < 0)
		return -1;
	/* DELRULE naming only table and chain flushes the chain. */
	flush = nftnl_rule_alloc();
	if (flush == NULL)
		return -1;
	nftnl_rule_set_str(flush, NFTNL_RULE_TABLE, BC_FW_TABLE);
	nftnl_rule_set_str(flush, NFTNL_RULE_CHAIN, CHAIN_NAME);
	nftnl_rule_set_u32(flush, NFTNL_RULE_FAMILY, NFPROTO_INET);
	rc = setup_msg(fw, t, NFT_MSG_DELRULE, 0, flush);
	nftnl_rule_free(flush);
	return rc;
}

/* An anonymous constant set of TCP ports, bound by the next rule. */
static int open_portset(struct bc_fw *fw, struct txn *t, uint32_t id,
			const uint16_t *ports, size_t n)
{
	struct msg_ref ref = {.kind = MSG_SETUP};
	struct nftnl_set *s = set_handle(PORTSET_NAME);
	int rc = -1;

	if (s == NULL)
		return -1;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
			  NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, KEYTYPE_INET_SERVICE);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(uint16_t));
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)n);
	if (setup_msg(fw, t, NFT_MSG_NEWSET, NLM_F_CREATE, s) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint16_t port = htons(ports[i]);

		if (e == NULL)
			goto out;
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &port, sizeof port);
		nftnl_set_elem_add(s, e);
	}
	rc = txn_elems(fw, t, NFT_MSG_NEWSETELEM, s, &ref);
out:
	nftnl_set_free(s);
	return rc;
}

/* One drop rule per banned set, with its own anonymous port set. */
static int open_rules(struct bc_fw *fw, struct txn *t,
		      const struct bc_fw_config *cfg)
{
	uint16_t ports[BC_FW_MAX_PORTS];
	size_t n = 0;

	if (!cfg->all_ports) {
		memcpy(ports, cfg->ports, cfg->nports * sizeof ports[0]);
		qsort(ports, cfg->nports, sizeof ports[0], cmp_u16);
		for (size_t i = 0; i < cfg->nports; i++)
			if (n == 0 || ports[n - 1] != ports[i])
				ports[n++] = ports[i];
	}
	for (size_t i = 0; i < NSETS; i++) {
		/* An anonymous set binds to one rule only. */
		uint32_t id = (uint32_t)(PORTSET_ID_BASE + i);
		struct nftnl_rule *r;
		int rc;

		if (cfg->all_ports)
			id = 0; /* no port match, no port set */
		if (id != 0 && open_portset(fw, t, id, ports, n) < 0)
			return -1;
		r = build_rule(idx_set(i), idx_family(i), idx_kind(i), id);
		if (r == NULL)
			return -1;
		rc = setup_msg(fw, t, NFT_MSG_NEWRULE,
			       NLM_F_CREATE | NLM_F_APPEND, r);
		nftnl_rule_free(r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* See fw_nft.h. */
void bc_fw_close(struct bc_fw **fw)
{
	if (fw == NULL || *fw == NULL)
		return;
	if ((*fw)->nl != NULL)
		mnl_socket_close((*fw)->nl);
	free((*fw)->rx);
	free(*fw);
	*fw = NULL;
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
		if (txn_init(fw, &t) < 0 ||
		    build_apply(fw, &t, ops, n, skip, split_adds) < 0) {
			txn_free(&t);
			seterr(err, errlen, "fw: out of memory building batch");
			break;
		}
		if (txn_talk(fw, &t, &a, err, errlen) < 0) {
			ack_free(&a);
			txn_free(&t);
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
		ack_free(&a);
		txn_free(&t);
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

/*
 * An interval in the sweep. Addresses are kept in all 16 bytes with the
 * unused tail of an IPv4 address zero, so comparators need no length.
 */
struct span {
	uint8_t first[16];
	uint8_t last[16];
	uint64_t timeout_ms;
};

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

	/* banset hands them over in order: skip the sort then */
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
	struct nlmsghdr *nlh = txn_msg(fw, t, NFT_MSG_DELSETELEM, 0, &ref);

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
static int put_family(struct bc_fw *fw, struct txn *t, int set, int family,
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
	if (sp == NULL || txn_init(fw, &t) < 0) {
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
		if (put_family(fw, &t, set, fams[f], sp, m) < 0)
			goto oom;
	}
	if (txn_talk(fw, &t, &a, err, errlen) == 0) {
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
	ack_free(&a);
	txn_free(&t);
	free(sp);
	return rc;
oom:
	txn_free(&t);
	free(sp);
	seterr(err, errlen, "fw: out of memory building batch");
	return -1;
}

/* ---- dump ------------------------------------------------------------- */

/* One element of an interval set as the kernel lists it. */
struct dump_key {
	uint8_t key[16];
	bool end;
	uint64_t timeout_ms; /* remaining; 0 = no timeout */
};

/* A growing array of spans (or of dump keys, for interval sets). */
struct spanvec {
	struct span *v;
	size_t n, cap;
	struct dump_key *k;
	size_t nk, capk;
};

struct dump_ctx {
	struct spanvec *out;
	size_t len;    /* key length the set must have */
	bool interval; /* keys go to out->k, to be paired; else to out->v */
	int perr;
};

static void spanvec_free(struct spanvec *sv)
{
	free(sv->v);
	free(sv->k);
	memset(sv, 0, sizeof *sv);
}

/* Room for one more span (keys: one more key); 0 or -1. */
static int spanvec_grow(struct spanvec *sv, bool keys)
{
	void **p = keys ? (void **)&sv->k : (void **)&sv->v;
	size_t *cap = keys ? &sv->capk : &sv->cap;
	size_t n = keys ? sv->nk : sv->n;
	size_t size = keys ? sizeof *sv->k : sizeof *sv->v;

	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : SPANS_INIT;
	void *q = realloc(*p, ncap * size);

	if (q == NULL)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/*
 * Dump callback: parse one reply into a scratch set and keep only the
 * compact keys, so a million elements never sit in libnftnl objects.
 */
static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	int rc = MNL_CB_ERROR;

	if (s == NULL) {
		d->perr = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		d->perr = errno ? errno : EINVAL;
		goto out;
	}
	d->perr = ENOMEM;
	it = nftnl_set_elems_iter_create(s);
	if (it == NULL)
		goto out;
	while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
		uint32_t klen = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY,
						     &klen);
		uint64_t tmo = 0;

		if (key == NULL || klen != d->len)
			continue;
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
				tmo = nftnl_set_elem_get_u64(
					e, NFTNL_SET_ELEM_EXPIRATION);
			if (tmo == 0)
				tmo = 1; /* about to go */
		}
		if (spanvec_grow(d->out, d->interval) < 0)
			goto out;
		if (d->interval) {
			struct dump_key *k = &d->out->k[d->out->nk++];

			memset(k, 0, sizeof *k);
			memcpy(k->key, key, klen);
			k->end = nftnl_set_elem_is_set(e,
						       NFTNL_SET_ELEM_FLAGS) &&
				 (nftnl_set_elem_get_u32(e,
							 NFTNL_SET_ELEM_FLAGS) &
				  NFT_SET_ELEM_INTERVAL_END);
			k->timeout_ms = tmo;
		} else {
			struct span *sp = &d->out->v[d->out->n++];

			memset(sp, 0, sizeof *sp);
			memcpy(sp->first, key, klen);
			memcpy(sp->last, key, klen);
			sp->timeout_ms = tmo;
		}
	}
	d->perr = 0;
	rc = MNL_CB_OK;
out:
	if (it != NULL)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return rc;
}

/* Ascending by key; at equal keys an end (closing [.., k)) sorts first. */
static int cmp_dump(const void *x, const void *y)
{
	const struct dump_key *a = x, *b = y;
	int c = memcmp(a->key, b->key, sizeof a->key);

	if (c != 0)
		return c;
	return (int)b->end - (int)a->end;
}

/* qsort: spans by first, then last address. */
static int cmp_span_fl(const void *x, const void *y)
{
	const struct span *a = x, *b = y;
	int c = memcmp(a->first, b->first, 16);

	return c != 0 ? c : memcmp(a->last, b->last, 16);
}

/*
 * Send the dump request built in fw->rx (sequence seq) and feed every
 * reply to cb until the dump ends. A missing table or set answers ENOENT:
 * -1 with *enoent set, nothing in err. 0 or -1.
 */
static int nl_dump(struct bc_fw *fw, const struct nlmsghdr *req, uint32_t seq,
		   const char *what, mnl_cb_t cb, void *data, int *perr,
		   bool *enoent, char *err, size_t errlen)
{
	int fd = mnl_socket_get_fd(fw->nl);
	int rc;

	if (mnl_socket_sendto(fw->nl, req, req->nlmsg_len) < 0) {
		seterr(err, errlen, "fw: dump %s: send: %s", what,
		       strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t ret;

		rc = poll(&pfd, 1, DUMP_WAIT_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			seterr(err, errlen, "fw: dump %s: %s", what,
			       rc == 0 ? "no reply" : strerror(errno));
			return -1;
		}
		ret = mnl_socket_recvfrom(fw->nl, fw->rx, RX_BUF_SIZE);
		if (ret < 0) {
			seterr(err, errlen, "fw: dump %s: recv: %s", what,
			       strerror(errno));
			return -1;
		}
		errno = 0;
		rc = mnl_cb_run(fw->rx, (size_t)ret, seq, fw->portid, cb, data);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0) {
			int code = *perr ? *perr : errno;

			if (code == ENOENT && enoent != NULL) {
				*enoent = true;
				drain(fw);
				return -1;
			}
			seterr(err, errlen, "fw: dump %s: %s", what,
			       strerror(code));
			return -1;
		}
	}
}

/*
 * Append the elements of kernel set `name` (keys of len bytes) to sv as
 * spans with their remaining timeouts. An interval set's starts are
 * paired with the ends that follow them (a start with no end runs to the
 * all-ones address); any other set's elements are single addresses.
 * A missing set sets *enoent (may be NULL: then it is an error).
 */
static int read_set(struct bc_fw *fw, const char *name, size_t len,
		    bool interval, struct spanvec *sv, bool *enoent,
		    char *err, size_t errlen)
{
	struct dump_ctx d = {.out = sv, .len = len, .interval = interval};
	struct nlmsghdr *nlh;
	uint32_t seq = fw->seq++;

	sv->nk = 0;
	drain(fw);
	nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSETELEM,
				    NFPROTO_INET, NLM_F_DUMP, seq);
	put_set_name(nlh, name);
	if (nl_dump(fw, nlh, seq, name, dump_cb, &d, &d.perr, enoent, err,
		    errlen) < 0)
		return -1;
	if (!interval)
		return 0;
	if (sv->nk > 1)
		qsort(sv->k, sv->nk, sizeof *sv->k, cmp_dump);
	for (size_t i = 0; i < sv->nk; i++) {
		struct span *out;

		if (sv->k[i].end)
			continue; /* an end without a start: skip it */
		if (spanvec_grow(sv, false) < 0) {
			seterr(err, errlen, "fw: out of memory");
			return -1;
		}
		out = &sv->v[sv->n++];
		memset(out, 0, sizeof *out);
		memcpy(out->first, sv->k[i].key, len);
		out->timeout_ms = sv->k[i].timeout_ms;
		if (i + 1 < sv->nk && sv->k[i + 1].end) {
			memcpy(out->last, sv->k[i + 1].key, len);
			bc_interval_addr_dec(out->last, len);
			i++;
		} else {
			memset(out->last, 0xff, len);
		}
	}
	sv->nk = 0;
	return 0;
}

/*
 * See fw_nft.h. Both sets of the name are read; the elements come out
 * sorted by first, then last address.
 */
long bc_fw_dump(struct bc_fw *fw, enum bc_fw_set set, int family,
		bc_fw_dump_cb cb, void *arg, char *err, size_t errlen)
{
	struct spanvec sv = {0};
	size_t len;
	long count;

	if (fw == NULL || cb == NULL ||
	    (set != BC_FW_FLEET && set != BC_FW_LOCAL) ||
	    (family != AF_INET && family != AF_INET6)) {
		seterr(err, errlen, "fw: dump: bad arguments");
		return -1;
	}
	len = fam_len(family);
	if (read_set(fw, set_name(set, family, KIND_HOST), len, false, &sv,
		     NULL, err, errlen) < 0 ||
	    read_set(fw, set_name(set, family, KIND_NETS), len, true, &sv,
		     NULL, err, errlen) < 0) {
		spanvec_free(&sv);
		return -1;
	}
	count = (long)sv.n;
	if (sv.n > 1)
		qsort(sv.v, sv.n, sizeof *sv.v, cmp_span_fl);
	for (size_t i = 0; i < sv.n; i++) {
		struct bc_fw_elem out = {.op = BC_FW_ADD,
					 .set = (uint8_t)set,
					 .family = (uint8_t)family};

		memcpy(out.first, sv.v[i].first, len);
		memcpy(out.last, sv.v[i].last, len);
		out.timeout_ms = sv.v[i].timeout_ms;
		cb(&out, arg);
	}
	spanvec_free(&sv);
	return count;
}

/* ---- layout probe and migration ---------------------------------------- */

/* What the kernel holds of the eight sets' names. */
struct probe {
	bool exists[NSETS];
	bool wrong[NSETS];    /* exists with another type: to be replaced */
	bool interval[NSETS]; /* its elements are interval starts and ends */
	int perr;
};

/* GETSET dump callback: note each of our sets and whether it fits. */
static int probe_cb(const struct nlmsghdr *nlh, void *data)
{
	struct probe *p = data;
	struct nftnl_set *s = nftnl_set_alloc();
	const char *name, *table;

	if (s == NULL) {
		p->perr = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
		p->perr = errno ? errno : EINVAL;
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
	for (size_t i = 0; name != NULL && table != NULL &&
			   strcmp(table, BC_FW_TABLE) == 0 && i < NSETS;
	     i++) {
		int set = idx_set(i), family = idx_family(i);
		int kind = idx_kind(i);
		uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);

		if (strcmp(name, set_name(set, family, kind)) != 0)
			continue;
		p->exists[i] = true;
		p->interval[i] = (flags & NFT_SET_INTERVAL) != 0;
		p->wrong[i] =
			flags != set_flags(kind) ||
			nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) !=
				fam_len(family) ||
			nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) !=
				(family == AF_INET ? KEYTYPE_IPV4 : KEYTYPE_IPV6);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* List the sets of our table (none when it does not exist). 0 or -1. */
static int probe_sets(struct bc_fw *fw, struct probe *p, char *err,
		      size_t errlen)
{
	struct nlmsghdr *nlh;
	uint32_t seq = fw->seq++;
	bool enoent = false;

	memset(p, 0, sizeof *p);
	drain(fw);
	nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSET,
				    NFPROTO_INET, NLM_F_DUMP, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, BC_FW_TABLE);
	if (nl_dump(fw, nlh, seq, "sets", probe_cb, p, &p->perr, &enoent, err,
		    errlen) < 0 &&
	    !enoent)
		return -1;
	return 0;
}

/*
 * The old layout (or any set of ours of another type) is replaced: read
 * every element of every existing set of ours into sv[set * 2 + v6], for
 * migrate_put() to add back in the transaction that recreates the sets.
 * Returns the number of elements read, or -1.
 */
static long migrate_read(struct bc_fw *fw, const struct probe *p,
			 struct spanvec sv[4], char *err, size_t errlen)
{
	long total = 0;

	for (size_t i = 0; i < NSETS; i++) {
		int set = idx_set(i), family = idx_family(i);
		int kind = idx_kind(i);
		struct spanvec *g = &sv[i / 2];
		size_t before = g->n;
		bool gone = false;

		if (!p->exists[i])
			continue;
		if (read_set(fw, set_name(set, family, kind), fam_len(family),
			     p->interval[i], g, &gone, err, errlen) < 0 &&
		    !gone)
			return -1;
		total += (long)(g->n - before);
	}
	return total;
}

/* DELSET of every existing set of ours; the chain was flushed before. */
static int migrate_delete(struct bc_fw *fw, struct txn *t,
			  const struct probe *p)
{
	for (size_t i = 0; i < NSETS; i++) {
		struct nftnl_set *s;
		int rc;

		if (!p->exists[i])
			continue;
		s = set_handle(set_name(idx_set(i), idx_family(i),
					idx_kind(i)));
		if (s == NULL)
			return -1;
		rc = setup_msg(fw, t, NFT_MSG_DELSET, 0, s);
		nftnl_set_free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The elements read by migrate_read() into the new, empty sets. */
static int migrate_put(struct bc_fw *fw, struct txn *t, struct spanvec sv[4])
{
	for (size_t g = 0; g < 4; g++)
		if (put_family(fw, t, g < 2 ? BC_FW_FLEET : BC_FW_LOCAL,
			       (g & 1) ? AF_INET6 : AF_INET, sv[g].v,
			       sv[g].n) < 0)
			return -1;
	return 0;
}

/*
 * See fw_nft.h. One transaction: table, chain, rule flush, [old sets
 * deleted], the eight sets, [the old elements], port sets and rules.
 */
struct bc_fw *bc_fw_open(const struct bc_fw_config *cfg, char *err,
			 size_t errlen)
{
	struct spanvec sv[4] = {{0}};
	struct bc_fw *fw;
	struct probe p;
	struct ack_ctx a;
	struct txn t;
	bool migrate = false;
	long moved = -1;
	int one = 1;

	if (cfg == NULL || cfg->nports > BC_FW_MAX_PORTS ||
	    (!cfg->all_ports && cfg->nports == 0)) {
		seterr(err, errlen, "fw: need 1..%d ports or all_ports",
		       BC_FW_MAX_PORTS);
		return NULL;
	}
	for (size_t i = 0; !cfg->all_ports && i < cfg->nports; i++) {
		if (cfg->ports[i] == 0) {
			seterr(err, errlen, "fw: port 0 is not a port");
			return NULL;
		}
	}
	fw = calloc(1, sizeof *fw);
	if (fw == NULL || (fw->rx = malloc(RX_BUF_SIZE)) == NULL) {
		seterr(err, errlen, "fw: out of memory");
		goto fail;
	}
	fw->migrated = -1;
	fw->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (fw->nl == NULL ||
	    mnl_socket_bind(fw->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, errlen, "fw: netlink socket: %s", strerror(errno));
		goto fail;
	}
	/* Errors need only the header of the failed request, not a copy. */
	(void)mnl_socket_setsockopt(fw->nl, NETLINK_CAP_ACK, &one, sizeof one);
	fw->portid = mnl_socket_get_portid(fw->nl);
	fw->seq = (uint32_t)time(NULL);

	if (probe_sets(fw, &p, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < NSETS; i++)
		migrate = migrate || p.wrong[i];
	if (migrate && (moved = migrate_read(fw, &p, sv, err, errlen)) < 0)
		goto fail;
	if (txn_init(fw, &t) < 0 || open_table(fw, &t) < 0 ||
	    open_chain(fw, &t) < 0 ||
	    (migrate && migrate_delete(fw, &t, &p) < 0) ||
	    open_sets(fw, &t) < 0 || (migrate && migrate_put(fw, &t, sv) < 0) ||
	    open_rules(fw, &t, cfg) < 0) {
		txn_free(&t);
		seterr(err, errlen, "fw: out of memory building batch");
		goto fail;
	}
	if (txn_talk(fw, &t, &a, err, errlen) < 0) {
		ack_free(&a);
		txn_free(&t);
		goto fail;
	}
	if (a.nerrs != 0) {
		const struct msg_ref *r = &t.refs[a.errs[0].ref];

		if (r->kind == MSG_ADD)
			seterr(err, errlen,
			       "fw: moving the old layout's elements to %s: %s",
			       set_name(r->set, r->family, r->skind),
			       strerror(a.errs[0].err));
		else
			seterr(err, errlen, "fw: %s table inet %s: %s",
			       migrate ? "replacing the old layout of"
				       : "creating",
			       BC_FW_TABLE, strerror(a.errs[0].err));
		ack_free(&a);
		txn_free(&t);
		goto fail;
	}
	ack_free(&a);
	txn_free(&t);
	for (size_t g = 0; g < 4; g++)
		spanvec_free(&sv[g]);
	fw->migrated = moved;
	return fw;
fail:
	for (size_t g = 0; g < 4; g++)
		spanvec_free(&sv[g]);
	bc_fw_close(&fw);
	return NULL;
}

/* See fw_nft.h. */
long bc_fw_migrated(const struct bc_fw *fw)
{
	return fw == NULL ? -1 : fw->migrated;
}
