/*
 * local.h - the agent's local report socket: root-only (mode 0600) Unix
 * datagram socket in state_dir through which other tools on the MX, such
 * as fail2ban's bancluster action, add events: `bancluster report ADDR
 * --kind KIND`. One datagram "ADDR KIND [SERVICE]" per event, strictly
 * parsed; the answer "ok" or "error: ..." goes back to the sender.
 */
#ifndef BC_LOCAL_H
#define BC_LOCAL_H

#include <stddef.h>

#include "agent/parse.h"

#define BC_LOCAL_SOCKET "agent.sock"
#define BC_LOCAL_MSG_MAX 256

/* Bind the socket at dir/agent.sock (replacing a stale one). fd or -1. */
int bc_local_open(const char *dir, char *err, size_t errlen);

/*
 * Parse one datagram into ev (time now, service "report" unless given).
 * Returns 0, or -1 with a one-line reason in err.
 */
int bc_local_parse(const char *msg, size_t len, struct bc_event *ev,
		   char *err, size_t errlen);

#endif
