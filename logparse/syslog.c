/*
 * logparse/syslog.c - the framer: the header of one log line, read into
 * (time, program, pid, message) for the scanners.
 *
 * logparse/ is the only code that reads attacker text, and this is where
 * every line enters it: the whole line is untrusted (a client shapes
 * parts of the message, and a local user may write any line to syslog).
 * The framer recognises
 *   - RFC 3164:   [<PRI>]Mmm dd hh:mm:ss[.frac] HOST TAG[PID]: MSG
 *                 (also Postfix maillog_file, "%b %d %H:%M:%S host ...",
 *                 and Dovecot's own log file, which has no HOST)
 *   - RFC 5424:   <PRI>1 YYYY-MM-DDThh:mm:ss[.frac]TZ HOST APP PROCID MSGID SD MSG
 *   - rsyslog ISO 8601 (RSYSLOG_FileFormat):
 *                 YYYY-MM-DDThh:mm:ss[.frac]TZ HOST TAG[PID]: MSG
 *   - Exim mainlog: YYYY-MM-DD hh:mm:ss[.mmm][ +zzzz] MSG
 *   - bare:       TAG[PID]: MSG   (a journal entry rebuilt by its source)
 * reading only inside [s, end), at fixed positions, without regex; the
 * tag is at most TAG_MAX bytes of a fixed alphabet, the pid 10 digits.
 *
 * Ownership: struct bc_syslog (the clock for lines without a year and the
 * local-time cache) belongs to the parser that embeds it; the struct
 * bc_line filled points into the caller's line. Errors: a line in none of
 * the forms makes bc_syslog_frame return false (the parser's NOMATCH);
 * nothing is printed.
 */
#include "logparse/internal.h"

#include <string.h>
#include <time.h>

#define TAG_MAX 64 /* longest program tag looked at */

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
static void read_clock(struct bc_syslog *p)
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
static int64_t local_ms(struct bc_syslog *p, int y, int mon, int d, int h,
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
static const char *parse_iso(struct bc_syslog *p, const char *s,
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
static const char *parse_3164(struct bc_syslog *p, const char *s,
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

/*
 * "TAG[PID]: " or "TAG: " at s. Fills prog/pid and returns the message
 * start, or NULL when s does not start with a tag.
 */
static const char *parse_tag(const char *s, const char *end, struct bc_line *l)
{
	const char *q = s, *lim = end - s > TAG_MAX ? s + TAG_MAX : end;

	while (q < lim && bc_tag_char(*q))
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
static bool frame_5424(struct bc_syslog *p, const char *q, const char *end,
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

bool bc_syslog_frame(struct bc_syslog *p, const char *s, const char *end,
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
			if (frame_after_time(q, end, l) && BC_PROG_IS(l, "exim"))
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

void bc_syslog_init(struct bc_syslog *p)
{
	p->cache_key = -1;
	p->mdh_last = -1;
	read_clock(p);
}
