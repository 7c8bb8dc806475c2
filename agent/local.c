/*
 * local.c - binding the agent's local report socket (local.h). Only the
 * directory (state_dir, from agent.ini) is an input; a stale socket file
 * is replaced. The caller owns the descriptor. Errors: -1 with one line
 * in err, nothing printed. The datagrams themselves are the reader's
 * business (agent/reader.c, proto/localmsg.c).
 */
#include "agent/local.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>


int bc_local_open(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;
	mode_t old;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
		     BC_LOCAL_SOCKET) >= (int)sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket", dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(sa.sun_path);
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "%s: %s", sa.sun_path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sa.sun_path, 0600) < 0) {
		snprintf(err, errlen, "%s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
