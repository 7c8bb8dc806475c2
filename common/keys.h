/*
 * keys.h - Ed25519 node keys (libsodium) and the pinned key ring.
 *
 * One key per node: PATH.key holds the secret seed (mode 0600), PATH.pub
 * the public key, both one line of text. The same key yields the node's
 * CurveZMQ key pair (crypto_sign_ed25519_*_to_curve25519). A key id is
 * the 16-byte BLAKE2b hash of the public key; it only selects a pinned
 * key and never carries one.
 *
 * Key files are read bounded and parsed strictly; a secret file open to
 * group or other is refused. A struct bc_keyring owns its array
 * (bc_keyring_free); secrets are wiped (bc_key_wipe). Errors are -1
 * with a one-line reason in err where the function takes one, NULL for
 * a key not found; nothing prints.
 */
#ifndef BC_KEYS_H
#define BC_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BC_KEY_ID_BYTES 16
#define BC_NAME_MAX 64   /* node names: [A-Za-z0-9._-], 1..63 chars */
#define BC_MAX_PEERS 4096

struct bc_key {
	uint8_t pk[32];
	uint8_t sk[64];
	uint8_t id[BC_KEY_ID_BYTES];
	uint8_t curve_pk[32];
	uint8_t curve_sk[32];
};

struct bc_peer {
	char name[BC_NAME_MAX];
	uint8_t pk[32];
	uint8_t id[BC_KEY_ID_BYTES];
	uint8_t curve_pk[32];
	uint64_t last_counter[4]; /* per receiving channel; replay guard */
	int role;                 /* caller-defined (agent, admin, ...) */
	uint32_t allowed_types;   /* if not 0: message types this key may sign */
	uint32_t wire_version;    /* envelope version of the last message
				   * bc_wire_open accepted from it; 0: none */
};

struct bc_keyring {
	struct bc_peer *v;
	size_t n;
};

/* Generate PATH.key (0600, refuses to overwrite) and PATH.pub. */
int bc_key_generate(const char *path, char *err, size_t errlen);

/*
 * bc_key_generate, with both files owned by uid:gid (set before anything
 * is written; (uid_t)-1 keeps the caller's) and the public key in pk.
 * Refuses when either file exists (errno EEXIST, nothing written).
 */
int bc_key_generate_as(const char *path, uid_t uid, gid_t gid,
		       uint8_t pk[32], char *err, size_t errlen);

/*
 * A public key as an admin types it (`agent add NAME PUBKEY`): the
 * base64 of a .pub file, alone or with its "bancluster-ed25519-public "
 * tag (the whole line of the file); blanks around it are ignored. The
 * key must be a usable Ed25519 key (it converts to a CURVE key).
 * Returns 0, or -1 with a one-line reason.
 */
int bc_key_parse_public(const char *text, uint8_t pk[32], char *err,
			size_t errlen);

/* The base64 form bc_key_parse_public reads (and .pub files hold). */
#define BC_KEY_B64_LEN 45 /* 44 characters and the NUL */
char *bc_key_public_b64(const uint8_t pk[32], char out[BC_KEY_B64_LEN]);

/*
 * Write pk as the public key file path, atomically and never over an
 * existing file: a temporary file in the same directory, fsync, link to
 * path, fsync of the directory. Mode 0644, owned by the caller. Returns
 * 0, or -1 with a one-line reason (errno EEXIST when path exists).
 */
int bc_key_install_public(const char *path, const uint8_t pk[32], char *err,
			  size_t errlen);

/* The key id (fingerprint bytes) of a public key. */
void bc_key_id(const uint8_t pk[32], uint8_t id[BC_KEY_ID_BYTES]);

/*
 * The secret key file a configured `key` names: PATH itself when it ends
 * in ".key", else PATH.key. Returns 0, or -1 when it does not fit in out.
 */
int bc_key_secret_path(const char *path, char *out, size_t outlen);

/* Load a secret key file (PATH.key, or PATH). Refuses group/other access. */
int bc_key_load_secret(struct bc_key *k, const char *path, char *err,
		       size_t errlen);

/* Load a public key file into peer (name set by the caller). */
int bc_key_load_public(struct bc_peer *p, const char *path, char *err,
		       size_t errlen);

/* Add every NAME.pub of dir to the ring with the given role. */
int bc_keyring_load_dir(struct bc_keyring *kr, const char *dir, int role,
			char *err, size_t errlen);
int bc_keyring_add(struct bc_keyring *kr, const struct bc_peer *p);
struct bc_peer *bc_keyring_find_id(const struct bc_keyring *kr,
				   const uint8_t *id, size_t idlen);
struct bc_peer *bc_keyring_find_curve(const struct bc_keyring *kr,
				      const uint8_t curve_pk[32]);
struct bc_peer *bc_keyring_find_name(const struct bc_keyring *kr,
				     const char *name);
void bc_keyring_free(struct bc_keyring *kr);

/*
 * A key's fingerprint, as logs and the CLI print it: the key id in
 * lower-case hex (BC_KEY_FPR_LEN - 1 characters). out gets "" for an id
 * that is not BC_KEY_ID_BYTES long.
 */
#define BC_KEY_FPR_LEN (2 * BC_KEY_ID_BYTES + 1)
char *bc_key_fingerprint(const uint8_t *id, size_t idlen,
			 char out[BC_KEY_FPR_LEN]);

/* A CURVE public key in lower-case hex, as a ZAP refusal logs it. */
#define BC_KEY_CURVE_HEX_LEN (2 * 32 + 1)
char *bc_key_fingerprint_curve(const uint8_t curve_pk[32],
			       char out[BC_KEY_CURVE_HEX_LEN]);

/* True for a valid node name. */
bool bc_name_valid(const char *s);

/* Wipe secret material. */
void bc_key_wipe(struct bc_key *k);

#endif
