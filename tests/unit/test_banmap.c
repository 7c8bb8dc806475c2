/*
 * test_banmap.c - the sorted in-memory ban table (common/banmap.h):
 * order, lookup, replace, delete, bulk load with duplicates, the size
 * bound.
 */
#include "common/banmap.h"
#include "tests/unit/tap.h"
#include "tests/unit/testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 256

static struct bc_ban ban(const char *text, int64_t expires)
{
	return tu_ban(text, expires, 1);
}

static struct bc_addr addr(const char *text)
{
	return ban(text, 0).addr;
}

static int is_sorted(const struct bc_banmap *m)
{
	size_t i;

	for (i = 1; i < m->n; i++)
		if (bc_addr_cmp(&m->v[i - 1].addr, &m->v[i].addr) >= 0)
			return 0;
	return 1;
}

/* Keys in map order, formatted and joined with spaces. */
static const char *keys(const struct bc_banmap *m, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < m->n && o < len; i++) {
		char b[BC_ADDR_STRLEN];

		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? " " : "",
				      bc_addr_format(&m->v[i].addr, b, sizeof(b)));
	}
	return out;
}

static void test_put_order(void)
{
	static const char *const in[] = {
		"2001:db8::1", "192.0.2.7", "10.0.0.0/8", "192.0.2.0/24",
		"::/0", "10.0.0.0/16", "0.0.0.0/0", "192.0.2.0/25",
		"2001:db8::/32", "255.255.255.255", "10.0.0.0",
	};
	static const char *const want =
		"0.0.0.0/0 10.0.0.0/8 10.0.0.0/16 10.0.0.0 192.0.2.0/24 "
		"192.0.2.0/25 192.0.2.7 255.255.255.255 ::/0 2001:db8::/32 "
		"2001:db8::1";
	struct bc_banmap m = {0};
	char out[1024];
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct bc_ban b = ban(in[i], (int64_t)i + 100);

		rc |= bc_banmap_put(&m, &b);
	}
	CHECK(rc == 0 && m.n == sizeof(in) / sizeof(in[0]), "11 puts, 11 bans");
	CHECK(strcmp(keys(&m, out, sizeof(out)), want) == 0,
	      "family, address, shorter prefix first (got %s)", out);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct bc_addr a = addr(in[i]);
		long k = bc_banmap_find(&m, &a);

		CHECK(k >= 0 && m.v[k].expires_ms == (int64_t)i + 100,
		      "find %s", in[i]);
	}
	{
		static const char *const absent[] = {
			"10.0.0.0/9", "192.0.2.8", "::", "2001:db8::/33",
			"::ffff:192.0.2.6", "1.1.1.1",
		};

		for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
			struct bc_addr a = addr(absent[i]);

			CHECK(bc_banmap_find(&m, &a) == -1, "find %s: absent",
			      absent[i]);
		}
	}
	/* same key: replaced in place */
	{
		struct bc_ban b = ban("192.0.2.0/24", 999);
		struct bc_addr a = addr("192.0.2.0/24");
		size_t n = m.n;

		CHECK(bc_banmap_put(&m, &b) == 0 && m.n == n &&
			      m.v[bc_banmap_find(&m, &a)].expires_ms == 999,
		      "put of an existing key replaces it");
	}
	/* the same address as host and as mapped IPv6 is one key */
	{
		struct bc_ban b = ban("::ffff:192.0.2.7", 555);
		struct bc_addr a = addr("192.0.2.7");
		size_t n = m.n;

		CHECK(bc_banmap_put(&m, &b) == 0 && m.n == n &&
			      m.v[bc_banmap_find(&m, &a)].expires_ms == 555,
		      "mapped IPv6 replaces the IPv4 key");
	}
	bc_banmap_free(&m);
	CHECK(m.v == NULL && m.n == 0 && m.cap == 0, "free resets the map");
}

static void test_lower(void)
{
	static const char *const in[] = {"10.0.0.0/8", "10.0.0.0", "10.0.0.9",
					 "192.0.2.0/24", "::1"};
	static const struct {
		const char *key;
		size_t want;
	} cases[] = {
		{"0.0.0.0/0", 0}, {"10.0.0.0/8", 0}, {"10.0.0.0/9", 1},
		{"10.0.0.0", 1},  {"10.0.0.1", 2},   {"10.0.0.9", 2},
		{"10.0.0.10", 3}, {"192.0.2.0/24", 3}, {"192.0.2.1", 4},
		{"::", 4},        {"::1", 4},        {"::2", 5},
	};
	struct bc_banmap m = {0};
	size_t i;

	CHECK(bc_banmap_lower(&m, &(struct bc_addr){0}) == 0,
	      "lower on an empty map is 0");
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct bc_ban b = ban(in[i], 0);

		bc_banmap_put(&m, &b);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_addr a = addr(cases[i].key);
		size_t got = bc_banmap_lower(&m, &a);

		CHECK(got == cases[i].want, "lower(%s) = %zu (got %zu)",
		      cases[i].key, cases[i].want, got);
	}
	bc_banmap_free(&m);
}

static void test_del(void)
{
	static const char *const in[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3",
					 "2001:db8::/64"};
	struct bc_banmap m = {0};
	struct bc_addr a;
	char out[512];
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct bc_ban b = ban(in[i], 0);

		bc_banmap_put(&m, &b);
	}
	a = addr("10.0.0.2");
	CHECK(bc_banmap_del(&m, &a) == 0 && m.n == 3 &&
		      strcmp(keys(&m, out, sizeof(out)),
			     "10.0.0.1 10.0.0.3 2001:db8::/64") == 0,
	      "delete from the middle (got %s)", out);
	CHECK(bc_banmap_del(&m, &a) == -1 && m.n == 3, "delete again: absent");
	a = addr("10.0.0.0/24");
	CHECK(bc_banmap_del(&m, &a) == -1 && m.n == 3,
	      "delete of a covering prefix that is not a key: absent");
	a = addr("2001:db8::/64");
	CHECK(bc_banmap_del(&m, &a) == 0 &&
		      strcmp(keys(&m, out, sizeof(out)), "10.0.0.1 10.0.0.3") == 0,
	      "delete the last (got %s)", out);
	a = addr("10.0.0.1");
	CHECK(bc_banmap_del(&m, &a) == 0 && m.n == 1, "delete the first");
	a = addr("10.0.0.3");
	CHECK(bc_banmap_del(&m, &a) == 0 && m.n == 0, "delete the only one");
	CHECK(bc_banmap_del(&m, &a) == -1, "delete from an empty map");
	bc_banmap_free(&m);
	CHECK(bc_banmap_del(&m, &a) == -1, "delete from a freed map");
}

static void test_load(void)
{
	struct bc_ban v[6];
	struct bc_banmap m = {0};
	char out[512];
	struct bc_addr a;

	v[0] = ban("192.0.2.9", 1);
	v[1] = ban("10.0.0.0/8", 2);
	v[2] = ban("192.0.2.9", 3); /* duplicate key: the later one wins */
	v[3] = ban("::1", 4);
	v[4] = ban("10.0.0.0/8", 5);
	v[5] = ban("10.0.0.0/8", 6);
	CHECK(bc_banmap_load(&m, v, 6) == 0 && m.n == 3,
	      "load 6 records with duplicate keys: 3 bans (got %zu)", m.n);
	CHECK(strcmp(keys(&m, out, sizeof(out)), "10.0.0.0/8 192.0.2.9 ::1") == 0,
	      "loaded in order (got %s)", out);
	a = addr("192.0.2.9");
	CHECK(m.v[bc_banmap_find(&m, &a)].expires_ms == 3,
	      "duplicate: last record kept (192.0.2.9)");
	a = addr("10.0.0.0/8");
	CHECK(m.v[bc_banmap_find(&m, &a)].expires_ms == 6,
	      "duplicate: last record kept (10.0.0.0/8)");
	CHECK(v[0].expires_ms == 1 && v[5].expires_ms == 6,
	      "input array not modified");

	/* load replaces, never merges */
	v[0] = ban("203.0.113.5", 7);
	CHECK(bc_banmap_load(&m, v, 1) == 0 && m.n == 1 &&
		      strcmp(keys(&m, out, sizeof(out)), "203.0.113.5") == 0,
	      "second load replaces the content (got %s)", out);
	CHECK(bc_banmap_load(&m, v, 0) == 0 && m.n == 0, "load of nothing empties");
	bc_banmap_free(&m);

	/* many duplicates: the last of each key in input order wins */
	{
		size_t n = 4000, i, wrong = 0;
		struct bc_ban *big = calloc(n, sizeof(*big));

		for (i = 0; i < n; i++) {
			char t[32];

			snprintf(t, sizeof(t), "10.0.%zu.%zu", (i * 7919 % 1000) / 250,
				 (i * 7919 % 1000) % 250);
			big[i] = ban(t, (int64_t)i);
		}
		/* key k appears at i and i + 1000, 2000, 3000 */
		CHECK(bc_banmap_load(&m, big, n) == 0 && m.n == 1000 &&
			      is_sorted(&m),
		      "4000 records, 1000 keys: 1000 bans sorted (got %zu)", m.n);
		for (i = 0; i < m.n; i++)
			if (m.v[i].expires_ms < 3000)
				wrong++;
		CHECK(wrong == 0, "every key keeps its last record (%zu wrong)",
		      wrong);
		free(big);
		bc_banmap_free(&m);
	}
}

static void test_clear(void)
{
	struct bc_banmap m = {0};
	struct bc_ban b = ban("192.0.2.1", 0);
	struct bc_addr a = b.addr;

	bc_banmap_put(&m, &b);
	bc_banmap_clear(&m);
	CHECK(m.n == 0 && bc_banmap_find(&m, &a) == -1, "clear empties");
	CHECK(bc_banmap_put(&m, &b) == 0 && m.n == 1, "map usable after clear");
	bc_banmap_free(&m);
	bc_banmap_free(&m);
	CHECK(m.v == NULL, "free twice is harmless");
}

/* Random puts and deletes against a brute-force model. */
static void test_random(void)
{
	enum { KEYS = 600, STEPS = 20000 };
	static struct bc_ban pool[KEYS];
	static int present[KEYS];
	struct bc_banmap m = {0};
	size_t i, j, bad = 0, count = 0;
	unsigned seed = 12345;

	for (i = 0; i < KEYS; i++) {
		char t[64];

		seed = seed * 1103515245u + 12345u;
		if (i % 3 == 0)
			snprintf(t, sizeof(t), "10.%u.%u.0/%u", (seed >> 8) % 4,
				 (seed >> 12) % 256, 8 + (seed >> 20) % 25);
		else if (i % 3 == 1)
			snprintf(t, sizeof(t), "10.%u.%u.%u", (seed >> 8) % 4,
				 (seed >> 12) % 256, (seed >> 20) % 256);
		else
			snprintf(t, sizeof(t), "2001:db8:%x::%x/%u",
				 (seed >> 8) % 16, (seed >> 12) % 4096,
				 32 + (seed >> 20) % 97);
		pool[i] = ban(t, (int64_t)i + 1);
		for (j = 0; j < i; j++) {
			if (bc_addr_equal(&pool[j].addr, &pool[i].addr)) {
				/* keep keys unique: fall back to 172.16/16 */
				snprintf(t, sizeof(t), "172.16.%zu.%zu", i / 256,
					 i % 256);
				pool[i] = ban(t, (int64_t)i + 1);
				break;
			}
		}
	}
	for (i = 0; i < STEPS; i++) {
		size_t k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % KEYS;
		if ((seed >> 20) % 3 == 0) {
			int rc = bc_banmap_del(&m, &pool[k].addr);

			if ((rc == 0) != (present[k] != 0))
				bad++;
			present[k] = 0;
		} else {
			if (bc_banmap_put(&m, &pool[k]) < 0)
				bad++;
			present[k] = 1;
		}
	}
	for (i = 0; i < KEYS; i++) {
		long f = bc_banmap_find(&m, &pool[i].addr);

		if (present[i]) {
			count++;
			if (f < 0 || m.v[f].expires_ms != pool[i].expires_ms)
				bad++;
		} else if (f >= 0) {
			bad++;
		}
	}
	CHECK(bad == 0 && m.n == count && is_sorted(&m),
	      "20000 random puts/deletes agree with a model (%zu bans, %zu bad)",
	      m.n, bad);
	bc_banmap_free(&m);
}

/* The table never grows past BC_BANMAP_MAX. */
static void test_bound(void)
{
	size_t n = BC_BANMAP_MAX, i;
	struct bc_ban *v = calloc(n + 1, sizeof(*v));
	struct bc_banmap m = {0};
	struct bc_ban extra;

	if (v == NULL) {
		CHECK(0, "allocate %zu records", n);
		return;
	}
	for (i = 0; i <= n; i++) {
		uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};

		a[12] = (uint8_t)(i >> 24);
		a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		bc_addr_from_bin(&v[i].addr, AF_INET6, a, 128);
	}
	CHECK(bc_banmap_load(&m, v, n + 1) < 0, "load of %zu records refused",
	      n + 1);
	CHECK(bc_banmap_load(&m, v, n) == 0 && m.n == n,
	      "load of exactly %zu records", n);
	extra = v[n];
	CHECK(bc_banmap_put(&m, &v[7]) == 0 && m.n == n,
	      "replacing a key when full is fine");
	CHECK(bc_banmap_del(&m, &v[0].addr) == 0 && m.n == n - 1 &&
		      bc_banmap_put(&m, &extra) == 0 && m.n == n,
	      "after a delete there is room for one more");
	bc_banmap_free(&m);
	free(v);
}

int main(void)
{
	test_put_order();
	test_lower();
	test_del();
	test_load();
	test_clear();
	test_random();
	test_bound();
	return tap_done();
}
