/*
 * daemon.c - command line and signals of bancluster-agent and
 * bancluster-coordinator.
 */
#include "daemon.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *f, const char *prog, const char *cfgpath,
		  bool coordinator, bool full)
{
	fprintf(f, "usage: %s [-c FILE] [--check-config]\n", prog);
	if (coordinator)
		fprintf(f, "       %s [-c FILE] [--init [--user NAME]] "
			   "[--admin NAME PUBKEY]\n"
			   "       %s [-c FILE] --cluster-import\n", prog, prog);
	else
		fprintf(f, "       %s [-c FILE] [--init] [--coordinator-key "
			   "PUBKEY]\n", prog);
	fprintf(f, "       %s --version | --help\n", prog);
	if (!full)
		return;
	fprintf(f,
		"  -c, --config FILE  the configuration (default %s)\n"
		"      --check-config check the configuration and the keys,\n"
		"                     directories and user it names as start\n"
		"                     does; print \"FILE: OK (...)\" and exit 0, or\n"
		"                     the first error (FILE:LINE: [section] key:\n"
		"                     reason) and exit 1\n", cfgpath);
	if (coordinator)
		fprintf(f,
			"      --init         make the coordinator's key where [coordinator]\n"
			"                     key says (never over an existing one), owned by\n"
			"                     --user (default bancluster when it exists), and\n"
			"                     print its public key and fingerprint\n"
			"      --admin NAME PUBKEY  enrol the first admin: write\n"
			"                     admins_dir/NAME.pub (PUBKEY: what `bancluster\n"
			"                     keygen` printed, or the .pub file's line)\n"
			"      --cluster-import  copy the active bans and offence history of\n"
			"                     [coordinator] database into the etcd of\n"
			"                     [cluster] (docs/ha.md), once, before the\n"
			"                     cluster's first decision; print what it did\n");
	else
		fprintf(f,
			"      --init         make this agent's key where [agent] key says\n"
			"                     (never over an existing one), owned by [agent]\n"
			"                     user, mode 0600; print its public key, its\n"
			"                     fingerprint and the `bancluster agent add` line\n"
			"      --coordinator-key PUBKEY  write the coordinator's public key\n"
			"                     where [agent] coordinator_key says (PUBKEY: what\n"
			"                     --init or `agent add` printed on the coordinator)\n");
	fprintf(f,
		"  -V, --version      the version, the wire protocol and the libraries\n"
		"  -h, --help         this text\n"
		"Exit: 0 ok, 1 error, 64 bad command line. Manual: man 8 %s\n",
		prog);
}

static void bad_usage(const char *prog, const char *cfgpath, bool coordinator,
		      const char *what, const char *arg)
{
	if (what != NULL)
		fprintf(stderr, "%s: %s%s%s%s\n", prog, what, arg ? " \"" : "",
			arg ? arg : "", arg ? "\"" : "");
	usage(stderr, prog, cfgpath, coordinator, false);
	exit(EX_USAGE);
}

void bc_daemon_args(int argc, char **argv, const char *prog,
		    const struct bc_version_lib *libs, size_t nlibs,
		    const char **cfgpath, struct bc_daemon_opts *o)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"init", no_argument, NULL, 'I'},
		{"coordinator-key", required_argument, NULL, 'K'},
		{"admin", required_argument, NULL, 'A'},
		{"user", required_argument, NULL, 'U'},
		{"cluster-import", no_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	const char *def = *cfgpath;
	bool coord = o->coordinator;
	int ch;

	memset(o, 0, sizeof(*o));
	o->coordinator = coord;
	while ((ch = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		if (ch == 'c') {
			*cfgpath = optarg;
		} else if (ch == 'C') {
			o->check = true;
		} else if (ch == 'V') {
			bc_version_print(stdout, prog, libs, nlibs);
			exit(fflush(stdout) == 0 ? 0 : 1);
		} else if (ch == 'h') {
			usage(stdout, prog, def, coord, true);
			exit(fflush(stdout) == 0 ? 0 : 1);
		} else if (ch == 'I') {
			o->init = true;
		} else if (ch == 'K' && !coord) {
			o->coordinator_key = optarg;
		} else if (ch == 'A' && coord) {
			o->admin_name = optarg;
		} else if (ch == 'U' && coord) {
			o->user = optarg;
		} else if (ch == 'M' && coord) {
			o->cluster_import = true;
		} else if (ch == 'K' || ch == 'A' || ch == 'U' || ch == 'M') {
			bad_usage(prog, def, coord, "unknown option", argv[optind - 1]);
		} else {
			bad_usage(prog, def, coord, NULL, NULL); /* getopt said what */
		}
	}
	/* --admin NAME PUBKEY: the key is the one argument left */
	if (o->admin_name != NULL) {
		if (optind >= argc)
			bad_usage(prog, def, coord, "--admin NAME PUBKEY: missing PUBKEY",
				  NULL);
		o->admin_key = argv[optind++];
	}
	if (optind != argc)
		bad_usage(prog, def, coord, "unexpected argument", argv[optind]);
	if (o->user != NULL && !o->init)
		bad_usage(prog, def, coord, "--user goes with --init", NULL);
	if (o->cluster_import && (o->check || o->init || o->admin_name))
		bad_usage(prog, def, coord,
			  "--cluster-import goes alone (with -c FILE)", NULL);
	if (o->check && (o->init || o->coordinator_key || o->admin_name))
		bad_usage(prog, def, coord,
			  "--check-config does not go with --init, --admin or "
			  "--coordinator-key", NULL);
}

volatile sig_atomic_t bc_stop_flag;
volatile sig_atomic_t bc_reload_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		bc_reload_flag = 1;
	else
		bc_stop_flag = 1;
}

void bc_daemon_signals(void)
{
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
}

void bc_trim_tick(struct bc_trim *t, bool busy, int64_t now_ms)
{
	if (busy) {
		t->last_busy_ms = now_ms;
		if (!t->due)
			t->due_ms = now_ms;
		t->due = true;
	}
	if (t->due && (now_ms - t->last_busy_ms >= BC_TRIM_QUIET_MS ||
		       now_ms - t->due_ms >= BC_TRIM_LATEST_MS)) {
		malloc_trim(0);
		t->due = false;
		t->trims++;
	}
}
