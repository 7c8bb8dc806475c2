/*
 * store_schema.c - the version of the coordinator's database schema and
 * its forward migration (see store_schema.h, docs/upgrade.md).
 *
 * The version is SQLite's PRAGMA user_version. Nothing in the database
 * is attacker text here: the version, table names and the schema are
 * read and written with fixed SQL. The database is written only inside
 * the migration's transaction, and only after its backup (SQLite's
 * online backup API, into PATH.vN.bak.tmp, renamed) succeeded. Errors:
 * -1 with one line naming the database in err; the database as it was.
 */
#include "store_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Schema version 1: the tables of 0.3.0 and before, which kept no
 * version (user_version 0). Run on a new database and, to add a table
 * an older build lacked, on an unversioned one; never on a versioned
 * one, whose tables only the migrations below change.
 */
static const char *schema_v1 =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS bans("
	" addr TEXT PRIMARY KEY, family INTEGER NOT NULL, bin BLOB NOT NULL,"
	" plen INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL, reason TEXT NOT NULL,"
	" origin TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS decisions("
	" id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
	" action TEXT NOT NULL, addr TEXT NOT NULL, expires_ms INTEGER,"
	" reason TEXT, origin TEXT, signer TEXT);"
	"CREATE INDEX IF NOT EXISTS decisions_addr ON decisions(addr, time_ms);"
	"CREATE TABLE IF NOT EXISTS reports("
	" id INTEGER PRIMARY KEY, sender TEXT NOT NULL,"
	" recv_ms INTEGER NOT NULL, frame BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS reports_recv ON reports(recv_ms);"
	"CREATE TABLE IF NOT EXISTS offences("
	" key TEXT NOT NULL, time_ms INTEGER NOT NULL, decision INTEGER);"
	"CREATE INDEX IF NOT EXISTS offences_key ON offences(key, time_ms);"
	"CREATE TABLE IF NOT EXISTS evidence("
	" decision INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
	" host TEXT NOT NULL, kind INTEGER NOT NULL, addr TEXT NOT NULL,"
	" service TEXT NOT NULL, line TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS evidence_decision ON evidence(decision);"
	"CREATE TABLE IF NOT EXISTS counters("
	" sender TEXT NOT NULL, chan INTEGER NOT NULL, v INTEGER NOT NULL,"
	" PRIMARY KEY(sender, chan));";

/*
 * The forward migrations: entry i takes version i + 1 to i + 2. A new
 * schema change is one more entry (and BC_STORE_SCHEMA one more), never
 * an edit of an entry a release shipped.
 */
static const struct {
	const char *what;
	const char *sql;
} migrations[] = {
	/* 1 -> 2: the retention sweep (every minute) deleted by time with
	 * a scan of every decision and offence: 0.5 s on a million rows,
	 * the loop stopped meanwhile; 3-12 ms with these indexes */
	{"index decisions and offences by time",
	 "CREATE INDEX decisions_time ON decisions(time_ms);"
	 "CREATE INDEX offences_time ON offences(time_ms);"},
	/* 2 -> 3: the allow list of `bancluster allow add`, one row per
	 * prefix (its additions and removals are in decisions) */
	{"the allow list of bancluster allow",
	 "CREATE TABLE allows("
	 " addr TEXT PRIMARY KEY, family INTEGER NOT NULL, bin BLOB NOT NULL,"
	 " plen INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	 " expires_ms INTEGER NOT NULL, comment TEXT NOT NULL,"
	 " signer TEXT NOT NULL);"},
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == BC_STORE_SCHEMA - 1,
	       "one migration per schema version after 1");

static void newer(char *err, size_t errlen, const char *path, long v)
{
	if (v < 0)
		snprintf(err, errlen, "%s: schema version %ld: not one a "
			 "coordinator writes", path, v);
	else
		snprintf(err, errlen,
			 "%s: schema version %ld is newer than this coordinator (%d): "
			 "upgrade the coordinator, or restore the backup taken before "
			 "the upgrade",
			 path, v, BC_STORE_SCHEMA);
}

/* One integer from a one-row query (PRAGMA user_version, a count). */
static int query_int(sqlite3 *db, const char *sql, long *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* fsync the directory holding path, so that a rename in it is durable */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[BC_STORE_PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 :
		 slash == path ? 1 : (int)(slash - path),
		 slash == NULL ? "." : path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Copy the open database (through db: what it holds in its WAL too)
 * into bak with the online backup API: into BAK.tmp, with
 * the database's permissions, then renamed over any BAK there was, so
 * that BAK is a whole copy or absent. 0, or -1 + err with nothing left
 * behind.
 */
static int backup(sqlite3 *db, const char *path, const char *bak, char *err,
		  size_t errlen)
{
	static const char *const stale[] = {"-journal", "-wal", "-shm", ""};
	char tmp[BC_STORE_PATH_MAX + 16];
	sqlite3 *d = NULL;
	size_t i;
	sqlite3_backup *b;
	struct stat st;
	int rc;

	/* what an interrupted attempt left: a journal left beside a new
	 * .tmp would be rolled back into it */
	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		snprintf(tmp, sizeof(tmp), "%s.tmp%s", bak, stale[i]);
		if (unlink(tmp) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: backup before migrating: %s: %s",
				 path, tmp, strerror(errno));
			return -1;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", bak);
	rc = sqlite3_open_v2(tmp, &d, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		b = sqlite3_backup_init(d, "main", db, "main");
		if (b == NULL) {
			rc = sqlite3_errcode(d);
		} else {
			int frc;

			rc = sqlite3_backup_step(b, -1); /* every page at once */
			frc = sqlite3_backup_finish(b);
			rc = rc == SQLITE_DONE ? frc : rc == SQLITE_OK ? SQLITE_ERROR : rc;
		}
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: backup before migrating: %s: %s",
			 path, tmp, sqlite3_errstr(rc));
		sqlite3_close(d);
		unlink(tmp);
		return -1;
	}
	sqlite3_close(d);
	if ((stat(path, &st) == 0 && chmod(tmp, st.st_mode & 07777) < 0) ||
	    rename(tmp, bak) < 0) {
		snprintf(err, errlen, "%s: backup before migrating: %s: %s",
			 path, bak, strerror(errno));
		unlink(tmp);
		return -1;
	}
	sync_dir(bak);
	return 0;
}

/*
 * In one transaction: user_version is still `found` (no other process
 * migrated it meanwhile), the tables of version 1 when from is 0 (a new
 * or unversioned database), every migration after version `from`, the
 * new user_version. 0, or -1 + err with the database as it was.
 */
static int migrate(sqlite3 *db, const char *path, long found, int from,
		   char *err, size_t errlen)
{
	char stamp[48];
	long v = -1;
	int i;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: migrating: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (query_int(db, "PRAGMA user_version", &v) < 0 || v != found) {
		snprintf(err, errlen, "%s: schema version changed while migrating", path);
		goto rollback;
	}
	if (from == 0) {
		if (sqlite3_exec(db, schema_v1, NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: schema version 1: %s", path,
				 sqlite3_errmsg(db));
			goto rollback;
		}
		from = 1;
	}
	for (i = from; i < BC_STORE_SCHEMA; i++) {
		if (sqlite3_exec(db, migrations[i - 1].sql, NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: migration to schema version %d (%s): %s",
				 path, i + 1, migrations[i - 1].what,
				 sqlite3_errmsg(db));
			goto rollback;
		}
	}
	snprintf(stamp, sizeof(stamp), "PRAGMA user_version = %d", BC_STORE_SCHEMA);
	if (sqlite3_exec(db, stamp, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: migrating: %s", path, sqlite3_errmsg(db));
		goto rollback;
	}
	return 0;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* the version found decides: nothing to do, the whole schema (no table),
 * or backup and migration (older) */
int bc_store_schema_upgrade(sqlite3 *db, const char *path,
			    struct bc_store_schema *sv, char *err, size_t errlen)
{
	long v, tables, bans;
	const char *ask = "SELECT count(*) FROM sqlite_master WHERE type = 'table'";

	if (query_int(db, "PRAGMA user_version", &v) < 0 ||
	    query_int(db, ask, &tables) < 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master"
			     " WHERE type = 'table' AND name = 'bans'", &bans) < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (v > BC_STORE_SCHEMA || v < 0) {
		newer(err, errlen, path, v);
		return -1;
	}
	if (tables > 0 && bans == 0) {
		snprintf(err, errlen, "%s: not a coordinator database (it has "
			 "tables, none of them \"bans\")", path);
		return -1;
	}
	sv->found = tables == 0 ? 0 : v == 0 ? 1 : (int)v;
	sv->version = BC_STORE_SCHEMA;
	if (v == BC_STORE_SCHEMA && tables > 0)
		return 0;
	if (tables > 0) {
		/* an existing database changes: copy it first */
		int n = snprintf(sv->backup, sizeof(sv->backup),
				 "%s.v%d.bak", path, sv->found);

		if (n < 0 || (size_t)n >= sizeof(sv->backup)) {
			snprintf(err, errlen, "%s: path too long for its backup", path);
			return -1;
		}
		if (backup(db, path, sv->backup, err, errlen) < 0)
			return -1;
	}
	/* new or unversioned: the tables of version 1 first */
	return migrate(db, path, v, tables == 0 || v == 0 ? 0 : (int)v, err, errlen);
}

int bc_store_check(const char *path, char *err, size_t errlen)
{
	/* the header (sqlite.org/fileformat.html): 16 bytes of magic, the
	 * user_version big-endian at offset 60 */
	static const char magic[16] = "SQLite format 3";
	unsigned char h[100];
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int32_t v;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (got < sizeof(h) &&
	       ((n = read(fd, h + got, sizeof(h) - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fd);
	if (got == 0)
		return 0;
	if (got < sizeof(h) || memcmp(h, magic, sizeof(magic)) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database", path);
		return -1;
	}
	v = (int32_t)((uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 |
		      (uint32_t)h[62] << 8 | h[63]);
	if (v > BC_STORE_SCHEMA || v < 0) {
		newer(err, errlen, path, v);
		return -1;
	}
	return 0;
}
