/*
 * test_wire.c - sealing and opening signed messages (proto/wire.h).
 *
 * Real keys are generated into a private temporary directory and loaded
 * the way the daemons load them (secret file, directory of NAME.pub).
 * Every check is on what bc_wire_open returns and on whether a later,
 * valid frame is still accepted: a rejected frame must change nothing.
 */
#include "common/addr.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/version.h"
#include "proto/wire.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 512
#define DIR_MAX 256
#define PATHBUF 1024
#define CLUSTER "testcluster"
#define ALL_TYPES 0x3feu /* bits 1..9 */
#define TEXT_BIG 1024

static char tmpdir[DIR_MAX];
static struct bc_keyring ring;
static struct bc_signer agent;    /* "agent1", in the ring */
static struct bc_signer coord;    /* "coord", in the ring */
static struct bc_signer stranger; /* "stranger", not in the ring */
static struct bc_signer liar;     /* agent1's key, sender "coord" */

/* Every sub-message a test payload may point to. */
struct msg {
	Bancluster__MsgType type;
	Bancluster__Payload p;
	Bancluster__Update up;
	Bancluster__Ban ban, ban2;
	Bancluster__Ban *bans[2];
	Bancluster__Hugz hugz;
	Bancluster__SnapshotReq sreq;
	Bancluster__Snapshot snap;
	Bancluster__Heartbeat hb;
	Bancluster__Event ev;
	Bancluster__Event *evs[1];
	Bancluster__Report rep;
	Bancluster__Ack ack;
	Bancluster__BanCmd bcmd;
	Bancluster__UnbanCmd ucmd;
	Bancluster__ListCmd lcmd;
	Bancluster__StatusCmd scmd;
	Bancluster__AdminReq areq;
	Bancluster__AgentStatus ag;
	Bancluster__AgentStatus *ags[1];
	Bancluster__AdminReply arep;
	Bancluster__Allow allow;        /* allow_v4() fills it */
	Bancluster__Allow *allows[1];
	Bancluster__AllowAddCmd aacmd;
	Bancluster__AllowRemoveCmd arcmd;
	uint8_t v4[4], v6[16], nonce[16], hash[80];
	char text[TEXT_BIG];
};

static void msg_init(struct msg *m, Bancluster__MsgType type)
{
	static const Bancluster__Payload p0 = BANCLUSTER__PAYLOAD__INIT;
	static const Bancluster__Update up0 = BANCLUSTER__UPDATE__INIT;
	static const Bancluster__Ban ban0 = BANCLUSTER__BAN__INIT;
	static const Bancluster__Hugz hugz0 = BANCLUSTER__HUGZ__INIT;
	static const Bancluster__SnapshotReq sreq0 = BANCLUSTER__SNAPSHOT_REQ__INIT;
	static const Bancluster__Snapshot snap0 = BANCLUSTER__SNAPSHOT__INIT;
	static const Bancluster__Heartbeat hb0 = BANCLUSTER__HEARTBEAT__INIT;
	static const Bancluster__Event ev0 = BANCLUSTER__EVENT__INIT;
	static const Bancluster__Report rep0 = BANCLUSTER__REPORT__INIT;
	static const Bancluster__Ack ack0 = BANCLUSTER__ACK__INIT;
	static const Bancluster__BanCmd bcmd0 = BANCLUSTER__BAN_CMD__INIT;
	static const Bancluster__UnbanCmd ucmd0 = BANCLUSTER__UNBAN_CMD__INIT;
	static const Bancluster__ListCmd lcmd0 = BANCLUSTER__LIST_CMD__INIT;
	static const Bancluster__StatusCmd scmd0 = BANCLUSTER__STATUS_CMD__INIT;
	static const Bancluster__AdminReq areq0 = BANCLUSTER__ADMIN_REQ__INIT;
	static const Bancluster__AgentStatus ag0 = BANCLUSTER__AGENT_STATUS__INIT;
	static const Bancluster__AdminReply arep0 = BANCLUSTER__ADMIN_REPLY__INIT;
	static const uint8_t v4[4] = {192, 0, 2, 0};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->p = p0;
	m->up = up0;
	m->ban = ban0;
	m->ban2 = ban0;
	m->hugz = hugz0;
	m->sreq = sreq0;
	m->snap = snap0;
	m->hb = hb0;
	m->ev = ev0;
	m->rep = rep0;
	m->ack = ack0;
	m->bcmd = bcmd0;
	m->ucmd = ucmd0;
	m->lcmd = lcmd0;
	m->scmd = scmd0;
	m->areq = areq0;
	m->ag = ag0;
	m->arep = arep0;
	memcpy(m->v4, v4, 4);
	memcpy(m->v6, v6, 16);
	memset(m->nonce, 0x6e, sizeof(m->nonce));

	/* a valid ban: 192.0.2.0/24 for an hour */
	m->ban.family = 4;
	m->ban.addr.data = m->v4;
	m->ban.addr.len = 4;
	m->ban.plen = 24;
	m->ban.expires_ms = bc_now_ms() + 3600000;
	m->ban.created_ms = bc_now_ms();
	m->ban.reason = (char *)"brute force";
	m->ban.origin = (char *)"rule:smtp-auth";
	m->ban2.family = 6;
	m->ban2.addr.data = m->v6;
	m->ban2.addr.len = 16;
	m->ban2.plen = 32;
	m->bans[0] = &m->ban;
	m->bans[1] = &m->ban2;

	m->p.body_case = (Bancluster__Payload__BodyCase)(type + 10);
	switch (type) {
	case BANCLUSTER__MSG_TYPE__MSG_REPORT:
		m->ev.time_ms = bc_now_ms();
		m->ev.kind = 1;
		m->ev.family = 4;
		m->ev.addr.data = m->v4;
		m->ev.addr.len = 4;
		m->ev.service = (char *)"postfix";
		m->ev.line = (char *)"SASL LOGIN authentication failed";
		m->evs[0] = &m->ev;
		m->rep.report_id = 77;
		m->rep.n_events = 1;
		m->rep.events = m->evs;
		m->p.report = &m->rep;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT:
		m->hb.epoch = 3;
		m->hb.seq = 9;
		m->hb.fleet_count = 2;
		m->hb.fleet_hash.data = m->hash;
		m->hb.fleet_hash.len = 32;
		m->p.heartbeat = &m->hb;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ:
		m->sreq.nonce.data = m->nonce;
		m->sreq.nonce.len = 16;
		m->p.snapshot_req = &m->sreq;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT:
		m->snap.nonce.data = m->nonce;
		m->snap.nonce.len = 16;
		m->snap.epoch = 3;
		m->snap.seq = 41;
		m->snap.last = 1;
		m->snap.total = 2;
		m->snap.n_bans = 2;
		m->snap.bans = m->bans;
		m->p.snapshot = &m->snap;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_UPDATE:
		m->up.epoch = 3;
		m->up.seq = 42;
		m->up.ban = &m->ban;
		m->p.update = &m->up;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_ACK:
		m->ack.report_id = 77;
		m->p.ack = &m->ack;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ:
		m->areq.nonce.data = m->nonce;
		m->areq.nonce.len = 16;
		m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_BAN;
		m->bcmd.ban = &m->ban;
		m->areq.ban = &m->bcmd;
		m->p.admin_req = &m->areq;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY:
		m->arep.nonce.data = m->nonce;
		m->arep.nonce.len = 16;
		m->arep.error = (char *)"";
		m->arep.n_bans = 2;
		m->arep.bans = m->bans;
		m->ag.id = (char *)"agent1";
		m->ags[0] = &m->ag;
		m->arep.n_agents = 1;
		m->arep.agents = m->ags;
		m->p.admin_reply = &m->arep;
		break;
	case BANCLUSTER__MSG_TYPE__MSG_HUGZ:
		m->hugz.epoch = 3;
		m->hugz.seq = 42;
		m->p.hugz = &m->hugz;
		break;
	default:
		break;
	}
}

static int seal(struct bc_signer *s, struct msg *m, uint8_t **buf,
		size_t *len)
{
	return bc_wire_seal(s, m->type, &m->p, buf, len);
}

/* Open with the usual parameters; frees any payload. */
static enum bc_reject open_at(const uint8_t *buf, size_t len, uint32_t allowed,
			      enum bc_chan chan, const char *cluster,
			      int64_t now_ms)
{
	Bancluster__Payload *p = (Bancluster__Payload *)&ring; /* poison */
	struct bc_peer *from = NULL;
	enum bc_reject r;

	r = bc_wire_open(&ring, buf, len, BC_WIRE_MAX_FRAME, allowed, chan,
			 cluster, now_ms, &p, &from);
	if (r == BC_REJ_OK) {
		if (p == NULL || from == NULL)
			r = BC_REJ_MAX; /* contract broken */
		else
			bancluster__payload__free_unpacked(p, NULL);
	} else if (p != NULL) {
		r = BC_REJ_MAX; /* must be NULL on rejection */
	}
	return r;
}

static enum bc_reject open1(const uint8_t *buf, size_t len)
{
	return open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER,
		       bc_now_ms());
}

static void reset_counters(void)
{
	size_t i;

	for (i = 0; i < ring.n; i++)
		memset(ring.v[i].last_counter, 0,
		       sizeof(ring.v[i].last_counter));
}

static const char *rname(enum bc_reject r)
{
	return r == BC_REJ_MAX ? "CONTRACT-BROKEN" : bc_wire_reject_name(r);
}

/* Every message type goes through seal and open intact. */
static void test_round_trip(void)
{
	Bancluster__MsgType t;

	for (t = BANCLUSTER__MSG_TYPE__MSG_REPORT;
	     t <= BANCLUSTER__MSG_TYPE__MSG_HUGZ; t++) {
		struct msg m;
		uint8_t *buf = NULL;
		size_t len = 0;
		Bancluster__Payload *p = NULL;
		struct bc_peer *from = NULL;
		enum bc_reject r;
		int64_t before = bc_now_ms();

		msg_init(&m, t);
		if (seal(&agent, &m, &buf, &len) < 0) {
			CHECK(0, "type %d: seal", t);
			continue;
		}
		r = bc_wire_open(&ring, buf, len, BC_WIRE_MAX_FRAME, 1u << t,
				 BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), &p, &from);
		CHECK(r == BC_REJ_OK && p != NULL, "type %d: opens (%s)", t,
		      bc_wire_reject_name(r));
		if (r != BC_REJ_OK || p == NULL) {
			free(buf);
			continue;
		}
		CHECK(from == bc_keyring_find_name(&ring, "agent1"),
		      "type %d: signer is agent1", t);
		CHECK(strcmp(p->cluster, CLUSTER) == 0 &&
			      strcmp(p->sender, "agent1") == 0 &&
			      p->counter == from->last_counter[BC_CHAN_ROUTER] &&
			      p->sent_ms >= before && p->sent_ms <= bc_now_ms(),
		      "type %d: header filled by seal", t);
		CHECK((uint32_t)p->body_case == (uint32_t)t + 10,
		      "type %d: body kind kept", t);
		switch (t) {
		case BANCLUSTER__MSG_TYPE__MSG_UPDATE:
			CHECK(p->update->seq == 42 && p->update->ban->plen == 24 &&
				      p->update->ban->addr.len == 4 &&
				      memcmp(p->update->ban->addr.data, m.v4, 4) == 0 &&
				      p->update->ban->expires_ms == m.ban.expires_ms &&
				      strcmp(p->update->ban->reason, "brute force") == 0,
			      "update body intact");
			break;
		case BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT:
			CHECK(p->snapshot->n_bans == 2 &&
				      p->snapshot->bans[1]->family == 6 &&
				      p->snapshot->bans[1]->plen == 32 &&
				      memcmp(p->snapshot->nonce.data, m.nonce, 16) == 0,
			      "snapshot body intact");
			break;
		case BANCLUSTER__MSG_TYPE__MSG_REPORT:
			CHECK(p->report->n_events == 1 &&
				      p->report->report_id == 77 &&
				      strcmp(p->report->events[0]->service,
					     "postfix") == 0,
			      "report body intact");
			break;
		default:
			break;
		}
		bancluster__payload__free_unpacked(p, NULL);
		free(buf);
	}

	/* each admin command */
	{
		static const Bancluster__AdminReq__CmdCase cmds[] = {
			BANCLUSTER__ADMIN_REQ__CMD_UNBAN,
			BANCLUSTER__ADMIN_REQ__CMD_LIST,
			BANCLUSTER__ADMIN_REQ__CMD_STATUS,
		};
		size_t i;

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			struct msg m;
			uint8_t *buf = NULL;
			size_t len = 0;

			msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ);
			m.areq.cmd_case = cmds[i];
			m.ucmd.family = 6;
			m.ucmd.addr.data = m.v6;
			m.ucmd.addr.len = 16;
			m.ucmd.plen = 48;
			if (cmds[i] == BANCLUSTER__ADMIN_REQ__CMD_UNBAN)
				m.areq.unban = &m.ucmd;
			else if (cmds[i] == BANCLUSTER__ADMIN_REQ__CMD_LIST)
				m.areq.list = &m.lcmd;
			else
				m.areq.status = &m.scmd;
			CHECK(seal(&coord, &m, &buf, &len) == 0 &&
				      open1(buf, len) == BC_REJ_OK,
			      "admin command %d round-trips", cmds[i]);
			free(buf);
		}
	}
}

/* seal refuses a body that does not match the type. */
static void test_seal_refusals(void)
{
	struct msg m;
	uint8_t *buf = NULL;
	size_t len = 0;

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	CHECK(bc_wire_seal(&agent, BANCLUSTER__MSG_TYPE__MSG_HUGZ, &m.p, &buf,
			   &len) < 0 && buf == NULL,
	      "seal: update body as hugz refused");
	CHECK(bc_wire_seal(&agent, BANCLUSTER__MSG_TYPE__MSG_NONE, &m.p, &buf,
			   &len) < 0,
	      "seal: type NONE refused");
	CHECK(bc_wire_seal(&agent, (Bancluster__MsgType)10, &m.p, &buf,
			   &len) < 0,
	      "seal: type 10 refused");
	m.p.body_case = BANCLUSTER__PAYLOAD__BODY__NOT_SET;
	CHECK(bc_wire_seal(&agent, BANCLUSTER__MSG_TYPE__MSG_UPDATE, &m.p,
			   &buf, &len) < 0,
	      "seal: no body refused");
	{
		struct msg a, b;
		uint8_t *b1 = NULL, *b2 = NULL;
		size_t l1 = 0, l2 = 0;

		msg_init(&a, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		seal(&agent, &a, &b1, &l1);
		seal(&agent, &b, &b2, &l2);
		CHECK(b2 != NULL && b.p.counter > a.p.counter,
		      "each seal takes a higher counter");
		free(b1);
		free(b2);
	}
}

/* Flip each byte of a frame three ways: never accepted. */
static void flip_all(const char *what, struct msg *m)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	uint8_t *buf = NULL, *copy;
	size_t len = 0, i, k, accepted = 0, tries = 0;
	unsigned seen[BC_REJ_MAX + 1] = {0};

	if (seal(&agent, m, &buf, &len) < 0) {
		CHECK(0, "%s: seal", what);
		return;
	}
	copy = malloc(len);
	for (i = 0; i < len; i++) {
		for (k = 0; k < sizeof(masks); k++) {
			enum bc_reject r;

			memcpy(copy, buf, len);
			copy[i] ^= masks[k];
			reset_counters();
			r = open1(copy, len);
			tries++;
			seen[r]++;
			if (r == BC_REJ_OK || r == BC_REJ_MAX) {
				accepted++;
				CHECK(0, "%s: byte %zu ^ 0x%02x accepted (%s)",
				      what, i, masks[k], rname(r));
			}
		}
	}
	CHECK(accepted == 0,
	      "%s: all %zu single-byte changes of a %zu-byte frame refused "
	      "(envelope %u, signer %u, signature %u)",
	      what, tries, len, seen[BC_REJ_ENVELOPE], seen[BC_REJ_SIGNER],
	      seen[BC_REJ_SIGNATURE]);
	/* every truncation is refused too */
	accepted = 0;
	for (i = 0; i < len; i++) {
		reset_counters();
		if (open1(buf, i) == BC_REJ_OK)
			accepted++;
	}
	CHECK(accepted == 0, "%s: all %zu truncations refused", what, len);
	reset_counters();
	CHECK(open1(buf, len) == BC_REJ_OK, "%s: the unchanged frame opens",
	      what);
	free(copy);
	free(buf);
}

static void test_flips(void)
{
	struct msg m;

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	flip_all("update", &m);
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	flip_all("hugz", &m);
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT);
	flip_all("snapshot", &m);
}

/* Signer, sender, cluster, type mask, replay and clock. */
static void test_rejects(void)
{
	struct msg m;
	uint8_t *buf = NULL;
	size_t len = 0;
	enum bc_reject r;
	int64_t now;

	reset_counters();
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	seal(&stranger, &m, &buf, &len);
	r = open1(buf, len);
	CHECK(r == BC_REJ_SIGNER, "unknown signer -> unknown_signer (%s)",
	      rname(r));
	free(buf);

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	seal(&liar, &m, &buf, &len);
	r = open1(buf, len);
	CHECK(r == BC_REJ_SENDER,
	      "agent1's key claiming to be coord -> wrong_sender (%s)",
	      rname(r));
	free(buf);

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	seal(&agent, &m, &buf, &len);
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, "othercluster",
		    bc_now_ms());
	CHECK(r == BC_REJ_SENDER, "other cluster -> wrong_sender (%s)",
	      rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, "", bc_now_ms());
	CHECK(r == BC_REJ_SENDER, "empty cluster -> wrong_sender (%s)",
	      rname(r));

	/* the type must be allowed on the socket */
	r = open_at(buf, len, ALL_TYPES & ~(1u << BANCLUSTER__MSG_TYPE__MSG_HUGZ),
		    BC_CHAN_ROUTER, CLUSTER, bc_now_ms());
	CHECK(r == BC_REJ_TYPE, "hugz on a socket that takes everything else -> wrong_type (%s)",
	      rname(r));
	r = open_at(buf, len, 0, BC_CHAN_ROUTER, CLUSTER, bc_now_ms());
	CHECK(r == BC_REJ_TYPE, "empty allowed mask -> wrong_type (%s)",
	      rname(r));

	/* clock skew, both ways, and the edges of the window */
	now = bc_now_ms();
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER,
		    now + BC_WIRE_SKEW_MS + 5000);
	CHECK(r == BC_REJ_SKEW, "sent %d ms in the past -> clock_skew (%s)",
	      BC_WIRE_SKEW_MS + 5000, rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER,
		    now - BC_WIRE_SKEW_MS - 5000);
	CHECK(r == BC_REJ_SKEW, "sent %d ms in the future -> clock_skew (%s)",
	      BC_WIRE_SKEW_MS + 5000, rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER, 0);
	CHECK(r == BC_REJ_SKEW, "receiver clock at 0 -> clock_skew (%s)",
	      rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER, INT64_MAX / 2);
	CHECK(r == BC_REJ_SKEW, "receiver clock far ahead -> clock_skew (%s)",
	      rname(r));
	/* nothing above changed state: the frame still opens, once */
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER,
		    now + BC_WIRE_SKEW_MS - 5000);
	CHECK(r == BC_REJ_OK, "sent %d ms in the past is fine (%s)",
	      BC_WIRE_SKEW_MS - 5000, rname(r));
	r = open1(buf, len);
	CHECK(r == BC_REJ_REPLAY, "same frame again -> replay (%s)", rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_SUB, CLUSTER, bc_now_ms());
	CHECK(r == BC_REJ_OK, "same frame on another channel: own counter (%s)",
	      rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_SUB, CLUSTER, bc_now_ms());
	CHECK(r == BC_REJ_REPLAY, "and a replay there too (%s)", rname(r));
	free(buf);

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	seal(&agent, &m, &buf, &len);
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_DEALER, CLUSTER,
		    bc_now_ms() - BC_WIRE_SKEW_MS + 5000);
	CHECK(r == BC_REJ_OK, "sent %d ms in the future is fine (%s)",
	      BC_WIRE_SKEW_MS - 5000, rname(r));
	free(buf);

	/* an older frame after a newer one */
	{
		uint8_t *old = NULL, *new = NULL;
		size_t lo = 0, ln = 0;
		struct msg a, b;

		reset_counters();
		msg_init(&a, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		seal(&agent, &a, &old, &lo);
		seal(&agent, &b, &new, &ln);
		CHECK(open1(new, ln) == BC_REJ_OK, "newer frame opens");
		r = open1(old, lo);
		CHECK(r == BC_REJ_REPLAY, "older frame after it -> replay (%s)",
		      rname(r));
		free(old);
		free(new);
	}

	/* counters are per sender */
	{
		uint8_t *x = NULL, *y = NULL;
		size_t lx = 0, ly = 0;
		struct msg a, b;

		reset_counters();
		msg_init(&a, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		seal(&coord, &a, &x, &lx);
		seal(&agent, &b, &y, &ly);
		CHECK(open1(y, ly) == BC_REJ_OK && open1(x, lx) == BC_REJ_OK,
		      "an older counter from another sender is fine");
		free(x);
		free(y);
	}
}

/* Value ranges: each row spoils one field of a valid message. */
struct range_case {
	const char *what;
	Bancluster__MsgType type;
	void (*spoil)(struct msg *m);
};

static void ban_v4_16(struct msg *m) { m->ban.addr.data = m->v6; m->ban.addr.len = 16; }
static void ban_v6_4(struct msg *m) { m->ban2.addr.data = m->v4; m->ban2.addr.len = 4; }
static void ban_plen33(struct msg *m) { m->ban.plen = 33; }
static void ban_plen129(struct msg *m) { m->ban2.plen = 129; }
static void ban_family0(struct msg *m) { m->ban.family = 0; }
static void ban_family5(struct msg *m) { m->ban.family = 5; }
static void ban_family10(struct msg *m) { m->ban.family = AF_INET6; }
static void ban_addr0(struct msg *m) { m->ban.addr.len = 0; }
static void ban_addr5(struct msg *m) { m->ban.addr.len = 5; }
static void ban_expires_neg(struct msg *m) { m->ban.expires_ms = -1; }
static void ban_created_neg(struct msg *m) { m->ban.created_ms = INT64_MIN; }
static void ban_reason_long(struct msg *m)
{
	memset(m->text, 'r', BC_WIRE_MAX_TEXT + 1);
	m->text[BC_WIRE_MAX_TEXT + 1] = '\0';
	m->ban.reason = m->text;
}
static void ban_origin_long(struct msg *m)
{
	memset(m->text, 'o', BC_WIRE_MAX_TEXT + 1);
	m->text[BC_WIRE_MAX_TEXT + 1] = '\0';
	m->ban.origin = m->text;
}
static void update_seq0(struct msg *m) { m->up.seq = 0; }
static void update_noban(struct msg *m) { m->up.ban = NULL; }
static void snap_nonce15(struct msg *m) { m->snap.nonce.len = 15; }
static void snap_nonce17(struct msg *m)
{
	m->snap.nonce.data = m->hash;
	m->snap.nonce.len = 17;
}
static void snap_ban2_bad(struct msg *m) { m->ban2.plen = 200; }
static void sreq_nonce0(struct msg *m) { m->sreq.nonce.len = 0; }
static void ev_kind0(struct msg *m) { m->ev.kind = 0; }
static void ev_kind5(struct msg *m) { m->ev.kind = 5; }
static void ev_family6_4(struct msg *m) { m->ev.family = 6; }
static void ev_family7(struct msg *m) { m->ev.family = 7; }
static void ev_time_neg(struct msg *m) { m->ev.time_ms = -5; }
static void ev_service_long(struct msg *m)
{
	memset(m->text, 's', BC_NAME_MAX + 1);
	m->text[BC_NAME_MAX + 1] = '\0';
	m->ev.service = m->text;
}
static void ev_line_long(struct msg *m)
{
	memset(m->text, 'l', BC_WIRE_MAX_TEXT + 1);
	m->text[BC_WIRE_MAX_TEXT + 1] = '\0';
	m->ev.line = m->text;
}
static void hb_hash65(struct msg *m)
{
	m->hb.fleet_hash.len = 65;
}
/* a valid allow entry: 192.0.2.0/24 until removed */
static Bancluster__Allow *allow_v4(struct msg *m)
{
	static const Bancluster__Allow a0 = BANCLUSTER__ALLOW__INIT;

	m->allow = a0;
	m->allow.family = 4;
	m->allow.addr.data = m->v4;
	m->allow.addr.len = 4;
	m->allow.plen = 24;
	m->allow.created_ms = bc_now_ms();
	m->allows[0] = &m->allow;
	return &m->allow;
}
static void update_ban_and_allow(struct msg *m) { m->up.allow = allow_v4(m); }
static void update_allow_plen33(struct msg *m)
{
	m->up.ban = NULL;
	m->up.allow = allow_v4(m);
	m->allow.plen = 33;
}
static void update_allow_expires_neg(struct msg *m)
{
	m->up.ban = NULL;
	m->up.allow = allow_v4(m);
	m->allow.expires_ms = -1;
}
static void update_allow_comment_long(struct msg *m)
{
	m->up.ban = NULL;
	m->up.allow = allow_v4(m);
	memset(m->text, 'c', BC_WIRE_MAX_TEXT + 1);
	m->text[BC_WIRE_MAX_TEXT + 1] = '\0';
	m->allow.comment = m->text;
}
static void snap_allow_family5(struct msg *m)
{
	allow_v4(m)->family = 5;
	m->snap.n_allows = 1;
	m->snap.allows = m->allows;
}
static void areq_allow_add_for_max(struct msg *m)
{
	static const Bancluster__AllowAddCmd a0 = BANCLUSTER__ALLOW_ADD_CMD__INIT;

	m->aacmd = a0;
	m->aacmd.family = 4;
	m->aacmd.addr.data = m->v4;
	m->aacmd.addr.len = 4;
	m->aacmd.plen = 24;
	m->aacmd.for_s = (uint64_t)BC_WIRE_MAX_ALLOW_S + 1;
	m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD;
	m->areq.allow_add = &m->aacmd;
}
static void areq_allow_remove_v6_129(struct msg *m)
{
	static const Bancluster__AllowRemoveCmd a0 = BANCLUSTER__ALLOW_REMOVE_CMD__INIT;

	m->arcmd = a0;
	m->arcmd.family = 6;
	m->arcmd.addr.data = m->v6;
	m->arcmd.addr.len = 16;
	m->arcmd.plen = 129;
	m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE;
	m->areq.allow_remove = &m->arcmd;
}
static void arep_allowed_by_bad(struct msg *m) { allow_v4(m)->addr.len = 16; m->arep.allowed_by = &m->allow; }
static void arep_allow_by_long(struct msg *m)
{
	allow_v4(m);
	memset(m->text, 'b', BC_NAME_MAX + 1);
	m->text[BC_NAME_MAX + 1] = '\0';
	m->allow.added_by = m->text;
	m->arep.n_allows = 1;
	m->arep.allows = m->allows;
}
static void areq_nonce0(struct msg *m) { m->areq.nonce.len = 0; }
static void areq_nocmd(struct msg *m) { m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD__NOT_SET; }
static void areq_ban_bad(struct msg *m) { m->ban.plen = 40; }
static void areq_unban_bad(struct msg *m)
{
	m->ucmd.family = 4;
	m->ucmd.addr.data = m->v4;
	m->ucmd.addr.len = 4;
	m->ucmd.plen = 33;
	m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_UNBAN;
	m->areq.unban = &m->ucmd;
}
static void areq_unban_v6_in_v4(struct msg *m)
{
	m->ucmd.family = 4;
	m->ucmd.addr.data = m->v6;
	m->ucmd.addr.len = 16;
	m->ucmd.plen = 32;
	m->areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_UNBAN;
	m->areq.unban = &m->ucmd;
}
static void arep_nonce0(struct msg *m) { m->arep.nonce.len = 0; }
static void arep_error_long(struct msg *m)
{
	memset(m->text, 'e', BC_WIRE_MAX_TEXT + 1);
	m->text[BC_WIRE_MAX_TEXT + 1] = '\0';
	m->arep.error = m->text;
}
static void arep_ban_bad(struct msg *m) { m->ban.family = 6; }
static void arep_agent_long(struct msg *m)
{
	memset(m->text, 'a', BC_NAME_MAX + 1);
	m->text[BC_NAME_MAX + 1] = '\0';
	m->ag.id = m->text;
}

static const struct range_case range_cases[] = {
	{"update: family 4 with 16 bytes", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_v4_16},
	{"update: plen 33 on IPv4", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_plen33},
	{"update: family 0", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_family0},
	{"update: family 5", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_family5},
	{"update: family AF_INET6 (10), not 6", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_family10},
	{"update: empty address", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_addr0},
	{"update: 5-byte address", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_addr5},
	{"update: negative expiry", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_expires_neg},
	{"update: negative creation time", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_created_neg},
	{"update: reason over 512 bytes", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_reason_long},
	{"update: origin over 512 bytes", BANCLUSTER__MSG_TYPE__MSG_UPDATE, ban_origin_long},
	{"update: seq 0", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_seq0},
	{"update: no ban", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_noban},
	{"update: both a ban and an allow entry", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_ban_and_allow},
	{"update: allow entry /33 on IPv4", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_allow_plen33},
	{"update: allow entry with negative expiry", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_allow_expires_neg},
	{"update: allow comment over 512 bytes", BANCLUSTER__MSG_TYPE__MSG_UPDATE, update_allow_comment_long},
	{"snapshot: allow entry of family 5", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, snap_allow_family5},
	{"admin_req: allow_add --for over 3650 days", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_allow_add_for_max},
	{"admin_req: allow_remove /129 on IPv6", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_allow_remove_v6_129},
	{"admin_reply: allowed_by family 4 with 16 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_allowed_by_bad},
	{"admin_reply: allow added_by over 64 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_allow_by_long},
	{"snapshot: family 6 with 4 bytes", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, ban_v6_4},
	{"snapshot: plen 129 on IPv6", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, ban_plen129},
	{"snapshot: second ban bad", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, snap_ban2_bad},
	{"snapshot: 15-byte nonce", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, snap_nonce15},
	{"snapshot: 17-byte nonce", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT, snap_nonce17},
	{"snapshot_req: no nonce", BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ, sreq_nonce0},
	{"report: event kind 0", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_kind0},
	{"report: event kind 5", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_kind5},
	{"report: family 6 with 4 bytes", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_family6_4},
	{"report: family 7", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_family7},
	{"report: negative time", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_time_neg},
	{"report: service over 64 bytes", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_service_long},
	{"report: line over 512 bytes", BANCLUSTER__MSG_TYPE__MSG_REPORT, ev_line_long},
	{"heartbeat: 65-byte fleet hash", BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, hb_hash65},
	{"admin_req: no nonce", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_nonce0},
	{"admin_req: no command", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_nocmd},
	{"admin_req: ban /40 on IPv4", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_ban_bad},
	{"admin_req: unban /33 on IPv4", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_unban_bad},
	{"admin_req: unban family 4 with 16 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, areq_unban_v6_in_v4},
	{"admin_reply: no nonce", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_nonce0},
	{"admin_reply: error over 512 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_error_long},
	{"admin_reply: ban family 6 with 4 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_ban_bad},
	{"admin_reply: agent id over 64 bytes", BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY, arep_agent_long},
};

static void test_ranges(void)
{
	size_t i;

	for (i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
		const struct range_case *c = &range_cases[i];
		uint8_t *good = NULL, *bad = NULL;
		size_t lg = 0, lb = 0;
		struct msg mg, mb;
		enum bc_reject r;

		reset_counters();
		/* the good frame first: it has the lower counter */
		msg_init(&mg, c->type);
		msg_init(&mb, c->type);
		c->spoil(&mb);
		if (seal(&agent, &mg, &good, &lg) < 0 ||
		    seal(&agent, &mb, &bad, &lb) < 0) {
			CHECK(0, "%s: seal", c->what);
			free(good);
			free(bad);
			continue;
		}
		CHECK(bc_wire_check_ranges(&mb.p) < 0 &&
			      bc_wire_check_ranges(&mg.p) == 0,
		      "%s: bc_wire_check_ranges refuses it, control passes",
		      c->what);
		r = open1(bad, lb);
		CHECK(r == BC_REJ_RANGE, "%s -> out_of_range (%s)", c->what,
		      rname(r));
		r = open1(good, lg);
		CHECK(r == BC_REJ_OK,
		      "%s: the refused frame did not move the counter (%s)",
		      c->what, rname(r));
		free(good);
		free(bad);
	}
}

/* What the allow list sends that must pass: an update carrying only an
 * allow entry, a snapshot with one, allow_add at the longest --for. */
static void test_allow_ranges(void)
{
	struct msg m;

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	m.up.ban = NULL;
	m.up.allow = allow_v4(&m);
	m.up.remove = 1;
	CHECK(bc_wire_check_ranges(&m.p) == 0, "update carrying only an allow entry passes");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT);
	allow_v4(&m);
	m.snap.n_allows = 1;
	m.snap.allows = m.allows;
	CHECK(bc_wire_check_ranges(&m.p) == 0, "snapshot with an allow entry passes");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ);
	areq_allow_add_for_max(&m);
	m.aacmd.for_s = (uint64_t)BC_WIRE_MAX_ALLOW_S;
	m.aacmd.comment = (char *)"office";
	CHECK(bc_wire_check_ranges(&m.p) == 0, "allow_add for 3650 days passes");
	m.areq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST;
	m.areq.allow_list = NULL;
	{
		Bancluster__AllowListCmd l = BANCLUSTER__ALLOW_LIST_CMD__INIT;

		m.areq.allow_list = &l;
		CHECK(bc_wire_check_ranges(&m.p) == 0, "allow_list passes");
	}
}

/* Range edges that must pass. */
static void test_range_edges(void)
{
	struct msg m;

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	m.ban.plen = 32;
	m.ban.expires_ms = 0;
	memset(m.text, 'r', BC_WIRE_MAX_TEXT);
	m.text[BC_WIRE_MAX_TEXT] = '\0';
	m.ban.reason = m.text;
	CHECK(bc_wire_check_ranges(&m.p) == 0,
	      "ban /32, permanent, 512-byte reason accepted");
	m.ban.plen = 0;
	CHECK(bc_wire_check_ranges(&m.p) == 0, "ban /0 is in range");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT);
	m.ban2.plen = 128;
	m.snap.n_bans = 0;
	CHECK(bc_wire_check_ranges(&m.p) == 0, "empty snapshot part accepted");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT);
	m.hb.fleet_hash.len = 64;
	CHECK(bc_wire_check_ranges(&m.p) == 0, "64-byte fleet hash accepted");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_REPORT);
	m.ev.kind = 4;
	m.ev.family = 6;
	m.ev.addr.data = m.v6;
	m.ev.addr.len = 16;
	memset(m.text, 's', BC_NAME_MAX);
	m.text[BC_NAME_MAX] = '\0';
	m.ev.service = m.text;
	CHECK(bc_wire_check_ranges(&m.p) == 0,
	      "IPv6 event kind 4, 64-byte service accepted");
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	m.p.body_case = BANCLUSTER__PAYLOAD__BODY__NOT_SET;
	CHECK(bc_wire_check_ranges(&m.p) < 0, "payload without body refused");
}

/* Too many events: the per-report cap. */
static void test_too_many_events(void)
{
	struct msg m;
	Bancluster__Event **evs;
	uint8_t *buf = NULL;
	size_t len = 0, i, n = BC_WIRE_MAX_EVENTS + 1;
	enum bc_reject r;

	evs = calloc(n, sizeof(*evs));
	if (evs == NULL)
		return;
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_REPORT);
	for (i = 0; i < n; i++)
		evs[i] = &m.ev;
	m.rep.events = evs;
	m.rep.n_events = n;
	reset_counters();
	seal(&agent, &m, &buf, &len);
	r = open1(buf, len);
	CHECK(r == BC_REJ_RANGE, "%zu events in one report -> out_of_range (%s)",
	      n, rname(r));
	free(buf);
	m.rep.n_events = n - 1;
	seal(&agent, &m, &buf, &len);
	r = open1(buf, len);
	CHECK(r == BC_REJ_OK, "%zu events accepted (%s)", n - 1, rname(r));
	free(buf);
	free(evs);
}

static void test_sizes(void)
{
	uint8_t *big, *buf = NULL;
	size_t len = 0, i;
	struct msg m;
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	enum bc_reject r;
	Bancluster__Ban **bans;
	size_t nb = 3000;

	big = calloc(1, BC_WIRE_MAX_FRAME + 1);
	r = bc_wire_open(&ring, big, BC_WIRE_MAX_FRAME + 1,
			 BC_WIRE_MAX_FRAME * 2, ALL_TYPES, BC_CHAN_ROUTER,
			 CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_SIZE && p == NULL,
	      "frame of 4 MiB + 1 -> oversize even if the caller allows more (%s)",
	      rname(r));
	r = bc_wire_open(&ring, big, 70000, BC_WIRE_MAX_ADMIN_FRAME, ALL_TYPES,
			 BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_SIZE, "70000 bytes on the admin socket -> oversize (%s)",
	      rname(r));
	free(big);

	/* a real, valid frame over the admin limit */
	bans = calloc(nb, sizeof(*bans));
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY);
	for (i = 0; i < nb; i++)
		bans[i] = &m.ban;
	m.arep.bans = bans;
	m.arep.n_bans = nb;
	reset_counters();
	seal(&coord, &m, &buf, &len);
	CHECK(len > BC_WIRE_MAX_ADMIN_FRAME, "big reply is %zu bytes", len);
	r = bc_wire_open(&ring, buf, len, BC_WIRE_MAX_ADMIN_FRAME, ALL_TYPES,
			 BC_CHAN_DEALER, CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_SIZE && p == NULL, "valid %zu-byte frame over maxlen -> oversize (%s)",
	      len, rname(r));
	r = open_at(buf, len, ALL_TYPES, BC_CHAN_DEALER, CLUSTER, bc_now_ms());
	CHECK(r == BC_REJ_OK, "the same frame under the 4 MiB limit opens (%s)",
	      rname(r));
	r = bc_wire_open(&ring, buf, len, len - 1, ALL_TYPES, BC_CHAN_DEALER,
			 CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_SIZE, "maxlen one byte short -> oversize (%s)",
	      rname(r));
	free(buf);
	free(bans);
}

/* Bytes that are not an envelope, and envelopes built by hand. */
static void test_garbage(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{"empty frame", "", 0},
		{"one zero byte", "\0", 1},
		{"text", "hello, coordinator", 18},
		{"truncated varint", "\x08\xff\xff\xff", 4},
		{"bad wire type", "\x0f\x01", 2},
		{"length past the end", "\x22\x7f\x01\x02", 4},
		{"all 0xff", "\xff\xff\xff\xff\xff\xff\xff\xff", 8},
		{"version 1 only", "\x08\x01", 2},
		{"json", "{\"type\":5}", 10},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bc_reject r = open1((const uint8_t *)cases[i].bytes,
					 cases[i].len);

		CHECK(r == BC_REJ_ENVELOPE, "%s -> bad_envelope (%s)",
		      cases[i].what, rname(r));
	}
	{
		uint8_t junk[4096];
		size_t k, ok = 0;

		for (k = 0; k < 200; k++) {
			size_t n = 1 + (size_t)randombytes_uniform(sizeof(junk));

			randombytes_buf(junk, n);
			if (open1(junk, n) == BC_REJ_OK)
				ok++;
		}
		CHECK(ok == 0, "200 random frames all refused");
	}
}

static const char *const ctx_names[] = {
	"none", "report", "heartbeat", "snapshot_req", "snapshot",
	"update", "ack", "admin_req", "admin_reply", "hugz",
};

/* Build an envelope by hand: sign body under context `ctype`. */
static int hand_frame(const struct bc_key *k, uint32_t version, uint32_t type,
		      uint32_t ctype, const uint8_t *body, size_t blen,
		      size_t siglen, uint8_t **out, size_t *outlen)
{
	Bancluster__Envelope env = BANCLUSTER__ENVELOPE__INIT;
	uint8_t sig[crypto_sign_BYTES + 1], *m;
	char ctx[64];
	size_t clen;

	snprintf(ctx, sizeof(ctx), "bancluster/v1/%s",
		 ctype < 10 ? ctx_names[ctype] : "x");
	clen = strlen(ctx) + 1;
	m = malloc(clen + blen + 1);
	if (m == NULL)
		return -1;
	memcpy(m, ctx, clen);
	if (blen > 0)
		memcpy(m + clen, body, blen);
	crypto_sign_detached(sig, NULL, m, clen + blen, k->sk);
	free(m);
	sig[crypto_sign_BYTES] = 0;
	env.version = version;
	env.type = type;
	env.key_id.data = (uint8_t *)(uintptr_t)k->id;
	env.key_id.len = BC_KEY_ID_BYTES;
	env.payload.data = (uint8_t *)(uintptr_t)body;
	env.payload.len = blen;
	env.signature.data = sig;
	env.signature.len = siglen;
	*outlen = bancluster__envelope__get_packed_size(&env);
	*out = malloc(*outlen ? *outlen : 1);
	if (*out == NULL)
		return -1;
	bancluster__envelope__pack(&env, *out);
	return 0;
}

/* A payload packed with a valid header for agent1. */
static uint8_t *packed_payload(struct msg *m, size_t *len, uint64_t counter)
{
	uint8_t *b;

	m->p.cluster = (char *)CLUSTER;
	m->p.sender = (char *)"agent1";
	m->p.counter = counter;
	m->p.sent_ms = bc_now_ms();
	*len = bancluster__payload__get_packed_size(&m->p);
	b = malloc(*len ? *len : 1);
	if (b != NULL)
		bancluster__payload__pack(&m->p, b);
	return b;
}

static void test_envelope_rules(void)
{
	struct msg m;
	uint8_t *body, *f = NULL;
	size_t blen = 0, flen = 0;
	enum bc_reject r;
	uint64_t c = 1000;
	static const struct {
		const char *what;
		uint32_t version, type, ctype;
		size_t siglen;
		int body_as_hugz;
		enum bc_reject want;
	} cases[] = {
		{"hand-made frame per wire.h", 1, 5, 5, 64, 0, BC_REJ_OK},
		{"version 0 (none)", 0, 5, 5, 64, 0, BC_REJ_ENVELOPE},
		{"version 2 (this release)", 2, 5, 5, 64, 0, BC_REJ_OK},
		{"version 3", 3, 5, 5, 64, 0, BC_REJ_VERSION},
		{"version 2^32-1", UINT32_MAX, 5, 5, 64, 0, BC_REJ_VERSION},
		{"type 0", 1, 0, 0, 64, 0, BC_REJ_ENVELOPE},
		{"type 12", 1, 12, 5, 64, 0, BC_REJ_ENVELOPE},
		{"type 1000", 1, 1000, 5, 64, 0, BC_REJ_ENVELOPE},
		{"63-byte signature", 1, 5, 5, 63, 0, BC_REJ_ENVELOPE},
		{"65-byte signature", 1, 5, 5, 65, 0, BC_REJ_ENVELOPE},
		{"no signature", 1, 5, 5, 0, 0, BC_REJ_ENVELOPE},
		{"signed as hugz, sent as update", 1, 5, 9, 64, 0, BC_REJ_SIGNATURE},
		{"signed as update, sent as hugz", 1, 9, 5, 64, 0, BC_REJ_SIGNATURE},
		{"hugz body under update type, signed so", 1, 5, 5, 64, 1, BC_REJ_TYPE},
		{"update body under hugz type, signed so", 1, 9, 9, 64, 0, BC_REJ_TYPE},
	};
	size_t i;
	const struct bc_peer *a1 = bc_keyring_find_name(&ring, "agent1");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset_counters();
		msg_init(&m, cases[i].body_as_hugz ? BANCLUSTER__MSG_TYPE__MSG_HUGZ
						   : BANCLUSTER__MSG_TYPE__MSG_UPDATE);
		body = packed_payload(&m, &blen, c++);
		if (body == NULL ||
		    hand_frame(&agent.key, cases[i].version, cases[i].type,
			       cases[i].ctype, body, blen, cases[i].siglen, &f,
			       &flen) < 0) {
			CHECK(0, "%s: build", cases[i].what);
			free(body);
			continue;
		}
		r = open1(f, flen);
		CHECK(r == cases[i].want, "%s -> %s (%s)", cases[i].what,
		      rname(cases[i].want), rname(r));
		if (cases[i].want != BC_REJ_OK)
			CHECK(a1 != NULL && a1->last_counter[BC_CHAN_ROUTER] == 0,
			      "%s: counter untouched", cases[i].what);
		else
			CHECK(a1 != NULL && a1->wire_version == cases[i].version,
			      "%s: the signer's wire_version is %u (%u)",
			      cases[i].what, cases[i].version,
			      a1 ? a1->wire_version : 0);
		free(body);
		free(f);
	}

	/* signed garbage: passes the signature, fails the payload */
	{
		static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};

		hand_frame(&agent.key, 1, 5, 5, junk, sizeof(junk), 64, &f,
			   &flen);
		r = open1(f, flen);
		CHECK(r == BC_REJ_PAYLOAD, "signed junk payload -> bad_payload (%s)",
		      rname(r));
		free(f);
	}

	/* the key id picks the key: someone else's id fails the signature */
	{
		struct bc_key forged = stranger.key;

		memcpy(forged.id, agent.key.id, BC_KEY_ID_BYTES);
		reset_counters();
		msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		body = packed_payload(&m, &blen, c++);
		hand_frame(&forged, 1, 9, 9, body, blen, 64, &f, &flen);
		r = open1(f, flen);
		CHECK(r == BC_REJ_SIGNATURE,
		      "stranger's signature under agent1's key id -> bad_signature (%s)",
		      rname(r));
		free(body);
		free(f);
		sodium_memzero(&forged, sizeof(forged));
	}

	/* the counter must be strictly above: equal is a replay */
	{
		reset_counters();
		msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		body = packed_payload(&m, &blen, 5000);
		hand_frame(&agent.key, 1, 9, 9, body, blen, 64, &f, &flen);
		CHECK(open1(f, flen) == BC_REJ_OK, "counter 5000 opens");
		free(body);
		free(f);
		body = packed_payload(&m, &blen, 5000);
		hand_frame(&agent.key, 1, 9, 9, body, blen, 64, &f, &flen);
		r = open1(f, flen);
		CHECK(r == BC_REJ_REPLAY,
		      "a different frame with the same counter -> replay (%s)",
		      rname(r));
		free(body);
		free(f);
		body = packed_payload(&m, &blen, 0);
		hand_frame(&agent.key, 1, 9, 9, body, blen, 64, &f, &flen);
		reset_counters();
		r = open1(f, flen);
		CHECK(r == BC_REJ_REPLAY, "counter 0 is never valid (%s)",
		      rname(r));
		free(body);
		free(f);
	}
}

/*
 * A run of rejections of every kind, each with a higher counter than the
 * good frame sealed before them: the good frame still opens afterwards.
 */
static void test_rejects_keep_state(void)
{
	struct msg g, b;
	uint8_t *good = NULL, *bad = NULL, *f;
	size_t lg = 0, lb = 0;
	enum bc_reject r;
	int ok = 1;

	reset_counters();
	msg_init(&g, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	seal(&agent, &g, &good, &lg);

	msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	seal(&agent, &b, &bad, &lb);
	r = open_at(bad, lb, 1u << BANCLUSTER__MSG_TYPE__MSG_HUGZ,
		    BC_CHAN_ROUTER, CLUSTER, bc_now_ms());
	ok &= r == BC_REJ_TYPE;
	r = open_at(bad, lb, ALL_TYPES, BC_CHAN_ROUTER, "other", bc_now_ms());
	ok &= r == BC_REJ_SENDER;
	r = open_at(bad, lb, ALL_TYPES, BC_CHAN_ROUTER, CLUSTER,
		    bc_now_ms() + 10 * BC_WIRE_SKEW_MS);
	ok &= r == BC_REJ_SKEW;
	f = malloc(lb);
	memcpy(f, bad, lb);
	f[lb - 1] ^= 1;
	r = open1(f, lb);
	ok &= r == BC_REJ_SIGNATURE;
	free(f);
	free(bad);
	msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	b.ban.plen = 33;
	seal(&agent, &b, &bad, &lb);
	r = open1(bad, lb);
	ok &= r == BC_REJ_RANGE;
	free(bad);
	msg_init(&b, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	seal(&liar, &b, &bad, &lb);
	r = open1(bad, lb);
	ok &= r == BC_REJ_SENDER;
	free(bad);
	CHECK(ok, "type, cluster, skew, signature, range, sender rejections as expected");
	r = open1(good, lg);
	CHECK(r == BC_REJ_OK,
	      "after six refused frames with higher counters the older good one opens (%s)",
	      rname(r));
	free(good);
}

/*
 * What a peer of wire 1 decodes: the message's descriptor cut down to
 * the fields below limit (wire 2 added 30 and up; Heartbeat 11 and up,
 * issue 14), as the previous
 * release's generated code has it. Written into *d, with its own field
 * index tables in names[] and ranges[].
 */
static void wire1_view(const ProtobufCMessageDescriptor *full,
		       ProtobufCMessageDescriptor *d, unsigned *names,
		       ProtobufCIntRange *ranges, unsigned limit)
{
	unsigned i, k = 0, n = 0, r = 0;

	*d = *full;
	while (k < full->n_fields && full->fields[k].id < limit)
		k++;
	for (i = 0; i < full->n_fields; i++)
		if (full->fields_sorted_by_name[i] < k)
			names[n++] = full->fields_sorted_by_name[i];
	for (i = 0; i < full->n_field_ranges; i++)
		if (full->field_ranges[i].start_value < (int)limit)
			ranges[r++] = full->field_ranges[i];
	ranges[r].start_value = 0;
	ranges[r].orig_index = (int)k;
	d->n_fields = k;
	d->fields_sorted_by_name = names;
	d->n_field_ranges = r;
	d->field_ranges = ranges;
}

/*
 * Wire versions: this release opens 1 and 2, seals 2 by default and 1 on
 * request; 3 and up are unsupported_version (not bad_envelope) and
 * change nothing, no version (0) stays bad_envelope; a wire 1 frame (version 1, none of the fields of wire
 * 2), as the previous release seals it, opens; a wire 1 decoder skips
 * the new fields of a wire 2 message.
 */
static void test_versions(void)
{
	struct msg m;
	uint8_t *body, *f = NULL;
	size_t blen = 0, flen = 0;
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	struct bc_peer *a1 = bc_keyring_find_name(&ring, "agent1");
	enum bc_reject r;

	CHECK(BC_WIRE_VERSION_MIN == 1 && BC_WIRE_VERSION == 2,
	      "this release speaks wire 1..2");
	CHECK(strcmp(bc_wire_reject_name(BC_REJ_VERSION),
		     "unsupported_version") == 0,
	      "reason name: unsupported_version");

	/* a heartbeat as an agent of wire 1 sends it */
	reset_counters();
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT);
	body = packed_payload(&m, &blen, 7000);
	hand_frame(&agent.key, 1, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT,
		   BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT, body, blen, 64, &f, &flen);
	CHECK(bc_wire_peek_version(f, flen) == 1, "wire 1 frame: peek says 1");
	r = bc_wire_open(&ring, f, flen, BC_WIRE_MAX_FRAME, ALL_TYPES,
			 BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_OK && from == a1 && a1->wire_version == 1 &&
		      p->heartbeat->seq == 9 && p->heartbeat->wire_min == 0 &&
		      p->heartbeat->wire_max == 0 &&
		      strcmp(p->heartbeat->software, "") == 0,
	      "a wire 1 heartbeat opens: wire_version 1, no range, no software (%s)",
	      rname(r));
	if (r == BC_REJ_OK)
		bancluster__payload__free_unpacked(p, NULL);
	free(body);
	free(f);

	/* a wire 1 report: its events arrive */
	reset_counters();
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_REPORT);
	body = packed_payload(&m, &blen, 7001);
	hand_frame(&agent.key, 1, BANCLUSTER__MSG_TYPE__MSG_REPORT,
		   BANCLUSTER__MSG_TYPE__MSG_REPORT, body, blen, 64, &f, &flen);
	r = bc_wire_open(&ring, f, flen, BC_WIRE_MAX_FRAME, ALL_TYPES,
			 BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_OK && p->report->n_events == 1 &&
		      p->report->events[0]->kind == 1 &&
		      memcmp(p->report->events[0]->addr.data, m.v4, 4) == 0,
	      "a wire 1 report opens with its event (%s)", rname(r));
	if (r == BC_REJ_OK)
		bancluster__payload__free_unpacked(p, NULL);
	free(body);
	free(f);

	/* sealed by this release: version 2, the new fields intact */
	reset_counters();
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT);
	m.hb.wire_min = 1;
	m.hb.wire_max = 2;
	m.hb.software = (char *)"0.3.0+deb12u1~rc:1_x-y";
	CHECK(seal(&agent, &m, &f, &flen) == 0 &&
		      bc_wire_peek_version(f, flen) == 2,
	      "bc_wire_seal seals version 2");
	r = bc_wire_open(&ring, f, flen, BC_WIRE_MAX_FRAME, ALL_TYPES,
			 BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), &p, &from);
	CHECK(r == BC_REJ_OK && a1->wire_version == 2 &&
		      p->heartbeat->wire_min == 1 && p->heartbeat->wire_max == 2 &&
		      strcmp(p->heartbeat->software, "0.3.0+deb12u1~rc:1_x-y") == 0,
	      "a wire 2 heartbeat opens with range 1..2 and its software (%s)",
	      rname(r));
	if (r == BC_REJ_OK)
		bancluster__payload__free_unpacked(p, NULL);

	/* ... and a decoder of wire 1 reads the same heartbeat bytes */
	{
		ProtobufCMessageDescriptor v1;
		unsigned names[32];
		ProtobufCIntRange ranges[8];
		Bancluster__Envelope *env = bancluster__envelope__unpack(NULL, flen, f);
		Bancluster__Payload *full = env ? bancluster__payload__unpack(
				NULL, env->payload.len, env->payload.data) : NULL;
		uint8_t hb[256];
		size_t hl = 0;
		Bancluster__Heartbeat *old = NULL;

		/* wire 1's Heartbeat: fields 1..10 (11.. came later) */
		wire1_view(&bancluster__heartbeat__descriptor, &v1, names, ranges, 11);
		if (full != NULL && full->heartbeat != NULL &&
		    bancluster__heartbeat__get_packed_size(full->heartbeat) <= sizeof(hb)) {
			hl = bancluster__heartbeat__pack(full->heartbeat, hb);
			old = (Bancluster__Heartbeat *)protobuf_c_message_unpack(
				&v1, NULL, hl, hb);
		}
		CHECK(v1.n_fields == 10 && old != NULL && old->epoch == 3 &&
			      old->seq == 9 && old->fleet_count == 2 &&
			      old->fleet_hash.len == 32 && old->wire_max == 0 &&
			      old->base.n_unknown_fields == 3,
		      "a wire 1 decoder (Heartbeat fields 1..10) reads a wire 2 "
		      "heartbeat and skips its 3 new fields");
		if (old != NULL)
			protobuf_c_message_free_unpacked(&old->base, NULL);
		if (full != NULL)
			bancluster__payload__free_unpacked(full, NULL);
		if (env != NULL)
			bancluster__envelope__free_unpacked(env, NULL);
	}
	free(f);

	/* the same for the coordinator's hugz, which wire 1 agents read */
	{
		ProtobufCMessageDescriptor v1;
		unsigned names[32];
		ProtobufCIntRange ranges[8];
		Bancluster__Hugz h = BANCLUSTER__HUGZ__INIT, *old;
		uint8_t hb[128];
		size_t hl;

		h.epoch = 5;
		h.seq = 6;
		h.wire_min = 1;
		h.wire_max = 2;
		h.software = (char *)"0.3.0";
		hl = bancluster__hugz__pack(&h, hb);
		wire1_view(&bancluster__hugz__descriptor, &v1, names, ranges, 30);
		old = (Bancluster__Hugz *)protobuf_c_message_unpack(&v1, NULL, hl, hb);
		CHECK(v1.n_fields == 2 && old != NULL && old->epoch == 5 &&
			      old->seq == 6 && old->base.n_unknown_fields == 3,
		      "a wire 1 decoder (Hugz fields 1..2) reads a wire 2 hugz");
		if (old != NULL)
			protobuf_c_message_free_unpacked(&old->base, NULL);
	}

	/* bc_wire_seal_version: 1 and 2, nothing else */
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	f = NULL;
	CHECK(bc_wire_seal_version(&coord, 1, m.type, &m.p, &f, &flen) == 0 &&
		      bc_wire_peek_version(f, flen) == 1 && open1(f, flen) == BC_REJ_OK,
	      "bc_wire_seal_version 1: version 1, opens");
	free(f);
	f = NULL;
	CHECK(bc_wire_seal_version(&coord, 0, m.type, &m.p, &f, &flen) < 0 &&
		      f == NULL &&
		      bc_wire_seal_version(&coord, 3, m.type, &m.p, &f, &flen) < 0 &&
		      f == NULL,
	      "bc_wire_seal_version refuses 0 and 3");

	/* unsupported versions: counted apart, change nothing */
	{
		static const uint32_t bad[] = {3, 4, 100, UINT32_MAX};
		uint8_t *good = NULL;
		size_t lg = 0, i;
		int all = 1;

		reset_counters();
		msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		body = packed_payload(&m, &blen, 8000);
		hand_frame(&agent.key, 2, 9, 9, body, blen, 64, &good, &lg);
		free(body);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			body = packed_payload(&m, &blen, 9000 + i);
			hand_frame(&agent.key, bad[i], 9, 9, body, blen, 64, &f,
				   &flen);
			r = open1(f, flen);
			if (r != BC_REJ_VERSION ||
			    bc_wire_peek_version(f, flen) != bad[i]) {
				all = 0;
				CHECK(0, "version %u -> %s, peek %u", bad[i],
				      rname(r), bc_wire_peek_version(f, flen));
			}
			free(body);
			free(f);
		}
		CHECK(all, "versions 3, 4, 100, 2^32-1 -> unsupported_version, "
			   "peek names each");
		CHECK(open1(good, lg) == BC_REJ_OK,
		      "after them a good frame of a lower counter still opens");
		free(good);
	}

	/* the version is looked at before the signer: a stranger's v3 */
	{
		msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		body = packed_payload(&m, &blen, 9100);
		hand_frame(&stranger.key, 3, 9, 9, body, blen, 64, &f, &flen);
		r = open1(f, flen);
		CHECK(r == BC_REJ_VERSION,
		      "an unknown signer's version 3 -> unsupported_version (%s)",
		      rname(r));
		free(body);
		free(f);
	}
	CHECK(bc_wire_peek_version((const uint8_t *)"\xff\xff", 2) == 0,
	      "peek of no envelope: 0");

	/* common version with a peer's stated range */
	CHECK(bc_wire_common_version(0, 0) == 1 &&
		      bc_wire_common_version(1, 1) == 1 &&
		      bc_wire_common_version(1, 2) == 2 &&
		      bc_wire_common_version(1, 5) == 2 &&
		      bc_wire_common_version(2, 3) == 2 &&
		      bc_wire_common_version(3, 4) == 0,
	      "common version: none stated 1, 1..1 1, 1..2 2, 1..5 2, 2..3 2, 3..4 none");
}

/* Stated versions: 1 <= min <= max or none; software of a safe set. */
static void test_version_ranges(void)
{
	static const struct {
		const char *what;
		uint32_t min, max;
		const char *sw;
		int ok;
	} cases[] = {
		{"none stated", 0, 0, "", 1},
		{"1..2 with 0.3.0", 1, 2, "0.3.0", 1},
		{"2..2", 2, 2, "1.0~rc1+deb12u1", 1},
		{"min 0, max 2", 0, 2, "0.3.0", 0},
		{"min 3 above max 2", 3, 2, "0.3.0", 0},
		{"min 1, max 0", 1, 0, "", 0},
		{"software with a space", 1, 2, "0.3 .0", 0},
		{"software with a quote", 1, 2, "0.3\"0", 0},
		{"software with an escape", 1, 2, "\x1b[31m", 0},
		{"software with UTF-8", 1, 2, "0.3.0\xc3\xa9", 0},
	};
	char longsw[BC_WIRE_SOFTWARE_MAX + 2];
	size_t i;
	int all = 1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg h, z, a;

		msg_init(&h, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT);
		msg_init(&z, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
		msg_init(&a, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY);
		h.hb.wire_min = z.hugz.wire_min = a.ag.wire_min = cases[i].min;
		h.hb.wire_max = z.hugz.wire_max = a.ag.wire_max = cases[i].max;
		h.hb.software = z.hugz.software = a.ag.software =
			(char *)cases[i].sw;
		if ((bc_wire_check_ranges(&h.p) == 0) != cases[i].ok ||
		    (bc_wire_check_ranges(&z.p) == 0) != cases[i].ok ||
		    (bc_wire_check_ranges(&a.p) == 0) != cases[i].ok) {
			all = 0;
			CHECK(0, "stated versions %s: want %s", cases[i].what,
			      cases[i].ok ? "ok" : "out_of_range");
		}
		/* the coordinator's own, in the admin reply */
		msg_init(&a, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY);
		a.arep.wire_min = cases[i].min;
		a.arep.wire_max = cases[i].max;
		a.arep.software = (char *)cases[i].sw;
		if ((bc_wire_check_ranges(&a.p) == 0) != cases[i].ok) {
			all = 0;
			CHECK(0, "admin reply versions %s", cases[i].what);
		}
	}
	CHECK(all, "heartbeat, hugz, agent status and admin reply: %zu stated-version cases",
	      sizeof(cases) / sizeof(cases[0]));
	memset(longsw, '1', sizeof(longsw) - 1);
	longsw[sizeof(longsw) - 1] = '\0';
	{
		struct msg h;

		msg_init(&h, BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT);
		h.hb.wire_min = 1;
		h.hb.wire_max = 2;
		h.hb.software = longsw;
		CHECK(bc_wire_check_ranges(&h.p) < 0,
		      "software of 65 bytes -> out_of_range");
		longsw[BC_WIRE_SOFTWARE_MAX] = '\0';
		CHECK(bc_wire_check_ranges(&h.p) == 0, "software of 64 bytes passes");
	}
	CHECK(bc_version()[0] != '\0' && strcmp(bc_version_wire(), bc_version()) == 0,
	      "this build states its version \"%s\" as it is", bc_version());
}

static void test_reject_names(void)
{
	int r, distinct = 1, nonempty = 1;

	for (r = 0; r < BC_REJ_MAX; r++) {
		int k;

		if (bc_wire_reject_name((enum bc_reject)r) == NULL ||
		    bc_wire_reject_name((enum bc_reject)r)[0] == '\0')
			nonempty = 0;
		for (k = 0; k < r; k++)
			if (strcmp(bc_wire_reject_name((enum bc_reject)r),
				   bc_wire_reject_name((enum bc_reject)k)) == 0)
				distinct = 0;
	}
	CHECK(nonempty && distinct, "every reject reason has its own name");
	CHECK(strcmp(bc_wire_reject_name(BC_REJ_REPLAY), "replay") == 0 &&
		      strcmp(bc_wire_reject_name(BC_REJ_OK), "ok") == 0,
	      "names: ok, replay");
	CHECK(strcmp(bc_wire_reject_name(BC_REJ_MAX), "?") == 0,
	      "out-of-range reason -> \"?\"");
}

static void test_ban_addr(void)
{
	static const struct {
		const char *in;
	} cases[] = {
		{"192.0.2.0/24"}, {"192.0.2.7"}, {"0.0.0.0/0"},
		{"2001:db8::/48"}, {"::1"}, {"::/0"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_addr a, b;
		Bancluster__Ban ban = BANCLUSTER__BAN__INIT;
		char err[ERRLEN];

		bc_addr_parse(&a, cases[i].in, strlen(cases[i].in), err,
			      sizeof(err));
		bc_wire_addr_fill(&a, &ban.family, &ban.addr, &ban.plen);
		CHECK(ban.family == (a.family == AF_INET ? 4u : 6u) &&
			      ban.addr.len == bc_addr_bytes(&a) &&
			      bc_wire_ban_addr(&ban, &b) == 0 &&
			      bc_addr_equal(&a, &b),
		      "ban address round trip %s", cases[i].in);
	}
	{
		static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
						   0, 0, 0xff, 0xff, 198, 51, 100, 9};
		static const uint8_t host[4] = {192, 0, 2, 77};
		Bancluster__Ban ban = BANCLUSTER__BAN__INIT;
		struct bc_addr b;
		char buf[BC_ADDR_STRLEN];

		ban.family = 6;
		ban.addr.data = (uint8_t *)(uintptr_t)mapped;
		ban.addr.len = 16;
		ban.plen = 128;
		CHECK(bc_wire_ban_addr(&ban, &b) == 0 &&
			      strcmp(bc_addr_format(&b, buf, sizeof(buf)),
				     "198.51.100.9") == 0,
		      "mapped ban address becomes IPv4 (%s)", buf);
		ban.family = 4;
		ban.addr.data = (uint8_t *)(uintptr_t)host;
		ban.addr.len = 4;
		ban.plen = 24;
		CHECK(bc_wire_ban_addr(&ban, &b) == 0 &&
			      strcmp(bc_addr_format(&b, buf, sizeof(buf)),
				     "192.0.2.0/24") == 0,
		      "ban host bits cleared (%s)", buf);
		ban.plen = 33;
		CHECK(bc_wire_ban_addr(&ban, &b) < 0, "ban /33 refused");
		ban.family = 6;
		ban.plen = 24;
		CHECK(bc_wire_ban_addr(&ban, &b) < 0,
		      "ban family 6 with 4 bytes refused");
		ban.family = 2;
		CHECK(bc_wire_ban_addr(&ban, &b) < 0, "ban family 2 refused");
	}
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int make_signer(struct bc_signer *s, const char *keyname,
		       const char *sender, int trusted)
{
	char base[PATHBUF], err[ERRLEN];

	memset(s, 0, sizeof(*s));
	snprintf(base, sizeof(base), "%s/%s/%s", tmpdir,
		 trusted ? "ring" : "secret", keyname);
	if (bc_key_generate(base, err, sizeof(err)) < 0 &&
	    errno != EEXIST && strstr(err, "exists") == NULL) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	if (bc_key_load_secret(&s->key, base, err, sizeof(err)) < 0) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	snprintf(s->cluster, sizeof(s->cluster), "%s", CLUSTER);
	snprintf(s->sender, sizeof(s->sender), "%s", sender);
	return bc_counter_open(&s->counter, NULL, err, sizeof(err));
}

/*
 * The verify pool's half (bc_wire_preverify): 1 only for an envelope of
 * a pinned key whose signature checks out; bc_wire_open_pre with the
 * verdict then opens the frame like bc_wire_open, replay counter and all.
 */
static void test_preverify(void)
{
	struct msg m;
	uint8_t *buf = NULL, *bad = NULL, *alien = NULL;
	size_t len = 0, blen = 0, alen = 0;
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	struct bc_wire_seen seen;
	enum bc_reject r;

	reset_counters();
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_REPORT);
	if (seal(&agent, &m, &buf, &len) < 0 ||
	    seal(&stranger, &m, &alien, &alen) < 0) {
		CHECK(0, "preverify: seal");
		free(buf);
		free(alien);
		return;
	}
	bad = malloc(len);
	if (bad == NULL) {
		free(buf);
		free(alien);
		return;
	}
	memcpy(bad, buf, len);
	blen = len;
	bad[blen - 1] ^= 0x01; /* the last byte is the signature's */
	CHECK(bc_wire_preverify(&ring, buf, len, BC_WIRE_MAX_FRAME) == 1,
	      "preverify: a frame of agent1 -> 1");
	CHECK(bc_wire_preverify(&ring, bad, blen, BC_WIRE_MAX_FRAME) == 0,
	      "preverify: one signature bit flipped -> 0");
	CHECK(bc_wire_preverify(&ring, alien, alen, BC_WIRE_MAX_FRAME) == 0,
	      "preverify: a key not in the ring -> 0");
	CHECK(bc_wire_preverify(&ring, (const uint8_t *)"junk", 4,
				BC_WIRE_MAX_FRAME) == 0,
	      "preverify: no envelope -> 0");
	CHECK(bc_wire_preverify(&ring, buf, len, len - 1) == 0,
	      "preverify: over maxlen -> 0");
	/* the bad frame with preverified = 0: rejected as before */
	r = bc_wire_open_pre(&ring, bad, blen, BC_WIRE_MAX_FRAME, ALL_TYPES,
			     BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), 0, NULL, &p,
			     &from, &seen);
	CHECK(r == BC_REJ_SIGNATURE && p == NULL,
	      "open_pre(0): the flipped frame is rejected (%s)", rname(r));
	r = bc_wire_open_pre(&ring, buf, len, BC_WIRE_MAX_FRAME, ALL_TYPES,
			     BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), 1, NULL, &p,
			     &from, &seen);
	CHECK(r == BC_REJ_OK && p != NULL &&
		      from == bc_keyring_find_name(&ring, "agent1") &&
		      seen.verified,
	      "open_pre(1): the good frame opens (%s)", rname(r));
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);
	p = NULL;
	r = bc_wire_open_pre(&ring, buf, len, BC_WIRE_MAX_FRAME, ALL_TYPES,
			     BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), 1, NULL, &p,
			     &from, &seen);
	CHECK(r == BC_REJ_REPLAY && p == NULL,
	      "open_pre(1): the same frame again is a replay (%s)", rname(r));
	free(buf);
	free(bad);
	free(alien);
}

/* bc_wire_peek_update: an update's epoch and seq without a check; any
 * other type, a truncation or garbage: false */
static void test_peek_update(void)
{
	struct msg m;
	uint8_t *buf = NULL, junk[64];
	size_t len = 0, cut, wrong = 0;
	uint64_t e = 0, q = 0;

	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_UPDATE);
	CHECK(seal(&coord, &m, &buf, &len) == 0, "peek: update sealed");
	CHECK(bc_wire_peek_update(buf, len, &e, &q) && e == 3 && q == 42,
	      "peek: an update's epoch 3 and seq 42 (%llu, %llu)",
	      (unsigned long long)e, (unsigned long long)q);
	buf[len - 1] ^= 0x01; /* inside the signature: still read, unchecked */
	CHECK(bc_wire_peek_update(buf, len, &e, &q),
	      "peek: a bad signature is not looked at (the caller opens or drops)");
	for (cut = 0; cut + 1 < len; cut++) {
		e = q = 0;
		if (bc_wire_peek_update(buf, cut, &e, &q) && e == 3 && q == 42 &&
		    cut < len - 66)
			wrong++; /* the payload cut short cannot read as whole */
	}
	CHECK(wrong == 0, "peek: no truncation inside the payload reads as the update (%zu)", wrong);
	free(buf);
	buf = NULL;
	msg_init(&m, BANCLUSTER__MSG_TYPE__MSG_HUGZ);
	CHECK(seal(&coord, &m, &buf, &len) == 0 &&
		      !bc_wire_peek_update(buf, len, &e, &q),
	      "peek: a hugz is no update");
	free(buf);
	memset(junk, 0xff, sizeof(junk));
	CHECK(!bc_wire_peek_update(junk, sizeof(junk), &e, &q) &&
		      !bc_wire_peek_update(junk, 0, &e, &q),
	      "peek: garbage and an empty frame are no update");
}

/*
 * bc_wire_open_pre into a bump region: a report of 3,000 events opens
 * the same into a block that holds it, and into one of 16 KiB that it
 * outgrows (the rest from malloc, freed by free_unpacked: ASan watches);
 * a reset block is used again from its start.
 */
static void test_bump(void)
{
	enum { N = 3000 };
	static Bancluster__Event ev[N], *evp[N];
	static uint8_t a4[N][4];
	Bancluster__Payload pay = BANCLUSTER__PAYLOAD__INIT, *p;
	Bancluster__Report rep = BANCLUSTER__REPORT__INIT;
	struct bc_wire_bump big, small;
	struct bc_peer *from;
	struct bc_wire_seen seen;
	uint8_t *buf = NULL;
	size_t len = 0, i, k;
	enum bc_reject r;
	int round;

	if (bc_wire_bump_init(&big, 2u << 20) < 0 ||
	    bc_wire_bump_init(&small, 16u << 10) < 0) {
		CHECK(0, "bump: init");
		return;
	}
	for (round = 0; round < 4; round++) {
		struct bc_wire_bump *b = round % 2 ? &small : &big;
		bool same = true;

		reset_counters();
		for (i = 0; i < N; i++) {
			bancluster__event__init(&ev[i]);
			ev[i].time_ms = bc_now_ms();
			ev[i].kind = 1 + (uint32_t)(i % 3);
			ev[i].family = 4;
			a4[i][0] = 192;
			a4[i][1] = 0;
			a4[i][2] = (uint8_t)(i >> 8);
			a4[i][3] = (uint8_t)(i + round);
			ev[i].addr.data = a4[i];
			ev[i].addr.len = 4;
			ev[i].service = (char *)"postfix/submission/smtpd";
			ev[i].line = (char *)"warning: unknown[192.0.2.1]: SASL LOGIN authentication failed";
			evp[i] = &ev[i];
		}
		rep.report_id = 100 + (uint64_t)round;
		rep.n_events = N;
		rep.events = evp;
		pay.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
		pay.report = &rep;
		if (bc_wire_seal(&agent, BANCLUSTER__MSG_TYPE__MSG_REPORT, &pay, &buf,
				 &len) < 0) {
			CHECK(0, "bump: seal");
			break;
		}
		k = b->spilled;
		r = bc_wire_open_pre(&ring, buf, len, BC_WIRE_MAX_FRAME, ALL_TYPES,
				     BC_CHAN_ROUTER, CLUSTER, bc_now_ms(), 0, &b->pa, &p,
				     &from, &seen);
		free(buf);
		buf = NULL;
		if (r != BC_REJ_OK || p == NULL || p->report == NULL ||
		    p->report->n_events != N) {
			CHECK(0, "bump: round %d opens (%s)", round, rname(r));
			break;
		}
		for (i = 0; i < N; i++)
			same = same && p->report->events[i]->kind == ev[i].kind &&
			       p->report->events[i]->addr.len == 4 &&
			       memcmp(p->report->events[i]->addr.data, a4[i], 4) == 0 &&
			       strcmp(p->report->events[i]->line, ev[i].line) == 0;
		CHECK(same && (round % 2 ? b->spilled > k : b->spilled == k),
		      "bump: a %d-event report opened into a %s block (%llu "
		      "allocations past it), every event as sealed", N,
		      round % 2 ? "16 KiB" : "2 MiB",
		      (unsigned long long)(b->spilled - k));
		bancluster__payload__free_unpacked(p, &b->pa);
		bc_wire_bump_reset(b);
		CHECK(b->used == 0, "bump: reset gives the block back");
	}
	/* a block filled to its last byte: what comes next, a zero-size
	 * allocation included, is malloc's and freed as such (ASan) */
	{
		void *fill = small.pa.alloc(small.pa.allocator_data, small.cap);
		void *zero = small.pa.alloc(small.pa.allocator_data, 0);
		void *more = small.pa.alloc(small.pa.allocator_data, 32);

		CHECK(fill == small.buf && zero != NULL && more != NULL &&
			      small.used == small.cap,
		      "bump: a full block hands out malloc's memory, zero bytes too");
		small.pa.free(small.pa.allocator_data, zero);
		small.pa.free(small.pa.allocator_data, more);
		small.pa.free(small.pa.allocator_data, fill);
		bc_wire_bump_reset(&small);
	}
	bc_wire_bump_free(&big);
	bc_wire_bump_free(&small);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char d[PATHBUF], err[ERRLEN];

	if (sodium_init() < 0) {
		CHECK(0, "sodium_init");
		return tap_done();
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/bc-test-wire.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	snprintf(d, sizeof(d), "%s/ring", tmpdir);
	mkdir(d, 0700);
	snprintf(d, sizeof(d), "%s/secret", tmpdir);
	mkdir(d, 0700);
	if (make_signer(&agent, "agent1", "agent1", 1) < 0 ||
	    make_signer(&coord, "coord", "coord", 1) < 0 ||
	    make_signer(&stranger, "stranger", "stranger", 0) < 0 ||
	    make_signer(&liar, "agent1", "coord", 1) < 0) {
		CHECK(0, "key setup");
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		return tap_done();
	}
	/* the ring holds only the public halves: move the secrets out */
	{
		char from[PATHBUF + 16], to[PATHBUF + 16];

		snprintf(from, sizeof(from), "%s/ring/agent1.key", tmpdir);
		snprintf(to, sizeof(to), "%s/secret/agent1.key", tmpdir);
		rename(from, to);
		snprintf(from, sizeof(from), "%s/ring/coord.key", tmpdir);
		snprintf(to, sizeof(to), "%s/secret/coord.key", tmpdir);
		rename(from, to);
	}
	snprintf(d, sizeof(d), "%s/ring", tmpdir);
	CHECK(bc_keyring_load_dir(&ring, d, 0, err, sizeof(err)) == 0 &&
		      ring.n == 2,
	      "ring of agent1 and coord (%s)", err);

	test_round_trip();
	test_seal_refusals();
	test_flips();
	test_rejects();
	test_ranges();
	test_range_edges();
	test_allow_ranges();
	test_too_many_events();
	test_sizes();
	test_garbage();
	test_envelope_rules();
	test_rejects_keep_state();
	test_reject_names();
	test_versions();
	test_version_ranges();
	test_ban_addr();
	test_preverify();
	test_bump();
	test_peek_update();

	bc_keyring_free(&ring);
	bc_key_wipe(&agent.key);
	bc_key_wipe(&coord.key);
	bc_key_wipe(&stranger.key);
	bc_key_wipe(&liar.key);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
