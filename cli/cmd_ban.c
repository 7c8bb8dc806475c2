/*
 * cmd_ban.c - the commands that change or list the fleet's bans:
 *   ban ADDR[/LEN] [--for DURATION|permanent] [--reason TEXT] [--force]
 *   unban ADDR[/LEN] [--covering] [--fleet-only|--local-only]
 *   list [--active] [--manual] [--since DURATION] [--local] [--json]
 * (the local parts of unban and list --local: cmd_localbans.c)
 *
 * Arguments are parsed strictly (bad one: one line, EX_USAGE). Each
 * request is signed and sent by bc_cli_call (request.c); a refusal is
 * the coordinator's escaped error and exit 1. The listing pages through
 * the coordinator's bans; their reasons and origins are remote text,
 * escaped for the terminal (bc_printable) or go into JSON as they are
 * (cli/jout.c).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/covering.h"
#include "common/duration.h"
#include "common/log.h"
#include "cli/jout.h"

#define DEFAULT_BAN_S (3 * 3600)
#define REASON_MAX 200

int bc_cmd_ban(struct bc_cli *c, int argc, char **argv)
{
	static const struct option o[] = {
		{"for", required_argument, NULL, 'f'},
		{"reason", required_argument, NULL, 'r'},
		{"force", no_argument, NULL, 'F'},
		{NULL, 0, NULL, 0}};
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__BanCmd bc = BANCLUSTER__BAN_CMD__INIT;
	Bancluster__Ban b = BANCLUSTER__BAN__INIT;
	Bancluster__Payload *r;
	const char *reason = "manual ban";
	int64_t secs = DEFAULT_BAN_S;
	struct bc_addr a;
	char err[256], as[BC_ADDR_STRLEN], d[32];
	int ch, rc, permanent = 0;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "permanent") == 0)
				permanent = 1;
			else if (bc_duration_parse(optarg, &secs, err, sizeof(err)) < 0 ||
				 secs == 0)
				bc_cli_usage_exit("--for %s", secs == 0 ? "0: must be positive" : err);
			break;
		case 'r':
			reason = optarg;
			if (strlen(reason) > REASON_MAX)
				bc_cli_usage_exit("--reason: longer than %d characters", REASON_MAX);
			break;
		case 'F':
			bc.force = 1;
			break;
		default:
			bc_cli_usage();
		}
	}
	if (optind != argc - 1)
		bc_cli_usage_exit("%s", "ban: expected one ADDR[/LEN]");
	bc_cli_parse_addr(argv[optind], &a);
	bc_wire_addr_fill(&a, &b.family, &b.addr, &b.plen);
	b.expires_ms = permanent ? 0 : bc_now_ms() + secs * 1000;
	b.reason = (char *)(uintptr_t)reason;
	b.origin = (char *)"";
	bc.ban = &b;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_BAN;
	rq.ban = &bc;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0)
		printf("banned %s %s%s (seq %" PRIu64 ")\n",
		       bc_addr_format(&a, as, sizeof(as)),
		       permanent ? "permanently" : "for ",
		       permanent ? "" : bc_duration_format(secs, d, sizeof(d)),
		       r->admin_reply->seq);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

/*
 * "unbanned ADDR (seq N)"; with bans lifted for --covering "unbanned ADDR
 * and P covering it (seq N)" or "unbanned P covering ADDR (seq N)"; and
 * when covering bans were left: ", but it is still inside P (fleet ban):
 * use --covering to lift that ban". A coordinator that does not list
 * what it lifted gets the first form.
 */
static void print_unbanned(const struct bc_addr *a, const Bancluster__AdminReply *r)
{
	struct bc_addr b;
	char as[BC_ADDR_STRLEN], bs[BC_ADDR_STRLEN],
		text[(BC_COVERING_MAX + 64) * (BC_ADDR_STRLEN + 80) + 64];
	size_t i, n = r->n_bans;
	bool own;

	bc_addr_format(a, as, sizeof(as));
	own = n == 0 || (bc_wire_ban_addr(r->bans[0], &b) == 0 && bc_addr_equal(&b, a));
	if (n == 0 && r->n_local > 0) { /* local bans only: "unbanned locally: ..." */
		printf("unbanned");
		bc_cli_unban_local(r, true);
		goto still;
	}
	printf("unbanned %s", n == 0 ? as : "");
	for (i = 0; i < n; i++) {
		bc_cli_ban_text(r->bans[i], bs, sizeof(bs));
		printf("%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", bs);
	}
	if (n > (own ? 1u : 0u))
		printf(" covering %s", own ? "it" : as);
	printf(" (seq %" PRIu64 ")", r->seq);
	bc_cli_unban_local(r, false);
still:
	if (bc_cli_unban_still(r, text, sizeof(text))[0] != '\0')
		printf(", but it is still %s", text);
	printf("\n");
}

int bc_cmd_unban(struct bc_cli *c, int argc, char **argv)
{
	static const struct option o[] = {
		{"covering", no_argument, NULL, 'C'},
		{"fleet-only", no_argument, NULL, 'F'},
		{"local-only", no_argument, NULL, 'L'},
		{NULL, 0, NULL, 0}};
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__UnbanCmd u = BANCLUSTER__UNBAN_CMD__INIT;
	Bancluster__Payload *r;
	struct bc_addr a;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (ch == 'C')
			u.covering = 1;
		else if (ch == 'F')
			u.fleet_only = 1;
		else if (ch == 'L')
			u.local_only = 1;
		else
			bc_cli_usage();
	}
	if (u.fleet_only && u.local_only)
		bc_cli_usage_exit("%s", "unban: --fleet-only and --local-only exclude each other");
	if (optind != argc - 1)
		bc_cli_usage_exit("%s", "unban: expected one ADDR[/LEN]");
	bc_cli_parse_addr(argv[optind], &a);
	bc_wire_addr_fill(&a, &u.family, &u.addr, &u.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_UNBAN;
	rq.unban = &u;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0)
		print_unbanned(&a, r->admin_reply);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

void bc_cli_ban_json(json_t *o, const Bancluster__Ban *b, int64_t now)
{
	char as[BC_ADDR_STRLEN];
	int64_t left = b->expires_ms ? (b->expires_ms - now) / 1000 : 0;

	bc_cli_ban_text(b, as, sizeof(as));
	bc_jout_str(o, "address", as);
	bc_jout_bool(o, "permanent", b->expires_ms == 0);
	bc_jout_time(o, "expires", b->expires_ms);
	bc_jout_int(o, "remaining_s", left > 0 ? left : 0);
	bc_jout_time(o, "created", b->created_ms);
}

int bc_cmd_list(struct bc_cli *c, int argc, char **argv)
{
	static const struct option o[] = {
		{"json", no_argument, NULL, 'j'},
		{"active", no_argument, NULL, 'a'},
		{"manual", no_argument, NULL, 'm'},
		{"since", required_argument, NULL, 's'},
		{"local", no_argument, NULL, 'l'},
		{NULL, 0, NULL, 0}};
	uint64_t offset = 0, total = 0, shown = 0;
	int64_t now = bc_now_ms(), since_s = 0, since_ms = 0;
	int json = 0, manual = 0, local = 0, ch;
	char err[256];
	json_t *doc = NULL, *arr = NULL;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'a': /* the coordinator keeps active bans only */
			break;
		case 'm':
			manual = 1;
			break;
		case 'l':
			local = 1;
			break;
		case 's':
			if (bc_duration_parse(optarg, &since_s, err, sizeof(err)) < 0)
				bc_cli_usage_exit("list --since %s", err);
			since_ms = now - since_s * 1000;
			break;
		default:
			bc_cli_usage();
		}
	}
	if (optind != argc)
		bc_cli_usage_exit("list: unexpected argument \"%s\"", argv[optind]);
	if (local && (manual || since_ms != 0))
		bc_cli_usage_exit("%s", "list --local: --manual and --since are for fleet bans");
	if (local)
		return bc_cmd_list_local(c, json);
	do {
		Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
		Bancluster__ListCmd l = BANCLUSTER__LIST_CMD__INIT;
		Bancluster__Payload *r;
		size_t i;

		l.offset = offset;
		l.manual_only = manual;
		l.since_ms = since_ms;
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_LIST;
		rq.list = &l;
		r = bc_cli_call(c, &rq);
		if (bc_cli_check_reply(r) != 0) {
			bancluster__payload__free_unpacked(r, NULL);
			exit(BC_EXIT_ERROR);
		}
		total = r->admin_reply->total;
		if (offset == 0 && json) {
			doc = bc_jout_new("list", BC_JSON_LIST_VERSION);
			arr = bc_jout_arr(doc, "bans");
		} else if (offset == 0) {
			printf("%-40s %-20s %-10s %-20s %s\n", "ADDRESS", "EXPIRES",
			       "REMAINING", "ORIGIN", "REASON");
		}
		for (i = 0; i < r->admin_reply->n_bans; i++) {
			const Bancluster__Ban *b = r->admin_reply->bans[i];
			char as[BC_ADDR_STRLEN], t[32], d[32], reason[BC_WIRE_MAX_TEXT * 6],
				origin[BC_WIRE_MAX_TEXT * 6];
			int64_t left = b->expires_ms ? (b->expires_ms - now) / 1000 : 0;

			if (json) {
				json_t *jb = bc_jout_push_obj(arr);

				bc_cli_ban_json(jb, b, now);
				bc_jout_str(jb, "origin", b->origin);
				bc_jout_str(jb, "reason", b->reason);
				shown++;
				continue;
			}
			bc_cli_ban_text(b, as, sizeof(as));
			if (left < 0)
				left = 0;
			bc_printable(reason, sizeof(reason), b->reason, strlen(b->reason));
			bc_printable(origin, sizeof(origin), b->origin, strlen(b->origin));
			printf("%-40s %-20s %-10s %-20s %s\n", as,
			       b->expires_ms ? bc_cli_fmt_time(b->expires_ms, t, sizeof(t)) : "never",
			       b->expires_ms ? bc_cli_fmt_left(left, d, sizeof(d)) : "-",
			       origin, reason);
			shown++;
		}
		offset += r->admin_reply->n_bans;
		if (r->admin_reply->n_bans == 0)
			offset = total; /* list shrank meanwhile */
		bancluster__payload__free_unpacked(r, NULL);
	} while (offset < total);
	if (json) {
		bc_jout_uint(doc, "total", shown);
		return bc_jout_print(&doc) == 0 ? 0 : BC_EXIT_ERROR;
	}
	printf("%" PRIu64 " active ban%s\n", shown, shown == 1 ? "" : "s");
	return 0;
}

