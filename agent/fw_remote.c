/*
 * fw_remote.c - the firewall process and its client (fw_remote.h).
 *
 * Untrusted input, for the server: everything on the socket (it comes
 * from the process that talks to the network). Sizes are checked before
 * anything is read from a message; a bad message ends the process. The
 * server owns the struct bc_fw it serves (the firewall context of
 * agent.h) and the element buffer of a transaction being received.
 *
 * The client (the signer) gets fw_nft.h's contracts: 0 or -1 with the
 * firewall's one-line error; a socket that fails marks r->dead, and the
 * agent stops (nothing would reach the kernel any more).
 */
#include "fw_remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	FWR_APPLY = 1,
	FWR_REPLACE,
	FWR_ELEMS,
	FWR_COMMIT,
	FWR_DUMP,
	FWR_REOPEN,
	FWR_REPLY,
	FWR_END,
	FWR_PAGE,
	FWR_LOOKUP,
};

struct hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t set;
	uint32_t count;
	int32_t family; /* DUMP, PAGE, LOOKUP; REPLY: rc; END: 1 more pages */
};

struct reply {
	struct hdr h;
	char err[256];
};

#define MSG_MAX (sizeof(struct hdr) + BC_FWR_CHUNK * sizeof(struct bc_fw_elem))

/* ---------- client ---------- */

static int send_hdr(int fd, int type, int set, uint32_t count, int32_t fam,
		    const void *body, size_t blen)
{
	uint8_t buf[MSG_MAX];
	struct hdr h = {BC_FWR_MAGIC, (uint16_t)type, (uint16_t)set, count, fam};

	memcpy(buf, &h, sizeof(h));
	if (blen > 0)
		memcpy(buf + sizeof(h), body, blen);
	return send(fd, buf, sizeof(h) + blen, MSG_NOSIGNAL) ==
			       (ssize_t)(sizeof(h) + blen)
		       ? 0
		       : -1;
}

static int get_reply(int fd, char *err, size_t errlen)
{
	struct reply r;
	ssize_t n = recv(fd, &r, sizeof(r), 0);

	if (n != (ssize_t)sizeof(r) || r.h.magic != BC_FWR_MAGIC ||
	    r.h.type != FWR_REPLY) {
		snprintf(err, errlen, "firewall process gone");
		return -2;
	}
	r.err[sizeof(r.err) - 1] = '\0';
	if (r.h.family != 0) {
		snprintf(err, errlen, "%s", r.err);
		return -1;
	}
	return 0;
}

static int send_elems(struct bc_fwr *r, int type, enum bc_fw_set set,
		      const struct bc_fw_elem *e, size_t n, char *err,
		      size_t errlen)
{
	size_t off = 0;
	int fd = r->fd, rc;

	if (send_hdr(fd, type, set, (uint32_t)n, 0, NULL, 0) < 0)
		goto gone;
	while (off < n) {
		size_t k = n - off < BC_FWR_CHUNK ? n - off : BC_FWR_CHUNK;

		if (send_hdr(fd, FWR_ELEMS, set, (uint32_t)k, 0, e + off,
			     k * sizeof(*e)) < 0)
			goto gone;
		off += k;
	}
	if (send_hdr(fd, FWR_COMMIT, set, 0, 0, NULL, 0) < 0)
		goto gone;
	rc = get_reply(fd, err, errlen);
	if (rc == -2)
		r->dead = 1;
	return rc < 0 ? -1 : 0;
gone:
	r->dead = 1;
	snprintf(err, errlen, "firewall process gone: %s", strerror(errno));
	return -1;
}

int bc_fwr_apply(struct bc_fwr *r, const struct bc_fw_elem *ops, size_t n,
		 char *err, size_t errlen)
{
	return send_elems(r, FWR_APPLY, BC_FW_FLEET, ops, n, err, errlen);
}

int bc_fwr_replace(struct bc_fwr *r, enum bc_fw_set set,
		   const struct bc_fw_elem *elems, size_t n, char *err,
		   size_t errlen)
{
	return send_elems(r, FWR_REPLACE, set, elems, n, err, errlen);
}

/*
 * The firewall's answer to a DUMP, PAGE or LOOKUP: elements to cb until
 * END (its family field to *more), or its error. The count, or -1.
 */
static long get_elems(struct bc_fwr *r, bc_fw_dump_cb cb, void *arg,
		      int *more, char *err, size_t errlen)
{
	uint8_t buf[MSG_MAX];
	long total = 0;

	for (;;) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
		struct hdr h;
		size_t i;

		if (n < (ssize_t)sizeof(h)) {
			r->dead = 1;
			snprintf(err, errlen, "firewall process gone");
			return -1;
		}
		memcpy(&h, buf, sizeof(h));
		if (h.type == FWR_END) {
			if (more != NULL)
				*more = h.family != 0;
			return total;
		}
		if (h.type == FWR_REPLY && (size_t)n == sizeof(struct reply)) {
			snprintf(err, errlen, "%.255s", (const char *)buf + sizeof(h));
			return -1;
		}
		if (h.type != FWR_ELEMS || h.count > BC_FWR_CHUNK ||
		    (size_t)n != sizeof(h) + h.count * sizeof(struct bc_fw_elem)) {
			snprintf(err, errlen, "firewall process: bad dump message");
			return -1;
		}
		for (i = 0; i < h.count; i++) {
			struct bc_fw_elem e;

			memcpy(&e, buf + sizeof(h) + i * sizeof(e), sizeof(e));
			cb(&e, arg);
			total++;
		}
	}
}

long bc_fwr_dump(struct bc_fwr *r, enum bc_fw_set set, int family,
		 bc_fw_dump_cb cb, void *arg, char *err, size_t errlen)
{
	if (send_hdr(r->fd, FWR_DUMP, set, 0, family, NULL, 0) < 0) {
		r->dead = 1;
		snprintf(err, errlen, "firewall process gone");
		return -1;
	}
	return get_elems(r, cb, arg, NULL, err, errlen);
}

int bc_fwr_page(struct bc_fwr *r, enum bc_fw_set set, int family, int start,
		bc_fw_dump_cb cb, void *arg, char *err, size_t errlen)
{
	int more = 0;

	if (send_hdr(r->fd, FWR_PAGE, set, start ? 1 : 0, family, NULL, 0) < 0) {
		r->dead = 1;
		snprintf(err, errlen, "firewall process gone");
		return -1;
	}
	if (get_elems(r, cb, arg, &more, err, errlen) < 0)
		return -1;
	return more;
}

long bc_fwr_lookup(struct bc_fwr *r, enum bc_fw_set set,
		   const struct bc_fw_elem *e, size_t n, bc_fw_dump_cb cb,
		   void *arg, char *err, size_t errlen)
{
	if (n > BC_FWR_CHUNK) {
		snprintf(err, errlen, "firewall: lookup of more than %d elements",
			 BC_FWR_CHUNK);
		return -1;
	}
	if (send_hdr(r->fd, FWR_LOOKUP, set, (uint32_t)n, 0, e,
		     n * sizeof(*e)) < 0) {
		r->dead = 1;
		snprintf(err, errlen, "firewall process gone");
		return -1;
	}
	return get_elems(r, cb, arg, NULL, err, errlen);
}

int bc_fwr_reopen(struct bc_fwr *r, const struct bc_fw_config *cfg, char *err,
		  size_t errlen)
{
	int rc;

	if (send_hdr(r->fd, FWR_REOPEN, 0, 0, 0, cfg, sizeof(*cfg)) < 0) {
		r->dead = 1;
		snprintf(err, errlen, "firewall process gone");
		return -1;
	}
	rc = get_reply(r->fd, err, errlen);
	if (rc == -2)
		r->dead = 1;
	return rc < 0 ? -1 : 0;
}

/* ---------- server ---------- */

static void die(const char *why) __attribute__((noreturn));
static void die(const char *why)
{
	fprintf(stderr, "bancluster-agent [firewall]: %s; exiting\n", why);
	_exit(2);
}

static void reply(int fd, int rc, const char *err)
{
	struct reply r;

	memset(&r, 0, sizeof(r));
	r.h.magic = BC_FWR_MAGIC;
	r.h.type = FWR_REPLY;
	r.h.family = rc;
	snprintf(r.err, sizeof(r.err), "%s", err);
	if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) != (ssize_t)sizeof(r))
		_exit(0);
}

struct dump_ctx {
	int fd;
	uint8_t buf[MSG_MAX];
	uint32_t n;
	int set;
};

static void flush_dump(struct dump_ctx *d)
{
	struct hdr h = {BC_FWR_MAGIC, FWR_ELEMS, (uint16_t)d->set, d->n, 0};

	memcpy(d->buf, &h, sizeof(h));
	if (send(d->fd, d->buf, sizeof(h) + d->n * sizeof(struct bc_fw_elem),
		 MSG_NOSIGNAL) < 0)
		_exit(0);
	d->n = 0;
}

static void dump_cb(const struct bc_fw_elem *e, void *arg)
{
	struct dump_ctx *d = arg;

	memcpy(d->buf + sizeof(struct hdr) + d->n * sizeof(*e), e, sizeof(*e));
	if (++d->n == BC_FWR_CHUNK)
		flush_dump(d);
}

/* The rest of a dump's elements, then END telling whether more follow. */
static void end_dump(struct dump_ctx *d, int more)
{
	struct hdr e = {BC_FWR_MAGIC, FWR_END, 0, 0, more};

	if (d->n > 0)
		flush_dump(d);
	if (send(d->fd, &e, sizeof(e), MSG_NOSIGNAL) < 0)
		_exit(0);
}

static int elem_ok(const struct bc_fw_elem *e, int replace, int set)
{
	size_t i;

	for (i = 0; i < sizeof(e->pad); i++)
		if (e->pad[i] != 0)
			return 0;
	if (e->family != AF_INET && e->family != AF_INET6)
		return 0;
	if (e->set != BC_FW_FLEET && e->set != BC_FW_LOCAL)
		return 0;
	if (replace)
		return e->op == BC_FW_ADD && e->set == set;
	return e->op == BC_FW_ADD || e->op == BC_FW_DEL;
}

void bc_fwr_serve(struct bc_fw *fw, int fd)
{
	uint8_t *buf = malloc(MSG_MAX);
	struct dump_ctx *d = calloc(1, sizeof(*d));
	struct bc_fw_pager *pager = NULL;
	struct bc_fw_elem *acc = NULL;
	size_t n = 0, cap = 0, expect = 0;
	int open_type = 0, set = 0;
	char err[256];

	if (buf == NULL || d == NULL)
		die("out of memory");
	d->fd = fd;
	for (;;) {
		ssize_t len = recv(fd, buf, MSG_MAX, 0);
		struct hdr h;

		if (len == 0)
			_exit(0); /* the signer closed: done */
		if (len < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		if ((size_t)len < sizeof(h))
			die("short message");
		memcpy(&h, buf, sizeof(h));
		if (h.magic != BC_FWR_MAGIC)
			die("bad magic");
		switch (h.type) {
		case FWR_APPLY:
		case FWR_REPLACE:
			if (open_type || (size_t)len != sizeof(h) ||
			    h.count > BC_FWR_MAX || h.set > BC_FW_LOCAL)
				die("bad transaction header");
			open_type = h.type;
			set = h.set;
			expect = h.count;
			n = 0;
			if (expect > cap) {
				struct bc_fw_elem *v = realloc(acc, expect * sizeof(*v));

				if (v == NULL)
					die("out of memory");
				acc = v;
				cap = expect;
			}
			break;
		case FWR_ELEMS: {
			size_t i;

			if (!open_type || h.count == 0 || h.count > BC_FWR_CHUNK ||
			    (size_t)len != sizeof(h) + h.count * sizeof(*acc) ||
			    n + h.count > expect)
				die("bad element message");
			memcpy(acc + n, buf + sizeof(h), h.count * sizeof(*acc));
			for (i = n; i < n + h.count; i++)
				if (!elem_ok(&acc[i], open_type == FWR_REPLACE, set))
					die("bad element");
			n += h.count;
			break;
		}
		case FWR_COMMIT: {
			int rc;

			if (!open_type || (size_t)len != sizeof(h) || n != expect)
				die("bad commit");
			err[0] = '\0';
			rc = open_type == FWR_APPLY
				     ? bc_fw_apply(fw, acc, n, err, sizeof(err))
				     : bc_fw_replace(fw, (enum bc_fw_set)set, acc, n,
						     err, sizeof(err));
			open_type = 0;
			reply(fd, rc, err);
			break;
		}
		case FWR_DUMP:
			if (open_type || (size_t)len != sizeof(h) ||
			    h.set > BC_FW_LOCAL ||
			    (h.family != AF_INET && h.family != AF_INET6))
				die("bad dump request");
			d->set = h.set;
			d->n = 0;
			err[0] = '\0';
			if (bc_fw_dump(fw, (enum bc_fw_set)h.set, h.family, dump_cb,
				       d, err, sizeof(err)) < 0)
				reply(fd, -1, err);
			else
				end_dump(d, 0);
			break;
		case FWR_PAGE: {
			int rc;

			if (open_type || (size_t)len != sizeof(h) ||
			    h.set > BC_FW_LOCAL || h.count > 1 ||
			    (h.family != AF_INET && h.family != AF_INET6))
				die("bad page request");
			d->set = h.set;
			d->n = 0;
			/* none open: a reload closed it, or its last page failed */
			snprintf(err, sizeof(err), "fw: read-back interrupted");
			if (h.count == 1) { /* a new read-back */
				bc_fw_pager_close(&pager);
				pager = bc_fw_pager_open(fw, (enum bc_fw_set)h.set,
							 h.family, err, sizeof(err));
			}
			rc = pager == NULL ? -1
					   : bc_fw_pager_next(pager, BC_FWR_PAGE_MS,
							      dump_cb, d, err,
							      sizeof(err));
			if (rc <= 0)
				bc_fw_pager_close(&pager);
			if (rc < 0)
				reply(fd, -1, err);
			else
				end_dump(d, rc);
			break;
		}
		case FWR_LOOKUP: {
			size_t i;

			if (open_type || h.set > BC_FW_LOCAL ||
			    h.count > BC_FWR_CHUNK ||
			    (size_t)len != sizeof(h) + h.count * sizeof(*acc))
				die("bad lookup request");
			if (h.count > cap) {
				struct bc_fw_elem *v = realloc(acc, h.count * sizeof(*v));

				if (v == NULL)
					die("out of memory");
				acc = v;
				cap = h.count;
			}
			memcpy(acc, buf + sizeof(h), h.count * sizeof(*acc));
			for (i = 0; i < h.count; i++)
				if (!elem_ok(&acc[i], 1, h.set))
					die("bad element");
			d->set = h.set;
			d->n = 0;
			err[0] = '\0';
			if (bc_fw_lookup(fw, (enum bc_fw_set)h.set, acc, h.count,
					 dump_cb, d, err, sizeof(err)) < 0)
				reply(fd, -1, err);
			else
				end_dump(d, 0);
			break;
		}
		case FWR_REOPEN: {
			struct bc_fw_config cfg;
			struct bc_fw *nfw;

			if (open_type || (size_t)len != sizeof(h) + sizeof(cfg))
				die("bad reopen");
			memcpy(&cfg, buf + sizeof(h), sizeof(cfg));
			if (cfg.nports > BC_FW_MAX_PORTS)
				die("bad port list");
			err[0] = '\0';
			nfw = bc_fw_open(&cfg, err, sizeof(err));
			if (nfw != NULL) {
				bc_fw_pager_close(&pager); /* reads through fw */
				bc_fw_close(&fw);
				fw = nfw;
			}
			reply(fd, nfw ? 0 : -1, err);
			break;
		}
		default:
			die("unknown message type");
		}
	}
}
