/*
 * conf/coordinator.h - coordinator.ini: every key with its type, bounds
 * and default, and the checks of the values that are more than a type
 * (conf/coordinator.c, docs/configuration.md). The coordinator reads it
 * at start, on --check-config and on SIGHUP; `bancluster replay --config`
 * reads it to run the site's [policy].
 */
#ifndef BC_CONF_COORDINATOR_H
#define BC_CONF_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/policy.h"

#define BC_ROLE_AGENT 1
#define BC_ROLE_ADMIN 2
#define BC_HOOK_MAX_MAX 64 /* bound of hook_max */

struct bc_coord_cfg {
	char listen[BC_CFG_STR_MAX];
	char publish[BC_CFG_STR_MAX];
	char key[BC_CFG_STR_MAX];
	char agents_dir[BC_CFG_STR_MAX];
	char admins_dir[BC_CFG_STR_MAX];
	char database[BC_CFG_STR_MAX];
	char cluster[BC_CFG_STR_MAX];
	char metrics_file[BC_CFG_STR_MAX];
	char digest_to[BC_CFG_STR_MAX];
	int64_t digest_interval;
	char sendmail[BC_CFG_STR_MAX];
	char metrics_listen[BC_CFG_STR_MAX];
	char on_ban[BC_CFG_STR_MAX];
	char on_unban[BC_CFG_STR_MAX];
	int64_t hook_timeout;
	int64_t hook_max;
	char webhook[BC_CFG_STR_MAX];
	int64_t webhook_timeout;
	int64_t webhook_retries;
	int64_t maxretry;
	int64_t findtime;
	int64_t bantime;
	double bantime_factor;
	int64_t bantime_max;
	int64_t recidive_window;
	int64_t ipv6_prefix;
	struct bc_addr_list allow;
	struct bc_addr_list nat64_prefixes; /* besides 64:ff9b::/96 */
	double weight_auth_fail;
	double weight_sender_violation;
	double weight_auth_abort;
	int64_t min_hosts;
	int64_t max_tracked;
	int64_t evidence_max;
	int64_t retention;
	char allow_file[BC_CFG_STR_MAX];
	int64_t subnet_threshold;
	int64_t report_rate;
	/* [cluster] (docs/ha.md): etcd "" is the single coordinator */
	char etcd[BC_CFG_STR_MAX];      /* https://a:2379, https://b:2379 */
	char etcd_cert[BC_CFG_STR_MAX]; /* client certificate, key, CA */
	char etcd_key[BC_CFG_STR_MAX];
	char etcd_ca[BC_CFG_STR_MAX];
	char node[BC_CFG_STR_MAX];      /* this coordinator's name; "": hostname */
	char advertise[BC_CFG_STR_MAX]; /* its listen endpoint as others reach it */
	int64_t lease_ttl;              /* leader lease, seconds */
	int64_t max_txn_ops;            /* etcd's --max-txn-ops */
};

/* The table's defaults alone (no file; the keys without a default stay
 * empty): what `bancluster replay` runs without --config. 0 or -1. */
int bc_coord_default_config(struct bc_coord_cfg *cfg, char *err,
			    size_t errlen);

int bc_coord_load_config(struct bc_coord_cfg *cfg, const char *path,
			 char *err, size_t errlen);

/*
 * What start needs from the files a loaded configuration names, checked
 * the same way by start, --check-config and (key == NULL) SIGHUP: the
 * secret key into key, the public keys of agents_dir and admins_dir
 * (readable directories) added to ring, and the database's directory
 * writable, the database itself read-write when it exists. Returns 0, or
 * -1 with "FILE:LINE: [coordinator] KEY: REASON" in err.
 */
int bc_coord_check_files(const struct bc_coord_cfg *cfg, const char *path,
			 struct bc_key *key, struct bc_keyring *ring,
			 char *err, size_t errlen);
void bc_coord_free_config(struct bc_coord_cfg *cfg);

/* The policy configuration the [policy] section describes. */
void bc_coord_policy_cfg(const struct bc_coord_cfg *cfg,
			 struct bc_policy_cfg *pc);

/* A valid digest_to recipient: local@domain from a small safe alphabet. */
bool bc_digest_addr_ok(const char *s);

/* A webhook URL as the configuration accepts it: http:// or https://,
 * parsed by libcurl, at most BC_CFG_STR_MAX - 1 characters. */
bool bc_hooks_url_ok(const char *url, char *err, size_t errlen);

#endif
