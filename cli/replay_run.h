/*
 * replay_run.h - the state of one `bancluster replay` run, shared by the
 * files of the command and internal to them:
 *   replay.c         command line, reading the file, feeding the parser
 *   replay_policy.c  per-address counts and the policy's bans
 *   replay_site.c    the policy to run: defaults, coordinator.ini, agent.ini
 *   replay_report.c  the text and JSON report
 *
 * One struct bc_replay per run, made and freed by bc_replay_main; the
 * other files fill and read it. Only counts, addresses (formatted from
 * binary) and times of the log reach the report; the log is never
 * stored.
 */
#ifndef BC_REPLAY_RUN_H
#define BC_REPLAY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/event.h"
#include "common/policy.h"
#include "logparse/parse.h"

#define REPLAY_ADDRS_MAX (1u << 20) /* default --max-addresses */
#define REPLAY_OFFENCES_MAX 16      /* ban times kept per key */

struct bc_agent_cfg;
struct bc_coord_cfg;

enum bc_replay_role {
	BC_REPLAY_DEFAULT,     /* no --config: the coordinator's defaults */
	BC_REPLAY_COORDINATOR, /* coordinator.ini [policy] */
	BC_REPLAY_AGENT,       /* agent.ini [local] */
};

/* What a ban costs and who may be banned. */
struct bc_replay_site {
	enum bc_replay_role role;
	const char *path;           /* --config, NULL for the defaults */
	int64_t bantime_s, bantime_max_s, recidive_ms;
	double factor;
	unsigned min_hosts;
	bool overlap;               /* no ban of a key overlapping allow */
	const struct bc_addr_list *allow;
	const struct bc_addr_list *nat64;
	struct bc_coord_cfg *coord; /* loaded coordinator.ini, owned */
	struct bc_agent_cfg *agent; /* loaded agent.ini, owned */
};

enum bc_replay_print {
	BC_REPLAY_PRINT_NONE,
	BC_REPLAY_PRINT_MATCHED,
	BC_REPLAY_PRINT_MISSED
};

/* One per address with an event (the table's records start with addr). */
struct bc_replay_rec {
	struct bc_addr addr;
	uint64_t n[BC_KIND_MAX + 1];
	int allowed;
};

/* One per banned key (/32, /128 or /ipv6_prefix). */
struct bc_replay_key {
	struct bc_addr addr;
	unsigned bans;
	int64_t banned_until;
	int64_t offence[REPLAY_OFFENCES_MAX]; /* ring of ban times */
};

/*
 * Open addressing over a compact slot array (record number and hash, 8
 * bytes a slot: probes stay in cache and compare hashes, not records),
 * the records themselves dense in insertion order, size bytes each,
 * starting with their struct bc_addr. Growing rebuilds only the slots;
 * the record array grows by realloc, so a record's address may change
 * on any insert: hold none across one.
 */
struct bc_replay_slot {
	uint32_t rec;  /* record number + 1, 0 for an empty slot */
	uint32_t hash;
};

struct bc_replay_table {
	struct bc_replay_slot *slot;
	unsigned char *rec;
	size_t cap, n, size, reccap;
	uint8_t key[BC_ADDR_HASH_KEYBYTES]; /* drawn when the table opens */
};

struct bc_replay_ban {
	struct bc_addr prefix;
	int64_t at, until;
	double score; /* weighted events in findtime when it fired */
};

struct bc_replay {
	enum bc_format fmt;
	int json;
	enum bc_replay_print print;
	size_t max_addrs;
	const char *path;
	uint64_t lines, matched, ignored, malformed, untracked, refused;
	uint64_t events[BC_KIND_MAX + 1];
	int64_t last_t;
	struct bc_replay_site site;
	struct bc_policy_cfg cfg;
	struct bc_policy *pol;
	struct bc_replay_table addrs, keys;
	struct bc_replay_ban *bans;
	size_t nbans, capbans;
	char *esc;                  /* --print-*: one escaped line */
};

/* ---- replay_policy.c ------------------------------------------------ */

/* Count one parsed event and run the policy over it. */
void bc_replay_event(struct bc_replay *r, const struct bc_event *ev);

/* The ban key record of an address's key, NULL when never banned. */
const struct bc_replay_key *bc_replay_key_of(const struct bc_replay *r,
					     const struct bc_replay_rec *a);

/* Records of the address table in address order (caller frees), or
 * NULL when out of memory. */
struct bc_replay_rec **bc_replay_table_sorted(const struct bc_replay_table *t);

void bc_replay_table_free(struct bc_replay_table *t);

/* ---- replay_site.c -------------------------------------------------- */

/* The defaults, or the policy of --config (NULL: defaults) into r->cfg
 * and r->site. Returns 0 or -1 with a one-line err. */
int bc_replay_site_load(struct bc_replay *r, const char *config, char *err,
			size_t errlen);

/* An agent.ini's [detect] reasons for the parser (nothing for the
 * others). Returns 0 or -1 with err. */
int bc_replay_site_reasons(const struct bc_replay_site *s, struct bc_parser *p,
			   char *err, size_t errlen);

/* Free what bc_replay_site_load loaded (safe when nothing was). */
void bc_replay_site_free(struct bc_replay_site *s);

/* ---- replay_report.c ------------------------------------------------ */

/* The report on stdout; v is bc_replay_table_sorted(&r->addrs). */
/* bancluster/replay's schema_version (docs/replay.md#json) */
#define BC_REPLAY_JSON_VERSION 2
/* 0, or -1 when stdout could not be written (said on stderr) */
int bc_replay_print_json(const struct bc_replay *r, struct bc_replay_rec **v);
void bc_replay_print_text(const struct bc_replay *r, struct bc_replay_rec **v);

#endif
