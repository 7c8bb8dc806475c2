/*
 * cli.h - the bancluster command: its exit statuses, the commands main
 * dispatches to, and what they share (the usage table, strict argument
 * parsing that ends the program on a bad value, the admin request that
 * ends it on a failure, time formats).
 *
 * Command-line arguments are untrusted in the sense that every one is
 * parsed strictly; a bad one ends the program with a one-line error
 * naming it and EX_USAGE (64). Text from the coordinator (reasons,
 * origins, evidence lines) is escaped before it is printed. Only the
 * commands and these helpers exit; request.c and replay's and audit's
 * modules return.
 */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h> /* EX_USAGE 64, EX_UNAVAILABLE 69, EX_CONFIG 78 */

#include "cli/request.h"
#include "common/addr.h"

#define BC_EXIT_ERROR 1        /* the coordinator refused or failed */
#define BC_EXIT_AUDIT_FAILED 3 /* audit fleet: the coordinator refused */

/* ---- the commands (argv[0] is the command's name) ------------------ */

/* cmd_local.c: no coordinator, no admin key. */
int bc_cmd_keygen(int argc, char **argv);
int bc_cmd_report(int argc, char **argv);

/* cmd_ban.c: change and list the fleet's bans. */
int bc_cmd_ban(struct bc_cli *c, int argc, char **argv);
int bc_cmd_unban(struct bc_cli *c, int argc, char **argv);
int bc_cmd_list(struct bc_cli *c, int argc, char **argv);

/* cmd_show.c: read the coordinator's state (argv[0] of audit fleet is
 * "fleet"). Exit 0, or as each documents. */
int bc_cmd_status(struct bc_cli *c, int argc, char **argv);
int bc_cmd_show(struct bc_cli *c, int argc, char **argv);
int bc_cmd_audit_fleet(struct bc_cli *c, int argc, char **argv);

struct json_t;

/* cmd_allow.c: allow add CIDR [--for D] [--comment T] | list [--json] |
 * remove CIDR (argv[0] is "allow"). */
int bc_cmd_allow(struct bc_cli *c, int argc, char **argv);

/* "  allowed: P by ADMIN until T (L left): COMMENT" for show. */
void bc_cli_allow_line(const Bancluster__Allow *e, int64_t now);
/* An allow entry's keys into a JSON object (allow list, show). */
void bc_cli_allow_json(struct json_t *o, const Bancluster__Allow *e, int64_t now);
/* cmd_localbans.c: the agents' local bans (list --local; the local
 * parts of unban, show and audit fleet replies). */
int bc_cmd_list_local(struct bc_cli *c, int json);
/* " locally: A on mx1, ..." (first: nothing printed before it) */
void bc_cli_unban_local(const Bancluster__AdminReply *r, bool first);
/* The covering bans an unban left (fleet and local) as covering.h words
 * into buf, or "" when none. */
const char *bc_cli_unban_still(const Bancluster__AdminReply *r, char *buf,
			       size_t len);
void bc_cli_show_local(const Bancluster__AdminReply *r, int64_t now);
/* show --json: each local ban covering the address into arr */
void bc_cli_show_local_json(struct json_t *arr, const Bancluster__AdminReply *r,
			    int64_t now);
/* "local bans: N on M agents[; K local lifts not yet applied (mx2)]" */
void bc_cli_audit_local(const Bancluster__AdminReply *r);

/* cmd_keys.c: enrolment, argv[1] add, remove or list. */
int bc_cmd_agent(struct bc_cli *c, int argc, char **argv);
int bc_cmd_admin(struct bc_cli *c, int argc, char **argv);

/* ---- shared by the commands (cli.c) -------------------------------- */

/* The whole usage: on stdout with exit 0 for status 0, else on stderr
 * and exit status. */
void bc_cli_usage_to(FILE *f, int status) __attribute__((noreturn));

/* The whole usage on stderr, exit EX_USAGE. */
void bc_cli_usage(void) __attribute__((noreturn));

/* "bancluster: MESSAGE" on stderr, exit EX_USAGE. */
void bc_cli_usage_exit(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/*
 * "bancluster COMMAND ... --help" (or -h) anywhere among the command's
 * arguments, except as the value of an option that takes one: print that
 * command's usage to stdout and exit 0. Returns otherwise.
 */
void bc_cli_command_help(const char *cmd, int argc, char **argv);

/* bc_cli_request, or the program ends with its message and status. */
Bancluster__Payload *bc_cli_call(struct bc_cli *c, Bancluster__AdminReq *rq);

/* 0 for an accepted request; else prints the coordinator's error
 * (escaped) and returns BC_EXIT_ERROR. */
int bc_cli_check_reply(Bancluster__Payload *r);
/* bc_cli_call and bc_cli_check_reply: the reply, or NULL (freed, its
 * error printed) with the exit status in *rc. */
Bancluster__Payload *bc_cli_ask(struct bc_cli *c, Bancluster__AdminReq *rq,
			       int *rc);

/* ADDR[/LEN] of the command line, or exit EX_USAGE with the parser's
 * message. */
void bc_cli_parse_addr(const char *s, struct bc_addr *a);

/* A ban's prefix as text ("?" when the reply carries a bad one). */
/* A message's (family, addr, plen) as text, "?" when not an address. */
void bc_cli_addr_text(uint32_t family, const ProtobufCBinaryData *bin,
		      uint32_t plen, char *addr, size_t alen);
void bc_cli_ban_text(const Bancluster__Ban *b, char *addr, size_t alen);

/* 1 when the only arguments are "--json", 0 when there are none; any
 * other argument ends the program with EX_USAGE. */
int bc_cli_json_flag(int argc, char **argv, const char *cmd);

/*
 * The --json schema version of each command's document (docs/cli.md,
 * "JSON output"): bumped when a key is renamed, removed or changes its
 * meaning; a new key leaves it.
 */
#define BC_JSON_LIST_VERSION 2
#define BC_JSON_SHOW_VERSION 2
#define BC_JSON_STATUS_VERSION 3
#define BC_JSON_AUDIT_FLEET_VERSION 2
#define BC_JSON_LIST_LOCAL_VERSION 1
#define BC_JSON_ALLOW_LIST_VERSION 1
#define BC_JSON_KEY_LIST_VERSION 1

/*
 * The keys every ban object of --json starts with (list, show):
 * address, permanent, expires, expires_ms, remaining_s (against now,
 * Unix ms), created, created_ms. Defined in cmd_ban.c.
 */
void bc_cli_ban_json(struct json_t *o, const Bancluster__Ban *b, int64_t now);

/* "2024-05-01T12:00:00Z" of wall-clock ms. */
const char *bc_cli_fmt_time(int64_t ms, char *buf, size_t len);

/* "2h59m", "45m10s", "12s": remaining time for people to read. */
const char *bc_cli_fmt_left(int64_t s, char *buf, size_t len);

#endif
