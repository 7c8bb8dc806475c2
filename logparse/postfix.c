/*
 * logparse/postfix.c - events from Postfix smtpd messages.
 *
 * Untrusted: the whole message. Attacker text in these lines: the client
 * name (rDNS, forward-confirmed or "unknown"), helo=<>, from=<>, to=<>,
 * the recipient in "<...>:" of rejects, sasl_username=. The address is
 * read only from the client field at a fixed position:
 *
 *   connect from NAME[ADDR]
 *   warning: NAME[ADDR][:PORT]: SASL MECH authentication failed: REASON[, sasl_username=U]
 *   warning: NAME[ADDR][:PORT]: SASL MECH authentication aborted
 *   [QUEUEID: ]lost connection after AUTH from NAME[ADDR]      (also "timeout after AUTH")
 *   disconnect from NAME[ADDR] ehlo=1 auth=0/1 quit=1 commands=2/3
 *   QUEUEID: client=NAME[ADDR], sasl_method=PLAIN, sasl_username=U
 *   QUEUEID|NOQUEUE: reject: RCPT|MAIL from NAME[ADDR]: CODE DSN <X>: REASON; from=<S> to=<R> ...
 *
 * NAME never holds a space or '['; ADDR ends at the first ']'. Words that
 * decide the kind sit at fixed places right after the client field. The
 * reason of a reject is read only at its own place: after the reply code,
 * the enhanced status and the "<X>: " that Postfix writes around the
 * address it rejects, and before the "; from=<" that opens Postfix's
 * trailer. X, and from=<>, to=<>, helo=<> after it, are client text and
 * may hold ">: " and "; from=<" themselves, so every ">: " followed by a
 * letter (smtpd's reasons start with one) between the '<' and the last
 * "; from=<" is a possible end of X: the line counts only when the reason
 * read after each of them is a sender violation (the true one is among
 * them, so a reject whose true reason is something else is never
 * counted; docs/detection.md).
 *
 * Sessions (keyed by program + pid, smtpd serves one client at a time)
 * make one attempt count once: a failed AUTH and the "auth=0/1" of its
 * disconnect are one attempt; the rejects of one MAIL transaction (same
 * from=<>) count once. A client that drops the connection right after AUTH
 * ("lost connection after AUTH") is judged at the disconnect, which tells
 * whether the session authenticated: an auth_abort unless it did (a
 * failed AUTH then a drop is the bots' pattern, counted as an abort on top
 * of the failure). An SMTP AUTH failure that Dovecot's auth process also
 * logged counts once (bc_parse_pair).
 *
 * logparse/ is the only code that reads attacker text; this scanner sees
 * a line already framed (logparse/syslog.c). bc_scan_postfix returns
 * MALFORMED when a recognised message carries an address field that does
 * not validate; the events it finds go to the parser's queue
 * (bc_parse_emit), which is what bc_parser_feed hands out, and its state
 * to the parser's bounded session table. Nothing keeps a pointer into the
 * line; nothing is printed.
 */
#include "logparse/internal.h"

#define PF_TAG 1
#define PF_NAME_MAX 256 /* longest client name looked at */

/* Reasons that blame the server's own SASL backend, not the client. */
static const struct bc_lit backend_fail[] = {
	BC_LIT("Connection lost to authentication server"),
	BC_LIT("Can't connect to authentication server"),
	BC_LIT("Authentication backend error"),
	BC_LIT("Invalid authentication mechanism"), /* client asked, not guessed */
	BC_LIT("generic failure"),                  /* Cyrus: saslauthd down */
	BC_LIT("no mechanism available"),
};

/* Reject reasons that are sender violations (smtpd_check.c wordings). */
static const struct bc_lit pf_reasons[] = {
	BC_LIT("Relay access denied"),
	/* reject_*sender_login_mismatch; the user name follows */
	BC_LIT("Sender address rejected: not owned by user"),
	BC_LIT("Sender address rejected: not logged in"),
};
#define PF_NREASONS (sizeof(pf_reasons) / sizeof(pf_reasons[0]))

/*
 * NAME[ADDR][:PORT] at p. Returns the byte after it, or NULL if the text
 * is not a client field. *bad is set when the field is there but ADDR is
 * not an address.
 */
static const char *client_field(const char *p, const char *end,
				struct bc_addr *addr, bool *bad)
{
	const char *lim = end - p > PF_NAME_MAX ? p + PF_NAME_MAX : end;
	const char *lb = memchr(p, '[', (size_t)(lim - p));
	const char *rb, *q;

	if (lb == NULL || memchr(p, ' ', (size_t)(lb - p)) != NULL ||
	    memchr(p, ']', (size_t)(lb - p)) != NULL)
		return NULL;
	lim = end - lb > 48 ? lb + 48 : end;
	rb = memchr(lb + 1, ']', (size_t)(lim - lb - 1));
	if (rb == NULL) {
		*bad = true;
		return NULL;
	}
	if (bc_parse_addr(lb + 1, rb, addr) < 0) {
		*bad = true;
		return NULL;
	}
	q = rb + 1;
	if (q < end && *q == ':' && q + 1 < end && q[1] >= '0' && q[1] <= '9') {
		const char *d = bc_skip_digits(q + 1, end);

		if (d == end || *d == ':' || *d == ' ' || *d == ',')
			q = d;
	}
	return q;
}

/* "postfix/smtpd" from "postfix/submission/smtpd". */
static void service_name(const struct bc_line *l, char out[16])
{
	const char *s = l->prog, *e = l->prog + l->prog_len, *slash;
	size_t n;

	slash = memrchr(s, '/', l->prog_len);
	memcpy(out, "postfix/", 8);
	if (slash == NULL) {
		out[7] = '\0';
		return;
	}
	slash++;
	n = (size_t)(e - slash);
	if (n > 7)
		n = 7;
	memcpy(out + 8, slash, n);
	out[8 + n] = '\0';
}

static bool is_backend_failure(const char *p, const char *end)
{
	size_t i;

	for (i = 0; i < sizeof(backend_fail) / sizeof(backend_fail[0]); i++)
		if (bc_has_prefix(p, end, backend_fail[i].s, backend_fail[i].n))
			return true;
	return false;
}

static struct bc_sess *session(struct bc_parser *p, const struct bc_line *l,
			       const struct bc_addr *a)
{
	if (l->pid < 0)
		return NULL;
	return bc_parse_session(p, PF_TAG, l->prog, l->prog_len, l->pid, a,
				l->time_ms);
}

/* warning: NAME[ADDR]: SASL MECH authentication failed|aborted */
static enum bc_parse_result sasl_warning(struct bc_parser *p,
					 const struct bc_line *l,
					 const char *q, const char *end,
					 const char *svc)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, backend;
	const char *sp;

	q = client_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!BC_PREFIX(q, end, ": SASL "))
		return BC_PARSE_NOMATCH;
	q += 7;
	sp = memchr(q, ' ', (size_t)(end - q));
	if (sp == NULL || sp - q > 32)
		return BC_PARSE_NOMATCH;
	q = sp;
	if (BC_PREFIX(q, end, " authentication failed")) {
		q += 22;
		if (q < end && *q == ':')
			q++;
		if (q < end && *q == ' ')
			q++;
		/* a backend failure is not the client's fault and not an
		 * event; but counted in the session, its disconnect
		 * ("auth=0/1") does not turn it into an auth_abort either */
		backend = is_backend_failure(q, end);
		s = session(p, l, &a);
		if (s != NULL) {
			if (s->fails < UINT16_MAX)
				s->fails++;
			s->last_auth_failed = 1;
			s->backend = backend;
		}
		if (backend)
			return BC_PARSE_NOMATCH;
		/* Dovecot's auth process may have counted it already */
		if (!bc_parse_pair(p, l, &a, true))
			return BC_PARSE_NOMATCH;
		bc_parse_emit(p, l, BC_KIND_AUTH_FAIL, &a, svc);
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, " authentication aborted") &&
	    q + 23 == end) {
		/* each cancelled AUTH is an attempt of its own; the
		 * disconnect then adds none */
		s = session(p, l, &a);
		if (s != NULL) {
			s->aborted = 1;
			s->last_auth_failed = 0;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, svc);
		return BC_PARSE_MATCH;
	}
	return BC_PARSE_NOMATCH;
}

/*
 * lost connection after AUTH from NAME[ADDR] (also "timeout after AUTH").
 * The client left with AUTH as its last command: in the middle of an
 * exchange, or right after a failure or a success. When the session's
 * "connect from" was seen, its disconnect line follows and says whether
 * the session authenticated: the verdict waits for it. Otherwise (no pid,
 * a log read from the middle, an evicted session) it is an auth_abort at
 * once unless the session is known to have authenticated.
 */
static enum bc_parse_result lost_after_auth(struct bc_parser *p,
					    const struct bc_line *l,
					    const char *q, const char *end,
					    const char *svc)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;

	q = client_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (q != end)
		return BC_PARSE_NOMATCH;
	s = session(p, l, &a);
	if (s != NULL && s->connected) {
		s->lost = 1;
		return BC_PARSE_NOMATCH;
	}
	if (s != NULL) {
		if (s->aborted || s->succeeded ||
		    (s->last_auth_failed && s->backend))
			return BC_PARSE_NOMATCH;
		s->aborted = 1;
	}
	bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, svc);
	return BC_PARSE_MATCH;
}

/* "auth=S" or "auth=S/T" in the disconnect counters. */
static bool auth_counts(const char *q, const char *end, unsigned *succ,
			unsigned *total)
{
	const char *a = BC_FIND(q, end, " auth=");
	const char *d, *e;
	unsigned v = 0;

	if (a == NULL)
		return false;
	d = a + 6;
	e = bc_skip_digits(d, end);
	if (e == d || e - d > 6)
		return false;
	for (; d < e; d++)
		v = v * 10 + (unsigned)(*d - '0');
	*succ = *total = v;
	if (e < end && *e == '/') {
		d = e + 1;
		e = bc_skip_digits(d, end);
		if (e == d || e - d > 6)
			return false;
		for (v = 0; d < e; d++)
			v = v * 10 + (unsigned)(*d - '0');
		*total = v;
	}
	if (e != end && *e != ' ')
		return false;
	return *total >= *succ;
}

/*
 * disconnect from NAME[ADDR] ehlo=1 auth=S/T ... commands=N/M
 * The counters are server text after the client field (NAME and ADDR hold
 * no space). auth_success when S > 0 and not counted yet. auth_abort when
 * the session did not authenticate (S == 0) and either the client dropped
 * right after AUTH (a lost/timeout line), or some AUTH failed with no
 * failure line of its own (cancelled, refused before TLS): a session that
 * authenticated is no abuse, whatever AUTH commands it also got wrong.
 */
static enum bc_parse_result disconnect(struct bc_parser *p,
				       const struct bc_line *l, const char *q,
				       const char *end, const char *svc)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false, have, authed, abort = false;
	unsigned succ = 0, total = 0;
	int n = 0;

	q = client_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (q != end && *q != ' ')
		return BC_PARSE_NOMATCH;
	s = session(p, l, &a);
	have = auth_counts(q, end, &succ, &total);
	if (have && succ > 0 && !(s && s->succeeded)) {
		bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, svc);
		n++;
	}
	/* without counters (Postfix before 3.0) only the session knows */
	authed = have ? succ > 0 : (s != NULL && s->succeeded);
	if (!authed && !(s != NULL && s->aborted)) {
		if (s != NULL && s->lost)
			/* the drop, unless the server's backend failed */
			abort = !(s->last_auth_failed && s->backend);
		else if (have)
			abort = total - succ > (s ? s->fails : 0u);
	}
	if (abort) {
		bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, svc);
		n++;
	}
	if (s != NULL)
		bc_parse_session_end(p, s);
	return n ? BC_PARSE_MATCH : BC_PARSE_NOMATCH;
}

/* QUEUEID: client=NAME[ADDR], sasl_method=M, sasl_username=U */
static enum bc_parse_result client_line(struct bc_parser *p,
					const struct bc_line *l, const char *q,
					const char *end, const char *svc)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;

	q = client_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!BC_PREFIX(q, end, ", sasl_method="))
		return BC_PARSE_NOMATCH;
	s = session(p, l, &a);
	if (s != NULL) {
		s->last_auth_failed = 0;
		if (s->succeeded)
			return BC_PARSE_NOMATCH; /* next message, same login */
		s->succeeded = 1;
	}
	bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, svc);
	return BC_PARSE_MATCH;
}

/*
 * The reason of a reject, read at its place (see the top of this file):
 * q points after "NAME[ADDR]: ". Returns the first reading's reason when
 * every reading is a sender violation, else NULL.
 */
static const char *reject_reason(const struct bc_parser *p, const char *q,
				 const char *end)
{
	const char *x, *last, *r, *first = NULL;

	/* CODE SP [D.S.N SP] '<' */
	if (end - q < 6 || q[0] < '2' || q[0] > '5' || q[1] < '0' ||
	    q[1] > '9' || q[2] < '0' || q[2] > '9' || q[3] != ' ')
		return NULL;
	q += 4;
	if (q < end && *q >= '2' && *q <= '5' && q + 1 < end && q[1] == '.') {
		const char *d = bc_skip_digits(q + 2, end);

		if (d == q + 2 || d >= end || *d != '.')
			return NULL;
		q = bc_skip_digits(d + 1, end);
		if (q == d + 1 || q >= end || *q != ' ')
			return NULL;
		q++;
	}
	if (q >= end || *q != '<')
		return NULL;
	x = q + 1;
	/* the reason is followed by Postfix's "; from=<" */
	last = BC_RFIND(x, end, "; from=<");
	if (last == NULL)
		return NULL;
	for (r = x; (r = BC_FIND(r, last, ">: ")) != NULL; r++) {
		/* every reason smtpd writes starts with a letter ("Relay
		 * access denied", "Recipient address rejected: ...",
		 * "Client host rejected: ..."): after any other byte, this
		 * is no end of X */
		if (!((r[3] >= 'A' && r[3] <= 'Z') || (r[3] >= 'a' && r[3] <= 'z')))
			continue;
		if (!bc_parse_is_reason(p, BC_FMT_POSTFIX, pf_reasons,
					PF_NREASONS, r + 3, last))
			return NULL;
		if (first == NULL)
			first = r + 3;
	}
	return first;
}

/* reject: RCPT|MAIL from NAME[ADDR]: CODE D.S.N <X>: REASON; from=<S> ... */
static enum bc_parse_result reject_line(struct bc_parser *p,
					const struct bc_line *l, const char *q,
					const char *end, const char *svc)
{
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	const char *r, *f, *fe;
	uint64_t key;

	q = client_field(q, end, &a, &bad);
	if (q == NULL)
		return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
	if (!BC_PREFIX(q, end, ": "))
		return BC_PARSE_NOMATCH;
	r = reject_reason(p, q + 2, end);
	if (r == NULL)
		return BC_PARSE_NOMATCH;
	/* one MAIL transaction (its from=<>) counts once per session */
	f = BC_FIND(r, end, "; from=<");
	fe = f ? memchr(f, '>', (size_t)(end - f)) : NULL;
	key = f && fe ? bc_parse_hash(f, (size_t)(fe - f), 7) : 7;
	s = session(p, l, &a);
	if (s != NULL) {
		if (s->sv_key == key)
			return BC_PARSE_NOMATCH;
		s->sv_key = key;
	}
	bc_parse_emit(p, l, BC_KIND_SENDER_VIOLATION, &a, svc);
	return BC_PARSE_MATCH;
}

/* [0-9A-Za-z]+ ": " (a queue id) or "NOQUEUE: " at q; returns after it. */
static const char *skip_queue_id(const char *q, const char *end)
{
	const char *s = q, *lim = end - q > 32 ? q + 32 : end;

	while (q < lim && bc_alnum(*q))
		q++;
	if (q == s || !BC_PREFIX(q, end, ": "))
		return NULL;
	return q + 2;
}

enum bc_parse_result bc_scan_postfix(struct bc_parser *p,
				     const struct bc_line *l)
{
	const char *q = l->msg, *end = l->msg + l->msg_len, *r;
	char svc[16];

	if (l->msg_len < 16)
		return BC_PARSE_NOMATCH;
	service_name(l, svc);
	switch (*q) {
	case 'c':
		if (BC_PREFIX(q, end, "connect from ")) {
			struct bc_addr a;
			bool bad = false;

			r = client_field(q + 13, end, &a, &bad);
			if (r == NULL)
				return bad ? BC_PARSE_MALFORMED
					   : BC_PARSE_NOMATCH;
			if (r == end && l->pid >= 0) {
				struct bc_sess *s = session(p, l, &a);

				bc_parse_session_restart(p, s, &a, l->time_ms);
				s->connected = 1;
			}
			return BC_PARSE_NOMATCH;
		}
		break;
	case 'w':
		if (BC_PREFIX(q, end, "warning: "))
			return sasl_warning(p, l, q + 9, end, svc);
		break;
	case 'l':
		if (BC_PREFIX(q, end, "lost connection after AUTH from "))
			return lost_after_auth(p, l, q + 32, end, svc);
		break;
	case 't':
		if (BC_PREFIX(q, end, "timeout after AUTH from "))
			return lost_after_auth(p, l, q + 24, end, svc);
		break;
	case 'd':
		if (BC_PREFIX(q, end, "disconnect from "))
			return disconnect(p, l, q + 16, end, svc);
		break;
	default:
		break;
	}
	r = skip_queue_id(q, end);
	if (r == NULL)
		return BC_PARSE_NOMATCH;
	if (BC_PREFIX(r, end, "client="))
		return client_line(p, l, r + 7, end, svc);
	if (BC_PREFIX(r, end, "reject: RCPT from ") ||
	    BC_PREFIX(r, end, "reject: MAIL from "))
		return reject_line(p, l, r + 18, end, svc);
	if (BC_PREFIX(r, end, "lost connection after AUTH from "))
		return lost_after_auth(p, l, r + 32, end, svc);
	return BC_PARSE_NOMATCH;
}
