/*
 * audit_smtp_int.h - what the files of `bancluster audit smtp` share,
 * internal to cli/audit_smtp*.c:
 *   audit_smtp.c         command line, target, the run (bc_audit_smtp_main)
 *   audit_smtp_client.c  SMTP sessions, TLS, the reply reader
 *   audit_smtp_checks.c  the checks on one port, the vantage point
 *   audit_smtp_bantest.c the opt-in ban test (c)
 *   audit_smtp_report.c  the check catalogue, findings, text and JSON
 *
 * Ownership: one struct bc_audit per run, made in bc_audit_smtp_main and
 * passed down; connections are the caller's (stack) and closed by it.
 * Everything the server sends is untrusted: replies are read by the
 * client with fixed caps and reach a finding only escaped and cut
 * (bc_audit_esc); a finding's detail is printable ASCII. Errors inside
 * checks become findings (skip with a reason); only bc_audit_smtp_main
 * prints diagnostics and picks the exit code.
 */
#ifndef BC_AUDIT_SMTP_INT_H
#define BC_AUDIT_SMTP_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

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

enum bc_audit_role { ROLE_MX, ROLE_SUBMISSION, ROLE_SUBMISSIONS };
enum bc_audit_result { RES_PASS, RES_WARN, RES_FAIL, RES_SKIP };
enum bc_audit_section { SEC_GEN, SEC_A, SEC_B, SEC_C, SEC_HYG, SEC_COUNT };

enum bc_audit_ban_kind { BAN_AUTH = 1, BAN_SENDER = 2, BAN_ABORT = 4 };

/* What a fresh connection looked like (ban detection, §3.18 of the note). */
enum bc_audit_probe {
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
struct bc_audit_check {
	const char *id;
	int port;               /* 0 for checks that are not per port */
	enum bc_audit_result res;
	bool info;              /* informational: shown [info], JSON "pass" */
	char detail[BC_AUDIT_DETAIL_MAX];
};

struct bc_audit_port {
	int port;
	enum bc_audit_role role;
	bool reachable;         /* TCP connect and greeting worked */
	bool tls_capable;       /* STARTTLS offered or implicit TLS works */
	char banner[BC_AUDIT_TEXT_MAX * 4 + 1]; /* escaped */
	char tls_version[32];
	char tls_cipher[64];
};

/* EHLO capabilities we act on. */
struct bc_smtp_caps {
	bool esmtp;
	bool starttls;
	bool auth;
	char mechs[128];        /* escaped, cut */
};

/* One SMTP reply: code and the first lines' text (raw bytes, NUL-free). */
struct bc_smtp_reply {
	int code;
	int n;                  /* lines kept (<= BC_AUDIT_REPLY_KEEP) */
	char line[BC_AUDIT_REPLY_KEEP][BC_AUDIT_REPLY_LINE];
};

/* One connection, plain or TLS; bytes read but not yet consumed in buf. */
struct bc_smtp_conn {
	int fd;
	SSL *ssl;
	int timeout_ms;
	int err;                /* errno of a failed connect, or 0 */
	size_t len;
	unsigned char buf[BC_AUDIT_RBUF];
};

/* The whole run. Made in bc_audit_smtp_main, passed everywhere. */
struct bc_audit {
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
	unsigned ban_tests;     /* enum bc_audit_ban_kind bits */
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
	struct bc_audit_port ports[BC_AUDIT_MAX_PORTS];
	size_t nports;
	struct bc_audit_check checks[BC_AUDIT_MAX_CHECKS];
	size_t nchecks;
	SSL_CTX *ctx_main;      /* default client settings, for cert checks */
	int sessions;           /* TCP sessions opened, for the JSON */
};

/* How a TLS handshake (or a session up to it) ended. */
enum bc_smtp_hs { HS_OK, HS_REFUSED, HS_LOCAL, HS_ERROR };

/* ---- audit_smtp_client.c: text ------------------------------------- */

/*
 * snprintf that cuts silently and returns the number of bytes actually
 * written (never more than outsz - 1), so offsets built from it stay in
 * bounds.
 */
__attribute__((format(printf, 3, 4)))
size_t bc_audit_fmt_cut(char *out, size_t outsz, const char *fmt, ...);

/*
 * Escape untrusted bytes (in, len) into out: printable ASCII other than
 * backslash stays, everything else becomes \xNN. Output is cut at
 * BC_AUDIT_TEXT_MAX input bytes (or what fits) and marked with "...".
 */
void bc_audit_esc(const char *in, size_t len, char *out, size_t outsz);

/* Escape a NUL-terminated untrusted string (see bc_audit_esc). */
void bc_audit_escs(const char *in, char *out, size_t outsz);

/* Random lowercase hex string of 2*n characters into out. */
void bc_audit_rand_hex(char *out, size_t n);

/* ---- audit_smtp_client.c: connections and replies ------------------ */

/* A closed connection with the run's timeout. */
void bc_smtp_conn_init(struct bc_smtp_conn *c, const struct bc_audit *a);

/* Close a connection (no QUIT; see bc_smtp_quit). */
void bc_smtp_conn_close(struct bc_smtp_conn *c);

/*
 * Open a TCP connection to the pinned address and port, bound to --source
 * if given, with the connect timeout. 0, or -1 with c->err set.
 */
int bc_smtp_conn_open(struct bc_audit *a, struct bc_smtp_conn *c, int port,
		      int timeout_ms);

/* Write all of (p, n), plain or TLS, within the timeout. 0 or -1. */
int bc_smtp_conn_write(struct bc_smtp_conn *c, const char *p, size_t n);

/*
 * Read one complete SMTP reply (RFC 5321 4.2): continuation lines
 * "DDD-text", last line "DDD text" or "DDD". 0, or -1 on EOF, timeout or
 * protocol error (r->code is then 0). Lines over BC_AUDIT_LINE_MAX and
 * replies over BC_AUDIT_REPLY_MAXLINES lines are protocol errors; the
 * first BC_AUDIT_REPLY_KEEP lines are kept, each cut to
 * BC_AUDIT_REPLY_LINE - 1 bytes with NULs as '?' (raw, not escaped).
 */
int bc_smtp_read_reply_until(struct bc_smtp_conn *c, struct bc_smtp_reply *r,
			     int64_t deadline);

/* bc_smtp_read_reply_until within the connection's timeout. */
int bc_smtp_read_reply(struct bc_smtp_conn *c, struct bc_smtp_reply *r);

/*
 * Send one command line (CRLF added) and read its reply. The command text
 * comes from validated options only (no CR/LF possible). 0 or -1.
 */
__attribute__((format(printf, 3, 4)))
int bc_smtp_cmd(struct bc_smtp_conn *c, struct bc_smtp_reply *r,
		const char *fmt, ...);

/* "CODE text" of the reply's last kept line, escaped and cut. */
const char *bc_smtp_rtext(const struct bc_smtp_reply *r, char *out,
			  size_t outsz);

/* True when the reply carries an enhanced status code of class x.7.x. */
bool bc_smtp_reply_policy(const struct bc_smtp_reply *r);

/* Case-insensitive substring search in every kept line of the reply. */
bool bc_smtp_reply_has(const struct bc_smtp_reply *r, const char *needle);

/* End a session politely: QUIT and wait for 221 (or the timeout). */
void bc_smtp_quit(struct bc_smtp_conn *c);

/* Parse EHLO capabilities from a 250 reply (line 0 is the server name). */
void bc_smtp_parse_caps(const struct bc_smtp_reply *r, struct bc_smtp_caps *cp);

/* EHLO, falling back to HELO; fills caps. 0, or -1 if both failed. */
int bc_smtp_ehlo(struct bc_audit *a, struct bc_smtp_conn *c,
		 struct bc_smtp_caps *cp);

/*
 * AUTH PLAIN inside TLS with (user, pass). Fills r with the final reply.
 * The credential buffers are wiped before returning. 0 or -1.
 */
int bc_smtp_auth_plain(struct bc_smtp_conn *c, struct bc_smtp_reply *r,
		       const char *user, const char *pass);

/* ---- audit_smtp_client.c: TLS -------------------------------------- */

/* The context for the main handshake: what a current client would do. */
SSL_CTX *bc_smtp_ctx_main_new(const struct bc_audit *a);

/*
 * A probe context: exactly one protocol version (or up to TLS 1.2 when
 * version is 0), security level 0 so OpenSSL 3 even tries legacy
 * versions, and the given cipher list. NULL when the local library
 * cannot express it.
 */
SSL_CTX *bc_smtp_ctx_probe_new(int version, const char *ciphers);

/*
 * Run the client handshake on c->fd with ctx. Leftover plaintext bytes in
 * c->buf must already have been checked by the caller (they are dropped
 * here: RFC 3207 says pre-TLS state is discarded). On failure why holds a
 * short reason and the result says whether the server refused (alert,
 * EOF), the local library could not offer the probe, or it timed out.
 */
enum bc_smtp_hs bc_smtp_tls_handshake(const struct bc_audit *a,
				      struct bc_smtp_conn *c, SSL_CTX *ctx,
				      char *why, size_t whysz);

/*
 * Open an SMTP session on port p up to (and including) TLS: connect,
 * TLS first on implicit-TLS ports, greeting, EHLO, STARTTLS otherwise.
 * On success returns HS_OK with caps from the last EHLO; otherwise the
 * reason in why and the connection closed.
 */
enum bc_smtp_hs bc_smtp_session_tls(struct bc_audit *a,
				    const struct bc_audit_port *p,
				    struct bc_smtp_conn *c, SSL_CTX *ctx,
				    struct bc_smtp_caps *cp, char *why,
				    size_t whysz);

/* ---- audit_smtp_checks.c ------------------------------------------- */

/*
 * Everything on one port: the main session (greeting, EHLO, AUTH probe,
 * STARTTLS/implicit TLS, certificate, AUTH after TLS, relay, enumeration,
 * sender spoofing), then the TLS version and cipher probes.
 */
void bc_audit_check_port(struct bc_audit *a, struct bc_audit_port *p);

/* Does the source address look like one the server probably trusts?
 * Why (a short phrase), or NULL. */
const char *bc_audit_trusted_source(const struct bc_audit *a);

/* ---- audit_smtp_bantest.c ------------------------------------------ */

/* Run the requested ban tests last; skip lines for the others. */
void bc_audit_bans(struct bc_audit *a);

/* ---- audit_smtp_report.c ------------------------------------------- */

/*
 * Record a finding (at most BC_AUDIT_MAX_CHECKS; later ones are
 * dropped). fmt and its arguments must contain only text that is already
 * escaped (server text goes through bc_audit_esc first).
 */
__attribute__((format(printf, 6, 7)))
void bc_audit_add_check(struct bc_audit *a, const char *id, int port,
			enum bc_audit_result res, bool info, const char *fmt, ...);

/* Exit code from the findings (fail > warn > ok). */
int bc_audit_exit_code(const struct bc_audit *a);

/* The report on stdout: JSON (schema 1 of docs/audit-smtp.md) or text
 * (colour when a->colour). code is the exit code it ends with. */
/* bancluster/audit-smtp's schema_version (docs/audit-smtp.md) */
#define BC_AUDIT_JSON_VERSION 1
/* The report; the document when no port answered. 0, or -1 when stdout
 * could not be written (said on stderr). */
int bc_audit_report_json(const struct bc_audit *a, int code);
int bc_audit_report_json_unreachable(int code);
void bc_audit_report_human(const struct bc_audit *a, int code);

#endif
