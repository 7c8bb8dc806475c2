/*
 * reload.h - SIGHUP in the signer: re-read agent.ini and apply what can
 * change while running (reload.c lists what does and what needs a
 * restart). A broken file changes nothing.
 */
#ifndef BC_RELOAD_H
#define BC_RELOAD_H

#include "agent/agent.h"

/* The firewall's settings ([agent] ports) from a loaded agent.ini. */
void bc_reload_fw_config(const struct bc_agent_cfg *cfg,
			 struct bc_fw_config *fwc);

/* Re-read cfgpath into the signer's context, tell the firewall process
 * and the reader what changed for them, and resync the fleet sets. */
void bc_reload(struct bc_agent_signer *a, const char *cfgpath);

#endif
