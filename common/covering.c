/*
 * covering.c - the text naming the bans that cover an address
 * (covering.h), shared by the coordinator's unban refusal and the CLI.
 *
 * Input: prefixes the caller holds in canonical form. Output: the
 * caller's buffer only, always terminated and never overrun; a list too
 * long for it is shortened to "and N more". Nothing prints, nothing
 * fails.
 */
#include "covering.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LABEL "fleet ban"

/* Append to buf at *off like snprintf; *off counts what was wanted. */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(*off < len ? buf + *off : NULL, *off < len ? len - *off : 0,
		      fmt, ap);
	va_end(ap);
	if (w > 0)
		*off += (size_t)w;
}

/* The text with the first k of n prefixes named; returns its length
 * (as snprintf: what it needs, even when buf is shorter). */
static size_t build(const struct bc_addr *v, const char *const *labels,
		    size_t n, size_t k, char *buf, size_t len)
{
	char a[BC_ADDR_STRLEN];
	size_t i, off = 0;

	buf[0] = '\0';
	put(buf, len, &off, "inside ");
	if (k == 0)
		put(buf, len, &off, "%zu %sbans", n, labels ? "" : "fleet ");
	for (i = 0; i < k; i++) {
		/* "A", "A and B", "A, B and C"; "A, B and 3 more" when cut */
		const char *sep = i == 0 ? "" : (i == k - 1 && k == n) ? " and " : ", ";

		put(buf, len, &off, "%s%s (%s)", sep, bc_addr_format(&v[i], a, sizeof(a)),
		    labels ? labels[i] : LABEL);
	}
	if (k > 0 && k < n)
		put(buf, len, &off, " and %zu more", n - k);
	put(buf, len, &off, ": use --covering to lift %s", n == 1 ? "that ban" : "those bans");
	return off;
}

const char *bc_covering_text(const struct bc_addr *v, size_t n, char *buf,
			     size_t len)
{
	return bc_covering_text_labelled(v, NULL, n, buf, len);
}

const char *bc_covering_text_labelled(const struct bc_addr *v,
				      const char *const *labels, size_t n,
				      char *buf, size_t len)
{
	size_t k = n;

	if (len == 0)
		return buf;
	while (k > 0 && build(v, labels, n, k, buf, len) >= len)
		k--;
	if (k == 0)
		build(v, labels, n, 0, buf, len); /* cut by vsnprintf at len */
	return buf;
}
