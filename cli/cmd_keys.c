/*
 * cmd_keys.c - enrolment, the trusted keys of the coordinator:
 *   agent add NAME PUBKEY | agent remove NAME | agent list [--json]
 *   admin add NAME PUBKEY | admin remove NAME | admin list [--json]
 *
 * NAME and PUBKEY are checked here first as the coordinator checks them
 * (bc_name_valid; bc_key_parse_public: the base64 `--init` or `keygen`
 * printed, or the .pub file's line), so a bad one is one line and
 * EX_USAGE before anything is sent. The coordinator writes or removes
 * agents_dir/NAME.pub (admins_dir) and reloads its keys (coordinator/
 * enrol.c); its refusal (name or key enrolled already, an admin removing
 * itself, ...) is its escaped error and exit 1. After `agent add` the
 * coordinator's public key (the one this CLI pins, which verified the
 * reply) is printed with the line that installs it on the MX. Names and
 * keys in replies are remote text: escaped for the terminal and JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/jout.h"
#include "common/keys.h"
#include "common/log.h"

static const char *role_word(int role)
{
	return role == BANCLUSTER__KEY_ROLE__KEY_ROLE_ADMIN ? "admin" : "agent";
}

/* Fingerprint and base64 of a reply's key ("?" for a bad length). */
static void entry_text(const Bancluster__KeyEntry *k, char fpr[BC_KEY_FPR_LEN],
		       char b64[BC_KEY_B64_LEN])
{
	uint8_t id[BC_KEY_ID_BYTES];

	if (k->public_key.len != 32) {
		snprintf(fpr, BC_KEY_FPR_LEN, "?");
		snprintf(b64, BC_KEY_B64_LEN, "?");
		return;
	}
	bc_key_id(k->public_key.data, id);
	bc_key_fingerprint(id, sizeof(id), fpr);
	bc_key_public_b64(k->public_key.data, b64);
}

static void check_name(const char *cmd, const char *name)
{
	char esc[BC_NAME_MAX * 4];

	if (bc_name_valid(name))
		return;
	bc_printable(esc, sizeof(esc), name, strnlen(name, BC_NAME_MAX - 1));
	bc_cli_usage_exit("%s: name \"%s%s\": expected 1 to %d of A-Z a-z 0-9 . _ -, "
			  "not starting with \".\"", cmd, esc,
			  strlen(name) >= BC_NAME_MAX ? "..." : "", BC_NAME_MAX - 1);
}

static int do_add(struct bc_cli *c, int role, const char *cmd, int argc,
		  char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__EnrolAddCmd a = BANCLUSTER__ENROL_ADD_CMD__INIT;
	Bancluster__Payload *r;
	uint8_t pk[32], id[BC_KEY_ID_BYTES];
	char err[256], fpr[BC_KEY_FPR_LEN], b64[BC_KEY_B64_LEN];
	int rc;

	if (argc != 4)
		bc_cli_usage_exit("%s add: expected NAME PUBKEY", cmd);
	check_name(cmd, argv[2]);
	if (bc_key_parse_public(argv[3], pk, err, sizeof(err)) < 0)
		bc_cli_usage_exit("%s add %s: PUBKEY: %s", cmd, argv[2], err);
	a.role = (Bancluster__KeyRole)role;
	a.name = argv[2];
	a.public_key.data = pk;
	a.public_key.len = sizeof(pk);
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ENROL_ADD;
	rq.enrol_add = &a;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0) {
		bc_key_id(pk, id);
		printf("added %s %s (fingerprint %s)\n", cmd, argv[2],
		       bc_key_fingerprint(id, sizeof(id), fpr));
		/* the key this CLI pins: the reply verified against it */
		bc_key_public_b64(c->coord.v[0].pk, b64);
		bc_key_fingerprint(c->coord.v[0].id, BC_KEY_ID_BYTES, fpr);
		printf("coordinator key: %s (fingerprint %s)\n", b64, fpr);
		if (role == BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT)
			printf("on %s, if not done yet:\n  bancluster-agent -c "
			       "/etc/bancluster/agent.ini --coordinator-key %s\n",
			       argv[2], b64);
		else
			printf("for %s's cli.ini: coordinator_key = a file holding "
			       "that key (its coordinator.pub)\n", argv[2]);
	}
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

static int do_remove(struct bc_cli *c, int role, const char *cmd, int argc,
		     char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__EnrolRemoveCmd m = BANCLUSTER__ENROL_REMOVE_CMD__INIT;
	Bancluster__Payload *r;
	int rc;

	if (argc != 3)
		bc_cli_usage_exit("%s remove: expected NAME", cmd);
	check_name(cmd, argv[2]);
	m.role = (Bancluster__KeyRole)role;
	m.name = argv[2];
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ENROL_REMOVE;
	rq.enrol_remove = &m;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0) {
		char fpr[BC_KEY_FPR_LEN] = "?", b64[BC_KEY_B64_LEN];

		if (r->admin_reply->n_keys == 1)
			entry_text(r->admin_reply->keys[0], fpr, b64);
		printf("removed %s %s (fingerprint %s): its messages are refused "
		       "from now on\n", cmd, argv[2], fpr);
	}
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

/* `agent list --json` (docs/cli.md): one object, the keys by name. */
static int print_list_json(const Bancluster__AdminReply *rp, int role)
{
	bool agent = role == BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT;
	char key[16];
	json_t *d = bc_jout_new(agent ? "agent-list" : "admin-list",
				BC_JSON_KEY_LIST_VERSION), *arr;
	size_t i;

	snprintf(key, sizeof(key), "%ss", role_word(role));
	arr = bc_jout_arr(d, key);
	for (i = 0; i < rp->n_keys; i++) {
		const Bancluster__KeyEntry *k = rp->keys[i];
		char fpr[BC_KEY_FPR_LEN], b64[BC_KEY_B64_LEN];
		json_t *o = bc_jout_push_obj(arr);

		entry_text(k, fpr, b64);
		bc_jout_str(o, "name", k->name);
		bc_jout_str(o, "fingerprint", fpr);
		bc_jout_str(o, "public_key", b64);
		if (agent)
			bc_jout_time(o, "last_seen", k->last_seen_ms);
	}
	bc_jout_uint(d, "total", rp->n_keys);
	return bc_jout_print(&d) == 0 ? 0 : BC_EXIT_ERROR;
}

static void print_list_text(const Bancluster__AdminReply *rp, int role)
{
	size_t i;

	if (role == BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT)
		printf("%-24s %-32s %-44s %s\n", "NAME", "FINGERPRINT", "PUBLIC KEY",
		       "LAST SEEN");
	else
		printf("%-24s %-32s %s\n", "NAME", "FINGERPRINT", "PUBLIC KEY");
	for (i = 0; i < rp->n_keys; i++) {
		const Bancluster__KeyEntry *k = rp->keys[i];
		char name[BC_NAME_MAX * 4], fpr[BC_KEY_FPR_LEN], b64[BC_KEY_B64_LEN],
			t[32];

		entry_text(k, fpr, b64);
		bc_printable(name, sizeof(name), k->name, strlen(k->name));
		if (role == BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT)
			printf("%-24s %-32s %-44s %s\n", name, fpr, b64,
			       k->last_seen_ms > 0
				       ? bc_cli_fmt_time(k->last_seen_ms, t, sizeof(t))
				       : "never");
		else
			printf("%-24s %-32s %s\n", name, fpr, b64);
	}
	printf("%zu %s%s\n", rp->n_keys, role_word(role), rp->n_keys == 1 ? "" : "s");
}

static int do_list(struct bc_cli *c, int role, const char *cmd, int argc,
		   char **argv)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__EnrolListCmd l = BANCLUSTER__ENROL_LIST_CMD__INIT;
	Bancluster__Payload *r;
	char what[32];
	int json, rc;

	snprintf(what, sizeof(what), "%s list", cmd);
	json = bc_cli_json_flag(argc - 1, argv + 1, what);
	l.role = (Bancluster__KeyRole)role;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_ENROL_LIST;
	rq.enrol_list = &l;
	r = bc_cli_call(c, &rq);
	rc = bc_cli_check_reply(r);
	if (rc == 0 && json)
		rc = print_list_json(r->admin_reply, role);
	else if (rc == 0)
		print_list_text(r->admin_reply, role);
	bancluster__payload__free_unpacked(r, NULL);
	return rc;
}

/* argv[0] "agent" or "admin", argv[1] the subcommand. */
static int keys_main(struct bc_cli *c, int role, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (argc < 2)
		bc_cli_usage_exit("%s: expected add, remove or list", cmd);
	if (strcmp(argv[1], "add") == 0)
		return do_add(c, role, cmd, argc, argv);
	if (strcmp(argv[1], "remove") == 0)
		return do_remove(c, role, cmd, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return do_list(c, role, cmd, argc, argv);
	bc_cli_usage_exit("%s: expected add, remove or list, got \"%.32s\"", cmd,
			  argv[1]);
}

int bc_cmd_agent(struct bc_cli *c, int argc, char **argv)
{
	return keys_main(c, BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT, argc, argv);
}

int bc_cmd_admin(struct bc_cli *c, int argc, char **argv)
{
	return keys_main(c, BANCLUSTER__KEY_ROLE__KEY_ROLE_ADMIN, argc, argv);
}
