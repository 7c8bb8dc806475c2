/*
 * daemon.c - command line and signals of bancluster-agent and
 * bancluster-coordinator.
 */
#include "daemon.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

static void usage(FILE *f, const char *prog, const char *cfgpath, bool full)
{
	fprintf(f, "usage: %s [-c FILE] [--check-config]\n"
		   "       %s --version | --help\n", prog, prog);
	if (!full)
		return;
	fprintf(f,
		"  -c, --config FILE  the configuration (default %s)\n"
		"      --check-config check the configuration and the keys,\n"
		"                     directories and user it names as start\n"
		"                     does; print \"FILE: OK (...)\" and exit 0, or\n"
		"                     the first error (FILE:LINE: [section] key:\n"
		"                     reason) and exit 1\n"
		"  -V, --version      the version, the wire protocol and the libraries\n"
		"  -h, --help         this text\n"
		"Exit: 0 ok, 1 error, 64 bad command line. Manual: man 8 %s\n",
		cfgpath, prog);
}

void bc_daemon_args(int argc, char **argv, const char *prog,
		    const struct bc_version_lib *libs, size_t nlibs,
		    const char **cfgpath, bool *check)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *def = *cfgpath;
	int ch;

	*check = false;
	while ((ch = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		if (ch == 'c') {
			*cfgpath = optarg;
		} else if (ch == 'C') {
			*check = true;
		} else if (ch == 'V') {
			bc_version_print(stdout, prog, libs, nlibs);
			exit(fflush(stdout) == 0 ? 0 : 1);
		} else if (ch == 'h') {
			usage(stdout, prog, def, true);
			exit(fflush(stdout) == 0 ? 0 : 1);
		} else {
			break; /* getopt said what is wrong */
		}
	}
	if (ch != -1 || optind != argc) {
		if (ch == -1)
			fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog,
				argv[optind]);
		usage(stderr, prog, def, false);
		exit(EX_USAGE);
	}
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
		t->due = true;
		return;
	}
	if (t->due && now_ms - t->last_busy_ms >= BC_TRIM_QUIET_MS) {
		malloc_trim(0);
		t->due = false;
		t->trims++;
	}
}
