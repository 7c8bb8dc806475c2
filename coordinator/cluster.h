/*
 * cluster.h - cluster mode (docs/ha.md): several coordinators on etcd.
 * Off unless coordinator.ini has [cluster] etcd; then, on every
 * coordinator of the cluster:
 *
 *   intake     the events of every report are written to etcd (one put
 *              per ROUTER drain, on a lease that outlives findtime)
 *              before the report is acked;
 *   counting   every coordinator counts every event of the cluster, from
 *              one watch of the cluster's prefix, in etcd's revision
 *              order (so a new leader's windows hold every acked event);
 *   deciding   one leader (an etcd lease holding PREFIX/leader) commits
 *              rule bans and expiries; admins' bans and unbans commit
 *              through any coordinator. A decision is an etcd txn that
 *              takes the next number of PREFIX/seq (compare and set) and,
 *              for the leader's, holds only while PREFIX/leader still
 *              has its lease: a paused or cut-off leader cannot write;
 *   applying   every coordinator applies the decisions from its watch,
 *              in seq order: store (a mirror, plus its own evidence),
 *              ban table, PUB with the cluster's epoch and that seq. So
 *              every coordinator publishes the identical Clone stream.
 *
 * Keys under PREFIX = "/bancluster/CLUSTER/": epoch, seq, leader,
 * n/NODE (a coordinator's registration, on its lease), d/ADDR/PLEN (the
 * last decision on that address, JSON), al/ADDR/PLEN (the last change
 * of `bancluster allow` on that prefix, JSON), lift/AGENT/ADDR/PLEN (an
 * admin's lift of a local ban, JSON, on a lease), ev/NODE/COUNTER (events, binary,
 * on a lease). Everything here runs on the loop's thread except the
 * session and watch threads of cluster.c, which own their own etcd
 * clients.
 */
#ifndef BC_COORD_CLUSTER_H
#define BC_COORD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/coord.h"

/* [cluster] as start and --check-config check it, connecting to nothing:
 * the URLs parse, the certificate, key and CA files are readable. */
int bc_cluster_check(const struct bc_coord_cfg *cfg, const char *cfgpath,
		     char *err, size_t errlen);

/* Connect, read the cluster's state (epoch, seq, bans, events) into c,
 * start the session and watch threads. Fatal errors come back as -1. */
int bc_cluster_start(struct bc_coord *c, char *err, size_t errlen);
void bc_cluster_stop(struct bc_coord *c);

/* --cluster-import (cluster_import.c): the store's active bans and
 * offence history into etcd; the exit code (prints one line). */
int bc_cluster_import(const char *cfgpath);

/* The socket the loop polls (ZMQ_POLLIN: watched changes to apply). */
void *bc_cluster_socket(struct bc_coord *c);
/* readable when the leader's decision txn is answered (poll it beside
 * the socket) */
int bc_cluster_fd(struct bc_coord *c);
/* Apply what the watch delivered (at most CL_DRAIN_MAX changes: the loop
 * serves agents between), then commit queued decisions (leader). */
void bc_cluster_drain(struct bc_coord *c);
/* Every loop turn: a coordinator that just became leader commits what
 * it kept pending, without waiting for the next change or tick. */
void bc_cluster_turn(struct bc_coord *c);
/* Work left for the next turn at once (the leader's queue, a watch
 * backlog): the loop then does not sleep. */
bool bc_cluster_busy(struct bc_coord *c);
/* Once a second: expiry (leader), pending decisions, metrics. */
void bc_cluster_tick(struct bc_coord *c, int64_t now);

/* ---- intake (intake.c) ---------------------------------------------- */

/* One event of report report_id of agent `agent` (index in c->ring),
 * stored as row. */
void bc_cluster_event(struct bc_coord *c, size_t agent, int64_t recv_ms,
		      int64_t row, uint64_t report_id,
		      const struct bc_policy_event *pe);
/* Report id of agent `agent` is in the batch; prev: its last_report
 * before. */
void bc_cluster_report(struct bc_coord *c, size_t agent, uint64_t prev,
		       uint64_t id);
/* Write the drain's batch to etcd (cluster_events.c). 0: done (send the
 * acks); 1: handed to the putter thread with c->acks when acks_ok (they
 * go out once it landed; c->nacks is 0); -1: not written, the agents'
 * last_report put back (they resend, and are counted then). */
int bc_cluster_flush_events(struct bc_coord *c, bool acks_ok);
/* Report id of agent `agent` is in a batch on its way to etcd: a resend
 * of it gets no ack yet. */
bool bc_cluster_unlanded(const struct bc_coord *c, size_t agent, uint64_t id);
/* readable when the batch in flight landed or failed: then call
 * bc_cluster_events_done (its acks go out) */
int bc_cluster_events_fd(struct bc_coord *c);
void bc_cluster_events_done(struct bc_coord *c);
/* Wait for the batch in flight and take its answer (before the key ring
 * and the agents' state change places). Nothing outside cluster mode. */
void bc_cluster_events_settle(struct bc_coord *c);

/* ---- decisions (decide.c) ------------------------------------------- */

/* A manual ban / an unban or expiry through etcd; returns once this
 * coordinator applied it (or -1 + err: not committed, or unknown). */
int bc_cluster_ban(struct bc_coord *c, const struct bc_store_ban *sb,
		   const char *signer, char *err, size_t errlen);
int bc_cluster_unban(struct bc_coord *c, const struct bc_ban *b,
		     const char *action, const char *signer, char *err,
		     size_t errlen);
/* A change of the allow list through etcd: action "allow" (e added or
 * replaced) or "allow-remove", signer the admin; returns once this
 * coordinator applied it (every coordinator applies it from its watch:
 * store, list, a sequenced Update), or -1 + err. */
int bc_cluster_allow(struct bc_coord *c, const struct bc_allow *e,
		     const char *action, const char *signer, char *err,
		     size_t errlen);
/* The policy's ban (sb with its evidence ev[0..n), copied): the leader
 * queues it for the next batched commit; a follower keeps it pending
 * until the leader's decision on that key arrives (or it leads). */
void bc_cluster_rule_ban(struct bc_coord *c, const struct bc_store_ban *sb,
			 const struct bc_store_event *ev, size_t n);
/* A rule ban of key a is queued, pending or committed and not yet
 * applied: bc_cluster_rule_ban would drop another. */
bool bc_cluster_deciding(const struct bc_coord *c, const struct bc_addr *a);
bool bc_cluster_on(const struct bc_coord *c);

/* An admin's lift of agent's local ban on a (created_ms: that ban's)
 * into etcd (PREFIX/lift/AGENT/ADDR/PLEN, on a one-hour lease): every
 * coordinator keeps it pending and sends it to the agent, so the lift is
 * made even if this one stops first. A failure is logged: the lift stays
 * with this coordinator alone. */
void bc_cluster_lift(struct bc_coord *c, const char *agent,
		     const struct bc_addr *a, int64_t created_ms, const char *admin);

/* An enrolment into etcd (PREFIX/k/ROLE/NAME: pk in base64, or "-"
 * when pk is NULL: removed), for every coordinator to apply. 0, or -1
 * with a one-line reason (etcd unreachable: nothing changed). */
int bc_cluster_enrol(struct bc_coord *c, const char *role, const char *name,
		     const uint8_t *pk, char *err, size_t errlen);
/* This coordinator holds the leader's lease (as its session thread last
 * saw; the fence decides). */
bool bc_cluster_leading(struct bc_coord *c);

/* ---- status --------------------------------------------------------- */

struct bc_arena;
/* Fill the reply's ClusterStatus (allocated in ar). */
void bc_cluster_status(struct bc_coord *c, struct bc_arena *ar,
		       Bancluster__AdminReply *r);
/* metrics: leader 0/1, etcd reachable 0/1, pending, commits, failures */
struct bc_cluster_metrics {
	bool leader, etcd_ok;
	uint64_t pending, commits, commit_failures, lease_failures, fenced,
		event_puts, event_put_failures, applied, malformed,
		duplicate_reports;
	int64_t revision;
};
void bc_cluster_metrics(struct bc_coord *c, struct bc_cluster_metrics *m);

#endif
