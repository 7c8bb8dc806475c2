/*
 * privsep.c - dropping privileges, once and in a fixed order (privsep.h).
 *
 * Capabilities are set with the raw capset(2) system call (no libcap),
 * Landlock with its raw system calls (glibc has no wrappers; Debian 12's
 * headers stop at ABI 2, so the later access bits are defined here).
 *
 * Two ways in. Started as root (by hand), the processes switch to
 * [agent] user. Started as that user already, with CAP_NET_ADMIN in the
 * ambient set (the shipped unit: User=bancluster,
 * AmbientCapabilities=CAP_NET_ADMIN), there is no uid to switch and only
 * the capability sets shrink; no system call of the switch is made then,
 * as the unit's seccomp filter does not allow them.
 */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Landlock bits past Debian 12's <linux/landlock.h> (ABI 2) */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_SIGNAL (1ULL << 1) /* ABI 6 */

/* struct landlock_ruleset_attr as of ABI 6; the size passed says which */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* Whether this process is in the initial user namespace (where uid 0 is
 * root itself, not a mapped uid as under unshare -U). */
static bool init_userns(void)
{
	char buf[128];
	ssize_t n;
	unsigned long a, b, c;
	int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true; /* assume the worst */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
	       c == 4294967295UL;
}

/* What the look-up child found. */
struct lookup {
	int found; /* 1 found, 0 not, -1 too many groups */
	int err;   /* errno of a failed getpwnam */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[BC_PRIVSEP_GROUPS_MAX];
};

/*
 * getpwnam and getgrouplist of name in a child process, so that the NSS
 * modules they load stay out of this one. 0, or -1 (the child failed).
 */
static int lookup_user(const char *name, struct lookup *l)
{
	size_t got = 0;
	int fd[2], st;
	pid_t pid;

	memset(l, 0, sizeof(*l));
	if (pipe2(fd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		struct passwd *pw;

		close(fd[0]);
		errno = 0;
		pw = getpwnam(name);
		if (pw == NULL) {
			l->err = errno;
		} else {
			l->found = 1;
			l->uid = pw->pw_uid;
			l->gid = pw->pw_gid;
			l->ngroups = BC_PRIVSEP_GROUPS_MAX;
			if (getgrouplist(name, pw->pw_gid, l->groups,
					 &l->ngroups) < 0)
				l->found = -1;
		}
		_exit(write(fd[1], l, sizeof(*l)) == (ssize_t)sizeof(*l) ? 0 : 1);
	}
	close(fd[1]);
	while (got < sizeof(*l)) {
		ssize_t n = read(fd[0], (char *)l + got, sizeof(*l) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(*l) || l->ngroups < 0 ||
	    l->ngroups > BC_PRIVSEP_GROUPS_MAX)
		return -1;
	return 0;
}

int bc_privsep_user(struct bc_privsep_user *u, const char *name, char *err,
		    size_t errlen)
{
	struct lookup l;

	memset(u, 0, sizeof(*u));
	if (name[0] == '\0') {
		/* uid 0 owns root's files even without a capability */
		if (geteuid() == 0 && init_userns()) {
			snprintf(err, errlen,
				 "empty while started as root: the processes would keep uid 0");
			return -1;
		}
		return 0;
	}
	if (lookup_user(name, &l) < 0) {
		snprintf(err, errlen, "user \"%.64s\": look-up failed", name);
		return -1;
	}
	if (l.found == 0) {
		snprintf(err, errlen, "user \"%.64s\": %s", name,
			 l.err ? strerror(l.err) : "no such user");
		return -1;
	}
	if (l.found < 0) {
		snprintf(err, errlen, "user \"%.64s\": in more than %d groups",
			 name, BC_PRIVSEP_GROUPS_MAX);
		return -1;
	}
	if (l.uid == 0) {
		snprintf(err, errlen, "user \"%.64s\": must not be root", name);
		return -1;
	}
	u->set = true;
	u->uid = l.uid;
	u->gid = l.gid;
	u->ngroups = l.ngroups;
	memcpy(u->groups, l.groups, sizeof(u->groups));
	u->already = getuid() == u->uid && geteuid() == u->uid &&
		     getgid() == u->gid && getegid() == u->gid;
	if (!u->already && geteuid() != 0) {
		snprintf(err, errlen,
			 "user \"%.64s\": running as uid %u: start as root or as that user",
			 name, (unsigned)geteuid());
		return -1;
	}
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
	bool sw = u->set && !u->already; /* a uid switch from root */
	int cap;

#define FAIL(what)                                                             \
	do {                                                                   \
		snprintf(err, errlen, "privilege drop: %s: %s", what,          \
			 strerror(errno));                                     \
		return -1;                                                     \
	} while (0)
	if (sw) {
		if (setgroups((size_t)u->ngroups, u->groups) < 0)
			FAIL("setgroups");
		if (setresgid(u->gid, u->gid, u->gid) < 0)
			FAIL("setresgid");
	}
	/* nothing more in the bounding set (needs CAP_SETPCAP: root only) */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep_net_admin && cap == CAP_NET_ADMIN) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			FAIL("bounding set");
	if (sw) {
		if (keep_net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			FAIL("keepcaps");
		if (setresuid(u->uid, u->uid, u->uid) < 0)
			FAIL("setresuid");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		FAIL("ambient set");
	if (set_caps(want) < 0) {
		if (errno == EPERM && keep_net_admin) {
			snprintf(err, errlen,
				 "privilege drop: CAP_NET_ADMIN is missing: start as root "
				 "or with AmbientCapabilities=CAP_NET_ADMIN");
			return -1;
		}
		FAIL("capset");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL("no_new_privs");
	/* no core file, no ptrace by another process of the same uid; last,
	 * as a change of uid or gid resets it to fs.suid_dumpable */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		FAIL("dumpable");
	if (sw && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privilege drop: root could be regained");
		return -1;
	}
	if (u->set && (getuid() == 0 || geteuid() == 0 || getgid() != u->gid ||
		       getegid() != u->gid)) {
		snprintf(err, errlen, "privilege drop: uid %u gid %u, wanted %u %u",
			 (unsigned)geteuid(), (unsigned)getegid(), (unsigned)u->uid,
			 (unsigned)u->gid);
		return -1;
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "privilege drop: still dumpable");
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

/*
 * One path-beneath rule on the directory DIR. A directory that does not
 * exist gets none (returns 0 with *missing set): widening the rule to an
 * ancestor would open far more than asked, up to "/".
 */
static int add_rule(int rfd, const char *dir, uint64_t access, bool *missing,
		    char *err, size_t errlen)
{
	struct landlock_path_beneath_attr pb;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		*missing = true;
		return 0;
	}
	if (fd < 0) {
		snprintf(err, errlen, "landlock: %.200s: %s", dir, strerror(errno));
		return -1;
	}
	pb.allowed_access = access;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb,
		    0) < 0) {
		snprintf(err, errlen, "landlock: rule for %.200s: %s", dir,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int bc_privsep_confine(const char *const *read_dirs, size_t nread,
		       bool *missing, const char *write_dir, char *err,
		       size_t errlen)
{
	struct ll_ruleset_attr attr;
	bool gone = false;
	uint64_t dir_read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t dir_write = LANDLOCK_ACCESS_FS_WRITE_FILE |
			     LANDLOCK_ACCESS_FS_MAKE_REG |
			     LANDLOCK_ACCESS_FS_REMOVE_FILE |
			     LANDLOCK_ACCESS_FS_READ_DIR;
	size_t i, size;
	long abi;
	int rfd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
		      LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */
	size = sizeof(attr.handled_access_fs);
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3) {
		attr.handled_access_fs |= LL_FS_TRUNCATE;
		dir_write |= LL_FS_TRUNCATE;
	}
	if (abi >= 4) { /* no rule for TCP: none at all */
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6) {
		/* not LL_SCOPE_ABSTRACT_UNIX: `bancluster report` waits for
		 * the answer on an autobound (abstract) socket */
		attr.scoped = LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0) {
		snprintf(err, errlen, "landlock: ruleset: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < nread; i++)
		if (add_rule(rfd, read_dirs[i], dir_read,
			     missing != NULL ? &missing[i] : &gone, err, errlen) < 0)
			goto fail;
	gone = false;
	if (write_dir != NULL &&
	    (add_rule(rfd, write_dir, dir_write, &gone, err, errlen) < 0 || gone)) {
		if (gone)
			snprintf(err, errlen, "landlock: %.200s: no such directory",
				 write_dir);
		goto fail;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
		snprintf(err, errlen, "landlock: restrict: %s", strerror(errno));
		goto fail;
	}
	close(rfd);
	return 1;
fail:
	close(rfd);
	return -1;
}
