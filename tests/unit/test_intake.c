/*
 * test_intake.c - the coordinator's replay counters (coordinator/intake.c,
 * bc_coord_save_counter, called after every admin request and by the
 * tick) and their metrics (coordinator/metrics.c).
 *
 * A store that refuses the write (a trigger on the counters table, made
 * through a second SQLite connection) must leave counter_saved where it
 * was, so that the next tick writes the counter again, count the failure
 * in bancluster_coordinator_replay_save_failures_total and log it once
 * per spell; once the store takes writes again the counter is saved and
 * the recovery logged. Before the fix the failure was ignored and the
 * counter marked saved: replay protection silently not durable.
 * The metrics text also carries one events_total line per kind of
 * common/event.h's table.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/event.h"
#include "common/log.h"
#include "coordinator/coord.h"
#include "coordinator/intake.h"
#include "coordinator/metrics.h"
#include "coordinator/store.h"
#include "tap.h"
#define BC_TESTUTIL_SQL
#include "tests/unit/testutil.h"

static void hook_log(void *arg, bool warn, const char *msg)
{
	(void)arg;
	(void)warn;
	(void)msg;
}

/* stderr into a file from here on; returns what was written since. */
static char *grab(const char *path, long *off)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 8192);
	size_t n;

	fflush(stderr);
	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		return buf;
	}
	fseek(f, *off, SEEK_SET);
	n = fread(buf, 1, 8191, f);
	*off += (long)n;
	fclose(f);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

static char *metrics(struct bc_coord *c)
{
	struct bc_metrics m;
	char *text = NULL;
	size_t len = 0;

	if (bc_metrics_begin_mem(&m) < 0)
		return NULL;
	bc_coord_metrics_text(c, &m);
	if (bc_metrics_end_mem(&m, &text, &len) < 0)
		return NULL;
	return text;
}

int main(void)
{
	char dir[] = "/tmp/bc-test-intake.XXXXXX", db[128], errf[128], err[256];
	struct bc_coord *c = calloc(1, sizeof(*c));
	struct bc_peer p;
	struct bc_policy_cfg pc;
	struct bc_hooks_cfg hc;
	uint64_t v = 0;
	long off = 0;
	char *log, *text;
	int k;

	if (c == NULL || mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof(db), "%s/coordinator.db", dir);
	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	if (freopen(errf, "w", stderr) == NULL)
		return 1;
	unsetenv("JOURNAL_STREAM"); /* the plain line format */
	bc_log_init("test_intake", BC_LOG_INFO);
	c->store = bc_store_open(db, err, sizeof(err));
	CHECK(c->store != NULL, "store opened (%s)", c->store ? "" : err);
	if (c->store == NULL)
		return tap_done();
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "mx1");
	p.role = BC_ROLE_AGENT;
	bc_keyring_add(&c->ring, &p);
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
	if (c->ring.n != 1 || c->peer_state == NULL || c->policy == NULL || c->hooks == NULL)
		return 1;

	/* the store takes the write */
	c->ring.v[0].last_counter[BC_CHAN_ROUTER] = 5;
	CHECK(bc_coord_save_counter(c, 0) == 0, "counter 5 saved");
	CHECK(c->peer_state[0].counter_saved == 5, "marked saved: 5");
	CHECK(bc_store_counter_get(c->store, "mx1", BC_CHAN_ROUTER, &v) == 0 && v == 5,
	      "the store has 5 (%llu)", (unsigned long long)v);

	/* the store refuses it */
	CHECK(tu_sql(db, "CREATE TRIGGER deny BEFORE INSERT ON counters "
		      "BEGIN SELECT RAISE(ABORT, 'counters refused'); END;") == 0,
	      "trigger made: inserts into counters fail");
	c->ring.v[0].last_counter[BC_CHAN_ROUTER] = 9;
	CHECK(bc_coord_save_counter(c, 0) == -1, "store refuses counter 9: -1");
	CHECK(c->peer_state[0].counter_saved == 5,
	      "not marked saved: counter_saved still 5 (got %llu), the tick retries",
	      (unsigned long long)c->peer_state[0].counter_saved);
	CHECK(c->peer_state[0].counter_saved != c->ring.v[0].last_counter[BC_CHAN_ROUTER],
	      "tick's condition (last_counter != counter_saved) holds: written again next second");
	v = 0;
	CHECK(bc_store_counter_get(c->store, "mx1", BC_CHAN_ROUTER, &v) == 0 && v == 5,
	      "the store still has 5 (%llu)", (unsigned long long)v);
	CHECK(c->counter_save_failures == 1, "failure counted (%llu)",
	      (unsigned long long)c->counter_save_failures);
	log = grab(errf, &off);
	CHECK(log != NULL && strstr(log, "test_intake: warning: replay counter of mx1 not saved, "
					 "retried every second: store: ") != NULL &&
		      strstr(log, "counters refused") != NULL,
	      "failure logged with the store's reason: %s", log ? log : "");
	free(log);
	CHECK(bc_coord_save_counter(c, 0) == -1 && c->counter_save_failures == 2,
	      "second failure: -1, counted (%llu)", (unsigned long long)c->counter_save_failures);
	log = grab(errf, &off);
	CHECK(log != NULL && log[0] == '\0', "second failure of the spell not logged again: %s",
	      log ? log : "");
	free(log);
	text = metrics(c);
	CHECK(text != NULL && strstr(text, "\nbancluster_coordinator_replay_save_failures_total 2\n") != NULL &&
		      strstr(text, "# TYPE bancluster_coordinator_replay_save_failures_total counter\n") != NULL,
	      "metrics: bancluster_coordinator_replay_save_failures_total 2");
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++) {
		char want[128];

		snprintf(want, sizeof(want), "\nbancluster_coordinator_events_total{kind=\"%s\"} 0\n",
			 bc_kind_name(k));
		CHECK(text != NULL && strstr(text, want) != NULL, "metrics: events_total of kind %s",
		      bc_kind_name(k));
	}
	free(text);

	/* the store takes writes again */
	CHECK(tu_sql(db, "DROP TRIGGER deny;") == 0, "trigger dropped");
	CHECK(bc_coord_save_counter(c, 0) == 0, "retry: counter 9 saved");
	CHECK(c->peer_state[0].counter_saved == 9, "marked saved: 9");
	v = 0;
	CHECK(bc_store_counter_get(c->store, "mx1", BC_CHAN_ROUTER, &v) == 0 && v == 9,
	      "the store has 9 (%llu)", (unsigned long long)v);
	log = grab(errf, &off);
	CHECK(log != NULL && strstr(log, "test_intake: info: replay counter of mx1 saved again") != NULL,
	      "recovery logged: %s", log ? log : "");
	free(log);

	/* another process holds the write lock (a backup, sqlite3): the save
	 * and the prune give up at once instead of stopping the loop for the
	 * busy timeout, the store is not marked failed, and both succeed once
	 * the lock is gone */
	{
		sqlite3 *h = NULL;
		int64_t t0, ms;
		char why[256];

		CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
		      sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK,
		      "a second connection holds the write lock");
		c->ring.v[0].last_counter[BC_CHAN_ROUTER] = 12;
		t0 = bc_mono_ms();
		k = bc_coord_save_counter(c, 0);
		ms = bc_mono_ms() - t0;
		CHECK(k == -1 && ms < 500, "locked: counter 12 not saved, at once (%d in %lld ms)",
		      k, (long long)ms);
		CHECK(c->peer_state[0].counter_saved == 9, "locked: still marked 9");
		t0 = bc_mono_ms();
		k = bc_store_prune(c->store, 0, 0);
		ms = bc_mono_ms() - t0;
		CHECK(k == 1 && ms < 500, "locked: prune gives up at once (%d in %lld ms)",
		      k, (long long)ms);
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(h);
		CHECK(bc_store_healthy(c->store, why, sizeof(why)),
		      "lock gone: the store is healthy (not marked failed): %s", why);
		CHECK(bc_coord_save_counter(c, 0) == 0 &&
		      c->peer_state[0].counter_saved == 12, "lock gone: counter 12 saved");
		CHECK(bc_store_prune(c->store, 0, 0) == 0, "lock gone: prune runs");
		free(grab(errf, &off));
	}

	bc_hooks_free(&c->hooks);
	bc_policy_free(&c->policy);
	bc_store_close(&c->store);
	bc_keyring_free(&c->ring);
	free(c->peer_state);
	free(c);
	unlink(errf);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	if (system(err) != 0)
		return 1;
	return tap_done();
}
