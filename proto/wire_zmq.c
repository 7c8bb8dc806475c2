/*
 * wire_zmq.c - seal and send (wire_zmq.h).
 */
#include "proto/wire_zmq.h"

#include <stdlib.h>

int bc_wire_send(struct bc_signer *s, uint32_t version, void *sock,
		 const zmq_msg_t *id, Bancluster__MsgType type,
		 Bancluster__Payload *p, int flags)
{
	uint8_t *buf;
	size_t len;
	int rc = 0;

	if (bc_wire_seal_version(s, version, type, p, &buf, &len) < 0)
		return BC_WIRE_SEND_SIGN;
	if (id != NULL)
		rc = zmq_send(sock, zmq_msg_data((zmq_msg_t *)id),
			      zmq_msg_size((zmq_msg_t *)id), ZMQ_SNDMORE | flags);
	if (rc >= 0)
		rc = zmq_send(sock, buf, len, flags);
	free(buf);
	return rc < 0 ? -1 : 0;
}
