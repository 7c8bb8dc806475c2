/*
 * wire_peer.c - a test agent that speaks the wire as a given release
 * does, for tests/integration/test_wire_version.sh.
 *
 *   wire_peer DIR NAME ROUTER PUB STEP...
 *
 * DIR holds NAME.key (the agent key pinned in the coordinator's
 * agents_dir) and coordinator.pub; the replay counter is kept in
 * DIR/NAME.peer-counter. ROUTER and PUB are the coordinator's endpoints.
 * Steps run in order; each prints one line on stdout:
 *
 *   hb:V              a heartbeat as wire 1 writes it (fields 1..10, no
 *                     versions stated), in an envelope of version V.
 *                     V outside 1..2 (0, 3, ...) is sealed as 1 and the
 *                     envelope's version rewritten: the signature does not
 *                     cover it, so only the version differs
 *   report:V:N:ADDR   a report of N auth_fail events from ADDR in an
 *                     envelope of version V; waits 5 s for its ack and
 *                     prints "ack ID version W" (W: the ack's envelope)
 *   hugz              waits 5 s for a hugz on PUB: "hugz version W wire
 *                     MIN..MAX software S" (what the hugz states)
 *   update:ADDR       waits 10 s for an update adding ADDR on PUB:
 *                     "update ADDR version W"
 *   burst:N:F:NET     N reports of one auth_fail event each, from
 *                     NET.1, NET.2, ... (NET: the first three octets),
 *                     sent back to back without waiting, every F-th
 *                     with one signature bit flipped (F = 0: none);
 *                     then collects acks for 5 s and prints "burst
 *                     acked A of G good, sent K forged" (an ack for a
 *                     forged report is counted as not good: exit 1)
 *   enrol:ROLE:NAME:HEX  an admin request enrol_add (NAME.key must then be
 *                     an admin key): role ROLE (1 agent, 2 admin), name
 *                     NAME as given (no ':'; may be empty), public key
 *                     the bytes of HEX (any length, may be empty); waits
 *                     5 s for the reply: "reply CODE ERROR"
 *   unenrol:ROLE:NAME enrol_remove, likewise
 *   mirror:BIND:MS:DELAY:WMAX  a second coordinator of a cluster, for
 *                     tests/integration/test_agent_coords.sh: binds a PUB
 *                     at BIND as a CURVE server with DIR/coordinator.key
 *                     and, for MS, publishes every Update and Hugz the
 *                     real coordinator publishes on PUB, DELAY ms later
 *                     (a coordinator behind the other), same payload
 *                     (epoch, seq, ban), sealed again with the
 *                     coordinator's key under the sender "coordinator"
 *                     and its own counter, which runs 10 s ahead of the
 *                     real one's (as a coordinator's may); WMAX > 0:
 *                     its hugz state wire 1..WMAX and software
 *                     "mirror-old" (a release behind, in a rolling
 *                     upgrade): "mirrored U updates, H hugz"
 *   swallow:BIND:MS   a coordinator that takes everything and answers
 *                     nothing (its process stuck, libzmq's I/O thread
 *                     alive: ZMTP heartbeats answered): binds a ROUTER
 *                     at BIND as a CURVE server with DIR/coordinator.key
 *                     and, for MS, reads every frame; one line per frame
 *                     on stdout, "swallowed TYPE" (the envelope's type
 *                     number), then "swallowed N frames"
 *   sleep:MS
 *   quiet:MS          for MS, every frame on DEALER and SUB must be a type
 *                     wire 1 knows (1..9) in an envelope of version 1:
 *                     "quiet N frames, all of wire 1"; else it fails
 *                     naming the type and version (issue 14: local ban
 *                     messages never reach an agent of wire 1)
 *
 * A wire 1 agent opens only envelopes of version 1: the lines say which
 * version the coordinator sent, and the test checks it. Exit 0 when every
 * step completed, 1 (with the reason on stderr) otherwise. Everything it
 * receives is opened by bc_wire_open against the pinned coordinator key.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/zsock.h"
#include "proto/wire.h"

#define CLUSTER BC_CLUSTER_DEFAULT
#define MAX_EVENTS 1000

struct peer {
	struct bc_signer signer;
	struct bc_keyring coord;
	void *zctx, *dealer, *sub;
	uint64_t report_id;
};

static int die(const char *what)
{
	fprintf(stderr, "wire_peer: %s\n", what);
	return 1;
}

/* Seal p as version v; versions this release cannot seal get version 1
 * and then the envelope's version field rewritten. */
static int send_as(struct peer *w, uint32_t v, Bancluster__MsgType type,
		   Bancluster__Payload *p)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (v >= BC_WIRE_VERSION_MIN && v <= BC_WIRE_VERSION) {
		if (bc_wire_seal_version(&w->signer, v, type, p, &buf, &len) < 0)
			return -1;
	} else {
		Bancluster__Envelope *env;

		if (bc_wire_seal_version(&w->signer, 1, type, p, &buf, &len) < 0)
			return -1;
		env = bancluster__envelope__unpack(NULL, len, buf);
		free(buf);
		if (env == NULL)
			return -1;
		env->version = v;
		len = bancluster__envelope__get_packed_size(env);
		buf = malloc(len);
		if (buf != NULL)
			bancluster__envelope__pack(env, buf);
		bancluster__envelope__free_unpacked(env, NULL);
		if (buf == NULL)
			return -1;
	}
	rc = zmq_send(w->dealer, buf, len, 0);
	free(buf);
	return rc < 0 ? -1 : 0;
}

/*
 * Receive on sock until a message of `type` opens or ms pass. Returns
 * the payload (caller frees) and its envelope version in *ver, or NULL.
 */
static Bancluster__Payload *recv_type(struct peer *w, void *sock,
				      enum bc_chan chan, uint32_t type,
				      int ms, uint32_t *ver)
{
	int64_t end = bc_mono_ms() + ms;

	while (bc_mono_ms() < end) {
		zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
		Bancluster__Payload *p = NULL;
		struct bc_peer *from = NULL;
		zmq_msg_t m;

		if (zmq_poll(&it, 1, (long)(end - bc_mono_ms())) <= 0)
			continue;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			continue;
		}
		if (bc_wire_open(&w->coord, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME, 1u << type, chan, CLUSTER,
				 bc_now_ms(), &p, &from) == BC_REJ_OK) {
			*ver = bc_wire_peek_version(zmq_msg_data(&m),
						    zmq_msg_size(&m));
			zmq_msg_close(&m);
			return p;
		}
		zmq_msg_close(&m);
	}
	return NULL;
}

static int step_hb(struct peer *w, uint32_t v)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Heartbeat h = BANCLUSTER__HEARTBEAT__INIT;

	p.body_case = BANCLUSTER__PAYLOAD__BODY_HEARTBEAT;
	p.heartbeat = &h; /* fields of wire 1 only: nothing stated */
	if (send_as(w, v, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, &p) < 0)
		return die("heartbeat: cannot send");
	printf("heartbeat sent as wire %" PRIu32 "\n", v);
	return 0;
}

static int step_report(struct peer *w, uint32_t v, unsigned n, const char *addr)
{
	static Bancluster__Event ev[MAX_EVENTS];
	static Bancluster__Event *evp[MAX_EVENTS];
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT, *r;
	Bancluster__Report rep = BANCLUSTER__REPORT__INIT;
	struct bc_addr a;
	uint32_t ver = 0;
	unsigned i;

	if (n == 0 || n > MAX_EVENTS || bc_addr_parse_host(&a, addr, strlen(addr)) < 0)
		return die("report: bad count or address");
	for (i = 0; i < n; i++) {
		bancluster__event__init(&ev[i]);
		ev[i].time_ms = bc_now_ms();
		ev[i].kind = 1; /* auth_fail */
		ev[i].family = a.family == AF_INET ? 4 : 6;
		ev[i].addr.data = a.a;
		ev[i].addr.len = a.family == AF_INET ? 4 : 16;
		ev[i].service = (char *)"postfix/smtpd";
		ev[i].line = (char *)"SASL LOGIN authentication failed (wire_peer)";
		evp[i] = &ev[i];
	}
	rep.report_id = w->report_id = bc_counter_next(&w->signer.counter);
	rep.n_events = n;
	rep.events = evp;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
	p.report = &rep;
	if (send_as(w, v, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p) < 0)
		return die("report: cannot send");
	r = recv_type(w, w->dealer, BC_CHAN_DEALER, BANCLUSTER__MSG_TYPE__MSG_ACK,
		      5000, &ver);
	if (r == NULL || r->ack->report_id != w->report_id) {
		if (r != NULL)
			bancluster__payload__free_unpacked(r, NULL);
		return die("report: no ack within 5 s");
	}
	printf("ack %" PRIu64 " version %" PRIu32 "\n", r->ack->report_id, ver);
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

static int step_burst(struct peer *w, unsigned n, unsigned f, const char *net)
{
	uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));
	uint8_t *forged = calloc(n ? n : 1, 1);
	unsigned i, good = 0, bad = 0, acked = 0, wrong = 0;
	int64_t end;

	if (ids == NULL || forged == NULL || n > 60000) {
		free(ids);
		free(forged);
		return die("burst: bad count");
	}
	for (i = 0; i < n; i++) {
		Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
		Bancluster__Report rep = BANCLUSTER__REPORT__INIT;
		Bancluster__Event ev = BANCLUSTER__EVENT__INIT, *evp = &ev;
		char text[96];
		struct bc_addr a;
		uint8_t *buf = NULL;
		size_t len = 0;

		snprintf(text, sizeof(text), "%s.%u", net, i % 250 + 1);
		if (bc_addr_parse_host(&a, text, strlen(text)) < 0) {
			free(ids);
			free(forged);
			return die("burst: bad network");
		}
		ev.time_ms = bc_now_ms();
		ev.kind = 1;
		ev.family = 4;
		ev.addr.data = a.a;
		ev.addr.len = 4;
		ev.service = (char *)"postfix/smtpd";
		ev.line = (char *)"SASL LOGIN authentication failed (burst)";
		rep.report_id = ids[i] = bc_counter_next(&w->signer.counter);
		rep.n_events = 1;
		rep.events = &evp;
		p.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
		p.report = &rep;
		if (bc_wire_seal(&w->signer, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p,
				 &buf, &len) < 0) {
			free(ids);
			free(forged);
			return die("burst: cannot seal");
		}
		forged[i] = f != 0 && i % f == f - 1;
		if (forged[i])
			buf[len - 1] ^= 0x01; /* the signature is the last field */
		if (zmq_send(w->dealer, buf, len, 0) < 0) {
			free(buf);
			free(ids);
			free(forged);
			return die("burst: cannot send");
		}
		free(buf);
		bad += forged[i];
	}
	good = n - bad;
	end = bc_mono_ms() + 5000;
	while (acked + wrong < good && bc_mono_ms() < end) {
		uint32_t ver = 0;
		Bancluster__Payload *r = recv_type(
			w, w->dealer, BC_CHAN_DEALER, BANCLUSTER__MSG_TYPE__MSG_ACK,
			(int)(end - bc_mono_ms()), &ver);

		if (r == NULL)
			break;
		for (i = 0; i < n; i++)
			if (ids[i] == r->ack->report_id) {
				if (forged[i])
					wrong++;
				else
					acked++;
				break;
			}
		bancluster__payload__free_unpacked(r, NULL);
	}
	printf("burst acked %u of %u good, sent %u forged\n", acked, good, bad);
	free(ids);
	free(forged);
	if (wrong > 0)
		return die("burst: a forged report was acknowledged");
	return acked == good ? 0 : die("burst: not every good report acked");
}

static int step_hugz(struct peer *w)
{
	uint32_t ver = 0;
	Bancluster__Payload *r = recv_type(w, w->sub, BC_CHAN_SUB,
					   BANCLUSTER__MSG_TYPE__MSG_HUGZ, 5000,
					   &ver);

	if (r == NULL)
		return die("hugz: none within 5 s");
	printf("hugz version %" PRIu32 " wire %" PRIu32 "..%" PRIu32
	       " software %s\n", ver, r->hugz->wire_min, r->hugz->wire_max,
	       r->hugz->software[0] ? r->hugz->software : "-");
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

static int step_update(struct peer *w, const char *addr)
{
	struct bc_addr want;
	int64_t end = bc_mono_ms() + 10000;

	if (bc_addr_parse_host(&want, addr, strlen(addr)) < 0)
		return die("update: bad address");
	while (bc_mono_ms() < end) {
		uint32_t ver = 0;
		struct bc_addr got;
		Bancluster__Payload *r = recv_type(
			w, w->sub, BC_CHAN_SUB, BANCLUSTER__MSG_TYPE__MSG_UPDATE,
			(int)(end - bc_mono_ms()), &ver);

		if (r == NULL)
			break;
		if (!r->update->remove &&
		    bc_wire_ban_addr(r->update->ban, &got) == 0 &&
		    got.family == want.family &&
		    memcmp(got.a, want.a, bc_addr_bytes(&want)) == 0) {
			printf("update %s version %" PRIu32 "\n", addr, ver);
			bancluster__payload__free_unpacked(r, NULL);
			return 0;
		}
		bancluster__payload__free_unpacked(r, NULL);
	}
	return die("update: none for the address within 10 s");
}

static int step_quiet(struct peer *w, unsigned ms)
{
	int64_t end = bc_mono_ms() + ms;
	unsigned n = 0;

	while (bc_mono_ms() < end) {
		zmq_pollitem_t pi[2] = {{w->dealer, 0, ZMQ_POLLIN, 0},
					{w->sub, 0, ZMQ_POLLIN, 0}};
		int k;

		if (zmq_poll(pi, 2, (long)(end - bc_mono_ms())) <= 0)
			continue;
		for (k = 0; k < 2; k++) {
			Bancluster__Envelope *env;
			zmq_msg_t m;

			if (!(pi[k].revents & ZMQ_POLLIN))
				continue;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, pi[k].socket, 0) < 0) {
				zmq_msg_close(&m);
				continue;
			}
			env = bancluster__envelope__unpack(NULL, zmq_msg_size(&m),
							   zmq_msg_data(&m));
			zmq_msg_close(&m);
			if (env == NULL)
				return die("quiet: a frame that is no envelope");
			if (env->type < 1 || env->type > 9 || env->version != 1) {
				fprintf(stderr, "wire_peer: quiet: type %" PRIu32
					" version %" PRIu32 " on %s\n", env->type,
					env->version, k ? "SUB" : "DEALER");
				bancluster__envelope__free_unpacked(env, NULL);
				return 1;
			}
			bancluster__envelope__free_unpacked(env, NULL);
			n++;
		}
	}
	printf("quiet %u frames, all of wire 1\n", n);
	return 0;
}

/* enrol:ROLE:NAME:HEX or unenrol:ROLE:NAME, sent raw: the coordinator's
 * own checks of the name and key, past the CLI's. */
static int step_enrol(struct peer *w, const char *s, bool add)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT, *r;
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__EnrolAddCmd a = BANCLUSTER__ENROL_ADD_CMD__INIT;
	Bancluster__EnrolRemoveCmd m = BANCLUSTER__ENROL_REMOVE_CMD__INIT;
	uint8_t nonce[16], key[64];
	char name[600];
	const char *q = strchr(s, ':'), *e;
	size_t klen = 0, nlen;
	uint32_t ver = 0;
	unsigned role;

	if (q == NULL || sscanf(q + 1, "%u", &role) != 1 ||
	    (q = strchr(q + 1, ':')) == NULL)
		return die("enrol: expected ROLE:NAME[:HEX]");
	e = strchr(q + 1, ':');
	nlen = e ? (size_t)(e - q - 1) : strlen(q + 1);
	if (nlen >= sizeof(name) || (add && e == NULL))
		return die("enrol: bad NAME or no HEX");
	memcpy(name, q + 1, nlen);
	name[nlen] = '\0';
	if (add && sodium_hex2bin(key, sizeof(key), e + 1, strlen(e + 1), NULL,
				  &klen, NULL) != 0)
		return die("enrol: bad HEX");
	randombytes_buf(nonce, sizeof(nonce));
	rq.nonce.data = nonce;
	rq.nonce.len = sizeof(nonce);
	if (add) {
		a.role = (Bancluster__KeyRole)role;
		a.name = name;
		a.public_key.data = key;
		a.public_key.len = klen;
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ENROL_ADD;
		rq.enrol_add = &a;
	} else {
		m.role = (Bancluster__KeyRole)role;
		m.name = name;
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ENROL_REMOVE;
		rq.enrol_remove = &m;
	}
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ;
	p.admin_req = &rq;
	if (send_as(w, BC_WIRE_VERSION, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, &p) < 0)
		return die("enrol: cannot send");
	r = recv_type(w, w->dealer, BC_CHAN_DEALER,
		      BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, 5000, &ver);
	if (r == NULL)
		return die("enrol: no reply within 5 s");
	printf("reply %d %s\n", (int)r->admin_reply->code, r->admin_reply->error);
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

#define MIRROR_MAX 8192

struct mirrored {
	Bancluster__Payload *p;
	uint32_t type, version;
	int64_t due_ms;
};

/* Seal q->p again as the coordinator (cs) and publish it; frees it. */
static int mirror_send(struct bc_signer *cs, void *pub, struct mirrored *q)
{
	char *cluster = q->p->cluster, *sender = q->p->sender;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = bc_wire_seal_version(cs, q->version, (Bancluster__MsgType)q->type,
				  q->p, &buf, &len);
	q->p->cluster = cluster; /* the unpacked strings, freed with it */
	q->p->sender = sender;
	bancluster__payload__free_unpacked(q->p, NULL);
	q->p = NULL;
	if (rc < 0)
		return -1;
	rc = zmq_send(pub, buf, len, 0);
	free(buf);
	return rc < 0 ? -1 : 0;
}

static int step_mirror(struct peer *w, const char *dir, const char *bind,
		       unsigned ms, unsigned delay, unsigned wmax)
{
	static struct mirrored q[MIRROR_MAX];
	struct bc_signer cs;
	char path[4096], err[512];
	size_t head = 0, n = 0;
	unsigned updates = 0, hugz = 0;
	int64_t end = bc_mono_ms() + ms;
	void *pub;
	int rc = 0;

	memset(&cs, 0, sizeof(cs));
	snprintf(cs.cluster, sizeof(cs.cluster), "%s", CLUSTER);
	snprintf(cs.sender, sizeof(cs.sender), "coordinator");
	snprintf(path, sizeof(path), "%s/coordinator.key", dir);
	if (bc_key_load_secret(&cs.key, path, err, sizeof(err)) < 0 ||
	    bc_counter_open(&cs.counter, NULL, err, sizeof(err)) < 0)
		return die(err);
	cs.counter.next += 10000000; /* 10 s ahead of the time */
	pub = zmq_socket(w->zctx, ZMQ_PUB);
	if (pub == NULL || bc_zsock_options(pub, BC_WIRE_MAX_FRAME, 100000) < 0 ||
	    bc_zsock_curve_server(pub, &cs.key) < 0 || zmq_bind(pub, bind) < 0) {
		bc_key_wipe(&cs.key);
		return die(zmq_strerror(errno));
	}
	while (rc == 0 && (bc_mono_ms() < end || n > 0)) {
		zmq_pollitem_t it = {w->sub, 0, ZMQ_POLLIN, 0};
		int64_t now = bc_mono_ms();

		while (n > 0 && q[head].due_ms <= now) {
			if (mirror_send(&cs, pub, &q[head]) < 0)
				rc = die("mirror: cannot send");
			head = (head + 1) % MIRROR_MAX;
			n--;
		}
		if (zmq_poll(&it, 1, 5) <= 0 || bc_mono_ms() >= end)
			continue;
		for (;;) {
			Bancluster__Payload *p = NULL;
			struct bc_peer *from = NULL;
			struct mirrored *e;
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, w->sub, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			if (bc_wire_open(&w->coord, zmq_msg_data(&m), zmq_msg_size(&m),
					 BC_WIRE_MAX_FRAME,
					 (1u << BANCLUSTER__MSG_TYPE__MSG_UPDATE) |
						 (1u << BANCLUSTER__MSG_TYPE__MSG_HUGZ),
					 BC_CHAN_SUB, CLUSTER, bc_now_ms(), &p,
					 &from) != BC_REJ_OK) {
				zmq_msg_close(&m);
				continue;
			}
			if (n == MIRROR_MAX) {
				zmq_msg_close(&m);
				bancluster__payload__free_unpacked(p, NULL);
				rc = die("mirror: queue full");
				break;
			}
			e = &q[(head + n++) % MIRROR_MAX];
			e->p = p;
			e->type = p->body_case == BANCLUSTER__PAYLOAD__BODY_UPDATE
					  ? BANCLUSTER__MSG_TYPE__MSG_UPDATE
					  : BANCLUSTER__MSG_TYPE__MSG_HUGZ;
			e->version = bc_wire_peek_version(zmq_msg_data(&m),
							  zmq_msg_size(&m));
			if (e->version == 0)
				e->version = 1;
			e->due_ms = bc_mono_ms() + delay;
			if (e->type == BANCLUSTER__MSG_TYPE__MSG_UPDATE)
				updates++;
			else
				hugz++;
			if (wmax != 0 && e->type == BANCLUSTER__MSG_TYPE__MSG_HUGZ) {
				/* an older release: states 1..WMAX */
				if (p->hugz->software != NULL &&
				    p->hugz->software[0] != '\0')
					free(p->hugz->software); /* else the
							  * decoder's static "" */
				p->hugz->software = strdup("mirror-old");
				p->hugz->wire_min = 1;
				p->hugz->wire_max = wmax;
				if (p->hugz->software == NULL)
					rc = die("mirror: out of memory");
			}
			zmq_msg_close(&m);
		}
	}
	while (n > 0) { /* after a failure: free what is left */
		bancluster__payload__free_unpacked(q[head].p, NULL);
		head = (head + 1) % MIRROR_MAX;
		n--;
	}
	zmq_close(pub);
	bc_key_wipe(&cs.key);
	if (rc == 0)
		printf("mirrored %u updates, %u hugz\n", updates, hugz);
	return rc;
}

static int step_swallow(struct peer *w, const char *dir, const char *bind,
			unsigned ms)
{
	struct bc_key ck;
	char path[4096], err[512];
	int64_t end = bc_mono_ms() + ms;
	unsigned n = 0;
	void *router;

	snprintf(path, sizeof(path), "%s/coordinator.key", dir);
	if (bc_key_load_secret(&ck, path, err, sizeof(err)) < 0)
		return die(err);
	router = zmq_socket(w->zctx, ZMQ_ROUTER);
	if (router == NULL || bc_zsock_options(router, BC_WIRE_MAX_FRAME, 100000) < 0 ||
	    bc_zsock_curve_server(router, &ck) < 0 || zmq_bind(router, bind) < 0) {
		bc_key_wipe(&ck);
		return die(zmq_strerror(errno));
	}
	bc_key_wipe(&ck);
	while (bc_mono_ms() < end) {
		zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
		zmq_msg_t m;
		int more;

		if (zmq_poll(&it, 1, (long)(end - bc_mono_ms())) <= 0)
			continue;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			continue;
		}
		more = zmq_msg_more(&m);
		if (!more) { /* the frame after the routing id */
			Bancluster__Envelope *env = bancluster__envelope__unpack(
				NULL, zmq_msg_size(&m), zmq_msg_data(&m));

			printf("swallowed %u\n", env ? (unsigned)env->type : 0u);
			fflush(stdout);
			if (env != NULL)
				bancluster__envelope__free_unpacked(env, NULL);
			n++;
		}
		zmq_msg_close(&m);
	}
	zmq_close(router);
	printf("swallowed %u frames\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	struct peer w;
	struct bc_peer cp;
	char path[4096], err[512];
	int i, one = 1;

	if (argc < 6)
		return die("usage: wire_peer DIR NAME ROUTER PUB STEP...");
	memset(&w, 0, sizeof(w));
	snprintf(w.signer.cluster, sizeof(w.signer.cluster), "%s", CLUSTER);
	snprintf(w.signer.sender, sizeof(w.signer.sender), "%s", argv[2]);
	snprintf(path, sizeof(path), "%s/%s.key", argv[1], argv[2]);
	if (bc_key_load_secret(&w.signer.key, path, err, sizeof(err)) < 0)
		return die(err);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	snprintf(path, sizeof(path), "%s/coordinator.pub", argv[1]);
	if (bc_key_load_public(&cp, path, err, sizeof(err)) < 0 ||
	    bc_keyring_add(&w.coord, &cp) < 0)
		return die("coordinator.pub");
	snprintf(path, sizeof(path), "%s/%s.peer-counter", argv[1], argv[2]);
	if (bc_counter_open(&w.signer.counter, path, err, sizeof(err)) < 0)
		return die(err);
	w.zctx = zmq_ctx_new();
	w.dealer = zmq_socket(w.zctx, ZMQ_DEALER);
	w.sub = zmq_socket(w.zctx, ZMQ_SUB);
	if (w.dealer == NULL || w.sub == NULL ||
	    bc_zsock_options(w.dealer, BC_WIRE_MAX_FRAME, 1000) < 0 ||
	    bc_zsock_options(w.sub, BC_WIRE_MAX_FRAME, 1000) < 0 ||
	    bc_zsock_curve_client(w.dealer, &w.signer.key, &w.coord.v[0]) < 0 ||
	    bc_zsock_curve_client(w.sub, &w.signer.key, &w.coord.v[0]) < 0 ||
	    zmq_setsockopt(w.dealer, ZMQ_IMMEDIATE, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(w.sub, ZMQ_SUBSCRIBE, "", 0) < 0 ||
	    zmq_connect(w.sub, argv[4]) < 0 || zmq_connect(w.dealer, argv[3]) < 0)
		return die(zmq_strerror(errno));
	for (i = 5; i < argc; i++) {
		const char *s = argv[i];
		unsigned v = 0, n = 0;
		char addr[64];
		int rc;

		if (strncmp(s, "swallow:", 8) == 0) {
			char bind[256];
			const char *b = strrchr(s, ':');

			if (b == NULL || b <= s + 8 ||
			    (size_t)(b - s - 8) >= sizeof(bind) ||
			    sscanf(b, ":%u", &v) != 1)
				rc = die("swallow: expected swallow:BIND:MS");
			else {
				memcpy(bind, s + 8, (size_t)(b - s - 8));
				bind[b - s - 8] = '\0';
				rc = step_swallow(&w, argv[1], bind, v);
			}
		} else if (strncmp(s, "mirror:", 7) == 0) {
			char bind[256];
			unsigned d = 0, wmax = 0;
			const char *b = s + strlen(s);
			int colons = 0;

			/* mirror:tcp://HOST:PORT:MS:DELAY:WMAX */
			while (b > s + 7 && colons < 3)
				if (*--b == ':')
					colons++;
			if (colons < 3 || (size_t)(b - s - 7) >= sizeof(bind) ||
			    sscanf(b, ":%u:%u:%u", &v, &d, &wmax) != 3)
				rc = die("mirror: expected mirror:BIND:MS:DELAY:WMAX");
			else {
				memcpy(bind, s + 7, (size_t)(b - s - 7));
				bind[b - s - 7] = '\0';
				rc = step_mirror(&w, argv[1], bind, v, d, wmax);
			}
		} else if (sscanf(s, "hb:%u", &v) == 1)
			rc = step_hb(&w, v);
		else if (sscanf(s, "report:%u:%u:%63s", &v, &n, addr) == 3)
			rc = step_report(&w, v, n, addr);
		else if (sscanf(s, "burst:%u:%u:%63s", &v, &n, addr) == 3)
			rc = step_burst(&w, v, n, addr);
		else if (strcmp(s, "hugz") == 0)
			rc = step_hugz(&w);
		else if (sscanf(s, "update:%63s", addr) == 1)
			rc = step_update(&w, addr);
		else if (sscanf(s, "quiet:%u", &v) == 1)
			rc = step_quiet(&w, v);
		else if (strncmp(s, "enrol:", 6) == 0)
			rc = step_enrol(&w, s, true);
		else if (strncmp(s, "unenrol:", 8) == 0)
			rc = step_enrol(&w, s, false);
		else if (sscanf(s, "sleep:%u", &v) == 1) {
			struct timespec ts = {v / 1000, (long)(v % 1000) * 1000000};

			nanosleep(&ts, NULL);
			rc = 0;
		} else
			rc = die("unknown step");
		fflush(stdout);
		if (rc != 0)
			return rc;
	}
	zmq_close(w.dealer);
	zmq_close(w.sub);
	zmq_ctx_term(w.zctx);
	bc_keyring_free(&w.coord);
	bc_key_wipe(&w.signer.key);
	return 0;
}
