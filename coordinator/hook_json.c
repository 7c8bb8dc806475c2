/*
 * hook_json.c - the JSON of one committed change, as on_ban / on_unban
 * read it on their stdin and the webhook receives it (docs/hooks.md,
 * hooks.h: bc_hook_json).
 *
 * Inputs: the change as the coordinator committed it. Its text fields
 * are trusted to be ours except the reason of a manual ban (an admin's
 * text) and the names in origin and signer; all of them go through
 * bc_json_escape_as (common/log.h, BC_JSON_SHORT), so the output is
 * valid JSON and valid UTF-8 whatever the bytes. The caller owns buf;
 * nothing is kept. A buffer too small is reported as 0, never cut.
 */
#include "hooks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>

#include "common/log.h"

struct jbuf {
	char *p;
	size_t n, cap;
	bool over;
};

static void jput(struct jbuf *b, const char *s, size_t len)
{
	if (b->over || b->n + len >= b->cap) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void jputs(struct jbuf *b, const char *s)
{
	jput(b, s, strlen(s));
}

static void jprintf(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void jprintf(struct jbuf *b, const char *fmt, ...)
{
	char tmp[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->over = true;
		return;
	}
	jput(b, tmp, (size_t)n);
}

/* A JSON string, or null for NULL (common/log.h: the one escaper). */
static void jstr(struct jbuf *b, const char *s)
{
	size_t n, cap;
	char *e;

	if (s == NULL) {
		jputs(b, "null");
		return;
	}
	n = strlen(s);
	cap = 6 * n + 1; /* the longest escape of n bytes: never cut */
	e = malloc(cap);
	if (e == NULL) {
		b->over = true;
		return;
	}
	bc_json_escape_as(e, cap, s, n, BC_JSON_SHORT);
	jputs(b, "\"");
	jputs(b, e);
	jputs(b, "\"");
	free(e);
}

/* "2026-12-01T10:00:00.123Z", or null for 0. */
static void jtime(struct jbuf *b, int64_t ms)
{
	time_t t;
	struct tm tm;
	char s[40];

	if (ms <= 0) {
		jputs(b, "null");
		return;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		jputs(b, "null");
		return;
	}
	jprintf(b, "\"%s.%03dZ\"", s, (int)(ms % 1000));
}

static void host_text(const struct bc_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->a, buf,
		      (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

size_t bc_hook_json(const struct bc_hook_event *e, char *buf, size_t cap)
{
	struct jbuf b = {buf, 0, cap, false};
	char host[BC_ADDR_STRLEN], kind[16] = "", *colon;
	const char *origin, *rule = NULL, *signer = NULL;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	host_text(&e->ban->addr, host, sizeof(host));
	/* the store's origin "manual:NAME" / "rule:NAME" becomes two fields */
	if (e->remove) {
		origin = strcmp(e->origin, "expire") == 0 ? "expiry" : "manual";
	} else {
		snprintf(kind, sizeof(kind), "%s", e->origin);
		colon = strchr(kind, ':');
		if (colon != NULL)
			*colon = '\0';
		origin = strcmp(kind, "manual") == 0 ? "manual" : "rule";
		if (strcmp(origin, "rule") == 0)
			rule = colon != NULL ? e->origin + (colon - kind) + 1
					     : e->origin;
	}
	if (strcmp(origin, "manual") == 0 && e->signer != NULL &&
	    e->signer[0] != '\0')
		signer = e->signer;
	jputs(&b, "{\"schema_version\":1,\"action\":");
	jstr(&b, e->remove ? "unban" : "ban");
	jputs(&b, ",\"address\":");
	jstr(&b, host);
	jprintf(&b, ",\"prefix\":%u,\"family\":%s,\"origin\":",
		(unsigned)e->ban->addr.plen,
		e->ban->addr.family == AF_INET ? "\"ipv4\"" : "\"ipv6\"");
	jstr(&b, origin);
	jputs(&b, ",\"rule\":");
	jstr(&b, rule);
	jputs(&b, ",\"signer\":");
	jstr(&b, signer);
	jputs(&b, ",\"reason\":");
	jstr(&b, e->remove ? NULL : e->reason);
	jputs(&b, ",\"created\":");
	jtime(&b, e->ban->created_ms);
	jputs(&b, ",\"expires\":");
	jtime(&b, e->ban->expires_ms);
	jputs(&b, ",\"time\":");
	jtime(&b, e->time_ms);
	jprintf(&b, ",\"sequence\":%" PRIu64 ",\"epoch\":%" PRIu64 ",\"cluster\":",
		e->seq, e->epoch);
	jstr(&b, e->cluster);
	jputs(&b, "}\n");
	return b.over ? 0 : b.n;
}
