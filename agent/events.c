/*
 * events.c - the signer's side of detection (events.h): event records
 * from the reader process go to the local policy (a local ban when it
 * says so) and to the spool, from which reports go to the coordinator;
 * acks empty the spool and let the reader save its cursors.
 *
 * Untrusted: the reader's records (the reader parses attacker text).
 * Each must have the exact size, magic, sequence and a known kind and
 * family, or the agent stops (its supervisor restarts it): a reader that
 * sends garbage is broken or taken over. The log excerpt in a record is
 * escaped by the reader and cut to BC_SPOOL_LINE. Local bans go to the
 * kernel through the firewall process; a failure is logged, not fatal.
 * An address inside the coordinator's allow list (fleet_allow, from the
 * Clone stream: follow.c) is reported but never counted toward a local
 * ban, like one of [local] allow.
 */
#include "agent/events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#include "agent/follow.h"
#include "agent/localsync.h"
#include "agent/metrics.h"
#include "agent/reader.h"
#include "common/clock.h"
#include "common/log.h"

/* A local ban: this host defends itself whatever the coordinator says. */
static void local_ban(struct bc_agent_signer *a, const struct bc_policy_hit *h)
{
	struct bc_interval_ops ops = {0};
	struct bc_ban b;
	char err[256] = "out of memory", as[BC_ADDR_STRLEN];
	int64_t now = bc_now_ms();

	if (bc_allowlist_overlaps(&a->fleet_allow, &h->key, now) != NULL) {
		bc_warn("no local ban of %s: it overlaps the coordinator's allow list",
			bc_addr_format(&h->key, as, sizeof(as)));
		return;
	}
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
		bc_localsync_added(a, &b, h->score, (h->last_ms - h->first_ms) / 1000);
		bc_info("local ban %s for %llds: %g events in %llds",
			bc_addr_format(&b.addr, as, sizeof(as)),
			(long long)a->cfg.local_bantime, h->score,
			(long long)((h->last_ms - h->first_ms) / 1000));
	}
	bc_interval_ops_free(&ops);
}

/* Local bans whose time is over leave the map (the kernel already
 * dropped their elements by timeout); addresses whose window emptied
 * leave the local policy (BC_POLICY_SWEEP buckets a call). */
void bc_events_expire(struct bc_agent_signer *a)
{
	int64_t now = bc_now_ms();
	size_t i = 0;

	bc_policy_sweep(a->local_policy, now, BC_POLICY_SWEEP);

	while (i < a->local.n) {
		if (a->local.v[i].expires_ms != 0 && a->local.v[i].expires_ms <= now) {
			struct bc_addr gone = a->local.v[i].addr;

			bc_banmap_del(&a->local, &gone);
			bc_localsync_removed(a, &gone);
		} else
			i++;
	}
}

static void on_event(struct bc_agent_signer *a, const struct bc_event *e,
		     const char *line, size_t len)
{
	struct bc_policy_event pe;
	struct bc_policy_hit hit;
	struct bc_spool_ev sev;
	int64_t now = bc_now_ms();

	if (e->kind < BC_KINDS)
		a->events[bc_agent_metrics_service(e->service)][e->kind]++;
	memset(&sev, 0, sizeof(sev));
	sev.time_ms = e->time_ms > 0 && e->time_ms <= now ? e->time_ms : now;
	sev.kind = e->kind;
	sev.addr = e->addr;
	snprintf(sev.service, sizeof(sev.service), "%s", e->service);
	/* escaped by the reader */
	snprintf(sev.line, sizeof(sev.line), "%.*s", (int)len, line);
	bc_spool_push(&a->spool, &sev);
	/* inside the coordinator's allow list: reported, never banned here */
	if (bc_allowlist_match(&a->fleet_allow, &e->addr, now) != NULL) {
		a->allowed_events++;
		return;
	}
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
void bc_events_read(struct bc_agent_signer *a)
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
		if (m.seq != a->rd_seq + 1 || m.ev.kind < BC_KIND_FIRST ||
		    m.ev.kind > BC_KIND_MAX ||
		    (m.ev.addr.family != AF_INET && m.ev.addr.family != AF_INET6) ||
		    memchr(m.ev.service, '\0', sizeof(m.ev.service)) == NULL)
			bc_fatal(1, "reader process sent a malformed record");
		a->rd_seq = m.seq;
		on_event(a, &m.ev, m.line, m.len);
	}
}

/* One report in flight at a time; events that arrive meanwhile batch up. */
void bc_events_report(struct bc_agent_signer *a)
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
		/* ... to the next coordinator of the list, if it was cur_ep */
		bc_follow_unanswered(a, a->report_ep);
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
	if (bc_follow_send(a, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p,
			   &a->report_ep) == 0) {
		bc_spool_take(&a->spool, n, id, now);
		a->reports_sent++;
	}
out:
	free(ev);
	free(evp);
}

/* An ack from the coordinator: the report it names leaves the spool. */
void bc_events_ack(struct bc_agent_signer *a, uint64_t report_id)
{
	if (bc_spool_ack(&a->spool, report_id)) {
		a->reports_acked++;
		if (a->spool.n == 0)
			a->save_due = true; /* all read lines acked */
	}
}

/*
 * A cursor moves only past lines whose events the coordinator has
 * acknowledged (the spool is empty): after a restart, lines not yet
 * acknowledged are read again, and acknowledged ones are not.
 */
void bc_events_save(struct bc_agent_signer *a)
{
	struct bc_rdcmd c = {BC_RD_MAGIC, BC_RD_SAVE, a->rd_seq};

	if (send(a->rd_fd, &c, sizeof(c), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		bc_fatal(1, "reader process gone");
	a->save_due = false;
}

/* On SIGTERM: give the last report a moment to be acknowledged, so the
 * cursors can be saved past it (no line read twice after a restart). */
void bc_events_drain(struct bc_agent_signer *a)
{
	int64_t end = bc_mono_ms() + BC_AGENT_DRAIN_MS;

	do {
		bc_events_read(a); /* events already on their way */
		bc_events_report(a);
		bc_follow_dealer_wait(a, 50);
	} while (a->spool.n > 0 && bc_mono_ms() < end);
	if (a->spool.n == 0)
		bc_events_save(a);
	else
		bc_warn("stopping with %zu events unacknowledged: their lines "
			"will be read again at the next start", a->spool.n);
}
