/*
 * init.c - the agent's first set-up (init.h; docs/operations.md,
 * Enrolment).
 *
 * --init: the secret key goes where [agent] key says (PATH.key, with
 * PATH.pub beside it), mode 0600, owned by [agent] user (the user the
 * shipped unit runs as, and the one the processes drop to when started
 * as root; an empty user: the caller), made with that owner before a
 * byte of it is written. An existing key is never overwritten: one line
 * says so, exit 1. Then the public key, its fingerprint and the exact
 * `bancluster agent add ID PUBKEY` line for the admin host.
 *
 * --coordinator-key PUBKEY: the coordinator's public key (as its --init
 * or `agent add` printed it; untrusted text, parsed strictly) written
 * where [agent] coordinator_key says, atomically; the same key there
 * already is fine, another one is refused.
 *
 * agent.ini is the admin's, read with the same loader as start. Key
 * directories are not created: the packages (or the README's install
 * lines) make /etc/bancluster.
 */
#include "agent/init.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/keys.h"
#include "conf/agent.h"

/* One line on stderr; the exit status 1. */
static int fail(const char *msg)
{
	fprintf(stderr, "bancluster-agent: %s\n", msg);
	return 1;
}

/* PATH of PATH.key (or of PATH, when the key is named without .key). */
static int key_base(const char *key, char *out, size_t outlen)
{
	size_t len = strlen(key);

	if (len > 4 && strcmp(key + len - 4, ".key") == 0)
		len -= 4;
	if (len >= outlen)
		return -1;
	memcpy(out, key, len);
	out[len] = '\0';
	return 0;
}

static int make_key(const char *cfgpath, const struct bc_agent_cfg *cfg)
{
	char base[BC_CFG_STR_MAX], kpath[BC_CFG_STR_MAX + 8], err[600],
		b64[BC_KEY_B64_LEN], fpr[BC_KEY_FPR_LEN];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	uint8_t pk[32], id[BC_KEY_ID_BYTES];
	const char *owner = "you";
	struct stat st;

	if (key_base(cfg->key, base, sizeof(base)) < 0) {
		snprintf(err, sizeof(err), "%s: [agent] key: path too long", cfgpath);
		return fail(err);
	}
	snprintf(kpath, sizeof(kpath), "%s.key", base);
	if (lstat(kpath, &st) == 0) {
		snprintf(err, sizeof(err), "%s exists: not overwritten (this agent "
			 "has its key; remove the file first to make a new one)", kpath);
		return fail(err);
	}
	if (cfg->user[0] != '\0') {
		struct passwd *pw;

		errno = 0;
		pw = getpwnam(cfg->user);
		if (pw == NULL) {
			snprintf(err, sizeof(err), "%s: [agent] user \"%s\": %s (create it, "
				 "e.g. adduser --system --group %s, or set user)",
				 cfgpath, cfg->user,
				 errno ? strerror(errno) : "no such user", cfg->user);
			return fail(err);
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		owner = cfg->user;
	}
	if (bc_key_generate_as(base, uid, gid, pk, err, sizeof(err)) < 0) {
		char m[700];

		snprintf(m, sizeof(m), "--init: %s%s", err,
			 errno == EPERM ? " (run as root to give the key to [agent] user)"
					: "");
		return fail(m);
	}
	bc_key_id(pk, id);
	printf("wrote %s (secret, mode 0600, owner %s) and %s.pub\n", kpath,
	       owner, base);
	printf("public key:  %s\n", bc_key_public_b64(pk, b64));
	printf("fingerprint: %s\n", bc_key_fingerprint(id, sizeof(id), fpr));
	printf("enrol it on the admin host:\n  bancluster agent add %s %s\n",
	       cfg->id, b64);
	return 0;
}

static int install_coordinator_key(const char *cfgpath,
				   const struct bc_agent_cfg *cfg,
				   const char *text)
{
	uint8_t pk[32], id[BC_KEY_ID_BYTES];
	char e[600], err[700], fpr[BC_KEY_FPR_LEN], f2[BC_KEY_FPR_LEN];
	struct bc_peer have;

	if (bc_key_parse_public(text, pk, e, sizeof(e)) < 0) {
		snprintf(err, sizeof(err), "--coordinator-key: %s", e);
		return fail(err);
	}
	bc_key_id(pk, id);
	bc_key_fingerprint(id, sizeof(id), fpr);
	memset(&have, 0, sizeof(have));
	if (access(cfg->coordinator_key, F_OK) == 0) {
		if (bc_key_load_public(&have, cfg->coordinator_key, e,
				       sizeof(e)) < 0) {
			snprintf(err, sizeof(err), "--coordinator-key: %s (not overwritten)", e);
			return fail(err);
		}
		if (memcmp(have.pk, pk, 32) != 0) {
			snprintf(err, sizeof(err),
				 "--coordinator-key: %s holds another key (fingerprint %s): not "
				 "overwritten; remove it first if the coordinator's "
				 "key changed", cfg->coordinator_key,
				 bc_key_fingerprint(have.id, sizeof(have.id), f2));
			return fail(err);
		}
		printf("%s holds this coordinator key already (fingerprint %s)\n",
		       cfg->coordinator_key, fpr);
		return 0;
	}
	if (bc_key_install_public(cfg->coordinator_key, pk, e, sizeof(e)) < 0) {
		snprintf(err, sizeof(err), "--coordinator-key: %s", e);
		return fail(err);
	}
	printf("wrote %s ([agent] coordinator_key of %s): the coordinator's "
	       "key, fingerprint %s\n", cfg->coordinator_key, cfgpath, fpr);
	return 0;
}

int bc_agent_init(const char *cfgpath, const struct bc_daemon_opts *o)
{
	struct bc_agent_cfg cfg;
	char err[1024];
	int rc = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (bc_agent_load_config(&cfg, cfgpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "bancluster-agent: %s\n", err);
		return 1;
	}
	if (o->init)
		rc = make_key(cfgpath, &cfg);
	if (rc == 0 && o->coordinator_key != NULL)
		rc = install_coordinator_key(cfgpath, &cfg, o->coordinator_key);
	bc_agent_free_config(&cfg);
	return rc;
}
