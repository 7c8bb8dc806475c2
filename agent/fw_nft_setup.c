/*
 * fw_nft_setup.c - the firewall writer's table (fw_nft.h: bc_fw_open):
 * table, the eight sets, the input chain and its drop rules, created
 * idempotently in one transaction, and the move out of an old layout.
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
 * Old layout: an agent before the split kept everything in interval sets
 * named fleet4 etc. bc_fw_open() finds any of the eight sets whose type
 * differs from the layout above, reads every element of those sets, and
 * in the same transaction that (re)creates the table flushes the chain,
 * deletes them, creates the eight sets, puts the elements back (remaining
 * timeouts) and adds the rules: packets see the old generation or the new
 * one, never a moment without the bans.
 *
 * Inputs: the port list (checked here) and the kernel's set listing.
 * Errors: NULL with one line in err; nothing prints or exits.
 */
#include "agent/fw_nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <linux/netlink.h>
#include <netinet/in.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

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
		struct nlmsghdr *nlh = bc_fwn_txn_msg(fw, t, type, flags, ref);

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
	struct nlmsghdr *nlh = bc_fwn_txn_msg(fw, t, type, flags, &ref);

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
	bc_fwn_drain(fw);
	nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSET,
				    NFPROTO_INET, NLM_F_DUMP, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, BC_FW_TABLE);
	if (bc_fwn_nl_dump(fw, nlh, seq, "sets", probe_cb, p, &p->perr,
			   &enoent, err, errlen) < 0 &&
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
		if (bc_fwn_read_set(fw, set_name(set, family, kind),
				    fam_len(family), p->interval[i], g, &gone,
				    err, errlen) < 0 &&
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
		if (bc_fwn_put_family(fw, t, g < 2 ? BC_FW_FLEET : BC_FW_LOCAL,
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
	fw->nl = bc_fwn_socket(&fw->portid, err, errlen);
	if (fw->nl == NULL)
		goto fail;
	/* Errors need only the header of the failed request, not a copy. */
	(void)mnl_socket_setsockopt(fw->nl, NETLINK_CAP_ACK, &one, sizeof one);
	fw->seq = (uint32_t)time(NULL);

	if (probe_sets(fw, &p, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < NSETS; i++)
		migrate = migrate || p.wrong[i];
	if (migrate && (moved = migrate_read(fw, &p, sv, err, errlen)) < 0)
		goto fail;
	if (bc_fwn_txn_init(fw, &t) < 0 || open_table(fw, &t) < 0 ||
	    open_chain(fw, &t) < 0 ||
	    (migrate && migrate_delete(fw, &t, &p) < 0) ||
	    open_sets(fw, &t) < 0 || (migrate && migrate_put(fw, &t, sv) < 0) ||
	    open_rules(fw, &t, cfg) < 0) {
		bc_fwn_txn_free(&t);
		seterr(err, errlen, "fw: out of memory building batch");
		goto fail;
	}
	if (bc_fwn_txn_talk(fw, &t, &a, err, errlen) < 0) {
		bc_fwn_ack_free(&a);
		bc_fwn_txn_free(&t);
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
		bc_fwn_ack_free(&a);
		bc_fwn_txn_free(&t);
		goto fail;
	}
	bc_fwn_ack_free(&a);
	bc_fwn_txn_free(&t);
	for (size_t g = 0; g < 4; g++)
		bc_fwn_spanvec_free(&sv[g]);
	fw->migrated = moved;
	return fw;
fail:
	for (size_t g = 0; g < 4; g++)
		bc_fwn_spanvec_free(&sv[g]);
	bc_fw_close(&fw);
	return NULL;
}

/* See fw_nft.h. */
long bc_fw_migrated(const struct bc_fw *fw)
{
	return fw == NULL ? -1 : fw->migrated;
}
