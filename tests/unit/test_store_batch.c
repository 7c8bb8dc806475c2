/*
 * test_store_batch.c - the store's group commit (coordinator/store.h,
 * bc_store_batch_begin/end), as the coordinator's intake uses it: the
 * reports of one drain of the ROUTER socket share one commit and are
 * acked after it. Checked through a second SQLite connection, as another
 * process would see the database: nothing of a batch before its commit,
 * everything after; an operation that fails inside a batch leaves
 * nothing behind while the others commit; outside a batch every report
 * commits on its own as before; the statements kept between reports
 * serve a thousand of them.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/store.h"
#include "tests/unit/tap.h"

static char dir[64];
static char db[128];

/* SELECT count(*) through a connection of its own; -1 on error */
static long count(const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return n;
}

static int exec_other(const char *sql)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static int report(struct bc_store *s, const char *sender, uint64_t id)
{
	static const uint8_t frame[] = "signed frame";
	int64_t row;

	return bc_store_report_add(s, sender, 0, id, 1, 1000 + (int64_t)id,
				   frame, sizeof(frame), &row);
}

int main(void)
{
	struct bc_store *s;
	char err[256];
	uint64_t v;
	int i, fails = 0;

	snprintf(dir, sizeof(dir), "/tmp/bc-batch.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/c.db", dir);
	s = bc_store_open(db, err, sizeof(err));
	CHECK(s != NULL, "store opened (%s)", s != NULL ? "ok" : err);
	if (s == NULL)
		return tap_done();

	/* outside a batch: each report is durable on return */
	CHECK(!bc_store_in_batch(s) && report(s, "mx1", 1) == 0 &&
		      count("SELECT count(*) FROM reports") == 1,
	      "no batch: a report is visible to another connection at once");

	/* a batch: nothing visible before the commit, all of it after */
	CHECK(bc_store_batch_begin(s) == 0 && bc_store_in_batch(s),
	      "batch begun");
	CHECK(bc_store_batch_begin(s) == 0, "a second begin inside is a no-op");
	CHECK(report(s, "mx1", 2) == 0 && report(s, "mx2", 1) == 0 &&
		      report(s, "mx3", 1) == 0,
	      "three reports stored inside the batch");
	CHECK(count("SELECT count(*) FROM reports") == 1,
	      "before the commit another connection still sees 1 report (%ld)",
	      count("SELECT count(*) FROM reports"));
	CHECK(bc_store_batch_end(s) == 0 && !bc_store_in_batch(s),
	      "batch committed");
	CHECK(count("SELECT count(*) FROM reports") == 4,
	      "after the commit it sees all 4 (%ld)",
	      count("SELECT count(*) FROM reports"));
	CHECK(bc_store_counter_get(s, "mx1", 0, &v) == 0 && v == 2,
	      "mx1's report counter is 2 (%llu)", (unsigned long long)v);
	CHECK(bc_store_batch_end(s) == 0, "an end without a batch is a no-op");

	/* one failing report inside a batch: only it is gone */
	CHECK(exec_other("CREATE TRIGGER no_bad BEFORE INSERT ON reports "
			 "WHEN NEW.sender = 'bad' "
			 "BEGIN SELECT RAISE(ABORT, 'refused'); END") == 0,
	      "a trigger refuses reports of sender 'bad'");
	bc_store_batch_begin(s);
	CHECK(report(s, "mx1", 3) == 0, "batch 2: mx1 report 3 stored");
	CHECK(report(s, "bad", 7) < 0 &&
		      strstr(bc_store_error(s), "refused") != NULL,
	      "batch 2: the refused report fails (%s)", bc_store_error(s));
	CHECK(report(s, "mx2", 2) == 0, "batch 2: mx2 report 2 stored after it");
	CHECK(bc_store_batch_end(s) == 0, "batch 2 committed");
	CHECK(count("SELECT count(*) FROM reports") == 6 &&
		      count("SELECT count(*) FROM reports WHERE sender = 'bad'") ==
			      0,
	      "the two good reports are in, nothing of the refused one (%ld)",
	      count("SELECT count(*) FROM reports"));
	CHECK(bc_store_counter_get(s, "bad", 0, &v) == 0 && v == 0,
	      "the refused report's counter update was rolled back too (%llu)",
	      (unsigned long long)v);
	CHECK(bc_store_counter_get(s, "mx1", 0, &v) == 0 && v == 3,
	      "mx1's counter moved to 3 (%llu)", (unsigned long long)v);

	/* a refused report outside a batch rolls its own transaction back:
	 * another connection can write at once */
	CHECK(report(s, "bad", 8) < 0 && !bc_store_in_batch(s),
	      "no batch: the refused report fails on its own");
	CHECK(exec_other("DROP TRIGGER no_bad") == 0,
	      "... and leaves no transaction open (another connection drops "
	      "the trigger)");

	/* the kept statements, a thousand times, in batches of 100 */
	for (i = 0; i < 1000; i++) {
		if (i % 100 == 0)
			bc_store_batch_begin(s);
		if (report(s, "mx4", (uint64_t)i + 1) < 0)
			fails++;
		if (i % 100 == 99 && bc_store_batch_end(s) < 0)
			fails++;
	}
	CHECK(fails == 0 &&
		      count("SELECT count(*) FROM reports WHERE sender = 'mx4'") ==
			      1000,
	      "1000 reports in 10 batches, all stored (%d failures)", fails);
	CHECK(bc_store_counter_get(s, "mx4", 1, &v) == 0 && v == 1000,
	      "mx4's event total is 1000 (%llu)", (unsigned long long)v);

	bc_store_close(&s);
	unlink(db);
	{
		char p[160];

		snprintf(p, sizeof(p), "%s-wal", db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", db);
		unlink(p);
	}
	rmdir(dir);
	return tap_done();
}
