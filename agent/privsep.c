/*
 * privsep.c - dropping privileges, once and in a fixed order (privsep.h).
 *
 * Capabilities are set with the raw capset(2) system call (no libcap).
 */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int bc_privsep_user(struct bc_privsep_user *u, const char *name, char *err,
		    size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (name[0] == '\0')
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		snprintf(err, errlen, "user \"%.64s\": %s", name,
			 errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%.64s\": must not be root", name);
		return -1;
	}
	u->set = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
}

static int set_caps(unsigned long long mask)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)mask;
	d[1].effective = d[1].permitted = (uint32_t)(mask >> 32);
	return (int)syscall(SYS_capset, &h, d);
}

unsigned long long bc_privsep_capeff(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return ~0ULL;
	return (unsigned long long)d[0].effective |
	       (unsigned long long)d[1].effective << 32;
}

int bc_privsep_drop(const struct bc_privsep_user *u, bool keep_net_admin,
		    char *err, size_t errlen)
{
	unsigned long long want = keep_net_admin ? 1ULL << CAP_NET_ADMIN : 0;
	int cap;

#define FAIL(what)                                                             \
	do {                                                                   \
		snprintf(err, errlen, "privilege drop: %s: %s", what,          \
			 strerror(errno));                                     \
		return -1;                                                     \
	} while (0)
	if (u->set) {
		if (initgroups(u->name, u->gid) < 0)
			FAIL("initgroups");
		if (setresgid(u->gid, u->gid, u->gid) < 0)
			FAIL("setresgid");
	}
	/* nothing more in the bounding set (needs CAP_SETPCAP: still root) */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep_net_admin && cap == CAP_NET_ADMIN) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			FAIL("bounding set");
	if (u->set) {
		if (keep_net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			FAIL("keepcaps");
		if (setresuid(u->uid, u->uid, u->uid) < 0)
			FAIL("setresuid");
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (set_caps(want) < 0)
		FAIL("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL("no_new_privs");
	if (u->set && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privilege drop: root could be regained");
		return -1;
	}
	if (bc_privsep_capeff() != want) {
		snprintf(err, errlen, "privilege drop: capabilities %llx, wanted %llx",
			 bc_privsep_capeff(), want);
		return -1;
	}
	return 0;
#undef FAIL
}
