/*
 * logparse/parse.c - the parser: hands each framed line to its scanner and
 * keeps what the scanners share (session state, AUTH pairing, the event
 * queue, the reject reasons, the [detect] settings), behind the public
 * API of logparse/parse.h.
 *
 * logparse/ is the only code that reads attacker text: one untrusted log
 * line per bc_parser_feed. Lines over BC_PARSE_LINE_MAX are MALFORMED and
 * not looked at; the rest is framed by logparse/syslog.c (header ->
 * time, program, pid, message) and given to the scanner for the program
 * (format auto) or to the one scanner the source was configured with
 * (logparse/postfix.c, exim.c, sendmail.c, dovecot.c).
 *
 * Ownership: the parser owns its framer state, session table and event
 * queue, all of fixed size; nothing points into the caller's line after
 * feed returns. Errors are results (enum bc_parse_result, -1, NULL),
 * never prints or exits.
 */
#include "logparse/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SESS_WAYS 4 /* entries probed per key; the oldest is evicted */
#define BC_PARSE_SWEEP_MS 10000 /* log time between expiry sweeps */
#define BC_PARSE_SWEEP_SLICE 256 /* session slots looked at per sweep */

struct bc_parser {
	enum bc_format fmt;
	struct bc_syslog fs; /* the framer's clock and local-time cache */
	int64_t last_ms;  /* time of the last line with a time */
	int64_t sweep_ms; /* time of the last expiry sweep */
	size_t sweep_pos; /* next session slot the sweep looks at */
	uint64_t clock;   /* bumps on every session use */
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

/* Byte classes (internal.h): BC_CC_ALNUM 0-9 A-Z a-z, BC_CC_TAG those
 * and - _ / . @; 16 bytes a row (test_parse checks every byte). */
const unsigned char bc_char_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0,
	2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 2,
	0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

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

bool bc_lit_match(const char *r, const char *end, const char *s, size_t n)
{
	return bc_has_prefix(r, end, s, n) && (r + n == end || !bc_alnum(r[n]));
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

/*
 * Session ids (program tags, queue ids, addresses) to table keys, eight
 * bytes a step (a multiply and a shift per word, not per byte: this runs
 * on every connect and disconnect line); enough to spread them, not a
 * defence by itself (the table is bounded and evicts the oldest).
 */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

uint64_t bc_parse_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *d = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ seed, w;

	h = mix(h, (uint64_t)len);
	for (; len >= 8; d += 8, len -= 8) {
		memcpy(&w, d, 8);
		h = mix(h, w);
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, d, len);
		h = mix(h, w);
	}
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 32);
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
		if (BC_PROG_IS(l, "postfix"))
			return bc_scan_postfix;
		break;
	case 'e':
		if (BC_PROG_IS(l, "exim"))
			return bc_scan_exim;
		break;
	case 's':
		if (BC_PROG_IS(l, "sm-") || BC_PROG_IS(l, "sendmail"))
			return bc_scan_sendmail;
		break;
	case 'd':
		if (BC_PROG_IS(l, "dovecot"))
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
		ev->service[i] = bc_tag_char(service[i]) ? service[i] : '_';
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

void bc_parse_session_restart(struct bc_parser *p, struct bc_sess *s,
			      const struct bc_addr *addr, int64_t time_ms)
{
	uint64_t key = s->key;

	memset(s, 0, sizeof(*s));
	s->key = key;
	s->used = ++p->clock;
	s->time_ms = time_ms;
	if (addr != NULL)
		s->addr = *addr;
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
	/* its own zero pages (~260 kB, mostly the session table): only the
	 * slots a log touches become resident, wherever malloc stands */
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	bc_detect_init(&p->det);
	p->fmt = fmt;
	bc_syslog_init(&p->fs);
	return p;
}

/* The framer's state is the framer (syslog.c's clock and cache). */
struct bc_framer {
	struct bc_syslog fs;
};

struct bc_framer *bc_framer_new(void)
{
	struct bc_framer *f = calloc(1, sizeof(*f));

	if (f != NULL)
		bc_syslog_init(&f->fs);
	return f;
}

void bc_framer_free(struct bc_framer **f)
{
	if (f == NULL)
		return;
	free(*f);
	*f = NULL;
}

static void frame_line(struct bc_syslog *fs, const char *line, size_t len,
		       struct bc_frame *out)
{
	const char *end = line + len;

	if (len > 0 && line[len - 1] == '\n')
		end--;
	if (end > line && end[-1] == '\r')
		end--;
	out->line = line;
	out->len = (size_t)(end - line);
	if (out->len > BC_PARSE_LINE_MAX)
		out->status = BC_FRAME_OVERLONG;
	else if (bc_syslog_frame(fs, line, end, &out->l))
		out->status = BC_FRAME_OK;
	else
		out->status = BC_FRAME_NONE;
}

void bc_framer_frame(struct bc_framer *f, const char *line, size_t len,
		     struct bc_frame *out)
{
	frame_line(&f->fs, line, len, out);
}

enum bc_parse_result bc_parser_feed_frame(struct bc_parser *p,
					  const struct bc_frame *fr,
					  struct bc_event *ev)
{
	enum bc_parse_result r;
	bc_scan_fn scan;

	p->st.lines++;
	if (fr->status == BC_FRAME_OVERLONG) {
		p->st.overlong++;
		p->st.malformed++;
		return BC_PARSE_MALFORMED;
	}
	if (fr->status != BC_FRAME_OK)
		return BC_PARSE_NOMATCH;
	if (fr->l.time_ms)
		p->last_ms = fr->l.time_ms;
	scan = scanner_for(p, &fr->l);
	if (scan == NULL)
		return BC_PARSE_NOMATCH;
	r = scan(p, &fr->l);
	if (r == BC_PARSE_MALFORMED) {
		p->st.malformed++;
		return r;
	}
	if (pop(p, ev))
		return BC_PARSE_MATCH;
	return BC_PARSE_NOMATCH;
}

enum bc_parse_result bc_parser_feed(struct bc_parser *p, const char *line,
				    size_t len, struct bc_event *ev)
{
	struct bc_frame fr;

	frame_line(&p->fs, line, len, &fr);
	return bc_parser_feed_frame(p, &fr, ev);
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
	munmap(*pp, sizeof(**pp));
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
