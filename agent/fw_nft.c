/*
 * fw_nft.c - the firewall writer's netlink transactions (fw_nft.h): keeps
 * `table inet bancluster` in the kernel with libnftnl netlink batches,
 * never by running nft. The other files build requests (fw_nft_setup.c,
 * fw_nft_write.c) or dumps (fw_nft_dump.c); this one sends and answers.
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
 */
#include "agent/fw_nft_priv.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/uio.h>

#include <linux/netlink.h>

/* ---- transactions ----------------------------------------------------- */

int bc_fwn_txn_init(struct bc_fw *fw, struct txn *t)
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
void bc_fwn_txn_free(struct txn *t)
{
	if (t->b != NULL)
		nftnl_batch_free(t->b);
	free(t->refs);
	memset(t, 0, sizeof *t);
}

/* Start a request in the batch; remember what it is by its seq. */
struct nlmsghdr *bc_fwn_txn_msg(struct bc_fw *fw, struct txn *t, uint16_t type,
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
void bc_fwn_drain(struct bc_fw *fw)
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
int bc_fwn_txn_talk(struct bc_fw *fw, struct txn *t, struct ack_ctx *a,
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
	bc_fwn_drain(fw);
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
void bc_fwn_ack_free(struct ack_ctx *a)
{
	free(a->errs);
	a->errs = NULL;
}

/*
 * Send the dump request built in fw->rx (sequence seq) and feed every
 * reply to cb until the dump ends. A missing table or set answers ENOENT:
 * -1 with *enoent set, nothing in err. 0 or -1.
 */
struct mnl_socket *bc_fwn_socket(uint32_t *portid, char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);

	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, errlen, "fw: netlink socket: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return NULL;
	}
	*portid = mnl_socket_get_portid(nl);
	return nl;
}

ssize_t bc_fwn_recv(struct mnl_socket *nl, uint8_t *rx, const char *what,
		    char *err, size_t errlen)
{
	struct pollfd pfd = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
	ssize_t ret;
	int rc;

	do
		rc = poll(&pfd, 1, DUMP_WAIT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0) {
		seterr(err, errlen, "fw: %s: %s", what,
		       rc == 0 ? "no reply" : strerror(errno));
		return -1;
	}
	ret = mnl_socket_recvfrom(nl, rx, RX_BUF_SIZE);
	if (ret < 0)
		seterr(err, errlen, "fw: %s: recv: %s", what, strerror(errno));
	return ret;
}

int bc_fwn_nl_dump(struct bc_fw *fw, const struct nlmsghdr *req, uint32_t seq,
		   const char *what, mnl_cb_t cb, void *data, int *perr,
		   bool *enoent, char *err, size_t errlen)
{
	char dwhat[96];
	int rc;

	snprintf(dwhat, sizeof(dwhat), "dump %s", what);
	if (mnl_socket_sendto(fw->nl, req, req->nlmsg_len) < 0) {
		seterr(err, errlen, "fw: dump %s: send: %s", what,
		       strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t ret = bc_fwn_recv(fw->nl, fw->rx, dwhat, err, errlen);

		if (ret < 0)
			return -1;
		errno = 0;
		rc = mnl_cb_run(fw->rx, (size_t)ret, seq, fw->portid, cb, data);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0) {
			int code = *perr ? *perr : errno;

			if (code == ENOENT && enoent != NULL) {
				*enoent = true;
				bc_fwn_drain(fw);
				return -1;
			}
			seterr(err, errlen, "fw: dump %s: %s", what,
			       strerror(code));
			return -1;
		}
	}
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

