/*
 * request.h - the admin side of the wire: cli.ini, the admin key and the
 * pinned coordinator key, and one signed request to the coordinator with
 * its verified reply. Library code: nothing here prints or exits; errors
 * come back as the exit status the command should end with and a
 * one-line message.
 *
 * Trust: cli.ini and the key files are the admin's. The reply comes from
 * the network: it is taken only when it opens against the pinned
 * coordinator key (proto/wire.c: size cap, envelope, signature, cluster,
 * counter) and echoes the request's random nonce; anything else is
 * dropped while the wait goes on.
 */
#ifndef BC_REQUEST_H
#define BC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/wire.h"

#define BC_CLI_INI_DEFAULT "/etc/bancluster/cli.ini"
/* a list of coordinators: the least wait for each (docs/cli.md) */
#define BC_CLI_ATTEMPT_MIN_MS 1000

struct bc_cli_cfg {
	char coordinator[BC_CFG_STR_MAX]; /* "a,b,c": 1..BC_CFG_ENDPOINTS_MAX */
	char key[BC_CFG_STR_MAX];
	char coordinator_key[BC_CFG_STR_MAX];
	char cluster[BC_CFG_STR_MAX];
	int64_t timeout;
};

/*
 * One per run, zeroed, cfgpath set by main; filled by bc_cli_load on the
 * first request, released by bc_cli_free.
 */
struct bc_cli {
	const char *cfgpath;
	struct bc_cli_cfg cfg;
	struct bc_signer signer;
	struct bc_keyring coord; /* exactly the coordinator's key once loaded */
	int loaded;
	char answered[BC_CFG_STR_MAX]; /* the endpoint of the last reply */
};

/*
 * Load cli.ini and the keys, once (later calls return 0 at once).
 * Returns 0, or EX_CONFIG with a one-line error in err (the loader's
 * "FILE:LINE: ..." or a key file's message).
 */
int bc_cli_load(struct bc_cli *c, char *err, size_t errlen);

/*
 * Load (as bc_cli_load), sign rq with a fresh random nonce, send it and
 * wait up to [cli] timeout for the reply that echoes the nonce. Returns
 * the decoded reply (caller frees with bancluster__payload__free_unpacked;
 * c->answered names the endpoint that sent it), or NULL with *status set
 * and a one-line error in err: EX_CONFIG (cli.ini, keys, the coordinator
 * endpoint), 1 (socket or signing failed) or EX_UNAVAILABLE (no answer
 * within the timeout).
 *
 * A list of coordinators: each in turn, on a fresh socket, the request
 * signed anew (fresh nonce, next counter); an endpoint waits its share
 * of the time left, (timeout left) / (endpoints left), at least
 * BC_CLI_ATTEMPT_MIN_MS, and is left at once when its connection fails
 * (refused, unreachable) or it refuses the admin key. The first reply
 * wins. None: EX_UNAVAILABLE (EX_CONFIG when zmq refused every
 * endpoint) and "no coordinator answered: EP (why), EP (why)", with the
 * line that enrols the key when one refused it.
 */
Bancluster__Payload *bc_cli_request(struct bc_cli *c, Bancluster__AdminReq *rq,
				    int *status, char *err, size_t errlen);

/* Release the key ring and wipe the admin key (safe when not loaded). */
void bc_cli_free(struct bc_cli *c);

#endif
