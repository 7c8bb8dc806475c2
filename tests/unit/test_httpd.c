/*
 * test_httpd.c - the metrics endpoint's request parser and address
 * parser (coordinator/httpd.c): every answer it gives, the length caps,
 * and that it waits for more bytes exactly when it must; then a live
 * exchange on a loopback socket in a private network namespace.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "common/clock.h"
#include "coordinator/httpd.h"
#include "tap.h"

#define NEED (-1)

static int parse(const char *s, int *path)
{
	*path = -1;
	return bc_httpd_parse(s, strlen(s), path);
}

static int fake_metrics(void *arg, char **body, size_t *len)
{
	(void)arg;
	*body = strdup("# TYPE x gauge\nx 1\n");
	*len = strlen(*body);
	return 0;
}

static bool fake_health(void *arg, char *why, size_t len)
{
	snprintf(why, len, "store: test");
	return *(bool *)arg;
}

/* Drive the server until the client's answer is complete. */
static void ask(struct bc_httpd *h, const char *req, size_t reqlen, char *out,
		size_t outlen)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	int64_t end = bc_mono_ms() + 3000;

	a.sin_family = AF_INET;
	a.sin_port = htons(19310);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	out[0] = '\0';
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return;
	send(fd, req, reqlen, MSG_NOSIGNAL);
	while (bc_mono_ms() < end) {
		zmq_pollitem_t it[BC_HTTPD_POLLITEMS];
		size_t n = bc_httpd_pollitems(h, it, BC_HTTPD_POLLITEMS);
		ssize_t r;

		zmq_poll(it, (int)n, 10);
		bc_httpd_handle(h, it, n, bc_mono_ms());
		r = recv(fd, out + got, outlen - 1 - got, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	out[got] = '\0';
	close(fd);
}

int main(void)
{
	static const struct {
		const char *req;
		int want, path;
	} cases[] = {
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n", BC_HTTPD_200, 0},
		{"GET /healthz HTTP/1.0\r\n\r\n", BC_HTTPD_200, 1},
		{"GET /metrics HTTP/1.1\n\n", BC_HTTPD_200, 0},
		{"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", BC_HTTPD_200, 0},
		{"GET /healthz? HTTP/1.1\r\n\r\n", BC_HTTPD_200, 1},
		{"GET /metrics HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\r\n\r\n", BC_HTTPD_200, 0},
		{"GET /metrics HTTP/1.1\r\nX:\t\r\n\r\n", BC_HTTPD_200, 0},
		{"", NEED, -1},
		{"G", NEED, -1},
		{"GET /metr", NEED, -1},
		{"GET /metrics HTTP/1.1\r", NEED, -1},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n", NEED, -1},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r", NEED, -1},
		{"g", BC_HTTPD_400, -1},
		{"get /metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"\x16\x03\x01\x02", BC_HTTPD_400, -1},
		{"\r\nGET /metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{" GET /metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET  /metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.2\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1 \r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics http/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics\r\n\r\n", BC_HTTPD_400, -1},
		{"GET\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /met\x01rics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /m\xc3\xa9trics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", BC_HTTPD_400, -1},
		{"GET /metrics HTTP/1.1\r\nX: a\x7f\r\n\r\n", BC_HTTPD_400, -1},
		{"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", BC_HTTPD_405, -1},
		{"HEAD /healthz HTTP/1.1\r\n\r\n", BC_HTTPD_405, -1},
		{"DELETE /anything HTTP/1.1\r\n\r\n", BC_HTTPD_405, -1},
		{"GET / HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
		{"GET /admin HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
		{"GET /metricsX HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
		{"GET /metrics/ HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
		{"GET //metrics HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
		{"GET /METRICS HTTP/1.1\r\n\r\n", BC_HTTPD_404, -1},
	};
	char *big = malloc(BC_HTTPD_REQ_MAX + 2048), out[8192], err[256];
	size_t i;
	int path, r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = parse(cases[i].req, &path);
		CHECK(r == cases[i].want && (r != BC_HTTPD_200 || path == cases[i].path),
		      "request %zu: %d, want %d (path %d)", i, r, cases[i].want, path);
	}
	/* the request line cap */
	memset(big, 'a', BC_HTTPD_LINE_MAX);
	memcpy(big, "GET /", 5);
	CHECK(bc_httpd_parse(big, BC_HTTPD_LINE_MAX, &path) == NEED,
	      "1,024 bytes without a newline: wait for more");
	CHECK(bc_httpd_parse(big, BC_HTTPD_LINE_MAX + 1, &path) == BC_HTTPD_414,
	      "1,025 bytes without a newline: 414");
	memset(big, 'a', 1100);
	memcpy(big, "GET /", 5);
	snprintf(big + 1100, 64, " HTTP/1.1\r\n\r\n");
	CHECK(parse(big, &path) == BC_HTTPD_414, "a complete request line over 1,024 bytes: 414");
	/* the header cap */
	i = (size_t)snprintf(big, 64, "GET /metrics HTTP/1.1\r\nX-A: ");
	memset(big + i, 'b', BC_HTTPD_REQ_MAX - i);
	CHECK(bc_httpd_parse(big, BC_HTTPD_REQ_MAX - 1, &path) == NEED,
	      "headers one byte under 8 KiB: wait for more");
	CHECK(bc_httpd_parse(big, BC_HTTPD_REQ_MAX, &path) == BC_HTTPD_431,
	      "8 KiB without the end of the headers: 431");
	free(big);

	{
		static const struct {
			const char *s;
			bool ok;
		} addrs[] = {
			{"127.0.0.1:9310", true},
			{"0.0.0.0:1", true},
			{"[::1]:9310", true},
			{"[::]:65535", true},
			{"127.0.0.1", false},
			{"127.0.0.1:", false},
			{":9310", false},
			{"127.0.0.1:0", false},
			{"127.0.0.1:65536", false},
			{"127.0.0.1:123456", false},
			{"127.0.0.1:93a0", false},
			{"127.0.0.1:+80", false},
			{"::1:9310", false},
			{"[::1]", false},
			{"[::1]9310", false},
			{"[fe80::1%eth0]:9310", false},
			{"localhost:9310", false},
			{"1.2.3:9310", false},
			{"256.1.1.1:9310", false},
		};

		for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
			CHECK((bc_addr_parse_hostport(addrs[i].s, NULL, NULL, err, sizeof(err)) == 0) ==
				      addrs[i].ok,
			      "metrics_listen \"%s\": %s", addrs[i].s,
			      addrs[i].ok ? "accepted" : "refused");
	}

	/* live: a private network namespace, so the port is ours */
	if (unshare(CLONE_NEWNET) == 0) {
		bool healthy = true;
		struct bc_httpd_ops ops = {fake_metrics, fake_health, &healthy};
		struct bc_httpd *h;
		struct bc_httpd_stats st;

		if (system("ip link set lo up") != 0)
			printf("# ip link set lo up failed\n");
		h = bc_httpd_open("127.0.0.1:19310", &ops, err, sizeof(err));
		CHECK(h != NULL, "open 127.0.0.1:19310 (%s)", h ? "" : err);
		if (h != NULL) {
			struct bc_httpd *h2 = bc_httpd_open("127.0.0.1:19310", &ops, err, sizeof(err));

			CHECK(h2 == NULL && strcmp(err, "127.0.0.1:19310: Address already in use") == 0,
			      "a second bind names the address and the reason (%s)", err);
			ask(h, "GET /metrics HTTP/1.1\r\n\r\n", 25, out, sizeof(out));
			CHECK(strncmp(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
					   "Content-Length: 19\r\n", 92) == 0 &&
				      strstr(out, "\r\n\r\n# TYPE x gauge\nx 1\n") != NULL,
			      "GET /metrics: 200, the text format, the body");
			ask(h, "GET /healthz HTTP/1.1\r\n\r\n", 25, out, sizeof(out));
			CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(out, "\r\n\r\nok\n") != NULL,
			      "GET /healthz: 200 ok");
			healthy = false;
			ask(h, "GET /healthz HTTP/1.1\r\n\r\n", 25, out, sizeof(out));
			CHECK(strncmp(out, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0 &&
				      strstr(out, "\r\n\r\nstore: test\n") != NULL,
			      "GET /healthz, store unusable: 503 and why");
			ask(h, "PUT /metrics HTTP/1.1\r\n\r\n", 25, out, sizeof(out));
			CHECK(strncmp(out, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0 &&
				      strstr(out, "\r\nAllow: GET\r\n") != NULL,
			      "PUT: 405 with Allow: GET");
			ask(h, "GET /x HTTP/1.1\r\n", 17, out, sizeof(out));
			CHECK(out[0] == '\0', "an unfinished request gets no answer before its deadline");
			{
				/* no descriptor left for accept: the listener is not
				 * polled for BC_HTTPD_ACCEPT_PAUSE_MS (no busy loop) */
				struct sockaddr_in a = {0};
				struct rlimit old, low;
				zmq_pollitem_t it[BC_HTTPD_POLLITEMS];
				int fd = socket(AF_INET, SOCK_STREAM, 0), k, polled = 0;
				int64_t t0;

				a.sin_family = AF_INET;
				a.sin_port = htons(19310);
				a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				connect(fd, (struct sockaddr *)&a, sizeof(a));
				getrlimit(RLIMIT_NOFILE, &old);
				low = old;
				low.rlim_cur = (rlim_t)fd + 1;
				setrlimit(RLIMIT_NOFILE, &low);
				t0 = bc_mono_ms();
				for (k = 0; k < 50 && bc_mono_ms() - t0 < 50; k++) {
					size_t n = bc_httpd_pollitems(h, it, BC_HTTPD_POLLITEMS);

					if (zmq_poll(it, (int)n, 10) > 0)
						polled++;
					bc_httpd_handle(h, it, n, bc_mono_ms());
				}
				CHECK(polled <= 1 && it[0].events == 0,
				      "accept out of descriptors: listener paused (%d wake-ups in 50 ms)", polled);
				setrlimit(RLIMIT_NOFILE, &old);
				usleep((BC_HTTPD_ACCEPT_PAUSE_MS + 20) * 1000);
				bc_httpd_pollitems(h, it, BC_HTTPD_POLLITEMS);
				CHECK(it[0].events == ZMQ_POLLIN, "after the pause: polled again");
				close(fd);
			}
			bc_httpd_stats(h, &st);
			CHECK(st.answers[BC_HTTPD_200] == 2 && st.answers[BC_HTTPD_503] == 1 &&
				      st.answers[BC_HTTPD_405] == 1,
			      "answers counted by status");
			bc_httpd_close(&h);
			CHECK(h == NULL, "close sets the pointer to NULL");
		}
	} else {
		CHECK(errno == EPERM, "live part skipped: not root (%s)", strerror(errno));
	}
	return tap_done();
}
