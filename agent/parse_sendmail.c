/*
 * parse_sendmail.c - events from Sendmail (sm-mta, sendmail) syslog lines.
 *
 * Untrusted: the whole message. Sendmail writes the client as
 *     relay=[NAME ][ADDR][ (may be forged)]      ADDR: 192.0.2.7 or IPv6:2001:db8::1
 * and attacker text (user=, arg1=<...>, the address echoed in reject=)
 * can sit before it. The relay field is read only where it is the
 * server's: the last field of an "AUTH failure" line (nothing follows it
 * but "(may be forged)"), right after "AUTH=server, ", right before
 * ", reject=" in a ruleset line that holds exactly one ", relay=", and
 * between "lost input channel from " and " to ".
 *
 *   QID: AUTH failure (MECH): REASON, user=U, relay=R
 *   QID: lost input channel from R to MTA after auth
 *   QID: ruleset=check_rcpt, arg1=<A>, relay=R, reject=550 5.7.1 <A>... Relaying denied
 *   QID: AUTH=server, relay=R, authid=U, mech=M, bits=N
 *
 * Sessions are keyed by the queue id.
 */
#define BC_PARSE_INTERNAL
#include "agent/parse.h"

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

static struct bc_sess *session(struct bc_parser *p, const char *qid,
			       size_t n, const struct bc_addr *a,
			       int64_t t)
{
	if (n == 0)
		return NULL;
	return bc_parse_session(p, SM_TAG, qid, n, 0, a, t);
}

enum bc_parse_result bc_scan_sendmail(struct bc_parser *p,
				      const struct bc_line *l)
{
	const char *q = l->msg, *end = l->msg + l->msg_len, *qid = q, *r;
	struct bc_addr a;
	struct bc_sess *s;
	bool bad = false;
	size_t qid_len = 0;

	/* QID: [0-9A-Za-z]{8,20} ": " (absent on some connection lines) */
	while (q < end && q - qid < 24 &&
	       ((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') ||
		(*q >= 'a' && *q <= 'z')))
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
		if (backend_failure(r + 3, end))
			return BC_PARSE_NOMATCH;
		/* relay= is the last field; user= before it is client text */
		r = BC_RFIND(r, end, ", relay=");
		if (r == NULL)
			return BC_PARSE_NOMATCH;
		r = relay_field(r + 8, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (r != end)
			return BC_PARSE_NOMATCH;
		s = session(p, qid, qid_len, &a, l->time_ms);
		if (s != NULL) {
			if (s->fails < UINT16_MAX)
				s->fails++;
			s->last_auth_failed = 1;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_FAIL, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, "lost input channel from ")) {
		r = relay_field(q + 24, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (!BC_PREFIX(r, end, " to ") || !BC_SUFFIX(r, end, " after auth"))
			return BC_PARSE_NOMATCH;
		s = session(p, qid, qid_len, &a, l->time_ms);
		if (s != NULL) {
			if (s->last_auth_failed || s->aborted)
				return BC_PARSE_NOMATCH;
			s->aborted = 1;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_ABORT, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, "ruleset=check_rcpt, arg1=")) {
		const char *rel = BC_FIND(q, end, ", relay=");
		uint64_t key;

		/* arg1 is client text: refuse lines where it fakes a relay= */
		if (rel == NULL || BC_FIND(rel + 8, end, ", relay=") != NULL)
			return BC_PARSE_NOMATCH;
		r = relay_field(rel + 8, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (!BC_PREFIX(r, end, ", reject=5") ||
		    BC_FIND(r, end, "... Relaying denied") == NULL)
			return BC_PARSE_NOMATCH;
		/* all recipients of one transaction count once */
		key = bc_parse_hash(q, (size_t)(rel - q), 11);
		s = session(p, qid, qid_len, &a, l->time_ms);
		if (s != NULL) {
			if (s->sv_key != 0)
				return BC_PARSE_NOMATCH;
			s->sv_key = key | 1;
		}
		bc_parse_emit(p, l, BC_KIND_SENDER_VIOLATION, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	if (BC_PREFIX(q, end, "AUTH=server, relay=")) {
		r = relay_field(q + 19, end, &a, &bad);
		if (r == NULL)
			return bad ? BC_PARSE_MALFORMED : BC_PARSE_NOMATCH;
		if (!BC_PREFIX(r, end, ", authid="))
			return BC_PARSE_NOMATCH;
		s = session(p, qid, qid_len, &a, l->time_ms);
		if (s != NULL) {
			s->last_auth_failed = 0;
			if (s->succeeded)
				return BC_PARSE_NOMATCH;
			s->succeeded = 1;
		}
		bc_parse_emit(p, l, BC_KIND_AUTH_SUCCESS, &a, "sendmail");
		return BC_PARSE_MATCH;
	}
	return BC_PARSE_NOMATCH;
}
