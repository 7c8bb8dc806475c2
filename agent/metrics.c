/*
 * metrics.c - the agent's metrics_file (metrics.h): Prometheus text for
 * node_exporter's textfile collector, rewritten every
 * BC_AGENT_METRICS_MS by the signer from its own counters and those the
 * reader reports; and the two tallies the other files feed (events by
 * service family and kind, kernel apply latency).
 *
 * Labels are fixed sets (kinds from common/event.h's table, service
 * families below, reject reasons from proto/wire.h): no text from a log
 * line becomes a label. A file that cannot be written is a warning.
 */
#include "agent/metrics.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"

/* apply-latency histogram bucket bounds, seconds */
static const double bc_agent_hist_le[BC_AGENT_HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

/* The metrics label of a service: its program family, a fixed set. */
static const char *const service_names[BC_AGENT_SERVICES] = {
	"postfix", "exim", "sendmail", "dovecot", "other"};

size_t bc_agent_metrics_service(const char *svc)
{
	static const struct {
		const char *prefix; /* the name up to '/' */
		size_t idx;
	} map[] = {{"postfix", 0}, {"exim", 1},    {"exim4", 1},
		   {"sendmail", 2}, {"sm-mta", 2}, {"sm-msp-queue", 2},
		   {"dovecot", 3}};
	size_t n = strcspn(svc, "/"), i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].prefix) == n && strncmp(svc, map[i].prefix, n) == 0)
			return map[i].idx;
	return BC_AGENT_SERVICES - 1;
}

void bc_agent_metrics_apply(struct bc_agent_signer *a, double s)
{
	size_t b;

	for (b = 0; b < BC_AGENT_HIST_BUCKETS; b++)
		if (s <= bc_agent_hist_le[b])
			a->apply_hist[b]++;
	a->apply_count++;
	a->apply_sum += s;
}

/* metrics_file: Prometheus text for node_exporter's textfile collector */
void bc_agent_metrics_write(struct bc_agent_signer *a)
{
	struct bc_metrics m;
	size_t svc;
	int k;

	if (a->cfg.metrics_file[0] == '\0')
		return;
	if (bc_metrics_begin(&m, a->cfg.metrics_file) < 0) {
		bc_warn("metrics_file %s: cannot write", a->cfg.metrics_file);
		return;
	}
	bc_metrics_help(&m, "bancluster_agent_events_total", "counter", "Events detected in the logs (and local reports) since start, by kind and service.");
	for (svc = 0; svc < BC_AGENT_SERVICES; svc++)
		for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
			bc_metrics_value2(&m, "bancluster_agent_events_total", "kind",
					  bc_kind_name(k), "service", service_names[svc],
					  (double)a->events[svc][k]);
	bc_metrics_help(&m, "bancluster_agent_lines_total", "counter", "Log lines read, all sources.");
	bc_metrics_value(&m, "bancluster_agent_lines_total", NULL, NULL, (double)a->rd_lines);
	bc_metrics_help(&m, "bancluster_agent_lines_overlong_total", "counter", "Log lines over 8 KiB dropped.");
	bc_metrics_value(&m, "bancluster_agent_lines_overlong_total", NULL, NULL, (double)a->rd_overlong);
	bc_metrics_help(&m, "bancluster_agent_spool_events", "gauge", "Events waiting for the coordinator's ack.");
	bc_metrics_value(&m, "bancluster_agent_spool_events", NULL, NULL, (double)a->spool.n);
	bc_metrics_help(&m, "bancluster_agent_spool_dropped_total", "counter", "Events dropped from a full spool.");
	bc_metrics_value(&m, "bancluster_agent_spool_dropped_total", NULL, NULL, (double)a->spool.dropped);
	bc_metrics_help(&m, "bancluster_agent_reports_total", "counter", "Reports sent and acknowledged.");
	bc_metrics_value(&m, "bancluster_agent_reports_total", "state", "sent", (double)a->reports_sent);
	bc_metrics_value(&m, "bancluster_agent_reports_total", "state", "acked", (double)a->reports_acked);
	bc_metrics_help(&m, "bancluster_agent_fleet_bans", "gauge", "Coordinator bans applied.");
	bc_metrics_value(&m, "bancluster_agent_fleet_bans", NULL, NULL, (double)a->fleet.n);
	bc_metrics_help(&m, "bancluster_agent_kernel_elements", "gauge", "Fleet set elements read back from the kernel.");
	bc_metrics_value(&m, "bancluster_agent_kernel_elements", NULL, NULL, (double)a->kernel_count);
	bc_metrics_help(&m, "bancluster_agent_lag", "gauge", "Sequences behind the newest a coordinator announced.");
	bc_metrics_value(&m, "bancluster_agent_lag", NULL, NULL,
			 a->coord_seq > a->seq ? (double)(a->coord_seq - a->seq) : 0);
	bc_metrics_help(&m, "bancluster_agent_apply_seconds", "histogram",
			"Time to write one burst of fleet updates into the kernel (one transaction).");
	for (k = 0; k < BC_AGENT_HIST_BUCKETS; k++) {
		char le[32];

		snprintf(le, sizeof(le), "%g", bc_agent_hist_le[k]);
		bc_metrics_value(&m, "bancluster_agent_apply_seconds_bucket", "le", le,
				 (double)a->apply_hist[k]);
	}
	bc_metrics_value(&m, "bancluster_agent_apply_seconds_bucket", "le", "+Inf",
			 (double)a->apply_count);
	bc_metrics_value(&m, "bancluster_agent_apply_seconds_sum", NULL, NULL, a->apply_sum);
	bc_metrics_value(&m, "bancluster_agent_apply_seconds_count", NULL, NULL,
			 (double)a->apply_count);
	bc_metrics_help(&m, "bancluster_agent_updates_applied_total", "counter", "Sequenced updates applied.");
	bc_metrics_value(&m, "bancluster_agent_updates_applied_total", NULL, NULL, (double)a->updates_applied);
	bc_metrics_help(&m, "bancluster_agent_updates_duplicate_total", "counter", "Updates skipped as already applied: with several coordinators, every copy after the first.");
	bc_metrics_value(&m, "bancluster_agent_updates_duplicate_total", NULL, NULL, (double)a->duplicates);
	bc_metrics_help(&m, "bancluster_agent_coordinator_switches_total", "counter", "Times reports and snapshot requests moved to the next coordinator of the list: the one they went to did not answer.");
	bc_metrics_value(&m, "bancluster_agent_coordinator_switches_total", NULL, NULL, (double)a->coord_switches);
	bc_metrics_help(&m, "bancluster_agent_resyncs_total", "counter", "Resyncs started: at start, and on a gap, a new epoch, coordinator silence, a reload or a failed repair.");
	bc_metrics_value(&m, "bancluster_agent_resyncs_total", NULL, NULL, (double)a->resyncs);
	bc_metrics_help(&m, "bancluster_agent_snapshot_requests_total", "counter", "Snapshot requests attempted: the first of each resync and every repeat while syncing.");
	bc_metrics_value(&m, "bancluster_agent_snapshot_requests_total", NULL, NULL, (double)a->snap_requests);
	bc_metrics_help(&m, "bancluster_agent_snapshot_requests_failed_total", "counter", "Snapshot requests that could not be sent (no connection to the coordinator).");
	bc_metrics_value(&m, "bancluster_agent_snapshot_requests_failed_total", NULL, NULL, (double)a->snap_request_failures);
	bc_metrics_help(&m, "bancluster_agent_repairs_total", "counter", "Kernel drift repairs.");
	bc_metrics_value(&m, "bancluster_agent_repairs_total", NULL, NULL, (double)a->repairs);
	bc_metrics_help(&m, "bancluster_agent_local_bans_total", "counter", "Bans decided by the local policy.");
	bc_metrics_value(&m, "bancluster_agent_local_bans_total", NULL, NULL, (double)a->local_bans);
	bc_metrics_help(&m, "bancluster_agent_local_bans", "gauge", "Local bans held now (local4*, local6*), as reported to the coordinator.");
	bc_metrics_value(&m, "bancluster_agent_local_bans", NULL, NULL, (double)a->local.n);
	bc_metrics_help(&m, "bancluster_agent_local_lifts_total", "counter", "Local bans lifted by an admin's unban (MSG_LOCAL_LIFT).");
	bc_metrics_value(&m, "bancluster_agent_local_lifts_total", NULL, NULL, (double)a->local_lifts);
	bc_metrics_help(&m, "bancluster_agent_refused_total", "counter", "Fleet bans kept out by [local] allow.");
	bc_metrics_value(&m, "bancluster_agent_refused_total", NULL, NULL, (double)a->refused);
	bc_metrics_help(&m, "bancluster_agent_allow_entries", "gauge", "Entries of the coordinator's allow list (bancluster allow) held.");
	bc_metrics_value(&m, "bancluster_agent_allow_entries", NULL, NULL, (double)a->fleet_allow.n);
	bc_metrics_help(&m, "bancluster_agent_allowed_events_total", "counter", "Events kept from the local policy by the coordinator's allow list.");
	bc_metrics_value(&m, "bancluster_agent_allowed_events_total", NULL, NULL, (double)a->allowed_events);
	bc_metrics_help(&m, "bancluster_agent_rejected_total", "counter", "Coordinator messages rejected, by reason.");
	for (k = 1; k < BC_REJ_MAX; k++)
		bc_metrics_value(&m, "bancluster_agent_rejected_total", "reason",
				 bc_wire_reject_name((enum bc_reject)k), (double)a->rejected[k]);
	if (bc_metrics_end(&m) < 0)
		bc_warn("metrics_file %s: cannot write", a->cfg.metrics_file);
}
