/*
 * parse_dovecot.c - events from Dovecot's login processes.
 *
 * Untrusted: the whole message. A login process writes one summary line
 * per connection:
 *
 *   imap-login: Disconnected (auth failed, 2 attempts in 4 secs): user=<u>, method=PLAIN, rip=192.0.2.7, lip=198.51.100.1, TLS, session=<..>
 *   imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<u>, ...   (2.4)
 *   pop3-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<u>, ...
 *   imap-login: Disconnected (disconnected while authenticating, waited 3 secs): user=<>, method=PLAIN, rip=...
 *   imap-login: Login: user=<u>, method=PLAIN, rip=192.0.2.7, lip=..., mpid=123, TLS, session=<..>
 *
 * as "dovecot[PID]: imap-login: ..." through syslog or
 * "imap-login: Info: ..." in its own log file. The reason (before the
 * first ": user=<", ": method=" or ": rip=") is server text; the user
 * name after it is the client's, and may carry "rip=...". The address is
 * therefore the LAST ", rip=" of the line: what follows it (lip, mpid,
 * TLS state, session) is written by Dovecot.
 *
 * Not events: "no auth attempts", "disconnected before auth was ready"
 * (phones and TLS probes), "proxy dest auth failed" (our backend), and
 * the auth process' own "passwd-file(user,ip): ..." lines, which repeat
 * attempts the login summary already counts.
 */
#define BC_PARSE_INTERNAL
#include "agent/parse.h"

#define DV_ATTEMPTS_MAX 16 /* events from one "N attempts" line */

/* End of the server-written reason: first ": " that opens the fields. */
static const char *reason_end(const char *q, const char *end)
{
	const char *c = q;

	while ((c = memchr(c, ':', (size_t)(end - c))) != NULL) {
		if (end - c > 2 && c[1] == ' ' &&
		    (BC_PREFIX(c + 2, end, "user=<") ||
		     BC_PREFIX(c + 2, end, "method=") ||
		     BC_PREFIX(c + 2, end, "rip=")))
			return c;
		c++;
	}
	return NULL;
}

/* The last "rip=" that follows ", " or ": ". */
static const char *last_rip(const char *q, const char *end)
{
	const char *e = end, *r;

	while ((r = BC_RFIND(q, e, "rip=")) != NULL) {
		if (r - q >= 2 && (r[-2] == ',' || r[-2] == ':') && r[-1] == ' ')
			return r + 4;
		e = r;
	}
	return NULL;
}

enum bc_parse_result bc_scan_dovecot(struct bc_parser *p,
				     const struct bc_line *l)
{
	const char *q = l->msg, *end = l->msg + l->msg_len, *proto, *pe;
	const char *re, *ip, *ipe, *f;
	struct bc_addr a;
	char svc[16];
	size_t n;
	enum bc_kind kind;
	unsigned count = 1, i;

	if (l->prog_len > 6 &&
	    memcmp(l->prog + l->prog_len - 6, "-login", 6) == 0) {
		proto = l->prog;
		pe = l->prog + l->prog_len - 6;
	} else {
		/* "imap-login: " at the start of the message */
		const char *c = memchr(q, ':', (size_t)(end - q > 32 ? 32 : end - q));

		if (c == NULL || c - q < 7 || memcmp(c - 6, "-login", 6) != 0 ||
		    !BC_PREFIX(c, end, ": "))
			return BC_PARSE_NOMATCH;
		proto = q;
		pe = c - 6;
		q = c + 2;
	}
	if (BC_PREFIX(q, end, "Info: "))
		q += 6;
	re = reason_end(q, end);
	if (re == NULL)
		return BC_PARSE_NOMATCH;
	if (re - q == 5 && memcmp(q, "Login", 5) == 0) {
		kind = BC_KIND_AUTH_SUCCESS;
	} else if ((f = BC_FIND(q, re, "(auth failed, ")) != NULL) {
		const char *d = f + 14, *e = bc_skip_digits(d, re);

		if (e == d || e - d > 6 || !BC_PREFIX(e, re, " attempts"))
			return BC_PARSE_NOMATCH;
		for (count = 0; d < e; d++)
			count = count * 10 + (unsigned)(*d - '0');
		if (count == 0)
			return BC_PARSE_NOMATCH;
		if (count > DV_ATTEMPTS_MAX)
			count = DV_ATTEMPTS_MAX;
		kind = BC_KIND_AUTH_FAIL;
	} else if (BC_FIND(q, re, "(disconnected while authenticating") ||
		   BC_FIND(q, re, "(aborted authentication)") ||
		   BC_FIND(q, re, "(client didn't finish SASL auth")) {
		kind = BC_KIND_AUTH_ABORT;
	} else {
		return BC_PARSE_NOMATCH;
	}
	ip = last_rip(re, end);
	if (ip == NULL)
		return BC_PARSE_NOMATCH;
	ipe = memchr(ip, ',', (size_t)(end - ip));
	if (ipe == NULL)
		ipe = end;
	if (bc_parse_addr(ip, ipe, &a) < 0)
		return BC_PARSE_MALFORMED;
	memcpy(svc, "dovecot/", 8);
	n = (size_t)(pe - proto);
	if (n > 7)
		n = 7;
	memcpy(svc + 8, proto, n);
	svc[8 + n] = '\0';
	for (i = 0; i < count; i++)
		bc_parse_emit(p, l, kind, &a, svc);
	return BC_PARSE_MATCH;
}
