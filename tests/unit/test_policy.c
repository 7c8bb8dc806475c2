/*
 * test_policy.c - the counting table behind every ban decision
 * (common/policy.h), driven on a virtual clock: every event carries its
 * own time and the arrival time (now) is passed in explicitly.
 *
 * Most cases are scenarios: a configuration (the defaults with a few
 * adjustments) and a table of event rows, each with the verdict it must
 * get and, for a ban, the key, host count and score that must come out.
 * The table bound, peek, forget, reload and the ban-duration escalation
 * have tables of their own.
 */
#include "common/event.h" /* enum bc_kind */
#include "common/addr.h"
#include "common/policy.h"
#include "tests/unit/tap.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ERRLEN 256
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 1700000000000LL  /* virtual epoch: the clock never reads 0 */
#define AT_EVENT (-1)       /* step.now: arrival time = event time */

#define F BC_KIND_AUTH_FAIL
#define SV BC_KIND_SENDER_VIOLATION
#define AB BC_KIND_AUTH_ABORT
#define OK BC_KIND_AUTH_SUCCESS

#define COUNTED BC_POLICY_COUNTED
#define BAN BC_POLICY_BAN
#define ALLOWED BC_POLICY_ALLOWED
#define IGNORED BC_POLICY_IGNORED

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS(a) .steps = (a), .nsteps = NELEM(a)

static struct bc_addr addr(const char *text)
{
	struct bc_addr a;
	char err[ERRLEN];

	memset(&a, 0, sizeof(a));
	if (bc_addr_parse(&a, text, strlen(text), err, sizeof(err)) < 0)
		fprintf(stderr, "# bad test address %s: %s\n", text, err);
	return a;
}

static const char *fmt(const struct bc_addr *a, char *buf, size_t len)
{
	return bc_addr_format(a, buf, len);
}

static const char *verdict_name(enum bc_policy_verdict v)
{
	switch (v) {
	case BC_POLICY_COUNTED:
		return "COUNTED";
	case BC_POLICY_BAN:
		return "BAN";
	case BC_POLICY_ALLOWED:
		return "ALLOWED";
	case BC_POLICY_IGNORED:
		return "IGNORED";
	}
	return "?";
}

static enum bc_policy_verdict feed(struct bc_policy *p, const char *a,
				   uint8_t kind, uint16_t host, int64_t t,
				   int64_t now, struct bc_policy_hit *hit)
{
	struct bc_policy_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = t;
	ev.kind = kind;
	ev.host = host;
	ev.addr = addr(a);
	memset(hit, 0, sizeof(*hit));
	return bc_policy_event(p, &ev, now, hit);
}

/*
 * One row: `repeat` events (1 when 0), the first at t, then every
 * `every` ms, host + k for the k-th when host_step. Every one of them
 * must get `want`; a BAN row checks the hit of its last event.
 */
struct step {
	int64_t t;           /* event time, ms after T0 */
	int64_t now;         /* arrival, ms after T0; AT_EVENT: = t */
	uint8_t kind;
	uint16_t host;
	const char *addr;
	enum bc_policy_verdict want;
	const char *key;     /* BAN: the key to ban (NULL: the address) */
	unsigned hosts;      /* BAN: distinct hosts, 0 = unchecked */
	double score;        /* BAN: weighted score, 0 = unchecked */
	unsigned repeat;
	int64_t every;
	int host_step;
};

struct scenario {
	const char *name;
	double maxretry;      /* 0: default */
	unsigned min_hosts;   /* 0: default */
	unsigned ipv6_prefix; /* 0: default */
	const char *allow;    /* NULL: no allow list */
	const char *nat64;    /* NULL: no site NAT64 prefixes */
	const struct step *steps;
	size_t nsteps;
};

/* 5 hosts, one auth_fail each, within 10 minutes: banned on the 5th. */
static const struct step five_hosts_10m[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.7", .want = COUNTED},
	{.t = 2 * MIN + 30 * SEC, .now = AT_EVENT, .kind = F, .host = 1, .addr = "198.51.100.7", .want = COUNTED},
	{.t = 5 * MIN, .now = AT_EVENT, .kind = F, .host = 2, .addr = "198.51.100.7", .want = COUNTED},
	{.t = 7 * MIN + 30 * SEC, .now = AT_EVENT, .kind = F, .host = 3, .addr = "198.51.100.7", .want = COUNTED},
	{.t = 9 * MIN + 59 * SEC, .now = AT_EVENT, .kind = F, .host = 4, .addr = "198.51.100.7", .want = BAN,
	 .key = "198.51.100.7", .hosts = 5, .score = 5},
};

/* The same 5 spread over 11 minutes (every 2m45s): never a ban. */
static const struct step five_hosts_11m[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.7", .want = COUNTED,
	 .repeat = 5, .every = 2 * MIN + 45 * SEC, .host_step = 1},
};

/* The window is (now - findtime, now]: exactly 10 minutes is too long. */
static const struct step five_hosts_exactly_10m[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.7", .want = COUNTED,
	 .repeat = 5, .every = 150 * SEC, .host_step = 1},
};

static const struct step fails_and_sender[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.8", .want = COUNTED,
	 .repeat = 4, .every = MIN, .host_step = 1},
	{.t = 5 * MIN, .now = AT_EVENT, .kind = SV, .host = 4, .addr = "198.51.100.8", .want = BAN,
	 .hosts = 5, .score = 5},
};

/* auth_abort weighs 0.5: 9 aborts stay below 5, the 10th bans. */
static const struct step aborts_weigh_half[] = {
	{.t = 0, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.9", .want = COUNTED,
	 .repeat = 9, .every = 30 * SEC},
	{.t = 5 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.9", .want = BAN,
	 .hosts = 1, .score = 5},
};

/*
 * A success voids the earlier aborts, never the fails: 4 F + 1 A, OK,
 * 1 A stays at 4.5 (5.0 without the reset), then 1 F bans on 5 fails.
 */
static const struct step success_keeps_fails[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.10", .want = COUNTED,
	 .repeat = 4, .every = 10 * SEC},
	{.t = 1 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.10", .want = COUNTED},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = OK, .host = 0, .addr = "198.51.100.10", .want = COUNTED},
	{.t = 3 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.10", .want = COUNTED},
	{.t = 4 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.10", .want = BAN,
	 .hosts = 1, .score = 5.5},
};

/* 8 aborts, a success, 2 aborts: 1.0. Then 8 more reach 5.0. */
static const struct step success_resets_aborts[] = {
	{.t = 0, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.11", .want = COUNTED,
	 .repeat = 8, .every = 10 * SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = OK, .host = 1, .addr = "198.51.100.11", .want = COUNTED},
	{.t = 3 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.11", .want = COUNTED,
	 .repeat = 2, .every = 10 * SEC},
	{.t = 4 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.11", .want = COUNTED,
	 .repeat = 7, .every = 10 * SEC},
	{.t = 6 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.11", .want = BAN,
	 .hosts = 1, .score = 5},
};

/* A success reported late voids only the aborts that came before it. */
static const struct step late_success[] = {
	{.t = 6 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.12", .want = COUNTED,
	 .repeat = 8, .every = SEC},
	{.t = 5 * MIN, .now = 7 * MIN, .kind = OK, .host = 1, .addr = "198.51.100.12", .want = COUNTED},
	{.t = 7 * MIN, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.12", .want = COUNTED},
	{.t = 7 * MIN + SEC, .now = AT_EVENT, .kind = AB, .host = 0, .addr = "198.51.100.12", .want = BAN,
	 .score = 5},
};

/* A success alone leaves nothing to track. */
static const struct step success_alone[] = {
	{.t = 0, .now = AT_EVENT, .kind = OK, .host = 0, .addr = "198.51.100.13", .want = IGNORED,
	 .repeat = 3, .every = SEC},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.13", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.13", .want = BAN,
	 .score = 5},
};

/* Allow-listed addresses: 1000 events each, never counted. */
static const struct step allowlisted[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "192.0.2.9", .want = ALLOWED,
	 .repeat = 1000, .every = 100, .host_step = 1},
	{.t = 0, .now = AT_EVENT, .kind = SV, .host = 0, .addr = "127.0.0.1", .want = ALLOWED,
	 .repeat = 1000, .every = 100},
	{.t = 0, .now = AT_EVENT, .kind = AB, .host = 3, .addr = "127.255.255.254", .want = ALLOWED,
	 .repeat = 1000, .every = 100},
	/* the policy is live: a neighbour outside the list is banned */
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "192.0.3.9", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 3 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "192.0.3.9", .want = BAN,
	 .key = "192.0.3.9"},
};

/* Two IPv6 addresses in one /64 are one key; the /64 is banned. */
static const struct step v6_same_64[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:2::a", .want = COUNTED,
	 .repeat = 3, .every = SEC, .host_step = 1},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 3, .addr = "2001:db8:1:2:ffff:ffff:ffff:ffff",
	 .want = COUNTED},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 4, .addr = "2001:db8:1:2::b", .want = BAN,
	 .key = "2001:db8:1:2::/64", .hosts = 5, .score = 5},
};

static const struct step v6_other_64[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:2::a", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:3::a", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:1::a", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 3 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db9:1:2::a", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 4 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:3::ffff", .want = BAN,
	 .key = "2001:db8:1:3::/64", .score = 5},
};

/* ipv6_prefix = 48: different /64s of one /48 count together. */
static const struct step v6_prefix_48[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:1:2::a", .want = COUNTED},
	{.t = SEC, .now = AT_EVENT, .kind = F, .host = 1, .addr = "2001:db8:1:3::a", .want = COUNTED},
	{.t = 2 * SEC, .now = AT_EVENT, .kind = F, .host = 2, .addr = "2001:db8:2::a", .want = COUNTED},
	{.t = 3 * SEC, .now = AT_EVENT, .kind = F, .host = 2, .addr = "2001:db8:1:ffff::1", .want = COUNTED},
	{.t = 4 * SEC, .now = AT_EVENT, .kind = F, .host = 3, .addr = "2001:db8:1::", .want = COUNTED},
	{.t = 5 * SEC, .now = AT_EVENT, .kind = F, .host = 4, .addr = "2001:db8:1:abcd:1:2:3:4", .want = BAN,
	 .key = "2001:db8:1::/48", .hosts = 5, .score = 5},
};

/* IPv4 is counted per address, whatever ipv6_prefix says. */
static const struct step v4_per_address[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.1", .want = COUNTED},
	{.t = SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.2", .want = COUNTED},
	{.t = 2 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.3", .want = COUNTED},
	{.t = 3 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.4", .want = COUNTED},
	{.t = 4 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.5", .want = COUNTED},
	{.t = 5 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.112.1", .want = COUNTED},
	{.t = 6 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "203.0.113.1", .want = COUNTED,
	 .repeat = 3, .every = SEC},
	/* IPv4-mapped IPv6 is the same IPv4 address */
	{.t = 10 * SEC, .now = AT_EVENT, .kind = F, .host = 1, .addr = "::ffff:203.0.113.1", .want = BAN,
	 .key = "203.0.113.1", .hosts = 2, .score = 5},
};

/* min_hosts = 2: one noisy agent alone never bans. */
static const struct step min_hosts_noisy[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.20", .want = COUNTED,
	 .repeat = 100, .every = SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 1, .addr = "198.51.100.20", .want = BAN,
	 .hosts = 2},
};

/* After a ban the key starts from zero. */
static const struct step ban_restarts[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.21", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 4 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.21", .want = BAN,
	 .score = 5},
	{.t = 5 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.21", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 9 * SEC, .now = AT_EVENT, .kind = F, .host = 0, .addr = "198.51.100.21", .want = BAN,
	 .score = 5},
};

/* Events as old as findtime, relative to now, are ignored. */
static const struct step too_old[] = {
	{.t = 0, .now = 20 * MIN, .kind = F, .host = 0, .addr = "198.51.100.22", .want = IGNORED},
	{.t = 10 * MIN, .now = 20 * MIN, .kind = F, .host = 0, .addr = "198.51.100.22", .want = IGNORED,
	 .repeat = 10},
	{.t = 10 * MIN + 1, .now = 20 * MIN, .kind = F, .host = 0, .addr = "198.51.100.22", .want = COUNTED,
	 .repeat = 4},
	{.t = 19 * MIN, .now = 20 * MIN, .kind = F, .host = 0, .addr = "198.51.100.22", .want = BAN,
	 .score = 5},
};

/* Reports arrive out of order: what counts is each event's own time. */
static const struct step out_of_order[] = {
	{.t = 9 * MIN, .now = 9 * MIN, .kind = F, .host = 0, .addr = "198.51.100.23", .want = COUNTED},
	{.t = 7 * MIN, .now = 9 * MIN, .kind = F, .host = 1, .addr = "198.51.100.23", .want = COUNTED},
	{.t = 5 * MIN, .now = 9 * MIN, .kind = F, .host = 2, .addr = "198.51.100.23", .want = COUNTED},
	{.t = 3 * MIN, .now = 9 * MIN, .kind = F, .host = 3, .addr = "198.51.100.23", .want = COUNTED},
	/* at 13m the 1m event is too old on arrival */
	{.t = 1 * MIN, .now = 13 * MIN, .kind = F, .host = 4, .addr = "198.51.100.23", .want = IGNORED},
	/* and the 3m one has left the window: 4, 5, 7, 9 remain */
	{.t = 4 * MIN, .now = 13 * MIN, .kind = F, .host = 4, .addr = "198.51.100.23", .want = COUNTED},
	{.t = 11 * MIN, .now = 13 * MIN, .kind = F, .host = 4, .addr = "198.51.100.23", .want = BAN,
	 .hosts = 4, .score = 5},
};

static const struct step bad_kind[] = {
	{.t = 0, .now = AT_EVENT, .kind = 0, .host = 0, .addr = "198.51.100.24", .want = IGNORED,
	 .repeat = 10},
	{.t = 0, .now = AT_EVENT, .kind = BC_POLICY_KINDS, .host = 0, .addr = "198.51.100.24",
	 .want = IGNORED, .repeat = 10},
	{.t = 0, .now = AT_EVENT, .kind = 255, .host = 0, .addr = "198.51.100.24", .want = IGNORED,
	 .repeat = 10},
};

/*
 * NAT64 (64:ff9b::/96): every address is one IPv4 host behind the
 * translator. Four events each from 192.0.2.7 and 192.0.2.8 through it
 * (one /64): no ban; the 5th of 192.0.2.7 bans 64:ff9b::c000:207 alone.
 */
static const struct step nat64_wkp[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "64:ff9b::c000:207", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "64:ff9b::c000:208", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "64:ff9b::c000:207", .want = BAN,
	 .key = "64:ff9b::c000:207", .score = 5},
	{.t = 3 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "64:ff9b::c000:208", .want = BAN,
	 .key = "64:ff9b::c000:208", .score = 5},
};

/* A site's NAT64 prefix (listed in the scenario): the same, per /128. */
static const struct step nat64_site[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:64::c000:207", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:64::c000:208", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 2 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:64::c000:207", .want = BAN,
	 .key = "2001:db8:64::c000:207", .score = 5},
	/* outside the listed /96, the /64 as usual */
	{.t = 3 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:65::1", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = 4 * MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:65::2", .want = BAN,
	 .key = "2001:db8:65::/64", .score = 5},
};

/* The same prefix not listed: counted per /64, the 5th event bans it. */
static const struct step nat64_site_unlisted[] = {
	{.t = 0, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:64::c000:207", .want = COUNTED,
	 .repeat = 4, .every = SEC},
	{.t = MIN, .now = AT_EVENT, .kind = F, .host = 0, .addr = "2001:db8:64::c000:208", .want = BAN,
	 .key = "2001:db8:64::/64", .score = 5},
};

static const struct scenario scenarios[] = {
	{.name = "5 hosts within 10m", ROWS(five_hosts_10m)},
	{.name = "5 hosts over 11m", ROWS(five_hosts_11m)},
	{.name = "5 hosts over exactly 10m", ROWS(five_hosts_exactly_10m)},
	{.name = "4 auth_fail + 1 sender_violation", ROWS(fails_and_sender)},
	{.name = "auth_abort weighs 0.5", ROWS(aborts_weigh_half)},
	{.name = "success keeps auth_fail", ROWS(success_keeps_fails)},
	{.name = "success resets auth_abort", ROWS(success_resets_aborts)},
	{.name = "late success", ROWS(late_success)},
	{.name = "success alone", ROWS(success_alone)},
	{.name = "allow list", .allow = "127.0.0.0/8, 192.0.2.0/24", ROWS(allowlisted)},
	{.name = "IPv6 one /64", ROWS(v6_same_64)},
	{.name = "IPv6 other /64", ROWS(v6_other_64)},
	{.name = "ipv6_prefix 48", .ipv6_prefix = 48, ROWS(v6_prefix_48)},
	{.name = "IPv4 per address", .ipv6_prefix = 16, ROWS(v4_per_address)},
	{.name = "min_hosts 2", .min_hosts = 2, ROWS(min_hosts_noisy)},
	{.name = "ban restarts the key", ROWS(ban_restarts)},
	{.name = "too old", ROWS(too_old)},
	{.name = "out of order", ROWS(out_of_order)},
	{.name = "bad kind", ROWS(bad_kind)},
	{.name = "NAT64 64:ff9b::/96 per /128", ROWS(nat64_wkp)},
	{.name = "NAT64 ipv6_prefix 48", .ipv6_prefix = 48, ROWS(nat64_wkp)},
	{.name = "site NAT64 prefix per /128", .nat64 = "2001:db8:64::/96", ROWS(nat64_site)},
	{.name = "site NAT64 prefix unlisted", ROWS(nat64_site_unlisted)},
};

static void run_scenario(const struct scenario *sc)
{
	struct bc_policy_cfg cfg;
	struct bc_addr_list allow = {0}, nat64 = {0};
	struct bc_policy *p;
	char err[ERRLEN];
	size_t s;

	bc_policy_cfg_defaults(&cfg);
	if (sc->maxretry > 0)
		cfg.maxretry = sc->maxretry;
	if (sc->min_hosts > 0)
		cfg.min_hosts = sc->min_hosts;
	if (sc->ipv6_prefix > 0)
		cfg.ipv6_prefix = sc->ipv6_prefix;
	if (sc->allow != NULL) {
		int rc = bc_addr_list_parse(&allow, sc->allow, err, sizeof(err));

		CHECK(rc == 0, "%s: allow list \"%s\" parses", sc->name, sc->allow);
		cfg.allow = &allow;
	}
	if (sc->nat64 != NULL) {
		int rc = bc_addr_list_parse(&nat64, sc->nat64, err, sizeof(err));

		CHECK(rc == 0, "%s: NAT64 list \"%s\" parses", sc->name, sc->nat64);
		cfg.nat64 = &nat64;
	}
	p = bc_policy_new(&cfg);
	CHECK(p != NULL, "%s: bc_policy_new", sc->name);
	if (p == NULL)
		return;
	for (s = 0; s < sc->nsteps; s++) {
		const struct step *st = &sc->steps[s];
		unsigned n = st->repeat ? st->repeat : 1, k, bad = 0;
		enum bc_policy_verdict got = BC_POLICY_COUNTED, first_bad = got;
		struct bc_policy_hit hit;

		for (k = 0; k < n; k++) {
			int64_t t = T0 + st->t + (int64_t)k * st->every;
			int64_t now = st->now == AT_EVENT ? t : T0 + st->now;
			uint16_t host = (uint16_t)(st->host + (st->host_step ? k : 0));

			got = feed(p, st->addr, st->kind, host, t, now, &hit);
			if (got != st->want && bad++ == 0)
				first_bad = got;
		}
		CHECK(bad == 0, "%s: row %zu: %u x kind %u from %s -> %s (%u wrong, first %s)",
		      sc->name, s, n, (unsigned)st->kind, st->addr,
		      verdict_name(st->want), bad, verdict_name(first_bad));
		if (st->want == BC_POLICY_BAN && got == BC_POLICY_BAN) {
			char kb[BC_ADDR_STRLEN];
			const char *want_key = st->key ? st->key : st->addr;
			struct bc_addr wk = addr(want_key);

			CHECK(bc_addr_equal(&hit.key, &wk),
			      "%s: row %zu: hit.key %s == %s", sc->name, s,
			      fmt(&hit.key, kb, sizeof(kb)), want_key);
			if (st->hosts)
				CHECK(hit.hosts == st->hosts,
				      "%s: row %zu: hit.hosts %u == %u", sc->name,
				      s, hit.hosts, st->hosts);
			if (st->score > 0)
				CHECK(fabs(hit.score - st->score) < 1e-9,
				      "%s: row %zu: hit.score %g == %g", sc->name,
				      s, hit.score, st->score);
		}
	}
	bc_policy_free(&p);
	CHECK(p == NULL, "%s: bc_policy_free sets NULL", sc->name);
	bc_addr_list_free(&allow);
	bc_addr_list_free(&nat64);
}

static void test_scenarios(void)
{
	size_t i;

	for (i = 0; i < NELEM(scenarios); i++)
		run_scenario(&scenarios[i]);
}

/* The hit of a ban describes the window that fired. */
static void test_hit_window(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit;
	static const struct {
		int64_t t;
		uint8_t kind;
		uint16_t host;
	} ev[] = {
		{4 * MIN, AB, 7}, {2 * MIN, F, 3}, {6 * MIN, AB, 3},
		{1 * MIN, SV, 9}, {3 * MIN, AB, 7}, {5 * MIN, F, 3},
		{2 * MIN, SV, 7},
	};
	enum bc_policy_verdict v = BC_POLICY_COUNTED;
	size_t i;

	bc_policy_cfg_defaults(&cfg);
	p = bc_policy_new(&cfg);
	for (i = 0; i < NELEM(ev); i++)
		v = feed(p, "198.51.100.30", ev[i].kind, ev[i].host,
			 T0 + ev[i].t, T0 + 7 * MIN, &hit);
	/* 2 F + 2 SV + 3 A = 5.5, reaching 5 only on the last one */
	CHECK(v == BC_POLICY_BAN, "hit: 7 mixed events ban (%s)", verdict_name(v));
	CHECK(fabs(hit.score - 5.5) < 1e-9, "hit: score %g == 5.5", hit.score);
	CHECK(hit.hosts == 3, "hit: hosts %u == 3", hit.hosts);
	CHECK(hit.counts[F] == 2 && hit.counts[SV] == 2 && hit.counts[AB] == 3 &&
		      hit.counts[OK] == 0 && hit.counts[0] == 0,
	      "hit: counts %u/%u/%u/%u", hit.counts[F], hit.counts[SV],
	      hit.counts[AB], hit.counts[OK]);
	CHECK(hit.first_ms == T0 + 1 * MIN, "hit: first_ms = oldest event time");
	CHECK(hit.last_ms == T0 + 6 * MIN, "hit: last_ms = newest event time");
	bc_policy_free(&p);
}

/* Peek shows the current window without counting; forget drops a key. */
static void test_peek_forget(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit;
	struct bc_policy_stats st;
	struct bc_addr a = addr("198.51.100.40");
	struct bc_addr v6 = addr("2001:db8:5:6::1");
	struct bc_addr v6b = addr("2001:db8:5:6::2");
	struct bc_addr v6other = addr("2001:db8:5:7::1");
	struct bc_addr k64 = addr("2001:db8:5:6::/64");
	bool found;
	int i;

	bc_policy_cfg_defaults(&cfg);
	p = bc_policy_new(&cfg);

	memset(&hit, 0xa5, sizeof(hit));
	CHECK(!bc_policy_peek(p, &a, T0, &hit), "peek: unknown address -> false");

	feed(p, "198.51.100.40", F, 0, T0, T0, &hit);
	feed(p, "198.51.100.40", AB, 1, T0 + MIN, T0 + MIN, &hit);
	feed(p, "198.51.100.40", F, 2, T0 + 2 * MIN, T0 + 2 * MIN, &hit);
	memset(&hit, 0, sizeof(hit));
	found = bc_policy_peek(p, &a, T0 + 3 * MIN, &hit);
	CHECK(found, "peek: tracked address -> true");
	CHECK(fabs(hit.score - 2.5) < 1e-9 && hit.hosts == 3 &&
		      hit.counts[F] == 2 && hit.counts[AB] == 1,
	      "peek: score %g hosts %u (want 2.5, 3)", hit.score, hit.hosts);
	CHECK(bc_addr_equal(&hit.key, &a), "peek: key is the address");

	/* peeking does not count: 2 more fails still stay below 5 */
	for (i = 0; i < 10; i++)
		bc_policy_peek(p, &a, T0 + 3 * MIN, &hit);
	CHECK(feed(p, "198.51.100.40", F, 0, T0 + 4 * MIN, T0 + 4 * MIN, &hit) ==
		      BC_POLICY_COUNTED,
	      "peek: peeking adds nothing (3.5 after one more fail)");

	/* as the clock moves the window drains */
	found = bc_policy_peek(p, &a, T0 + 11 * MIN + 30 * SEC, &hit);
	CHECK(found && fabs(hit.score - 2.0) < 1e-9 && hit.counts[AB] == 0,
	      "peek: at 11m30s the 0m and 1m events have left (score %g)",
	      hit.score);
	found = bc_policy_peek(p, &a, T0 + 30 * MIN, &hit);
	CHECK(!found || (hit.score == 0 && hit.hosts == 0),
	      "peek: after findtime the window is empty (score %g)", hit.score);

	/* forget: the key is gone, counting starts from zero */
	feed(p, "198.51.100.40", F, 0, T0 + 30 * MIN, T0 + 30 * MIN, &hit);
	feed(p, "198.51.100.40", F, 0, T0 + 30 * MIN, T0 + 30 * MIN, &hit);
	feed(p, "198.51.100.40", F, 0, T0 + 30 * MIN, T0 + 30 * MIN, &hit);
	feed(p, "198.51.100.40", F, 0, T0 + 30 * MIN, T0 + 30 * MIN, &hit);
	bc_policy_stats(p, &st);
	CHECK(st.tracked == 1, "forget: 1 tracked before (%zu)", st.tracked);
	bc_policy_forget(p, &a);
	bc_policy_stats(p, &st);
	CHECK(st.tracked == 0, "forget: 0 tracked after (%zu)", st.tracked);
	CHECK(!bc_policy_peek(p, &a, T0 + 30 * MIN, &hit), "forget: peek -> false");
	CHECK(feed(p, "198.51.100.40", F, 0, T0 + 31 * MIN, T0 + 31 * MIN, &hit) ==
		      BC_POLICY_COUNTED,
	      "forget: the 5th fail after forget only counts");
	bc_policy_forget(p, &a);
	bc_policy_forget(p, &a); /* twice: no-op */
	bc_policy_forget(p, &v6other); /* never tracked: no-op */
	bc_policy_stats(p, &st);
	CHECK(st.tracked == 0, "forget: forgetting twice or unknown is harmless");

	/* IPv6: peek and forget by any address of the /64 */
	feed(p, "2001:db8:5:6::1", F, 0, T0, T0, &hit);
	feed(p, "2001:db8:5:6::2", F, 1, T0, T0, &hit);
	found = bc_policy_peek(p, &v6b, T0, &hit);
	CHECK(found && bc_addr_equal(&hit.key, &k64) && hit.counts[F] == 2,
	      "peek: IPv6 by a sibling address shows the /64 (2 fails)");
	CHECK(!bc_policy_peek(p, &v6other, T0, &hit), "peek: the next /64 is not tracked");
	bc_policy_forget(p, &v6);
	CHECK(!bc_policy_peek(p, &v6b, T0, &hit), "forget: IPv6 forgets the whole /64");

	/* a ban removes the key */
	for (i = 0; i < 5; i++)
		feed(p, "198.51.100.41", F, 0, T0 + i, T0 + i, &hit);
	{
		struct bc_addr b = addr("198.51.100.41");

		CHECK(!bc_policy_peek(p, &b, T0 + 5, &hit), "peek: banned key is not tracked");
	}
	bc_policy_stats(p, &st);
	CHECK(st.bans == 1, "stats: bans == 1 (%llu)", (unsigned long long)st.bans);
	bc_policy_free(&p);
}

/* max_tracked bounds the table; the coldest go first, counted. */
static void test_max_tracked(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_stats st;
	struct bc_policy_hit hit;
	size_t most = 0;
	unsigned i, wrong = 0;
	char a[BC_ADDR_STRLEN];
	struct bc_addr last;

	bc_policy_cfg_defaults(&cfg);
	cfg.max_tracked = 100;
	p = bc_policy_new(&cfg);
	for (i = 0; i < 10000; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		if (feed(p, a, F, (uint16_t)(i % 5), T0 + i, T0 + i, &hit) !=
		    BC_POLICY_COUNTED)
			wrong++;
		bc_policy_stats(p, &st);
		if (st.tracked > most)
			most = st.tracked;
	}
	bc_policy_stats(p, &st);
	CHECK(wrong == 0, "max_tracked: 10000 first events all counted (%u not)", wrong);
	CHECK(most <= 100, "max_tracked: never more than 100 tracked (max %zu)", most);
	CHECK(st.tracked == 100, "max_tracked: table full at 100 (%zu)", st.tracked);
	CHECK(st.evicted == 9900, "max_tracked: 9900 evicted (%llu)",
	      (unsigned long long)st.evicted);
	CHECK(st.events == 10000, "max_tracked: 10000 events seen (%llu)",
	      (unsigned long long)st.events);
	last = addr(a);
	CHECK(bc_policy_peek(p, &last, T0 + 10000, &hit), "max_tracked: newest key is tracked");

	/* the table keeps working: an address can still be banned */
	for (i = 0; i < 4; i++)
		feed(p, "198.51.100.50", F, 0, T0 + 20000 + i, T0 + 20000 + i, &hit);
	CHECK(feed(p, "198.51.100.50", F, 0, T0 + 20010, T0 + 20010, &hit) ==
		      BC_POLICY_BAN,
	      "max_tracked: a full table still bans");
	bc_policy_stats(p, &st);
	CHECK(st.tracked <= 100, "max_tracked: still <= 100 after the ban (%zu)", st.tracked);

	/* IPv6: 10000 distinct /64s, same bound */
	for (i = 0; i < 10000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::1", i >> 8, i & 255);
		feed(p, a, AB, 0, T0 + 30000 + i, T0 + 30000 + i, &hit);
	}
	bc_policy_stats(p, &st);
	CHECK(st.tracked <= 100, "max_tracked: IPv6 keys bounded too (%zu)", st.tracked);
	bc_policy_free(&p);
}

/*
 * The bucket array grows with the keys (1,024 buckets first, doubling up
 * to what max_tracked calls for): every key keeps its window through the
 * splits, a table grown to its full size still evicts at max_tracked,
 * and a sweep still visits every bucket.
 */
static void test_grow(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_stats st;
	struct bc_policy_hit hit;
	unsigned i, k, wrong = 0, banned = 0;
	size_t gone = 0, calls;
	char a[BC_ADDR_STRLEN];

	bc_policy_cfg_defaults(&cfg);
	cfg.max_tracked = 1u << 20;
	p = bc_policy_new(&cfg);
	/* 4 events for each of 40,000 keys (v4 and v6), interleaved so
	 * every key lives through the splits from 1,024 to 65,536 buckets */
	for (k = 0; k < 4; k++)
		for (i = 0; i < 40000; i++) {
			if (i & 1)
				snprintf(a, sizeof(a), "2001:db8:%x::%x", i, k);
			else
				snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16,
					 (i >> 8) & 255, i & 255);
			if (feed(p, a, F, 0, T0 + k * SEC, T0 + k * SEC, &hit) !=
			    COUNTED || fabs(hit.score - (k + 1)) > 1e-9)
				wrong++;
		}
	bc_policy_stats(p, &st);
	CHECK(wrong == 0 && st.tracked == 40000,
	      "grow: 40000 keys counted through the splits (%u wrong, %zu "
	      "tracked)", wrong, st.tracked);
	for (i = 0; i < 40000; i++) {
		if (i & 1)
			snprintf(a, sizeof(a), "2001:db8:%x::ff", i);
		else
			snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16,
				 (i >> 8) & 255, i & 255);
		if (feed(p, a, F, 0, T0 + 5 * SEC, T0 + 5 * SEC, &hit) == BAN)
			banned++;
	}
	bc_policy_stats(p, &st);
	CHECK(banned == 40000 && st.tracked == 0,
	      "grow: each key's 5th event bans it (%u bans, %zu left)", banned,
	      st.tracked);
	bc_policy_free(&p);

	/* max_tracked 3000: grown to 4,096 buckets before it is full */
	cfg.max_tracked = 3000;
	p = bc_policy_new(&cfg);
	for (i = 0; i < 10000; i++) {
		snprintf(a, sizeof(a), "10.1.%u.%u", i >> 8, i & 255);
		feed(p, a, F, 0, T0 + i, T0 + i, &hit);
	}
	bc_policy_stats(p, &st);
	CHECK(st.tracked == 3000 && st.evicted == 7000,
	      "grow: a grown table evicts at max_tracked (%zu tracked, %llu "
	      "evicted)", st.tracked, (unsigned long long)st.evicted);
	for (calls = 0; calls < 100000 && gone < 3000; calls++)
		gone += bc_policy_sweep(p, T0 + 20 * MIN, 5);
	CHECK(gone == 3000, "grow: the sweep reaches every bucket of a grown "
			    "table (%zu forgotten)", gone);
	bc_policy_free(&p);
}

/* A reload keeps the counts and applies the new thresholds. */
static void test_reload(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit;
	enum bc_policy_verdict v;
	int i;

	bc_policy_cfg_defaults(&cfg);
	p = bc_policy_new(&cfg);
	for (i = 0; i < 3; i++)
		feed(p, "198.51.100.60", F, 0, T0 + i, T0 + i, &hit);
	cfg.maxretry = 4;
	bc_policy_set_cfg(p, &cfg);
	v = feed(p, "198.51.100.60", F, 0, T0 + 10, T0 + 10, &hit);
	CHECK(v == BC_POLICY_BAN, "reload: 3 kept + 1 reaches the new maxretry 4 (%s)",
	      verdict_name(v));

	/* weight 0 after reload: the kind is ignored */
	cfg.weight[AB] = 0;
	bc_policy_set_cfg(p, &cfg);
	for (i = 0; i < 20; i++) {
		v = feed(p, "198.51.100.61", AB, 0, T0 + i, T0 + i, &hit);
		if (v != BC_POLICY_IGNORED)
			break;
	}
	CHECK(i == 20, "reload: weight 0 -> 20 aborts ignored");
	bc_policy_free(&p);
}

struct bantime_case {
	int64_t bantime, max;
	double factor;
	unsigned offences;
	int64_t want;
};

static void test_bantime(void)
{
	static const struct bantime_case c[] = {
		/* 3h, factor 2, max 24h: 3, 6, 12, 24, 24, 24 */
		{3 * 3600, 24 * 3600, 2, 0, 3 * 3600},
		{3 * 3600, 24 * 3600, 2, 1, 6 * 3600},
		{3 * 3600, 24 * 3600, 2, 2, 12 * 3600},
		{3 * 3600, 24 * 3600, 2, 3, 24 * 3600},
		{3 * 3600, 24 * 3600, 2, 4, 24 * 3600},
		{3 * 3600, 24 * 3600, 2, 5, 24 * 3600},
		{3 * 3600, 24 * 3600, 2, 64, 24 * 3600},
		{3 * 3600, 24 * 3600, 2, 1100, 24 * 3600}, /* 2^1100 overflows a double */
		{3 * 3600, 24 * 3600, 2, UINT_MAX, 24 * 3600},
		/* factor 1: constant */
		{3 * 3600, 24 * 3600, 1, 0, 3 * 3600},
		{3 * 3600, 24 * 3600, 1, 1, 3 * 3600},
		{3 * 3600, 24 * 3600, 1, 5, 3 * 3600},
		{3 * 3600, 24 * 3600, 1, 1000, 3 * 3600},
		{3 * 3600, 3 * 3600, 2, UINT_MAX, 3 * 3600},
		/* not a multiple: capped, not rounded to a power */
		{1000, 5000, 3, 1, 3000},
		{1000, 5000, 3, 2, 5000},
		/* the config bounds: factor 100, a year */
		{1, 365 * 86400, 100, 3, 1000000},
		{1, 365 * 86400, 100, 4, 365 * 86400},
		{365 * 86400, 365 * 86400, 100, UINT_MAX, 365 * 86400},
		{1, 365 * 86400, 100, UINT_MAX, 365 * 86400},
		/* fractional factor */
		{3600, 86400, 1.5, 2, 8100},
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		int64_t got = bc_policy_bantime(c[i].bantime, c[i].factor,
						c[i].max, c[i].offences);

		CHECK(got == c[i].want,
		      "bantime(%lld, %g, %lld, %u) = %lld (want %lld)",
		      (long long)c[i].bantime, c[i].factor, (long long)c[i].max,
		      c[i].offences, (long long)got, (long long)c[i].want);
	}
}

/* An address whose window emptied leaves the table at the sweep; one
 * with an event inside the window stays and keeps counting. */
static void test_sweep(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit;
	struct bc_policy_stats st;
	struct bc_addr old = addr("198.51.100.50");
	size_t gone = 0, calls;
	int i;
	char a[64];

	bc_policy_cfg_defaults(&cfg);
	p = bc_policy_new(&cfg);
	for (i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "198.51.%d.%d", 101 + i / 250, i % 250);
		feed(p, a, F, 0, T0, T0, &hit);
	}
	feed(p, "198.51.100.50", F, 0, T0, T0, &hit);
	feed(p, "198.51.100.51", F, 0, T0, T0, &hit);
	feed(p, "198.51.100.51", F, 1, T0 + 9 * MIN, T0 + 9 * MIN, &hit);
	bc_policy_stats(p, &st);
	CHECK(st.tracked == 302, "sweep: 302 addresses tracked before (%zu)",
	      st.tracked);

	CHECK(bc_policy_sweep(p, T0 + 9 * MIN, 1u << 20) == 0,
	      "sweep: nothing leaves while every window holds an event");
	/* at T0 + 10 min the events of T0 are findtime old: out */
	for (calls = 0; calls < 1u << 20 && gone < 301; calls++)
		gone += bc_policy_sweep(p, T0 + 10 * MIN, 7);
	bc_policy_stats(p, &st);
	CHECK(gone == 301 && st.tracked == 1,
	      "sweep: 301 emptied windows forgotten in steps of 7 buckets, 1 left "
	      "(%zu gone, %zu tracked)", gone, st.tracked);
	CHECK(!bc_policy_peek(p, &old, T0 + 10 * MIN, &hit),
	      "sweep: a forgotten address is unknown to peek");
	CHECK(feed(p, "198.51.100.51", F, 2, T0 + 10 * MIN, T0 + 10 * MIN, &hit) ==
			      COUNTED &&
		      fabs(hit.score - 2.0) < 1e-9,
	      "sweep: the address with a recent event kept its window (score "
	      "%g, want 2)", hit.score);
	CHECK(bc_policy_sweep(p, T0 + 10 * MIN, 1u << 20) == 0,
	      "sweep: a second pass finds nothing more");
	bc_policy_free(&p);
}

/*
 * The table's entries live in chunks, named by index: freed entries are
 * reused, a table emptied by the sweep gives its chunks back and fills
 * again, and rings that outgrow the entry keep every event. Three rounds
 * of 5,000 keys with 1..7 events each, a third forgotten, the rest swept;
 * every score checked against the count kept here.
 */
static void test_reuse(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit;
	struct bc_policy_stats st;
	unsigned round, i, j, wrong = 0, wrong_peek = 0, gone_bad = 0;
	char a[64];

	bc_policy_cfg_defaults(&cfg);
	cfg.maxretry = 1000;
	p = bc_policy_new(&cfg);
	for (round = 0; round < 3; round++) {
		int64_t t = T0 + (int64_t)round * HOUR;
		size_t swept = 0;

		for (j = 0; j < 7; j++)
			for (i = 0; i < 5000; i++) {
				if (j > i % 7)
					continue;
				snprintf(a, sizeof(a), "10.%u.%u.%u", round, i / 256, i % 256);
				if (feed(p, a, F, (uint16_t)j, t + j * SEC, t + j * SEC, &hit) !=
					    COUNTED ||
				    fabs(hit.score - (double)(j + 1)) > 1e-9)
					wrong++;
			}
		for (i = 0; i < 5000; i += 3) {
			struct bc_addr k;

			snprintf(a, sizeof(a), "10.%u.%u.%u", round, i / 256, i % 256);
			k = addr(a);
			bc_policy_forget(p, &k);
			if (bc_policy_peek(p, &k, t + 7 * SEC, &hit))
				gone_bad++;
		}
		for (i = 1; i < 5000; i++) {
			struct bc_addr k;

			if (i % 3 == 0)
				continue;
			snprintf(a, sizeof(a), "10.%u.%u.%u", round, i / 256, i % 256);
			k = addr(a);
			if (!bc_policy_peek(p, &k, t + 7 * SEC, &hit) ||
			    fabs(hit.score - (double)(i % 7 + 1)) > 1e-9 ||
			    hit.hosts != i % 7 + 1)
				wrong_peek++;
		}
		bc_policy_stats(p, &st);
		CHECK(st.tracked == 5000 - 1667, "reuse round %u: 3333 keys tracked "
		      "after a third was forgotten (%zu)", round, st.tracked);
		swept = bc_policy_sweep(p, t + 11 * MIN, 1u << 24);
		bc_policy_stats(p, &st);
		CHECK(swept == 3333 && st.tracked == 0,
		      "reuse round %u: the sweep empties the table (%zu swept, %zu "
		      "left)", round, swept, st.tracked);
	}
	CHECK(wrong == 0, "reuse: every event counted with its key's window "
	      "(%u wrong)", wrong);
	CHECK(gone_bad == 0, "reuse: forgotten keys unknown (%u known)", gone_bad);
	CHECK(wrong_peek == 0, "reuse: the others keep score and hosts (%u wrong)",
	      wrong_peek);
	bc_policy_free(&p);
}

/*
 * The score of an event comes from per-kind counts kept as the ring
 * changes (expiry, a success voiding aborts, a full ring, growth out of
 * the entry), not from a walk of the ring: over a random stream of every
 * kind, out-of-order times and reloads that change the weights, each
 * counted event's score and counts equal a full walk's (peek) at the
 * same instant, and a ban still fires when the walk reaches maxretry.
 */
static void test_counts(void)
{
	struct bc_policy_cfg cfg;
	struct bc_policy *p;
	struct bc_policy_hit hit, full;
	uint64_t s = 0x243f6a8885a308d3ULL;
	unsigned i, k, wrong = 0, counted = 0, bans = 0, late_ban = 0;
	int64_t now = T0;
	char a[64];

	bc_policy_cfg_defaults(&cfg);
	cfg.maxretry = 40;
	cfg.weight[AB] = 0.3;
	p = bc_policy_new(&cfg);
	for (i = 0; i < 200000; i++) {
		enum bc_policy_verdict v;
		struct bc_addr key;
		uint8_t kind;
		int64_t t;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		kind = (uint8_t)(1 + s % 4);
		now += (int64_t)(s >> 8 & 1023);
		t = now - (int64_t)(s >> 20 & 0xffff) * 10; /* up to ~11 min late */
		snprintf(a, sizeof(a), "192.0.2.%u", (unsigned)(s >> 40 & 15));
		if (i % 25000 == 24999) { /* a reload: other weights */
			cfg.weight[F] = (i / 25000) % 3 == 0 ? 0 : 1.0 + (double)(i % 7) / 10;
			cfg.weight[SV] = (i / 25000) % 2 ? 0.5 : 2.0;
			bc_policy_set_cfg(p, &cfg);
		}
		v = feed(p, a, kind, (uint16_t)(s >> 32 & 7), t, now, &hit);
		if (v == BAN) {
			bans++;
			continue;
		}
		if (v != COUNTED || kind == OK)
			continue;
		counted++;
		key = addr(a);
		if (!bc_policy_peek(p, &key, now, &full)) {
			wrong++;
			continue;
		}
		if (fabs(full.score - hit.score) > 1e-9)
			wrong++;
		for (k = 0; k < BC_POLICY_KINDS; k++)
			if (full.counts[k] != hit.counts[k])
				wrong++;
		if (full.score + 1e-9 >= cfg.maxretry &&
		    full.hosts >= (cfg.min_hosts ? cfg.min_hosts : 1))
			late_ban++; /* the event should have banned */
	}
	CHECK(counted > 100000 && bans > 100,
	      "counts: a stream of %u counted events and %u bans", counted, bans);
	CHECK(wrong == 0, "counts: every counted event's score and counts equal "
	      "a walk of the ring (%u differ)", wrong);
	CHECK(late_ban == 0, "counts: no event left a key at maxretry unbanned "
	      "(%u)", late_ban);
	bc_policy_free(&p);

	/* a full ring (BC_POLICY_RING_MAX) forgets its oldest, counted out */
	bc_policy_cfg_defaults(&cfg);
	cfg.maxretry = 100000;
	p = bc_policy_new(&cfg);
	wrong = 0;
	for (i = 0; i < BC_POLICY_RING_MAX + 1000; i++) {
		struct bc_addr key = addr("198.51.100.1");

		feed(p, "198.51.100.1", i % 3 ? F : SV, 0, T0 + i, T0 + i, &hit);
		if (i % 97 == 0 || i + 1 == BC_POLICY_RING_MAX + 1000) {
			bc_policy_peek(p, &key, T0 + i, &full);
			if (fabs(full.score - hit.score) > 1e-9 ||
			    full.counts[F] != hit.counts[F] || full.counts[SV] != hit.counts[SV])
				wrong++;
		}
	}
	CHECK(wrong == 0 && hit.counts[F] + hit.counts[SV] == BC_POLICY_RING_MAX,
	      "counts: a full ring of %u events keeps its counts (%u differ)",
	      hit.counts[F] + hit.counts[SV], wrong);
	bc_policy_free(&p);
}

int main(void)
{
	test_scenarios();
	test_hit_window();
	test_peek_forget();
	test_max_tracked();
	test_grow();
	test_sweep();
	test_reuse();
	test_counts();
	test_reload();
	test_bantime();
	return tap_done();
}
