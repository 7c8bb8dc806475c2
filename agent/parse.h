/*
 * parse.h - turn mail-server log lines into attack events.
 *
 * A parser takes one log line at a time (syslog RFC 3164, RFC 5424 or
 * rsyslog's ISO 8601 high-precision form, Postfix maillog_file, Exim's
 * mainlog, Dovecot's own log file, or a bare "TAG[PID]: MESSAGE" as a
 * journal source can build it), finds the program that wrote it and hands
 * the message to that program's scanner: Postfix, Exim, Sendmail or
 * Dovecot (parse_postfix.c, parse_exim.c, parse_sendmail.c,
 * parse_dovecot.c).
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

#define BC_PARSE_LINE_MAX 8192    /* longer lines are MALFORMED */
#define BC_PARSE_SESSIONS 4096    /* session-state entries per parser */
#define BC_PARSE_PENDING 32       /* queued events waiting for flush */
#define BC_PARSE_SESSION_TTL_MS (30LL * 60 * 1000) /* idle session expiry */

enum bc_kind {
	BC_KIND_AUTH_FAIL = 1,    /* wrong user or password */
	BC_KIND_SENDER_VIOLATION, /* MAIL FROM not allowed, relay attempt */
	BC_KIND_AUTH_ABORT,       /* connection dropped inside/after AUTH */
	BC_KIND_AUTH_SUCCESS,     /* a good login */
};
#define BC_KIND_MAX BC_KIND_AUTH_SUCCESS

enum bc_format {
	BC_FMT_AUTO,
	BC_FMT_POSTFIX,
	BC_FMT_EXIM,
	BC_FMT_SENDMAIL,
	BC_FMT_DOVECOT,
};

struct bc_event {
	int64_t time_ms;     /* from the line (ms since the epoch), 0 if unknown */
	uint8_t kind;        /* enum bc_kind */
	struct bc_addr addr; /* client address, host prefix */
	char service[32];    /* "postfix/smtpd", "exim", "dovecot/imap", ... */
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

/* A parser for one log source. NULL on OOM. */
struct bc_parser *bc_parser_new(enum bc_format fmt);

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

/* "auth_fail", "sender_violation", "auth_abort", "auth_success", or "?". */
const char *bc_kind_name(enum bc_kind k);

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
	uint64_t sv_key;  /* hash of the last sender-violation transaction */
	uint16_t fails;   /* auth_fail events counted in this session */
	uint8_t last_auth_failed; /* the most recent AUTH ended in auth_fail */
	uint8_t aborted;  /* auth_abort already counted */
	uint8_t succeeded;/* auth_success already counted */
	uint8_t pad[3];
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
