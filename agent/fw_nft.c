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
 *
 * Inputs: struct bc_fw_elem records from the agent (trusted, but checked:
 * family, set, op, first <= last) and the kernel's replies (parsed by
 * libmnl/libnftnl). The module owns its netlink socket and every libnftnl
 * object it allocates; the caller owns the records it passes in and the
 * struct bc_fw it gets from bc_fw_open(). Nothing prints or exits: errors
 * return -1 (or NULL) with one line in the caller's err buffer.
 *
 * Interval sets: [first, last] is a start element (key first, carrying the
 * timeout) plus an end element (key last + 1, flag INTERVAL_END, no
 * timeout); when last is the all-ones address there is no end element,
 * as nftables does it. The kernel rejects overlapping intervals, so
 * bc_fw_replace() first cuts its input into disjoint pieces, each with the
 * longest timeout that covers it. (Verified on 6.18: a timeout on an
 * interval-end element is refused with EINVAL.)
 *
 * Cost: on kernels whose rbtree set backend rebuilds a lookup array at
 * commit (6.18 here), every transaction that touches an interval set costs
 * O(set size) in the kernel - about 4-10 ms at 100 000 elements - however
 * few elements it carries. Batch bursts into one bc_fw_apply() call.
 */
#include "agent/fw_nft.h"

#include <arpa/inet.h>
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
#define PORTSET_ID_BASE 10

struct bc_fw {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint8_t *rx;
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
	uint8_t kind;
	uint8_t set;
	uint8_t family;
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

/* Kernel name of the set holding `set` addresses of `family`. */
static const char *set_name(int set, int family)
{
	if (set == BC_FW_FLEET)
		return family == AF_INET ? "fleet4" : "fleet6";
	return family == AF_INET ? "local4" : "local6";
}

/* True for the all-ones address (no interval-end element above it). */
static bool addr_is_max(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != 0xff)
			return false;
	return true;
}

/* a += 1; wraps to zero when a was all ones. */
static void addr_inc(uint8_t *a, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++a[i] != 0)
			return;
}

/* a -= 1; a must not be zero. */
static void addr_dec(uint8_t *a, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (a[i]-- != 0)
			return;
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
 * Append the kernel elements for [first, last] to s: the start key (with
 * the timeout, if any) and, unless last is all ones, the end key last + 1
 * flagged INTERVAL_END. The set owns the new elements.
 */
static int put_interval(struct nftnl_set *s, int family, const uint8_t *first,
			const uint8_t *last, uint64_t timeout_ms)
{
	size_t len = fam_len(family);
	struct nftnl_set_elem *e;
	uint8_t end[16];

	e = nftnl_set_elem_alloc();
	if (e == NULL)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, first, (uint32_t)len);
	if (timeout_ms != 0)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(s, e);
	if (addr_is_max(last, len))
		return 0;
	memcpy(end, last, len);
	addr_inc(end, len);
	e = nftnl_set_elem_alloc();
	if (e == NULL)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, end, (uint32_t)len);
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
			       NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	return 0;
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
 * The rule for one banned set:
 *   meta nfproto ipv4 ip saddr @fleet4 [meta l4proto tcp th dport @ports]
 *   counter drop
 * portset_id != 0 names the anonymous port set created in this batch.
 */
static struct nftnl_rule *build_rule(int set, int family, uint32_t portset_id)
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
	rc |= rule_push(r, expr_lookup(set_name(set, family), 0));
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

/* The four banned sets; an existing set is left as it is, with elements. */
static int open_sets(struct bc_fw *fw, struct txn *t)
{
	static const int sets[] = {BC_FW_FLEET, BC_FW_LOCAL};
	static const int fams[] = {AF_INET, AF_INET6};

	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 2; j++) {
			struct nftnl_set *s = set_handle(set_name(sets[i],
								  fams[j]));
			bool v4 = fams[j] == AF_INET;
			int rc;

			if (s == NULL)
				return -1;
			nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
					  NFT_SET_INTERVAL | NFT_SET_TIMEOUT);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
					  v4 ? KEYTYPE_IPV4 : KEYTYPE_IPV6);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v4 ? 4 : 16);
			nftnl_set_set_u32(s, NFTNL_SET_ID,
					  (uint32_t)(SET_ID_BASE + i * 2 + j));
			rc = setup_msg(fw, t, NFT_MSG_NEWSET, NLM_F_CREATE, s);
			nftnl_set_free(s);
			if (rc < 0)
				return -1;
		}
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
	static const int sets[] = {BC_FW_FLEET, BC_FW_LOCAL};
	static const int fams[] = {AF_INET, AF_INET6};
	uint16_t ports[BC_FW_MAX_PORTS];
	size_t n = 0;

	if (!cfg->all_ports) {
		memcpy(ports, cfg->ports, cfg->nports * sizeof ports[0]);
		qsort(ports, cfg->nports, sizeof ports[0], cmp_u16);
		for (size_t i = 0; i < cfg->nports; i++)
			if (n == 0 || ports[n - 1] != ports[i])
				ports[n++] = ports[i];
	}
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 2; j++) {
			/* An anonymous set binds to one rule only. */
			uint32_t id = (uint32_t)(PORTSET_ID_BASE + i * 2 + j);
			struct nftnl_rule *r;
			int rc;

			if (cfg->all_ports)
				id = 0; /* no port match, no port set */
			if (id != 0 && open_portset(fw, t, id, ports, n) < 0)
				return -1;
			r = build_rule(sets[i], fams[j], id);
			if (r == NULL)
				return -1;
			rc = setup_msg(fw, t, NFT_MSG_NEWRULE,
				       NLM_F_CREATE | NLM_F_APPEND, r);
			nftnl_rule_free(r);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* See fw_nft.h. One transaction: table, sets, chain, rule flush, rules. */
struct bc_fw *bc_fw_open(const struct bc_fw_config *cfg, char *err,
			 size_t errlen)
{
	struct bc_fw *fw;
	struct ack_ctx a;
	struct txn t;
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

	if (txn_init(fw, &t) < 0 || open_table(fw, &t) < 0 ||
	    open_sets(fw, &t) < 0 || open_chain(fw, &t) < 0 ||
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
		seterr(err, errlen, "fw: creating table inet %s: %s",
		       BC_FW_TABLE, strerror(a.errs[0].err));
		ack_free(&a);
		txn_free(&t);
		goto fail;
	}
	ack_free(&a);
	txn_free(&t);
	return fw;
fail:
	bc_fw_close(&fw);
	return NULL;
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
 * ADDs to the same set go in shared requests unless split_adds; every DEL
 * is a request of its own so that an ENOENT names exactly one op.
 */
static int build_apply(struct bc_fw *fw, struct txn *t,
		       const struct bc_fw_elem *ops, size_t n,
		       const uint8_t *skip, bool split_adds)
{
	size_t i = 0;

	while (i < n) {
		const struct bc_fw_elem *e = &ops[i];
		struct msg_ref ref = {.set = e->set, .family = e->family,
				      .op = i};
		struct nftnl_set *s;
		size_t j = i + 1;
		int rc = 0;

		if (skip[i]) {
			i++;
			continue;
		}
		s = set_handle(set_name(e->set, e->family));
		if (s == NULL)
			return -1;
		if (e->op == BC_FW_DEL) {
			ref.kind = MSG_DEL;
			rc = put_interval(s, e->family, e->first, e->last, 0);
		} else {
			ref.kind = MSG_ADD;
			rc = put_interval(s, e->family, e->first, e->last,
					  e->timeout_ms);
			for (; rc == 0 && !split_adds && j < n; j++) {
				const struct bc_fw_elem *f = &ops[j];

				if (skip[j])
					continue;
				if (f->op != BC_FW_ADD || f->set != e->set ||
				    f->family != e->family)
					break;
				rc = put_interval(s, f->family, f->first,
						  f->last, f->timeout_ms);
			}
		}
		ref.op_end = j;
		if (rc == 0)
			rc = txn_elems(fw, t,
				       e->op == BC_FW_DEL ? NFT_MSG_DELSETELEM
							  : NFT_MSG_NEWSETELEM,
				       s, &ref);
		nftnl_set_free(s);
		if (rc < 0)
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
		       r->op_end - 1, set_name(r->set, r->family),
		       strerror(code));
	else
		seterr(err, errlen, "fw: op %zu (%s %s %s): %s%s", r->op,
		       e->op == BC_FW_ADD ? "ADD" : "DEL", range,
		       set_name(r->set, r->family), strerror(code),
		       code == EEXIST ? " (overlaps an existing interval)"
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

/* qsort: spans by first address; addresses as 16-byte big-endian. */
static int cmp_span(const void *x, const void *y)
{
	return memcmp(((const struct span *)x)->first,
		      ((const struct span *)y)->first, 16);
}

/* qsort: 16-byte big-endian addresses. */
static int cmp_addr(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

/* Order of timeouts: 0 (permanent) outlasts every finite one. */
static uint64_t tkey(uint64_t timeout_ms)
{
	return timeout_ms == 0 ? UINT64_MAX : timeout_ms;
}

/* True when span x should sit above span y in the heap. */
static bool longer(const struct span *sp, size_t x, size_t y)
{
	return tkey(sp[x].timeout_ms) > tkey(sp[y].timeout_ms);
}

/* Max-heap of span indices by tkey(timeout): push v. */
static void heap_push(size_t *h, size_t *hn, const struct span *sp, size_t v)
{
	size_t i = (*hn)++;

	h[i] = v;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!longer(sp, h[i], h[p]))
			break;
		size_t tmp = h[p];
		h[p] = h[i];
		h[i] = tmp;
		i = p;
	}
}

/* Remove the top of the max-heap. */
static void heap_pop(size_t *h, size_t *hn, const struct span *sp)
{
	size_t i = 0, n = --(*hn);

	h[0] = h[n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && longer(sp, h[l], h[m]))
			m = l;
		if (r < n && longer(sp, h[r], h[m]))
			m = r;
		if (m == i)
			break;
		size_t tmp = h[m];
		h[m] = h[i];
		h[i] = tmp;
		i = m;
	}
}

/*
 * Cut n possibly overlapping spans of one family into disjoint pieces, each
 * with the longest timeout that covers it, and put them into s. The kernel
 * refuses overlapping intervals, and a host ban inside a banned /24 must
 * outlive the /24 if it is longer. O(n log n). sp is reordered.
 */
static int put_disjoint(struct nftnl_set *s, int family, struct span *sp,
			size_t n)
{
	size_t len = fam_len(family), nb = 0, hn = 0, j = 0;
	uint8_t (*b)[16] = malloc((2 * n + 1) * sizeof *b);
	size_t *heap = malloc((n + 1) * sizeof *heap);
	struct span cur;
	bool have = false;
	int rc = -1;

	if (b == NULL || heap == NULL)
		goto out;
	qsort(sp, n, sizeof *sp, cmp_span);
	for (size_t i = 0; i < n; i++) {
		memcpy(b[nb++], sp[i].first, 16);
		if (!addr_is_max(sp[i].last, len)) {
			memcpy(b[nb], sp[i].last, 16);
			addr_inc(b[nb++], len);
		}
	}
	qsort(b, nb, sizeof *b, cmp_addr);
	for (size_t i = 0; i < nb; i++) {
		const uint8_t *p = b[i];
		struct span seg;

		if (i > 0 && memcmp(b[i - 1], p, len) == 0)
			continue;
		while (j < n && memcmp(sp[j].first, p, len) <= 0)
			heap_push(heap, &hn, sp, j++);
		while (hn > 0 && memcmp(sp[heap[0]].last, p, len) < 0)
			heap_pop(heap, &hn, sp);
		if (hn == 0)
			continue;
		memcpy(seg.first, p, 16);
		memset(seg.last, 0, 16);
		memset(seg.last, 0xff, len);
		for (size_t k = i + 1; k < nb; k++) {
			if (memcmp(b[k], p, len) != 0) {
				memcpy(seg.last, b[k], 16);
				addr_dec(seg.last, len);
				break;
			}
		}
		seg.timeout_ms = sp[heap[0]].timeout_ms;
		if (have && cur.timeout_ms == seg.timeout_ms) {
			uint8_t next[16];

			memcpy(next, cur.last, 16);
			addr_inc(next, len);
			if (memcmp(next, seg.first, len) == 0) {
				memcpy(cur.last, seg.last, 16);
				continue;
			}
		}
		if (have && put_interval(s, family, cur.first, cur.last,
					 cur.timeout_ms) < 0)
			goto out;
		cur = seg;
		have = true;
	}
	if (have && put_interval(s, family, cur.first, cur.last,
				 cur.timeout_ms) < 0)
		goto out;
	rc = 0;
out:
	free(b);
	free(heap);
	return rc;
}

/*
 * See fw_nft.h. Per family: DELSETELEM naming only the set (a flush),
 * then the disjoint pieces in as many NEWSETELEM requests as they need.
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
		struct msg_ref ref = {.set = (uint8_t)set,
				      .family = (uint8_t)fams[f]};
		struct nftnl_set *s = set_handle(set_name(set, fams[f]));
		struct nlmsghdr *nlh;
		size_t m = 0;
		int brc;

		if (s == NULL)
			goto oom;
		/* DELSETELEM with table and set only: flush the set. */
		ref.kind = MSG_FLUSH;
		nlh = txn_msg(fw, &t, NFT_MSG_DELSETELEM, 0, &ref);
		if (nlh == NULL) {
			nftnl_set_free(s);
			goto oom;
		}
		put_set_name(nlh, set_name(set, fams[f]));
		if (nftnl_batch_update(t.b) < 0) {
			nftnl_set_free(s);
			goto oom;
		}
		for (size_t i = 0; i < n; i++) {
			if (elems[i].family != fams[f])
				continue;
			memset(&sp[m], 0, sizeof sp[m]);
			memcpy(sp[m].first, elems[i].first, fam_len(fams[f]));
			memcpy(sp[m].last, elems[i].last, fam_len(fams[f]));
			sp[m].timeout_ms = elems[i].timeout_ms;
			m++;
		}
		ref.kind = MSG_ADD;
		brc = put_disjoint(s, fams[f], sp, m);
		if (brc == 0 && m > 0)
			brc = txn_elems(fw, &t, NFT_MSG_NEWSETELEM, s, &ref);
		nftnl_set_free(s);
		if (brc < 0)
			goto oom;
	}
	if (txn_talk(fw, &t, &a, err, errlen) == 0) {
		if (a.nerrs == 0) {
			rc = 0;
		} else {
			const struct msg_ref *r = &t.refs[a.errs[0].ref];

			seterr(err, errlen, "fw: replace: %s %s: %s",
			       r->kind == MSG_FLUSH ? "flush" : "add to",
			       set_name(r->set, r->family),
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

struct dump_key {
	uint8_t key[16];
	bool end;
	uint64_t expires_ms; /* 0 = no timeout */
};

struct dump_ctx {
	struct nftnl_set *s;
	int perr;
};

/* Dump callback: append the elements of one reply to d->s. */
static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;

	if (nftnl_set_elems_nlmsg_parse(nlh, d->s) < 0) {
		d->perr = errno ? errno : EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
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

/* Read every element of the named set into d->s with a GETSETELEM dump. */
static int dump_read(struct bc_fw *fw, const char *name, struct dump_ctx *d,
		     char *err, size_t errlen)
{
	struct nlmsghdr *nlh;
	uint32_t seq = fw->seq++;
	int fd = mnl_socket_get_fd(fw->nl);
	int rc;

	drain(fw);
	nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSETELEM,
				    NFPROTO_INET, NLM_F_DUMP, seq);
	put_set_name(nlh, name);
	if (mnl_socket_sendto(fw->nl, nlh, nlh->nlmsg_len) < 0) {
		seterr(err, errlen, "fw: dump %s: send: %s", name,
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
			seterr(err, errlen, "fw: dump %s: %s", name,
			       rc == 0 ? "no reply" : strerror(errno));
			return -1;
		}
		ret = mnl_socket_recvfrom(fw->nl, fw->rx, RX_BUF_SIZE);
		if (ret < 0) {
			seterr(err, errlen, "fw: dump %s: recv: %s", name,
			       strerror(errno));
			return -1;
		}
		errno = 0;
		rc = mnl_cb_run(fw->rx, (size_t)ret, seq, fw->portid, dump_cb,
				d);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0) {
			seterr(err, errlen, "fw: dump %s: %s", name,
			       strerror(d->perr ? d->perr : errno));
			return -1;
		}
	}
}

/*
 * See fw_nft.h. Elements are sorted by key (end before start at equal
 * keys) and each start is paired with the end that follows it; a start
 * with no end runs to the all-ones address.
 */
long bc_fw_dump(struct bc_fw *fw, enum bc_fw_set set, int family,
		bc_fw_dump_cb cb, void *arg, char *err, size_t errlen)
{
	struct dump_ctx d = {0};
	struct dump_key *k = NULL;
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	const char *name;
	size_t len, nk = 0, cap = 0;
	long count = -1;

	if (fw == NULL || cb == NULL ||
	    (set != BC_FW_FLEET && set != BC_FW_LOCAL) ||
	    (family != AF_INET && family != AF_INET6)) {
		seterr(err, errlen, "fw: dump: bad arguments");
		return -1;
	}
	name = set_name(set, family);
	len = fam_len(family);
	d.s = set_handle(name);
	if (d.s == NULL) {
		seterr(err, errlen, "fw: out of memory");
		return -1;
	}
	if (dump_read(fw, name, &d, err, errlen) < 0)
		goto out;
	it = nftnl_set_elems_iter_create(d.s);
	if (it == NULL)
		goto oom;
	while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
		uint32_t klen = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY,
						     &klen);

		if (key == NULL || klen != len)
			continue;
		if (nk == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct dump_key *p = realloc(k, ncap * sizeof *p);

			if (p == NULL)
				goto oom;
			k = p;
			cap = ncap;
		}
		memset(&k[nk], 0, sizeof k[nk]);
		memcpy(k[nk].key, key, len);
		k[nk].end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
			    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
			     NFT_SET_ELEM_INTERVAL_END);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
			uint64_t x = 0;

			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
				x = nftnl_set_elem_get_u64(
					e, NFTNL_SET_ELEM_EXPIRATION);
			k[nk].expires_ms = x ? x : 1;
		}
		nk++;
	}
	if (nk > 1)
		qsort(k, nk, sizeof *k, cmp_dump);
	count = 0;
	for (size_t i = 0; i < nk; i++) {
		struct bc_fw_elem out = {.op = BC_FW_ADD,
					 .set = (uint8_t)set,
					 .family = (uint8_t)family};

		if (k[i].end)
			continue; /* an end without a start: skip it */
		memcpy(out.first, k[i].key, len);
		out.timeout_ms = k[i].expires_ms;
		if (i + 1 < nk && k[i + 1].end) {
			memcpy(out.last, k[i + 1].key, len);
			addr_dec(out.last, len);
			i++;
		} else {
			memset(out.last, 0xff, len);
		}
		cb(&out, arg);
		count++;
	}
	goto out;
oom:
	seterr(err, errlen, "fw: out of memory");
	count = -1;
out:
	if (it != NULL)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(d.s);
	free(k);
	return count;
}
