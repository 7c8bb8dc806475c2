/*
 * store_allow.c - the allow list of `bancluster allow` in the
 * coordinator's SQLite store (store.h; table allows, schema version 3):
 * an entry and its decision in one commit, removal likewise, and the
 * whole list at start.
 *
 * The comment and the signer are an admin's text: stored as bound
 * values, never in SQL, returned as stored (escaped by whoever prints
 * them). Errors: -1, bc_store_error() says why, nothing half written.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "coordinator/store.h"
#include "coordinator/store_priv.h"

int bc_store_allow_put(struct bc_store *s, const struct bc_allow *e,
		       int64_t now_ms)
{
	sqlite3 *db = bc_store_priv_db(s);
	sqlite3_stmt *st;
	char addr[BC_ADDR_STRLEN];
	int rc;

	bc_addr_format(&e->addr, addr, sizeof(addr));
	if (bc_store_priv_begin(s) < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO allows(addr, family, bin,"
			       " plen, created_ms, expires_ms, comment, signer)"
			       " VALUES(?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		bc_store_priv_fail(s, "insert allow");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->addr.family == AF_INET ? 4 : 6);
	sqlite3_bind_blob(st, 3, e->addr.a, (int)bc_addr_bytes(&e->addr),
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 4, e->addr.plen);
	sqlite3_bind_int64(st, 5, e->created_ms);
	sqlite3_bind_int64(st, 6, e->expires_ms);
	sqlite3_bind_text(st, 7, e->comment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, e->by, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		bc_store_priv_fail(s, "insert allow");
		goto rollback;
	}
	if (bc_store_priv_decision(s, now_ms, "allow", addr, e->expires_ms,
				   e->comment, "", e->by) < 0 ||
	    bc_store_priv_commit(s) < 0)
		goto rollback;
	return 0;
rollback:
	bc_store_priv_rollback(s);
	return -1;
}

int bc_store_allow_del(struct bc_store *s, const struct bc_addr *a,
		       const char *action, const char *signer, int64_t now_ms)
{
	sqlite3 *db = bc_store_priv_db(s);
	sqlite3_stmt *st;
	char addr[BC_ADDR_STRLEN];
	int rc;

	bc_addr_format(a, addr, sizeof(addr));
	if (bc_store_priv_begin(s) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "DELETE FROM allows WHERE addr = ?", -1, &st,
			       NULL) != SQLITE_OK) {
		bc_store_priv_fail(s, "delete allow");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		bc_store_priv_fail(s, "delete allow");
		goto rollback;
	}
	if (bc_store_priv_decision(s, now_ms, action, addr, 0, "", "", signer) < 0 ||
	    bc_store_priv_commit(s) < 0)
		goto rollback;
	return 0;
rollback:
	bc_store_priv_rollback(s);
	return -1;
}

int bc_store_allow_load(struct bc_store *s, struct bc_allowlist *l)
{
	sqlite3_stmt *st;
	int rc;

	bc_allowlist_clear(l);
	if (sqlite3_prepare_v2(bc_store_priv_db(s),
			       "SELECT family, bin, plen, created_ms, expires_ms,"
			       " comment, signer FROM allows ORDER BY family, bin, plen",
			       -1, &st, NULL) != SQLITE_OK)
		return bc_store_priv_fail(s, "select allows");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bc_allow e;
		const void *bin = sqlite3_column_blob(st, 1);
		int blen = sqlite3_column_bytes(st, 1);
		const unsigned char *c = sqlite3_column_text(st, 5);
		const unsigned char *by = sqlite3_column_text(st, 6);
		uint8_t buf[16] = {0};

		memset(&e, 0, sizeof(e));
		if (bin != NULL && blen > 0 && blen <= 16)
			memcpy(buf, bin, (size_t)blen);
		bc_addr_from_bin(&e.addr,
				 sqlite3_column_int(st, 0) == 4 ? AF_INET : AF_INET6,
				 buf, (unsigned)sqlite3_column_int(st, 2));
		e.created_ms = sqlite3_column_int64(st, 3);
		e.expires_ms = sqlite3_column_int64(st, 4);
		snprintf(e.comment, sizeof(e.comment), "%s", c ? (const char *)c : "");
		snprintf(e.by, sizeof(e.by), "%s", by ? (const char *)by : "");
		/* full only by hand-made rows: allow add stops at the
		 * maximum; what does not fit is not loaded */
		if (bc_allowlist_put(l, &e) < 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW
		       ? 0 : bc_store_priv_fail(s, "select allows");
}
