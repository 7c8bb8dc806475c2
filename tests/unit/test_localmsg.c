/*
 * test_localmsg.c - the local report datagram "ADDR KIND [SERVICE]"
 * (proto/localmsg.h), which `bancluster report` and fail2ban's action
 * send to the agent and both ends parse with bc_local_parse.
 *
 * Good lines: the exact address, kind, service ("report" when none) and
 * a time of now. Bad lines: the exact one-line reason the sender gets
 * back after "error: ". The kind error lists every kind of the table
 * (common/event.h), so a new kind cannot be missing from it.
 */
#include "proto/localmsg.h"
#include "common/clock.h"
#include "tests/unit/tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 200

struct good {
	const char *msg;
	const char *addr;    /* bc_addr_format of the parsed address */
	int family;
	enum bc_kind kind;
	const char *service;
};

static const struct good goods[] = {
	{"192.0.2.7 auth_fail", "192.0.2.7", AF_INET, BC_KIND_AUTH_FAIL,
	 "report"},
	{"192.0.2.7 sender_violation postfix/smtpd", "192.0.2.7", AF_INET,
	 BC_KIND_SENDER_VIOLATION, "postfix/smtpd"},
	{"2001:db8::1 auth_abort dovecot", "2001:db8::1", AF_INET6,
	 BC_KIND_AUTH_ABORT, "dovecot"},
	{"2001:db8::1 auth_success", "2001:db8::1", AF_INET6,
	 BC_KIND_AUTH_SUCCESS, "report"},
	/* a trailing newline (echo | socat) and repeated blanks are gaps */
	{"198.51.100.1 auth_fail f2b-sshd.x_y\n", "198.51.100.1", AF_INET,
	 BC_KIND_AUTH_FAIL, "f2b-sshd.x_y"},
	{"198.51.100.1  auth_fail   exim", "198.51.100.1", AF_INET,
	 BC_KIND_AUTH_FAIL, "exim"},
	/* IPv4-mapped becomes IPv4, as everywhere (common/addr.h) */
	{"::ffff:192.0.2.9 auth_fail", "192.0.2.9", AF_INET, BC_KIND_AUTH_FAIL,
	 "report"},
};

struct bad {
	const char *what;
	const char *msg;
	size_t len; /* 0: strlen(msg) */
	const char *err;
};

static const struct bad bads[] = {
	{"empty", "", 0, "malformed message"},
	{"NUL inside", "192.0.2.7\0auth_fail", 19, "malformed message"},
	{"address alone", "192.0.2.7", 0, "expected \"ADDR KIND [SERVICE]\""},
	{"blanks only", "   \n", 0, "expected \"ADDR KIND [SERVICE]\""},
	{"four fields", "192.0.2.7 auth_fail postfix extra", 0,
	 "expected \"ADDR KIND [SERVICE]\""},
	{"a name, not an address", "mx.example.com auth_fail", 0,
	 "\"mx.example.com\": not an IP address"},
	{"a prefix, not an address", "192.0.2.0/24 auth_fail", 0,
	 "\"192.0.2.0/24\": not an IP address"},
	{"IPv4 with a port", "192.0.2.7:25 auth_fail", 0,
	 "\"192.0.2.7:25\": not an IP address"},
	{"unknown kind", "192.0.2.7 brute_force", 0,
	 "\"brute_force\": kind must be auth_fail, sender_violation, "
	 "auth_abort or auth_success"},
	{"kind in capitals", "192.0.2.7 AUTH_FAIL", 0,
	 "\"AUTH_FAIL\": kind must be auth_fail, sender_violation, "
	 "auth_abort or auth_success"},
	{"kind before address", "auth_fail 192.0.2.7", 0,
	 "\"auth_fail\": not an IP address"},
	{"service with ';'", "192.0.2.7 auth_fail postfix;rm", 0,
	 "bad service name"},
	{"service with '$'", "192.0.2.7 auth_fail $(id)", 0,
	 "bad service name"},
	{"service with a byte over 0x7f", "192.0.2.7 auth_fail d\xc3\xa9mon", 0,
	 "bad service name"},
};

static void test_good(void)
{
	size_t i;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		struct bc_event ev;
		char err[ERRLEN] = "", buf[BC_ADDR_STRLEN];
		int64_t before = bc_now_ms(), after;
		int rc = bc_local_parse(g->msg, strlen(g->msg), &ev, err,
					sizeof(err));

		after = bc_now_ms();
		CHECK(rc == 0 && ev.addr.family == g->family &&
			      strcmp(bc_addr_format(&ev.addr, buf, sizeof(buf)),
				     g->addr) == 0 &&
			      ev.addr.plen == (g->family == AF_INET ? 32 : 128) &&
			      ev.kind == g->kind &&
			      strcmp(ev.service, g->service) == 0 &&
			      ev.time_ms >= before && ev.time_ms <= after,
		      "good \"%.*s\": %s %s service %s (rc %d, err \"%s\")",
		      (int)strcspn(g->msg, "\n"), g->msg, g->addr, bc_kind_name(g->kind), g->service, rc,
		      err);
	}
}

static void test_every_kind(void)
{
	int k;

	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++) {
		char msg[BC_LOCAL_MSG_MAX + 1], err[ERRLEN] = "";
		struct bc_event ev;
		int n = snprintf(msg, sizeof(msg), "203.0.113.8 %s",
				 bc_kinds[k].name);

		CHECK(bc_local_parse(msg, (size_t)n, &ev, err, sizeof(err)) ==
				      0 &&
			      ev.kind == k,
		      "kind %s from the table parses as %d", bc_kinds[k].name,
		      k);
	}
}

static void test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		size_t len = b->len ? b->len : strlen(b->msg);
		struct bc_event ev;
		char err[ERRLEN] = "";
		int rc = bc_local_parse(b->msg, len, &ev, err, sizeof(err));

		CHECK(rc == -1 && strcmp(err, b->err) == 0,
		      "bad (%s): \"%s\" (rc %d, got \"%s\")", b->what, b->err,
		      rc, err);
	}
}

/* The kind error names every kind of the table. */
static void test_kind_error_lists_every_kind(void)
{
	char err[ERRLEN] = "";
	struct bc_event ev;
	bool all = true;
	int k;

	bc_local_parse("192.0.2.7 nosuchkind", 20, &ev, err, sizeof(err));
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		if (strstr(err, bc_kinds[k].name) == NULL) {
			all = false;
			printf("# kind %s missing from \"%s\"\n",
			       bc_kinds[k].name, err);
		}
	CHECK(all, "the kind error lists all %d kinds of the table",
	      BC_KIND_MAX - BC_KIND_FIRST + 1);
}

/* Size: BC_LOCAL_MSG_MAX bytes are read, one more is malformed. */
static void test_size(void)
{
	char msg[BC_LOCAL_MSG_MAX + 2], err[ERRLEN] = "";
	struct bc_event ev;
	size_t n;
	int rc;

	/* "192.0.2.7 auth_fail " then blanks up to the cap: accepted */
	memset(msg, ' ', sizeof(msg));
	memcpy(msg, "192.0.2.7 auth_fail", 19);
	rc = bc_local_parse(msg, BC_LOCAL_MSG_MAX, &ev, err, sizeof(err));
	CHECK(rc == 0 && ev.kind == BC_KIND_AUTH_FAIL,
	      "%d bytes (blank padded): accepted (rc %d, \"%s\")",
	      BC_LOCAL_MSG_MAX, rc, err);
	n = BC_LOCAL_MSG_MAX + 1;
	rc = bc_local_parse(msg, n, &ev, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "malformed message") == 0,
	      "%zu bytes: \"malformed message\" (rc %d, \"%s\")", n, rc, err);
	/* the message need not end in NUL: only len bytes are read */
	memcpy(msg, "192.0.2.7 auth_failXXXX", 23);
	rc = bc_local_parse(msg, 19, &ev, err, sizeof(err));
	CHECK(rc == 0 && ev.kind == BC_KIND_AUTH_FAIL,
	      "only len bytes read: \"192.0.2.7 auth_fail\" of a longer buffer");
}

int main(void)
{
	test_good();
	test_every_kind();
	test_bad();
	test_kind_error_lists_every_kind();
	test_size();
	return tap_done();
}
