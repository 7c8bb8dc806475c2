/*
 * init.h - the agent's first set-up (init.c): `bancluster-agent -c
 * agent.ini --init` makes the key agent.ini names and prints what the
 * admin enrols on the coordinator; `--coordinator-key PUBKEY` installs
 * the coordinator's public key where agent.ini expects it.
 */
#ifndef BC_AGENT_INIT_H
#define BC_AGENT_INIT_H

#include "common/daemon.h"

/*
 * Do what o asks (init and/or coordinator_key) for the agent.ini at
 * cfgpath; prints the outcome on stdout, a failure as one line on
 * stderr. Returns the exit status: 0, or 1 (nothing overwritten).
 */
int bc_agent_init(const char *cfgpath, const struct bc_daemon_opts *o);

#endif
