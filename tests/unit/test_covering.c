/*
 * test_covering.c - unban of an address inside banned prefixes: the text
 * that names them (common/covering.c, bc_covering_text) and what the
 * coordinator does (coordinator/admin.c, bc_coord_unban_admin) on a real
 * store, with every removal caught on a SUB socket.
 *
 * Before the fix `unban 198.51.100.7` inside a banned 198.51.100.0/24
 * answered "198.51.100.7: not banned" and offered no way but to find and
 * unban the /24. Now: refused with the covering prefixes named (nothing
 * removed, nothing published); with covering, the own ban and every
 * covering ban removed, each published as its own removal, widest first;
 * an address banned itself and covered loses its own ban and is told of
 * the rest; a store failure midway names what was lifted already.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/covering.h"
#include "common/log.h"
#include "coordinator/admin.h"
#include "coordinator/decide.h"
#include "tap.h"
#define BC_TESTUTIL_SQL
#include "tests/unit/testutil.h"

#define A(s) tu_addr(s)

static void text_cases(void)
{
	struct bc_addr v[BC_COVERING_MAX];
	char buf[512], one[512], *more;
	size_t i, k;
	unsigned long n_more = 0;

	v[0] = A("198.51.100.0/24");
	CHECK(strcmp(bc_covering_text(v, 1, buf, sizeof(buf)),
		     "inside 198.51.100.0/24 (fleet ban): use --covering to lift that ban") == 0,
	      "one prefix: \"%s\"", buf);
	v[0] = A("198.51.0.0/16");
	v[1] = A("198.51.100.0/24");
	CHECK(strcmp(bc_covering_text(v, 2, buf, sizeof(buf)),
		     "inside 198.51.0.0/16 (fleet ban) and 198.51.100.0/24 (fleet ban): "
		     "use --covering to lift those bans") == 0,
	      "two prefixes, in their order: \"%s\"", buf);
	v[0] = A("198.0.0.0/8");
	v[1] = A("198.51.0.0/16");
	v[2] = A("198.51.100.0/24");
	CHECK(strcmp(bc_covering_text(v, 3, buf, sizeof(buf)),
		     "inside 198.0.0.0/8 (fleet ban), 198.51.0.0/16 (fleet ban) and "
		     "198.51.100.0/24 (fleet ban): use --covering to lift those bans") == 0,
	      "three prefixes: \"%s\"", buf);
	v[0] = A("2001:db8:7::/48");
	CHECK(strcmp(bc_covering_text(v, 1, buf, sizeof(buf)),
		     "inside 2001:db8:7::/48 (fleet ban): use --covering to lift that ban") == 0,
	      "IPv6: \"%s\"", buf);

	/* 128 IPv6 prefixes (every length a /128 can sit in) into 512 bytes */
	for (i = 0; i < BC_COVERING_MAX; i++) {
		v[i] = A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
		bc_addr_mask(&v[i], (unsigned)i);
	}
	bc_covering_text(v, BC_COVERING_MAX, buf, sizeof(buf));
	more = strstr(buf, " more: use --covering to lift those bans");
	if (more != NULL) {
		while (more > buf && more[-1] >= '0' && more[-1] <= '9')
			more--;
		n_more = strtoul(more, NULL, 10);
	}
	k = BC_COVERING_MAX - n_more;
	CHECK(strlen(buf) < sizeof(buf) && more != NULL && n_more > 0 &&
		      n_more < BC_COVERING_MAX &&
		      strncmp(buf, "inside ::/0 (fleet ban), ::/1 (fleet ban), ::/2 (fleet ban), 2000::/3 (fleet ban)", 79) == 0,
	      "128 prefixes in 512 bytes: the first ones named, \"and %lu more\" (%zu bytes: %s)",
	      n_more, strlen(buf), buf);
	/* as many as fit: naming one more would not have fitted */
	if (more != NULL && n_more > 0) {
		char a[BC_ADDR_STRLEN], one_more[1024];
		int head = (int)(more - buf) - 5; /* up to " and N more" */

		snprintf(one_more, sizeof(one_more),
			 "%.*s, %s (fleet ban) and %lu more: use --covering to lift those bans",
			 head, buf, bc_addr_format(&v[k], a, sizeof(a)), n_more - 1);
		CHECK(strlen(one_more) >= sizeof(buf),
		      "%zu named: one more would need %zu bytes of 512", k, strlen(one_more) + 1);
	}

	/* a buffer too short for even one: cut, terminated, never overrun */
	memset(buf, 'x', sizeof(buf));
	bc_covering_text(v, 3, buf, 10);
	CHECK(strcmp(buf, "inside 3 ") == 0 && buf[10] == 'x',
	      "10-byte buffer: \"%s\", nothing written past it", buf);
	memset(buf, 'x', sizeof(buf));
	bc_covering_text(v, 1, buf, 1);
	CHECK(buf[0] == '\0' && buf[1] == 'x', "1-byte buffer: empty string");

	/* labelled (issue 14: local bans): each prefix with its own kind */
	{
		const char *labels[2] = {"fleet ban", "local ban on mx1"};

		v[0] = A("2001:db8::/48");
		v[1] = A("2001:db8:0:5::/64");
		CHECK(strcmp(bc_covering_text_labelled(v, labels, 2, buf, sizeof(buf)),
			     "inside 2001:db8::/48 (fleet ban) and 2001:db8:0:5::/64 "
			     "(local ban on mx1): use --covering to lift those bans") == 0,
		      "labelled: fleet and local named with their kind: \"%s\"", buf);
		bc_covering_text_labelled(v, labels, 2, buf, 12);
		CHECK(strcmp(buf, "inside 2 ba") == 0,
		      "labelled, 12-byte buffer: \"inside 2 bans...\" cut (\"%s\")", buf);
		CHECK(strcmp(bc_covering_text_labelled(v, NULL, 1, buf, sizeof(buf)),
			     bc_covering_text(v, 1, one, sizeof(one))) == 0,
		      "labels NULL: the fleet text");
	}
}

/* the coordinator, with a store in dir and a PUB the test subscribes to */
struct fx {
	struct bc_coord *c;
	void *sub;
	char db[128];
};

static void hook_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	(void)warn;
	(void)msg;
}

/* The removals published since the last call, as "ADDR ADDR ...". */
static const char *removed(struct fx *f, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (;;) {
		zmq_msg_t m;
		Bancluster__Envelope *env;
		Bancluster__Payload *p;
		zmq_pollitem_t pi = {f->sub, 0, ZMQ_POLLIN, 0};

		if (zmq_poll(&pi, 1, 200) <= 0)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, f->sub, 0) < 0)
			break;
		env = bancluster__envelope__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		zmq_msg_close(&m);
		if (env == NULL)
			continue;
		p = bancluster__payload__unpack(NULL, env->payload.len, env->payload.data);
		if (p != NULL && p->body_case == BANCLUSTER__PAYLOAD__BODY_UPDATE &&
		    p->update->remove && off < len) {
			struct bc_addr a;
			char as[BC_ADDR_STRLEN];

			if (bc_wire_ban_addr(p->update->ban, &a) == 0)
				off += (size_t)snprintf(out + off, len - off, "%s%s",
							off ? " " : "",
							bc_addr_format(&a, as, sizeof(as)));
		}
		if (p != NULL)
			bancluster__payload__free_unpacked(p, NULL);
		bancluster__envelope__free_unpacked(env, NULL);
	}
	return out;
}

static void ban(struct fx *f, const char *s)
{
	struct bc_store_ban sb;
	char err[256];

	memset(&sb, 0, sizeof(sb));
	sb.ban.addr = A(s);
	sb.ban.created_ms = bc_now_ms();
	sb.ban.expires_ms = sb.ban.created_ms + 3600 * 1000;
	snprintf(sb.reason, sizeof(sb.reason), "test");
	snprintf(sb.origin, sizeof(sb.origin), "manual:admin");
	if (bc_coord_ban(f->c, &sb, "admin", err, sizeof(err)) < 0) {
		fprintf(stderr, "ban %s: %s\n", s, err);
		exit(2);
	}
}

static bool banned(struct fx *f, const char *s)
{
	struct bc_addr a = A(s);

	return bc_banmap_find(&f->c->bans, &a) >= 0;
}

/* "A B C" of the n bans of v */
static const char *list(const struct bc_ban *v, size_t n, char *out, size_t len)
{
	size_t i, off = 0;
	char as[BC_ADDR_STRLEN];

	out[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s", i ? " " : "",
					bc_addr_format(&v[i].addr, as, sizeof(as)));
	return out;
}

static void coord_cases(const char *dir)
{
	struct fx f;
	struct bc_policy_cfg pc;
	struct bc_hooks_cfg hc;
	struct bc_coord_unban_result *res = calloc(1, sizeof(*res));
	struct bc_addr a;
	char err[BC_WIRE_MAX_TEXT], got[1024], l1[512], l2[512];
	uint64_t seq;
	int rc;

	memset(&f, 0, sizeof(f));
	f.c = calloc(1, sizeof(*f.c));
	if (f.c == NULL || res == NULL)
		exit(2);
	snprintf(f.db, sizeof(f.db), "%s/coordinator.db", dir);
	f.c->store = bc_store_open(f.db, err, sizeof(err));
	memset(&pc, 0, sizeof(pc));
	pc.maxretry = 5;
	pc.findtime_ms = 600000;
	pc.max_tracked = 100;
	pc.ipv6_prefix = 64;
	f.c->policy = bc_policy_new(&pc);
	memset(&hc, 0, sizeof(hc));
	hc.hook_max = 1;
	f.c->hooks = bc_hooks_new(&hc, hook_log, NULL, err, sizeof(err));
	f.c->zctx = zmq_ctx_new();
	f.c->pub = zmq_socket(f.c->zctx, ZMQ_PUB);
	f.sub = zmq_socket(f.c->zctx, ZMQ_SUB);
	if (f.c->store == NULL || f.c->policy == NULL || f.c->hooks == NULL ||
	    f.c->pub == NULL || f.sub == NULL ||
	    zmq_bind(f.c->pub, "inproc://unban") < 0 ||
	    zmq_connect(f.sub, "inproc://unban") < 0 ||
	    zmq_setsockopt(f.sub, ZMQ_SUBSCRIBE, "", 0) < 0) {
		CHECK(0, "coordinator fixture: store, policy, hooks, PUB/SUB");
		exit(1);
	}
	usleep(100000); /* the subscription reaches the PUB */

	ban(&f, "198.51.0.0/16");
	ban(&f, "198.51.100.0/24");
	ban(&f, "203.0.113.0/24");
	ban(&f, "203.0.113.9");
	ban(&f, "2001:db8:7::/48");
	removed(&f, got, sizeof(got)); /* drain the bans */

	/* covered, not banned itself, no covering: refused, nothing moves */
	seq = f.c->seq;
	a = A("198.51.100.7");
	rc = bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "198.51.100.7 is not banned itself; it is inside "
				 "198.51.0.0/16 (fleet ban) and 198.51.100.0/24 (fleet ban): "
				 "use --covering to lift those bans") == 0,
	      "unban 198.51.100.7 inside a /16 and a /24: -1, both named (\"%s\")", err);
	CHECK(banned(&f, "198.51.0.0/16") && banned(&f, "198.51.100.0/24") &&
		      f.c->seq == seq && f.c->unbans == 0,
	      "  nothing removed, no sequence used (seq %llu)", (unsigned long long)f.c->seq);
	CHECK(strcmp(removed(&f, got, sizeof(got)), "") == 0, "  nothing published (\"%s\")", got);

	/* with covering: both lifted, widest first, each its own removal */
	rc = bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err));
	CHECK(rc == 0 && res->nlifted == 2 && res->nstill == 0 &&
		      strcmp(list(res->lifted, res->nlifted, l1, sizeof(l1)),
			     "198.51.0.0/16 198.51.100.0/24") == 0,
	      "unban --covering 198.51.100.7: 0, lifted \"%s\"", l1);
	CHECK(!banned(&f, "198.51.0.0/16") && !banned(&f, "198.51.100.0/24") &&
		      f.c->seq == seq + 2 && f.c->unbans == 2,
	      "  both gone from the table, two sequence numbers, two unbans counted");
	CHECK(strcmp(removed(&f, got, sizeof(got)), "198.51.0.0/16 198.51.100.0/24") == 0,
	      "  published: two removals, widest first (\"%s\")", got);
	CHECK(bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err)) == -1 &&
		      strcmp(err, "198.51.100.7: not banned") == 0,
	      "again: nothing covers it any more: \"%s\"", err);

	/* banned itself and covered: its own ban lifted, the /24 reported */
	a = A("203.0.113.9");
	rc = bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err));
	CHECK(rc == 0 &&
		      strcmp(list(res->lifted, res->nlifted, l1, sizeof(l1)), "203.0.113.9") == 0 &&
		      strcmp(list(res->still, res->nstill, l2, sizeof(l2)), "203.0.113.0/24") == 0,
	      "unban 203.0.113.9 (banned itself, inside a banned /24): lifted \"%s\", still \"%s\"",
	      l1, l2);
	CHECK(!banned(&f, "203.0.113.9") && banned(&f, "203.0.113.0/24") &&
		      strcmp(removed(&f, got, sizeof(got)), "203.0.113.9") == 0,
	      "  only its own ban removed and published (\"%s\")", got);
	rc = bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "203.0.113.9 is not banned itself; it is inside "
				 "203.0.113.0/24 (fleet ban): use --covering to lift that ban") == 0,
	      "  then unban again: only covered now, refused (\"%s\")", err);

	/* IPv6 and a prefix argument */
	a = A("2001:db8:7:1::/64");
	rc = bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "2001:db8:7:1::/64 is not banned itself; it is inside "
				 "2001:db8:7::/48 (fleet ban): use --covering to lift that ban") == 0,
	      "unban of a /64 inside a banned /48: refused (\"%s\")", err);
	rc = bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err));
	CHECK(rc == 0 && !banned(&f, "2001:db8:7::/48") &&
		      strcmp(removed(&f, got, sizeof(got)), "2001:db8:7::/48") == 0,
	      "  --covering: the /48 lifted and published (\"%s\")", got);

	/* a prefix's own ban does not reach the bans inside it */
	a = A("203.0.113.0/24");
	ban(&f, "203.0.113.77");
	removed(&f, got, sizeof(got));
	rc = bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err));
	CHECK(rc == 0 && res->nlifted == 1 && banned(&f, "203.0.113.77") &&
		      strcmp(removed(&f, got, sizeof(got)), "203.0.113.0/24") == 0,
	      "unban --covering 203.0.113.0/24: the /24 alone; 203.0.113.77 inside it stays");

	/* nothing at all */
	a = A("192.0.2.1");
	CHECK(bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err)) == -1 &&
		      strcmp(err, "192.0.2.1: not banned") == 0,
	      "not banned and not covered: \"%s\", as before", err);

	/* the store refuses the second removal: the first stays made, named */
	ban(&f, "192.0.2.5");
	ban(&f, "192.0.2.0/24");
	removed(&f, got, sizeof(got));
	CHECK(tu_sql(f.db, "CREATE TRIGGER deny BEFORE DELETE ON bans WHEN old.addr = "
			"'192.0.2.0/24' BEGIN SELECT RAISE(ABORT, 'refused'); END;") == 0,
	      "trigger: the store refuses to delete 192.0.2.0/24");
	a = A("192.0.2.5");
	rc = bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err));
	CHECK(rc == -1 && strncmp(err, "store: ", 7) == 0 &&
		      strstr(err, " (unbanned already: 192.0.2.5)") != NULL,
	      "store fails on the /24: -1, the own ban named as lifted (\"%s\")", err);
	CHECK(!banned(&f, "192.0.2.5") && banned(&f, "192.0.2.0/24") &&
		      strcmp(removed(&f, got, sizeof(got)), "192.0.2.5") == 0,
	      "  192.0.2.5 removed and published, the /24 kept and not published (\"%s\")", got);

	/* a /128 inside 128 banned prefixes: the refusal fits the wire's
	 * 512 bytes and still ends with the advice; --covering lifts all */
	CHECK(tu_sql(f.db, "DROP TRIGGER deny;") == 0, "trigger dropped");
	{
		struct bc_store_ban sb;
		unsigned p;
		size_t before = f.c->bans.n;

		for (p = 0; p < 128; p++) {
			memset(&sb, 0, sizeof(sb));
			sb.ban.addr = A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
			bc_addr_mask(&sb.ban.addr, p);
			sb.ban.created_ms = bc_now_ms();
			sb.ban.expires_ms = sb.ban.created_ms + 3600 * 1000;
			if (bc_coord_ban(f.c, &sb, "admin", err, sizeof(err)) < 0)
				break;
		}
		removed(&f, got, sizeof(got));
		a = A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
		rc = bc_coord_unban_admin(f.c, &a, false, "admin", res, err, sizeof(err));
		CHECK(p == 128 && rc == -1 && strlen(err) < BC_WIRE_MAX_TEXT &&
			      strncmp(err, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff is not banned "
					   "itself; it is inside ::/0 (fleet ban), ", 80) == 0 &&
			      strstr(err, " more: use --covering to lift those bans") != NULL &&
			      strcmp(err + strlen(err) - 10, "those bans") == 0,
		      "inside 128 banned prefixes: refused in %zu bytes, cut to \"and N more\" "
		      "with the advice whole", strlen(err));
		rc = bc_coord_unban_admin(f.c, &a, true, "admin", res, err, sizeof(err));
		CHECK(rc == 0 && res->nlifted == 128 && f.c->bans.n == before,
		      "  --covering: all 128 lifted (%zu), the table as before (%zu of %zu)",
		      res->nlifted, f.c->bans.n, before);
	}

	zmq_close(f.sub);
	zmq_close(f.c->pub);
	zmq_ctx_term(f.c->zctx);
	bc_hooks_free(&f.c->hooks);
	bc_policy_free(&f.c->policy);
	bc_store_close(&f.c->store);
	bc_banmap_free(&f.c->bans);
	free(f.c);
	free(res);
}

int main(void)
{
	char dir[] = "/tmp/bc-test-covering.XXXXXX", path[160];
	const char *files[] = {"coordinator.db", "coordinator.db-wal", "coordinator.db-shm"};
	size_t i;

	if (mkdtemp(dir) == NULL)
		return 1;
	unsetenv("JOURNAL_STREAM");
	bc_log_init("test_covering", BC_LOG_ERR);
	text_cases();
	coord_cases(dir);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return tap_done();
}
