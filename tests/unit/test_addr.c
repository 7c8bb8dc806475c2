/*
 * test_addr.c - address and prefix parsing, normalization, formatting,
 * containment, ordering and lists (common/addr.h).
 *
 * Every case is a row of a table: the input text and the canonical form
 * it must come out as (or NULL when it must be refused).
 */
#include "common/addr.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 256

/* Parse a whole C string; format it back into buf, or return NULL. */
static const char *parse_fmt(const char *s, struct bc_addr *a, char *buf,
			     size_t len, char *err)
{
	err[0] = '\0';
	if (bc_addr_parse(a, s, strlen(s), err, ERRLEN) < 0)
		return NULL;
	return bc_addr_format(a, buf, len);
}

struct parse_case {
	const char *in;
	const char *want; /* canonical text, NULL: refused */
	int family;       /* AF_INET / AF_INET6 when accepted */
	unsigned plen;
};

static const struct parse_case parse_cases[] = {
	/* IPv4 hosts and prefixes */
	{"192.0.2.1", "192.0.2.1", AF_INET, 32},
	{"192.0.2.1/32", "192.0.2.1", AF_INET, 32},
	{"192.0.2.0/24", "192.0.2.0/24", AF_INET, 24},
	{"0.0.0.0/0", "0.0.0.0/0", AF_INET, 0},
	{"255.255.255.255", "255.255.255.255", AF_INET, 32},
	{"10.0.0.0/8", "10.0.0.0/8", AF_INET, 8},
	/* host bits cleared */
	{"192.0.2.77/24", "192.0.2.0/24", AF_INET, 24},
	{"10.255.255.255/8", "10.0.0.0/8", AF_INET, 8},
	{"192.0.2.255/25", "192.0.2.128/25", AF_INET, 25},
	{"192.0.2.255/31", "192.0.2.254/31", AF_INET, 31},
	{"255.255.255.255/1", "128.0.0.0/1", AF_INET, 1},
	{"255.255.255.255/0", "0.0.0.0/0", AF_INET, 0},
	{"203.0.113.9/13", "203.0.0.0/13", AF_INET, 13},
	/* IPv6 */
	{"2001:db8::1", "2001:db8::1", AF_INET6, 128},
	{"2001:db8::1/128", "2001:db8::1", AF_INET6, 128},
	{"2001:db8::/32", "2001:db8::/32", AF_INET6, 32},
	{"2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::/64", AF_INET6, 64},
	{"2001:db8:ffff::/33", "2001:db8:8000::/33", AF_INET6, 33},
	{"::", "::", AF_INET6, 128},
	{"::/0", "::/0", AF_INET6, 0},
	{"::1", "::1", AF_INET6, 128},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, 128},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
	 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", AF_INET6, 127},
	{"2001:DB8::A", "2001:db8::a", AF_INET6, 128},
	{"fe80::1:2/10", "fe80::/10", AF_INET6, 10},
	/* IPv4-mapped IPv6 becomes IPv4 */
	{"::ffff:192.0.2.1", "192.0.2.1", AF_INET, 32},
	{"::ffff:c000:0201", "192.0.2.1", AF_INET, 32},
	{"::ffff:192.0.2.1/128", "192.0.2.1", AF_INET, 32},
	{"::ffff:192.0.2.1/120", "192.0.2.0/24", AF_INET, 24},
	{"::ffff:192.0.2.1/96", "0.0.0.0/0", AF_INET, 0},
	{"::FFFF:10.1.2.3/104", "10.0.0.0/8", AF_INET, 8},
	/* IPv4-compatible (not mapped) stays IPv6 */
	{"::192.0.2.1", "::192.0.2.1", AF_INET6, 128},
	/* malformed */
	{"", NULL, 0, 0},
	{"/24", NULL, 0, 0},
	{"192.0.2.1/", NULL, 0, 0},
	{"192.0.2.1/33", NULL, 0, 0},
	{"192.0.2.1/64", NULL, 0, 0},
	{"192.0.2.1/128", NULL, 0, 0},
	{"2001:db8::/129", NULL, 0, 0},
	{"2001:db8::/200", NULL, 0, 0},
	{"192.0.2.1/1000", NULL, 0, 0},
	{"192.0.2.1/-1", NULL, 0, 0},
	{"192.0.2.1/+8", NULL, 0, 0},
	{"192.0.2.1/ 8", NULL, 0, 0},
	{"192.0.2.1/8 ", NULL, 0, 0},
	{"192.0.2.1/8/8", NULL, 0, 0},
	{"192.0.2.1/0x8", NULL, 0, 0},
	{"192.0.2.256", NULL, 0, 0},
	{"192.0.2", NULL, 0, 0},
	{"192.0.2.1.5", NULL, 0, 0},
	{"1", NULL, 0, 0},
	{"0x7f.0.0.1", NULL, 0, 0},
	{"127.1", NULL, 0, 0},
	{" 192.0.2.1", NULL, 0, 0},
	{"192.0.2.1 ", NULL, 0, 0},
	{"localhost", NULL, 0, 0},
	{"example.com", NULL, 0, 0},
	{"2001:db8:::1", NULL, 0, 0},
	{"2001:db8::1::2", NULL, 0, 0},
	{"2001:db8::g", NULL, 0, 0},
	{"fe80::1%eth0", NULL, 0, 0},
	{"[2001:db8::1]", NULL, 0, 0},
	{":", NULL, 0, 0},
	{"1:2:3:4:5:6:7:8:9", NULL, 0, 0},
	/* mapped prefixes shorter than /96 would cover non-IPv4 space */
	{"::ffff:192.0.2.1/95", NULL, 0, 0},
	{"::ffff:0.0.0.0/64", NULL, 0, 0},
	/* over-long text */
	{"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", NULL, 0, 0},
};

static void test_parse_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct bc_addr a;
		char buf[BC_ADDR_STRLEN], err[ERRLEN];
		const char *got;

		memset(&a, 0x5a, sizeof(a));
		got = parse_fmt(c->in, &a, buf, sizeof(buf), err);
		if (c->want == NULL) {
			CHECK(got == NULL && err[0] != '\0',
			      "parse \"%s\" refused with a reason (got %s, err \"%s\")",
			      c->in, got ? got : "refused", err);
			continue;
		}
		CHECK(got != NULL && strcmp(got, c->want) == 0,
		      "parse \"%s\" -> %s (got %s, err \"%s\")", c->in,
		      c->want, got ? got : "refused", err);
		if (got == NULL)
			continue;
		CHECK(a.family == c->family && a.plen == c->plen,
		      "parse \"%s\": family %d plen %u (got %d, %u)", c->in,
		      c->family, c->plen, a.family, a.plen);
		/* canonical record: unused bytes zero, so memcmp works */
		{
			size_t k, used = c->family == AF_INET ? 4 : 16;
			int zero = 1;

			for (k = used; k < 16; k++)
				if (a.a[k] != 0)
					zero = 0;
			CHECK(zero, "parse \"%s\": bytes past the family are zero",
			      c->in);
		}
		/* the canonical form parses back to the same record */
		{
			struct bc_addr b;
			char buf2[BC_ADDR_STRLEN], err2[ERRLEN];
			const char *again =
				parse_fmt(got, &b, buf2, sizeof(buf2), err2);

			CHECK(again != NULL && bc_addr_equal(&a, &b),
			      "parse \"%s\": canonical \"%s\" round-trips",
			      c->in, got);
		}
	}
}

/* Only the first len bytes count: the rest of the buffer is ignored. */
static void test_parse_len(void)
{
	static const struct {
		const char *buf;
		size_t len;
		const char *want;
	} cases[] = {
		{"192.0.2.1 garbage", 9, "192.0.2.1"},
		{"192.0.2.1]:25", 9, "192.0.2.1"},
		{"192.0.2.0/24xyz", 12, "192.0.2.0/24"},
		{"192.0.2.0/245", 12, "192.0.2.0/24"},
		{"2001:db8::1]", 11, "2001:db8::1"},
		{"192.0.2.1", 7, NULL},   /* "192.0.2" */
		{"192.0.2.1/24", 10, NULL}, /* "192.0.2.1/" */
		{"192.0.2.1", 0, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_addr a;
		char buf[BC_ADDR_STRLEN], err[ERRLEN] = "";
		int rc = bc_addr_parse(&a, cases[i].buf, cases[i].len, err,
				       sizeof(err));

		if (cases[i].want == NULL) {
			CHECK(rc < 0, "parse \"%.*s\" (len %zu) refused",
			      (int)cases[i].len, cases[i].buf, cases[i].len);
		} else {
			CHECK(rc == 0 &&
				      strcmp(bc_addr_format(&a, buf, sizeof(buf)),
					     cases[i].want) == 0,
			      "parse \"%.*s\" (len %zu) -> %s", (int)cases[i].len,
			      cases[i].buf, cases[i].len, cases[i].want);
		}
	}
}

/* The error message names the value and fits the buffer. */
static void test_parse_errors(void)
{
	char err[ERRLEN], tiny[8];
	struct bc_addr a;
	char longin[300];

	CHECK(bc_addr_parse(&a, "192.0.2.1/33", 12, err, sizeof(err)) < 0 &&
		      strstr(err, "192.0.2.1/33") != NULL &&
		      strstr(err, "33") != NULL,
	      "prefix over /32: error names the value (\"%s\")", err);
	CHECK(bc_addr_parse(&a, "nope", 4, err, sizeof(err)) < 0 &&
		      strstr(err, "nope") != NULL,
	      "not an address: error names the value (\"%s\")", err);
	memset(tiny, 'x', sizeof(tiny));
	CHECK(bc_addr_parse(&a, "nope", 4, tiny, sizeof(tiny)) < 0 &&
		      memchr(tiny, '\0', sizeof(tiny)) != NULL,
	      "error is cut to a small buffer and NUL-terminated");
	memset(longin, '1', sizeof(longin) - 1);
	longin[sizeof(longin) - 1] = '\0';
	CHECK(bc_addr_parse(&a, longin, strlen(longin), err, sizeof(err)) < 0 &&
		      strlen(err) < 120,
	      "300-byte input refused with a short error (%zu chars)",
	      strlen(err));
}

struct host_case {
	const char *in;
	const char *want; /* NULL: refused */
};

static const struct host_case host_cases[] = {
	{"192.0.2.1", "192.0.2.1"},
	{"2001:db8::1", "2001:db8::1"},
	{"::ffff:198.51.100.7", "198.51.100.7"},
	{"::1", "::1"},
	{"192.0.2.0/24", NULL},
	{"2001:db8::/64", NULL},
	{"", NULL},
	{"192.0.2.300", NULL},
	{"unknown", NULL},
	{"[192.0.2.1]", NULL},
	{"192.0.2.1:25", NULL},
	{"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", NULL},
};

static void test_parse_host(void)
{
	size_t i;

	for (i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		const struct host_case *c = &host_cases[i];
		struct bc_addr a;
		char buf[BC_ADDR_STRLEN];
		int rc = bc_addr_parse_host(&a, c->in, strlen(c->in));

		if (c->want == NULL)
			CHECK(rc < 0, "parse_host \"%s\" refused", c->in);
		else
			CHECK(rc == 0 &&
				      strcmp(bc_addr_format(&a, buf, sizeof(buf)),
					     c->want) == 0,
			      "parse_host \"%s\" -> %s", c->in, c->want);
	}
}

/* Binary construction normalizes like the parser does. */
static void test_from_bin(void)
{
	static const uint8_t v4[4] = {192, 0, 2, 200};
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
					   0, 0, 0xff, 0xff, 192, 0, 2, 200};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4,
				       5, 6, 7, 8, 9, 10, 11, 12};
	static const struct {
		int family;
		const uint8_t *bin;
		unsigned plen;
		const char *want;
	} cases[] = {
		{AF_INET, v4, 32, "192.0.2.200"},
		{AF_INET, v4, 24, "192.0.2.0/24"},
		{AF_INET, v4, 99, "192.0.2.200"}, /* clamped to /32 */
		{AF_INET6, mapped, 128, "192.0.2.200"},
		{AF_INET6, mapped, 120, "192.0.2.0/24"},
		{AF_INET6, v6, 128, "2001:db8:102:304:506:708:90a:b0c"},
		{AF_INET6, v6, 48, "2001:db8:102::/48"},
		{AF_INET6, v6, 0, "::/0"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_addr a;
		char buf[BC_ADDR_STRLEN];

		memset(&a, 0xee, sizeof(a));
		bc_addr_from_bin(&a, cases[i].family, cases[i].bin,
				 cases[i].plen);
		CHECK(strcmp(bc_addr_format(&a, buf, sizeof(buf)),
			     cases[i].want) == 0 &&
			      a.pad[0] == 0 && a.pad[1] == 0,
		      "from_bin family %d /%u -> %s (got %s)", cases[i].family,
		      cases[i].plen, cases[i].want, buf);
	}
}

static void test_range(void)
{
	static const struct {
		const char *in;
		const char *first, *last;
	} cases[] = {
		{"192.0.2.0/24", "192.0.2.0", "192.0.2.255"},
		{"192.0.2.9", "192.0.2.9", "192.0.2.9"},
		{"192.0.2.128/25", "192.0.2.128", "192.0.2.255"},
		{"10.0.0.0/13", "10.0.0.0", "10.7.255.255"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"2001:db8::/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/33", "2001:db8::", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_addr a, f, l, t;
		uint8_t first[16], last[16];
		char err[ERRLEN];

		if (bc_addr_parse(&a, cases[i].in, strlen(cases[i].in), err,
				  sizeof(err)) < 0 ||
		    bc_addr_parse(&f, cases[i].first, strlen(cases[i].first),
				  err, sizeof(err)) < 0 ||
		    bc_addr_parse(&l, cases[i].last, strlen(cases[i].last),
				  err, sizeof(err)) < 0) {
			CHECK(0, "range %s: parse", cases[i].in);
			continue;
		}
		memset(first, 0xaa, sizeof(first));
		memset(last, 0xaa, sizeof(last));
		bc_addr_range(&a, first, last);
		t = f;
		memcpy(t.a, first, 16);
		CHECK(bc_addr_equal(&t, &f), "range %s: first %s", cases[i].in,
		      cases[i].first);
		t = l;
		memcpy(t.a, last, 16);
		CHECK(bc_addr_equal(&t, &l), "range %s: last %s", cases[i].in,
		      cases[i].last);
	}
}

struct contains_case {
	const char *outer, *inner;
	int want;
};

static const struct contains_case contains_cases[] = {
	{"192.0.2.0/24", "192.0.2.1", 1},
	{"192.0.2.0/24", "192.0.2.255", 1},
	{"192.0.2.0/24", "192.0.2.0/24", 1},
	{"192.0.2.0/24", "192.0.2.128/25", 1},
	{"192.0.2.0/24", "192.0.3.0", 0},
	{"192.0.2.0/24", "192.0.1.255", 0},
	{"192.0.2.0/24", "192.0.0.0/16", 0}, /* inner is wider */
	{"192.0.2.128/25", "192.0.2.127", 0},
	{"192.0.2.1", "192.0.2.1", 1},
	{"192.0.2.1", "192.0.2.2", 0},
	{"0.0.0.0/0", "255.255.255.255", 1},
	{"0.0.0.0/0", "::1", 0},       /* families never mix */
	{"::/0", "192.0.2.1", 0},
	{"::/0", "::ffff:192.0.2.1", 0}, /* mapped is IPv4 */
	{"::ffff:0:0/96", "192.0.2.1", 1},
	{"2001:db8::/32", "2001:db8:ffff::1", 1},
	{"2001:db8::/32", "2001:db9::1", 0},
	{"2001:db8::/64", "2001:db8::/48", 0},
	{"2001:db8::1", "2001:db8::1", 1},
};

static void test_contains(void)
{
	size_t i;

	for (i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]);
	     i++) {
		const struct contains_case *c = &contains_cases[i];
		struct bc_addr o, n;
		char err[ERRLEN];

		if (bc_addr_parse(&o, c->outer, strlen(c->outer), err,
				  sizeof(err)) < 0 ||
		    bc_addr_parse(&n, c->inner, strlen(c->inner), err,
				  sizeof(err)) < 0) {
			CHECK(0, "contains %s %s: parse", c->outer, c->inner);
			continue;
		}
		CHECK(bc_addr_contains(&o, &n) == (c->want != 0),
		      "%s %s %s", c->outer,
		      c->want ? "contains" : "does not contain", c->inner);
	}
}

/* Ascending order: family, then address, then shorter prefix first. */
static const char *const sorted[] = {
	"0.0.0.0/0",
	"0.0.0.0",
	"10.0.0.0/8",
	"10.0.0.0/24",
	"10.0.0.0",
	"10.0.0.1",
	"10.0.1.0/24",
	"192.0.2.0/24",
	"192.0.2.0/25",
	"192.0.2.128/25",
	"192.0.2.255",
	"255.255.255.255",
	"::/0",
	"::",
	"::1",
	"2001:db8::/32",
	"2001:db8::/64",
	"2001:db8::1",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

static void test_cmp(void)
{
	size_t n = sizeof(sorted) / sizeof(sorted[0]), i, j;
	struct bc_addr a[sizeof(sorted) / sizeof(sorted[0])];
	char err[ERRLEN];
	int bad = 0;

	for (i = 0; i < n; i++)
		if (bc_addr_parse(&a[i], sorted[i], strlen(sorted[i]), err,
				  sizeof(err)) < 0)
			bad++;
	CHECK(bad == 0, "cmp: every sample parses");
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			int c = bc_addr_cmp(&a[i], &a[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;

			if (c != want) {
				CHECK(0, "cmp(%s, %s) = %d, want %d", sorted[i],
				      sorted[j], c, want);
				bad++;
			}
			if ((c == 0) != bc_addr_equal(&a[i], &a[j])) {
				CHECK(0, "equal(%s, %s) agrees with cmp",
				      sorted[i], sorted[j]);
				bad++;
			}
		}
	}
	CHECK(bad == 0, "cmp: %zu samples in a strict total order", n);
}

static void test_maxlen_bytes(void)
{
	struct bc_addr a;
	char err[ERRLEN];

	CHECK(bc_addr_parse(&a, "192.0.2.1", 9, err, sizeof(err)) == 0 &&
		      bc_addr_maxlen(&a) == 32 && bc_addr_bytes(&a) == 4,
	      "IPv4: maxlen 32, 4 bytes");
	CHECK(bc_addr_parse(&a, "::1", 3, err, sizeof(err)) == 0 &&
		      bc_addr_maxlen(&a) == 128 && bc_addr_bytes(&a) == 16,
	      "IPv6: maxlen 128, 16 bytes");
	bc_addr_parse(&a, "192.0.2.77", 10, err, sizeof(err));
	bc_addr_mask(&a, 24);
	{
		char buf[BC_ADDR_STRLEN];

		CHECK(strcmp(bc_addr_format(&a, buf, sizeof(buf)),
			     "192.0.2.0/24") == 0,
		      "mask 192.0.2.77 to /24 -> 192.0.2.0/24 (got %s)", buf);
		bc_addr_mask(&a, 40);
		CHECK(a.plen == 32, "mask over /32 is clamped (got /%u)",
		      a.plen);
	}
}

struct list_case {
	const char *in;
	int ok;
	size_t n;
	const char *match;   /* an address that must match, or NULL */
	const char *nomatch; /* an address that must not match, or NULL */
};

static const struct list_case list_cases[] = {
	{"127.0.0.0/8, ::1", 1, 2, "127.1.2.3", "128.0.0.1"},
	{"127.0.0.0/8,::1", 1, 2, "::1", "::2"},
	{"192.0.2.0/24 198.51.100.7", 1, 2, "198.51.100.7", "198.51.100.8"},
	{"  192.0.2.1 ,\t, 192.0.2.2  ", 1, 2, "192.0.2.2", "192.0.2.3"},
	{"", 1, 0, NULL, "192.0.2.1"},
	{" , ,", 1, 0, NULL, "::1"},
	{"::ffff:192.0.2.0/120", 1, 1, "192.0.2.9", "::ffff:192.0.3.1"},
	{"2001:db8::/32", 1, 1, "2001:db8:1::5", "2001:db9::"},
	{"0.0.0.0/0", 1, 1, "203.0.113.1", "2001:db8::1"},
	{"192.0.2.1, bogus", 0, 0, NULL, NULL},
	{"192.0.2.0/33", 0, 0, NULL, NULL},
	{"192.0.2.1;192.0.2.2", 0, 0, NULL, NULL},
};

static void test_list(void)
{
	size_t i;

	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];
		struct bc_addr_list l = {0};
		char err[ERRLEN] = "";
		int rc = bc_addr_list_parse(&l, c->in, err, sizeof(err));

		if (!c->ok) {
			CHECK(rc < 0 && err[0] != '\0',
			      "list \"%s\" refused (\"%s\")", c->in, err);
			bc_addr_list_free(&l);
			continue;
		}
		CHECK(rc == 0 && l.n == c->n, "list \"%s\": %zu entries (got %zu)",
		      c->in, c->n, l.n);
		if (c->match != NULL) {
			struct bc_addr a;

			bc_addr_parse(&a, c->match, strlen(c->match), err,
				      sizeof(err));
			CHECK(bc_addr_list_match(&l, &a), "list \"%s\" matches %s",
			      c->in, c->match);
		}
		if (c->nomatch != NULL) {
			struct bc_addr a;

			bc_addr_parse(&a, c->nomatch, strlen(c->nomatch), err,
				      sizeof(err));
			CHECK(!bc_addr_list_match(&l, &a),
			      "list \"%s\" does not match %s", c->in, c->nomatch);
		}
		bc_addr_list_free(&l);
		CHECK(l.v == NULL && l.n == 0 && l.cap == 0,
		      "list free resets the list");
	}
}

/* Parsing appends, and the list grows past its first allocation. */
static void test_list_append(void)
{
	struct bc_addr_list l = {0};
	char err[ERRLEN], text[32];
	struct bc_addr a;
	int i, rc = 0;

	rc |= bc_addr_list_parse(&l, "192.0.2.1", err, sizeof(err));
	rc |= bc_addr_list_parse(&l, "192.0.2.2, 192.0.2.3", err, sizeof(err));
	CHECK(rc == 0 && l.n == 3, "two parses append: 3 entries (got %zu)",
	      l.n);
	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "10.0.%d.0/24", i);
		rc |= bc_addr_list_parse(&l, text, err, sizeof(err));
	}
	CHECK(rc == 0 && l.n == 103, "103 entries after growth (got %zu)", l.n);
	bc_addr_parse(&a, "10.0.99.200", 11, err, sizeof(err));
	CHECK(bc_addr_list_match(&l, &a), "last appended entry matches");
	bc_addr_parse(&a, "10.0.100.1", 10, err, sizeof(err));
	CHECK(!bc_addr_list_match(&l, &a), "10.0.100.1 is not listed");
	bc_addr_list_free(&l);
}

/*
 * bc_addr_client: the address a log line's client field stands for.
 * Input is parsed with bc_addr_parse_host as the parsers do; want is the
 * canonical text after normalisation, NULL when no event may name it.
 */
static const struct host_case client_cases[] = {
	/* ordinary clients are left alone */
	{"192.0.2.1", "192.0.2.1"},
	{"203.0.113.255", "203.0.113.255"},
	{"223.255.255.255", "223.255.255.255"},
	{"240.0.0.1", "240.0.0.1"},
	{"1.0.0.0", "1.0.0.0"},
	{"169.253.255.255", "169.253.255.255"},
	{"169.255.0.1", "169.255.0.1"},
	{"2001:db8::1", "2001:db8::1"},
	{"fec0::1", "fec0::1"},
	{"fe7f:ffff::1", "fe7f:ffff::1"},
	{"fec0::", "fec0::"},
	{"feff::1", "feff::1"},
	{"::1", "::1"},
	/* IPv4-mapped and IPv4-compatible become IPv4 */
	{"::ffff:192.0.2.7", "192.0.2.7"},
	{"::FFFF:203.0.113.9", "203.0.113.9"},
	{"::ffff:c633:6407", "198.51.100.7"},
	{"::192.0.2.7", "192.0.2.7"},
	{"::c000:207", "192.0.2.7"},
	{"0:0:0:0:0:0:203.0.113.9", "203.0.113.9"},
	{"::0.0.1.0", NULL},           /* 0.0.1.0: this network */
	{"::0.0.0.2", NULL},
	{"::ffff:0.0.0.0", NULL},
	{"::ffff:255.255.255.255", NULL},
	{"::ffff:224.0.0.1", NULL},
	{"::ffff:169.254.1.1", NULL},
	{"::239.255.255.255", NULL},
	/* NAT64 stays the /128 when its IPv4 host is usable */
	{"64:ff9b::192.0.2.7", "64:ff9b::c000:207"},
	{"64:ff9b::c633:6407", "64:ff9b::c633:6407"},
	{"64:ff9b::0.0.0.0", NULL},
	{"64:ff9b::255.255.255.255", NULL},
	{"64:ff9b::224.0.0.251", NULL},
	{"64:ff9b::169.254.0.1", NULL},
	{"64:ff9b:1::192.0.2.7", "64:ff9b:1::c000:207"}, /* not the WKP /96 */
	/* unspecified, broadcast, multicast, link-local */
	{"0.0.0.0", NULL},
	{"0.1.2.3", NULL},
	{"::", NULL},
	{"0::0", NULL},
	{"255.255.255.255", NULL},
	{"224.0.0.1", NULL},
	{"239.255.255.255", NULL},
	{"230.1.2.3", NULL},
	{"169.254.0.0", NULL},
	{"169.254.169.254", NULL},
	{"169.254.255.255", NULL},
	{"ff02::1", NULL},
	{"ff05::1:3", NULL},
	{"ff00::", NULL},
	{"fe80::1", NULL},
	{"fe80::a00:27ff:fe4e:66a1", NULL},
	{"febf:ffff::1", NULL},
};

static void test_client(void)
{
	size_t i;
	struct bc_addr a;
	char buf[BC_ADDR_STRLEN];

	for (i = 0; i < sizeof(client_cases) / sizeof(client_cases[0]); i++) {
		const struct host_case *c = &client_cases[i];
		int rc = bc_addr_parse_host(&a, c->in, strlen(c->in));

		CHECK(rc == 0, "client \"%s\": parses as a host", c->in);
		rc = bc_addr_client(&a);
		if (c->want == NULL)
			CHECK(rc < 0, "client \"%s\" refused", c->in);
		else
			CHECK(rc == 0 &&
				      strcmp(bc_addr_format(&a, buf, sizeof(buf)),
					     c->want) == 0 &&
				      a.plen == bc_addr_maxlen(&a),
			      "client \"%s\" -> %s", c->in, c->want);
	}
	/* ::192.0.2.7 comes out as exactly the record of 192.0.2.7 */
	{
		struct bc_addr b;

		bc_addr_parse_host(&a, "::192.0.2.7", 11);
		bc_addr_client(&a);
		bc_addr_parse_host(&b, "192.0.2.7", 9);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0,
		       "::192.0.2.7 is byte for byte 192.0.2.7");
	}
	/* a prefix is not a client */
	bc_addr_parse(&a, "192.0.2.0/24", 12, buf, sizeof(buf));
	CHECK(bc_addr_client(&a) < 0, "client: a /24 refused");
}

static void test_nat64(void)
{
	struct bc_addr_list site = {0};
	struct bc_addr a;
	char err[ERRLEN];
	uint8_t v4[4];
	static const struct {
		const char *addr;
		int wkp;  /* inside 64:ff9b::/96 */
		int site; /* inside the site's list below */
	} cases[] = {
		{"64:ff9b::c000:207", 1, 1},
		{"64:ff9b::1:c000:207", 0, 0}, /* outside the /96 */
		{"64:ff9b:1::c000:207", 0, 1},
		{"2001:db8:64::c000:207", 0, 1},
		{"2001:db8:65::c000:207", 0, 0},
		{"2001:db8:1:2::1", 0, 0},
		{"192.0.2.7", 0, 0},
	};
	size_t i;

	CHECK(bc_addr_list_parse(&site, "64:ff9b:1::/48, 2001:db8:64::/96",
				  err, sizeof(err)) == 0 &&
		       bc_addr_nat64_check(&site, err, sizeof(err)) == 0,
	       "site NAT64 list accepted");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bc_addr_parse_host(&a, cases[i].addr, strlen(cases[i].addr));
		CHECK(bc_addr_is_nat64(&a, NULL) == (cases[i].wkp != 0),
		       "%s NAT64 (well-known only): %d", cases[i].addr,
		       cases[i].wkp);
		CHECK(bc_addr_is_nat64(&a, &site) == (cases[i].site != 0),
		       "%s NAT64 (with the site's list): %d", cases[i].addr,
		       cases[i].site);
	}
	bc_addr_list_free(&site);

	/* RFC 6052 section 2.4 examples: 192.0.2.33 under each length */
	{
		static const struct {
			const char *addr;
			unsigned plen;
		} ex[] = {
			{"2001:db8:c000:221::", 32},
			{"2001:db8:1c0:2:21::", 40},
			{"2001:db8:122:c000:2:2100::", 48},
			{"2001:db8:122:3c0:0:221::", 56},
			{"2001:db8:122:344:c0:2:2100:0", 64},
			{"2001:db8:122:344::192.0.2.33", 96},
		};

		for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
			bc_addr_parse_host(&a, ex[i].addr, strlen(ex[i].addr));
			bc_addr_nat64_v4(&a, ex[i].plen, v4);
			CHECK(v4[0] == 192 && v4[1] == 0 && v4[2] == 2 &&
				       v4[3] == 33,
			       "RFC 6052 /%u: %s embeds 192.0.2.33 (got %u.%u.%u.%u)",
			       ex[i].plen, ex[i].addr, v4[0], v4[1], v4[2], v4[3]);
		}
	}

	/* only IPv6 prefixes of the RFC 6052 lengths */
	{
		static const struct {
			const char *list;
			const char *err; /* NULL: accepted */
		} chk[] = {
			{"64:ff9b::/96", NULL},
			{"2001:db8::/32, 2001:db8:100::/40, 2001:db8:200::/56", NULL},
			{"2001:db8::/64", NULL},
			{"2001:db8::/80", "\"2001:db8::/80\": expected an IPv6 prefix of length 32, 40, 48, 56, 64 or 96"},
			{"2001:db8::1", "\"2001:db8::1\": expected an IPv6 prefix of length 32, 40, 48, 56, 64 or 96"},
			{"192.0.2.0/24", "\"192.0.2.0/24\": expected an IPv6 prefix of length 32, 40, 48, 56, 64 or 96"},
		};

		for (i = 0; i < sizeof(chk) / sizeof(chk[0]); i++) {
			struct bc_addr_list l = {0};
			int rc;

			err[0] = '\0';
			rc = bc_addr_list_parse(&l, chk[i].list, err, sizeof(err));
			if (rc == 0)
				rc = bc_addr_nat64_check(&l, err, sizeof(err));
			if (chk[i].err == NULL)
				CHECK(rc == 0, "nat64 list \"%s\" accepted (%s)",
				       chk[i].list, err);
			else
				CHECK(rc < 0 && strcmp(err, chk[i].err) == 0,
				       "nat64 list \"%s\" refused: %s", chk[i].list,
				       err);
			bc_addr_list_free(&l);
		}
	}
}

/* bc_addr_mask as it was written first, byte by byte: the reference */
static void mask_ref(struct bc_addr *a, unsigned plen)
{
	unsigned max = a->family == AF_INET ? 32 : 128, i;

	if (plen > max)
		plen = max;
	a->plen = (uint8_t)plen;
	for (i = 0; i < 16; i++) {
		unsigned bit = i * 8;

		if (i >= (a->family == AF_INET ? 4u : 16u) || bit >= plen)
			a->a[i] = 0;
		else if (bit + 8 > plen)
			a->a[i] &= (uint8_t)(0xff << (8 - (plen - bit)));
	}
}

/* Every prefix length (and beyond) of 2,000 random IPv4 and IPv6
 * records, bytes past the family's set too: bc_addr_mask gives what the
 * reference gives. */
static void test_mask_exhaustive(void)
{
	uint64_t x = 0x2545f4914f6cdd1dULL;
	int n, wrong = 0, i;
	unsigned plen;

	for (n = 0; n < 2000; n++) {
		struct bc_addr base, a, b;

		memset(&base, 0, sizeof(base));
		base.family = n & 1 ? AF_INET6 : AF_INET;
		for (i = 0; i < 16; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			base.a[i] = (uint8_t)x;
		}
		for (plen = 0; plen <= 140; plen++) {
			a = b = base;
			bc_addr_mask(&a, plen);
			mask_ref(&b, plen);
			if (memcmp(&a, &b, sizeof(a)) != 0)
				wrong++;
		}
	}
	CHECK(wrong == 0, "mask: 2000 addresses x prefix 0..140 as the "
			  "byte-by-byte reference (%d differ)", wrong);
}

/* bc_addr_hash: a function of the key, the family, the prefix length and
 * the address, nothing else (padding ignored). */
static void test_hash(void)
{
	uint8_t k1[BC_ADDR_HASH_KEYBYTES], k2[BC_ADDR_HASH_KEYBYTES];
	struct bc_addr a, b;
	unsigned same = 0, i;

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.plen = 64;
	a.a[0] = 0x20;
	a.a[1] = 0x01;
	b = a;
	b.pad[0] = 0x55; /* padding: not part of the address */
	CHECK(bc_addr_hash(&a, k1) == bc_addr_hash(&b, k1),
	      "hash: same address, same key, same hash (padding ignored)");
	CHECK(bc_addr_hash(&a, k1) != bc_addr_hash(&a, k2),
	      "hash: another key, another hash");
	b = a;
	b.plen = 48;
	CHECK(bc_addr_hash(&a, k1) != bc_addr_hash(&b, k1),
	      "hash: the prefix length counts");
	b = a;
	b.family = AF_INET;
	CHECK(bc_addr_hash(&a, k1) != bc_addr_hash(&b, k1), "hash: the family counts");
	/* 4,096 /64s of one /52 under two keys: the low 12 bits agree for
	 * about 1 in 4,096 of them, as for any two independent hashes */
	for (i = 0; i < 4096; i++) {
		b = a;
		b.a[6] = (uint8_t)(i >> 8);
		b.a[7] = (uint8_t)i;
		same += (bc_addr_hash(&b, k1) & 4095) == (bc_addr_hash(&b, k2) & 4095);
	}
	CHECK(same < 16, "hash: slots under two keys independent (%u of 4096 agree)",
	      same);
}

/*
 * bc_addr_format writes IPv4 and "/LEN" without printf: the same text as
 * inet_ntop and snprintf("%s/%u"), cut the same way in a short buffer,
 * for every octet value in every position, IPv6, and every length.
 */
static void ref_format(const struct bc_addr *a, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN];

	inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->a, t, sizeof(t));
	if (a->plen == bc_addr_maxlen(a))
		snprintf(buf, len, "%s", t);
	else
		snprintf(buf, len, "%s/%u", t, a->plen);
}

static void test_format_ref(void)
{
	struct bc_addr a;
	char got[64], want[64];
	unsigned v, pos, plen, bad = 0, n = 0;
	size_t len;

	for (pos = 0; pos < 4; pos++)
		for (v = 0; v < 256; v++)
			for (plen = 0; plen <= 33; plen += 11) {
				memset(&a, 0, sizeof(a));
				a.family = AF_INET;
				a.plen = (uint8_t)(plen > 32 ? 32 : plen);
				a.a[0] = 198;
				a.a[1] = 51;
				a.a[2] = 7;
				a.a[3] = 100;
				a.a[pos] = (uint8_t)v;
				bc_addr_format(&a, got, sizeof(got));
				ref_format(&a, want, sizeof(want));
				n++;
				bad += strcmp(got, want) != 0;
			}
	for (v = 0; v < 256; v++) {
		memset(&a, 0, sizeof(a));
		a.family = AF_INET6;
		a.plen = (uint8_t)(v % 129);
		a.a[0] = 0x20;
		a.a[1] = 0x01;
		a.a[(v % 14) + 2] = (uint8_t)v;
		bc_addr_format(&a, got, sizeof(got));
		ref_format(&a, want, sizeof(want));
		n++;
		bad += strcmp(got, want) != 0;
	}
	CHECK(bad == 0, "format: %u of %u addresses as inet_ntop + snprintf", n - bad, n);
	/* cut like snprintf in a short buffer, 1..21 bytes */
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.plen = 24;
	memcpy(a.a, "\xc6\x33\x64\xff", 4);
	bad = 0;
	for (len = 1; len <= 21; len++) {
		memset(got, 'x', sizeof(got));
		memset(want, 'x', sizeof(want));
		bc_addr_format(&a, got, len);
		ref_format(&a, want, len);
		bad += memcmp(got, want, sizeof(got)) != 0;
	}
	CHECK(bad == 0, "format: 198.51.100.255/24 cut as snprintf in 1..21 bytes");
}

int main(void)
{
	test_hash();
	test_mask_exhaustive();
	test_parse_table();
	test_parse_len();
	test_parse_errors();
	test_parse_host();
	test_client();
	test_nat64();
	test_from_bin();
	test_range();
	test_contains();
	test_cmp();
	test_maxlen_bytes();
	test_list();
	test_list_append();
	test_format_ref();
	return tap_done();
}
