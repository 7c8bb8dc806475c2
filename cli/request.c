/*
 * request.c - cli.ini, the admin keys and one signed admin request to
 * the coordinator over CurveZMQ (request.h).
 *
 * The request is sealed with the admin key (sender id: the key file's
 * name without ".key", as admins_dir/NAME.pub names it on the
 * coordinator) and carries 16 random bytes of nonce. Replies are
 * untrusted until bc_wire_open verifies them against the one pinned
 * coordinator key; a verified reply that does not echo the nonce is
 * dropped. A monitor on the socket tells what happened when no reply
 * comes: no connection, a handshake that failed, the coordinator's ZAP
 * refusing this key (reported at once), or a key accepted and the
 * request dropped; the message names only the causes left. Nothing here
 * prints or exits: every failure returns the exit status and a one-line
 * message for the command to print.
 */
#include "cli/request.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <zmq.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/zsock.h"
#include "proto/wire_zmq.h"

#define MONITOR_EP "inproc://bancluster-cli-monitor"
#define SEEN_CONNECTED 1
#define SEEN_HANDSHAKE 2
#define SEEN_REFUSED 4

#define K(...) BC_CFG_KEY(struct bc_cli_cfg, __VA_ARGS__)

static const struct bc_cfg_key cli_keys[] = {
	K("cli", "coordinator", BC_CFG_ENDPOINT, coordinator, 0, 0, NULL),
	K("cli", "key", BC_CFG_PATH, key, 1, 0, NULL),
	K("cli", "coordinator_key", BC_CFG_PATH, coordinator_key, 1, 0, NULL),
	K("cli", "cluster", BC_CFG_STR, cluster, 1, 63, BC_CLUSTER_DEFAULT),
	K("cli", "timeout", BC_CFG_DUR, timeout, 1, 600, "5s"),
};

int bc_cli_load(struct bc_cli *c, char *err, size_t errlen)
{
	struct bc_peer cp;
	char base[256];

	if (c->loaded)
		return 0;
	if (bc_cfg_load(c->cfgpath, cli_keys, sizeof(cli_keys) / sizeof(cli_keys[0]),
			&c->cfg, NULL, err, errlen) < 0)
		return EX_CONFIG;
	if (bc_key_load_secret(&c->signer.key, c->cfg.key, err, errlen) < 0)
		return EX_CONFIG;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_key_load_public(&cp, c->cfg.coordinator_key, err, errlen) < 0)
		return EX_CONFIG;
	if (bc_keyring_add(&c->coord, &cp) < 0) {
		snprintf(err, errlen,
			 "%s: coordinator_key %s: cannot keep the key (out of memory)",
			 c->cfgpath, c->cfg.coordinator_key);
		return EX_CONFIG;
	}
	/* the sender id is the admin key's file name: admins_dir/NAME.pub */
	{
		const char *slash = strrchr(c->cfg.key, '/');
		size_t len;

		snprintf(base, sizeof(base), "%s", slash ? slash + 1 : c->cfg.key);
		len = strlen(base);
		if (len > 4 && strcmp(base + len - 4, ".key") == 0)
			base[len - 4] = '\0';
	}
	snprintf(c->signer.sender, sizeof(c->signer.sender), "%.63s", base);
	snprintf(c->signer.cluster, sizeof(c->signer.cluster), "%.63s", c->cfg.cluster);
	if (bc_counter_open(&c->signer.counter, NULL, err, errlen) < 0)
		return EX_CONFIG;
	c->loaded = 1;
	return 0;
}

/* Read one monitor event (two frames) and note what it says. */
static void monitor_read(void *mon, int *seen)
{
	uint8_t ev[6];
	char ep[256];
	uint16_t e;

	if (zmq_recv(mon, ev, sizeof(ev), ZMQ_DONTWAIT) != (int)sizeof(ev))
		return;
	zmq_recv(mon, ep, sizeof(ep), 0);
	memcpy(&e, ev, sizeof(e));
	if (e == ZMQ_EVENT_CONNECTED)
		*seen |= SEEN_CONNECTED;
	else if (e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
		*seen |= SEEN_HANDSHAKE;
	else if (e == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		*seen |= SEEN_REFUSED;
}

/* The message for no reply, naming only the causes not ruled out. */
static void no_reply(const struct bc_cli *c, int seen, char *err,
		     size_t errlen)
{
	char fpr[BC_KEY_FPR_LEN], ck[BC_KEY_CURVE_HEX_LEN], b64[BC_KEY_B64_LEN];

	bc_key_fingerprint(c->signer.key.id, BC_KEY_ID_BYTES, fpr);
	bc_key_fingerprint_curve(c->signer.key.curve_pk, ck);
	if (seen & SEEN_REFUSED) /* with the line that enrols it */
		snprintf(err, errlen,
			 "coordinator %s refused this admin key (%s, CURVE key "
			 "%s): it is not in the coordinator's admins_dir; an "
			 "enrolled admin adds it with: bancluster admin add %s %s",
			 c->cfg.coordinator, c->cfg.key, ck, c->signer.sender,
			 bc_key_public_b64(c->signer.key.pk, b64));
	else if (seen & SEEN_HANDSHAKE)
		snprintf(err, errlen,
			 "coordinator %s accepted this admin key (fingerprint %s)"
			 " but did not answer within %llds: clock skew over "
			 "%ds, cluster \"%s\" not the coordinator's, or a "
			 "coordinator of wire 1 (its log names the key and why)",
			 c->cfg.coordinator, fpr, (long long)c->cfg.timeout,
			 BC_WIRE_SKEW_MS / 1000, c->cfg.cluster);
	else if (seen & SEEN_CONNECTED)
		snprintf(err, errlen,
			 "coordinator %s: connected, but no CurveZMQ handshake "
			 "within %llds: is coordinator_key %s the coordinator's "
			 "key?", c->cfg.coordinator, (long long)c->cfg.timeout,
			 c->cfg.coordinator_key);
	else
		snprintf(err, errlen,
			 "coordinator %s: no connection within %llds: it is not "
			 "running or not reachable at that address",
			 c->cfg.coordinator, (long long)c->cfg.timeout);
}

Bancluster__Payload *bc_cli_request(struct bc_cli *c, Bancluster__AdminReq *rq,
				    int *status, char *err, size_t errlen)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT, *reply = NULL;
	uint8_t nonce[16];
	void *ctx, *s, *mon = NULL;
	int64_t deadline;
	int seen = 0;

	if ((*status = bc_cli_load(c, err, errlen)) != 0)
		return NULL;
	ctx = zmq_ctx_new();
	randombytes_buf(nonce, sizeof(nonce));
	rq->nonce.data = nonce;
	rq->nonce.len = sizeof(nonce);
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ;
	p.admin_req = rq;
	s = zmq_socket(ctx, ZMQ_DEALER);
	if (s == NULL || bc_zsock_options(s, BC_WIRE_MAX_FRAME, 100) < 0 ||
	    bc_zsock_curve_client(s, &c->signer.key, &c->coord.v[0]) < 0) {
		*status = BC_EXIT_ERROR;
		snprintf(err, errlen, "socket: %s", zmq_strerror(errno));
		goto out;
	}
	/* what the connection did, for the message when no reply comes;
	 * without a monitor that message only lists the causes */
	if (zmq_socket_monitor(s, MONITOR_EP,
			       ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0) {
		int zero = 0;

		mon = zmq_socket(ctx, ZMQ_PAIR);
		if (mon != NULL &&
		    (zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
		     zmq_connect(mon, MONITOR_EP) < 0)) {
			zmq_close(mon);
			mon = NULL;
		}
	}
	if (zmq_connect(s, c->cfg.coordinator) < 0) {
		*status = EX_CONFIG;
		snprintf(err, errlen, "%s: coordinator \"%s\": %s", c->cfgpath,
			 c->cfg.coordinator, zmq_strerror(errno));
		goto out;
	}
	if (bc_wire_send(&c->signer, BC_WIRE_VERSION, s, NULL,
			 BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, &p, 0) == BC_WIRE_SEND_SIGN) {
		*status = BC_EXIT_ERROR;
		snprintf(err, errlen, "cannot sign the request");
		goto out;
	}
	deadline = bc_mono_ms() + c->cfg.timeout * 1000;
	while (reply == NULL && !(seen & SEEN_REFUSED)) {
		zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0},
					{mon, 0, ZMQ_POLLIN, 0}};
		int64_t left = deadline - bc_mono_ms();
		Bancluster__Payload *r;
		struct bc_peer *from;
		zmq_msg_t m;

		if (left <= 0 || zmq_poll(it, mon ? 2 : 1, (long)left) <= 0)
			break;
		if (mon != NULL && (it[1].revents & ZMQ_POLLIN))
			monitor_read(mon, &seen);
		if (!(it[0].revents & ZMQ_POLLIN))
			continue;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			continue;
		}
		if (bc_wire_open(&c->coord, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME,
				 1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY,
				 BC_CHAN_DEALER, c->cfg.cluster, bc_now_ms(), &r,
				 &from) == BC_REJ_OK) {
			if (r->admin_reply->nonce.len == sizeof(nonce) &&
			    sodium_memcmp(r->admin_reply->nonce.data, nonce,
					  sizeof(nonce)) == 0)
				reply = r;
			else
				bancluster__payload__free_unpacked(r, NULL);
		}
		zmq_msg_close(&m);
	}
	if (reply == NULL) {
		*status = EX_UNAVAILABLE;
		if (mon != NULL) /* events already queued */
			while (zmq_poll(&(zmq_pollitem_t){mon, 0, ZMQ_POLLIN, 0},
					1, 0) > 0 && !(seen & SEEN_REFUSED))
				monitor_read(mon, &seen);
		no_reply(c, seen, err, errlen);
	}
out:
	if (mon != NULL)
		zmq_close(mon);
	if (s != NULL)
		zmq_close(s);
	zmq_ctx_term(ctx);
	return reply;
}

void bc_cli_free(struct bc_cli *c)
{
	bc_keyring_free(&c->coord);
	bc_key_wipe(&c->signer.key);
	c->loaded = 0;
}
