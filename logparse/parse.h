/*
 * logparse/parse.h - turn mail-server log lines into attack events: the
 * public contract of logparse/, the only code that reads attacker text.
 *
 * A parser takes one log line at a time (syslog RFC 3164, RFC 5424 or
 * rsyslog's ISO 8601 high-precision form, Postfix maillog_file, Exim's
 * mainlog, Dovecot's own log file, or a bare "TAG[PID]: MESSAGE" as a
 * journal source can build it; framed by logparse/syslog.c), finds the
 * program that wrote it and hands the message to that program's scanner:
 * Postfix, Exim, Sendmail or Dovecot (logparse/postfix.c, exim.c,
 * sendmail.c, dovecot.c). What those files share is logparse/internal.h,
 * which nothing outside logparse/ includes.
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

/*
 * Framing apart from scanning: bc_parser_feed(p, line) is the parser's
 * own framer's bc_framer_frame(line) followed by bc_parser_feed_frame. A
 * reader may frame on one thread and scan on another (`replay` does);
 * each framer and parser is used by one thread at a time, and a frame's
 * line stays unchanged until bc_parser_feed_frame has returned.
 */
struct bc_line { /* what a line's header said (logparse/syslog.c) */
	int64_t time_ms;  /* 0 when the line carries no time */
	const char *prog; /* program/tag without [pid], may be empty */
	size_t prog_len;
	long pid;         /* -1 when absent */
	const char *msg;  /* the message proper */
	size_t msg_len;
};

enum bc_frame_status {
	BC_FRAME_OK,       /* l is the line's header */
	BC_FRAME_NONE,     /* no header of a known form: NOMATCH */
	BC_FRAME_OVERLONG, /* over BC_PARSE_LINE_MAX: MALFORMED */
};

struct bc_frame {
	const char *line; /* the line without its "\n" or "\r\n" */
	size_t len;
	enum bc_frame_status status;
	struct bc_line l; /* points into line (BC_FRAME_OK only) */
};

struct bc_framer;

/* A framer (its clock for lines without a year, a local-time cache);
 * NULL on OOM. */
struct bc_framer *bc_framer_new(void);
void bc_framer_free(struct bc_framer **f);

/* Frame one line (a trailing "\n" or "\r\n" is ignored) into *out. */
void bc_framer_frame(struct bc_framer *f, const char *line, size_t len,
		     struct bc_frame *out);

/* Feed one framed line: as bc_parser_feed (bc_parser_flush after it). */
enum bc_parse_result bc_parser_feed_frame(struct bc_parser *p,
					  const struct bc_frame *fr,
					  struct bc_event *ev);

/* "auto", "postfix", "exim", "sendmail", "dovecot" -> 0; else -1. */
int bc_format_parse(const char *s, enum bc_format *out);
const char *bc_format_name(enum bc_format f);

#endif
