/*
 * audit_smtp.c - `bancluster audit smtp HOST`: the MTA-side checklist,
 * verified from outside with real SMTP sessions and OpenSSL.
 *
 *   (a) credentials only over TLS: STARTTLS / implicit TLS, AUTH not
 *       offered or accepted in cleartext (probed without a password),
 *       TLS versions, weak cipher classes, certificate;
 *   (b) MAIL FROM checked: no relay for strangers (with a control
 *       recipient), no foreign sender after AUTH (with --user);
 *   (c) opt-in, bounded ban test: repeat one offence and watch for a ban.
 *
 * Untrusted input: everything the server sends (greeting, replies,
 * certificate). Reply lines are capped (BC_AUDIT_LINE_MAX), and every piece
 * of server text is escaped and cut (BC_AUDIT_TEXT_MAX) before it is stored
 * in a finding, so nothing the server says reaches the terminal or the JSON
 * raw. The password is read from a file, used only inside TLS, never stored
 * in a finding and wiped with OPENSSL_cleanse.
 *
 * Sessions are lockstep (never a command before the reply), end with QUIT
 * where the protocol allows it, and never send DATA.
 *
 * This file is the command line (strict: a bad value is one line naming
 * it and EX_USAGE), the password file, resolving HOST once to a pinned
 * address, and the run: every port (audit_smtp_checks.c), the vantage
 * point, the ban tests (audit_smtp_bantest.c), the report
 * (audit_smtp_report.c). The SMTP client is audit_smtp_client.c.
 *
 * Ownership: one struct bc_audit per run, made in bc_audit_smtp_main and
 * passed down. Errors inside checks become findings (skip with a reason);
 * only bc_audit_smtp_main prints diagnostics and picks the exit code
 * (audit_smtp.h).
 */
#include "cli/audit_smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "cli/audit_smtp_int.h"

/* One-line usage error naming the bad value; returns EX_USAGE. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bancluster: audit smtp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_USAGE;
}

static void usage(FILE *f)
{
	fputs("usage: bancluster audit smtp HOST[:PORT] [--ports P[:ROLE],...]\n"
	      "         [--user U --password-file F] [--foreign-sender ADDR]\n"
	      "         [--ban-test auth|sender|abort|all] [--attempts N]\n"
	      "         [--domain D] [--helo NAME] [--ca-file F] [--source ADDR]\n"
	      "         [--timeout S] [--json]\n"
	      "ROLE is mx, submission or submissions (default: 25 mx, 465\n"
	      "submissions, others submission). Exit: 0 pass, 1 warn, 2 fail,\n"
	      "3 could not audit, 64 bad arguments.\n", f);
}

/* Strict decimal integer in [lo, hi]. */
static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* A name or address we put on a command line: no spaces, <, >, CR, LF. */
static bool safe_token(const char *s)
{
	size_t l = strlen(s), i;

	if (l == 0 || l > BC_AUDIT_NAME_MAX)
		return false;
	for (i = 0; i < l; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '<' || ch == '>' ||
		    ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

/* Add port "P" or "P:ROLE". 0 or -1. */
static int add_port(struct bc_audit *a, const char *spec, size_t len)
{
	char buf[64], *colon;
	long v;
	struct bc_audit_port *p;
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, spec, len);
	buf[len] = '\0';
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (!parse_int(buf, 1, 65535, &v) || a->nports >= BC_AUDIT_MAX_PORTS)
		return -1;
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].port == (int)v)
			return -1;
	p = &a->ports[a->nports];
	memset(p, 0, sizeof(*p));
	p->port = (int)v;
	p->role = v == 25 ? ROLE_MX : v == 465 ? ROLE_SUBMISSIONS : ROLE_SUBMISSION;
	if (colon) {
		if (strcmp(colon, "mx") == 0)
			p->role = ROLE_MX;
		else if (strcmp(colon, "submission") == 0)
			p->role = ROLE_SUBMISSION;
		else if (strcmp(colon, "submissions") == 0)
			p->role = ROLE_SUBMISSIONS;
		else
			return -1;
	}
	a->nports++;
	return 0;
}

static int parse_ports(struct bc_audit *a, const char *list)
{
	const char *p = list;

	a->nports = 0;
	for (;;) {
		size_t l = strcspn(p, ",");

		if (add_port(a, p, l) < 0)
			return -1;
		if (p[l] == '\0')
			return 0;
		p += l + 1;
	}
}

/* Read the first line of the password file into a->password. 0 or -1. */
static int read_password(struct bc_audit *a, char *err, size_t errsz)
{
	char buf[BC_AUDIT_PASSWORD_MAX + 2];
	FILE *f = fopen(a->password_file, "r");
	size_t l;

	if (!f) {
		bc_audit_fmt_cut(err, errsz, "%s", strerror(errno));
		return -1;
	}
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		bc_audit_fmt_cut(err, errsz, "empty file");
		return -1;
	}
	fclose(f);
	l = strcspn(buf, "\r\n");
	if (l == 0 || l > BC_AUDIT_PASSWORD_MAX || (buf[l] == '\0' &&
	    l == sizeof(buf) - 1)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		bc_audit_fmt_cut(err, errsz, "first line empty or longer than %d bytes",
			 BC_AUDIT_PASSWORD_MAX);
		return -1;
	}
	buf[l] = '\0';
	a->password = OPENSSL_strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!a->password) {
		bc_audit_fmt_cut(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

/* Split HOST[:PORT] / [V6]:PORT / bare V6 into a->host and maybe a port. */
static int parse_target(struct bc_audit *a, const char *arg)
{
	const char *host = arg, *port = NULL;
	size_t hl;
	const char *colon = strchr(arg, ':');

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (!rb)
			return -1;
		host = arg + 1;
		hl = (size_t)(rb - host);
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return -1;
	} else if (colon && !strchr(colon + 1, ':')) {
		hl = (size_t)(colon - arg);
		port = colon + 1;
	} else {
		hl = strlen(arg);
	}
	if (hl == 0 || hl > BC_AUDIT_NAME_MAX)
		return -1;
	memcpy(a->host, host, hl);
	a->host[hl] = '\0';
	if (!safe_token(a->host))
		return -1;
	if (port) {
		a->nports = 0;
		if (add_port(a, port, strlen(port)) < 0)
			return -1;
	}
	return 0;
}

/* Escape an argument for an error message. */
static const char *earg(const char *s, char *buf, size_t bufsz)
{
	bc_audit_escs(s, buf, bufsz);
	return buf;
}

/*
 * Parse the command line into a. Returns 0, 1 for --help (usage printed),
 * or EX_USAGE after printing a one-line error.
 */
static int parse_args(struct bc_audit *a, int argc, char **argv)
{
	const char *target = NULL, *ports = NULL;
	char e[BC_AUDIT_TEXT_MAX * 4 + 8];
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char name[32];
		long v;

		if (arg[0] != '-' || arg[1] == '\0') {
			if (target)
				return usage_error("unexpected argument \"%s\"",
						   earg(arg, e, sizeof(e)));
			target = arg;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--json") == 0) {
			a->json = true;
			continue;
		}
		eq = strchr(arg, '=');
		if (eq) {
			if ((size_t)(eq - arg) >= sizeof(name))
				return usage_error("unknown option \"%s\"",
						   earg(arg, e, sizeof(e)));
			memcpy(name, arg, (size_t)(eq - arg));
			name[eq - arg] = '\0';
			val = eq + 1;
		} else {
			bc_audit_fmt_cut(name, sizeof(name), "%s", arg);
		}
		if (strcmp(name, "--ports") && strcmp(name, "--user") &&
		    strcmp(name, "--password-file") &&
		    strcmp(name, "--foreign-sender") &&
		    strcmp(name, "--ban-test") && strcmp(name, "--attempts") &&
		    strcmp(name, "--timeout") && strcmp(name, "--source") &&
		    strcmp(name, "--domain") && strcmp(name, "--helo") &&
		    strcmp(name, "--ca-file"))
			return usage_error("unknown option \"%s\"",
					   earg(arg, e, sizeof(e)));
		if (!val) {
			if (i + 1 >= argc)
				return usage_error("%s: missing value", name);
			val = argv[++i];
		}
		if (strcmp(name, "--ports") == 0) {
			ports = val;
		} else if (strcmp(name, "--user") == 0) {
			if (!safe_token(val))
				return usage_error("--user: bad value \"%s\"",
						   earg(val, e, sizeof(e)));
			bc_audit_fmt_cut(a->user, sizeof(a->user), "%s", val);
		} else if (strcmp(name, "--password-file") == 0) {
			a->password_file = val;
		} else if (strcmp(name, "--foreign-sender") == 0) {
			if (!safe_token(val) || !strchr(val, '@'))
				return usage_error("--foreign-sender: expected an address, "
						   "got \"%s\"", earg(val, e, sizeof(e)));
			bc_audit_fmt_cut(a->foreign, sizeof(a->foreign), "%s", val);
		} else if (strcmp(name, "--ban-test") == 0) {
			const char *p = val;

			for (;;) {
				size_t l = strcspn(p, ",");

				if (l == 4 && strncmp(p, "auth", 4) == 0)
					a->ban_tests |= BAN_AUTH;
				else if (l == 6 && strncmp(p, "sender", 6) == 0)
					a->ban_tests |= BAN_SENDER;
				else if (l == 5 && strncmp(p, "abort", 5) == 0)
					a->ban_tests |= BAN_ABORT;
				else if (l == 3 && strncmp(p, "all", 3) == 0)
					a->ban_tests |= BAN_AUTH | BAN_SENDER | BAN_ABORT;
				else
					return usage_error("--ban-test: expected auth, "
							   "sender, abort or all, got \"%s\"",
							   earg(val, e, sizeof(e)));
				if (p[l] == '\0')
					break;
				p += l + 1;
			}
		} else if (strcmp(name, "--attempts") == 0) {
			if (!parse_int(val, 1, BC_AUDIT_ATTEMPTS_MAX, &v))
				return usage_error("--attempts: expected 1..%d, got \"%s\"",
						   BC_AUDIT_ATTEMPTS_MAX,
						   earg(val, e, sizeof(e)));
			a->attempts = (int)v;
		} else if (strcmp(name, "--timeout") == 0) {
			if (!parse_int(val, 1, BC_AUDIT_TIMEOUT_MAX, &v))
				return usage_error("--timeout: expected 1..%d seconds, got "
						   "\"%s\"", BC_AUDIT_TIMEOUT_MAX,
						   earg(val, e, sizeof(e)));
			a->timeout_s = (int)v;
		} else if (strcmp(name, "--source") == 0) {
			unsigned char b[16];
			struct sockaddr_in *s4 = (struct sockaddr_in *)&a->src;
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->src;

			memset(&a->src, 0, sizeof(a->src));
			if (inet_pton(AF_INET, val, b) == 1) {
				s4->sin_family = AF_INET;
				memcpy(&s4->sin_addr, b, 4);
				a->srclen = sizeof(*s4);
			} else if (inet_pton(AF_INET6, val, b) == 1) {
				s6->sin6_family = AF_INET6;
				memcpy(&s6->sin6_addr, b, 16);
				a->srclen = sizeof(*s6);
			} else {
				return usage_error("--source: expected an IP address, got "
						   "\"%s\"", earg(val, e, sizeof(e)));
			}
			a->have_src = true;
			a->source = val;
		} else if (strcmp(name, "--domain") == 0) {
			if (!safe_token(val) || strchr(val, '@'))
				return usage_error("--domain: bad value \"%s\"",
						   earg(val, e, sizeof(e)));
			bc_audit_fmt_cut(a->domain, sizeof(a->domain), "%s", val);
		} else if (strcmp(name, "--helo") == 0) {
			if (!safe_token(val))
				return usage_error("--helo: bad value \"%s\"",
						   earg(val, e, sizeof(e)));
			bc_audit_fmt_cut(a->helo, sizeof(a->helo), "%s", val);
		} else {
			a->ca_file = val;
		}
	}
	if (!target)
		return usage_error("missing HOST (see --help)");
	if (ports && parse_ports(a, ports) < 0)
		return usage_error("--ports: expected PORT[:mx|submission|"
				   "submissions],... (at most %d), got \"%s\"",
				   BC_AUDIT_MAX_PORTS, earg(ports, e, sizeof(e)));
	if (parse_target(a, target) < 0)
		return usage_error("bad HOST[:PORT] \"%s\"",
				   earg(target, e, sizeof(e)));
	if (!a->user[0] != !a->password_file)
		return usage_error("--user and --password-file go together");
	if (a->ca_file && access(a->ca_file, R_OK) != 0)
		return usage_error("--ca-file: cannot read \"%s\"",
				   earg(a->ca_file, e, sizeof(e)));
	if (a->password_file) {
		char why[128];

		if (read_password(a, why, sizeof(why)) < 0)
			return usage_error("--password-file \"%s\": %s",
					   earg(a->password_file, e, sizeof(e)), why);
	}
	return 0;
}

/* Resolve HOST once and pin the address (same family as --source). */
static int resolve(struct bc_audit *a, char *err, size_t errsz)
{
	struct addrinfo hints, *res = NULL, *ai;
	unsigned char b[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = a->have_src ? a->src.ss_family : AF_UNSPEC;
	a->host_is_ip = inet_pton(AF_INET, a->host, b) == 1 ||
			inet_pton(AF_INET6, a->host, b) == 1;
	if (!a->host_is_ip)
		hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(a->host, NULL, &hints, &res);
	if (rc != 0) {
		bc_audit_fmt_cut(err, errsz, "cannot resolve: %s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			break;
	if (!ai) {
		freeaddrinfo(res);
		bc_audit_fmt_cut(err, errsz, "no usable address");
		return -1;
	}
	memcpy(&a->dst, ai->ai_addr, ai->ai_addrlen);
	a->dstlen = ai->ai_addrlen;
	inet_ntop(ai->ai_family, ai->ai_family == AF_INET
		  ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
		  : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
		  a->dst_str, sizeof(a->dst_str));
	freeaddrinfo(res);
	if (!a->host_is_ip)
		bc_audit_fmt_cut(a->tls_name, sizeof(a->tls_name), "%s", a->host);
	return 0;
}

int bc_audit_smtp_main(int argc, char **argv)
{
	struct bc_audit *a = calloc(1, sizeof(*a));
	char err[256], h[BC_AUDIT_NAME_MAX * 4 + 8];
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	const char *why;
	size_t i;
	int rc;

	if (!a) {
		fputs("bancluster: audit smtp: out of memory\n", stderr);
		return BC_AUDIT_EXIT_UNKNOWN;
	}
	/*
	 * OpenSSL writes to the socket with write(2): a server that hangs up
	 * (or the abort ban test) must give EPIPE, not kill the command.
	 */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
	a->attempts = BC_AUDIT_ATTEMPTS_DEFAULT;
	a->timeout_s = BC_AUDIT_TIMEOUT_DEFAULT;
	bc_audit_fmt_cut(a->helo, sizeof(a->helo), "%s", BC_AUDIT_HELO_DEFAULT);
	(void)parse_ports(a, "25,465,587");
	rc = parse_args(a, argc, argv);
	if (rc != 0) {
		rc = rc == 1 ? BC_AUDIT_EXIT_OK : rc;
		goto out;
	}
	a->colour = !a->json && isatty(STDOUT_FILENO) && !(nc && *nc) &&
		    !(term && strcmp(term, "dumb") == 0);
	bc_audit_escs(a->host, h, sizeof(h));
	if (resolve(a, err, sizeof(err)) < 0) {
		fprintf(stderr, "bancluster: audit smtp: %s: %s\n", h, err);
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	a->ctx_main = bc_smtp_ctx_main_new(a);
	if (!a->ctx_main) {
		fprintf(stderr, "bancluster: audit smtp: cannot set up TLS%s\n",
			a->ca_file ? " (bad --ca-file?)" : "");
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	for (i = 0; i < a->nports; i++)
		bc_audit_check_port(a, &a->ports[i]);
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable)
			break;
	if (i == a->nports) {
		/* Nothing answered: one line naming why, exit 3. */
		size_t o = 0;

		err[0] = '\0';
		for (i = 0; i < a->nchecks && o < sizeof(err) - 1; i++)
			if (strcmp(a->checks[i].id, "conn.greeting") == 0)
				o += (size_t)bc_audit_fmt_cut(err + o, sizeof(err) - o, "%s%d: %s",
						      o ? "; " : "", a->checks[i].port,
						      a->checks[i].detail);
		fprintf(stderr, "bancluster: audit smtp: %s (%s): no SMTP port "
			"reachable (%s)\n", h, a->dst_str, err);
		if (a->json)
			bc_audit_report_json_unreachable(BC_AUDIT_EXIT_UNKNOWN);
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	why = bc_audit_trusted_source(a);
	if (why)
		bc_audit_add_check(a, "gen.vantage", 0, RES_WARN, false,
				   "auditing from %s (%s): the server probably trusts it, so "
				   "relay, sender and ban results may not represent outside "
				   "clients", a->src_str, why);
	else
		bc_audit_add_check(a, "gen.vantage", 0, RES_PASS, false,
				   "auditing from %s", a->src_str);
	bc_audit_bans(a);
	rc = bc_audit_exit_code(a);
	if (a->json) {
		if (bc_audit_report_json(a, rc) != 0)
			rc = BC_AUDIT_EXIT_UNKNOWN;
	} else
		bc_audit_report_human(a, rc);
	fflush(stdout);
out:
	if (a->password) {
		OPENSSL_clear_free(a->password, strlen(a->password));
		a->password = NULL;
	}
	SSL_CTX_free(a->ctx_main);
	free(a);
	return rc;
}
