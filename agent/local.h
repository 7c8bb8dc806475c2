/*
 * local.h - the agent's local report socket: root-only (mode 0600) Unix
 * datagram socket in state_dir through which other tools on the MX, such
 * as fail2ban's bancluster action, add events (proto/localmsg.h).
 */
#ifndef BC_LOCAL_H
#define BC_LOCAL_H

#include <stddef.h>

#include "proto/localmsg.h"

/* Bind the socket at dir/agent.sock (replacing a stale one). fd or -1. */
int bc_local_open(const char *dir, char *err, size_t errlen);

#endif
