/*
 * log.c - one-line diagnostics on stderr, and escaping of untrusted text.
 *
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority
 * prefix and no timestamp; otherwise a UTC timestamp is printed. A
 * message longer than 2 KiB is cut. Only bc_fatal exits.
 *
 * The escapers take bytes of any value (attacker text included) and
 * write at most dstlen bytes into the caller's buffer, always
 * NUL-terminated, cut only between whole escapes (and, for JSON, whole
 * UTF-8 characters); they cannot fail. The rules are in log.h.
 */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "bancluster";
static enum bc_log_level log_min = BC_LOG_INFO;

void bc_log_init(const char *progname, enum bc_log_level min)
{
	log_prog = progname;
	log_min = min;
}

static void vlog(enum bc_log_level lvl, const char *fmt, va_list ap)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	static const int prio[] = {7, 6, 4, 3};
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (getenv("JOURNAL_STREAM") != NULL) {
		fprintf(stderr, "<%d>%s\n", prio[lvl], msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char t[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", t,
			ts.tv_nsec / 1000000, log_prog, names[lvl], msg);
	}
	fflush(stderr);
}

void bc_log(enum bc_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void bc_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", log_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* bc_escape (mode 0) and bc_printable (mode -1) */
static char *escape(char *dst, size_t dstlen, const char *src, size_t len,
		    int mode)
{
	size_t o = 0, i;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f &&
		    (mode < 0 || (c != '\\' && c != '"'))) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			snprintf(dst + o, dstlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	dst[o] = '\0';
	return dst;
}

char *bc_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	return escape(dst, dstlen, src, len, 0);
}

char *bc_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	return escape(dst, dstlen, src, len, -1);
}

size_t bc_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

char *bc_json_escape_as(char *dst, size_t dstlen, const char *src,
			size_t len, enum bc_json_style style)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, i = 0;

	if (dstlen == 0)
		return dst;
	while (i < len) {
		unsigned char c = p[i];
		char e[8];
		const char *out = e;
		size_t ol, used = 1;

		if (style == BC_JSON_SHORT && (c == '"' || c == '\\')) {
			e[0] = '\\';
			e[1] = (char)c;
			ol = 2;
		} else if (style == BC_JSON_SHORT && c == '\n') {
			out = "\\n";
			ol = 2;
		} else if (style == BC_JSON_SHORT && c == '\t') {
			out = "\\t";
			ol = 2;
		} else if (style == BC_JSON_SHORT && c == '\r') {
			out = "\\r";
			ol = 2;
		} else if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			snprintf(e, sizeof(e), "\\u%04x", c);
			ol = 6;
		} else if ((used = bc_utf8_seq(p + i, len - i)) > 0) {
			out = src + i; /* printable ASCII or one whole character */
			ol = used;
		} else {
			out = "\\ufffd"; /* not UTF-8: one byte replaced */
			ol = 6;
			used = 1;
		}
		if (o + ol >= dstlen)
			break;
		memcpy(dst + o, out, ol);
		o += ol;
		i += used;
	}
	dst[o] = '\0';
	return dst;
}

char *bc_json_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	return bc_json_escape_as(dst, dstlen, src, len, BC_JSON_UHEX);
}
