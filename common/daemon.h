/*
 * daemon.h - what both daemons share at start-up: the command line
 *   PROG [-c FILE] [--check-config]
 *   bancluster-agent [-c FILE] [--init] [--coordinator-key PUBKEY]
 *   bancluster-coordinator [-c FILE] [--init [--user NAME]] [--admin NAME PUBKEY]
 *   PROG --version | --help
 * and the signal flags. --help prints the usage to stdout and --version
 * the version, the wire protocol and the libraries (common/version.h),
 * both exiting 0. Bad usage (unknown option, missing argument, extra
 * argument) prints the usage to stderr and exits 64 (EX_USAGE of
 * <sysexits.h>): start-up code, the one place here that prints and exits.
 * The two flags are the only mutable globals (STYLE.md).
 */
#ifndef BC_DAEMON_H
#define BC_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/version.h"

/* Set by the handlers bc_daemon_signals installs: SIGTERM/SIGINT ask the
 * loop to stop, SIGHUP to reload. The loop reads and clears them. */
extern volatile sig_atomic_t bc_stop_flag;
extern volatile sig_atomic_t bc_reload_flag;

/* SIGTERM, SIGINT -> bc_stop_flag; SIGHUP -> bc_reload_flag; SIGPIPE
 * ignored (a peer that went away is an error return, not a death). */
void bc_daemon_signals(void);

/*
 * What the command line asked besides starting. The caller sets
 * coordinator (true for bancluster-coordinator) before the call; the
 * rest is filled in. The first set-up options (enrolment,
 * docs/operations.md) are acted on by agent/init.c and coordinator/init.c;
 * --check-config goes with none of them, --user only with --init, and
 * each program refuses the other's (EX_USAGE).
 */
struct bc_daemon_opts {
	bool coordinator;            /* in: which program's options */
	bool check;                  /* --check-config */
	bool init;                   /* --init: make the key */
	const char *coordinator_key; /* agent: --coordinator-key PUBKEY */
	const char *admin_name;      /* coordinator: --admin NAME PUBKEY */
	const char *admin_key;
	const char *user;            /* coordinator: --init --user NAME */
	bool cluster_import;         /* coordinator: --cluster-import */
};

/* *cfgpath holds the default on entry (shown by --help). */
void bc_daemon_args(int argc, char **argv, const char *prog,
		    const struct bc_version_lib *libs, size_t nlibs,
		    const char **cfgpath, struct bc_daemon_opts *o);

/*
 * Freed heap back to the kernel after a burst. glibc keeps what a burst
 * freed (a report's worth of events, a snapshot, ZeroMQ's messages) in
 * its arenas, so a daemon's resident memory stays at its peak. Call
 * bc_trim_tick every loop turn with whether the turn did work; once
 * BC_TRIM_QUIET_MS pass without work after some, it calls malloc_trim(0)
 * once (all arenas; a few hundred microseconds on a small heap); and at
 * the latest BC_TRIM_LATEST_MS after the first work, so that a daemon
 * that is never quiet for a whole second (the agent hears from its
 * coordinators every second) gives its heap back all the same.
 */
#define BC_TRIM_QUIET_MS 1000
#define BC_TRIM_LATEST_MS 10000
struct bc_trim {
	int64_t last_busy_ms;
	bool due;
	uint64_t trims;   /* malloc_trim calls so far */
	int64_t due_ms;   /* when work made it due */
};
void bc_trim_tick(struct bc_trim *t, bool busy, int64_t now_ms);

#endif
