/*
 * metrics.c - the coordinator's metrics in the Prometheus text format
 * (docs/metrics.md): bans, events by kind, reports, rejections, the
 * policy's table, each agent's liveness, lag, events and drops, hooks,
 * webhook and the HTTP listener. One text, written to metrics_file
 * (node_exporter's textfile collector: FILE.tmp renamed over FILE) every
 * BC_COORD_METRICS_MS and served on GET /metrics; GET /healthz answers
 * 200 while the store takes writes.
 *
 * Reads the context only. Label values are key names from the trusted
 * key directories and fixed names; common/metrics.c writes the text.
 */
#include <stdbool.h>
#include <stddef.h>

#include "common/clock.h"
#include "common/event.h"
#include "common/log.h"
#include "coordinator/cluster.h"
#include "coordinator/metrics.h"

/*
 * The coordinator's metrics, one text for metrics_file (node_exporter's
 * textfile collector) and GET /metrics: docs/metrics.md.
 */
void bc_coord_metrics_text(struct bc_coord *c, struct bc_metrics *m)
{
	static const char *hook_names[] = {"on_ban", "on_unban"};
	static const enum bc_hook_result hook_ends[] = {
		BC_HOOK_OK, BC_HOOK_FAILED, BC_HOOK_TIMEOUT, BC_HOOK_NOT_RUN,
		BC_HOOK_DROPPED};
	static const enum bc_webhook_result web_ends[] = {
		BC_WEBHOOK_DELIVERED, BC_WEBHOOK_FAILED, BC_WEBHOOK_DROPPED};
	struct bc_policy_stats ps;
	struct bc_hooks_stats hs;
	size_t i;
	int k;

	bc_metrics_help(m, "bancluster_coordinator_bans_active", "gauge", "Active bans.");
	bc_metrics_value(m, "bancluster_coordinator_bans_active", NULL, NULL, (double)c->bans.n);
	bc_metrics_help(m, "bancluster_coordinator_bans_added_total", "counter", "Bans decided since start, by origin.");
	bc_metrics_value(m, "bancluster_coordinator_bans_added_total", "origin", "manual", (double)c->bans_manual);
	bc_metrics_value(m, "bancluster_coordinator_bans_added_total", "origin", "rule", (double)c->bans_rule);
	bc_metrics_help(m, "bancluster_coordinator_bans_removed_total", "counter", "Bans ended since start, by cause.");
	bc_metrics_value(m, "bancluster_coordinator_bans_removed_total", "cause", "expire", (double)c->expiries);
	bc_metrics_value(m, "bancluster_coordinator_bans_removed_total", "cause", "unban", (double)c->unbans);
	bc_metrics_help(m, "bancluster_coordinator_events_total", "counter", "Events counted since start, by kind.");
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		bc_metrics_value(m, "bancluster_coordinator_events_total", "kind", bc_kind_name(k), (double)c->events_kind[k]);
	bc_metrics_help(m, "bancluster_coordinator_reports_total", "counter", "Reports counted since start.");
	bc_metrics_value(m, "bancluster_coordinator_reports_total", NULL, NULL, (double)c->reports);
	bc_metrics_help(m, "bancluster_coordinator_rejected_total", "counter", "Messages and connections rejected, by reason.");
	for (k = 1; k < BC_REJ_MAX; k++)
		bc_metrics_value(m, "bancluster_coordinator_rejected_total", "reason",
				 bc_wire_reject_name((enum bc_reject)k), (double)c->rejected[k]);
	bc_metrics_help(m, "bancluster_coordinator_replay_save_failures_total", "counter", "Replay-protection counters the store failed to save (retried every second).");
	bc_metrics_value(m, "bancluster_coordinator_replay_save_failures_total", NULL, NULL, (double)c->counter_save_failures);
	bc_policy_stats(c->policy, &ps);
	bc_metrics_help(m, "bancluster_coordinator_tracked_addresses", "gauge", "Addresses with events in their window.");
	bc_metrics_value(m, "bancluster_coordinator_tracked_addresses", NULL, NULL, (double)ps.tracked);
	bc_metrics_help(m, "bancluster_coordinator_tracked_evicted_total", "counter", "Tracked addresses evicted (max_tracked).");
	bc_metrics_value(m, "bancluster_coordinator_tracked_evicted_total", NULL, NULL, (double)ps.evicted);
	bc_metrics_help(m, "bancluster_coordinator_sequence", "gauge", "Sequence of the last published change.");
	bc_metrics_value(m, "bancluster_coordinator_sequence", NULL, NULL, (double)c->seq);
	bc_metrics_help(m, "bancluster_coordinator_agent_connected", "gauge", "1 when the agent was heard within 5 s.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_connected", "agent", c->ring.v[i].name,
					 c->peer_state[i].last_seen_ms != 0 &&
							 bc_now_ms() - c->peer_state[i].last_seen_ms < BC_COORD_AGENT_TTL_MS
						 ? 1 : 0);
	bc_metrics_help(m, "bancluster_coordinator_agent_lag", "gauge", "Sequences the agent's applied state is behind.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_lag", "agent", c->ring.v[i].name,
					 c->peer_state[i].epoch == c->epoch && c->peer_state[i].seq <= c->seq
						 ? (double)(c->seq - c->peer_state[i].seq)
						 : (double)c->seq);
	bc_metrics_help(m, "bancluster_coordinator_agent_events_total", "counter", "Events counted from the agent, ever.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_events_total", "agent", c->ring.v[i].name,
					 (double)c->peer_state[i].events);
	bc_metrics_help(m, "bancluster_coordinator_agent_events_dropped_total", "counter", "Events over report_rate, since start.");
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == BC_ROLE_AGENT)
			bc_metrics_value(m, "bancluster_coordinator_agent_events_dropped_total", "agent", c->ring.v[i].name,
					 (double)c->peer_state[i].rate_dropped);
	bc_hooks_stats(c->hooks, &hs);
	bc_metrics_help(m, "bancluster_coordinator_hooks_total", "counter", "on_ban and on_unban runs since start, by how they ended.");
	for (k = 0; k < 2; k++)
		for (i = 0; i < sizeof(hook_ends) / sizeof(hook_ends[0]); i++)
			bc_metrics_value2(m, "bancluster_coordinator_hooks_total", "hook", hook_names[k],
					  "result", bc_hook_result_name(hook_ends[i]),
					  (double)hs.hook[k][hook_ends[i]]);
	bc_metrics_help(m, "bancluster_coordinator_hooks_queued", "gauge", "Hook runs waiting for a free slot (hook_max).");
	bc_metrics_value(m, "bancluster_coordinator_hooks_queued", NULL, NULL, (double)hs.hook_queued);
	bc_metrics_help(m, "bancluster_coordinator_hooks_running", "gauge", "Hook programs running now.");
	bc_metrics_value(m, "bancluster_coordinator_hooks_running", NULL, NULL, (double)hs.hook_running);
	bc_metrics_help(m, "bancluster_coordinator_webhook_changes_total", "counter", "Changes posted to the webhook since start, by how they ended.");
	for (i = 0; i < sizeof(web_ends) / sizeof(web_ends[0]); i++)
		bc_metrics_value(m, "bancluster_coordinator_webhook_changes_total", "result",
				 bc_webhook_result_name(web_ends[i]), (double)hs.webhook[web_ends[i]]);
	bc_metrics_help(m, "bancluster_coordinator_webhook_retries_total", "counter", "Failed webhook attempts that were tried again.");
	bc_metrics_value(m, "bancluster_coordinator_webhook_retries_total", NULL, NULL, (double)hs.webhook[BC_WEBHOOK_RETRIED]);
	bc_metrics_help(m, "bancluster_coordinator_webhook_queued", "gauge", "Changes queued, in flight or waiting to retry for the webhook.");
	bc_metrics_value(m, "bancluster_coordinator_webhook_queued", NULL, NULL, (double)hs.webhook_queued);
	if (c->cluster != NULL) {
		struct bc_cluster_metrics cm;

		bc_cluster_metrics(c, &cm);
		bc_metrics_help(m, "bancluster_coordinator_cluster_leader", "gauge", "1 while this coordinator leads the cluster.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_leader", NULL, NULL, cm.leader ? 1 : 0);
		bc_metrics_help(m, "bancluster_coordinator_cluster_etcd_up", "gauge", "1 while a majority of etcd answers (fleet decisions are made).");
		bc_metrics_value(m, "bancluster_coordinator_cluster_etcd_up", NULL, NULL, cm.etcd_ok ? 1 : 0);
		bc_metrics_help(m, "bancluster_coordinator_cluster_pending", "gauge", "Decisions waiting to be committed (by the leader) or for the leader's.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_pending", NULL, NULL, (double)cm.pending);
		bc_metrics_help(m, "bancluster_coordinator_cluster_revision", "gauge", "etcd revision applied.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_revision", NULL, NULL, (double)cm.revision);
		bc_metrics_help(m, "bancluster_coordinator_cluster_commits_total", "counter", "Decision transactions committed to etcd by this coordinator.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_commits_total", NULL, NULL, (double)cm.commits);
		bc_metrics_help(m, "bancluster_coordinator_cluster_commit_failures_total", "counter", "Decision transactions etcd did not take (error or unknown outcome).");
		bc_metrics_value(m, "bancluster_coordinator_cluster_commit_failures_total", NULL, NULL, (double)cm.commit_failures);
		bc_metrics_help(m, "bancluster_coordinator_cluster_lease_failures_total", "counter", "Leases etcd refused for keys it should forget later (final decision records, offence histories); those keys stay.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_lease_failures_total", NULL, NULL, (double)cm.lease_failures);
		bc_metrics_help(m, "bancluster_coordinator_cluster_fenced_total", "counter", "Leader's transactions refused because its lease no longer held the leadership.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_fenced_total", NULL, NULL, (double)cm.fenced);
		bc_metrics_help(m, "bancluster_coordinator_cluster_event_puts_total", "counter", "Event batches written to etcd, by result.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_event_puts_total", "result", "ok", (double)cm.event_puts);
		bc_metrics_value(m, "bancluster_coordinator_cluster_event_puts_total", "result", "failed", (double)cm.event_put_failures);
		bc_metrics_help(m, "bancluster_coordinator_cluster_applied_total", "counter", "Decisions applied from the watch.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_applied_total", NULL, NULL, (double)cm.applied);
		bc_metrics_help(m, "bancluster_coordinator_cluster_dropped_total", "counter", "What was read from etcd and not applied, by reason.");
		bc_metrics_value(m, "bancluster_coordinator_cluster_dropped_total", "reason", "malformed", (double)cm.malformed);
		bc_metrics_value(m, "bancluster_coordinator_cluster_dropped_total", "reason", "duplicate_report", (double)cm.duplicate_reports);
	}
	if (c->httpd != NULL) {
		struct bc_httpd_stats st;

		bc_httpd_stats(c->httpd, &st);
		bc_metrics_help(m, "bancluster_coordinator_http_requests_total", "counter",
				"Connections to metrics_listen since start, by answer.");
		for (k = 0; k < BC_HTTPD_STATUSES; k++)
			bc_metrics_value(m, "bancluster_coordinator_http_requests_total", "status",
					 bc_httpd_status_name((enum bc_httpd_status)k),
					 (double)st.answers[k]);
		bc_metrics_help(m, "bancluster_coordinator_http_connections", "gauge",
				"Connections to metrics_listen open now.");
		bc_metrics_value(m, "bancluster_coordinator_http_connections", NULL, NULL, (double)st.open);
	}
}

/* metrics_file: written to FILE.tmp, renamed over FILE */
void bc_coord_write_metrics(struct bc_coord *c)
{
	struct bc_metrics m;

	if (c->cfg.metrics_file[0] == '\0')
		return;
	if (bc_metrics_begin(&m, c->cfg.metrics_file) < 0) {
		bc_warn("metrics_file %s: cannot write", c->cfg.metrics_file);
		return;
	}
	bc_coord_metrics_text(c, &m);
	if (bc_metrics_end(&m) < 0)
		bc_warn("metrics_file %s: cannot write", c->cfg.metrics_file);
}

/* GET /metrics: the same text, in memory */
int bc_coord_http_metrics(void *arg, char **body, size_t *len)
{
	struct bc_coord *c = arg;
	struct bc_metrics m;

	if (bc_metrics_begin_mem(&m) < 0)
		return -1;
	bc_coord_metrics_text(c, &m);
	return bc_metrics_end_mem(&m, body, len);
}

/* GET /healthz: 200 while the store takes writes */
bool bc_coord_http_health(void *arg, char *why, size_t len)
{
	struct bc_coord *c = arg;

	return bc_store_healthy(c->store, why, len);
}
