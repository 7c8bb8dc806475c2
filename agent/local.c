/*
 * local.c - the agent's local report socket (local.h).
 *
 * Only root (or the agent's user) can write to the socket, but its
 * messages are still parsed strictly: an address with inet_pton, a kind
 * from a fixed list, a service name of [A-Za-z0-9._/-].
 */
#include "local.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/duration.h"

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

int bc_local_parse(const char *msg, size_t len, struct bc_event *ev,
		   char *err, size_t errlen)
{
	static const char *kinds[] = {NULL, "auth_fail", "sender_violation",
				      "auth_abort", "auth_success"};
	char buf[BC_LOCAL_MSG_MAX + 1], *tok[4], *save = NULL, *t;
	int n = 0, k;
	size_t i;

	if (len == 0 || len > BC_LOCAL_MSG_MAX || memchr(msg, '\0', len)) {
		snprintf(err, errlen, "malformed message");
		return -1;
	}
	memcpy(buf, msg, len);
	buf[len] = '\0';
	for (t = strtok_r(buf, " \n", &save); t != NULL && n < 4;
	     t = strtok_r(NULL, " \n", &save))
		tok[n++] = t;
	if (n < 2 || n > 3) {
		snprintf(err, errlen, "expected \"ADDR KIND [SERVICE]\"");
		return -1;
	}
	memset(ev, 0, sizeof(*ev));
	if (bc_addr_parse_host(&ev->addr, tok[0], strlen(tok[0])) < 0) {
		snprintf(err, errlen, "\"%.64s\": not an IP address", tok[0]);
		return -1;
	}
	for (k = 1; k <= 4; k++)
		if (strcmp(tok[1], kinds[k]) == 0)
			break;
	if (k > 4) {
		snprintf(err, errlen,
			 "\"%.32s\": kind must be auth_fail, sender_violation, "
			 "auth_abort or auth_success", tok[1]);
		return -1;
	}
	ev->kind = (uint8_t)k;
	snprintf(ev->service, sizeof(ev->service), "%s", n == 3 ? tok[2] : "report");
	for (i = 0; ev->service[i] != '\0'; i++) {
		char c = ev->service[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '/' || c == '-')) {
			snprintf(err, errlen, "bad service name");
			return -1;
		}
	}
	ev->time_ms = bc_now_ms();
	return 0;
}
