/*
 * reload.c - SIGHUP: re-read coordinator.ini, the policy, the allow
 * lists, the hooks and the trusted key directories. Bans, counts and the
 * replay counters of every key that stays (same name, same public key)
 * are kept; a new or changed key starts from the counters in the store.
 * A file that does not load or check, or a webhook that cannot start,
 * leaves the running configuration in place and says why in one line.
 * Sockets, the coordinator's key, the database and the cluster name need
 * a restart (a change to them is logged, not applied).
 *
 * The files are the admin's (trusted, but checked as at start-up by
 * conf/coordinator.c). The new configuration and key ring replace the
 * old ones in the context only once everything has been read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/enrol.h"
#include "coordinator/intake.h"
#include "coordinator/localbans.h"
#include "coordinator/reload.h"

void bc_coord_set_allowed_types(struct bc_keyring *ring)
{
	size_t i;

	for (i = 0; i < ring->n; i++)
		ring->v[i].allowed_types =
			ring->v[i].role == BC_ROLE_ADMIN
				? 1u << BANCLUSTER__MSG_TYPE__MSG_ADMIN_REQ
				: (1u << BANCLUSTER__MSG_TYPE__MSG_REPORT) |
					  (1u << BANCLUSTER__MSG_TYPE__MSG_HEARTBEAT) |
					  (1u << BANCLUSTER__MSG_TYPE__MSG_SNAPSHOT_REQ) |
					  (1u << BANCLUSTER__MSG_TYPE__MSG_LOCAL_BANS);
}

/*
 * SIGHUP: re-read the policy, the allow lists and the trusted keys. Bans,
 * counts and every known sender's replay counters are kept; a broken file
 * leaves the running configuration in place. Sockets, key and database
 * need a restart.
 */
void bc_coord_reload(struct bc_coord *c, const char *cfgpath)
{
	struct bc_coord_cfg ncfg;
	struct bc_keyring ring = {0};
	struct bc_policy_cfg pc;
	char err[512];

	if (bc_coord_load_config(&ncfg, cfgpath, err, sizeof(err)) < 0 ||
	    bc_coord_check_files(&ncfg, cfgpath, NULL, &ring, err,
				 sizeof(err)) < 0) {
		bc_warn("reload refused, running configuration kept: %s", err);
		bc_coord_free_config(&ncfg);
		bc_keyring_free(&ring);
		return;
	}
	{
		struct bc_hooks_cfg hc;

		bc_coord_hooks_cfg(&ncfg, &hc);
		if (bc_hooks_set_cfg(c->hooks, &hc, err, sizeof(err)) < 0) {
			bc_warn("reload refused, running configuration kept: %s", err);
			bc_coord_free_config(&ncfg);
			bc_keyring_free(&ring);
			return;
		}
	}
	/* the keys that stay keep their counters and state (enrol.c) */
	if (bc_coord_adopt_ring(c, &ring) < 0) {
		bc_warn("reload: out of memory");
		bc_coord_free_config(&ncfg);
		return;
	}
	if (strcmp(ncfg.etcd, c->cfg.etcd) != 0 ||
	    strcmp(ncfg.etcd_cert, c->cfg.etcd_cert) != 0 ||
	    strcmp(ncfg.etcd_key, c->cfg.etcd_key) != 0 ||
	    strcmp(ncfg.etcd_ca, c->cfg.etcd_ca) != 0 ||
	    strcmp(ncfg.node, c->cfg.node) != 0 ||
	    strcmp(ncfg.advertise, c->cfg.advertise) != 0 ||
	    ncfg.lease_ttl != c->cfg.lease_ttl ||
	    ncfg.max_txn_ops != c->cfg.max_txn_ops)
		bc_warn("reload: [cluster] changes take effect at the next restart");
	/* [cluster] is read by the cluster's threads: never changed live */
	memcpy(ncfg.etcd, c->cfg.etcd, sizeof(ncfg.etcd));
	memcpy(ncfg.etcd_cert, c->cfg.etcd_cert, sizeof(ncfg.etcd_cert));
	memcpy(ncfg.etcd_key, c->cfg.etcd_key, sizeof(ncfg.etcd_key));
	memcpy(ncfg.etcd_ca, c->cfg.etcd_ca, sizeof(ncfg.etcd_ca));
	memcpy(ncfg.node, c->cfg.node, sizeof(ncfg.node));
	memcpy(ncfg.advertise, c->cfg.advertise, sizeof(ncfg.advertise));
	ncfg.lease_ttl = c->cfg.lease_ttl;
	ncfg.max_txn_ops = c->cfg.max_txn_ops;
	if (strcmp(ncfg.listen, c->cfg.listen) != 0 ||
	    strcmp(ncfg.publish, c->cfg.publish) != 0 ||
	    strcmp(ncfg.database, c->cfg.database) != 0 ||
	    strcmp(ncfg.key, c->cfg.key) != 0 ||
	    strcmp(ncfg.cluster, c->cfg.cluster) != 0 ||
	    strcmp(ncfg.metrics_listen, c->cfg.metrics_listen) != 0)
		bc_warn("reload: listen, publish, database, key, cluster and "
			"metrics_listen changes take effect at the next restart");
	snprintf(ncfg.listen, sizeof(ncfg.listen), "%s", c->cfg.listen);
	snprintf(ncfg.publish, sizeof(ncfg.publish), "%s", c->cfg.publish);
	snprintf(ncfg.database, sizeof(ncfg.database), "%s", c->cfg.database);
	snprintf(ncfg.key, sizeof(ncfg.key), "%s", c->cfg.key);
	snprintf(ncfg.cluster, sizeof(ncfg.cluster), "%s", c->cfg.cluster);
	snprintf(ncfg.metrics_listen, sizeof(ncfg.metrics_listen), "%s",
		 c->cfg.metrics_listen);
	bc_coord_free_config(&c->cfg);
	c->cfg = ncfg;
	bc_coord_policy_cfg(&c->cfg, &pc);
	bc_policy_set_cfg(c->policy, &pc);
	bc_info("reloaded %s: %zu trusted keys, %zu allow entries, maxretry %lld",
		cfgpath, c->ring.n, c->cfg.allow.n, (long long)c->cfg.maxretry);
}
