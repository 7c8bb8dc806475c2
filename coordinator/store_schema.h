/*
 * store_schema.h - the schema version of the coordinator's database and
 * its forward migration, for store.c (bc_store_open) and for start-up
 * (--check-config). docs/upgrade.md lists the versions.
 *
 * The version is SQLite's PRAGMA user_version. Version 1 is the schema
 * of 0.3.0 and before, which wrote no version (user_version 0). Functions
 * return 0 or -1 with one line naming the database in err.
 */
#ifndef BC_STORE_SCHEMA_H
#define BC_STORE_SCHEMA_H

#include <stddef.h>

/* The schema version this build writes and reads. */
#define BC_STORE_SCHEMA 3

#define BC_STORE_PATH_MAX 512 /* the database's path and a suffix */

/* What an upgrade found and did (for the start-up log). */
struct bc_store_schema {
	int found;   /* version found: 0 = a new, empty database */
	int version; /* version now: BC_STORE_SCHEMA */
	char backup[BC_STORE_PATH_MAX]; /* copy taken before migrating, or "" */
};

struct sqlite3;

/*
 * Bring the database open on db (path names it) to BC_STORE_SCHEMA,
 * before anything else writes to it. One without tables gets the whole
 * schema; an older one is first copied with SQLite's online backup to
 * PATH.v<found>.bak (written to .tmp with the database's file mode, then
 * renamed over any .bak of that name; no copy, no migration), then
 * migrated in one transaction: on any failure the database is left as it
 * was. A newer version, a negative one, or tables without "bans" (not a
 * coordinator's) are refused. *sv says what was found and done.
 */
int bc_store_schema_upgrade(struct sqlite3 *db, const char *path,
			    struct bc_store_schema *sv, char *err, size_t errlen);

/*
 * For --check-config: without opening the database through SQLite (so
 * creating no -wal or -shm file), read the schema version in its header
 * and refuse a newer one with the line bc_store_open gives, or a file
 * that is not an SQLite database. A missing or empty file is fine.
 */
int bc_store_check(const char *path, char *err, size_t errlen);

#endif
