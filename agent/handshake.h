/*
 * handshake.h - the CurveZMQ handshakes of the signer's two sockets
 * (handshake.c). libzmq gives up on a connection whose handshake failed
 * (the coordinator's ZAP refused this agent's key: not enrolled yet, or
 * removed; or the coordinator's key is not the pinned one) and never
 * connects it again. This module watches both sockets, says in the log
 * what was refused and how to enrol the key, and connects again after
 * BC_HANDSHAKE_RETRY_MS, doubling up to BC_HANDSHAKE_RETRY_MAX_MS while
 * refusals go on (a handshake that succeeds starts over), so that
 * `bancluster agent add` takes effect without restarting the agent.
 * Each endpoint of a socket's list (several coordinators) has its own
 * retry: only the refused connection is made again.
 */
#ifndef BC_AGENT_HANDSHAKE_H
#define BC_AGENT_HANDSHAKE_H

#include <stdint.h>

#include "common/config.h"

#define BC_HANDSHAKE_RETRY_MS 3000      /* first retry of a refused connection */
#define BC_HANDSHAKE_RETRY_MAX_MS 30000 /* doubling up to this */
#define BC_HANDSHAKE_LOG_MS 60000       /* the refusal logged again after */

struct bc_agent_signer;

/* per socket (dealer, sub) and endpoint of its list */
struct bc_handshake {
	/* PAIR ends of the monitors: [0][k] the DEALER of coordinator
	 * endpoint k, [1][0] the SUB */
	void *mon[2][BC_CFG_ENDPOINTS_MAX];
	int64_t retry_ms[2][BC_CFG_ENDPOINTS_MAX]; /* monotonic: connect
					* again then; 0: none due */
	int64_t delay_ms[2][BC_CFG_ENDPOINTS_MAX]; /* the next retry's
					* delay; 0: none refused yet */
	int64_t logged_ms;    /* monotonic: the refusal last logged */
	uint64_t refused;     /* handshakes that failed */
};

/* Start watching a->dealer[] and a->sub (after they are made, before they
 * connect). Without a monitor the agent runs as before: 0 or -1. */
int bc_handshake_watch(struct bc_agent_signer *a);

/* Read what the monitors saw; log a refusal; reconnect the sockets whose
 * retry is due. Called from the loop's timers. */
void bc_handshake_tick(struct bc_agent_signer *a);

/* Close the monitors (before the sockets). */
void bc_handshake_close(struct bc_agent_signer *a);

#endif
