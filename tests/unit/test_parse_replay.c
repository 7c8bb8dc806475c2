/*
 * test_parse_replay.c - `bancluster replay`: exit codes, counts, the
 * default policy's verdicts, and the JSON shape of DESIGN.md.
 * The report is captured by pointing stdout at a temporary file.
 */
#include "cli/replay.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1 << 16];

/* Run replay with argv; stdout goes to out[]. Returns the exit code. */
static int run(int argc, char **argv)
{
	char path[] = "/tmp/bc-replay-out.XXXXXX";
	int fd = mkstemp(path), saved, rc;
	ssize_t n;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	rc = bc_replay_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

enum line_kind { FAIL, ABORT, OKLINE, RELAY };

/* one line per connection: every line gets its own process id */
static void add(FILE *f, int sec, enum line_kind k, const char *addr)
{
	static int pid = 100;

	fprintf(f, "2024-01-10T12:%02d:%02dZ mx1 ", sec / 60, sec % 60);
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
	pid++;
}

/* the JSON object for one address, or NULL */
static const char *addr_obj(const char *addr)
{
	char key[96];

	snprintf(key, sizeof(key), "{\"address\": \"%s\",", addr);
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
	CHECK(strstr(out, "\"prefix\": \"192.0.2.9\"") != NULL &&
		      strstr(out, "\"prefix\": \"127.0.0.1\"") == NULL,
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
	unlink(path);
	return tap_done();
}
