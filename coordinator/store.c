/*
 * store.c - SQLite persistence for the coordinator (see store.h): one
 * function per statement or per commit. The schema, its version and its
 * migrations are store_schema.c's.
 *
 * Untrusted text stored here: the frames of reports (kept as the signed
 * BLOBs the agents sent, decoded only by evidence.c), the service and
 * log excerpt of evidence events (agents' text, escaped at their source)
 * and admins' reasons. Every statement is prepared with bound
 * parameters; such text only ever travels as a bound value, never in
 * SQL. The store owns its connection; rows handed to callbacks are valid
 * during the call only. Errors return -1 (0 for the epoch);
 * bc_store_error() says why.
 */
#include "store.h"
#include "store_priv.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"

#define BUSY_TIMEOUT_MS 5000

struct bc_store {
	sqlite3 *db;
	char err[256];
	bool failed; /* an operation failed since the last commit */
	bool batch;  /* inside bc_store_batch_begin/end: savepoints */
	struct bc_store_schema schema;
	/* the statements of every report and of every ban (a burst applies
	 * thousands a second), prepared once: kept() */
	sqlite3_stmt *st_counter, *st_count_add, *st_report;
	sqlite3_stmt *st_ban, *st_decision, *st_unban, *st_offence, *st_evidence,
		*st_offcount, *st_offtimes, *st_offmerge;
};

const char *bc_store_error(struct bc_store *s)
{
	return s->err;
}

/* Column I of the current row as text, "" for NULL. */
static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static int fail(struct bc_store *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	s->failed = true;
	return -1;
}

struct bc_store *bc_store_open(const char *path, char *err, size_t errlen)
{
	struct bc_store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		bc_store_close(&s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* nothing is written before the version is known and, when the
	 * database is to change, its backup taken */
	if (bc_store_schema_upgrade(s->db, path, &s->schema, err, errlen) < 0) {
		bc_store_close(&s);
		return NULL;
	}
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		bc_store_close(&s);
		return NULL;
	}
	return s;
}

const struct bc_store_schema *bc_store_schema(const struct bc_store *s)
{
	return &s->schema;
}

void bc_store_close(struct bc_store **sp)
{
	struct bc_store *s = *sp;

	if (s == NULL)
		return;
	sqlite3_finalize(s->st_counter);
	sqlite3_finalize(s->st_count_add);
	sqlite3_finalize(s->st_report);
	sqlite3_finalize(s->st_ban);
	sqlite3_finalize(s->st_decision);
	sqlite3_finalize(s->st_unban);
	sqlite3_finalize(s->st_offence);
	sqlite3_finalize(s->st_evidence);
	sqlite3_finalize(s->st_offcount);
	sqlite3_finalize(s->st_offtimes);
	sqlite3_finalize(s->st_offmerge);
	sqlite3_close(s->db);
	free(s);
	*sp = NULL;
}

static int exec(struct bc_store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, sql);
	if (strcmp(sql, "COMMIT") == 0)
		s->failed = false;
	return 0;
}

/*
 * One operation's transaction: its own BEGIN IMMEDIATE .. COMMIT, or a
 * savepoint inside the batch that bc_store_batch_end commits, so that a
 * failed operation still leaves nothing behind.
 */
static int txn_begin(struct bc_store *s)
{
	return exec(s, s->batch ? "SAVEPOINT op" : "BEGIN IMMEDIATE");
}

static int txn_commit(struct bc_store *s)
{
	return exec(s, s->batch ? "RELEASE op" : "COMMIT");
}

static void txn_rollback(struct bc_store *s)
{
	if (!s->batch) {
		exec(s, "ROLLBACK");
		return;
	}
	exec(s, "ROLLBACK TO op");
	exec(s, "RELEASE op");
}

int bc_store_batch_begin(struct bc_store *s)
{
	if (s->batch)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	s->batch = true;
	return 0;
}

int bc_store_batch_end(struct bc_store *s)
{
	if (!s->batch)
		return 0;
	s->batch = false;
	if (exec(s, "COMMIT") == 0)
		return 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

bool bc_store_in_batch(const struct bc_store *s)
{
	return s->batch;
}

/* *slot prepared once, then reset for its next use. NULL on error. */
static sqlite3_stmt *kept(struct bc_store *s, sqlite3_stmt **slot,
			  const char *sql)
{
	if (*slot != NULL) {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
		return *slot;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
			       NULL) != SQLITE_OK) {
		*slot = NULL;
		return NULL;
	}
	return *slot;
}

bool bc_store_healthy(struct bc_store *s, char *why, size_t len)
{
	int rc;

	if (s->failed) {
		snprintf(why, len, "store: %s", s->err);
		return false;
	}
	/* a write lock at once, given back at once: no waiting in the loop */
	sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		snprintf(why, len, "store: %s", sqlite3_errmsg(s->db));
	else
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	return rc == SQLITE_OK;
}

uint64_t bc_store_next_epoch(struct bc_store *s)
{
	sqlite3_stmt *st = NULL;
	uint64_t epoch = 0;

	if (txn_begin(s) < 0)
		return 0;
	/* max(previous + 1, Unix seconds): strictly increasing across
	 * restarts, and across a restore of an older database */
	if (exec(s, "INSERT INTO meta(k, v) VALUES('epoch', CAST(strftime('%s','now') AS INTEGER)) "
		    "ON CONFLICT(k) DO UPDATE SET v = max(v + 1, CAST(strftime('%s','now') AS INTEGER))") < 0)
		goto rollback;
	if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'epoch'",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		fail(s, "epoch");
		goto rollback;
	}
	epoch = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (txn_commit(s) < 0)
		goto rollback;
	return epoch;
rollback:
	sqlite3_finalize(st);
	txn_rollback(s);
	return 0;
}

static void row_to_ban(sqlite3_stmt *st, struct bc_store_ban *b)
{
	const void *bin = sqlite3_column_blob(st, 1);
	int blen = sqlite3_column_bytes(st, 1);
	int family = sqlite3_column_int(st, 0) == 4 ? AF_INET : AF_INET6;
	uint8_t buf[16] = {0};

	memset(b, 0, sizeof(*b));
	if (bin != NULL && blen > 0 && blen <= 16)
		memcpy(buf, bin, (size_t)blen);
	bc_addr_from_bin(&b->ban.addr, family, buf,
			 (unsigned)sqlite3_column_int(st, 2));
	b->ban.created_ms = sqlite3_column_int64(st, 3);
	b->ban.expires_ms = sqlite3_column_int64(st, 4);
	snprintf(b->reason, sizeof(b->reason), "%s", col_text(st, 5));
	snprintf(b->origin, sizeof(b->origin), "%s", col_text(st, 6));
}

int bc_store_each(struct bc_store *s, bc_store_ban_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT family, bin, plen, created_ms, expires_ms,"
			       " reason, origin FROM bans ORDER BY family, bin, plen",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select bans");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bc_store_ban b;

		row_to_ban(st, &b);
		cb(&b, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select bans");
}

static void load_cb(const struct bc_store_ban *b, void *arg)
{
	struct bc_banmap *m = arg;

	bc_banmap_put(m, &b->ban);
}

int bc_store_load(struct bc_store *s, struct bc_banmap *m)
{
	bc_banmap_clear(m);
	return bc_store_each(s, load_cb, m);
}

static int log_decision(struct bc_store *s, int64_t now_ms, const char *action,
			const char *addr, int64_t expires_ms,
			const char *reason, const char *origin,
			const char *signer)
{
	sqlite3_stmt *st = kept(s, &s->st_decision,
				"INSERT INTO decisions(time_ms, action, addr,"
				" expires_ms, reason, origin, signer)"
				" VALUES(?,?,?,?,?,?,?)");
	int rc;

	if (st == NULL)
		return fail(s, "insert decision");
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, expires_ms);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, signer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "insert decision");
}

/* Insert or replace one active ban (inside the caller's transaction). */
static int insert_ban(struct bc_store *s, const struct bc_store_ban *b,
		      const char *addr)
{
	sqlite3_stmt *st = kept(s, &s->st_ban,
				"INSERT OR REPLACE INTO bans(addr, family, bin, plen,"
				" created_ms, expires_ms, reason, origin)"
				" VALUES(?,?,?,?,?,?,?,?)");
	int rc;

	if (st == NULL)
		return fail(s, "insert ban");
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, b->ban.addr.family == AF_INET ? 4 : 6);
	sqlite3_bind_blob(st, 3, b->ban.addr.a, (int)bc_addr_bytes(&b->ban.addr),
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 4, b->ban.addr.plen);
	sqlite3_bind_int64(st, 5, b->ban.created_ms);
	sqlite3_bind_int64(st, 6, b->ban.expires_ms);
	sqlite3_bind_text(st, 7, b->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, b->origin, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "insert ban");
}

int bc_store_ban(struct bc_store *s, const struct bc_store_ban *b,
		 const char *action, const char *signer, int64_t now_ms)
{
	char addr[BC_ADDR_STRLEN];

	bc_addr_format(&b->ban.addr, addr, sizeof(addr));
	if (txn_begin(s) < 0)
		return -1;
	if (insert_ban(s, b, addr) < 0)
		goto rollback;
	if (log_decision(s, now_ms, action, addr, b->ban.expires_ms, b->reason,
			 b->origin, signer) < 0)
		goto rollback;
	if (txn_commit(s) < 0)
		goto rollback;
	return 0;
rollback:
	txn_rollback(s);
	return -1;
}

int bc_store_unban(struct bc_store *s, const struct bc_addr *a,
		   const char *action, const char *signer, int64_t now_ms)
{
	char addr[BC_ADDR_STRLEN];
	sqlite3_stmt *st = NULL;
	int rc;

	bc_addr_format(a, addr, sizeof(addr));
	if (txn_begin(s) < 0)
		return -1;
	st = kept(s, &s->st_unban, "DELETE FROM bans WHERE addr = ?");
	if (st == NULL) {
		fail(s, "delete ban");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fail(s, "delete ban");
		goto rollback;
	}
	if (log_decision(s, now_ms, action, addr, 0, "", "", signer) < 0)
		goto rollback;
	if (txn_commit(s) < 0)
		goto rollback;
	return 0;
rollback:
	txn_rollback(s);
	return -1;
}

int bc_store_counter_get(struct bc_store *s, const char *sender, int chan,
			 uint64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT v FROM counters WHERE sender = ? AND chan = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select counter");
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, chan);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(s, "select counter");
}

/* INSERT OR REPLACE one counter; wait = false: give up at once (1) when
 * another process holds the write lock, without marking the store failed. */
static int counter_put(struct bc_store *s, const char *sender, int chan,
		       uint64_t v, bool wait)
{
	sqlite3_stmt *st = kept(s, &s->st_counter,
				"INSERT OR REPLACE INTO counters(sender, chan, v)"
				" VALUES(?,?,?)");
	int rc;

	if (st == NULL)
		return fail(s, "insert counter");
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, chan);
	sqlite3_bind_int64(st, 3, (int64_t)v);
	if (!wait)
		sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_step(st);
	if (!wait)
		sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_reset(st);
	if (rc == SQLITE_BUSY && !wait) {
		snprintf(s->err, sizeof(s->err), "insert counter: %s",
			 sqlite3_errstr(SQLITE_BUSY));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : fail(s, "insert counter");
}

int bc_store_counter_set(struct bc_store *s, const char *sender, int chan,
			 uint64_t v)
{
	return counter_put(s, sender, chan, v, true);
}

int bc_store_counter_try(struct bc_store *s, const char *sender, int chan,
			 uint64_t v)
{
	int rc = counter_put(s, sender, chan, v, false);

	if (rc == 0)
		s->failed = false; /* a write went through: the store takes writes */
	return rc;
}

int bc_store_report_add(struct bc_store *s, const char *sender, int chan,
			uint64_t report_id, size_t nevents, int64_t recv_ms,
			const uint8_t *frame, size_t len, int64_t *rowid)
{
	sqlite3_stmt *st;

	if (txn_begin(s) < 0)
		return -1;
	if (bc_store_counter_set(s, sender, chan, report_id) < 0)
		goto rollback;
	st = kept(s, &s->st_count_add,
		  "INSERT INTO counters(sender, chan, v) VALUES(?,?,?)"
		  " ON CONFLICT(sender, chan) DO UPDATE SET v = v + excluded.v");
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, chan + 1);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)nevents);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(st);
	st = kept(s, &s->st_report,
		  "INSERT INTO reports(sender, recv_ms, frame) VALUES(?,?,?)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, recv_ms);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(st);
	*rowid = sqlite3_last_insert_rowid(s->db);
	if (txn_commit(s) < 0)
		goto rollback;
	return 0;
fail:
	fail(s, "insert report");
rollback:
	if (s->st_count_add != NULL)
		sqlite3_reset(s->st_count_add);
	if (s->st_report != NULL)
		sqlite3_reset(s->st_report);
	txn_rollback(s);
	return -1;
}

int bc_store_report_get(struct bc_store *s, int64_t rowid, uint8_t **frame,
			size_t *len, char sender[64], int64_t *recv_ms)
{
	sqlite3_stmt *st;
	int rc = -1;

	*frame = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT sender, recv_ms, frame FROM reports WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select report");
	sqlite3_bind_int64(st, 1, rowid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 2);
		int n = sqlite3_column_bytes(st, 2);

		snprintf(sender, 64, "%s", col_text(st, 0));
		*recv_ms = sqlite3_column_int64(st, 1);
		*frame = malloc(n > 0 ? (size_t)n : 1);
		if (*frame != NULL) {
			if (n > 0)
				memcpy(*frame, b, (size_t)n);
			*len = (size_t)n;
			rc = 0;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int bc_store_reports_each(struct bc_store *s, int64_t since_ms,
			  bc_store_report_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, sender, recv_ms, frame FROM reports"
			       " WHERE recv_ms > ? ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select reports");
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0), col_text(st, 1),
		   sqlite3_column_int64(st, 2), sqlite3_column_blob(st, 3),
		   (size_t)sqlite3_column_bytes(st, 3), arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select reports");
}

int bc_store_decided_since(struct bc_store *s, int64_t since_ms,
			   bc_store_decided_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT addr, max(time_ms) FROM decisions"
			       " WHERE time_ms > ? GROUP BY addr",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select decisions");
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(col_text(st, 0), sqlite3_column_int64(st, 1), arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select decisions");
}

long bc_store_offences(struct bc_store *s, const struct bc_addr *key,
		       int64_t since_ms)
{
	sqlite3_stmt *st;
	char k[BC_ADDR_STRLEN];
	long n = -1;

	bc_addr_format(key, k, sizeof(k));
	st = kept(s, &s->st_offcount,
		  "SELECT count(*) FROM offences WHERE key = ? AND time_ms > ?");
	if (st == NULL)
		return fail(s, "count offences");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ms);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

long bc_store_offence_times(struct bc_store *s, const struct bc_addr *key,
			    int64_t since_ms, int64_t *t, size_t max)
{
	sqlite3_stmt *st;
	char k[BC_ADDR_STRLEN];
	long n = 0;
	int rc;

	bc_addr_format(key, k, sizeof(k));
	st = kept(s, &s->st_offtimes,
		  "SELECT time_ms FROM offences WHERE key = ? AND"
		  " time_ms > ? ORDER BY time_ms");
	if (st == NULL)
		return fail(s, "select offences");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((size_t)n < max)
			t[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : fail(s, "select offences");
}

int bc_store_offence_merge(struct bc_store *s, const struct bc_addr *key,
			   const int64_t *t, size_t n)
{
	sqlite3_stmt *st;
	char k[BC_ADDR_STRLEN];
	size_t i;

	bc_addr_format(key, k, sizeof(k));
	if (txn_begin(s) < 0)
		return -1;
	st = kept(s, &s->st_offmerge,
		  "INSERT INTO offences(key, time_ms, decision) SELECT ?1, ?2, 0"
		  " WHERE NOT EXISTS (SELECT 1 FROM offences WHERE key = ?1"
		  " AND time_ms = ?2)");
	if (st == NULL) {
		txn_rollback(s);
		return fail(s, "merge offences");
	}
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, t[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			txn_rollback(s);
			return fail(s, "merge offences");
		}
		sqlite3_reset(st);
	}
	return txn_commit(s);
}

int bc_store_offence_keys(struct bc_store *s, int64_t since_ms,
			  void (*cb)(const char *key, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT DISTINCT key FROM offences WHERE time_ms > ?",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select offences");
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(col_text(st, 0), arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select offences");
}

int bc_store_ban_rule(struct bc_store *s, const struct bc_store_ban *b,
		      const struct bc_addr *key,
		      const struct bc_store_event *ev, size_t n,
		      int64_t now_ms)
{
	char addr[BC_ADDR_STRLEN], k[BC_ADDR_STRLEN];
	sqlite3_stmt *st = NULL;
	sqlite3_int64 decision;
	size_t i;

	bc_addr_format(&b->ban.addr, addr, sizeof(addr));
	bc_addr_format(key, k, sizeof(k));
	if (txn_begin(s) < 0)
		return -1;
	if (insert_ban(s, b, addr) < 0)
		goto rollback;
	if (log_decision(s, now_ms, "ban", addr, b->ban.expires_ms, b->reason,
			 b->origin, "") < 0)
		goto rollback;
	decision = sqlite3_last_insert_rowid(s->db);
	st = kept(s, &s->st_offence,
		  "INSERT INTO offences(key, time_ms, decision) VALUES(?,?,?)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, decision);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(st);
	st = kept(s, &s->st_evidence,
		  "INSERT INTO evidence(decision, time_ms, host, kind,"
		  " addr, service, line) VALUES(?,?,?,?,?,?,?)");
	if (st == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		char a[BC_ADDR_STRLEN];

		bc_addr_format(&ev[i].addr, a, sizeof(a));
		sqlite3_bind_int64(st, 1, decision);
		sqlite3_bind_int64(st, 2, ev[i].time_ms);
		sqlite3_bind_text(st, 3, ev[i].host, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, ev[i].kind);
		sqlite3_bind_text(st, 5, a, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, ev[i].service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, ev[i].line, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
	}
	st = NULL;
	if (txn_commit(s) < 0)
		goto rollback;
	return 0;
fail:
	fail(s, "rule ban");
rollback:
	if (st != NULL) /* a kept statement: reset, not finalized */
		sqlite3_reset(st);
	txn_rollback(s);
	return -1;
}

int bc_store_prune(struct bc_store *s, int64_t events_before_ms,
		   int64_t decisions_before_ms)
{
	sqlite3_stmt *st;
	const char *sql[] = {
		"DELETE FROM reports WHERE recv_ms < ?",
		"DELETE FROM evidence WHERE decision IN (SELECT id FROM decisions WHERE time_ms < ?)",
		"DELETE FROM decisions WHERE time_ms < ?",
		"DELETE FROM offences WHERE time_ms < ?",
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK)
			return fail(s, "prune");
		sqlite3_bind_int64(st, 1, i == 0 ? events_before_ms : decisions_before_ms);
		/* another process holds the write lock: later, not now */
		sqlite3_busy_timeout(s->db, 0);
		rc = sqlite3_step(st);
		sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
		sqlite3_finalize(st);
		if (rc == SQLITE_BUSY)
			return 1;
		if (rc != SQLITE_DONE)
			return fail(s, "prune");
	}
	return 0;
}

int bc_store_decisions(struct bc_store *s, const char *addr, const char *key,
		       unsigned max, bc_store_decision_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, time_ms, expires_ms, action, addr, reason,"
			       " origin, signer FROM decisions WHERE addr IN (?, ?)"
			       " ORDER BY time_ms DESC, id DESC LIMIT ?",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select decisions");
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bc_store_decision d;

		memset(&d, 0, sizeof(d));
		d.id = sqlite3_column_int64(st, 0);
		d.time_ms = sqlite3_column_int64(st, 1);
		d.expires_ms = sqlite3_column_int64(st, 2);
#define TEXT(col, dst) snprintf(dst, sizeof(dst), "%s", col_text(st, col))
		TEXT(3, d.action);
		TEXT(4, d.addr);
		TEXT(5, d.reason);
		TEXT(6, d.origin);
		TEXT(7, d.signer);
#undef TEXT
		cb(&d, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select decisions");
}

int bc_store_evidence(struct bc_store *s, int64_t decision,
		      bc_store_event_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT time_ms, host, kind, addr, service, line"
			       " FROM evidence WHERE decision = ?"
			       " ORDER BY time_ms DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "select evidence");
	sqlite3_bind_int64(st, 1, decision);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bc_store_event e;
		const unsigned char *a = sqlite3_column_text(st, 3);

		memset(&e, 0, sizeof(e));
		e.time_ms = sqlite3_column_int64(st, 0);
		e.kind = (uint8_t)sqlite3_column_int(st, 2);
		if (a == NULL ||
		    bc_addr_parse_host(&e.addr, (const char *)a, strlen((const char *)a)) < 0)
			memset(&e.addr, 0, sizeof(e.addr));
		e.host = col_text(st, 1);
		e.service = col_text(st, 4);
		e.line = col_text(st, 5);
		cb(&e, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "select evidence");
}

/* ---- lent to store_allow.c (store_priv.h) ------------------------------ */

sqlite3 *bc_store_priv_db(struct bc_store *s)
{
	return s->db;
}

int bc_store_priv_begin(struct bc_store *s)
{
	return txn_begin(s);
}

int bc_store_priv_commit(struct bc_store *s)
{
	return txn_commit(s);
}

void bc_store_priv_rollback(struct bc_store *s)
{
	txn_rollback(s);
}

int bc_store_priv_fail(struct bc_store *s, const char *what)
{
	return fail(s, what);
}

int bc_store_priv_decision(struct bc_store *s, int64_t now_ms,
			   const char *action, const char *addr,
			   int64_t expires_ms, const char *reason,
			   const char *origin, const char *signer)
{
	return log_decision(s, now_ms, action, addr, expires_ms, reason, origin,
			    signer);
}
