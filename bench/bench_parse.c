/*
 * bench_parse.c - parse throughput on a generated 1,000,000-line mail log,
 * side by side with the tools users run today.
 *
 *   build/bench/bench_parse [LINES] [FILE]
 *
 * Writes a deterministic mixed Postfix + Dovecot (+ a little Exim and
 * Sendmail) log of LINES lines (default 1,000,000) to FILE (default
 * $TMPDIR/bc-bench-mail.log), about 8% of them attack lines, then times on
 * one core:
 *   - bancluster parser: bc_parser_feed + flush over the file in memory
 *   - bancluster replay: the whole `replay` command (read, parse, policy)
 *   - wc -l, for the cost of merely reading the file
 *   - fail2ban-regex FILE postfix[mode=aggressive], and ... dovecot
 *   - sshguard's sshg-parser < FILE
 * Peers that are not installed are reported as such (Debian: apt-get
 * install fail2ban sshguard; bench/run.sh unpacks sshg-parser from the
 * sshguard .deb deploy/deps.sh downloads and names it in BC_SSHG_PARSER).
 * BC_BENCH_PEERS=0 skips them (fail2ban-regex takes about a minute on a
 * million lines). Without fail2ban-regex the "vs f2b" column says "-".
 *
 * Exits non-zero if the parser finds a different number of events than
 * the generator wrote, so the figure is for a parser that works.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logparse/parse.h"
#include "cli/replay.h"

extern char **environ;

#define DEFAULT_LINES 1000000L
#define RUNS 3

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Expected events, counted by the generator. */
static long want_events;

static void gen_line(FILE *f, long i)
{
	static const char *mon = "Jan";
	long t = i / 20; /* 20 lines per second of log */
	int d = (int)(t / 86400) + 1, h = (int)(t / 3600 % 24),
	    mi = (int)(t / 60 % 60), s = (int)(t % 60);
	unsigned r = rnd() % 1000, pid = 1000 + rnd() % 30000;
	unsigned a = rnd(), b = rnd() % 254 + 1;
	char ts[32];

	if (d > 28)
		d = 28;
	snprintf(ts, sizeof(ts), "%s %2d %02d:%02d:%02d", mon, d, h, mi, s);
	if (r < 30) { /* SASL failure, v4 */
		fprintf(f, "%s mx1 postfix/submission/smtpd[%u]: warning: unknown[198.51.%u.%u]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=user%u@example.com\n",
			ts, pid, a % 256, b, a % 5000);
		want_events++;
	} else if (r < 35) { /* SASL failure, v6 */
		fprintf(f, "%s mx1 postfix/submission/smtpd[%u]: warning: unknown[2001:db8:%x::%x]: SASL PLAIN authentication failed: authentication failure\n",
			ts, pid, a % 65536, b);
		want_events++;
	} else if (r < 40) { /* backend failure: no event */
		fprintf(f, "%s mx1 postfix/submission/smtpd[%u]: warning: unknown[198.51.100.%u]: SASL LOGIN authentication failed: Connection lost to authentication server\n",
			ts, pid, b);
	} else if (r < 50) { /* relay attempt */
		fprintf(f, "%s mx1 postfix/smtpd[%u]: NOQUEUE: reject: RCPT from unknown[203.0.113.%u]: 454 4.7.1 <v%u@example.net>: Relay access denied; from=<s%u@example.org> to=<v%u@example.net> proto=ESMTP helo=<h%u>\n",
			ts, pid, b, a % 1000, a % 777, a % 1000, a % 99);
		want_events++;
	} else if (r < 65) { /* dovecot failure */
		fprintf(f, "%s mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<u%u>, method=PLAIN, rip=192.0.2.%u, lip=198.51.100.1, TLS, session=<%08x>\n",
			ts, a % 3000, b, a);
		want_events++;
	} else if (r < 72) { /* dovecot no auth attempts: no event */
		fprintf(f, "%s mx1 dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.%u, lip=198.51.100.1, TLS handshaking: Connection closed, session=<%08x>\n",
			ts, b, a);
	} else if (r < 76) { /* exim failure */
		fprintf(f, "%s mx1 exim[%u]: 2024-01-%02d %02d:%02d:%02d dovecot_login authenticator failed for (User) [198.18.%u.%u]:%u: 535 Incorrect authentication data (set_id=u%u)\n",
			ts, pid, d, h, mi, s, a % 256, b, 1024 + a % 60000, a % 100);
		want_events++;
	} else if (r < 80) { /* sendmail failure */
		fprintf(f, "%s mx1 sm-mta[%u]: 40AC01xx%06u: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=u%u, relay=[203.0.113.%u]\n",
			ts, pid, pid, a % 100, b);
		want_events++;
	} else if (r < 250) {
		fprintf(f, "%s mx1 postfix/smtpd[%u]: connect from mail%u.example.org[198.51.100.%u]\n",
			ts, pid, a % 100, b);
	} else if (r < 420) {
		fprintf(f, "%s mx1 postfix/smtpd[%u]: disconnect from mail%u.example.org[198.51.100.%u] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n",
			ts, pid, a % 100, b);
	} else if (r < 560) {
		fprintf(f, "%s mx1 postfix/qmgr[812]: %08X%02X: from=<list%u@example.org>, size=%u, nrcpt=1 (queue active)\n",
			ts, a, b, a % 50, 2000 + a % 90000);
	} else if (r < 700) {
		fprintf(f, "%s mx1 postfix/cleanup[%u]: %08X%02X: message-id=<%08x.%u@example.org>\n",
			ts, pid, a, b, a, b);
	} else if (r < 850) {
		fprintf(f, "%s mx1 postfix/lmtp[%u]: %08X%02X: to=<user%u@example.com>, relay=mx1.example.com[private/dovecot-lmtp], delay=0.12, delays=0.05/0.01/0.01/0.05, dsn=2.0.0, status=sent (250 2.0.0 <user%u@example.com> Saved)\n",
			ts, pid, a, b, a % 500, a % 500);
	} else if (r < 930) {
		fprintf(f, "%s mx1 dovecot: imap(user%u@example.com)<%u><%08x>: Disconnected: Logged out in=%u out=%u deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0\n",
			ts, a % 500, pid, a, a % 900, a % 90000);
	} else {
		fprintf(f, "%s mx1 postfix/smtpd[%u]: %08X%02X: client=mail%u.example.org[198.51.100.%u]\n",
			ts, pid, a, b, a % 100, b);
	}
}

static int generate(const char *path, long lines)
{
	FILE *f = fopen(path, "w");
	long i;

	if (f == NULL)
		return -1;
	for (i = 0; i < lines; i++)
		gen_line(f, i);
	return fclose(f);
}

/* Parser alone over the file in memory; returns seconds, fills events. */
static double bench_parser(const char *buf, size_t len, long *events,
			   long *lines)
{
	struct bc_parser *p = bc_parser_new(BC_FMT_AUTO);
	const char *s = buf, *end = buf + len;
	struct bc_event ev;
	double t0;

	*events = 0;
	*lines = 0;
	t0 = now_s();
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (bc_parser_feed(p, s, n, &ev) == BC_PARSE_MATCH)
			(*events)++;
		while (bc_parser_flush(p, 0, &ev) == 1)
			(*events)++;
		(*lines)++;
		s = nl ? nl + 1 : end;
	}
	t0 = now_s() - t0;
	bc_parser_free(&p);
	return t0;
}

/* Run argv with stdin from in (or not) and stdout/stderr to /dev/null. */
static double run_cmd(char *const argv[], const char *in, int *status)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	double t0;
	int rc;

	posix_spawn_file_actions_init(&fa);
	if (in)
		posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_s();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		*status = -1;
		return 0;
	}
	waitpid(pid, status, 0);
	return now_s() - t0;
}

static double best_of(char *const argv[], const char *in, int runs, int *ok)
{
	double best = 0;
	int i, st;

	*ok = 1;
	for (i = 0; i < runs; i++) {
		double t = run_cmd(argv, in, &st);

		if (st != 0) {
			*ok = 0;
			return 0;
		}
		if (i == 0 || t < best)
			best = t;
	}
	return best;
}

static void row(const char *tool, long lines, double secs, double base)
{
	if (secs <= 0) {
		printf("%-44s %12s %14s %10s\n", tool, "-", "-", "-");
		return;
	}
	if (base <= 0) /* no fail2ban-regex to compare with: no ratio */
		printf("%-44s %12.3f %14.0f %10s\n", tool, secs, lines / secs, "-");
	else
		printf("%-44s %12.3f %14.0f %9.1fx\n", tool, secs,
		       lines / secs, (lines / secs) / base);
}

static int exists(const char *p)
{
	return access(p, X_OK) == 0;
}

static int on_path(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

int main(int argc, char **argv)
{
	long lines = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_LINES;
	char path[512];
	const char *tmp = getenv("TMPDIR");
	const char *peers = getenv("BC_BENCH_PEERS");
	int fd, ok, i, rc = 0;
	struct stat st;
	char *buf;
	double tp = 0, tr = 0, t;
	long ev = 0, nl = 0;
	double f2b_rate = 0;

	if (lines <= 0)
		lines = DEFAULT_LINES;
	if (argc > 2)
		snprintf(path, sizeof(path), "%s", argv[2]);
	else
		snprintf(path, sizeof(path), "%s/bc-bench-mail.log",
			 tmp ? tmp : "/tmp");
	if (generate(path, lines) < 0) {
		fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "bench_parse: mmap: %s\n", strerror(errno));
		return 1;
	}
	madvise(buf, (size_t)st.st_size, MADV_SEQUENTIAL);
	printf("log: %s, %ld lines, %.1f MB, %ld attack events written\n\n",
	       path, lines, st.st_size / 1e6, want_events);

	for (i = 0; i < RUNS; i++) {
		t = bench_parser(buf, (size_t)st.st_size, &ev, &nl);
		if (i == 0 || t < tp)
			tp = t;
	}
	if (ev != want_events) {
		fprintf(stderr, "bench_parse: parser found %ld events, generator wrote %ld\n",
			ev, want_events);
		rc = 1;
	}
	/* replay end to end, output to /dev/null */
	for (i = 0; i < RUNS; i++) {
		char *rargv[] = {"replay", path, "--json", NULL};
		int saved = dup(1), dn = open("/dev/null", O_WRONLY);
		double t0;

		fflush(stdout);
		dup2(dn, 1);
		t0 = now_s();
		bc_replay_main(3, rargv);
		t = now_s() - t0;
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		close(dn);
		if (i == 0 || t < tr)
			tr = t;
	}

	printf("%-44s %12s %14s %10s\n", "tool", "seconds", "lines/s", "vs f2b");
	{
		char *wc[] = {"wc", "-l", path, NULL};
		double tw = best_of(wc, NULL, RUNS, &ok);
		double f2b_pf = 0, f2b_dv = 0, sg = 0;
		int have_f2b = on_path("fail2ban-regex");
		const char *env_sg = getenv("BC_SSHG_PARSER");
		const char *sgp = env_sg != NULL && exists(env_sg) ? env_sg
				  : exists("/usr/libexec/sshguard/sshg-parser")
					  ? "/usr/libexec/sshguard/sshg-parser"
					  : exists("/usr/lib/x86_64-linux-gnu/sshg-parser")
						    ? "/usr/lib/x86_64-linux-gnu/sshg-parser"
						    : NULL;

		if (!(peers && strcmp(peers, "0") == 0)) {
			if (have_f2b) {
				char *a1[] = {"fail2ban-regex", path,
					      "postfix[mode=aggressive]", NULL};
				char *a2[] = {"fail2ban-regex", path, "dovecot", NULL};

				f2b_pf = best_of(a1, NULL, 1, &ok);
				if (!ok)
					f2b_pf = 0;
				f2b_dv = best_of(a2, NULL, 1, &ok);
				if (!ok)
					f2b_dv = 0;
			}
			if (sgp != NULL) {
				char *a3[] = {(char *)sgp, NULL};

				sg = best_of(a3, path, RUNS, &ok);
				if (!ok)
					sg = 0;
			}
		}
		f2b_rate = f2b_pf > 0 ? lines / f2b_pf : 0;
		row("bancluster parser (feed+flush, 1 core)", lines, tp, f2b_rate);
		row("bancluster replay (read+parse+policy)", lines, tr, f2b_rate);
		row("wc -l", lines, tw, f2b_rate);
		if (have_f2b && f2b_pf > 0) {
			row("fail2ban-regex postfix[mode=aggressive]", lines, f2b_pf,
			    f2b_rate);
			row("fail2ban-regex dovecot", lines, f2b_dv, f2b_rate);
		} else {
			printf("%-44s %s\n", "fail2ban-regex",
			       peers && strcmp(peers, "0") == 0
				       ? "skipped (BC_BENCH_PEERS=0)"
				       : "not installed (apt-get install fail2ban)");
		}
		if (sg > 0)
			row("sshguard sshg-parser", lines, sg, f2b_rate);
		else
			printf("%-44s %s\n", "sshguard sshg-parser",
			       peers && strcmp(peers, "0") == 0
				       ? "skipped (BC_BENCH_PEERS=0)"
				       : "not installed (apt-get install sshguard)");
		if (sg > 0)
			printf("\nbancluster parser / sshg-parser: %.1fx\n",
			       (lines / tp) / (lines / sg));
		if (sg > 0)
			printf("bancluster replay / sshg-parser: %.1fx\n",
			       (lines / tr) / (lines / sg));
		if (tw > 0)
			printf("bancluster replay takes %.1fx the time of wc -l\n",
			       tr / tw);
	}
	printf("parser events: %ld (expected %ld)\n", ev, want_events);
	munmap(buf, (size_t)st.st_size);
	close(fd);
	unlink(path);
	return rc;
}
