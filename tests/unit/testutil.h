/*
 * testutil.h - helpers the unit tests share (header-only, static): an
 * address and a ban record from text, and with BC_TESTUTIL_SQL defined before inclusion,
 * one SQL statement run on a database file through a connection of its
 * own (a second writer, as another process would be).
 */
#ifndef BC_TESTUTIL_H
#define BC_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banmap.h"

/* The address or prefix `text`; a test's own typo ends it (exit 2). */
static inline struct bc_addr tu_addr(const char *text)
{
	struct bc_addr a;
	char err[128];

	if (bc_addr_parse(&a, text, strlen(text), err, sizeof(err)) < 0) {
		fprintf(stderr, "bad test address %s: %s\n", text, err);
		exit(2);
	}
	return a;
}

/* A ban of the address or prefix `text` (reported on stderr when it does
 * not parse: the check using it then fails). */
static inline struct bc_ban tu_ban(const char *text, int64_t expires,
				   int64_t created)
{
	struct bc_ban b;
	char err[256];

	memset(&b, 0, sizeof(b));
	if (bc_addr_parse(&b.addr, text, strlen(text), err, sizeof(err)) < 0)
		fprintf(stderr, "# bad test address %s: %s\n", text, err);
	b.expires_ms = expires;
	b.created_ms = created;
	return b;
}

#ifdef BC_TESTUTIL_SQL
#include <sqlite3.h>

/* Run stmt on db through a connection of its own. 0 or -1. */
static inline int tu_sql(const char *db, const char *stmt)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(h, stmt, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}
#endif

#endif
