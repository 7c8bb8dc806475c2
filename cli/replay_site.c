/*
 * replay_site.c - the policy `bancluster replay` runs (replay_run.h):
 *   - no --config: the coordinator's defaults (common/policy.c's
 *     bc_policy_cfg_defaults and the coordinator's [policy] ban times);
 *   - --config coordinator.ini: its [policy], allow_file included, made
 *     by the coordinator's own loader and bc_coord_policy_cfg;
 *   - --config agent.ini: its [local] policy (bc_agent_local_policy_cfg,
 *     as the agent runs it when alone) and its [detect] reasons.
 * Which of the two a file is, the first section only one of them has
 * decides. The file is the admin's, not attacker text; errors come back
 * as -1 with the loader's one-line "FILE:LINE: ..." message. The loaded
 * configuration belongs to r->site until bc_replay_site_free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/replay_run.h"
#include "conf/agent.h"
#include "conf/coordinator.h"

#define REPLAY_SECTION_MAX 64         /* longest [section] name looked at */

/*
 * agent.ini or coordinator.ini? The first section header that only one
 * of them has decides: [coordinator], [policy], [cluster] or [agent],
 * [firewall], [local], [detect], [source.NAME].
 */
static int config_role(const char *path, enum bc_replay_role *role, char *err,
		       size_t errlen)
{
	static const char *const coord[] = {"coordinator", "policy", "cluster", NULL};
	static const char *const agent[] = {"agent", "firewall", "local",
					    "detect", NULL};
	char line[512];
	FILE *f = fopen(path, "r");
	size_t i;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '[' || (e = strchr(s, ']')) == NULL ||
		    e - s - 1 > REPLAY_SECTION_MAX)
			continue;
		*e = '\0';
		s++;
		for (i = 0; coord[i] != NULL; i++)
			if (strcmp(s, coord[i]) == 0) {
				*role = BC_REPLAY_COORDINATOR;
				fclose(f);
				return 0;
			}
		for (i = 0; agent[i] != NULL; i++)
			if (strcmp(s, agent[i]) == 0 ||
			    strncmp(s, "source.", 7) == 0) {
				*role = BC_REPLAY_AGENT;
				fclose(f);
				return 0;
			}
	}
	fclose(f);
	snprintf(err, errlen,
		 "%s: neither an agent.ini ([agent], [local], ...) nor a "
		 "coordinator.ini ([coordinator], [policy], ...)",
		 path);
	return -1;
}

/*
 * coordinator.ini: the coordinator's own loader (allow_file included) and
 * policy builder (bc_coord_policy_cfg), so replay runs the [policy] the
 * coordinator would. s->path NULL (no --config): the defaults of that
 * same key table, so they are written once.
 */
static int site_coord(struct bc_replay_site *s, struct bc_policy_cfg *pc,
		      char *err, size_t errlen)
{
	struct bc_coord_cfg *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((s->path == NULL ? bc_coord_default_config(c, err, errlen)
			     : bc_coord_load_config(c, s->path, err, errlen)) < 0) {
		bc_coord_free_config(c);
		free(c);
		return -1;
	}
	s->coord = c;
	bc_coord_policy_cfg(c, pc);
	s->bantime_s = c->bantime;
	s->factor = c->bantime_factor;
	s->bantime_max_s = c->bantime_max;
	s->recidive_ms = c->recidive_window * 1000;
	s->overlap = true; /* as the coordinator's bc_coord_rule_ban */
	return 0;
}

/*
 * The site's [detect] settings (extra sender-violation reasons, Dovecot
 * auth-process lines) for replay's parser: an agent.ini's, as its agent
 * would run them; the defaults for a coordinator.ini or no --config.
 */
int bc_replay_site_reasons(const struct bc_replay_site *s, struct bc_parser *p,
			   char *err, size_t errlen)
{
	const struct bc_agent_cfg *cfg = s->agent;

	if (s->role != BC_REPLAY_AGENT || cfg == NULL)
		return 0;
	if (bc_parser_set_detect(p, &cfg->detect) < 0) {
		snprintf(err, errlen, "%s: [detect]: too many or too long reasons",
			 s->path);
		return -1;
	}
	return 0;
}

int bc_replay_site_load(struct bc_replay *r, const char *config, char *err,
			size_t errlen)
{
	struct bc_replay_site *s = &r->site;

	s->path = config;
	s->role = BC_REPLAY_DEFAULT;
	if (config == NULL) {
		if (site_coord(s, &r->cfg, err, errlen) < 0)
			return -1;
		r->cfg.max_tracked = REPLAY_ADDRS_MAX;
	} else {
		if (config_role(config, &s->role, err, errlen) < 0)
			return -1;
		if (s->role == BC_REPLAY_COORDINATOR) {
			if (site_coord(s, &r->cfg, err, errlen) < 0)
				return -1;
		} else {
			struct bc_agent_cfg *ac = calloc(1, sizeof(*ac));

			if (ac == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			if (bc_agent_load_config(ac, config, err, errlen) < 0) {
				bc_agent_free_config(ac);
				free(ac);
				return -1;
			}
			s->agent = ac;
			bc_agent_local_policy_cfg(ac, &r->cfg);
			/* local bans: fixed length, no escalation, no overlap test */
			s->bantime_s = ac->local_bantime;
			s->factor = 1;
			s->bantime_max_s = ac->local_bantime;
			s->recidive_ms = 0;
			s->overlap = false;
		}
	}
	s->allow = r->cfg.allow;
	s->nat64 = r->cfg.nat64;
	s->min_hosts = r->cfg.min_hosts;
	return 0;
}

void bc_replay_site_free(struct bc_replay_site *s)
{
	if (s->coord != NULL) {
		bc_coord_free_config(s->coord);
		free(s->coord);
		s->coord = NULL;
	}
	if (s->agent != NULL) {
		bc_agent_free_config(s->agent);
		free(s->agent);
		s->agent = NULL;
	}
}

