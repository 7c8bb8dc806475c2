/*
 * parse.c - line framing, program dispatch, session state and the event
 * queue shared by the per-MTA scanners.
 *
 * Input: one untrusted log line per call. The framer recognises
 *   - RFC 3164:   [<PRI>]Mmm dd hh:mm:ss[.frac] HOST TAG[PID]: MSG
 *                 (also Postfix maillog_file, "%b %d %H:%M:%S host ...",
 *                 and Dovecot's own log file, which has no HOST)
 *   - RFC 5424:   <PRI>1 YYYY-MM-DDThh:mm:ss[.frac]TZ HOST APP PROCID MSGID SD MSG
 *   - rsyslog ISO 8601 (RSYSLOG_FileFormat):
 *                 YYYY-MM-DDThh:mm:ss[.frac]TZ HOST TAG[PID]: MSG
 *   - Exim mainlog: YYYY-MM-DD hh:mm:ss[.mmm][ +zzzz] MSG
 *   - bare:       TAG[PID]: MSG   (a journal entry rebuilt by its source)
 * and hands (time, program, pid, message) to the scanner for the program
 * (format auto) or to the one scanner the source was configured with.
 *
 * Ownership: the parser owns its session table and event queue; nothing
 * points into the caller's line after feed returns. Errors are results,
 * never prints or exits.
 */
#define BC_PARSE_INTERNAL
#include "logparse/parse.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SESS_WAYS 4 /* entries probed per key; the oldest is evicted */
#define TAG_MAX 64  /* longest program tag looked at */
#define BC_PARSE_SWEEP_MS 10000 /* log time between expiry sweeps */
#define BC_PARSE_SWEEP_SLICE 256 /* session slots looked at per sweep */

struct bc_parser {
	enum bc_format fmt;
	int year_now;     /* for RFC 3164 lines, which carry no year */
	int64_t now_ms;   /* wall clock when the line hour last changed */
	int mdh_last;     /* month, day and hour of the last such line */
	int64_t last_ms;  /* time of the last line with a time */
	int64_t sweep_ms; /* time of the last expiry sweep */
	size_t sweep_pos; /* next session slot the sweep looks at */
	uint64_t clock;   /* bumps on every session use */
	/* local-time cache: start of the last (y, m, d, h) seen, in ms */
	int cache_key;
	int64_t cache_ms;
	struct bc_parse_stats st;
	/* site-defined detection ([detect]) and its reason lengths */
	struct bc_detect det;
	uint8_t det_len[BC_DETECT_LISTS][BC_DETECT_REASONS];
	/* pending events, a ring */
	unsigned q_head, q_len;
	struct bc_event q[BC_PARSE_PENDING];
	struct bc_sess sess[BC_PARSE_SESSIONS];
};

/* ---- small helpers ------------------------------------------------- */

const char *bc_find(const char *p, const char *end, const char *lit, size_t n)
{
	if (p >= end || (size_t)(end - p) < n)
		return NULL;
	return memmem(p, (size_t)(end - p), lit, n);
}

const char *bc_rfind(const char *p, const char *end, const char *lit, size_t n)
{
	const char *q;

	if (p >= end || (size_t)(end - p) < n || n == 0)
		return NULL;
	q = end - n;
	for (;;) {
		q = memrchr(p, lit[0], (size_t)(q - p) + 1);
		if (q == NULL)
			return NULL;
		if (memcmp(q, lit, n) == 0)
			return q;
		if (q == p)
			return NULL;
		q--;
	}
}

/*
 * The client address: IPv4-mapped and -compatible become IPv4; an address
 * no client sends from (0.0.0.0, ::, broadcast, multicast, link-local)
 * fails, so the scanner counts the line MALFORMED (bc_addr_client).
 */
int bc_parse_addr(const char *p, const char *end, struct bc_addr *out)
{
	if (BC_PREFIX(p, end, "IPv6:") || BC_PREFIX(p, end, "ipv6:"))
		p += 5;
	if (p >= end || bc_addr_parse_host(out, p, (size_t)(end - p)) < 0)
		return -1;
	return bc_addr_client(out);
}

/* ---- reasons ------------------------------------------------------ */

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

bool bc_lit_match(const char *r, const char *end, const char *s, size_t n)
{
	return bc_has_prefix(r, end, s, n) && (r + n == end || !alnum(r[n]));
}

bool bc_parse_is_reason(const struct bc_parser *p, enum bc_format fmt,
			const struct bc_lit *lit, size_t n, const char *r,
			const char *end)
{
	static const enum bc_detect_list map[] = {
		[BC_FMT_POSTFIX] = BC_DETECT_POSTFIX,
		[BC_FMT_EXIM] = BC_DETECT_EXIM,
		[BC_FMT_SENDMAIL] = BC_DETECT_SENDMAIL,
	};
	enum bc_detect_list lists[2] = {BC_DETECT_ALL, BC_DETECT_ALL};
	size_t i, k;

	for (i = 0; i < n; i++)
		if (bc_lit_match(r, end, lit[i].s, lit[i].n))
			return true;
	if (fmt == BC_FMT_POSTFIX || fmt == BC_FMT_EXIM ||
	    fmt == BC_FMT_SENDMAIL)
		lists[1] = map[fmt];
	for (k = 0; k < (lists[1] == BC_DETECT_ALL ? 1u : 2u); k++)
		for (i = 0; i < p->det.n[lists[k]]; i++)
			if (bc_lit_match(r, end, p->det.reason[lists[k]][i],
					 p->det_len[lists[k]][i]))
				return true;
	return false;
}

bool bc_parse_is_owner_reason(const char *r, const char *end)
{
	static const struct bc_lit owner[] = {
		BC_LIT("Sender address rejected: not owned by user"),
		BC_LIT("Sender address rejected: not logged in"),
		BC_LIT("sender address not owned by authenticated user"),
		BC_LIT("sender not authorised"),
		BC_LIT("sender not authorized"),
		BC_LIT("sender mismatch"),
	};
	size_t i;

	for (i = 0; i < sizeof(owner) / sizeof(owner[0]); i++)
		if (bc_lit_match(r, end, owner[i].s, owner[i].n))
			return true;
	return false;
}

bool bc_parse_dovecot_auth_lines(const struct bc_parser *p)
{
	return p->det.dovecot_auth_lines != 0;
}

/* FNV-1a, enough to spread session ids; not a defence by itself. */
uint64_t bc_parse_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *d = data;
	uint64_t h = 1469598103934665603ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= d[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- time ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/*
 * The wall clock and the year for lines without a year. Read again
 * whenever the month, day or hour of those lines changes (a parser lives
 * as long as the agent: a clock read only at creation would date every
 * line a year back after the first day).
 */
static void read_clock(struct bc_parser *p)
{
	struct timespec ts;
	struct tm tm;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	p->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	now = ts.tv_sec;
	p->year_now = localtime_r(&now, &tm) != NULL ? tm.tm_year + 1900 : 1970;
}

/* Local wall-clock time to ms since the epoch; one mktime per hour seen. */
static int64_t local_ms(struct bc_parser *p, int y, int mon, int d, int h,
			int mi, int s, int ms)
{
	int key = ((y * 13 + mon) * 32 + d) * 24 + h;

	if (key != p->cache_key) {
		struct tm tm;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mon - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1)
			return 0;
		p->cache_key = key;
		p->cache_ms = (int64_t)t * 1000;
	}
	return p->cache_ms + ((int64_t)mi * 60 + s) * 1000 + ms;
}

static int num2(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "hh:mm:ss" at s (8 bytes available). */
static int parse_hms(const char *s, int *h, int *mi, int *sec)
{
	if (s[2] != ':' || s[5] != ':')
		return -1;
	*h = num2(s);
	*mi = num2(s + 3);
	*sec = num2(s + 6);
	if (*h < 0 || *h > 23 || *mi < 0 || *mi > 59 || *sec < 0 || *sec > 60)
		return -1;
	return 0;
}

/* Optional ".ddd..." fraction: returns ms, advances *pp. */
static int parse_frac(const char **pp, const char *end)
{
	const char *p = *pp;
	int ms = 0, n = 0;

	if (p >= end || (*p != '.' && *p != ','))
		return 0;
	for (p++; p < end && *p >= '0' && *p <= '9'; p++, n++)
		if (n < 3)
			ms = ms * 10 + (*p - '0');
	for (; n < 3; n++)
		ms *= 10;
	*pp = p;
	return ms;
}

/* "YYYY-MM-DD" at p (10 bytes). */
static int parse_ymd(const char *p, int *y, int *mon, int *d)
{
	int a, b;

	if (p[4] != '-' || p[7] != '-')
		return -1;
	a = num2(p);
	b = num2(p + 2);
	*mon = num2(p + 5);
	*d = num2(p + 8);
	if (a < 0 || b < 0 || *mon < 1 || *mon > 12 || *d < 1 || *d > 31)
		return -1;
	*y = a * 100 + b;
	return 0;
}

/*
 * ISO 8601 date-time "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|+hh:mm|+hhmm| +hhmm]".
 * sep is 'T' for RFC 5424/rsyslog or ' ' for Exim. Returns the end, or
 * NULL. Without a zone the time is local.
 */
static const char *parse_iso(struct bc_parser *p, const char *s,
			     const char *end, char sep, int64_t *out)
{
	int y, mon, d, h, mi, sec, ms, off = 0, have_off = 0;
	const char *q;

	if (end - s < 19 || s[10] != sep)
		return NULL;
	if (parse_ymd(s, &y, &mon, &d) < 0 || parse_hms(s + 11, &h, &mi, &sec) < 0)
		return NULL;
	q = s + 19;
	ms = parse_frac(&q, end);
	if (q < end && *q == 'Z') {
		have_off = 1;
		q++;
	} else if (end - q >= 5 && (*q == '+' || *q == '-') &&
		   num2(q + 1) >= 0) {
		int hh = num2(q + 1), mm;
		const char *r = q + 3;

		if (*r == ':')
			r++;
		if (end - r >= 2 && (mm = num2(r)) >= 0 && hh <= 23 && mm <= 59) {
			off = (hh * 60 + mm) * (*q == '-' ? -1 : 1);
			have_off = 1;
			q = r + 2;
		}
	} else if (sep == ' ' && end - q >= 6 && q[0] == ' ' &&
		   (q[1] == '+' || q[1] == '-') && num2(q + 2) >= 0 &&
		   num2(q + 4) >= 0 && (q + 6 == end || q[6] == ' ')) {
		/* Exim log_timezone: "2024-01-10 12:00:01 +0100" */
		off = (num2(q + 2) * 60 + num2(q + 4)) * (q[1] == '-' ? -1 : 1);
		have_off = 1;
		q += 6;
	}
	if (have_off)
		*out = ((days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 +
			 (int64_t)h * 3600 + mi * 60 + sec - (int64_t)off * 60) *
			1000) + ms;
	else
		*out = local_ms(p, y, mon, d, h, mi, sec, ms);
	return q;
}

static int month_of(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (memcmp(names + i * 3, s, 3) == 0)
			return i + 1;
	return 0;
}

/* "Mmm dd hh:mm:ss[.frac]" (day may be " 6", "06" or "6"). */
static const char *parse_3164(struct bc_parser *p, const char *s,
			      const char *end, int64_t *out)
{
	int mon, d, h, mi, sec, ms, y;
	const char *q;
	int64_t t;

	if (end - s < 15 || s[3] != ' ' || (mon = month_of(s)) == 0)
		return NULL;
	q = s + 4;
	if (*q == ' ')
		q++;
	if (q[0] < '0' || q[0] > '9')
		return NULL;
	d = q[0] - '0';
	q++;
	if (*q >= '0' && *q <= '9')
		d = d * 10 + (*q++ - '0');
	if (d < 1 || d > 31 || *q != ' ' || end - q < 9)
		return NULL;
	q++;
	if (parse_hms(q, &h, &mi, &sec) < 0)
		return NULL;
	q += 8;
	ms = parse_frac(&q, end);
	/* No year in the line: this year, unless that is in the future. */
	if ((mon * 32 + d) * 24 + h != p->mdh_last) { /* once per log hour */
		p->mdh_last = (mon * 32 + d) * 24 + h;
		read_clock(p);
	}
	y = p->year_now;
	t = local_ms(p, y, mon, d, h, mi, sec, ms);
	if (t > p->now_ms + 86400000LL)
		t = local_ms(p, y - 1, mon, d, h, mi, sec, ms);
	*out = t;
	return q;
}

/* ---- framing ------------------------------------------------------- */

static bool tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '/' ||
	       c == '.' || c == '@';
}

/*
 * "TAG[PID]: " or "TAG: " at s. Fills prog/pid and returns the message
 * start, or NULL when s does not start with a tag.
 */
static const char *parse_tag(const char *s, const char *end, struct bc_line *l)
{
	const char *q = s;

	while (q < end && q - s < TAG_MAX && tag_char(*q))
		q++;
	if (q == s || q >= end)
		return NULL;
	l->prog = s;
	l->prog_len = (size_t)(q - s);
	l->pid = -1;
	if (*q == '[' || *q == '(') {
		/* "TAG[PID]", or Dovecot's own log file "auth-worker(PID)" */
		const char *d = q + 1, *e = bc_skip_digits(d, end);
		long pid = 0;

		if (e == d || e - d > 10 || e >= end ||
		    *e != (*q == '[' ? ']' : ')'))
			return NULL;
		for (; d < e; d++)
			pid = pid * 10 + (*d - '0');
		l->pid = pid;
		q = e + 1;
	}
	if (end - q < 1 || *q != ':')
		return NULL;
	q++;
	if (q < end && *q == ' ')
		q++;
	return q;
}

/* HOST token (RFC 3164/5424): up to the next space. */
static const char *skip_token(const char *s, const char *end)
{
	const char *sp = memchr(s, ' ', (size_t)(end - s));

	return sp ? sp : NULL;
}

/* After a syslog timestamp: "HOST TAG...: MSG" or (no host) "TAG: MSG". */
static bool frame_after_time(const char *q, const char *end, struct bc_line *l)
{
	const char *tok_end, *m;

	if (q >= end || *q != ' ')
		return false;
	q++;
	/* FreeBSD syslogd may print "<facility.level> " here. */
	if (q < end && *q == '<') {
		const char *gt = memchr(q, '>', (size_t)(end - q));

		if (gt && gt - q < 32 && gt + 1 < end && gt[1] == ' ')
			q = gt + 2;
	}
	tok_end = skip_token(q, end);
	if (tok_end == NULL)
		return false;
	if (tok_end[-1] == ':') {
		/* no HOST: Dovecot's log file "imap-login: Info: ..." */
		m = parse_tag(q, end, l);
	} else {
		/* HOST is a host name or address: a first word that is not
		 * one ("imap(USER..." of Dovecot's own log, with a space in
		 * USER) makes no syslog line */
		const char *c;

		for (c = q; c < tok_end; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
			      *c == '_' || *c == ':'))
				return false;
		m = parse_tag(tok_end + 1, end, l);
	}
	if (m == NULL)
		return false;
	l->msg = m;
	l->msg_len = (size_t)(end - m);
	return true;
}

/* RFC 5424 after "<PRI>1 ": TIMESTAMP HOST APP PROCID MSGID SD MSG */
static bool frame_5424(struct bc_parser *p, const char *q, const char *end,
		       struct bc_line *l)
{
	const char *f[5], *fe[5];
	int i;

	if (BC_PREFIX(q, end, "- ")) {
		l->time_ms = 0;
		q += 1;
	} else {
		q = parse_iso(p, q, end, 'T', &l->time_ms);
		if (q == NULL)
			return false;
	}
	/* HOST APP PROCID MSGID */
	for (i = 0; i < 4; i++) {
		if (q >= end || *q != ' ')
			return false;
		f[i] = ++q;
		q = skip_token(q, end);
		if (q == NULL)
			return false;
		fe[i] = q;
	}
	/* STRUCTURED-DATA: "-" or [..][..]; values may hold escaped ']' */
	q++;
	if (q < end && *q == '-') {
		q++;
	} else {
		while (q < end && *q == '[') {
			for (q++; q < end && *q != ']'; q++)
				if (*q == '\\')
					q++;
			if (q >= end)
				return false;
			q++;
		}
	}
	if (q < end && *q == ' ')
		q++;
	if (BC_PREFIX(q, end, "\xef\xbb\xbf")) /* BOM */
		q += 3;
	l->prog = f[1];
	l->prog_len = (size_t)(fe[1] - f[1]);
	if (l->prog_len == 1 && *f[1] == '-')
		l->prog_len = 0;
	l->pid = -1;
	if (fe[2] - f[2] >= 1 && fe[2] - f[2] <= 10 &&
	    bc_skip_digits(f[2], fe[2]) == fe[2]) {
		const char *d;

		l->pid = 0;
		for (d = f[2]; d < fe[2]; d++)
			l->pid = l->pid * 10 + (*d - '0');
	}
	l->msg = q;
	l->msg_len = (size_t)(end - q);
	return true;
}

static bool prog_is(const struct bc_line *l, const char *lit, size_t n)
{
	return l->prog_len >= n && memcmp(l->prog, lit, n) == 0;
}
#define PROG_IS(l, lit) prog_is((l), (lit), sizeof(lit) - 1)

static bool frame(struct bc_parser *p, const char *s, const char *end,
		  struct bc_line *l)
{
	const char *q;

	memset(l, 0, sizeof(*l));
	l->pid = -1;
	/* <PRI> */
	if (s < end && *s == '<') {
		const char *d = bc_skip_digits(s + 1, end);

		if (d > s + 1 && d - s <= 4 && d < end && *d == '>') {
			s = d + 1;
			if (BC_PREFIX(s, end, "1 "))
				return frame_5424(p, s + 2, end, l);
		}
	}
	if (end - s >= 19 && s[0] >= '0' && s[0] <= '9' && s[4] == '-') {
		if (s[10] == 'T') {
			q = parse_iso(p, s, end, 'T', &l->time_ms);
			return q != NULL && frame_after_time(q, end, l);
		}
		if (s[10] == ' ') {
			q = parse_iso(p, s, end, ' ', &l->time_ms);
			if (q == NULL || q >= end || *q != ' ')
				return false;
			/* syslog-ng: "YYYY-MM-DD hh:mm:ss HOST exim[PID]: " */
			if (frame_after_time(q, end, l) && PROG_IS(l, "exim"))
				return true;
			/* Exim mainlog: no host, no tag. */
			l->pid = -1;
			l->prog = "exim";
			l->prog_len = 4;
			l->msg = q + 1;
			l->msg_len = (size_t)(end - q - 1);
			return true;
		}
		return false;
	}
	if (end - s >= 15 && s[3] == ' ' && s[0] >= 'A' && s[0] <= 'Z') {
		q = parse_3164(p, s, end, &l->time_ms);
		if (q != NULL)
			return frame_after_time(q, end, l);
	}
	/* bare "TAG[PID]: MSG" */
	q = parse_tag(s, end, l);
	if (q == NULL)
		return false;
	l->msg = q;
	l->msg_len = (size_t)(end - q);
	return true;
}

/* ---- dispatch ------------------------------------------------------ */

static bc_scan_fn scanner_for(const struct bc_parser *p, const struct bc_line *l)
{
	switch (p->fmt) {
	case BC_FMT_POSTFIX:
		return bc_scan_postfix;
	case BC_FMT_EXIM:
		return bc_scan_exim;
	case BC_FMT_SENDMAIL:
		return bc_scan_sendmail;
	case BC_FMT_DOVECOT:
		return bc_scan_dovecot;
	case BC_FMT_AUTO:
		break;
	}
	if (l->prog_len == 0)
		return NULL;
	switch (l->prog[0]) {
	case 'p':
		/* postfix, postfix/submission/smtpd, postfix-out/smtpd */
		if (PROG_IS(l, "postfix"))
			return bc_scan_postfix;
		break;
	case 'e':
		if (PROG_IS(l, "exim"))
			return bc_scan_exim;
		break;
	case 's':
		if (PROG_IS(l, "sm-") || PROG_IS(l, "sendmail"))
			return bc_scan_sendmail;
		break;
	case 'd':
		if (PROG_IS(l, "dovecot"))
			return bc_scan_dovecot;
		break;
	case 'a':
		/* Dovecot's own log file: "auth: Info: ...",
		 * "auth-worker(PID): Info: ..." */
		if ((l->prog_len == 4 && memcmp(l->prog, "auth", 4) == 0) ||
		    (l->prog_len == 11 && memcmp(l->prog, "auth-worker", 11) == 0))
			return bc_scan_dovecot;
		break;
	default:
		break;
	}
	/* Dovecot's own log file: "imap-login: Info: ..." */
	if (l->prog_len > 6 &&
	    memcmp(l->prog + l->prog_len - 6, "-login", 6) == 0)
		return bc_scan_dovecot;
	return NULL;
}

/* ---- events and sessions ------------------------------------------- */

void bc_parse_emit(struct bc_parser *p, const struct bc_line *l,
		   enum bc_kind kind, const struct bc_addr *addr,
		   const char *service)
{
	struct bc_event *ev;
	size_t i;

	if (p->q_len == BC_PARSE_PENDING) {
		p->st.dropped++;
		return;
	}
	ev = &p->q[(p->q_head + p->q_len) % BC_PARSE_PENDING];
	p->q_len++;
	memset(ev, 0, sizeof(*ev));
	ev->time_ms = l->time_ms;
	ev->kind = (uint8_t)kind;
	ev->addr = *addr;
	/* the name may hold bytes of the line (dovecot's protocol): the
	 * tag alphabet only, whatever reads it later */
	for (i = 0; service[i] != '\0' && i < sizeof(ev->service) - 1; i++)
		ev->service[i] = tag_char(service[i]) ? service[i] : '_';
}

static int pop(struct bc_parser *p, struct bc_event *ev)
{
	if (p->q_len == 0)
		return 0;
	*ev = p->q[p->q_head];
	p->q_head = (p->q_head + 1) % BC_PARSE_PENDING;
	p->q_len--;
	p->st.events++;
	return 1;
}

struct bc_sess *bc_parse_session(struct bc_parser *p, unsigned tag,
				 const void *id, size_t id_len, long num,
				 const struct bc_addr *addr, int64_t time_ms)
{
	uint64_t key = bc_parse_hash(id, id_len, ((uint64_t)tag << 32) ^
						      (uint64_t)num);
	size_t base, i, victim;
	struct bc_sess *s;

	if (key == 0)
		key = 1;
	base = (size_t)(key % (BC_PARSE_SESSIONS / SESS_WAYS)) * SESS_WAYS;
	victim = base;
	p->clock++;
	for (i = base; i < base + SESS_WAYS; i++) {
		s = &p->sess[i];
		if (s->key == key) {
			if (addr != NULL && !bc_addr_equal(&s->addr, addr)) {
				memset(s, 0, sizeof(*s));
				s->key = key;
				s->addr = *addr;
			}
			s->used = p->clock;
			if (time_ms)
				s->time_ms = time_ms;
			return s;
		}
		if (p->sess[victim].key != 0 &&
		    (s->key == 0 || s->used < p->sess[victim].used))
			victim = i;
	}
	s = &p->sess[victim];
	if (s->key != 0)
		p->st.evicted++;
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->used = p->clock;
	s->time_ms = time_ms;
	if (addr != NULL)
		s->addr = *addr;
	return s;
}

void bc_parse_session_end(struct bc_parser *p, struct bc_sess *s)
{
	(void)p;
	memset(s, 0, sizeof(*s));
}

#define PAIR_TAG 9

bool bc_parse_pair(struct bc_parser *p, const struct bc_line *l,
		   const struct bc_addr *a, bool smtp)
{
	struct bc_sess *s;
	uint8_t *mine, *other;

	/* no auth-process line will come: nothing to pair, and no session
	 * slot taken for every SMTP AUTH failure */
	if (!p->det.dovecot_auth_lines)
		return true;
	s = bc_parse_session(p, PAIR_TAG, a->a, sizeof(a->a), a->family, a, 0);
	mine = smtp ? &s->pair_smtp : &s->pair_dv;
	other = smtp ? &s->pair_dv : &s->pair_smtp;

	/* an old unmatched line is no partner (lines without a time are
	 * paired by order alone) */
	if (l->time_ms != 0 && s->time_ms != 0 &&
	    (l->time_ms - s->time_ms > BC_PARSE_PAIR_MS ||
	     s->time_ms - l->time_ms > BC_PARSE_PAIR_MS))
		s->pair_dv = s->pair_smtp = 0;
	if (l->time_ms != 0)
		s->time_ms = l->time_ms;
	if (*other > 0) {
		(*other)--;
		return false;
	}
	if (*mine < UINT8_MAX)
		(*mine)++;
	return true;
}

/* ---- public API ---------------------------------------------------- */

int bc_parser_set_detect(struct bc_parser *p, const struct bc_detect *d)
{
	size_t k, i, n;

	if (d == NULL) {
		bc_detect_init(&p->det);
		memset(p->det_len, 0, sizeof(p->det_len));
		return 0;
	}
	for (k = 0; k < BC_DETECT_LISTS; k++) {
		if (d->n[k] > BC_DETECT_REASONS)
			return -1;
		for (i = 0; i < d->n[k]; i++) {
			n = strnlen(d->reason[k][i], BC_DETECT_REASON_MAX);
			if (n == 0 || n == BC_DETECT_REASON_MAX)
				return -1;
		}
	}
	p->det = *d;
	for (k = 0; k < BC_DETECT_LISTS; k++)
		for (i = 0; i < d->n[k]; i++)
			p->det_len[k][i] = (uint8_t)strlen(d->reason[k][i]);
	return 0;
}

struct bc_parser *bc_parser_new(enum bc_format fmt)
{
	struct bc_parser *p;

	if ((unsigned)fmt > BC_FMT_DOVECOT)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	bc_detect_init(&p->det);
	p->fmt = fmt;
	p->cache_key = -1;
	p->mdh_last = -1;
	read_clock(p);
	return p;
}

enum bc_parse_result bc_parser_feed(struct bc_parser *p, const char *line,
				    size_t len, struct bc_event *ev)
{
	const char *end = line + len;
	enum bc_parse_result r;
	struct bc_line l;
	bc_scan_fn scan;

	p->st.lines++;
	if (len > 0 && line[len - 1] == '\n')
		end--;
	if (end > line && end[-1] == '\r')
		end--;
	if ((size_t)(end - line) > BC_PARSE_LINE_MAX) {
		p->st.overlong++;
		p->st.malformed++;
		return BC_PARSE_MALFORMED;
	}
	if (!frame(p, line, end, &l))
		return BC_PARSE_NOMATCH;
	if (l.time_ms)
		p->last_ms = l.time_ms;
	scan = scanner_for(p, &l);
	if (scan == NULL)
		return BC_PARSE_NOMATCH;
	r = scan(p, &l);
	if (r == BC_PARSE_MALFORMED) {
		p->st.malformed++;
		return r;
	}
	if (pop(p, ev))
		return BC_PARSE_MATCH;
	return BC_PARSE_NOMATCH;
}

int bc_parser_flush(struct bc_parser *p, int64_t now_ms, struct bc_event *ev)
{
	size_t i;

	if (pop(p, ev))
		return 1;
	if (now_ms == 0)
		now_ms = p->last_ms;
	/* a sweep slice at most every BC_PARSE_SWEEP_MS of log time; a
	 * clock that goes back (merged logs) only moves the mark */
	if (now_ms == 0)
		return 0;
	if (now_ms < p->sweep_ms) {
		p->sweep_ms = now_ms;
		return 0;
	}
	if (now_ms - p->sweep_ms < BC_PARSE_SWEEP_MS)
		return 0;
	p->sweep_ms = now_ms;
	/* a slice per sweep, so odd clocks cannot make every line pay */
	for (i = 0; i < BC_PARSE_SWEEP_SLICE; i++) {
		struct bc_sess *s = &p->sess[p->sweep_pos];

		p->sweep_pos = (p->sweep_pos + 1) % BC_PARSE_SESSIONS;
		if (s->key != 0 && s->time_ms != 0 &&
		    now_ms - s->time_ms > BC_PARSE_SESSION_TTL_MS)
			memset(s, 0, sizeof(*s));
	}
	return 0;
}

void bc_parser_stats(const struct bc_parser *p, struct bc_parse_stats *out)
{
	*out = p->st;
}

void bc_parser_free(struct bc_parser **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	free(*pp);
	*pp = NULL;
}

int bc_format_parse(const char *s, enum bc_format *out)
{
	static const struct {
		const char *name;
		enum bc_format f;
	} t[] = {
		{"auto", BC_FMT_AUTO},         {"postfix", BC_FMT_POSTFIX},
		{"exim", BC_FMT_EXIM},         {"sendmail", BC_FMT_SENDMAIL},
		{"dovecot", BC_FMT_DOVECOT},
	};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].f;
			return 0;
		}
	return -1;
}

const char *bc_format_name(enum bc_format f)
{
	switch (f) {
	case BC_FMT_AUTO:
		return "auto";
	case BC_FMT_POSTFIX:
		return "postfix";
	case BC_FMT_EXIM:
		return "exim";
	case BC_FMT_SENDMAIL:
		return "sendmail";
	case BC_FMT_DOVECOT:
		return "dovecot";
	}
	return "?";
}
