/*
 * metrics.h - the agent's metrics_file (Prometheus text, written by the
 * signer) and the tallies behind it. Works on the signer's context alone
 * (agent.h); a file that cannot be written is a warning, never an error.
 */
#ifndef BC_AGENT_METRICS_H
#define BC_AGENT_METRICS_H

#include <stddef.h>

#include "agent/agent.h"

/* The metrics label index (0..BC_AGENT_SERVICES-1) of a service name
 * such as "postfix/smtpd": its program family, else "other". */
size_t bc_agent_metrics_service(const char *svc);

/* One burst of fleet updates took s seconds in the kernel. */
void bc_agent_metrics_apply(struct bc_agent_signer *a, double s);

/* Rewrite cfg.metrics_file (nothing when it is not set). */
void bc_agent_metrics_write(struct bc_agent_signer *a);

#endif
