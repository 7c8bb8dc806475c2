/*
 * test_status.c - what `bancluster status` prints (cli/status.c): an
 * AdminReply built here, without and with a ClusterStatus (healthy;
 * no leader and no etcd majority, with a name and an error holding
 * control bytes), through bc_cli_status_text (compared byte for byte)
 * and bc_cli_status_doc (every key of the cluster object and its value,
 * and the order of the document's keys).
 */
#include "cli/cli.h"
#include "cli/jout.h"
#include "cli/status.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define NOW 1796616000000LL /* 2026-12-07T04:00:00Z */

static const char want_single[] =
	"coordinator tcp://10.0.0.12:7710: up since 2026-12-07T02:00:00Z, epoch 1796608800, seq 42, 7 active bans\n"
	"coordinator version 0.4.0, wire 1..2\n"
	"AGENT                STATE      LAST SEEN              APPLIED                  BANS     EVENTS   VERSION      WIRE\n"
	"mx1                  in_sync    2026-12-07T03:59:59Z   1796608800:42            7        12       0.4.0        1..2\n";

static const char want_cluster[] =
	"coordinator tcp://10.0.0.12:7710: up since 2026-12-07T02:00:00Z, epoch 1796608800, seq 42, 7 active bans\n"
	"coordinator version 0.4.0, wire 1..2\n"
	"cluster: c2 answered; leader c1, lease 694d7c3a1b2e0f11 (ttl 2s)\n"
	"etcd: majority up; revision 1234 applied, 0 decisions pending\n"
	"COORDINATOR          ENDPOINT                       LEADER  VERSION      UP\n"
	"c1                   tcp://10.0.0.11:7710           leader  0.4.0        2h3m\n"
	"c2                   tcp://10.0.0.12:7710           -       0.4.0        5m2s\n"
	"c3                   tcp://10.0.0.13:7710           -       unknown      -\n"
	"ETCD MEMBER          CLIENT URL                     HEALTHY RAFT LEADER\n"
	"e1                   https://10.0.0.1:2379          yes     yes\n"
	"e2                   https://10.0.0.2:2379          yes     no\n"
	"e3                   https://10.0.0.3:2379          no      no\n"
	"AGENT                STATE      LAST SEEN              APPLIED                  BANS     EVENTS   VERSION      WIRE\n"
	"mx1                  in_sync    2026-12-07T03:59:59Z   1796608800:42            7        12       0.4.0        1..2\n";

static const char want_degraded[] =
	"coordinator tcp://10.0.0.12:7710: up since 2026-12-07T02:00:00Z, epoch 1796608800, seq 42, 7 active bans\n"
	"coordinator version 0.4.0, wire 1..2\n"
	"cluster: c\\x1b[31m answered; no leader\n"
	"etcd: NO MAJORITY (etcdserver: request timed out\\x0a): no fleet decisions; revision 1234 applied, 3 decisions pending\n"
	"COORDINATOR          ENDPOINT                       LEADER  VERSION      UP\n"
	"c1                   tcp://10.0.0.11:7710           -       0.4.0        2h3m\n"
	"c2                   tcp://10.0.0.12:7710           -       0.4.0        5m2s\n"
	"c3                   tcp://10.0.0.13:7710           -       unknown      -\n"
	"ETCD MEMBER          CLIENT URL                     HEALTHY RAFT LEADER\n"
	"e1                   https://10.0.0.1:2379          no      no\n"
	"e2                   https://10.0.0.2:2379          no      no\n"
	"e3                   https://10.0.0.3:2379          no      no\n"
	"AGENT                STATE      LAST SEEN              APPLIED                  BANS     EVENTS   VERSION      WIRE\n"
	"mx1                  in_sync    2026-12-07T03:59:59Z   1796608800:42            7        12       0.4.0        1..2\n";

static Bancluster__AgentStatus agent = BANCLUSTER__AGENT_STATUS__INIT;
static Bancluster__AgentStatus *agents[] = {&agent};
static Bancluster__ClusterNode node[3] = {
	BANCLUSTER__CLUSTER_NODE__INIT, BANCLUSTER__CLUSTER_NODE__INIT,
	BANCLUSTER__CLUSTER_NODE__INIT};
static Bancluster__ClusterNode *nodes[] = {&node[0], &node[1], &node[2]};
static Bancluster__EtcdMember member[3] = {
	BANCLUSTER__ETCD_MEMBER__INIT, BANCLUSTER__ETCD_MEMBER__INIT,
	BANCLUSTER__ETCD_MEMBER__INIT};
static Bancluster__EtcdMember *members[] = {&member[0], &member[1], &member[2]};
static Bancluster__ClusterStatus cluster = BANCLUSTER__CLUSTER_STATUS__INIT;

static void fill(Bancluster__AdminReply *ar)
{
	static char sw[] = "0.4.0", none[] = "";
	static char *names[] = {"c1", "c2", "c3"}, *eps[] = {
		"tcp://10.0.0.11:7710", "tcp://10.0.0.12:7710", "tcp://10.0.0.13:7710"};
	static char *enames[] = {"e1", "e2", "e3"}, *urls[] = {
		"https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"};
	static const int64_t up[] = {NOW - 7380000, NOW - 302000, 0};
	int i;

	ar->epoch = 1796608800;
	ar->seq = 42;
	ar->started_ms = 1796608800000LL;
	ar->total = 7;
	ar->software = sw;
	ar->wire_min = 1;
	ar->wire_max = 2;
	agent.id = "mx1";
	agent.connected = 1;
	agent.last_seen_ms = NOW - 1000;
	agent.applied_epoch = 1796608800;
	agent.applied_seq = 42;
	agent.fleet_count = 7;
	agent.events = 12;
	agent.software = sw;
	agent.wire = 2;
	agent.wire_min = 1;
	agent.wire_max = 2;
	ar->n_agents = 1;
	ar->agents = agents;
	for (i = 0; i < 3; i++) {
		node[i].name = names[i];
		node[i].endpoint = eps[i];
		node[i].leader = i == 0;
		node[i].started_ms = up[i];
		node[i].software = i < 2 ? sw : none;
		member[i].id = 0x8e9e05c52164694dULL + (uint64_t)i;
		member[i].name = enames[i];
		member[i].client_url = urls[i];
		member[i].healthy = i < 2;
		member[i].leader = i == 0;
	}
	cluster.name = "c2";
	cluster.leader = "c1";
	cluster.lease_id = 0x694d7c3a1b2e0f11LL;
	cluster.lease_ttl = 2;
	cluster.etcd_ok = 1;
	cluster.etcd_error = none;
	cluster.n_coordinators = 3;
	cluster.coordinators = nodes;
	cluster.n_etcd = 3;
	cluster.etcd = members;
	cluster.revision = 1234;
	cluster.pending = 0;
}

/* The text of status for ar, in a buffer (malloc'd, caller frees). */
static char *text(const Bancluster__AdminReply *ar)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return strdup("");
	bc_cli_status_text(f, "tcp://10.0.0.12:7710", ar, NOW);
	fclose(f);
	return buf;
}

/* First line where a and b differ, for the message. */
static const char *diff(const char *a, const char *b)
{
	static char line[400];
	const char *p = a, *q = b, *ls = a;

	while (*p && *p == *q) {
		if (*p == '\n')
			ls = p + 1;
		p++, q++;
	}
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(ls, "\n"), ls);
	return line;
}

static void test_text(void)
{
	Bancluster__AdminReply ar = BANCLUSTER__ADMIN_REPLY__INIT;
	char *t;

	fill(&ar);
	t = text(&ar);
	CHECK(strcmp(t, want_single) == 0,
	      "text without cluster: as before cluster mode (first difference: \"%s\")",
	      diff(t, want_single));
	free(t);
	ar.cluster = &cluster;
	t = text(&ar);
	CHECK(strcmp(t, want_cluster) == 0,
	      "text with cluster: who answered, leader and lease, etcd, each "
	      "coordinator and member (first difference: \"%s\")", diff(t, want_cluster));
	free(t);
	cluster.name = "c\x1b[31m";
	cluster.leader = "";
	cluster.lease_id = 0;
	cluster.etcd_ok = 0;
	cluster.etcd_error = "etcdserver: request timed out\n";
	cluster.pending = 3;
	node[0].leader = 0;
	member[0].healthy = member[1].healthy = 0;
	member[0].leader = 0;
	t = text(&ar);
	CHECK(strcmp(t, want_degraded) == 0,
	      "text, no leader and no majority: says so with etcd's error, "
	      "control bytes escaped (first difference: \"%s\")", diff(t, want_degraded));
	free(t);
}

static int jeq_str(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	if (want == NULL)
		return json_is_null(v);
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int jeq_int(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) == want;
}

static int jeq_bool(json_t *o, const char *key, int want)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) && json_is_true(v) == !!want;
}

/* The keys of object o, space separated, in order. */
static const char *keys(json_t *o)
{
	static char buf[512];
	const char *k;
	json_t *v;

	buf[0] = '\0';
	json_object_foreach(o, k, v) {
		(void)v;
		if (buf[0] != '\0')
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, k, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

static void test_json(void)
{
	Bancluster__AdminReply ar = BANCLUSTER__ADMIN_REPLY__INIT;
	json_t *d, *c, *n, *m;

	fill(&ar);
	d = bc_cli_status_doc("tcp://10.0.0.12:7710", &ar, NOW);
	CHECK(jeq_str(d, "schema", "bancluster/status") &&
		      jeq_int(d, "schema_version", 3) && BC_JSON_STATUS_VERSION == 3,
	      "json: schema bancluster/status, version 3");
	CHECK(strcmp(keys(d), "schema schema_version coordinator cluster agents") == 0,
	      "json: keys in order (%s)", keys(d));
	CHECK(json_is_null(json_object_get(d, "cluster")),
	      "json without cluster: cluster is null");
	CHECK(jeq_str(json_object_get(d, "coordinator"), "address", "tcp://10.0.0.12:7710"),
	      "json: coordinator.address is the endpoint that answered");
	json_decref(d);

	ar.cluster = &cluster;
	d = bc_cli_status_doc("tcp://10.0.0.12:7710", &ar, NOW);
	c = json_object_get(d, "cluster");
	CHECK(json_is_object(c) &&
		      strcmp(keys(c), "name endpoint leader lease_id lease_ttl_s etcd_ok "
				      "etcd_error revision pending coordinators etcd") == 0,
	      "json cluster: its keys in order (%s)", c ? keys(c) : "none");
	CHECK(jeq_str(c, "name", "c2") && jeq_str(c, "endpoint", "tcp://10.0.0.12:7710") &&
		      jeq_str(c, "leader", "c1") && jeq_str(c, "lease_id", "694d7c3a1b2e0f11") &&
		      jeq_int(c, "lease_ttl_s", 2) && jeq_bool(c, "etcd_ok", 1) &&
		      jeq_str(c, "etcd_error", NULL) && jeq_int(c, "revision", 1234) &&
		      jeq_int(c, "pending", 0),
	      "json cluster: who answered, leader, lease in hex, ttl, majority, revision, pending");
	n = json_array_get(json_object_get(c, "coordinators"), 0);
	CHECK(json_array_size(json_object_get(c, "coordinators")) == 3 &&
		      strcmp(keys(n), "name endpoint leader version started started_ms uptime_s") == 0 &&
		      jeq_str(n, "name", "c1") && jeq_str(n, "endpoint", "tcp://10.0.0.11:7710") &&
		      jeq_bool(n, "leader", 1) && jeq_str(n, "version", "0.4.0") &&
		      jeq_str(n, "started", "2026-12-07T01:57:00.000Z") &&
		      jeq_int(n, "started_ms", NOW - 7380000) && jeq_int(n, "uptime_s", 7380),
	      "json cluster: coordinators[0] c1, leader, version, started, uptime (%s)", keys(n));
	n = json_array_get(json_object_get(c, "coordinators"), 2);
	CHECK(jeq_str(n, "name", "c3") && jeq_bool(n, "leader", 0) &&
		      jeq_str(n, "version", NULL) && jeq_str(n, "started", NULL) &&
		      jeq_int(n, "uptime_s", 0),
	      "json cluster: a coordinator not heard: version and started null");
	m = json_array_get(json_object_get(c, "etcd"), 0);
	CHECK(json_array_size(json_object_get(c, "etcd")) == 3 &&
		      strcmp(keys(m), "id name client_url healthy leader") == 0 &&
		      jeq_str(m, "id", "8e9e05c52164694d") && jeq_str(m, "name", "e1") &&
		      jeq_str(m, "client_url", "https://10.0.0.1:2379") &&
		      jeq_bool(m, "healthy", 1) && jeq_bool(m, "leader", 1),
	      "json cluster: etcd[0] e1, id in hex, URL, healthy, raft leader (%s)", keys(m));
	m = json_array_get(json_object_get(c, "etcd"), 2);
	CHECK(jeq_str(m, "name", "e3") && jeq_bool(m, "healthy", 0) && jeq_bool(m, "leader", 0),
	      "json cluster: etcd[2] e3 unhealthy");
	json_decref(d);

	cluster.leader = "";
	cluster.lease_id = 0;
	cluster.etcd_ok = 0;
	cluster.etcd_error = "etcdserver: request timed out";
	cluster.pending = 3;
	d = bc_cli_status_doc("tcp://10.0.0.12:7710", &ar, NOW);
	c = json_object_get(d, "cluster");
	CHECK(jeq_str(c, "leader", NULL) && jeq_str(c, "lease_id", NULL) &&
		      jeq_bool(c, "etcd_ok", 0) &&
		      jeq_str(c, "etcd_error", "etcdserver: request timed out") &&
		      jeq_int(c, "pending", 3),
	      "json cluster, no leader, no majority: leader and lease null, the error, pending 3");
	json_decref(d);
}

int main(void)
{
	test_text();
	test_json();
	return tap_done();
}
