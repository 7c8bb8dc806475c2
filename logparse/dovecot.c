/*
 * logparse/dovecot.c - events from Dovecot's login and auth processes.
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
 * "imap-login: Info: ..." in its own log file. The process name is
 * letters and digits then "-login": "imap(USER)..." lines of the mail
 * processes carry a user name first and are never read. The reason
 * (before the first ": user=<", ": method=" or ": rip=") is server text;
 * the user name after it is the client's, and may carry "rip=...". The
 * address is therefore the LAST ", rip=" of the line: what follows it
 * (lip, mpid, TLS state, session) is written by Dovecot.
 *
 * Not events: "no auth attempts", "disconnected before auth was ready"
 * (phones and TLS probes), "proxy dest auth failed" (our backend),
 * "disconnected while authenticating" after DV_SLOW_SECS or more (the
 * client waited that long for a slow auth backend: the server's fault).
 *
 * The auth process (auth_verbose = yes) writes one line per password
 * check:
 *
 *   auth: Info: passwd-file(USER,192.0.2.7,<SESSION>): Password mismatch
 *   auth-worker(1234): Info: pam(USER,192.0.2.7): unknown user
 *
 * (also sql, ldap, checkpassword, ...; "auth: " and the process name
 * inside the message through syslog). USER is the client's (up to 64
 * bytes, may hold ',' and ')'); the address, ",master" and the session
 * after it are Dovecot's. Every "): " of the line is read as the end of
 * that identifier: readings whose identifier does not end in ",ADDR
 * [,master][,<SESSION>]" are dropped, the rest must agree (else no
 * event); a reading whose message does not start with a letter is none.
 * A failure is an auth_fail. With a session it comes from a login process,
 * whose summary ("auth failed, N attempts ... session=<ID>") then reports
 * only the attempts not counted yet. Without one it comes from an SMTP
 * server using Dovecot SASL (Postfix, Exim), and is paired with the SMTP
 * server's own failure line so that one attempt counts once
 * (bc_parse_pair; docs/detection.md).
 *
 * logparse/ is the only code that reads attacker text; this scanner sees
 * a line already framed (logparse/syslog.c). bc_scan_dovecot returns
 * MALFORMED when a recognised message carries an address field that does
 * not validate; the events it finds go to the parser's queue
 * (bc_parse_emit), which is what bc_parser_feed hands out, and its state
 * to the parser's bounded session table. Nothing keeps a pointer into the
 * line; nothing is printed.
 */
#include "logparse/internal.h"

#define DV_TAG 4           /* session table: login sessions by id */
#define DV_ATTEMPTS_MAX 16 /* events from one "N attempts" line */
#define DV_SLOW_SECS 10    /* "disconnected while authenticating, waited N" */
#define DV_USER_MAX 72     /* auth log user names: 64 bytes and "..." */

/* Auth-process reasons that are the client's wrong user or password. */
static const struct bc_lit auth_fail_reasons[] = {
	BC_LIT("Password mismatch"),
	BC_LIT("unknown user"),
	BC_LIT("pam_authenticate() failed: Authentication failure"),
	BC_LIT("pam_authenticate() failed: User not known to the underlying authentication module"),
	BC_LIT("User unknown"),              /* checkpassword */
	BC_LIT("Login failed (status=1)"),   /* checkpassword */
	BC_LIT("invalid credentials"),       /* ldap, older versions */
};

static bool is_lower_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * The identifier "USER,ADDR[,master][,<SESSION>]" in [p, e): fills *a and
 * the session (NULL, 0 without one). false if it does not end that way.
 */
static bool auth_ident(const char *p, const char *e, struct bc_addr *a,
		       const char **sess, size_t *sess_len, bool *bad)
{
	const char *c;

	*sess = NULL;
	*sess_len = 0;
	if (e > p && e[-1] == '>') {
		c = BC_RFIND(p, e, ",<");
		if (c == NULL)
			return false;
		for (const char *d = c + 2; d < e - 1; d++)
			if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') ||
			      (*d >= '0' && *d <= '9') || *d == '+' || *d == '/' ||
			      *d == '=' || *d == '-' || *d == '_'))
				return false;
		if (c + 3 > e - 1)
			return false;
		*sess = c + 2;
		*sess_len = (size_t)(e - 1 - (c + 2));
		e = c;
	}
	if (BC_SUFFIX(p, e, ",master"))
		e -= 7;
	c = memrchr(p, ',', (size_t)(e - p));
	if (c == NULL || c - p > DV_USER_MAX || e - c - 1 > 45)
		return false;
	if (bc_parse_addr(c + 1, e, a) < 0) {
		/* digits, ':' and '.' only: meant as an address */
		for (const char *d = c + 1; d < e; d++)
			if (!((*d >= '0' && *d <= '9') || *d == '.' || *d == ':' ||
			      (*d >= 'a' && *d <= 'f')))
				return false;
		*bad = true;
		return false;
	}
	return true;
}

/* auth: [Info: ]DB(IDENT): REASON, q after the process prefix. */
static enum bc_parse_result auth_line(struct bc_parser *p,
				      const struct bc_line *l, const char *q,
				      const char *end)
{
	const char *db = q, *r, *sess = NULL, *sb;
	struct bc_addr a, b;
	bool bad = false, found = false, fail = false;
	size_t i, sess_len = 0, sbl;
	struct bc_sess *s;

	if (BC_PREFIX(q, end, "Info: "))
		db = q += 6;
	while (q < end && q - db < 32 &&
	       (is_lower_digit(*q) || *q == '-' || *q == '_' || *q == '.' ||
		(*q >= 'A' && *q <= 'Z')))
		q++;
	if (q == db || q >= end || *q != '(')
		return BC_PARSE_NOMATCH;
	q++;
	for (r = q; (r = BC_FIND(r, end, "): ")) != NULL; r++) {
		bool f = false;

		/* the auth process' messages start with a letter */
		if (r + 3 >= end ||
		    !((r[3] >= 'a' && r[3] <= 'z') || (r[3] >= 'A' && r[3] <= 'Z')))
			continue;
		if (!auth_ident(q, r, &b, &sb, &sbl, &bad))
			continue;
		for (i = 0; i < sizeof(auth_fail_reasons) / sizeof(auth_fail_reasons[0]); i++)
			if (bc_lit_match(r + 3, end, auth_fail_reasons[i].s,
					 auth_fail_reasons[i].n))
				f = true;
		if (found && (!bc_addr_equal(&a, &b) || f != fail ||
			      sbl != sess_len ||
			      (sbl > 0 && memcmp(sb, sess, sbl) != 0)))
			return BC_PARSE_NOMATCH; /* two readings */
		a = b;
		sess = sb;
		sess_len = sbl;
		fail = f;
		found = true;
	}
	if (!found)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!fail || !bc_parse_dovecot_auth_lines(p))
		return BC_PARSE_NOMATCH;
	if (sess != NULL) {
		/* a login process' attempt: counted now, and taken off the
		 * attempts its summary line reports */
		s = bc_parse_session(p, DV_TAG, sess, sess_len, 0, &a, l->time_ms);
		if (s->fails < UINT16_MAX)
			s->fails++;
	} else if (!bc_parse_pair(p, l, &a, false)) {
		/* an SMTP AUTH the SMTP server's line counted already */
		return BC_PARSE_NOMATCH;
	}
	bc_parse_emit(p, l, BC_KIND_AUTH_FAIL, &a, "dovecot/auth");
	return BC_PARSE_MATCH;
}

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
	} else if (l->prog_len == 4 && memcmp(l->prog, "auth", 4) == 0) {
		return auth_line(p, l, q, end); /* own log file */
	} else if (l->prog_len == 11 &&
		   memcmp(l->prog, "auth-worker", 11) == 0) {
		return auth_line(p, l, q, end);
	} else {
		/* "imap-login: " at the start of the message: the name is
		 * letters and digits only ("imap(USER)" is a user's) */
		const char *c = q;

		while (c < end && c - q < 24 && is_lower_digit(*c))
			c++;
		if (BC_PREFIX(c, end, "-login: ") && c > q) {
			proto = q;
			pe = c;
			q = c + 8;
		} else if (BC_PREFIX(q, end, "auth: ")) {
			return auth_line(p, l, q + 6, end);
		} else if (BC_PREFIX(q, end, "auth-worker(")) {
			/* "auth-worker(1234): " or "auth-worker(default): " */
			c = memchr(q, ')', (size_t)(end - q > 40 ? 40 : end - q));
			if (c == NULL || !BC_PREFIX(c, end, "): "))
				return BC_PARSE_NOMATCH;
			return auth_line(p, l, c + 3, end);
		} else {
			return BC_PARSE_NOMATCH;
		}
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
	} else if ((f = BC_FIND(q, re, "(disconnected while authenticating, waited ")) != NULL) {
		/* a client that hung up before any sane backend timeout left
		 * without waiting for the verdict (a bot, after its
		 * password); one that waited longer was kept waiting by a
		 * slow auth backend: the server's fault, no event */
		const char *d = f + 43, *e = bc_skip_digits(d, re);
		unsigned secs = 0;

		if (e == d || e - d > 6)
			return BC_PARSE_NOMATCH;
		for (; d < e; d++)
			secs = secs * 10 + (unsigned)(*d - '0');
		if (secs >= DV_SLOW_SECS)
			return BC_PARSE_NOMATCH;
		kind = BC_KIND_AUTH_ABORT;
	} else if (BC_FIND(q, re, "(aborted authentication)") ||
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
	/* attempts the auth process' lines already counted for this
	 * session (its id follows rip=: Dovecot's text) */
	{
		const char *sid = BC_FIND(ipe, end, ", session=<"), *se;

		se = sid ? memchr(sid + 11, '>', (size_t)(end - sid - 11)) : NULL;
		if (se != NULL && se > sid + 11) {
			struct bc_sess *s = bc_parse_session(p, DV_TAG, sid + 11,
							     (size_t)(se - sid - 11),
							     0, &a, l->time_ms);

			if (kind == BC_KIND_AUTH_FAIL)
				count = count > s->fails ? count - s->fails : 0;
			bc_parse_session_end(p, s);
			if (count == 0)
				return BC_PARSE_NOMATCH;
		}
	}
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
