/*
 * main.c - the bancluster command line: global options (-c cli.ini,
 * --help, --version), then dispatch to the command.
 *
 *   bancluster [-c cli.ini] COMMAND [ARGS]    (cli.c holds the usage)
 *
 * Admin commands (ban, unban, list, status, show, audit fleet, allow:
 * cmd_ban.c, cmd_show.c, cmd_allow.c; agent and admin add/remove/list:
 * cmd_keys.c) load cli.ini and the keys on their first request
 * (request.c); keygen and report (cmd_local.c), replay (replay.c) and
 * audit smtp (audit_smtp.c) need neither. Arguments are untrusted: a bad
 * one ends the program with one line naming it and EX_USAGE (64). The
 * exit status is the command's (cli.h).
 */
#include <getopt.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/audit_smtp.h"
#include "cli/cli.h"
#include "cli/replay.h"
#include "common/log.h"
#include "common/version.h"

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

int main(int argc, char **argv)
{
	struct bc_cli c;
	const char *cmd;
	int i = 1, rc;

	memset(&c, 0, sizeof(c));
	c.cfgpath = BC_CLI_INI_DEFAULT;
	bc_log_init("bancluster", BC_LOG_WARN);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				bc_cli_usage_exit("%s: missing FILE", argv[i]);
			c.cfgpath = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			bc_cli_usage_to(stdout, 0);
		} else if (strcmp(argv[i], "-V") == 0 ||
			   strcmp(argv[i], "--version") == 0) {
			version();
		} else {
			bc_cli_usage_exit("unknown option \"%s\"", argv[i]);
		}
	}
	if (i >= argc)
		bc_cli_usage();
	if (sodium_init() < 0)
		bc_fatal(BC_EXIT_ERROR, "libsodium failed to initialise");
	cmd = argv[i];
	argc -= i;
	argv += i;
	optind = 1;
	if (strcmp(cmd, "audit") != 0 || argc < 2 || strcmp(argv[1], "smtp") != 0)
		bc_cli_command_help(cmd, argc, argv); /* audit smtp has its own */
	if (strcmp(cmd, "keygen") == 0)
		rc = bc_cmd_keygen(argc, argv);
	else if (strcmp(cmd, "ban") == 0)
		rc = bc_cmd_ban(&c, argc, argv);
	else if (strcmp(cmd, "unban") == 0)
		rc = bc_cmd_unban(&c, argc, argv);
	else if (strcmp(cmd, "list") == 0)
		rc = bc_cmd_list(&c, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = bc_cmd_status(&c, argc, argv);
	else if (strcmp(cmd, "show") == 0)
		rc = bc_cmd_show(&c, argc, argv);
	else if (strcmp(cmd, "allow") == 0)
		rc = bc_cmd_allow(&c, argc, argv);
	else if (strcmp(cmd, "replay") == 0)
		rc = bc_replay_main(argc, argv);
	else if (strcmp(cmd, "report") == 0)
		rc = bc_cmd_report(argc, argv);
	else if (strcmp(cmd, "agent") == 0)
		rc = bc_cmd_agent(&c, argc, argv);
	else if (strcmp(cmd, "admin") == 0)
		rc = bc_cmd_admin(&c, argc, argv);
	else if (strcmp(cmd, "audit") == 0 && argc >= 2 &&
		 strcmp(argv[1], "smtp") == 0)
		rc = bc_audit_smtp_main(argc - 1, argv + 1);
	else if (strcmp(cmd, "audit") == 0 && argc >= 2 &&
		 strcmp(argv[1], "fleet") == 0)
		rc = bc_cmd_audit_fleet(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "audit") == 0)
		bc_cli_usage_exit("audit: expected \"fleet\" or \"smtp\"");
	else
		bc_cli_usage_exit("unknown command \"%s\"", cmd);
	bc_cli_free(&c);
	return rc;
}
