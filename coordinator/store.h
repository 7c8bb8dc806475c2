/*
 * store.h - the coordinator's durable state in SQLite (WAL): active bans,
 * the decision log (every ban, unban and expiry, with its origin and the
 * admin key that signed it), the evidence of rule bans, the reports as
 * the agents signed them, offences (escalation), the start epoch and the
 * replay counters.
 * A ban is committed here before it is published, so a kill -9 at any
 * moment loses nothing a client was told had succeeded.
 *
 * Text is stored as given (bound, never in SQL) and returned as stored:
 * escaping is the job of whoever prints it. Functions return 0 or -1
 * (bc_store_error() says why); callbacks get rows valid during the call.
 *
 * The schema carries its version in SQLite's PRAGMA user_version and
 * migrates forward at open (docs/upgrade.md): a database of 0.3.0 and
 * before has user_version 0 and is schema version 1.
 */
#ifndef BC_STORE_H
#define BC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/allowlist.h"
#include "common/banmap.h"
#include "coordinator/store_schema.h"

struct bc_store;

struct bc_store_ban {
	struct bc_ban ban;
	char reason[512];
	char origin[128];
};

/*
 * Open or create the database and bring its schema to BC_STORE_SCHEMA
 * (bc_store_schema_upgrade: an older one is backed up, then migrated in
 * one transaction; a newer one is refused). NULL + err (one line, naming
 * path) on failure. bc_store_schema() says what was found and done.
 */
struct bc_store *bc_store_open(const char *path, char *err, size_t errlen);
const struct bc_store_schema *bc_store_schema(const struct bc_store *s);
void bc_store_close(struct bc_store **s);

/*
 * Whether the store can take a write now (GET /healthz): nothing failed
 * since the last commit, and a write lock is to be had without waiting
 * (taken and given back). false with "store: REASON" in why otherwise.
 */
bool bc_store_healthy(struct bc_store *s, char *why, size_t len);

/* Increment and return the persisted start epoch (0 on failure). */
uint64_t bc_store_next_epoch(struct bc_store *s);

/* Load every active ban into m. */
int bc_store_load(struct bc_store *s, struct bc_banmap *m);

/* Insert or replace an active ban and log the decision, in one commit.
 * action: "ban", "extend"; signer: admin key name or "" for rules. */
int bc_store_ban(struct bc_store *s, const struct bc_store_ban *b,
		 const char *action, const char *signer, int64_t now_ms);

/* Remove an active ban and log it ("unban", "expire"), in one commit. */
int bc_store_unban(struct bc_store *s, const struct bc_addr *a,
		   const char *action, const char *signer, int64_t now_ms);

/* Call cb for every active ban, ordered by address. */
typedef void (*bc_store_ban_cb)(const struct bc_store_ban *b, void *arg);
int bc_store_each(struct bc_store *s, bc_store_ban_cb cb, void *arg);

/* Replay counters: last accepted counter per (sender, channel). */
int bc_store_counter_get(struct bc_store *s, const char *sender, int chan,
			 uint64_t *out);
int bc_store_counter_set(struct bc_store *s, const char *sender, int chan,
			 uint64_t v);
/*
 * The same without waiting: when another process holds the database's
 * write lock (a backup, an admin's sqlite3), return 1 at once, with the
 * reason in bc_store_error() but the store not marked failed, instead of
 * stopping the loop for the busy timeout. 0 saved (the store counts as
 * taking writes again), -1 failed.
 */
int bc_store_counter_try(struct bc_store *s, const char *sender, int chan,
			 uint64_t v);

/* One reported event (text as the agent sent it: escaped at output). */
struct bc_store_event {
	int64_t time_ms;
	uint8_t kind;
	struct bc_addr addr;
	const char *host;        /* reporting agent */
	const char *service;
	const char *line;
};

typedef void (*bc_store_event_cb)(const struct bc_store_event *e, void *arg);

/*
 * Group commit: between bc_store_batch_begin and bc_store_batch_end every
 * writing operation runs in a savepoint of one transaction (a failed one
 * still leaves nothing behind), and nothing is durable before
 * bc_store_batch_end commits it: whoever acknowledges the operations
 * waits for that. begin: BEGIN IMMEDIATE, 0 or -1 (nothing opened);
 * end: COMMIT, 0, or -1 after a ROLLBACK of the whole batch. Neither
 * nests; outside a batch each operation commits on its own, as before.
 */
int bc_store_batch_begin(struct bc_store *s);
int bc_store_batch_end(struct bc_store *s);
bool bc_store_in_batch(const struct bc_store *s);

/*
 * Store one verified report as it arrived (the signed frame: evidence an
 * agent cannot deny), record report_id as the sender's last counted
 * report (resend dedupe, channel `chan`) and add nevents to its event
 * total (channel chan + 1), in one commit. *rowid identifies the report.
 */
int bc_store_report_add(struct bc_store *s, const char *sender, int chan,
			uint64_t report_id, size_t nevents, int64_t recv_ms,
			const uint8_t *frame, size_t len, int64_t *rowid);

/* One stored report: frame (malloc'd, caller frees), sender, time. */
int bc_store_report_get(struct bc_store *s, int64_t rowid, uint8_t **frame,
			size_t *len, char sender[64], int64_t *recv_ms);

/* Every report received after since_ms, oldest first. */
typedef void (*bc_store_report_cb)(int64_t rowid, const char *sender,
				   int64_t recv_ms, const uint8_t *frame,
				   size_t len, void *arg);
int bc_store_reports_each(struct bc_store *s, int64_t since_ms,
			  bc_store_report_cb cb, void *arg);

/* The last decision time of every address decided on after since_ms. */
typedef void (*bc_store_decided_cb)(const char *addr, int64_t time_ms,
				    void *arg);
int bc_store_decided_since(struct bc_store *s, int64_t since_ms,
			   bc_store_decided_cb cb, void *arg);

/* Offences of key since since_ms (for escalation). -1 on error. */
long bc_store_offences(struct bc_store *s, const struct bc_addr *key,
		       int64_t since_ms);

/* The times of key's offences after since_ms, oldest first, at most max
 * into t; returns how many, or -1. */
long bc_store_offence_times(struct bc_store *s, const struct bc_addr *key,
			    int64_t since_ms, int64_t *t, size_t max);
/* Add the offences of key at t[0..n) it does not hold yet (cluster mode:
 * the history etcd holds). Returns 0 or -1. */
int bc_store_offence_merge(struct bc_store *s, const struct bc_addr *key,
			   const int64_t *t, size_t n);
/* Every key with offences after since_ms: cb(key text, arg). */
int bc_store_offence_keys(struct bc_store *s, int64_t since_ms,
			  void (*cb)(const char *key, void *arg), void *arg);

/*
 * A rule's ban: insert the ban, log the decision, record the offence of
 * key and store ev[0..n) as its evidence, in one commit.
 */
int bc_store_ban_rule(struct bc_store *s, const struct bc_store_ban *b,
		      const struct bc_addr *key,
		      const struct bc_store_event *ev, size_t n,
		      int64_t now_ms);

struct bc_store_decision {
	int64_t id, time_ms, expires_ms;
	char action[16];
	char addr[64];
	char reason[512];
	char origin[128];
	char signer[64];
};

/* Decisions about addr or key (text forms), newest first, at most max. */
typedef void (*bc_store_decision_cb)(const struct bc_store_decision *d,
				     void *arg);
int bc_store_decisions(struct bc_store *s, const char *addr, const char *key,
		       unsigned max, bc_store_decision_cb cb, void *arg);

/* The evidence recorded with one decision, newest first. */
int bc_store_evidence(struct bc_store *s, int64_t decision,
		      bc_store_event_cb cb, void *arg);

/* Drop reports, decisions and evidence older than the given times. 0,
 * -1 failed, or 1 at once when another process holds the write lock (try
 * again later; nothing is marked failed). */
int bc_store_prune(struct bc_store *s, int64_t reports_before_ms,
		   int64_t decisions_before_ms);

/*
 * The allow list of `bancluster allow` (store_allow.c, schema version 3).
 * Adding (or replacing) and removing an entry log a decision in the same
 * commit: action "allow" (expiry, comment as reason, signer),
 * "allow-remove" (signer) or "allow-expire" (no signer), addr the
 * prefix's text, origin "".
 */
int bc_store_allow_put(struct bc_store *s, const struct bc_allow *e,
		       int64_t now_ms);
int bc_store_allow_del(struct bc_store *s, const struct bc_addr *a,
		       const char *action, const char *signer, int64_t now_ms);
/* Load every entry into l (replacing what it held). */
int bc_store_allow_load(struct bc_store *s, struct bc_allowlist *l);

const char *bc_store_error(struct bc_store *s);

#endif
