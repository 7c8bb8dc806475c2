/*
 * logparse/internal.h - what the files of logparse/ share and nothing
 * outside logparse/ includes (logparse/parse.h is the public contract).
 *
 * logparse/ is the only code that reads attacker text: every byte behind
 * a struct bc_line (prog, msg) points into an untrusted log line owned by
 * the caller of bc_parser_feed, valid for that call only; nothing keeps
 * a pointer into it after the call. The helpers below read only inside [p, end)
 * and report failure by return value (NULL, false, -1), never by printing.
 *
 *   logparse/syslog.c   framing: syslog/RFC 5424/ISO/mainlog header ->
 *                       struct bc_line (bc_syslog_frame)
 *   logparse/parse.c    dispatch to a scanner, session state, pairing,
 *                       the event queue, reasons, the public API
 *   logparse/postfix.c exim.c sendmail.c dovecot.c   the scanners
 */
#ifndef BC_LOGPARSE_INTERNAL_H
#define BC_LOGPARSE_INTERNAL_H

#include "logparse/parse.h"

#include <stdbool.h>
#include <string.h>

/* struct bc_line, one framed line, is in parse.h (struct bc_frame). */

/* Session-state entry; keyed by a 64-bit hash of (module, session id). */
struct bc_sess {
	uint64_t key;     /* 0 = free */
	uint64_t used;    /* parser clock at last use, for eviction */
	int64_t time_ms;  /* time of the last line that touched it */
	struct bc_addr addr;
	uint16_t fails;   /* AUTH failures seen in this session */
	uint8_t last_auth_failed; /* the most recent AUTH failed */
	uint8_t aborted;  /* auth_abort already counted */
	uint64_t sv_key;  /* hash of the last sender-violation transaction */
	uint8_t succeeded;/* a good login seen (auth_success counted) */
	uint8_t backend;  /* the most recent AUTH failed on the server side */
	uint8_t lost;     /* the client dropped after AUTH (verdict at disconnect) */
	uint8_t pair_dv;  /* pairing: Dovecot auth lines not yet matched */
	uint8_t pair_smtp;/* pairing: SMTP AUTH failures not yet matched */
	uint8_t connected;/* its start was seen: its end will be too */
	uint8_t pad[2];
};

struct bc_parser;

/* Per-module scanners: return a result and may emit events. */
typedef enum bc_parse_result (*bc_scan_fn)(struct bc_parser *p,
					   const struct bc_line *l);
enum bc_parse_result bc_scan_postfix(struct bc_parser *p,
				     const struct bc_line *l);
enum bc_parse_result bc_scan_exim(struct bc_parser *p, const struct bc_line *l);
enum bc_parse_result bc_scan_sendmail(struct bc_parser *p,
				      const struct bc_line *l);
enum bc_parse_result bc_scan_dovecot(struct bc_parser *p,
				     const struct bc_line *l);

/*
 * Is the reject reason at [r, end) a sender violation for MTA fmt? Built-in
 * reasons (lit[], n of them) and the site's lists for fmt and for all
 * MTAs; a reason matches as a prefix followed by a non-alphanumeric byte
 * or the end.
 */
struct bc_lit {
	const char *s;
	size_t n;
};
#define BC_LIT(x) {x, sizeof(x) - 1}
bool bc_parse_is_reason(const struct bc_parser *p, enum bc_format fmt,
			const struct bc_lit *lit, size_t n, const char *r,
			const char *end);
bool bc_lit_match(const char *r, const char *end, const char *s, size_t n);

/*
 * The wordings of sender-ownership rules that Exim ACLs and Sendmail
 * check_mail rulesets use (docs/sender-acl.md), matched like the above:
 * a sender violation on either MTA.
 */
bool bc_parse_is_owner_reason(const char *r, const char *end);

/* dovecot_auth_lines of the parser's [detect] settings. */
bool bc_parse_dovecot_auth_lines(const struct bc_parser *p);

/*
 * One SMTP AUTH failure, seen either in the SMTP server's line (smtp =
 * true) or in Dovecot's auth-process line (smtp = false), for client a.
 * Returns true when this line is the first of the two for its attempt
 * (count it), false when the other line already counted it. Lines of one
 * attempt are paired within BC_PARSE_PAIR_MS.
 */
#define BC_PARSE_PAIR_MS 30000
bool bc_parse_pair(struct bc_parser *p, const struct bc_line *l,
		   const struct bc_addr *a, bool smtp);

/* Queue an event for the current line (the first becomes feed's result). */
void bc_parse_emit(struct bc_parser *p, const struct bc_line *l,
		   enum bc_kind kind, const struct bc_addr *addr,
		   const char *service);

/*
 * Find or create the session for (module tag, id bytes). A session whose
 * stored address differs from addr (when addr is not NULL) is reset: the
 * id was reused by a new connection we did not see start.
 */
struct bc_sess *bc_parse_session(struct bc_parser *p, unsigned tag,
				 const void *id, size_t id_len, long num,
				 const struct bc_addr *addr, int64_t time_ms);
/* The same id starts a new connection: s afresh, in its slot (as
 * bc_parse_session_end then bc_parse_session, with one lookup). */
void bc_parse_session_restart(struct bc_parser *p, struct bc_sess *s,
			      const struct bc_addr *addr, int64_t time_ms);
/* Forget a session (connection ended). */
void bc_parse_session_end(struct bc_parser *p, struct bc_sess *s);

uint64_t bc_parse_hash(const void *data, size_t len, uint64_t seed);

/* Scanning helpers over [p, end). */
static inline bool bc_has_prefix(const char *p, const char *end,
				 const char *lit, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}
#define BC_PREFIX(p, end, lit) bc_has_prefix((p), (end), (lit), sizeof(lit) - 1)

static inline bool bc_has_suffix(const char *p, const char *end,
				 const char *lit, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(end - n, lit, n) == 0;
}
#define BC_SUFFIX(p, end, lit) bc_has_suffix((p), (end), (lit), sizeof(lit) - 1)

/* First occurrence of lit in [p, end), or NULL. */
const char *bc_find(const char *p, const char *end, const char *lit, size_t n);
#define BC_FIND(p, end, lit) bc_find((p), (end), (lit), sizeof(lit) - 1)
/* Last occurrence of lit in [p, end), or NULL. */
const char *bc_rfind(const char *p, const char *end, const char *lit, size_t n);
#define BC_RFIND(p, end, lit) bc_rfind((p), (end), (lit), sizeof(lit) - 1)

/* Parse the address text in [p, end) (at most one "IPv6:" prefix). */
int bc_parse_addr(const char *p, const char *end, struct bc_addr *out);

/* Skip decimal digits; returns the first non-digit. */
static inline const char *bc_skip_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/*
 * The framer (logparse/syslog.c): the header of one line -> struct bc_line.
 * Its state is a clock for lines that carry no year (RFC 3164) and a
 * local-time cache (one mktime per hour of log seen); the parser owns one.
 */
struct bc_syslog {
	int year_now;    /* for RFC 3164 lines, which carry no year */
	int64_t now_ms;  /* wall clock when the line hour last changed */
	int mdh_last;    /* month, day and hour of the last such line */
	/* local-time cache: start of the last (y, m, d, h) seen, in ms */
	int cache_key;
	int64_t cache_ms;
};

/* Empty cache, the wall clock read now. */
void bc_syslog_init(struct bc_syslog *fs);

/*
 * Frame the line [s, end) (no line terminator): fills *l (time_ms 0 when
 * the line has no time) and returns true, or false when the line is in
 * none of the forms of logparse/syslog.c. l->msg points into [s, end),
 * l->prog too (or to the constant "exim" for an Exim mainlog line).
 */
bool bc_syslog_frame(struct bc_syslog *fs, const char *s, const char *end,
		     struct bc_line *l);

/*
 * Byte classes, one table load per byte where the scanners walk a tag or
 * a queue id (logparse/parse.c holds the table).
 */
#define BC_CC_ALNUM 1u /* 0-9 A-Z a-z */
#define BC_CC_TAG 2u   /* alnum and - _ / . @ */
extern const unsigned char bc_char_class[256];

/* 0-9 A-Z a-z */
static inline bool bc_alnum(char c)
{
	return (bc_char_class[(unsigned char)c] & BC_CC_ALNUM) != 0;
}

/* The bytes of a program tag; also what an event's service name keeps:
 * alnum and - _ / . @ */
static inline bool bc_tag_char(char c)
{
	return (bc_char_class[(unsigned char)c] & BC_CC_TAG) != 0;
}

/* Does the line's program tag start with lit? */
static inline bool bc_prog_is(const struct bc_line *l, const char *lit,
			      size_t n)
{
	return l->prog_len >= n && memcmp(l->prog, lit, n) == 0;
}
#define BC_PROG_IS(l, lit) bc_prog_is((l), (lit), sizeof(lit) - 1)

#endif
