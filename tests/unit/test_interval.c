/*
 * test_interval.c - bans to kernel elements (common/interval.h): a host ban is
 * its own element, nested prefix bans become disjoint interval elements.
 *
 * Scenario tables spell out the exact element operations expected for
 * each change. A randomized run then plays the ops into a model of the
 * two kernel sets - a hash set for single addresses (DEL must hit an
 * element, ADD must not find one) and an interval set for ranges (DEL
 * must hit an element exactly, ADD must not overlap one) - and checks,
 * address by address, that every address is covered until the latest
 * expiry of the bans covering it, and that every host ban has its own
 * element with its own expiry.
 */
#include "common/interval.h"
#include "tests/unit/tap.h"
#include "tests/unit/testutil.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 256
#define NOW 1700000000000LL /* fixed "now" in ms */
#define OPS_TEXT 2048
#define S(x) ((int64_t)(x) * 1000) /* seconds to ms */

static struct bc_ban mkban(const char *text, int64_t expires)
{
	return tu_ban(text, expires, NOW - 1);
}

/* "+first-last/T" (T = timeout in s, 0 = none) or "-first-last". */
static void ops_text(const struct bc_interval_ops *ops, size_t from, char *out,
		     size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = from; i < ops->n && o < len; i++) {
		const struct bc_fw_elem *e = &ops->v[i];
		char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
		int fam = e->family == AF_INET ? AF_INET : AF_INET6;

		inet_ntop(fam, e->first, f, sizeof(f));
		inet_ntop(fam, e->last, l, sizeof(l));
		if (e->op == BC_FW_ADD)
			o += (size_t)snprintf(out + o, len - o, "%s+%s-%s/%llu",
					      o ? " " : "", f, l,
					      (unsigned long long)(e->timeout_ms / 1000));
		else
			o += (size_t)snprintf(out + o, len - o, "%s-%s-%s",
					      o ? " " : "", f, l);
	}
}

/* One change; returns the ops it produced as text. */
static int change(struct bc_banmap *m, const char *text, int64_t expires,
		  int remove, char *out)
{
	struct bc_interval_ops ops = {0};
	struct bc_ban b = mkban(text, expires);
	int rc = bc_interval_change(m, &b, remove, NOW, BC_FW_FLEET, &ops);

	ops_text(&ops, 0, out, OPS_TEXT);
	bc_interval_ops_free(&ops);
	return rc;
}

struct step {
	const char *addr;
	int64_t expires; /* absolute ms; 0 = permanent */
	int remove;
	const char *want; /* exact ops text */
};

struct scenario {
	const char *what;
	struct step steps[8];
};

#define T(s) (NOW + S(s))

static const struct scenario scenarios[] = {
	{"single /24",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255"}}},
	{"/32 inside a /24, expiring later: its own element, the /24 untouched",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.7", T(200), 0, "+10.0.0.7-10.0.0.7/200"},
	  /* removing the outer keeps the inner, untouched */
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255"},
	  {"10.0.0.7", 0, 1, "-10.0.0.7-10.0.0.7"}}},
	{"/32 inside a /24, expiring earlier: its own element too",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.7", T(50), 0, "+10.0.0.7-10.0.0.7/50"},
	  {"10.0.0.7", 0, 1, "-10.0.0.7-10.0.0.7"},
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255"}}},
	{"inner first, then the outer around it",
	 {{"10.0.0.7", T(200), 0, "+10.0.0.7-10.0.0.7/200"},
	  {"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0/24", T(300), 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.255/300"},
	  {"10.0.0.7", 0, 1, "-10.0.0.7-10.0.0.7"}}},
	{"/32 at the start and end of a /24",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0", T(200), 0, "+10.0.0.0-10.0.0.0/200"},
	  {"10.0.0.255", T(300), 0, "+10.0.0.255-10.0.0.255/300"}}},
	{"two /32s next to each other, same expiry: two elements",
	 {{"10.0.0.7", T(200), 0, "+10.0.0.7-10.0.0.7/200"},
	  {"10.0.0.8", T(200), 0, "+10.0.0.8-10.0.0.8/200"}}},
	{"/31 and /25 next to each other inside a /24, same expiry: merged",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.126/31", T(200), 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.125/100 "
	   "+10.0.0.126-10.0.0.127/200 +10.0.0.128-10.0.0.255/100"},
	  {"10.0.0.128/25", T(200), 0,
	   "-10.0.0.126-10.0.0.127 -10.0.0.128-10.0.0.255 "
	   "+10.0.0.126-10.0.0.255/200"}}},
	{"permanent bans have no timeout",
	 {{"10.0.0.0/24", 0, 0, "+10.0.0.0-10.0.0.255/0"},
	  {"10.0.0.7", T(200), 0, "+10.0.0.7-10.0.0.7/200"},
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255"},
	  {"10.0.0.9", 0, 0, "+10.0.0.9-10.0.0.9/0"}}},
	{"adjacent top-level bans stay separate elements",
	 {{"10.0.0.0/25", T(100), 0, "+10.0.0.0-10.0.0.127/100"},
	  {"10.0.0.128/25", T(100), 0, "+10.0.0.128-10.0.0.255/100"},
	  {"10.0.0.0/25", 0, 1, "-10.0.0.0-10.0.0.127"},
	  {"10.0.1.0", T(100), 0, "+10.0.1.0-10.0.1.0/100"},
	  {"10.0.0.255", T(100), 0, "+10.0.0.255-10.0.0.255/100"}}},
	{"a change touches only its own top-level ban",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.1.0/24", T(100), 0, "+10.0.1.0-10.0.1.255/100"},
	  {"10.0.2.0/24", T(100), 0, "+10.0.2.0-10.0.2.255/100"},
	  {"10.0.1.8/30", T(500), 0,
	   "-10.0.1.0-10.0.1.255 +10.0.1.0-10.0.1.7/100 "
	   "+10.0.1.8-10.0.1.11/500 +10.0.1.12-10.0.1.255/100"},
	  {"10.0.1.0/24", T(700), 0,
	   "-10.0.1.0-10.0.1.7 -10.0.1.8-10.0.1.11 -10.0.1.12-10.0.1.255 "
	   "+10.0.1.0-10.0.1.255/700"}}},
	{"change of expiry of the same key",
	 {{"192.0.2.0/24", T(100), 0, "+192.0.2.0-192.0.2.255/100"},
	  {"192.0.2.0/24", T(100), 0, ""},
	  {"192.0.2.0/24", T(50), 0, "-192.0.2.0-192.0.2.255 +192.0.2.0-192.0.2.255/50"},
	  {"192.0.2.0/24", 0, 0, "-192.0.2.0-192.0.2.255 +192.0.2.0-192.0.2.255/0"},
	  {"198.51.100.1", T(100), 0, "+198.51.100.1-198.51.100.1/100"},
	  {"198.51.100.1", T(100), 0, ""},
	  {"198.51.100.1", T(50), 0,
	   "-198.51.100.1-198.51.100.1 +198.51.100.1-198.51.100.1/50"},
	  {"198.51.100.1", 0, 0,
	   "-198.51.100.1-198.51.100.1 +198.51.100.1-198.51.100.1/0"}}},
	{"four levels of nesting",
	 {{"10.0.0.0/8", T(100), 0, "+10.0.0.0-10.255.255.255/100"},
	  {"10.1.0.0/16", T(200), 0,
	   "-10.0.0.0-10.255.255.255 +10.0.0.0-10.0.255.255/100 "
	   "+10.1.0.0-10.1.255.255/200 +10.2.0.0-10.255.255.255/100"},
	  {"10.1.2.0/24", T(150), 0, ""}, /* earlier than its parent */
	  {"10.1.2.3", T(300), 0, "+10.1.2.3-10.1.2.3/300"},
	  /* without the /16 the /8 pieces around it merge again */
	  {"10.1.0.0/16", 0, 1,
	   "-10.0.0.0-10.0.255.255 -10.1.0.0-10.1.255.255 "
	   "-10.2.0.0-10.255.255.255 +10.0.0.0-10.1.1.255/100 "
	   "+10.1.2.0-10.1.2.255/150 +10.1.3.0-10.255.255.255/100"}}},
	{"IPv6 /64 with a /128 inside expiring later",
	 {{"2001:db8::/64", T(100), 0,
	   "+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/100"},
	  {"2001:db8::5", T(900), 0, "+2001:db8::5-2001:db8::5/900"},
	  {"2001:db8::/64", 0, 1, "-2001:db8::-2001:db8::ffff:ffff:ffff:ffff"}}},
	{"all-ones IPv4 address",
	 {{"255.255.255.0/24", T(100), 0, "+255.255.255.0-255.255.255.255/100"},
	  {"255.255.255.255", T(200), 0,
	   "+255.255.255.255-255.255.255.255/200"},
	  {"255.255.255.0/24", 0, 1, "-255.255.255.0-255.255.255.255"}}},
	{"the whole IPv4 space with a host and a /31 inside",
	 {{"0.0.0.0/0", T(100), 0, "+0.0.0.0-255.255.255.255/100"},
	  {"0.0.0.0", T(200), 0, "+0.0.0.0-0.0.0.0/200"},
	  {"0.0.0.0/31", T(200), 0,
	   "-0.0.0.0-255.255.255.255 +0.0.0.0-0.0.0.1/200 "
	   "+0.0.0.2-255.255.255.255/100"}}},
	{"all-ones IPv6 inside ::/0",
	 {{"::/0", T(100), 0, "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/100"},
	  {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", T(200), 0,
	   "+ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/200"},
	  {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", T(300), 0,
	   "-::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	   "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef/100 "
	   "+ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/300"}}},
	{"IPv4 and IPv6 bans never interact",
	 {{"0.0.0.0/0", T(100), 0, "+0.0.0.0-255.255.255.255/100"},
	  {"::/0", T(200), 0, "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/200"},
	  {"::ffff:10.0.0.0/120", T(300), 0,
	   "-0.0.0.0-255.255.255.255 +0.0.0.0-9.255.255.255/100 "
	   "+10.0.0.0-10.0.0.255/300 +10.0.1.0-255.255.255.255/100"},
	  {"::ffff:10.0.0.1", T(300), 0, "+10.0.0.1-10.0.0.1/300"}}},
	{"already expired bans add nothing",
	 {{"10.0.0.0/24", NOW - 1, 0, ""},
	  {"10.0.1.0/24", NOW, 0, ""},
	  {"10.0.2.0/24", NOW + 1, 0, "+10.0.2.0-10.0.2.255/0"},
	  {"10.0.3.0/24", T(10), 0, "+10.0.3.0-10.0.3.255/10"},
	  {"10.0.4.4", NOW, 0, ""},
	  {"10.0.4.5", T(10), 0, "+10.0.4.5-10.0.4.5/10"}}},
	{"removing what is not there",
	 {{"10.0.0.0/24", 0, 1, ""},
	  {"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0/25", 0, 1, ""},
	  {"10.0.0.0/23", 0, 1, ""},
	  {"10.0.0.5", 0, 1, ""}}},
};

static void test_scenarios(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *s = &scenarios[i];
		struct bc_banmap m = {0};

		for (k = 0; k < 8 && s->steps[k].addr != NULL; k++) {
			const struct step *st = &s->steps[k];
			char got[OPS_TEXT];
			int rc = change(&m, st->addr, st->expires, st->remove,
					got);

			int same = rc == 0 && strcmp(got, st->want) == 0;

			CHECK(same, "%s: step %zu %s %s", s->what, k + 1,
			       st->remove ? "remove" : "add", st->addr);
			if (!same)
				printf("#   want: %s\n#   got:  %s\n", st->want,
				       got);
		}
		bc_banmap_free(&m);
	}
}

/* Ops carry the set, the family and the DEL/ADD order. */
static void test_op_fields(void)
{
	struct bc_banmap m = {0};
	struct bc_interval_ops ops = {0};
	struct bc_ban b = mkban("10.0.0.0/24", T(100));
	size_t i, dels = 0, seen_add = 0, order_ok = 1;

	bc_interval_change(&m, &b, 0, NOW, BC_FW_LOCAL, &ops);
	b = mkban("10.0.0.8/30", T(200));
	bc_interval_change(&m, &b, 0, NOW, BC_FW_LOCAL, &ops);
	CHECK(ops.n == 5, "two changes append 1 + 4 ops (got %zu)", ops.n);
	for (i = 0; i < ops.n; i++) {
		CHECK(ops.v[i].set == BC_FW_LOCAL &&
			      ops.v[i].family == AF_INET &&
			      ops.v[i].pad[0] == 0 &&
			      memcmp(ops.v[i].first + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0,
		      "op %zu: local set, AF_INET, clean padding", i);
		if (i >= 1 && ops.v[i].op == BC_FW_DEL) {
			dels++;
			if (seen_add)
				order_ok = 0;
			CHECK(ops.v[i].timeout_ms == 0, "DEL has no timeout");
		}
		if (i >= 1 && ops.v[i].op == BC_FW_ADD)
			seen_add = 1;
	}
	CHECK(dels == 1 && order_ok, "deletes come before adds");
	bc_interval_ops_free(&ops);
	CHECK(ops.v == NULL && ops.n == 0, "ops free resets");

	b = mkban("2001:db8::/48", 0);
	bc_interval_change(&m, &b, 0, NOW, BC_FW_FLEET, &ops);
	CHECK(ops.n == 1 && ops.v[0].family == AF_INET6 &&
		      ops.v[0].set == BC_FW_FLEET && ops.v[0].timeout_ms == 0,
	      "IPv6 permanent op: AF_INET6, fleet set, no timeout");
	bc_interval_ops_free(&ops);
	bc_banmap_free(&m);
}

/* bc_interval_all over mixed families. */
static void test_all(void)
{
	struct bc_ban v[8];
	struct bc_banmap m = {0};
	struct bc_interval_ops ops = {0};
	char got[OPS_TEXT];
	size_t i, adds = 0;
	static const char *const want =
		"+10.0.0.0-10.0.0.255/100 +10.0.1.0-10.0.1.255/100 "
		"+10.0.0.7-10.0.0.7/200 "
		"+192.0.2.1-192.0.2.1/0 +255.255.255.255-255.255.255.255/5 "
		"+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/0 "
		"+2001:db8:0:1::-2001:db8:0:1:ffff:ffff:ffff:ffff/300 "
		"+2001:db8::9-2001:db8::9/10";

	v[0] = mkban("2001:db8::/64", 0);
	v[1] = mkban("10.0.0.7", T(200));
	v[2] = mkban("192.0.2.1", 0);
	v[3] = mkban("10.0.0.0/24", T(100));
	v[4] = mkban("2001:db8:0:1::/64", T(300));
	v[5] = mkban("10.0.1.0/24", T(100));
	v[6] = mkban("255.255.255.255", T(5));
	v[7] = mkban("2001:db8::9", T(10)); /* inside a permanent ban */
	bc_banmap_load(&m, v, 8);
	CHECK(bc_interval_all(&m, NOW, BC_FW_FLEET, &ops) == 0, "banset_all");
	ops_text(&ops, 0, got, sizeof(got));
	CHECK(strcmp(got, want) == 0,
	       "all elements, IPv4 then IPv6, prefixes then hosts");
	if (strcmp(got, want) != 0)
		printf("#   want: %s\n#   got:  %s\n", want, got);
	for (i = 0; i < ops.n; i++)
		if (ops.v[i].op == BC_FW_ADD && ops.v[i].set == BC_FW_FLEET)
			adds++;
	CHECK(adds == ops.n, "every element is an ADD to the fleet set");
	bc_interval_ops_free(&ops);

	/* only IPv6, only IPv4, empty */
	bc_banmap_load(&m, v, 1);
	bc_interval_all(&m, NOW, BC_FW_FLEET, &ops);
	ops_text(&ops, 0, got, sizeof(got));
	CHECK(strcmp(got, "+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/0") == 0,
	      "IPv6 only (got %s)", got);
	bc_interval_ops_free(&ops);
	bc_banmap_load(&m, v + 2, 1);
	bc_interval_all(&m, NOW, BC_FW_FLEET, &ops);
	ops_text(&ops, 0, got, sizeof(got));
	CHECK(strcmp(got, "+192.0.2.1-192.0.2.1/0") == 0, "IPv4 only (got %s)",
	      got);
	bc_interval_ops_free(&ops);
	bc_banmap_clear(&m);
	CHECK(bc_interval_all(&m, NOW, BC_FW_FLEET, &ops) == 0 && ops.n == 0,
	      "empty map: no elements");
	/* everything expired */
	bc_banmap_load(&m, v + 6, 1);
	CHECK(bc_interval_all(&m, NOW + S(5), BC_FW_FLEET, &ops) == 0 &&
		      ops.n == 0,
	      "expired ban: no element");
	bc_interval_ops_free(&ops);
	bc_banmap_free(&m);
}

/*
 * Model of the two kernel sets of one name for IPv4 addresses in
 * 10.0.0.0/22: elements are [first, last] with an expiry (PERM for none);
 * single addresses go to the hash set, ranges to the interval set, as
 * fw_nft routes them.
 */
#define SPACE 1024
#define BASE 0x0a000000u
#define PERM INT64_MAX

struct kelem {
	uint32_t first, last;
	int64_t exp;
};

struct kset {
	struct kelem v[SPACE];
	size_t n;
};

struct kmodel {
	struct kset hosts, nets;
	int errors;
};

static uint32_t u32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static void kset_apply(struct kmodel *k, const struct bc_interval_ops *ops,
		       size_t from)
{
	size_t i, j;

	for (i = from; i < ops->n; i++) {
		const struct bc_fw_elem *e = &ops->v[i];
		uint32_t f = u32(e->first), l = u32(e->last);
		struct kset *s = f == l ? &k->hosts : &k->nets;

		if (e->op == BC_FW_DEL) {
			for (j = 0; j < s->n; j++)
				if (s->v[j].first == f && s->v[j].last == l)
					break;
			if (j == s->n) {
				k->errors++; /* ENOENT */
				continue;
			}
			s->v[j] = s->v[--s->n];
		} else {
			/* the interval set refuses overlaps (EEXIST); the
			 * hash set would keep the old element and its old
			 * timeout: banset must never add a present host */
			for (j = 0; j < s->n; j++)
				if (!(l < s->v[j].first || f > s->v[j].last))
					break;
			if (j < s->n || f > l || s->n == SPACE) {
				k->errors++;
				continue;
			}
			s->v[s->n].first = f;
			s->v[s->n].last = l;
			s->v[s->n].exp = e->timeout_ms ? NOW + (int64_t)e->timeout_ms
						       : PERM;
			s->n++;
		}
	}
}

/* What each address must carry: latest expiry of the covering bans. */
static void expected(const struct bc_banmap *m, int64_t want[SPACE])
{
	size_t i, a;

	for (a = 0; a < SPACE; a++)
		want[a] = -1;
	for (i = 0; i < m->n; i++) {
		uint8_t f[16], l[16];
		uint32_t lo, hi;
		int64_t e = m->v[i].expires_ms ? m->v[i].expires_ms : PERM;

		bc_addr_range(&m->v[i].addr, f, l);
		lo = u32(f) - BASE;
		hi = u32(l) - BASE;
		for (a = lo; a <= hi; a++)
			if (e > want[a])
				want[a] = e;
	}
}

/* Elements of s covering address a; *exp = the latest of their expiries. */
static int covers(const struct kset *s, size_t a, int64_t *exp)
{
	size_t j;
	int hits = 0;

	for (j = 0; j < s->n; j++)
		if (BASE + a >= s->v[j].first && BASE + a <= s->v[j].last) {
			if (s->v[j].exp > *exp)
				*exp = s->v[j].exp;
			hits++;
		}
	return hits;
}

/* 0 when the model holds what m says, address by address, else the count
 * of addresses or host bans that are wrong. */
static size_t model_wrong(const struct kmodel *k, const struct bc_banmap *m)
{
	static int64_t want[SPACE];
	size_t a, i, wrong = 0, hosts = 0;

	expected(m, want);
	for (a = 0; a < SPACE; a++) {
		int64_t e = -1;
		int hn = covers(&k->nets, a, &e);
		int hh = covers(&k->hosts, a, &e);

		/* the interval set is disjoint; the hash set holds an
		 * address once; together they last exactly as long as the
		 * longest ban covering the address */
		if (hn > 1 || hh > 1 || (want[a] < 0 ? hn + hh != 0 : e != want[a]))
			wrong++;
	}
	/* each host ban is its own element, with its own expiry */
	for (i = 0; i < m->n; i++) {
		uint8_t f[16], l[16];
		int64_t e = m->v[i].expires_ms ? m->v[i].expires_ms : PERM;
		size_t j;

		if (m->v[i].addr.plen != 32)
			continue;
		hosts++;
		bc_addr_range(&m->v[i].addr, f, l);
		for (j = 0; j < k->hosts.n; j++)
			if (k->hosts.v[j].first == u32(f))
				break;
		if (j == k->hosts.n || k->hosts.v[j].exp != e)
			wrong++;
	}
	if (hosts != k->hosts.n)
		wrong++;
	return wrong;
}

/* Same elements in both models (order aside). */
static int same_kset(const struct kset *x, const struct kset *y)
{
	size_t i, j;

	if (x->n != y->n)
		return 0;
	for (i = 0; i < x->n; i++) {
		for (j = 0; j < y->n; j++)
			if (y->v[j].first == x->v[i].first &&
			    y->v[j].last == x->v[i].last &&
			    y->v[j].exp == x->v[i].exp)
				break;
		if (j == y->n)
			return 0;
	}
	return 1;
}

static void test_random(void)
{
	static const unsigned plens[] = {22, 23, 24, 25, 26, 28, 29, 30, 31, 32};
	struct bc_banmap m = {0};
	static struct kmodel k;
	unsigned seed = 4242;
	size_t step, wrong = 0, outside = 0, host_ops = 0;
	struct bc_interval_ops ops = {0};
	int rc = 0;

	memset(&k, 0, sizeof(k));
	for (step = 0; step < 3000; step++) {
		struct bc_ban b;
		struct bc_addr outer;
		uint8_t bin[16], last[16];
		size_t mark = ops.n, i;
		int remove;
		long j;

		seed = seed * 1103515245u + 12345u;
		{
			uint32_t x = BASE + (seed >> 6) % SPACE;
			unsigned pl = plens[(seed >> 18) % 10];

			bin[0] = (uint8_t)(x >> 24);
			bin[1] = (uint8_t)(x >> 16);
			bin[2] = (uint8_t)(x >> 8);
			bin[3] = (uint8_t)x;
			memset(&b, 0, sizeof(b));
			bc_addr_from_bin(&b.addr, AF_INET, bin, pl);
		}
		seed = seed * 1103515245u + 12345u;
		b.expires_ms = (seed >> 8) % 8 == 0 ? 0
						   : T(1 + (seed >> 12) % 50);
		remove = (seed >> 20) % 3 == 0;
		if (remove && m.n > 0 && (seed >> 24) % 2 == 0)
			b = m.v[(seed >> 4) % m.n]; /* remove something present */

		/* the outermost ban covering b, before or after */
		outer = b.addr;
		for (i = 0; i < m.n; i++)
			if (bc_addr_contains(&m.v[i].addr, &outer))
				outer = m.v[i].addr;
		rc |= bc_interval_change(&m, &b, remove, NOW, BC_FW_FLEET, &ops);
		bc_addr_range(&b.addr, bin, last);
		for (i = mark; i < ops.n; i++) {
			struct bc_addr t;

			if (b.addr.plen == 32 &&
			    (memcmp(ops.v[i].first, bin, 4) != 0 ||
			     memcmp(ops.v[i].last, bin, 4) != 0))
				outside++; /* a host ban touches itself only */
			host_ops += b.addr.plen == 32;
			bc_addr_from_bin(&t, AF_INET, ops.v[i].first, 32);
			if (!bc_addr_contains(&outer, &t))
				outside++;
			bc_addr_from_bin(&t, AF_INET, ops.v[i].last, 32);
			if (!bc_addr_contains(&outer, &t))
				outside++;
		}
		kset_apply(&k, &ops, mark);
		j = bc_banmap_find(&m, &b.addr);
		if (remove ? j >= 0 : (j < 0 || m.v[j].expires_ms != b.expires_ms))
			wrong++;
		if (step % 50 == 0 || step == 2999)
			wrong += model_wrong(&k, &m);
	}
	CHECK(rc == 0, "3000 random changes succeed");
	CHECK(host_ops > 100, "the run changed host bans (%zu ops)", host_ops);
	CHECK(k.errors == 0,
	      "kernel model: no DEL of a missing element, no ADD of a present "
	      "host, no overlapping range (%d errors)",
	      k.errors);
	CHECK(wrong == 0,
	      "every address is covered until the latest expiry of its bans, "
	      "every host ban is its own element (%zu wrong)",
	      wrong);
	CHECK(outside == 0,
	      "every op lies inside the outermost ban of its change, a host's "
	      "ops on the host alone (%zu outside)",
	      outside);
	/* the incremental result equals a full rebuild */
	{
		struct bc_interval_ops all = {0};
		static struct kmodel k2;

		memset(&k2, 0, sizeof(k2));
		bc_interval_all(&m, NOW, BC_FW_FLEET, &all);
		kset_apply(&k2, &all, 0);
		CHECK(same_kset(&k.hosts, &k2.hosts) &&
			       same_kset(&k.nets, &k2.nets) && k2.errors == 0,
		       "incremental elements equal bc_interval_all (%zu+%zu vs "
		       "%zu+%zu)",
		       k.hosts.n, k.nets.n, k2.hosts.n, k2.nets.n);
		bc_interval_ops_free(&all);
	}
	bc_interval_ops_free(&ops);
	bc_banmap_free(&m);
}

/* Every prefix length of IPv6 nested at one address. */
static void test_deep_v6(void)
{
	struct bc_banmap m = {0};
	struct bc_interval_ops ops = {0};
	unsigned p;
	int rc = 0;
	size_t i, ok = 1;

	for (p = 0; p <= 128; p++) {
		struct bc_ban b = mkban("2001:db8::1", T(1000 + p));

		bc_addr_mask(&b.addr, p);
		rc |= bc_interval_change(&m, &b, 0, NOW, BC_FW_FLEET, &ops);
	}
	bc_interval_ops_free(&ops);
	CHECK(rc == 0 && m.n == 129, "129 nested IPv6 prefixes");
	rc = bc_interval_all(&m, NOW, BC_FW_FLEET, &ops);
	/* each prefix level adds its own expiry to the addresses only it
	 * covers; the /128 comes last, an element of its own */
	for (i = 1; i + 1 < ops.n; i++)
		if (memcmp(ops.v[i - 1].last, ops.v[i].first, 16) >= 0)
			ok = 0;
	CHECK(rc == 0 && ok && ops.n >= 129 &&
		       memcmp(ops.v[ops.n - 1].first, ops.v[ops.n - 1].last,
			      16) == 0 &&
		       ops.v[ops.n - 1].timeout_ms == (uint64_t)S(1128),
	       "disjoint, ascending elements for 128 prefix levels, then the "
	       "host (%zu elements)",
	       ops.n);
	bc_interval_ops_free(&ops);
	bc_banmap_free(&m);
}

/* A record "first-last/T" (T seconds, 0 = none) of the fleet set. */
static struct bc_fw_elem mkrec(const char *text)
{
	struct bc_fw_elem e;
	char f[64], l[64];
	unsigned long long t = 0;
	int fam;

	memset(&e, 0, sizeof(e));
	if (sscanf(text, "%63[^-]-%63[^/]/%llu", f, l, &t) != 3)
		fprintf(stderr, "# bad test record %s\n", text);
	fam = strchr(f, ':') != NULL ? AF_INET6 : AF_INET;
	e.op = BC_FW_ADD;
	e.set = BC_FW_FLEET;
	e.family = (uint8_t)fam;
	e.timeout_ms = t * 1000;
	inet_pton(fam, f, e.first);
	inet_pton(fam, l, e.last);
	return e;
}

struct dcase {
	const char *what;
	int family;
	const char *in[6];
	const char *want;
};

static const struct dcase dcases[] = {
	{"a range inside a longer one: cut in three", AF_INET,
	 {"10.0.0.0-10.0.0.255/100", "10.0.0.10-10.0.0.20/200"},
	 "+10.0.0.0-10.0.0.9/100 +10.0.0.10-10.0.0.20/200 "
	 "+10.0.0.21-10.0.0.255/100"},
	{"a range inside a shorter one: the outer wins", AF_INET,
	 {"10.0.0.10-10.0.0.20/50", "10.0.0.0-10.0.0.255/100"},
	 "+10.0.0.0-10.0.0.255/100"},
	{"no timeout outlasts every finite one", AF_INET,
	 {"10.0.0.0-10.0.0.255/0", "10.0.0.5-10.0.0.6/50"},
	 "+10.0.0.0-10.0.0.255/0"},
	{"partial overlap (not prefixes)", AF_INET,
	 {"10.0.0.0-10.0.0.20/10", "10.0.0.10-10.0.0.30/20"},
	 "+10.0.0.0-10.0.0.9/10 +10.0.0.10-10.0.0.30/20"},
	{"touching ranges of equal timeout stay apart, a gap too", AF_INET,
	 {"10.0.0.10-10.0.0.19/5", "10.0.0.0-10.0.0.9/5",
	  "10.0.0.21-10.0.0.30/5"},
	 "+10.0.0.0-10.0.0.9/5 +10.0.0.10-10.0.0.19/5 +10.0.0.21-10.0.0.30/5"},
	{"two neighbouring /24 bans of one expiry: two elements", AF_INET,
	 {"10.0.1.0-10.0.1.255/7", "10.0.0.0-10.0.0.255/7"},
	 "+10.0.0.0-10.0.0.255/7 +10.0.1.0-10.0.1.255/7"},
	{"pieces of overlapping ranges of equal timeout merge", AF_INET,
	 {"10.0.0.0-10.0.0.20/5", "10.0.0.10-10.0.0.30/5",
	  "10.0.0.5-10.0.0.12/3"},
	 "+10.0.0.0-10.0.0.30/5"},
	{"overlap reaches through a third range", AF_INET,
	 {"10.0.0.0-10.0.0.9/5", "10.0.0.9-10.0.0.19/9",
	  "10.0.0.19-10.0.0.29/5"},
	 "+10.0.0.0-10.0.0.8/5 +10.0.0.9-10.0.0.19/9 +10.0.0.20-10.0.0.29/5"},
	{"hosts and the other family are left out", AF_INET,
	 {"10.0.0.7-10.0.0.7/9", "2001:db8::-2001:db8::ff/9",
	  "10.0.0.0-10.0.0.3/9"},
	 "+10.0.0.0-10.0.0.3/9"},
	{"ranges up to the all-ones address", AF_INET,
	 {"255.255.255.0-255.255.255.255/10",
	  "255.255.255.128-255.255.255.255/20"},
	 "+255.255.255.0-255.255.255.127/10 "
	 "+255.255.255.128-255.255.255.255/20"},
	{"IPv6 up to the all-ones address, and from zero", AF_INET6,
	 {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00-"
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/3",
	  "::-::ff/4", "::10-::1f/5"},
	 "+::-::f/4 +::10-::1f/5 +::20-::ff/4 "
	 "+ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00-"
	 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/3"},
	{"the whole IPv4 space over a range", AF_INET,
	 {"0.0.0.0-255.255.255.255/1", "10.0.0.0-10.0.0.1/2"},
	 "+0.0.0.0-9.255.255.255/1 +10.0.0.0-10.0.0.1/2 "
	 "+10.0.0.2-255.255.255.255/1"},
	{"nothing in, nothing out", AF_INET, {NULL}, ""},
};

/* bc_interval_disjoint: exact pieces for overlapping ranges. */
static void test_disjoint(void)
{
	size_t c;

	for (c = 0; c < sizeof(dcases) / sizeof(dcases[0]); c++) {
		const struct dcase *d = &dcases[c];
		struct bc_interval_ops ops = {0};
		struct bc_fw_elem v[6];
		char got[OPS_TEXT];
		size_t n = 0, i, ok = 1;
		int rc;

		while (n < 6 && d->in[n] != NULL) {
			v[n] = mkrec(d->in[n]);
			n++;
		}
		rc = bc_interval_disjoint(v, n, d->family, BC_FW_LOCAL, &ops);
		ops_text(&ops, 0, got, sizeof(got));
		for (i = 0; i < ops.n; i++)
			if (ops.v[i].op != BC_FW_ADD || ops.v[i].set != BC_FW_LOCAL ||
			    ops.v[i].family != d->family)
				ok = 0;
		CHECK(rc == 0 && strcmp(got, d->want) == 0 && ok,
		      "disjoint: %s (got \"%s\")", d->what, got);
		bc_interval_ops_free(&ops);
	}
}

/*
 * bc_interval_disjoint against the definition, address by address: random
 * ranges in a space of DSPACE IPv4 addresses; every address covered by
 * some range must be in exactly one piece, with the longest timeout of
 * the ranges covering it; pieces ascend, and two that touch with the
 * same timeout never lie inside one range (they come from ranges that
 * only touch).
 */
#define DSPACE 256
static void test_disjoint_random(void)
{
	size_t run, bad = 0, pieces = 0;

	srand(7);
	for (run = 0; run < 2000; run++) {
		struct bc_fw_elem v[24];
		struct bc_interval_ops ops = {0};
		uint64_t want[DSPACE], got[DSPACE];
		bool cov[DSPACE], hit[DSPACE];
		size_t n = (size_t)(rand() % 24), i, a;

		memset(cov, 0, sizeof(cov));
		memset(hit, 0, sizeof(hit));
		for (i = 0; i < n; i++) {
			uint32_t f = (uint32_t)(rand() % DSPACE),
				 l = (uint32_t)(rand() % DSPACE), t;
			static const uint64_t touts[] = {0, 1000, 2000, 3000};
			uint64_t to = touts[rand() % 4];

			if (f > l) {
				t = f;
				f = l;
				l = t;
			}
			memset(&v[i], 0, sizeof(v[i]));
			v[i].op = BC_FW_ADD;
			v[i].family = AF_INET;
			v[i].timeout_ms = to;
			t = htonl(BASE + f);
			memcpy(v[i].first, &t, 4);
			t = htonl(BASE + l);
			memcpy(v[i].last, &t, 4);
			if (f == l)
				continue; /* a host: left out */
			for (a = f; a <= l; a++) {
				uint64_t k = to == 0 ? UINT64_MAX : to,
					 w = want[a] == 0 ? UINT64_MAX : want[a];

				if (!cov[a] || k > w)
					want[a] = to;
				cov[a] = true;
			}
		}
		if (bc_interval_disjoint(v, n, AF_INET, BC_FW_FLEET, &ops) < 0) {
			bad++;
			continue;
		}
		pieces += ops.n;
		for (i = 0; i < ops.n; i++) {
			uint32_t f = u32(ops.v[i].first) - BASE,
				 l = u32(ops.v[i].last) - BASE;

			if (f > l || l >= DSPACE) {
				bad++;
				break;
			}
			for (a = f; a <= l; a++) {
				if (hit[a])
					bad++;
				hit[a] = true;
				got[a] = ops.v[i].timeout_ms;
			}
			if (i > 0 && u32(ops.v[i - 1].last) >= u32(ops.v[i].first))
				bad++;
			if (i > 0 && u32(ops.v[i - 1].last) + 1 == u32(ops.v[i].first) &&
			    ops.v[i - 1].timeout_ms == ops.v[i].timeout_ms) {
				uint32_t b = u32(ops.v[i].first) - BASE;
				size_t r;

				for (r = 0; r < n; r++)
					if (u32(v[r].first) - BASE < b &&
					    u32(v[r].last) - BASE >= b)
						bad++; /* one range spans the seam */
			}
		}
		for (a = 0; a < DSPACE; a++)
			if (cov[a] != hit[a] || (cov[a] && got[a] != want[a]))
				bad++;
		bc_interval_ops_free(&ops);
	}
	CHECK(bad == 0 && pieces > 0,
	      "disjoint: 2000 random sets of ranges, every address once with "
	      "its longest timeout, pieces of one range merged (%zu pieces, %zu wrong)",
	      pieces, bad);
}

/* The big-endian address helpers fw_nft uses for interval ends. */
static void test_addr_helpers(void)
{
	uint8_t a[16];

	inet_pton(AF_INET, "10.0.0.255", a);
	bc_interval_addr_inc(a, 4);
	CHECK(memcmp(a, "\x0a\x00\x01\x00", 4) == 0, "10.0.0.255 + 1 = 10.0.1.0");
	bc_interval_addr_dec(a, 4);
	CHECK(memcmp(a, "\x0a\x00\x00\xff", 4) == 0, "10.0.1.0 - 1 = 10.0.0.255");
	memset(a, 0xff, sizeof(a));
	CHECK(bc_interval_addr_is_max(a, 4) && bc_interval_addr_is_max(a, 16),
	      "all ones is the top address, IPv4 and IPv6");
	bc_interval_addr_inc(a, 4);
	CHECK(memcmp(a, "\0\0\0\0", 4) == 0 && a[4] == 0xff,
	      "255.255.255.255 + 1 wraps to 0.0.0.0, bytes past 4 untouched");
	inet_pton(AF_INET6, "2001:db8::ffff", a);
	bc_interval_addr_inc(a, 16);
	CHECK(memcmp(a + 12, "\x00\x01\x00\x00", 4) == 0 && !bc_interval_addr_is_max(a, 16),
	      "2001:db8::ffff + 1 = 2001:db8::1:0");
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", a);
	CHECK(!bc_interval_addr_is_max(a, 16), "...:fffe is not the top address");
}

int main(void)
{
	test_scenarios();
	test_op_fields();
	test_all();
	test_random();
	test_deep_v6();
	test_disjoint();
	test_disjoint_random();
	test_addr_helpers();
	return tap_done();
}
