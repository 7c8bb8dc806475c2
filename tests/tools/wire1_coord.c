/*
 * wire1_coord.c - a coordinator of wire 1, as the releases before wire 2
 * behave on the wire, for tests/integration/test_wire_version.sh.
 *
 *   wire1_coord DIR ROUTER PUB SECONDS
 *
 * DIR holds coordinator.key and agents.d/ (the agents' NAME.pub). It
 * binds ROUTER and PUB as CURVE servers with the coordinator's key (no
 * ZAP handler: any client key connects) and for SECONDS:
 *   - publishes a hugz every second, version 1, stating no range and no
 *     software (the fields wire 1 does not have); the third one instead
 *     with an envelope of version 3 (what a later wire would send);
 *   - opens what agents send like wire 1 does: an envelope of any
 *     version but 1 is refused ("rejected ... version N"); a heartbeat
 *     prints "heartbeat from NAME version 1 wire MIN..MAX software S"
 *     (what it states, 0..0 and "-" if nothing), a snapshot request is
 *     answered with an empty snapshot, a report with an ack, both in
 *     version 1.
 * The epoch is the start time in seconds, the sequence 0. Exit 0 after
 * SECONDS, 1 on a set-up failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/keys.h"
#include "common/zsock.h"
#include "proto/wire.h"

#define CLUSTER BC_CLUSTER_DEFAULT

struct coord {
	struct bc_signer signer;
	struct bc_keyring agents;
	void *zctx, *router, *pub;
	uint64_t epoch;
};

static int die(const char *what)
{
	fprintf(stderr, "wire1_coord: %s\n", what);
	return 1;
}

/* Seal in version 1, then set the envelope's version to v. */
static uint8_t *seal_as(struct coord *c, uint32_t v, Bancluster__MsgType type,
			Bancluster__Payload *p, size_t *len)
{
	Bancluster__Envelope *env;
	uint8_t *buf = NULL;

	if (bc_wire_seal_version(&c->signer, 1, type, p, &buf, len) < 0)
		return NULL;
	if (v == 1)
		return buf;
	env = bancluster__envelope__unpack(NULL, *len, buf);
	free(buf);
	if (env == NULL)
		return NULL;
	env->version = v;
	*len = bancluster__envelope__get_packed_size(env);
	buf = malloc(*len);
	if (buf != NULL)
		bancluster__envelope__pack(env, buf);
	bancluster__envelope__free_unpacked(env, NULL);
	return buf;
}

static void hugz(struct coord *c, uint32_t v)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Hugz h = BANCLUSTER__HUGZ__INIT;
	uint8_t *buf;
	size_t len;

	h.epoch = c->epoch; /* wire 1: no range, no software */
	p.body_case = BANCLUSTER__PAYLOAD__BODY_HUGZ;
	p.hugz = &h;
	buf = seal_as(c, v, BANCLUSTER__MSG_TYPE__MSG_HUGZ, &p, &len);
	if (buf != NULL)
		zmq_send(c->pub, buf, len, ZMQ_DONTWAIT);
	free(buf);
}

static void reply(struct coord *c, zmq_msg_t *id, Bancluster__MsgType type,
		  Bancluster__Payload *p)
{
	size_t len;
	uint8_t *buf = seal_as(c, 1, type, p, &len);

	if (buf == NULL)
		return;
	zmq_send(c->router, zmq_msg_data(id), zmq_msg_size(id),
		 ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(c->router, buf, len, ZMQ_DONTWAIT);
	free(buf);
}

static void frame(struct coord *c, zmq_msg_t *id, zmq_msg_t *m)
{
	const uint32_t allowed = (1u << BANCLUSTER__MSG_TYPE__MSG_REPORT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT) |
				 (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ);
	uint32_t v = bc_wire_peek_version(zmq_msg_data(m), zmq_msg_size(m));
	Bancluster__Payload *p = NULL, rp = BANCLUSTER__PAYLOAD__INIT;
	struct bc_peer *from = NULL;
	enum bc_reject r;

	if (v != 1) { /* wire 1 opened version 1 only */
		printf("rejected version %" PRIu32 "\n", v);
		return;
	}
	r = bc_wire_open(&c->agents, zmq_msg_data(m), zmq_msg_size(m),
			 BC_WIRE_MAX_FRAME, allowed, BC_CHAN_ROUTER, CLUSTER,
			 bc_now_ms(), &p, &from);
	if (r != BC_REJ_OK) {
		printf("rejected %s\n", bc_wire_reject_name(r));
		return;
	}
	if (p->body_case == BANCLUSTER__PAYLOAD__BODY_HEARTBEAT) {
		printf("heartbeat from %s version 1 wire %" PRIu32 "..%" PRIu32
		       " software %s\n", from->name, p->heartbeat->wire_min,
		       p->heartbeat->wire_max,
		       p->heartbeat->software[0] ? p->heartbeat->software : "-");
	} else if (p->body_case == BANCLUSTER__PAYLOAD__BODY_SNAPSHOT_REQ) {
		Bancluster__Snapshot s = BANCLUSTER__SNAPSHOT__INIT;

		s.nonce = p->snapshot_req->nonce;
		s.epoch = c->epoch;
		s.last = 1;
		rp.body_case = BANCLUSTER__PAYLOAD__BODY_SNAPSHOT;
		rp.snapshot = &s;
		reply(c, id, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, &rp);
		printf("snapshot for %s\n", from->name);
	} else if (p->body_case == BANCLUSTER__PAYLOAD__BODY_REPORT) {
		Bancluster__Ack a = BANCLUSTER__ACK__INIT;

		a.report_id = p->report->report_id;
		rp.body_case = BANCLUSTER__PAYLOAD__BODY_ACK;
		rp.ack = &a;
		reply(c, id, BANCLUSTER__MSG_TYPE__MSG_ACK, &rp);
		printf("report from %s\n", from->name);
	}
	bancluster__payload__free_unpacked(p, NULL);
}

static void *server(struct coord *c, int type, const char *ep)
{
	void *s = zmq_socket(c->zctx, type);

	if (s == NULL || bc_zsock_options(s, BC_WIRE_MAX_FRAME, 10000) < 0 ||
	    bc_zsock_curve_server(s, &c->signer.key) < 0 || zmq_bind(s, ep) < 0) {
		if (s != NULL)
			zmq_close(s);
		return NULL;
	}
	return s;
}

int main(int argc, char **argv)
{
	struct coord c;
	char path[4096], err[512];
	int64_t end, next_hugz = 0;

	if (argc != 5)
		return die("usage: wire1_coord DIR ROUTER PUB SECONDS");
	memset(&c, 0, sizeof(c));
	snprintf(c.signer.cluster, sizeof(c.signer.cluster), "%s", CLUSTER);
	snprintf(c.signer.sender, sizeof(c.signer.sender), "coordinator");
	snprintf(path, sizeof(path), "%s/coordinator.key", argv[1]);
	if (bc_key_load_secret(&c.signer.key, path, err, sizeof(err)) < 0)
		return die(err);
	snprintf(path, sizeof(path), "%s/agents.d", argv[1]);
	if (bc_keyring_load_dir(&c.agents, path, 0, err, sizeof(err)) < 0)
		return die(err);
	snprintf(path, sizeof(path), "%s/wire1_coord.counter", argv[1]);
	if (bc_counter_open(&c.signer.counter, path, err, sizeof(err)) < 0)
		return die(err);
	c.epoch = (uint64_t)(bc_now_ms() / 1000);
	c.zctx = zmq_ctx_new();
	c.router = server(&c, ZMQ_ROUTER, argv[2]);
	c.pub = server(&c, ZMQ_PUB, argv[3]);
	if (c.router == NULL || c.pub == NULL)
		return die(zmq_strerror(errno));
	end = bc_mono_ms() + 1000 * (int64_t)atoi(argv[4]);
	while (bc_mono_ms() < end) {
		zmq_pollitem_t it = {c.router, 0, ZMQ_POLLIN, 0};

		if (bc_mono_ms() >= next_hugz) {
			static int n;

			/* the third second: one hugz of a later wire, once the
			 * agents have reconnected and subscribed */
			hugz(&c, ++n == 3 ? 3 : 1);
			next_hugz = bc_mono_ms() + 1000;
		}
		if (zmq_poll(&it, 1, 100) > 0) {
			zmq_msg_t id, m;
			int more = 0;
			size_t ml = sizeof(more);

			zmq_msg_init(&id);
			zmq_msg_init(&m);
			if (zmq_msg_recv(&id, c.router, ZMQ_DONTWAIT) >= 0 &&
			    zmq_msg_recv(&m, c.router, ZMQ_DONTWAIT) >= 0 &&
			    zmq_getsockopt(c.router, ZMQ_RCVMORE, &more, &ml) == 0 &&
			    !more)
				frame(&c, &id, &m);
			zmq_msg_close(&id);
			zmq_msg_close(&m);
		}
		fflush(stdout);
	}
	zmq_close(c.router);
	zmq_close(c.pub);
	zmq_ctx_term(c.zctx);
	bc_keyring_free(&c.agents);
	bc_key_wipe(&c.signer.key);
	return 0;
}
