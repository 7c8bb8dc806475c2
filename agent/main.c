/*
 * main.c - bancluster-agent: mirror the coordinator's bans into the
 * kernel (fleet4/fleet6) following the ZeroMQ Guide's Clone pattern.
 *
 * SUB is connected first, then a snapshot is requested on the DEALER
 * with a fresh nonce; updates wait in the SUB queue until the snapshot
 * is applied (one atomic replace), then only updates with the next
 * sequence of the same epoch are applied, a burst per transaction. A
 * gap, a new epoch or a coordinator silent for BC_AGENT_COORD_TTL_MS
 * starts a resync; meanwhile the kernel keeps every ban and expires
 * each on time by its element timeout. Every frame is verified against
 * the pinned coordinator key before anything else looks at it.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agent/agent.h"
#include "agent/fleetcheck.h"
#include "agent/local.h"
#include "agent/privsep.h"
#include "agent/reader.h"
#include "agent/source.h"
#include "common/daemon.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/notify.h"
#include "common/zsock.h"

#define LOG_BURST 20

/* apply-latency histogram bucket bounds, seconds */
static const double bc_agent_hist_le[BC_AGENT_HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

static void reject(struct bc_agent *a, enum bc_reject r, const char *where)
{
	a->rejected[r]++;
	if (a->log_budget > 0) {
		a->log_budget--;
		bc_warn("rejected message on %s: %s (total %" PRIu64 ")", where,
			bc_wire_reject_name(r), a->rejected[r]);
	}
}

static int send_dealer(struct bc_agent *a, Bancluster__MsgType type,
		       Bancluster__Payload *p)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (bc_wire_seal(&a->signer, type, p, &buf, &len) < 0) {
		bc_warn("cannot sign message");
		return -1;
	}
	rc = zmq_send(a->dealer, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc < 0 ? -1 : 0;
}

static void request_snapshot(struct bc_agent *a, const char *why)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__SnapshotReq r = BANCLUSTER__SNAPSHOT_REQ__INIT;

	/* a resync starts when the agent stops trusting its fleet state (or
	 * at start); requests repeated while syncing are attempts of it */
	if (a->state == BC_AGENT_ACTIVE || a->snap_requests == 0) {
		bc_info("resync: %s", why);
		a->resyncs++;
	}
	a->state = BC_AGENT_SYNCING;
	a->snap_requests++;
	randombytes_buf(a->nonce, sizeof(a->nonce));
	a->next_part = 0;
	bc_banmap_clear(&a->pending);
	a->sync_started_ms = bc_mono_ms();
	r.nonce.data = a->nonce;
	r.nonce.len = sizeof(a->nonce);
	p.body_case = BANCLUSTER__PAYLOAD__BODY_SNAPSHOT_REQ;
	p.snapshot_req = &r;
	/* ZMQ_IMMEDIATE: fails while not connected; timers() asks again */
	a->request_sent = send_dealer(a, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ,
				      &p) == 0;
	if (!a->request_sent)
		a->snap_request_failures++;
}

static void send_heartbeat(struct bc_agent *a)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Heartbeat h = BANCLUSTER__HEARTBEAT__INIT;

	h.epoch = a->epoch;
	h.seq = a->seq;
	h.fleet_count = a->fleet.n;
	h.hash_valid = a->hash_valid;
	h.fleet_hash.data = a->kernel_hash;
	h.fleet_hash.len = a->hash_valid ? sizeof(a->kernel_hash) : 0;
	h.hash_cutoff_ms = a->hash_cutoff_ms;
	h.hash_seq = a->hash_seq;
	h.kernel_count = a->kernel_count;
	h.repairs = a->repairs;
	h.spooled = a->spool.n;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HEARTBEAT;
	p.heartbeat = &h;
	send_dealer(a, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, &p);
}

static void apply_snapshot(struct bc_agent *a)
{
	struct bc_interval_ops ops = {0};
	char err[256] = "out of memory"; /* banset fails on that alone */
	int64_t t0 = bc_mono_ms(), t1 = 0;
	int rc = bc_interval_all(&a->pending, bc_now_ms(), BC_FW_FLEET, &ops);

	if (rc == 0) {
		t1 = bc_mono_ms();
		rc = bc_fwr_replace(&a->fwr, BC_FW_FLEET, ops.v, ops.n, err,
				    sizeof(err));
	}
	if (rc < 0) {
		bc_warn("snapshot apply failed: %s; retrying", err);
		bc_interval_ops_free(&ops);
		request_snapshot(a, "apply failed");
		return;
	}
	/* the pending map becomes the applied one */
	bc_banmap_free(&a->fleet);
	a->fleet = a->pending;
	memset(&a->pending, 0, sizeof(a->pending));
	a->epoch = a->snap_epoch;
	a->seq = a->snap_seq;
	a->state = BC_AGENT_ACTIVE;
	a->last_heard_ms = bc_mono_ms();
	bc_info("snapshot applied: %zu bans as %zu elements at epoch %" PRIu64
		" seq %" PRIu64 " in %" PRId64 " ms (kernel transaction %" PRId64 " ms)",
		a->fleet.n, ops.n, a->epoch, a->seq, bc_mono_ms() - t0,
		bc_mono_ms() - t1);
	bc_interval_ops_free(&ops);
}

/*
 * The agent's own [local] allow list outranks the coordinator: a fleet ban
 * that would cover an allowed address (the MX's admin network) is not
 * installed, so a compromised coordinator cannot cut the MX off.
 */
static bool refused_by_allow(struct bc_agent *a, const struct bc_ban *b)
{
	char as[BC_ADDR_STRLEN];

	if (!bc_addr_list_overlaps(&a->cfg.local_allow, &b->addr))
		return false;
	a->refused++;
	if (a->log_budget > 0) {
		a->log_budget--;
		bc_warn("fleet ban of %s not installed: it overlaps [local] allow",
			bc_addr_format(&b->addr, as, sizeof(as)));
	}
	return true;
}

static void on_snapshot(struct bc_agent *a, const Bancluster__Snapshot *s)
{
	size_t i;

	if (a->state != BC_AGENT_SYNCING ||
	    s->nonce.len != sizeof(a->nonce) ||
	    sodium_memcmp(s->nonce.data, a->nonce, sizeof(a->nonce)) != 0)
		return; /* an answer to an older request */
	if (s->part != a->next_part ||
	    (s->part > 0 && (s->epoch != a->snap_epoch || s->seq != a->snap_seq))) {
		request_snapshot(a, "snapshot parts out of order");
		return;
	}
	a->snap_epoch = s->epoch;
	a->snap_seq = s->seq;
	a->next_part++;
	for (i = 0; i < s->n_bans; i++) {
		struct bc_ban b;

		memset(&b, 0, sizeof(b));
		bc_wire_ban_addr(s->bans[i], &b.addr);
		b.expires_ms = s->bans[i]->expires_ms;
		b.created_ms = s->bans[i]->created_ms;
		if (refused_by_allow(a, &b))
			continue;
		if (bc_banmap_put(&a->pending, &b) < 0) {
			bc_warn("snapshot: ban table full");
			break;
		}
	}
	if (s->last)
		apply_snapshot(a);
}

static void on_dealer(struct bc_agent *a)
{
	int i;

	for (i = 0; i < 64; i++) {
		Bancluster__Payload *p;
		struct bc_peer *from;
		enum bc_reject r;
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->dealer, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		r = bc_wire_open(&a->coord, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME,
				 (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT) |
					 (1u << BANCLUSTER__MSG_TYPE__MSG_ACK),
				 BC_CHAN_DEALER, a->cfg.cluster, bc_now_ms(), &p,
				 &from);
		zmq_msg_close(&m);
		if (r != BC_REJ_OK) {
			reject(a, r, "dealer");
			continue;
		}
		if (p->body_case == BANCLUSTER__PAYLOAD__BODY_SNAPSHOT)
			on_snapshot(a, p->snapshot);
		else if (p->body_case == BANCLUSTER__PAYLOAD__BODY_ACK)
			if (bc_spool_ack(&a->spool, p->ack->report_id)) {
				a->reports_acked++;
				if (a->spool.n == 0)
					a->save_due = true; /* all read lines acked */
			}
		bancluster__payload__free_unpacked(p, NULL);
	}
}

/* Apply a burst of updates from SUB in one firewall transaction. */
static void on_sub(struct bc_agent *a)
{
	struct bc_interval_ops ops = {0};
	char err[256];
	int n = 0, resync = 0;
	const char *why = "";

	while (n < BC_AGENT_UPDATE_BURST && !resync) {
		Bancluster__Payload *p;
		struct bc_peer *from;
		enum bc_reject r;
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		r = bc_wire_open(&a->coord, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME,
				 (1u << BANCLUSTER__MSG_TYPE__MSG_UPDATE) |
					 (1u << BANCLUSTER__MSG_TYPE__MSG_HUGZ),
				 BC_CHAN_SUB, a->cfg.cluster, bc_now_ms(), &p,
				 &from);
		zmq_msg_close(&m);
		if (r != BC_REJ_OK) {
			reject(a, r, "updates");
			continue;
		}
		a->last_heard_ms = bc_mono_ms();
		if (p->body_case == BANCLUSTER__PAYLOAD__BODY_HUGZ) {
			a->coord_seq = p->hugz->seq;
			if (p->hugz->epoch != a->epoch) {
				resync = 1;
				why = "coordinator restarted (new epoch)";
			} else if (p->hugz->seq > a->seq) {
				resync = 1;
				why = "missed updates";
			}
		} else {
			const Bancluster__Update *u = p->update;
			struct bc_ban b;

			if (u->epoch != a->epoch) {
				resync = 1;
				why = "coordinator restarted (new epoch)";
			} else if (u->seq > a->seq + 1) {
				resync = 1;
				why = "gap in update sequence";
			} else if (u->seq == a->seq + 1) {
				memset(&b, 0, sizeof(b));
				bc_wire_ban_addr(u->ban, &b.addr);
				b.expires_ms = u->ban->expires_ms;
				b.created_ms = u->ban->created_ms;
				if (!u->remove && refused_by_allow(a, &b)) {
					a->seq = u->seq; /* applied: as a no-op */
				} else if (bc_interval_change(&a->fleet, &b, u->remove,
						     bc_now_ms(), BC_FW_FLEET,
						     &ops) < 0) {
					resync = 1;
					why = "out of memory";
				} else {
					a->seq = u->seq;
					a->updates_applied++;
					n++;
				}
			} /* else: already in the snapshot */
		}
		bancluster__payload__free_unpacked(p, NULL);
	}
	if (ops.n > 0) {
		struct timespec t0, t1;
		double s;
		size_t b;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (bc_fwr_apply(&a->fwr, ops.v, ops.n, err, sizeof(err)) < 0) {
			bc_warn("firewall update failed: %s", err);
			resync = 1;
			why = "firewall update failed";
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* apply latency: one kernel transaction per burst of updates */
		s = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		for (b = 0; b < BC_AGENT_HIST_BUCKETS; b++)
			if (s <= bc_agent_hist_le[b])
				a->apply_hist[b]++;
		a->apply_count++;
		a->apply_sum += s;
	}
	bc_interval_ops_free(&ops);
	if (resync)
		request_snapshot(a, why);
}

/* A local ban: this host defends itself whatever the coordinator says. */
static void local_ban(struct bc_agent *a, const struct bc_policy_hit *h)
{
	struct bc_interval_ops ops = {0};
	struct bc_ban b;
	char err[256] = "out of memory", as[BC_ADDR_STRLEN];
	int64_t now = bc_now_ms();

	memset(&b, 0, sizeof(b));
	b.addr = h->key;
	b.created_ms = now;
	b.expires_ms = now + a->cfg.local_bantime * 1000;
	if (bc_interval_change(&a->local, &b, 0, now, BC_FW_LOCAL, &ops) < 0 ||
	    bc_fwr_apply(&a->fwr, ops.v, ops.n, err, sizeof(err)) < 0)
		bc_warn("local ban %s failed: %s",
			bc_addr_format(&b.addr, as, sizeof(as)), err);
	else {
		a->local_bans++;
		bc_info("local ban %s for %llds: %g events in %llds",
			bc_addr_format(&b.addr, as, sizeof(as)),
			(long long)a->cfg.local_bantime, h->score,
			(long long)((h->last_ms - h->first_ms) / 1000));
	}
	bc_interval_ops_free(&ops);
}

/* Local bans whose time is over leave the map (the kernel already
 * dropped their elements by timeout). */
static void local_expire(struct bc_agent *a)
{
	int64_t now = bc_now_ms();
	size_t i = 0;

	while (i < a->local.n) {
		if (a->local.v[i].expires_ms != 0 && a->local.v[i].expires_ms <= now)
			bc_banmap_del(&a->local, &a->local.v[i].addr);
		else
			i++;
	}
}

/* The metrics label of a service: its program family, a fixed set. */
static const char *const service_names[BC_AGENT_SERVICES] = {
	"postfix", "exim", "sendmail", "dovecot", "other"};

static size_t service_index(const char *svc)
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

static void on_event(struct bc_agent *a, const struct bc_event *e,
		     const char *line, size_t len)
{
	struct bc_policy_event pe;
	struct bc_policy_hit hit;
	struct bc_spool_ev sev;
	int64_t now = bc_now_ms();

	if (e->kind < BC_POLICY_KINDS)
		a->events[service_index(e->service)][e->kind]++;
	memset(&sev, 0, sizeof(sev));
	sev.time_ms = e->time_ms > 0 && e->time_ms <= now ? e->time_ms : now;
	sev.kind = e->kind;
	sev.addr = e->addr;
	snprintf(sev.service, sizeof(sev.service), "%s", e->service);
	/* escaped by the reader */
	snprintf(sev.line, sizeof(sev.line), "%.*s", (int)len, line);
	bc_spool_push(&a->spool, &sev);
	pe.time_ms = sev.time_ms;
	pe.kind = e->kind;
	pe.host = 0;
	pe.addr = e->addr;
	if (bc_policy_event(a->local_policy, &pe, now, &hit) == BC_POLICY_BAN)
		local_ban(a, &hit);
}

/*
 * Event records from the reader process: exact size and magic, or the
 * reader is broken and the agent stops (its supervisor restarts it).
 */
static void on_reader(struct bc_agent *a)
{
	int i;

	for (i = 0; i < 256; i++) {
		struct bc_evmsg m;
		ssize_t n = recv(a->rd_fd, &m, sizeof(m), MSG_DONTWAIT);

		if (n < 0)
			return;
		if (n == 0)
			bc_fatal(1, "reader process gone");
		if (n != (ssize_t)sizeof(m) || m.magic != BC_EV_MAGIC ||
		    m.len >= sizeof(m.line) || m.line[m.len] != '\0' ||
		    m.seq < a->rd_seq)
			bc_fatal(1, "reader process sent a malformed record");
		a->rd_lines = m.lines;
		a->rd_overlong = m.overlong;
		if (m.seq == a->rd_seq)
			continue; /* statistics only */
		if (m.seq != a->rd_seq + 1 || m.ev.kind < 1 || m.ev.kind > 4 ||
		    (m.ev.addr.family != AF_INET && m.ev.addr.family != AF_INET6) ||
		    memchr(m.ev.service, '\0', sizeof(m.ev.service)) == NULL)
			bc_fatal(1, "reader process sent a malformed record");
		a->rd_seq = m.seq;
		on_event(a, &m.ev, m.line, m.len);
	}
}

/* One report in flight at a time; events that arrive meanwhile batch up. */
static void send_report(struct bc_agent *a)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Report r = BANCLUSTER__REPORT__INIT;
	Bancluster__Event *ev, **evp;
	int64_t now = bc_mono_ms();
	size_t n, i;
	uint64_t id;

	if (a->spool.n == 0)
		return;
	if (a->spool.inflight > 0) {
		if (now - a->spool.sent_ms < BC_AGENT_ACK_TIMEOUT_MS)
			return;
		/* no ack: the same events under the same id, so a report
		 * that did arrive (its ack was lost) is not counted twice */
		id = a->spool.report_id;
		n = a->spool.inflight;
	} else {
		/* strictly increasing across restarts, like the wire counter */
		id = bc_counter_next(&a->signer.counter);
		if (id == 0)
			return;
		n = a->spool.n < BC_AGENT_REPORT_MAX ? a->spool.n
						     : BC_AGENT_REPORT_MAX;
	}
	ev = calloc(n, sizeof(*ev));
	evp = calloc(n, sizeof(*evp));
	if (ev == NULL || evp == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		const struct bc_spool_ev *s = bc_spool_at(&a->spool, i);

		bancluster__event__init(&ev[i]);
		ev[i].time_ms = s->time_ms;
		ev[i].kind = s->kind;
		ev[i].family = s->addr.family == AF_INET ? 4 : 6;
		ev[i].addr.data = (uint8_t *)(uintptr_t)s->addr.a;
		ev[i].addr.len = bc_addr_bytes(&s->addr);
		ev[i].service = (char *)(uintptr_t)s->service;
		ev[i].line = (char *)(uintptr_t)s->line;
		evp[i] = &ev[i];
	}
	r.report_id = id;
	r.n_events = n;
	r.events = evp;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
	p.report = &r;
	if (send_dealer(a, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p) == 0) {
		bc_spool_take(&a->spool, n, id, now);
		a->reports_sent++;
	}
out:
	free(ev);
	free(evp);
}

/*
 * Read the fleet sets back from the kernel and compare them with the
 * applied ban map. Drift seen on two checks in a row (an element deleted
 * or added by hand) is repaired with one atomic replace, and logged.
 */
static void fleet_check(struct bc_agent *a)
{
	struct bc_fleethash k;
	int64_t now = bc_now_ms();
	size_t missing, extra;
	char err[256];

	a->hash_valid = false;
	if (a->state != BC_AGENT_ACTIVE)
		return;
	a->hash_cutoff_ms = now + BC_FLEETHASH_MARGIN_MS;
	if (bc_fleetcheck_kernel(&a->fwr, now, a->hash_cutoff_ms, &a->fleet, &k,
				 &missing, &extra, err, sizeof(err)) < 0) {
		bc_warn("kernel read-back failed: %s", err);
		return;
	}
	memcpy(a->kernel_hash, k.hash, sizeof(a->kernel_hash));
	a->hash_seq = a->seq;
	a->kernel_count = k.count;
	a->hash_valid = true;
	if (missing == 0 && extra == 0) {
		a->drift_seen = 0;
		return;
	}
	if (++a->drift_seen < 2)
		return; /* may be an update in flight: look again */
	bc_warn("kernel fleet sets drifted from the coordinator's bans: "
		"%zu element%s missing, %zu unexpected; repairing",
		missing, missing == 1 ? "" : "s", extra);
	{
		struct bc_interval_ops ops = {0};

		snprintf(err, sizeof(err), "out of memory"); /* banset's one failure */
		if (bc_interval_all(&a->fleet, now, BC_FW_FLEET, &ops) < 0 ||
		    bc_fwr_replace(&a->fwr, BC_FW_FLEET, ops.v, ops.n, err,
				  sizeof(err)) < 0) {
			bc_warn("repair failed: %s; resyncing", err);
			request_snapshot(a, "repair failed");
		} else {
			a->repairs++;
			a->drift_seen = 0;
			bc_info("repair %" PRIu64 ": fleet sets rewritten (%zu elements)",
				a->repairs, ops.n);
		}
		bc_interval_ops_free(&ops);
	}
}

/*
 * A cursor moves only past lines whose events the coordinator has
 * acknowledged (the spool is empty): after a restart, lines not yet
 * acknowledged are read again, and acknowledged ones are not.
 */
static void save_cursors(struct bc_agent *a)
{
	struct bc_rdcmd c = {BC_RD_MAGIC, BC_RD_SAVE, a->rd_seq};

	if (send(a->rd_fd, &c, sizeof(c), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		bc_fatal(1, "reader process gone");
	a->save_due = false;
}

/* On SIGTERM: give the last report a moment to be acknowledged, so the
 * cursors can be saved past it (no line read twice after a restart). */
static void drain_reports(struct bc_agent *a)
{
	int64_t end = bc_mono_ms() + BC_AGENT_DRAIN_MS;

	do {
		zmq_pollitem_t it = {a->dealer, 0, ZMQ_POLLIN, 0};

		on_reader(a); /* events already on their way */
		send_report(a);
		if (zmq_poll(&it, 1, 50) > 0)
			on_dealer(a);
	} while (a->spool.n > 0 && bc_mono_ms() < end);
	if (a->spool.n == 0)
		save_cursors(a);
	else
		bc_warn("stopping with %zu events unacknowledged: their lines "
			"will be read again at the next start", a->spool.n);
}

/* metrics_file: Prometheus text for node_exporter's textfile collector */
static void write_metrics(struct bc_agent *a)
{
	static const char *kinds[] = {"", "auth_fail", "sender_violation",
				      "auth_abort", "auth_success"};
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
		for (k = 1; k < BC_POLICY_KINDS; k++)
			bc_metrics_value2(&m, "bancluster_agent_events_total", "kind",
					  kinds[k], "service", service_names[svc],
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
	bc_metrics_help(&m, "bancluster_agent_lag", "gauge", "Sequences behind the coordinator's last announcement.");
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
	bc_metrics_help(&m, "bancluster_agent_refused_total", "counter", "Fleet bans kept out by [local] allow.");
	bc_metrics_value(&m, "bancluster_agent_refused_total", NULL, NULL, (double)a->refused);
	bc_metrics_help(&m, "bancluster_agent_rejected_total", "counter", "Coordinator messages rejected, by reason.");
	for (k = 1; k < BC_REJ_MAX; k++)
		bc_metrics_value(&m, "bancluster_agent_rejected_total", "reason",
				 bc_wire_reject_name((enum bc_reject)k), (double)a->rejected[k]);
	if (bc_metrics_end(&m) < 0)
		bc_warn("metrics_file %s: cannot write", a->cfg.metrics_file);
}

static void timers(struct bc_agent *a)
{
	int64_t now = bc_mono_ms();

	if (a->fwr.dead) /* nothing reaches the kernel any more: stop, so the
			  * supervisor restarts the whole agent */
		bc_fatal(1, "firewall process gone; stopping");

	if (now >= a->next_save_ms) {
		/* lines without events: nothing to wait for */
		if (a->spool.n == 0)
			a->save_due = true;
		local_expire(a);
		a->next_save_ms = now + BC_AGENT_SAVE_MS;
	}
	if (a->save_due && a->spool.n == 0)
		save_cursors(a); /* the reader waits for this to read on */
	send_report(a);
	if (now >= a->next_metrics_ms) {
		write_metrics(a);
		a->next_metrics_ms = now + BC_AGENT_METRICS_MS;
	}
	if (now >= a->next_check_ms) {
		fleet_check(a);
		a->next_check_ms = now + (a->fleet.n > BC_AGENT_CHECK_BIG
						  ? BC_AGENT_CHECK_BIG_MS
						  : BC_AGENT_CHECK_MS);
	}
	if (now >= a->next_heartbeat_ms) {
		send_heartbeat(a);
		a->next_heartbeat_ms = now + BC_AGENT_HEARTBEAT_MS;
		a->log_budget = LOG_BURST;
	}
	if (a->state == BC_AGENT_ACTIVE &&
	    now - a->last_heard_ms > BC_AGENT_COORD_TTL_MS)
		request_snapshot(a, "coordinator silent");
	else if (a->state == BC_AGENT_SYNCING &&
		 now - a->sync_started_ms > (a->request_sent
						     ? BC_AGENT_SYNC_RETRY_MS
						     : BC_AGENT_SYNC_SEND_RETRY_MS))
		request_snapshot(a, "no snapshot yet");
}

static void fw_config(const struct bc_agent_cfg *cfg, struct bc_fw_config *fwc)
{
	size_t i;

	memset(fwc, 0, sizeof(*fwc));
	fwc->all_ports = cfg->ports.all;
	for (i = 0; i < cfg->ports.n && i < BC_FW_MAX_PORTS; i++)
		fwc->ports[fwc->nports++] = cfg->ports.port[i];
}

/*
 * SIGHUP: re-read agent.ini. The local policy and allow list, the
 * protected ports, the coordinator's key and [detect] (sent to the
 * reader's parsers) take effect at once; bans in
 * the kernel and counts are kept. Sources, id, key, endpoints and
 * state_dir need a restart. A broken file changes nothing.
 */
static void reload(struct bc_agent *a, const char *cfgpath)
{
	struct bc_agent_cfg *n = calloc(1, sizeof(*n));
	struct bc_keyring ring = {0};
	struct bc_policy_cfg pc;
	struct bc_fw_config fwc;
	struct bc_peer cp;
	char err[512];

	if (n == NULL)
		return;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_agent_load_config(n, cfgpath, err, sizeof(err)) < 0 ||
	    bc_key_load_public(&cp, n->coordinator_key, err, sizeof(err)) < 0 ||
	    bc_keyring_add(&ring, &cp) < 0 ||
	    (fw_config(n, &fwc), bc_fwr_reopen(&a->fwr, &fwc, err, sizeof(err))) < 0) {
		bc_warn("reload refused, running configuration kept: %s", err);
		bc_agent_free_config(n);
		bc_keyring_free(&ring);
		free(n);
		return;
	}
	if (strcmp(n->id, a->cfg.id) != 0 || strcmp(n->key, a->cfg.key) != 0 ||
	    strcmp(n->coordinator, a->cfg.coordinator) != 0 ||
	    strcmp(n->updates, a->cfg.updates) != 0 ||
	    strcmp(n->state_dir, a->cfg.state_dir) != 0 ||
	    n->nsources != a->cfg.nsources ||
	    memcmp(n->sources, a->cfg.sources, n->nsources * sizeof(n->sources[0])) != 0)
		bc_warn("reload: id, key, endpoints, state_dir and sources "
			"change at the next restart");
	/* what only a restart changes stays as it runs */
	memcpy(n->id, a->cfg.id, sizeof(n->id));
	memcpy(n->key, a->cfg.key, sizeof(n->key));
	memcpy(n->coordinator, a->cfg.coordinator, sizeof(n->coordinator));
	memcpy(n->updates, a->cfg.updates, sizeof(n->updates));
	memcpy(n->state_dir, a->cfg.state_dir, sizeof(n->state_dir));
	memcpy(n->cluster, a->cfg.cluster, sizeof(n->cluster));
	memcpy(n->sources, a->cfg.sources, sizeof(n->sources));
	n->nsources = a->cfg.nsources;
	if (memcmp(ring.v[0].pk, a->coord.v[0].pk, 32) == 0)
		memcpy(ring.v[0].last_counter, a->coord.v[0].last_counter,
		       sizeof(ring.v[0].last_counter));
	bc_keyring_free(&a->coord);
	a->coord = ring;
	bc_agent_free_config(&a->cfg);
	a->cfg = *n;
	free(n);
	bc_agent_local_policy_cfg(&a->cfg, &pc);
	bc_policy_set_cfg(a->local_policy, &pc);
	{
		/* the reader's parsers take the new [detect] settings */
		struct bc_rddetect *m = calloc(1, sizeof(*m));

		if (m != NULL) {
			m->magic = BC_RD_MAGIC;
			m->type = BC_RD_DETECT;
			m->detect = a->cfg.detect;
			if (send(a->rd_fd, m, sizeof(*m),
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				bc_warn("reload: [detect] not sent to the reader: %s",
					strerror(errno));
			free(m);
		}
	}
	bc_info("reloaded %s: local maxretry %lld, %zu allow entries, %s ports",
		cfgpath, (long long)a->cfg.local_maxretry, a->cfg.local_allow.n,
		a->cfg.ports.all ? "all" : "listed");
	request_snapshot(a, "reload"); /* re-apply fleet bans under the new allow list */
}

/*
 * The reader opens its sources itself, as the unprivileged user: after a
 * rotation it must reopen the new file with the same rights anyway, and
 * an inotify instance shared with another process would lose its
 * watches when that process closed it.
 */
static void open_sources(struct bc_agent *a)
{
	char err[512];
	size_t i;

	for (i = 0; i < a->cfg.nsources; i++) {
		enum bc_format fmt = BC_FMT_AUTO;

		bc_format_parse(a->cfg.sources[i].format, &fmt); /* checked */
		a->parser[i] = bc_parser_new(fmt);
		if (a->parser[i] == NULL)
			bc_fatal(1, "out of memory");
		if (bc_parser_set_detect(a->parser[i], &a->cfg.detect) < 0)
			bc_fatal(1, "[detect]: settings out of bounds");
		a->src[i] = bc_source_open(&a->cfg.sources[i], a->cursor_dir,
					   err, sizeof(err));
		if (a->src[i] == NULL)
			bc_fatal(1, "%s", err);
		if (bc_source_notice(a->src[i])[0] != '\0')
			bc_warn("source %s: %s", a->cfg.sources[i].name,
				bc_source_notice(a->src[i]));
	}
}

/* The directory of PATH into out[PATH_MAX] ("." for a bare name); -1 if
 * it does not fit. */
static int dir_of(char *out, const char *path)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(out, PATH_MAX, ".");
	else if (slash == path)
		n = snprintf(out, PATH_MAX, "/");
	else
		n = snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/*
 * Confine the reader with Landlock: read only where its sources are (the
 * directory of each file, and of the file a symlink names now; the
 * journal's directories), write only its cursors. A directory missing at
 * start is left out, with a warning (the system journal's
 * /var/log/journal may well be absent). Time zone loaded first: mktime
 * must not need /etc/localtime afterwards.
 */
static int confine_reader(const struct bc_agent *a, char *err, size_t errlen)
{
	enum { MAXD = 2 * BC_AGENT_MAX_SOURCES };
	static char dirs[MAXD][PATH_MAX];
	const char *list[MAXD];
	bool missing[MAXD], quiet[MAXD];
	char real[PATH_MAX];
	size_t i, n = 0;
	int rc;

	tzset();
	for (i = 0; i < a->cfg.nsources; i++) {
		const struct bc_source_cfg *sc = &a->cfg.sources[i];
		struct stat st;
		bool is_dir;

		if (strcmp(sc->type, "stdin") == 0)
			continue;
		if (sc->path[0] == '\0') { /* the system journal */
			quiet[n] = true;
			snprintf(dirs[n++], PATH_MAX, "/run/log/journal");
			quiet[n] = true;
			snprintf(dirs[n++], PATH_MAX, "/var/log/journal");
			continue;
		}
		is_dir = strcmp(sc->type, "journal") == 0 && stat(sc->path, &st) == 0 &&
			 S_ISDIR(st.st_mode);
		quiet[n] = false;
		if (is_dir)
			snprintf(dirs[n++], PATH_MAX, "%s", sc->path);
		else if (dir_of(dirs[n++], sc->path) < 0)
			goto toolong;
		/* a symlink: the directory of the file it names now, too */
		if (!is_dir && realpath(sc->path, real) != NULL) {
			quiet[n] = false;
			if (dir_of(dirs[n++], real) < 0)
				goto toolong;
		}
	}
	for (i = 0; i < n; i++) {
		list[i] = dirs[i];
		missing[i] = false;
	}
	rc = bc_privsep_confine(list, n, missing, a->cursor_dir, err, errlen);
	for (i = 0; rc >= 0 && i < n; i++)
		if (missing[i] && !quiet[i])
			bc_warn("reader: %s does not exist: logs that appear there "
				"later cannot be read until a restart",
				dirs[i]);
	return rc;
toolong:
	snprintf(err, errlen, "a source's directory is longer than %d bytes",
		 PATH_MAX);
	return -1;
}

/*
 * The reader keeps its cursors in <state_dir>/cursors, the one directory
 * it may write to: the signer's counter and the local socket stay out of
 * its reach. A cursor left in state_dir by an older agent moves there.
 */
static void make_cursor_dir(struct bc_agent *a)
{
	size_t i;

	snprintf(a->cursor_dir, sizeof(a->cursor_dir), "%s/%s", a->cfg.state_dir,
		 BC_AGENT_CURSOR_DIR);
	if (mkdir(a->cursor_dir, 0700) < 0 && errno != EEXIST)
		bc_fatal(1, "%s: %s", a->cursor_dir, strerror(errno));
	for (i = 0; i < a->cfg.nsources; i++) {
		char from[BC_CFG_STR_MAX + 96], to[BC_CFG_STR_MAX + 112];
		struct stat st;

		snprintf(from, sizeof(from), "%s/source-%s.cursor", a->cfg.state_dir,
			 a->cfg.sources[i].name);
		snprintf(to, sizeof(to), "%s/source-%s.cursor", a->cursor_dir,
			 a->cfg.sources[i].name);
		if (lstat(to, &st) < 0 && errno == ENOENT &&
		    lstat(from, &st) == 0 && rename(from, to) == 0)
			bc_info("source %s: cursor moved to %s", a->cfg.sources[i].name,
				to);
	}
}

/* lchown DIR/NAME, fatal on failure */
static void give(const char *dir, const char *name,
		 const struct bc_privsep_user *u)
{
	char p[BC_CFG_STR_MAX + 300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (lchown(p, u->uid, u->gid) < 0)
		bc_fatal(1, "%s: %s", p, strerror(errno));
}

/* state_dir and what is in it belong to the unprivileged user */
static void chown_state(const struct bc_agent *a, const struct bc_privsep_user *u)
{
	DIR *d = opendir(a->cfg.state_dir);
	struct dirent *de;

	if (d == NULL || chown(a->cfg.state_dir, u->uid, u->gid) < 0)
		bc_fatal(1, "%s: %s", a->cfg.state_dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		/* only the agent's own files: the coordinator may share the dir */
		if (strcmp(de->d_name, BC_LOCAL_SOCKET) == 0 ||
		    strcmp(de->d_name, BC_AGENT_CURSOR_DIR) == 0 ||
		    strncmp(de->d_name, "source-", 7) == 0 ||
		    strncmp(de->d_name, a->cfg.id, strlen(a->cfg.id)) == 0)
			give(a->cfg.state_dir, de->d_name, u);
	closedir(d);
	d = opendir(a->cursor_dir);
	if (d == NULL)
		bc_fatal(1, "%s: %s", a->cursor_dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			give(a->cursor_dir, de->d_name, u);
	closedir(d);
}

/*
 * A child dies with the signer (SIGKILL). Set after the privilege drop: a
 * change of uid clears it; a signer gone before that is caught here.
 */
static void tie_to(pid_t signer)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != signer)
		_exit(1);
}

/*
 * Privilege separation: fork the firewall process (CAP_NET_ADMIN and the
 * netlink socket, nothing else) and the reader (sources, parsers, local
 * report socket; no capability, no key), then drop this process (the
 * signer: key and ZeroMQ) to the unprivileged user without capability.
 * Before ZeroMQ exists: its threads must not be forked.
 */
static void split_processes(struct bc_agent *a, const struct bc_privsep_user *up)
{
	const struct bc_privsep_user u = *up;
	pid_t signer;
	int fsp[2], rsp[2];
	char err[256], key[BC_CFG_STR_MAX + 8];

	make_cursor_dir(a);
	if (u.set && !u.already)
		chown_state(a, &u);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fsp) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rsp) < 0)
		bc_fatal(1, "socketpair: %s", strerror(errno));
	fflush(NULL);
	signer = getpid();
	a->fw_pid = fork();
	if (a->fw_pid < 0)
		bc_fatal(1, "fork: %s", strerror(errno));
	if (a->fw_pid == 0) {
		int ll;

		close(fsp[0]);
		close(rsp[0]);
		close(rsp[1]);
		close(a->local_fd);
		bc_key_wipe(&a->signer.key);
		prctl(PR_SET_NAME, "bc-firewall", 0, 0, 0);
		signal(SIGTERM, SIG_IGN); /* ends when the signer closes */
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (bc_privsep_drop(&u, true, err, sizeof(err)) < 0)
			bc_fatal(1, "firewall process: %s", err);
		tie_to(signer);
		/* netlink only from here: no file at all, no TCP, no signal */
		ll = bc_privsep_confine(NULL, 0, NULL, NULL, err, sizeof(err));
		if (ll < 0)
			bc_fatal(1, "firewall process: %s", err);
		bc_info("firewall: uid %u, capabilities %llx, landlock %s",
			(unsigned)getuid(), bc_privsep_capeff(),
			ll == 1 ? "on" : "unavailable");
		bc_fwr_serve(a->fw, fsp[1]);
	}
	a->rd_pid = fork();
	if (a->rd_pid < 0)
		bc_fatal(1, "fork: %s", strerror(errno));
	if (a->rd_pid == 0) {
		int kfd, ll;

		close(fsp[0]);
		close(fsp[1]);
		close(rsp[0]);
		bc_fw_close(&a->fw);
		bc_key_wipe(&a->signer.key);
		prctl(PR_SET_NAME, "bc-reader", 0, 0, 0);
		if (bc_privsep_drop(&u, false, err, sizeof(err)) < 0)
			bc_fatal(1, "reader process: %s", err);
		tie_to(signer);
		open_sources(a);
		ll = confine_reader(a, err, sizeof(err));
		if (ll < 0)
			bc_fatal(1, "reader process: %s", err);
		if (bc_key_secret_path(a->cfg.key, key, sizeof(key)) < 0)
			bc_fatal(1, "reader process: %s: path too long", a->cfg.key);
		kfd = open(key, O_RDONLY | O_CLOEXEC);
		if (kfd >= 0 && (u.set || ll == 1))
			bc_fatal(1, "reader process can read %s: privilege separation failed%s",
				 key, ll == 1 ? "" : " (no Landlock in this kernel: make the "
				 "key readable by its owner only, and start as root)");
		if (kfd >= 0)
			close(kfd);
		bc_info("reader: uid %u, capabilities %llx, landlock %s, key file %s",
			(unsigned)getuid(), bc_privsep_capeff(),
			ll == 1 ? "on" : "unavailable",
			kfd < 0 ? "out of reach" : "readable (no [agent] user set)");
		bc_reader_serve(a, rsp[1]);
	}
	close(fsp[1]);
	close(rsp[1]);
	a->fwr.fd = fsp[0];
	a->rd_fd = rsp[0];
	bc_fw_close(&a->fw);
	close(a->local_fd);
	a->local_fd = -1;
	if (bc_privsep_drop(&u, false, err, sizeof(err)) < 0)
		bc_fatal(1, "signer process: %s", err);
	bc_info("processes: signer %d (uid %u), reader %d, firewall %d",
		(int)getpid(), (unsigned)getuid(), (int)a->rd_pid, (int)a->fw_pid);
}

/*
 * What start needs from the files and the user agent.ini names, checked
 * the same way by start and --check-config: both keys (into a), the user
 * (into u) and a state_dir to create files in. Returns 0, or -1 with
 * "FILE:LINE: [agent] KEY: REASON" in err.
 */
static int check_files(struct bc_agent *a, const char *cfgpath,
		       struct bc_privsep_user *u, char *err, size_t errlen)
{
	struct bc_peer cp;
	char e[512];

	if (bc_key_load_secret(&a->signer.key, a->cfg.key, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, cfgpath, "agent", "key", "%s", e);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_key_load_public(&cp, a->cfg.coordinator_key, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, cfgpath, "agent", "coordinator_key",
				  "%s", e);
	if (bc_keyring_add(&a->coord, &cp) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (bc_privsep_user(u, a->cfg.user, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, cfgpath, "agent", "user", "%s", e);
	/* the counter, cursors/ and the local socket are created there */
	if (bc_cfg_dir(a->cfg.state_dir, W_OK | X_OK, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, cfgpath, "agent", "state_dir",
				  "%s", e);
	return 0;
}

static void setup(struct bc_agent *a, const char *cfgpath, bool check_only)
{
	struct bc_privsep_user u;
	char err[512], path[BC_CFG_STR_MAX + 96];

	if (bc_agent_load_config(&a->cfg, cfgpath, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	/* start and --check-config check the same: up to here, and no more */
	if (check_files(a, cfgpath, &u, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	if (check_only) {
		char note[1024];

		bc_cfg_dropins_note(cfgpath, note, sizeof(note));
		printf("%s: OK (agent %s, %zu sources%s)\n", cfgpath, a->cfg.id,
		       a->cfg.nsources, note);
		exit(0);
	}
	snprintf(a->signer.cluster, sizeof(a->signer.cluster), "%.63s", a->cfg.cluster);
	snprintf(a->signer.sender, sizeof(a->signer.sender), "%.63s", a->cfg.id);
	snprintf(path, sizeof(path), "%s/%.64s.counter", a->cfg.state_dir, a->cfg.id);
	if (bc_counter_open(&a->signer.counter, path, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	{
		struct bc_fw_config fwc;

		fw_config(&a->cfg, &fwc);
		a->fw = bc_fw_open(&fwc, err, sizeof(err)); /* keeps elements */
		if (a->fw == NULL)
			bc_fatal(1, "firewall: %s", err);
		if (bc_fw_migrated(a->fw) >= 0)
			bc_info("firewall: old layout replaced in one transaction: "
				"%ld elements moved to the hash and _nets sets",
				bc_fw_migrated(a->fw));
	}
	{
		struct bc_policy_cfg pc;

		bc_agent_local_policy_cfg(&a->cfg, &pc);
		a->local_policy = bc_policy_new(&pc);
		if (a->local_policy == NULL)
			bc_fatal(1, "out of memory");
	}
	bc_spool_init(&a->spool, BC_SPOOL_MAX);
	a->local_fd = bc_local_open(a->cfg.state_dir, err, sizeof(err));
	if (a->local_fd < 0)
		bc_fatal(1, "local report socket: %s", err);
	split_processes(a, &u);
	a->zctx = zmq_ctx_new();
	a->sub = zmq_socket(a->zctx, ZMQ_SUB);
	a->dealer = zmq_socket(a->zctx, ZMQ_DEALER);
	if (a->sub == NULL || a->dealer == NULL ||
	    bc_zsock_options(a->sub, BC_WIRE_MAX_FRAME, 100000) < 0 ||
	    bc_zsock_options(a->dealer, BC_WIRE_MAX_FRAME, 10000) < 0 ||
	    bc_zsock_curve_client(a->sub, &a->signer.key, &a->coord.v[0]) < 0 ||
	    bc_zsock_curve_client(a->dealer, &a->signer.key, &a->coord.v[0]) < 0)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	{
		int one = 1, ivl = 200, ivlmax = 2000;

		zmq_setsockopt(a->dealer, ZMQ_IMMEDIATE, &one, sizeof(one));
		zmq_setsockopt(a->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
		zmq_setsockopt(a->dealer, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof(ivlmax));
		zmq_setsockopt(a->sub, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
		zmq_setsockopt(a->sub, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof(ivlmax));
	}
	if (zmq_setsockopt(a->sub, ZMQ_SUBSCRIBE, "", 0) < 0 ||
	    zmq_connect(a->sub, a->cfg.updates) < 0)
		bc_fatal(1, "updates %s: %s", a->cfg.updates, zmq_strerror(errno));
	if (zmq_connect(a->dealer, a->cfg.coordinator) < 0)
		bc_fatal(1, "coordinator %s: %s", a->cfg.coordinator,
			 zmq_strerror(errno));
	bc_info("started: agent %s, coordinator %s, updates %s", a->cfg.id,
		a->cfg.coordinator, a->cfg.updates);
}

int main(int argc, char **argv)
{
	/* --version: beside libzmq, libsodium, libprotobuf-c and inih */
	const struct bc_version_lib libs[] = {
		{"libnftnl", bc_version_built("libnftnl"), false},
		{"libmnl", bc_version_built("libmnl"), false},
		{"libsystemd", bc_version_built("libsystemd"), false},
	};
	const char *cfgpath = "/etc/bancluster/agent.ini";
	struct bc_agent *a;
	bool check = false;

	bc_log_init("bancluster-agent", BC_LOG_INFO);
	bc_daemon_args(argc, argv, "bancluster-agent", libs,
		       sizeof(libs) / sizeof(libs[0]), &cfgpath, &check);
	if (sodium_init() < 0)
		bc_fatal(1, "libsodium failed to initialise");
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		bc_fatal(1, "out of memory");
	setup(a, cfgpath, check);
	bc_daemon_signals();
	a->log_budget = LOG_BURST;
	request_snapshot(a, "start");
	bc_notify_ready("following the coordinator");
	while (!bc_stop_flag) {
		zmq_pollitem_t items[3];
		/* while syncing, updates wait in the SUB queue (Clone) */
		bool active = a->state == BC_AGENT_ACTIVE;
		/*
		 * Back-pressure: while a report's worth of events waits for its
		 * ack, leave the reader's records in the socket; the reader then
		 * blocks and the lines stay in the logs. An unreachable
		 * coordinator does not stop detection: after the ack timeout the
		 * spool fills to BC_SPOOL_MAX, oldest dropped.
		 */
		bool take = !(a->spool.n >= BC_AGENT_SPOOL_PAUSE &&
			      a->spool.inflight > 0 &&
			      bc_mono_ms() - a->spool.sent_ms < BC_AGENT_ACK_TIMEOUT_MS);
		int n = 1;

		memset(items, 0, sizeof(items));
		items[0].socket = a->dealer;
		items[0].events = ZMQ_POLLIN;
		if (active) {
			items[n].socket = a->sub;
			items[n++].events = ZMQ_POLLIN;
		}
		if (take) {
			items[n].fd = a->rd_fd;
			items[n++].events = ZMQ_POLLIN;
		}
		if (zmq_poll(items, n, take ? 100 : 5) < 0 && errno != EINTR)
			bc_fatal(1, "poll: %s", zmq_strerror(errno));
		if (items[0].revents & ZMQ_POLLIN)
			on_dealer(a);
		if (active && (items[1].revents & ZMQ_POLLIN))
			on_sub(a);
		if (take && (items[n - 1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
			on_reader(a);
		timers(a);
		bc_notify_tick(&a->notify, bc_mono_ms());
		if (bc_reload_flag) {
			bc_reload_flag = 0;
			reload(a, cfgpath);
		}
	}
	bc_notify_stopping();
	bc_info("stopping: %" PRIu64 " updates applied, %" PRIu64 " resyncs; "
		"kernel bans stay and expire on their own",
		a->updates_applied, a->resyncs);
	drain_reports(a);
	{
		struct bc_rdcmd q = {BC_RD_MAGIC, BC_RD_QUIT, 0};

		send(a->rd_fd, &q, sizeof(q), MSG_NOSIGNAL);
		close(a->fwr.fd); /* the firewall process ends at EOF */
		waitpid(a->rd_pid, NULL, 0);
		waitpid(a->fw_pid, NULL, 0);
		close(a->rd_fd);
	}
	zmq_close(a->sub);
	zmq_close(a->dealer);
	zmq_ctx_term(a->zctx);
	bc_policy_free(&a->local_policy);
	bc_banmap_free(&a->local);
	bc_spool_free(&a->spool);
	bc_fw_close(&a->fw);
	bc_banmap_free(&a->fleet);
	bc_banmap_free(&a->pending);
	bc_key_wipe(&a->signer.key);
	bc_keyring_free(&a->coord);
	bc_agent_free_config(&a->cfg);
	free(a);
	return 0;
}
