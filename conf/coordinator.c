/*
 * coordinator.c - coordinator.ini's key table: every key with its type,
 * bounds and default (docs/configuration.md), and the checks of values
 * that are more than a type (conf/coordinator.h).
 *
 * The files are the admin's (trusted to be meant, not to be right):
 * every value is checked against its bounds, unknown keys are errors.
 * The caller owns the struct bc_coord_cfg (bc_coord_free_config). Errors
 * come back as -1 with "FILE:LINE: [section] key: reason" in err; this
 * module never prints and never exits.
 */
#include "conf/coordinator.h"

#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/wire.h"

#define K(...) BC_CFG_KEY(struct bc_coord_cfg, __VA_ARGS__)

static const struct bc_cfg_key keys[] = {
	K("coordinator", "listen", BC_CFG_BIND, listen, 0, 0, "tcp://0.0.0.0:7710"),
	K("coordinator", "publish", BC_CFG_BIND, publish, 0, 0, "tcp://0.0.0.0:7711"),
	K("coordinator", "key", BC_CFG_PATH, key, 1, 0, NULL),
	K("coordinator", "agents_dir", BC_CFG_PATH, agents_dir, 1, 0, NULL),
	K("coordinator", "admins_dir", BC_CFG_PATH, admins_dir, 1, 0, NULL),
	K("coordinator", "database", BC_CFG_PATH, database, 1, 0,
	  "/var/lib/bancluster/coordinator.db"),
	K("coordinator", "cluster", BC_CFG_STR, cluster, 1, 63, BC_CLUSTER_DEFAULT),
	K("coordinator", "metrics_file", BC_CFG_PATH, metrics_file, 0, 0, ""),
	K("coordinator", "digest_to", BC_CFG_STR, digest_to, 0, 254, ""),
	K("coordinator", "digest_interval", BC_CFG_DUR, digest_interval, 1, 7 * 86400.0, "1h"),
	K("coordinator", "sendmail", BC_CFG_PATH, sendmail, 1, 0, "/usr/sbin/sendmail"),
	K("coordinator", "metrics_listen", BC_CFG_STR, metrics_listen, 0, 63, ""),
	K("coordinator", "on_ban", BC_CFG_PATH, on_ban, 0, 0, ""),
	K("coordinator", "on_unban", BC_CFG_PATH, on_unban, 0, 0, ""),
	K("coordinator", "hook_timeout", BC_CFG_DUR, hook_timeout, 1, 3600, "10s"),
	K("coordinator", "hook_max", BC_CFG_INT, hook_max, 1, BC_HOOK_MAX_MAX, "4"),
	K("coordinator", "webhook", BC_CFG_STR, webhook, 0, BC_CFG_STR_MAX - 1, ""),
	K("coordinator", "webhook_timeout", BC_CFG_DUR, webhook_timeout, 1, 300, "10s"),
	K("coordinator", "webhook_retries", BC_CFG_INT, webhook_retries, 0, 20, "5"),
	K("policy", "maxretry", BC_CFG_INT, maxretry, 1, 1000, "5"),
	K("policy", "findtime", BC_CFG_DUR, findtime, 1, 86400, "10m"),
	K("policy", "bantime", BC_CFG_DUR, bantime, 1, 365 * 86400.0, "3h"),
	K("policy", "bantime_factor", BC_CFG_NUM, bantime_factor, 1, 100, "2"),
	K("policy", "bantime_max", BC_CFG_DUR, bantime_max, 1, 365 * 86400.0, "24h"),
	K("policy", "recidive_window", BC_CFG_DUR, recidive_window, 0, 365 * 86400.0, "7d"),
	K("policy", "ipv6_prefix", BC_CFG_INT, ipv6_prefix, 16, 128, "64"),
	K("policy", "allow", BC_CFG_ADDRS, allow, 0, 0, "127.0.0.0/8, ::1"),
	K("policy", "nat64_prefixes", BC_CFG_ADDRS, nat64_prefixes, 0, 0, ""),
	K("policy", "weight_auth_fail", BC_CFG_NUM, weight_auth_fail, 0, 100, "1"),
	K("policy", "weight_sender_violation", BC_CFG_NUM, weight_sender_violation, 0, 100, "1"),
	K("policy", "weight_auth_abort", BC_CFG_NUM, weight_auth_abort, 0, 100, "0.5"),
	K("policy", "min_hosts", BC_CFG_INT, min_hosts, 1, 64, "1"),
	K("policy", "max_tracked", BC_CFG_INT, max_tracked, 100, 10000000, "100000"),
	K("policy", "evidence_max", BC_CFG_INT, evidence_max, 1, BC_POLICY_HIT_REFS, "20"),
	K("policy", "retention", BC_CFG_DUR, retention, 86400, 3650 * 86400.0, "90d"),
	K("policy", "allow_file", BC_CFG_STR, allow_file, 0, 0, ""),
	K("policy", "subnet_threshold", BC_CFG_INT, subnet_threshold, 0, 65536, "0"),
	K("policy", "report_rate", BC_CFG_INT, report_rate, 1, 100000000, "100000"),
	K("cluster", "etcd", BC_CFG_STR, etcd, 0, BC_CFG_STR_MAX - 1, ""),
	K("cluster", "etcd_cert", BC_CFG_PATH, etcd_cert, 0, 0, ""),
	K("cluster", "etcd_key", BC_CFG_PATH, etcd_key, 0, 0, ""),
	K("cluster", "etcd_ca", BC_CFG_PATH, etcd_ca, 0, 0, ""),
	K("cluster", "name", BC_CFG_STR, node, 0, 63, ""),
	K("cluster", "advertise", BC_CFG_STR, advertise, 0, BC_CFG_STR_MAX - 1, ""),
	K("cluster", "lease_ttl", BC_CFG_DUR, lease_ttl, 1, 60, "2s"),
	K("cluster", "max_txn_ops", BC_CFG_INT, max_txn_ops, 16, 4096, "128"),
};

/* allow_file: one CIDR per line; '#' starts a comment. */
static int load_allow_file(struct bc_coord_cfg *cfg, const char *cfgpath,
			   char *err, size_t errlen)
{
	char dir[BC_CFG_STR_MAX], path[BC_CFG_STR_MAX], line[512], e[256];
	const char *slash = strrchr(cfgpath, '/');
	FILE *f;
	int n = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cfgpath) : 1,
		 slash ? cfgpath : ".");
	if (bc_cfg_path(path, cfg->allow_file, dir) < 0 ||
	    (f = fopen(path, "r")) == NULL) {
		int en = errno;

		return bc_cfg_err(err, errlen, cfgpath, "policy", "allow_file",
				  "\"%s\": %s", cfg->allow_file, strerror(en));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %zu characters",
				 path, n, sizeof(line) - 2);
			fclose(f);
			return -1;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		if (bc_addr_list_parse(&cfg->allow, line, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, n, e);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/*
 * listen and publish bound to one port of one host: the second bind
 * would fail at start ("Address already in use"). A wildcard host covers
 * every address. The error names publish, or listen when only listen is
 * in the file.
 */
static bool same_socket(const struct bc_coord_cfg *cfg, const char *path,
			char *err, size_t errlen)
{
	char lh[BC_CFG_STR_MAX], ph[BC_CFG_STR_MAX], e[BC_CFG_STR_MAX + 64];
	uint16_t lp, pp;
	bool pub_set;

	if (bc_cfg_endpoint(cfg->listen, true, lh, sizeof(lh), &lp, e, sizeof(e)) < 0 ||
	    bc_cfg_endpoint(cfg->publish, true, ph, sizeof(ph), &pp, e, sizeof(e)) < 0 ||
	    lp != pp ||
	    (strcmp(lh, ph) != 0 && !bc_cfg_endpoint_any(lh) &&
	     !bc_cfg_endpoint_any(ph)))
		return false;
	pub_set = bc_cfg_line(path, "coordinator", "publish") > 0 ||
		  bc_cfg_line(path, "coordinator", "listen") == 0;
	bc_cfg_err(err, errlen, path, "coordinator", pub_set ? "publish" : "listen",
		   "\"%s\": port %u of this host is %s's (\"%s\"); give them different ports",
		   pub_set ? cfg->publish : cfg->listen, (unsigned)lp,
		   pub_set ? "listen" : "publish", pub_set ? cfg->listen : cfg->publish);
	return true;
}

int bc_coord_check_files(const struct bc_coord_cfg *cfg, const char *path,
			 struct bc_key *key, struct bc_keyring *ring,
			 char *err, size_t errlen)
{
	char e[512], dir[BC_CFG_STR_MAX];
	const char *slash;

	if (key != NULL &&
	    bc_key_load_secret(key, cfg->key, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, path, "coordinator", "key", "%s", e);
	if (bc_cfg_dir(cfg->agents_dir, R_OK | X_OK, e, sizeof(e)) < 0 ||
	    bc_keyring_load_dir(ring, cfg->agents_dir, BC_ROLE_AGENT, e,
				sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, path, "coordinator", "agents_dir",
				  "%s", e);
	if (bc_cfg_dir(cfg->admins_dir, R_OK | X_OK, e, sizeof(e)) < 0 ||
	    bc_keyring_load_dir(ring, cfg->admins_dir, BC_ROLE_ADMIN, e,
				sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, path, "coordinator", "admins_dir",
				  "%s", e);
	{
		/* a hook that cannot run would only show at the first ban */
		static const char *hk[] = {"on_ban", "on_unban"};
		const char *hp[] = {cfg->on_ban, cfg->on_unban};
		size_t i;

		for (i = 0; i < 2; i++) {
			struct stat st;

			if (hp[i][0] == '\0')
				continue;
			if (stat(hp[i], &st) < 0)
				return bc_cfg_err(err, errlen, path, "coordinator", hk[i],
						  "\"%s\": %s", hp[i], strerror(errno));
			if (!S_ISREG(st.st_mode))
				return bc_cfg_err(err, errlen, path, "coordinator", hk[i],
						  "\"%s\": not a regular file", hp[i]);
			if (access(hp[i], X_OK) < 0)
				return bc_cfg_err(err, errlen, path, "coordinator", hk[i],
						  "\"%s\": not executable: %s", hp[i],
						  strerror(errno));
		}
	}
	if (key == NULL)
		return 0;
	/* the database and its counter file are created in its directory */
	slash = strrchr(cfg->database, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 :
		 slash == cfg->database ? 1 : (int)(slash - cfg->database),
		 slash == NULL ? "." : cfg->database);
	if (bc_cfg_dir(dir, W_OK | X_OK, e, sizeof(e)) < 0)
		return bc_cfg_err(err, errlen, path, "coordinator", "database",
				  "directory %s", e);
	{
		struct stat st;

		if (stat(cfg->database, &st) == 0 &&
		    (!S_ISREG(st.st_mode) || access(cfg->database, R_OK | W_OK) < 0))
			return bc_cfg_err(err, errlen, path, "coordinator", "database",
					  "\"%s\": %s", cfg->database,
					  S_ISREG(st.st_mode) ? strerror(errno)
							      : "not a regular file");
	}
	return 0;
}

void bc_coord_free_config(struct bc_coord_cfg *cfg)
{
	bc_cfg_free(keys, sizeof(keys) / sizeof(keys[0]), cfg);
}

int bc_coord_default_config(struct bc_coord_cfg *cfg, char *err,
			    size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	return bc_cfg_defaults(keys, sizeof(keys) / sizeof(keys[0]), cfg, "/",
			       err, errlen);
}

int bc_coord_load_config(struct bc_coord_cfg *cfg, const char *path,
			 char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (bc_cfg_load(path, keys, sizeof(keys) / sizeof(keys[0]), cfg, NULL,
			err, errlen) < 0)
		return -1;
	if (cfg->digest_to[0] != '\0' && !bc_digest_addr_ok(cfg->digest_to))
		return bc_cfg_err(err, errlen, path, "coordinator", "digest_to",
				  "\"%.64s\": expected one address local@domain",
				  cfg->digest_to);
	if (same_socket(cfg, path, err, errlen))
		return -1;
	if (cfg->metrics_listen[0] != '\0') {
		char e[256];

		if (bc_addr_parse_hostport(cfg->metrics_listen, NULL, NULL, e,
					sizeof(e)) < 0)
			return bc_cfg_err(err, errlen, path, "coordinator",
					  "metrics_listen", "%s", e);
	}
	if (cfg->webhook[0] != '\0') {
		char e[256];

		if (!bc_hooks_url_ok(cfg->webhook, e, sizeof(e)))
			return bc_cfg_err(err, errlen, path, "coordinator", "webhook",
					  "\"%.80s\": %s", cfg->webhook, e);
	}
	if (cfg->allow_file[0] != '\0' &&
	    load_allow_file(cfg, path, err, errlen) < 0)
		return -1;
	/* a node's name is in every record it writes to etcd, which the
	 * other coordinators refuse unless it is a name */
	if (cfg->node[0] != '\0' && !bc_name_valid(cfg->node))
		return bc_cfg_err(err, errlen, path, "cluster", "name",
				  "\"%.64s\": use letters, digits, '.', '_', '-'",
				  cfg->node);
	{
		char e[128];

		if (bc_addr_nat64_check(&cfg->nat64_prefixes, e, sizeof(e)) < 0)
			return bc_cfg_err(err, errlen, path, "policy",
					  "nat64_prefixes", "%s", e);
	}
	{
		struct bc_policy_cfg pc;

		bc_coord_policy_cfg(cfg, &pc);
		if (bc_policy_max_events(&pc) > BC_POLICY_EVENTS_MAX)
			return bc_cfg_err(err, errlen, path, "policy", "maxretry",
					  "%lld needs more than %d events of the "
					  "lightest weight; lower it or raise the weights",
					  (long long)cfg->maxretry, BC_POLICY_EVENTS_MAX);
	}
	if (cfg->bantime_max < cfg->bantime)
		return bc_cfg_err(err, errlen, path, "policy", "bantime_max",
				  "below bantime");
	return 0;
}

void bc_coord_policy_cfg(const struct bc_coord_cfg *cfg,
			 struct bc_policy_cfg *pc)
{
	bc_policy_cfg_defaults(pc);
	pc->maxretry = (double)cfg->maxretry;
	pc->findtime_ms = cfg->findtime * 1000;
	pc->weight[BC_KIND_AUTH_FAIL] = cfg->weight_auth_fail;
	pc->weight[BC_KIND_SENDER_VIOLATION] = cfg->weight_sender_violation;
	pc->weight[BC_KIND_AUTH_ABORT] = cfg->weight_auth_abort;
	pc->min_hosts = (unsigned)cfg->min_hosts;
	pc->ipv6_prefix = (unsigned)cfg->ipv6_prefix;
	pc->max_tracked = (size_t)cfg->max_tracked;
	pc->allow = &cfg->allow;
	pc->nat64 = &cfg->nat64_prefixes;
}

bool bc_digest_addr_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t i, n = strlen(s);

	if (n == 0 || n > 254 || at == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '+' || c == '@'))
			return false;
	}
	return true;
}

bool bc_hooks_url_ok(const char *url, char *err, size_t errlen)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	bool ok = false;
	size_t i;

	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
			snprintf(err, errlen, "byte %zu is a space, a control character or not ASCII", i + 1);
			return false;
		}
	if (i >= BC_CFG_STR_MAX) {
		snprintf(err, errlen, "longer than %d characters", BC_CFG_STR_MAX - 1);
		return false;
	}
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "expected https://HOST/... or http://HOST/...");
		return false;
	}
	u = curl_url();
	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		snprintf(err, errlen, "not a URL libcurl can parse");
	else
		ok = true;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}
