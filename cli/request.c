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
 * request dropped; the message names only the causes left.
 *
 * [cli] coordinator may list several coordinators (a cluster): each is
 * asked in turn until one answers, each attempt a fresh context and
 * socket (nothing stays queued to a dead endpoint) and the request
 * signed anew, so no signed bytes are sent twice (docs/ha.md, "The CLI
 * and several coordinators"). Nothing here prints or exits: every
 * failure returns the exit status and a one-line message for the
 * command to print.
 */
#include "cli/request.h"

#include <errno.h>
#include <stdbool.h>
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
#define SEEN_RETRIED 8 /* a connection attempt failed */

#define K(...) BC_CFG_KEY(struct bc_cli_cfg, __VA_ARGS__)

static const struct bc_cfg_key cli_keys[] = {
	K("cli", "coordinator", BC_CFG_ENDPOINTS, coordinator, 0, 0, NULL),
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
	else if (e == ZMQ_EVENT_CONNECT_RETRIED)
		*seen |= SEEN_RETRIED;
}

/* The message for no reply, naming only the causes not ruled out. */
static void no_reply(const struct bc_cli *c, const char *ep, int seen,
		     char *err, size_t errlen)
{
	char fpr[BC_KEY_FPR_LEN], ck[BC_KEY_CURVE_HEX_LEN], b64[BC_KEY_B64_LEN];

	bc_key_fingerprint(c->signer.key.id, BC_KEY_ID_BYTES, fpr);
	bc_key_fingerprint_curve(c->signer.key.curve_pk, ck);
	if (seen & SEEN_REFUSED) /* with the line that enrols it */
		snprintf(err, errlen,
			 "coordinator %s refused this admin key (%s, CURVE key "
			 "%s): it is not in the coordinator's admins_dir; an "
			 "enrolled admin adds it with: bancluster admin add %s %s",
			 ep, c->cfg.key, ck, c->signer.sender,
			 bc_key_public_b64(c->signer.key.pk, b64));
	else if (seen & SEEN_HANDSHAKE)
		snprintf(err, errlen,
			 "coordinator %s accepted this admin key (fingerprint %s)"
			 " but did not answer within %llds: clock skew over "
			 "%ds, cluster \"%s\" not the coordinator's, or a "
			 "coordinator of wire 1 (its log names the key and why)",
			 ep, fpr, (long long)c->cfg.timeout,
			 BC_WIRE_SKEW_MS / 1000, c->cfg.cluster);
	else if (seen & SEEN_CONNECTED)
		snprintf(err, errlen,
			 "coordinator %s: connected, but no CurveZMQ handshake "
			 "within %llds: is coordinator_key %s the coordinator's "
			 "key?", ep, (long long)c->cfg.timeout,
			 c->cfg.coordinator_key);
	else
		snprintf(err, errlen,
			 "coordinator %s: no connection within %llds: it is not "
			 "running or not reachable at that address",
			 ep, (long long)c->cfg.timeout);
}

/* "3 s", "1.7 s": a wait of ms for a list's message. */
static const char *wait_text(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%lld s", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lld.%lld s", (long long)(ms / 1000),
			 (long long)(ms % 1000 + 50) / 100 % 10);
	return buf;
}

/* One endpoint of a list and why it gave no reply, in a few words. */
static void why_one(const char *ep, int seen, int64_t waited_ms, char *buf,
		    size_t len)
{
	char w[32];

	wait_text(waited_ms, w, sizeof(w));
	if (seen & SEEN_REFUSED)
		snprintf(buf, len, "%s (refused this admin key: not in its "
			 "admins_dir)", ep);
	else if (seen & SEEN_HANDSHAKE)
		snprintf(buf, len, "%s (key accepted, no answer in %s)", ep, w);
	else if (seen & SEEN_CONNECTED)
		snprintf(buf, len, "%s (connected, no CurveZMQ handshake in %s)",
			 ep, w);
	else if (seen & SEEN_RETRIED)
		snprintf(buf, len, "%s (connection refused or unreachable)", ep);
	else
		snprintf(buf, len, "%s (no answer in %s)", ep, w);
}

/*
 * One attempt: a fresh context and socket to ep, rq signed anew (fresh
 * nonce, next counter), a wait of up to wait_ms for the reply that
 * echoes the nonce. In a list (fail_fast) a connection that failed ends
 * the wait at once. Returns the reply, or NULL with what the monitor saw
 * in *seen; *status is EX_CONFIG for an endpoint zmq refuses (zmq's
 * reason alone in err), 1 for a socket or signing failure (the message
 * in err), else EX_UNAVAILABLE (err untouched).
 */
static Bancluster__Payload *ask_one(struct bc_cli *c, const char *ep,
				    Bancluster__AdminReq *rq, int64_t wait_ms,
				    bool fail_fast, int *seen, int *status,
				    char *err, size_t errlen)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT, *reply = NULL;
	uint8_t nonce[16];
	void *ctx, *s, *mon = NULL;
	int64_t deadline;
	int zero = 0;

	*seen = 0;
	*status = EX_UNAVAILABLE;
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
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				       ZMQ_EVENT_CONNECT_RETRIED) == 0) {
		mon = zmq_socket(ctx, ZMQ_PAIR);
		if (mon != NULL &&
		    (zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
		     zmq_connect(mon, MONITOR_EP) < 0)) {
			zmq_close(mon);
			mon = NULL;
		}
	}
	if (zmq_connect(s, ep) < 0) {
		*status = EX_CONFIG; /* the reason alone: the caller says where */
		snprintf(err, errlen, "%s", zmq_strerror(errno));
		goto out;
	}
	if (bc_wire_send(&c->signer, BC_WIRE_VERSION, s, NULL,
			 BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, &p, 0) == BC_WIRE_SEND_SIGN) {
		*status = BC_EXIT_ERROR;
		snprintf(err, errlen, "cannot sign the request");
		goto out;
	}
	deadline = bc_mono_ms() + wait_ms;
	while (reply == NULL && !(*seen & SEEN_REFUSED) &&
	       !(fail_fast && (*seen & SEEN_RETRIED) && !(*seen & SEEN_CONNECTED))) {
		zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0},
					{mon, 0, ZMQ_POLLIN, 0}};
		int64_t left = deadline - bc_mono_ms();
		Bancluster__Payload *r;
		struct bc_peer *from;
		zmq_msg_t m;

		if (left <= 0 || zmq_poll(it, mon ? 2 : 1, (long)left) <= 0)
			break;
		if (mon != NULL && (it[1].revents & ZMQ_POLLIN))
			monitor_read(mon, seen);
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
	if (reply == NULL && mon != NULL) /* events already queued */
		while (zmq_poll(&(zmq_pollitem_t){mon, 0, ZMQ_POLLIN, 0}, 1, 0) > 0 &&
		       !(*seen & SEEN_REFUSED))
			monitor_read(mon, seen);
out:
	rq->nonce.data = NULL;
	rq->nonce.len = 0;
	if (mon != NULL)
		zmq_close(mon);
	if (s != NULL) {
		if (reply == NULL) /* nothing left queued to a dead endpoint */
			zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_close(s);
	}
	zmq_ctx_term(ctx);
	return reply;
}

Bancluster__Payload *bc_cli_request(struct bc_cli *c, Bancluster__AdminReq *rq,
				    int *status, char *err, size_t errlen)
{
	char eps[BC_CFG_ENDPOINTS_MAX][BC_CFG_STR_MAX], one[BC_CFG_STR_MAX + 128];
	Bancluster__Payload *reply = NULL;
	int64_t end, waited;
	size_t n, i, used;
	int seen, refused = 0, bad = 0;

	if ((*status = bc_cli_load(c, err, errlen)) != 0)
		return NULL;
	c->answered[0] = '\0';
	n = bc_cfg_endpoints_split(c->cfg.coordinator, eps, BC_CFG_ENDPOINTS_MAX);
	if (n <= 1) { /* one coordinator: all of timeout, the messages of old */
		const char *ep = n == 1 ? eps[0] : c->cfg.coordinator;

		reply = ask_one(c, ep, rq, c->cfg.timeout * 1000, false, &seen,
				status, one, sizeof(one));
		if (reply != NULL) {
			snprintf(c->answered, sizeof(c->answered), "%s", ep);
			*status = 0;
		} else if (*status == EX_UNAVAILABLE) {
			no_reply(c, ep, seen, err, errlen);
		} else if (*status == EX_CONFIG) {
			snprintf(err, errlen, "%s: coordinator \"%s\": %s",
				 c->cfgpath, ep, one);
		} else {
			snprintf(err, errlen, "%s", one);
		}
		return reply;
	}
	/* a list: the budget of [cli] timeout shared by the endpoints
	 * left, at least BC_CLI_ATTEMPT_MIN_MS each */
	end = bc_mono_ms() + c->cfg.timeout * 1000;
	snprintf(err, errlen, "no coordinator answered:");
	used = strlen(err);
	for (i = 0; i < n; i++) {
		int64_t start = bc_mono_ms(), wait = (end - start) / (int64_t)(n - i);
		int st;

		if (wait < BC_CLI_ATTEMPT_MIN_MS)
			wait = BC_CLI_ATTEMPT_MIN_MS;
		reply = ask_one(c, eps[i], rq, wait, true, &seen, &st, one,
				sizeof(one));
		if (reply != NULL) {
			snprintf(c->answered, sizeof(c->answered), "%s", eps[i]);
			*status = 0;
			err[0] = '\0';
			return reply;
		}
		if (st == BC_EXIT_ERROR) { /* local: no other endpoint helps */
			*status = st;
			snprintf(err, errlen, "%s", one);
			return NULL;
		}
		waited = bc_mono_ms() - start;
		if (st == EX_CONFIG) {
			char reason[sizeof(one)];

			bad++;
			memcpy(reason, one, sizeof(reason));
			snprintf(one, sizeof(one), "%s (bad endpoint: %.100s)", eps[i],
				 reason);
		} else {
			why_one(eps[i], seen, waited < wait ? waited : wait, one,
				sizeof(one));
		}
		refused |= seen & SEEN_REFUSED;
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s %s",
						 i ? "," : "", one);
	}
	if (refused && used < errlen) {
		char ck[BC_KEY_CURVE_HEX_LEN], b64[BC_KEY_B64_LEN];

		bc_key_fingerprint_curve(c->signer.key.curve_pk, ck);
		snprintf(err + used, errlen - used,
			 "; this admin key (%s, CURVE key %s): an enrolled admin "
			 "adds it with: bancluster admin add %s %s", c->cfg.key,
			 ck, c->signer.sender,
			 bc_key_public_b64(c->signer.key.pk, b64));
	}
	*status = bad == (int)n ? EX_CONFIG : EX_UNAVAILABLE;
	return NULL;
}

void bc_cli_free(struct bc_cli *c)
{
	bc_keyring_free(&c->coord);
	bc_key_wipe(&c->signer.key);
	c->loaded = 0;
}
