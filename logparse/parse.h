/*
 * parse.h - turn mail-server log lines into attack events.
 *
 * A parser takes one log line at a time (syslog RFC 3164, RFC 5424 or
 * rsyslog's ISO 8601 high-precision form, Postfix maillog_file, Exim's
 * mainlog, Dovecot's own log file, or a bare "TAG[PID]: MESSAGE" as a
 * journal source can build it), finds the program that wrote it and hands
 * the message to that program's scanner: Postfix, Exim, Sendmail or
 * Dovecot (logparse/postfix.c, logparse/exim.c, logparse/sendmail.c,
 * logparse/dovecot.c).
 *
 * Every byte of a line is untrusted. The scanners are single-pass over
 * (ptr, len), use no regex, take the client address only from the field
 * the MTA itself writes (located by server-written text on both sides),
 * and parse it with inet_pton (via bc_addr_parse_host). Lines longer than
 * BC_PARSE_LINE_MAX are MALFORMED and not looked at.
 *
 * Contract for callers:
 *   - bc_parser_feed() returns MATCH and fills *ev when the line is an
 *     event, NOMATCH when it is not (including lines that only update
 *     session state, or repeat an attempt already counted), MALFORMED when
 *     the line is over the cap or a recognised message carries an address
 *     field that does not validate.
 *   - Some lines stand for more than one event (Dovecot's "auth failed, 3
 *     attempts"): the first comes back from feed, the others wait in a
 *     small queue. Call bc_parser_flush() after every feed until it returns
 *     0; it also expires idle session state.
 *   - State is bounded: BC_PARSE_SESSIONS sessions (oldest evicted, and
 *     counted in bc_parse_stats.evicted) and BC_PARSE_PENDING queued events.
 */
#ifndef BC_PARSE_H
#define BC_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/event.h"

#define BC_PARSE_LINE_MAX 8192    /* longer lines are MALFORMED */
#define BC_PARSE_SESSIONS 4096    /* session-state entries per parser */
#define BC_PARSE_PENDING 32       /* queued events waiting for flush */
#define BC_PARSE_SESSION_TTL_MS (30LL * 60 * 1000) /* idle session expiry */

enum bc_format {
	BC_FMT_AUTO,
	BC_FMT_POSTFIX,
	BC_FMT_EXIM,
	BC_FMT_SENDMAIL,
	BC_FMT_DOVECOT,
};

enum bc_parse_result {
	BC_PARSE_NOMATCH,
	BC_PARSE_MATCH,
	BC_PARSE_MALFORMED,
};

/* Counters kept by a parser, for metrics and `replay`. */
struct bc_parse_stats {
	uint64_t lines;     /* lines fed */
	uint64_t overlong;  /* lines over BC_PARSE_LINE_MAX */
	uint64_t malformed; /* all MALFORMED results, overlong included */
	uint64_t events;    /* events handed out by feed and flush */
	uint64_t evicted;   /* sessions evicted while still in use */
	uint64_t dropped;   /* events lost because the pending queue was full */
};

struct bc_parser;

/*
 * Site-defined detection ([detect] in agent.ini, docs/detection.md).
 * Extra reject reasons that are sender violations, as literal text: a
 * reject counts when the reason the MTA wrote, at the reason's own
 * position in the line, starts with one of them (and the next byte is not
 * a letter or digit). Lists: BC_DETECT_ALL applies to every MTA, the
 * others to one. The built-in reasons (Postfix's wordings, common Exim
 * ACL messages, Sendmail's "Relaying denied" and 5xx check_mail rejects)
 * always apply; these lists only add.
 */
#define BC_DETECT_REASONS 32     /* reasons per list */
#define BC_DETECT_REASON_MAX 128 /* bytes of one reason, NUL included */

enum bc_detect_list {
	BC_DETECT_ALL,      /* sender_reasons */
	BC_DETECT_POSTFIX,  /* postfix_sender_reasons */
	BC_DETECT_EXIM,     /* exim_sender_reasons */
	BC_DETECT_SENDMAIL, /* sendmail_sender_reasons */
	BC_DETECT_LISTS
};

struct bc_detect {
	uint8_t n[BC_DETECT_LISTS];
	/* 0: Dovecot auth-process lines without a session never count
	 * (dovecot_auth_lines = no); 1 (default): they count, paired with
	 * the SMTP server's line of the same attempt */
	uint8_t dovecot_auth_lines;
	uint8_t pad[3];
	char reason[BC_DETECT_LISTS][BC_DETECT_REASONS][BC_DETECT_REASON_MAX];
};

/* Empty lists, dovecot_auth_lines on: what a parser starts with. */
static inline void bc_detect_init(struct bc_detect *d)
{
	*d = (struct bc_detect){.dovecot_auth_lines = 1};
}

/* A parser for one log source, with bc_detect_init's settings. NULL on OOM. */
struct bc_parser *bc_parser_new(enum bc_format fmt);

/*
 * Replace the parser's site-defined detection settings (a copy is kept;
 * d == NULL restores bc_detect_init's). Takes effect from the next line.
 * Returns -1 (and changes nothing) if a list is over its bounds or a
 * reason is empty or unterminated.
 */
int bc_parser_set_detect(struct bc_parser *p, const struct bc_detect *d);

/* Feed one line (a trailing "\n" or "\r\n" is ignored). */
enum bc_parse_result bc_parser_feed(struct bc_parser *p, const char *line,
				    size_t len, struct bc_event *ev);

/*
 * Hand out one queued event (returns 1 and fills ev), or 0 when none is
 * left. now_ms (0 = use the time of the last line) drives expiry of idle
 * sessions.
 */
int bc_parser_flush(struct bc_parser *p, int64_t now_ms, struct bc_event *ev);

void bc_parser_stats(const struct bc_parser *p, struct bc_parse_stats *out);

void bc_parser_free(struct bc_parser **p);

/* "auto", "postfix", "exim", "sendmail", "dovecot" -> 0; else -1. */
int bc_format_parse(const char *s, enum bc_format *out);
const char *bc_format_name(enum bc_format f);

#ifdef BC_PARSE_INTERNAL
/*
 * Shared by parse.c and the per-MTA scanners only; nothing outside
 * agent/parse*.c includes this part.
 */
#include <stdbool.h>
#include <string.h>

/* One framed line: what the syslog (or mainlog) header said. */
struct bc_line {
	int64_t time_ms;
	const char *prog; /* program/tag without [pid], may be empty */
	size_t prog_len;
	long pid;         /* -1 when absent */
	const char *msg;  /* the message proper */
	size_t msg_len;
};

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
#endif /* BC_PARSE_INTERNAL */

#endif
