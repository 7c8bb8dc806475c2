/*
 * test_allowlist.c - the allow list of `bancluster allow` in memory
 * (common/allowlist.c), as the coordinator and the agent use it: one
 * entry per prefix (put replaces), match (the address inside an entry),
 * overlaps (a ban of the prefix would cover an allowed address, in
 * either direction), an expired entry matching nothing before it is
 * removed, the expired one found for the tick, the cap of BC_ALLOW_MAX.
 */
#include <stdio.h>
#include <string.h>

#include "common/allowlist.h"
#include "tap.h"

static struct bc_allow entry(const char *cidr, int64_t expires_ms)
{
	struct bc_allow e;
	char err[128];

	memset(&e, 0, sizeof(e));
	if (bc_addr_parse(&e.addr, cidr, strlen(cidr), err, sizeof(err)) < 0)
		fprintf(stderr, "%s: %s\n", cidr, err);
	e.expires_ms = expires_ms;
	snprintf(e.by, sizeof(e.by), "admin");
	return e;
}

static struct bc_addr addr(const char *s)
{
	struct bc_addr a;
	char err[128];

	bc_addr_parse(&a, s, strlen(s), err, sizeof(err));
	return a;
}

int main(void)
{
	struct bc_allowlist l = {0};
	struct bc_allow e = entry("192.0.2.0/24", 0), f;
	struct bc_addr a;
	const struct bc_allow *m;
	int i, full = 0;

	CHECK(bc_allowlist_put(&l, &e) == 0 && l.n == 1, "put 192.0.2.0/24");
	e = entry("192.0.2.0/24", 5000);
	snprintf(e.comment, sizeof(e.comment), "again");
	CHECK(bc_allowlist_put(&l, &e) == 0 && l.n == 1 && l.v[0].expires_ms == 5000 &&
		      strcmp(l.v[0].comment, "again") == 0,
	      "put of the same prefix replaces it (n %zu)", l.n);
	f = entry("2001:db8:77::/48", 0);
	CHECK(bc_allowlist_put(&l, &f) == 0 && l.n == 2, "put 2001:db8:77::/48");

	a = addr("192.0.2.7");
	m = bc_allowlist_match(&l, &a, 1000);
	CHECK(m != NULL && m == &l.v[0], "192.0.2.7 is inside 192.0.2.0/24");
	a = addr("192.0.3.7");
	CHECK(bc_allowlist_match(&l, &a, 1000) == NULL, "192.0.3.7 is not");
	a = addr("2001:db8:77:5::9");
	CHECK(bc_allowlist_match(&l, &a, 1000) == &l.v[1], "2001:db8:77:5::9 is inside the /48");
	a = addr("192.0.0.0/16");
	CHECK(bc_allowlist_match(&l, &a, 1000) == NULL &&
		      bc_allowlist_overlaps(&l, &a, 1000) == &l.v[0],
	      "192.0.0.0/16 is not inside, but overlaps (a ban of it covers the /24)");
	a = addr("2001:db8:77::/64");
	CHECK(bc_allowlist_overlaps(&l, &a, 1000) == &l.v[1], "an IPv6 /64 inside the /48 overlaps");
	a = addr("::/0");
	CHECK(bc_allowlist_overlaps(&l, &a, 1000) == &l.v[1], "::/0 overlaps the IPv6 entry only");
	a = addr("192.0.2.7");
	CHECK(bc_allowlist_match(&l, &a, 5000) == NULL &&
		      bc_allowlist_overlaps(&l, &a, 5000) == NULL,
	      "at its expiry (5000) the entry matches nothing any more");
	CHECK(bc_allowlist_expired(&l, 4999) == -1 && bc_allowlist_expired(&l, 5000) == 0,
	      "expired: none at 4999, entry 0 at 5000");
	CHECK(bc_allowlist_find(&l, &l.v[1].addr) == 1, "find the /48 exactly");
	a = addr("2001:db8:77::/49");
	CHECK(bc_allowlist_find(&l, &a) == -1 && !bc_allowlist_del(&l, &a),
	      "find and del take the exact prefix only");
	e = entry("192.0.2.0/24", 0);
	CHECK(bc_allowlist_del(&l, &e.addr) && l.n == 1 && bc_allowlist_find(&l, &f.addr) == 0,
	      "del the /24: the /48 left");

	for (i = 0; i < BC_ALLOW_MAX + 5; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.%d.%d.0/24", i / 256, i % 256);
		e = entry(s, 0);
		if (bc_allowlist_put(&l, &e) < 0)
			full++;
	}
	CHECK(l.n == BC_ALLOW_MAX && full == 6,
	      "at most %d entries: %zu held, %d refused", BC_ALLOW_MAX, l.n, full);
	e = entry("10.0.5.0/24", 77);
	CHECK(bc_allowlist_put(&l, &e) == 0 && l.v[bc_allowlist_find(&l, &e.addr)].expires_ms == 77,
	      "a full list still replaces an entry it holds");
	bc_allowlist_clear(&l);
	CHECK(l.n == 0, "clear");
	bc_allowlist_free(&l);
	CHECK(l.v == NULL && l.n == 0 && l.cap == 0, "free");
	return tap_done();
}
