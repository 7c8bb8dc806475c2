/*
 * localmsg.c - the local report datagram (localmsg.h).
 *
 * Only root (or the agent's user) can write to the socket, but its
 * messages are still parsed strictly: an address with inet_pton, a kind
 * from the kind table, a service name of [A-Za-z0-9._/-].
 */
#include "proto/localmsg.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"

int bc_local_parse(const char *msg, size_t len, struct bc_event *ev,
		   char *err, size_t errlen)
{
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
	k = bc_kind_parse(tok[1]);
	if (k == 0) {
		snprintf(err, errlen, "\"%.32s\": kind must be %s", tok[1],
			 bc_kind_list());
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
