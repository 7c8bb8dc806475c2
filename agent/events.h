/*
 * events.h - the signer's side of detection: event records from the
 * reader, the local policy and its bans, the spool and the reports to
 * the coordinator, and when the reader may save its cursors. Works on
 * the signer's context alone (agent.h). A malformed record from the
 * reader or a reader gone is fatal (events.c says why).
 */
#ifndef BC_EVENTS_H
#define BC_EVENTS_H

#include <stdint.h>

#include "agent/agent.h"

/* Take the event records waiting on the reader's socket (up to 256). */
void bc_events_read(struct bc_agent_signer *a);

/* Send the next report, or send the one in flight again after
 * BC_AGENT_ACK_TIMEOUT_MS without an ack (same id). */
void bc_events_report(struct bc_agent_signer *a);

/* The coordinator acknowledged report_id. */
void bc_events_ack(struct bc_agent_signer *a, uint64_t report_id);

/* Tell the reader every event so far is acknowledged: save the cursors. */
void bc_events_save(struct bc_agent_signer *a);

/* Drop local bans whose time is over from the map. */
void bc_events_expire(struct bc_agent_signer *a);

/* SIGTERM: wait up to BC_AGENT_DRAIN_MS for the last report's ack. */
void bc_events_drain(struct bc_agent_signer *a);

#endif
