/*
 * httpd.c - GET /metrics and GET /healthz for the coordinator (httpd.h).
 *
 * Untrusted input: everything a client sends. It is read into a fixed
 * buffer of BC_HTTPD_REQ_MAX bytes per connection and only ever parsed
 * by bc_httpd_parse(): request line at most BC_HTTPD_LINE_MAX bytes,
 * method A-Z, target of visible ASCII, HTTP/1.0 or HTTP/1.1, header
 * lines without control characters. Nothing a client sends is echoed,
 * logged or kept. One answer per connection, then the write side is shut
 * and what the client still sends is read and thrown away (at most
 * BC_HTTPD_DRAIN_MAX bytes, BC_HTTPD_DRAIN_MS) so that the answer is not
 * lost to a reset; then the socket is closed. At most BC_HTTPD_CONNS
 * connections: a new one closes the oldest. Every socket is
 * non-blocking; the loop polls them with its ZeroMQ sockets.
 * Errors: -1 / NULL with a message in err at open; nothing is printed.
 */
#include "httpd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "common/clock.h"

enum { C_FREE, C_READ, C_WRITE, C_DRAIN };

struct conn {
	int fd;
	int state;
	int64_t accepted_ms, deadline_ms;
	char in[BC_HTTPD_REQ_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	size_t drained;
};

struct bc_httpd {
	int lfd;
	int64_t accept_after_ms; /* accept failed for lack of resources */
	struct bc_httpd_ops ops;
	struct conn c[BC_HTTPD_CONNS];
	uint64_t answers[BC_HTTPD_STATUSES];
};

static const struct {
	int code;
	const char *text;
} status_line[BC_HTTPD_STATUSES] = {
	{200, "OK"},
	{400, "Bad Request"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{414, "URI Too Long"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{503, "Service Unavailable"},
	{0, "timeout"},
	{0, "dropped"},
};

const char *bc_httpd_status_name(enum bc_httpd_status s)
{
	static const char *n[] = {"200", "400", "404", "405", "414", "431",
				  "500", "503", "timeout", "dropped"};

	return (unsigned)s < BC_HTTPD_STATUSES ? n[s] : "?";
}

/* ---- the request ----------------------------------------------------- */

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

int bc_httpd_parse(const char *buf, size_t len, int *path)
{
	const char *nl, *sp1, *sp2, *end, *p, *q;
	size_t ll, scan = len < BC_HTTPD_LINE_MAX + 1 ? len : BC_HTTPD_LINE_MAX + 1;
	int status;

	/* the method so far: anything but A-Z before the first space is
	 * answered at once, without waiting for more */
	for (p = buf; p < buf + len && *p != ' '; p++)
		if (!is_upper(*p) || p - buf >= 16)
			return BC_HTTPD_400;
	nl = memchr(buf, '\n', scan);
	if (nl == NULL)
		return len > BC_HTTPD_LINE_MAX ? BC_HTTPD_414 : -1;
	end = nl;
	if (end > buf && end[-1] == '\r')
		end--;
	ll = (size_t)(end - buf);
	sp1 = memchr(buf, ' ', ll);
	if (sp1 == NULL || sp1 == buf)
		return BC_HTTPD_400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
		return BC_HTTPD_400;
	for (q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return BC_HTTPD_400;
	if (end - sp2 - 1 != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return BC_HTTPD_400;
	if (sp1 - buf != 3 || memcmp(buf, "GET", 3) != 0) {
		status = BC_HTTPD_405;
	} else {
		const char *qm = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
		size_t pl = (size_t)((qm != NULL ? qm : sp2) - sp1 - 1);

		status = BC_HTTPD_404;
		if (pl == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0) {
			status = BC_HTTPD_200;
			*path = 0;
		} else if (pl == 8 && memcmp(sp1 + 1, "/healthz", 8) == 0) {
			status = BC_HTTPD_200;
			*path = 1;
		}
	}
	/* header lines up to the empty one: "NAME: value", no control bytes */
	p = nl + 1;
	for (;;) {
		const char *hn = memchr(p, '\n', (size_t)(buf + len - p));
		const char *he;

		if (hn == NULL)
			return len >= BC_HTTPD_REQ_MAX ? BC_HTTPD_431 : -1;
		he = hn > p && hn[-1] == '\r' ? hn - 1 : hn;
		if (he == p)
			return status;
		if (*p == ':' || *p == ' ' || *p == '\t' ||
		    memchr(p, ':', (size_t)(he - p)) == NULL)
			return BC_HTTPD_400;
		for (q = p; q < he; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return BC_HTTPD_400;
		p = hn + 1;
	}
}

/* ---- connections ----------------------------------------------------- */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = C_FREE;
}

/*
 * One non-blocking recv into buf: the bytes read, or 0 when nothing is
 * there now. A peer that closed or failed is closed here and gives -1.
 */
static ssize_t conn_recv(struct conn *c, char *buf, size_t len)
{
	ssize_t r = recv(c->fd, buf, len, MSG_DONTWAIT);

	if (r > 0)
		return r;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	conn_close(c);
	return -1;
}

static void conn_drain(struct conn *c)
{
	char scratch[4096];

	for (;;) {
		ssize_t r = conn_recv(c, scratch, sizeof(scratch));

		if (r <= 0)
			return;
		c->drained += (size_t)r;
		if (c->drained > BC_HTTPD_DRAIN_MAX) {
			conn_close(c);
			return;
		}
	}
}

static void conn_write(struct conn *c, int64_t now)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		c->outoff += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	c->deadline_ms = now + BC_HTTPD_DRAIN_MS;
	conn_drain(c);
}

static void answer(struct bc_httpd *h, struct conn *c, int status, int path,
		   int64_t now)
{
	char head[512], why[256];
	char *body = NULL;
	const char *ctype = "text/plain; charset=utf-8", *extra = "";
	size_t blen = 0;
	int hl;

	if (status == BC_HTTPD_200 && path == 0) {
		if (h->ops.metrics(h->ops.arg, &body, &blen) < 0) {
			status = BC_HTTPD_500;
			body = NULL;
		} else {
			ctype = "text/plain; version=0.0.4; charset=utf-8";
		}
	} else if (status == BC_HTTPD_200 && path == 1) {
		why[0] = '\0';
		if (!h->ops.health(h->ops.arg, why, sizeof(why)))
			status = BC_HTTPD_503;
		body = malloc(sizeof(why) + 16);
		if (body != NULL)
			blen = (size_t)snprintf(body, sizeof(why) + 16, "%s\n",
						status == BC_HTTPD_200 ? "ok" : why);
	}
	if (status != BC_HTTPD_200 && status != BC_HTTPD_503) {
		free(body);
		body = malloc(64);
		if (body != NULL)
			blen = (size_t)snprintf(body, 64, "%d %s\n",
						status_line[status].code,
						status_line[status].text);
		if (status == BC_HTTPD_405)
			extra = "Allow: GET\r\n";
	}
	if (body == NULL)
		blen = 0;
	h->answers[status]++;
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
		      status_line[status].code, status_line[status].text, ctype,
		      blen, extra);
	c->out = malloc((size_t)hl + blen);
	if (c->out == NULL) {
		free(body);
		conn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)hl);
	if (blen > 0)
		memcpy(c->out + hl, body, blen);
	free(body);
	c->outlen = (size_t)hl + blen;
	c->outoff = 0;
	c->state = C_WRITE;
	c->deadline_ms = now + BC_HTTPD_WRITE_MS;
	conn_write(c, now);
}

static void conn_read(struct bc_httpd *h, struct conn *c, int64_t now)
{
	for (;;) {
		ssize_t r;
		int status, path = 0;

		if (c->inlen >= sizeof(c->in))
			return; /* cannot happen: the parser answers first */
		r = conn_recv(c, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r <= 0)
			return;
		c->inlen += (size_t)r;
		status = bc_httpd_parse(c->in, c->inlen, &path);
		if (status >= 0) {
			answer(h, c, status, path, now);
			return;
		}
	}
}

static void accept_all(struct bc_httpd *h, int64_t now)
{
	int n;

	for (n = 0; n < BC_HTTPD_ACCEPT_BURST; n++) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *slot = NULL;
		size_t i;

		if (fd < 0) {
			/* out of descriptors or memory: the listener stays
			 * readable, so stop polling it for a while rather than
			 * spin; other errors are that one connection's */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				h->accept_after_ms = now + BC_HTTPD_ACCEPT_PAUSE_MS;
			return;
		}
		for (i = 0; i < BC_HTTPD_CONNS; i++) {
			if (h->c[i].state == C_FREE) {
				slot = &h->c[i];
				break;
			}
			if (slot == NULL || h->c[i].accepted_ms < slot->accepted_ms)
				slot = &h->c[i];
		}
		if (slot->state != C_FREE) { /* full: the oldest makes room */
			h->answers[BC_HTTPD_DROPPED]++;
			conn_close(slot);
		}
		slot->fd = fd;
		slot->state = C_READ;
		slot->inlen = 0;
		slot->drained = 0;
		slot->accepted_ms = now;
		slot->deadline_ms = now + BC_HTTPD_READ_MS;
	}
}

/* ---- interface ------------------------------------------------------- */

struct bc_httpd *bc_httpd_open(const char *addr,
			       const struct bc_httpd_ops *ops, char *err,
			       size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned sl = 0;
	struct bc_httpd *h;
	int one = 1;
	size_t i;

	if (bc_addr_parse_hostport(addr, &ss, &sl, err, errlen) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->ops = *ops;
	for (i = 0; i < BC_HTTPD_CONNS; i++)
		h->c[i].fd = -1;
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0 ||
	    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(h->lfd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(h->lfd, 64) < 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror(errno));
		if (h->lfd >= 0)
			close(h->lfd);
		free(h);
		return NULL;
	}
	return h;
}

void bc_httpd_close(struct bc_httpd **hp)
{
	struct bc_httpd *h = *hp;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < BC_HTTPD_CONNS; i++)
		if (h->c[i].state != C_FREE)
			conn_close(&h->c[i]);
	close(h->lfd);
	free(h);
	*hp = NULL;
}

size_t bc_httpd_pollitems(struct bc_httpd *h, zmq_pollitem_t *it, size_t max)
{
	size_t n = 0, i;

	if (max == 0)
		return 0;
	/* events 0 while accepting is paused: polled for nothing */
	it[n++] = (zmq_pollitem_t){NULL, h->lfd,
				   bc_mono_ms() >= h->accept_after_ms ? ZMQ_POLLIN : 0, 0};
	for (i = 0; i < BC_HTTPD_CONNS && n < max; i++) {
		const struct conn *c = &h->c[i];

		if (c->state == C_FREE)
			continue;
		it[n++] = (zmq_pollitem_t){NULL, c->fd,
					   c->state == C_WRITE ? ZMQ_POLLOUT : ZMQ_POLLIN, 0};
	}
	return n;
}

void bc_httpd_handle(struct bc_httpd *h, const zmq_pollitem_t *it, size_t n,
		     int64_t now)
{
	size_t i, k;

	for (k = 0; k < n; k++) {
		if (it[k].revents == 0)
			continue;
		if (it[k].fd == h->lfd) {
			accept_all(h, now);
			continue;
		}
		for (i = 0; i < BC_HTTPD_CONNS; i++) {
			struct conn *c = &h->c[i];

			if (c->state == C_FREE || c->fd != it[k].fd)
				continue;
			if (c->state == C_READ)
				conn_read(h, c, now);
			else if (c->state == C_WRITE)
				conn_write(c, now);
			else
				conn_drain(c);
			break;
		}
	}
	for (i = 0; i < BC_HTTPD_CONNS; i++) {
		struct conn *c = &h->c[i];

		if (c->state == C_FREE || now < c->deadline_ms)
			continue;
		if (c->state == C_READ)
			h->answers[BC_HTTPD_TIMEOUT]++;
		conn_close(c);
	}
}

void bc_httpd_stats(const struct bc_httpd *h, struct bc_httpd_stats *st)
{
	size_t i;

	memcpy(st->answers, h->answers, sizeof(st->answers));
	st->open = 0;
	for (i = 0; i < BC_HTTPD_CONNS; i++)
		if (h->c[i].state != C_FREE)
			st->open++;
}
