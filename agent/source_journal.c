/*
 * source_journal.c - type = journal: mail programs' entries from the
 * systemd journal (sd-journal), rebuilt as rsyslog-style lines.
 *
 * Input: journal entries. MESSAGE, SYSLOG_IDENTIFIER, SYSLOG_PID and
 * SYSLOG_FACILITY are written by the logging program (untrusted);
 * _HOSTNAME, _PID and _COMM by journald, though a journal file read with
 * `path` may come from anywhere. Every field is bounded by the data
 * threshold, identifier and host are reduced to a safe alphabet and
 * control bytes in the message are escaped, so a line is always one line
 * the parsers can frame. The format is described in source.h.
 *
 * Ownership: the source owns the sd_journal handle (and through it every
 * journal file and the inotify fd). The cursor text of the last entry
 * read is kept in s->jcursor for bc_source_save. Errors: -1 with s->err.
 */
#define BC_SOURCE_INTERNAL
#include "agent/source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <dlfcn.h>
#include <systemd/sd-journal.h>

#define CURSOR_MAGIC "bancluster-source-cursor 1 journal"
#define FIELD_MAX (BC_PARSE_LINE_MAX + 64) /* sd_journal data threshold */
#define IDENT_MAX 63  /* the parsers read tags of up to 64 bytes */
#define HOST_MAX 255

/*
 * libsystemd, loaded by the process that opens a journal source (the
 * reader, before Landlock confines it) and only then: linked, it and its
 * five libraries were mapped into all three agent processes, journal or
 * not. Loaded once, never unloaded.
 */
#define SDJ_FUNCS(X)                                                         \
	X(open) X(open_directory) X(open_files) X(close) X(add_match)        \
	X(add_disjunction) X(set_data_threshold) X(get_usage) X(get_fd)      \
	X(seek_cursor) X(seek_tail) X(seek_head) X(previous) X(next)         \
	X(get_data) X(get_realtime_usec) X(process) X(test_cursor)           \
	X(get_cursor) X(get_timeout)

static struct {
	void *lib;
#define SDJ_PTR(f) __typeof__(sd_journal_##f) *f;
	SDJ_FUNCS(SDJ_PTR)
#undef SDJ_PTR
} sdj;

/* 0 once every function is there, or -1 with the source's error. */
static int sdj_load(struct bc_source *s)
{
	void *lib, *sym;

	if (sdj.lib != NULL)
		return 0;
	lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		bc_source_seterr(s, "journal: cannot load libsystemd.so.0: %s",
				 dlerror());
		return -1;
	}
#define SDJ_SYM(f)                                                           \
	if ((sym = dlsym(lib, "sd_journal_" #f)) == NULL)                    \
		goto missing;                                                \
	memcpy(&sdj.f, &sym, sizeof(sym));
	SDJ_FUNCS(SDJ_SYM)
#undef SDJ_SYM
	sdj.lib = lib;
	return 0;
missing:
	bc_source_seterr(s, "journal: libsystemd.so.0: %s", dlerror());
	memset(&sdj, 0, sizeof(sdj));
	dlclose(lib);
	return -1;
}

/* SYSLOG_IDENTIFIER values of the mail programs (ORed matches). */
static const char *const idents[] = {
	"postfix", "postfix/smtpd", "postfix/submission/smtpd",
	"postfix/submissions/smtpd", "postfix/smtps/smtpd",
	"postfix/postscreen", "postfix/dnsblog", "postfix/tlsproxy",
	"postfix/anvil", "postfix/cleanup", "postfix/qmgr", "postfix/smtp",
	"postfix/lmtp", "postfix/local", "postfix/virtual", "postfix/pipe",
	"postfix/bounce", "postfix/error", "postfix/discard",
	"postfix/master", "postfix/pickup", "postfix/postlogd",
	"postfix/postfix-script", "postfix/sendmail", "postfix/postdrop",
	"postfix/verify", "postfix/scache", "postfix/proxymap",
	"postfix/trivial-rewrite", "postfix/showq", "postfix/tlsmgr",
	"exim", "exim4", "sendmail", "sm-mta", "sm-msp-queue", "dovecot",
	NULL,
};

/* Install the matches: any listed identifier, or facility mail. */
static int add_matches(struct bc_source *s)
{
	char m[96];
	size_t i;
	int r;

	for (i = 0; idents[i] != NULL; i++) {
		snprintf(m, sizeof(m), "SYSLOG_IDENTIFIER=%s", idents[i]);
		r = sdj.add_match(s->j, m, 0);
		if (r < 0)
			goto fail;
	}
	r = sdj.add_disjunction(s->j);
	if (r < 0)
		goto fail;
	r = sdj.add_match(s->j, "SYSLOG_FACILITY=2", 0);
	if (r >= 0)
		return 0;
fail:
	bc_source_seterr(s, "journal match: %s", strerror(-r));
	return -1;
}

/* Parse the cursor file's text into s->jcursor. */
static int parse_cursor(struct bc_source *s, const char *text)
{
	static const char pfx[] = CURSOR_MAGIC "\ncursor ";
	const char *c, *nl;
	size_t len, i;

	if (strncmp(text, pfx, sizeof(pfx) - 1) != 0)
		goto bad;
	c = text + sizeof(pfx) - 1;
	nl = strchr(c, '\n');
	if (nl == NULL || nl[1] != '\0')
		goto bad;
	len = (size_t)(nl - c);
	if (len == 0 || len >= sizeof(s->jcursor))
		goto bad;
	for (i = 0; i < len; i++)
		if (c[i] <= ' ' || c[i] > '~')
			goto bad;
	memcpy(s->jcursor, c, len);
	s->jcursor[len] = '\0';
	return 0;
bad:
	bc_source_seterr(s,
			 "%s: not a journal cursor; remove it to start after the last entry",
			 s->cursor_path);
	return -1;
}

int bc_source_journal_open(struct bc_source *s, const char *text, int have)
{
	struct stat st;
	uint64_t use = 0;
	int r;

	if (sdj_load(s) < 0 || (have && parse_cursor(s, text) < 0))
		return -1;
	if (s->path[0] == '\0') {
		r = sdj.open(&s->j, SD_JOURNAL_LOCAL_ONLY);
	} else if (stat(s->path, &st) < 0) {
		bc_source_seterr(s, "%s: %s", s->path, strerror(errno));
		return -1;
	} else if (S_ISDIR(st.st_mode)) {
		r = sdj.open_directory(&s->j, s->path, 0);
	} else {
		const char *files[2] = {s->path, NULL};

		r = sdj.open_files(&s->j, files, 0);
	}
	if (r < 0) {
		s->j = NULL;
		bc_source_seterr(s, "%s: cannot open journal: %s",
				 s->path[0] ? s->path : "system journal",
				 strerror(-r));
		return -1;
	}
	r = sdj.set_data_threshold(s->j, FIELD_MAX);
	if (r < 0) {
		bc_source_seterr(s, "journal threshold: %s", strerror(-r));
		return -1;
	}
	if (add_matches(s) < 0)
		return -1;
	/* sd-journal skips the files it may not read without a word */
	if (sdj.get_usage(s->j, &use) >= 0 && use == 0)
		snprintf(s->notice, sizeof(s->notice),
			 "no journal file readable yet: none written, or the user "
			 "is not in group systemd-journal (or adm)");
	s->jfd = sdj.get_fd(s->j);
	if (s->jfd < 0) {
		bc_source_seterr(s, "journal fd: %s", strerror(-s->jfd));
		s->jfd = -1;
		return -1;
	}
	if (s->jcursor[0] != '\0') {
		r = sdj.seek_cursor(s->j, s->jcursor);
		s->jpending = true;
	} else {
		/* first start: after the last entry present */
		r = sdj.seek_tail(s->j);
		if (r >= 0)
			r = sdj.previous(s->j);
		/*
		 * No mail entry at all yet: every one that comes is new, so
		 * read from the head. Left at the tail with matches, libsystemd
		 * 252 returns only the first of the entries that arrive
		 * together before the next read.
		 */
		if (r == 0)
			r = sdj.seek_head(s->j);
	}
	if (r < 0) {
		bc_source_seterr(s, "journal seek: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* The value of FIELD in the current entry, or NULL. */
static const char *field(struct bc_source *s, const char *name, size_t *len)
{
	const void *d;
	size_t l, nl = strlen(name);

	if (sdj.get_data(s->j, name, &d, &l) < 0 || l <= nl ||
	    ((const char *)d)[nl] != '=')
		return NULL;
	*len = l - nl - 1;
	return (const char *)d + nl + 1;
}

/* Append a token keeping only the parsers' tag alphabet. */
static size_t put_token(char *out, size_t o, size_t cap, const char *p,
			size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n && i < max && o < cap; i++) {
		char c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  c == '/' || c == '.' || c == '@';

		out[o++] = ok ? c : '_';
	}
	return o;
}

/*
 * Build the line for the current entry in s->jline. Returns its length,
 * 0 to skip the entry, or a value over BC_PARSE_LINE_MAX when too long.
 */
static size_t build_line(struct bc_source *s)
{
	char *out = s->jline;
	const size_t cap = sizeof(s->jline);
	const char *msg, *id, *host, *pid;
	size_t mlen, idlen, hlen, plen, o, i;
	uint64_t usec;
	struct tm tm;
	time_t secs;

	msg = field(s, "MESSAGE", &mlen);
	if (msg == NULL)
		return 0;
	if (mlen >= FIELD_MAX - 8)
		return cap + 1; /* cut by the threshold: over the cap */
	id = field(s, "SYSLOG_IDENTIFIER", &idlen);
	if (id == NULL || idlen == 0)
		id = field(s, "_COMM", &idlen);
	if (id == NULL || idlen == 0)
		return 0;
	host = field(s, "_HOSTNAME", &hlen);
	pid = field(s, "_PID", &plen);
	if (pid == NULL)
		pid = field(s, "SYSLOG_PID", &plen);
	if (sdj.get_realtime_usec(s->j, &usec) < 0)
		usec = 0;
	secs = (time_t)(usec / 1000000);
	if (gmtime_r(&secs, &tm) == NULL)
		return 0;
	o = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	o += (size_t)snprintf(out + o, cap - o, ".%06u+00:00 ",
			      (unsigned)(usec % 1000000));
	if (host != NULL && hlen > 0)
		o = put_token(out, o, cap, host, hlen, HOST_MAX);
	else
		out[o++] = '-';
	out[o++] = ' ';
	o = put_token(out, o, cap, id, idlen, IDENT_MAX);
	for (i = 0; pid != NULL && i < plen; i++)
		if (pid[i] < '0' || pid[i] > '9')
			pid = NULL;
	if (pid != NULL && plen > 0 && plen <= 10) {
		out[o++] = '[';
		memcpy(out + o, pid, plen);
		o += plen;
		out[o++] = ']';
	}
	out[o++] = ':';
	out[o++] = ' ';
	while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r'))
		mlen--;
	for (i = 0; i < mlen; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (o + 4 > cap)
			return cap + 1;
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '#';
			out[o++] = (char)('0' + (c >> 6));
			out[o++] = (char)('0' + ((c >> 3) & 7));
			out[o++] = (char)('0' + (c & 7));
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

long bc_source_journal_read(struct bc_source *s, bc_source_line_fn fn,
			    void *arg, size_t max)
{
	size_t n = 0;
	bool moved = false;
	int r;

	r = sdj.process(s->j);
	if (r < 0) {
		bc_source_seterr(s, "journal: %s", strerror(-r));
		return -1;
	}
	while (n < max) {
		size_t len;

		r = sdj.next(s->j);
		if (r < 0) {
			bc_source_seterr(s, "journal: %s", strerror(-r));
			return -1;
		}
		if (r == 0)
			break;
		moved = true;
		if (s->jpending) {
			s->jpending = false;
			if (sdj.test_cursor(s->j, s->jcursor) > 0)
				continue; /* delivered before the restart */
		}
		len = build_line(s);
		if (len == 0)
			continue;
		if (len > BC_PARSE_LINE_MAX) {
			s->stats.overlong++;
			continue;
		}
		fn(arg, s->jline, len);
		s->stats.lines++;
		s->stats.bytes += len;
		n++;
	}
	if (n >= max)
		s->more = true;
	if (moved) {
		char *c = NULL;

		r = sdj.get_cursor(s->j, &c);
		if (r >= 0 && strlen(c) < sizeof(s->jcursor)) {
			snprintf(s->jcursor, sizeof(s->jcursor), "%s", c);
		}
		free(c);
	}
	return (long)n;
}

int bc_source_journal_save(struct bc_source *s)
{
	char buf[BC_SOURCE_JCURSOR_MAX + 64];
	int n;

	if (s->jcursor[0] == '\0')
		return 0; /* nothing read yet: the next start is a first one */
	n = snprintf(buf, sizeof(buf), "%s\ncursor %s\n", CURSOR_MAGIC,
		     s->jcursor);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		bc_source_seterr(s, "journal cursor too long");
		return -1;
	}
	return bc_source_cursor_store(s, buf, (size_t)n);
}

int bc_source_journal_timeout(const struct bc_source *s)
{
	uint64_t t, now;
	struct timespec ts;

	if (sdj.get_timeout(s->j, &t) < 0 || t == UINT64_MAX)
		return BC_SOURCE_CHECK_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (t <= now)
		return 0;
	t = (t - now + 999) / 1000;
	return t > BC_SOURCE_CHECK_MS ? BC_SOURCE_CHECK_MS : (int)t;
}

void bc_source_journal_close(struct bc_source *s)
{
	if (s->j != NULL)
		sdj.close(s->j);
	s->j = NULL;
	s->jfd = -1;
}
