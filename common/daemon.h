/*
 * daemon.h - the command line both daemons share:
 *   PROG [-c FILE] [--check-config]
 * Bad usage prints one line of usage and exits 64.
 */
#ifndef BC_DAEMON_H
#define BC_DAEMON_H

#include <stdbool.h>

void bc_daemon_args(int argc, char **argv, const char *prog,
		    const char **cfgpath, bool *check);

#endif
