/*
 * fw_nft_priv.h - what the files of the firewall writer (fw_nft.h) share,
 * and nothing outside them includes: the handle, the transaction and its
 * request table, the span and dump types, the set naming, and the
 * functions one file offers the others (bc_fwn_*).
 *
 *   fw_nft.c        netlink transactions: batch, send, acks matched to
 *                   requests, dump exchanges, close
 *   fw_nft_setup.c  table, sets, chain and rules; old-layout migration
 *   fw_nft_write.c  bc_fw_apply and bc_fw_replace: element requests
 *   fw_nft_dump.c   read-back of a set's elements (bc_fw_dump)
 *
 * Same rules as fw_nft.h: nothing prints or exits, errors are -1 with one
 * line in the caller's err buffer (seterr).
 */
#ifndef BC_FW_NFT_PRIV_H
#define BC_FW_NFT_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h> /* before the linux/ headers */

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>

#include "agent/fw_nft.h"

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

/*
 * An interval in the sweep. Addresses are kept in all 16 bytes with the
 * unused tail of an IPv4 address zero, so comparators need no length.
 */
struct span {
	uint8_t first[16];
	uint8_t last[16];
	uint64_t timeout_ms;
};

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

/* Fill the caller's one-line error buffer (either may be NULL/0). */
static inline void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- addresses as big-endian numbers of 4 or 16 bytes ---------------- */

static inline size_t fam_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Kernel name of the set holding `set` addresses of `family`, `kind`. */
static inline const char *set_name(int set, int family, int kind)
{
	static const char *const names[2][2][2] = {
		{{"fleet4", "fleet4_nets"}, {"fleet6", "fleet6_nets"}},
		{{"local4", "local4_nets"}, {"local6", "local6_nets"}},
	};

	return names[set == BC_FW_LOCAL][family == AF_INET6][kind == KIND_NETS];
}

/* The kernel sets numbered 0..NSETS-1 as set_name() orders them. */
static inline int idx_set(size_t i)
{
	return i < 4 ? BC_FW_FLEET : BC_FW_LOCAL;
}

static inline int idx_family(size_t i)
{
	return (i & 2) ? AF_INET6 : AF_INET;
}

static inline int idx_kind(size_t i)
{
	return (i & 1) ? KIND_NETS : KIND_HOST;
}

/* The set flags each kind is created with. */
static inline uint32_t set_flags(int kind)
{
	return kind == KIND_NETS ? NFT_SET_INTERVAL | NFT_SET_TIMEOUT
				 : NFT_SET_TIMEOUT;
}

/* Which set of its name a record goes to: one address or a range. */
static inline int elem_kind(const struct bc_fw_elem *e)
{
	return memcmp(e->first, e->last, fam_len(e->family)) == 0 ? KIND_HOST
								   : KIND_NETS;
}

/*
 * Name the set of a set-element request and nothing else: with no element
 * list, DELSETELEM flushes the set and GETSETELEM dumps all of it.
 */
static inline void put_set_name(struct nlmsghdr *nlh, const char *name)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, BC_FW_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
}

/* ---- shared between the files (fw_nft.c unless said) ---------------- */

/* Start a transaction (BEGIN) in fresh batch pages. 0 or -1. */
int bc_fwn_txn_init(struct bc_fw *fw, struct txn *t);
/* Free the batch pages and the request table; t can be reused. */
void bc_fwn_txn_free(struct txn *t);
/* Start a request in the batch; remember what it is by its seq. */
struct nlmsghdr *bc_fwn_txn_msg(struct bc_fw *fw, struct txn *t, uint16_t type,
				uint16_t flags, const struct msg_ref *ref);
/* End the batch, send it, read one ack per request (see fw_nft.c). */
int bc_fwn_txn_talk(struct bc_fw *fw, struct txn *t, struct ack_ctx *a,
		    char *err, size_t errlen);
/* Free the error list of an exchange. */
void bc_fwn_ack_free(struct ack_ctx *a);
/* Discard replies left over from an exchange that was cut short. */
void bc_fwn_drain(struct bc_fw *fw);
/* Send a dump request built in fw->rx and feed every reply to cb. */
/* A NETLINK_NETFILTER socket bound to a port of its own (*portid), or
 * NULL with err. */
struct mnl_socket *bc_fwn_socket(uint32_t *portid, char *err, size_t errlen);
/* One reply into rx (RX_BUF_SIZE), waiting up to DUMP_WAIT_MS: its
 * length, or -1 with "fw: WHAT: ..." in err. */
ssize_t bc_fwn_recv(struct mnl_socket *nl, uint8_t *rx, const char *what,
		    char *err, size_t errlen);
int bc_fwn_nl_dump(struct bc_fw *fw, const struct nlmsghdr *req, uint32_t seq,
		   const char *what, mnl_cb_t cb, void *data, int *perr,
		   bool *enoent, char *err, size_t errlen);

/* fw_nft_dump.c: the elements of one kernel set into sv, as spans. */
int bc_fwn_read_set(struct bc_fw *fw, const char *name, size_t len,
		    bool interval, struct spanvec *sv, bool *enoent,
		    char *err, size_t errlen);
void bc_fwn_spanvec_free(struct spanvec *sv);

/* fw_nft_write.c: m spans of one set name and family into its two
 * (empty) kernel sets; sp is reordered. */
int bc_fwn_put_family(struct bc_fw *fw, struct txn *t, int set, int family,
		      struct span *sp, size_t m);

#endif
