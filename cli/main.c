/*
 * main.c - the bancluster command line: keys, manual bans, listings,
 * status, audits and replay.
 *
 * Arguments are untrusted in the sense that every one is parsed strictly
 * and a bad one ends the program with a one-line error naming it and
 * exit status 64. Admin commands are signed with the admin key and sent
 * to the coordinator over CurveZMQ; replies are verified against the
 * pinned coordinator key and must echo the request's random nonce.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli/audit_smtp.h"
#include "proto/localmsg.h"
#include "logparse/parse.h"
#include "cli/cli.h"
#include "cli/replay.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/version.h"
#include "common/zsock.h"

#define DEFAULT_CLI_INI "/etc/bancluster/cli.ini"
#define DEFAULT_BAN_S (3 * 3600)
#define REASON_MAX 200

#define K(...) BC_CFG_KEY(struct bc_cli_cfg, __VA_ARGS__)

static const struct bc_cfg_key cli_keys[] = {
	K("cli", "coordinator", BC_CFG_ENDPOINT, coordinator, 0, 0, NULL),
	K("cli", "key", BC_CFG_PATH, key, 1, 0, NULL),
	K("cli", "coordinator_key", BC_CFG_PATH, coordinator_key, 1, 0, NULL),
	K("cli", "cluster", BC_CFG_STR, cluster, 1, 63, BC_CLUSTER_DEFAULT),
	K("cli", "timeout", BC_CFG_DUR, timeout, 1, 600, "5s"),
};

static void usage_exit(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void usage_exit(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bancluster: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(BC_EXIT_USAGE);
}

/* Each command's arguments; "bancluster COMMAND --help" prints its own. */
static const struct {
	const char *cmd;
	const char *args;
	const char *valued[5]; /* options that take the next argument */
} commands[] = {
	{"keygen", "keygen --out PATH", {"--out", "-o"}},
	{"ban", "ban ADDR[/LEN] [--for DURATION|permanent] [--reason TEXT] [--force]",
	 {"--for", "--reason"}},
	{"unban", "unban ADDR[/LEN]", {NULL}},
	{"list", "list [--active] [--manual] [--since DURATION] [--json]",
	 {"--since"}},
	{"show", "show ADDR [--json]", {NULL}},
	{"status", "status [--json]", {NULL}},
	{"audit", "audit fleet [--json]", {NULL}},
	{"audit", "audit smtp HOST[:PORT] [options]   (bancluster audit smtp --help)",
	 {NULL}},
	{"replay", "replay [--format FMT] [--config INI] [--max-addresses N]\n"
		   "         [--print-matched|--print-missed] FILE [--json]",
	 {"--format", "--config", "--max-addresses"}},
	{"report", "report ADDR --kind KIND [--count N] [--service NAME] [--socket PATH]",
	 {"--kind", "--count", "--service", "--socket"}},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The usage: on stdout with exit 0 when asked for, else stderr and 64. */
static void usage_to(FILE *f, int status)
{
	size_t i;

	fprintf(f, "usage: bancluster [-c cli.ini] COMMAND [ARGS]\n"
		   "       bancluster --version | --help\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].args);
	if (status == 0)
		fprintf(f, "-c: default %s (admin commands only). COMMAND --help: "
			   "that command's usage.\nExit: 0 ok, 1 refused or "
			   "failed, 64 bad command line, 69 no answer,\n78 bad "
			   "cli.ini or key. Manual: man 1 bancluster\n",
			DEFAULT_CLI_INI);
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, BC_EXIT_USAGE);
}

/*
 * "bancluster COMMAND ... --help" (or -h) anywhere among the command's
 * arguments, except as the value of an option that takes one: print that
 * command's usage to stdout and exit 0.
 */
static void command_help(const char *cmd, int argc, char **argv)
{
	size_t i, k;
	int j;
	bool found = false, help = false;

	for (i = 0; i < NCOMMANDS && !help; i++) {
		if (strcmp(commands[i].cmd, cmd) != 0)
			continue;
		found = true;
		for (j = 1; j < argc && strcmp(argv[j], "--") != 0; j++) {
			if (strcmp(argv[j], "--help") == 0 ||
			    strcmp(argv[j], "-h") == 0) {
				help = true;
				break;
			}
			for (k = 0; k < 5 && commands[i].valued[k] != NULL; k++)
				if (strcmp(argv[j], commands[i].valued[k]) == 0)
					j++; /* its value */
		}
	}
	if (!found || !help)
		return;
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].cmd, cmd) == 0)
			printf("usage: bancluster [-c cli.ini] %s\n",
			       commands[i].args);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

static void version(void)
{
	const struct bc_version_lib libs[] = {
#ifdef OPENSSL_VERSION_STRING
		{"OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING), true},
#else
		{"OpenSSL", OpenSSL_version(OPENSSL_VERSION), true},
#endif
	};

	bc_version_print(stdout, "bancluster", libs,
			 sizeof(libs) / sizeof(libs[0]));
	exit(fflush(stdout) == 0 ? 0 : 1);
}

void bc_cli_load(struct bc_cli *c)
{
	struct bc_peer cp;
	char err[512];
	char base[256];

	if (c->loaded)
		return;
	if (bc_cfg_load(c->cfgpath, cli_keys, sizeof(cli_keys) / sizeof(cli_keys[0]),
			&c->cfg, NULL, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_CONFIG, "%s", err);
	if (bc_key_load_secret(&c->signer.key, c->cfg.key, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_CONFIG, "%s", err);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_key_load_public(&cp, c->cfg.coordinator_key, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_CONFIG, "%s", err);
	bc_keyring_add(&c->coord, &cp);
	/* the sender id is the admin key's file name: admins_dir/NAME.pub */
	{
		const char *slash = strrchr(c->cfg.key, '/');
		size_t len;

		snprintf(base, sizeof(base), "%s", slash ? slash + 1 : c->cfg.key);
		len = strlen(base);
		if (len > 4 && strcmp(base + len - 4, ".key") == 0)
			base[len - 4] = '\0';
	}
	snprintf(c->signer.sender, sizeof(c->signer.sender), "%.63s", base);
	snprintf(c->signer.cluster, sizeof(c->signer.cluster), "%.63s", c->cfg.cluster);
	if (bc_counter_open(&c->signer.counter, NULL, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_CONFIG, "%s", err);
	c->loaded = 1;
}

Bancluster__Payload *bc_cli_request(struct bc_cli *c, Bancluster__AdminReq *rq)
{
	Bancluster__Payload p = BANCLUSTER__PAYLOAD__INIT, *reply = NULL;
	uint8_t nonce[16], *buf;
	size_t len;
	void *ctx = zmq_ctx_new(), *s;
	int64_t deadline;

	bc_cli_load(c);
	randombytes_buf(nonce, sizeof(nonce));
	rq->nonce.data = nonce;
	rq->nonce.len = sizeof(nonce);
	p.body_case = BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ;
	p.admin_req = rq;
	s = zmq_socket(ctx, ZMQ_DEALER);
	if (s == NULL || bc_zsock_options(s, BC_WIRE_MAX_FRAME, 100) < 0 ||
	    bc_zsock_curve_client(s, &c->signer.key, &c->coord.v[0]) < 0)
		bc_fatal(BC_EXIT_ERROR, "socket: %s", zmq_strerror(errno));
	if (zmq_connect(s, c->cfg.coordinator) < 0)
		bc_fatal(BC_EXIT_CONFIG, "%s: coordinator \"%s\": %s", c->cfgpath,
			 c->cfg.coordinator, zmq_strerror(errno));
	if (bc_wire_seal(&c->signer, BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ, &p,
			 &buf, &len) < 0)
		bc_fatal(BC_EXIT_ERROR, "cannot sign the request");
	zmq_send(s, buf, len, 0);
	free(buf);
	deadline = bc_mono_ms() + c->cfg.timeout * 1000;
	while (reply == NULL) {
		zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
		int64_t left = deadline - bc_mono_ms();
		Bancluster__Payload *r;
		struct bc_peer *from;
		zmq_msg_t m;

		if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			continue;
		}
		if (bc_wire_open(&c->coord, zmq_msg_data(&m), zmq_msg_size(&m),
				 BC_WIRE_MAX_FRAME,
				 1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REPLY,
				 BC_CHAN_DEALER, c->cfg.cluster, bc_now_ms(), &r,
				 &from) == BC_REJ_OK) {
			if (r->admin_reply->nonce.len == sizeof(nonce) &&
			    sodium_memcmp(r->admin_reply->nonce.data, nonce,
					  sizeof(nonce)) == 0)
				reply = r;
			else
				bancluster__payload__free_unpacked(r, NULL);
		}
		zmq_msg_close(&m);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	if (reply == NULL)
		bc_fatal(BC_EXIT_UNAVAIL,
			 "coordinator %s did not answer within %llds "
			 "(is it running, and is this admin key in its admins_dir?)",
			 c->cfg.coordinator, (long long)c->cfg.timeout);
	return reply;
}

static const char *fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* "2h59m", "45m10s", "12s": remaining time for people to read. */
static const char *fmt_left(int64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", (long long)(s / 60),
			 (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

static void parse_addr_arg(const char *s, struct bc_addr *a)
{
	char err[256];

	if (bc_addr_parse(a, s, strlen(s), err, sizeof(err)) < 0)
		usage_exit("%s", err);
}

static int check_reply(Bancluster__Payload *r)
{
	char e[BC_WIRE_MAX_TEXT * 2];

	if (r->admin_reply->code == 0)
		return 0;
	bc_printable(e, sizeof(e), r->admin_reply->error,
		  strlen(r->admin_reply->error));
	fprintf(stderr, "bancluster: %s\n", e);
	return BC_EXIT_ERROR;
}

static void ban_text(const Bancluster__Ban *b, char *addr, size_t alen)
{
	struct bc_addr a;

	if (bc_wire_ban_addr(b, &a) == 0)
		bc_addr_format(&a, addr, alen);
	else
		snprintf(addr, alen, "?");
}

/*
 * The directory PATH.key goes into: made (mode 0750) when it is missing
 * and its own parent exists, as /etc/bancluster on a fresh host; a
 * deeper missing path is named, not created.
 */
static int keygen_dir(const char *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s", out) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "--out: path too long");
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0; /* the current directory or / */
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%.400s: not a directory", dir);
		return -1;
	}
	if (errno != ENOENT || mkdir(dir, 0750) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%.400s: missing, and so is its parent directory: create it first",
				 dir);
		else
			snprintf(err, errlen, "%.400s: %s", dir, strerror(errno));
		return -1;
	}
	fprintf(stderr, "bancluster: created directory %s (mode 0750)\n", dir);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
					  {NULL, 0, NULL, 0}};
	const char *out = NULL;
	char err[512];
	int ch;

	while ((ch = getopt_long(argc, argv, "o:", o, NULL)) != -1) {
		if (ch == 'o')
			out = optarg;
		else
			usage();
	}
	if (out == NULL || optind != argc)
		usage_exit("%s", "keygen: --out PATH is required");
	if (keygen_dir(out, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_ERROR, "keygen: %s", err);
	if (bc_key_generate(out, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_ERROR, "keygen: %s", err);
	printf("wrote %s.key (secret, mode 0600) and %s.pub\n", out, out);
	return 0;
}

static int cmd_ban(struct bc_cli *c, int argc, char **argv)
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
				usage_exit("--for %s", secs == 0 ? "0: must be positive" : err);
			break;
		case 'r':
			reason = optarg;
			if (strlen(reason) > REASON_MAX)
				usage_exit("--reason: longer than %d characters", REASON_MAX);
			break;
		case 'F':
			bc.force = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage_exit("%s", "ban: expected one ADDR[/LEN]");
	parse_addr_arg(argv[optind], &a);
	bc_wire_addr_fill(&a, &b.family, &b.addr, &b.plen);
	b.expires_ms = permanent ? 0 : bc_now_ms() + secs * 1000;
	b.reason = (char *)(uintptr_t)reason;
	b.origin = (char *)"";
	bc.ban = &b;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_BAN;
	rq.ban = &bc;
	r = bc_cli_request(c, &rq);
	rc = check_reply(r);
	if (rc == 0)
		printf("banned %s %s%s (seq %" PRIu64 ")\n",
		       bc_addr_format(&a, as, sizeof(as)),
		       permanent ? "permanently" : "for ",
		       permanent ? "" : bc_duration_format(secs, d, sizeof(d)),
		       r->admin_reply->seq);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

static int cmd_unban(struct bc_cli *c, int argc, char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__UnbanCmd u = BANCLUSTER__UNBAN_CMD__INIT;
	Bancluster__Payload *r;
	struct bc_addr a;
	char as[BC_ADDR_STRLEN];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		usage_exit("%s", "unban: expected one ADDR[/LEN]");
	parse_addr_arg(argv[1], &a);
	bc_wire_addr_fill(&a, &u.family, &u.addr, &u.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_UNBAN;
	rq.unban = &u;
	r = bc_cli_request(c, &rq);
	rc = check_reply(r);
	if (rc == 0)
		printf("unbanned %s (seq %" PRIu64 ")\n",
		       bc_addr_format(&a, as, sizeof(as)), r->admin_reply->seq);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

static int json_flag(int argc, char **argv, const char *cmd)
{
	int i, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "bancluster: %s: unknown argument \"%s\"\n",
				cmd, argv[i]);
			exit(BC_EXIT_USAGE);
		}
	}
	return json;
}

static int cmd_list(struct bc_cli *c, int argc, char **argv)
{
	static const struct option o[] = {
		{"json", no_argument, NULL, 'j'},
		{"active", no_argument, NULL, 'a'},
		{"manual", no_argument, NULL, 'm'},
		{"since", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0}};
	uint64_t offset = 0, total = 0, shown = 0;
	int64_t now = bc_now_ms(), since_s = 0, since_ms = 0;
	int json = 0, manual = 0, ch;
	char err[256];

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
		case 's':
			if (bc_duration_parse(optarg, &since_s, err, sizeof(err)) < 0)
				usage_exit("list --since %s", err);
			since_ms = now - since_s * 1000;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage_exit("list: unexpected argument \"%s\"", argv[optind]);
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
		r = bc_cli_request(c, &rq);
		if (check_reply(r) != 0)
			exit(BC_EXIT_ERROR);
		total = r->admin_reply->total;
		if (offset == 0 && json)
			printf("{\"bans\": [");
		else if (offset == 0)
			printf("%-40s %-20s %-10s %-20s %s\n", "ADDRESS", "EXPIRES",
			       "REMAINING", "ORIGIN", "REASON");
		for (i = 0; i < r->admin_reply->n_bans; i++) {
			const Bancluster__Ban *b = r->admin_reply->bans[i];
			char as[BC_ADDR_STRLEN], t[32], d[32], reason[BC_WIRE_MAX_TEXT * 6],
				origin[BC_WIRE_MAX_TEXT * 6];
			int64_t left = b->expires_ms ? (b->expires_ms - now) / 1000 : 0;

			ban_text(b, as, sizeof(as));
			if (left < 0)
				left = 0;
			if (json) {
				bc_json_escape(reason, sizeof(reason), b->reason, strlen(b->reason));
				bc_json_escape(origin, sizeof(origin), b->origin, strlen(b->origin));
				printf("%s\n  {\"address\": \"%s\", \"permanent\": %s, "
				       "\"expires\": %s%s%s, \"expires_ms\": %" PRId64
				       ", \"remaining_s\": %" PRId64 ", \"created_ms\": %" PRId64
				       ", \"origin\": \"%s\", \"reason\": \"%s\"}",
				       shown ? "," : "", as,
				       b->expires_ms ? "false" : "true",
				       b->expires_ms ? "\"" : "",
				       b->expires_ms ? fmt_time(b->expires_ms, t, sizeof(t)) : "null",
				       b->expires_ms ? "\"" : "", b->expires_ms, left,
				       b->created_ms, origin, reason);
			} else {
				bc_printable(reason, sizeof(reason), b->reason, strlen(b->reason));
				bc_printable(origin, sizeof(origin), b->origin, strlen(b->origin));
				printf("%-40s %-20s %-10s %-20s %s\n", as,
				       b->expires_ms ? fmt_time(b->expires_ms, t, sizeof(t)) : "never",
				       b->expires_ms ? fmt_left(left, d, sizeof(d)) : "-",
				       origin, reason);
			}
			shown++;
		}
		offset += r->admin_reply->n_bans;
		if (r->admin_reply->n_bans == 0)
			offset = total; /* list shrank meanwhile */
		bancluster__payload__free_unpacked(r, NULL);
	} while (offset < total);
	if (json)
		printf("%s], \"total\": %" PRIu64 "}\n", shown ? "\n" : "", shown);
	else
		printf("%" PRIu64 " active ban%s\n", shown, shown == 1 ? "" : "s");
	return 0;
}

static int cmd_status(struct bc_cli *c, int argc, char **argv)
{
	int json = json_flag(argc, argv, "status");
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	Bancluster__AdminReply *ar;
	char t[32];
	size_t i;
	int rc;

	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	r = bc_cli_request(c, &rq);
	rc = check_reply(r);
	if (rc != 0)
		return rc;
	ar = r->admin_reply;
	if (json) {
		printf("{\"coordinator\": {\"address\": \"%s\", \"epoch\": %" PRIu64
		       ", \"seq\": %" PRIu64 ", \"started\": \"%s\", \"bans\": %" PRIu64
		       "},\n \"agents\": [",
		       c->cfg.coordinator, ar->epoch, ar->seq,
		       fmt_time(ar->started_ms, t, sizeof(t)), ar->total);
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];

			printf("%s\n  {\"id\": \"%s\", \"connected\": %s, \"last_seen\": %s%s%s, "
			       "\"applied_epoch\": %" PRIu64 ", \"applied_seq\": %" PRIu64
			       ", \"fleet_count\": %" PRIu64 ", \"events\": %" PRIu64
			       ", \"events_dropped\": %" PRIu64 ", \"in_sync\": %s}",
			       i ? "," : "", a->id, a->connected ? "true" : "false",
			       a->last_seen_ms ? "\"" : "",
			       a->last_seen_ms ? fmt_time(a->last_seen_ms, t, sizeof(t)) : "null",
			       a->last_seen_ms ? "\"" : "", a->applied_epoch,
			       a->applied_seq, a->fleet_count, a->events, a->dropped,
			       a->connected && a->applied_epoch == ar->epoch &&
					       a->applied_seq == ar->seq
				       ? "true"
				       : "false");
		}
		printf("%s]}\n", ar->n_agents ? "\n" : "");
	} else {
		printf("coordinator %s: up since %s, epoch %" PRIu64 ", seq %" PRIu64
		       ", %" PRIu64 " active bans\n",
		       c->cfg.coordinator, fmt_time(ar->started_ms, t, sizeof(t)),
		       ar->epoch, ar->seq, ar->total);
		printf("%-20s %-10s %-22s %-24s %-8s %s\n", "AGENT", "STATE",
		       "LAST SEEN", "APPLIED", "BANS", "EVENTS");
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
			printf("%-20s %-10s %-22s %-24s %-8" PRIu64 " %" PRIu64 "\n",
			       a->id, state,
			       a->last_seen_ms ? fmt_time(a->last_seen_ms, t, sizeof(t)) : "never",
			       ap, a->fleet_count, a->events);
		}
	}
	bancluster__payload__free_unpacked(r, NULL);
	return 0;
}

static const char *kind_name(uint32_t k)
{
	return bc_kind_name((enum bc_kind)k);
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
			       i ? ", " : "", fmt_time(e->time_ms, t, sizeof(t)),
			       e->time_ms, host, kind_name(e->kind), addr, svc, line);
		} else {
			bc_printable(line, sizeof(line), e->line, strlen(e->line));
			bc_printable(host, sizeof(host), e->host, strlen(e->host));
			bc_printable(svc, sizeof(svc), e->service, strlen(e->service));
			bc_printable(addr, sizeof(addr), e->addr, strlen(e->addr));
			printf("%s%s  %-10s %-16s %-18s %-15s %s\n", indent,
			       fmt_time(e->time_ms, t, sizeof(t)), host,
			       kind_name(e->kind), addr, svc, line);
		}
	}
}

/*
 * audit fleet: every agent's kernel read-back against the coordinator.
 * "lagging" can be a heartbeat in flight: ask again a few times. Exit 0
 * when all are in sync, 1 when some only lag, 2 when any drifted or is
 * offline (Nagios-style).
 */
static int cmd_audit_fleet(struct bc_cli *c, int argc, char **argv)
{
	int json = json_flag(argc, argv, "audit fleet");
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
		r = bc_cli_request(c, &rq);
		if (check_reply(r) != 0) {
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
			       ", \"repairs\": %" PRIu64 "}",
			       i ? "," : "", a->id, a->audit,
			       a->connected ? "true" : "false", a->applied_epoch,
			       a->applied_seq, a->fleet_count, a->kernel_count,
			       a->repairs);
		}
		printf("%s]}\n", ar->n_agents ? "\n" : "");
	} else {
		printf("coordinator: epoch %" PRIu64 ", seq %" PRIu64 ", %" PRIu64
		       " active bans\n",
		       ar->epoch, ar->seq, ar->total);
		printf("%-20s %-9s %-16s %-8s %-9s %-8s %s\n", "AGENT", "STATE",
		       "APPLIED", "BANS", "ELEMENTS", "REPAIRS", "LAST SEEN");
		for (i = 0; i < ar->n_agents; i++) {
			const Bancluster__AgentStatus *a = ar->agents[i];
			char ap[48];

			snprintf(ap, sizeof(ap), "%" PRIu64 ":%" PRIu64,
				 a->applied_epoch, a->applied_seq);
			printf("%-20s %-9s %-16s %-8" PRIu64 " %-9" PRIu64 " %-8" PRIu64
			       " %s\n",
			       a->id, a->audit, ap, a->fleet_count, a->kernel_count,
			       a->repairs,
			       a->last_seen_ms ? fmt_time(a->last_seen_ms, t, sizeof(t)) : "never");
		}
		printf("%s\n", worst == 0 ? "all agents in sync"
			       : worst == 1 ? "some agents lag behind"
					    : "some agents drifted or are offline");
	}
	bancluster__payload__free_unpacked(r, NULL);
	return worst;
}

/*
 * report ADDR --kind KIND: hand one event to the agent on this host
 * through its local socket (for fail2ban's bancluster action and other
 * tools). The agent counts it locally and reports it, signed, to the
 * coordinator. No admin key involved.
 */
static int cmd_report(int argc, char **argv)
{
	static const struct option o[] = {
		{"kind", required_argument, NULL, 'k'},
		{"service", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"count", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0}};
	const char *kind = NULL, *service = "report";
	uint64_t count = 1, sent;
	const char *path = "/var/lib/bancluster/" BC_LOCAL_SOCKET;
	struct sockaddr_un sa, self;
	struct bc_event ev;
	struct timeval tv = {2, 0};
	char msg[BC_LOCAL_MSG_MAX + 1], err[200], reply[256];
	ssize_t n;
	int ch, fd, len;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kind = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'S':
			path = optarg;
			break;
		case 'c':
			if (bc_parse_u64(optarg, 1, 1000, &count) < 0)
				usage_exit("report: --count \"%s\": expected 1..1000", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || kind == NULL)
		usage_exit("report: expected ADDR --kind KIND");
	len = snprintf(msg, sizeof(msg), "%s %s %s", argv[optind], kind, service);
	if (len < 0 || len >= (int)sizeof(msg) ||
	    bc_local_parse(msg, (size_t)len, &ev, err, sizeof(err)) < 0)
		usage_exit("report: %s", len >= (int)sizeof(msg) ? "arguments too long" : err);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	    (int)sizeof(sa.sun_path))
		usage_exit("report: --socket \"%s\": path too long", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&self, 0, sizeof(self));
	self.sun_family = AF_UNIX;
	/* autobind: an abstract address the agent can answer to */
	if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		bc_fatal(BC_EXIT_ERROR, "report: socket: %s", strerror(errno));
	for (sent = 0; sent < count; sent++) { /* one event per datagram */
		if (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) < 0)
			bc_fatal(BC_EXIT_UNAVAIL,
				 "report: agent socket %s: %s (is the agent running?)",
				 path, strerror(errno));
		n = recv(fd, reply, sizeof(reply) - 1, 0);
		if (n < 0)
			bc_fatal(BC_EXIT_UNAVAIL, "report: no answer from the agent at %s",
				 path);
		reply[n] = '\0';
		if (strcmp(reply, "ok") != 0) {
			char e[600];

			bc_printable(e, sizeof(e), reply, (size_t)n);
			fprintf(stderr, "bancluster: report: %s\n", e);
			close(fd);
			return BC_EXIT_ERROR;
		}
	}
	close(fd);
	return 0;
}

static int cmd_show(struct bc_cli *c, int argc, char **argv)
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
			usage_exit("show: unexpected argument \"%s\"", argv[i]);
		else
			arg = argv[i];
	}
	if (arg == NULL)
		usage_exit("show: expected ADDR[/LEN]");
	parse_addr_arg(arg, &a);
	bc_wire_addr_fill(&a, &sc.family, &sc.addr, &sc.plen);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_SHOW;
	rq.show = &sc;
	r = bc_cli_request(c, &rq);
	rc = check_reply(r);
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

			ban_text(ar->bans[k], bs, sizeof(bs));
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
			       k ? "," : "", fmt_time(dd->time_ms, t, sizeof(t)),
			       dd->time_ms, dd->action, dd->addr, dd->expires_ms,
			       reason, origin, signer);
			print_items(dd->evidence, dd->n_evidence, 1, "");
			printf("]}");
		}
		printf("],\n \"recent\": [");
		print_items(ar->recent, ar->n_recent, 1, "");
		printf("]}\n");
	} else {
		printf("%s%s\n", as, ar->allowed ? "  (in the allow list: never banned)" : "");
		if (ar->n_bans == 0)
			printf("  not banned\n");
		for (k = 0; k < ar->n_bans; k++) {
			char bs[BC_ADDR_STRLEN];
			int64_t left = (ar->bans[k]->expires_ms - now) / 1000;

			ban_text(ar->bans[k], bs, sizeof(bs));
			if (ar->bans[k]->expires_ms == 0)
				printf("  banned: %s, permanently\n", bs);
			else
				printf("  banned: %s until %s (%s left)\n", bs,
				       fmt_time(ar->bans[k]->expires_ms, t, sizeof(t)),
				       fmt_left(left > 0 ? left : 0, d, sizeof(d)));
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
			printf("    %s %-6s %s", fmt_time(dd->time_ms, t, sizeof(t)),
			       dd->action, dd->addr);
			if (dd->origin[0])
				printf(" by %s", origin);
			if (dd->signer[0] && strcmp(dd->action, "ban") != 0 &&
			    strcmp(dd->action, "extend") != 0)
				printf(" by %s", dd->signer);
			if (dd->expires_ms && (strcmp(dd->action, "ban") == 0 ||
					       strcmp(dd->action, "extend") == 0))
				printf(" until %s", fmt_time(dd->expires_ms, t, sizeof(t)));
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

int main(int argc, char **argv)
{
	struct bc_cli c;
	const char *cmd;
	int i = 1, rc;

	memset(&c, 0, sizeof(c));
	c.cfgpath = DEFAULT_CLI_INI;
	bc_log_init("bancluster", BC_LOG_WARN);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				usage_exit("%s: missing FILE", argv[i]);
			c.cfgpath = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage_to(stdout, 0);
		} else if (strcmp(argv[i], "-V") == 0 ||
			   strcmp(argv[i], "--version") == 0) {
			version();
		} else {
			usage_exit("unknown option \"%s\"", argv[i]);
		}
	}
	if (i >= argc)
		usage();
	if (sodium_init() < 0)
		bc_fatal(BC_EXIT_ERROR, "libsodium failed to initialise");
	cmd = argv[i];
	argc -= i;
	argv += i;
	optind = 1;
	if (strcmp(cmd, "audit") != 0 || argc < 2 || strcmp(argv[1], "smtp") != 0)
		command_help(cmd, argc, argv); /* audit smtp has its own */
	if (strcmp(cmd, "keygen") == 0)
		rc = cmd_keygen(argc, argv);
	else if (strcmp(cmd, "ban") == 0)
		rc = cmd_ban(&c, argc, argv);
	else if (strcmp(cmd, "unban") == 0)
		rc = cmd_unban(&c, argc, argv);
	else if (strcmp(cmd, "list") == 0)
		rc = cmd_list(&c, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&c, argc, argv);
	else if (strcmp(cmd, "show") == 0)
		rc = cmd_show(&c, argc, argv);
	else if (strcmp(cmd, "replay") == 0)
		rc = bc_replay_main(argc, argv);
	else if (strcmp(cmd, "report") == 0)
		rc = cmd_report(argc, argv);
	else if (strcmp(cmd, "audit") == 0 && argc >= 2 &&
		 strcmp(argv[1], "smtp") == 0)
		rc = bc_audit_smtp_main(argc - 1, argv + 1);
	else if (strcmp(cmd, "audit") == 0 && argc >= 2 &&
		 strcmp(argv[1], "fleet") == 0)
		rc = cmd_audit_fleet(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "audit") == 0)
		usage_exit("audit: expected \"fleet\" or \"smtp\"");
	else
		usage_exit("unknown command \"%s\"", cmd);
	bc_keyring_free(&c.coord);
	bc_key_wipe(&c.signer.key);
	return rc;
}
