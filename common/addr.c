/*
 * addr.c - parse, normalize, format and compare addresses and prefixes.
 *
 * Input is untrusted (CLI arguments, config files, log fields): every
 * parser works on (ptr, len), copies into a bounded buffer and hands the
 * text to inet_pton(), which never resolves names. Errors fill err.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 45 /* longest IPv6 text form, INET6_ADDRSTRLEN - 1 */

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t v4compat[12] = {0};
static const uint8_t nat64_wkp[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

unsigned bc_addr_maxlen(const struct bc_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

size_t bc_addr_bytes(const struct bc_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

void bc_addr_mask(struct bc_addr *a, unsigned plen)
{
	unsigned max = bc_addr_maxlen(a), i;

	if (plen > max)
		plen = max;
	a->plen = (uint8_t)plen;
	/* the plen / 8 whole bytes stay, then the partial one is masked,
	 * then every byte after it (past the family's bytes too) is 0 */
	i = plen / 8;
	if (plen % 8 != 0) {
		a->a[i] &= (uint8_t)(0xff << (8 - plen % 8));
		i++;
	}
	memset(a->a + i, 0, 16 - i);
}

void bc_addr_from_bin(struct bc_addr *out, int family, const void *bin,
		      unsigned plen)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET6 && memcmp(bin, v4mapped, 12) == 0 &&
	    plen >= 96) {
		out->family = AF_INET;
		memcpy(out->a, (const uint8_t *)bin + 12, 4);
		plen -= 96;
	} else {
		out->family = (uint8_t)family;
		memcpy(out->a, bin, family == AF_INET ? 4 : 16);
	}
	bc_addr_mask(out, plen);
}

int bc_addr_parse_host(struct bc_addr *out, const char *s, size_t len)
{
	char buf[ADDR_TEXT_MAX + 1];
	uint8_t bin[16];

	if (len == 0 || len > ADDR_TEXT_MAX || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len) != NULL) {
		if (inet_pton(AF_INET6, buf, bin) != 1)
			return -1;
		bc_addr_from_bin(out, AF_INET6, bin, 128);
		return 0;
	}
	if (inet_pton(AF_INET, buf, bin) != 1)
		return -1;
	bc_addr_from_bin(out, AF_INET, bin, 32);
	return 0;
}

int bc_addr_parse(struct bc_addr *out, const char *s, size_t len, char *err,
		  size_t errlen)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned long plen;
	uint8_t bin[16];
	char buf[ADDR_TEXT_MAX + 1];
	int family;

	if (alen == 0 || alen > ADDR_TEXT_MAX || memchr(s, '\0', len) != NULL) {
		snprintf(err, errlen, "\"%.*s\": not an IP address",
			 (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	family = memchr(buf, ':', alen) ? AF_INET6 : AF_INET;
	if (inet_pton(family, buf, bin) != 1) {
		snprintf(err, errlen, "\"%s\": not an IP address", buf);
		return -1;
	}
	plen = family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		const char *p = slash + 1, *end = s + len;
		unsigned long v = 0;

		if (p == end || end - p > 3) {
			snprintf(err, errlen, "\"%.*s\": bad prefix length",
				 (int)(len > 64 ? 64 : len), s);
			return -1;
		}
		for (; p < end; p++) {
			if (*p < '0' || *p > '9') {
				snprintf(err, errlen,
					 "\"%.*s\": bad prefix length",
					 (int)(len > 64 ? 64 : len), s);
				return -1;
			}
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v > plen) {
			snprintf(err, errlen,
				 "\"%.*s\": prefix length %lu over /%lu",
				 (int)(len > 64 ? 64 : len), s, v, plen);
			return -1;
		}
		plen = v;
	}
	if (family == AF_INET6 && memcmp(bin, v4mapped, 12) == 0 && plen < 96) {
		snprintf(err, errlen,
			 "\"%.*s\": IPv4-mapped prefix shorter than /96",
			 (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	bc_addr_from_bin(out, family, bin, (unsigned)plen);
	return 0;
}

/* v (0..255) in decimal at t, without printf: a report formats every
 * address it lists. Returns the digits written. */
static size_t put_u8(char *t, unsigned v)
{
	size_t n = 0;

	if (v >= 100)
		t[n++] = (char)('0' + v / 100);
	if (v >= 10)
		t[n++] = (char)('0' + v / 10 % 10);
	t[n++] = (char)('0' + v % 10);
	return n;
}

const char *bc_addr_format(const struct bc_addr *a, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN + 4];
	size_t n;
	int i;

	if (a->family == AF_INET) { /* a.b.c.d */
		n = put_u8(t, a->a[0]);
		for (i = 1; i < 4; i++) {
			t[n++] = '.';
			n += put_u8(t + n, a->a[i]);
		}
	} else {
		if (inet_ntop(AF_INET6, a->a, t, INET6_ADDRSTRLEN) == NULL)
			snprintf(t, sizeof(t), "?");
		n = strlen(t);
	}
	if (a->plen != bc_addr_maxlen(a)) { /* "/LEN", LEN <= 255 */
		t[n++] = '/';
		n += put_u8(t + n, a->plen);
	}
	if (len == 0)
		return buf;
	if (n > len - 1) /* cut as snprintf would */
		n = len - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

void bc_addr_range(const struct bc_addr *a, uint8_t first[16],
		   uint8_t last[16])
{
	size_t n = bc_addr_bytes(a), i;

	memset(first, 0, 16);
	memset(last, 0, 16);
	memcpy(first, a->a, n);
	for (i = 0; i < n; i++) {
		unsigned bit = (unsigned)i * 8;
		uint8_t hostmask;

		if (bit >= a->plen)
			hostmask = 0xff;
		else if (bit + 8 > a->plen)
			hostmask = (uint8_t)(0xff >> (a->plen - bit));
		else
			hostmask = 0;
		last[i] = (uint8_t)(a->a[i] | hostmask);
	}
}

bool bc_addr_contains(const struct bc_addr *outer, const struct bc_addr *inner)
{
	struct bc_addr t;

	if (outer->family != inner->family || inner->plen < outer->plen)
		return false;
	t = *inner;
	bc_addr_mask(&t, outer->plen);
	return memcmp(t.a, outer->a, 16) == 0;
}

int bc_addr_cmp(const struct bc_addr *x, const struct bc_addr *y)
{
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->a, y->a, 16);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return 0;
}

/* No client sends from these IPv4 addresses (see bc_addr_client). */
static bool v4_unusable(const uint8_t v[4])
{
	return v[0] == 0 ||                               /* 0.0.0.0/8 */
	       (v[0] & 0xf0) == 0xe0 ||                   /* 224.0.0.0/4 */
	       (v[0] == 169 && v[1] == 254) ||            /* 169.254.0.0/16 */
	       (v[0] == 255 && v[1] == 255 && v[2] == 255 && v[3] == 255);
}

void bc_addr_nat64_v4(const struct bc_addr *a, unsigned plen, uint8_t v4[4])
{
	unsigned i, o = plen / 8;

	/* byte 8 (bits 64..71) is the RFC 6052 "u" octet: never address bits */
	for (i = 0; i < 4; i++, o++) {
		if (o == 8)
			o++;
		v4[i] = o < 16 ? a->a[o] : 0;
	}
}

bool bc_addr_is_nat64(const struct bc_addr *a, const struct bc_addr_list *site)
{
	if (a->family != AF_INET6)
		return false;
	if (a->plen >= 96 && memcmp(a->a, nat64_wkp, 12) == 0)
		return true;
	return site != NULL && site->n > 0 && bc_addr_list_match(site, a);
}

int bc_addr_nat64_check(const struct bc_addr_list *l, char *err,
			size_t errlen)
{
	size_t i;
	char b[BC_ADDR_STRLEN];

	for (i = 0; i < l->n; i++) {
		const struct bc_addr *p = &l->v[i];

		if (p->family != AF_INET6 ||
		    (p->plen != 32 && p->plen != 40 && p->plen != 48 &&
		     p->plen != 56 && p->plen != 64 && p->plen != 96)) {
			snprintf(err, errlen,
				 "\"%s\": expected an IPv6 prefix of length 32, "
				 "40, 48, 56, 64 or 96",
				 bc_addr_format(p, b, sizeof(b)));
			return -1;
		}
	}
	return 0;
}

int bc_addr_client(struct bc_addr *a)
{
	uint8_t v4[4];

	if (a->plen != bc_addr_maxlen(a))
		return -1;
	if (a->family == AF_INET)
		return v4_unusable(a->a) ? -1 : 0;
	if (a->family != AF_INET6)
		return -1;
	if (memcmp(a->a, v4mapped, 12) == 0 ||
	    (memcmp(a->a, v4compat, 12) == 0 &&
	     !(a->a[12] == 0 && a->a[13] == 0 && a->a[14] == 0 && a->a[15] == 1))) {
		/* ::ffff:a.b.c.d, ::a.b.c.d (:: itself is 0.0.0.0: refused) */
		memcpy(v4, a->a + 12, 4);
		if (v4_unusable(v4))
			return -1;
		memset(a, 0, sizeof(*a));
		a->family = AF_INET;
		a->plen = 32;
		memcpy(a->a, v4, 4);
		return 0;
	}
	if (a->a[0] == 0xff ||                           /* ff00::/8 */
	    (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80)) /* fe80::/10 */
		return -1;
	if (memcmp(a->a, nat64_wkp, 12) == 0) {
		bc_addr_nat64_v4(a, 96, v4);
		if (v4_unusable(v4))
			return -1;
	}
	return 0;
}

int bc_addr_list_add(struct bc_addr_list *l, const struct bc_addr *a)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct bc_addr *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

int bc_addr_list_parse(struct bc_addr_list *l, const char *s, char *err,
		       size_t errlen)
{
	const char *p = s;

	for (;;) {
		const char *start;
		struct bc_addr a;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (bc_addr_parse(&a, start, (size_t)(p - start), err,
				  errlen) < 0)
			return -1;
		if (bc_addr_list_add(l, &a) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
}

bool bc_addr_list_match(const struct bc_addr_list *l, const struct bc_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (bc_addr_contains(&l->v[i], a))
			return true;
	return false;
}

bool bc_addr_list_overlaps(const struct bc_addr_list *l,
			   const struct bc_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (bc_addr_contains(&l->v[i], a) || bc_addr_contains(a, &l->v[i]))
			return true;
	return false;
}

void bc_addr_list_free(struct bc_addr_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int bc_addr_parse_hostport(const char *s, void *ssp, unsigned *sslen, char *err,
			size_t errlen)
{
	struct sockaddr_storage ss;
	char host[64];
	const char *colon, *p;
	size_t hl;
	unsigned long port = 0;

	memset(&ss, 0, sizeof(ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			goto bad;
		hl = (size_t)(end - s - 1);
		colon = end + 1;
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (strchr(host, ':') != NULL)
			goto bad; /* IPv6 needs brackets */
	}
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - colon > 5)
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (p == colon + 1 || port < 1 || port > 65535)
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (sslen != NULL)
			*sslen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (sslen != NULL)
			*sslen = sizeof(*a4);
	}
	if (ssp != NULL)
		memcpy(ssp, &ss, sizeof(ss));
	return 0;
bad:
	snprintf(err, errlen,
		 "\"%.64s\": expected ADDRESS:PORT (127.0.0.1:9310, [::1]:9310; "
		 "an address, not a name; port 1..65535)", s);
	return -1;
}
