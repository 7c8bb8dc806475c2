/*
 * logparse/sendmail.c - events from Sendmail (sm-mta, sendmail) syslog lines.
 *
 * Untrusted: the whole message. Sendmail writes the client as
 *     relay=[NAME ][ADDR][ (may be forged)]      ADDR: 192.0.2.7 or IPv6:2001:db8::1
 * and attacker text (user=, arg1=<...>, the address echoed in reject=)
 * can sit before it. The relay field is read only where it is the
 * server's: the last field of an "AUTH failure" line (nothing follows it
 * but "(may be forged)"), right after "AUTH=server, ", right before
 * ", reject=" in a ruleset line, and between "lost input channel from "
 * and " to ".
 *
 *   QID: AUTH failure (MECH): REASON, user=U, relay=R
 *   QID: lost input channel from R to MTA after auth
 *   QID: ruleset=check_rcpt, arg1=<A>, relay=R, reject=550 5.7.1 <A>... Relaying denied
 *   QID: ruleset=check_mail, arg1=<S>, relay=R, reject=553 5.7.1 <S>... Sender address rejected: not logged in
 *   AUTH=server, relay=R, authid=U, mech=M, bits=N
 *
 * In a ruleset line a ", relay=" ends arg1 (client text, which may hold
 * one too); the reject text is then "CODE D.S.N " + arg1 + "... " +
 * REASON, so the reason starts at a known byte, and only there is it read:
 * every ", relay=" is tried, and the readings that fit must agree. A 5xx
 * check_mail reject is a sender violation when its reason says who may
 * use the sender (Sendmail has no such check of its own: a site adds one
 * to check_mail, in the wordings of bc_parse_is_owner_reason or its own [detect]
 * ones); Sendmail's other check_mail rejects (5.1.8, the sender's domain
 * does not exist; an access-map "Access denied" for the sender) are about
 * the sender's system, which an honest forwarder passes on, and are not.
 * check_rcpt ones count when the reason is "Relaying denied" or a
 * site-defined reason.
 *
 * Sessions are keyed by the process id (one sendmail child per SMTP
 * connection: "AUTH=server" has no queue id, the other lines of the
 * connection may have several), or by the queue id when there is none.
 *
 * logparse/ is the only code that reads attacker text; this scanner sees
 * a line already framed (logparse/syslog.c). bc_scan_sendmail returns
 * MALFORMED when a recognised message carries an address field that does
 * not validate; the events it finds go to the parser's queue
 * (bc_parse_emit), which is what bc_parser_feed hands out, and its state
 * to the parser's bounded session table. Nothing keeps a pointer into the
 * line; nothing is printed.
 */
#include "logparse/internal.h"

#define SM_TAG 3
#define SM_NAME_MAX 256

/* SASL errors that blame the server's side (saslauthd down, no mechs). */
static bool backend_failure(const char *p, const char *end)
{
	return BC_PREFIX(p, end, "generic failure") ||
	       BC_PREFIX(p, end, "no mechanism available") ||
	       BC_PREFIX(p, end, "temporary failure") ||
	       BC_PREFIX(p, end, "can't request info until later");
}

/* [NAME ][ADDR][ (may be forged)] at p; returns the byte after it. */
static const char *relay_field(const char *p, const char *end,
			       struct bc_addr *a, bool *bad)
{
	const char *q = p, *rb;

	if (q < end && *q != '[') {
		const char *lim = end - q > SM_NAME_MAX ? q + SM_NAME_MAX : end;
		const char *sp = memchr(q, ' ', (size_t)(lim - q));

		if (sp == NULL || memchr(q, '[', (size_t)(sp - q)) != NULL ||
		    memchr(q, ',', (size_t)(sp - q)) != NULL)
			return NULL;
		q = sp + 1;
	}
	if (q >= end || *q != '[')
		return NULL;
	rb = memchr(q, ']', (size_t)(end - q > 56 ? 56 : end - q));
	if (rb == NULL) {
		*bad = true;
		return NULL;
	}
	if (bc_parse_addr(q + 1, rb, a) < 0) {
		*bad = true;
		return NULL;
	}
	q = rb + 1;
	if (BC_PREFIX(q, end, " (may be forged)"))
		q += 16;
	return q;
}

static struct bc_sess *session(struct bc_parser *p, const struct bc_line *l,
			       const char *qid, size_t n,
			       const struct bc_addr *a)
{
	if (l->pid >= 0)
		return bc_parse_session(p, SM_TAG, "pid", 3, l->pid, a,
					l->time_ms);
	if (n == 0)
		return NULL;
	return bc_parse_session(p, SM_TAG, qid, n, 0, a, l->time_ms);
}

/* Reject reasons of check_rcpt that are sender violations. */
static const struct bc_lit sm_reasons[] = {
	BC_LIT("Relaying denied"),
};

/*
 * One reading of a ruleset line: ", relay=" at rel ends arg1 (arg at
 * arg). Returns the reason, or NULL when the line cannot be read that way
 * (relay= is no relay field, no ", reject=5DD D.S.N " after it, or the
 * reject text does not echo arg1). Fills *a; *bad for a relay field whose
 * address does not validate.
 */
static const char *ruleset_reading(const char *arg, const char *rel,
				   const char *end, struct bc_addr *a,
				   bool *bad)
{
	const char *r, *c;

	r = relay_field(rel + 8, end, a, bad);
	if (r == NULL)
		return NULL;
	/* ", reject=5DD D.S.N " (5xx only: a 4xx is a deferral) */
	if (!BC_PREFIX(r, end, ", reject=5") || end - r < 13 ||
	    r[10] < '0' || r[10] > '9' || r[11] < '0' || r[11] > '9' ||
	    r[12] != ' ')
		return NULL;
	c = r + 13;
	if (c < end && *c >= '2' && *c <= '5') {
		const char *d = c + 1;

		if (d >= end || *d != '.')
			return NULL;
		d = bc_skip_digits(d + 1, end);
		if (d >= end || *d != '.')
			return NULL;
		d = bc_skip_digits(d + 1, end);
		if (d >= end || *d != ' ')
			return NULL;
		c = d + 1;
	}
	/* the reject text repeats arg1, then "... " and the reason */
	if ((size_t)(end - c) < (size_t)(rel - arg) + 4 ||
	    memcmp(c, arg, (size_t)(rel - arg)) != 0 ||
	    memcmp(c + (rel - arg), "... ", 4) != 0)
		return NULL;
	return c + (rel - arg) + 4;
}

/*
 * QID: ruleset=check_rcpt|check_mail, arg1=A, relay=R, reject=CODE D.S.N A... REASON
 * (q after "ruleset="). arg1 is client text and may hold ", relay=":
 * every ", relay=" is read as arg1's end; readings that cannot be the
 * line's shape are dropped, the others must agree on the address and on
 * the verdict.
 */
static enum bc_parse_result ruleset(struct bc_parser *p,
				    const struct bc_line *l, const char *q,
				    const char *end, const char *qid,
				    size_t qid_len)
{
	const char *arg, *rel, *c;
	struct bc_addr a, b;
	struct bc_sess *s;
	bool bad = false, mail, found = false, viol = false;
	uint64_t key;

	if (BC_PREFIX(q, end, "check_mail, arg1="))
		mail = true;
	else if (BC_PREFIX(q, end, "check_rcpt, arg1="))
		mail = false;
	else
		return BC_PARSE_NOMATCH;
	arg = q + 17;
	for (rel = arg; (rel = BC_FIND(rel, end, ", relay=")) != NULL; rel++) {
		bool v;

		c = ruleset_reading(arg, rel, end, &b, &bad);
		if (c == NULL)
			continue;
		/* check_mail: a sender-ownership wording, built in or the
		 * site's (no list of check_mail's own) */
		v = mail ? bc_parse_is_owner_reason(c, end) ||
				   bc_parse_is_reason(p, BC_FMT_SENDMAIL, NULL, 0, c, end)
			 : bc_parse_is_reason(p, BC_FMT_SENDMAIL, sm_reasons,
					      sizeof(sm_reasons) / sizeof(sm_reasons[0]),
					      c, end);
		if (found && (v != viol || !bc_addr_equal(&a, &b)))
			return BC_PARSE_NOMATCH; /* two readings */
		a = b;
		viol = v;
		found = true;
	}
	if (!found)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!viol)
		return BC_PARSE_NOMATCH;
	/* all recipients of one transaction (queue id) count once */
	key = bc_parse_hash(qid, qid_len, mail ? 13 : 11) | 1;
	s = session(p, l, qid, qid_len, &a);
	if (s != NULL) {
		if (s->sv_key == key)
			return BC_PARSE_NOMATCH;
		s->sv_key = key;
	}
	bc_parse_emit(p, l, BC_KIND_SENDER_VIOLATION, &a, "sendmail");
	return BC_PARSE_MATCH;
}

enum bc_parse_result bc_scan_sendmail(struct bc_parser *p,
				      const struct bc_line *l)
{
	const char *q = l->msg, *end = l->msg + l->msg_len, *qid = q, *r;
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, backend;
	size_t qid_len = 0;

	/* QID: [0-9A-Za-z]{8,20} ": " (absent on some connection lines) */
	while (q < end && q - qid < 24 &&
	       bc_alnum(*q))
		q++;
	if (q - qid >= 8 && BC_PREFIX(q, end, ": ")) {
		qid_len = (size_t)(q - qid);
		q += 2;
	} else {
		q = qid;
	}
	if (end - q < 16)
		return BC_PARSE_NOMATCH;

	if (BC_PREFIX(q, end, "AUTH failure (")) {
		r = memchr(q + 14, ')', (size_t)(end - q - 14));
		if (r == NULL || !BC_PREFIX(r, end, "): "))
			return BC_PARSE_NOMATCH;
		backend = backend_failure(r + 3, end);
		/* relay= is the last field; user= before it is client text */
		r = BC_RFIND(r, end, ", relay=");
		if (r == NULL)
			return BC_PARSE_NOMATCH;
		r = relay_field(r + 8, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (r != end)
			return BC_PARSE_NOMATCH;
		s = session(p, l, qid, qid_len, &a);
		if (s != NULL) {
			if (s->fails < UINT16_MAX)
				s->fails++;
			s->last_auth_failed = 1;
			s->backend = backend;
		}
		if (backend)
			return BC_PARSE_NOMATCH;
		bc_parse_emit(p, l, BC_KIND_AUTH_FAIL, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, "lost input channel from ")) {
		/* the client left with AUTH as its last command: inside
		 * AUTH, or after a failed one (an auth_abort); after a
		 * successful one it is no abuse */
		r = relay_field(q + 24, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (!BC_PREFIX(r, end, " to ") || !BC_SUFFIX(r, end, " after auth"))
			return BC_PARSE_NOMATCH;
		s = session(p, l, qid, qid_len, &a);
		if (s != NULL) {
			if (s->aborted || s->succeeded ||
			    (s->last_auth_failed && s->backend))
				return BC_PARSE_NOMATCH;
			s->aborted = 1;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, "ruleset="))
		return ruleset(p, l, q + 8, end, qid, qid_len);
	if (BC_PREFIX(q, end, "AUTH=server, relay=")) {
		r = relay_field(q + 19, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (!BC_PREFIX(r, end, ", authid="))
			return BC_PARSE_NOMATCH;
		s = session(p, l, qid, qid_len, &a);
		if (s != NULL) {
			s->last_auth_failed = 0;
			if (s->succeeded)
				return BC_PARSE_NOMATCH;
			s->succeeded = 1;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	/* the connection's end (LogLevel 9 and up): forget its session */
	if (l->pid >= 0 && BC_SUFFIX(q, end, " did not issue MAIL/EXPN/VRFY/ETRN during connection to MSA")) {
		s = bc_parse_session(p, SM_TAG, "pid", 3, l->pid, NULL, 0);
		bc_parse_session_end(p, s);
	}
	return BC_PARSE_NOMATCH;
}
