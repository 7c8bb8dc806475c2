/*
 * cmd_allow.c - the coordinator's allow list from the command line:
 *   allow add CIDR [--for DURATION] [--comment TEXT]
 *   allow list [--json]
 *   allow remove CIDR
 * Addresses inside an entry are never banned: no rule ban, no manual ban
 * without --force, no local ban on any MX (the agents get the list in
 * the Clone stream). Entries of [policy] allow are listed too, marked as
 * the configuration's; they are changed in coordinator.ini only.
 *
 * Arguments are parsed strictly (bad one: one line, EX_USAGE). Each
 * request is signed and sent by bc_cli_call (request.c); a refusal is
 * the coordinator's escaped error and exit 1. Comments and admin names
 * are remote text, escaped for the terminal (bc_printable); JSON goes
 * through cli/jout.h.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/jout.h"
#include "common/allowlist.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"

/* An Allow of a reply as text ("?" when it carries a bad prefix). */
static void allow_text(const Bancluster__Allow *e, char *buf, size_t len)
{
	bc_cli_addr_text(e->family, &e->addr, e->plen, buf, len);
}

void bc_cli_allow_line(const Bancluster__Allow *e, int64_t now)
{
	char as[BC_ADDR_STRLEN], by[BC_NAME_MAX * 4], cm[BC_WIRE_MAX_TEXT * 4 + 1],
		t[32], d[32];

	allow_text(e, as, sizeof(as));
	bc_printable(by, sizeof(by), e->added_by, strlen(e->added_by));
	bc_printable(cm, sizeof(cm), e->comment, strlen(e->comment));
	if (e->expires_ms == 0)
		printf("  allowed: %s by %s until removed", as, by);
	else
		printf("  allowed: %s by %s until %s (%s left)", as, by,
		       bc_cli_fmt_time(e->expires_ms, t, sizeof(t)),
		       bc_cli_fmt_left(e->expires_ms > now
					       ? (e->expires_ms - now + 999) / 1000 : 0,
				       d, sizeof(d)));
	printf("%s%s\n", cm[0] ? ": " : "", cm);
}

static int allow_add(struct bc_cli *c, int argc, char **argv)
{
	static const struct option o[] = {
		{"for", required_argument, NULL, 'f'},
		{"comment", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowAddCmd ac = BANCLUSTER__ALLOW_ADD_CMD__INIT;
	Bancluster__Payload *r;
	const char *comment = "";
	int64_t secs = 0;
	struct bc_addr a;
	char err[256], as[BC_ADDR_STRLEN], d[32];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (bc_duration_parse(optarg, &secs, err, sizeof(err)) < 0)
				bc_cli_usage_exit("allow add --for %s", err);
			if (secs <= 0 || secs > BC_WIRE_MAX_ALLOW_S)
				bc_cli_usage_exit("allow add --for %s: expected 1s..3650d",
						  optarg);
			break;
		case 'm':
			comment = optarg;
			if (strlen(comment) > BC_ALLOW_COMMENT_MAX)
				bc_cli_usage_exit("allow add --comment: longer than %d "
						  "characters", BC_ALLOW_COMMENT_MAX);
			break;
		default:
			bc_cli_usage();
		}
	}
	if (optind != argc - 1)
		bc_cli_usage_exit("allow add: expected one ADDR[/LEN]");
	bc_cli_parse_addr(argv[optind], &a);
	bc_wire_addr_fill(&a, &ac.family, &ac.addr, &ac.plen);
	ac.for_s = (uint64_t)secs;
	ac.comment = (char *)(uintptr_t)comment;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD;
	rq.allow_add = &ac;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0) {
		uint64_t n = r->admin_reply->banned_inside;

		bc_addr_format(&a, as, sizeof(as));
		if (secs > 0)
			printf("allowed %s for %s (seq %" PRIu64 ")\n", as,
			       bc_duration_format(secs, d, sizeof(d)),
			       r->admin_reply->seq);
		else
			printf("allowed %s until removed (seq %" PRIu64 ")\n", as,
			       r->admin_reply->seq);
		if (n > 0)
			printf("%" PRIu64 " active ban%s inside %s; lift %s with unban\n",
			       n, n == 1 ? "" : "s", as, n == 1 ? "it" : "them");
	}
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

static int allow_remove(struct bc_cli *c, int argc, char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowRemoveCmd rc_ = BANCLUSTER__ALLOW_REMOVE_CMD__INIT;
	Bancluster__Payload *r;
	struct bc_addr a;
	char as[BC_ADDR_STRLEN];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		bc_cli_usage_exit("allow remove: expected one ADDR[/LEN]");
	bc_cli_parse_addr(argv[1], &a);
	bc_wire_addr_fill(&a, &rc_.family, &rc_.addr, &rc_.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE;
	rq.allow_remove = &rc_;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0)
		printf("removed %s from the allow list (seq %" PRIu64 ")\n",
		       bc_addr_format(&a, as, sizeof(as)), r->admin_reply->seq);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

/* allow list --json (docs/cli.md): one object, every entry. */
/* One allow entry's keys into o (allow list --json, show --json). */
void bc_cli_allow_json(json_t *o, const Bancluster__Allow *e, int64_t now)
{
	char as[BC_ADDR_STRLEN];
	int64_t left = e->expires_ms > now ? (e->expires_ms - now + 999) / 1000 : 0;

	allow_text(e, as, sizeof(as));
	bc_jout_str(o, "address", as);
	bc_jout_str(o, "source", e->config ? "config" : "cli");
	bc_jout_time(o, "expires", e->expires_ms);
	bc_jout_int(o, "remaining_s", left);
	bc_jout_time(o, "created", e->created_ms);
	bc_jout_str(o, "added_by", e->config ? NULL : e->added_by);
	bc_jout_str(o, "comment", e->comment);
}

static int print_json(const Bancluster__AdminReply *ar, int64_t now)
{
	json_t *d = bc_jout_new("allow-list", BC_JSON_ALLOW_LIST_VERSION);
	json_t *arr = bc_jout_arr(d, "allow");
	size_t i;

	for (i = 0; i < ar->n_allows; i++)
		bc_cli_allow_json(bc_jout_push_obj(arr), ar->allows[i], now);
	bc_jout_uint(d, "total", ar->n_allows);
	return bc_jout_print(&d) == 0 ? 0 : BC_EXIT_ERROR;
}

static int allow_list(struct bc_cli *c, int argc, char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__AllowListCmd lc = BANCLUSTER__ALLOW_LIST_CMD__INIT;
	Bancluster__Payload *r;
	const Bancluster__AdminReply *ar;
	int64_t now = bc_now_ms();
	int json = bc_cli_json_flag(argc, argv, "allow list"), rc;
	size_t i, ncfg = 0;

	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST;
	rq.allow_list = &lc;
	r = bc_cli_ask(c, &rq, &rc);
	if (r == NULL)
		return rc;
	ar = r->admin_reply;
	if (json) {
		rc = print_json(ar, now);
		bancluster__payload__free_unpacked(r, NULL);
		return rc;
	}
	printf("%-40s %-20s %-10s %-20s %s\n", "ADDRESS", "EXPIRES", "REMAINING",
	       "ADDED BY", "COMMENT");
	for (i = 0; i < ar->n_allows; i++) {
		const Bancluster__Allow *e = ar->allows[i];
		char as[BC_ADDR_STRLEN], t[32], d[32], by[BC_NAME_MAX * 4],
			cm[BC_WIRE_MAX_TEXT * 4 + 1];
		int64_t left = e->expires_ms > now ? (e->expires_ms - now + 999) / 1000 : 0;

		allow_text(e, as, sizeof(as));
		bc_printable(by, sizeof(by), e->added_by, strlen(e->added_by));
		bc_printable(cm, sizeof(cm), e->comment, strlen(e->comment));
		if (e->config)
			ncfg++;
		printf("%-40s %-20s %-10s %-20s %s\n", as,
		       e->expires_ms ? bc_cli_fmt_time(e->expires_ms, t, sizeof(t)) : "never",
		       e->expires_ms ? bc_cli_fmt_left(left, d, sizeof(d)) : "-",
		       e->config ? "(configuration)" : by,
		       e->config ? "[policy] allow: change it in coordinator.ini" : cm);
	}
	printf("%zu allow entr%s (%zu from the configuration", ar->n_allows,
	       ar->n_allows == 1 ? "y" : "ies", ncfg);
	if (ar->total > ncfg)
		printf(", %" PRIu64 " more there not listed", ar->total - ncfg);
	printf(")\n");
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

int bc_cmd_allow(struct bc_cli *c, int argc, char **argv)
{
	if (argc < 2)
		bc_cli_usage_exit("allow: expected \"add\", \"list\" or \"remove\"");
	if (strcmp(argv[1], "add") == 0)
		return allow_add(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return allow_list(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return allow_remove(c, argc - 1, argv + 1);
	bc_cli_usage_exit("allow: expected \"add\", \"list\" or \"remove\", got \"%s\"",
			  argv[1]);
}
