/*
 * main.c - bancluster-coordinator: start-up and the loop.
 *
 * One single-threaded loop, one context struct (struct bc_coord, coord.h)
 * made here and handed to every module. Start-up: the configuration and
 * trusted keys (conf/coordinator.c; --check-config stops after them and
 * the database's schema version), the store (migrated forward at open,
 * docs/upgrade.md; epoch, active bans, replay counters), the signer's
 * counter, the
 * sockets (ROUTER for agents and admins, PUB for sequenced updates and
 * hugz, the ZAP handler that admits only pinned CURVE keys), the hooks,
 * the policy (with the reports of the last findtime counted again) and
 * the metrics listener; any failure there is fatal with one line saying
 * what and where. The loop polls the sockets and the HTTP listener, and
 * hands work to the modules by job:
 *   intake.c   ROUTER frames and ZAP: verify, count, answer
 *   admin.c    admin requests (show.c, audit.c)
 *   decide.c   bans, unbans, expiry, publishing, hooks
 *   reload.c   SIGHUP
 *   metrics.c  metrics_file, GET /metrics, GET /healthz
 * and once a second runs tick(). SIGTERM/SIGINT stop it cleanly.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/version.h"
#include "common/zsock.h"
#include "coordinator/allow.h"
#include "coordinator/cluster.h"
#include "coordinator/coord.h"
#include "coordinator/decide.h"
#include "coordinator/evidence.h"
#include "coordinator/init.h"
#include "coordinator/intake.h"
#include "coordinator/localbans.h"
#include "coordinator/metrics.h"
#include "coordinator/reload.h"

static void hooks_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	bc_log(warn ? BC_LOG_WARN : BC_LOG_INFO, "%s", msg);
}

/* Once a second: expiry, heartbeat, liveness, counters, digest,
 * metrics_file and the retention sweep. */
static void tick(struct bc_coord *c)
{
	int64_t now = bc_now_ms();
	size_t i;

	bc_coord_expire(c, now);
	if (c->cluster != NULL)
		bc_cluster_tick(c, now);
	bc_policy_sweep(c->policy, now, BC_POLICY_SWEEP);
	bc_coord_allow_expire(c, now);
	bc_coord_hugz(c);
	for (i = 0; i < c->ring.n; i++) {
		struct bc_agent_state *st = &c->peer_state[i];
		const struct bc_peer *pe = &c->ring.v[i];

		if (pe->role == BC_ROLE_AGENT && st->last_seen_ms != 0 &&
		    now - st->last_seen_ms >= BC_COORD_AGENT_TTL_MS &&
		    now - st->last_seen_ms < BC_COORD_AGENT_TTL_MS + BC_COORD_TICK_MS)
			bc_warn("agent %s offline (silent for %" PRId64 " ms)",
				pe->name, now - st->last_seen_ms);
		if (pe->last_counter[BC_CHAN_ROUTER] != st->counter_saved)
			bc_coord_save_counter(c, i);
	}
	c->log_budget = BC_COORD_LOG_BURST;
	if (c->cfg.digest_to[0] != '\0') {
		char derr[256];

		if (bc_digest_flush(&c->digest, c->cfg.sendmail, c->cfg.digest_to,
				    c->cfg.cluster, c->cfg.digest_interval * 1000,
				    bc_mono_ms(), derr, sizeof(derr)) < 0)
			bc_warn("ban digest: %s", derr);
	}
	if (bc_mono_ms() >= c->next_metrics) {
		bc_coord_write_metrics(c);
		c->next_metrics = bc_mono_ms() + BC_COORD_METRICS_MS;
	}
	if (bc_mono_ms() >= c->next_prune) {
		int64_t keep = c->cfg.retention > c->cfg.recidive_window
				       ? c->cfg.retention
				       : c->cfg.recidive_window;
		int64_t ev_keep = c->cfg.findtime > 86400 ? c->cfg.findtime : 86400;

		int rc = bc_store_prune(c->store, now - ev_keep * 1000,
					now - keep * 1000);

		if (rc < 0)
			bc_warn("prune: %s", bc_store_error(c->store));
		bc_coord_events_forget(c); /* row ids may be handed out again */
		/* locked by another process: the next tick tries again */
		c->next_prune = bc_mono_ms() + (rc == 1 ? BC_COORD_TICK_MS
						       : BC_COORD_PRUNE_MS);
	}
}

static void *open_socket(struct bc_coord *c, int type, const char *ep)
{
	void *s = zmq_socket(c->zctx, type);
	int64_t max = BC_WIRE_MAX_FRAME;
	int hwm = type == ZMQ_PUB ? 100000 : 10000;

	if (s == NULL || bc_zsock_options(s, max, hwm) < 0 ||
	    bc_zsock_curve_server(s, &c->signer.key) < 0)
		bc_fatal(1, "socket: %s", zmq_strerror(errno));
	if (type == ZMQ_ROUTER) {
		int one = 1;

		zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	}
	if (zmq_bind(s, ep) < 0)
		bc_fatal(1, "bind %s: %s", ep, zmq_strerror(errno));
	return s;
}

static void setup(struct bc_coord *c, const char *cfgpath, bool check_only)
{
	char err[512];
	size_t i;

	if (bc_coord_load_config(&c->cfg, cfgpath, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	/* start and --check-config check the same: up to here, and no more */
	if (bc_coord_check_files(&c->cfg, cfgpath, &c->signer.key, &c->ring,
				 err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	/* a database newer than this build: refused before anything else */
	if (bc_store_check(c->cfg.database, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	bc_coord_set_allowed_types(&c->ring);
	if (c->cfg.etcd[0] != '\0' && bc_cluster_check(&c->cfg, cfgpath, err,
							sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	if (check_only) {
		char note[1024];

		bc_cfg_dropins_note(cfgpath, note, sizeof(note));
		printf("%s: OK (%zu trusted keys%s)\n", cfgpath, c->ring.n, note);
		exit(0);
	}
	c->store = bc_store_open(c->cfg.database, err, sizeof(err));
	if (c->store == NULL)
		bc_fatal(1, "%s", err);
	{
		const struct bc_store_schema *sv = bc_store_schema(c->store);

		if (sv->backup[0] != '\0')
			bc_info("store: schema version %d (migrated from %d; the "
				"database as it was is in %s)",
				sv->version, sv->found, sv->backup);
		else
			bc_info("store: schema version %d%s", sv->version,
				sv->found == 0 ? " (new database)" : "");
	}
	c->epoch = bc_store_next_epoch(c->store);
	if (c->epoch == 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	if (bc_store_load(c->store, &c->bans) < 0 ||
	    bc_store_allow_load(c->store, &c->allows) < 0)
		bc_fatal(1, "%s: %s", c->cfg.database, bc_store_error(c->store));
	c->peer_state = calloc(c->ring.n + 1, sizeof(*c->peer_state));
	if (c->peer_state == NULL)
		bc_fatal(1, "out of memory");

	for (i = 0; i < c->ring.n; i++)
		bc_coord_load_counters(c->store, &c->ring.v[i], &c->peer_state[i]);
	snprintf(c->signer.cluster, sizeof(c->signer.cluster), "%.63s", c->cfg.cluster);
	snprintf(c->signer.sender, sizeof(c->signer.sender), "coordinator");
	{
		char cpath[BC_CFG_STR_MAX + 16];

		snprintf(cpath, sizeof(cpath), "%s.counter", c->cfg.database);
		if (bc_counter_open(&c->signer.counter, cpath, err, sizeof(err)) < 0)
			bc_fatal(1, "%s", err);
	}
	c->zctx = zmq_ctx_new();
	c->zap = zmq_socket(c->zctx, ZMQ_REP);
	if (c->zap == NULL || zmq_bind(c->zap, "inproc://zeromq.zap.01") < 0)
		bc_fatal(1, "zap: %s", zmq_strerror(errno));
	c->router = open_socket(c, ZMQ_ROUTER, c->cfg.listen);
	c->pub = open_socket(c, ZMQ_PUB, c->cfg.publish);
	{
		/* before the rule bans of the reports counted again */
		struct bc_hooks_cfg hc;

		bc_coord_hooks_cfg(&c->cfg, &hc);
		c->hooks = bc_hooks_new(&hc, hooks_log, c, err, sizeof(err));
		if (c->hooks == NULL)
			bc_fatal(1, "%s", err);
	}
	{
		struct bc_policy_cfg pc;

		bc_coord_policy_cfg(&c->cfg, &pc);
		c->policy = bc_policy_new(&pc);
		if (c->policy == NULL ||
		    bc_wire_bump_init(&c->bump, BC_COORD_BUMP_BYTES) < 0)
			bc_fatal(1, "out of memory");
		if (c->cfg.etcd[0] != '\0') {
			/* cluster mode: bans, epoch, seq and the windows' events
			 * come from etcd (cluster.h) */
			if (bc_cluster_start(c, err, sizeof(err)) < 0)
				bc_fatal(1, "%s", err);
		} else if (bc_coord_recount(c) < 0) {
			bc_fatal(1, "%s: %s", c->cfg.database,
				 bc_store_error(c->store));
		}
	}
	if (c->cfg.metrics_listen[0] != '\0') {
		const struct bc_httpd_ops ops = {bc_coord_http_metrics, bc_coord_http_health, c};

		c->httpd = bc_httpd_open(c->cfg.metrics_listen, &ops, err, sizeof(err));
		if (c->httpd == NULL)
			bc_fatal(1, "metrics_listen %s", err);
	}
	c->started_ms = bc_now_ms();
	c->reply_version = BC_WIRE_VERSION;
	c->log_budget = BC_COORD_LOG_BURST;
	bc_info("started: epoch %" PRIu64 ", %zu active bans, %zu trusted keys, "
		"listening on %s, publishing on %s%s%s; version %s, wire %d..%d",
		c->epoch, c->bans.n, c->ring.n, c->cfg.listen, c->cfg.publish,
		c->httpd != NULL ? ", metrics on http://" : "",
		c->httpd != NULL ? c->cfg.metrics_listen : "", bc_version(),
		BC_WIRE_VERSION_MIN, BC_WIRE_VERSION);
}

int main(int argc, char **argv)
{
	/* --version: beside libzmq, libsodium, libprotobuf-c and inih */
	const struct bc_version_lib libs[] = {
		{"sqlite3", sqlite3_libversion(), true},
	};
	const char *cfgpath = "/etc/bancluster/coordinator.ini";
	struct bc_coord *c;
	struct bc_daemon_opts o = {.coordinator = true};
	int i;

	bc_log_init("bancluster-coordinator", BC_LOG_INFO);
	bc_daemon_args(argc, argv, "bancluster-coordinator", libs,
		       sizeof(libs) / sizeof(libs[0]), &cfgpath, &o);
	if (sodium_init() < 0)
		bc_fatal(1, "libsodium failed to initialise");
	if (o.init || o.admin_name != NULL) /* first set-up: init.c */
		return bc_coord_init(cfgpath, &o);
	if (o.cluster_import) /* one coordinator to a cluster: cluster_import.c */
		return bc_cluster_import(cfgpath);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		bc_fatal(1, "out of memory");
	setup(c, cfgpath, o.check);
	bc_daemon_signals();
	c->next_tick = bc_mono_ms() + BC_COORD_TICK_MS;
	{
		char st[128];

		snprintf(st, sizeof(st), "epoch %llu, %zu active bans",
			 (unsigned long long)c->epoch, c->bans.n);
		bc_notify_ready(st);
	}
	while (!bc_stop_flag) {
		zmq_pollitem_t items[5 + BC_HTTPD_POLLITEMS] = {
			{c->router, 0, ZMQ_POLLIN, 0},
			{c->zap, 0, ZMQ_POLLIN, 0},
		};
		int base = 2;
		int64_t wait = c->next_tick - bc_mono_ms();
		long hw = bc_hooks_wait_ms(c->hooks);
		size_t nh;

		if (c->cluster != NULL) {
			items[base++] = (zmq_pollitem_t){bc_cluster_socket(c), 0,
							 ZMQ_POLLIN, 0};
			items[base++] = (zmq_pollitem_t){NULL, bc_cluster_fd(c),
							 ZMQ_POLLIN, 0};
			items[base++] = (zmq_pollitem_t){NULL, bc_cluster_events_fd(c),
							 ZMQ_POLLIN, 0};
		}
		nh = c->httpd != NULL ? bc_httpd_pollitems(c->httpd, items + base,
							   BC_HTTPD_POLLITEMS)
				      : 0;
		if (hw >= 0 && hw < wait)
			wait = hw;
		if (c->cluster != NULL && wait > BC_COORD_CLUSTER_TURN_MS)
			wait = BC_COORD_CLUSTER_TURN_MS; /* leadership changes */
		if (c->cluster != NULL && bc_cluster_busy(c))
			wait = 0; /* decisions to commit: no sleep */
		if (zmq_poll(items, base + (int)nh, wait > 0 ? (long)wait : 0) < 0) {
			if (errno != EINTR)
				bc_fatal(1, "poll: %s", zmq_strerror(errno));
			nh = 0; /* revents not set */
		}
		if (items[1].revents & ZMQ_POLLIN)
			bc_coord_zap(c);
		if (c->cluster != NULL && (items[4].revents & ZMQ_POLLIN))
			bc_cluster_events_done(c); /* acks of the batch that landed */
		if (items[0].revents & ZMQ_POLLIN)
			bc_coord_drain_router(c);
		if (c->cluster != NULL && (items[2].revents & ZMQ_POLLIN))
			bc_cluster_drain(c);
		else if (c->cluster != NULL)
			bc_cluster_turn(c);
		bc_hooks_poll(c->hooks, bc_mono_ms());
		if (c->httpd != NULL)
			bc_httpd_handle(c->httpd, items + base, nh, bc_mono_ms());
		bc_notify_tick(&c->notify, bc_mono_ms());
		if (bc_reload_flag) {
			bc_reload_flag = 0;
			bc_coord_reload(c, cfgpath);
		}
		if (bc_mono_ms() >= c->next_tick) {
			tick(c);
			c->next_tick = bc_mono_ms() + BC_COORD_TICK_MS;
		}
	}
	bc_notify_stopping();
	bc_info("stopping: %" PRIu64 " reports, %" PRIu64 " events received",
		c->reports, c->events);
	for (i = 0; i < BC_REJ_MAX; i++)
		if (c->rejected[i])
			bc_info("rejected %s: %" PRIu64, bc_wire_reject_name(i),
				c->rejected[i]);
	bc_cluster_stop(c);
	bc_coord_events_forget(c);
	bc_hooks_free(&c->hooks);
	bc_httpd_close(&c->httpd);
	zmq_close(c->router);
	zmq_close(c->pub);
	zmq_close(c->zap);
	zmq_ctx_term(c->zctx);
	bc_store_close(&c->store);
	bc_policy_free(&c->policy);
	bc_wire_bump_free(&c->bump);
	bc_banmap_free(&c->bans);
	bc_allowlist_free(&c->allows);
	bc_key_wipe(&c->signer.key);
	for (i = 0; i < (int)c->ring.n; i++)
		bc_coord_local_free(&c->peer_state[i]);
	bc_keyring_free(&c->ring);
	bc_coord_free_config(&c->cfg);
	free(c->peer_state);
	free(c);
	return 0;
}
