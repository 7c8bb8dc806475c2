/*
 * reload.c - SIGHUP in the signer (reload.h): re-read agent.ini; the
 * local policy and allow list, the protected ports (the firewall
 * process re-creates its chain), the coordinator's key and [detect] (sent
 * to the reader's parsers) take effect at once; bans in the kernel and
 * counts are kept. Sources, id, key, endpoints and state_dir need a
 * restart. A file that does not load, or ports the firewall process
 * refuses, change nothing: the running configuration stays, with a
 * warning.
 */
#include "agent/reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/follow.h"
#include "agent/reader.h"
#include "common/log.h"

void bc_reload_fw_config(const struct bc_agent_cfg *cfg, struct bc_fw_config *fwc)
{
	size_t i;

	memset(fwc, 0, sizeof(*fwc));
	fwc->all_ports = cfg->ports.all;
	for (i = 0; i < cfg->ports.n && i < BC_FW_MAX_PORTS; i++)
		fwc->ports[fwc->nports++] = cfg->ports.port[i];
}

/*
 * SIGHUP: re-read agent.ini. The local policy and allow list, the
 * protected ports, the coordinator's key and [detect] (sent to the
 * reader's parsers) take effect at once; bans in
 * the kernel and counts are kept. Sources, id, key, endpoints and
 * state_dir need a restart. A broken file changes nothing.
 */
void bc_reload(struct bc_agent_signer *a, const char *cfgpath)
{
	struct bc_agent_cfg *n = calloc(1, sizeof(*n));
	struct bc_keyring ring = {0};
	struct bc_policy_cfg pc;
	struct bc_fw_config fwc;
	struct bc_peer cp;
	char err[512];

	if (n == NULL)
		return;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "coordinator");
	if (bc_agent_load_config(n, cfgpath, err, sizeof(err)) < 0 ||
	    bc_key_load_public(&cp, n->coordinator_key, err, sizeof(err)) < 0 ||
	    (snprintf(err, sizeof(err), "out of memory"),
	     bc_keyring_add(&ring, &cp)) < 0 ||
	    (bc_reload_fw_config(n, &fwc), bc_fwr_reopen(&a->fwr, &fwc, err, sizeof(err))) < 0) {
		bc_warn("reload refused, running configuration kept: %s", err);
		bc_agent_free_config(n);
		bc_keyring_free(&ring);
		free(n);
		return;
	}
	if (strcmp(n->id, a->cfg.id) != 0 || strcmp(n->key, a->cfg.key) != 0 ||
	    strcmp(n->coordinator, a->cfg.coordinator) != 0 ||
	    strcmp(n->updates, a->cfg.updates) != 0 ||
	    strcmp(n->state_dir, a->cfg.state_dir) != 0 ||
	    n->nsources != a->cfg.nsources ||
	    memcmp(n->sources, a->cfg.sources, n->nsources * sizeof(n->sources[0])) != 0)
		bc_warn("reload: id, key, endpoints, state_dir and sources "
			"change at the next restart");
	/* what only a restart changes stays as it runs */
	memcpy(n->id, a->cfg.id, sizeof(n->id));
	memcpy(n->key, a->cfg.key, sizeof(n->key));
	memcpy(n->coordinator, a->cfg.coordinator, sizeof(n->coordinator));
	memcpy(n->updates, a->cfg.updates, sizeof(n->updates));
	memcpy(n->state_dir, a->cfg.state_dir, sizeof(n->state_dir));
	memcpy(n->cluster, a->cfg.cluster, sizeof(n->cluster));
	memcpy(n->sources, a->cfg.sources, sizeof(n->sources));
	n->nsources = a->cfg.nsources;
	if (memcmp(ring.v[0].pk, a->coord.v[0].pk, 32) == 0)
		memcpy(ring.v[0].last_counter, a->coord.v[0].last_counter,
		       sizeof(ring.v[0].last_counter));
	bc_keyring_free(&a->coord);
	a->coord = ring;
	bc_agent_free_config(&a->cfg);
	a->cfg = *n;
	free(n);
	bc_agent_local_policy_cfg(&a->cfg, &pc);
	bc_policy_set_cfg(a->local_policy, &pc);
	{
		/* the reader's parsers take the new [detect] settings */
		struct bc_rddetect *m = calloc(1, sizeof(*m));

		if (m != NULL) {
			m->magic = BC_RD_MAGIC;
			m->type = BC_RD_DETECT;
			m->detect = a->cfg.detect;
			if (send(a->rd_fd, m, sizeof(*m),
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				bc_warn("reload: [detect] not sent to the reader: %s",
					strerror(errno));
			free(m);
		}
	}
	bc_info("reloaded %s: local maxretry %lld, %zu allow entries, %s ports",
		cfgpath, (long long)a->cfg.local_maxretry, a->cfg.local_allow.n,
		a->cfg.ports.all ? "all" : "listed");
	bc_follow_resync(a, "reload"); /* re-apply fleet bans under the new allow list */
}
