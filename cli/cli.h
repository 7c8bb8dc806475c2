/*
 * cli.h - the bancluster command: configuration and the signed request
 * to the coordinator shared by every admin command.
 */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <stdint.h>

#include "common/config.h"
#include "proto/wire.h"

#define BC_EXIT_ERROR 1     /* the coordinator refused or failed */
#define BC_EXIT_USAGE 64    /* bad command line or argument */
#define BC_EXIT_UNAVAIL 69  /* coordinator did not answer */
#define BC_EXIT_CONFIG 78   /* bad cli.ini or key */
#define BC_EXIT_AUDIT_FAILED 3 /* audit fleet: the coordinator refused */

struct bc_cli_cfg {
	char coordinator[BC_CFG_STR_MAX];
	char key[BC_CFG_STR_MAX];
	char coordinator_key[BC_CFG_STR_MAX];
	char cluster[BC_CFG_STR_MAX];
	int64_t timeout;
};

struct bc_cli {
	const char *cfgpath;
	struct bc_cli_cfg cfg;
	struct bc_signer signer;
	struct bc_keyring coord;
	int loaded;
};

/* Load cli.ini and keys (exits with a one-line error on failure). */
void bc_cli_load(struct bc_cli *c);

/*
 * Send one admin request and wait for its reply (nonce checked). Returns
 * the decoded reply (caller frees with bancluster__payload__free_unpacked)
 * or exits with BC_EXIT_UNAVAIL after the timeout.
 */
Bancluster__Payload *bc_cli_request(struct bc_cli *c, Bancluster__AdminReq *rq);

#endif
