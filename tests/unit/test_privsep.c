/*
 * test_privsep.c - agent/privsep.c: the Landlock confinement of the
 * reader and the firewall process, and the privilege drop.
 *
 * Every case runs in a forked child (a confinement or a drop cannot be
 * undone); the child prints its own checks and its exit status is
 * checked here. The drop cases need root in the initial user namespace
 * (as CI runs); elsewhere they are reported as skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/privsep.h"
#include "tap.h"

static char top[64];

static void path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", top, rel);
}

static void put(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	path(p, sizeof(p), rel);
	f = fopen(p, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* errno of open(rel, flags), 0 if it opened */
static int open_err(const char *rel, int flags)
{
	char p[256];
	int fd;

	if (rel[0] == '/')
		snprintf(p, sizeof(p), "%s", rel);
	else
		path(p, sizeof(p), rel);
	fd = open(p, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static long landlock_abi(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0,
		       LANDLOCK_CREATE_RULESET_VERSION);
}

/* Run fn in a child; its checks print there; check its exit status. */
static void in_child(const char *what, void (*fn)(void))
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(tap_done());
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
	      "%s: child passed (status %d)", what, st);
}

static void reader_confined(void)
{
	const char *dirs[2];
	bool missing[2] = {false, false};
	char logs[256], gone[256], cursors[256], err[256] = "";
	long abi = landlock_abi();
	struct sockaddr_in sa;
	int rc, s;

	path(logs, sizeof(logs), "logs");
	path(gone, sizeof(gone), "no-such-dir");
	path(cursors, sizeof(cursors), "state/cursors");
	dirs[0] = logs;
	dirs[1] = gone;
	rc = bc_privsep_confine(dirs, 2, missing, cursors, err, sizeof(err));
	CHECK(rc == 1, "confine the reader: in force (%d: %s)", rc, rc < 0 ? err : "");
	if (rc != 1)
		return;
	CHECK(!missing[0] && missing[1],
	      "a missing directory is reported, not widened to its parent");
	CHECK(open_err("logs/mail.log", O_RDONLY) == 0, "reads a log in its directory");
	CHECK(open_err("logs/mail.log", O_WRONLY) == EACCES, "cannot write a log");
	CHECK(open_err("secret/mx1.key", O_RDONLY) == EACCES,
	      "cannot read the key, though root owns it and is root");
	CHECK(open_err("/etc/passwd", O_RDONLY) == EACCES, "cannot read /etc/passwd");
	CHECK(open_err("state/mx1.counter", O_WRONLY | O_TRUNC) == EACCES,
	      "cannot truncate the signer's counter in state_dir");
	CHECK(open_err("state/x", O_WRONLY | O_CREAT) == EACCES,
	      "cannot create a file in state_dir itself");
	CHECK(open_err("state/cursors/c.tmp", O_WRONLY | O_CREAT | O_TRUNC) == 0,
	      "creates a cursor file in cursors/");
	{
		char a[256], b[256];

		path(a, sizeof(a), "state/cursors/c.tmp");
		path(b, sizeof(b), "state/cursors/c");
		CHECK(rename(a, b) == 0, "replaces it by rename");
	}
	CHECK(open_err("state/cursors/c", O_RDONLY) == EACCES,
	      "cannot read a file, even its own cursor");
	CHECK(open_err("state/cursors", O_RDONLY | O_DIRECTORY) == 0,
	      "opens cursors/ to fsync it");
	if (abi >= 4) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons(9);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
			      errno == EACCES,
		      "no TCP connect (Landlock ABI %ld)", abi);
		if (s >= 0)
			close(s);
	}
	if (abi >= 6)
		CHECK(kill(getppid(), 0) < 0 && errno == EPERM,
		      "no signal to a process outside (Landlock ABI %ld)", abi);
}

static void firewall_confined(void)
{
	char err[256];
	int rc = bc_privsep_confine(NULL, 0, NULL, NULL, err, sizeof(err));

	CHECK(rc == 1, "confine the firewall process: in force");
	CHECK(open_err("logs/mail.log", O_RDONLY) == EACCES, "no file at all: not a log");
	CHECK(open_err("/etc/hostname", O_RDONLY) == EACCES, "nor /etc/hostname");
	CHECK(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0) >= 0,
	      "a netlink socket still opens");
}

static void write_dir_missing(void)
{
	char gone[256], err[256];
	int rc;

	path(gone, sizeof(gone), "state/no-cursors");
	rc = bc_privsep_confine(NULL, 0, NULL, gone, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "no such directory") != NULL,
	      "a missing write directory is an error: %s", err);
}

static unsigned long long capprm(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return ~0ULL;
	return (unsigned long long)d[0].permitted |
	       (unsigned long long)d[1].permitted << 32;
}

static void drop_to(bool keep)
{
	struct bc_privsep_user u;
	struct passwd *pw = getpwnam("nobody");
	unsigned long long want = keep ? 1ULL << CAP_NET_ADMIN : 0;
	char err[256] = "";
	int rc, cap, extra;

	CHECK(bc_privsep_user(&u, "nobody", err, sizeof(err)) == 0 && u.set &&
		      !u.already,
	      "user nobody looked up, a switch from root");
	rc = bc_privsep_drop(&u, keep, err, sizeof(err));
	CHECK(rc == 0, "drop%s%s%s", keep ? " keeping CAP_NET_ADMIN" : "",
	      rc < 0 ? ": " : "", rc < 0 ? err : "");
	CHECK(pw != NULL && getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
		      getgid() == pw->pw_gid,
	      "uid and gid of nobody");
	{
		gid_t g[BC_PRIVSEP_GROUPS_MAX];
		int n = getgroups(BC_PRIVSEP_GROUPS_MAX, g);

		CHECK(n == u.ngroups &&
			      memcmp(g, u.groups, (size_t)n * sizeof(*g)) == 0,
		      "supplementary groups: the user's %d", u.ngroups);
	}
	CHECK(bc_privsep_capeff() == want && capprm() == want,
	      "effective and permitted sets: %llx", want);
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "not dumpable");
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
	CHECK(setuid(0) < 0 && seteuid(0) < 0, "root cannot be regained");
	for (cap = 0, extra = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    !(keep && cap == CAP_NET_ADMIN))
			extra++;
	CHECK(cap > CAP_NET_ADMIN && extra == 0 &&
		      prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == keep,
	      "bounding set: CAP_NET_ADMIN %s, nothing else of %d",
	      keep ? "alone" : "gone too", cap);
}

/* Whether an NSS module (libnss_*) is mapped into this process. */
static bool nss_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return true;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "libnss_") != NULL;
	fclose(f);
	return found;
}

/* Whether a look-up of an unknown user, made in this process, maps an
 * NSS module (nsswitch.conf lists one after files, and it is installed:
 * libnss_systemd on Debian 12). Asked in a child: this process stays
 * clean. */
static bool unknown_user_maps_module(void)
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		return false;
	if (pid == 0) {
		(void)getpwnam("bc-no-such-user");
		_exit(nss_mapped() ? 1 : 0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 1;
}

/* The look-up runs in a child: no NSS module lands in this process, and
 * the groups come back with the primary one among them. An unknown user
 * goes past files to the next NSS service: the check can fail where one
 * is installed (said when none is). */
static void lookup_in_child(void)
{
	struct bc_privsep_user u;
	char err[256] = "";
	bool before = nss_mapped(), primary = false,
	     control = !before && unknown_user_maps_module();
	int i;

	CHECK(bc_privsep_user(&u, "nobody", err, sizeof(err)) == 0 && u.set,
	      "user nobody looked up%s%s", err[0] ? ": " : "", err);
	for (i = 0; i < u.ngroups; i++)
		primary = primary || u.groups[i] == u.gid;
	CHECK(u.ngroups >= 1 && u.ngroups <= BC_PRIVSEP_GROUPS_MAX && primary,
	      "its %d groups include its primary group %u", u.ngroups,
	      (unsigned)u.gid);
	err[0] = '\0';
	CHECK(bc_privsep_user(&u, "bc-no-such-user", err, sizeof(err)) < 0 &&
		      strstr(err, "bc-no-such-user") != NULL,
	      "an unknown user is an error naming it (%s)", err);
	if (before) {
		printf("# an NSS module was mapped before the look-up\n");
		return;
	}
	if (!control)
		printf("# no NSS module maps on a look-up here (nsswitch.conf: files "
		       "alone, or its modules not installed): the next check "
		       "cannot fail on this machine\n");
	CHECK(!nss_mapped(), "no NSS module mapped after the look-ups (in this "
	      "process one %s)", control ? "would be" : "would not be either");
}

static void drop_reader(void)
{
	drop_to(false);
}

static void drop_firewall(void)
{
	drop_to(true);
}

static bool root_in_init_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned long a = 1, b = 1, c = 0;
	int n = 0;

	if (f != NULL) {
		n = fscanf(f, "%lu %lu %lu", &a, &b, &c);
		fclose(f);
	}
	return geteuid() == 0 && n == 3 && a == 0 && b == 0 && c == 4294967295UL;
}

int main(void)
{
	struct bc_privsep_user u;
	char err[256], p[256];
	long abi = landlock_abi();

	snprintf(top, sizeof(top), "/tmp/bc-privsep.XXXXXX");
	if (mkdtemp(top) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	path(p, sizeof(p), "logs");
	mkdir(p, 0755);
	path(p, sizeof(p), "secret");
	mkdir(p, 0700);
	path(p, sizeof(p), "state");
	mkdir(p, 0750);
	path(p, sizeof(p), "state/cursors");
	mkdir(p, 0700);
	put("logs/mail.log", "a line\n");
	put("secret/mx1.key", "not a real key\n");
	put("state/mx1.counter", "7\n");

	if (abi < 1) {
		printf("# Landlock unavailable here (%s): confinement cases skipped\n",
		       strerror(errno));
	} else {
		printf("# Landlock ABI %ld\n", abi);
		in_child("reader", reader_confined);
		in_child("firewall", firewall_confined);
		in_child("write dir", write_dir_missing);
	}

	in_child("look-up", lookup_in_child);
	CHECK(bc_privsep_user(&u, "root", err, sizeof(err)) < 0 &&
		      strstr(err, "must not be root") != NULL,
	      "user root refused: %s", err);
	CHECK(bc_privsep_user(&u, "no-such-user-bc", err, sizeof(err)) < 0 &&
		      strstr(err, "no such user") != NULL,
	      "unknown user refused: %s", err);
	if (root_in_init_userns()) {
		CHECK(bc_privsep_user(&u, "", err, sizeof(err)) < 0 &&
			      strstr(err, "would keep uid 0") != NULL,
		      "empty user refused when started as root: %s", err);
		in_child("drop (reader, signer)", drop_reader);
		in_child("drop (firewall)", drop_firewall);
	} else {
		CHECK(bc_privsep_user(&u, "", err, sizeof(err)) == 0 && !u.set,
		      "empty user: no switch (not root here)");
		printf("# not root in the initial user namespace: drop cases skipped\n");
	}

	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", top);
	}
	return tap_done();
}
