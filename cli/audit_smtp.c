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
 * Ownership: one struct audit per run, made in bc_audit_smtp_main and
 * passed down. Errors inside checks become findings (skip with a reason);
 * only bc_audit_smtp_main prints and picks the exit code.
 */
#include "cli/audit_smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define BC_AUDIT_MAX_PORTS 8
#define BC_AUDIT_MAX_CHECKS 256
#define BC_AUDIT_DETAIL_MAX 320  /* one finding's detail text */
#define BC_AUDIT_TEXT_MAX 100    /* server text kept per quote, escaped */
#define BC_AUDIT_LINE_MAX 4096   /* longest reply line accepted */
#define BC_AUDIT_RBUF (2 * BC_AUDIT_LINE_MAX)
#define BC_AUDIT_REPLY_KEEP 32   /* reply lines kept (more are read) */
#define BC_AUDIT_REPLY_LINE 256  /* bytes kept per reply line */
#define BC_AUDIT_REPLY_MAXLINES 200 /* a longer reply is a protocol error */
#define BC_AUDIT_NAME_MAX 255    /* host, helo, domain, addresses */
#define BC_AUDIT_PASSWORD_MAX 512
#define BC_AUDIT_ATTEMPTS_DEFAULT 6
#define BC_AUDIT_ATTEMPTS_MAX 20
#define BC_AUDIT_TIMEOUT_DEFAULT 10
#define BC_AUDIT_TIMEOUT_MAX 300
#define BC_AUDIT_BAN_SETTLE_S 4  /* re-check this long after each offence */
#define BC_AUDIT_CERT_WARN_DAYS 30
#define BC_AUDIT_IMPLICIT_PEEK_MS 3000 /* plaintext check on a 465 port */
#define BC_AUDIT_HELO_DEFAULT "audit.bancluster.invalid"
#define BC_AUDIT_PROBE_RCPT "bancluster-relay-probe@example.org"
#define BC_AUDIT_PROBE_FROM "bancluster-probe@example.net"
#define BC_AUDIT_SPOOF_EXTERNAL "bancluster-spoof-probe@example.com"

enum role { ROLE_MX, ROLE_SUBMISSION, ROLE_SUBMISSIONS };
enum result { RES_PASS, RES_WARN, RES_FAIL, RES_SKIP };
enum section { SEC_GEN, SEC_A, SEC_B, SEC_C, SEC_HYG, SEC_COUNT };

enum ban_kind { BAN_AUTH = 1, BAN_SENDER = 2, BAN_ABORT = 4 };

/* What a fresh connection looked like (ban detection, §3.18 of the note). */
enum probe_state {
	PROBE_OPEN,
	PROBE_REFUSED,  /* ECONNREFUSED: firewall reject (or service down) */
	PROBE_TIMEOUT,  /* connect timed out: firewall drop */
	PROBE_UNREACH,  /* ICMP host/net unreachable or prohibited */
	PROBE_CLOSED,   /* accepted, then closed before the greeting */
	PROBE_SILENT,   /* accepted, no greeting in time */
	PROBE_THROTTLED, /* 421 greeting */
	PROBE_BLOCKED,  /* 5xx greeting */
	PROBE_ERROR
};

/* One finding. detail holds only escaped, printable ASCII. */
struct check {
	const char *id;
	int port;               /* 0 for checks that are not per port */
	enum result res;
	bool info;              /* informational: shown [info], JSON "pass" */
	char detail[BC_AUDIT_DETAIL_MAX];
};

struct port {
	int port;
	enum role role;
	bool reachable;         /* TCP connect and greeting worked */
	bool tls_capable;       /* STARTTLS offered or implicit TLS works */
	char banner[BC_AUDIT_TEXT_MAX * 4 + 1]; /* escaped */
	char tls_version[32];
	char tls_cipher[64];
};

/* EHLO capabilities we act on. */
struct caps {
	bool esmtp;
	bool starttls;
	bool auth;
	char mechs[128];        /* escaped, cut */
};

/* One SMTP reply: code and the first lines' text (raw bytes, NUL-free). */
struct reply {
	int code;
	int n;                  /* lines kept (<= BC_AUDIT_REPLY_KEEP) */
	char line[BC_AUDIT_REPLY_KEEP][BC_AUDIT_REPLY_LINE];
};

/* One connection, plain or TLS; bytes read but not yet consumed in buf. */
struct conn {
	int fd;
	SSL *ssl;
	int timeout_ms;
	int err;                /* errno of a failed connect, or 0 */
	size_t len;
	unsigned char buf[BC_AUDIT_RBUF];
};

/* The whole run. Made in bc_audit_smtp_main, passed everywhere. */
struct audit {
	char host[BC_AUDIT_NAME_MAX + 1];
	char helo[BC_AUDIT_NAME_MAX + 1];
	char domain[BC_AUDIT_NAME_MAX + 1];
	char user[BC_AUDIT_NAME_MAX + 1];
	char foreign[BC_AUDIT_NAME_MAX + 1];
	char tls_name[BC_AUDIT_NAME_MAX + 1]; /* expected certificate name */
	const char *password_file;
	const char *ca_file;
	const char *source;
	char *password;         /* NULL without --user; wiped at the end */
	unsigned ban_tests;     /* enum ban_kind bits */
	int attempts;
	int timeout_s;
	bool json;
	bool colour;
	bool host_is_ip;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	struct sockaddr_storage src;
	socklen_t srclen;
	bool have_src;
	char dst_str[INET6_ADDRSTRLEN];
	char src_str[INET6_ADDRSTRLEN]; /* learned from the first connection */
	struct port ports[BC_AUDIT_MAX_PORTS];
	size_t nports;
	struct check checks[BC_AUDIT_MAX_CHECKS];
	size_t nchecks;
	SSL_CTX *ctx_main;      /* default client settings, for cert checks */
	int sessions;           /* TCP sessions opened, for the JSON */
};

/* Static description of every check id: section, title and fix line. */
struct check_def {
	const char *id;
	enum section sec;
	const char *title;
	const char *fix;        /* one line naming Postfix and Exim settings */
};

static const struct check_def check_defs[] = {
	{"conn.greeting", SEC_GEN, "greeting", NULL},
	{"gen.vantage", SEC_GEN, "audit vantage point",
	 "run the audit from an address outside the server's trusted networks "
	 "(--source ADDR, or another host)"},
	{"tls.starttls", SEC_A, "STARTTLS",
	 "Postfix: smtpd_tls_security_level = may (25) or encrypt (587) with "
	 "smtpd_tls_chain_files; Exim: tls_advertise_hosts = * with "
	 "tls_certificate/tls_privatekey"},
	{"tls.implicit", SEC_A, "implicit TLS",
	 "Postfix: master.cf submissions service with -o "
	 "smtpd_tls_wrappermode=yes; Exim: tls_on_connect_ports = 465"},
	{"auth.before_tls", SEC_A, "AUTH advertised before TLS",
	 "Postfix: smtpd_tls_auth_only = yes; Exim: auth_advertise_hosts = "
	 "${if eq{$tls_in_cipher}{}{}{*}}"},
	{"auth.plaintext", SEC_A, "cleartext AUTH accepted",
	 "Postfix: smtpd_tls_auth_only = yes; Exim: server_advertise_condition "
	 "= ${if def:tls_in_cipher} in every plaintext authenticator"},
	{"auth.after_tls", SEC_A, "AUTH after TLS",
	 "Postfix: -o smtpd_sasl_auth_enable=yes on the submission services; "
	 "Exim: a plaintext authenticator with server_condition"},
	{"auth.required", SEC_A, "submission requires AUTH",
	 "Postfix: -o smtpd_client_restrictions=permit_sasl_authenticated,reject "
	 "on 587/465; Exim: acl_smtp_rcpt: deny !authenticated = * on "
	 "submission ports"},
	{"tls.v1_0", SEC_A, "TLS 1.0",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 and "
	 "smtpd_tls_mandatory_protocols = >=TLSv1.2; Exim: openssl_options = "
	 "+no_tlsv1 +no_tlsv1_1"},
	{"tls.v1_1", SEC_A, "TLS 1.1",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 and "
	 "smtpd_tls_mandatory_protocols = >=TLSv1.2; Exim: openssl_options = "
	 "+no_tlsv1 +no_tlsv1_1"},
	{"tls.v1_2", SEC_A, "TLS 1.2",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 (do not exclude TLSv1.2); "
	 "Exim: openssl_options without +no_tlsv1_2"},
	{"tls.v1_3", SEC_A, "TLS 1.3",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 with OpenSSL 1.1.1 or later; "
	 "Exim: openssl_options without +no_tlsv1_3"},
	{"tls.cipher.null", SEC_A, "NULL (unencrypted) ciphers",
	 "Postfix: smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"},
	{"tls.cipher.anon", SEC_A, "anonymous (aNULL) ciphers",
	 "Postfix: -o smtpd_tls_exclude_ciphers=aNULL,eNULL,kRSA on 587/465; "
	 "Exim: tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"},
	{"tls.cipher.nofs", SEC_A, "ciphers without forward secrecy",
	 "Postfix: smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20"},
	{"tls.cipher.legacy", SEC_A, "3DES/RC4/EXPORT ciphers",
	 "Postfix: smtpd_tls_mandatory_ciphers = high; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20"},
	{"tls.cert.chain", SEC_A, "certificate chain",
	 "install a certificate chaining to a public CA: Postfix "
	 "smtpd_tls_chain_files (full chain); Exim tls_certificate (full chain)"},
	{"tls.cert.hostname", SEC_A, "certificate host name",
	 "use a certificate whose SAN covers the server name: Postfix "
	 "smtpd_tls_chain_files; Exim tls_certificate"},
	{"tls.cert.expiry", SEC_A, "certificate expiry",
	 "renew the certificate (e.g. certbot) and reload: Postfix "
	 "smtpd_tls_chain_files; Exim tls_certificate"},
	{"relay.open", SEC_B, "open relay (no AUTH)",
	 "Postfix: smtpd_relay_restrictions = permit_mynetworks, "
	 "permit_sasl_authenticated, reject_unauth_destination with a "
	 "mynetworks of only your hosts; Exim: relay_from_hosts = your hosts "
	 "only, acl_smtp_rcpt require verify = recipient / domains = "
	 "+local_domains"},
	{"sender.spoof_after_auth", SEC_B, "foreign MAIL FROM after AUTH",
	 "Postfix: smtpd_sender_login_maps plus reject_sender_login_mismatch in "
	 "smtpd_sender_restrictions; Exim: acl_smtp_mail: deny authenticated = * "
	 "condition = ${if !eqi{$sender_address}{$authenticated_id}}"},
	{"ban.auth", SEC_C, "ban after wrong logins",
	 "run bancluster-agent on every MX (or a fail2ban jail on SASL "
	 "failures), ban for 3-24 h after 3-10 offences"},
	{"ban.sender", SEC_C, "ban after unauthorised senders",
	 "run bancluster-agent on every MX (fail2ban: a custom failregex for "
	 "'Sender address rejected'), ban for 3-24 h after 3-10 offences"},
	{"ban.abort", SEC_C, "ban after AUTH dropped half-way",
	 "run bancluster-agent on every MX (fail2ban: postfix[mode=aggressive] "
	 "for 'lost connection after AUTH'), ban for 3-24 h"},
	{"enum.vrfy", SEC_HYG, "VRFY user enumeration",
	 "Postfix: disable_vrfy_command = yes; Exim: leave acl_smtp_vrfy unset "
	 "(deny)"},
	{"enum.expn", SEC_HYG, "EXPN list expansion",
	 "Postfix: has no EXPN; Exim: leave acl_smtp_expn unset (deny)"},
	{"info.banner", SEC_HYG, "banner discloses software",
	 "Postfix: smtpd_banner = $myhostname ESMTP; Exim: smtp_banner = "
	 "$smtp_active_hostname ESMTP"},
};

static const char *const section_names[SEC_COUNT] = {
	"general", "a", "b", "c", "hygiene"};
static const char *const section_titles[SEC_COUNT] = {
	"general",
	"(a) credentials only over TLS",
	"(b) MAIL FROM checked, no relay",
	"(c) repeated abuse is banned",
	"hygiene"};
static const char *const result_names[] = {"pass", "warn", "fail", "skip"};

/*
 * snprintf that cuts silently and returns the number of bytes actually
 * written (never more than outsz - 1), so offsets built from it stay in
 * bounds.
 */
__attribute__((format(printf, 3, 4)))
static size_t fmt_cut(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (outsz == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	if (n < 0) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n < outsz ? (size_t)n : outsz - 1;
}

/* Milliseconds on a monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep for ms milliseconds. */
static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Escape untrusted bytes (in, len) into out: printable ASCII other than
 * backslash stays, everything else becomes \xNN. Output is cut at
 * BC_AUDIT_TEXT_MAX input bytes (or what fits) and marked with "...".
 */
static void esc(const char *in, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	bool cut = false;

	if (outsz == 0)
		return;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (i >= BC_AUDIT_TEXT_MAX || o + 8 >= outsz) {
			cut = true;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	if (cut && o + 4 <= outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Escape a NUL-terminated untrusted string (see esc). */
static void escs(const char *in, char *out, size_t outsz)
{
	esc(in, strlen(in), out, outsz);
}

static const struct check_def *check_def_find(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(check_defs) / sizeof(check_defs[0]); i++)
		if (strcmp(check_defs[i].id, id) == 0)
			return &check_defs[i];
	return NULL;
}

/*
 * Record a finding. fmt and its arguments must contain only text that is
 * already escaped (server text goes through esc first).
 */
__attribute__((format(printf, 6, 7)))
static void add_check(struct audit *a, const char *id, int port,
		      enum result res, bool info, const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (a->nchecks >= BC_AUDIT_MAX_CHECKS)
		return;
	c = &a->checks[a->nchecks++];
	c->id = id;
	c->port = port;
	c->res = res;
	c->info = info;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_MX:
		return "mx";
	case ROLE_SUBMISSION:
		return "submission";
	case ROLE_SUBMISSIONS:
		return "submissions";
	}
	return "?";
}

static bool role_is_submission(enum role r)
{
	return r == ROLE_SUBMISSION || r == ROLE_SUBMISSIONS;
}

/* ------------------------------------------------------------------ */
/* Connections                                                          */

/* Wait until fd is ready for events or the deadline passes: 0 or -1. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static void conn_init(struct conn *c, const struct audit *a)
{
	c->fd = -1;
	c->ssl = NULL;
	c->timeout_ms = a->timeout_s * 1000;
	c->err = 0;
	c->len = 0;
}

/* Close a connection (no QUIT; see session_quit). */
static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->len = 0;
}

/*
 * Open a TCP connection to the pinned address and port, bound to --source
 * if given, with the connect timeout. 0, or -1 with c->err set.
 */
static int conn_open(struct audit *a, struct conn *c, int port,
		     int timeout_ms)
{
	struct sockaddr_storage ss = a->dst;
	int64_t deadline = now_ms() + timeout_ms;
	socklen_t elen;
	int e = 0;

	conn_init(c, a);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->err = errno;
		return -1;
	}
	if (a->have_src && bind(c->fd, (struct sockaddr *)&a->src, a->srclen) < 0) {
		c->err = errno;
		conn_close(c);
		return -1;
	}
	a->sessions++;
	if (connect(c->fd, (struct sockaddr *)&ss, a->dstlen) < 0) {
		if (errno != EINPROGRESS) {
			c->err = errno;
			conn_close(c);
			return -1;
		}
		if (wait_fd(c->fd, POLLOUT, deadline) < 0) {
			c->err = errno;
			conn_close(c);
			return -1;
		}
		elen = sizeof(e);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e) {
			c->err = e ? e : errno;
			conn_close(c);
			return -1;
		}
	}
	if (a->src_str[0] == '\0') {
		struct sockaddr_storage me;
		socklen_t mlen = sizeof(me);

		if (getsockname(c->fd, (struct sockaddr *)&me, &mlen) == 0) {
			const void *p = me.ss_family == AF_INET
				? (const void *)&((struct sockaddr_in *)&me)->sin_addr
				: (const void *)&((struct sockaddr_in6 *)&me)->sin6_addr;
			inet_ntop(me.ss_family, p, a->src_str, sizeof(a->src_str));
		}
	}
	return 0;
}

/*
 * Read more bytes into c->buf. Returns bytes read, 0 on EOF, -1 on error
 * or timeout.
 */
static int conn_fill(struct conn *c, int64_t deadline)
{
	size_t room = sizeof(c->buf) - c->len;

	if (room == 0)
		return -1;
	for (;;) {
		if (c->ssl) {
			int n = SSL_read(c->ssl, c->buf + c->len, (int)room);
			int e;

			if (n > 0) {
				c->len += (size_t)n;
				return n;
			}
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ) {
				if (wait_fd(c->fd, POLLIN, deadline) < 0)
					return -1;
			} else if (e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c->fd, POLLOUT, deadline) < 0)
					return -1;
			} else if (e == SSL_ERROR_ZERO_RETURN ||
				   (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
				ERR_clear_error();
				return 0;
			} else {
				ERR_clear_error();
				return -1;
			}
		} else {
			ssize_t n = recv(c->fd, c->buf + c->len, room, 0);

			if (n > 0) {
				c->len += (size_t)n;
				return (int)n;
			}
			if (n == 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (wait_fd(c->fd, POLLIN, deadline) < 0)
				return -1;
		}
	}
}

/* Write all of (p, n), plain or TLS, within the timeout. 0 or -1. */
static int conn_write(struct conn *c, const char *p, size_t n)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	while (n > 0) {
		if (c->ssl) {
			int w = SSL_write(c->ssl, p, (int)n);
			int e;

			if (w > 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			e = SSL_get_error(c->ssl, w);
			if (e == SSL_ERROR_WANT_READ) {
				if (wait_fd(c->fd, POLLIN, deadline) < 0)
					return -1;
			} else if (e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c->fd, POLLOUT, deadline) < 0)
					return -1;
			} else {
				ERR_clear_error();
				return -1;
			}
		} else {
			ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

			if (w > 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (wait_fd(c->fd, POLLOUT, deadline) < 0)
					return -1;
				continue;
			}
			return -1;
		}
	}
	return 0;
}

/*
 * Take one line (LF or CRLF terminated) from the connection into out,
 * without the line end, NULs replaced by '?', cut to outsz - 1.
 * Returns the full line length, or -1 on EOF, timeout or a line longer
 * than BC_AUDIT_LINE_MAX.
 */
static long read_line(struct conn *c, char *out, size_t outsz,
		      int64_t deadline)
{
	for (;;) {
		unsigned char *nl = memchr(c->buf, '\n', c->len);

		if (nl) {
			size_t l = (size_t)(nl - c->buf), k, take;

			if (l > 0 && c->buf[l - 1] == '\r')
				l--;
			take = l < outsz - 1 ? l : outsz - 1;
			for (k = 0; k < take; k++)
				out[k] = c->buf[k] ? (char)c->buf[k] : '?';
			out[take] = '\0';
			k = (size_t)(nl - c->buf) + 1;
			memmove(c->buf, c->buf + k, c->len - k);
			c->len -= k;
			return (long)l;
		}
		if (c->len >= BC_AUDIT_LINE_MAX)
			return -1;
		if (conn_fill(c, deadline) <= 0)
			return -1;
	}
}

/*
 * Read one complete SMTP reply (RFC 5321 4.2): continuation lines
 * "DDD-text", last line "DDD text" or "DDD". 0, or -1 on EOF, timeout or
 * protocol error (r->code is then 0).
 */
static int read_reply_until(struct conn *c, struct reply *r, int64_t deadline)
{
	char line[BC_AUDIT_REPLY_LINE + 8];
	int i, first = -1;

	r->code = 0;
	r->n = 0;
	for (i = 0; i < BC_AUDIT_REPLY_MAXLINES; i++) {
		long l = read_line(c, line, sizeof(line), deadline);
		int code;
		char sep;

		if (l < 3)
			return -1;
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9')
			return -1;
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		sep = l > 3 ? line[3] : ' ';
		if (sep != ' ' && sep != '-')
			return -1;
		if (first < 0)
			first = code;
		else if (code != first)
			return -1;
		if (r->n < BC_AUDIT_REPLY_KEEP) {
			fmt_cut(r->line[r->n], sizeof(r->line[0]), "%s",
				 l > 4 ? line + 4 : "");
			r->n++;
		}
		if (sep == ' ') {
			r->code = code;
			return 0;
		}
	}
	return -1;
}

static int read_reply(struct conn *c, struct reply *r)
{
	return read_reply_until(c, r, now_ms() + c->timeout_ms);
}

/*
 * Send one command line (CRLF added) and read its reply. The command text
 * comes from validated options only (no CR/LF possible). 0 or -1.
 */
__attribute__((format(printf, 3, 4)))
static int cmd(struct conn *c, struct reply *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		r->code = 0;
		return -1;
	}
	memcpy(line + n, "\r\n", 2);
	if (conn_write(c, line, (size_t)n + 2) < 0) {
		r->code = 0;
		return -1;
	}
	return read_reply(c, r);
}

/* "CODE text" of the reply's last kept line, escaped and cut. */
static const char *rtext(const struct reply *r, char *out, size_t outsz)
{
	char e[BC_AUDIT_TEXT_MAX * 4 + 8];

	if (r->code == 0) {
		fmt_cut(out, outsz, "no reply (timeout or connection lost)");
		return out;
	}
	escs(r->n > 0 ? r->line[r->n - 1] : "", e, sizeof(e));
	fmt_cut(out, outsz, "%d %s", r->code, e);
	return out;
}

/* True when the reply carries an enhanced status code of class x.7.x. */
static bool reply_policy(const struct reply *r)
{
	const char *t;

	if (r->n == 0)
		return false;
	t = r->line[r->n - 1];
	return (t[0] == '4' || t[0] == '5') && t[1] == '.' && t[2] == '7' &&
	       t[3] == '.';
}

/* Case-insensitive substring search in every kept line of the reply. */
static bool reply_has(const struct reply *r, const char *needle)
{
	size_t nl = strlen(needle);
	int i;

	for (i = 0; i < r->n; i++) {
		const char *p;

		for (p = r->line[i]; *p; p++)
			if (strncasecmp(p, needle, nl) == 0)
				return true;
	}
	return false;
}

/* End a session politely: QUIT and wait for 221 (or the timeout). */
static void session_quit(struct conn *c)
{
	struct reply r;

	if (c->fd >= 0) {
		c->timeout_ms = c->timeout_ms < 3000 ? c->timeout_ms : 3000;
		(void)cmd(c, &r, "QUIT");
		if (c->ssl)
			(void)SSL_shutdown(c->ssl);
	}
	conn_close(c);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */

/* The context for the main handshake: what a current client would do. */
static SSL_CTX *ctx_main_new(const struct audit *a)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (a->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, a->ca_file, NULL) != 1) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	return ctx;
}

/*
 * A probe context: exactly one protocol version (or up to TLS 1.2 when
 * version is 0), security level 0 so OpenSSL 3 even tries legacy
 * versions, and the given cipher list. NULL when the local library
 * cannot express it.
 */
static SSL_CTX *ctx_probe_new(int version, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(ctx, 0);
	if (version) {
		if (!SSL_CTX_set_min_proto_version(ctx, version) ||
		    !SSL_CTX_set_max_proto_version(ctx, version))
			goto bad;
	} else {
		if (!SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) ||
		    !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION))
			goto bad;
	}
	if (version != TLS1_3_VERSION &&
	    SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		goto bad;
	ERR_clear_error();
	return ctx;
bad:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

enum hs { HS_OK, HS_REFUSED, HS_LOCAL, HS_ERROR };

/*
 * Run the client handshake on c->fd with ctx. Leftover plaintext bytes in
 * c->buf must already have been checked by the caller (they are dropped
 * here: RFC 3207 says pre-TLS state is discarded). On failure why holds a
 * short reason and the result says whether the server refused (alert,
 * EOF), the local library could not offer the probe, or it timed out.
 */
static enum hs tls_handshake(const struct audit *a, struct conn *c,
			     SSL_CTX *ctx, char *why, size_t whysz)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	c->len = 0;
	why[0] = '\0';
	ERR_clear_error();
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		fmt_cut(why, whysz, "local TLS setup failed");
		return HS_LOCAL;
	}
	if (!a->host_is_ip)
		SSL_set_tlsext_host_name(c->ssl, a->host);
	for (;;) {
		int rc = SSL_connect(c->ssl);
		int e;
		unsigned long err;
		int reason;

		if (rc == 1)
			return HS_OK;
		e = SSL_get_error(c->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
				    deadline) < 0) {
				fmt_cut(why, whysz, "handshake timed out");
				return HS_ERROR;
			}
			continue;
		}
		err = ERR_peek_last_error();
		reason = ERR_GET_REASON(err);
		if (err == 0) {
			fmt_cut(why, whysz, "server closed the connection");
			return HS_REFUSED;
		}
		fmt_cut(why, whysz, "%s", ERR_reason_error_string(err)
			 ? ERR_reason_error_string(err) : "handshake failed");
		ERR_clear_error();
		switch (reason) {
		case SSL_R_NO_PROTOCOLS_AVAILABLE:
		case SSL_R_UNKNOWN_SSL_VERSION:
		case SSL_R_VERSION_TOO_LOW:
		case SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED:
		case SSL_R_NO_CIPHERS_AVAILABLE:
		case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
			return HS_LOCAL;
		default:
			return HS_REFUSED;
		}
	}
}

/* Parse EHLO capabilities from a 250 reply (line 0 is the server name). */
static void parse_caps(const struct reply *r, struct caps *cp)
{
	int i;

	memset(cp, 0, sizeof(*cp));
	cp->esmtp = r->code == 250;
	for (i = 1; i < r->n; i++) {
		const char *l = r->line[i];

		if (strcasecmp(l, "STARTTLS") == 0)
			cp->starttls = true;
		else if (strncasecmp(l, "AUTH", 4) == 0 &&
			 (l[4] == ' ' || l[4] == '=')) {
			if (!cp->auth)
				escs(l + 5, cp->mechs, sizeof(cp->mechs));
			cp->auth = true;
		}
	}
}

/* EHLO, falling back to HELO; fills caps. 0, or -1 if both failed. */
static int ehlo(struct audit *a, struct conn *c, struct caps *cp)
{
	struct reply r;

	if (cmd(c, &r, "EHLO %s", a->helo) == 0 && r.code == 250) {
		parse_caps(&r, cp);
		return 0;
	}
	memset(cp, 0, sizeof(*cp));
	if (r.code == 0)
		return -1;
	if (cmd(c, &r, "HELO %s", a->helo) == 0 && r.code == 250)
		return 0;
	return -1;
}

/*
 * Open an SMTP session on port p up to (and including) TLS: connect,
 * TLS first on implicit-TLS ports, greeting, EHLO, STARTTLS when want_tls.
 * On success returns HS_OK with caps from the last EHLO; otherwise the
 * reason in why and the connection closed.
 */
static enum hs session_tls(struct audit *a, const struct port *p,
			   struct conn *c, SSL_CTX *ctx, struct caps *cp,
			   char *why, size_t whysz)
{
	struct reply r;
	enum hs h;

	if (conn_open(a, c, p->port, a->timeout_s * 1000) < 0) {
		fmt_cut(why, whysz, "connect: %s", strerror(c->err));
		return HS_ERROR;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		h = tls_handshake(a, c, ctx, why, whysz);
		if (h != HS_OK) {
			conn_close(c);
			return h;
		}
	}
	if (read_reply(c, &r) < 0 || r.code != 220) {
		fmt_cut(why, whysz, "no 220 greeting");
		conn_close(c);
		return HS_ERROR;
	}
	if (ehlo(a, c, cp) < 0) {
		fmt_cut(why, whysz, "EHLO refused");
		session_quit(c);
		return HS_ERROR;
	}
	if (p->role == ROLE_SUBMISSIONS)
		return HS_OK;
	if (!cp->starttls) {
		fmt_cut(why, whysz, "STARTTLS not offered");
		session_quit(c);
		return HS_ERROR;
	}
	if (cmd(c, &r, "STARTTLS") < 0 || r.code != 220) {
		fmt_cut(why, whysz, "STARTTLS refused");
		session_quit(c);
		return HS_ERROR;
	}
	h = tls_handshake(a, c, ctx, why, whysz);
	if (h != HS_OK) {
		conn_close(c);
		return h;
	}
	if (ehlo(a, c, cp) < 0) {
		fmt_cut(why, whysz, "EHLO after TLS refused");
		session_quit(c);
		return HS_ERROR;
	}
	return HS_OK;
}

/* ------------------------------------------------------------------ */
/* Checks on one port                                                   */

/* Does the (escaped) banner name the software or a version? */
static bool banner_discloses(const char *b)
{
	static const char *const words[] = {
		"postfix", "exim", "sendmail", "microsoft", "exchange", "qmail",
		"hmailserver", "opensmtpd", "haraka", "zimbra", "debian",
		"ubuntu", "centos", "red hat", "freebsd", "mdaemon", "kerio",
		"courier", "smail"};
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);

		for (p = b; *p; p++)
			if (strncasecmp(p, words[i], wl) == 0)
				return true;
	}
	/* A version number: digit '.' digit, not part of a host name. */
	for (p = b; p[0] && p[1] && p[2]; p++)
		if (p[0] >= '0' && p[0] <= '9' && p[1] == '.' &&
		    p[2] >= '0' && p[2] <= '9' && (p == b || p[-1] == ' ' ||
		    p[-1] == '/' || (p[-1] >= '0' && p[-1] <= '9')))
			return true;
	return false;
}

/* Remember the first word of the greeting as the domain when not given. */
static void learn_domain(struct audit *a, const struct reply *r)
{
	const char *t = r->n ? r->line[0] : "";
	size_t l = strcspn(t, " \t");
	size_t i;

	if (l == 0 || l > BC_AUDIT_NAME_MAX || !memchr(t, '.', l))
		return;
	for (i = 0; i < l; i++) {
		char ch = t[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return;
	}
	if (a->domain[0] == '\0') {
		memcpy(a->domain, t, l);
		a->domain[l] = '\0';
	}
	if (a->tls_name[0] == '\0') {
		memcpy(a->tls_name, t, l);
		a->tls_name[l] = '\0';
	}
}

/* Certificate findings from the main handshake (severity by port role). */
static void check_cert(struct audit *a, const struct port *p, SSL *ssl)
{
	bool sub = role_is_submission(p->role);
	enum result bad = sub ? RES_FAIL : RES_PASS;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	int days = 0, secs = 0;

	if (!cert) {
		add_check(a, "tls.cert.chain", p->port, sub ? RES_FAIL : RES_SKIP,
			  false, "server sent no certificate");
		return;
	}
	if (vr == X509_V_OK)
		add_check(a, "tls.cert.chain", p->port, RES_PASS, false,
			  "chain verifies%s", a->ca_file ? " (against --ca-file)" : "");
	else
		add_check(a, "tls.cert.chain", p->port, bad, !sub,
			  "%s (X509 error %ld)%s", X509_verify_cert_error_string(vr),
			  vr, sub ? ": mail clients will refuse or warn"
			  : "; informational on an MX port (opportunistic TLS)");
	if (a->tls_name[0] == '\0')
		add_check(a, "tls.cert.hostname", p->port, RES_SKIP, false,
			  "no host name known (give HOST as a name)");
	else if (X509_check_host(cert, a->tls_name, 0, 0, NULL) == 1)
		add_check(a, "tls.cert.hostname", p->port, RES_PASS, false,
			  "certificate covers %s", a->tls_name);
	else
		add_check(a, "tls.cert.hostname", p->port, bad, !sub,
			  "certificate does not cover %s%s", a->tls_name,
			  sub ? "" : "; informational on an MX port");
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1)
		add_check(a, "tls.cert.expiry", p->port, RES_SKIP, false,
			  "cannot read notAfter");
	else if (days < 0 || (days == 0 && secs < 0))
		add_check(a, "tls.cert.expiry", p->port, bad, !sub,
			  "expired %d days ago", -days);
	else if (days < BC_AUDIT_CERT_WARN_DAYS)
		add_check(a, "tls.cert.expiry", p->port,
			  sub ? RES_WARN : RES_PASS, !sub,
			  "expires in %d days", days);
	else
		add_check(a, "tls.cert.expiry", p->port, RES_PASS, false,
			  "valid for %d more days", days);
	X509_free(cert);
}

/*
 * auth.plaintext: probe AUTH in cleartext without sending a password.
 * AUTH LOGIN -> 334 means the server would take a password now; cancel
 * with "*". Returns -1 when the session is no longer usable.
 */
static int probe_auth_plaintext(struct audit *a, const struct port *p,
				struct conn *c, const struct caps *cp)
{
	struct reply r, r2;
	char t[BC_AUDIT_DETAIL_MAX];
	const char *mech = "LOGIN";

	if (!cp->auth && p->role == ROLE_MX) {
		add_check(a, "auth.plaintext", p->port, RES_PASS, false,
			  "AUTH not advertised before TLS; not probed on an MX port");
		return 0;
	}
	if (cmd(c, &r, "AUTH LOGIN") < 0) {
		add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
			  "AUTH LOGIN: %s", rtext(&r, t, sizeof(t)));
		return -1;
	}
	if (r.code == 504) {
		mech = "PLAIN";
		if (cmd(c, &r, "AUTH PLAIN") < 0) {
			add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
				  "AUTH PLAIN: %s", rtext(&r, t, sizeof(t)));
			return -1;
		}
	}
	if (r.code == 334) {
		(void)cmd(c, &r2, "*");
		add_check(a, "auth.plaintext", p->port, RES_FAIL, false,
			  "AUTH %s answered 334 before TLS: passwords are accepted "
			  "in cleartext (probe cancelled, no password sent)", mech);
		return r2.code ? 0 : -1;
	}
	if (r.code == 530 || r.code == 538 || r.code == 503 ||
	    r.code == 502 || r.code == 500)
		add_check(a, "auth.plaintext", p->port, RES_PASS, false,
			  "refused before TLS: %s", rtext(&r, t, sizeof(t)));
	else if (r.code == 504)
		add_check(a, "auth.plaintext", p->port, RES_WARN, false,
			  "LOGIN and PLAIN refused (504) but AUTH %s advertised: "
			  "challenge-response only in cleartext", cp->mechs);
	else
		add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
			  "inconclusive: %s", rtext(&r, t, sizeof(t)));
	return r.code == 421 ? -1 : 0;
}

/*
 * relay.open and (on submission ports) auth.required, unauthenticated,
 * in the current session: MAIL FROM an outside sender, RCPT to the control
 * recipient postmaster@domain, RCPT to an outside domain, RSET. Never DATA.
 */
static int check_relay(struct audit *a, const struct port *p, struct conn *c)
{
	struct reply rm, rc, rr;
	char tm[BC_AUDIT_DETAIL_MAX], tc[BC_AUDIT_DETAIL_MAX], tr[BC_AUDIT_DETAIL_MAX];
	bool sub = role_is_submission(p->role);
	bool ctl_ok, relay_ok, refused_for_us;

	if (a->domain[0] == '\0') {
		add_check(a, "relay.open", p->port, RES_SKIP, false,
			  "no domain known for the control recipient (use --domain)");
		return 0;
	}
	if (cmd(c, &rm, "MAIL FROM:<%s>", BC_AUDIT_PROBE_FROM) < 0) {
		add_check(a, "relay.open", p->port, RES_SKIP, false,
			  "MAIL: %s", rtext(&rm, tm, sizeof(tm)));
		return -1;
	}
	if (rm.code != 250) {
		bool pol = reply_policy(&rm) || rm.code == 530;

		if (pol && sub)
			add_check(a, "relay.open", p->port, RES_PASS, false,
				  "MAIL without AUTH refused: %s",
				  rtext(&rm, tm, sizeof(tm)));
		else
			add_check(a, "relay.open", p->port, RES_SKIP, false,
				  "inconclusive, MAIL refused: %s",
				  rtext(&rm, tm, sizeof(tm)));
		if (sub)
			add_check(a, "auth.required", p->port,
				  pol ? RES_PASS : RES_SKIP, false,
				  "unauthenticated MAIL refused: %s", tm);
		(void)cmd(c, &rm, "RSET");
		return rm.code ? 0 : -1;
	}
	if (cmd(c, &rc, "RCPT TO:<postmaster@%s>", a->domain) < 0 ||
	    cmd(c, &rr, "RCPT TO:<%s>", BC_AUDIT_PROBE_RCPT) < 0) {
		add_check(a, "relay.open", p->port, RES_SKIP, false,
			  "connection lost during RCPT");
		return -1;
	}
	rtext(&rc, tc, sizeof(tc));
	rtext(&rr, tr, sizeof(tr));
	ctl_ok = rc.code == 250 || rc.code == 251;
	relay_ok = rr.code == 250 || rr.code == 251;
	/*
	 * On an MX port a refusal naming HELO or the client host is about us,
	 * not about relaying. On a submission port refusing everything to an
	 * unauthenticated client is exactly the point, whatever the text.
	 */
	refused_for_us = !sub && (reply_has(&rc, "Helo command rejected") ||
			 reply_has(&rc, "Client host rejected") ||
			 reply_has(&rr, "Helo command rejected") ||
			 reply_has(&rr, "Client host rejected"));
	if (relay_ok)
		add_check(a, "relay.open", p->port, RES_FAIL, false,
			  "RCPT TO:<%s> accepted without AUTH from %s: %s "
			  "(stopped at RCPT, nothing sent; if %s is in the "
			  "server's trusted networks, repeat from outside them)",
			  BC_AUDIT_PROBE_RCPT, a->src_str, tr, a->src_str);
	else if (!(reply_policy(&rr) || rr.code == 530) || refused_for_us)
		add_check(a, "relay.open", p->port, RES_SKIP, false,
			  "inconclusive: outside recipient got %s; control got %s",
			  tr, tc);
	else if (ctl_ok)
		add_check(a, "relay.open", p->port, RES_PASS, false,
			  "outside recipient refused (%s); control postmaster@%s "
			  "accepted", tr, a->domain);
	else if (sub && (reply_policy(&rc) || rc.code == 530))
		add_check(a, "relay.open", p->port, RES_PASS, false,
			  "every recipient refused without AUTH (%s)", tr);
	else
		add_check(a, "relay.open", p->port, RES_SKIP, false,
			  "inconclusive: control postmaster@%s refused too: %s",
			  a->domain, tc);
	if (sub) {
		if (ctl_ok || relay_ok)
			add_check(a, "auth.required", p->port, RES_FAIL, false,
				  "mail accepted without AUTH at RCPT: %s",
				  relay_ok ? tr : tc);
		else if ((reply_policy(&rc) || rc.code == 530) && !refused_for_us)
			add_check(a, "auth.required", p->port, RES_PASS, false,
				  "unauthenticated mail refused at RCPT: %s", tc);
		else
			add_check(a, "auth.required", p->port, RES_SKIP, false,
				  "inconclusive: %s", tc);
	}
	if (cmd(c, &rm, "RSET") < 0)
		return -1;
	return 0;
}

/* Random lowercase hex string of 2*n characters into out. */
static void rand_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[32];
	size_t i;

	if (n > sizeof(b))
		n = sizeof(b);
	if (RAND_bytes(b, (int)n) != 1)
		memset(b, 0x5a, n);
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* enum.vrfy and enum.expn: differential VRFY, any 250 to EXPN. */
static int check_enum(struct audit *a, const struct port *p, struct conn *c)
{
	struct reply r1, r2;
	char t1[BC_AUDIT_DETAIL_MAX], t2[BC_AUDIT_DETAIL_MAX], rnd[17];
	const char *d = a->domain[0] ? a->domain : "example.invalid";

	rand_hex(rnd, 8);
	if (cmd(c, &r1, "VRFY postmaster@%s", d) < 0 ||
	    cmd(c, &r2, "VRFY bcl-%s@%s", rnd, d) < 0) {
		add_check(a, "enum.vrfy", p->port, RES_SKIP, false,
			  "connection lost during VRFY");
		return -1;
	}
	rtext(&r1, t1, sizeof(t1));
	rtext(&r2, t2, sizeof(t2));
	if (r1.code / 100 == 2 && r1.code != r2.code)
		add_check(a, "enum.vrfy", p->port, RES_WARN, false,
			  "VRFY tells users apart: postmaster -> %s, random -> %s",
			  t1, t2);
	else if (r1.code / 100 == 2 && r1.code == 250)
		add_check(a, "enum.vrfy", p->port, RES_WARN, false,
			  "VRFY answers 250 for any address: %s", t1);
	else
		add_check(a, "enum.vrfy", p->port, RES_PASS, false,
			  "no oracle: %s", t1);
	if (cmd(c, &r1, "EXPN postmaster") < 0) {
		add_check(a, "enum.expn", p->port, RES_SKIP, false,
			  "connection lost during EXPN");
		return -1;
	}
	rtext(&r1, t1, sizeof(t1));
	add_check(a, "enum.expn", p->port, r1.code == 250 ? RES_WARN : RES_PASS,
		  false, "%s", t1);
	return 0;
}

/* Base64 of (in, n) into out (NUL-terminated). out must hold 4*(n+2)/3+1. */
static void b64(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* Our own sender address for --user: the user, or user@domain. */
static void user_address(const struct audit *a, char *out, size_t outsz)
{
	if (strchr(a->user, '@'))
		fmt_cut(out, outsz, "%s", a->user);
	else
		fmt_cut(out, outsz, "%s@%s", a->user, a->domain);
}

/*
 * AUTH PLAIN inside TLS with (user, pass). Fills r with the final reply.
 * The credential buffers are wiped before returning. 0 or -1.
 */
static int auth_plain(struct conn *c, struct reply *r, const char *user,
		      const char *pass)
{
	unsigned char raw[2 * BC_AUDIT_PASSWORD_MAX + 8];
	char enc[(sizeof(raw) + 2) / 3 * 4 + 16];
	char line[sizeof(enc) + 16];
	size_t ul = strlen(user), pl = strlen(pass), n;
	int rc = -1;

	r->code = 0;
	if (ul + pl + 2 > sizeof(raw) || !c->ssl)
		return -1;
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, pass, pl);
	b64(raw, ul + pl + 2, enc);
	n = (size_t)fmt_cut(line, sizeof(line), "AUTH PLAIN %s\r\n", enc);
	if (n < sizeof(line) && conn_write(c, line, n) == 0)
		rc = read_reply(c, r);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(enc, sizeof(enc));
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

/*
 * sender.spoof_after_auth: log in as --user (inside TLS only), check the
 * own address is accepted through RCPT (control), then try foreign
 * senders. A foreign sender accepted at RCPT -> FAIL. Never DATA.
 */
static int check_spoof(struct audit *a, const struct port *p, struct conn *c)
{
	struct reply r;
	char t[BC_AUDIT_DETAIL_MAX], me[2 * BC_AUDIT_NAME_MAX + 2];
	char foreign[2][2 * BC_AUDIT_NAME_MAX + 2];
	char accepted[BC_AUDIT_DETAIL_MAX] = "";
	int nf = 0, i, refused = 0;

	if (!c->ssl) {
		add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
			  "no TLS on this port: the password is never sent in cleartext");
		return 0;
	}
	if (auth_plain(c, &r, a->user, a->password) < 0) {
		add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
			  "AUTH PLAIN: no reply");
		return -1;
	}
	if (r.code != 235) {
		add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
			  "login as the --user account failed: %s",
			  rtext(&r, t, sizeof(t)));
		return 0;
	}
	user_address(a, me, sizeof(me));
	if (cmd(c, &r, "MAIL FROM:<%s>", me) < 0 || r.code != 250 ||
	    cmd(c, &r, "RCPT TO:<postmaster@%s>", a->domain) < 0 ||
	    (r.code != 250 && r.code != 251)) {
		add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
			  "inconclusive: own address refused: %s",
			  rtext(&r, t, sizeof(t)));
		(void)cmd(c, &r, "RSET");
		return r.code ? 0 : -1;
	}
	if (cmd(c, &r, "RSET") < 0)
		return -1;
	if (a->foreign[0]) {
		fmt_cut(foreign[nf++], sizeof(foreign[0]), "%s", a->foreign);
	} else {
		fmt_cut(foreign[nf++], sizeof(foreign[0]), "postmaster@%s",
			 a->domain);
		fmt_cut(foreign[nf++], sizeof(foreign[0]), "%s",
			 BC_AUDIT_SPOOF_EXTERNAL);
	}
	for (i = 0; i < nf; i++) {
		struct reply rm, rr;

		if (cmd(c, &rm, "MAIL FROM:<%s>", foreign[i]) < 0)
			return -1;
		if (rm.code == 250) {
			if (cmd(c, &rr, "RCPT TO:<postmaster@%s>", a->domain) < 0)
				return -1;
		} else {
			rr = rm;
		}
		if (rr.code == 250 || rr.code == 251) {
			if (!accepted[0])
				fmt_cut(accepted, sizeof(accepted), "%s>: %s",
					 foreign[i], rtext(&rr, t, sizeof(t)));
		} else if (reply_policy(&rr) || rr.code == 530) {
			refused++;
		}
		if (cmd(c, &r, "RSET") < 0)
			return -1;
	}
	if (accepted[0])
		add_check(a, "sender.spoof_after_auth", p->port, RES_FAIL, false,
			  "logged in as %s, MAIL FROM:<%s, accepted through RCPT "
			  "(nothing sent)", me, accepted);
	else if (refused == nf)
		add_check(a, "sender.spoof_after_auth", p->port, RES_PASS, false,
			  "%d foreign sender(s) refused after AUTH as %s", nf, me);
	else
		add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
			  "inconclusive: foreign senders refused for reasons other "
			  "than policy");
	return 0;
}

/*
 * A 465 port whose TLS handshake failed: does it speak cleartext SMTP?
 * One new connection, read for a few seconds, QUIT if it greeted.
 */
static bool implicit_speaks_plain(struct audit *a, const struct port *p)
{
	struct conn c;
	struct reply r;
	bool plain = false;

	if (conn_open(a, &c, p->port, a->timeout_s * 1000) < 0)
		return false;
	if (read_reply_until(&c, &r, now_ms() + BC_AUDIT_IMPLICIT_PEEK_MS) == 0 &&
	    r.code == 220)
		plain = true;
	if (plain)
		session_quit(&c);
	else
		conn_close(&c);
	return plain;
}

/* Version probes (tls.v1_0 .. tls.v1_3), one session each. */
static void check_versions(struct audit *a, const struct port *p)
{
	static const struct { int v; const char *id; const char *name; } vs[] = {
		{TLS1_VERSION, "tls.v1_0", "TLS 1.0"},
		{TLS1_1_VERSION, "tls.v1_1", "TLS 1.1"},
		{TLS1_2_VERSION, "tls.v1_2", "TLS 1.2"},
		{TLS1_3_VERSION, "tls.v1_3", "TLS 1.3"},
	};
	enum hs got[4];
	char why[4][160];
	size_t i;

	for (i = 0; i < 4; i++) {
		SSL_CTX *ctx = ctx_probe_new(vs[i].v, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
		struct conn c;
		struct caps cp;

		why[i][0] = '\0';
		if (!ctx) {
			got[i] = HS_LOCAL;
			fmt_cut(why[i], sizeof(why[i]), "local OpenSSL cannot offer it");
			continue;
		}
		conn_init(&c, a);
		got[i] = session_tls(a, p, &c, ctx, &cp, why[i], sizeof(why[i]));
		if (got[i] == HS_OK) {
			if (SSL_version(c.ssl) != vs[i].v) {
				got[i] = HS_ERROR;
				fmt_cut(why[i], sizeof(why[i]), "negotiated %s instead",
					 SSL_get_version(c.ssl));
			}
			session_quit(&c);
		}
		SSL_CTX_free(ctx);
	}
	for (i = 0; i < 4; i++) {
		const char *id = vs[i].id;

		if (got[i] == HS_LOCAL) {
			add_check(a, id, p->port, RES_SKIP, false,
				  "%s not testable from here: %s (try testssl.sh -p)",
				  vs[i].name, why[i]);
		} else if (got[i] == HS_ERROR) {
			add_check(a, id, p->port, RES_SKIP, false, "%s: %s",
				  vs[i].name, why[i]);
		} else if (i < 2) {
			if (got[i] == HS_OK)
				add_check(a, id, p->port, RES_FAIL, false,
					  "%s accepted (RFC 8996: deprecated)", vs[i].name);
			else
				add_check(a, id, p->port, RES_PASS, false,
					  "%s refused: %s", vs[i].name, why[i]);
		} else if (got[i] == HS_OK) {
			add_check(a, id, p->port, RES_PASS, false, "%s accepted",
				  vs[i].name);
		} else if (i == 3) {
			add_check(a, id, p->port, RES_PASS, true,
				  "TLS 1.3 not offered (%s)", why[i]);
		} else {
			add_check(a, id, p->port,
				  got[3] == HS_OK ? RES_PASS : RES_FAIL, got[3] == HS_OK,
				  "TLS 1.2 refused (%s)%s", why[i],
				  got[3] == HS_OK ? "; TLS 1.3 only"
				  : "; no modern TLS version");
		}
	}
}

/* Weak cipher class probes (TLS <= 1.2), one session each. */
static void check_ciphers(struct audit *a, const struct port *p)
{
	static const struct {
		const char *id, *ciphers, *name;
		enum result mx, sub;
	} cl[] = {
		{"tls.cipher.null", "eNULL:@SECLEVEL=0", "NULL-encryption",
		 RES_FAIL, RES_FAIL},
		{"tls.cipher.anon", "aNULL:!eNULL:@SECLEVEL=0", "anonymous (aNULL)",
		 RES_PASS, RES_FAIL},
		{"tls.cipher.nofs", "kRSA:!aNULL:!eNULL:@SECLEVEL=0",
		 "static-RSA (no forward secrecy)", RES_PASS, RES_WARN},
	};
	size_t i;

	for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		SSL_CTX *ctx = ctx_probe_new(0, cl[i].ciphers);
		struct conn c;
		struct caps cp;
		char why[160];
		enum hs h;
		enum result bad = role_is_submission(p->role) ? cl[i].sub : cl[i].mx;

		if (!ctx) {
			add_check(a, cl[i].id, p->port, RES_SKIP, false,
				  "local OpenSSL cannot offer %s suites", cl[i].name);
			continue;
		}
		conn_init(&c, a);
		h = session_tls(a, p, &c, ctx, &cp, why, sizeof(why));
		if (h == HS_OK) {
			char e[80];

			escs(SSL_get_cipher_name(c.ssl), e, sizeof(e));
			add_check(a, cl[i].id, p->port, bad, bad == RES_PASS,
				  "%s suite accepted: %s%s", cl[i].name, e,
				  bad == RES_PASS ? " (informational on an MX port)" : "");
			session_quit(&c);
		} else if (h == HS_REFUSED) {
			add_check(a, cl[i].id, p->port, RES_PASS, false,
				  "%s suites refused", cl[i].name);
		} else {
			add_check(a, cl[i].id, p->port, RES_SKIP, false, "%s: %s",
				  cl[i].name, why);
		}
		SSL_CTX_free(ctx);
	}
	add_check(a, "tls.cipher.legacy", p->port, RES_SKIP, false,
		  "3DES/RC4/EXPORT: local OpenSSL cannot offer them (use testssl.sh -s)");
}

/*
 * Everything on one port: the main session (greeting, EHLO, AUTH probe,
 * STARTTLS/implicit TLS, certificate, AUTH after TLS, relay, enumeration,
 * sender spoofing), then the TLS version and cipher probes.
 */
static void audit_port(struct audit *a, struct port *p)
{
	struct conn c;
	struct reply r;
	struct caps cp, cp2;
	char t[BC_AUDIT_DETAIL_MAX], why[160];
	int64_t t0;
	bool tls = false;

	t0 = now_ms();
	if (conn_open(a, &c, p->port, a->timeout_s * 1000) < 0) {
		add_check(a, "conn.greeting", p->port, RES_SKIP, false,
			  "cannot connect: %s", strerror(c.err));
		return;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		enum hs h = tls_handshake(a, &c, a->ctx_main, why, sizeof(why));

		if (h != HS_OK) {
			conn_close(&c);
			if (implicit_speaks_plain(a, p)) {
				p->reachable = true;
				add_check(a, "conn.greeting", p->port, RES_PASS, false,
					  "cleartext 220 greeting");
				add_check(a, "tls.implicit", p->port, RES_FAIL, false,
					  "port %d speaks cleartext SMTP, not implicit TLS",
					  p->port);
			} else {
				p->reachable = true;
				add_check(a, "conn.greeting", p->port, RES_SKIP, false,
					  "TLS handshake failed: %s", why);
				add_check(a, "tls.implicit", p->port, RES_FAIL, false,
					  "TLS handshake failed: %s", why);
			}
			return;
		}
		tls = true;
	}
	if (read_reply(&c, &r) < 0) {
		add_check(a, "conn.greeting", p->port, RES_SKIP, false,
			  "no greeting within %d s", a->timeout_s);
		conn_close(&c);
		return;
	}
	if (r.code != 220) {
		add_check(a, "conn.greeting", p->port, RES_SKIP, false,
			  "server refuses us: %s", rtext(&r, t, sizeof(t)));
		session_quit(&c);
		return;
	}
	p->reachable = true;
	escs(r.n ? r.line[0] : "", p->banner, sizeof(p->banner));
	learn_domain(a, &r);
	add_check(a, "conn.greeting", p->port, RES_PASS, false,
		  "220 %s (%lld ms)", p->banner, (long long)(now_ms() - t0));
	if (banner_discloses(p->banner))
		add_check(a, "info.banner", p->port, RES_PASS, true,
			  "banner names software or a version: %s", p->banner);
	else
		add_check(a, "info.banner", p->port, RES_PASS, false,
			  "no software or version in the banner");
	if (ehlo(a, &c, &cp) < 0) {
		add_check(a, p->role == ROLE_SUBMISSIONS ? "tls.implicit"
			  : "tls.starttls", p->port, RES_SKIP, false,
			  "EHLO and HELO refused");
		session_quit(&c);
		return;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		add_check(a, "tls.implicit", p->port, RES_PASS, false,
			  "implicit TLS: %s %s", SSL_get_version(c.ssl),
			  SSL_get_cipher_name(c.ssl));
		add_check(a, "auth.before_tls", p->port, RES_PASS, false,
			  "implicit TLS: no cleartext phase");
		add_check(a, "auth.plaintext", p->port, RES_PASS, false,
			  "implicit TLS: no cleartext phase");
		cp2 = cp;
	} else {
		if (cp.auth)
			add_check(a, "auth.before_tls", p->port, RES_FAIL, false,
				  "AUTH %s advertised before STARTTLS", cp.mechs);
		else
			add_check(a, "auth.before_tls", p->port, RES_PASS, false,
				  "AUTH not advertised before STARTTLS");
		if (probe_auth_plaintext(a, p, &c, &cp) < 0) {
			conn_close(&c);
			return;
		}
		if (!cp.esmtp || !cp.starttls) {
			add_check(a, "tls.starttls", p->port,
				  p->role == ROLE_MX ? RES_WARN : RES_FAIL, false,
				  "%s", cp.esmtp ? "STARTTLS not offered"
				  : "no ESMTP (HELO only), so no STARTTLS");
		} else if (cmd(&c, &r, "STARTTLS") < 0 || r.code != 220) {
			add_check(a, "tls.starttls", p->port, RES_FAIL, false,
				  "STARTTLS advertised but refused: %s",
				  rtext(&r, t, sizeof(t)));
			if (r.code == 0) {
				conn_close(&c);
				return;
			}
		} else {
			bool leftover = c.len > 0;
			enum hs h = tls_handshake(a, &c, a->ctx_main, why, sizeof(why));

			if (h != HS_OK) {
				add_check(a, "tls.starttls", p->port, RES_FAIL, false,
					  "TLS handshake after STARTTLS failed: %s", why);
				conn_close(&c);
				p->tls_capable = true; /* still run the probes */
				goto probes;
			}
			if (ehlo(a, &c, &cp2) < 0) {
				add_check(a, "tls.starttls", p->port, RES_FAIL, false,
					  "EHLO refused after TLS");
				session_quit(&c);
				return;
			}
			tls = true;
			if (leftover)
				add_check(a, "tls.starttls", p->port, RES_FAIL, false,
					  "server sent data after 220 before the handshake "
					  "(CVE-2011-0411 class)");
			else
				add_check(a, "tls.starttls", p->port, RES_PASS, false,
					  "%s %s%s", SSL_get_version(c.ssl),
					  SSL_get_cipher_name(c.ssl),
					  cp2.starttls ? "; STARTTLS re-advertised after TLS"
					  : "");
		}
	}
	if (tls) {
		p->tls_capable = true;
		fmt_cut(p->tls_version, sizeof(p->tls_version), "%s",
			 SSL_get_version(c.ssl));
		escs(SSL_get_cipher_name(c.ssl), p->tls_cipher, sizeof(p->tls_cipher));
		check_cert(a, p, c.ssl);
		if (role_is_submission(p->role))
			add_check(a, "auth.after_tls", p->port,
				  cp2.auth ? RES_PASS : RES_FAIL, false, "%s%s",
				  cp2.auth ? "AUTH " : "no AUTH offered after TLS on a "
				  "submission port", cp2.auth ? cp2.mechs : "");
		else
			add_check(a, "auth.after_tls", p->port, RES_PASS, cp2.auth,
				  "%s%s", cp2.auth ? "AUTH offered on an MX port: "
				  : "no AUTH on the MX port", cp2.auth ? cp2.mechs : "");
	}
	if (check_relay(a, p, &c) < 0 || check_enum(a, p, &c) < 0) {
		conn_close(&c);
		goto probes;
	}
	if (role_is_submission(p->role)) {
		if (!a->password)
			add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP,
				  false, "needs --user and --password-file");
		else if (tls && !cp2.auth)
			add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP,
				  false, "no AUTH offered after TLS");
		else if (check_spoof(a, p, &c) < 0) {
			conn_close(&c);
			goto probes;
		}
	}
	session_quit(&c);
probes:
	if (p->tls_capable) {
		check_versions(a, p);
		check_ciphers(a, p);
	}
}

/* ------------------------------------------------------------------ */
/* Vantage                                                              */

/* Does the source address look like one the server probably trusts? */
static const char *trusted_source(const struct audit *a)
{
	unsigned char b[16];

	if (a->src_str[0] == '\0')
		return NULL;
	if (strcmp(a->src_str, a->dst_str) == 0)
		return "the target itself";
	if (inet_pton(AF_INET, a->src_str, b) == 1) {
		if (b[0] == 127)
			return "loopback";
		if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		    (b[0] == 192 && b[1] == 168))
			return "a private (RFC 1918) range";
		if (b[0] == 100 && (b[1] & 0xc0) == 64)
			return "shared address space (RFC 6598)";
		if (b[0] == 169 && b[1] == 254)
			return "link-local";
		return NULL;
	}
	if (inet_pton(AF_INET6, a->src_str, b) == 1) {
		static const unsigned char lo[16] = {[15] = 1};

		if (memcmp(b, lo, 16) == 0)
			return "loopback";
		if ((b[0] & 0xfe) == 0xfc)
			return "a unique local (fc00::/7) range";
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return "link-local";
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Ban test (c)                                                         */

static const char *probe_name(enum probe_state s)
{
	switch (s) {
	case PROBE_OPEN: return "open";
	case PROBE_REFUSED: return "connection refused (firewall reject)";
	case PROBE_TIMEOUT: return "connect timed out (firewall drop)";
	case PROBE_UNREACH: return "host unreachable (firewall reject)";
	case PROBE_CLOSED: return "closed before the greeting";
	case PROBE_SILENT: return "no greeting";
	case PROBE_THROTTLED: return "421 greeting";
	case PROBE_BLOCKED: return "5xx greeting";
	case PROBE_ERROR: return "error";
	}
	return "?";
}

/* A fresh connection: what does the client see? Polite QUIT when open. */
static enum probe_state ban_probe(struct audit *a, int port, char *text,
				  size_t textsz)
{
	struct conn c;
	struct reply r;
	int64_t t0 = now_ms();

	text[0] = '\0';
	if (conn_open(a, &c, port, a->timeout_s * 1000) < 0) {
		switch (c.err) {
		case ECONNREFUSED:
		case ECONNRESET:
			return PROBE_REFUSED;
		case ETIMEDOUT:
			return PROBE_TIMEOUT;
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EACCES:
		case EPERM:
			return PROBE_UNREACH;
		default:
			return PROBE_ERROR;
		}
	}
	if (read_reply(&c, &r) < 0) {
		bool silent = c.len == 0 &&
			      now_ms() - t0 >= (int64_t)a->timeout_s * 1000;

		conn_close(&c);
		return silent ? PROBE_SILENT : PROBE_CLOSED;
	}
	rtext(&r, text, textsz);
	session_quit(&c);
	if (r.code == 220)
		return PROBE_OPEN;
	if (r.code == 421)
		return PROBE_THROTTLED;
	return PROBE_BLOCKED;
}

/* Start a session for an offence: TLS as on the audited port. */
static int offence_session(struct audit *a, const struct port *p,
			   struct conn *c, struct caps *cp)
{
	char why[160];

	conn_init(c, a);
	return session_tls(a, p, c, a->ctx_main, cp, why, sizeof(why)) == HS_OK
		? 0 : -1;
}

/*
 * One offence of the given kind. Returns 0 when the offence was made
 * (server refused as expected), 1 when the server accepted it (nothing
 * to ban: detail in note), -1 when the session failed.
 */
static int offence(struct audit *a, const struct port *p, enum ban_kind k,
		   char *note, size_t notesz)
{
	struct conn c;
	struct caps cp;
	struct reply r;
	char t[BC_AUDIT_DETAIL_MAX], u[2 * BC_AUDIT_NAME_MAX + 2], rnd[33];
	int rc = 0;

	if (offence_session(a, p, &c, &cp) < 0)
		return -1;
	if (k == BAN_AUTH) {
		char user[sizeof(u)];

		rand_hex(rnd, 6);
		fmt_cut(user, sizeof(user), "bancluster-probe-%s@%s", rnd,
			 a->domain[0] ? a->domain : "example.invalid");
		rand_hex(rnd, 12);
		if (auth_plain(&c, &r, user, rnd) < 0)
			rc = -1;
		else if (r.code == 235) {
			fmt_cut(note, notesz, "INVALID CREDENTIAL ACCEPTED: %s",
				 rtext(&r, t, sizeof(t)));
			rc = 1;
		} else if (r.code != 535) {
			fmt_cut(note, notesz, "AUTH: %s", rtext(&r, t, sizeof(t)));
			rc = r.code == 0 ? -1 : 1;
		}
		OPENSSL_cleanse(rnd, sizeof(rnd));
		session_quit(&c);
	} else if (k == BAN_ABORT) {
		if (cmd(&c, &r, "AUTH LOGIN") < 0 || r.code != 334) {
			fmt_cut(note, notesz, "AUTH LOGIN: %s", rtext(&r, t, sizeof(t)));
			session_quit(&c);
			return r.code ? 1 : -1;
		}
		conn_close(&c); /* drop the session half-way through AUTH */
	} else {
		struct reply rr;

		if (a->password) {
			if (auth_plain(&c, &r, a->user, a->password) < 0 ||
			    r.code != 235) {
				fmt_cut(note, notesz, "login as --user failed: %s",
					 rtext(&r, t, sizeof(t)));
				session_quit(&c);
				return 1;
			}
		}
		fmt_cut(u, sizeof(u), "%s", a->foreign[0] ? a->foreign
			 : BC_AUDIT_SPOOF_EXTERNAL);
		if (cmd(&c, &r, "MAIL FROM:<%s>", u) < 0) {
			conn_close(&c);
			return -1;
		}
		rr = r;
		if (r.code == 250 &&
		    cmd(&c, &rr, "RCPT TO:<postmaster@%s>", a->domain) < 0) {
			conn_close(&c);
			return -1;
		}
		if (rr.code == 250 || rr.code == 251) {
			fmt_cut(note, notesz, "foreign sender accepted through RCPT");
			rc = 1;
		}
		(void)cmd(&c, &r, "RSET");
		session_quit(&c);
	}
	return rc;
}

/* Pick the port for the ban test: 587, then 465, then the first one. */
static struct port *ban_port(struct audit *a)
{
	size_t i;

	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable && a->ports[i].role == ROLE_SUBMISSION)
			return &a->ports[i];
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable && a->ports[i].role == ROLE_SUBMISSIONS)
			return &a->ports[i];
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable)
			return &a->ports[i];
	return NULL;
}

/*
 * One ban test: baseline probe, then up to --attempts offences, each
 * followed by probes for BC_AUDIT_BAN_SETTLE_S seconds. Returns true when
 * the auditor ended up banned (later tests are then skipped).
 */
static bool ban_test(struct audit *a, enum ban_kind k, const char *id)
{
	struct port *p = ban_port(a);
	char text[BC_AUDIT_DETAIL_MAX], note[BC_AUDIT_DETAIL_MAX] = "";
	enum probe_state s;
	int i, accepted = 0;
	size_t j;

	if (!p) {
		add_check(a, id, 0, RES_SKIP, false, "no reachable port");
		return false;
	}
	s = ban_probe(a, p->port, text, sizeof(text));
	if (s != PROBE_OPEN) {
		add_check(a, id, p->port, RES_SKIP, false,
			  "baseline probe not open (%s): already banned?",
			  probe_name(s));
		return s != PROBE_ERROR;
	}
	for (i = 1; i <= a->attempts; i++) {
		int64_t until;
		int rc = offence(a, p, k, note, sizeof(note));

		if (rc < 0) {
			s = ban_probe(a, p->port, text, sizeof(text));
			if (s == PROBE_OPEN) {
				add_check(a, id, p->port, RES_SKIP, false,
					  "offence session %d failed, port still open", i);
				return false;
			}
		} else {
			if (rc == 1) {
				accepted++;
				if (strncmp(note, "INVALID", 7) == 0) {
					add_check(a, id, p->port, RES_FAIL, false, "%s", note);
					return false;
				}
			}
			until = now_ms() + BC_AUDIT_BAN_SETTLE_S * 1000;
			for (;;) {
				s = ban_probe(a, p->port, text, sizeof(text));
				if (s != PROBE_OPEN || now_ms() >= until)
					break;
				sleep_ms(1000);
			}
		}
		if (s != PROBE_OPEN && s != PROBE_ERROR) {
			char scope[BC_AUDIT_DETAIL_MAX] = "";
			size_t o = 0;

			for (j = 0; j < a->nports; j++) {
				struct port *q = &a->ports[j];
				char qt[BC_AUDIT_DETAIL_MAX];
				enum probe_state qs;

				if (q == p || !q->reachable || o >= sizeof(scope) - 40)
					continue;
				qs = ban_probe(a, q->port, qt, sizeof(qt));
				o += (size_t)fmt_cut(scope + o, sizeof(scope) - o,
						      "%s%d %s", o ? ", " : "; other ports: ",
						      q->port, qs == PROBE_OPEN ? "open" : "blocked");
			}
			add_check(a, id, p->port, RES_PASS, false,
				  "banned at or before attempt %d of %d: %s%s%s%s",
				  i, a->attempts, probe_name(s), text[0] ? " " : "",
				  text, scope);
			return true;
		}
	}
	add_check(a, id, p->port, RES_FAIL, false,
		  "not banned after %d attempts%s%s", a->attempts,
		  accepted ? "; the server accepted the offence: " : "",
		  accepted ? note : "");
	return false;
}

/* Run the requested ban tests last; skip lines for the others. */
static void audit_bans(struct audit *a)
{
	static const struct { enum ban_kind k; const char *id, *opt; } t[] = {
		{BAN_AUTH, "ban.auth", "auth"},
		{BAN_SENDER, "ban.sender", "sender"},
		{BAN_ABORT, "ban.abort", "abort"},
	};
	bool banned = false;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!(a->ban_tests & t[i].k))
			add_check(a, t[i].id, 0, RES_SKIP, false,
				  "opt-in: --ban-test %s (this WILL get the auditing "
				  "address banned)", t[i].opt);
		else if (banned)
			add_check(a, t[i].id, 0, RES_SKIP, false,
				  "already banned by an earlier ban test; run it alone or "
				  "from another --source");
		else
			banned = ban_test(a, t[i].k, t[i].id);
	}
}

/* ------------------------------------------------------------------ */
/* Report                                                               */

/* Exit code from the findings (fail > could not audit > warn > ok). */
static int exit_code(const struct audit *a)
{
	size_t i;
	bool warn = false;

	for (i = 0; i < a->nchecks; i++) {
		if (a->checks[i].res == RES_FAIL)
			return BC_AUDIT_EXIT_FAIL;
		if (a->checks[i].res == RES_WARN)
			warn = true;
	}
	return warn ? BC_AUDIT_EXIT_WARN : BC_AUDIT_EXIT_OK;
}

/* Print s as a JSON string (s is printable ASCII; quote and escape). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void report_json(const struct audit *a, int code)
{
	size_t i;
	int n[4] = {0, 0, 0, 0};
	char h[BC_AUDIT_NAME_MAX * 4 + 8];

	escs(a->host, h, sizeof(h));
	printf("{\"schema\":\"bancluster/audit-smtp\",\"schema_version\":1,\n");
	printf(" \"target\":{\"host\":");
	json_str(stdout, h);
	printf(",\"address\":");
	json_str(stdout, a->dst_str);
	printf(",\"source\":");
	json_str(stdout, a->src_str);
	printf(",\"domain\":");
	json_str(stdout, a->domain);
	printf(",\"ports\":[");
	for (i = 0; i < a->nports; i++) {
		const struct port *p = &a->ports[i];

		printf("%s\n  {\"port\":%d,\"role\":\"%s\",\"reachable\":%s,"
		       "\"banner\":", i ? "," : "", p->port, role_name(p->role),
		       p->reachable ? "true" : "false");
		json_str(stdout, p->banner);
		printf(",\"tls_version\":");
		json_str(stdout, p->tls_version);
		printf(",\"tls_cipher\":");
		json_str(stdout, p->tls_cipher);
		printf("}");
	}
	printf("]},\n \"checks\":[");
	for (i = 0; i < a->nchecks; i++) {
		const struct check *c = &a->checks[i];
		const struct check_def *d = check_def_find(c->id);

		n[c->res]++;
		printf("%s\n  {\"id\":\"%s\",\"section\":\"%s\",\"port\":%d,"
		       "\"result\":\"%s\",\"info\":%s,\"title\":",
		       i ? "," : "", c->id, d ? section_names[d->sec] : "general",
		       c->port, result_names[c->res], c->info ? "true" : "false");
		json_str(stdout, d ? d->title : c->id);
		printf(",\"detail\":");
		json_str(stdout, c->detail);
		printf(",\"fix\":");
		if (d && d->fix && (c->res == RES_FAIL || c->res == RES_WARN))
			json_str(stdout, d->fix);
		else
			printf("null");
		printf("}");
	}
	printf("],\n \"summary\":{\"pass\":%d,\"warn\":%d,\"fail\":%d,\"skip\":%d,"
	       "\"sessions\":%d,\"exit_code\":%d}}\n",
	       n[RES_PASS], n[RES_WARN], n[RES_FAIL], n[RES_SKIP], a->sessions,
	       code);
}

static void report_human(const struct audit *a, int code)
{
	static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m", ""};
	const char *reset = a->colour ? "\033[0m" : "";
	const char *head = a->colour ? "\033[36m" : "";
	int n[4] = {0, 0, 0, 0};
	char h[BC_AUDIT_NAME_MAX * 4 + 8];
	size_t i;
	int s;

	escs(a->host, h, sizeof(h));
	printf("%s# audit smtp %s (%s) from %s, domain %s%s\n", head, h,
	       a->dst_str, a->src_str[0] ? a->src_str : "?",
	       a->domain[0] ? a->domain : "?", reset);
	for (s = 0; s < SEC_COUNT; s++) {
		bool any = false;

		for (i = 0; i < a->nchecks; i++) {
			const struct check *c = &a->checks[i];
			const struct check_def *d = check_def_find(c->id);
			const char *word = c->info ? "info" : result_names[c->res];
			char port[16] = "-";

			if (!d || (int)d->sec != s)
				continue;
			if (!any)
				printf("\n%s# %s%s\n", head, section_titles[s], reset);
			any = true;
			if (c->port)
				fmt_cut(port, sizeof(port), "%d", c->port);
			printf("%s[%s]%s %-24s %-4s %s\n",
			       a->colour && !c->info ? col[c->res] : "", word,
			       a->colour && !c->info ? reset : "", c->id, port,
			       c->detail);
			if (d->fix && (c->res == RES_FAIL || c->res == RES_WARN))
				printf("       fix: %s\n", d->fix);
		}
	}
	for (i = 0; i < a->nchecks; i++)
		n[a->checks[i].res]++;
	printf("\n%s# summary%s\n%d pass, %d warn, %d fail, %d skip -> %s (exit %d)\n",
	       head, reset, n[RES_PASS], n[RES_WARN], n[RES_FAIL], n[RES_SKIP],
	       code == 2 ? "FAIL" : code == 1 ? "WARN" : "OK", code);
	if (a->ban_tests)
		printf("note: ban counts include earlier offences from this address "
		       "within the server's window (this audit's own probes too); "
		       "allowlisted addresses are never banned\n");
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */

/* One-line usage error naming the bad value; returns BC_AUDIT_EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bancluster: audit smtp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return BC_AUDIT_EXIT_USAGE;
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
static int add_port(struct audit *a, const char *spec, size_t len)
{
	char buf[64], *colon;
	long v;
	struct port *p;
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

static int parse_ports(struct audit *a, const char *list)
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
static int read_password(struct audit *a, char *err, size_t errsz)
{
	char buf[BC_AUDIT_PASSWORD_MAX + 2];
	FILE *f = fopen(a->password_file, "r");
	size_t l;

	if (!f) {
		fmt_cut(err, errsz, "%s", strerror(errno));
		return -1;
	}
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		fmt_cut(err, errsz, "empty file");
		return -1;
	}
	fclose(f);
	l = strcspn(buf, "\r\n");
	if (l == 0 || l > BC_AUDIT_PASSWORD_MAX || (buf[l] == '\0' &&
	    l == sizeof(buf) - 1)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		fmt_cut(err, errsz, "first line empty or longer than %d bytes",
			 BC_AUDIT_PASSWORD_MAX);
		return -1;
	}
	buf[l] = '\0';
	a->password = OPENSSL_strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!a->password) {
		fmt_cut(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

/* Split HOST[:PORT] / [V6]:PORT / bare V6 into a->host and maybe a port. */
static int parse_target(struct audit *a, const char *arg)
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
	escs(s, buf, bufsz);
	return buf;
}

/*
 * Parse the command line into a. Returns 0, 1 for --help (usage printed),
 * or BC_AUDIT_EXIT_USAGE after printing a one-line error.
 */
static int parse_args(struct audit *a, int argc, char **argv)
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
			fmt_cut(name, sizeof(name), "%s", arg);
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
			fmt_cut(a->user, sizeof(a->user), "%s", val);
		} else if (strcmp(name, "--password-file") == 0) {
			a->password_file = val;
		} else if (strcmp(name, "--foreign-sender") == 0) {
			if (!safe_token(val) || !strchr(val, '@'))
				return usage_error("--foreign-sender: expected an address, "
						   "got \"%s\"", earg(val, e, sizeof(e)));
			fmt_cut(a->foreign, sizeof(a->foreign), "%s", val);
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
			fmt_cut(a->domain, sizeof(a->domain), "%s", val);
		} else if (strcmp(name, "--helo") == 0) {
			if (!safe_token(val))
				return usage_error("--helo: bad value \"%s\"",
						   earg(val, e, sizeof(e)));
			fmt_cut(a->helo, sizeof(a->helo), "%s", val);
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
static int resolve(struct audit *a, char *err, size_t errsz)
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
		fmt_cut(err, errsz, "cannot resolve: %s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			break;
	if (!ai) {
		freeaddrinfo(res);
		fmt_cut(err, errsz, "no usable address");
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
		fmt_cut(a->tls_name, sizeof(a->tls_name), "%s", a->host);
	return 0;
}

int bc_audit_smtp_main(int argc, char **argv)
{
	struct audit *a = calloc(1, sizeof(*a));
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
	fmt_cut(a->helo, sizeof(a->helo), "%s", BC_AUDIT_HELO_DEFAULT);
	(void)parse_ports(a, "25,465,587");
	rc = parse_args(a, argc, argv);
	if (rc != 0) {
		rc = rc == 1 ? BC_AUDIT_EXIT_OK : rc;
		goto out;
	}
	a->colour = !a->json && isatty(STDOUT_FILENO) && !(nc && *nc) &&
		    !(term && strcmp(term, "dumb") == 0);
	escs(a->host, h, sizeof(h));
	if (resolve(a, err, sizeof(err)) < 0) {
		fprintf(stderr, "bancluster: audit smtp: %s: %s\n", h, err);
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	a->ctx_main = ctx_main_new(a);
	if (!a->ctx_main) {
		fprintf(stderr, "bancluster: audit smtp: cannot set up TLS%s\n",
			a->ca_file ? " (bad --ca-file?)" : "");
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	for (i = 0; i < a->nports; i++)
		audit_port(a, &a->ports[i]);
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable)
			break;
	if (i == a->nports) {
		/* Nothing answered: one line naming why, exit 3. */
		size_t o = 0;

		err[0] = '\0';
		for (i = 0; i < a->nchecks && o < sizeof(err) - 1; i++)
			if (strcmp(a->checks[i].id, "conn.greeting") == 0)
				o += (size_t)fmt_cut(err + o, sizeof(err) - o, "%s%d: %s",
						      o ? "; " : "", a->checks[i].port,
						      a->checks[i].detail);
		fprintf(stderr, "bancluster: audit smtp: %s (%s): no SMTP port "
			"reachable (%s)\n", h, a->dst_str, err);
		if (a->json) {
			printf("{\"schema\":\"bancluster/audit-smtp\",\"schema_version\":1,"
			       "\"error\":\"unreachable\",\"checks\":[],\"summary\":"
			       "{\"exit_code\":%d}}\n", BC_AUDIT_EXIT_UNKNOWN);
		}
		rc = BC_AUDIT_EXIT_UNKNOWN;
		goto out;
	}
	why = trusted_source(a);
	if (why)
		add_check(a, "gen.vantage", 0, RES_WARN, false,
			  "auditing from %s (%s): the server probably trusts it, so "
			  "relay, sender and ban results may not represent outside "
			  "clients", a->src_str, why);
	else
		add_check(a, "gen.vantage", 0, RES_PASS, false,
			  "auditing from %s", a->src_str);
	audit_bans(a);
	rc = exit_code(a);
	if (a->json)
		report_json(a, rc);
	else
		report_human(a, rc);
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
