/*
 * test_parse_replay.c - `bancluster replay`: exit codes, counts, the
 * default policy's verdicts, and the JSON shape of DESIGN.md.
 * The report is captured by pointing stdout at a temporary file.
 */
#include "cli/replay.h"
#include "common/addr.h"
#include "logparse/parse.h"
#include "tap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 20];
static char errout[4096];

/* Read fd (rewound) into buf, NUL-terminated. */
static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/*
 * Run replay with argv; stdout goes to out[], stderr to errout[].
 * Returns the exit code.
 */
static int run(int argc, char **argv)
{
	char path[] = "/tmp/bc-replay-out.XXXXXX";
	char epath[] = "/tmp/bc-replay-err.XXXXXX";
	int fd = mkstemp(path), efd = mkstemp(epath), saved, esaved, rc;

	fflush(stdout);
	fflush(stderr);
	saved = dup(STDOUT_FILENO);
	esaved = dup(STDERR_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(efd, STDERR_FILENO);
	rc = bc_replay_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, STDOUT_FILENO);
	dup2(esaved, STDERR_FILENO);
	close(saved);
	close(esaved);
	slurp(fd, out, sizeof(out));
	slurp(efd, errout, sizeof(errout));
	close(fd);
	close(efd);
	unlink(path);
	unlink(epath);
	return rc;
}

/* stderr's first line, for a check's name (after the check ran). */
static const char *err1(void)
{
	errout[strcspn(errout, "\n")] = '\0';
	return errout;
}

/* Exactly one line on stderr, and it contains want. */
static int one_error_line(const char *want)
{
	size_t n = strlen(errout);

	return n > 0 && errout[n - 1] == '\n' && strchr(errout, '\n') == errout + n - 1 &&
	       strstr(errout, want) != NULL;
}

enum line_kind { FAIL, ABORT, OKLINE, RELAY };

/*
 * The message of one line of kind k from addr, by process pid (one line
 * per connection: callers give every line its own process id).
 */
static void line_body(FILE *f, enum line_kind k, const char *addr, int pid)
{
	switch (k) {
	case FAIL:
		fprintf(f, "postfix/smtpd[%d]: warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", pid, addr);
		break;
	case ABORT:
		fprintf(f, "postfix/smtpd[%d]: lost connection after AUTH from unknown[%s]\n", pid, addr);
		break;
	case OKLINE:
		fprintf(f, "dovecot[%d]: imap-login: Login: user=<u>, method=PLAIN, rip=%s, lip=198.51.100.1, session=<s>\n", pid, addr);
		break;
	case RELAY:
		fprintf(f, "postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 <x@example.org>: Relay access denied; from=<a@b> to=<x@example.org> proto=ESMTP helo=<h>\n", pid, addr);
		break;
	}
}

static void add(FILE *f, int sec, enum line_kind k, const char *addr)
{
	static int pid = 100;

	fprintf(f, "2024-01-10T12:%02d:%02dZ mx1 ", sec / 60, sec % 60);
	line_body(f, k, addr, pid++);
}

/* the JSON object for one address, or NULL */
static const char *addr_obj(const char *addr)
{
	char key[96];

	snprintf(key, sizeof(key), "{\"address\": \"%s\", \"events\": {", addr);
	return strstr(out, key);
}

static int verdict(const char *addr, const char *what)
{
	const char *o = addr_obj(addr), *e;
	char buf[512];
	size_t n;

	if (o == NULL)
		return 0;
	e = strchr(o + 1, '{');
	e = e ? strchr(e, '}') : NULL; /* end of "events" */
	e = e ? strchr(e + 1, '}') : NULL;
	if (e == NULL)
		return 0;
	n = (size_t)(e - o) < sizeof(buf) - 1 ? (size_t)(e - o) : sizeof(buf) - 1;
	memcpy(buf, o, n);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

/* A line at T0 + sec (any length of time), with its own process id. */
static void addt(FILE *f, long sec, enum line_kind k, const char *addr)
{
	static int pid = 50000;

	fprintf(f, "2024-01-10T%02ld:%02ld:%02ldZ mx1 ", 12 + sec / 3600,
		sec / 60 % 60, sec % 60);
	line_body(f, k, addr, pid++);
}

/* One auth failure in each MTA's words (Exim, Sendmail, Dovecot). */
static void add_mtas(FILE *f, const char *ex, const char *sm, const char *dv)
{
	static int pid = 60000;

	fprintf(f, "2024-01-10T13:00:00Z mx1 exim[%d]: login authenticator failed for (h) [%s]: 535 Incorrect authentication data\n", pid++, ex);
	fprintf(f, "2024-01-10T13:00:01Z mx1 sendmail[%d]: 14NNwaRl%06d: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=u, relay=[%s]\n", pid, pid, sm);
	pid++;
	fprintf(f, "2024-01-10T13:00:02Z mx1 dovecot[%d]: imap-login: Disconnected (auth failed, 1 attempts): user=<u>, method=PLAIN, rip=%s, lip=198.51.100.1, TLS\n", pid++, dv);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

static FILE *reopen(const char *path)
{
	return fopen(path, "w");
}

/*
 * Item 7 of issue 11, through the parsers: IPv4-mapped and -compatible
 * clients are their IPv4 address, NAT64 clients are counted per /128,
 * and unusable addresses make the line malformed, in every MTA.
 */
static void test_addresses(const char *path)
{
	char *argv[] = {"replay", (char *)path, "--json", NULL};
	static const char *const unusable[] = {
		"0.0.0.0", "255.255.255.255", "224.0.0.1", "169.254.1.1", "::",
		"ff02::1", "fe80::1", "::ffff:0.0.0.0", "64:ff9b::224.0.0.1",
	};
	FILE *f = reopen(path);
	size_t i;
	int rc;

	for (i = 0; i < 5; i++)
		addt(f, (long)i * 10, FAIL, "::ffff:192.0.2.20");
	for (i = 0; i < 5; i++)
		addt(f, (long)i * 10, FAIL, "::192.0.2.21");
	for (i = 0; i < 4; i++)
		addt(f, 60 + (long)i, FAIL, "64:ff9b::192.0.2.22");
	for (i = 0; i < 4; i++)
		addt(f, 70 + (long)i, FAIL, "64:ff9b::192.0.2.23");
	addt(f, 80, FAIL, "64:ff9b::192.0.2.22");
	for (i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		addt(f, 100, FAIL, unusable[i]);
	add_mtas(f, "255.255.255.255", "IPv6:fe80::1", "0.0.0.0");
	add_mtas(f, "192.0.2.30", "IPv6:2001:db8::31", "192.0.2.32"); /* control */
	fclose(f);

	rc = run(3, argv);
	CHECK(rc == 0, "addresses: exit 0 (%d)", rc);
	CHECK(strstr(out, "\"lines\": 34, \"matched\": 22, \"ignored\": 0, \"malformed\": 12") != NULL,
	      "addresses: 12 lines with unusable addresses are malformed");
	CHECK(count(out, "\", \"events\": {") == 7,
	      "addresses: 7 addresses listed (%zu)", count(out, "\", \"events\": {"));
	CHECK(verdict("192.0.2.20", "\"auth_fail\": 5") &&
		      verdict("192.0.2.20", "\"ban_prefix\": \"192.0.2.20\""),
	      "::ffff:192.0.2.20 is 192.0.2.20, banned as itself");
	CHECK(verdict("192.0.2.21", "\"auth_fail\": 5") &&
		      verdict("192.0.2.21", "\"ban_prefix\": \"192.0.2.21\""),
	      "::192.0.2.21 is 192.0.2.21, banned as itself");
	CHECK(verdict("64:ff9b::c000:216", "\"auth_fail\": 5") &&
		      verdict("64:ff9b::c000:216", "\"ban_prefix\": \"64:ff9b::c000:216\""),
	      "NAT64 64:ff9b::192.0.2.22: 5 events ban the /128");
	CHECK(verdict("64:ff9b::c000:217", "\"auth_fail\": 4") &&
		      verdict("64:ff9b::c000:217", "\"would_ban\": false"),
	      "NAT64 64:ff9b::192.0.2.23 beside it: 4 events, no ban");
	CHECK(strstr(out, "64:ff9b::/64") == NULL, "no NAT64 /64 anywhere");
	CHECK(verdict("192.0.2.30", "\"auth_fail\": 1") &&
		      verdict("2001:db8::31", "\"auth_fail\": 1") &&
		      verdict("192.0.2.32", "\"auth_fail\": 1"),
	      "control: the same Exim, Sendmail and Dovecot lines with usable addresses match");
	for (i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		char key[96], canon[BC_ADDR_STRLEN];
		struct bc_addr a;

		/* as replay would print it: ::ffff:0.0.0.0 as 0.0.0.0 */
		bc_addr_parse_host(&a, unusable[i], strlen(unusable[i]));
		snprintf(key, sizeof(key), "\"%s\"",
			 bc_addr_format(&a, canon, sizeof(canon)));
		CHECK(strstr(out, key) == NULL, "no event for %s (%s)",
		      unusable[i], key);
	}
	CHECK(strstr(out, "\"::ffff:") == NULL && strstr(out, "\"::192") == NULL,
	      "no mapped or compatible address listed");
}

/* The address limit holds exactly; the policy still sees every event. */
static void test_limit(const char *path)
{
	char *argv[] = {"replay", "--max-addresses", "3", (char *)path, "--json", NULL};
	char *argt[] = {"replay", "--max-addresses=3", (char *)path, NULL};
	FILE *f = reopen(path);
	int i, rc;
	char a[32];

	for (i = 0; i < 6; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", 101 + i);
		addt(f, i, FAIL, a);
	}
	for (i = 0; i < 4; i++)
		addt(f, 10 + i, FAIL, "192.0.2.106");
	/* an IPv6 /64 spread over 5 addresses, none of them listed */
	for (i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "2001:db8:7:7::%d", i + 1);
		addt(f, 20 + i, FAIL, a);
	}
	fclose(f);
	rc = run(5, argv);
	CHECK(rc == 0, "limit: exit 0 (%d)", rc);
	CHECK(count(out, "\", \"events\": {") == 3,
	      "limit: exactly 3 addresses listed (%zu)", count(out, "\", \"events\": {"));
	CHECK(addr_obj("192.0.2.101") && addr_obj("192.0.2.103") &&
		      !addr_obj("192.0.2.104"),
	      "limit: the first 3 addresses are the ones listed");
	CHECK(strstr(out, "\"untracked_events\": 12}") != NULL,
	      "limit: 12 events of unlisted addresses");
	CHECK(strstr(out, "\"events\": {\"auth_fail\": 15,") != NULL,
	      "limit: every event counted");
	CHECK(strstr(out, "{\"address\": \"192.0.2.106\", \"time\": ") != NULL &&
		      strstr(out, "{\"address\": \"2001:db8:7:7::/64\", \"time\": ") != NULL &&
		      count(out, "\"time_ms\": ") == 2,
	      "limit: unlisted addresses still reach the policy: 2 bans");
	rc = run(3, argt);
	CHECK(rc == 0 && strstr(out, "12 events of addresses past the first 3 are in the counts and the bans above, but not listed\n") != NULL &&
		      strstr(out, "2 bans would be made") != NULL,
	      "limit: text report");
}

/*
 * Thousands of addresses: the tables grow (replay's address table from
 * 1,024 slots, the policy's buckets from 1,024) and every address keeps
 * its counts and verdict through the moves, listed in address order.
 */
static void test_many(const char *path)
{
	char *argv[] = {"replay", (char *)path, "--json", NULL};
	FILE *f = reopen(path);
	int i, k, rc, bans = 0, wrong = 0, order = 0;
	char a[64], want[160];
	const char *o, *prev = NULL;

	/* 2,000 IPv4 addresses, round robin: i%7 == 0 fails 5 times (a
	 * ban), the others i%3 + 1 times */
	for (k = 0; k < 5; k++)
		for (i = 0; i < 2000; i++) {
			if (k >= (i % 7 == 0 ? 5 : i % 3 + 1))
				continue;
			snprintf(a, sizeof(a), "10.0.%d.%d", i >> 8, i & 255);
			addt(f, k * 60, FAIL, a);
		}
	fclose(f);
	for (i = 0; i < 2000; i++)
		bans += i % 7 == 0;
	rc = run(3, argv);
	CHECK(rc == 0 && count(out, "\", \"events\": {") == 2000,
	      "many: 2000 addresses listed (%zu)", count(out, "\", \"events\": {"));
	CHECK(count(out, "\"would_ban\": true") == (size_t)bans &&
		      count(out, "\"time_ms\": ") == (size_t)bans,
	      "many: %d bans, one per 5-failure address (%zu, %zu)", bans,
	      count(out, "\"would_ban\": true"), count(out, "\"time_ms\": "));
	for (i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i >> 8, i & 255);
		snprintf(want, sizeof(want),
			 "{\"address\": \"%s\", \"events\": {\"auth_fail\": %d, ", a,
			 i % 7 == 0 ? 5 : i % 3 + 1);
		o = strstr(out, want);
		if (o == NULL)
			wrong++;
		else if (prev != NULL && o < prev)
			order++;
		if (o != NULL)
			prev = o;
	}
	CHECK(wrong == 0 && order == 0,
	      "many: each address with its own count, in address order (%d "
	      "wrong, %d out of order)", wrong, order);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/*
 * The text report's verdict names the banned prefix whole: with
 * ipv6_prefix = 96 it was cut to 31 bytes ("ban
 * 2001:db8:1234:5678:9abc:def0::/" without the 96).
 */
static void test_text_prefix(const char *dir, const char *path)
{
	char ini[256];
	char *argt[] = {"replay", "--config", ini, (char *)path, NULL};
	FILE *f;
	int i, rc;

	snprintf(ini, sizeof(ini), "%s/c96.ini", dir);
	CHECK(write_file(ini,
			 "[coordinator]\nkey = c.key\nagents_dir = agents.d\n"
			 "admins_dir = admins.d\n[policy]\nipv6_prefix = 96\n") == 0,
	      "c96.ini written");
	f = reopen(path);
	for (i = 0; i < 5; i++) {
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:1234:5678:9abc:def0:1:%d", i + 1);
		addt(f, i, FAIL, a);
	}
	fclose(f);
	rc = run(4, argt);
	CHECK(rc == 0 && strstr(out, "2001:db8:1234:5678:9abc:def0:1:5                "
				    "1         0         0         0  "
				    "ban 2001:db8:1234:5678:9abc:def0::/96\n") != NULL,
	      "text: a /96 verdict names the whole prefix (%d)", rc);
}

/* --config coordinator.ini: its [policy], allow_file and nat64_prefixes. */
static void test_config_coordinator(const char *dir, const char *path)
{
	char ini[256], partners[256], bad[256];
	char *argv[] = {"replay", "--config", ini, (char *)path, "--json", NULL};
	char *argt[] = {"replay", (char *)path, "--config=", NULL, NULL};
	char *argb[] = {"replay", "--config", bad, (char *)path, NULL};
	char cfgopt[300];
	FILE *f;
	int i, rc;

	snprintf(ini, sizeof(ini), "%s/coordinator.ini", dir);
	snprintf(partners, sizeof(partners), "%s/partners.txt", dir);
	snprintf(bad, sizeof(bad), "%s/bad.ini", dir);
	snprintf(cfgopt, sizeof(cfgopt), "--config=%s", ini);
	argt[2] = cfgopt;
	CHECK(write_file(ini,
			 "[coordinator]\nkey = c.key\nagents_dir = agents.d\n"
			 "admins_dir = admins.d\n[policy]\nmaxretry = 3\n"
			 "bantime = 1h\nbantime_factor = 3\nbantime_max = 5h\n"
			 "allow = 127.0.0.0/8, 192.0.2.64/27\n"
			 "allow_file = partners.txt\n"
			 "nat64_prefixes = 2001:db8:64::/96\n") == 0 &&
		      write_file(partners, "2001:db8:5:5::99  # a partner\n") == 0,
	      "coordinator.ini written");
	f = reopen(path);
	for (i = 0; i < 3; i++)
		addt(f, i * 30, FAIL, "192.0.2.40");
	for (i = 0; i < 3; i++) /* 2h later: the 1h ban is over */
		addt(f, 7200 + i * 30, FAIL, "192.0.2.40");
	for (i = 0; i < 5; i++)
		addt(f, 200 + i, FAIL, "192.0.2.70");
	for (i = 0; i < 2; i++)
		addt(f, 300 + i, FAIL, "2001:db8:64::c000:207");
	for (i = 0; i < 2; i++)
		addt(f, 310 + i, FAIL, "2001:db8:64::c000:208");
	addt(f, 320, FAIL, "2001:db8:64::c000:207");
	for (i = 0; i < 3; i++) {
		char a[32];

		snprintf(a, sizeof(a), "2001:db8:5:5::%d", i + 1);
		addt(f, 400 + i, FAIL, a);
	}
	addt(f, 410, FAIL, "2001:db8:5:5::99");
	fclose(f);

	rc = run(5, argv);
	CHECK(rc == 0, "coordinator.ini: exit 0 (%d: %s)", rc, err1());
	CHECK(strstr(out, "\"role\": \"coordinator\", \"maxretry\": 3, \"findtime_s\": 600, "
			  "\"bantime_s\": 3600, \"bantime_factor\": 3, \"bantime_max_s\": 18000, "
			  "\"recidive_window_s\": 604800, \"ipv6_prefix\": 64, \"min_hosts\": 1") != NULL,
	      "coordinator.ini: the site's [policy] in the report");
	CHECK(strstr(out, "\"allow\": [\"127.0.0.0/8\", \"192.0.2.64/27\", \"2001:db8:5:5::99\"], "
			  "\"nat64_prefixes\": [\"64:ff9b::/96\", \"2001:db8:64::/96\"]}") != NULL,
	      "coordinator.ini: allow (with allow_file) and nat64_prefixes in the report");
	CHECK(strstr(out, "{\"address\": \"192.0.2.40\", \"time\": \"2024-01-10T12:01:00.000Z\", "
			  "\"time_ms\": 1704888060000, \"expires\": \"2024-01-10T13:01:00.000Z\", \"expires_ms\": 1704891660000, \"score\": 3}") != NULL,
	      "coordinator.ini: maxretry 3 bans at the 3rd event, for bantime 1h");
	CHECK(strstr(out, "{\"address\": \"192.0.2.40\", \"time\": \"2024-01-10T14:01:00.000Z\", "
			  "\"time_ms\": 1704895260000, \"expires\": \"2024-01-10T17:01:00.000Z\", \"expires_ms\": 1704906060000, \"score\": 3}") != NULL,
	      "coordinator.ini: the repeat is banned 1h x bantime_factor 3");
	CHECK(verdict("192.0.2.70", "\"allowed\": true") &&
		      verdict("192.0.2.70", "\"would_ban\": false"),
	      "coordinator.ini: its allow list");
	CHECK(verdict("2001:db8:5:5::99", "\"allowed\": true"),
	      "coordinator.ini: its allow_file");
	CHECK(verdict("2001:db8:64::c000:207", "\"ban_prefix\": \"2001:db8:64::c000:207\"") &&
		      verdict("2001:db8:64::c000:208", "\"would_ban\": false"),
	      "coordinator.ini: a site NAT64 prefix is counted per /128");
	CHECK(verdict("2001:db8:5:5::1", "\"would_ban\": false") &&
		      strstr(out, "\"bans_refused_by_allow\": 1}") != NULL &&
		      strstr(out, "2001:db8:5:5::/64") == NULL,
	      "coordinator.ini: no rule ban of a /64 that holds an allowed address");
	CHECK(count(out, "\"time_ms\": ") == 3, "coordinator.ini: 3 bans in all");

	rc = run(3, argt);
	CHECK(rc == 0 && strstr(out, "coordinator.ini (coordinator [policy]): maxretry 3 in 10m, "
				     "auth_abort counts 0.5, IPv6 per /64, allow 127.0.0.0/8, "
				     "192.0.2.64/27, 2001:db8:5:5::99, NAT64 per address in "
				     "64:ff9b::/96, 2001:db8:64::/96\n") != NULL &&
		      strstr(out, "1 ban not made: the key overlaps the allow list\n") != NULL,
	      "coordinator.ini: text report names the policy (%d)", rc);

	/* a coordinator.ini the coordinator would refuse: so does replay */
	write_file(bad, "[coordinator]\nkey = c.key\nagents_dir = a\nadmins_dir = b\n"
			"[policy]\nnat64_prefixes = 2001:db8::/80\n");
	rc = run(4, argb);
	CHECK(rc == 78 && one_error_line("[policy] nat64_prefixes: \"2001:db8::/80\": expected an "
					 "IPv6 prefix of length 32, 40, 48, 56, 64 or 96"),
	      "bad nat64_prefixes: exit 78, one line (%d: %s)", rc, err1());
	write_file(bad, "[coordinator]\nkey = c.key\nagents_dir = a\nadmins_dir = b\n"
			"[policy]\nmaxretry = lots\n");
	rc = run(4, argb);
	CHECK(rc == 78 && one_error_line("bad.ini:6") && one_error_line("maxretry"),
	      "bad maxretry: exit 78 naming file, line and key (%d: %s)", rc, err1());
	write_file(bad, "# nothing but a comment\n[mystery]\nx = 1\n");
	rc = run(4, argb);
	CHECK(rc == 78 && one_error_line("neither an agent.ini"),
	      "unknown kind of file: exit 78 (%d: %s)", rc, err1());
	unlink(bad);
	rc = run(4, argb);
	CHECK(rc == 78 && one_error_line("bad.ini: No such file or directory"),
	      "missing --config file: exit 78 (%d: %s)", rc, err1());
	unlink(ini);
	unlink(partners);
}

/* --config agent.ini: its [local] policy (fixed bantime, no escalation). */
static void test_config_agent(const char *dir, const char *path)
{
	char ini[256];
	char *argv[] = {"replay", "--config", ini, (char *)path, "--json", NULL};
	FILE *f;
	int i, rc;

	snprintf(ini, sizeof(ini), "%s/agent.ini", dir);
	CHECK(write_file(ini,
			 "[agent]\nid = mx1\ncoordinator = tcp://127.0.0.1:7710\n"
			 "updates = tcp://127.0.0.1:7711\nkey = mx1.key\n"
			 "coordinator_key = coordinator.pub\n[local]\nmaxretry = 2\n"
			 "bantime = 30m\nallow = 192.0.2.64/27\n"
			 "nat64_prefixes = 2001:db8:64::/96\n"
			 "[source.mail]\npath = /var/log/mail.log\n") == 0,
	      "agent.ini written");
	f = reopen(path);
	for (i = 0; i < 2; i++)
		addt(f, i * 30, FAIL, "192.0.2.40");
	for (i = 0; i < 2; i++)
		addt(f, 3600 + i * 30, FAIL, "192.0.2.40");
	for (i = 0; i < 3; i++)
		addt(f, 200 + i, FAIL, "192.0.2.70");
	addt(f, 300, FAIL, "2001:db8:64::c000:207");
	addt(f, 301, FAIL, "2001:db8:64::c000:208");
	addt(f, 310, FAIL, "2001:db8:5:5::1");
	addt(f, 311, FAIL, "2001:db8:5:5::2");
	fclose(f);
	rc = run(5, argv);
	CHECK(rc == 0, "agent.ini: exit 0 (%d: %s)", rc, err1());
	CHECK(strstr(out, "\"role\": \"agent\", \"maxretry\": 2, \"findtime_s\": 600, "
			  "\"bantime_s\": 1800, \"bantime_factor\": 1, \"bantime_max_s\": 1800, "
			  "\"recidive_window_s\": 0, \"ipv6_prefix\": 64") != NULL,
	      "agent.ini: its [local] policy in the report");
	CHECK(strstr(out, "{\"address\": \"192.0.2.40\", \"time\": \"2024-01-10T12:00:30.000Z\", "
			  "\"time_ms\": 1704888030000, \"expires\": \"2024-01-10T12:30:30.000Z\", \"expires_ms\": 1704889830000, \"score\": 2}") != NULL &&
		      strstr(out, "{\"address\": \"192.0.2.40\", \"time\": \"2024-01-10T13:00:30.000Z\", "
			  "\"time_ms\": 1704891630000, \"expires\": \"2024-01-10T13:30:30.000Z\", \"expires_ms\": 1704893430000, \"score\": 2}") != NULL,
	      "agent.ini: maxretry 2, bantime 30m, no escalation");
	CHECK(verdict("192.0.2.70", "\"allowed\": true"), "agent.ini: [local] allow");
	CHECK(verdict("2001:db8:64::c000:207", "\"would_ban\": false") &&
		      strstr(out, "{\"address\": \"2001:db8:5:5::/64\", \"time\": ") != NULL &&
		      count(out, "\"time_ms\": ") == 3,
	      "agent.ini: [local] nat64_prefixes per /128, other IPv6 per /64");
	unlink(ini);
}

/*
 * --config agent.ini: its [detect] sender reasons reach replay's parser.
 * An Exim ACL in the site's own words counts only with the site's
 * agent.ini; the same words in the client's sender never do.
 */
static void test_config_detect(const char *dir, const char *path)
{
	char ini[256];
	char *withcfg[] = {"replay", "--config", ini, "--format", "exim", (char *)path, "--json", NULL};
	char *without[] = {"replay", "--format", "exim", (char *)path, "--json", NULL};
	FILE *f;
	int rc;

	snprintf(ini, sizeof(ini), "%s/agent-detect.ini", dir);
	CHECK(write_file(ini,
			 "[agent]\nid = mx1\ncoordinator = tcp://127.0.0.1:7710\n"
			 "updates = tcp://127.0.0.1:7711\nkey = mx1.key\n"
			 "coordinator_key = coordinator.pub\n"
			 "[detect]\nexim_sender_reasons = outbound sender refused by site policy\n"
			 "[source.mail]\npath = /var/log/exim4/mainlog\n") == 0,
	      "agent.ini with [detect] written");
	f = reopen(path);
	fputs("2024-01-10 12:00:00 H=(client.example) [192.0.2.91] rejected MAIL <bob@lab.test>: outbound sender refused by site policy\n", f);
	fputs("2024-01-10 12:00:01 H=(client.example) [192.0.2.92] rejected MAIL <\"x: outbound sender refused by site policy\"@lab.test>: Unrouteable address\n", f);
	fclose(f);
	rc = run(5, without);
	CHECK(rc == 0 && strstr(out, "\"matched\": 0") != NULL,
	      "[detect]: without the site's agent.ini the site's wording is no event (%d)", rc);
	rc = run(7, withcfg);
	CHECK(rc == 0 && verdict("192.0.2.91", "\"sender_violation\": 1") &&
		      strstr(out, "\"address\": \"192.0.2.92\"") == NULL,
	      "[detect]: with it, the site's reason is a sender_violation, "
	      "the same words in a client's sender are not (%d: %s)", rc, err1());
	unlink(ini);
}

/* --print-matched / --print-missed: the raw lines, escaped. */
static void test_print(const char *path)
{
	char *am[] = {"replay", "--print-matched", (char *)path, NULL};
	char *ams[] = {"replay", (char *)path, "--print-missed", NULL};
	FILE *f = reopen(path);
	int rc;

	fputs("2024-01-10T12:00:00Z mx1 dovecot[7]: imap-login: Disconnected (auth failed, 1 attempts): user=<a\x1b[31mb>, method=PLAIN, rip=192.0.2.50, lip=198.51.100.1, TLS\n", f);
	fputs("2024-01-10T12:00:01Z mx1 postfix/smtpd[8]: connect from unknown[192.0.2.51]\r\n", f);
	fputs("garbage line\n", f);
	fputs("2024-01-10T12:00:02Z mx1 postfix/smtpd[9]: warning: unknown[0.0.0.0]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", f);
	fputs("2024-01-10T12:00:03Z mx1 dovecot[10]: pop3-login: Disconnected (no auth attempts): rip=192.0.2.52, lip=198.51.100.1, TLS\n", f);
	fputs("2024-01-10T12:00:04Z mx1 postfix/lmtp[11]: 4B0: to=<u@example.org>, relay=mx1[private/dovecot-lmtp], status=sent\n", f);
	fputs("2024-01-10T12:00:05Z mx1 postfix/smtpd[12]: connect from x\"y\\z[IPv6:2001:db8::54]\n", f);
	fputs("2024-01-10T12:00:06Z mx1 postfix/smtpd[13]: warning: unknown[192.0.2.55]: SASL PLAIN authentication failed: \x07\n", f);
	fclose(f);

	rc = run(3, am);
	CHECK(rc == 0 && strcmp(out,
				"2024-01-10T12:00:00Z mx1 dovecot[7]: imap-login: Disconnected (auth failed, 1 attempts): user=<a\\x1b[31mb>, method=PLAIN, rip=192.0.2.50, lip=198.51.100.1, TLS\n"
				"2024-01-10T12:00:06Z mx1 postfix/smtpd[13]: warning: unknown[192.0.2.55]: SASL PLAIN authentication failed: \\x07\n") == 0,
	      "--print-matched: exactly the 2 matched lines, escaped (%d)", rc);
	rc = run(3, ams);
	CHECK(rc == 0 && strcmp(out,
				"2024-01-10T12:00:01Z mx1 postfix/smtpd[8]: connect from unknown[192.0.2.51]\n"
				"2024-01-10T12:00:02Z mx1 postfix/smtpd[9]: warning: unknown[0.0.0.0]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
				"2024-01-10T12:00:03Z mx1 dovecot[10]: pop3-login: Disconnected (no auth attempts): rip=192.0.2.52, lip=198.51.100.1, TLS\n"
				"2024-01-10T12:00:05Z mx1 postfix/smtpd[12]: connect from x\\x22y\\x5cz[IPv6:2001:db8::54]\n") == 0,
	      "--print-missed: the 4 lines that name an address and gave no event (%d)", rc);
}

/* Bad command lines: exit 64 and one line naming the bad value. */
static void test_usage(const char *path)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{{"--print-matched", "--json", NULL}, "--print-matched prints lines, not JSON"},
		{{"--print-missed", "--json", NULL}, "--print-missed prints lines, not JSON"},
		{{"--print-matched", "--print-missed", NULL}, "exclude each other"},
		{{"--config", NULL}, "--config needs a file"},
		{{"--config=", NULL}, "--config needs a file"},
		{{"--config", "a.ini", "--config", "b.ini"}, "--config given twice: \"b.ini\""},
		{{"--max-addresses", "0", NULL}, "--max-addresses: expected 1..67108864, got \"0\""},
		{{"--max-addresses", "1e6", NULL}, "--max-addresses: expected 1..67108864, got \"1e6\""},
		{{"--max-addresses", "67108865", NULL}, "got \"67108865\""},
		{{"--max-addresses", "99999999999999999999999", NULL}, "got \"99999999999999999999999\""},
		{{"--print-everything", NULL}, "unknown option \"--print-everything\""},
	};
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[8];
		int argc = 0, rc;

		argv[argc++] = "replay";
		for (k = 0; k < 4 && cases[i].args[k] != NULL; k++)
			argv[argc++] = (char *)cases[i].args[k];
		/* FILE last, unless the case ends on an option's missing value */
		if (strcmp(argv[argc - 1], "--config") != 0)
			argv[argc++] = (char *)path;
		argv[argc] = NULL;
		rc = run(argc, argv);
		CHECK(rc == 64 && out[0] == '\0' && one_error_line(cases[i].msg),
		      "usage: %s ... -> 64, \"%s\" (%d: %s)", cases[i].args[0],
		      cases[i].msg, rc, err1());
	}
}

/*
 * replay reads through a pipeline of blocks (cli/replay.c: 256 KiB read
 * at once, at most 4096 lines a block, the unfinished line carried over,
 * over-long lines skipped). A log built to cross every such boundary
 * must give what one parser fed line by line gives: a reference run
 * here, in one thread, over the file in memory.
 */
struct counts {
	uint64_t lines, matched, ignored, malformed, events;
};

static void reference(const char *buf, size_t len, struct counts *c)
{
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	const char *s = buf, *end = buf + len, *nl;
	struct bc_event ev;

	memset(c, 0, sizeof(*c));
	while (s < end) {
		enum bc_parse_result r;

		nl = memchr(s, '\n', (size_t)(end - s));
		r = bc_parser_feed(p, s, (size_t)((nl ? nl : end) - s), &ev);
		c->lines++;
		if (r == BC_PARSE_MATCH) {
			c->matched++;
			c->events++;
		} else if (r == BC_PARSE_MALFORMED) {
			c->malformed++;
		} else {
			c->ignored++;
		}
		while (bc_parser_flush(p, 0, &ev) == 1)
			c->events++;
		s = nl ? nl + 1 : end;
	}
	bc_parser_free(&p);
}

static int json_u64(const char *key, uint64_t *v)
{
	char pat[64];
	const char *q;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	q = strstr(out, pat);
	if (q == NULL)
		return -1;
	*v = strtoull(q + strlen(pat), NULL, 10);
	return 0;
}

/* replay's counts from out[] (its --json report) */
static int replay_counts(struct counts *c)
{
	uint64_t k[4];
	const char *ev = strstr(out, "\"events\": {");

	memset(c, 0, sizeof(*c));
	if (json_u64("lines", &c->lines) < 0 || json_u64("matched", &c->matched) < 0 ||
	    json_u64("ignored", &c->ignored) < 0 ||
	    json_u64("malformed", &c->malformed) < 0 || ev == NULL ||
	    sscanf(ev, "\"events\": {\"auth_fail\": %" SCNu64
		       ", \"sender_violation\": %" SCNu64
		       ", \"auth_abort\": %" SCNu64 ", \"auth_success\": %" SCNu64,
		   &k[0], &k[1], &k[2], &k[3]) != 4)
		return -1;
	c->events = k[0] + k[1] + k[2] + k[3];
	return 0;
}

static int same_counts(const struct counts *a, const struct counts *b)
{
	return a->lines == b->lines && a->matched == b->matched &&
	       a->ignored == b->ignored && a->malformed == b->malformed &&
	       a->events == b->events;
}

/* replay of "-", its stdin a pipe written 4093 bytes at a time */
static int run_stdin(const char *buf, size_t len, int argc, char **argv)
{
	int pfd[2], saved, rc, st;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		size_t off = 0;

		close(pfd[0]);
		while (off < len) {
			size_t n = len - off < 4093 ? len - off : 4093;
			ssize_t w = write(pfd[1], buf + off, n);

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(pfd[1]);
	saved = dup(STDIN_FILENO);
	dup2(pfd[0], STDIN_FILENO);
	close(pfd[0]);
	rc = run(argc, argv);
	dup2(saved, STDIN_FILENO);
	close(saved);
	waitpid(pid, &st, 0);
	return rc;
}

static void test_blocks(const char *path)
{
	FILE *f = reopen(path);
	char *a_file[] = {"replay", (char *)path, "--json", NULL};
	char *a_stdin[] = {"replay", "-", "--json", NULL};
	struct counts want, got;
	struct stat st;
	char *buf;
	int i, j, fd, rc;

	for (i = 0; i < 30000; i++) {
		/* short lines: more than a block's 4096 lines in 256 KiB */
		if (i % 7 == 0)
			add(f, i % 3600, i % 14 ? FAIL : ABORT, "192.0.2.20");
		else if (i % 7 == 3)
			fputs("x\r\n", f);
		else
			fputs("x\n", f);
		if (i % 5000 == 1234) {
			/* lines at the length limit, one over, two over */
			for (j = -1; j <= 2; j++) {
				int n = BC_PARSE_LINE_MAX + j;

				fprintf(f, "2024-01-10T12:00:00Z mx1 postfix/smtpd[7]: warning: unknown[192.0.2.21]: SASL LOGIN authentication failed: ");
				for (n -= 107; n > 0; n--)
					fputc('y', f);
				fputc('\n', f);
			}
			/* over-long across blocks: 600 KB, then a 300 KB one
			 * ending in \r */
			for (j = 0; j < 600000; j++)
				fputc('z', f);
			fputc('\n', f);
			for (j = 0; j < 300000; j++)
				fputc('w', f);
			fputs("\r\n", f);
		}
	}
	/* the last line has no newline */
	fputs("2024-01-10T13:00:00Z mx1 postfix/smtpd[9]: warning: unknown[192.0.2.22]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", f);
	fclose(f);

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || (buf = malloc((size_t)st.st_size)) == NULL ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		CHECK(0, "read back the block test's log");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	reference(buf, (size_t)st.st_size, &want);
	CHECK(want.lines > 30000 && want.malformed >= 18 && want.events > 4000,
	      "reference: %" PRIu64 " lines, %" PRIu64 " malformed, %" PRIu64
	      " events", want.lines, want.malformed, want.events);
	rc = run(3, a_file);
	CHECK(rc == 0 && replay_counts(&got) == 0 && same_counts(&got, &want),
	      "blocks of a regular file: %" PRIu64 " lines, %" PRIu64
	      " matched, %" PRIu64 " ignored, %" PRIu64 " malformed, %" PRIu64
	      " events, as one parser line by line (%d)",
	      got.lines, got.matched, got.ignored, got.malformed, got.events, rc);
	rc = run_stdin(buf, (size_t)st.st_size, 3, a_stdin);
	CHECK(rc == 0 && replay_counts(&got) == 0 && same_counts(&got, &want),
	      "the same through a pipe written 4093 bytes at a time (%d)", rc);
	CHECK(strstr(out, "{\"address\": \"192.0.2.22\", \"events\": {\"auth_fail\": 1") != NULL,
	      "the last line, without a newline, counted");
	free(buf);
}

int main(void)
{
	char path[] = "/tmp/bc-replay-in.XXXXXX";
	int fd = mkstemp(path), i, rc;
	FILE *f = fdopen(fd, "w");
	char *a_json[] = {"replay", path, "--json", NULL};
	char *a_text[] = {"replay", "--format", "auto", path, NULL};
	char *a_fmt[] = {"replay", "--format", "qmail", path, NULL};
	char *a_opt[] = {"replay", "--jsn", path, NULL};
	char *a_none[] = {"replay", NULL};
	char *a_two[] = {"replay", path, path, NULL};
	char *a_missing[] = {"replay", "/nonexistent/bc-replay.log", NULL};

	/* .7: 5 failures in 4 minutes -> ban */
	for (i = 0; i < 5; i++)
		add(f, i * 50, FAIL, "192.0.2.7");
	/* .8: 4 failures -> no ban */
	for (i = 0; i < 4; i++)
		add(f, i * 50, FAIL, "192.0.2.8");
	/* .9: 10 aborts, half weight -> ban at the 10th */
	for (i = 0; i < 10; i++)
		add(f, i * 10, ABORT, "192.0.2.9");
	/* .10: 9 aborts, a good login, 1 abort -> no ban (reset) */
	for (i = 0; i < 9; i++)
		add(f, i * 10, ABORT, "192.0.2.10");
	add(f, 100, OKLINE, "192.0.2.10");
	add(f, 110, ABORT, "192.0.2.10");
	/* .11: 5 failures spread over 25 minutes -> no ban */
	for (i = 0; i < 5; i++)
		add(f, i * 330, FAIL, "192.0.2.11");
	/* one /64, five addresses -> ban of the prefix */
	add(f, 1, RELAY, "2001:db8:1:2::1");
	add(f, 2, RELAY, "2001:db8:1:2::2");
	add(f, 3, FAIL, "2001:db8:1:2::3");
	add(f, 4, FAIL, "2001:db8:1:2::4");
	add(f, 5, FAIL, "2001:db8:1:2:ffff::5");
	/* loopback: counted, allowed, never banned */
	for (i = 0; i < 20; i++)
		add(f, i, FAIL, "127.0.0.1");
	fputs("garbage line\n", f);
	fclose(f);

	rc = run(3, a_json);
	CHECK(rc == 0, "replay --json exits 0 (%d)", rc);
	CHECK(strncmp(out, "{\"schema\": \"bancluster/replay\", \"schema_version\": 2, \"file\": \"", 62) == 0 &&
		      strchr(out, '\n') == out + strlen(out) - 1,
	      "replay --json: one line, starting with schema bancluster/replay, version 2");
	CHECK(strstr(out, "\"lines\": 61, \"matched\": 60, \"ignored\": 1, \"malformed\": 0") != NULL,
	      "line counts");
	CHECK(strstr(out, "\"events\": {\"auth_fail\": 37, \"sender_violation\": 2, \"auth_abort\": 20, \"auth_success\": 1}") != NULL,
	      "events per kind");
	CHECK(verdict("192.0.2.7", "\"would_ban\": true"), "5 failures in findtime ban");
	CHECK(verdict("192.0.2.7", "\"auth_fail\": 5"), "events per address");
	CHECK(verdict("192.0.2.8", "\"would_ban\": false"), "4 failures do not ban");
	CHECK(verdict("192.0.2.9", "\"would_ban\": true"), "10 aborts (weight 0.5) ban");
	CHECK(verdict("192.0.2.10", "\"would_ban\": false"),
	      "a good login resets the abort count");
	CHECK(verdict("192.0.2.11", "\"would_ban\": false"),
	      "failures spread beyond findtime do not ban");
	CHECK(verdict("2001:db8:1:2::1", "\"ban_prefix\": \"2001:db8:1:2::/64\""),
	      "IPv6 counted and banned per /64");
	CHECK(verdict("2001:db8:1:2:ffff::5", "\"would_ban\": true"),
	      "every address of the /64 is marked");
	CHECK(verdict("127.0.0.1", "\"auth_fail\": 20") &&
		      verdict("127.0.0.1", "\"allowed\": true") &&
		      verdict("127.0.0.1", "\"would_ban\": false"),
	      "allowlisted address counted, marked, not banned");
	{
		const char *p7 = addr_obj("192.0.2.7"), *p10 = addr_obj("192.0.2.10"),
			   *p6 = addr_obj("2001:db8:1:2::1"), *pl = addr_obj("127.0.0.1");

		CHECK(pl && p7 && p10 && p6 && pl < p7 && p7 < p10 && p10 < p6,
		      "addresses in a deterministic order");
	}
	CHECK(strstr(out, "{\"address\": \"192.0.2.9\", \"time\": ") != NULL &&
		      strstr(out, "{\"address\": \"127.0.0.1\", \"time\": ") == NULL,
	      "bans list");

	rc = run(4, a_text);
	CHECK(rc == 0 && strstr(out, "lines 61  matched 60") != NULL &&
		      strstr(out, "ban 2001:db8:1:2::/64") != NULL &&
		      strstr(out, "3 bans would be made") != NULL,
	      "text report (%d)", rc);

	rc = run(4, a_fmt);
	CHECK(rc == 64, "unknown --format exits 64");
	rc = run(3, a_opt);
	CHECK(rc == 64, "unknown option exits 64");
	rc = run(1, a_none);
	CHECK(rc == 64, "missing FILE exits 64");
	rc = run(3, a_two);
	CHECK(rc == 64, "two FILEs exit 64");
	rc = run(2, a_missing);
	CHECK(rc == 1, "unreadable FILE exits 1");

	/* an over-long line in the middle is counted once as malformed */
	f = fopen(path, "w");
	add(f, 0, FAIL, "192.0.2.7");
	for (i = 0; i < 100000; i++)
		fputc('x', f);
	fputc('\n', f);
	add(f, 1, FAIL, "192.0.2.7");
	fclose(f);
	rc = run(3, a_json);
	CHECK(rc == 0 && strstr(out, "\"lines\": 3, \"matched\": 2, \"ignored\": 0, \"malformed\": 1") != NULL,
	      "over-long line skipped and counted");
	{
		char dir[] = "/tmp/bc-replay-dir.XXXXXX";

		CHECK(mkdtemp(dir) != NULL, "temporary directory");
		test_addresses(path);
		test_limit(path);
		test_many(path);
		test_text_prefix(dir, path);
		test_config_coordinator(dir, path);
		test_config_agent(dir, path);
		test_config_detect(dir, path);
		test_print(path);
		test_usage(path);
		test_blocks(path);
		rmdir(dir);
	}
	unlink(path);
	return tap_done();
}
