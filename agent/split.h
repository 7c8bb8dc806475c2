/*
 * split.h - privilege separation at start: the root process becomes
 * three (agent.h). Start-up code: every failure is fatal (bc_fatal).
 */
#ifndef BC_SPLIT_H
#define BC_SPLIT_H

#include "agent/agent.h"
#include "agent/privsep.h"

/*
 * Fork the firewall process (it serves f, then exits) and the reader (it
 * opens r's sources and serves r, then exits); in this process, the
 * signer, set a->fwr and a->rd_fd, close f's handle and r's local
 * socket, and drop to the user u without capability. Returns in the
 * signer only. Must run before ZeroMQ exists.
 */
void bc_split_processes(struct bc_agent_signer *a, struct bc_agent_reader *r,
			struct bc_agent_firewall *f,
			const struct bc_privsep_user *u);

#endif
