/*
 * log.c - one-line diagnostics on stderr, and escaping of untrusted text.
 *
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority
 * prefix and no timestamp; otherwise a UTC timestamp is printed.
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

static char *escape(char *dst, size_t dstlen, const char *src, size_t len,
		    int json)
{
	size_t o = 0, i, esclen = json > 0 ? 6 : 4;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f &&
		    (json < 0 || (c != '\\' && c != '"'))) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + esclen >= dstlen)
				break;
			if (json > 0)
				snprintf(dst + o, dstlen - o, "\\u%04x", c);
			else
				snprintf(dst + o, dstlen - o, "\\x%02x", c);
			o += esclen;
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

char *bc_json_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	return escape(dst, dstlen, src, len, 1);
}
