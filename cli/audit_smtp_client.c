/*
 * audit_smtp_client.c - the SMTP client of `bancluster audit smtp`
 * (audit_smtp_int.h): TCP connections to the pinned address, plain or
 * TLS (OpenSSL), lockstep commands, the reply reader, EHLO, STARTTLS,
 * AUTH PLAIN, and the escaping of server text.
 *
 * Untrusted input: every byte the server sends. The reader keeps at most
 * BC_AUDIT_RBUF bytes buffered, refuses lines over BC_AUDIT_LINE_MAX and
 * replies over BC_AUDIT_REPLY_MAXLINES lines, requires one 2xx-5xx code
 * on every line of a reply, and keeps a bounded prefix of each line
 * (NULs replaced); any text of it that reaches a finding goes through
 * bc_audit_esc (tests/fuzz/fuzz_smtp_reply.c feeds it arbitrary bytes).
 * Every wait has a deadline on the monotonic clock. Errors come back as
 * -1 (errno or c->err where it says) or an enum bc_smtp_hs with a reason;
 * nothing here prints. The password only passes through
 * bc_smtp_auth_plain, inside TLS, and is wiped there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "cli/audit_smtp_int.h"
#include "common/clock.h"

/*
 * snprintf that cuts silently and returns the number of bytes actually
 * written (never more than outsz - 1), so offsets built from it stay in
 * bounds.
 */
__attribute__((format(printf, 3, 4)))
size_t bc_audit_fmt_cut(char *out, size_t outsz, const char *fmt, ...)
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

/*
 * Escape untrusted bytes (in, len) into out: printable ASCII other than
 * backslash stays, everything else becomes \xNN. Output is cut at
 * BC_AUDIT_TEXT_MAX input bytes (or what fits) and marked with "...".
 */
void bc_audit_esc(const char *in, size_t len, char *out, size_t outsz)
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

/* Escape a NUL-terminated untrusted string (see bc_audit_esc). */
void bc_audit_escs(const char *in, char *out, size_t outsz)
{
	bc_audit_esc(in, strlen(in), out, outsz);
}

/* Wait until fd is ready for events or the deadline passes: 0 or -1. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		int64_t left = deadline - bc_mono_ms();
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

void bc_smtp_conn_init(struct bc_smtp_conn *c, const struct bc_audit *a)
{
	c->fd = -1;
	c->ssl = NULL;
	c->timeout_ms = a->timeout_s * 1000;
	c->err = 0;
	c->len = 0;
}

/* Close a connection (no QUIT; see bc_smtp_quit). */
void bc_smtp_conn_close(struct bc_smtp_conn *c)
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
int bc_smtp_conn_open(struct bc_audit *a, struct bc_smtp_conn *c, int port,
		      int timeout_ms)
{
	struct sockaddr_storage ss = a->dst;
	int64_t deadline = bc_mono_ms() + timeout_ms;
	socklen_t elen;
	int e = 0;

	bc_smtp_conn_init(c, a);
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
		bc_smtp_conn_close(c);
		return -1;
	}
	a->sessions++;
	if (connect(c->fd, (struct sockaddr *)&ss, a->dstlen) < 0) {
		if (errno != EINPROGRESS) {
			c->err = errno;
			bc_smtp_conn_close(c);
			return -1;
		}
		if (wait_fd(c->fd, POLLOUT, deadline) < 0) {
			c->err = errno;
			bc_smtp_conn_close(c);
			return -1;
		}
		elen = sizeof(e);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e) {
			c->err = e ? e : errno;
			bc_smtp_conn_close(c);
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
static int conn_fill(struct bc_smtp_conn *c, int64_t deadline)
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
int bc_smtp_conn_write(struct bc_smtp_conn *c, const char *p, size_t n)
{
	int64_t deadline = bc_mono_ms() + c->timeout_ms;

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
static long read_line(struct bc_smtp_conn *c, char *out, size_t outsz,
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
int bc_smtp_read_reply_until(struct bc_smtp_conn *c, struct bc_smtp_reply *r,
			     int64_t deadline)
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
			bc_audit_fmt_cut(r->line[r->n], sizeof(r->line[0]), "%s",
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

int bc_smtp_read_reply(struct bc_smtp_conn *c, struct bc_smtp_reply *r)
{
	return bc_smtp_read_reply_until(c, r, bc_mono_ms() + c->timeout_ms);
}

/*
 * Send one command line (CRLF added) and read its reply. The command text
 * comes from validated options only (no CR/LF possible). 0 or -1.
 */
__attribute__((format(printf, 3, 4)))
int bc_smtp_cmd(struct bc_smtp_conn *c, struct bc_smtp_reply *r, const char *fmt, ...)
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
	if (bc_smtp_conn_write(c, line, (size_t)n + 2) < 0) {
		r->code = 0;
		return -1;
	}
	return bc_smtp_read_reply(c, r);
}

/* "CODE text" of the reply's last kept line, escaped and cut. */
const char *bc_smtp_rtext(const struct bc_smtp_reply *r, char *out, size_t outsz)
{
	char e[BC_AUDIT_TEXT_MAX * 4 + 8];

	if (r->code == 0) {
		bc_audit_fmt_cut(out, outsz, "no reply (timeout or connection lost)");
		return out;
	}
	bc_audit_escs(r->n > 0 ? r->line[r->n - 1] : "", e, sizeof(e));
	bc_audit_fmt_cut(out, outsz, "%d %s", r->code, e);
	return out;
}

/* True when the reply carries an enhanced status code of class x.7.x. */
bool bc_smtp_reply_policy(const struct bc_smtp_reply *r)
{
	const char *t;

	if (r->n == 0)
		return false;
	t = r->line[r->n - 1];
	return (t[0] == '4' || t[0] == '5') && t[1] == '.' && t[2] == '7' &&
	       t[3] == '.';
}

/* Case-insensitive substring search in every kept line of the reply. */
bool bc_smtp_reply_has(const struct bc_smtp_reply *r, const char *needle)
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
void bc_smtp_quit(struct bc_smtp_conn *c)
{
	struct bc_smtp_reply r;

	if (c->fd >= 0) {
		c->timeout_ms = c->timeout_ms < 3000 ? c->timeout_ms : 3000;
		(void)bc_smtp_cmd(c, &r, "QUIT");
		if (c->ssl)
			(void)SSL_shutdown(c->ssl);
	}
	bc_smtp_conn_close(c);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */

/* The context for the main handshake: what a current client would do. */
SSL_CTX *bc_smtp_ctx_main_new(const struct bc_audit *a)
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
SSL_CTX *bc_smtp_ctx_probe_new(int version, const char *ciphers)
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

/*
 * Run the client handshake on c->fd with ctx. Leftover plaintext bytes in
 * c->buf must already have been checked by the caller (they are dropped
 * here: RFC 3207 says pre-TLS state is discarded). On failure why holds a
 * short reason and the result says whether the server refused (alert,
 * EOF), the local library could not offer the probe, or it timed out.
 */
enum bc_smtp_hs bc_smtp_tls_handshake(const struct bc_audit *a, struct bc_smtp_conn *c,
				      SSL_CTX *ctx, char *why, size_t whysz)
{
	int64_t deadline = bc_mono_ms() + c->timeout_ms;

	c->len = 0;
	why[0] = '\0';
	ERR_clear_error();
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		bc_audit_fmt_cut(why, whysz, "local TLS setup failed");
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
				bc_audit_fmt_cut(why, whysz, "handshake timed out");
				return HS_ERROR;
			}
			continue;
		}
		err = ERR_peek_last_error();
		reason = ERR_GET_REASON(err);
		if (err == 0) {
			bc_audit_fmt_cut(why, whysz, "server closed the connection");
			return HS_REFUSED;
		}
		bc_audit_fmt_cut(why, whysz, "%s", ERR_reason_error_string(err)
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
void bc_smtp_parse_caps(const struct bc_smtp_reply *r, struct bc_smtp_caps *cp)
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
				bc_audit_escs(l + 5, cp->mechs, sizeof(cp->mechs));
			cp->auth = true;
		}
	}
}

/* EHLO, falling back to HELO; fills caps. 0, or -1 if both failed. */
int bc_smtp_ehlo(struct bc_audit *a, struct bc_smtp_conn *c, struct bc_smtp_caps *cp)
{
	struct bc_smtp_reply r;

	if (bc_smtp_cmd(c, &r, "EHLO %s", a->helo) == 0 && r.code == 250) {
		bc_smtp_parse_caps(&r, cp);
		return 0;
	}
	memset(cp, 0, sizeof(*cp));
	if (r.code == 0)
		return -1;
	if (bc_smtp_cmd(c, &r, "HELO %s", a->helo) == 0 && r.code == 250)
		return 0;
	return -1;
}

/*
 * Open an SMTP session on port p up to (and including) TLS: connect,
 * TLS first on implicit-TLS ports, greeting, EHLO, STARTTLS when want_tls.
 * On success returns HS_OK with caps from the last EHLO; otherwise the
 * reason in why and the connection closed.
 */
enum bc_smtp_hs bc_smtp_session_tls(struct bc_audit *a,
				    const struct bc_audit_port *p,
				    struct bc_smtp_conn *c, SSL_CTX *ctx,
				    struct bc_smtp_caps *cp, char *why,
				    size_t whysz)
{
	struct bc_smtp_reply r;
	enum bc_smtp_hs h;

	if (bc_smtp_conn_open(a, c, p->port, a->timeout_s * 1000) < 0) {
		bc_audit_fmt_cut(why, whysz, "connect: %s", strerror(c->err));
		return HS_ERROR;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		h = bc_smtp_tls_handshake(a, c, ctx, why, whysz);
		if (h != HS_OK) {
			bc_smtp_conn_close(c);
			return h;
		}
	}
	if (bc_smtp_read_reply(c, &r) < 0 || r.code != 220) {
		bc_audit_fmt_cut(why, whysz, "no 220 greeting");
		bc_smtp_conn_close(c);
		return HS_ERROR;
	}
	if (bc_smtp_ehlo(a, c, cp) < 0) {
		bc_audit_fmt_cut(why, whysz, "EHLO refused");
		bc_smtp_quit(c);
		return HS_ERROR;
	}
	if (p->role == ROLE_SUBMISSIONS)
		return HS_OK;
	if (!cp->starttls) {
		bc_audit_fmt_cut(why, whysz, "STARTTLS not offered");
		bc_smtp_quit(c);
		return HS_ERROR;
	}
	if (bc_smtp_cmd(c, &r, "STARTTLS") < 0 || r.code != 220) {
		bc_audit_fmt_cut(why, whysz, "STARTTLS refused");
		bc_smtp_quit(c);
		return HS_ERROR;
	}
	h = bc_smtp_tls_handshake(a, c, ctx, why, whysz);
	if (h != HS_OK) {
		bc_smtp_conn_close(c);
		return h;
	}
	if (bc_smtp_ehlo(a, c, cp) < 0) {
		bc_audit_fmt_cut(why, whysz, "EHLO after TLS refused");
		bc_smtp_quit(c);
		return HS_ERROR;
	}
	return HS_OK;
}

/* Base64 of (in, n) into out (NUL-terminated). out must hold 4*(n+2)/3+1. */
static void b64(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/*
 * AUTH PLAIN inside TLS with (user, pass). Fills r with the final reply.
 * The credential buffers are wiped before returning. 0 or -1.
 */
int bc_smtp_auth_plain(struct bc_smtp_conn *c, struct bc_smtp_reply *r, const char *user,
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
	n = (size_t)bc_audit_fmt_cut(line, sizeof(line), "AUTH PLAIN %s\r\n", enc);
	if (n < sizeof(line) && bc_smtp_conn_write(c, line, n) == 0)
		rc = bc_smtp_read_reply(c, r);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(enc, sizeof(enc));
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

/* Random lowercase hex string of 2*n characters into out. */
void bc_audit_rand_hex(char *out, size_t n)
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

