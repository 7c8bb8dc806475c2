/*
 * bench_intake.c - coordinator intake: events per second verified,
 * stored and aggregated when agents batch them into reports (one agent,
 * each report waiting for the last one's ack; then a fleet of four with
 * a report in flight each: a coordinator's intake is its fleet's), reports
 * per second when every report carries one event (the Ed25519 verify
 * bound; the coordinator verifies on both cores) with 64 and with 256
 * reports in flight (as many agents with a report out), and the policy
 * table's memory per tracked address with 1,000,000 addresses tracked.
 *
 * Starts a real bancluster-coordinator ($B/bancluster-coordinator) on
 * 127.0.0.1 with fresh keys in a temporary directory and talks to it as
 * an agent over CurveZMQ, one report in flight at a time, as agents do.
 * With BC_BENCH_ETCD set (bench/cluster.sh), the coordinator runs in
 * cluster mode against that etcd.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/policy.h"
#include "common/zsock.h"
#include "proto/wire.h"

#define PORT_BASE 17710
#define BATCH 5000
#define BATCHED_EVENTS 1000000
#define SINGLE_REPORTS 20000
#define WINDOW 64
#define WINDOW_MANY 256
#define TRACKED 1000000
#define AGENTS_MAX 16
#define FLEET_AGENTS 4 /* the default run's fleet figure */

static char dir[] = "/tmp/bc-bench-intake.XXXXXX";
static pid_t coord_pid;

static void die(const char *what)
{
	fprintf(stderr, "bench_intake: %s\n", what);
	if (coord_pid > 0) { /* no coordinator left behind */
		kill(coord_pid, SIGTERM);
		waitpid(coord_pid, NULL, 0);
	}
	exit(1);
}


static uint8_t *seal_report(struct bc_signer *sg, uint64_t id,
			    Bancluster__Event **evp, size_t n, size_t *len)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Report rep = BANCLUSTER__REPORT__INIT;
	uint8_t *buf;

	rep.report_id = id;
	rep.n_events = n;
	rep.events = evp;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
	p.report = &rep;
	if (bc_wire_seal(sg, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p, &buf, len) < 0)
		die("seal");
	return buf;
}

static void send_report(void *s, struct bc_signer *sg, uint64_t id,
			Bancluster__Event **evp, size_t n)
{
	size_t len;
	uint8_t *buf = seal_report(sg, id, evp, n, &len);

	zmq_send(s, buf, len, 0);
	free(buf);
}

/* n events from addresses base.. (100.64/10: counted, never on a wire),
 * in static arrays: valid until the next call */
static Bancluster__Event **events(size_t n, uint32_t base)
{
	static Bancluster__Event ev[BATCH], *evp[BATCH];
	static uint8_t addr[BATCH][4];
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t a = base + (uint32_t)i;

		bancluster__event__init(&ev[i]);
		ev[i].time_ms = bc_now_ms();
		ev[i].kind = 1;
		ev[i].family = 4;
		addr[i][0] = 100;
		addr[i][1] = (uint8_t)(64 + ((a >> 16) & 63));
		addr[i][2] = (uint8_t)(a >> 8);
		addr[i][3] = (uint8_t)a;
		ev[i].addr.data = addr[i];
		ev[i].addr.len = 4;
		ev[i].service = (char *)"postfix/smtpd";
		ev[i].line = (char *)"warning: unknown[100.64.0.1]: SASL LOGIN authentication failed";
		evp[i] = &ev[i];
	}
	return evp;
}

/* Send one report of n events and wait for its ack. */
static void report(void *s, struct bc_signer *sg, struct bc_keyring *kr,
		   uint64_t id, size_t n, uint32_t base)
{
	Bancluster__Payload *r;
	struct bc_peer *from;
	zmq_msg_t m;

	send_report(s, sg, id, events(n, base), n);
	for (;;) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) < 0)
			die("recv");
		if (bc_wire_open(kr, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME, 1u << BANCLUSTER__MSG_TYPE__MSG_ACK,
				 BC_CHAN_DEALER, BC_CLUSTER_DEFAULT, bc_now_ms(), &r,
				 &from) == BC_REJ_OK) {
			int done = r->ack->report_id == id;

			bancluster__payload__free_unpacked(r, NULL);
			zmq_msg_close(&m);
			if (done)
				return;
			continue;
		}
		zmq_msg_close(&m);
	}
}

/* One sealed report carrying a single event. */
static uint8_t *seal_one(struct bc_signer *sg, uint64_t id, uint32_t a,
			 size_t *len)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT;
	Bancluster__Report rep = BANCLUSTER__REPORT__INIT;
	Bancluster__Event ev = BANCLUSTER__EVENT__INIT, *evp = &ev;
	uint8_t addr[4] = {100, (uint8_t)(64 + ((a >> 16) & 63)), (uint8_t)(a >> 8),
			   (uint8_t)a};
	uint8_t *buf;

	ev.time_ms = bc_now_ms();
	ev.kind = 1;
	ev.family = 4;
	ev.addr.data = addr;
	ev.addr.len = 4;
	ev.service = (char *)"postfix/smtpd";
	ev.line = (char *)"warning: unknown[100.64.0.1]: SASL LOGIN authentication failed";
	rep.report_id = id;
	rep.n_events = 1;
	rep.events = &evp;
	p.body_case = BANCLUSTER__PAYLOAD__BODY_REPORT;
	p.report = &rep;
	if (bc_wire_seal(sg, BANCLUSTER__MSG_TYPE__MSG_REPORT, &p, &buf, len) < 0)
		die("seal");
	return buf;
}

/* BATCHED_EVENTS in reports of BATCH events from n agents at once, each
 * with one report in flight (as agents do): a fleet's intake. Each agent
 * seals its next report while its last one is out, as the agents of a
 * fleet do on their own hosts: the coordinator does not wait for this
 * one process to seal four reports in a row. */
static void batched_agents(void **ss, struct bc_signer *sgs, size_t n,
			   struct bc_keyring *kr, uint64_t *first_id)
{
	Bancluster__Event **evp = events(BATCH, 0);
	size_t total = BATCHED_EVENTS / BATCH, sent = 0, acked = 0, k;
	uint64_t next[AGENTS_MAX];
	zmq_pollitem_t it[AGENTS_MAX];
	uint8_t *pre[AGENTS_MAX] = {NULL};
	size_t prelen[AGENTS_MAX];

	for (k = 0; k < n; k++) {
		next[k] = *first_id; /* above the warm-up's and earlier ones */
		it[k] = (zmq_pollitem_t){ss[k], 0, ZMQ_POLLIN, 0};
	}
	for (k = 0; k < n && sent < total; k++, sent++)
		send_report(ss[k], &sgs[k], next[k], evp, BATCH);
	for (k = 0; k < n; k++)
		pre[k] = seal_report(&sgs[k], next[k] + 1, evp, BATCH, &prelen[k]);
	while (acked < total) {
		if (zmq_poll(it, (int)n, 30000) <= 0)
			die("no ack in 30 s");
		for (k = 0; k < n; k++) {
			Bancluster__Payload *r;
			struct bc_peer *from;
			zmq_msg_t m;
			int done;

			if (!(it[k].revents & ZMQ_POLLIN))
				continue;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, ss[k], ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				continue;
			}
			/* one coordinator counter across the agents' acks, read
			 * here out of its order: each agent has its own guard */
			kr->v[0].last_counter[BC_CHAN_DEALER] = 0;
			if (bc_wire_open(kr, zmq_msg_data(&m), zmq_msg_size(&m),
					 BC_WIRE_MAX_FRAME, 1u << BANCLUSTER__MSG_TYPE__MSG_ACK,
					 BC_CHAN_DEALER, BC_CLUSTER_DEFAULT, bc_now_ms(), &r,
					 &from) != BC_REJ_OK) {
				zmq_msg_close(&m);
				continue;
			}
			done = r->ack->report_id == next[k];
			bancluster__payload__free_unpacked(r, NULL);
			zmq_msg_close(&m);
			if (!done)
				continue;
			acked++;
			next[k]++;
			if (sent < total) {
				zmq_send(ss[k], pre[k], prelen[k], 0);
				free(pre[k]);
				sent++;
				pre[k] = seal_report(&sgs[k], next[k] + 1, evp, BATCH,
						     &prelen[k]);
			}
		}
	}
	for (k = 0; k < n; k++) {
		free(pre[k]); /* sealed, never sent: its id is skipped */
		if (next[k] + 1 > *first_id)
			*first_id = next[k] + 1;
	}
}

/*
 * Many agents' worth of single-event reports: sealed up front, sent with
 * up to `window` in flight (one per agent that has a report out), acks
 * taken as they come (the coordinator verifies, stores, counts and signs
 * each) and checked once the clock is stopped: each must be the
 * coordinator's signed ack, else the figure is not printed.
 */
static void single(void *s, struct bc_signer *sg, struct bc_keyring *kr,
		   uint64_t *id, size_t window)
{
	uint8_t **frames = calloc(SINGLE_REPORTS, sizeof(*frames));
	size_t *lens = calloc(SINGLE_REPORTS, sizeof(*lens)), sent = 0,
	       acked = 0, good = 0, i;
	zmq_msg_t *acks = calloc(SINGLE_REPORTS, sizeof(*acks));
	int64_t t0, t1;

	if (frames == NULL || lens == NULL || acks == NULL)
		die("oom");
	for (i = 0; i < SINGLE_REPORTS; i++)
		frames[i] = seal_one(sg, (*id)++, (uint32_t)i, &lens[i]);
	t0 = bc_mono_ms();
	while (acked < SINGLE_REPORTS) {
		while (sent < SINGLE_REPORTS && sent - acked < window) {
			zmq_send(s, frames[sent], lens[sent], 0);
			sent++;
		}
		zmq_msg_init(&acks[acked]);
		if (zmq_msg_recv(&acks[acked], s, 0) < 0)
			die("recv");
		acked++;
	}
	t1 = bc_mono_ms();
	for (i = 0; i < SINGLE_REPORTS; i++) {
		Bancluster__Payload *r;
		struct bc_peer *from;

		if (bc_wire_open(kr, zmq_msg_data(&acks[i]), zmq_msg_size(&acks[i]),
				 BC_WIRE_MAX_FRAME, 1u << BANCLUSTER__MSG_TYPE__MSG_ACK,
				 BC_CHAN_DEALER, BC_CLUSTER_DEFAULT, bc_now_ms(), &r,
				 &from) == BC_REJ_OK) {
			good++;
			bancluster__payload__free_unpacked(r, NULL);
		}
		zmq_msg_close(&acks[i]);
		free(frames[i]);
	}
	free(acks);
	free(frames);
	free(lens);
	if (good != SINGLE_REPORTS) {
		fprintf(stderr, "bench_intake: %zu of %d acks were the coordinator's\n",
			good, SINGLE_REPORTS);
		exit(1);
	}
	printf("  single-event reports, %3zu in flight: %8.0f reports/s (Ed25519 verify alone: ~10,000/s a core)\n",
	       window, SINGLE_REPORTS * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1));
}

int main(void)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char path[512], ep[64], cmd[1024], err[256];
	static struct bc_signer sgs[AGENTS_MAX];
	struct bc_keyring kr = {0};
	struct bc_peer cp;
	void *ctx, *s, *ss[AGENTS_MAX];
	/* BC_BENCH_AGENTS=N: the batched figure alone, N agents at once;
	 * unset: one agent, then FLEET_AGENTS at once, then the rest */
	size_t nag = getenv("BC_BENCH_AGENTS") ? strtoul(getenv("BC_BENCH_AGENTS"), NULL, 10) : 0;
	size_t nkeys;
	char agents_txt[64];
	pid_t pid;
	int64_t t0, t1;
	uint64_t id = 1;
	size_t i;
	int port = PORT_BASE + (int)(getpid() % 1000);
	int timeout = 30000;

	if (getenv("BC_BENCH_AGENTS") != NULL && (nag < 1 || nag > AGENTS_MAX))
		die("BC_BENCH_AGENTS: 1 to 16");
	nkeys = nag ? nag : FLEET_AGENTS;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		die("init");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/agents.d %s/admins.d && %s/bancluster keygen --out %s/coord >/dev/null",
		 dir, dir, b, dir);
	if (system(cmd) != 0)
		die(cmd);
	for (i = 0; i < nkeys; i++) {
		snprintf(cmd, sizeof(cmd), "%s/bancluster keygen --out %s/agents.d/bench%zu >/dev/null && mv %s/agents.d/bench%zu.key %s/",
			 b, dir, i, dir, i, dir);
		if (system(cmd) != 0)
			die(cmd);
	}
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	snprintf(path, sizeof(path), "%s/c.ini", dir);
	{
		FILE *f = fopen(path, "w");

		if (f == NULL)
			die("ini");
		fprintf(f, "[coordinator]\nlisten = %s\npublish = tcp://127.0.0.1:%d\n"
			   "key = coord.key\nagents_dir = agents.d\nadmins_dir = admins.d\n"
			   "database = c.db\n[policy]\nmaxretry = 1000\nmax_tracked = 10000000\n"
			   "report_rate = 100000000\n",
			ep, port + 1);
		/* BC_BENCH_ETCD=URLS (with BC_BENCH_ETCD_CERT, _KEY, _CA): the
		 * same coordinator in cluster mode, every drain's events put
		 * to that etcd before the ack (bench/cluster.sh sets them) */
		if (getenv("BC_BENCH_ETCD") != NULL)
			fprintf(f, "[cluster]\netcd = %s\netcd_cert = %s\n"
				   "etcd_key = %s\netcd_ca = %s\nname = bench%d\n",
				getenv("BC_BENCH_ETCD"),
				getenv("BC_BENCH_ETCD_CERT") ? getenv("BC_BENCH_ETCD_CERT") : "",
				getenv("BC_BENCH_ETCD_KEY") ? getenv("BC_BENCH_ETCD_KEY") : "",
				getenv("BC_BENCH_ETCD_CA") ? getenv("BC_BENCH_ETCD_CA") : "",
				port);
		fclose(f);
	}
	pid = fork();
	if (pid == 0) {
		char bin[512];

		snprintf(bin, sizeof(bin), "%s/bancluster-coordinator", b);
		if (getenv("BC_BENCH_LOG") == NULL && freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(bin, bin, "-c", path, (char *)NULL);
		_exit(127);
	}
	coord_pid = pid;
	/* cluster mode reads etcd before it listens */
	usleep(getenv("BC_BENCH_ETCD") != NULL ? 3000 * 1000 : 500 * 1000);
	memset(sgs, 0, sizeof(sgs));
	for (i = 0; i < nkeys; i++) {
		snprintf(path, sizeof(path), "%s/bench%zu.key", dir, i);
		if (bc_key_load_secret(&sgs[i].key, path, err, sizeof(err)) < 0)
			die(err);
		snprintf(sgs[i].cluster, sizeof(sgs[i].cluster), "%s", BC_CLUSTER_DEFAULT);
		snprintf(sgs[i].sender, sizeof(sgs[i].sender), "bench%zu", i);
		bc_counter_open(&sgs[i].counter, NULL, err, sizeof(err));
	}
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	snprintf(path, sizeof(path), "%s/coord.pub", dir);
	if (bc_key_load_public(&cp, path, err, sizeof(err)) < 0)
		die(err);
	bc_keyring_add(&kr, &cp);
	ctx = zmq_ctx_new();
	for (i = 0; i < nkeys; i++) {
		ss[i] = zmq_socket(ctx, ZMQ_DEALER);
		bc_zsock_options(ss[i], BC_WIRE_MAX_FRAME, 1000);
		bc_zsock_curve_client(ss[i], &sgs[i].key, &kr.v[0]);
		zmq_setsockopt(ss[i], ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
		zmq_connect(ss[i], ep);
	}
	s = ss[0];

	printf("coordinator intake (every event verified, stored in SQLite and counted; signatures checked on both cores%s):\n",
	       getenv("BC_BENCH_ETCD") ? "; cluster mode: put to etcd before the ack, counted from the watch" : "");
	for (i = 0; i < nkeys; i++)
		report(ss[i], &sgs[i], &kr, 1, 10, 0); /* warm up each connection */
	if (nag <= 1) {
		/* one agent, one report in flight: each report waits for the
		 * last one's ack (1,000,000 addresses, one event each) */
		t0 = bc_mono_ms();
		for (i = 0; i < BATCHED_EVENTS / BATCH; i++)
			report(s, &sgs[0], &kr, id + 1 + i, BATCH, (uint32_t)(i * BATCH));
		t1 = bc_mono_ms();
		id += 1 + BATCHED_EVENTS / BATCH;
		printf("  batched reports of %d events, 1 agent: %10.0f events/s (%d events in %lld ms)\n",
		       BATCH, BATCHED_EVENTS * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1),
		       BATCHED_EVENTS, (long long)(t1 - t0));
	}
	if (nag != 1) {
		/* a fleet: every agent with its report in flight (5,000
		 * addresses, each in every report) */
		size_t n = nag ? nag : FLEET_AGENTS;

		id++;
		t0 = bc_mono_ms();
		batched_agents(ss, sgs, n, &kr, &id);
		t1 = bc_mono_ms();
		snprintf(agents_txt, sizeof(agents_txt), ", %zu agents", n);
		printf("  batched reports of %d events%s: %10.0f events/s (%d events in %lld ms)\n",
		       BATCH, agents_txt,
		       BATCHED_EVENTS * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1),
		       BATCHED_EVENTS, (long long)(t1 - t0));
	}
	if (getenv("BC_BENCH_ETCD") != NULL || nag > 1) { /* the batched figure only */
		for (i = 0; i < nkeys; i++)
			zmq_close(ss[i]);
		zmq_ctx_term(ctx);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		return system(cmd) == 0 ? 0 : 1;
	}
	/* as many agents as reports in flight: 64, then 256 */
	single(s, &sgs[0], &kr, &id, WINDOW);
	single(s, &sgs[0], &kr, &id, WINDOW_MANY);
	for (i = 0; i < nkeys; i++)
		zmq_close(ss[i]);
	zmq_ctx_term(ctx);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	{ /* memory per tracked address, in-process */
		struct bc_policy_cfg pc;
		struct bc_policy *p;
		struct mallinfo2 m0, m1;

		bc_policy_cfg_defaults(&pc);
		pc.max_tracked = TRACKED;
		m0 = mallinfo2();
		p = bc_policy_new(&pc);
		for (i = 0; i < TRACKED; i++) {
			struct bc_policy_event e;
			uint8_t a[4] = {100, (uint8_t)(64 + (i >> 16)), (uint8_t)(i >> 8),
					(uint8_t)i};

			memset(&e, 0, sizeof(e));
			e.time_ms = 1000;
			e.kind = 1;
			bc_addr_from_bin(&e.addr, AF_INET, a, 32);
			bc_policy_event(p, &e, 1000, NULL);
		}
		m1 = mallinfo2();
		printf("  policy table, %d addresses tracked: %.0f bytes per address\n",
		       TRACKED, (double)(m1.uordblks - m0.uordblks) / TRACKED);
		bc_policy_free(&p);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		die(cmd);
	bc_keyring_free(&kr);
	return 0;
}
