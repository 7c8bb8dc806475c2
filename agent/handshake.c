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
 * succeeds resets the delay. With a list of endpoints (the coordinators
 * of a cluster) each has its own delay and only the refused one is
 * connected again; the event names the connection by the address
 * libzmq connected to, matched to the list in ep_index(). Nothing here
 * changes what is sent or accepted.
 */
#include "agent/handshake.h"

#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "agent/agent.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"

/* socket i (0: the DEALER of coordinator endpoint k; 1: the SUB) */
static void *sock_of(struct bc_agent_signer *a, int i, size_t k)
{
	return i == 0 ? a->dealer[k] : a->sub;
}

/* the monitors: one per DEALER, one for the SUB */
static size_t nmon(const struct bc_agent_signer *a, int i)
{
	return i == 0 ? a->ncoord_ep : 1;
}

static const char *ep_of(struct bc_agent_signer *a, int i, size_t k)
{
	return i == 0 ? a->coord_ep[k] : a->upd_ep[k];
}

static size_t neps(const struct bc_agent_signer *a, int i)
{
	return i == 0 ? a->ncoord_ep : a->nupd_ep;
}

/*
 * The endpoint of socket i's list that a monitor event names (addr, as
 * libzmq wrote it), or -1. libzmq names a connection by the address it
 * connected to: the configured text when that was an address, else what
 * the name resolved to ("tcp://10.0.0.11:7710" for "tcp://c1:7710"), so
 * an endpoint whose text differs is matched by port and resolved
 * address (only when resolve: getaddrinfo may block the loop, so it is
 * done for a refusal, which is retried 3 s later at the earliest, and
 * not for every handshake that succeeds). A list of one endpoint is
 * that endpoint.
 */
static int ep_index(struct bc_agent_signer *a, int i, const char *addr,
		    bool resolve)
{
	const char *colon = strrchr(addr, ':');
	size_t k;

	for (k = 0; k < neps(a, i); k++)
		if (strcmp(ep_of(a, i, k), addr) == 0)
			return (int)k;
	if (neps(a, i) == 1)
		return 0;
	if (!resolve || colon == NULL || strncmp(addr, "tcp://", 6) != 0)
		return -1;
	for (k = 0; k < neps(a, i); k++) {
		struct addrinfo hints, *res = NULL, *r;
		char host[BC_CFG_STR_MAX], e[256], num[INET6_ADDRSTRLEN], port[8];
		char text[BC_CFG_STR_MAX + 16];
		uint16_t pn;
		int found = 0;

		if (bc_cfg_endpoint(ep_of(a, i, k), false, host, sizeof(host), &pn,
				    e, sizeof(e)) < 0)
			continue;
		snprintf(port, sizeof(port), "%u", pn);
		if (strcmp(colon + 1, port) != 0)
			continue;
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &res) != 0)
			continue;
		for (r = res; r != NULL && !found; r = r->ai_next) {
			if (getnameinfo(r->ai_addr, r->ai_addrlen, num, sizeof(num),
					NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			snprintf(text, sizeof(text),
				 r->ai_family == AF_INET6 ? "tcp://[%s]:%s" : "tcp://%s:%s",
				 num, port);
			found = strcmp(text, addr) == 0;
		}
		freeaddrinfo(res);
		if (found)
			return (int)k;
	}
	return -1;
}

int bc_handshake_watch(struct bc_agent_signer *a)
{
	struct bc_handshake *h = &a->hs;
	int i, zero = 0, rc = 0;
	size_t m;

	for (i = 0; i < 2; i++)
		for (m = 0; m < nmon(a, i); m++) {
			char ep[64];

			snprintf(ep, sizeof(ep), "inproc://bc-agent-mon-%s-%zu",
				 i == 0 ? "dealer" : "sub", m);
			if (zmq_socket_monitor(sock_of(a, i, m), ep,
					       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
						       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
						       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
						       (i == 0 ? ZMQ_EVENT_DISCONNECTED
							       : 0)) < 0) {
				rc = -1;
				continue;
			}
			h->mon[i][m] = zmq_socket(a->zctx, ZMQ_PAIR);
			if (h->mon[i][m] != NULL &&
			    (zmq_setsockopt(h->mon[i][m], ZMQ_LINGER, &zero,
					    sizeof(zero)) < 0 ||
			     zmq_connect(h->mon[i][m], ep) < 0)) {
				zmq_close(h->mon[i][m]);
				h->mon[i][m] = NULL;
			}
			if (h->mon[i][m] == NULL)
				rc = -1;
		}
	return rc;
}

/* k: the endpoint of socket i's list, or -1 to find it from addr */
static void refused(struct bc_agent_signer *a, int i, int k, const char *addr,
		    uint16_t ev)
{
	struct bc_handshake *h = &a->hs;
	int64_t now = bc_mono_ms();
	char fpr[BC_KEY_FPR_LEN], b64[BC_KEY_B64_LEN];

	if (k < 0)
		k = ep_index(a, i, addr, true);

	h->refused++;
	if (k >= 0 && h->retry_ms[i][k] == 0) {
		h->delay_ms[i][k] = h->delay_ms[i][k] == 0 ? BC_HANDSHAKE_RETRY_MS
							   : h->delay_ms[i][k] * 2;
		if (h->delay_ms[i][k] > BC_HANDSHAKE_RETRY_MAX_MS)
			h->delay_ms[i][k] = BC_HANDSHAKE_RETRY_MAX_MS;
		h->retry_ms[i][k] = now + h->delay_ms[i][k];
	}
	if (h->logged_ms != 0 && now - h->logged_ms < BC_HANDSHAKE_LOG_MS)
		return;
	h->logged_ms = now;
	if (k < 0) /* not one of the list's: say so, nothing to retry */
		bc_warn("%s %s: handshake failed, and it is none of [agent] %s "
			"(%s): not retried", i == 0 ? "coordinator" : "updates",
			addr, i == 0 ? "coordinator" : "updates",
			i == 0 ? a->cfg.coordinator : a->cfg.updates);
	bc_key_fingerprint(a->signer.key.id, BC_KEY_ID_BYTES, fpr);
	bc_key_public_b64(a->signer.key.pk, b64);
	if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		bc_warn("coordinator %s refused this agent's key (fingerprint "
			"%s): it is not enrolled there; on the admin host: "
			"bancluster agent add %s %s (tried again after %d s, "
			"then at most every %d s)",
			k >= 0 ? ep_of(a, i, k) : addr, fpr, a->cfg.id, b64,
			BC_HANDSHAKE_RETRY_MS / 1000, BC_HANDSHAKE_RETRY_MAX_MS / 1000);
	else
		bc_warn("coordinator %s: CurveZMQ handshake failed: is "
			"coordinator_key %s the coordinator's key? (tried again "
			"after %d s, then at most every %d s)",
			k >= 0 ? ep_of(a, i, k) : addr, a->cfg.coordinator_key,
			BC_HANDSHAKE_RETRY_MS / 1000, BC_HANDSHAKE_RETRY_MAX_MS / 1000);
}

/*
 * A coordinator of the list went away (its process died: the connection
 * closed; or ZMTP heartbeats gave up on it): what was in flight may have
 * gone with it. The report in flight is sent again now (same id: the
 * cluster counts it once) and a snapshot request asked again, rather
 * than after BC_AGENT_ACK_TIMEOUT_MS, to the next coordinator of the
 * list: the fleet's bans resume within milliseconds of a coordinator's
 * death instead of seconds. Only what went to that coordinator (k).
 */
static void lost_coordinator(struct bc_agent_signer *a, int k, int64_t now)
{
	if (a->spool.inflight > 0 && a->report_ep == k)
		a->spool.sent_ms = now - BC_AGENT_ACK_TIMEOUT_MS;
	if (a->state == BC_AGENT_SYNCING && a->request_sent && a->request_ep == k)
		a->sync_started_ms = now - BC_AGENT_SYNC_RETRY_MS - 1;
}

void bc_handshake_tick(struct bc_agent_signer *a)
{
	struct bc_handshake *h = &a->hs;
	int64_t now = bc_mono_ms();
	int i;
	size_t m, k;

	for (i = 0; i < 2; i++) {
		for (m = 0; m < nmon(a, i); m++) {
			uint8_t ev[6];
			char ep[256];
			uint16_t e;

			while (h->mon[i][m] != NULL &&
			       zmq_recv(h->mon[i][m], ev, sizeof(ev), ZMQ_DONTWAIT) ==
				       (int)sizeof(ev)) {
				int n = zmq_recv(h->mon[i][m], ep, sizeof(ep) - 1, 0);
				/* a DEALER has one endpoint; the SUB's are named */
				int x = i == 0 ? (int)m : -1;

				ep[n < 0 ? 0 : n < (int)sizeof(ep) ? n : (int)sizeof(ep) - 1] = '\0';
				memcpy(&e, ev, sizeof(e));
				if (e == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
				    e == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
					refused(a, i, x, ep, e);
				else if (e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED &&
					 (x >= 0 || (x = ep_index(a, i, ep, false)) >= 0))
					h->delay_ms[i][x] = 0;
				else if (e == ZMQ_EVENT_DISCONNECTED && i == 0 &&
					 a->ncoord_ep > 1)
					lost_coordinator(a, x, now);
			}
		}
		for (k = 0; k < neps(a, i); k++) {
			void *s = sock_of(a, i, k);

			if (h->retry_ms[i][k] == 0 || now < h->retry_ms[i][k])
				continue;
			h->retry_ms[i][k] = 0;
			/* libzmq dropped the endpoint after the failure: start over */
			zmq_disconnect(s, ep_of(a, i, k));
			if (zmq_connect(s, ep_of(a, i, k)) < 0)
				bc_warn("reconnect %s: %s", ep_of(a, i, k),
					zmq_strerror(errno));
		}
	}
}

void bc_handshake_close(struct bc_agent_signer *a)
{
	int i;
	size_t m;

	for (i = 0; i < 2; i++)
		for (m = 0; m < BC_CFG_ENDPOINTS_MAX; m++) {
			if (a->hs.mon[i][m] != NULL)
				zmq_close(a->hs.mon[i][m]);
			a->hs.mon[i][m] = NULL;
		}
}
