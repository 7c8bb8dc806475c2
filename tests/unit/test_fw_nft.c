/*
 * test_fw_nft.c - the firewall writer against the real kernel.
 *
 * Runs in a fresh network namespace of its own (unshare(CLONE_NEWNET) as
 * root, or a new user namespace plus network namespace otherwise), so the
 * host's ruleset is never touched. Checks what the kernel holds - with
 * bc_fw_dump() and with nft(8) - and what real TCP traffic over loopback
 * does: a banned source is dropped on a protected port and only there.
 */
#include "agent/fw_nft.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "netns.h"

#define ERRLEN 256
#define CONNECT_WAIT_MS 1000
#define BIG_N 100000
#define MAX_SEEN 8
#define OUT_MAX 65536

/* What a dump callback saw: a count and the first few intervals. */
struct seen {
	long n;
	struct bc_fw_elem e[MAX_SEEN];
};

static void seen_cb(const struct bc_fw_elem *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < MAX_SEEN)
		s->e[s->n] = *e;
	s->n++;
}

static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t got = 0;
	int st;

	if (p == NULL)
		return -1;
	if (out != NULL) {
		size_t r;

		while (got + 1 < outlen &&
		       (r = fread(out + got, 1, outlen - 1 - got, p)) > 0)
			got += r;
		out[got] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct bc_fw_elem mk(int op, int set, const char *first,
			    const char *last, uint64_t timeout_ms)
{
	struct bc_fw_elem e;

	memset(&e, 0, sizeof e);
	e.op = (uint8_t)op;
	e.set = (uint8_t)set;
	e.family = strchr(first, ':') ? AF_INET6 : AF_INET;
	e.timeout_ms = timeout_ms;
	inet_pton(e.family, first, e.first);
	inet_pton(e.family, last ? last : first, e.last);
	return e;
}

static bool same(const struct bc_fw_elem *e, const char *first,
		 const char *last)
{
	struct bc_fw_elem w = mk(BC_FW_ADD, 0, first, last, 0);
	size_t len = w.family == AF_INET ? 4 : 16;

	return e->family == w.family && memcmp(e->first, w.first, len) == 0 &&
	       memcmp(e->last, w.last, len) == 0;
}

static long dump(struct bc_fw *fw, int set, int family, struct seen *s)
{
	char err[ERRLEN];
	long n;

	memset(s, 0, sizeof *s);
	n = bc_fw_dump(fw, (enum bc_fw_set)set, family, seen_cb, s, err,
		       sizeof err);
	if (n < 0)
		printf("# dump: %s\n", err);
	return n;
}

static int listener(int family, uint16_t port)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(port)};
	int rc;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		rc = bind(fd, (struct sockaddr *)&a6, sizeof a6);
	} else {
		rc = bind(fd, (struct sockaddr *)&a4, sizeof a4);
	}
	if (rc < 0 || listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when a TCP connect from src to dst:port completes within a second. */
static int connects(const char *src, const char *dst, uint16_t port)
{
	int family = strchr(src, ':') ? AF_INET6 : AF_INET;
	struct sockaddr_storage s, d;
	socklen_t len;
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof soerr;
	struct pollfd pfd;

	memset(&s, 0, sizeof s);
	memset(&d, 0, sizeof d);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&s;
		struct sockaddr_in *d4 = (struct sockaddr_in *)&d;

		s4->sin_family = d4->sin_family = AF_INET;
		inet_pton(AF_INET, src, &s4->sin_addr);
		inet_pton(AF_INET, dst, &d4->sin_addr);
		d4->sin_port = htons(port);
		len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&d;

		s6->sin6_family = d6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, src, &s6->sin6_addr);
		inet_pton(AF_INET6, dst, &d6->sin6_addr);
		d6->sin6_port = htons(port);
		len = sizeof *s6;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&s, len) < 0) {
		printf("# bind %s: %s\n", src, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&d, len);
	if (rc < 0 && errno != EINPROGRESS) {
		close(fd);
		return 0;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	rc = poll(&pfd, 1, CONNECT_WAIT_MS);
	if (rc == 1)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	close(fd);
	return rc == 1 && soerr == 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct bc_fw_config cfg_default = {
	.all_ports = 0, .ports = {25, 465, 587}, .nports = 3};

static void test_open_add_dump(struct bc_fw *fw)
{
	char err[ERRLEN], out[OUT_MAX];
	struct bc_fw_elem ops[3];
	struct seen s;
	long n;

	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "192.0.2.1", NULL, 0);
	ops[1] = mk(BC_FW_ADD, BC_FW_FLEET, "198.51.100.0", "198.51.100.255",
		    3600000);
	ops[2] = mk(BC_FW_ADD, BC_FW_FLEET, "2001:db8:1::",
		    "2001:db8:1::ffff:ffff:ffff:ffff", 0);
	CHECK(bc_fw_apply(fw, ops, 3, err, sizeof err) == 0,
	      "apply: add v4 host, v4 /24, v6 /64");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 2, "dump fleet4: 2 intervals (got %ld)", n);
	CHECK(n == 2 && same(&s.e[0], "192.0.2.1", NULL) &&
		      s.e[0].timeout_ms == 0,
	      "dump fleet4: host without timeout");
	CHECK(n == 2 && same(&s.e[1], "198.51.100.0", "198.51.100.255") &&
		      s.e[1].timeout_ms > 3590000 &&
		      s.e[1].timeout_ms <= 3600000,
	      "dump fleet4: /24 with remaining timeout (%llu ms)",
	      n == 2 ? (unsigned long long)s.e[1].timeout_ms : 0ULL);
	n = dump(fw, BC_FW_FLEET, AF_INET6, &s);
	CHECK(n == 1 && same(&s.e[0], "2001:db8:1::",
			     "2001:db8:1::ffff:ffff:ffff:ffff"),
	      "dump fleet6: the /64");
	n = dump(fw, BC_FW_LOCAL, AF_INET, &s);
	CHECK(n == 0, "dump local4: empty");

	CHECK(run("nft list set inet bancluster fleet4", out, sizeof out) ==
			      0 &&
		      strstr(out, "192.0.2.1") &&
		      !strstr(out, "198.51.100") &&
		      strstr(out, "flags timeout\n") &&
		      !strstr(out, "flags interval") &&
		      strstr(out, "gc-interval 1m\n"),
	      "nft list set fleet4: a hash set with timeouts (gc every "
	      "minute), the host only");
	CHECK(run("nft list set inet bancluster fleet4_nets", out,
		  sizeof out) == 0 &&
		      strstr(out, "198.51.100.0/24") &&
		      !strstr(out, "192.0.2.1") &&
		      strstr(out, "flags interval,timeout"),
	      "nft list set fleet4_nets: an interval set, the /24 only");
	CHECK(run("nft -j list set inet bancluster fleet6_nets", out,
		  sizeof out) == 0 &&
		      strstr(out, "\"2001:db8:1::\"") &&
		      strstr(out, "\"len\": 64"),
	      "nft -j list set fleet6_nets shows the /64");
	CHECK(run("nft list set inet bancluster fleet6", out, sizeof out) ==
			      0 &&
		      !strstr(out, "2001:db8:1::") && !strstr(out, "elements"),
	      "fleet6 (hosts) is empty");
	CHECK(run("nft list chain inet bancluster input", out, sizeof out) ==
			      0 &&
		      strstr(out, "hook input priority filter - 10;") &&
		      strstr(out, "policy accept;") &&
		      strstr(out, "ip saddr @fleet4 tcp dport { 25, 465, 587 }"
				  " counter") &&
		      strstr(out, "ip saddr @fleet4_nets tcp dport { 25, 465, "
				  "587 } counter") &&
		      strstr(out, "ip6 saddr @local6 tcp dport { 25, 465, 587 }"
				  " counter") &&
		      strstr(out, "ip6 saddr @local6_nets tcp dport { 25, 465, "
				  "587 } counter"),
	      "chain input: hook input priority -10, one rule per set");
}

static void test_reopen(void)
{
	struct bc_fw_config c = {.ports = {25, 2525}, .nports = 2};
	char err[ERRLEN], out[OUT_MAX];
	struct bc_fw *fw2;
	struct seen s;
	long n;

	fw2 = bc_fw_open(&c, err, sizeof err);
	CHECK(fw2 != NULL, "open again with other ports%s%s",
	      fw2 ? "" : ": ", fw2 ? "" : err);
	n = fw2 ? dump(fw2, BC_FW_FLEET, AF_INET, &s) : -1;
	CHECK(n == 2, "open again keeps the elements (%ld)", n);
	CHECK(run("nft list chain inet bancluster input", out, sizeof out) ==
			      0 &&
		      strstr(out, "{ 25, 2525 }") && !strstr(out, "465"),
	      "open again replaces the port list");
	bc_fw_close(&fw2);
	CHECK(fw2 == NULL, "close sets the pointer to NULL");
	fw2 = bc_fw_open(&cfg_default, err, sizeof err);
	CHECK(fw2 != NULL, "open a third time with the default ports");
	bc_fw_close(&fw2);
	CHECK(run("nft list chain inet bancluster input | grep -c drop", out,
		  sizeof out) == 0 &&
		      atoi(out) == 8,
	      "still exactly 8 rules after three opens");
	CHECK(run("nft list table inet other", NULL, 0) == 0,
	      "the other table is untouched");
}

static void test_delete(struct bc_fw *fw)
{
	char err[ERRLEN], out[OUT_MAX];
	struct bc_fw_elem ops[5];
	struct seen s;
	long n;
	int rc;

	ops[0] = mk(BC_FW_DEL, BC_FW_FLEET, "192.0.2.1", NULL, 0);
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == 0, "delete host");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 1 && same(&s.e[0], "198.51.100.0", "198.51.100.255"),
	      "after delete only the /24 is left");

	/* Missing deletes are dropped; the rest of the batch goes in. */
	ops[0] = mk(BC_FW_DEL, BC_FW_FLEET, "192.0.2.77", NULL, 0);
	ops[1] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.9", NULL, 60000);
	ops[2] = mk(BC_FW_DEL, BC_FW_FLEET, "198.51.100.0", "198.51.100.255",
		    0);
	ops[3] = mk(BC_FW_DEL, BC_FW_LOCAL, "2001:db8::77", NULL, 0);
	ops[4] = mk(BC_FW_ADD, BC_FW_LOCAL, "2001:db8::78", NULL, 0);
	rc = bc_fw_apply(fw, ops, 5, err, sizeof err);
	CHECK(rc == 0, "delete of missing elements succeeds%s%s",
	      rc ? ": " : "", rc ? err : "");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 1 && same(&s.e[0], "203.0.113.9", NULL),
	      "rest of the batch applied (add and present delete)");
	n = dump(fw, BC_FW_LOCAL, AF_INET6, &s);
	CHECK(n == 1 && same(&s.e[0], "2001:db8::78", NULL),
	      "v6 add applied next to a missing v6 delete");

	/* An overlapping range fails the whole call and names the op. */
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.0", "203.0.113.127", 0);
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == 0,
	      "add 203.0.113.0/25 around the host 203.0.113.9");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 2 && same(&s.e[0], "203.0.113.0", "203.0.113.127") &&
		      same(&s.e[1], "203.0.113.9", NULL) &&
		      s.e[1].timeout_ms > 0 && s.e[1].timeout_ms <= 60000,
	      "a host inside a range: both elements, the host's timeout kept "
	      "(%ld)", n);
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "10.9.9.9", NULL, 0);
	ops[1] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.64", "203.0.113.255", 0);
	rc = bc_fw_apply(fw, ops, 2, err, sizeof err);
	CHECK(rc == -1 && strstr(err, "op 1 ") != NULL &&
		      strstr(err, "fleet4_nets") != NULL &&
		      strstr(err, "overlaps an existing interval") != NULL,
	      "overlapping range fails and names op 1 and fleet4_nets (%s)",
	      rc ? err : "");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 2, "failed transaction applied nothing (%ld)", n);

	/* Re-adding an existing element is not an error (no NLM_F_EXCL). */
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.9", NULL, 60000);
	ops[1] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.0", "203.0.113.127", 0);
	CHECK(bc_fw_apply(fw, ops, 2, err, sizeof err) == 0,
	      "re-adding an existing host and range succeeds");

	/* A new timeout for a host: DEL then ADD in one call, as common/interval.c
	 * does; then widen the /25 to the /24: the host stays on its own. */
	ops[0] = mk(BC_FW_DEL, BC_FW_FLEET, "203.0.113.9", NULL, 0);
	ops[1] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.9", NULL, 0);
	ops[2] = mk(BC_FW_DEL, BC_FW_FLEET, "203.0.113.0", "203.0.113.127", 0);
	ops[3] = mk(BC_FW_ADD, BC_FW_FLEET, "203.0.113.0", "203.0.113.255",
		    60000);
	rc = bc_fw_apply(fw, ops, 4, err, sizeof err);
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(rc == 0 && n == 2 &&
		      same(&s.e[0], "203.0.113.0", "203.0.113.255") &&
		      s.e[0].timeout_ms > 0 &&
		      same(&s.e[1], "203.0.113.9", NULL) &&
		      s.e[1].timeout_ms == 0,
	      "host re-timed (now none) and /25 widened in one call (%ld)", n);
	CHECK(run("nft get element inet bancluster fleet4_nets "
		  "'{ 203.0.113.77 }'", NULL, 0) == 0 &&
		      run("nft get element inet bancluster fleet4 "
			  "'{ 203.0.113.77 }' 2>/dev/null", NULL, 0) != 0 &&
		      run("nft get element inet bancluster fleet4 "
			  "'{ 203.0.113.9 }'", NULL, 0) == 0,
	      "nft finds 203.0.113.77 in fleet4_nets only, the host in fleet4");

	/* The last address of the space: no end element. */
	ops[0] = mk(BC_FW_ADD, BC_FW_LOCAL, "255.255.255.0", "255.255.255.255",
		    0);
	ops[1] = mk(BC_FW_ADD, BC_FW_LOCAL, "ffff::", "ffff:ffff:ffff:ffff:"
		    "ffff:ffff:ffff:ffff", 0);
	CHECK(bc_fw_apply(fw, ops, 2, err, sizeof err) == 0,
	      "add intervals ending at the all-ones address");
	n = dump(fw, BC_FW_LOCAL, AF_INET, &s);
	CHECK(n == 1 && same(&s.e[0], "255.255.255.0", "255.255.255.255"),
	      "dump local4: 255.255.255.0/24");
	CHECK(run("nft list set inet bancluster local6_nets", out,
		  sizeof out) == 0 && strstr(out, "ffff::/16"),
	      "nft shows ffff::/16 in local6_nets");
	ops[0].op = ops[1].op = BC_FW_DEL;
	CHECK(bc_fw_apply(fw, ops, 2, err, sizeof err) == 0 &&
		      dump(fw, BC_FW_LOCAL, AF_INET, &s) == 0,
	      "delete them again");

	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "10.0.0.1", NULL, 0);
	ops[0].family = 7;
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == -1 &&
		      strstr(err, "family"),
	      "bad family rejected: %s", err);
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "10.0.0.9", "10.0.0.1", 0);
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == -1,
	      "first > last rejected: %s", err);
}

static void test_timeout(struct bc_fw *fw)
{
	char err[ERRLEN];
	struct bc_fw_elem op = mk(BC_FW_ADD, BC_FW_LOCAL, "192.0.2.200", NULL,
				  1500);
	struct seen s;
	long n;

	CHECK(bc_fw_apply(fw, &op, 1, err, sizeof err) == 0,
	      "add with 1500 ms timeout");
	n = dump(fw, BC_FW_LOCAL, AF_INET, &s);
	CHECK(n == 1 && s.e[0].timeout_ms > 0 && s.e[0].timeout_ms <= 1500,
	      "element present with remaining timeout");
	usleep(2500 * 1000);
	n = dump(fw, BC_FW_LOCAL, AF_INET, &s);
	CHECK(n == 0, "element gone after 2.5 s (%ld)", n);
	CHECK(run("nft list set inet bancluster local4 | grep -q 192.0.2.200",
		  NULL, 0) != 0,
	      "nft no longer shows it");
	op.op = BC_FW_DEL;
	CHECK(bc_fw_apply(fw, &op, 1, err, sizeof err) == 0,
	      "deleting the timed-out element succeeds");
}

static void test_replace(struct bc_fw *fw)
{
	struct bc_fw_elem *big = calloc(BIG_N, sizeof *big);
	char err[ERRLEN];
	struct seen s;
	double t0, dt;
	long n;
	int rc;

	if (big == NULL) {
		CHECK(0, "calloc");
		return;
	}
	for (size_t i = 0; i < BIG_N; i++) {
		uint32_t a = htonl(0x0a000000u + 2u * (uint32_t)i);

		big[i].op = BC_FW_ADD;
		big[i].set = BC_FW_FLEET;
		big[i].family = AF_INET;
		big[i].timeout_ms = 3 * 3600 * 1000ULL;
		memcpy(big[i].first, &a, 4);
		memcpy(big[i].last, &a, 4);
	}
	t0 = now_s();
	rc = bc_fw_replace(fw, BC_FW_FLEET, big, BIG_N, err, sizeof err);
	dt = now_s() - t0;
	CHECK(rc == 0, "replace with %d elements in one call (%.3f s)%s%s",
	      BIG_N, dt, rc ? ": " : "", rc ? err : "");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == BIG_N, "dump fleet4 counts %ld", n);
	CHECK(dump(fw, BC_FW_FLEET, AF_INET6, &s) == 0,
	      "replace flushed fleet6");
	CHECK(run("nft get element inet bancluster fleet4 '{ 10.3.13.62 }'",
		  NULL, 0) == 0,
	      "nft finds the last of them");
	CHECK(dump(fw, BC_FW_LOCAL, AF_INET6, &s) == 1,
	      "replace of fleet leaves local6 alone");

	big[0] = mk(BC_FW_ADD, BC_FW_FLEET, "10.1.1.0", "10.1.1.255", 60000);
	big[1] = mk(BC_FW_ADD, BC_FW_FLEET, "10.1.1.5", NULL, 0);
	big[2] = mk(BC_FW_ADD, BC_FW_FLEET, "2001:db8:2::1", NULL, 0);
	big[3] = mk(BC_FW_ADD, BC_FW_FLEET, "10.1.1.128", "10.1.1.255",
		    120000);
	big[4] = mk(BC_FW_ADD, BC_FW_FLEET, "10.1.1.5", NULL, 1000);
	rc = bc_fw_replace(fw, BC_FW_FLEET, big, 5, err, sizeof err);
	CHECK(rc == 0, "replace with 5 (overlapping) elements%s%s",
	      rc ? ": " : "", rc ? err : "");
	n = dump(fw, BC_FW_FLEET, AF_INET, &s);
	CHECK(n == 3 && same(&s.e[0], "10.1.1.0", "10.1.1.127") &&
		      s.e[0].timeout_ms > 0 && s.e[0].timeout_ms <= 60000 &&
		      same(&s.e[1], "10.1.1.5", NULL) &&
		      s.e[1].timeout_ms == 0 &&
		      same(&s.e[2], "10.1.1.128", "10.1.1.255") &&
		      s.e[2].timeout_ms > 60000,
	      "ranges cut where they overlap (the longer timeout wins), the "
	      "host once with its longest timeout, on its own (%ld)", n);
	n = dump(fw, BC_FW_FLEET, AF_INET6, &s);
	CHECK(n == 1 && same(&s.e[0], "2001:db8:2::1", NULL),
	      "fleet6 holds the one v6 element");
	big[0].set = BC_FW_LOCAL;
	CHECK(bc_fw_replace(fw, BC_FW_FLEET, big, 1, err, sizeof err) == -1,
	      "replace rejects a record for the other set");
	free(big);
}

static void test_traffic(struct bc_fw *fw)
{
	struct bc_fw_config all = {.all_ports = 1};
	char err[ERRLEN];
	struct bc_fw_elem ops[2];
	struct bc_fw *fw2;
	int l25 = listener(AF_INET, 25), l8080 = listener(AF_INET, 8080);
	int m25 = listener(AF_INET6, 25), m8080 = listener(AF_INET6, 8080);

	CHECK(l25 >= 0 && l8080 >= 0 && m25 >= 0 && m8080 >= 0,
	      "listeners on ports 25 and 8080 (v4 and v6)");
	CHECK(connects("127.0.0.5", "127.0.0.1", 25) == 1,
	      "before the ban 127.0.0.5 reaches port 25");
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "127.0.0.5", NULL, 0);
	ops[1] = mk(BC_FW_ADD, BC_FW_LOCAL, "2001:db8::5", NULL, 0);
	CHECK(bc_fw_apply(fw, ops, 2, err, sizeof err) == 0,
	      "ban 127.0.0.5 (fleet4) and 2001:db8::5 (local6)");
	CHECK(connects("127.0.0.5", "127.0.0.1", 25) == 0,
	      "banned 127.0.0.5 -> 25 is dropped");
	CHECK(connects("127.0.0.6", "127.0.0.1", 25) == 1,
	      "127.0.0.6 -> 25 connects");
	CHECK(connects("127.0.0.5", "127.0.0.1", 8080) == 1,
	      "banned 127.0.0.5 -> 8080 (unprotected) connects");
	CHECK(connects("2001:db8::5", "::1", 25) == 0,
	      "banned 2001:db8::5 -> [::1]:25 is dropped");
	CHECK(connects("2001:db8::6", "::1", 25) == 1,
	      "2001:db8::6 -> [::1]:25 connects");
	CHECK(connects("2001:db8::5", "::1", 8080) == 1,
	      "banned 2001:db8::5 -> [::1]:8080 connects");
	ops[0] = mk(BC_FW_ADD, BC_FW_LOCAL, "127.0.1.0", "127.0.1.255", 0);
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == 0 &&
		      connects("127.0.1.9", "127.0.0.1", 25) == 0 &&
		      connects("127.0.2.9", "127.0.0.1", 25) == 1,
	      "banned range 127.0.1.0/24 (local4_nets): 127.0.1.9 -> 25 is "
	      "dropped, 127.0.2.9 connects");
	ops[0].op = BC_FW_DEL;
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == 0 &&
		      connects("127.0.1.9", "127.0.0.1", 25) == 1,
	      "range unbanned: 127.0.1.9 -> 25 connects");
	ops[0] = mk(BC_FW_ADD, BC_FW_FLEET, "127.0.0.5", NULL, 0);

	fw2 = bc_fw_open(&all, err, sizeof err);
	CHECK(fw2 != NULL, "reopen with all ports");
	CHECK(connects("127.0.0.5", "127.0.0.1", 8080) == 0 &&
		      connects("2001:db8::5", "::1", 8080) == 0,
	      "all ports: banned sources dropped on 8080 too");
	CHECK(connects("127.0.0.6", "127.0.0.1", 8080) == 1,
	      "all ports: 127.0.0.6 -> 8080 connects");
	bc_fw_close(&fw2);
	fw2 = bc_fw_open(&cfg_default, err, sizeof err);
	bc_fw_close(&fw2);

	ops[0].op = BC_FW_DEL;
	CHECK(bc_fw_apply(fw, ops, 1, err, sizeof err) == 0 &&
		      connects("127.0.0.5", "127.0.0.1", 25) == 1,
	      "after unban 127.0.0.5 -> 25 connects again");
	close(l25);
	close(l8080);
	close(m25);
	close(m8080);
}

/*
 * A child that tries to connect from src to 127.0.0.1:25 again and again
 * for ms milliseconds (each try waits SAMPLE_TRY_MS for the handshake),
 * accepting and closing what reached the listener (non-blocking) so its
 * queue never fills, then writes how many tries it made and how many
 * connected.
 */
struct sampler {
	pid_t pid;
	int fd;
};

static int connects_within(const char *src, int wait_ms)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(25)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct pollfd pfd;
	int soerr = 0, rc;
	socklen_t sl = sizeof soerr;

	inet_pton(AF_INET, src, &s.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&s, sizeof s) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&d, sizeof d);
	if (rc < 0 && errno != EINPROGRESS) {
		close(fd);
		return 0;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	rc = poll(&pfd, 1, wait_ms);
	if (rc == 1)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	close(fd);
	return rc == 1 && soerr == 0;
}

#define SAMPLE_TRY_MS 5

static struct sampler sample_start(const char *src, int ms, int lfd)
{
	struct sampler sm = {-1, -1};
	int p[2];

	if (pipe(p) < 0)
		return sm;
	fflush(stdout);
	sm.pid = fork();
	if (sm.pid == 0) {
		int counts[2] = {0, 0};
		double end = now_s() + ms / 1000.0;

		close(p[0]);
		while (now_s() < end) {
			int c = connects_within(src, SAMPLE_TRY_MS), a;

			if (c < 0)
				break;
			counts[0]++;
			counts[1] += c;
			while ((a = accept(lfd, NULL, NULL)) >= 0)
				close(a);
		}
		if (write(p[1], counts, sizeof counts) != sizeof counts)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	sm.fd = p[0];
	return sm;
}

/* Wait for the sampler; tries and connections, or -1 each on failure. */
static void sample_end(struct sampler *sm, int *tries, int *connected)
{
	int counts[2] = {-1, -1};

	if (sm->fd >= 0 &&
	    read(sm->fd, counts, sizeof counts) != sizeof counts)
		counts[0] = counts[1] = -1;
	if (sm->fd >= 0)
		close(sm->fd);
	if (sm->pid > 0)
		waitpid(sm->pid, NULL, 0);
	*tries = counts[0];
	*connected = counts[1];
}

#define OLD_HOSTS 5000
#define MON_WAIT_ROUNDS 100 /* of 200 ms */
#define OLD_PATH_MAX 64
#define CMD_MAX 512

/*
 * The layout before the split: four interval sets named fleet4 etc.
 * holding hosts and ranges, one rule each. A new bc_fw_open() must move
 * every element to the new sets with its remaining timeout, in one
 * transaction (one new generation in `nft monitor`), while traffic from
 * a banned address never gets through.
 */
static void test_migrate(void)
{
	char path[OLD_PATH_MAX] = "/tmp/test_fw_old.XXXXXX";
	char mon[OLD_PATH_MAX] = "/tmp/test_fw_mon.XXXXXX";
	char err[ERRLEN], out[OUT_MAX], cmd[CMD_MAX];
	struct sampler banned, free_src;
	int fd = mkstemp(path), mfd = mkstemp(mon), l25;
	int tries, connected, ftries, fconnected;
	struct bc_fw *fw;
	struct seen s;
	FILE *f;
	long n, monpid;

	if (fd < 0 || mfd < 0 || (f = fdopen(fd, "w")) == NULL) {
		CHECK(0, "temporary files");
		return;
	}
	close(mfd);
	fprintf(f,
		"table inet bancluster {\n"
		" set fleet4 { type ipv4_addr; flags interval, timeout;\n"
		"  elements = { 127.0.0.5 timeout 3h, 198.51.100.0/24 "
		"timeout 1h, 203.0.113.0-203.0.113.8 timeout 2h,\n"
		"  203.0.113.9 timeout 5h, 203.0.113.10-203.0.113.255 "
		"timeout 2h, 192.0.2.77 } }\n"
		" set fleet6 { type ipv6_addr; flags interval, timeout;\n"
		"  elements = { 2001:db8:1::/64 timeout 2h, 2001:db8::7 } }\n"
		" set local4 { type ipv4_addr; flags interval, timeout;\n"
		"  elements = { 192.0.2.9 timeout 10m } }\n"
		" set local6 { type ipv6_addr; flags interval, timeout; }\n"
		" chain input { type filter hook input priority -10; "
		"policy accept;\n"
		"  meta nfproto ipv4 ip saddr @fleet4 tcp dport { 25, 465, "
		"587 } counter drop\n"
		"  meta nfproto ipv6 ip6 saddr @fleet6 tcp dport { 25, 465, "
		"587 } counter drop\n"
		"  meta nfproto ipv4 ip saddr @local4 tcp dport { 25, 465, "
		"587 } counter drop\n"
		"  meta nfproto ipv6 ip6 saddr @local6 tcp dport { 25, 465, "
		"587 } counter drop\n"
		" }\n}\n"
		"add element inet bancluster fleet4 {\n");
	/* many more hosts, so the migration takes a while */
	for (unsigned i = 0; i < OLD_HOSTS; i++)
		fprintf(f, "10.%u.%u.1 timeout 3h%s\n", i / 256, i % 256,
			i + 1 < OLD_HOSTS ? "," : "");
	fprintf(f, "}\n");
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "nft delete table inet bancluster && nft -f %s", path);
	CHECK(run(cmd, NULL, 0) == 0, "old layout loaded with nft -f");
	unlink(path);
	l25 = listener(AF_INET, 25);
	if (l25 >= 0)
		fcntl(l25, F_SETFL, O_NONBLOCK);
	CHECK(l25 >= 0 && connects("127.0.0.6", "127.0.0.1", 25) == 1 &&
		      connects("127.0.0.5", "127.0.0.1", 25) == 0,
	      "old layout: 127.0.0.5 -> 25 dropped, 127.0.0.6 connects");

	snprintf(cmd, sizeof cmd, "stdbuf -oL nft monitor >%s 2>&1 & echo $!",
		 mon);
	monpid = run(cmd, out, sizeof out) == 0 ? atol(out) : -1;
	usleep(300 * 1000); /* let the monitor subscribe */
	banned = sample_start("127.0.0.5", 1500, l25);
	free_src = sample_start("127.0.0.6", 1500, l25);
	usleep(500 * 1000);
	fw = bc_fw_open(&cfg_default, err, sizeof err);
	CHECK(fw != NULL, "open over the old layout%s%s", fw ? "" : ": ",
	      fw ? "" : err);
	CHECK(fw != NULL && bc_fw_migrated(fw) == OLD_HOSTS + 9,
	      "every old element moved (%ld)", fw ? bc_fw_migrated(fw) : -1L);
	sample_end(&banned, &tries, &connected);
	sample_end(&free_src, &ftries, &fconnected);
	/* the monitor prints each event: wait until it has printed all */
	for (int i = 0, same_for = 0; i < MON_WAIT_ROUNDS && same_for < 3;
	     i++) {
		static off_t last = -1;
		struct stat st;

		usleep(200 * 1000);
		if (stat(mon, &st) == 0 && st.st_size == last)
			same_for++;
		else
			same_for = 0;
		last = stat(mon, &st) == 0 ? st.st_size : -1;
	}
	if (monpid > 0)
		kill((pid_t)monpid, SIGTERM);
	CHECK(tries >= 20 && connected == 0,
	      "during the migration 127.0.0.5 -> 25 never connected "
	      "(%d of %d tries)", connected, tries);
	/* the control shows the sampler connects at all (a try may miss its
	 * few ms on a loaded machine) */
	CHECK(ftries >= 20 && fconnected * 10 >= ftries * 9,
	      "the control 127.0.0.6 -> 25 connected (at least 90 %%: %d of "
	      "%d)", fconnected, ftries);
	snprintf(cmd, sizeof cmd,
		 "grep -c '^# new generation' %s; "
		 "grep -c '^delete set inet bancluster fleet4$' %s; "
		 "grep -c '^add element inet bancluster fleet4_nets' %s",
		 mon, mon, mon);
	run(cmd, out, sizeof out);
	for (char *c = out; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	CHECK(strcmp(out, "1 1 3 ") == 0,
	      "nft monitor: one new generation, deleting the old fleet4 and "
	      "adding the 3 ranges to fleet4_nets (counts: %s)", out);
	if (getenv("KEEP_MON") == NULL)
		unlink(mon);

	n = fw ? dump(fw, BC_FW_FLEET, AF_INET, &s) : -1;
	CHECK(n == OLD_HOSTS + 6, "fleet4 + fleet4_nets hold %d (%ld)",
	      OLD_HOSTS + 6, n);
	CHECK(n > 5 && same(&s.e[0], "10.0.0.1", NULL) &&
		      s.e[0].timeout_ms > 3 * 3600000ULL - 60000 &&
		      s.e[0].timeout_ms <= 3 * 3600000ULL,
	      "a host keeps its remaining timeout");
	CHECK(run("nft get element inet bancluster fleet4 '{ 127.0.0.5, "
		  "192.0.2.77, 203.0.113.9 }'", NULL, 0) == 0 &&
		      run("nft get element inet bancluster fleet4_nets "
			  "'{ 198.51.100.0/24, 203.0.113.0-203.0.113.8, "
			  "203.0.113.10-203.0.113.255 }'", NULL, 0) == 0,
	      "hosts in fleet4, ranges in fleet4_nets");
	CHECK(run("nft list set inet bancluster fleet4 | grep -q "
		  "'192.0.2.77,\\|192.0.2.77 }'", NULL, 0) == 0 &&
		      run("nft list set inet bancluster fleet4 | grep -q "
			  "'203.0.113.9 timeout 4h59m'", NULL, 0) == 0,
	      "the permanent host stays permanent, 203.0.113.9 keeps 5h");
	CHECK(run("nft get element inet bancluster fleet6_nets "
		  "'{ 2001:db8:1::/64 }'", NULL, 0) == 0 &&
		      run("nft get element inet bancluster fleet6 "
			  "'{ 2001:db8::7 }'", NULL, 0) == 0 &&
		      run("nft get element inet bancluster local4 "
			  "'{ 192.0.2.9 }'", NULL, 0) == 0,
	      "fleet6 and local4 moved too");
	CHECK(run("nft list chain inet bancluster input | grep -c drop", out,
		  sizeof out) == 0 &&
		      atoi(out) == 8,
	      "8 rules after the migration");
	CHECK(connects("127.0.0.5", "127.0.0.1", 25) == 0 &&
		      connects("127.0.0.6", "127.0.0.1", 25) == 1,
	      "after: 127.0.0.5 -> 25 dropped, 127.0.0.6 connects");
	bc_fw_close(&fw);
	fw = bc_fw_open(&cfg_default, err, sizeof err);
	CHECK(fw != NULL && bc_fw_migrated(fw) == -1 &&
		      dump(fw, BC_FW_FLEET, AF_INET, &s) == OLD_HOSTS + 6,
	      "opening the new layout again moves nothing, keeps everything");
	bc_fw_close(&fw);
	close(l25);
}

/* What the pages gave: how often each host 10.4.0.0 + 2i came, the rest. */
struct paged {
	uint8_t *hits;
	long other, ranges;
};

static void paged_cb(const struct bc_fw_elem *e, void *arg)
{
	struct paged *p = arg;
	uint32_t a, i;

	if (e->family != AF_INET) {
		p->other++;
		return;
	}
	if (memcmp(e->first, e->last, 4) != 0) {
		p->ranges++;
		return;
	}
	memcpy(&a, e->first, 4);
	a = ntohl(a) - 0x0a040000u;
	i = a / 2;
	if (a % 2 == 0 && i < BIG_N && p->hits[i] < 255)
		p->hits[i]++;
	else
		p->other++;
}

static struct bc_fw_elem host(uint32_t i, int op)
{
	struct bc_fw_elem e;
	uint32_t a = htonl(0x0a040000u + 2u * i);

	memset(&e, 0, sizeof e);
	e.op = (uint8_t)op;
	e.set = BC_FW_FLEET;
	e.family = AF_INET;
	e.timeout_ms = op == BC_FW_ADD ? 3 * 3600 * 1000ULL : 0;
	memcpy(e.first, &a, 4);
	memcpy(e.last, &a, 4);
	return e;
}

/* Page through fleet4 (and fleet4_nets); between pages, when `churn`,
 * delete and re-add hosts of the second half, marking them in touched.
 * Returns the number of pages, or -1. */
static long page_all(struct bc_fw *fw, struct paged *p, uint8_t *touched,
		     bool churn)
{
	struct bc_fw_pager *pg;
	char err[ERRLEN];
	long pages = 0;
	uint32_t next = BIG_N / 2;
	int rc;

	memset(p->hits, 0, BIG_N);
	p->other = p->ranges = 0;
	pg = bc_fw_pager_open(fw, BC_FW_FLEET, AF_INET, err, sizeof err);
	if (pg == NULL) {
		printf("# pager: %s\n", err);
		return -1;
	}
	do {
		rc = bc_fw_pager_next(pg, 0, paged_cb, p, err, sizeof err);
		pages++;
		if (rc > 0 && churn && next + 20 <= BIG_N) {
			struct bc_fw_elem ops[40];

			for (int k = 0; k < 20; k++) {
				ops[k] = host(next + (uint32_t)k, BC_FW_DEL);
				ops[20 + k] = host(next + (uint32_t)k, BC_FW_ADD);
				touched[next + (uint32_t)k] = 1;
			}
			if (bc_fw_apply(fw, ops, 40, err, sizeof err) < 0) {
				printf("# apply between pages: %s\n", err);
				rc = -1;
			}
			next += 20;
		}
	} while (rc > 0);
	if (rc < 0)
		printf("# page: %s\n", err);
	bc_fw_pager_close(&pg);
	return rc < 0 ? -1 : pages;
}

static void count_cb(const struct bc_fw_elem *e, void *arg)
{
	(void)e;
	(*(long *)arg)++;
}

/*
 * The untouched hosts the pages did not give, looked up: how many the
 * kernel holds of them (all, or the read lost a key). -1 on error.
 */
static long lookup_missed(struct bc_fw *fw, const struct paged *p,
			  const uint8_t *touched, long *missed, long *twice)
{
	struct bc_fw_elem look[512];
	char err[ERRLEN];
	long found = 0;
	size_t n = 0;

	*missed = *twice = 0;
	for (uint32_t i = 0; i <= BIG_N; i++) {
		if (n == 512 || (i == BIG_N && n > 0)) {
			if (bc_fw_lookup(fw, BC_FW_FLEET, look, n, count_cb,
					 &found, err, sizeof err) < 0) {
				printf("# lookup: %s\n", err);
				return -1;
			}
			n = 0;
		}
		if (i == BIG_N || touched[i])
			continue;
		*twice += p->hits[i] > 1;
		if (p->hits[i] == 0) {
			(*missed)++;
			look[n++] = host(i, BC_FW_ADD);
		}
	}
	return found;
}

static void test_pager(struct bc_fw *fw)
{
	struct bc_fw_elem *big = calloc(BIG_N + 2, sizeof *big);
	uint8_t *touched = calloc(BIG_N, 1);
	struct paged p = {.hits = calloc(BIG_N, 1)};
	struct bc_fw_elem look[4];
	char err[ERRLEN];
	long pages, twice, missed, found;

	if (big == NULL || touched == NULL || p.hits == NULL) {
		CHECK(0, "calloc");
		goto out;
	}
	for (uint32_t i = 0; i < BIG_N; i++)
		big[i] = host(i, BC_FW_ADD);
	big[BIG_N] = mk(BC_FW_ADD, BC_FW_FLEET, "10.9.0.0", "10.9.0.255", 60000);
	big[BIG_N + 1] = mk(BC_FW_ADD, BC_FW_FLEET, "2001:db8:9::1", NULL, 0);
	if (bc_fw_replace(fw, BC_FW_FLEET, big, BIG_N + 2, err, sizeof err) < 0) {
		CHECK(0, "replace for the pager: %s", err);
		goto out;
	}
	/* right after the load the kernel grows the hash table under the
	 * walk: keys come twice or not at all, and lookups find them */
	pages = page_all(fw, &p, touched, false);
	found = lookup_missed(fw, &p, touched, &missed, &twice);
	printf("# read after the load: %ld pages, missed %ld, repeated %ld\n",
	       pages, missed, twice);
	CHECK(pages > 10 && p.ranges == 1 && p.other == 0 && found == missed,
	      "paged read of %d hosts and a range: %ld pages, the range in "
	      "the last, nothing else (%ld); the %ld hosts the walk missed "
	      "are there by lookup (%ld)",
	      BIG_N, pages, p.other, missed, found);

	/* writes between the pages */
	pages = page_all(fw, &p, touched, true);
	found = lookup_missed(fw, &p, touched, &missed, &twice);
	printf("# read with writes: %ld pages, untouched missed %ld, "
	       "repeated %ld\n", pages, missed, twice);
	CHECK(pages > 10 && p.ranges == 1 && found == missed,
	      "paged read with writes between pages: %ld pages; the %ld "
	      "untouched hosts missed are there by lookup (%ld)",
	      pages, missed, found);
	look[0] = host(BIG_N + 5, BC_FW_ADD); /* never added */
	look[1] = mk(BC_FW_ADD, BC_FW_FLEET, "10.9.0.0", "10.9.0.255", 0);
	look[2] = mk(BC_FW_ADD, BC_FW_FLEET, "2001:db8:9::1", NULL, 0);
	look[3] = host(0, BC_FW_ADD);
	found = 0;
	CHECK(bc_fw_lookup(fw, BC_FW_FLEET, look, 4, count_cb, &found, err,
			   sizeof err) == 2 && found == 2,
	      "lookup: an absent host no, a range skipped, a v6 and a v4 "
	      "host yes (%ld)", found);
out:
	free(big);
	free(touched);
	free(p.hits);
}

int main(void)
{
	char err[ERRLEN];
	struct bc_fw *fw;

	if (enter_netns() < 0) {
		printf("# skip: no network namespace: %s\n", strerror(errno));
		return 0;
	}
	if (run("ip link set lo up && "
		"ip -6 addr add 2001:db8::5/128 dev lo nodad && "
		"ip -6 addr add 2001:db8::6/128 dev lo nodad && "
		"nft add table inet other",
		NULL, 0) != 0) {
		CHECK(0, "set up loopback in the namespace");
		return tap_done();
	}
	fw = bc_fw_open(&cfg_default, err, sizeof err);
	CHECK(fw != NULL, "open creates table inet bancluster%s%s",
	      fw ? "" : ": ", fw ? "" : err);
	if (fw == NULL)
		return tap_done();
	test_open_add_dump(fw);
	test_reopen();
	test_delete(fw);
	test_timeout(fw);
	test_replace(fw);
	test_pager(fw);
	test_traffic(fw);
	bc_fw_close(&fw);
	test_migrate();
	return tap_done();
}
