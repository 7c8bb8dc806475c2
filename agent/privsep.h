/*
 * privsep.h - the system calls that take privileges away. The agent runs
 * as three processes joined by socketpairs (OpenSMTPD / sshguard style),
 * each with its own context struct (agent/agent.h), split at start by
 * agent/split.c:
 *
 *   reader    log sources + parsers + local report socket; no capability,
 *             no key, the unprivileged user, Landlock; sends fixed-size
 *             event records to the signer.
 *   signer    Ed25519 key, ZeroMQ, local policy, spool, Clone pattern; no
 *             capability, the unprivileged user.
 *   firewall  CAP_NET_ADMIN alone, the netlink socket alone, Landlock
 *             without any file; takes fixed-size records whose size and
 *             type it checks exactly, and dies on anything else.
 *
 * bc_privsep_drop is the one place privileges are given up, always in
 * the same order; every step is checked, and errors come back as -1 with
 * one line in err, which the caller (split.c) makes fatal. Nothing here
 * prints or exits. Input: the [agent] user name (looked up once).
 */
#ifndef BC_PRIVSEP_H
#define BC_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BC_PRIVSEP_GROUPS_MAX 256 /* supplementary groups of the user */

struct bc_privsep_user {
	bool set;     /* false: stay this uid (tests under unshare -U) */
	bool already; /* started as this user (systemd User=): no switch */
	uid_t uid;
	gid_t gid;
	int ngroups; /* the user's groups, its primary one included */
	gid_t groups[BC_PRIVSEP_GROUPS_MAX];
	char name[64];
};

/*
 * Look the user and its groups up (before any drop), in a child process
 * that exits after: the NSS modules it loads (libnss_systemd: 250 kB of
 * the agent's memory) are never mapped into the agent's processes. ""
 * means: no user switch.
 */
int bc_privsep_user(struct bc_privsep_user *u, const char *name, char *err,
		    size_t errlen);

/*
 * In this order: supplementary groups (setgroups), gid, the bounding
 * set, keep-caps if needed, uid, the capability sets (CAP_NET_ADMIN alone when
 * keep_net_admin, else none), no_new_privs, not dumpable (last: a change
 * of uid resets it); then verify that root cannot be regained, uid and
 * gid, not dumpable, and that the effective set is exactly what was asked.
 * Groups and uid are left alone when the process runs as the user
 * already (u->already).
 */
int bc_privsep_drop(const struct bc_privsep_user *u, bool keep_net_admin,
		    char *err, size_t errlen);

/*
 * Landlock, for the reader: from here on this process may read files
 * only below read_dirs (logs, journals), and below write_dir only
 * create, write, truncate and replace files (its cursors), never read
 * one; no other file anywhere, whatever the uid (so never the key). With
 * ABI 4 no TCP at all, with ABI 6 no signal to a process outside.
 * read_dirs must be directories; one that does not exist gets no rule
 * (missing[i] set, when missing is not NULL); write_dir must exist.
 * Returns 1 in force, 0 when the kernel has no Landlock, -1 on error
 * (err filled).
 */
int bc_privsep_confine(const char *const *read_dirs, size_t nread,
		       bool *missing, const char *write_dir, char *err,
		       size_t errlen);

/* The effective capability set, as in /proc/self/status CapEff. */
unsigned long long bc_privsep_capeff(void);

#endif
