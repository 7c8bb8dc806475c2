/*
 * init.c - the coordinator's first set-up (init.h; docs/operations.md,
 * Enrolment).
 *
 * --init: the secret key goes where [coordinator] key says (PATH.key and
 * PATH.pub), mode 0600, owned by --user NAME, by default "bancluster"
 * (the user of the shipped unit) when that user exists and this runs as
 * root, else the caller. An existing key is never overwritten: one line
 * says so, exit 1. Then its public key and fingerprint, and the line
 * each MX runs to pin it (bancluster-agent --coordinator-key).
 *
 * --admin NAME PUBKEY: the first admin, written as admins_dir/NAME.pub
 * (atomically, never over a file); NAME must be a node name and PUBKEY
 * a key that is not enrolled already (both untrusted text, checked as
 * the coordinator checks `admin add`). A running coordinator reads it
 * at the next reload; later admins are added with `bancluster admin
 * add`. coordinator.ini is the admin's, read with the loader of start.
 */
#include "coordinator/init.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/keys.h"
#include "conf/coordinator.h"

/* One line on stderr; the exit status 1. */
static int fail(const char *msg)
{
	fprintf(stderr, "bancluster-coordinator: %s\n", msg);
	return 1;
}

static int make_key(const struct bc_coord_cfg *cfg, const char *user)
{
	char base[BC_CFG_STR_MAX], kpath[BC_CFG_STR_MAX + 8], e[600], err[700],
		b64[BC_KEY_B64_LEN], fpr[BC_KEY_FPR_LEN];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	uint8_t pk[32], id[BC_KEY_ID_BYTES];
	const char *owner = "you";
	size_t len = strlen(cfg->key);
	struct passwd *pw;
	struct stat st;

	if (len > 4 && strcmp(cfg->key + len - 4, ".key") == 0)
		len -= 4;
	snprintf(base, sizeof(base), "%.*s", (int)len, cfg->key);
	snprintf(kpath, sizeof(kpath), "%s.key", base);
	if (lstat(kpath, &st) == 0) {
		snprintf(err, sizeof(err), "%s exists: not overwritten (the "
			 "coordinator has its key; every agent and admin pins "
			 "it)", kpath);
		return fail(err);
	}
	errno = 0;
	pw = getpwnam(user != NULL ? user : "bancluster");
	if (user != NULL && pw == NULL) {
		snprintf(err, sizeof(err), "--user \"%s\": %s", user,
			 errno ? strerror(errno) : "no such user");
		return fail(err);
	}
	if (pw != NULL && (user != NULL || geteuid() == 0)) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		owner = pw->pw_name;
	}
	if (bc_key_generate_as(base, uid, gid, pk, e, sizeof(e)) < 0) {
		snprintf(err, sizeof(err), "--init: %s", e);
		return fail(err);
	}
	bc_key_id(pk, id);
	printf("wrote %s (secret, mode 0600, owner %s) and %s.pub\n", kpath,
	       owner, base);
	printf("public key:  %s\n", bc_key_public_b64(pk, b64));
	printf("fingerprint: %s\n", bc_key_fingerprint(id, sizeof(id), fpr));
	printf("pin it on each MX (and in each admin's cli.ini coordinator_key):\n"
	       "  bancluster-agent -c /etc/bancluster/agent.ini --coordinator-key %s\n",
	       b64);
	return 0;
}

static int add_admin(const struct bc_coord_cfg *cfg, const char *cfgpath,
		     const char *name, const char *text)
{
	char e[600], err[800], path[BC_CFG_STR_MAX + BC_NAME_MAX + 8],
		fpr[BC_KEY_FPR_LEN];
	struct bc_keyring ring = {0};
	struct bc_peer *have;
	struct bc_key own;
	uint8_t pk[32], id[BC_KEY_ID_BYTES];

	if (!bc_name_valid(name)) {
		snprintf(err, sizeof(err), "--admin \"%.64s\": expected 1 to %d of "
			 "A-Z a-z 0-9 . _ -, not starting with \".\"", name,
			 BC_NAME_MAX - 1);
		return fail(err);
	}
	if (bc_key_parse_public(text, pk, e, sizeof(e)) < 0) {
		snprintf(err, sizeof(err), "--admin %s: %s", name, e);
		return fail(err);
	}
	bc_key_id(pk, id);
	bc_key_fingerprint(id, sizeof(id), fpr);
	/* the same checks as `admin add`: unique name and key */
	if (bc_keyring_load_dir(&ring, cfg->agents_dir, BC_ROLE_AGENT, e, sizeof(e)) < 0 ||
	    bc_keyring_load_dir(&ring, cfg->admins_dir, BC_ROLE_ADMIN, e, sizeof(e)) < 0) {
		bc_keyring_free(&ring);
		snprintf(err, sizeof(err), "--admin: %s: %s", cfgpath, e);
		return fail(err);
	}
	have = bc_keyring_find_name(&ring, name);
	if (have == NULL)
		have = bc_keyring_find_id(&ring, id, sizeof(id));
	if (have != NULL) {
		snprintf(err, sizeof(err), "--admin %s: %s %s is enrolled already "
			 "with %s", name, have->role == BC_ROLE_ADMIN ? "admin" : "agent",
			 have->name, strcmp(have->name, name) == 0 ? "that name" : "that key");
		bc_keyring_free(&ring);
		return fail(err);
	}
	bc_keyring_free(&ring);
	if (bc_key_load_secret(&own, cfg->key, e, sizeof(e)) == 0) {
		int same = memcmp(own.pk, pk, 32) == 0;

		bc_key_wipe(&own);
		if (same) {
			snprintf(err, sizeof(err), "--admin %s: that is the "
				 "coordinator's own key", name);
			return fail(err);
		}
	}
	snprintf(path, sizeof(path), "%s/%s.pub", cfg->admins_dir, name);
	if (bc_key_install_public(path, pk, e, sizeof(e)) < 0) {
		snprintf(err, sizeof(err), "--admin: %s", e);
		return fail(err);
	}
	printf("enrolled admin %s (fingerprint %s): wrote %s\n", name, fpr, path);
	return 0;
}

int bc_coord_init(const char *cfgpath, const struct bc_daemon_opts *o)
{
	struct bc_coord_cfg cfg;
	char err[1024];
	int rc = 0;

	if (bc_coord_load_config(&cfg, cfgpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "bancluster-coordinator: %s\n", err);
		return 1;
	}
	if (o->init)
		rc = make_key(&cfg, o->user);
	if (rc == 0 && o->admin_name != NULL)
		rc = add_admin(&cfg, cfgpath, o->admin_name, o->admin_key);
	bc_coord_free_config(&cfg);
	return rc;
}
