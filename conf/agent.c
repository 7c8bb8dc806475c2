/*
 * agent.c - the agent's key table (agent.ini), its [source.NAME]
 * sections and its [detect] section: every key with type, bounds and
 * default.
 */
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf/agent.h"
#include "proto/wire.h"

#define K(...) BC_CFG_KEY(struct bc_agent_cfg, __VA_ARGS__)

static const struct bc_cfg_key keys[] = {
	K("agent", "id", BC_CFG_STR, id, 1, 63, NULL),
	K("agent", "coordinator", BC_CFG_ENDPOINTS, coordinator, 0, 0, NULL),
	K("agent", "updates", BC_CFG_ENDPOINTS, updates, 0, 0, NULL),
	K("agent", "key", BC_CFG_PATH, key, 1, 0, NULL),
	K("agent", "coordinator_key", BC_CFG_PATH, coordinator_key, 1, 0, NULL),
	K("agent", "state_dir", BC_CFG_PATH, state_dir, 1, 0, "/var/lib/bancluster"),
	K("agent", "cluster", BC_CFG_STR, cluster, 1, 63, BC_CLUSTER_DEFAULT),
	K("agent", "metrics_file", BC_CFG_PATH, metrics_file, 0, 0, ""),
	K("agent", "user", BC_CFG_STR, user, 0, 63, "bancluster"),
	K("firewall", "ports", BC_CFG_PORTS, ports, 0, 0, "25, 465, 587"),
	K("local", "maxretry", BC_CFG_INT, local_maxretry, 1, 1000, "10"),
	K("local", "findtime", BC_CFG_DUR, local_findtime, 1, 86400, "10m"),
	K("local", "bantime", BC_CFG_DUR, local_bantime, 1, 365 * 86400.0, "3h"),
	K("local", "allow", BC_CFG_ADDRS, local_allow, 0, 0, "127.0.0.0/8, ::1"),
	K("local", "nat64_prefixes", BC_CFG_ADDRS, local_nat64, 0, 0, ""),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int one_of(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/*
 * [detect]: sender_reasons, postfix_sender_reasons, exim_sender_reasons,
 * sendmail_sender_reasons = REASON[, REASON...] (literal text; a key may
 * be given again, or continued on indented lines, to add more), and
 * dovecot_auth_lines = yes|no.
 */
static int detect_key(struct bc_detect *d, const char *name,
		      const char *value, char *err, size_t errlen)
{
	static const char *const lists[BC_DETECT_LISTS] = {
		[BC_DETECT_ALL] = "sender_reasons",
		[BC_DETECT_POSTFIX] = "postfix_sender_reasons",
		[BC_DETECT_EXIM] = "exim_sender_reasons",
		[BC_DETECT_SENDMAIL] = "sendmail_sender_reasons",
	};
	const char *v = value;
	size_t k, n;

	if (strcmp(name, "dovecot_auth_lines") == 0) {
		if (strcmp(value, "yes") == 0)
			d->dovecot_auth_lines = 1;
		else if (strcmp(value, "no") == 0)
			d->dovecot_auth_lines = 0;
		else {
			snprintf(err, errlen, "expected yes or no, got \"%.32s\"",
				 value);
			return -1;
		}
		return 0;
	}
	for (k = 0; k < BC_DETECT_LISTS; k++)
		if (strcmp(name, lists[k]) == 0)
			break;
	if (k == BC_DETECT_LISTS) {
		snprintf(err, errlen, "unknown key");
		return -1;
	}
	for (;;) {
		const char *e;
		size_t i;

		while (*v == ' ' || *v == '\t')
			v++;
		e = strchr(v, ',');
		n = e ? (size_t)(e - v) : strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == 0) {
			/* "key =" adds nothing; a trailing ',' continues
			 * on the next (indented) line */
			if (e == NULL)
				break;
			snprintf(err, errlen, "empty reason in \"%.64s\"", value);
			return -1;
		}
		if (n >= BC_DETECT_REASON_MAX) {
			snprintf(err, errlen, "reason longer than %d bytes: \"%.32s...\"",
				 BC_DETECT_REASON_MAX - 1, v);
			return -1;
		}
		for (i = 0; i < n; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
				snprintf(err, errlen, "control character in reason \"%.32s\"", v);
				return -1;
			}
		if (d->n[k] == BC_DETECT_REASONS) {
			snprintf(err, errlen, "more than %d reasons", BC_DETECT_REASONS);
			return -1;
		}
		memcpy(d->reason[k][d->n[k]], v, n);
		d->reason[k][d->n[k]][n] = '\0';
		d->n[k]++;
		if (e == NULL)
			break;
		v = e + 1;
	}
	return 0;
}

static int source_key(void *obj, const char *section, const char *name,
		      const char *value, const char *dir, char *err,
		      size_t errlen)
{
	static const char *const types[] = {"file", "journal", "stdin", NULL};
	static const char *const formats[] = {"auto", "postfix", "exim",
					      "sendmail", "dovecot", NULL};
	struct bc_agent_cfg *cfg = obj;
	struct bc_source_cfg *s = NULL;
	const char *sname;
	size_t i;

	if (strcmp(section, "detect") == 0)
		return detect_key(&cfg->detect, name, value, err, errlen);
	if (strncmp(section, "source.", 7) != 0) {
		snprintf(err, errlen, "unknown section");
		return -1;
	}
	sname = section + 7;
	if (!bc_name_valid(sname)) {
		snprintf(err, errlen, "bad source name");
		return -1;
	}
	for (i = 0; i < cfg->nsources; i++)
		if (strcmp(cfg->sources[i].name, sname) == 0)
			s = &cfg->sources[i];
	if (s == NULL) {
		if (cfg->nsources == BC_AGENT_MAX_SOURCES) {
			snprintf(err, errlen, "more than %d sources",
				 BC_AGENT_MAX_SOURCES);
			return -1;
		}
		s = &cfg->sources[cfg->nsources++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", sname);
		snprintf(s->type, sizeof(s->type), "file");
		snprintf(s->format, sizeof(s->format), "auto");
	}
	if (strcmp(name, "type") == 0) {
		if (!one_of(value, types)) {
			snprintf(err, errlen,
				 "expected file, journal or stdin, got \"%.32s\"",
				 value);
			return -1;
		}
		snprintf(s->type, sizeof(s->type), "%s", value);
	} else if (strcmp(name, "format") == 0) {
		if (!one_of(value, formats)) {
			snprintf(err, errlen,
				 "expected auto, postfix, exim, sendmail or dovecot, got \"%.32s\"",
				 value);
			return -1;
		}
		snprintf(s->format, sizeof(s->format), "%s", value);
	} else if (strcmp(name, "path") == 0) {
		if (value[0] == '\0' || bc_cfg_path(s->path, value, dir) < 0) {
			snprintf(err, errlen, "bad path \"%.64s\"", value);
			return -1;
		}
	} else {
		snprintf(err, errlen, "unknown key");
		return -1;
	}
	return 0;
}

int bc_agent_load_config(struct bc_agent_cfg *cfg, const char *path,
			 char *err, size_t errlen)
{
	size_t i;
	char e[128];

	bc_detect_init(&cfg->detect);
	if (bc_cfg_load(path, keys, NKEYS, cfg, source_key, err, errlen) < 0)
		return -1;
	if (bc_addr_nat64_check(&cfg->local_nat64, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, path, "local", "nat64_prefixes",
				  "%s", e);
	if (!bc_name_valid(cfg->id))
		return bc_cfg_err(err, errlen, path, "agent", "id",
				  "\"%.64s\": use letters, digits, '.', '_', '-'",
				  cfg->id);
	for (i = 0; i < cfg->nsources; i++) {
		if (strcmp(cfg->sources[i].type, "file") == 0 &&
		    cfg->sources[i].path[0] == '\0') {
			snprintf(err, errlen, "%s: [source.%s] path: missing",
				 path, cfg->sources[i].name);
			return -1;
		}
	}
	return 0;
}

void bc_agent_local_policy_cfg(const struct bc_agent_cfg *cfg,
			       struct bc_policy_cfg *pc)
{
	bc_policy_cfg_defaults(pc);
	pc->maxretry = (double)cfg->local_maxretry;
	pc->findtime_ms = cfg->local_findtime * 1000;
	pc->allow = &cfg->local_allow;
	pc->nat64 = &cfg->local_nat64;
	pc->max_tracked = BC_AGENT_LOCAL_TRACKED;
}

void bc_agent_free_config(struct bc_agent_cfg *cfg)
{
	bc_cfg_free(keys, NKEYS, cfg);
}

struct detect_ctx {
	struct bc_detect *d;
	char err[300];
};

static int detect_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct detect_ctx *c = user;
	char v[BC_CFG_STR_MAX * 4], e[256];

	if (strcmp(section, "detect") != 0)
		return 1;
	/* "key = value   # comment", as common/config.c reads it */
	bc_cfg_value(value, v, sizeof(v));
	if (detect_key(c->d, name, v, e, sizeof(e)) < 0) {
		snprintf(c->err, sizeof(c->err), "[detect] %s: %s", name, e);
		return 0;
	}
	return 1;
}

int bc_detect_load(const char *path, struct bc_detect *d, char *err,
		   size_t errlen)
{
	struct detect_ctx c;
	FILE *f;
	int line;

	bc_detect_init(d);
	memset(&c, 0, sizeof(c));
	c.d = d;
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, detect_handler, &c);
	fclose(f);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line,
			 c.err[0] ? c.err : "syntax error");
		bc_detect_init(d);
		return -1;
	}
	return 0;
}
