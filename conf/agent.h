/*
 * conf/agent.h - agent.ini: every key with its type, bounds and default
 * (conf/agent.c, docs/configuration.md). The file is the admin's; the
 * agent reads it at start and on SIGHUP, `bancluster replay --config`
 * reads it to run the site's [local] policy and [detect] lists.
 */
#ifndef BC_CONF_AGENT_H
#define BC_CONF_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/policy.h"
#include "logparse/parse.h"

#define BC_AGENT_MAX_SOURCES 16
#define BC_AGENT_LOCAL_TRACKED 20000 /* addresses the local policy follows */

struct bc_source_cfg {
	char name[BC_NAME_MAX];
	char type[16];   /* file | journal | stdin */
	char path[BC_CFG_STR_MAX];
	char format[16]; /* auto | postfix | exim | sendmail | dovecot */
};

struct bc_agent_cfg {
	char id[BC_CFG_STR_MAX];
	char coordinator[BC_CFG_STR_MAX]; /* 1..8 endpoints, "a,b,c": the
					   * coordinators of a cluster */
	char updates[BC_CFG_STR_MAX];     /* likewise, their PUBs */
	char key[BC_CFG_STR_MAX];
	char coordinator_key[BC_CFG_STR_MAX];
	char state_dir[BC_CFG_STR_MAX];
	char cluster[BC_CFG_STR_MAX];
	char metrics_file[BC_CFG_STR_MAX];
	char user[BC_CFG_STR_MAX];
	struct bc_cfg_ports ports;
	int64_t local_maxretry;
	int64_t local_findtime;
	int64_t local_bantime;
	struct bc_addr_list local_allow;
	struct bc_addr_list local_nat64; /* [local] nat64_prefixes */
	struct bc_source_cfg sources[BC_AGENT_MAX_SOURCES];
	size_t nsources;
	struct bc_detect detect; /* [detect] (docs/detection.md) */
};

int bc_agent_load_config(struct bc_agent_cfg *cfg, const char *path,
			 char *err, size_t errlen);
void bc_agent_free_config(struct bc_agent_cfg *cfg);
/* The local policy of a loaded agent.ini (the agent's and replay's). */
void bc_agent_local_policy_cfg(const struct bc_agent_cfg *cfg,
			       struct bc_policy_cfg *pc);

/*
 * The [detect] section of any INI file (agent.ini, or a file holding only
 * [detect]) into *d, starting from bc_detect_init; other sections are not
 * looked at. For `replay --config`. Returns 0, or -1 with
 * "FILE:LINE: [detect] KEY: reason" in err.
 */
int bc_detect_load(const char *path, struct bc_detect *d, char *err,
		   size_t errlen);

#endif
