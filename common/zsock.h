/*
 * zsock.h - small ZeroMQ helpers shared by the three programs: CurveZMQ
 * set-up from the node's Ed25519 key (server or client of a pinned peer)
 * and the common socket options, among them the largest message the
 * socket accepts. The caller owns the socket; each returns 0, or -1
 * with errno from libzmq; nothing prints.
 */
#ifndef BC_ZSOCK_H
#define BC_ZSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

/* Make sock a CURVE server with the node's key. 0 or -1. */
int bc_zsock_curve_server(void *sock, const struct bc_key *k);

/* Make sock a CURVE client of server_pk (an Ed25519 public key peer). */
int bc_zsock_curve_client(void *sock, const struct bc_key *k,
			  const struct bc_peer *server);

/* Common options: linger, IPv6 on, max message size, high-water marks. */
int bc_zsock_options(void *sock, int64_t maxmsg, int hwm);

#endif
