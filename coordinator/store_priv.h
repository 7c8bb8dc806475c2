/*
 * store_priv.h - what store.c lends the store's other files
 * (store_allow.c): the connection and its statement helpers. Not for
 * any other module: they use store.h.
 */
#ifndef BC_STORE_PRIV_H
#define BC_STORE_PRIV_H

#include <stdint.h>

#include "coordinator/store.h"

struct sqlite3;

/* The store's connection. */
struct sqlite3 *bc_store_priv_db(struct bc_store *s);

/* One operation's transaction (BEGIN IMMEDIATE .. COMMIT, or a savepoint
 * inside a batch, store.h): 0 or -1 / 0 or -1 / nothing. */
int bc_store_priv_begin(struct bc_store *s);
int bc_store_priv_commit(struct bc_store *s);
void bc_store_priv_rollback(struct bc_store *s);

/* Record a failure of `what` (sqlite3_errmsg): returns -1. */
int bc_store_priv_fail(struct bc_store *s, const char *what);

/* One row of decisions, inside the caller's transaction. */
int bc_store_priv_decision(struct bc_store *s, int64_t now_ms,
			   const char *action, const char *addr,
			   int64_t expires_ms, const char *reason,
			   const char *origin, const char *signer);

#endif
