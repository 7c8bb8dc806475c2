/*
 * wire_zmq.h - a sealed message onto a ZeroMQ socket: seal (wire.h),
 * send, free, written once for the agent's DEALER, the coordinator's
 * ROUTER replies and PUB updates, and the CLI's requests. Nothing is
 * printed; the caller logs what a failure means to it.
 */
#ifndef BC_WIRE_ZMQ_H
#define BC_WIRE_ZMQ_H

#include <zmq.h>

#include "proto/wire.h"

#define BC_WIRE_SEND_SIGN (-2) /* the message could not be sealed */

/*
 * Seal p as `type` with s in wire version `version` (bc_wire_seal_version)
 * and send it on sock (zmq_send flags: 0 or
 * ZMQ_DONTWAIT). With id not NULL (a ROUTER socket) the peer's identity
 * frame goes first. Returns 0, BC_WIRE_SEND_SIGN when sealing failed
 * (nothing sent), or -1 when ZeroMQ refused the send (errno is
 * zmq_errno()).
 */
int bc_wire_send(struct bc_signer *s, uint32_t version, void *sock,
		 const zmq_msg_t *id, Bancluster__MsgType type,
		 Bancluster__Payload *p, int flags);

#endif
