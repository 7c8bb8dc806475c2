/*
 * test_localbans.c - the agents' local bans in the coordinator
 * (coordinator/localbans.c, bc_coord_unban_every in admin.c) and their
 * wire checks (proto/wire.c), on a coordinator with a real store, a real
 * ROUTER and an agent's DEALER over inproc.
 *
 * Before issue 14 the coordinator knew no local ban: unban said "not
 * banned" for an address in an MX's local4. Now: a list arrives in parts
 * (out of order and other generations dropped, capped with a count);
 * unban lifts every MX's local ban, sends the connected agent a signed
 * MSG_LOCAL_LIFT naming the exact ban, keeps the offline one pending
 * until a list confirms it (or shows a newer ban); a host inside a local
 * /64 is refused with the MX named, lifted with covering; a generation
 * the coordinator does not hold makes it ask; the ranges are checked.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/admin.h"
#include "coordinator/localbans.h"
#include "coordinator/reload.h"
#include "tap.h"
#include "tests/unit/testutil.h"

static struct bc_coord *c;
static void *dealer;     /* mx1's DEALER */
static zmq_msg_t rid1;   /* its routing id, as the ROUTER saw it */
static struct bc_keyring coord_ring; /* what the agent pins */

static void hook_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	(void)warn;
	(void)msg;
}

#define A(s) tu_addr(s)

struct lb {
	const char *addr;
	int64_t created_ms;
};

/* One MSG_LOCAL_BANS part of agent i (index in the ring). */
static void part(size_t i, uint64_t gen, uint32_t no, bool last,
		 const struct lb *v, size_t n)
{
	Bancluster__LocalBans m = BANCLUSTER__LOCAL_BANS__INIT;
	Bancluster__LocalBan *b = calloc(n + 1, sizeof(*b));
	Bancluster__LocalBan **bp = calloc(n + 1, sizeof(*bp));
	struct bc_addr *a = calloc(n + 1, sizeof(*a));
	size_t k;

	for (k = 0; k < n; k++) {
		a[k] = A(v[k].addr);
		bancluster__local_ban__init(&b[k]);
		bc_wire_addr_fill(&a[k], &b[k].family, &b[k].addr, &b[k].plen);
		b[k].expires_ms = bc_now_ms() + 3600 * 1000;
		b[k].created_ms = v[k].created_ms;
		b[k].events = 3;
		b[k].reason = (char *)"local policy: 3 events in 0s";
		bp[k] = &b[k];
	}
	m.gen = gen;
	m.part = no;
	m.last = last;
	m.total = n;
	m.n_bans = n;
	m.bans = bp;
	bc_coord_local_bans(c, i, i == 0 ? &rid1 : NULL, &m);
	free(b);
	free(bp);
	free(a);
}

static void list1(size_t i, uint64_t gen, const struct lb *v, size_t n)
{
	part(i, gen, 0, true, v, n);
}

static void heartbeat(size_t i, uint64_t gen)
{
	Bancluster__Heartbeat h = BANCLUSTER__HEARTBEAT__INIT;

	h.local_gen = gen;
	h.local_count = 0;
	c->peer_state[i].last_seen_ms = bc_now_ms();
	bc_coord_local_heartbeat(c, i, i == 0 ? &rid1 : NULL, &h);
}

/* The next MSG_LOCAL_LIFT on mx1's DEALER, verified as the agent does;
 * NULL when none within wait_ms. */
static Bancluster__Payload *lift_recv(int wait_ms)
{
	zmq_pollitem_t pi = {dealer, 0, ZMQ_POLLIN, 0};
	Bancluster__Payload *p = NULL;
	struct bc_peer *from;
	zmq_msg_t m;
	enum bc_reject r;

	if (zmq_poll(&pi, 1, wait_ms) <= 0)
		return NULL;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, dealer, 0) < 0)
		return NULL;
	r = bc_wire_open(&coord_ring, zmq_msg_data(&m), zmq_msg_size(&m),
			 BC_WIRE_MAX_FRAME, 1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_LIFT,
			 BC_CHAN_DEALER, "bancluster", bc_now_ms(), &p, &from);
	zmq_msg_close(&m);
	return r == BC_REJ_OK ? p : NULL;
}

static void drain(void)
{
	Bancluster__Payload *p;

	while ((p = lift_recv(50)) != NULL)
		bancluster__payload__free_unpacked(p, NULL);
}

static const char *lifts_text(const Bancluster__LocalLift *l, char *out, size_t len)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < l->n_lifts && off < len; i++) {
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
		struct bc_addr a;
		char as[BC_ADDR_STRLEN];

		tmp.family = l->lifts[i]->family;
		tmp.addr = l->lifts[i]->addr;
		tmp.plen = l->lifts[i]->plen;
		bc_wire_ban_addr(&tmp, &a);
		off += (size_t)snprintf(out + off, len - off, "%s%s@%lld", i ? " " : "",
					bc_addr_format(&a, as, sizeof(as)),
					(long long)l->lifts[i]->created_ms);
	}
	return out;
}

static void setup(const char *dir)
{
	struct bc_policy_cfg pc;
	struct bc_hooks_cfg hc;
	struct bc_peer p, cp;
	char path[256], err[256];
	const char *names[3] = {"mx1", "mx2", "alice"};
	zmq_msg_t body;
	int i, one = 1;

	c = calloc(1, sizeof(*c));
	snprintf(path, sizeof(path), "%s/coordinator.db", dir);
	c->store = bc_store_open(path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/coordinator", dir);
	if (c == NULL || c->store == NULL || bc_key_generate(path, err, sizeof(err)) < 0 ||
	    bc_key_load_secret(&c->signer.key, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		exit(2);
	}
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	snprintf(path, sizeof(path), "%s/coordinator.pub", dir);
	if (bc_key_load_public(&cp, path, err, sizeof(err)) < 0 ||
	    bc_keyring_add(&coord_ring, &cp) < 0)
		exit(2);
	snprintf(path, sizeof(path), "%s/coordinator.counter", dir);
	if (bc_counter_open(&c->signer.counter, path, err, sizeof(err)) < 0)
		exit(2);
	snprintf(c->signer.cluster, sizeof(c->signer.cluster), "bancluster");
	snprintf(c->signer.sender, sizeof(c->signer.sender), "coordinator");
	snprintf(c->cfg.cluster, sizeof(c->cfg.cluster), "bancluster");
	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%s", names[i]);
		p.role = i < 2 ? BC_ROLE_AGENT : BC_ROLE_ADMIN;
		bc_keyring_add(&c->ring, &p);
	}
	bc_coord_set_allowed_types(&c->ring);
	c->peer_state = calloc(c->ring.n, sizeof(*c->peer_state));
	memset(&pc, 0, sizeof(pc));
	pc.maxretry = 5;
	pc.findtime_ms = 600000;
	pc.max_tracked = 100;
	pc.ipv6_prefix = 64;
	c->policy = bc_policy_new(&pc);
	memset(&hc, 0, sizeof(hc));
	hc.hook_max = 1;
	c->hooks = bc_hooks_new(&hc, hook_log, NULL, err, sizeof(err));
	c->zctx = zmq_ctx_new();
	c->router = zmq_socket(c->zctx, ZMQ_ROUTER);
	c->pub = zmq_socket(c->zctx, ZMQ_PUB);
	dealer = zmq_socket(c->zctx, ZMQ_DEALER);
	c->reply_version = BC_WIRE_VERSION;
	if (c->peer_state == NULL || c->policy == NULL || c->hooks == NULL ||
	    c->router == NULL || dealer == NULL ||
	    zmq_setsockopt(c->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
	    zmq_bind(c->router, "inproc://localbans") < 0 ||
	    zmq_bind(c->pub, "inproc://localbans-pub") < 0 ||
	    zmq_connect(dealer, "inproc://localbans") < 0 ||
	    zmq_send(dealer, "hello", 5, 0) != 5) {
		CHECK(0, "fixture");
		exit(1);
	}
	/* the ROUTER learns the agent's routing id from its first frame */
	zmq_msg_init(&rid1);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&rid1, c->router, 0) < 0 || zmq_msg_recv(&body, c->router, 0) < 0)
		exit(1);
	zmq_msg_close(&body);
}

int main(void)
{
	char tmpl[] = "/tmp/test_localbans.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct bc_coord_unban_result *res = calloc(1, sizeof(*res));
	struct bc_arena ar = {0};
	Bancluster__AdminReply r = BANCLUSTER__ADMIN_REPLY__INIT;
	Bancluster__AgentStatus st = BANCLUSTER__AGENT_STATUS__INIT;
	Bancluster__Payload *p;
	char err[BC_WIRE_MAX_TEXT], got[512];
	struct bc_addr a;
	int rc;

	if (dir == NULL || res == NULL || sodium_init() < 0)
		return 1;
	bc_log_init("test_localbans", BC_LOG_WARN);
	setup(dir);

	CHECK((c->ring.v[0].allowed_types & (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS)) &&
		      !(c->ring.v[2].allowed_types & (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS)),
	      "agent keys may send local_bans, admin keys may not");

	/* ---- a list in two parts; parts out of order dropped ------------- */
	heartbeat(0, 7);
	{
		const struct lb p0[] = {{"198.51.100.20", 1000}};
		const struct lb p1[] = {{"2001:db8:5::/64", 1100}};
		const struct lb bad[] = {{"192.0.2.99", 1}};

		part(0, 7, 0, false, p0, 1);
		part(0, 7, 1, true, p1, 1);
		part(0, 8, 1, true, bad, 1); /* part 1 of a list never started */
	}
	bc_coord_local_status(c, 0, &st);
	CHECK(st.local_count == 2 && st.local_known && st.local_pending == 0,
	      "two parts make mx1's list of 2, known (count %llu, known %d)",
	      (unsigned long long)st.local_count, st.local_known);
	{
		const struct lb v2[] = {{"198.51.100.20", 2000}, {"203.0.113.5", 2100}};

		list1(1, 3, v2, 2);
	}
	bancluster__agent_status__init(&st);
	bc_coord_local_status(c, 1, &st);
	CHECK(st.local_count == 2 && !st.local_known,
	      "mx2's list of 2 (not known as current: no heartbeat stated gen 3)");
	c->peer_state[1].last_seen_ms = 0; /* mx2 offline */

	/* ---- list --local ------------------------------------------------- */
	rc = bc_coord_local_list(c, 0, 2000, &r, &ar, err, sizeof(err));
	CHECK(rc == 0 && r.n_local == 4 && r.local_total == 4 && r.n_agents == 2 &&
		      strcmp(r.local[0]->host, "mx1") == 0 &&
		      strcmp(r.local[3]->host, "mx2") == 0 && r.local[0]->ban->events == 3 &&
		      r.local[0]->connected && !r.local[3]->connected,
	      "list --local: 4 entries with their MX, agents listed");
	rc = bc_coord_local_list(c, 3, 2000, &r, &ar, err, sizeof(err));
	CHECK(rc == 0 && r.n_local == 1 && r.local_total == 4, "list --local from offset 3: 1 of 4");

	/* ---- unban: mx1 gets the lift at once, mx2 keeps it pending ------- */
	drain();
	a = A("198.51.100.20");
	rc = bc_coord_unban_every(c, &a, false, true, true, "alice", res, err, sizeof(err));
	CHECK(rc == 0 && res->nlifted == 0 && res->nllifted == 2 &&
		      res->llifted[0].agent == 0 && !res->llifted[0].pending &&
		      res->llifted[1].agent == 1 && res->llifted[1].pending,
	      "unban of a local ban on two MX: mx1 sent, mx2 offline pending (%s)",
	      rc ? err : "");
	p = lift_recv(1000);
	CHECK(p != NULL && p->local_lift->n_lifts == 1 &&
		      strcmp(lifts_text(p->local_lift, got, sizeof(got)),
			     "198.51.100.20@1000") == 0 &&
		      strcmp(p->local_lift->admin, "alice") == 0 &&
		      p->local_lift->have_gen == 7,
	      "mx1 receives a signed local_lift naming 198.51.100.20 created 1000, by alice (%s)",
	      p ? got : "none");
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);
	bancluster__agent_status__init(&st);
	bc_coord_local_status(c, 1, &st);
	CHECK(st.local_pending == 1, "mx2: 1 lift pending");

	/* ---- covering: a host inside mx1's local /64 ----------------------- */
	a = A("2001:db8:5::7");
	rc = bc_coord_unban_every(c, &a, false, true, true, "alice", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "2001:db8:5::7 is not banned itself; it is inside "
				      "2001:db8:5::/64 (local ban on mx1): use --covering "
				      "to lift that ban") == 0,
	      "host inside a local /64: refused, the MX named (%s)", err);
	rc = bc_coord_unban_every(c, &a, true, true, true, "alice", res, err, sizeof(err));
	CHECK(rc == 0 && res->nllifted == 1 && res->llifted[0].agent == 0 &&
		      res->llifted[0].ban.addr.plen == 64 && res->nlstill == 0,
	      "--covering lifts the /64 of mx1");
	drain();

	/* ---- scope -------------------------------------------------------- */
	a = A("203.0.113.5");
	rc = bc_coord_unban_every(c, &a, false, true, false, "alice", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "203.0.113.5: not banned") == 0,
	      "--fleet-only of a local ban: not banned (%s)", err);
	a = A("192.0.2.1");
	rc = bc_coord_unban_every(c, &a, false, false, true, "alice", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "192.0.2.1: not banned locally on any MX") == 0,
	      "--local-only of nothing: not banned locally on any MX (%s)", err);

	/* ---- confirmation --------------------------------------------------- */
	list1(0, 9, NULL, 0);
	bancluster__agent_status__init(&st);
	bc_coord_local_status(c, 0, &st);
	CHECK(st.local_count == 0 && st.local_pending == 0,
	      "mx1's list without them confirms both lifts");
	{
		const struct lb still[] = {{"198.51.100.20", 2000}};
		const struct lb newer[] = {{"198.51.100.20", 5000}};

		list1(1, 4, still, 1);
		bancluster__agent_status__init(&st);
		bc_coord_local_status(c, 1, &st);
		CHECK(st.local_pending == 1, "mx2's list still holding it: the lift stays pending");
		list1(1, 5, newer, 1);
		bancluster__agent_status__init(&st);
		bc_coord_local_status(c, 1, &st);
		CHECK(st.local_pending == 0 && st.local_count == 1,
		      "a newer ban of the address (created later) ends the lift, stays listed");
	}

	/* ---- another generation in the heartbeat: the coordinator asks ----- */
	drain();
	heartbeat(0, 10);
	CHECK(lift_recv(100) == NULL, "generation differs: not asked at once");
	usleep((BC_COORD_LOCAL_ASK_MS + 100) * 1000);
	heartbeat(0, 10);
	p = lift_recv(1000);
	CHECK(p != NULL && p->local_lift->n_lifts == 0 && p->local_lift->have_gen == 9,
	      "after 1.5 s the coordinator asks, naming the generation it holds (9)");
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);

	/* ---- the cap: 10,001 bans in 6 parts -------------------------------- */
	{
		size_t n = BC_COORD_LOCAL_MAX + 1, k, off = 0;
		struct lb *v = calloc(n, sizeof(*v));
		char (*s)[32] = calloc(n, sizeof(*s));
		uint32_t no = 0;

		for (k = 0; k < n; k++) {
			snprintf(s[k], sizeof(s[k]), "10.%zu.%zu.%zu", k >> 16, (k >> 8) & 255, k & 255);
			v[k].addr = s[k];
			v[k].created_ms = 1;
		}
		while (off < n) {
			size_t m = n - off < 2000 ? n - off : 2000;

			part(0, 11, no++, off + m >= n, v + off, m);
			off += m;
		}
		bancluster__agent_status__init(&st);
		bc_coord_local_status(c, 0, &st);
		CHECK(st.local_count == BC_COORD_LOCAL_MAX && st.local_dropped == 1,
		      "10,001 bans: 10,000 kept, 1 counted as dropped (%llu, %llu)",
		      (unsigned long long)st.local_count, (unsigned long long)st.local_dropped);
		free(v);
		free(s);
	}

	/* ---- an agent that states no generation any more (downgraded) ------- */
	heartbeat(1, 0);
	bancluster__agent_status__init(&st);
	bc_coord_local_status(c, 1, &st);
	CHECK(st.local_count == 0 && st.local_pending == 0 && !st.local_known,
	      "mx2's heartbeat without a generation: its list is dropped");

	/* ---- who may send a list: an agent key; an admin key or a stranger not */
	{
		const char *who[3] = {"mx9", "alice9", "stranger"};
		struct bc_keyring ring = {0};
		struct bc_signer sg[3];
		enum bc_reject want[3] = {BC_REJ_OK, BC_REJ_TYPE, BC_REJ_SIGNER};
		int k;

		for (k = 0; k < 3; k++) {
			char path[300], e2[256];
			struct bc_peer pp;

			memset(&sg[k], 0, sizeof(sg[k]));
			snprintf(path, sizeof(path), "%s/%s", dir, who[k]);
			memset(&pp, 0, sizeof(pp));
			snprintf(pp.name, sizeof(pp.name), "%s", who[k]);
			pp.role = k == 0 ? BC_ROLE_AGENT : BC_ROLE_ADMIN;
			snprintf(sg[k].cluster, sizeof(sg[k].cluster), "bancluster");
			snprintf(sg[k].sender, sizeof(sg[k].sender), "%s", who[k]);
			if (bc_key_generate(path, e2, sizeof(e2)) < 0 ||
			    bc_key_load_secret(&sg[k].key, path, e2, sizeof(e2)) < 0)
				exit(2);
			snprintf(path, sizeof(path), "%s/%s.pub", dir, who[k]);
			if (bc_key_load_public(&pp, path, e2, sizeof(e2)) < 0)
				exit(2);
			snprintf(path, sizeof(path), "%s/%s.counter", dir, who[k]);
			if (bc_counter_open(&sg[k].counter, path, e2, sizeof(e2)) < 0)
				exit(2);
			if (k < 2) /* the stranger's key is pinned nowhere */
				bc_keyring_add(&ring, &pp);
		}
		bc_coord_set_allowed_types(&ring);
		for (k = 0; k < 3; k++) {
			Bancluster__Payload pl = BANCLUSTER__PAYLOAD__INIT, *out = NULL;
			Bancluster__LocalBans lb = BANCLUSTER__LOCAL_BANS__INIT;
			struct bc_peer *from;
			uint8_t *f = NULL;
			size_t fl = 0;
			enum bc_reject rj = BC_REJ_MAX;

			lb.gen = 42;
			lb.last = 1;
			pl.body_case = BANCLUSTER__PAYLOAD__BODY_LOCAL_BANS;
			pl.local_bans = &lb;
			if (bc_wire_seal(&sg[k], BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS, &pl,
					 &f, &fl) == 0)
				rj = bc_wire_open(&ring, f, fl, BC_WIRE_MAX_FRAME,
						  (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS) |
							  (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT),
						  BC_CHAN_ROUTER, "bancluster", bc_now_ms(),
						  &out, &from);
			CHECK(rj == want[k], "a local_bans signed by %s: %s (want %s)",
			      who[k], bc_wire_reject_name(rj), bc_wire_reject_name(want[k]));
			if (out != NULL)
				bancluster__payload__free_unpacked(out, NULL);
			free(f);
			bc_key_wipe(&sg[k].key);
		}
		bc_keyring_free(&ring);
	}

	/* ---- wire ranges ------------------------------------------------------ */
	{
		Bancluster__Payload pl = BANCLUSTER__PAYLOAD__INIT;
		Bancluster__LocalBans lb = BANCLUSTER__LOCAL_BANS__INIT;
		Bancluster__LocalLift ll = BANCLUSTER__LOCAL_LIFT__INIT;
		Bancluster__LocalTarget t = BANCLUSTER__LOCAL_TARGET__INIT, *tp = &t;
		Bancluster__LocalBan b = BANCLUSTER__LOCAL_BAN__INIT, *bp = &b;
		Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
		Bancluster__UnbanCmd u = BANCLUSTER__UNBAN_CMD__INIT;
		uint8_t nonce[16] = {0}, v4[4] = {198, 51, 100, 20};

		pl.body_case = BANCLUSTER__PAYLOAD__BODY_LOCAL_BANS;
		pl.local_bans = &lb;
		CHECK(bc_wire_check_ranges(&pl) == -1, "local_bans with generation 0: out of range");
		lb.gen = 1;
		CHECK(bc_wire_check_ranges(&pl) == 0, "an empty list of generation 1: fine");
		b.family = 4;
		b.addr.data = v4;
		b.addr.len = 4;
		b.plen = 33;
		b.reason = (char *)"";
		lb.n_bans = 1;
		lb.bans = &bp;
		CHECK(bc_wire_check_ranges(&pl) == -1, "a local ban of 198.51.100.20/33: out of range");
		b.plen = 32;
		b.expires_ms = -1;
		CHECK(bc_wire_check_ranges(&pl) == -1, "a negative expiry: out of range");
		b.expires_ms = 0;
		CHECK(bc_wire_check_ranges(&pl) == 0, "a permanent /32: fine");
		lb.n_bans = BC_WIRE_MAX_LOCAL_PER_MSG + 1;
		CHECK(bc_wire_check_ranges(&pl) == -1, "2,001 bans in one part: out of range");
		pl.body_case = BANCLUSTER__PAYLOAD__BODY_LOCAL_LIFT;
		pl.local_lift = &ll;
		ll.admin = (char *)"alice";
		t.family = 6;
		t.addr.data = v4;
		t.addr.len = 4;
		ll.n_lifts = 1;
		ll.lifts = &tp;
		CHECK(bc_wire_check_ranges(&pl) == -1, "a lift of family 6 with 4 bytes: out of range");
		t.family = 4;
		CHECK(bc_wire_check_ranges(&pl) == 0, "a lift of 198.51.100.20/0: fine");
		pl.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ;
		pl.admin_req = &rq;
		rq.nonce.data = nonce;
		rq.nonce.len = 16;
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_UNBAN;
		rq.unban = &u;
		u.family = 4;
		u.addr.data = v4;
		u.addr.len = 4;
		u.plen = 32;
		u.fleet_only = 1;
		u.local_only = 1;
		CHECK(bc_wire_check_ranges(&pl) == -1, "unban --fleet-only --local-only: out of range");
		u.local_only = 0;
		CHECK(bc_wire_check_ranges(&pl) == 0, "unban --fleet-only: fine");
	}

	bc_arena_free(&ar);
	zmq_msg_close(&rid1);
	zmq_close(dealer);
	zmq_close(c->router);
	zmq_close(c->pub);
	zmq_ctx_term(c->zctx);
	for (size_t i = 0; i < c->ring.n; i++)
		bc_coord_local_free(&c->peer_state[i]);
	free(c->peer_state);
	bc_keyring_free(&c->ring);
	bc_keyring_free(&coord_ring);
	bc_policy_free(&c->policy);
	bc_hooks_free(&c->hooks);
	bc_banmap_free(&c->bans);
	bc_store_close(&c->store);
	free(c);
	free(res);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
