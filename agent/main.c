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
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#include "agent/agent.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/zsock.h"

#define LOG_BURST 20

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

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

	if (a->state == BC_AGENT_ACTIVE || a->resyncs == 0)
		bc_info("resync: %s", why);
	a->state = BC_AGENT_SYNCING;
	a->resyncs++;
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
}

static void send_heartbeat(struct bc_agent *a)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Heartbeat h = BANCLUSTER__HEARTBEAT__INIT;

	h.epoch = a->epoch;
	h.seq = a->seq;
	h.fleet_count = a->fleet.n;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HEARTBEAT;
	p.heartbeat = &h;
	send_dealer(a, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, &p);
}

static void apply_snapshot(struct bc_agent *a)
{
	struct bc_fw_ops ops = {0};
	char err[256];
	int64_t t0 = bc_mono_ms();

	if (bc_banset_all(&a->pending, bc_now_ms(), BC_FW_FLEET, &ops) < 0 ||
	    bc_fw_replace(a->fw, BC_FW_FLEET, ops.v, ops.n, err,
			  sizeof(err)) < 0) {
		bc_warn("snapshot apply failed: %s; retrying", ops.v ? err : "out of memory");
		bc_fw_ops_free(&ops);
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
		" seq %" PRIu64 " in %" PRId64 " ms",
		a->fleet.n, ops.n, a->epoch, a->seq, bc_mono_ms() - t0);
	bc_fw_ops_free(&ops);
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
		bancluster__payload__free_unpacked(p, NULL);
	}
}

/* Apply a burst of updates from SUB in one firewall transaction. */
static void on_sub(struct bc_agent *a)
{
	struct bc_fw_ops ops = {0};
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
				if (bc_banset_change(&a->fleet, &b, u->remove,
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
	if (ops.n > 0 &&
	    bc_fw_apply(a->fw, ops.v, ops.n, err, sizeof(err)) < 0) {
		bc_warn("firewall update failed: %s", err);
		resync = 1;
		why = "firewall update failed";
	}
	bc_fw_ops_free(&ops);
	if (resync)
		request_snapshot(a, why);
}

static void timers(struct bc_agent *a)
{
	int64_t now = bc_mono_ms();

	if (now >= a->next_heartbeat_ms) {
		send_heartbeat(a);
		a->next_heartbeat_ms = now + BC_AGENT_HEARTBEAT_MS;
		a->log_budget = LOG_BURST;
	}
	if (a->state == BC_AGENT_ACTIVE &&
	    now - a->last_heard_ms > BC_AGENT_COORD_TTL_MS)
		request_snapshot(a, "coordinator silent");
	else if (a->state == BC_AGENT_SYNCING &&
		 (!a->request_sent ||
		  now - a->sync_started_ms > BC_AGENT_SYNC_RETRY_MS))
		request_snapshot(a, "no snapshot yet");
}

static void setup(struct bc_agent *a, const char *cfgpath, bool check_only)
{
	struct bc_fw_config fwc;
	struct bc_peer cp;
	char err[512], path[BC_CFG_STR_MAX + 96];
	size_t i;

	if (bc_agent_load_config(&a->cfg, cfgpath, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	if (bc_key_load_secret(&a->signer.key, a->cfg.key, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_key_load_public(&cp, a->cfg.coordinator_key, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	if (bc_keyring_add(&a->coord, &cp) < 0)
		bc_fatal(1, "out of memory");
	if (check_only) {
		printf("%s: OK (agent %s, %zu sources)\n", cfgpath, a->cfg.id,
		       a->cfg.nsources);
		exit(0);
	}
	snprintf(a->signer.cluster, sizeof(a->signer.cluster), "%.63s", a->cfg.cluster);
	snprintf(a->signer.sender, sizeof(a->signer.sender), "%.63s", a->cfg.id);
	snprintf(path, sizeof(path), "%s/%.64s.counter", a->cfg.state_dir, a->cfg.id);
	if (bc_counter_open(&a->signer.counter, path, err, sizeof(err)) < 0)
		bc_fatal(1, "%s", err);
	memset(&fwc, 0, sizeof(fwc));
	fwc.all_ports = a->cfg.ports.all;
	for (i = 0; i < a->cfg.ports.n && i < BC_FW_MAX_PORTS; i++)
		fwc.ports[fwc.nports++] = a->cfg.ports.port[i];
	a->fw = bc_fw_open(&fwc, err, sizeof(err));
	if (a->fw == NULL)
		bc_fatal(1, "firewall: %s", err);
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

static void usage(void)
{
	fprintf(stderr, "usage: bancluster-agent -c FILE [--check-config]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfgpath = "/etc/bancluster/agent.ini";
	struct bc_agent *a;
	bool check = false;
	int ch;

	bc_log_init("bancluster-agent", BC_LOG_INFO);
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'C':
			check = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (sodium_init() < 0)
		bc_fatal(1, "libsodium failed to initialise");
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		bc_fatal(1, "out of memory");
	setup(a, cfgpath, check);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	a->log_budget = LOG_BURST;
	request_snapshot(a, "start");
	while (!stop_flag) {
		zmq_pollitem_t items[2] = {
			{a->dealer, 0, ZMQ_POLLIN, 0},
			{a->sub, 0, ZMQ_POLLIN, 0},
		};
		/* while syncing, updates wait in the SUB queue (Clone) */
		int nitems = a->state == BC_AGENT_ACTIVE ? 2 : 1;

		if (zmq_poll(items, nitems, 100) < 0 && errno != EINTR)
			bc_fatal(1, "poll: %s", zmq_strerror(errno));
		if (items[0].revents & ZMQ_POLLIN)
			on_dealer(a);
		if (nitems == 2 && (items[1].revents & ZMQ_POLLIN))
			on_sub(a);
		timers(a);
	}
	bc_info("stopping: %" PRIu64 " updates applied, %" PRIu64 " resyncs; "
		"kernel bans stay and expire on their own",
		a->updates_applied, a->resyncs);
	zmq_close(a->sub);
	zmq_close(a->dealer);
	zmq_ctx_term(a->zctx);
	bc_fw_close(&a->fw);
	bc_banmap_free(&a->fleet);
	bc_banmap_free(&a->pending);
	bc_key_wipe(&a->signer.key);
	bc_keyring_free(&a->coord);
	bc_agent_free_config(&a->cfg);
	free(a);
	return 0;
}
