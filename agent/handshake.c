/*
 * handshake.c - refused CurveZMQ handshakes retried (handshake.h).
 *
 * Input: libzmq's socket monitor events (two frames: 16-bit event and
 * 32-bit value, then the endpoint), from this process's own sockets.
 * A failed handshake (ZAP refusal: not enrolled; protocol: the pinned
 * coordinator key is not the coordinator's) is counted, logged at most
 * once a minute with the key's fingerprint and the `bancluster agent
 * add` line that enrols it, and the socket is disconnected from and
 * connected again to its configured endpoint 3 s later, then 6, 12, 24
 * and every 30 s while it is refused (a removed agent left running costs
 * the coordinator two log lines per 30 s, not per 3 s); a handshake that
 * succeeds resets the delay. Nothing here changes what is sent or
 * accepted.
 */
#include "agent/handshake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "agent/agent.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"

static const char *const mon_ep[2] = {"inproc://bc-agent-mon-dealer",
				      "inproc://bc-agent-mon-sub"};

static void *sock_of(struct bc_agent_signer *a, int i)
{
	return i == 0 ? a->dealer : a->sub;
}

static const char *ep_of(struct bc_agent_signer *a, int i)
{
	return i == 0 ? a->cfg.coordinator : a->cfg.updates;
}

int bc_handshake_watch(struct bc_agent_signer *a)
{
	struct bc_handshake *h = &a->hs;
	int i, zero = 0, rc = 0;

	for (i = 0; i < 2; i++) {
		if (zmq_socket_monitor(sock_of(a, i), mon_ep[i],
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
					       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
					       ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0) {
			rc = -1;
			continue;
		}
		h->mon[i] = zmq_socket(a->zctx, ZMQ_PAIR);
		if (h->mon[i] != NULL &&
		    (zmq_setsockopt(h->mon[i], ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
		     zmq_connect(h->mon[i], mon_ep[i]) < 0)) {
			zmq_close(h->mon[i]);
			h->mon[i] = NULL;
		}
		if (h->mon[i] == NULL)
			rc = -1;
	}
	return rc;
}

static void refused(struct bc_agent_signer *a, int i, uint16_t ev)
{
	struct bc_handshake *h = &a->hs;
	int64_t now = bc_mono_ms();
	char fpr[BC_KEY_FPR_LEN], b64[BC_KEY_B64_LEN];

	h->refused++;
	if (h->retry_ms[i] == 0) {
		h->delay_ms[i] = h->delay_ms[i] == 0 ? BC_HANDSHAKE_RETRY_MS
						     : h->delay_ms[i] * 2;
		if (h->delay_ms[i] > BC_HANDSHAKE_RETRY_MAX_MS)
			h->delay_ms[i] = BC_HANDSHAKE_RETRY_MAX_MS;
		h->retry_ms[i] = now + h->delay_ms[i];
	}
	if (h->logged_ms != 0 && now - h->logged_ms < BC_HANDSHAKE_LOG_MS)
		return;
	h->logged_ms = now;
	bc_key_fingerprint(a->signer.key.id, BC_KEY_ID_BYTES, fpr);
	bc_key_public_b64(a->signer.key.pk, b64);
	if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		bc_warn("coordinator %s refused this agent's key (fingerprint "
			"%s): it is not enrolled there; on the admin host: "
			"bancluster agent add %s %s (tried again after %d s, "
			"then at most every %d s)",
			ep_of(a, i), fpr, a->cfg.id, b64,
			BC_HANDSHAKE_RETRY_MS / 1000, BC_HANDSHAKE_RETRY_MAX_MS / 1000);
	else
		bc_warn("coordinator %s: CurveZMQ handshake failed: is "
			"coordinator_key %s the coordinator's key? (tried again "
			"after %d s, then at most every %d s)", ep_of(a, i),
			a->cfg.coordinator_key, BC_HANDSHAKE_RETRY_MS / 1000,
			BC_HANDSHAKE_RETRY_MAX_MS / 1000);
}

void bc_handshake_tick(struct bc_agent_signer *a)
{
	struct bc_handshake *h = &a->hs;
	int64_t now = bc_mono_ms();
	int i;

	for (i = 0; i < 2; i++) {
		uint8_t ev[6];
		char ep[256];
		uint16_t e;

		while (h->mon[i] != NULL &&
		       zmq_recv(h->mon[i], ev, sizeof(ev), ZMQ_DONTWAIT) == (int)sizeof(ev)) {
			zmq_recv(h->mon[i], ep, sizeof(ep), 0);
			memcpy(&e, ev, sizeof(e));
			if (e == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
			    e == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
				refused(a, i, e);
			else if (e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
				h->delay_ms[i] = 0;
		}
		if (h->retry_ms[i] == 0 || now < h->retry_ms[i])
			continue;
		h->retry_ms[i] = 0;
		/* libzmq dropped the endpoint after the failure: start over */
		zmq_disconnect(sock_of(a, i), ep_of(a, i));
		if (zmq_connect(sock_of(a, i), ep_of(a, i)) < 0)
			bc_warn("reconnect %s: %s", ep_of(a, i), zmq_strerror(errno));
	}
}

void bc_handshake_close(struct bc_agent_signer *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (a->hs.mon[i] != NULL)
			zmq_close(a->hs.mon[i]);
		a->hs.mon[i] = NULL;
	}
}
