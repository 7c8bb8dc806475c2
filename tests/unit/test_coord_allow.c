/*
 * test_coord_allow.c - the coordinator's side of `bancluster allow`
 * (coordinator/allow.c) on a real store, with every change caught on a
 * SUB socket as the agents get it: allow add commits the entry, counts
 * the bans inside it (which stay), and publishes one Update carrying an
 * Allow without its comment or admin; a rule ban inside an entry is not
 * made; the list has the entries with their text and the configuration's
 * marked; remove refuses a configuration entry and an absent one with
 * the exact lines and publishes a removal; an entry whose --for ran out
 * matches nothing, is left out of list and snapshot, and the tick
 * removes it with a published removal and an allow-expire decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "coordinator/allow.h"
#include "coordinator/decide.h"
#include "tap.h"
#include "tests/unit/testutil.h"

#define A(s) tu_addr(s)

static void *sub;

/* The updates published since the last call, as "+A -B ban:C ..." (allow
 * entries added, removed; bans), and whether any Allow carried text. */
static const char *published(char *out, size_t len, int *text)
{
	size_t off = 0;

	out[0] = '\0';
	*text = 0;
	for (;;) {
		zmq_msg_t m;
		Bancluster__Envelope *env;
		Bancluster__Payload *p;
		zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};

		if (zmq_poll(&pi, 1, 200) <= 0)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sub, 0) < 0)
			break;
		env = bancluster__envelope__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		zmq_msg_close(&m);
		if (env == NULL)
			continue;
		p = bancluster__payload__unpack(NULL, env->payload.len, env->payload.data);
		if (p != NULL && p->body_case == BANCLUSTER__PAYLOAD__BODY_UPDATE &&
		    off < len) {
			const Bancluster__Update *u = p->update;
			Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
			struct bc_addr a;
			char as[BC_ADDR_STRLEN];

			if (u->allow != NULL) {
				tmp.family = u->allow->family;
				tmp.addr = u->allow->addr;
				tmp.plen = u->allow->plen;
				if (u->allow->comment[0] || u->allow->added_by[0])
					*text = 1;
			}
			if (bc_wire_ban_addr(u->allow ? &tmp : u->ban, &a) == 0)
				off += (size_t)snprintf(out + off, len - off, "%s%s%s",
							off ? " " : "",
							u->allow ? (u->remove ? "-" : "+")
								 : (u->remove ? "unban:" : "ban:"),
							bc_addr_format(&a, as, sizeof(as)));
		}
		if (p != NULL)
			bancluster__payload__free_unpacked(p, NULL);
		bancluster__envelope__free_unpacked(env, NULL);
	}
	return out;
}

static void hook_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	(void)warn;
	(void)msg;
}

/* "ACTION|SIGNER|REASON" of the newest decision */
static void decision_cb(const struct bc_store_decision *d, void *arg)
{
	snprintf(arg, 256, "%.16s|%.64s|%.160s", d->action, d->signer, d->reason);
}

/* One admin request through bc_coord_allow_admin: err "" on success. */
static void request(struct bc_coord *c, Bancluster__AdminReq *rq,
		    Bancluster__AdminReply *r, struct bc_arena *ar, char *err,
		    size_t errlen)
{
	bancluster__admin_reply__init(r);
	err[0] = '\0';
	bc_coord_allow_admin(c, "admin", rq, r, ar, err, errlen);
}

static void add(struct bc_coord *c, const char *cidr, uint64_t for_s,
		const char *comment, Bancluster__AdminReply *r,
		struct bc_arena *ar, char *err, size_t errlen)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowAddCmd ac = BANCLUSTER__ALLOW_ADD_CMD__INIT;
	struct bc_addr a = A(cidr);

	bc_wire_addr_fill(&a, &ac.family, &ac.addr, &ac.plen);
	ac.for_s = for_s;
	ac.comment = (char *)(uintptr_t)comment;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD;
	rq.allow_add = &ac;
	request(c, &rq, r, ar, err, errlen);
}

static void del(struct bc_coord *c, const char *cidr, Bancluster__AdminReply *r,
		struct bc_arena *ar, char *err, size_t errlen)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowRemoveCmd rc = BANCLUSTER__ALLOW_REMOVE_CMD__INIT;
	struct bc_addr a = A(cidr);

	bc_wire_addr_fill(&a, &rc.family, &rc.addr, &rc.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE;
	rq.allow_remove = &rc;
	request(c, &rq, r, ar, err, errlen);
}

/* "A(cli,admin,comment) B(config) ..." of an allow list reply */
static const char *listed(struct bc_coord *c, char *out, size_t len)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowListCmd lc = BANCLUSTER__ALLOW_LIST_CMD__INIT;
	Bancluster__AdminReply r;
	struct bc_arena ar = {0};
	char err[BC_WIRE_MAX_TEXT];
	size_t i, off = 0;

	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST;
	rq.allow_list = &lc;
	request(c, &rq, &r, &ar, err, sizeof(err));
	out[0] = '\0';
	for (i = 0; i < r.n_allows && off < len; i++) {
		const Bancluster__Allow *e = r.allows[i];
		Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;
		struct bc_addr a;
		char as[BC_ADDR_STRLEN];

		tmp.family = e->family;
		tmp.addr = e->addr;
		tmp.plen = e->plen;
		bc_wire_ban_addr(&tmp, &a);
		off += (size_t)snprintf(out + off, len - off, "%s%s(%s%s%s%s%s)",
					i ? " " : "", bc_addr_format(&a, as, sizeof(as)),
					e->config ? "config" : "cli",
					e->config ? "" : ",", e->added_by,
					e->config ? "" : ",", e->comment);
	}
	bc_arena_free(&ar);
	return out;
}

int main(void)
{
	char dir[] = "/tmp/bc-callow.XXXXXX", db[128], err[BC_WIRE_MAX_TEXT],
		why[160], got[1024], want[256];
	struct bc_coord *c = calloc(1, sizeof(*c));
	struct bc_policy_cfg pc;
	struct bc_hooks_cfg hc;
	struct bc_store_ban sb;
	struct bc_policy_hit hit;
	Bancluster__AdminReply r;
	struct bc_arena ar = {0};
	struct bc_addr a;
	Bancluster__Allow pa[4], *pp[4];
	uint64_t seq;
	int text;

	if (c == NULL || mkdtemp(dir) == NULL)
		return 2;
	snprintf(db, sizeof(db), "%s/coordinator.db", dir);
	c->store = bc_store_open(db, err, sizeof(err));
	bc_policy_cfg_defaults(&pc);
	c->policy = bc_policy_new(&pc);
	memset(&hc, 0, sizeof(hc));
	hc.hook_max = 1;
	c->hooks = bc_hooks_new(&hc, hook_log, NULL, err, sizeof(err));
	c->cfg.bantime = 3600;
	c->cfg.bantime_factor = 2;
	c->cfg.bantime_max = 86400;
	c->cfg.recidive_window = 86400;
	c->cfg.evidence_max = 0;
	c->zctx = zmq_ctx_new();
	c->pub = zmq_socket(c->zctx, ZMQ_PUB);
	sub = zmq_socket(c->zctx, ZMQ_SUB);
	if (c->store == NULL || c->policy == NULL || c->hooks == NULL ||
	    bc_addr_list_parse(&c->cfg.allow, "127.0.0.0/8, ::1", err, sizeof(err)) < 0 ||
	    zmq_bind(c->pub, "inproc://allow") < 0 || zmq_connect(sub, "inproc://allow") < 0 ||
	    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) < 0) {
		CHECK(0, "coordinator fixture: store, policy, hooks, PUB/SUB (%s)", err);
		return tap_done();
	}
	usleep(100000); /* the subscription reaches the PUB */

	/* a ban inside what is about to be allowed */
	memset(&sb, 0, sizeof(sb));
	sb.ban.addr = A("203.0.113.5");
	sb.ban.created_ms = bc_now_ms();
	sb.ban.expires_ms = sb.ban.created_ms + 3600000;
	CHECK(bc_coord_ban(c, &sb, "admin", err, sizeof(err)) == 0, "ban 203.0.113.5");
	published(got, sizeof(got), &text);
	seq = c->seq;

	add(c, "203.0.113.0/24", 0, "partner 'NAT'", &r, &ar, err, sizeof(err));
	CHECK(err[0] == '\0' && r.n_allows == 1 && r.banned_inside == 1 &&
		      strcmp(r.allows[0]->comment, "partner 'NAT'") == 0 &&
		      strcmp(r.allows[0]->added_by, "admin") == 0 &&
		      r.allows[0]->expires_ms == 0,
	      "allow add 203.0.113.0/24: the entry with its text, 1 ban inside (%s)", err);
	CHECK(c->seq == seq + 1 && strcmp(published(got, sizeof(got), &text), "+203.0.113.0/24") == 0 &&
		      text == 0,
	      "one Update published, seq %llu, carrying the entry without text (\"%s\", text %d)",
	      (unsigned long long)c->seq, got, text);
	a = A("203.0.113.5");
	CHECK(bc_banmap_find(&c->bans, &a) >= 0, "the ban inside stays");
	bc_arena_free(&ar);

	a = A("203.0.113.77");
	CHECK(bc_coord_allowed(c, &a, why, sizeof(why)) &&
		      strcmp(why, " (203.0.113.0/24, allow add by admin)") == 0,
	      "allowed: 203.0.113.77, named (\"%s\")", why);
	a = A("203.0.0.0/16");
	CHECK(bc_coord_allowed(c, &a, NULL, 0), "allowed: a /16 around the entry overlaps it");
	a = A("127.0.0.5");
	CHECK(bc_coord_allowed(c, &a, why, sizeof(why)) && why[0] == '\0',
	      "allowed: 127.0.0.5 by the configuration, nothing to name");
	a = A("198.51.100.1");
	CHECK(!bc_coord_allowed(c, &a, why, sizeof(why)), "198.51.100.1 not allowed");

	memset(&hit, 0, sizeof(hit));
	hit.key = A("203.0.113.77");
	hit.score = 5;
	hit.hosts = 1;
	seq = c->seq;
	bc_coord_rule_ban(c, &hit);
	a = A("203.0.113.77");
	CHECK(bc_banmap_find(&c->bans, &a) < 0 && c->seq == seq &&
		      published(got, sizeof(got), &text)[0] == '\0',
	      "a rule ban inside the entry: not made, nothing published");
	hit.key = A("198.51.100.1");
	bc_coord_rule_ban(c, &hit);
	CHECK(bc_banmap_find(&c->bans, &hit.key) >= 0 &&
		      strcmp(published(got, sizeof(got), &text), "ban:198.51.100.1") == 0,
	      "control: a rule ban outside is made and published (\"%s\")", got);

	add(c, "2001:db8:77::/48", 3600, "", &r, &ar, err, sizeof(err));
	CHECK(err[0] == '\0' && r.banned_inside == 0 &&
		      r.allows[0]->expires_ms > bc_now_ms() + 3590000,
	      "allow add 2001:db8:77::/48 --for 1h");
	bc_arena_free(&ar);
	published(got, sizeof(got), &text);
	CHECK(strcmp(listed(c, got, sizeof(got)),
		     "203.0.113.0/24(cli,admin,partner 'NAT') 2001:db8:77::/48(cli,admin,) "
		     "127.0.0.0/8(config) ::1(config)") == 0,
	      "allow list: both entries with their text, then the configuration's (\"%s\")", got);

	del(c, "127.0.0.0/8", &r, &ar, err, sizeof(err));
	CHECK(strcmp(err, "127.0.0.0/8 is in [policy] allow of the coordinator's "
			  "configuration: remove it there and reload") == 0,
	      "remove of a configuration entry refused: \"%s\"", err);
	del(c, "203.0.113.0/25", &r, &ar, err, sizeof(err));
	CHECK(strcmp(err, "203.0.113.0/25: not in the allow list") == 0,
	      "remove of an absent prefix (inside an entry) refused: \"%s\"", err);
	CHECK(published(got, sizeof(got), &text)[0] == '\0', "  nothing published for the refusals");
	seq = c->seq;
	del(c, "203.0.113.0/24", &r, &ar, err, sizeof(err));
	CHECK(err[0] == '\0' && c->seq == seq + 1 &&
		      strcmp(published(got, sizeof(got), &text), "-203.0.113.0/24") == 0,
	      "allow remove 203.0.113.0/24: a removal published (\"%s\")", got);
	a = A("203.0.113.77");
	CHECK(!bc_coord_allowed(c, &a, NULL, 0), "203.0.113.77 no longer allowed");

	/* expiry: an entry whose time is over */
	c->allows.v[0].expires_ms = bc_now_ms() - 1;
	a = A("2001:db8:77::9");
	CHECK(!bc_coord_allowed(c, &a, NULL, 0), "an entry past its expiry matches nothing");
	CHECK(bc_coord_allow_wire(c, pa, pp, 4, bc_now_ms()) == 0,
	      "... and is left out of a snapshot");
	CHECK(strcmp(listed(c, got, sizeof(got)), "127.0.0.0/8(config) ::1(config)") == 0,
	      "... and out of the list (\"%s\")", got);
	seq = c->seq;
	bc_coord_allow_expire(c, bc_now_ms());
	CHECK(c->allows.n == 0 && c->seq == seq + 1 &&
		      strcmp(published(got, sizeof(got), &text), "-2001:db8:77::/48") == 0,
	      "the tick removes it, a removal published (\"%s\")", got);
	{
		struct bc_allowlist l = {0};

		CHECK(bc_store_allow_load(c->store, &l) == 0 && l.n == 0,
		      "the store holds no entry any more");
		bc_allowlist_free(&l);
	}
	want[0] = '\0';
	bc_store_decisions(c->store, "2001:db8:77::/48", "", 1, decision_cb, want);
	CHECK(strcmp(want, "allow-expire||") == 0,
	      "the expiry is a decision without signer (\"%s\")", want);
	add(c, "192.0.2.0/24", 0, "", &r, &ar, err, sizeof(err));
	bc_arena_free(&ar);
	{
		struct bc_allowlist l = {0};

		CHECK(bc_store_allow_load(c->store, &l) == 0 && l.n == 1 &&
			      bc_coord_allow_wire(c, pa, pp, 4, bc_now_ms()) == 1 &&
			      pa[0].comment[0] == '\0' && pa[0].added_by[0] == '\0' &&
			      pa[0].plen == 24,
		      "an entry in store and snapshot, without text in the snapshot");
		bc_allowlist_free(&l);
	}

	zmq_close(sub);
	zmq_close(c->pub);
	zmq_ctx_term(c->zctx);
	bc_hooks_free(&c->hooks);
	bc_policy_free(&c->policy);
	bc_store_close(&c->store);
	bc_banmap_free(&c->bans);
	bc_allowlist_free(&c->allows);
	bc_addr_list_free(&c->cfg.allow);
	free(c);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/coordinator.db-wal", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/coordinator.db-shm", dir);
		unlink(path);
		unlink(db);
		rmdir(dir);
	}
	return tap_done();
}
