/*
 * localmsg.h - the datagram other tools on an MX send to the agent's
 * local report socket (state_dir/agent.sock, agent/local.h): `bancluster
 * report ADDR --kind KIND`, fail2ban's bancluster action. One datagram
 * "ADDR KIND [SERVICE]" per event, strictly parsed on both ends; the
 * answer "ok" or "error: ..." goes back to the sender.
 */
#ifndef BC_LOCALMSG_H
#define BC_LOCALMSG_H

#include <stddef.h>

#include "common/event.h"

#define BC_LOCAL_SOCKET "agent.sock"
#define BC_LOCAL_MSG_MAX 256

/*
 * Parse one datagram into ev (time now, service "report" unless given).
 * Returns 0, or -1 with a one-line reason in err.
 */
int bc_local_parse(const char *msg, size_t len, struct bc_event *ev,
		   char *err, size_t errlen);

#endif
