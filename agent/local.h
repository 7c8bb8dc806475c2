/*
 * local.h - the agent's local report socket: a Unix datagram socket,
 * state_dir/agent.sock, mode 0600, through which other tools on the MX,
 * such as fail2ban's bancluster action, add events. Bound by the root
 * process at start and handed over, with state_dir, to [agent] user
 * (agent/split.c), so root and that user may send to it. The reader
 * process receives on it, parses each datagram with bc_local_parse
 * (proto/localmsg.h: untrusted input) and answers "ok" or "error: ...".
 */
#ifndef BC_LOCAL_H
#define BC_LOCAL_H

#include <stddef.h>

#include "proto/localmsg.h"

/* Bind the socket at dir/agent.sock (replacing a stale one). fd or -1. */
int bc_local_open(const char *dir, char *err, size_t errlen);

#endif
