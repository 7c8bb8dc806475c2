/*
 * netns.h - for kernel tests and benchmarks: enter a private network
 * namespace (as root), or a user + network namespace when not root, so
 * that nftables work touches nothing outside the test.
 */
#ifndef BC_TEST_NETNS_H
#define BC_TEST_NETNS_H

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Write one line to a /proc file; for the user-namespace maps. */
static inline int netns_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = (ssize_t)strlen(text);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, text, (size_t)len) == len ? 0 : -1;
	close(fd);
	return rc;
}

/* 0, or -1 when no namespace could be made. */
static inline int enter_netns(void)
{
	char map[64];
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();

	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -1;
	(void)netns_write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "0 %u 1", uid);
	if (netns_write_file("/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", gid);
	return netns_write_file("/proc/self/gid_map", map);
}

#endif
