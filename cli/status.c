/*
 * status.c - the output of `bancluster status` (status.h): the
 * coordinator that answered, in cluster mode the cluster's section (the
 * coordinator that answered, the leader and its lease, etcd's majority,
 * each coordinator and etcd member, the revision applied, decisions
 * pending), then every agent's sync; as text or as the --json document.
 *
 * Everything in the reply is remote text: the cluster's names,
 * endpoints, URLs, versions and error are escaped for the terminal
 * (bc_printable) or go into the JSON tree as they are (cli/jout.c);
 * agent ids and the coordinator's and agents' versions print as they
 * did (bc_wire_open held the versions to [0-9A-Za-z.+~:_-]). Without a
 * cluster section the text is what it was before cluster mode. Nothing
 * here fails: printing errors are the caller's (bc_jout_print, fflush).
 */
#include "cli/status.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/jout.h"
#include "common/log.h"

#define TEXT_MAX 256 /* a cluster name, endpoint or URL as printed */

/* JSON: a stated version is a string, an unstated one null. */
static void json_version(json_t *o, const char *key, const char *v)
{
	bc_jout_str(o, key, v[0] ? v : NULL);
}

/* JSON: a wire version, or null when 0 (not stated, never heard). */
static void json_wire(json_t *o, const char *key, uint32_t v)
{
	if (v == 0)
		bc_jout_null(o, key);
	else
		bc_jout_int(o, key, v);
}

/* An agent's state in status: offline, in_sync or lagging. */
static const char *status_state(const Bancluster__AgentStatus *a,
				const Bancluster__AdminReply *ar)
{
	return !a->connected ? "offline"
	       : a->applied_epoch == ar->epoch && a->applied_seq == ar->seq
		       ? "in_sync"
		       : "lagging";
}

/* Remote text for the terminal, cut to TEXT_MAX bytes of output. */
static const char *pr(char buf[TEXT_MAX], const char *s)
{
	return bc_printable(buf, TEXT_MAX, s, strlen(s));
}

/* "694d7c3a1b2e0f11": an etcd id (lease, member) as etcdctl prints it. */
static const char *hex_id(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIx64, id);
	return buf;
}

/* Seconds from started_ms to now_ms, 0 when unknown or in the future. */
static int64_t uptime_s(int64_t started_ms, int64_t now_ms)
{
	return started_ms > 0 && now_ms > started_ms ? (now_ms - started_ms) / 1000
						     : 0;
}

static void cluster_json(json_t *d, const char *answered,
			 const Bancluster__ClusterStatus *cl, int64_t now_ms)
{
	json_t *o = bc_jout_obj(d, "cluster"), *arr;
	char h[24];
	size_t i;

	bc_jout_str(o, "name", cl->name);
	bc_jout_str(o, "endpoint", answered);
	bc_jout_str(o, "leader", cl->leader[0] ? cl->leader : NULL);
	bc_jout_str(o, "lease_id", cl->lease_id != 0 ?
			   hex_id((uint64_t)cl->lease_id, h, sizeof(h)) : NULL);
	bc_jout_int(o, "lease_ttl_s", cl->lease_ttl);
	bc_jout_bool(o, "etcd_ok", cl->etcd_ok);
	bc_jout_str(o, "etcd_error", cl->etcd_ok ? NULL : cl->etcd_error);
	bc_jout_int(o, "revision", cl->revision);
	bc_jout_uint(o, "pending", cl->pending);
	arr = bc_jout_arr(o, "coordinators");
	for (i = 0; i < cl->n_coordinators; i++) {
		const Bancluster__ClusterNode *n = cl->coordinators[i];
		json_t *e = bc_jout_push_obj(arr);

		bc_jout_str(e, "name", n->name);
		bc_jout_str(e, "endpoint", n->endpoint);
		bc_jout_bool(e, "leader", n->leader);
		json_version(e, "version", n->software);
		bc_jout_time(e, "started", n->started_ms);
		bc_jout_int(e, "uptime_s", uptime_s(n->started_ms, now_ms));
	}
	arr = bc_jout_arr(o, "etcd");
	for (i = 0; i < cl->n_etcd; i++) {
		const Bancluster__EtcdMember *m = cl->etcd[i];
		json_t *e = bc_jout_push_obj(arr);

		bc_jout_str(e, "id", hex_id(m->id, h, sizeof(h)));
		bc_jout_str(e, "name", m->name);
		bc_jout_str(e, "client_url", m->client_url);
		bc_jout_bool(e, "healthy", m->healthy);
		bc_jout_bool(e, "leader", m->leader);
	}
}

json_t *bc_cli_status_doc(const char *answered, const Bancluster__AdminReply *ar,
			  int64_t now_ms)
{
	json_t *d = bc_jout_new("status", BC_JSON_STATUS_VERSION), *co, *arr;
	size_t i;

	co = bc_jout_obj(d, "coordinator");
	bc_jout_str(co, "address", answered);
	bc_jout_uint(co, "epoch", ar->epoch);
	bc_jout_uint(co, "seq", ar->seq);
	bc_jout_time(co, "started", ar->started_ms);
	bc_jout_uint(co, "bans", ar->total);
	json_version(co, "version", ar->software);
	json_wire(co, "wire_min", ar->wire_min);
	json_wire(co, "wire_max", ar->wire_max);
	if (ar->cluster != NULL)
		cluster_json(d, answered, ar->cluster, now_ms);
	else
		bc_jout_null(d, "cluster");
	arr = bc_jout_arr(d, "agents");
	for (i = 0; i < ar->n_agents; i++) {
		const Bancluster__AgentStatus *a = ar->agents[i];
		json_t *o = bc_jout_push_obj(arr);
		const char *state = status_state(a, ar);

		bc_jout_str(o, "id", a->id);
		bc_jout_str(o, "state", state);
		bc_jout_bool(o, "connected", a->connected);
		bc_jout_bool(o, "in_sync", strcmp(state, "in_sync") == 0);
		bc_jout_time(o, "last_seen", a->last_seen_ms);
		bc_jout_uint(o, "applied_epoch", a->applied_epoch);
		bc_jout_uint(o, "applied_seq", a->applied_seq);
		bc_jout_uint(o, "fleet_bans", a->fleet_count);
		bc_jout_uint(o, "events", a->events);
		bc_jout_uint(o, "events_dropped", a->dropped);
		json_version(o, "version", a->software);
		json_wire(o, "wire", a->wire);
		json_wire(o, "wire_min", a->wire_min);
		json_wire(o, "wire_max", a->wire_max);
	}
	return d;
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

static void cluster_text(FILE *f, const Bancluster__ClusterStatus *cl,
			 int64_t now_ms)
{
	char a[TEXT_MAX], b[TEXT_MAX], v[TEXT_MAX], h[24], up[32];
	size_t i;

	fprintf(f, "cluster: %s answered; ", pr(a, cl->name));
	if (cl->leader[0] != '\0')
		fprintf(f, "leader %s, lease %s (ttl %" PRId64 "s)\n",
			pr(b, cl->leader),
			hex_id((uint64_t)cl->lease_id, h, sizeof(h)), cl->lease_ttl);
	else
		fprintf(f, "no leader\n");
	if (cl->etcd_ok)
		fprintf(f, "etcd: majority up; ");
	else
		fprintf(f, "etcd: NO MAJORITY (%s): no fleet decisions; ",
			cl->etcd_error[0] ? pr(a, cl->etcd_error) : "no reason given");
	fprintf(f, "revision %" PRId64 " applied, %" PRIu64 " decisions pending\n",
		cl->revision, cl->pending);
	fprintf(f, "%-20s %-30s %-7s %-12s %s\n", "COORDINATOR", "ENDPOINT",
		"LEADER", "VERSION", "UP");
	for (i = 0; i < cl->n_coordinators; i++) {
		const Bancluster__ClusterNode *n = cl->coordinators[i];

		fprintf(f, "%-20s %-30s %-7s %-12s %s\n", pr(a, n->name),
			pr(b, n->endpoint), n->leader ? "leader" : "-",
			n->software[0] ? pr(v, n->software) : "unknown",
			n->started_ms > 0 ? bc_cli_fmt_left(uptime_s(n->started_ms, now_ms),
							    up, sizeof(up))
					  : "-");
	}
	fprintf(f, "%-20s %-30s %-7s %s\n", "ETCD MEMBER", "CLIENT URL",
		"HEALTHY", "RAFT LEADER");
	for (i = 0; i < cl->n_etcd; i++) {
		const Bancluster__EtcdMember *m = cl->etcd[i];

		fprintf(f, "%-20s %-30s %-7s %s\n", pr(a, m->name),
			pr(b, m->client_url), m->healthy ? "yes" : "no",
			m->leader ? "yes" : "no");
	}
}

void bc_cli_status_text(FILE *f, const char *answered,
			const Bancluster__AdminReply *ar, int64_t now_ms)
{
	char t[32], w[24];
	size_t i;

	fprintf(f, "coordinator %s: up since %s, epoch %" PRIu64 ", seq %" PRIu64
		   ", %" PRIu64 " active bans\n",
		answered, bc_cli_fmt_time(ar->started_ms, t, sizeof(t)),
		ar->epoch, ar->seq, ar->total);
	fprintf(f, "coordinator version %s, wire %s\n",
		ar->software[0] ? ar->software : "unknown",
		wire_text(ar->wire_min, ar->wire_max, 1, w, sizeof(w)));
	if (ar->cluster != NULL)
		cluster_text(f, ar->cluster, now_ms);
	fprintf(f, "%-20s %-10s %-22s %-24s %-8s %-8s %-12s %s\n", "AGENT",
		"STATE", "LAST SEEN", "APPLIED", "BANS", "EVENTS", "VERSION",
		"WIRE");
	for (i = 0; i < ar->n_agents; i++) {
		const Bancluster__AgentStatus *a = ar->agents[i];
		char ap[48];
		const char *state = status_state(a, ar);

		snprintf(ap, sizeof(ap), "%" PRIu64 ":%" PRIu64,
			 a->applied_epoch, a->applied_seq);
		fprintf(f, "%-20s %-10s %-22s %-24s %-8" PRIu64 " %-8" PRIu64
			   " %-12s %s\n",
			a->id, state,
			a->last_seen_ms ? bc_cli_fmt_time(a->last_seen_ms, t, sizeof(t)) : "never",
			ap, a->fleet_count, a->events,
			a->software[0] ? a->software : "unknown",
			wire_text(a->wire_min, a->wire_max, a->wire, w, sizeof(w)));
	}
}
