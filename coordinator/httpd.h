/*
 * httpd.h - the coordinator's metrics endpoint: GET /metrics (Prometheus
 * text format) and GET /healthz on metrics_listen, served from the
 * coordinator's loop with non-blocking sockets.
 *
 * Whoever can reach the port can send anything: requests are read into a
 * fixed buffer, parsed strictly (one request line, HTTP/1.0 or 1.1, GET
 * only, two paths), answered once and closed. Connections are bounded
 * (the oldest is dropped for a new one), and each has a deadline.
 */
#ifndef BC_HTTPD_H
#define BC_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define BC_HTTPD_CONNS 16           /* connections at once */
#define BC_HTTPD_LINE_MAX 1024      /* request line */
#define BC_HTTPD_REQ_MAX 8192       /* request line and headers */
#define BC_HTTPD_READ_MS 5000       /* from accept to the end of the headers */
#define BC_HTTPD_WRITE_MS 10000     /* to send the answer */
#define BC_HTTPD_DRAIN_MS 1000      /* reading what is left before closing */
#define BC_HTTPD_DRAIN_MAX 262144   /* bytes read and thrown away at most */
#define BC_HTTPD_ACCEPT_BURST 32    /* connections accepted per round */
#define BC_HTTPD_ACCEPT_PAUSE_MS 100 /* no descriptor left: accept again after */
#define BC_HTTPD_POLLITEMS (BC_HTTPD_CONNS + 1)

/* What the server answers with. */
struct bc_httpd_ops {
	/* The exposition, malloc'd (the server frees it). 0 or -1. */
	int (*metrics)(void *arg, char **body, size_t *len);
	/* true when healthy; why (one line) otherwise. */
	bool (*health)(void *arg, char *why, size_t whylen);
	void *arg;
};

/* Answers by status, for the metrics. */
enum bc_httpd_status {
	BC_HTTPD_200, BC_HTTPD_400, BC_HTTPD_404, BC_HTTPD_405, BC_HTTPD_414,
	BC_HTTPD_431, BC_HTTPD_500, BC_HTTPD_503,
	BC_HTTPD_TIMEOUT, /* closed: no full request before the deadline */
	BC_HTTPD_DROPPED, /* closed: the oldest, for a new connection */
	BC_HTTPD_STATUSES
};

struct bc_httpd_stats {
	uint64_t answers[BC_HTTPD_STATUSES];
	size_t open;
};

struct bc_httpd;

/* Bind and listen. NULL + err ("127.0.0.1:9310: Address in use"). */
struct bc_httpd *bc_httpd_open(const char *addr,
			       const struct bc_httpd_ops *ops, char *err,
			       size_t errlen);
void bc_httpd_close(struct bc_httpd **h);

/* The sockets to poll, into it (at most BC_HTTPD_POLLITEMS). */
size_t bc_httpd_pollitems(struct bc_httpd *h, zmq_pollitem_t *it, size_t max);

/* After zmq_poll: accept, read, answer, close; enforce deadlines (call it
 * every round, n = 0 when nothing was polled). */
void bc_httpd_handle(struct bc_httpd *h, const zmq_pollitem_t *it, size_t n,
		     int64_t now_mono);

void bc_httpd_stats(const struct bc_httpd *h, struct bc_httpd_stats *st);
const char *bc_httpd_status_name(enum bc_httpd_status s);

/*
 * The answer to one request (the parser, for unit tests): buf holds what
 * was read so far. Returns the status to answer with and fills *path
 * (0 /metrics, 1 /healthz) for BC_HTTPD_200, or -1 when more bytes are
 * needed.
 */
int bc_httpd_parse(const char *buf, size_t len, int *path);

#endif
