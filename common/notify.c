/*
 * notify.c - systemd readiness and watchdog (notify.h), spoken directly:
 * one datagram to $NOTIFY_SOCKET per message, as sd_notify(3) documents
 * the protocol. Not through libsystemd: linking it mapped it and five
 * libraries of its own (compression, libgcrypt) into every process, for
 * three datagrams.
 *
 * Input: the environment systemd sets (NOTIFY_SOCKET, WATCHDOG_USEC,
 * WATCHDOG_PID); anything malformed means "not under systemd". Errors
 * are ignored, as sd_notify's callers here always did.
 */
#include "notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Send msg to the service manager; nothing without NOTIFY_SOCKET. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len < 2 || len >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@') /* an abstract socket */
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* The watchdog period in µs systemd asks this process for, or 0. */
static unsigned long long watchdog_usec(void)
{
	const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	unsigned long long usec;
	char *end;

	if (u == NULL || *u < '0' || *u > '9')
		return 0;
	usec = strtoull(u, &end, 10);
	if (*end != '\0' || usec == 0)
		return 0;
	if (p != NULL) { /* meant for this process only */
		long pid = strtol(p, &end, 10);

		if (*end != '\0' || pid != (long)getpid())
			return 0;
	}
	return usec;
}

void bc_notify_ready(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify(msg);
}

void bc_notify_tick(struct bc_notify *n, int64_t now_mono_ms)
{
	if (n->next_ms == 0) { /* first call: is a watchdog configured? */
		n->period_ms = (int64_t)(watchdog_usec() / 2000);
		n->next_ms = now_mono_ms;
	}
	if (n->period_ms <= 0 || now_mono_ms < n->next_ms)
		return;
	notify("WATCHDOG=1");
	n->next_ms = now_mono_ms + n->period_ms;
}

void bc_notify_stopping(void)
{
	notify("STOPPING=1");
}
