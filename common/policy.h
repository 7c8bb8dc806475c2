/*
 * policy.h - counting attack events per address and deciding bans.
 *
 * Used by the coordinator (fleet policy: events from every host) and by
 * the agent (local policy: its own events when alone), and by `replay`.
 * Events are counted per counting key: the IPv4 address, or the IPv6
 * /ipv6_prefix; a NAT64 address (64:ff9b::/96 or a prefix of cfg.nat64)
 * stands for one IPv4 host and is its own key, the /128. An event kind has a weight; the weighted sum of the
 * events of one key within findtime reaching maxretry, from at least
 * min_hosts distinct hosts, is a ban. A successful login voids the
 * auth_abort events of its key that came before it (a phone with a flaky
 * link is not a bot), never its auth_fail events. Memory is bounded:
 * at most max_tracked keys (the coldest of a sample is evicted, counted)
 * and at most BC_POLICY_RING_MAX events per key.
 *
 * All times are passed in (virtual clock), so tests drive the policy
 * directly. Nothing here prints or allocates per event beyond the table.
 * Events come from parsers and verified reports: a kind outside the table
 * is IGNORED, as is an event that out of memory leaves no room for;
 * bc_policy_new returns NULL on out of memory.
 */
#ifndef BC_POLICY_H
#define BC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/event.h"

#define BC_POLICY_KINDS BC_KINDS /* index by enum bc_kind (common/event.h) */
#define BC_POLICY_RING_MAX 4096  /* events remembered per key */
#define BC_POLICY_EVENTS_MAX (BC_POLICY_RING_MAX - 8) /* maxretry / weight */
#define BC_POLICY_EVICT_SAMPLE 16
#define BC_POLICY_HIT_REFS 32    /* newest event refs handed out in a hit */

struct bc_policy_cfg {
	double maxretry;
	int64_t findtime_ms;
	double weight[BC_POLICY_KINDS]; /* by kind; 0 = not counted */
	unsigned min_hosts;
	unsigned ipv6_prefix;
	size_t max_tracked;
	const struct bc_addr_list *allow; /* may be NULL */
	const struct bc_addr_list *nat64; /* site NAT64 prefixes, may be NULL */
};

struct bc_policy_event {
	int64_t time_ms;
	uint8_t kind;     /* enum bc_kind */
	uint16_t host;    /* reporting host index */
	struct bc_addr addr;
	uint64_t ref;     /* caller's handle on the event (evidence) */
};

enum bc_policy_verdict {
	BC_POLICY_COUNTED,  /* counted, below the threshold */
	BC_POLICY_BAN,      /* threshold reached: ban hit->key */
	BC_POLICY_ALLOWED,  /* allow-listed: never counted toward a ban */
	BC_POLICY_IGNORED,  /* weight 0, or too old for the window */
};

struct bc_policy_hit {
	struct bc_addr key;          /* the address or prefix to ban */
	double score;
	unsigned hosts;
	unsigned counts[BC_POLICY_KINDS];
	int64_t first_ms, last_ms;
	uint64_t refs[BC_POLICY_HIT_REFS]; /* newest first */
	size_t nrefs;
};

struct bc_policy_stats {
	size_t tracked;
	uint64_t evicted;
	uint64_t events;
	uint64_t bans;
};

struct bc_policy;

/* Defaults: maxretry 5, findtime 10 min, the default weight of every
 * kind (bc_kinds, common/event.c), min_hosts 1, ipv6_prefix 64,
 * max_tracked 100000. */
void bc_policy_cfg_defaults(struct bc_policy_cfg *cfg);

struct bc_policy *bc_policy_new(const struct bc_policy_cfg *cfg);

/* Replace the configuration (reload); tracked counts are kept. */
void bc_policy_set_cfg(struct bc_policy *p, const struct bc_policy_cfg *cfg);

/*
 * The counting key of an address: IPv6 masked to ipv6_prefix, except a
 * NAT64 address (bc_addr_is_nat64 with cfg.nat64), which is kept whole.
 */
void bc_policy_key(const struct bc_policy *p, const struct bc_addr *a,
		   struct bc_addr *key);

/*
 * Count one event at now_ms. On BC_POLICY_BAN hit describes the window
 * that fired and the key's events are cleared (a new offence starts from
 * zero). Below maxretry hit holds the key, score and counts only (hosts,
 * times and refs are walked once the score reaches maxretry; peek walks
 * them always). hit may be NULL.
 */
enum bc_policy_verdict bc_policy_event(struct bc_policy *p,
				       const struct bc_policy_event *ev,
				       int64_t now_ms,
				       struct bc_policy_hit *hit);

/* Current window of a key (for `show`): false when not tracked. */
bool bc_policy_peek(struct bc_policy *p, const struct bc_addr *a,
		    int64_t now_ms, struct bc_policy_hit *hit);

/* Drop a key (it was banned by hand, or unbanned). */
void bc_policy_forget(struct bc_policy *p, const struct bc_addr *a);

void bc_policy_stats(const struct bc_policy *p, struct bc_policy_stats *out);

/*
 * Forget the addresses whose every event has left the window (their
 * newest event is findtime old): an entry otherwise stays until evicted,
 * holding memory after an attack is over. Visits the next `buckets`
 * buckets of the table (all of it in nbuckets/buckets calls, round
 * robin) so a caller spreads the cost over its ticks. Returns the
 * addresses forgotten.
 */
#define BC_POLICY_SWEEP 4096 /* buckets a daemon's one-second tick visits */
size_t bc_policy_sweep(struct bc_policy *p, int64_t now_ms, size_t buckets);

void bc_policy_free(struct bc_policy **p);

/*
 * Events of the lightest counted kind needed to reach maxretry; a
 * configuration above BC_POLICY_EVENTS_MAX could never ban and is
 * refused by the config loaders.
 */
double bc_policy_max_events(const struct bc_policy_cfg *cfg);

/*
 * Ban duration for an offender with `offences` earlier offences within
 * the recidive window: bantime * factor^offences, capped at max.
 */
int64_t bc_policy_bantime(int64_t bantime_s, double factor, int64_t max_s,
			  unsigned offences);

#endif
