/*
 * init.h - the coordinator's first set-up (init.c): `bancluster-
 * coordinator -c coordinator.ini --init [--user NAME]` makes its key and
 * prints it; `--admin NAME PUBKEY` enrols the first admin (later ones
 * are added by an admin: `bancluster admin add`).
 */
#ifndef BC_COORD_INIT_H
#define BC_COORD_INIT_H

#include "common/daemon.h"

/*
 * Do what o asks (init and/or admin_name) for the coordinator.ini at
 * cfgpath; the outcome on stdout, a failure as one line on stderr.
 * Returns the exit status: 0, or 1 (nothing overwritten).
 */
int bc_coord_init(const char *cfgpath, const struct bc_daemon_opts *o);

#endif
