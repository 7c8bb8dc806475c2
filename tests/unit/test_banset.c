/*
 * test_banset.c - nested prefix bans to disjoint interval elements
 * (agent/banset.h).
 *
 * Scenario tables spell out the exact element operations expected for
 * each change. A randomized run then plays the ops into a model of the
 * kernel set (DEL must hit an existing element exactly, ADD must not
 * overlap one) and checks, address by address, that every address
 * carries the latest expiry of the bans covering it.
 */
#include "agent/banset.h"
#include "tests/unit/tap.h"

/* tap.h's CHECK evaluates its condition twice; evaluate it once. */
#define EXPECT(cond, ...)                                                     \
	do {                                                                  \
		const int expect_ok_ = (cond) ? 1 : 0;                        \
		CHECK(expect_ok_, __VA_ARGS__);                               \
	} while (0)

#include <arpa/inet.h>
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
	struct bc_ban b;
	char err[ERRLEN];

	memset(&b, 0, sizeof(b));
	if (bc_addr_parse(&b.addr, text, strlen(text), err, sizeof(err)) < 0)
		fprintf(stderr, "# bad test address %s: %s\n", text, err);
	b.expires_ms = expires;
	b.created_ms = NOW - 1;
	return b;
}

/* "+first-last/T" (T = timeout in s, 0 = none) or "-first-last". */
static void ops_text(const struct bc_fw_ops *ops, size_t from, char *out,
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
	struct bc_fw_ops ops = {0};
	struct bc_ban b = mkban(text, expires);
	int rc = bc_banset_change(m, &b, remove, NOW, BC_FW_FLEET, &ops);

	ops_text(&ops, 0, out, OPS_TEXT);
	bc_fw_ops_free(&ops);
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
	{"/32 inside a /24, expiring later: three elements",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.7", T(200), 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.6/100 +10.0.0.7-10.0.0.7/200 "
	   "+10.0.0.8-10.0.0.255/100"},
	  /* removing the outer keeps the inner, untouched */
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.6 -10.0.0.8-10.0.0.255"},
	  {"10.0.0.7", 0, 1, "-10.0.0.7-10.0.0.7"}}},
	{"/32 inside a /24, expiring earlier: one element, no ops",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.7", T(50), 0, ""},
	  {"10.0.0.7", 0, 1, ""},
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255"}}},
	{"inner first, then the outer around it",
	 {{"10.0.0.7", T(200), 0, "+10.0.0.7-10.0.0.7/200"},
	  {"10.0.0.0/24", T(100), 0,
	   "+10.0.0.0-10.0.0.6/100 +10.0.0.8-10.0.0.255/100"},
	  {"10.0.0.0/24", T(300), 0,
	   "-10.0.0.0-10.0.0.6 -10.0.0.7-10.0.0.7 -10.0.0.8-10.0.0.255 "
	   "+10.0.0.0-10.0.0.255/300"}}},
	{"/32 at the start and end of a /24",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0", T(200), 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.0/200 +10.0.0.1-10.0.0.255/100"},
	  {"10.0.0.255", T(300), 0,
	   "-10.0.0.1-10.0.0.255 +10.0.0.1-10.0.0.254/100 "
	   "+10.0.0.255-10.0.0.255/300"}}},
	{"two inner /32s next to each other, same expiry: merged",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.7", T(200), 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.6/100 +10.0.0.7-10.0.0.7/200 "
	   "+10.0.0.8-10.0.0.255/100"},
	  {"10.0.0.8", T(200), 0,
	   "-10.0.0.7-10.0.0.7 -10.0.0.8-10.0.0.255 +10.0.0.7-10.0.0.8/200 "
	   "+10.0.0.9-10.0.0.255/100"}}},
	{"permanent bans have no timeout",
	 {{"10.0.0.0/24", 0, 0, "+10.0.0.0-10.0.0.255/0"},
	  {"10.0.0.7", T(200), 0, ""}, /* a timed ban inside a permanent one */
	  {"10.0.0.0/24", 0, 1, "-10.0.0.0-10.0.0.255 +10.0.0.7-10.0.0.7/200"}}},
	{"permanent /32 inside a timed /24",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.9", 0, 0,
	   "-10.0.0.0-10.0.0.255 +10.0.0.0-10.0.0.8/100 +10.0.0.9-10.0.0.9/0 "
	   "+10.0.0.10-10.0.0.255/100"}}},
	{"adjacent top-level bans stay separate elements",
	 {{"10.0.0.0/25", T(100), 0, "+10.0.0.0-10.0.0.127/100"},
	  {"10.0.0.128/25", T(100), 0, "+10.0.0.128-10.0.0.255/100"},
	  {"10.0.0.0/25", 0, 1, "-10.0.0.0-10.0.0.127"},
	  {"10.0.1.0", T(100), 0, "+10.0.1.0-10.0.1.0/100"},
	  {"10.0.0.255", T(100), 0, ""}}}, /* inside 10.0.0.128/25 */
	{"a change touches only its own top-level ban",
	 {{"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.1.0/24", T(100), 0, "+10.0.1.0-10.0.1.255/100"},
	  {"10.0.2.0/24", T(100), 0, "+10.0.2.0-10.0.2.255/100"},
	  {"10.0.1.9", T(500), 0,
	   "-10.0.1.0-10.0.1.255 +10.0.1.0-10.0.1.8/100 +10.0.1.9-10.0.1.9/500 "
	   "+10.0.1.10-10.0.1.255/100"},
	  {"10.0.1.0/24", T(700), 0,
	   "-10.0.1.0-10.0.1.8 -10.0.1.9-10.0.1.9 -10.0.1.10-10.0.1.255 "
	   "+10.0.1.0-10.0.1.255/700"}}},
	{"change of expiry of the same key",
	 {{"192.0.2.0/24", T(100), 0, "+192.0.2.0-192.0.2.255/100"},
	  {"192.0.2.0/24", T(100), 0, ""},
	  {"192.0.2.0/24", T(50), 0, "-192.0.2.0-192.0.2.255 +192.0.2.0-192.0.2.255/50"},
	  {"192.0.2.0/24", 0, 0, "-192.0.2.0-192.0.2.255 +192.0.2.0-192.0.2.255/0"}}},
	{"four levels of nesting",
	 {{"10.0.0.0/8", T(100), 0, "+10.0.0.0-10.255.255.255/100"},
	  {"10.1.0.0/16", T(200), 0,
	   "-10.0.0.0-10.255.255.255 +10.0.0.0-10.0.255.255/100 "
	   "+10.1.0.0-10.1.255.255/200 +10.2.0.0-10.255.255.255/100"},
	  {"10.1.2.0/24", T(150), 0, ""}, /* earlier than its parent */
	  {"10.1.2.3", T(300), 0,
	   "-10.1.0.0-10.1.255.255 +10.1.0.0-10.1.2.2/200 +10.1.2.3-10.1.2.3/300 "
	   "+10.1.2.4-10.1.255.255/200"},
	  /* without the /16 the /8 pieces around it merge again */
	  {"10.1.0.0/16", 0, 1,
	   "-10.0.0.0-10.0.255.255 -10.1.0.0-10.1.2.2 -10.1.2.4-10.1.255.255 "
	   "-10.2.0.0-10.255.255.255 +10.0.0.0-10.1.1.255/100 "
	   "+10.1.2.0-10.1.2.2/150 +10.1.2.4-10.1.2.255/150 "
	   "+10.1.3.0-10.255.255.255/100"}}},
	{"IPv6 /64 with a /128 inside expiring later",
	 {{"2001:db8::/64", T(100), 0,
	   "+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/100"},
	  {"2001:db8::5", T(900), 0,
	   "-2001:db8::-2001:db8::ffff:ffff:ffff:ffff +2001:db8::-2001:db8::4/100 "
	   "+2001:db8::5-2001:db8::5/900 +2001:db8::6-2001:db8::ffff:ffff:ffff:ffff/100"},
	  {"2001:db8::/64", 0, 1,
	   "-2001:db8::-2001:db8::4 -2001:db8::6-2001:db8::ffff:ffff:ffff:ffff"}}},
	{"all-ones IPv4 address",
	 {{"255.255.255.0/24", T(100), 0, "+255.255.255.0-255.255.255.255/100"},
	  {"255.255.255.255", T(200), 0,
	   "-255.255.255.0-255.255.255.255 +255.255.255.0-255.255.255.254/100 "
	   "+255.255.255.255-255.255.255.255/200"},
	  {"255.255.255.0/24", 0, 1, "-255.255.255.0-255.255.255.254"}}},
	{"the whole IPv4 space with a host inside",
	 {{"0.0.0.0/0", T(100), 0, "+0.0.0.0-255.255.255.255/100"},
	  {"0.0.0.0", T(200), 0,
	   "-0.0.0.0-255.255.255.255 +0.0.0.0-0.0.0.0/200 +0.0.0.1-255.255.255.255/100"}}},
	{"all-ones IPv6 inside ::/0",
	 {{"::/0", T(100), 0, "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/100"},
	  {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", T(200), 0,
	   "-::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	   "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/100 "
	   "+ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/200"},
	  {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", T(300), 0,
	   "-::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe "
	   "-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	   "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef/100 "
	   "+ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/300"}}},
	{"IPv4 and IPv6 bans never interact",
	 {{"0.0.0.0/0", T(100), 0, "+0.0.0.0-255.255.255.255/100"},
	  {"::/0", T(200), 0, "+::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/200"},
	  {"::ffff:10.0.0.1", T(300), 0,
	   "-0.0.0.0-255.255.255.255 +0.0.0.0-10.0.0.0/100 +10.0.0.1-10.0.0.1/300 "
	   "+10.0.0.2-255.255.255.255/100"}}},
	{"already expired bans add nothing",
	 {{"10.0.0.0/24", NOW - 1, 0, ""},
	  {"10.0.1.0/24", NOW, 0, ""},
	  {"10.0.2.0/24", NOW + 1, 0, "+10.0.2.0-10.0.2.255/0"},
	  {"10.0.3.0/24", T(10), 0, "+10.0.3.0-10.0.3.255/10"}}},
	{"removing what is not there",
	 {{"10.0.0.0/24", 0, 1, ""},
	  {"10.0.0.0/24", T(100), 0, "+10.0.0.0-10.0.0.255/100"},
	  {"10.0.0.0/25", 0, 1, ""},
	  {"10.0.0.0/23", 0, 1, ""}}},
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

			EXPECT(same, "%s: step %zu %s %s", s->what, k + 1,
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
	struct bc_fw_ops ops = {0};
	struct bc_ban b = mkban("10.0.0.0/24", T(100));
	size_t i, dels = 0, seen_add = 0, order_ok = 1;

	bc_banset_change(&m, &b, 0, NOW, BC_FW_LOCAL, &ops);
	b = mkban("10.0.0.9", T(200));
	bc_banset_change(&m, &b, 0, NOW, BC_FW_LOCAL, &ops);
	EXPECT(ops.n == 5, "two changes append 1 + 4 ops (got %zu)", ops.n);
	for (i = 0; i < ops.n; i++) {
		EXPECT(ops.v[i].set == BC_FW_LOCAL &&
			      ops.v[i].family == AF_INET &&
			      ops.v[i].pad[0] == 0 &&
			      memcmp(ops.v[i].first + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0,
		      "op %zu: local set, AF_INET, clean padding", i);
		if (i >= 1 && ops.v[i].op == BC_FW_DEL) {
			dels++;
			if (seen_add)
				order_ok = 0;
			EXPECT(ops.v[i].timeout_ms == 0, "DEL has no timeout");
		}
		if (i >= 1 && ops.v[i].op == BC_FW_ADD)
			seen_add = 1;
	}
	EXPECT(dels == 1 && order_ok, "deletes come before adds");
	bc_fw_ops_free(&ops);
	EXPECT(ops.v == NULL && ops.n == 0, "ops free resets");

	b = mkban("2001:db8::/48", 0);
	bc_banset_change(&m, &b, 0, NOW, BC_FW_FLEET, &ops);
	EXPECT(ops.n == 1 && ops.v[0].family == AF_INET6 &&
		      ops.v[0].set == BC_FW_FLEET && ops.v[0].timeout_ms == 0,
	      "IPv6 permanent op: AF_INET6, fleet set, no timeout");
	bc_fw_ops_free(&ops);
	bc_banmap_free(&m);
}

/* bc_banset_all over mixed families. */
static void test_all(void)
{
	struct bc_ban v[8];
	struct bc_banmap m = {0};
	struct bc_fw_ops ops = {0};
	char got[OPS_TEXT];
	size_t i, adds = 0;
	static const char *const want =
		"+10.0.0.0-10.0.0.6/100 +10.0.0.7-10.0.0.7/200 "
		"+10.0.0.8-10.0.0.255/100 +10.0.1.0-10.0.1.255/100 "
		"+192.0.2.1-192.0.2.1/0 +255.255.255.255-255.255.255.255/5 "
		"+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/0 "
		"+2001:db8:0:1::-2001:db8:0:1:ffff:ffff:ffff:ffff/300";

	v[0] = mkban("2001:db8::/64", 0);
	v[1] = mkban("10.0.0.7", T(200));
	v[2] = mkban("192.0.2.1", 0);
	v[3] = mkban("10.0.0.0/24", T(100));
	v[4] = mkban("2001:db8:0:1::/64", T(300));
	v[5] = mkban("10.0.1.0/24", T(100));
	v[6] = mkban("255.255.255.255", T(5));
	v[7] = mkban("2001:db8::9", T(10)); /* inside a permanent ban */
	bc_banmap_load(&m, v, 8);
	EXPECT(bc_banset_all(&m, NOW, BC_FW_FLEET, &ops) == 0, "banset_all");
	ops_text(&ops, 0, got, sizeof(got));
	EXPECT(strcmp(got, want) == 0, "all elements, IPv4 then IPv6");
	if (strcmp(got, want) != 0)
		printf("#   want: %s\n#   got:  %s\n", want, got);
	for (i = 0; i < ops.n; i++)
		if (ops.v[i].op == BC_FW_ADD && ops.v[i].set == BC_FW_FLEET)
			adds++;
	EXPECT(adds == ops.n, "every element is an ADD to the fleet set");
	bc_fw_ops_free(&ops);

	/* only IPv6, only IPv4, empty */
	bc_banmap_load(&m, v, 1);
	bc_banset_all(&m, NOW, BC_FW_FLEET, &ops);
	ops_text(&ops, 0, got, sizeof(got));
	EXPECT(strcmp(got, "+2001:db8::-2001:db8::ffff:ffff:ffff:ffff/0") == 0,
	      "IPv6 only (got %s)", got);
	bc_fw_ops_free(&ops);
	bc_banmap_load(&m, v + 2, 1);
	bc_banset_all(&m, NOW, BC_FW_FLEET, &ops);
	ops_text(&ops, 0, got, sizeof(got));
	EXPECT(strcmp(got, "+192.0.2.1-192.0.2.1/0") == 0, "IPv4 only (got %s)",
	      got);
	bc_fw_ops_free(&ops);
	bc_banmap_clear(&m);
	EXPECT(bc_banset_all(&m, NOW, BC_FW_FLEET, &ops) == 0 && ops.n == 0,
	      "empty map: no elements");
	/* everything expired */
	bc_banmap_load(&m, v + 6, 1);
	EXPECT(bc_banset_all(&m, NOW + S(5), BC_FW_FLEET, &ops) == 0 &&
		      ops.n == 0,
	      "expired ban: no element");
	bc_fw_ops_free(&ops);
	bc_banmap_free(&m);
}

/*
 * Model of one kernel interval set for IPv4 addresses in 10.0.0.0/22.
 * Elements are [first, last] with an expiry (PERM for none).
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
	int errors;
};

static uint32_t u32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static void kset_apply(struct kset *k, const struct bc_fw_ops *ops,
		       size_t from)
{
	size_t i, j;

	for (i = from; i < ops->n; i++) {
		const struct bc_fw_elem *e = &ops->v[i];
		uint32_t f = u32(e->first), l = u32(e->last);

		if (e->op == BC_FW_DEL) {
			for (j = 0; j < k->n; j++)
				if (k->v[j].first == f && k->v[j].last == l)
					break;
			if (j == k->n) {
				k->errors++; /* ENOENT */
				continue;
			}
			k->v[j] = k->v[--k->n];
		} else {
			for (j = 0; j < k->n; j++)
				if (!(l < k->v[j].first || f > k->v[j].last))
					break;
			if (j < k->n || f > l || k->n == SPACE) {
				k->errors++; /* EEXIST */
				continue;
			}
			k->v[k->n].first = f;
			k->v[k->n].last = l;
			k->v[k->n].exp = e->timeout_ms ? NOW + (int64_t)e->timeout_ms
						       : PERM;
			k->n++;
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

static int covers(const struct kset *k, size_t a, int64_t *exp)
{
	size_t j;
	int hits = 0;

	for (j = 0; j < k->n; j++)
		if (BASE + a >= k->v[j].first && BASE + a <= k->v[j].last) {
			*exp = k->v[j].exp;
			hits++;
		}
	return hits;
}

static void test_random(void)
{
	static const unsigned plens[] = {22, 23, 24, 25, 26, 28, 29, 30, 31, 32};
	struct bc_banmap m = {0};
	static struct kset k;
	static int64_t want[SPACE];
	unsigned seed = 4242;
	size_t step, wrong = 0, outside = 0, a;
	struct bc_fw_ops ops = {0};
	int rc = 0;

	memset(&k, 0, sizeof(k));
	for (step = 0; step < 3000; step++) {
		struct bc_ban b;
		struct bc_addr outer;
		uint8_t bin[4];
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
		rc |= bc_banset_change(&m, &b, remove, NOW, BC_FW_FLEET, &ops);
		for (i = mark; i < ops.n; i++) {
			struct bc_addr t;

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
		if (step % 50 == 0 || step == 2999) {
			expected(&m, want);
			for (a = 0; a < SPACE; a++) {
				int64_t e = 0;
				int h = covers(&k, a, &e);

				if (want[a] < 0 ? h != 0 : h != 1 || e != want[a])
					wrong++;
			}
		}
	}
	EXPECT(rc == 0, "3000 random changes succeed");
	EXPECT(k.errors == 0,
	      "kernel model: no DEL of a missing element, no overlapping ADD (%d errors)",
	      k.errors);
	EXPECT(wrong == 0,
	      "every address carries the latest expiry of its bans (%zu wrong)",
	      wrong);
	EXPECT(outside == 0,
	      "every op lies inside the outermost ban of its change (%zu outside)",
	      outside);
	/* the incremental result equals a full rebuild */
	{
		struct bc_fw_ops all = {0};
		static struct kset k2;

		memset(&k2, 0, sizeof(k2));
		bc_banset_all(&m, NOW, BC_FW_FLEET, &all);
		kset_apply(&k2, &all, 0);
		{
			size_t same = k2.n == k.n, x, y;

			for (x = 0; same && x < k2.n; x++) {
				for (y = 0; y < k.n; y++)
					if (k.v[y].first == k2.v[x].first &&
					    k.v[y].last == k2.v[x].last &&
					    k.v[y].exp == k2.v[x].exp)
						break;
				if (y == k.n)
					same = 0;
			}
			EXPECT(same && k2.errors == 0,
			      "incremental elements equal bc_banset_all (%zu vs %zu)",
			      k.n, k2.n);
		}
		bc_fw_ops_free(&all);
	}
	bc_fw_ops_free(&ops);
	bc_banmap_free(&m);
}

/* Every prefix length of IPv6 nested at one address. */
static void test_deep_v6(void)
{
	struct bc_banmap m = {0};
	struct bc_fw_ops ops = {0};
	unsigned p;
	int rc = 0;
	size_t i, ok = 1;

	for (p = 0; p <= 128; p++) {
		struct bc_ban b = mkban("2001:db8::1", T(1000 + p));

		bc_addr_mask(&b.addr, p);
		rc |= bc_banset_change(&m, &b, 0, NOW, BC_FW_FLEET, &ops);
	}
	bc_fw_ops_free(&ops);
	EXPECT(rc == 0 && m.n == 129, "129 nested IPv6 prefixes");
	rc = bc_banset_all(&m, NOW, BC_FW_FLEET, &ops);
	/* each level adds its own expiry to the addresses only it covers */
	for (i = 1; i < ops.n; i++)
		if (memcmp(ops.v[i - 1].last, ops.v[i].first, 16) >= 0)
			ok = 0;
	EXPECT(rc == 0 && ok && ops.n >= 129,
	      "disjoint, ascending elements for 129 levels (%zu elements)",
	      ops.n);
	bc_fw_ops_free(&ops);
	bc_banmap_free(&m);
}

int main(void)
{
	test_scenarios();
	test_op_fields();
	test_all();
	test_random();
	test_deep_v6();
	return tap_done();
}
