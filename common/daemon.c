/*
 * daemon.c - command line of bancluster-agent and -coordinator.
 */
#include "daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

void bc_daemon_args(int argc, char **argv, const char *prog,
		    const char **cfgpath, bool *check)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	*check = false;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch == 'c')
			*cfgpath = optarg;
		else if (ch == 'C')
			*check = true;
		else
			break;
	}
	if (ch != -1 || optind != argc) {
		fprintf(stderr, "usage: %s -c FILE [--check-config]\n", prog);
		exit(64);
	}
}
