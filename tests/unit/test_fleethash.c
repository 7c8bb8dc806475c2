/*
 * test_fleethash.c - the fleet-set hash (proto/fleethash.h), the contract
 * the agent and the coordinator compute apart and compare in `audit
 * fleet`:
 *   - the coordinator's hash of its ban map equals the agent's hash of
 *     the same elements read back from the kernel in any order, with
 *     kernel timeouts that drifted (only family, first, last count);
 *   - the same bans put into a map in another order hash the same, and
 *     one ban more or less changes the hash;
 *   - an element expiring at or before the cutoff is left out on both
 *     sides, a later or permanent one is kept;
 *   - bc_fleethash_diff counts the keys missing from the kernel and the
 *     extra ones.
 */
#include "proto/fleethash.h"
#include "tests/unit/tap.h"
#include "tests/unit/testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 256
#define NOW 1700000000000LL /* fixed "now" in ms */
#define S(x) ((int64_t)(x) * 1000)
#define T(s) (NOW + S(s))
#define CUTOFF (NOW + BC_FLEETHASH_MARGIN_MS)

struct tban {
	const char *addr;
	int64_t expires; /* absolute ms; 0 = permanent */
};

static void put(struct bc_banmap *m, const char *text, int64_t expires)
{
	struct bc_ban b = tu_ban(text, expires, NOW - 1);

	if (bc_banmap_put(m, &b) < 0)
		fprintf(stderr, "# banmap_put %s failed\n", text);
}

static void load(struct bc_banmap *m, const struct tban *t, size_t n,
		 bool reverse)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct tban *b = &t[reverse ? n - 1 - i : i];

		put(m, b->addr, b->expires);
	}
}

static bool same(const struct bc_fleethash *x, const struct bc_fleethash *y)
{
	return x->count == y->count &&
	       memcmp(x->hash, y->hash, BC_FLEETHASH_LEN) == 0;
}

/* Host bans, a prefix with a host inside, an IPv6 prefix and host. */
static const struct tban bans[] = {
	{"192.0.2.0/24", T(600)},
	{"192.0.2.7", T(3600)},
	{"198.51.100.9", T(60)},
	{"203.0.113.5", 0},
	{"2001:db8::/64", T(600)},
	{"2001:db8:1::42", T(120)},
};
#define NBANS (sizeof(bans) / sizeof(bans[0]))

/*
 * What the agent does with the kernel's read-back: one add per element,
 * in the order given by idx, each with its kernel timeout plus drift.
 */
static void agent_side(const struct bc_banmap *m, int64_t cutoff,
		       const size_t *idx, size_t nidx, int64_t drift_ms,
		       struct bc_fleethash_keys *k)
{
	struct bc_interval_ops ops = {0};
	size_t i;

	if (bc_interval_all(m, 0, BC_FW_FLEET, &ops) < 0 || ops.n != nidx) {
		fprintf(stderr, "# interval_all: %zu elements, want %zu\n",
			ops.n, nidx);
		bc_interval_ops_free(&ops);
		return;
	}
	k->cutoff_ms = cutoff;
	for (i = 0; i < nidx; i++) {
		const struct bc_fw_elem *e = &ops.v[idx[i]];
		int64_t exp = (int64_t)e->timeout_ms;

		bc_fleethash_add(k, e, exp == 0 ? 0 : exp + drift_ms);
	}
	bc_interval_ops_free(&ops);
}

static void test_same_bans_same_hash(void)
{
	struct bc_banmap a = {0}, b = {0}, c = {0};
	struct bc_fleethash ha, hb, hc, hagent, hempty1, hempty2;
	struct bc_fleethash_keys k = {0};
	struct bc_banmap empty = {0};
	/* 6 bans make 6 elements: the /24 and the /64 one range each (the
	 * host inside the /24 is its own element, in the hash set) */
	static const size_t shuffled[] = {4, 0, 5, 2, 1, 3};

	load(&a, bans, NBANS, false);
	load(&b, bans, NBANS, true);
	CHECK(bc_fleethash_expected(&a, CUTOFF, &ha) == 0 && ha.count == 6,
	      "expected hash of 6 bans: 6 elements (got %zu)", ha.count);
	CHECK(bc_fleethash_expected(&b, CUTOFF, &hb) == 0 && same(&ha, &hb),
	      "same bans put in reverse order: same hash and count");

	/* the agent's read-back, in another order, timeouts 37 ms later */
	agent_side(&a, CUTOFF, shuffled, 6, 37, &k);
	bc_fleethash_final(&k, &hagent);
	CHECK(k.oom == 0 && same(&ha, &hagent),
	      "kernel read-back in another order with drifted timeouts: the "
	      "coordinator's hash");
	bc_fleethash_keys_free(&k);
	CHECK(k.v == NULL && k.n == 0 && k.cap == 0,
	      "keys_free empties the list");

	/* one ban less: a different hash */
	load(&c, bans, NBANS - 1, false);
	CHECK(bc_fleethash_expected(&c, CUTOFF, &hc) == 0 && hc.count == 5 &&
		      memcmp(hc.hash, ha.hash, BC_FLEETHASH_LEN) != 0,
	      "one ban less: 5 elements and another hash");

	/* a host moved by one address: another hash, same count */
	bc_banmap_clear(&c);
	load(&c, bans, NBANS, false);
	{
		struct bc_addr x;
		char err[ERRLEN];

		bc_addr_parse(&x, "198.51.100.9", 12, err, sizeof(err));
		bc_banmap_del(&c, &x);
		put(&c, "198.51.100.10", T(60));
	}
	CHECK(bc_fleethash_expected(&c, CUTOFF, &hc) == 0 && hc.count == 6 &&
		      memcmp(hc.hash, ha.hash, BC_FLEETHASH_LEN) != 0,
	      "198.51.100.9 replaced by .10: same count, another hash");

	CHECK(bc_fleethash_expected(&empty, CUTOFF, &hempty1) == 0 &&
		      bc_fleethash_expected(&empty, CUTOFF + 5, &hempty2) == 0 &&
		      hempty1.count == 0 && same(&hempty1, &hempty2) &&
		      memcmp(hempty1.hash, ha.hash, BC_FLEETHASH_LEN) != 0,
	      "empty map: count 0, one fixed hash unlike a full one");
	bc_banmap_free(&a);
	bc_banmap_free(&b);
	bc_banmap_free(&c);
}

static void test_cutoff(void)
{
	struct bc_banmap m = {0}, kept = {0};
	struct bc_fleethash hm, hk, hagent;
	struct bc_fleethash_keys k = {0};
	static const size_t order[] = {3, 2, 1, 0};
	struct bc_fw_elem e;

	put(&m, "192.0.2.1", CUTOFF - S(1));  /* expires before: out */
	put(&m, "192.0.2.2", CUTOFF);         /* expires at the cutoff: out */
	put(&m, "192.0.2.3", CUTOFF + 1);     /* after: in */
	put(&m, "192.0.2.4", 0);              /* permanent: in */
	put(&kept, "192.0.2.3", CUTOFF + 1);
	put(&kept, "192.0.2.4", 0);
	CHECK(bc_fleethash_expected(&m, CUTOFF, &hm) == 0 && hm.count == 2,
	      "bans expiring before and at the cutoff left out: 2 of 4 "
	      "counted (got %zu)", hm.count);
	CHECK(bc_fleethash_expected(&kept, CUTOFF, &hk) == 0 && same(&hm, &hk),
	      "the hash is that of the map without them");

	/* the agent's side leaves the same ones out */
	agent_side(&m, CUTOFF, order, 4, 0, &k);
	CHECK(k.n == 2, "agent side: 2 of 4 kernel elements kept (got %zu)",
	      k.n);
	bc_fleethash_final(&k, &hagent);
	CHECK(same(&hm, &hagent), "agent side: the coordinator's hash");
	bc_fleethash_keys_free(&k);

	/* bc_fleethash_add itself, at the boundary */
	memset(&e, 0, sizeof(e));
	e.family = AF_INET;
	e.first[0] = e.last[0] = 10;
	k.cutoff_ms = 1000;
	bc_fleethash_add(&k, &e, 999);
	CHECK(k.n == 0, "add: expiry 999 before cutoff 1000 left out");
	bc_fleethash_add(&k, &e, 1000);
	CHECK(k.n == 0, "add: expiry 1000 at cutoff 1000 left out");
	bc_fleethash_add(&k, &e, 1001);
	CHECK(k.n == 1, "add: expiry 1001 after cutoff 1000 kept");
	bc_fleethash_add(&k, &e, 0);
	CHECK(k.n == 2 && k.oom == 0, "add: permanent (0) kept");
	bc_fleethash_keys_free(&k);
	bc_banmap_free(&m);
	bc_banmap_free(&kept);
}

/* A key list of IPv4 hosts 10.0.0.X, sorted as the diff needs. */
static void hosts(struct bc_fleethash_keys *k, const unsigned char *last,
		  size_t n)
{
	struct bc_fw_elem e;
	size_t i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.family = AF_INET;
		e.first[0] = e.last[0] = 10;
		e.first[3] = e.last[3] = last[i];
		bc_fleethash_add(k, &e, 0);
	}
	bc_fleethash_sort(k);
}

static void test_diff(void)
{
	static const unsigned char have_v[] = {9, 1, 2, 3};  /* kernel */
	static const unsigned char want_v[] = {5, 2, 3, 4, 1}; /* ban map */
	struct bc_fleethash_keys have, want, none;
	size_t missing = 99, extra = 99;

	hosts(&have, have_v, 4);
	hosts(&want, want_v, 5);
	hosts(&none, NULL, 0);
	bc_fleethash_diff(&have, &want, &missing, &extra);
	CHECK(missing == 2 && extra == 1,
	      "kernel {1,2,3,9} vs map {1,2,3,4,5}: 2 missing, 1 extra "
	      "(got %zu, %zu)", missing, extra);
	bc_fleethash_diff(&want, &want, &missing, &extra);
	CHECK(missing == 0 && extra == 0, "a list against itself: 0, 0");
	bc_fleethash_diff(&none, &want, &missing, &extra);
	CHECK(missing == 5 && extra == 0, "empty kernel: all 5 missing");
	bc_fleethash_diff(&have, &none, &missing, &extra);
	CHECK(missing == 0 && extra == 4, "empty map: all 4 extra");
	bc_fleethash_keys_free(&have);
	bc_fleethash_keys_free(&want);
	bc_fleethash_keys_free(&none);
}

int main(void)
{
	test_same_bans_same_hash();
	test_cutoff();
	test_diff();
	return tap_done();
}
