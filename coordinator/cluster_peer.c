/*
 * cluster_peer.c - a follower notices at once that the leading
 * coordinator's process died (cluster_int.h: struct cl_peer).
 *
 * The leader's lease outlives its process by up to lease_ttl (at least
 * 1 s: etcd counts leases in seconds) plus etcd's expiry check (500 ms),
 * and no fleet decision is made meanwhile. A follower holds a TCP
 * connection to the leader's registered endpoint (its ROUTER; the
 * connection never speaks ZMTP, and what the leader sends, its greeting,
 * is read and dropped; libzmq closes it after its handshake timeout, and
 * it is made again). When that connection closes and a new one is
 * refused, no process listens on the leader's port any more: the
 * follower revokes the leader's lease, which deletes PREFIX/leader, and
 * campaigns. Revoking is safe even when it is wrong: every write of a
 * leader compares its lease (the fence), so a revoked leader only stops
 * deciding. It is not wrong-footed by a leader that is merely paused or
 * cut off (its kernel still accepts connections, or nothing answers at
 * all: the lease expires as before) nor by an endpoint that never
 * answered (a wrong advertise: only a connection that was up and then
 * refused counts). Input: the leader's registration (its own JSON) and
 * the bytes of its socket, which are not parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/cluster_int.h"

#define PEER_RETRY_MS 1000   /* a connection that failed: again after */
#define PEER_CONFIRM_MS 200  /* the connect that confirms a closed one */

void cl_peer_init(struct cl_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

void cl_peer_close(struct cl_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* The leader's endpoint from its registration: 0, or -1 (none usable: a
 * wildcard host, a name that does not resolve, no registration). */
static int resolve(struct cl_peer *p, struct bc_etcd *e, const struct bc_cluster *k)
{
	char key[CL_KEY_MAX], err[BC_ETCD_ERR_MAX], host[BC_CFG_STR_MAX], port[8];
	struct bc_etcd_range r;
	struct addrinfo hints, *res = NULL;
	json_error_t je;
	json_t *o = NULL, *ep;
	uint16_t pn;
	int rc = -1;

	cl_key(k, key, sizeof(key), "n/%s", p->name);
	if (bc_etcd_get(e, key, strlen(key), false, 0, 1, &r, err, sizeof(err)) < 0)
		return -1;
	if (r.n == 1)
		o = json_loadb((const char *)r.kvs[0].value, r.kvs[0].value_len,
			       JSON_REJECT_DUPLICATES, &je);
	bc_etcd_range_free(&r);
	ep = json_object_get(o, "endpoint");
	if (!json_is_string(ep) ||
	    bc_cfg_endpoint(json_string_value(ep), false, host, sizeof(host), &pn,
			    err, sizeof(err)) < 0 ||
	    strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0)
		goto out;
	snprintf(port, sizeof(port), "%u", pn);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL ||
	    res->ai_addrlen > sizeof(p->sa))
		goto out;
	memcpy(&p->sa, res->ai_addr, res->ai_addrlen);
	p->salen = res->ai_addrlen;
	rc = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	json_decref(o);
	return rc;
}

/* A non-blocking connect: the fd, or -1 with errno */
static int dial(const struct cl_peer *p)
{
	int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&p->sa, p->salen) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Wait up to ms for fd's connect: 1 up, 0 not yet, -1 failed (errno) */
static int dialled(int fd, int ms)
{
	struct pollfd f = {fd, POLLOUT, 0};
	int e = 0;
	socklen_t el = sizeof(e);

	if (poll(&f, 1, ms) <= 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 1;
}

/* The connection closed: is the leader's port refusing now? */
static bool gone(struct cl_peer *p)
{
	int fd = dial(p), r;

	if (fd < 0)
		return errno == ECONNREFUSED;
	r = dialled(fd, PEER_CONFIRM_MS);
	if (r == 1) { /* it listens: libzmq's handshake timeout closed ours */
		p->fd = fd;
		p->connecting = false;
		return false;
	}
	close(fd);
	return r < 0 && errno == ECONNREFUSED;
}

bool cl_peer_tick(struct cl_peer *p, struct bc_etcd *e, const struct bc_cluster *k,
		  const char *leader, int64_t lease)
{
	int64_t now = bc_mono_ms();
	int i;

	if (leader[0] == '\0' || lease == 0 || strcmp(leader, k->node) == 0) {
		cl_peer_close(p);
		p->name[0] = '\0';
		p->lease = 0;
		return false;
	}
	if (strcmp(p->name, leader) != 0 || p->lease != lease) {
		cl_peer_close(p);
		snprintf(p->name, sizeof(p->name), "%s", leader);
		p->lease = lease;
		p->was_up = false;
		p->have_addr = resolve(p, e, k) == 0;
		p->retry_ms = 0;
	}
	if (!p->have_addr)
		return false;
	if (p->fd < 0) {
		if (now < p->retry_ms)
			return false;
		p->fd = dial(p);
		p->connecting = true;
		if (p->fd < 0) {
			p->retry_ms = now + PEER_RETRY_MS;
			return p->was_up && errno == ECONNREFUSED;
		}
	}
	if (p->connecting) {
		int r = dialled(p->fd, 0);

		if (r == 0)
			return false;
		if (r < 0) {
			bool refused = errno == ECONNREFUSED;

			cl_peer_close(p);
			p->retry_ms = now + PEER_RETRY_MS;
			return p->was_up && refused;
		}
		p->connecting = false;
		p->was_up = true;
	}
	for (i = 0; i < 8; i++) {
		char buf[512];
		ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue; /* its ZMTP greeting: not read */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return false;
		cl_peer_close(p); /* closed or reset */
		return gone(p);
	}
	return false;
}
