/*
 * cmd_show.c - the commands that read the coordinator's state:
 *   status [--json]          the coordinator and every agent's sync
 *   show ADDR [--json]       one address: bans, window, decisions
 *   audit fleet [--json]     every agent's kernel read-back
 *
 * Requests go through bc_cli_call (request.c); status prints through
 * status.c. Everything in a reply is
 * remote text: agent ids, evidence lines, reasons, origins and signers
 * are escaped for the terminal (bc_printable) or go into the JSON tree
 * as they are (cli/jout.c); stated software versions print as they are,
 * bc_wire_open having held them to [0-9A-Za-z.+~:_-]; kinds print by
 * name from common/event.h.
 * Exit 0, the coordinator's refusal 1 (audit fleet: 3), audit fleet's
 * own 0/1/2 as documented.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/event.h"
#include "common/log.h"
#include "cli/jout.h"
#include "cli/status.h"

int bc_cmd_status(struct bc_cli *c, int argc, char **argv)
{
	int json = bc_cli_json_flag(argc, argv, "status");
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	int rc;

	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	r = bc_cli_ask(c, &rq, &rc);
	if (r == NULL)
		return rc;
	if (json) {
		json_t *d = bc_cli_status_doc(c->answered, r->admin_reply, bc_now_ms());

		rc = bc_jout_print(&d) == 0 ? 0 : BC_EXIT_ERROR;
	} else {
		bc_cli_status_text(stdout, c->answered, r->admin_reply, bc_now_ms());
	}
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

/* JSON: evidence or window events, newest first, into array arr. */
static void json_items(json_t *arr, Bancluster__EvidenceItem **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const Bancluster__EvidenceItem *e = v[i];
		json_t *o = bc_jout_push_obj(arr);

		bc_jout_time(o, "time", e->time_ms);
		bc_jout_str(o, "host", e->host);
		bc_jout_str(o, "kind", bc_kind_name((int)e->kind));
		bc_jout_str(o, "address", e->addr);
		bc_jout_str(o, "service", e->service);
		bc_jout_str(o, "line", e->line);
	}
}

static void print_items(Bancluster__EvidenceItem **v, size_t n, const char *indent)
{
	char t[32], line[BC_WIRE_MAX_TEXT * 6], host[BC_NAME_MAX * 6],
		svc[BC_NAME_MAX * 6], addr[BC_NAME_MAX * 6];
	size_t i;

	for (i = 0; i < n; i++) {
		const Bancluster__EvidenceItem *e = v[i];

		bc_printable(line, sizeof(line), e->line, strlen(e->line));
		bc_printable(host, sizeof(host), e->host, strlen(e->host));
		bc_printable(svc, sizeof(svc), e->service, strlen(e->service));
		bc_printable(addr, sizeof(addr), e->addr, strlen(e->addr));
		printf("%s%s  %-10s %-16s %-18s %-15s %s\n", indent,
		       bc_cli_fmt_time(e->time_ms, t, sizeof(t)), host,
		       bc_kind_name((int)e->kind), addr, svc, line);
	}
}

static int show_json(const char *as, const Bancluster__AdminReply *ar, int64_t now)
{
	json_t *d = bc_jout_new("show", BC_JSON_SHOW_VERSION), *arr;
	size_t k;

	bc_jout_str(d, "address", as);
	bc_jout_bool(d, "allowed", ar->allowed);
	bc_jout_bool(d, "banned", ar->n_bans > 0);
	bc_jout_num(d, "score", ar->score);
	arr = bc_jout_arr(d, "bans");
	for (k = 0; k < ar->n_bans; k++)
		bc_cli_ban_json(bc_jout_push_obj(arr), ar->bans[k], now);
	arr = bc_jout_arr(d, "decisions");
	for (k = 0; k < ar->n_decisions; k++) {
		const Bancluster__Decision *dd = ar->decisions[k];
		json_t *o = bc_jout_push_obj(arr);

		bc_jout_time(o, "time", dd->time_ms);
		bc_jout_str(o, "action", dd->action);
		bc_jout_str(o, "address", dd->addr);
		bc_jout_time(o, "expires", dd->expires_ms);
		bc_jout_str(o, "reason", dd->reason);
		bc_jout_str(o, "origin", dd->origin);
		bc_jout_str(o, "signer", dd->signer);
		json_items(bc_jout_arr(o, "evidence"), dd->evidence, dd->n_evidence);
	}
	json_items(bc_jout_arr(d, "recent"), ar->recent, ar->n_recent);
	bc_cli_show_local_json(bc_jout_arr(d, "local_bans"), ar, now);
	if (ar->allowed_by != NULL)
		bc_cli_allow_json(bc_jout_obj(d, "allowed_by"), ar->allowed_by, now);
	else
		bc_jout_null(d, "allowed_by");
	return bc_jout_print(&d) == 0 ? 0 : BC_EXIT_ERROR;
}

int bc_cmd_show(struct bc_cli *c, int argc, char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__ShowCmd sc = BANCLUSTER__SHOW_CMD__INIT;
	Bancluster__Payload *r;
	Bancluster__AdminReply *ar;
	struct bc_addr a;
	const char *arg = NULL;
	char as[BC_ADDR_STRLEN], t[32], d[32];
	int json = 0, i, rc;
	size_t k;
	int64_t now = bc_now_ms();

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' || arg != NULL)
			bc_cli_usage_exit("show: unexpected argument \"%s\"", argv[i]);
		else
			arg = argv[i];
	}
	if (arg == NULL)
		bc_cli_usage_exit("show: expected ADDR[/LEN]");
	bc_cli_parse_addr(arg, &a);
	bc_wire_addr_fill(&a, &sc.family, &sc.addr, &sc.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_SHOW;
	rq.show = &sc;
	r = bc_cli_ask(c, &rq, &rc);
	if (r == NULL)
		return rc;
	ar = r->admin_reply;
	bc_addr_format(&a, as, sizeof(as));
	if (json) {
		rc = show_json(as, ar, now);
	} else {
		printf("%s%s\n", as, ar->allowed ? "  (in the allow list: never banned)" : "");
		if (ar->allowed_by != NULL)
			bc_cli_allow_line(ar->allowed_by, now);
		if (ar->n_bans == 0 && ar->n_local == 0)
			printf("  not banned\n");
		bc_cli_show_local(ar, now);
		for (k = 0; k < ar->n_bans; k++) {
			char bs[BC_ADDR_STRLEN];
			int64_t left = (ar->bans[k]->expires_ms - now) / 1000;

			bc_cli_ban_text(ar->bans[k], bs, sizeof(bs));
			if (ar->bans[k]->expires_ms == 0)
				printf("  banned: %s, permanently\n", bs);
			else
				printf("  banned: %s until %s (%s left)\n", bs,
				       bc_cli_fmt_time(ar->bans[k]->expires_ms, t, sizeof(t)),
				       bc_cli_fmt_left(left > 0 ? left : 0, d, sizeof(d)));
		}
		printf("  current window: score %g; newest %zu event%s:\n", ar->score,
		       ar->n_recent, ar->n_recent == 1 ? "" : "s");
		print_items(ar->recent, ar->n_recent, "    ");
		printf("  decisions (newest first): %zu\n", ar->n_decisions);
		for (k = 0; k < ar->n_decisions; k++) {
			const Bancluster__Decision *dd = ar->decisions[k];
			char reason[BC_WIRE_MAX_TEXT * 4], origin[BC_WIRE_MAX_TEXT * 4];

			bc_printable(reason, sizeof(reason), dd->reason, strlen(dd->reason));
			bc_printable(origin, sizeof(origin), dd->origin, strlen(dd->origin));
			printf("    %s %-6s %s", bc_cli_fmt_time(dd->time_ms, t, sizeof(t)),
			       dd->action, dd->addr);
			if (dd->origin[0])
				printf(" by %s", origin);
			if (dd->signer[0] && strcmp(dd->action, "ban") != 0 &&
			    strcmp(dd->action, "extend") != 0)
				printf(" by %s", dd->signer);
			if (dd->expires_ms && (strcmp(dd->action, "ban") == 0 ||
					       strcmp(dd->action, "extend") == 0 ||
					       strcmp(dd->action, "allow") == 0))
				printf(" until %s", bc_cli_fmt_time(dd->expires_ms, t, sizeof(t)));
			printf("\n");
			if (reason[0])
				printf("      reason: %s\n", reason);
			if (dd->n_evidence) {
				printf("      evidence:\n");
				print_items(dd->evidence, dd->n_evidence, "        ");
			}
		}
	}
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

static int audit_json(const Bancluster__AdminReply *ar, int worst)
{
	json_t *d = bc_jout_new("audit-fleet", BC_JSON_AUDIT_FLEET_VERSION), *co, *arr;
	size_t i;

	co = bc_jout_obj(d, "coordinator");
	bc_jout_uint(co, "epoch", ar->epoch);
	bc_jout_uint(co, "seq", ar->seq);
	bc_jout_uint(co, "bans", ar->total);
	bc_jout_bool(d, "in_sync", worst == 0);
	arr = bc_jout_arr(d, "agents");
	for (i = 0; i < ar->n_agents; i++) {
		const Bancluster__AgentStatus *a = ar->agents[i];
		json_t *o = bc_jout_push_obj(arr);

		bc_jout_str(o, "id", a->id);
		bc_jout_str(o, "state", a->audit);
		bc_jout_bool(o, "connected", a->connected);
		bc_jout_time(o, "last_seen", a->last_seen_ms);
		bc_jout_uint(o, "applied_epoch", a->applied_epoch);
		bc_jout_uint(o, "applied_seq", a->applied_seq);
		bc_jout_uint(o, "fleet_bans", a->fleet_count);
		bc_jout_uint(o, "kernel_elements", a->kernel_count);
		bc_jout_uint(o, "repairs", a->repairs);
		bc_jout_uint(o, "local_bans", a->local_count);
		bc_jout_uint(o, "local_lifts_pending", a->local_pending);
		bc_jout_bool(o, "local_reported", a->local_known);
	}
	return bc_jout_print(&d);
}

/*
 * audit fleet: every agent's kernel read-back against the coordinator.
 * "lagging" can be a heartbeat in flight: ask again a few times. Exit 0
 * when all are in sync, 1 when some only lag, 2 when any drifted or is
 * offline (Nagios-style).
 */
int bc_cmd_audit_fleet(struct bc_cli *c, int argc, char **argv)
{
	int json = bc_cli_json_flag(argc, argv, "audit fleet");
	Bancluster__Payload *r = NULL;
	Bancluster__AdminReply *ar;
	int attempt, worst = 0;
	size_t i;
	char t[32];

	for (attempt = 0; attempt < 5; attempt++) {
		Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
		Bancluster__AuditCmd ac = BANCLUSTER__AUDIT_CMD__INIT;
		int lagging = 0;

		if (r != NULL) {
			bancluster__payload__free_unpacked(r, NULL);
			usleep(1100 * 1000);
		}
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_AUDIT;
		rq.audit = &ac;
		r = bc_cli_call(c, &rq);
		if (bc_cli_check_reply(r) != 0) {
			bancluster__payload__free_unpacked(r, NULL);
			return BC_EXIT_AUDIT_FAILED;
		}
		for (i = 0; i < r->admin_reply->n_agents; i++)
			if (strcmp(r->admin_reply->agents[i]->audit, "lagging") == 0)
				lagging = 1;
		if (!lagging)
			break;
	}
	ar = r->admin_reply;
	for (i = 0; i < ar->n_agents; i++) {
		const char *v = ar->agents[i]->audit;
		int level = strcmp(v, "in_sync") == 0	? 0
			    : strcmp(v, "lagging") == 0 ? 1
							: 2;

		if (level > worst)
			worst = level;
	}
	if (json && audit_json(ar, worst) != 0)
		worst = BC_EXIT_AUDIT_FAILED;
	if (!json) {
		printf("coordinator: epoch %" PRIu64 ", seq %" PRIu64 ", %" PRIu64
		       " active bans\n",
		       ar->epoch, ar->seq, ar->total);
		printf("%-20s %-9s %-16s %-8s %-9s %-8s %-10s %s\n", "AGENT", "STATE",
		       "APPLIED", "BANS", "ELEMENTS", "REPAIRS", "LOCAL", "LAST SEEN");
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];
			char ap[48], lc[48];

			snprintf(ap, sizeof(ap), "%" PRIu64 ":%" PRIu64,
				 a->applied_epoch, a->applied_seq);
			/* local bans, "+N" lifts not yet applied, "?" not reported */
			if (!a->local_known && a->local_count == 0)
				snprintf(lc, sizeof(lc), "?");
			else if (a->local_pending > 0)
				snprintf(lc, sizeof(lc), "%" PRIu64 " -%" PRIu64,
					 a->local_count, a->local_pending);
			else
				snprintf(lc, sizeof(lc), "%" PRIu64, a->local_count);
			printf("%-20s %-9s %-16s %-8" PRIu64 " %-9" PRIu64 " %-8" PRIu64
			       " %-10s %s\n",
			       a->id, a->audit, ap, a->fleet_count, a->kernel_count,
			       a->repairs, lc,
			       a->last_seen_ms ? bc_cli_fmt_time(a->last_seen_ms, t, sizeof(t)) : "never");
		}
		printf("%s\n", worst == 0 ? "all agents in sync"
			       : worst == 1 ? "some agents lag behind"
					    : "some agents drifted or are offline");
		bc_cli_audit_local(ar);
	}
	bancluster__payload__free_unpacked(r, NULL);
	return worst;
}

