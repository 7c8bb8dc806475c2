/*
 * cli.c - what every bancluster command shares (cli.h): the usage table
 * with each command's arguments, the exits on a bad argument or a failed
 * request, the reply check and the time formats.
 *
 * These helpers end the program (exit status in cli.h) and are for the
 * commands only. Text the coordinator sends back is escaped
 * (bc_printable) before it reaches the terminal.
 */
#include "cli/cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

/* Each command's arguments; "bancluster COMMAND --help" prints its own. */
static const struct {
	const char *cmd;
	const char *args;
	const char *valued[5]; /* options that take the next argument */
} commands[] = {
	{"keygen", "keygen --out PATH", {"--out", "-o"}},
	{"ban", "ban ADDR[/LEN] [--for DURATION|permanent] [--reason TEXT] [--force]",
	 {"--for", "--reason"}},
	{"unban", "unban ADDR[/LEN] [--covering] [--fleet-only|--local-only]", {NULL}},
	{"list", "list [--active] [--manual] [--since DURATION] [--local] [--json]",
	 {"--since"}},
	{"show", "show ADDR [--json]", {NULL}},
	{"allow", "allow add ADDR[/LEN] [--for DURATION] [--comment TEXT]",
	 {"--for", "--comment"}},
	{"allow", "allow list [--json]", {NULL}},
	{"allow", "allow remove ADDR[/LEN]", {NULL}},
	{"status", "status [--json]", {NULL}},
	{"audit", "audit fleet [--json]", {NULL}},
	{"audit", "audit smtp HOST[:PORT] [options]   (bancluster audit smtp --help)",
	 {NULL}},
	{"replay", "replay [--format FMT] [--config INI] [--max-addresses N]\n"
		   "         [--print-matched|--print-missed] FILE [--json]",
	 {"--format", "--config", "--max-addresses"}},
	{"report", "report ADDR --kind KIND [--count N] [--service NAME] [--socket PATH]",
	 {"--kind", "--count", "--service", "--socket"}},
	{"agent", "agent add NAME PUBKEY", {NULL}},
	{"agent", "agent remove NAME", {NULL}},
	{"agent", "agent list [--json]", {NULL}},
	{"admin", "admin add NAME PUBKEY", {NULL}},
	{"admin", "admin remove NAME", {NULL}},
	{"admin", "admin list [--json]", {NULL}},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void bc_cli_usage_exit(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bancluster: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_USAGE);
}

void bc_cli_usage_to(FILE *f, int status)
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
			BC_CLI_INI_DEFAULT);
	exit(status);
}

void bc_cli_usage(void)
{
	bc_cli_usage_to(stderr, EX_USAGE);
}

void bc_cli_command_help(const char *cmd, int argc, char **argv)
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

Bancluster__Payload *bc_cli_call(struct bc_cli *c, Bancluster__AdminReq *rq)
{
	Bancluster__Payload *r;
	char err[PATH_MAX + 1024]; /* -c PATH, the endpoint and a reason */
	int status;

	r = bc_cli_request(c, rq, &status, err, sizeof(err));
	if (r == NULL)
		bc_fatal(status, "%s", err);
	return r;
}

const char *bc_cli_fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *bc_cli_fmt_left(int64_t s, char *buf, size_t len)
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

void bc_cli_parse_addr(const char *s, struct bc_addr *a)
{
	char err[256];

	if (bc_addr_parse(a, s, strlen(s), err, sizeof(err)) < 0)
		bc_cli_usage_exit("%s", err);
}

int bc_cli_check_reply(Bancluster__Payload *r)
{
	char e[BC_WIRE_MAX_TEXT * 2];

	if (r->admin_reply->code == 0)
		return 0;
	bc_printable(e, sizeof(e), r->admin_reply->error,
		  strlen(r->admin_reply->error));
	fprintf(stderr, "bancluster: %s\n", e);
	return BC_EXIT_ERROR;
}

Bancluster__Payload *bc_cli_ask(struct bc_cli *c, Bancluster__AdminReq *rq,
			       int *rc)
{
	Bancluster__Payload *r = bc_cli_call(c, rq);

	*rc = bc_cli_check_reply(r);
	if (*rc == 0)
		return r;
	bancluster__payload__free_unpacked(r, NULL);
	return NULL;
}

void bc_cli_addr_text(uint32_t family, const ProtobufCBinaryData *bin,
		      uint32_t plen, char *addr, size_t alen)
{
	struct bc_addr a;

	if (bc_wire_addr(family, bin, plen, &a) == 0)
		bc_addr_format(&a, addr, alen);
	else
		snprintf(addr, alen, "?");
}

void bc_cli_ban_text(const Bancluster__Ban *b, char *addr, size_t alen)
{
	bc_cli_addr_text(b->family, &b->addr, b->plen, addr, alen);
}

int bc_cli_json_flag(int argc, char **argv, const char *cmd)
{
	int i, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "bancluster: %s: unknown argument \"%s\"\n",
				cmd, argv[i]);
			exit(EX_USAGE);
		}
	}
	return json;
}
