/*
 * main.c - bancluster-agent: start-up and the signer's loop.
 *
 * Start-up, as root: load agent.ini and check what it names (the same
 * checks as --check-config), open the wire counter, set up the kernel
 * table (the firewall context), the local policy and spool, the local
 * report socket (the reader context); then agent/split.c forks the
 * reader and the firewall process and drops privileges, and only then
 * are the ZeroMQ sockets made. A failure at start is fatal, with one
 * line that says what and where.
 *
 * The loop (the signer, agent.h): DEALER (snapshots, acks) and SUB
 * (updates, hugz) are followed in follow.c, the reader's event records
 * taken in events.c, with back-pressure while a report's worth of
 * events waits for its ack; timers() runs the housekeeping; SIGHUP
 * reloads (reload.c), SIGTERM drains the last report and stops the two
 * children. Kernel bans stay and expire on their own.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "agent/agent.h"
#include "agent/events.h"
#include "agent/follow.h"
#include "agent/init.h"
#include "agent/local.h"
#include "agent/localsync.h"
#include "agent/metrics.h"
#include "agent/privsep.h"
#include "agent/reader.h"
#include "agent/reload.h"
#include "agent/split.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/version.h"
#include "common/zsock.h"

static void timers(struct bc_agent_signer *a)
{
	int64_t now = bc_mono_ms();

	if (a->fwr.dead) /* nothing reaches the kernel any more: stop, so the
			  * supervisor restarts the whole agent */
		bc_fatal(1, "firewall process gone; stopping");

	if (now >= a->next_save_ms) {
		/* lines without events: nothing to wait for */
		if (a->spool.n == 0)
			a->save_due = true;
		bc_events_expire(a);
		a->next_save_ms = now + BC_AGENT_SAVE_MS;
	}
	if (a->save_due && a->spool.n == 0)
		bc_events_save(a); /* the reader waits for this to read on */
	bc_events_report(a);
	bc_localsync_tick(a);
	bc_handshake_tick(a);
	if (now >= a->next_metrics_ms) {
		bc_agent_metrics_write(a);
		a->next_metrics_ms = now + BC_AGENT_METRICS_MS;
	}
	if ((bc_fleetcheck_running(&a->check) || now >= a->next_check_ms) &&
	    !bc_follow_check(a)) {
		int64_t every = a->fleet.n > BC_AGENT_CHECK_BIG ? BC_AGENT_CHECK_BIG_MS
							       : BC_AGENT_CHECK_MS;

		/* reading a million elements back takes the kernel tens of
		 * seconds: the check's pages get at most
		 * 1/BC_AGENT_CHECK_SHARE of the signer's time */
		if (a->check_busy_ms * BC_AGENT_CHECK_SHARE > every)
			every = a->check_busy_ms * BC_AGENT_CHECK_SHARE;
		a->next_check_ms = bc_mono_ms() + every;
	}
	if (now >= a->next_heartbeat_ms) {
		bc_follow_heartbeat(a);
		a->next_heartbeat_ms = now + BC_AGENT_HEARTBEAT_MS;
		a->log_budget = BC_AGENT_LOG_BURST;
	}
	if (a->state == BC_AGENT_ACTIVE &&
	    now - a->last_heard_ms > BC_AGENT_COORD_TTL_MS)
		bc_follow_resync(a, "coordinator silent");
	else if (a->state == BC_AGENT_SYNCING &&
		 now - a->sync_started_ms > (a->request_sent
						     ? BC_AGENT_SYNC_RETRY_MS
						     : BC_AGENT_SYNC_SEND_RETRY_MS))
		bc_follow_resync(a, "no snapshot yet");
}

/*
 * What start needs from the files and the user agent.ini names, checked
 * the same way by start and --check-config: both keys (into a), the user
 * (into u) and a state_dir to create files in. Returns 0, or -1 with
 * "FILE:LINE: [agent] KEY: REASON" in err.
 */
static int check_files(struct bc_agent_signer *a, const char *cfgpath,
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

/*
 * A DEALER per endpoint of [agent] coordinator (one, or the coordinators
 * of a cluster, which share one key, so one CURVE set-up serves every
 * connection) and the SUB, connected to every endpoint of [agent]
 * updates. ZMQ_IMMEDIATE: a report or request is queued only to a
 * coordinator whose connection is up; bc_follow_send (follow.c) chooses
 * which. ZMTP heartbeats drop a connection whose peer stopped answering
 * without closing it (host gone, firewall, SIGSTOP), so what was queued
 * to it is not stuck there: an unacknowledged report is sent again after
 * BC_AGENT_ACK_TIMEOUT_MS (events.c) and a snapshot asked again
 * (timers()), each to the next coordinator of the list.
 */
static void socket_options(void *s)
{
	int ivl = 200, ivlmax = 2000;
	int hb_ivl = BC_AGENT_ZMTP_PING_MS, hb_timeout = BC_AGENT_ZMTP_TIMEOUT_MS;
	int hb_ttl = BC_AGENT_ZMTP_TTL_MS;

	zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof(ivlmax));
	if (zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof(hb_ivl)) < 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
			   sizeof(hb_timeout)) < 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof(hb_ttl)) < 0)
		bc_fatal(1, "socket: heartbeats: %s", zmq_strerror(errno));
}

static void sockets_connect(struct bc_agent_signer *a)
{
	int one = 1;
	char list[2][BC_CFG_ENDPOINTS_MAX * (BC_CFG_STR_MAX + 2)];
	size_t i, k;

	a->ncoord_ep = bc_cfg_endpoints_split(a->cfg.coordinator, a->coord_ep,
					      BC_CFG_ENDPOINTS_MAX);
	a->nupd_ep = bc_cfg_endpoints_split(a->cfg.updates, a->upd_ep,
					    BC_CFG_ENDPOINTS_MAX);
	a->report_ep = a->request_ep = a->snap_ep = -1;
	a->sub = zmq_socket(a->zctx, ZMQ_SUB);
	if (a->sub == NULL ||
	    bc_zsock_options(a->sub, BC_WIRE_MAX_FRAME, 100000) < 0 ||
	    bc_zsock_curve_client(a->sub, &a->signer.key, &a->coord.v[0]) < 0)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	socket_options(a->sub);
	for (i = 0; i < a->ncoord_ep; i++) {
		a->dealer[i] = zmq_socket(a->zctx, ZMQ_DEALER);
		if (a->dealer[i] == NULL ||
		    bc_zsock_options(a->dealer[i], BC_WIRE_MAX_FRAME, 10000) < 0 ||
		    bc_zsock_curve_client(a->dealer[i], &a->signer.key,
					  &a->coord.v[0]) < 0)
			bc_fatal(1, "socket: %s", zmq_strerror(errno));
		zmq_setsockopt(a->dealer[i], ZMQ_IMMEDIATE, &one, sizeof(one));
		socket_options(a->dealer[i]);
	}
	/* a refused key is retried, so enrolment needs no restart */
	if (bc_handshake_watch(a) < 0)
		bc_warn("socket monitor: %s: a refused handshake needs a restart",
			zmq_strerror(errno));
	if (zmq_setsockopt(a->sub, ZMQ_SUBSCRIBE, "", 0) < 0)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	for (i = 0; i < a->nupd_ep; i++)
		if (zmq_connect(a->sub, a->upd_ep[i]) < 0)
			bc_fatal(1, "updates %s: %s", a->upd_ep[i],
				 zmq_strerror(errno));
	for (i = 0; i < a->ncoord_ep; i++)
		if (zmq_connect(a->dealer[i], a->coord_ep[i]) < 0)
			bc_fatal(1, "coordinator %s: %s", a->coord_ep[i],
				 zmq_strerror(errno));
	for (k = 0; k < 2; k++) {
		const char *l = k == 0 ? a->cfg.coordinator : a->cfg.updates;
		size_t o = 0;

		/* "a, b, c" as agent.ini lists them */
		for (i = 0; l[i] != '\0' && o + 3 < sizeof(list[k]); i++) {
			list[k][o++] = l[i];
			if (l[i] == ',')
				list[k][o++] = ' ';
		}
		list[k][o] = '\0';
	}
	bc_info("started: agent %s, coordinator %s, updates %s; version %s, "
		"wire %d..%d", a->cfg.id, list[0], list[1], bc_version(),
		BC_WIRE_VERSION_MIN, BC_WIRE_VERSION);
}

/*
 * Start-up as root: the signer's context a, then the firewall's and the
 * reader's, which agent/split.c hands to the two processes it forks;
 * back in the signer, only a is left, and the ZeroMQ sockets are made.
 */
static void setup(struct bc_agent_signer *a, const char *cfgpath, bool check_only)
{
	struct bc_agent_firewall f = {0};
	struct bc_agent_reader *r;
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
	a->send_version = BC_WIRE_VERSION_MIN; /* until a hugz states more */
	snprintf(path, sizeof(path), "%s/%.64s.counter", a->cfg.state_dir, a->cfg.id);
	if (bc_counter_open(&a->signer.counter, path, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	{
		struct bc_fw_config fwc;

		bc_reload_fw_config(&a->cfg, &fwc);
		f.fw = bc_fw_open(&fwc, err, sizeof(err)); /* keeps elements */
		if (f.fw == NULL)
			bc_fatal(1, "firewall: %s", err);
		if (bc_fw_migrated(f.fw) >= 0)
			bc_info("firewall: old layout replaced in one transaction: "
				"%ld elements moved to the hash and _nets sets",
				bc_fw_migrated(f.fw));
	}
	{
		struct bc_policy_cfg pc;

		bc_agent_local_policy_cfg(&a->cfg, &pc);
		a->local_policy = bc_policy_new(&pc);
		if (a->local_policy == NULL)
			bc_fatal(1, "out of memory");
	}
	bc_spool_init(&a->spool, BC_SPOOL_MAX);
	/* the reader's part of agent.ini, and the local report socket */
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		bc_fatal(1, "out of memory");
	memcpy(r->sources, a->cfg.sources, sizeof(r->sources));
	r->nsources = a->cfg.nsources;
	r->detect = a->cfg.detect;
	r->local_fd = bc_local_open(a->cfg.state_dir, err, sizeof(err));
	if (r->local_fd < 0)
		bc_fatal(1, "local report socket: %s", err);
	bc_split_processes(a, r, &f, &u);
	free(r); /* the signer keeps nothing of the reader's */
	a->zctx = zmq_ctx_new();
	if (a->zctx == NULL)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	sockets_connect(a);
}

int main(int argc, char **argv)
{
	/* --version: beside libzmq, libsodium, libprotobuf-c and inih */
	const struct bc_version_lib libs[] = {
		{"libnftnl", bc_version_built("libnftnl"), false},
		{"libmnl", bc_version_built("libmnl"), false},
		/* loaded by the reader for journal sources only */
		{"libsystemd", bc_version_built("libsystemd"), false},
	};
	const char *cfgpath = "/etc/bancluster/agent.ini";
	struct bc_agent_signer *a;
	struct bc_daemon_opts o = {.coordinator = false};
	size_t k;

	mallopt(M_ARENA_MAX, 1);
	bc_log_init("bancluster-agent", BC_LOG_INFO);
	bc_daemon_args(argc, argv, "bancluster-agent", libs,
		       sizeof(libs) / sizeof(libs[0]), &cfgpath, &o);
	if (sodium_init() < 0)
		bc_fatal(1, "libsodium failed to initialise");
	if (o.init || o.coordinator_key != NULL) /* first set-up: init.c */
		return bc_agent_init(cfgpath, &o);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		bc_fatal(1, "out of memory");
	setup(a, cfgpath, o.check);
	bc_daemon_signals();
	a->log_budget = BC_AGENT_LOG_BURST;
	bc_localsync_start(a);
	bc_follow_resync(a, "start");
	bc_notify_ready("following the coordinator");
	while (!bc_stop_flag) {
		zmq_pollitem_t items[BC_CFG_ENDPOINTS_MAX + 2];
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
		int n = 0, sub = -1, rd = -1, wait_ms;
		bool any = false, dealt = false;

		memset(items, 0, sizeof(items));
		for (k = 0; k < a->ncoord_ep; k++) {
			items[n].socket = a->dealer[k];
			items[n++].events = ZMQ_POLLIN;
		}
		if (active) {
			items[n].socket = a->sub;
			items[n].events = ZMQ_POLLIN;
			sub = n++;
		}
		if (take) {
			items[n].fd = a->rd_fd;
			items[n].events = ZMQ_POLLIN;
			rd = n++;
		}
		/* a self-check in progress reads its next page at once */
		wait_ms = bc_fleetcheck_running(&a->check) ? 0 : take ? 100 : 5;
		if (zmq_poll(items, n, wait_ms) < 0 && errno != EINTR)
			bc_fatal(1, "poll: %s", zmq_strerror(errno));
		for (k = 0; k < (size_t)n; k++)
			any = any || items[k].revents != 0;
		for (k = 0; k < a->ncoord_ep; k++)
			dealt = dealt || (items[k].revents & ZMQ_POLLIN);
		if (dealt)
			bc_follow_dealer(a);
		if (sub >= 0 && (items[sub].revents & ZMQ_POLLIN))
			bc_follow_updates(a);
		if (rd >= 0 && (items[rd].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
			bc_events_read(a);
		timers(a);
		bc_trim_tick(&a->trim,
			     any || a->spool.n > 0,
			     bc_mono_ms());
		bc_notify_tick(&a->notify, bc_mono_ms());
		if (bc_reload_flag) {
			bc_reload_flag = 0;
			bc_reload(a, cfgpath);
		}
	}
	bc_notify_stopping();
	bc_info("stopping: %" PRIu64 " updates applied, %" PRIu64 " resyncs; "
		"kernel bans stay and expire on their own",
		a->updates_applied, a->resyncs);
	bc_events_drain(a);
	{
		struct bc_rdcmd q = {BC_RD_MAGIC, BC_RD_QUIT, 0};

		send(a->rd_fd, &q, sizeof(q), MSG_NOSIGNAL);
		close(a->fwr.fd); /* the firewall process ends at EOF */
		waitpid(a->rd_pid, NULL, 0);
		waitpid(a->fw_pid, NULL, 0);
		close(a->rd_fd);
	}
	bc_handshake_close(a);
	zmq_close(a->sub);
	for (k = 0; k < a->ncoord_ep; k++)
		zmq_close(a->dealer[k]);
	zmq_ctx_term(a->zctx);
	bc_policy_free(&a->local_policy);
	bc_banmap_free(&a->local);
	bc_localsync_free(a);
	bc_spool_free(&a->spool);
	bc_banmap_free(&a->fleet);
	bc_banmap_free(&a->pending);
	bc_fleetcheck_abort(&a->check);
	bc_allowlist_free(&a->fleet_allow);
	bc_allowlist_free(&a->pending_allow);
	bc_key_wipe(&a->signer.key);
	bc_keyring_free(&a->coord);
	bc_agent_free_config(&a->cfg);
	free(a);
	return 0;
}
