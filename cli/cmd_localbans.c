/*
 * cmd_localbans.c - the agents' local bans in the CLI (issue 14, "every
 * ban, one view"):
 *   list --local [--json]   every MX's local bans, with the MX's name
 * and the local parts of the replies of unban (what was lifted where,
 * which MX is offline and lifts it when it reconnects), show (each MX
 * holding a ban covering the address) and audit fleet (local bans and
 * lifts not yet applied per agent).
 *
 * Everything printed here is remote text (agent ids, reasons): escaped
 * for the terminal (bc_printable); JSON goes through cli/jout.h
 * (docs/cli.md documents the keys).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/jout.h"
#include "common/clock.h"
#include "common/covering.h"
#include "common/log.h"

#define HOST_TEXT (BC_NAME_MAX * 4 + 1)

static void local_addr(const Bancluster__LocalBan *b, char *buf, size_t len)
{
	bc_cli_addr_text(b->family, &b->addr, b->plen, buf, len);
}

static const char *host_text(const char *h, char *buf, size_t len)
{
	return bc_printable(buf, len, h, strlen(h));
}

/* One entry's keys into o: a ban's (bc_cli_ban_json) and the MX's. */
static void json_entry(json_t *o, const Bancluster__LocalEntry *e, int64_t now)
{
	const Bancluster__LocalBan *b = e->ban;
	Bancluster__Ban tmp = BANCLUSTER__BAN__INIT;

	tmp.family = b->family;
	tmp.addr = b->addr;
	tmp.plen = b->plen;
	tmp.expires_ms = b->expires_ms;
	tmp.created_ms = b->created_ms;
	bc_cli_ban_json(o, &tmp, now);
	bc_jout_str(o, "host", e->host);
	bc_jout_uint(o, "events", b->events);
	bc_jout_str(o, "reason", b->reason);
	bc_jout_bool(o, "lift_pending", e->pending);
}

static void text_entry(const Bancluster__LocalEntry *e, int64_t now)
{
	const Bancluster__LocalBan *b = e->ban;
	char as[BC_ADDR_STRLEN], t[32], d[32], host[HOST_TEXT],
		reason[BC_WIRE_MAX_TEXT * 4 + 1];
	int64_t left = b->expires_ms ? (b->expires_ms - now) / 1000 : 0;

	local_addr(b, as, sizeof(as));
	bc_printable(reason, sizeof(reason), b->reason, strlen(b->reason));
	printf("%-16s %-40s %-20s %-10s %-6" PRIu32 " %s%s\n",
	       host_text(e->host, host, sizeof(host)), as,
	       b->expires_ms ? bc_cli_fmt_time(b->expires_ms, t, sizeof(t)) : "never",
	       b->expires_ms ? bc_cli_fmt_left(left > 0 ? left : 0, d, sizeof(d)) : "-",
	       b->events, reason, e->pending ? " [lift pending]" : "");
}

int bc_cmd_list_local(struct bc_cli *c, int json)
{
	uint64_t offset = 0, total = 0, shown = 0;
	int64_t now = bc_now_ms();
	Bancluster__Payload *first = NULL;
	json_t *d = json ? bc_jout_new("list-local", BC_JSON_LIST_LOCAL_VERSION)
			 : NULL, *arr = d ? bc_jout_arr(d, "local_bans") : NULL;
	size_t i;

	do {
		Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
		Bancluster__ListCmd l = BANCLUSTER__LIST_CMD__INIT;
		Bancluster__Payload *r;

		l.offset = offset;
		l.local = 1;
		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_LIST;
		rq.list = &l;
		r = bc_cli_call(c, &rq);
		if (bc_cli_check_reply(r) != 0) {
			bancluster__payload__free_unpacked(r, NULL);
			if (first != NULL)
				bancluster__payload__free_unpacked(first, NULL);
			exit(BC_EXIT_ERROR);
		}
		if (offset == 0 && r->admin_reply->n_agents == 0) {
			/* a coordinator before list --local answers with its
			 * fleet bans and no agents: say so, print nothing */
			bancluster__payload__free_unpacked(r, NULL);
			bc_fatal(BC_EXIT_ERROR, "list --local: the coordinator "
				 "reports no agents' local bans (a release before "
				 "them, or no agent in agents_dir)");
		}
		total = r->admin_reply->local_total;
		if (offset == 0 && !json)
			printf("%-16s %-40s %-20s %-10s %-6s %s\n", "MX", "ADDRESS",
			       "EXPIRES", "REMAINING", "EVENTS", "REASON");
		for (i = 0; i < r->admin_reply->n_local; i++) {
			if (json) {
				json_entry(bc_jout_push_obj(arr),
					   r->admin_reply->local[i], now);
			} else {
				text_entry(r->admin_reply->local[i], now);
			}
			shown++;
		}
		offset += r->admin_reply->n_local;
		if (r->admin_reply->n_local == 0)
			offset = total; /* the lists shrank meanwhile */
		if (first == NULL)
			first = r; /* its agents: who reported */
		else
			bancluster__payload__free_unpacked(r, NULL);
	} while (offset < total);
	if (json) {
		json_t *ag;

		bc_jout_uint(d, "total", shown);
		ag = bc_jout_arr(d, "agents");
		for (i = 0; i < first->admin_reply->n_agents; i++) {
			const Bancluster__AgentStatus *a = first->admin_reply->agents[i];
			json_t *o = bc_jout_push_obj(ag);

			bc_jout_str(o, "id", a->id);
			bc_jout_bool(o, "connected", a->connected);
			bc_jout_bool(o, "reported", a->local_known);
			bc_jout_uint(o, "local_bans", a->local_count);
			bc_jout_uint(o, "dropped", a->local_dropped);
			bc_jout_uint(o, "lifts_pending", a->local_pending);
		}
		bancluster__payload__free_unpacked(first, NULL);
		return bc_jout_print(&d) == 0 ? 0 : BC_EXIT_ERROR;
	} else {
		printf("%" PRIu64 " local ban%s\n", shown, shown == 1 ? "" : "s");
		for (i = 0; i < first->admin_reply->n_agents; i++) {
			const Bancluster__AgentStatus *a = first->admin_reply->agents[i];
			char id[HOST_TEXT];

			host_text(a->id, id, sizeof(id));
			if (!a->local_known)
				printf("%s: list not reported%s\n", id,
				       a->connected ? " yet (an agent of an older release "
						      "reports none)"
						    : " (offline)");
			if (a->local_dropped > 0)
				printf("%s: %" PRIu64 " more local bans beyond the cap, "
				       "not listed\n", id, a->local_dropped);
		}
	}
	bancluster__payload__free_unpacked(first, NULL);
	return 0;
}

void bc_cli_unban_local(const Bancluster__AdminReply *r, bool first)
{
	size_t i;

	if (r->n_local == 0)
		return;
	printf("%s", first ? " locally: " : "; locally: ");
	for (i = 0; i < r->n_local; i++) {
		const Bancluster__LocalEntry *e = r->local[i];
		char as[BC_ADDR_STRLEN], host[HOST_TEXT];

		local_addr(e->ban, as, sizeof(as));
		printf("%s%s on %s%s", i ? ", " : "", as,
		       host_text(e->host, host, sizeof(host)),
		       !e->pending ? ""
		       : e->connected ? " (not reached yet: sent again within seconds)"
				      : " (offline: lifted when it reconnects)");
	}
}

const char *bc_cli_unban_still(const Bancluster__AdminReply *r, char *buf,
			       size_t len)
{
	enum { MAXV = BC_COVERING_MAX + BC_WIRE_MAX_LOCAL_PER_MSG };
	struct bc_addr *v = calloc(MAXV, sizeof(*v));
	const char **labels = calloc(MAXV, sizeof(*labels));
	char (*lab)[HOST_TEXT + 16] = calloc(BC_WIRE_MAX_LOCAL_PER_MSG, sizeof(*lab));
	size_t i, n = 0;

	buf[0] = '\0';
	if (v == NULL || labels == NULL || lab == NULL)
		goto out;
	for (i = 0; i < r->n_covering && n < MAXV; i++)
		if (bc_wire_ban_addr(r->covering[i], &v[n]) == 0)
			labels[n++] = "fleet ban";
	for (i = 0; i < r->n_local_covering && n < MAXV; i++) {
		const Bancluster__LocalEntry *e = r->local_covering[i];
		char host[HOST_TEXT];

		if (bc_wire_addr(e->ban->family, &e->ban->addr, e->ban->plen, &v[n]) < 0)
			continue;
		snprintf(lab[i], sizeof(lab[i]), "local ban on %s",
			 host_text(e->host, host, sizeof(host)));
		labels[n++] = lab[i];
	}
	if (n > 0)
		bc_covering_text_labelled(v, labels, n, buf, len);
out:
	free(v);
	free(labels);
	free(lab);
	return buf;
}

void bc_cli_show_local_json(json_t *arr, const Bancluster__AdminReply *r,
			    int64_t now)
{
	size_t i;

	for (i = 0; i < r->n_local; i++)
		json_entry(bc_jout_push_obj(arr), r->local[i], now);
}

void bc_cli_show_local(const Bancluster__AdminReply *r, int64_t now)
{
	size_t i;

	for (i = 0; i < r->n_local; i++) {
		const Bancluster__LocalEntry *e = r->local[i];
		const Bancluster__LocalBan *b = e->ban;
		char as[BC_ADDR_STRLEN], t[32], d[32], host[HOST_TEXT];
		int64_t left = (b->expires_ms - now) / 1000;

		local_addr(b, as, sizeof(as));
		host_text(e->host, host, sizeof(host));
		if (b->expires_ms == 0)
			printf("  banned locally on %s: %s, permanently", host, as);
		else
			printf("  banned locally on %s: %s until %s (%s left)", host, as,
			       bc_cli_fmt_time(b->expires_ms, t, sizeof(t)),
			       bc_cli_fmt_left(left > 0 ? left : 0, d, sizeof(d)));
		if (b->events > 0)
			printf(", %" PRIu32 " events", b->events);
		printf("%s\n", e->pending ? " [lift pending]" : "");
	}
}

void bc_cli_audit_local(const Bancluster__AdminReply *r)
{
	uint64_t bans = 0, pending = 0;
	size_t i, holders = 0;
	char who[512] = "";
	size_t off = 0;

	for (i = 0; i < r->n_agents; i++) {
		const Bancluster__AgentStatus *a = r->agents[i];

		bans += a->local_count;
		holders += a->local_count > 0;
		pending += a->local_pending;
		if (a->local_pending > 0 && off < sizeof(who)) {
			char id[HOST_TEXT];
			int w = snprintf(who + off, sizeof(who) - off, "%s%s",
					 off ? ", " : "", host_text(a->id, id, sizeof(id)));

			if (w > 0)
				off += (size_t)w;
		}
	}
	printf("local bans: %" PRIu64 " on %zu agent%s", bans, holders,
	       holders == 1 ? "" : "s");
	if (pending > 0)
		printf("; %" PRIu64 " local lift%s not yet applied (%s)", pending,
		       pending == 1 ? "" : "s", who);
	printf("\n");
}
