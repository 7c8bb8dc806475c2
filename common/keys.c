/*
 * keys.c - key files, key ids and the ring of pinned public keys.
 *
 * Key files are read with bounded reads; secret files must be private to
 * their owner. Secrets are wiped with sodium_memzero when discarded.
 */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_SECRET_TAG "bancluster-ed25519-secret "
#define KEY_PUBLIC_TAG "bancluster-ed25519-public "
#define KEY_FILE_MAX 256
#define KEY_B64_VARIANT sodium_base64_VARIANT_ORIGINAL

bool bc_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= BC_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

void bc_key_id(const uint8_t pk[32], uint8_t id[BC_KEY_ID_BYTES])
{
	crypto_generichash(id, BC_KEY_ID_BYTES, pk, 32, NULL, 0);
}

static void key_id(uint8_t id[BC_KEY_ID_BYTES], const uint8_t pk[32])
{
	bc_key_id(pk, id);
}

/* Create path (O_EXCL), owned by uid:gid before a byte is written. */
static int write_file(const char *path, const char *text, mode_t mode,
		      uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) ||
	    write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int bc_key_generate_as(const char *path, uid_t uid, gid_t gid,
		       uint8_t pk[32], char *err, size_t errlen)
{
	uint8_t sk[64];
	char b64[sodium_base64_ENCODED_LEN(32, KEY_B64_VARIANT)];
	char text[KEY_FILE_MAX], kpath[4096], ppath[4096];
	struct stat st;
	int rc = -1;

	if (snprintf(kpath, sizeof(kpath), "%s.key", path) >= (int)sizeof(kpath) ||
	    snprintf(ppath, sizeof(ppath), "%s.pub", path) >= (int)sizeof(ppath)) {
		snprintf(err, errlen, "\"%.64s\": path too long", path);
		return -1;
	}
	/* both or neither: a .pub left from an old key is not overwritten */
	if (lstat(ppath, &st) == 0) {
		snprintf(err, errlen, "%s: %s", ppath, strerror(EEXIST));
		errno = EEXIST;
		return -1;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(b64, sizeof(b64), sk, 32, KEY_B64_VARIANT);
	snprintf(text, sizeof(text), KEY_SECRET_TAG "%s\n", b64);
	if (write_file(kpath, text, 0600, uid, gid, err, errlen) < 0)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), pk, 32, KEY_B64_VARIANT);
	snprintf(text, sizeof(text), KEY_PUBLIC_TAG "%s\n", b64);
	if (write_file(ppath, text, 0644, uid, gid, err, errlen) < 0) {
		int e = errno;

		unlink(kpath);
		errno = e;
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return rc;
}

int bc_key_generate(const char *path, char *err, size_t errlen)
{
	uint8_t pk[32];

	return bc_key_generate_as(path, (uid_t)-1, (gid_t)-1, pk, err, errlen);
}

int bc_key_parse_public(const char *text, uint8_t pk[32], char *err,
			size_t errlen)
{
	const char *p = text, *end;
	size_t taglen = strlen(KEY_PUBLIC_TAG), n, bin_len = 0;
	uint8_t curve[32];

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (strncmp(p, KEY_PUBLIC_TAG, taglen) == 0)
		p += taglen;
	else if (strncmp(p, KEY_SECRET_TAG, strlen(KEY_SECRET_TAG)) == 0) {
		snprintf(err, errlen, "that is a secret key: give the public key (the .pub file's)");
		return -1;
	}
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n'))
		n--;
	if (n != BC_KEY_B64_LEN - 1 ||
	    sodium_base642bin(pk, 32, p, n, NULL, &bin_len, &end,
			      KEY_B64_VARIANT) != 0 ||
	    bin_len != 32 || end != p + n) {
		snprintf(err, errlen,
			 "not a bancluster public key (expected the %d base64 "
			 "characters of a .pub file)", BC_KEY_B64_LEN - 1);
		return -1;
	}
	if (crypto_sign_ed25519_pk_to_curve25519(curve, pk) != 0) {
		snprintf(err, errlen, "not a valid Ed25519 public key");
		return -1;
	}
	return 0;
}

char *bc_key_public_b64(const uint8_t pk[32], char out[BC_KEY_B64_LEN])
{
	sodium_bin2base64(out, BC_KEY_B64_LEN, pk, 32, KEY_B64_VARIANT);
	return out;
}

int bc_key_install_public(const char *path, const uint8_t pk[32], char *err,
			  size_t errlen)
{
	char dir[4096], tmp[4096 + 32], text[KEY_FILE_MAX], b64[BC_KEY_B64_LEN];
	const char *slash = strrchr(path, '/');
	uint8_t rnd[8];
	int fd, e;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		snprintf(err, errlen, "\"%.64s\": path too long", path);
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	/* ".NAME.pub.RANDOM": not a NAME.pub to bc_keyring_load_dir */
	randombytes_buf(rnd, sizeof(rnd));
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%02x%02x%02x%02x%02x%02x%02x%02x",
		     dir, slash ? slash + 1 : path, rnd[0], rnd[1], rnd[2],
		     rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "\"%.64s\": path too long", path);
		return -1;
	}
	snprintf(text, sizeof(text), KEY_PUBLIC_TAG "%s\n",
		 bc_key_public_b64(pk, b64));
	if (write_file(tmp, text, 0644, (uid_t)-1, (gid_t)-1, err, errlen) < 0)
		return -1;
	if (link(tmp, path) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		unlink(tmp);
		errno = e;
		return -1;
	}
	unlink(tmp);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* Read "TAG base64\n" from path and decode 32 bytes. */
static int read_key_file(const char *path, const char *tag, bool secret,
			 uint8_t out[32], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t taglen = strlen(tag), bin_len = 0;
	const char *b64end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "%s: secret key readable by group or others (mode %03o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, KEY_FILE_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if ((size_t)n < taglen || memcmp(buf, tag, taglen) != 0) {
		snprintf(err, errlen, "%s: not a bancluster %s key", path,
			 secret ? "secret" : "public");
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	if (sodium_base642bin(out, 32, buf + taglen, (size_t)n - taglen, "\n",
			      &bin_len, &b64end, KEY_B64_VARIANT) != 0 ||
	    bin_len != 32 || (*b64end != '\0' && *b64end != '\n')) {
		snprintf(err, errlen, "%s: malformed key", path);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int bc_key_secret_path(const char *path, char *out, size_t outlen)
{
	size_t len = strlen(path);
	bool has = len > 4 && strcmp(path + len - 4, ".key") == 0;
	int n = snprintf(out, outlen, "%s%s", path, has ? "" : ".key");

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int bc_key_load_secret(struct bc_key *k, const char *path, char *err,
		       size_t errlen)
{
	char p[4096];
	uint8_t seed[32];

	if (bc_key_secret_path(path, p, sizeof(p)) < 0) {
		snprintf(err, errlen, "\"%.64s\": path too long", path);
		return -1;
	}
	if (read_key_file(p, KEY_SECRET_TAG, true, seed, err, errlen) < 0)
		return -1;
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	key_id(k->id, k->pk);
	if (crypto_sign_ed25519_pk_to_curve25519(k->curve_pk, k->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(k->curve_sk, k->sk) != 0) {
		snprintf(err, errlen, "%s: key cannot be converted", p);
		bc_key_wipe(k);
		return -1;
	}
	return 0;
}

int bc_key_load_public(struct bc_peer *p, const char *path, char *err,
		       size_t errlen)
{
	if (read_key_file(path, KEY_PUBLIC_TAG, false, p->pk, err, errlen) < 0)
		return -1;
	key_id(p->id, p->pk);
	if (crypto_sign_ed25519_pk_to_curve25519(p->curve_pk, p->pk) != 0) {
		snprintf(err, errlen, "%s: not a valid Ed25519 public key",
			 path);
		return -1;
	}
	memset(p->last_counter, 0, sizeof(p->last_counter));
	return 0;
}

int bc_keyring_add(struct bc_keyring *kr, const struct bc_peer *p)
{
	struct bc_peer *v;

	if (kr->n >= BC_MAX_PEERS)
		return -1;
	v = realloc(kr->v, (kr->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	kr->v = v;
	kr->v[kr->n++] = *p;
	return 0;
}

int bc_keyring_load_dir(struct bc_keyring *kr, const char *dir, int role,
			char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct bc_peer p;
		char path[4096];

		if (len <= 4 || strcmp(de->d_name + len - 4, ".pub") != 0)
			continue;
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%.*s", (int)(len - 4),
			 de->d_name);
		if (len - 4 >= BC_NAME_MAX || !bc_name_valid(p.name)) {
			snprintf(err, errlen, "%s/%s: bad node name", dir,
				 de->d_name);
			rc = -1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (bc_key_load_public(&p, path, err, errlen) < 0) {
			rc = -1;
			break;
		}
		if (bc_keyring_find_id(kr, p.id, sizeof(p.id)) != NULL) {
			snprintf(err, errlen, "%s: key already trusted under another name", path);
			rc = -1;
			break;
		}
		p.role = role;
		if (bc_keyring_add(kr, &p) < 0) {
			snprintf(err, errlen, "%s: too many keys", dir);
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

struct bc_peer *bc_keyring_find_id(const struct bc_keyring *kr,
				   const uint8_t *id, size_t idlen)
{
	size_t i;

	if (idlen != BC_KEY_ID_BYTES)
		return NULL;
	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->v[i].id, id, BC_KEY_ID_BYTES) == 0)
			return &kr->v[i];
	return NULL;
}

struct bc_peer *bc_keyring_find_curve(const struct bc_keyring *kr,
				      const uint8_t curve_pk[32])
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->v[i].curve_pk, curve_pk, 32) == 0)
			return &kr->v[i];
	return NULL;
}

struct bc_peer *bc_keyring_find_name(const struct bc_keyring *kr,
				     const char *name)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (strcmp(kr->v[i].name, name) == 0)
			return &kr->v[i];
	return NULL;
}

void bc_keyring_free(struct bc_keyring *kr)
{
	free(kr->v);
	kr->v = NULL;
	kr->n = 0;
}

char *bc_key_fingerprint(const uint8_t *id, size_t idlen,
			 char out[BC_KEY_FPR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	out[0] = '\0';
	if (idlen != BC_KEY_ID_BYTES)
		return out;
	for (i = 0; i < BC_KEY_ID_BYTES; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * BC_KEY_ID_BYTES] = '\0';
	return out;
}

char *bc_key_fingerprint_curve(const uint8_t curve_pk[32],
			       char out[BC_KEY_CURVE_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[curve_pk[i] >> 4];
		out[2 * i + 1] = hex[curve_pk[i] & 15];
	}
	out[64] = '\0';
	return out;
}

void bc_key_wipe(struct bc_key *k)
{
	sodium_memzero(k, sizeof(*k));
}
