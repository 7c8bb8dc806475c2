/*
 * test_store.c - the store's schema version and forward migration
 * (coordinator/store.c, docs/upgrade.md).
 *
 * tests/data/coordinator-0.3.0.db was made by the coordinator of 0.3.0
 * (no schema version: user_version 0) with real bans, unbans, rule bans
 * with evidence and offences (tests/data/README). Opened by this build,
 * a copy is migrated to BC_STORE_SCHEMA: every ban, decision, offence,
 * evidence row, report and counter is still read through the store API,
 * user_version is current, and the database as it was sits in
 * coordinator.db.v1.bak with the database's permissions. Also: a new
 * database is created at the current version without a backup; a newer
 * one is refused with the exact line (bc_store_open and bc_store_check,
 * the latter without SQLite); a backup that cannot be written or a
 * migration that fails leaves the database byte for byte as it was; a
 * database with tables but no "bans" is not taken for a coordinator's.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "coordinator/store.h"
#include "tests/unit/tap.h"
#define BC_TESTUTIL_SQL
#include "tests/unit/testutil.h"

#define LEGACY "tests/data/coordinator-0.3.0.db"

static char dir[64];

static char *at(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* the whole file, malloc'd (NULL if absent); *len its size */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) != NULL)
		*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static int copy(const char *from, const char *to)
{
	size_t n;
	char *b = slurp(from, &n);
	FILE *f;
	int rc = -1;

	if (b == NULL)
		return -1;
	f = fopen(to, "wb");
	if (f != NULL) {
		rc = fwrite(b, 1, n, f) == n ? 0 : -1;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(b);
	return rc;
}

static bool same(const char *a, const char *b)
{
	size_t na, nb;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	bool eq = x != NULL && y != NULL && na == nb && memcmp(x, y, na) == 0;

	free(x);
	free(y);
	return eq;
}

/* one integer from a query on db (read-only), -999 on failure */
static long num(const char *db, const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long v = -999;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return v;
	}
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return v;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void clean(void)
{
	/* num() leaves -wal and -shm of what it read (read-only) */
	const char *names[] = {"c.db", "c.db-wal", "c.db-shm", "c.db-journal",
			       "c.db.v0.bak", "c.db.v1.bak", "c.db.v2.bak",
			       "c.db.v1.bak-wal", "c.db.v1.bak-shm",
			       "c.db.v2.bak-wal", "c.db.v2.bak-shm",
			       "c.db.v1.bak.tmp", "c.db.v1.bak.tmp-journal",
			       "c.db.v1.bak.tmp-wal", "c.db.v1.bak.tmp-shm",
			       "c.db.v1.bak/x", "c.db.v1.bak",
			       "before.db", "before.db-wal", "before.db-shm"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (remove(at(names[i])) < 0 && exists(at(names[i])))
			rmdir(at(names[i]));
}

/* ---- the database of 0.3.0 --------------------------------------------- */

struct seen {
	char text[8][700];
	int64_t num[8];
	size_t n;
};

static void ban_cb(const struct bc_store_ban *b, void *arg)
{
	struct seen *k = arg;
	char a[BC_ADDR_STRLEN];

	if (k->n < 8) {
		snprintf(k->text[k->n], sizeof(k->text[0]), "%s|%s|%s",
			 bc_addr_format(&b->ban.addr, a, sizeof(a)), b->origin,
			 b->reason);
		k->num[k->n] = b->ban.expires_ms;
	}
	k->n++;
}

static void decision_cb(const struct bc_store_decision *d, void *arg)
{
	struct seen *k = arg;

	if (k->n < 8) {
		snprintf(k->text[k->n], sizeof(k->text[0]), "%s|%s|%s|%s",
			 d->action, d->addr, d->signer, d->reason);
		k->num[k->n] = d->id;
	}
	k->n++;
}

static void event_cb(const struct bc_store_event *e, void *arg)
{
	struct seen *k = arg;
	char a[BC_ADDR_STRLEN];

	if (k->n < 8)
		snprintf(k->text[k->n], sizeof(k->text[0]), "%s|%u|%s|%s|%s",
			 e->host, e->kind, bc_addr_format(&e->addr, a, sizeof(a)),
			 e->service, e->line);
	k->n++;
}

static void report_cb(int64_t rowid, const char *sender, int64_t recv_ms,
		      const uint8_t *frame, size_t len, void *arg)
{
	struct seen *k = arg;

	(void)rowid;
	(void)recv_ms;
	(void)frame;
	if (strcmp(sender, "mx1") == 0 && len > 0)
		k->n++;
}

static void test_legacy(void)
{
	char err[512];
	struct bc_store *s;
	const struct bc_store_schema *sv;
	struct seen k;
	struct bc_addr key;
	struct stat st;
	uint64_t v;

	clean();
	CHECK(copy(LEGACY, at("c.db")) == 0 && copy(LEGACY, at("before.db")) == 0,
	      "legacy: a copy of %s", LEGACY);
	CHECK(num(at("c.db"), "PRAGMA user_version") == 0,
	      "legacy: the file of 0.3.0 has no schema version (user_version 0)");
	chmod(at("c.db"), 0640);
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL, "legacy: opened (%s)", s ? "" : err);
	if (s == NULL)
		return;
	sv = bc_store_schema(s);
	CHECK(sv->found == 1 && sv->version == BC_STORE_SCHEMA && BC_STORE_SCHEMA == 3,
	      "legacy: found schema version 1, now %d (found %d)", sv->version, sv->found);
	CHECK(strcmp(sv->backup, at("c.db.v1.bak")) == 0,
	      "legacy: backup named c.db.v1.bak (%s)", sv->backup);

	memset(&k, 0, sizeof(k));
	CHECK(bc_store_each(s, ban_cb, &k) == 0 && k.n == 4, "legacy: 4 active bans (%zu)", k.n);
	CHECK(strcmp(k.text[0], "198.18.9.9|rule:maxretry|5 weighted events from 1 host in 0s "
				"(auth_fail 5, sender_violation 0, auth_abort 0); offence 2, banned 365d") == 0 &&
		      k.num[0] == 1828143296169,
	      "legacy: the rule ban, its reason and expiry (%s %lld)", k.text[0], (long long)k.num[0]);
	CHECK(strcmp(k.text[1], "198.51.100.0/24|manual:admin|abusive range") == 0 && k.num[1] == 0,
	      "legacy: the permanent /24 (%s)", k.text[1]);
	CHECK(strcmp(k.text[2], "203.0.113.7|manual:admin|M\xc3\xbcller: spam run") == 0 && k.num[2] == 0,
	      "legacy: the UTF-8 reason byte for byte (%s)", k.text[2]);
	CHECK(strcmp(k.text[3], "2001:db8:5::/48|manual:admin|v6 range") == 0 && k.num[3] == 0,
	      "legacy: the permanent /48 (%s)", k.text[3]);

	memset(&k, 0, sizeof(k));
	CHECK(bc_store_decisions(s, "198.18.9.9", "198.18.9.9", 50, decision_cb, &k) == 0 &&
		      k.n == 3 && k.num[0] == 8 && k.num[1] == 7 && k.num[2] == 6 &&
		      strncmp(k.text[0], "ban|198.18.9.9||5 weighted", 26) == 0 &&
		      strcmp(k.text[1], "unban|198.18.9.9|admin|") == 0 &&
		      strstr(k.text[2], "offence 1, banned 365d") != NULL,
	      "legacy: decisions of 198.18.9.9, newest first: rule ban 8, unban 7, rule ban 6 (%zu: %s / %s / %s)",
	      k.n, k.text[0], k.text[1], k.text[2]);
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_decisions(s, "192.0.2.9", "192.0.2.9", 50, decision_cb, &k) == 0 &&
		      k.n == 2 && strcmp(k.text[0], "unban|192.0.2.9|admin|") == 0 &&
		      strcmp(k.text[1], "ban|192.0.2.9|admin|short") == 0,
	      "legacy: an unbanned address keeps its history (%s / %s)", k.text[0], k.text[1]);
	bc_addr_parse_host(&key, "198.18.9.9", 10);
	CHECK(bc_store_offences(s, &key, 0) == 2, "legacy: 2 offences of 198.18.9.9 (escalation)");
	CHECK(bc_store_offences(s, &key, 1796606815209) == 1,
	      "legacy: offences keep their times (1 after the first)");
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_evidence(s, 6, event_cb, &k) == 0 && k.n == 5 &&
		      strncmp(k.text[0], "mx1|1|198.18.9.9|postfix/smtpd|", 31) == 0 &&
		      strstr(k.text[0], "SASL LOGIN authentication failed") != NULL,
	      "legacy: 5 evidence lines of decision 6 (%zu: %s)", k.n, k.text[0]);
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_reports_each(s, 0, report_cb, &k) == 0 && k.n == 12,
	      "legacy: 12 signed reports of mx1 (%zu)", k.n);
	CHECK(bc_store_counter_get(s, "admin", 0, &v) == 0 && v == 1796607296482038u,
	      "legacy: the admin's replay counter (%llu)", (unsigned long long)v);
	CHECK(bc_store_counter_get(s, "mx1", 4, &v) == 0 && v == 12,
	      "legacy: mx1's event total (%llu)", (unsigned long long)v);
	CHECK(bc_store_next_epoch(s) > 1796606813u, "legacy: the epoch goes on from the stored one");
	bc_store_close(&s);

	CHECK(num(at("c.db"), "PRAGMA user_version") == BC_STORE_SCHEMA,
	      "legacy: user_version is now %d", BC_STORE_SCHEMA);
	CHECK(num(at("c.db"), "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
			       " AND name IN ('decisions_time', 'offences_time')") == 2,
	      "legacy: migration 2's indexes exist");
	CHECK(num(at("c.db"), "SELECT count(*) FROM allows") == 0,
	      "legacy: migration 3's allows table exists, empty");
	CHECK(num(at("c.db.v1.bak"), "PRAGMA user_version") == 0 &&
		      num(at("c.db.v1.bak"), "SELECT count(*) FROM decisions") == 8 &&
		      num(at("c.db.v1.bak"), "SELECT count(*) FROM offences") == 2 &&
		      num(at("c.db.v1.bak"), "SELECT count(*) FROM sqlite_master WHERE"
					     " name = 'decisions_time'") == 0,
	      "legacy: the backup is the database before the migration (version 0, 8 decisions, 2 offences)");
	CHECK(stat(at("c.db.v1.bak"), &st) == 0 && (st.st_mode & 0777) == 0640,
	      "legacy: the backup has the database's mode 0640 (%o)", st.st_mode & 0777);
	CHECK(!exists(at("c.db.v1.bak.tmp")), "legacy: no temporary file left");

	/* opened again: current, nothing to do */
	remove(at("c.db.v1.bak"));
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL && bc_store_schema(s)->found == BC_STORE_SCHEMA &&
		      bc_store_schema(s)->backup[0] == '\0' && !exists(at("c.db.v1.bak")) &&
		      !exists(at("c.db.v2.bak")),
	      "legacy: opened again, version %d found, no migration, no backup", BC_STORE_SCHEMA);
	bc_store_close(&s);
	CHECK(bc_store_check(at("c.db"), err, sizeof(err)) == 0 &&
		      bc_store_check(at("before.db"), err, sizeof(err)) == 0,
	      "check: the current and the unversioned database are fine");
}

/* ---- a new database ------------------------------------------------------ */

static void test_new(void)
{
	char err[512];
	struct bc_store *s;
	struct bc_store_ban b;
	struct seen k;
	int pass;

	for (pass = 0; pass < 3; pass++) {
		const char *what = pass == 0 ? "no file" : pass == 1 ? "an empty file"
								   : "no table, version 2";

		clean();
		if (pass == 1)
			fclose(fopen(at("c.db"), "w"));
		if (pass == 2)
			tu_sql(at("c.db"), "PRAGMA user_version = 2");
		CHECK(bc_store_check(at("c.db"), err, sizeof(err)) == 0, "new (%s): check is fine", what);
		s = bc_store_open(at("c.db"), err, sizeof(err));
		CHECK(s != NULL && bc_store_schema(s)->found == 0 &&
			      bc_store_schema(s)->version == BC_STORE_SCHEMA &&
			      bc_store_schema(s)->backup[0] == '\0',
		      "new (%s): created at version %d, nothing to back up (%s)", what,
		      BC_STORE_SCHEMA, s ? "" : err);
		if (s == NULL)
			continue;
		memset(&b, 0, sizeof(b));
		bc_addr_parse_host(&b.ban.addr, "192.0.2.1", 9);
		snprintf(b.reason, sizeof(b.reason), "r");
		snprintf(b.origin, sizeof(b.origin), "manual:admin");
		CHECK(bc_store_ban(s, &b, "ban", "admin", 1000) == 0, "new (%s): a ban stored", what);
		bc_store_close(&s);
		CHECK(num(at("c.db"), "PRAGMA user_version") == BC_STORE_SCHEMA &&
			      num(at("c.db"), "PRAGMA journal_mode") != -999 &&
			      num(at("c.db"), "SELECT count(*) FROM sqlite_master WHERE"
					      " name IN ('decisions_time', 'offences_time', 'bans')") == 3,
		      "new (%s): user_version %d, the tables and every migration's indexes",
		      what, BC_STORE_SCHEMA);
		CHECK(!exists(at("c.db.v0.bak")) && !exists(at("c.db.v1.bak")),
		      "new (%s): no backup file", what);
		s = bc_store_open(at("c.db"), err, sizeof(err));
		memset(&k, 0, sizeof(k));
		CHECK(s != NULL && bc_store_schema(s)->found == BC_STORE_SCHEMA &&
			      bc_store_each(s, ban_cb, &k) == 0 && k.n == 1,
		      "new (%s): reopened at version %d with its ban", what, BC_STORE_SCHEMA);
		bc_store_close(&s);
	}
}

/* ---- refusals: the database stays as it was ----------------------------- */

static void test_newer(void)
{
	char err[512], want[768];
	struct bc_store *s;
	char sql[160];

	clean();
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; CREATE TABLE bans(x);"
		 " CREATE TABLE later(y); PRAGMA user_version = %d;", BC_STORE_SCHEMA + 1);
	CHECK(tu_sql(at("c.db"), sql) == 0 && copy(at("c.db"), at("before.db")) == 0,
	      "newer: a database of schema version %d", BC_STORE_SCHEMA + 1);
	snprintf(want, sizeof(want),
		 "%s: schema version %d is newer than this coordinator (%d): upgrade the "
		 "coordinator, or restore the backup taken before the upgrade",
		 at("c.db"), BC_STORE_SCHEMA + 1, BC_STORE_SCHEMA);
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s == NULL && strcmp(err, want) == 0, "newer: refused by open: %s", err);
	bc_store_close(&s);
	err[0] = '\0';
	CHECK(bc_store_check(at("c.db"), err, sizeof(err)) == -1 && strcmp(err, want) == 0,
	      "newer: refused by check, the same line: %s", err);
	CHECK(same(at("c.db"), at("before.db")) && !exists(at("c.db.v3.bak")) &&
		      !exists(at("c.db.v4.bak")) &&
		      num(at("c.db"), "PRAGMA user_version") == BC_STORE_SCHEMA + 1,
	      "newer: the database untouched");

	CHECK(tu_sql(at("c.db"), "PRAGMA user_version = -1") == 0, "negative: user_version -1");
	snprintf(want, sizeof(want), "%s: schema version -1: not one a coordinator writes",
		 at("c.db"));
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s == NULL && strcmp(err, want) == 0, "negative: refused by open: %s", err);
	bc_store_close(&s);
	CHECK(bc_store_check(at("c.db"), err, sizeof(err)) == -1 && strcmp(err, want) == 0,
	      "negative: refused by check: %s", err);
}

static void test_backup_fails(void)
{
	char err[512], want[768];
	struct bc_store *s;
	FILE *f;

	clean();
	/* a non-empty directory where the backup goes: the rename fails
	 * (permissions would not stop root) */
	CHECK(copy(LEGACY, at("c.db")) == 0 && mkdir(at("c.db.v1.bak"), 0700) == 0 &&
		      (f = fopen(at("c.db.v1.bak/x"), "w")) != NULL && fclose(f) == 0,
	      "backup fails: c.db.v1.bak is a directory with a file in it");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	snprintf(want, sizeof(want), "%s: backup before migrating: %s: ", at("c.db"),
		 at("c.db.v1.bak"));
	CHECK(s == NULL && strncmp(err, want, strlen(want)) == 0,
	      "backup fails: open refuses, naming the backup: %s", err);
	bc_store_close(&s);
	CHECK(!exists(at("c.db.v1.bak.tmp")) && !exists(at("c.db.v1.bak.tmp-journal")) &&
		      !exists(at("c.db.v1.bak.tmp-wal")) && !exists(at("c.db-wal")),
	      "backup fails: no temporary copy, no -wal left");
	CHECK(same(at("c.db"), LEGACY) && num(at("c.db"), "PRAGMA user_version") == 0,
	      "backup fails: the database byte for byte as it was, user_version 0");

	/* the way clear again: the migration goes ahead, over what an
	 * interrupted copy left (junk in .tmp and its journal) */
	remove(at("c.db.v1.bak/x"));
	rmdir(at("c.db.v1.bak"));
	CHECK(copy(LEGACY, at("c.db.v1.bak.tmp-journal")) == 0 &&
		      copy(LEGACY, at("c.db.v1.bak.tmp")) == 0 &&
		      tu_sql(at("c.db.v1.bak.tmp"), "DELETE FROM decisions") == 0,
	      "backup fails: a .tmp and a -journal of an interrupted copy");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL && bc_store_schema(s)->found == 1 && exists(at("c.db.v1.bak")),
	      "backup fails: once it can be written, the migration runs (%s)", s ? "" : err);
	bc_store_close(&s);
	CHECK(!exists(at("c.db.v1.bak.tmp")) && !exists(at("c.db.v1.bak.tmp-journal")) &&
		      num(at("c.db.v1.bak"), "SELECT count(*) FROM decisions") == 8,
	      "backup fails: the leftovers gone, the backup whole (8 decisions)");
}

static void test_migration_fails(void)
{
	char err[512], want[768];
	struct bc_store *s;

	clean();
	/* a table by the name migration 2 gives its index: CREATE INDEX fails
	 * after the tables of version 1 were (re)made in the transaction */
	CHECK(copy(LEGACY, at("c.db")) == 0 &&
		      tu_sql(at("c.db"), "CREATE TABLE decisions_time(x)") == 0 &&
		      copy(at("c.db"), at("before.db")) == 0,
	      "migration fails: the 0.3.0 database with a table named decisions_time");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	snprintf(want, sizeof(want), "%s: migration to schema version 2 (index decisions "
		 "and offences by time): ", at("c.db"));
	CHECK(s == NULL && strncmp(err, want, strlen(want)) == 0 &&
		      strstr(err, "decisions_time") != NULL,
	      "migration fails: open refuses with the migration and the reason: %s", err);
	bc_store_close(&s);
	CHECK(same(at("c.db"), at("before.db")) && num(at("c.db"), "PRAGMA user_version") == 0 &&
		      num(at("c.db"), "SELECT count(*) FROM sqlite_master WHERE"
				      " name = 'offences_time'") == 0,
	      "migration fails: the database byte for byte as it was, nothing half done");
	CHECK(num(at("c.db.v1.bak"), "SELECT count(*) FROM decisions") == 8,
	      "migration fails: the backup was taken first");
}

static void test_foreign(void)
{
	char err[512], want[768];
	struct bc_store *s;
	FILE *f;

	clean();
	CHECK(tu_sql(at("c.db"), "CREATE TABLE notes(x)") == 0 &&
		      copy(at("c.db"), at("before.db")) == 0,
	      "foreign: a database with a table of someone else's");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	snprintf(want, sizeof(want), "%s: not a coordinator database (it has tables, none "
		 "of them \"bans\")", at("c.db"));
	CHECK(s == NULL && strcmp(err, want) == 0, "foreign: refused: %s", err);
	bc_store_close(&s);
	CHECK(same(at("c.db"), at("before.db")) && !exists(at("c.db.v1.bak")),
	      "foreign: untouched, no backup");

	clean();
	f = fopen(at("c.db"), "w");
	fputs("not a database, but longer than the header of one: ................"
	      "..................................................\n", f);
	fclose(f);
	snprintf(want, sizeof(want), "%s: not an SQLite database", at("c.db"));
	CHECK(bc_store_check(at("c.db"), err, sizeof(err)) == -1 && strcmp(err, want) == 0,
	      "check: a text file is refused: %s", err);
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s == NULL, "open: a text file is refused: %s", err);
	bc_store_close(&s);
}

/* ---- schema version 3: the allow list ---------------------------------- */

static void test_allow(void)
{
	char err[512], as[BC_ADDR_STRLEN];
	struct bc_store *s;
	struct bc_allow e;
	struct bc_allowlist l = {0};
	struct seen k;

	clean();
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL, "allow: a new database (%s)", s ? "" : err);
	if (s == NULL)
		return;
	memset(&e, 0, sizeof(e));
	bc_addr_parse(&e.addr, "192.0.2.0/24", 12, err, sizeof(err));
	e.created_ms = 1000;
	e.expires_ms = 0;
	snprintf(e.comment, sizeof(e.comment), "office 'M\xc3\xbcller'; DROP TABLE allows");
	snprintf(e.by, sizeof(e.by), "admin");
	CHECK(bc_store_allow_put(s, &e, 1000) == 0, "allow: 192.0.2.0/24 stored");
	memset(&e, 0, sizeof(e));
	bc_addr_parse(&e.addr, "2001:db8:77::/48", 16, err, sizeof(err));
	e.created_ms = 2000;
	e.expires_ms = 3600000;
	snprintf(e.by, sizeof(e.by), "ops");
	CHECK(bc_store_allow_put(s, &e, 2000) == 0, "allow: 2001:db8:77::/48 stored");
	e.expires_ms = 7200000; /* added again: replaced, not doubled */
	CHECK(bc_store_allow_put(s, &e, 2500) == 0, "allow: 2001:db8:77::/48 replaced");
	bc_store_close(&s);

	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL && bc_store_allow_load(s, &l) == 0 && l.n == 2,
	      "allow: reopened, 2 entries loaded (%zu)", l.n);
	if (s == NULL || l.n != 2) {
		bc_store_close(&s);
		bc_allowlist_free(&l);
		return;
	}
	CHECK(strcmp(bc_addr_format(&l.v[0].addr, as, sizeof(as)), "192.0.2.0/24") == 0 &&
		      l.v[0].created_ms == 1000 && l.v[0].expires_ms == 0 &&
		      strcmp(l.v[0].comment, "office 'M\xc3\xbcller'; DROP TABLE allows") == 0 &&
		      strcmp(l.v[0].by, "admin") == 0,
	      "allow: the IPv4 entry byte for byte (%s, %s, %s)", as, l.v[0].comment, l.v[0].by);
	CHECK(strcmp(bc_addr_format(&l.v[1].addr, as, sizeof(as)), "2001:db8:77::/48") == 0 &&
		      l.v[1].expires_ms == 7200000 && strcmp(l.v[1].by, "ops") == 0,
	      "allow: the IPv6 entry with its new expiry (%s %lld)", as,
	      (long long)l.v[1].expires_ms);
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_decisions(s, "192.0.2.0/24", "192.0.2.0/24", 10, decision_cb, &k) == 0 &&
		      k.n == 1 &&
		      strcmp(k.text[0], "allow|192.0.2.0/24|admin|office 'M\xc3\xbcller'; DROP TABLE allows") == 0,
	      "allow: the decision with signer and comment (%s)", k.text[0]);
	CHECK(bc_store_allow_del(s, &l.v[0].addr, "allow-remove", "ops", 3000) == 0 &&
		      bc_store_allow_del(s, &l.v[1].addr, "allow-expire", "", 4000) == 0,
	      "allow: both removed");
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_decisions(s, "192.0.2.0/24", "192.0.2.0/24", 10, decision_cb, &k) == 0 &&
		      k.n == 2 && strcmp(k.text[0], "allow-remove|192.0.2.0/24|ops|") == 0,
	      "allow: the removal logged with its signer (%s)", k.text[0]);
	memset(&k, 0, sizeof(k));
	CHECK(bc_store_decisions(s, "2001:db8:77::/48", "", 10, decision_cb, &k) == 0 &&
		      k.n == 3 && strcmp(k.text[0], "allow-expire|2001:db8:77::/48||") == 0,
	      "allow: the expiry logged without signer, after two adds (%zu: %s)", k.n, k.text[0]);
	bc_store_close(&s);
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL && bc_store_allow_load(s, &l) == 0 && l.n == 0,
	      "allow: reopened, none left (%zu)", l.n);
	bc_store_close(&s);
	bc_allowlist_free(&l);
}

/* A database of schema version 2 (the 0.3.0 file with migration 2
 * applied by hand, as the release before this one left it): backed up
 * to .v2.bak, migrated to 3 with its bans, the allow list empty. And
 * migration 3 failing (a table "allows" already there) leaves it as it
 * was. */
static void test_from_v2(void)
{
	char err[512], want[768];
	struct bc_store *s;
	struct bc_allowlist l = {0};
	struct seen k;
	const char *v2 = "CREATE INDEX decisions_time ON decisions(time_ms);"
			 "CREATE INDEX offences_time ON offences(time_ms);"
			 "PRAGMA user_version = 2;";

	clean();
	CHECK(copy(LEGACY, at("c.db")) == 0 && tu_sql(at("c.db"), v2) == 0 &&
		      num(at("c.db"), "PRAGMA user_version") == 2,
	      "v2: the 0.3.0 database at schema version 2");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	CHECK(s != NULL && bc_store_schema(s)->found == 2 &&
		      strcmp(bc_store_schema(s)->backup, at("c.db.v2.bak")) == 0,
	      "v2: found 2, backup c.db.v2.bak (%s)", s ? bc_store_schema(s)->backup : err);
	memset(&k, 0, sizeof(k));
	CHECK(s != NULL && bc_store_each(s, ban_cb, &k) == 0 && k.n == 4 &&
		      bc_store_allow_load(s, &l) == 0 && l.n == 0,
	      "v2: 4 bans kept, no allow entry (%zu)", k.n);
	bc_store_close(&s);
	CHECK(num(at("c.db"), "PRAGMA user_version") == 3 &&
		      num(at("c.db.v2.bak"), "PRAGMA user_version") == 2 &&
		      num(at("c.db.v2.bak"), "SELECT count(*) FROM sqlite_master WHERE name = 'allows'") == 0,
	      "v2: now version 3; the backup at version 2, without allows");

	clean();
	CHECK(copy(LEGACY, at("c.db")) == 0 && tu_sql(at("c.db"), v2) == 0 &&
		      tu_sql(at("c.db"), "CREATE TABLE allows(x)") == 0 &&
		      copy(at("c.db"), at("before.db")) == 0,
	      "v2: a version 2 database with a table named allows");
	s = bc_store_open(at("c.db"), err, sizeof(err));
	snprintf(want, sizeof(want), "%s: migration to schema version 3 (the allow list "
		 "of bancluster allow): ", at("c.db"));
	CHECK(s == NULL && strncmp(err, want, strlen(want)) == 0 && strstr(err, "allows") != NULL,
	      "v2: migration 3 fails, named: %s", err);
	bc_store_close(&s);
	CHECK(same(at("c.db"), at("before.db")) && num(at("c.db"), "PRAGMA user_version") == 2,
	      "v2: the failed migration left the database byte for byte as it was");
	bc_allowlist_free(&l);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bc-store.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_legacy();
	test_new();
	test_newer();
	test_backup_fails();
	test_migration_fails();
	test_foreign();
	test_allow();
	test_from_v2();
	clean();
	rmdir(dir);
	return tap_done();
}
