/*
 * cmd_show.c - the commands that read the coordinator's state:
 *   status [--json]          the coordinator and every agent's sync
 *   show ADDR [--json]       one address: bans, window, decisions
 *   audit fleet [--json]     every agent's kernel read-back
 *
 * Requests go through bc_cli_call (request.c). Everything in a reply is
 * remote text: agent ids, evidence lines, reasons, origins and signers
 * are escaped for the terminal (bc_printable) or JSON (bc_json_escape);
 * stated software versions print as they are, bc_wire_open having held
 * them to [0-9A-Za-z.+~:_-]; kinds print by name from common/event.h.
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

/* JSON: a stated version is a string, an unstated one null. */
#define Q(s) ((s)[0] ? "\"" : "")

/* JSON: a wire version, or null when 0 (not stated, never heard). */
static const char *json_u32(uint32_t v, char buf[24])
{
	if (v == 0)
		return "null";
	snprintf(buf, 24, "%" PRIu32, v);
	return buf;
}

/*
 * Text: the wire range a peer states ("1..2"), else the version of its
 * last envelope ("1": a peer of wire 1 states none), else "-".
 */
static const char *wire_text(uint32_t min, uint32_t max, uint32_t seen,
			     char *buf, size_t len)
{
	if (max != 0)
		snprintf(buf, len, "%" PRIu32 "..%" PRIu32, min, max);
	else if (seen != 0)
		snprintf(buf, len, "%" PRIu32, seen);
	else
		snprintf(buf, len, "-");
	return buf;
}

int bc_cmd_status(struct bc_cli *c, int argc, char **argv)
{
	int json = bc_cli_json_flag(argc, argv, "status");
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	Bancluster__AdminReply *ar;
	char t[32], w[3][24];
	size_t i;
	int rc;

	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc != 0) {
		bancluster__payload__free_unpacked(r, NULL);
		return rc;
	}
	ar = r->admin_reply;
	if (json) {
		printf("{\"coordinator\": {\"address\": \"%s\", \"epoch\": %" PRIu64
		       ", \"seq\": %" PRIu64 ", \"started\": \"%s\", \"bans\": %" PRIu64
		       ", \"version\": %s%s%s, \"wire_min\": %s, \"wire_max\": %s"
		       "},\n \"agents\": [",
		       c->cfg.coordinator, ar->epoch, ar->seq,
		       bc_cli_fmt_time(ar->started_ms, t, sizeof(t)), ar->total,
		       Q(ar->software), ar->software[0] ? ar->software : "null",
		       Q(ar->software), json_u32(ar->wire_min, w[0]),
		       json_u32(ar->wire_max, w[1]));
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];

			printf("%s\n  {\"id\": \"%s\", \"connected\": %s, \"last_seen\": %s%s%s, "
			       "\"applied_epoch\": %" PRIu64 ", \"applied_seq\": %" PRIu64
			       ", \"fleet_count\": %" PRIu64 ", \"events\": %" PRIu64
			       ", \"events_dropped\": %" PRIu64 ", \"in_sync\": %s"
			       ", \"version\": %s%s%s, \"wire\": %s, \"wire_min\": %s"
			       ", \"wire_max\": %s}",
			       i ? "," : "", a->id, a->connected ? "true" : "false",
			       a->last_seen_ms ? "\"" : "",
			       a->last_seen_ms ? bc_cli_fmt_time(a->last_seen_ms, t, sizeof(t)) : "null",
			       a->last_seen_ms ? "\"" : "", a->applied_epoch,
			       a->applied_seq, a->fleet_count, a->events, a->dropped,
			       a->connected && a->applied_epoch == ar->epoch &&
					       a->applied_seq == ar->seq
				       ? "true"
				       : "false",
			       Q(a->software), a->software[0] ? a->software : "null",
			       Q(a->software), json_u32(a->wire, w[0]),
			       json_u32(a->wire_min, w[1]), json_u32(a->wire_max, w[2]));
		}
		printf("%s]}\n", ar->n_agents ? "\n" : "");
	} else {
		printf("coordinator %s: up since %s, epoch %" PRIu64 ", seq %" PRIu64
		       ", %" PRIu64 " active bans\n",
		       c->cfg.coordinator, bc_cli_fmt_time(ar->started_ms, t, sizeof(t)),
		       ar->epoch, ar->seq, ar->total);
		printf("coordinator version %s, wire %s\n",
		       ar->software[0] ? ar->software : "unknown",
		       wire_text(ar->wire_min, ar->wire_max, 1, w[0], sizeof(w[0])));
		printf("%-20s %-10s %-22s %-24s %-8s %-8s %-12s %s\n", "AGENT",
		       "STATE", "LAST SEEN", "APPLIED", "BANS", "EVENTS", "VERSION",
		       "WIRE");
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];
			char ap[48];
			const char *state = !a->connected ? "offline"
					    : a->applied_epoch == ar->epoch &&
							    a->applied_seq == ar->seq
						    ? "in_sync"
						    : "lagging";

			snprintf(ap, sizeof(ap), "%" PRIu64 ":%" PRIu64,
				 a->applied_epoch, a->applied_seq);
			printf("%-20s %-10s %-22s %-24s %-8" PRIu64 " %-8" PRIu64
			       " %-12s %s\n",
			       a->id, state,
			       a->last_seen_ms ? bc_cli_fmt_time(a->last_seen_ms, t, sizeof(t)) : "never",
			       ap, a->fleet_count, a->events,
			       a->software[0] ? a->software : "unknown",
			       wire_text(a->wire_min, a->wire_max, a->wire, w[0],
					 sizeof(w[0])));
		}
	}
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

static void print_items(Bancluster__EvidenceItem **v, size_t n, int json,
			const char *indent)
{
	char t[32], line[BC_WIRE_MAX_TEXT * 6], host[BC_NAME_MAX * 6],
		svc[BC_NAME_MAX * 6], addr[BC_NAME_MAX * 6];
	size_t i;

	for (i = 0; i < n; i++) {
		const Bancluster__EvidenceItem *e = v[i];

		if (json) {
			bc_json_escape(line, sizeof(line), e->line, strlen(e->line));
			bc_json_escape(host, sizeof(host), e->host, strlen(e->host));
			bc_json_escape(svc, sizeof(svc), e->service, strlen(e->service));
			bc_json_escape(addr, sizeof(addr), e->addr, strlen(e->addr));
			printf("%s{\"time\": \"%s\", \"time_ms\": %" PRId64
			       ", \"host\": \"%s\", \"kind\": \"%s\", \"address\": \"%s\""
			       ", \"service\": \"%s\", \"line\": \"%s\"}",
			       i ? ", " : "", bc_cli_fmt_time(e->time_ms, t, sizeof(t)),
			       e->time_ms, host, bc_kind_name((int)e->kind), addr, svc, line);
		} else {
			bc_printable(line, sizeof(line), e->line, strlen(e->line));
			bc_printable(host, sizeof(host), e->host, strlen(e->host));
			bc_printable(svc, sizeof(svc), e->service, strlen(e->service));
			bc_printable(addr, sizeof(addr), e->addr, strlen(e->addr));
			printf("%s%s  %-10s %-16s %-18s %-15s %s\n", indent,
			       bc_cli_fmt_time(e->time_ms, t, sizeof(t)), host,
			       bc_kind_name((int)e->kind), addr, svc, line);
		}
	}
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
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc != 0) {
		bancluster__payload__free_unpacked(r, NULL);
		return rc;
	}
	ar = r->admin_reply;
	bc_addr_format(&a, as, sizeof(as));
	if (json) {
		printf("{\"address\": \"%s\", \"allowed\": %s, \"banned\": %s, "
		       "\"score\": %g,\n \"bans\": [",
		       as, ar->allowed ? "true" : "false",
		       ar->n_bans ? "true" : "false", ar->score);
		for (k = 0; k < ar->n_bans; k++) {
			char bs[BC_ADDR_STRLEN];

			bc_cli_ban_text(ar->bans[k], bs, sizeof(bs));
			printf("%s{\"address\": \"%s\", \"permanent\": %s, "
			       "\"expires_ms\": %" PRId64 "}",
			       k ? ", " : "", bs,
			       ar->bans[k]->expires_ms ? "false" : "true",
			       ar->bans[k]->expires_ms);
		}
		printf("],\n \"decisions\": [");
		for (k = 0; k < ar->n_decisions; k++) {
			const Bancluster__Decision *dd = ar->decisions[k];
			char reason[BC_WIRE_MAX_TEXT * 6], origin[BC_WIRE_MAX_TEXT * 6],
				signer[BC_NAME_MAX * 6];

			bc_json_escape(reason, sizeof(reason), dd->reason, strlen(dd->reason));
			bc_json_escape(origin, sizeof(origin), dd->origin, strlen(dd->origin));
			bc_json_escape(signer, sizeof(signer), dd->signer, strlen(dd->signer));
			printf("%s\n  {\"time\": \"%s\", \"time_ms\": %" PRId64
			       ", \"action\": \"%s\", \"address\": \"%s\", \"expires_ms\": %" PRId64
			       ", \"reason\": \"%s\", \"origin\": \"%s\", \"signer\": \"%s\", "
			       "\"evidence\": [",
			       k ? "," : "", bc_cli_fmt_time(dd->time_ms, t, sizeof(t)),
			       dd->time_ms, dd->action, dd->addr, dd->expires_ms,
			       reason, origin, signer);
			print_items(dd->evidence, dd->n_evidence, 1, "");
			printf("]}");
		}
		printf("],\n \"recent\": [");
		print_items(ar->recent, ar->n_recent, 1, "");
		printf("]");
		bc_cli_show_local(ar, 1, now);
		printf("}\n");
	} else {
		printf("%s%s\n", as, ar->allowed ? "  (in the allow list: never banned)" : "");
		if (ar->n_bans == 0 && ar->n_local == 0)
			printf("  not banned\n");
		bc_cli_show_local(ar, 0, now);
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
		print_items(ar->recent, ar->n_recent, 0, "    ");
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
					       strcmp(dd->action, "extend") == 0))
				printf(" until %s", bc_cli_fmt_time(dd->expires_ms, t, sizeof(t)));
			printf("\n");
			if (reason[0])
				printf("      reason: %s\n", reason);
			if (dd->n_evidence) {
				printf("      evidence:\n");
				print_items(dd->evidence, dd->n_evidence, 0, "        ");
			}
		}
	}
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
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
	if (json) {
		printf("{\"coordinator\": {\"epoch\": %" PRIu64 ", \"seq\": %" PRIu64
		       ", \"bans\": %" PRIu64 "},\n \"in_sync\": %s,\n \"agents\": [",
		       ar->epoch, ar->seq, ar->total, worst == 0 ? "true" : "false");
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];

			printf("%s\n  {\"id\": \"%s\", \"state\": \"%s\", \"connected\": %s, "
			       "\"applied_epoch\": %" PRIu64 ", \"applied_seq\": %" PRIu64
			       ", \"bans\": %" PRIu64 ", \"kernel_elements\": %" PRIu64
			       ", \"repairs\": %" PRIu64,
			       i ? "," : "", a->id, a->audit,
			       a->connected ? "true" : "false", a->applied_epoch,
			       a->applied_seq, a->fleet_count, a->kernel_count,
			       a->repairs);
			printf(", \"local_bans\": %" PRIu64 ", \"local_lifts_pending\": %"
			       PRIu64 ", \"local_reported\": %s}",
			       a->local_count, a->local_pending,
			       a->local_known ? "true" : "false");
		}
		printf("%s]}\n", ar->n_agents ? "\n" : "");
	} else {
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

