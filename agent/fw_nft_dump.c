/*
 * fw_nft_dump.c - the firewall writer's read-back (fw_nft.h: bc_fw_dump):
 * the elements of a set name's hash and _nets sets through set-element
 * dumps, never by running nft; also what bc_fw_open's migration reads;
 * the same read in pages on a socket of its own (bc_fw_pager_*), and
 * single addresses looked up one request each (bc_fw_lookup).
 *
 * Untrusted-ish input: the kernel's replies, parsed by libnftnl into a
 * scratch set one reply at a time; keys of the wrong length are skipped,
 * an interval end without a start is skipped. Only compact keys are kept,
 * so a million elements never sit in libnftnl objects. Errors: -1 with
 * one line in err; a missing set can be told apart (enoent).
 */
#include "agent/fw_nft_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <libnftnl/set.h>

#include "common/interval.h"

/* ---- dump ------------------------------------------------------------- */

struct dump_ctx {
	struct spanvec *out;
	size_t len;    /* key length the set must have */
	bool interval; /* keys go to out->k, to be paired; else to out->v */
	int perr;
};

void bc_fwn_spanvec_free(struct spanvec *sv)
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
 * Append the elements of kernel set `name` (keys of len bytes) to sv as
 * spans with their remaining timeouts. An interval set's starts are
 * paired with the ends that follow them (a start with no end runs to the
 * all-ones address); any other set's elements are single addresses.
 * A missing set sets *enoent (may be NULL: then it is an error).
 */
int bc_fwn_read_set(struct bc_fw *fw, const char *name, size_t len,
		    bool interval, struct spanvec *sv, bool *enoent,
		    char *err, size_t errlen)
{
	struct dump_ctx d = {.out = sv, .len = len, .interval = interval};
	struct nlmsghdr *nlh;
	uint32_t seq = fw->seq++;

	sv->nk = 0;
	bc_fwn_drain(fw);
	nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSETELEM,
				    NFPROTO_INET, NLM_F_DUMP, seq);
	put_set_name(nlh, name);
	if (bc_fwn_nl_dump(fw, nlh, seq, name, dump_cb, &d, &d.perr, enoent,
			   err, errlen) < 0)
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

/* The spans of sv to cb as elements of set and family. */
static void emit(const struct spanvec *sv, int set, int family,
		 bc_fw_dump_cb cb, void *arg)
{
	size_t len = fam_len(family);

	for (size_t i = 0; i < sv->n; i++) {
		struct bc_fw_elem out = {.op = BC_FW_ADD,
					 .set = (uint8_t)set,
					 .family = (uint8_t)family};

		memcpy(out.first, sv->v[i].first, len);
		memcpy(out.last, sv->v[i].last, len);
		out.timeout_ms = sv->v[i].timeout_ms;
		cb(&out, arg);
	}
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
	if (bc_fwn_read_set(fw, set_name(set, family, KIND_HOST), len, false,
			    &sv, NULL, err, errlen) < 0 ||
	    bc_fwn_read_set(fw, set_name(set, family, KIND_NETS), len, true,
			    &sv, NULL, err, errlen) < 0) {
		bc_fwn_spanvec_free(&sv);
		return -1;
	}
	count = (long)sv.n;
	if (sv.n > 1)
		qsort(sv.v, sv.n, sizeof *sv.v, cmp_span_fl);
	emit(&sv, set, family, cb, arg);
	bc_fwn_spanvec_free(&sv);
	return count;
}

/* ---- paged read-back -------------------------------------------------- */

struct bc_fw_pager {
	struct bc_fw *fw; /* its socket reads the _nets set at the end */
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint8_t *rx;
	int set, family;
	struct spanvec sv;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See fw_nft.h. */
struct bc_fw_pager *bc_fw_pager_open(struct bc_fw *fw, enum bc_fw_set set,
				     int family, char *err, size_t errlen)
{
	struct bc_fw_pager *p;
	struct nlmsghdr *nlh;

	if (fw == NULL || (set != BC_FW_FLEET && set != BC_FW_LOCAL) ||
	    (family != AF_INET && family != AF_INET6)) {
		seterr(err, errlen, "fw: pager: bad arguments");
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->rx = malloc(RX_BUF_SIZE)) == NULL) {
		seterr(err, errlen, "fw: out of memory");
		goto fail;
	}
	p->fw = fw;
	p->set = set;
	p->family = family;
	p->seq = fw->seq++;
	p->nl = bc_fwn_socket(&p->portid, err, errlen);
	if (p->nl == NULL)
		goto fail;
	nlh = nftnl_nlmsg_build_hdr((char *)p->rx, NFT_MSG_GETSETELEM,
				    NFPROTO_INET, NLM_F_DUMP, p->seq);
	put_set_name(nlh, set_name(set, family, KIND_HOST));
	if (mnl_socket_sendto(p->nl, nlh, nlh->nlmsg_len) < 0) {
		seterr(err, errlen, "fw: dump %s: send: %s",
		       set_name(set, family, KIND_HOST), strerror(errno));
		goto fail;
	}
	return p;
fail:
	bc_fw_pager_close(&p);
	return NULL;
}

/* See fw_nft.h. */
int bc_fw_pager_next(struct bc_fw_pager *p, int budget_ms, bc_fw_dump_cb cb,
		     void *arg, char *err, size_t errlen)
{
	const char *name = set_name(p->set, p->family, KIND_HOST);
	struct dump_ctx d = {.out = &p->sv, .len = fam_len(p->family)};
	int64_t t0 = mono_ms();
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "dump %s", name);
	do {
		ssize_t ret = bc_fwn_recv(p->nl, p->rx, what, err, errlen);

		if (ret < 0)
			return -1;
		d.perr = 0;
		errno = 0;
		rc = mnl_cb_run(p->rx, (size_t)ret, p->seq, p->portid, dump_cb,
				&d);
		if (rc < 0) {
			seterr(err, errlen, "fw: dump %s: %s", name,
			       strerror(d.perr ? d.perr : errno));
			return -1;
		}
	} while (rc != MNL_CB_STOP && mono_ms() - t0 < budget_ms);
	emit(&p->sv, p->set, p->family, cb, arg);
	p->sv.n = 0;
	if (rc != MNL_CB_STOP)
		return 1;
	/* the hosts are read: the _nets set (prefixes, few) at once */
	if (bc_fwn_read_set(p->fw, set_name(p->set, p->family, KIND_NETS),
			    fam_len(p->family), true, &p->sv, NULL, err,
			    errlen) < 0)
		return -1;
	emit(&p->sv, p->set, p->family, cb, arg);
	p->sv.n = 0;
	return 0;
}

/* See fw_nft.h. */
void bc_fw_pager_close(struct bc_fw_pager **p)
{
	if (p == NULL || *p == NULL)
		return;
	if ((*p)->nl != NULL)
		mnl_socket_close((*p)->nl);
	bc_fwn_spanvec_free(&(*p)->sv);
	free((*p)->rx);
	free(*p);
	*p = NULL;
}

/* ---- lookup ----------------------------------------------------------- */

/* See fw_nft.h. */
long bc_fw_lookup(struct bc_fw *fw, enum bc_fw_set set,
		  const struct bc_fw_elem *e, size_t n, bc_fw_dump_cb cb,
		  void *arg, char *err, size_t errlen)
{
	long found = 0;

	if (fw == NULL || (set != BC_FW_FLEET && set != BC_FW_LOCAL)) {
		seterr(err, errlen, "fw: lookup: bad arguments");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int fam = e[i].family;
		size_t len = fam == AF_INET ? 4 : 16;
		uint32_t seq = fw->seq++;
		struct nlmsghdr *nlh;
		struct nlattr *list, *el, *key;
		ssize_t ret;
		int rc;

		if ((fam != AF_INET && fam != AF_INET6) ||
		    memcmp(e[i].first, e[i].last, len) != 0)
			continue;
		bc_fwn_drain(fw);
		nlh = nftnl_nlmsg_build_hdr((char *)fw->rx, NFT_MSG_GETSETELEM,
					    NFPROTO_INET, 0, seq);
		put_set_name(nlh, set_name(set, fam, KIND_HOST));
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, len, e[i].first);
		mnl_attr_nest_end(nlh, key);
		mnl_attr_nest_end(nlh, el);
		mnl_attr_nest_end(nlh, list);
		if (mnl_socket_sendto(fw->nl, nlh, nlh->nlmsg_len) < 0) {
			seterr(err, errlen, "fw: lookup: send: %s",
			       strerror(errno));
			return -1;
		}
		ret = bc_fwn_recv(fw->nl, fw->rx, "lookup", err, errlen);
		if (ret < 0)
			return -1;
		/* the element, or an error: ENOENT says it is not there */
		errno = 0;
		rc = mnl_cb_run(fw->rx, (size_t)ret, seq, fw->portid, NULL,
				NULL);
		if (rc < 0 && errno == ENOENT)
			continue;
		if (rc < 0) {
			seterr(err, errlen, "fw: lookup: %s", strerror(errno));
			return -1;
		}
		found++;
		cb(&e[i], arg);
	}
	return found;
}

