/*
 * logparse/exim.c - events from Exim's mainlog (or its syslog copy).
 *
 * Untrusted: the whole message. In Exim's host field
 *     H=[NAME ][(HELO) ][ADDR][:PORT][ I=[IFACE]:PORT][ U=IDENT][ Ci=ID]
 * the HELO (and a forged rDNS NAME) come from the client and sit BEFORE
 * the address; the ident (U=, an identd answer that may hold spaces),
 * sender (F=<>, "<= S"), recipients, set_id=, DN=, SNI= and quoted SMTP
 * commands are attacker text too. So the host field is read only where
 * Exim writes it (start of the message, after "for ", after "from ",
 * after the quoted command of a protocol error when its '" H=' is the only
 * one of the line), and strictly: NAME and HELO hold no spaces and HELO no
 * parentheses (Exim rejects such HELOs unless helo_accept_junk_hosts is
 * set; a junk HELO makes the line no event rather than a guess). Where an
 * ident follows the host, the field after it is found only when it is the
 * only one of its kind in the rest of the line. IPv6 is written
 * [2001:db8::1]:port.
 *
 *   NAME authenticator failed for HOST...: 535 ...
 *   no MAIL in SMTP connection from HOST ... D=.. [A=..] ... C=EHLO,AUTH
 *   H=HOST [X=.. CV=..] [F=<S> ]rejected RCPT|MAIL ARG: MESSAGE
 *   ID <= SENDER H=HOST ... P=esmtpsa ... A=name:user
 *   SMTP protocol error in "AUTH .." H=HOST .. AUTH command used when not advertised
 *
 * The MESSAGE of a reject (the ACL's log_message, the site's words) is read
 * only right after ARG, the client's MAIL/RCPT argument that Exim logs
 * (whole up to 4.94, its first 100 bytes since 4.95). ARG may hold ": "
 * itself: every ": " of the line is a possible end of ARG, and the line
 * counts only when the
 * message read after each possible end is a sender violation (an end that
 * Exim's address parser would have refused is not possible: docs/
 * detection.md). Callout answers ("response to ... was: ...") inside a
 * message are thus never read as one.
 *
 * Sessions are keyed by pid (when +pid logs "[pid]" or syslog gives it)
 * or else by address: "no MAIL ... C=...,AUTH" or a TLS hang-up right
 * after a logged failure is the same client leaving after a failed AUTH.
 *
 * logparse/ is the only code that reads attacker text; this scanner sees
 * a line already framed (logparse/syslog.c). bc_scan_exim returns
 * MALFORMED when a recognised message carries an address field that does
 * not validate; the events it finds go to the parser's queue
 * (bc_parse_emit), which is what bc_parser_feed hands out, and its state
 * to the parser's bounded session table. Nothing keeps a pointer into the
 * line; nothing is printed.
 */
#include "logparse/internal.h"

#define EX_TAG 2
#define EX_FIELD_MAX 256 /* longest NAME or HELO looked at */

/* Reject messages that are relay violations (the default configuration's);
 * sender-ownership wordings sites use in their ACLs are
 * bc_parse_is_owner_reason's. */
static const struct bc_lit ex_reasons[] = {
	BC_LIT("relay not permitted"),
};
#define EX_NREASONS (sizeof(ex_reasons) / sizeof(ex_reasons[0]))

static bool no_space_paren(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p == ' ' || *p == '(' || *p == ')')
			return false;
	return true;
}

/*
 * After the host field: Exim's " I=[IFACE]:PORT" and " Ci=ID". Stops at
 * " U=" (the ident, client text that may hold spaces: *ident is set) or
 * at the first other byte. An I= or Ci= token that ends in ':' ("...:25:
 * 535") ends before the ':'.
 */
static const char *skip_fields(const char *q, const char *end, bool *ident)
{
	*ident = false;
	for (;;) {
		const char *t;

		if (BC_PREFIX(q, end, " U=")) {
			*ident = true;
			return q;
		}
		if (BC_PREFIX(q, end, " I=") || BC_PREFIX(q, end, " Ci=")) {
			t = memchr(q + 1, ' ', (size_t)(end - q - 1));
			if (t == NULL)
				return end;
			if (t[-1] == ':')
				return t - 1;
			q = t;
			continue;
		}
		return q;
	}
}

/*
 * Could the host field also end at a later ") [B]" (a junk HELO holding
 * ") [A] ..." closed our "(" early), for an address B other than a? Only
 * where what follows "[B][:PORT]" and any I=, Ci= fields is what the
 * line's shape puts there (next: NULL-terminated prefixes; "" for the
 * line's end), or an ident (U=: anything may follow).
 */
static bool ambiguous(const char *q, const char *end, const struct bc_addr *a,
		      const char *const *next)
{
	const char *c, *r;
	struct bc_addr b;
	size_t i;
	bool ident;

	while ((c = BC_FIND(q, end, ") [")) != NULL) {
		const char *rb = memchr(c + 3, ']',
					(size_t)(end - c - 3 > 48 ? 48
								  : end - c - 3));

		q = c + 3;
		if (rb == NULL || bc_parse_addr(c + 3, rb, &b) < 0 ||
		    bc_addr_equal(a, &b))
			continue;
		r = rb + 1;
		if (r + 1 < end && *r == ':' && r[1] >= '0' && r[1] <= '9')
			r = bc_skip_digits(r + 1, end);
		r = skip_fields(r, end, &ident);
		if (ident)
			return true;
		for (i = 0; next[i] != NULL; i++)
			if (next[i][0] == '\0' ? r == end
						: bc_has_prefix(r, end, next[i],
								strlen(next[i])))
				return true;
	}
	return false;
}

/* What Exim writes after the host field and its I=, Ci= fields, per line
 * shape (an ident, U=, may be followed by anything). */
static const char *const after_auth[] = {": ", NULL};
static const char *const after_nomail[] = {" D=", NULL};
/* a line that starts with "H=" may be any of the lines Exim starts with
 * the host field: an ACL reject, a sender verify failure, an ACL warn,
 * an incomplete transaction, a discarded recipient */
static const char *const after_reject[] = {
	" X=", " CV=", " DN=", " SNI=", " F=", " rejected ",
	" temporarily rejected ", " sender verify ", " Warning: ",
	" incomplete transaction ", NULL};
static const char *const after_received[] = {" P=", NULL};
static const char *const after_tls[] = {" (", NULL};

/*
 * Strict host field at p (after "H=" if any). Returns the byte after
 * [ADDR][:PORT], or NULL. *bad: the brackets were there but ADDR is not an
 * address.
 */
static const char *host_field_amb(const char *p, const char *end,
				  struct bc_addr *a, bool *bad, bool *amb,
				  const char *const *next)
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
	if (helo && next != NULL && ambiguous(q, end, a, next)) {
		*amb = true;
		return NULL;
	}
	return q;
}

static const char *host_field(const char *p, const char *end,
			      struct bc_addr *a, bool *bad,
			      const char *const *next)
{
	bool amb = false;

	return host_field_amb(p, end, a, bad, &amb, next);
}

/* The only occurrence of lit in [q, end), or NULL (none, or several). */
static const char *only(const char *q, const char *end, const char *lit,
			size_t n)
{
	const char *f = bc_find(q, end, lit, n);

	if (f == NULL || bc_find(f + 1, end, lit, n) != NULL)
		return NULL;
	return f;
}
#define ONLY(q, end, lit) only((q), (end), (lit), sizeof(lit) - 1)

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

/* ": DDD " at c? */
static bool code_at(const char *c, const char *end)
{
	return end - c >= 6 && c[0] == ':' && c[1] == ' ' && c[2] >= '1' &&
	       c[2] <= '5' && c[3] >= '0' && c[3] <= '9' && c[4] >= '0' &&
	       c[4] <= '9' && c[5] == ' ';
}

/* The kind of an authenticator's reply CODE text at c: 0 for none. */
static int code_kind(const char *c, const char *end)
{
	if (c[0] != '5')
		return 0; /* 435 Unable to authenticate at present */
	if (BC_PREFIX(c, end, "501 Authentication cancelled"))
		return BC_KIND_AUTH_ABORT;
	return BC_KIND_AUTH_FAIL;
}

/*
 * NAME authenticator failed for HOST[ I=..][ U=IDENT]: CODE text
 * The code follows ": " right after the server's fields. After an ident
 * (client text, spaces allowed) every ": DDD " of the rest of the line
 * may be it: they must all give the same kind, or the line is no event.
 */
static enum bc_parse_result auth_failed(struct bc_parser *p,
					const struct bc_line *l, long pid,
					const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, ident, near;
	const char *c, *r;
	enum bc_kind kind;

	if (BC_PREFIX(q, end, "H="))
		q += 2;
	q = host_field(q, end, &a, &bad, after_auth);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	c = skip_fields(q, end, &ident);
	if (ident) {
		/* every ": DDD " after the ident may be the code: all must
		 * give the same kind */
		int k = -1;

		for (r = c, c = NULL; (r = BC_FIND(r, end, ": ")) != NULL; r++) {
			if (!code_at(r, end))
				continue;
			if (k >= 0 && code_kind(r + 2, end) != k)
				return BC_PARSE_NOMATCH; /* two readings */
			k = code_kind(r + 2, end);
			if (c == NULL)
				c = r;
		}
		if (c == NULL)
			return BC_PARSE_NOMATCH;
	}
	if (!code_at(c, end))
		return BC_PARSE_NOMATCH;
	c += 2;
	if (code_kind(c, end) == 0)
		return BC_PARSE_NOMATCH; /* 435 Unable to authenticate at present */
	kind = (enum bc_kind)code_kind(c, end);
	s = session_near(p, pid, &a, l->time_ms, EX_SAME_MS, &near);
	/* the client hung up inside TLS during AUTH: Exim then logs the
	 * unfinished exchange as a 535 (see tls_dropped) */
	if (s->aborted == 2) {
		s->aborted = 0;
		if (near && kind == BC_KIND_AUTH_FAIL) {
			s->aborted = 1;
			s->last_auth_failed = 0;
			bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "exim");
			return BC_PARSE_MATCH;
		}
	}
	if (kind == BC_KIND_AUTH_FAIL) {
		if (s->fails < UINT16_MAX)
			s->fails++;
		s->last_auth_failed = 1;
		/* a dovecot authenticator: Dovecot's auth process may have
		 * counted this attempt already */
		if (!bc_parse_pair(p, l, &a, true))
			return BC_PARSE_NOMATCH;
	} else {
		if (s->aborted == 1)
			return BC_PARSE_NOMATCH;
		s->last_auth_failed = 0;
		s->aborted = 1;
	}
	bc_parse_emit(p, l, kind, &a, "exim");
	return BC_PARSE_MATCH;
}

/*
 * no MAIL in SMTP connection from HOST[ I=..][ U=IDENT] D=dur[ A=x][ X=..]
 * [ C=LIST]. After an ident, D= must be the only one of the line. C= is
 * written last (SNI= and DN= before it are client text): a list ending in
 * AUTH is a client that left with AUTH as its last command (no QUIT): an
 * auth_abort unless the session authenticated or an abort was counted.
 */
static enum bc_parse_result no_mail(struct bc_parser *p,
				    const struct bc_line *l, long pid,
				    const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, ident;
	const char *c, *last;
	int n = 0;

	q = host_field(q, end, &a, &bad, after_nomail);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end, &ident);
	if (ident)
		q = ONLY(q, end, " D=");
	if (q == NULL || !BC_PREFIX(q, end, " D="))
		return BC_PARSE_NOMATCH;
	q = memchr(q + 3, ' ', (size_t)(end - q - 3));
	s = session(p, pid, &a, l->time_ms);
	if (q != NULL && BC_PREFIX(q, end, " A=") && !s->succeeded) {
		s->succeeded = 1;
		bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, "exim");
		n++;
	}
	c = BC_RFIND(l->msg, end, " C=");
	if (c != NULL && c + 3 < end) {
		c += 3;
		last = memrchr(c, ',', (size_t)(end - c));
		last = last ? last + 1 : c;
		if (end - last == 4 && memcmp(last, "AUTH", 4) == 0 &&
		    memchr(c, ' ', (size_t)(end - c)) == NULL &&
		    s->aborted != 1 && !s->succeeded &&
		    !(s->last_auth_failed && s->backend)) {
			bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "exim");
			n++;
		}
	}
	bc_parse_session_end(p, s);
	return n ? BC_PARSE_MATCH : BC_PARSE_NOMATCH;
}

/*
 * Could ARG ([p, e)) not be a MAIL/RCPT argument that Exim accepted?
 * Exim's address parser (parse_extract_address) ends a <route-addr> at
 * its first '>' outside quoted strings, comments and domain literals (a
 * second '>' closes strip_excess_angle_brackets' extra '<'); after it only
 * white space and comments may follow. Before any '<', a ':' is refused
 * (group syntax is off for SMTP). Anything else was refused with a 501
 * before any ACL ran. An unfinished quoted string, comment or literal is
 * refused too, unless ARG is exactly 100 bytes (Exim 4.95 and later log
 * no more of it); an escape outside them claims nothing.
 */
static bool arg_impossible(const char *p, const char *e)
{
	const char *c;
	bool lt = false, cut = e - p == 100;
	int depth;

	for (c = p; c < e; c++) {
		switch (*c) {
		case '"':
			for (c++; c < e && *c != '"'; c++)
				if (*c == '\\')
					c++;
			if (c >= e)
				return !cut;
			break;
		case '[':
			for (c++; c < e && *c != ']'; c++)
				if (*c == '\\')
					c++;
			if (c >= e)
				return !cut;
			break;
		case '(':
			for (depth = 1, c++; c < e && depth > 0; c++) {
				if (*c == '\\')
					c++;
				else if (*c == '(')
					depth++;
				else if (*c == ')')
					depth--;
			}
			if (depth > 0)
				return !cut;
			c--;
			break;
		case '\\':
			return false;
		case '<':
			lt = true;
			break;
		case ':':
			if (!lt)
				return true;
			break;
		case '>':
			while (c < e && (*c == '>' || *c == ' ' || *c == '\t'))
				c++;
			return c < e && *c != '(';
		default:
			break;
		}
	}
	return false;
}

/*
 * The message of "rejected MAIL|RCPT ARG: MESSAGE" with ARG at a: the
 * first reading's message when every possible reading is a sender
 * violation, else NULL (see the top of this file).
 */
static const char *reject_reason(const struct bc_parser *p, const char *a,
				 const char *end)
{
	const char *r, *first = NULL;

	/* no message at all: ARG runs to the end */
	if (!arg_impossible(a, end))
		return NULL;
	for (r = a; (r = BC_FIND(r, end, ": ")) != NULL; r++) {
		if (bc_parse_is_owner_reason(r + 2, end) ||
		    bc_parse_is_reason(p, BC_FMT_EXIM, ex_reasons, EX_NREASONS,
				       r + 2, end)) {
			if (first == NULL)
				first = r + 2;
		} else if (!arg_impossible(a, r)) {
			return NULL;
		}
	}
	return first;
}

/* The byte after " NAME=TOKEN" at q (a space before m), or NULL. */
static const char *token_end(const char *q, const char *m)
{
	return q < m ? memchr(q, ' ', (size_t)(m - q)) : NULL;
}

/*
 * Exim's TLS fields (log selectors tls_cipher, tls_certificate_verified,
 * tls_peerdn, tls_sni): " X=cipher", " CV=yes|no", " DN="subject"",
 * " SNI=name", each optional, in that order. Returns the byte after them
 * or NULL. DN and SNI are client text; the caller has found its anchor
 * (m) already.
 */
static const char *skip_tls(const char *q, const char *m)
{
	if (BC_PREFIX(q, m, " X=") && (q = token_end(q + 3, m)) == NULL)
		return NULL;
	if (BC_PREFIX(q, m, " CV=") && (q = token_end(q + 4, m)) == NULL)
		return NULL;
	/* DN="subject" and SNI=name are client text (and the last TLS
	 * fields): the rest up to the anchor is skipped with them */
	if (BC_PREFIX(q, m, " DN=\"") || BC_PREFIX(q, m, " SNI="))
		return m - 1;
	return q;
}

/*
 * Where Exim wrote "rejected" after the host field's end q, when every
 * field before it can be read: X= and CV= tokens, then " F=<S>" (S read
 * as Exim logs an address: a quoted local part may hold anything, '>'
 * outside quotes ends it) and " A=auth:id", then " [temporarily ]rejected".
 * NULL when a field is client text of unknown end (an ident, DN=, SNI=)
 * or the fields are not these.
 */
static const char *exact_marker(const char *q, const char *end, bool ident)
{
	const char *c;

	if (ident)
		return NULL;
	if (BC_PREFIX(q, end, " X=") && (q = memchr(q + 3, ' ', (size_t)(end - q - 3))) == NULL)
		return NULL;
	if (BC_PREFIX(q, end, " CV=") && (q = memchr(q + 4, ' ', (size_t)(end - q - 4))) == NULL)
		return NULL;
	if (BC_PREFIX(q, end, " DN=") || BC_PREFIX(q, end, " SNI="))
		return NULL;
	if (BC_PREFIX(q, end, " F=<")) {
		for (c = q + 4; c < end && *c != '>'; c++)
			if (*c == '"')
				for (c++; c < end && *c != '"'; c++)
					if (*c == '\\')
						c++;
		if (c >= end)
			return NULL;
		q = c + 1;
	} else if (BC_PREFIX(q, end, " F=")) {
		/* older Exim: F=sender, no brackets */
		if ((q = memchr(q + 3, ' ', (size_t)(end - q - 3))) == NULL)
			return NULL;
	}
	if (BC_PREFIX(q, end, " A=") && (q = memchr(q + 3, ' ', (size_t)(end - q - 3))) == NULL)
		return NULL;
	if (BC_PREFIX(q, end, " temporarily rejected "))
		return q + 13;
	if (BC_PREFIX(q, end, " rejected "))
		return q + 1;
	return NULL;
}

/*
 * H=HOST[ I=..][ X=.. CV=..[ DN=".."]] [F=<S>[ A=..] ][temporarily ]rejected
 * RCPT|MAIL ARG: MESSAGE. Exim's fields between the host and "rejected"
 * are checked; the F=<S> sender (client text) is skipped by taking the
 * only "rejected MAIL|RCPT " of the line. Lines with an ident (U=) are no
 * event: its spaces could hide another line's shape.
 */
static enum bc_parse_result rejected(struct bc_parser *p,
				     const struct bc_line *l, long pid,
				     const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, ident;
	const char *m = NULL, *c, *r;

	q = host_field(q, end, &a, &bad, after_reject);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end, &ident);
	m = exact_marker(q, end, ident);
	if (m == NULL) {
		/* an ident, or DN= or SNI= (client text): Exim's "rejected
		 * WHAT" (WHAT: RCPT, MAIL, DATA, after DATA, connection...)
		 * must be the only one of the line */
		for (c = q; (c = BC_FIND(c, end, " rejected ")) != NULL; c++) {
			const char *w = c + 10;

			if (!(w < end && ((*w >= 'A' && *w <= 'Z') ||
					  BC_PREFIX(w, end, "after ") ||
					  BC_PREFIX(w, end, "during ") ||
					  BC_PREFIX(w, end, "connection"))))
				continue;
			if (m != NULL)
				return BC_PARSE_NOMATCH;
			m = c + 1;
		}
		if (m == NULL)
			return BC_PARSE_NOMATCH;
		if (ident) {
			/* the other lines that start with the host field
			 * (sender verify, ACL warn, incomplete transaction,
			 * discarded RCPT) could hide in the ident: none of
			 * their words */
			if (BC_FIND(q, end, " sender verify ") != NULL ||
			    BC_FIND(q, end, " Warning: ") != NULL ||
			    BC_FIND(q, end, " incomplete transaction (") != NULL ||
			    BC_FIND(q, end, ": discarded by ") != NULL)
				return BC_PARSE_NOMATCH;
			q = m - 1;
		}
		/* Exim's TLS fields, then " F=<S>..." or "rejected" */
		q = skip_tls(q, m);
		if (q == NULL || (q != m - 1 && !BC_PREFIX(q, m, " F=")))
			return BC_PARSE_NOMATCH;
	}
	if (!BC_PREFIX(m, end, "rejected RCPT ") &&
	    !BC_PREFIX(m, end, "rejected MAIL "))
		return BC_PARSE_NOMATCH;
	if (m - q >= 13 && memcmp(m - 12, "temporarily ", 12) == 0)
		return BC_PARSE_NOMATCH; /* a defer */
	r = reject_reason(p, m + 14, end);
	if (r == NULL)
		return BC_PARSE_NOMATCH;
	/* one F=<> per session counts once, like Postfix (no pid: one
	 * transaction's recipients are logged within a moment) */
	{
		const char *f = BC_PREFIX(q, m, " F=") ? q : NULL;
		const char *fe = f ? memchr(f + 1, ' ', (size_t)(m - f - 1)) : NULL;
		uint64_t key;
		bool near;

		/* a MAIL reject has no F=: its argument is the sender */
		if (f == NULL || fe == NULL) {
			f = m;
			fe = r - 2;
		}
		key = bc_parse_hash(f, (size_t)(fe - f), 7);

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
	bool bad = false, ident;
	const char *sp, *pr, *pe;

	/* the sender ends at the first space outside a quoted local part
	 * (Exim logs the address it accepted: its quotes are paired) */
	for (sp = q; sp < end && *sp != ' '; sp++)
		if (*sp == '"')
			for (sp++; sp < end && *sp != '"'; sp++)
				if (*sp == '\\')
					sp++;
	if (sp >= end)
		return BC_PARSE_NOMATCH;
	q = sp;
	if (BC_PREFIX(q, end, " R=")) {
		q = memchr(q + 3, ' ', (size_t)(end - q - 3));
		if (q == NULL)
			return BC_PARSE_NOMATCH;
	}
	if (!BC_PREFIX(q, end, " H="))
		return BC_PARSE_NOMATCH;
	q = host_field(q + 3, end, &a, &bad, after_received);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	q = skip_fields(q, end, &ident);
	/* P= comes right after the host (and I=): server text; after an
	 * ident, only when it is the only P= of the line */
	if (ident)
		q = ONLY(q, end, " P=");
	if (q == NULL || !BC_PREFIX(q, end, " P="))
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

/*
 * SMTP protocol error in "CMD" H=HOST[ I=..][ U=IDENT] AUTH command used
 * when not advertised. CMD before the host field and the ident after it
 * are client text, and either may hold '" H=': every '" H=' of the line
 * is read as the host field's start, and, where the field has a HELO,
 * every later ") [B]" as the end of a junk HELO. Readings whose rest is
 * not the line's (fields, then the fixed tail) are dropped; the others
 * must name one address.
 */
static bool notadv_rest(const char *r, const char *te, const char *end)
{
	bool ident;

	if (r + 1 < end && *r == ':' && r[1] >= '0' && r[1] <= '9')
		r = bc_skip_digits(r + 1, end);
	r = skip_fields(r, end, &ident);
	return ident ? r <= te : r == te;
}

static enum bc_parse_result auth_not_advertised(struct bc_parser *p,
						const struct bc_line *l,
						long pid, const char *q,
						const char *end)
{
	static const char tail[] = " AUTH command used when not advertised";
	const char *te = end - (sizeof(tail) - 1);
	struct bc_addr a, b;
	bool bad = false, amb = false, found = false;
	const char *h, *r, *c;

	if (!BC_SUFFIX(q, end, " AUTH command used when not advertised"))
		return BC_PARSE_NOMATCH;
	for (h = q; (h = BC_FIND(h, te, "\" H=")) != NULL; h++) {
		const char *f = h + 4;

		/* the strict reading; the junk HELO ones follow */
		r = host_field_amb(f, end, &b, &bad, &amb, NULL);
		if (r != NULL && notadv_rest(r, te, end)) {
			if (found && !bc_addr_equal(&a, &b))
				return BC_PARSE_NOMATCH;
			a = b;
			found = true;
		}
		/* a HELO, junk or not: every later ") [B]" may end it */
		c = memchr(f, ' ', (size_t)(te - f > EX_FIELD_MAX ? EX_FIELD_MAX : te - f));
		if (*f != '(' && (c == NULL || c + 1 >= te || c[1] != '('))
			continue;
		for (c = f; (c = BC_FIND(c, te, ") [")) != NULL; c++) {
			const char *rb = memchr(c + 3, ']', (size_t)(end - c - 3 > 48 ? 48 : end - c - 3));

			if (rb == NULL || bc_parse_addr(c + 3, rb, &b) < 0 ||
			    !notadv_rest(rb + 1, te, end))
				continue;
			if (found && !bc_addr_equal(&a, &b))
				return BC_PARSE_NOMATCH;
			a = b;
			found = true;
		}
	}
	if (!found)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
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
		       bc_alnum(*q))
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
 * The client hung up. Right after a logged failure (a moment later, or in
 * the same +pid session) it left after a failed AUTH without QUIT: an
 * auth_abort (docs/detection.md). If it hung up inside AUTH, Exim logs the
 * unfinished exchange next as "535 Incorrect authentication data": that
 * 535 is then the auth_abort, not a wrong password.
 */
static enum bc_parse_result tls_dropped(struct bc_parser *p,
					const struct bc_line *l, long pid,
					const char *q, const char *end)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, near;

	q = host_field(q, end, &a, &bad, after_tls);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!BC_PREFIX(q, end, " (recv): The TLS connection was non-properly terminated."))
		return BC_PARSE_NOMATCH;
	s = session_near(p, pid, &a, l->time_ms, EX_SAME_MS, &near);
	if (s->aborted || s->succeeded)
		return BC_PARSE_NOMATCH;
	if (near && s->last_auth_failed) {
		s->aborted = 1;
		bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "exim");
		return BC_PARSE_MATCH;
	}
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
