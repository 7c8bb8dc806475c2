/*
 * parse_exim.c - events from Exim's mainlog (or its syslog copy).
 *
 * Untrusted: the whole message. In Exim's host field
 *     H=[NAME ][(HELO) ][ADDR][:PORT]
 * the HELO (and a forged rDNS NAME) come from the client and sit BEFORE
 * the address; ident (U=), sender (F=<>, "<= S"), recipients, set_id=,
 * SNI= and quoted SMTP commands are attacker text too. So the host field
 * is read only where Exim writes it (start of the message, after "for ",
 * after "from "), and strictly: NAME and HELO hold no spaces and HELO no
 * parentheses (Exim rejects such HELOs unless helo_accept_junk_hosts is
 * set; a junk HELO makes the line no event rather than a guess).
 * IPv6 is written [2001:db8::1]:port.
 *
 *   NAME authenticator failed for [H=]HOST[ I=..][ U=..][ Ci=..]: 535 ...
 *   no MAIL in SMTP connection from HOST ... D=.. [A=..] ... C=EHLO,AUTH
 *   H=HOST ... rejected RCPT <..>: relay not permitted
 *   ID <= SENDER H=HOST ... P=esmtpsa ... A=name:user
 *   SMTP protocol error in "AUTH .." H=HOST .. AUTH command used when not advertised
 *
 * Sessions are keyed by pid (when +pid logs "[pid]" or syslog gives it)
 * or else by address: "no MAIL ... C=...,AUTH" right after a logged
 * failure is the same attempt.
 */
#define BC_PARSE_INTERNAL
#include "agent/parse.h"

#define EX_TAG 2
#define EX_FIELD_MAX 256 /* longest NAME or HELO looked at */

/* Endings of reject lines that are relay or sender-ownership violations. */
static const struct {
	const char *s;
	size_t n;
} violation[] = {
#define LIT(x) {x, sizeof(x) - 1}
	LIT(": relay not permitted"),
	LIT(": Sender address rejected: not owned by user"),
	LIT(": sender address not owned by authenticated user"),
	LIT(": sender not authorised"),
	LIT(": sender not authorized"),
	LIT(": sender mismatch"),
#undef LIT
};

static bool no_space_paren(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p == ' ' || *p == '(' || *p == ')')
			return false;
	return true;
}

/* ") [ADDR]" with a valid address anywhere in [q, end)? */
static bool ambiguous(const char *q, const char *end)
{
	const char *c;
	struct bc_addr a;

	while ((c = BC_FIND(q, end, ") [")) != NULL) {
		const char *rb = memchr(c + 3, ']',
					(size_t)(end - c - 3 > 48 ? 48
								  : end - c - 3));

		if (rb != NULL && bc_parse_addr(c + 3, rb, &a) == 0)
			return true;
		q = c + 3;
	}
	return false;
}

/*
 * Strict host field at p (after "H=" if any). Returns the byte after
 * [ADDR][:PORT], or NULL. *bad: the brackets were there but ADDR is not an
 * address.
 */
static const char *host_field(const char *p, const char *end,
			      struct bc_addr *a, bool *bad)
{
	const char *q = p, *e, *rb;
	bool helo = false;

	/* NAME (verified rDNS) */
	if (q < end && *q != '(' && *q != '[') {
		const char *lim = end - q > EX_FIELD_MAX ? q + EX_FIELD_MAX : end;

		e = memchr(q, ' ', (size_t)(lim - q));
		if (e == NULL || !no_space_paren(q, e) ||
		    memchr(q, '[', (size_t)(e - q)) != NULL)
			return NULL;
		q = e + 1;
	}
	/* (HELO) */
	if (q < end && *q == '(') {
		const char *lim = end - q > EX_FIELD_MAX ? q + EX_FIELD_MAX : end;

		e = memchr(q + 1, ')', (size_t)(lim - q - 1));
		if (e == NULL || !no_space_paren(q + 1, e) || e + 1 >= end ||
		    e[1] != ' ')
			return NULL;
		q = e + 2;
		helo = true;
	}
	if (q >= end || *q != '[')
		return NULL;
	rb = memchr(q, ']', (size_t)(end - q > 48 ? 48 : end - q));
	if (rb == NULL) {
		*bad = true;
		return NULL;
	}
	if (bc_parse_addr(q + 1, rb, a) < 0) {
		*bad = true;
		return NULL;
	}
	q = rb + 1;
	if (q + 1 < end && *q == ':' && q[1] >= '0' && q[1] <= '9')
		q = bc_skip_digits(q + 1, end);
	if (q != end && *q != ' ' && *q != ':')
		return NULL;
	/*
	 * A junk HELO ("x) [203.0.113.9] y") can close our "(" early; the
	 * real ") [ADDR]" then still follows. Two readings: no event.
	 */
	if (helo && ambiguous(q, end))
		return NULL;
	return q;
}

/* Skip " NAME=TOKEN" fields that Exim writes after the host field. */
static const char *skip_fields(const char *q, const char *end)
{
	for (;;) {
		const char *t;

		if (BC_PREFIX(q, end, " I=") || BC_PREFIX(q, end, " U=") ||
		    BC_PREFIX(q, end, " Ci=")) {
			t = memchr(q + 1, ' ', (size_t)(end - q - 1));
			if (t == NULL)
				return end;
			/* "I=[..]:25: 535" - the field ends before ": " */
			if (t[-1] == ':')
				return t - 1;
			q = t;
			continue;
		}
		return q;
	}
}

static struct bc_sess *session(struct bc_parser *p, long pid,
			       const struct bc_addr *a, int64_t t)
{
	if (pid >= 0)
		return bc_parse_session(p, EX_TAG, "pid", 3, pid, a, t);
	return bc_parse_session(p, EX_TAG, a->a, sizeof(a->a), a->family, a, t);
}

/*
 * The session, and whether its previous line came within window_ms of
 * this one. Without +pid a session is keyed by address only, so "same
 * connection" is judged by time.
 */
static struct bc_sess *session_near(struct bc_parser *p, long pid,
				    const struct bc_addr *a, int64_t t,
				    int64_t window_ms, bool *near)
{
	struct bc_sess *s = session(p, pid, a, 0);

	*near = pid >= 0 || (s->time_ms != 0 && t - s->time_ms <= window_ms);
	if (t)
		s->time_ms = t;
	return s;
}

#define EX_SAME_MS 2000      /* no pid: lines of one exchange */
#define EX_SAME_CONN_MS 60000 /* no pid: one connection's messages */

/* NAME authenticator failed for [H=]HOST...: CODE text */
static enum bc_parse_result auth_failed(struct bc_parser *p,
					const struct bc_line *l, long pid,
					const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	const char *c;
	enum bc_kind kind;

	if (BC_PREFIX(q, end, "H="))
		q += 2;
	q = host_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	/* the code follows ": " right after the server's own fields */
	c = skip_fields(q, end);
	if (!BC_PREFIX(c, end, ": ") || end - c < 5)
		return BC_PARSE_NOMATCH;
	c += 2;
	if (c[0] == '4')
		return BC_PARSE_NOMATCH; /* 435 Unable to authenticate at present */
	if (c[0] != '5' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9')
		return BC_PARSE_NOMATCH;
	kind = BC_KIND_AUTH_FAIL;
	if (BC_PREFIX(c, end, "501 Authentication cancelled"))
		kind = BC_KIND_AUTH_ABORT;
	{
		bool near;

		s = session_near(p, pid, &a, l->time_ms, EX_SAME_MS, &near);
		/* the client hung up inside TLS during AUTH: Exim then logs
		 * the unfinished exchange as a 535 (see tls_dropped) */
		if (s->aborted == 2) {
			s->aborted = 0;
			if (near && kind == BC_KIND_AUTH_FAIL) {
				s->aborted = 1;
				s->last_auth_failed = 0;
				bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "exim");
				return BC_PARSE_MATCH;
			}
		}
	}
	if (kind == BC_KIND_AUTH_FAIL) {
		if (s->fails < UINT16_MAX)
			s->fails++;
		s->last_auth_failed = 1;
	} else {
		s->last_auth_failed = 0;
		s->aborted = 1;
	}
	bc_parse_emit(p, l, kind, &a, "exim");
	return BC_PARSE_MATCH;
}

/* no MAIL in SMTP connection from HOST ... D=dur [A=x] ... C=LIST */
static enum bc_parse_result no_mail(struct bc_parser *p,
				    const struct bc_line *l, long pid,
				    const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	const char *c, *last;
	int n = 0;

	q = host_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end);
	if (!BC_PREFIX(q, end, " D="))
		return BC_PARSE_NOMATCH;
	q = memchr(q + 3, ' ', (size_t)(end - q - 3));
	s = session(p, pid, &a, l->time_ms);
	if (q != NULL && BC_PREFIX(q, end, " A=") && !s->succeeded) {
		s->succeeded = 1;
		bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, "exim");
		n++;
	}
	/* C= is written last; SNI= and DN= before it are client text */
	c = BC_RFIND(l->msg, end, " C=");
	if (c != NULL && c + 3 < end) {
		c += 3;
		last = memrchr(c, ',', (size_t)(end - c));
		last = last ? last + 1 : c;
		if (end - last == 4 && memcmp(last, "AUTH", 4) == 0 &&
		    memchr(c, ' ', (size_t)(end - c)) == NULL) {
			if (!s->last_auth_failed && s->aborted != 1 && !s->succeeded) {
				bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a,
					      "exim");
				n++;
			}
		}
	}
	bc_parse_session_end(p, s);
	return n ? BC_PARSE_MATCH : BC_PARSE_NOMATCH;
}

/* H=HOST ... rejected RCPT|MAIL <..>: REASON */
static enum bc_parse_result rejected(struct bc_parser *p,
				     const struct bc_line *l, long pid,
				     const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	size_t i;

	q = host_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (BC_FIND(q, end, " rejected RCPT ") == NULL &&
	    BC_FIND(q, end, " rejected MAIL ") == NULL)
		return BC_PARSE_NOMATCH;
	for (i = 0; i < sizeof(violation) / sizeof(violation[0]); i++)
		if (bc_has_suffix(q, end, violation[i].s, violation[i].n))
			break;
	if (i == sizeof(violation) / sizeof(violation[0]))
		return BC_PARSE_NOMATCH;
	/* one F=<> per session counts once, like Postfix (no pid: one
	 * transaction's recipients are logged within a moment) */
	{
		const char *f = BC_FIND(q, end, " F=<");
		const char *fe = f ? memchr(f, '>', (size_t)(end - f)) : NULL;
		uint64_t key = f && fe ? bc_parse_hash(f, (size_t)(fe - f), 7)
				       : 7;
		bool near;

		s = session_near(p, pid, &a, l->time_ms, EX_SAME_MS, &near);
		if (near && s->sv_key == key)
			return BC_PARSE_NOMATCH;
		s->sv_key = key;
	}
	bc_parse_emit(p, l, BC_KIND_SENDER_VIOLATION, &a, "exim");
	return BC_PARSE_MATCH;
}

/* ID <= SENDER [R=..] H=HOST ... P=proto ... */
static enum bc_parse_result received(struct bc_parser *p,
				     const struct bc_line *l, long pid,
				     const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	const char *sp, *pr, *pe;

	if (q < end && *q == '"')
		return BC_PARSE_NOMATCH; /* quoted local part may hold spaces */
	sp = memchr(q, ' ', (size_t)(end - q));
	if (sp == NULL)
		return BC_PARSE_NOMATCH;
	q = sp;
	if (BC_PREFIX(q, end, " R=")) {
		q = memchr(q + 3, ' ', (size_t)(end - q - 3));
		if (q == NULL)
			return BC_PARSE_NOMATCH;
	}
	if (!BC_PREFIX(q, end, " H="))
		return BC_PARSE_NOMATCH;
	q = host_field(q + 3, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end);
	/* P= comes right after the host (and I=/U=): server text */
	if (!BC_PREFIX(q, end, " P="))
		return BC_PARSE_NOMATCH;
	pr = q + 3;
	pe = memchr(pr, ' ', (size_t)(end - pr));
	if (pe == NULL)
		pe = end;
	/* esmtpa, esmtpsa, smtpa...: authenticated */
	if (pe - pr < 5 || pe[-1] != 'a' || memcmp(pr, "smtp", 4) != 0) {
		if (pe - pr < 6 || pe[-1] != 'a' || memcmp(pr, "esmtp", 5) != 0)
			return BC_PARSE_NOMATCH;
	}
	{
		bool near;

		s = session_near(p, pid, &a, l->time_ms, EX_SAME_CONN_MS, &near);
		s->last_auth_failed = 0;
		if (near && s->succeeded)
			return BC_PARSE_NOMATCH;
	}
	s->succeeded = 1;
	bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, "exim");
	return BC_PARSE_MATCH;
}

/* SMTP protocol error in "AUTH .." H=HOST ... AUTH command used when not advertised */
static enum bc_parse_result auth_not_advertised(struct bc_parser *p,
						const struct bc_line *l,
						long pid, const char *q,
						const char *end)
{
	static const char tail[] = " AUTH command used when not advertised";
	struct bc_addr a;
	bool bad = false;
	const char *h;

	/* the quoted command is client text: the real H= is the last one */
	h = BC_RFIND(q, end, " H=");
	if (h == NULL)
		return BC_PARSE_NOMATCH;
	q = host_field(h + 3, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end);
	if ((size_t)(end - q) != sizeof(tail) - 1 ||
	    memcmp(q, tail, sizeof(tail) - 1) != 0)
		return BC_PARSE_NOMATCH;
	(void)session(p, pid, &a, l->time_ms);
	bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "exim");
	return BC_PARSE_MATCH;
}

/* Exim message id: 6-6-2 (old) or 6-11-4 (4.97+) base-62 groups. */
static const char *skip_msgid(const char *q, const char *end)
{
	const char *s = q;
	int groups = 0;

	for (;;) {
		const char *g = q;

		while (q < end && q - g < 12 &&
		       ((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') ||
			(*q >= 'a' && *q <= 'z')))
			q++;
		if (q == g)
			return s;
		groups++;
		if (q < end && *q == '-' && groups < 3) {
			q++;
			continue;
		}
		break;
	}
	if (groups == 3 && q < end && *q == ' ')
		return q + 1;
	return s;
}

/*
 * TLS error on connection from HOST (recv): The TLS connection was
 * non-properly terminated.
 * No event: the client hung up. If it did so inside AUTH, Exim logs the
 * unfinished exchange next as "535 Incorrect authentication data": that
 * 535 is then an auth_abort, not a wrong password. A hang-up after a
 * logged failure changes nothing.
 */
static enum bc_parse_result tls_dropped(struct bc_parser *p,
					const struct bc_line *l, long pid,
					const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, near;

	q = host_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!BC_PREFIX(q, end, " (recv): The TLS connection was non-properly terminated."))
		return BC_PARSE_NOMATCH;
	s = session_near(p, pid, &a, l->time_ms, EX_SAME_MS, &near);
	if (!s->aborted && !s->succeeded && !(near && s->last_auth_failed))
		s->aborted = 2;
	return BC_PARSE_NOMATCH;
}

enum bc_parse_result bc_scan_exim(struct bc_parser *p, const struct bc_line *l)
{
	const char *q = l->msg, *end = l->msg + l->msg_len, *r;
	long pid = l->pid;

	/* syslog copy: "exim[PID]: 2024-01-10 12:00:01 MSG" */
	if (end - q > 20 && q[4] == '-' && q[10] == ' ' && q[13] == ':') {
		r = memchr(q + 11, ' ', (size_t)(end - q - 11));
		if (r == NULL)
			return BC_PARSE_NOMATCH;
		q = r + 1;
		/* ".mmm" is glued to the time; " +zzzz" is a token */
		if (q < end && (*q == '+' || *q == '-') && end - q > 6 &&
		    q[5] == ' ')
			q += 6;
	}
	/* +pid: "[1234] " */
	if (q < end && *q == '[') {
		const char *d = bc_skip_digits(q + 1, end);

		if (d > q + 1 && d - q < 12 && BC_PREFIX(d, end, "] ")) {
			pid = 0;
			for (r = q + 1; r < d; r++)
				pid = pid * 10 + (*r - '0');
			q = d + 2;
		}
	}
	if (end - q < 16)
		return BC_PARSE_NOMATCH;
	if (BC_PREFIX(q, end, "H="))
		return rejected(p, l, pid, q + 2, end);
	if (BC_PREFIX(q, end, "no MAIL in SMTP connection from "))
		return no_mail(p, l, pid, q + 32, end);
	if (BC_PREFIX(q, end, "no MAIL in TFO SMTP connection from "))
		return no_mail(p, l, pid, q + 36, end);
	if (BC_PREFIX(q, end, "SMTP protocol error in \""))
		return auth_not_advertised(p, l, pid, q + 24, end);
	if (BC_PREFIX(q, end, "TLS error on connection from "))
		return tls_dropped(p, l, pid, q + 29, end);
	/* "NAME authenticator failed for " with NAME from the config */
	{
		const char *lim = end - q > 96 ? q + 96 : end;
		const char *f = BC_FIND(q, lim, " authenticator failed for ");

		if (f != NULL && memchr(q, ' ', (size_t)(f - q)) == NULL)
			return auth_failed(p, l, pid, f + 26, end);
	}
	r = skip_msgid(q, end);
	if (r != q) {
		if (BC_PREFIX(r, end, "<= "))
			return received(p, l, pid, r + 3, end);
		if (BC_PREFIX(r, end, "H="))
			return rejected(p, l, pid, r + 2, end);
	}
	return BC_PARSE_NOMATCH;
}
