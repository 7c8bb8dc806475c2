/*
 * zsock.c - ZeroMQ socket set-up (see zsock.h).
 */
#include "zsock.h"

#include <zmq.h>

#define LINGER_MS 200

int bc_zsock_curve_server(void *sock, const struct bc_key *k)
{
	int one = 1;

	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->curve_sk, 32) < 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "bancluster", 10) < 0)
		return -1;
	return 0;
}

int bc_zsock_curve_client(void *sock, const struct bc_key *k,
			  const struct bc_peer *server)
{
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server->curve_pk, 32) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k->curve_pk, 32) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->curve_sk, 32) < 0)
		return -1;
	return 0;
}

int bc_zsock_options(void *sock, int64_t maxmsg, int hwm)
{
	int linger = LINGER_MS, ipv6 = 1;

	/* IPv6 endpoints ("tcp://[fd00::1]:7710"), which the configuration
	 * accepts; IPv4 ones work as before */
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_IPV6, &ipv6, sizeof(ipv6)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0)
		return -1;
	return 0;
}
