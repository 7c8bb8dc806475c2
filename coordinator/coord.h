/*
 * coord.h - the coordinator's context: struct bc_coord (one per process,
 * made by main.c and passed to every module of coordinator/), the state
 * kept per trusted key (struct bc_agent_state, parallel to ring.v) and
 * the loop's timing constants.
 *
 * Everything here is owned by the loop's thread; no module keeps a
 * pointer into it beyond a call, except the hooks module's log callback
 * argument. The configuration's schema is conf/coordinator.h.
 */
#ifndef BC_COORD_H
#define BC_COORD_H

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "common/addr.h"
#include "common/allowlist.h"
#include "common/banmap.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/notify.h"
#include "common/policy.h"
#include "conf/coordinator.h"
#include "coordinator/digest.h"
#include "coordinator/hooks.h"
#include "coordinator/httpd.h"
#include "coordinator/store.h"
#include "proto/wire.h"

#define BC_COORD_TICK_MS 1000      /* hugz, expiry, liveness */
#define BC_COORD_AGENT_TTL_MS 5000 /* agent silent longer: offline */
#define BC_COORD_LOG_BURST 20      /* reject log lines per second */
#define BC_COORD_PRUNE_MS 60000    /* retention sweep interval */
#define BC_CHAN_REPORTS 3          /* store slot for report-id dedupe */
#define BC_COORD_METRICS_MS 10000  /* metrics_file rewritten this often */
#define BC_COORD_CLUSTER_TURN_MS 100 /* cluster mode: leadership looked at */
#define BC_COORD_BUMP_BYTES (2u << 20) /* a 5,000-event report unpacks in ~1.4 MB */

struct bc_coord_local; /* coordinator/localbans.c */
struct bc_cluster;     /* coordinator/cluster.c, NULL: one coordinator */
struct bc_evcache;     /* coordinator/evidence.c */

struct bc_agent_state {
	int64_t last_seen_ms;
	uint64_t epoch;
	uint64_t seq;
	uint64_t fleet_count;
	uint64_t counter_saved; /* last counter written to the store */
	bool counter_failing;   /* the last write of the counter failed */
	uint64_t last_report;   /* highest report id counted (resend dedupe) */
	uint64_t unlanded;      /* cluster: report id whose events are on their
				 * way to etcd (its ack waits), 0 none */
	uint64_t events;
	double tokens;          /* report rate limit: events allowed now */
	int64_t tokens_ms;
	uint64_t rate_dropped;
	/* last kernel read-back the agent reported (audit fleet) */
	bool hash_valid;
	uint8_t hash[16];
	int64_t hash_cutoff_ms;
	uint64_t hash_seq;
	uint64_t kernel_count;
	uint64_t repairs;
	/* versions (status): what its last message and heartbeat said */
	uint32_t wire;          /* envelope version of its last message */
	uint32_t wire_min, wire_max; /* range its heartbeat states; 0: none */
	char software[BC_WIRE_SOFTWARE_MAX + 1]; /* "" = not stated */
	bool versions_seen;     /* a heartbeat arrived since the start */
	struct bc_coord_local *local; /* its local bans (localbans.c), owned */
};

/* An ack held back until the group commit of its report (intake.c). */
#define BC_COORD_ACKS 256
struct bc_coord_ack {
	zmq_msg_t id;            /* the agent's ROUTER routing id */
	uint64_t report_id;
	uint32_t version;        /* envelope version to seal it with */
};

struct bc_coord {
	struct bc_coord_cfg cfg;
	struct bc_signer signer;
	struct bc_keyring ring; /* agents and admins */
	struct bc_agent_state *peer_state; /* parallel to ring.v */
	struct bc_store *store;
	struct bc_banmap bans;
	struct bc_allowlist allows; /* bancluster allow (coordinator/allow.c) */
	struct bc_policy *policy;
	int64_t next_prune;
	void *zctx, *router, *pub, *zap;
	uint64_t epoch, seq;
	uint32_t reply_version;  /* envelope version of the request being
				  * answered: replies are sealed with it */
	int64_t started_ms;
	int64_t next_tick;
	uint64_t rejected[BC_REJ_MAX];
	uint64_t reports, events;
	uint64_t events_kind[BC_KINDS]; /* by enum bc_kind (common/event.h) */
	uint64_t bans_manual, bans_rule, unbans, expiries;
	uint64_t counter_save_failures; /* replay counters the store refused */
	int64_t next_metrics;
	int log_budget;
	/* where a frame's payload is unpacked (intake.c): one block, taken
	 * back after each frame the loop handles (not a nested one) */
	struct bc_wire_bump bump;
	int frame_depth;
	struct bc_notify notify;
	struct bc_digest digest;
	struct bc_hooks *hooks;  /* on_ban, on_unban, webhook */
	struct bc_httpd *httpd;  /* metrics_listen, or NULL */
	/* reports of one ROUTER drain share one commit; their acks wait */
	struct bc_coord_ack acks[BC_COORD_ACKS];
	size_t nacks;
	uint64_t batches, batch_failures;
	struct bc_cluster *cluster; /* cluster mode (cluster.h), or NULL */
	struct bc_evcache *evcache; /* decoded reports (evidence.c), or NULL */
};

/* The index of p in c->ring.v, which is also its index in c->peer_state. */
static inline size_t bc_coord_peer_index(const struct bc_coord *c,
					 const struct bc_peer *p)
{
	return (size_t)(p - c->ring.v);
}

#endif
