/*
 * test_parse.c - the log parsers against table cases and tests/corpus/.
 *
 * Corpus layout (paths relative to the repository root, where tests run):
 *   tests/corpus/<dir>/<name>.log      log lines, as the MTA wrote them
 *   tests/corpus/<dir>/<name>.expect   what each line must produce:
 *       format FMT                  parser format (auto|postfix|exim|...)
 *       N KIND ADDR [@MS]           line N yields one KIND event for ADDR
 *                                   (repeat the line for several events;
 *                                   @MS also checks the event time)
 *       N none                      line N yields nothing (documentation)
 *       N malformed                 line N is MALFORMED
 *       # ...                       comment (sources of the lines)
 * Every line not listed must produce no event and not be malformed.
 */
#include "conf/agent.h"
#include "logparse/internal.h"
#include "logparse/parse.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CORPUS_DIR "tests/corpus"
#define MAX_EV 64

struct got {
	size_t n;
	int malformed;
	struct bc_event ev[MAX_EV];
};

/* Feed one line, then drain the queue: every event the line caused. */
static void run_line(struct bc_parser *p, const char *line, size_t len,
		     struct got *g)
{
	struct bc_event ev;
	enum bc_parse_result r;

	memset(g, 0, sizeof(*g));
	r = bc_parser_feed(p, line, len, &ev);
	if (r == BC_PARSE_MALFORMED)
		g->malformed = 1;
	if (r == BC_PARSE_MATCH && g->n < MAX_EV)
		g->ev[g->n++] = ev;
	while (bc_parser_flush(p, 0, &ev) == 1)
		if (g->n < MAX_EV)
			g->ev[g->n++] = ev;
}

static const char *fmt_events(const struct got *g, char *buf, size_t len)
{
	size_t i, off = 0;
	char a[BC_ADDR_STRLEN];

	buf[0] = '\0';
	if (g->malformed)
		off += (size_t)snprintf(buf + off, len - off, "malformed ");
	for (i = 0; i < g->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s %s; ",
					bc_kind_name(g->ev[i].kind),
					bc_addr_format(&g->ev[i].addr, a,
						       sizeof(a)));
	if (off == 0)
		snprintf(buf, len, "nothing");
	return buf;
}

/* ---- table cases -------------------------------------------------- */

struct want {
	enum bc_kind kind;
	const char *addr;
};

struct tcase {
	const char *name;
	enum bc_format fmt;
	const char *line;
	struct want w[4]; /* kind 0 ends the list */
	int malformed;
};

static const struct tcase cases[] = {
	{"postfix sasl login fail v4", BC_FMT_AUTO,
	 "Jan 10 12:00:01 mx1 postfix/submission/smtpd[1234]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.7"}}, 0},
	{"postfix sasl plain fail v6", BC_FMT_POSTFIX,
	 "Jan 10 12:00:01 mx1 postfix/smtpd[1235]: warning: unknown[2001:db8::7]: SASL PLAIN authentication failed: authentication failure, sasl_username=bob",
	 {{BC_KIND_AUTH_FAIL, "2001:db8::7"}}, 0},
	{"postfix v4-mapped becomes v4", BC_FMT_AUTO,
	 "Jan 10 12:00:01 mx1 postfix/smtpd[1236]: warning: unknown[::ffff:192.0.2.8]: SASL LOGIN authentication failed: authentication failure",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.8"}}, 0},
	{"postfix backend failure is no event", BC_FMT_AUTO,
	 "Jan 10 12:00:01 mx1 postfix/smtpd[1237]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: Connection lost to authentication server",
	 {{0, NULL}}, 0},
	{"postfix bad address is malformed", BC_FMT_AUTO,
	 "Jan 10 12:00:01 mx1 postfix/smtpd[1238]: warning: unknown[192.0.2.999]: SASL LOGIN authentication failed: x",
	 {{0, NULL}}, 1},
	{"postfix username injection", BC_FMT_AUTO,
	 "Jan 10 12:00:01 mx1 postfix/smtpd[1239]: warning: unknown[192.0.2.10]: SASL LOGIN authentication failed: authentication failure, sasl_username=x from unknown[203.0.113.9]: SASL LOGIN authentication failed",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.10"}}, 0},
	{"exim auth fail v6 with port", BC_FMT_AUTO,
	 "2024-01-10 12:00:01 dovecot_plain authenticator failed for (helo.example) [2001:db8::5]:54321 I=[2001:db8::1]:587: 535 Incorrect authentication data (set_id=bob)",
	 {{BC_KIND_AUTH_FAIL, "2001:db8::5"}}, 0},
	{"exim helo injection", BC_FMT_EXIM,
	 "2024-01-10 12:00:01 login authenticator failed for ([203.0.113.9]) [192.0.2.11]: 535 Incorrect authentication data (set_id=[203.0.113.9])",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.11"}}, 0},
	{"exim junk helo is no event", BC_FMT_EXIM,
	 "2024-01-10 12:00:01 login authenticator failed for (x) [203.0.113.9] y) [192.0.2.12]: 535 Incorrect authentication data",
	 {{0, NULL}}, 0},
	{"sendmail user injection", BC_FMT_AUTO,
	 "Feb 25 04:02:28 relay1 sendmail[16665]: 06I02CNi016765: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=criminal, relay=[203.0.113.9], relay=[192.0.2.4] (may be forged)",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.4"}}, 0},
	{"sendmail ipv6", BC_FMT_SENDMAIL,
	 "Feb 25 04:02:29 relay1 sm-mta[16666]: 06I02CNi016766: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user=test, relay=host.example [IPv6:2001:db8::44]",
	 {{BC_KIND_AUTH_FAIL, "2001:db8::44"}}, 0},
	{"dovecot 3 attempts = 3 events", BC_FMT_AUTO,
	 "Jun 12 19:07:29 mx dovecot[241]: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<test>, method=PLAIN, rip=192.0.2.241, lip=203.0.113.104, TLS, session=<9ZHq02g3J8S60fan>",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.241"},
	  {BC_KIND_AUTH_FAIL, "192.0.2.241"},
	  {BC_KIND_AUTH_FAIL, "192.0.2.241"}}, 0},
	{"dovecot rip injection in user", BC_FMT_AUTO,
	 "Jun 12 19:07:30 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=203.0.113.9, lip=1.2.3.4>, method=PLAIN, rip=192.0.2.50, lip=198.51.100.1, TLS, session=<abc>",
	 {{BC_KIND_AUTH_FAIL, "192.0.2.50"}}, 0},
	{"garbage", BC_FMT_AUTO, "\x01\x02 garbage [192.0.2.1] rip=192.0.2.1",
	 {{0, NULL}}, 0},
	{"empty", BC_FMT_AUTO, "", {{0, NULL}}, 0},
	{"bare journal form", BC_FMT_AUTO,
	 "postfix/smtpd[77]: warning: unknown[198.51.100.3]: SASL LOGIN authentication failed: authentication failure",
	 {{BC_KIND_AUTH_FAIL, "198.51.100.3"}}, 0},
};

static int match_want(const struct got *g, const struct want *w)
{
	size_t nw = 0, i;
	int used[MAX_EV] = {0};

	while (nw < 4 && w[nw].kind != 0)
		nw++;
	if (nw != g->n)
		return 0;
	for (i = 0; i < nw; i++) {
		struct bc_addr a;
		size_t j;

		if (bc_addr_parse_host(&a, w[i].addr, strlen(w[i].addr)) < 0)
			return 0;
		for (j = 0; j < g->n; j++)
			if (!used[j] && g->ev[j].kind == w[i].kind &&
			    bc_addr_equal(&g->ev[j].addr, &a))
				break;
		if (j == g->n)
			return 0;
		used[j] = 1;
	}
	return 1;
}

static void test_cases(void)
{
	size_t i;
	char buf[512];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct bc_parser *p = bc_parser_new(c->fmt);
		struct got g;

		if (p == NULL) {
			CHECK(0, "case %s: parser", c->name);
			continue;
		}
		run_line(p, c->line, strlen(c->line), &g);
		CHECK(match_want(&g, c->w) && g.malformed == c->malformed,
		      "case %s (got %s)", c->name, fmt_events(&g, buf, sizeof(buf)));
		bc_parser_free(&p);
		CHECK(p == NULL, "case %s: free clears the pointer", c->name);
	}
}

/* ---- properties --------------------------------------------------- */

static void test_api(void)
{
	enum bc_format f;

	CHECK(bc_format_parse("postfix", &f) == 0 && f == BC_FMT_POSTFIX,
	      "format postfix");
	CHECK(bc_format_parse("auto", &f) == 0 && f == BC_FMT_AUTO,
	      "format auto");
	CHECK(bc_format_parse("Postfix", &f) < 0, "format is case-sensitive");
	CHECK(bc_format_parse("", &f) < 0, "format empty rejected");
	CHECK(strcmp(bc_kind_name(BC_KIND_AUTH_FAIL), "auth_fail") == 0 &&
		      strcmp(bc_kind_name(BC_KIND_SENDER_VIOLATION),
			     "sender_violation") == 0 &&
		      strcmp(bc_kind_name(BC_KIND_AUTH_ABORT), "auth_abort") == 0 &&
		      strcmp(bc_kind_name(BC_KIND_AUTH_SUCCESS),
			     "auth_success") == 0,
	      "kind names");
	CHECK(bc_parser_new((enum bc_format)99) == NULL, "bad format refused");
}

static void test_overlong(void)
{
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	const char *head = "Jan 10 12:00:01 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: ";
	size_t n = BC_PARSE_LINE_MAX + 1, hl = strlen(head);
	char *line = malloc(n);
	struct bc_event ev;
	struct bc_parse_stats st;
	enum bc_parse_result r1, r2;

	memset(line, 'A', n);
	memcpy(line, head, hl);
	r1 = bc_parser_feed(p, line, n, &ev);
	CHECK(r1 == BC_PARSE_MALFORMED, "line over 8 KiB is malformed");
	r2 = bc_parser_feed(p, line, BC_PARSE_LINE_MAX, &ev);
	CHECK(r2 == BC_PARSE_MATCH, "line of exactly 8 KiB is parsed");
	bc_parser_stats(p, &st);
	CHECK(st.overlong == 1 && st.malformed == 1 && st.lines == 2,
	      "overlong counted");
	free(line);
	bc_parser_free(&p);
}

static void test_time(void)
{
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	struct bc_event ev;
	const char *l1 = "2024-01-10T12:00:01.123456+01:00 mx1 postfix/smtpd[5]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: x";
	const char *l2 = "<38>1 2024-01-10T11:00:01.5Z mx1 postfix/smtpd 6 - - warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: x";
	const char *l3 = "2024-01-10 12:00:01.250 +0100 login authenticator failed for (h) [192.0.2.7]: 535 Incorrect authentication data";

	enum bc_parse_result r;

	r = bc_parser_feed(p, l1, strlen(l1), &ev);
	CHECK(r == BC_PARSE_MATCH && ev.time_ms == 1704884401123LL,
	      "rsyslog ISO time with offset (got %lld)", (long long)ev.time_ms);
	r = bc_parser_feed(p, l2, strlen(l2), &ev);
	CHECK(r == BC_PARSE_MATCH && ev.time_ms == 1704884401500LL &&
		      strcmp(ev.service, "postfix/smtpd") == 0,
	      "RFC 5424 time, app name and service (got %lld %s)",
	      (long long)ev.time_ms, ev.service);
	r = bc_parser_feed(p, l3, strlen(l3), &ev);
	CHECK(r == BC_PARSE_MATCH && ev.time_ms == 1704884401250LL &&
		      strcmp(ev.service, "exim") == 0,
	      "exim mainlog time with zone (got %lld)", (long long)ev.time_ms);
	bc_parser_free(&p);

	/* a service name built from the line: a login process' name is
	 * letters and digits, escape bytes there make it no login line */
	p = bc_parser_new(BC_FMT_DOVECOT);
	{
		const char *l4 = "Jun 12 19:07:29 mx dovecot: \x1b[2J\\-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=192.0.2.8, lip=198.51.100.1, TLS";
		const char *l5 = "Jun 12 19:07:29 mx dovecot: pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=192.0.2.8, lip=198.51.100.1, TLS";

		r = bc_parser_feed(p, l4, strlen(l4), &ev);
		CHECK(r == BC_PARSE_NOMATCH,
		      "escape bytes in dovecot's process name: no login line (%d)",
		      (int)r);
		r = bc_parser_feed(p, l5, strlen(l5), &ev);
		CHECK(r == BC_PARSE_MATCH && strcmp(ev.service, "dovecot/pop3") == 0,
		      "dovecot's service from its process name (%s)",
		      r == BC_PARSE_MATCH ? ev.service : "no event");
	}
	bc_parser_free(&p);
}

static void test_bounded(void)
{
	struct bc_parser *p = bc_parser_new(BC_FMT_POSTFIX);
	struct bc_parse_stats st;
	struct bc_event ev;
	char line[256];
	int i, n;
	enum bc_parse_result r;

	/* more concurrent sessions than the table holds */
	for (i = 0; i < 3 * BC_PARSE_SESSIONS; i++) {
		n = snprintf(line, sizeof(line),
			     "Jan 10 12:00:01 mx1 postfix/smtpd[%d]: connect from unknown[192.0.2.%d]",
			     1000 + i, i % 250 + 1);
		bc_parser_feed(p, line, (size_t)n, &ev);
	}
	bc_parser_stats(p, &st);
	CHECK(st.evicted >= 2 * BC_PARSE_SESSIONS,
	      "session table bounded, evictions counted (%llu)",
	      (unsigned long long)st.evicted);
	/* a lost connection for an evicted session still counts once */
	n = snprintf(line, sizeof(line),
		     "Jan 10 12:00:02 mx1 postfix/smtpd[1000]: lost connection after AUTH from unknown[192.0.2.1]");
	r = bc_parser_feed(p, line, (size_t)n, &ev);
	CHECK(r == BC_PARSE_MATCH && ev.kind == BC_KIND_AUTH_ABORT,
	      "evicted session still yields its abort");
	n = snprintf(line, sizeof(line),
		     "Jan 10 12:00:02 mx1 postfix/smtpd[1000]: disconnect from unknown[192.0.2.1] ehlo=1 auth=0/1 commands=1/2");
	r = bc_parser_feed(p, line, (size_t)n, &ev);
	CHECK(r == BC_PARSE_NOMATCH, "... once (its disconnect adds nothing)");
	bc_parser_free(&p);
}

/* ---- issue 11: the findings, with the issue's own lines ------------- */

/* Feed lines through one parser; count events of kind k for addr. */
static int count_events(struct bc_parser *p, const char *const *lines,
			size_t n, enum bc_kind k, const char *addr, int *other)
{
	struct bc_addr a;
	struct got g;
	size_t i, j;
	int c = 0;

	bc_addr_parse_host(&a, addr, strlen(addr));
	*other = 0;
	for (i = 0; i < n; i++) {
		run_line(p, lines[i], strlen(lines[i]), &g);
		for (j = 0; j < g.n; j++) {
			if (g.ev[j].kind == k && bc_addr_equal(&g.ev[j].addr, &a))
				c++;
			else
				(*other)++;
		}
	}
	return c;
}

static void test_issue11(void)
{
	static const char *const f1[] = {
		"Nov 28 23:40:01 mail postfix/smtpd[2001]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 550 5.1.1 <x: Relay access denied; from=<1@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; from=<attacker@gmail.com> to=<\"x: Relay access denied; from=<1\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:02 mail postfix/smtpd[2002]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 550 5.1.1 <x: Relay access denied; from=<2@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; from=<attacker@gmail.com> to=<\"x: Relay access denied; from=<2\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:03 mail postfix/smtpd[2003]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 550 5.1.1 <x: Relay access denied; from=<3@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; from=<attacker@gmail.com> to=<\"x: Relay access denied; from=<3\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:04 mail postfix/smtpd[2004]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 550 5.1.1 <x: Relay access denied; from=<4@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; from=<attacker@gmail.com> to=<\"x: Relay access denied; from=<4\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:05 mail postfix/smtpd[2005]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 550 5.1.1 <x: Relay access denied; from=<5@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; from=<attacker@gmail.com> to=<\"x: Relay access denied; from=<5\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:06 mail postfix/smtpd[2006]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 450 4.2.0 <x>: Sender address rejected: not owned by user a@lab.test>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/lab.test.html; from=<attacker@gmail.com> to=<\"x>: Sender address rejected: not owned by user a\"@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"Nov 28 23:40:10 mail sm-mta[3001]: 6ASNcb43021543: ruleset=check_rcpt, arg1=<\"x... Relaying denied\"@lab.test>, relay=mail-ed1-f50.google.com [209.85.208.50], reject=550 5.7.1 <\"x... Relaying denied\"@lab.test>... Access denied",
	};
	static const char *const f2[] = {
		"Nov 28 23:40:08 mail postfix/smtpd[2008]: NOQUEUE: reject: RCPT from mail-ed1-f50.google.com[209.85.208.50]: 450 4.1.7 <a1@evil.example>: Sender address rejected: unverified address: host mx.evil.example[6.6.6.6] said: 550 5.1.1 x: Relay access denied; from=<z> (in reply to RCPT TO command); from=<a1@evil.example> to=<bob@lab.test> proto=ESMTP helo=<mail-ed1-f50.google.com>",
		"2026-11-28 23:41:00 H=mail-ed1-f50.google.com [209.85.208.50] sender verify fail for <a1@evil.example>: response to \"RCPT TO:<a1@evil.example>\" from mx.evil.example [6.6.6.6] was: 550 x rejected RCPT <y>: relay not permitted",
	};
	static const char *const f3 =
		"2026-11-28 23:41:03 SMTP protocol error in \"AUTH LOGIN\" H=(h) [192.0.2.50] U=x H=(y) [203.0.113.9] AUTH command used when not advertised";
	static const char *const f4 =
		"Nov 28 23:43:00 mail dovecot: imap(imap-login: Disconnected (auth failed, 9 attempts in 1 secs): user=<a>, rip=203.0.113.10, lip=1)<4242><AbCd>: Logged out in=10 out=20";
	static const char *const f5[] = {
		"2026-11-28 23:41:07 H=(client.lab.example) [192.0.2.60] X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no rejected MAIL <bob@lab.test>: Sender address rejected: not owned by user alice@lab.test",
		"2026-11-28 23:41:08 H=(client.lab.example) [192.0.2.60] rejected MAIL <alice@lab.test>: Sender address rejected: not logged in",
		"Nov 28 23:42:02 mail sm-mta[3003]: 6ASNcb43021545: ruleset=check_mail, arg1=<alice@lab.test>, relay=c2.example [192.0.2.60], reject=553 5.7.1 <alice@lab.test>... Sender address rejected: not logged in",
	};
	static const char *const f6[] = {
		"Nov 28 23:43:01 mail dovecot: auth: Info: passwd-file(alice@lab.test,192.0.2.90): Password mismatch",
		"Nov 28 23:43:02 mail dovecot: auth: Info: passwd-file(nosuch,192.0.2.90): unknown user",
		"Nov 28 23:43:03 mail dovecot: auth-worker(1234): Info: pam(alice,192.0.2.90): pam_authenticate() failed: Authentication failure (Password mismatch?)",
		"Nov 28 23:43:04 mail dovecot: auth-worker(1234): Info: sql(alice,192.0.2.90,<S3ss10n>): Password mismatch",
	};
	/* item 10: a failed AUTH then a drop, and the honest client who
	 * mistypes once and QUITs */
	static const char *const f10[] = {
		"Nov 28 23:45:00 mail postfix/smtpd[7001]: connect from unknown[192.0.2.120]",
		"Nov 28 23:45:02 mail postfix/smtpd[7001]: warning: unknown[192.0.2.120]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		"Nov 28 23:45:02 mail postfix/smtpd[7001]: lost connection after AUTH from unknown[192.0.2.120]",
		"Nov 28 23:45:02 mail postfix/smtpd[7001]: disconnect from unknown[192.0.2.120] ehlo=1 auth=0/1 commands=1/2",
		"Nov 28 23:45:10 mail postfix/smtpd[7002]: connect from unknown[192.0.2.121]",
		"Nov 28 23:45:12 mail postfix/smtpd[7002]: warning: unknown[192.0.2.121]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		"Nov 28 23:45:12 mail postfix/smtpd[7002]: disconnect from unknown[192.0.2.121] ehlo=1 auth=0/1 quit=1 commands=2/3",
	};
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	int n, other;

	n = count_events(p, f1, sizeof(f1) / sizeof(f1[0]),
			 BC_KIND_SENDER_VIOLATION, "209.85.208.50", &other);
	CHECK(n == 0 && other == 0,
	      "finding 1: reasons in client text give the forwarder nothing (%d, %d)",
	      n, other);
	n = count_events(p, f2, 2, BC_KIND_SENDER_VIOLATION, "209.85.208.50",
			 &other);
	CHECK(n == 0 && other == 0, "finding 2: callout replies are no reason (%d, %d)",
	      n, other);
	bc_parser_free(&p);
	p = bc_parser_new(BC_FMT_EXIM);
	{
		const char *ten[10];
		int i;

		for (i = 0; i < 10; i++)
			ten[i] = f3;
		n = count_events(p, ten, 10, BC_KIND_AUTH_ABORT, "203.0.113.9",
				 &other);
		CHECK(n == 0 && other == 0,
		      "finding 3: ten lines, the ident's address gets nothing (%d, %d)",
		      n, other);
	}
	bc_parser_free(&p);
	p = bc_parser_new(BC_FMT_AUTO);
	n = count_events(p, &f4, 1, BC_KIND_AUTH_FAIL, "203.0.113.10", &other);
	CHECK(n == 0 && other == 0,
	      "finding 4: a user name imitating a login summary gives nothing (%d, %d)",
	      n, other);
	n = count_events(p, f5, 3, BC_KIND_SENDER_VIOLATION, "192.0.2.60", &other);
	CHECK(n == 3 && other == 0,
	      "finding 5: Exim not owned / not logged in, Sendmail check_mail (%d, %d)",
	      n, other);
	n = count_events(p, f6, 4, BC_KIND_AUTH_FAIL, "192.0.2.90", &other);
	CHECK(n == 4 && other == 0,
	      "finding 6: Dovecot auth-process lines (%d, %d)", n, other);
	n = count_events(p, f10, 4, BC_KIND_AUTH_ABORT, "192.0.2.120", &other);
	CHECK(n == 1 && other == 1,
	      "item 10: a failed AUTH then a drop: auth_fail and auth_abort (%d, %d)",
	      n, other);
	n = count_events(p, f10 + 4, 3, BC_KIND_AUTH_FAIL, "192.0.2.121", &other);
	CHECK(n == 1 && other == 0,
	      "item 10: a mistyped password then QUIT: the failure only (%d, %d)",
	      n, other);
	bc_parser_free(&p);
}

/* ---- [detect]: site-defined reasons --------------------------------- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_detect(void)
{
	static const char *const exim_site =
		"2026-11-28 23:41:07 H=(client.lab.example) [192.0.2.130] rejected MAIL <bob@lab.test>: sender not permitted to use this address, log in as its owner";
	static const char *const exim_inside =
		"2026-11-28 23:41:07 H=(client.lab.example) [192.0.2.131] F=<\"sender not permitted to use this address\"@x.example> rejected RCPT <bob@lab.test>: Unknown user";
	static const char *const pf_site =
		"Nov 28 23:40:11 mail postfix/smtpd[2011]: NOQUEUE: reject: RCPT from unknown[192.0.2.132]: 550 5.7.1 <bob@lab.test>: Sender address rejected: Access denied; from=<bob@lab.test> to=<x@lab.test> proto=ESMTP helo=<h>";
	static const char *const sm_site =
		"Nov 28 23:42:01 mail sm-mta[3002]: 6ASNcb43021544: ruleset=check_rcpt, arg1=<v@example.net>, relay=[192.0.2.133], reject=550 5.7.1 <v@example.net>... Authenticate first";
	struct bc_detect *d = calloc(1, sizeof(*d));
	struct bc_agent_cfg *cfg = calloc(1, sizeof(*cfg));
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	char dir[] = "/tmp/bc-detect.XXXXXX", path[64], err[512];
	struct got g;
	int rc;

	if (d == NULL || cfg == NULL || p == NULL || mkdtemp(dir) == NULL) {
		CHECK(0, "detect test setup");
		return;
	}
	/* without site reasons: none of them counts */
	run_line(p, exim_site, strlen(exim_site), &g);
	CHECK(g.n == 0, "Exim site wording: nothing by default");
	run_line(p, pf_site, strlen(pf_site), &g);
	CHECK(g.n == 0, "Postfix access map reject: nothing by default");

	snprintf(path, sizeof(path), "%s/agent.ini", dir);
	write_file(path, "[agent]\nid = mx1\n[detect]\n"
			 "exim_sender_reasons = sender not permitted to use this address\n"
			 "sender_reasons = Sender address rejected: Access denied,\n"
			 "  Authenticate first   # a comment\n"
			 "dovecot_auth_lines = no\n");
	rc = bc_detect_load(path, d, err, sizeof(err));
	CHECK(rc == 0 && d->n[BC_DETECT_EXIM] == 1 && d->n[BC_DETECT_ALL] == 2 &&
		      strcmp(d->reason[BC_DETECT_ALL][1], "Authenticate first") == 0 &&
		      d->dovecot_auth_lines == 0,
	      "bc_detect_load reads [detect], continuation lines add (%s)",
	      rc == 0 ? "ok" : err);
	CHECK(bc_parser_set_detect(p, d) == 0, "bc_parser_set_detect");
	run_line(p, exim_site, strlen(exim_site), &g);
	CHECK(g.n == 1 && g.ev[0].kind == BC_KIND_SENDER_VIOLATION,
	      "Exim site reason at the message's place: sender_violation");
	run_line(p, exim_inside, strlen(exim_inside), &g);
	CHECK(g.n == 0, "the same words in the sender: nothing");
	run_line(p, pf_site, strlen(pf_site), &g);
	CHECK(g.n == 1 && g.ev[0].kind == BC_KIND_SENDER_VIOLATION,
	      "sender_reasons apply to Postfix");
	run_line(p, sm_site, strlen(sm_site), &g);
	CHECK(g.n == 1 && g.ev[0].kind == BC_KIND_SENDER_VIOLATION,
	      "sender_reasons apply to Sendmail");
	{
		const char *dv = "Nov 28 23:43:01 mail dovecot: auth: passwd-file(alice,192.0.2.134): Password mismatch";

		run_line(p, dv, strlen(dv), &g);
		CHECK(g.n == 0, "dovecot_auth_lines = no: auth-process lines give nothing");
	}
	/* a site list for another MTA does not apply */
	{
		struct bc_detect *e = calloc(1, sizeof(*e));

		bc_detect_init(e);
		memcpy(e->reason[BC_DETECT_POSTFIX][0], "sender not permitted", 21);
		e->n[BC_DETECT_POSTFIX] = 1;
		CHECK(bc_parser_set_detect(p, e) == 0, "postfix-only list");
		run_line(p, exim_site, strlen(exim_site), &g);
		CHECK(g.n == 0, "a Postfix reason is not read in Exim lines");
		e->n[BC_DETECT_POSTFIX] = BC_DETECT_REASONS + 1;
		CHECK(bc_parser_set_detect(p, e) < 0, "an over-long list is refused");
		e->n[BC_DETECT_POSTFIX] = 2; /* the second is empty */
		CHECK(bc_parser_set_detect(p, e) < 0, "an empty reason is refused");
		free(e);
	}
	CHECK(bc_parser_set_detect(p, NULL) == 0, "NULL restores the defaults");

	/* errors name the file and line */
	write_file(path, "[detect]\nsender_reasons = a\nsender_reason = b\n");
	rc = bc_detect_load(path, d, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "agent.ini:3: [detect] sender_reason: unknown key") != NULL,
	      "unknown key names file:line (%s)", err);
	write_file(path, "[detect]\nexim_sender_reasons = a, , b\n");
	rc = bc_detect_load(path, d, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "agent.ini:2: [detect] exim_sender_reasons: empty reason") != NULL,
	      "empty reason names file:line (%s)", err);
	write_file(path, "[detect]\ndovecot_auth_lines = maybe\n");
	rc = bc_detect_load(path, d, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "agent.ini:2:") != NULL, "bad yes/no (%s)", err);
	/* the agent's own loader */
	write_file(path, "[agent]\nid = mx1\ncoordinator = tcp://198.18.0.1:7710\n"
			 "updates = tcp://198.18.0.1:7711\nkey = mx1.key\n"
			 "coordinator_key = c.pub\n"
			 "[detect]\npostfix_sender_reasons = Sender address rejected: Access denied\n"
			 "postfix_sender_reasons = Client host rejected: Access denied\n");
	rc = bc_agent_load_config(cfg, path, err, sizeof(err));
	CHECK(rc == 0 && cfg->detect.n[BC_DETECT_POSTFIX] == 2 &&
		      cfg->detect.dovecot_auth_lines == 1,
	      "agent.ini [detect] into the agent's config (%s)", rc == 0 ? "ok" : err);
	bc_agent_free_config(cfg);
	write_file(path, "[agent]\nid = mx1\ncoordinator = tcp://198.18.0.1:7710\n"
			 "updates = tcp://198.18.0.1:7711\nkey = mx1.key\n"
			 "coordinator_key = c.pub\n[detect]\nsendmail_sender_reasons = \x01x\n");
	memset(cfg, 0, sizeof(*cfg));
	rc = bc_agent_load_config(cfg, path, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "agent.ini:8: [detect] sendmail_sender_reasons: control character") != NULL,
	      "agent.ini [detect] error names file:line (%s)", err);
	bc_agent_free_config(cfg);
	unlink(path);
	rmdir(dir);
	bc_parser_free(&p);
	free(cfg);
	free(d);
}

/* ---- corpus -------------------------------------------------------- */

struct exp {
	long line;
	int malformed;
	enum bc_kind kind;
	struct bc_addr addr;
	int64_t time_ms; /* 0 = unchecked */
};

static int read_expect(const char *path, enum bc_format *fmt, struct exp **out,
		       size_t *nout)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	struct exp *v = NULL;
	size_t n = 0, cap = 0;

	*fmt = BC_FMT_AUTO;
	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *hash = strchr(buf, '#'), *tok[4], *save = NULL;
		int nt = 0;
		struct exp e;

		if (hash)
			*hash = '\0';
		for (tok[nt] = strtok_r(buf, " \t\r\n", &save);
		     tok[nt] != NULL && nt < 3;)
			tok[++nt] = strtok_r(NULL, " \t\r\n", &save);
		if (nt == 0)
			continue;
		if (strcmp(tok[0], "format") == 0 && nt >= 2) {
			if (bc_format_parse(tok[1], fmt) < 0)
				goto bad;
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.line = strtol(tok[0], NULL, 10);
		if (e.line <= 0 || nt < 2)
			goto bad;
		if (strcmp(tok[1], "none") == 0)
			continue;
		if (strcmp(tok[1], "malformed") == 0) {
			e.malformed = 1;
		} else {
			int k;

			for (k = 1; k <= BC_KIND_MAX; k++)
				if (strcmp(tok[1], bc_kind_name((enum bc_kind)k)) == 0)
					break;
			if (k > BC_KIND_MAX || nt < 3 ||
			    bc_addr_parse_host(&e.addr, tok[2], strlen(tok[2])) < 0)
				goto bad;
			e.kind = (enum bc_kind)k;
			if (nt > 3 && tok[3][0] == '@')
				e.time_ms = strtoll(tok[3] + 1, NULL, 10);
		}
		if (n == cap) {
			struct exp *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*nv));
			if (nv == NULL)
				goto bad;
			v = nv;
		}
		v[n++] = e;
	}
	fclose(f);
	*out = v;
	*nout = n;
	return 0;
bad:
	fprintf(stderr, "%s: bad line: %s\n", path, buf);
	fclose(f);
	free(v);
	return -1;
}

static void check_line(const char *name, long ln, const struct got *g,
		       const struct exp *e, size_t ne)
{
	int used[MAX_EV] = {0};
	size_t i, j, want = 0;
	int want_malformed = 0, ok = 1;
	char buf[512];

	for (i = 0; i < ne; i++) {
		if (e[i].line != ln)
			continue;
		if (e[i].malformed) {
			want_malformed = 1;
			continue;
		}
		want++;
		for (j = 0; j < g->n; j++)
			if (!used[j] && g->ev[j].kind == e[i].kind &&
			    bc_addr_equal(&g->ev[j].addr, &e[i].addr) &&
			    (e[i].time_ms == 0 || g->ev[j].time_ms == e[i].time_ms))
				break;
		if (j == g->n)
			ok = 0;
		else
			used[j] = 1;
	}
	if (want != g->n || want_malformed != g->malformed)
		ok = 0;
	if (want == 0 && !want_malformed && ok)
		return; /* silent lines pass silently: keep the output short */
	CHECK(ok, "corpus %s:%ld (got %s)", name, ln,
	      fmt_events(g, buf, sizeof(buf)));
}

static void run_corpus_file(const char *dir, const char *base)
{
	char epath[1024], lpath[1024], name[512];
	enum bc_format fmt;
	struct exp *e = NULL;
	size_t ne = 0, cap = 0, i;
	struct bc_parser *p;
	FILE *f;
	char *line = NULL;
	ssize_t len;
	long ln = 0, maxline = 0;
	struct got g;

	snprintf(epath, sizeof(epath), "%s/%s.expect", dir, base);
	snprintf(lpath, sizeof(lpath), "%s/%s.log", dir, base);
	snprintf(name, sizeof(name), "%s/%s.log", dir + sizeof(CORPUS_DIR), base);
	if (read_expect(epath, &fmt, &e, &ne) < 0) {
		CHECK(0, "corpus %s: read %s", name, epath);
		return;
	}
	f = fopen(lpath, "r");
	p = bc_parser_new(fmt);
	if (f == NULL || p == NULL) {
		CHECK(0, "corpus %s: open", name);
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		ln++;
		run_line(p, line, (size_t)len, &g);
		check_line(name, ln, &g, e, ne);
	}
	for (i = 0; i < ne; i++)
		if (e[i].line > maxline)
			maxline = e[i].line;
	CHECK(maxline <= ln, "corpus %s: %ld lines, expectations within them",
	      name, ln);
out:
	if (f)
		fclose(f);
	free(line);
	free(e);
	bc_parser_free(&p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void)
{
	DIR *top = opendir(CORPUS_DIR);
	struct dirent *d;
	int files = 0;

	CHECK(top != NULL, "corpus directory %s (run from the repo root)",
	      CORPUS_DIR);
	if (top == NULL)
		return;
	while ((d = readdir(top)) != NULL) {
		char dir[512];
		DIR *sub;
		struct dirent *s;
		char *names[256];
		int nn = 0, i;

		if (d->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", CORPUS_DIR, d->d_name);
		sub = opendir(dir);
		if (sub == NULL)
			continue;
		while ((s = readdir(sub)) != NULL && nn < 256) {
			size_t l = strlen(s->d_name);

			if (l > 7 && strcmp(s->d_name + l - 7, ".expect") == 0)
				names[nn++] = strndup(s->d_name, l - 7);
		}
		closedir(sub);
		qsort(names, (size_t)nn, sizeof(names[0]), cmp_str);
		for (i = 0; i < nn; i++) {
			run_corpus_file(dir, names[i]);
			free(names[i]);
			files++;
		}
	}
	closedir(top);
	CHECK(files >= 4, "corpus has files for every MTA (%d)", files);
}

/*
 * The scanners' byte classes (logparse/internal.h): the table says for
 * each of the 256 bytes what the ranges it replaced said.
 */
static void test_char_class(void)
{
	int c, wrong_alnum = 0, wrong_tag = 0;

	for (c = 0; c < 256; c++) {
		bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			     (c >= 'a' && c <= 'z');
		bool tag = alnum || c == '-' || c == '_' || c == '/' ||
			   c == '.' || c == '@';

		if (bc_alnum((char)c) != alnum)
			wrong_alnum++;
		if (bc_tag_char((char)c) != tag)
			wrong_tag++;
	}
	CHECK(wrong_alnum == 0, "bc_alnum: 0-9 A-Z a-z exactly (%d bytes wrong)",
	      wrong_alnum);
	CHECK(wrong_tag == 0, "bc_tag_char: alnum and - _ / . @ exactly (%d "
			      "bytes wrong)", wrong_tag);
}

int main(void)
{
	test_char_class();
	test_api();
	test_cases();
	test_overlong();
	test_time();
	test_bounded();
	test_issue11();
	test_detect();
	test_corpus();
	return tap_done();
}
