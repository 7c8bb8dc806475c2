/*
 * test_keys.c - node key files and the pinned key ring (common/keys.h),
 * against real files in a private temporary directory.
 */
#include "common/keys.h"
#include "tests/unit/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 512
#define DIR_MAX 256
#define PATHBUF 1024
#define FILE_MAX 1024

static char tmpdir[DIR_MAX];

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	if (fchmod(fd, mode) < 0)
		rc = -1;
	close(fd);
	return rc;
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* tmpdir/sub (created) + "/" + name into out. */
static void make_path(char *out, const char *sub, const char *name)
{
	char d[DIR_MAX + 64];

	snprintf(d, sizeof(d), "%s/%s", tmpdir, sub);
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		fprintf(stderr, "# mkdir %s: %s\n", d, strerror(errno));
	snprintf(out, PATHBUF, "%s/%s", d, name);
}

static void test_generate(void)
{
	char base[PATHBUF], kpath[PATHBUF + 8], ppath[PATHBUF + 8];
	char err[ERRLEN] = "", before[FILE_MAX], after[FILE_MAX];
	struct bc_key k;
	struct bc_peer p;
	uint8_t id[BC_KEY_ID_BYTES], sig[crypto_sign_BYTES], curve[32];
	static const uint8_t msg[] = "hello";

	make_path(base, "gen", "node1");
	snprintf(kpath, sizeof(kpath), "%s.key", base);
	snprintf(ppath, sizeof(ppath), "%s.pub", base);
	umask(0);
	CHECK(bc_key_generate(base, err, sizeof(err)) == 0,
	      "generate %s (err \"%s\")", base, err);
	umask(022);
	CHECK(file_mode(kpath) == 0600, "secret file mode 0600 even with umask 0 (got %03o)",
	      (unsigned)file_mode(kpath));
	CHECK(file_mode(ppath) == 0644, "public file mode 0644 (got %03o)",
	      (unsigned)file_mode(ppath));
	read_text(kpath, before, sizeof(before));
	CHECK(strncmp(before, "bancluster-ed25519-secret ", 26) == 0 &&
		      strchr(before, '\n') == before + strlen(before) - 1,
	      "secret file is one tagged line");
	read_text(ppath, after, sizeof(after));
	CHECK(strncmp(after, "bancluster-ed25519-public ", 26) == 0 &&
		      strchr(after, '\n') == after + strlen(after) - 1,
	      "public file is one tagged line");

	/* refuses to overwrite, and leaves both files as they were */
	err[0] = '\0';
	CHECK(bc_key_generate(base, err, sizeof(err)) < 0 && err[0] != '\0',
	      "second generate refused (\"%s\")", err);
	read_text(kpath, after, sizeof(after));
	CHECK(strcmp(before, after) == 0, "secret file unchanged");

	/* the pair loads and matches */
	memset(&k, 0, sizeof(k));
	memset(&p, 0, sizeof(p));
	CHECK(bc_key_load_secret(&k, base, err, sizeof(err)) == 0,
	      "load secret by base path (err \"%s\")", err);
	CHECK(bc_key_load_public(&p, ppath, err, sizeof(err)) == 0,
	      "load public (err \"%s\")", err);
	CHECK(memcmp(k.pk, p.pk, 32) == 0, "public key matches the secret");
	crypto_generichash(id, sizeof(id), k.pk, 32, NULL, 0);
	CHECK(memcmp(k.id, id, sizeof(id)) == 0 &&
		      memcmp(p.id, id, sizeof(id)) == 0,
	      "key id is BLAKE2b-128 of the public key");
	CHECK(memcmp(k.curve_pk, p.curve_pk, 32) == 0,
	      "curve public keys agree");
	crypto_scalarmult_base(curve, k.curve_sk);
	CHECK(memcmp(curve, k.curve_pk, 32) == 0,
	      "curve secret matches curve public");
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), k.sk);
	CHECK(crypto_sign_verify_detached(sig, msg, sizeof(msg), p.pk) == 0,
	      "signature by the secret verifies with the public file");
	{
		struct bc_key k2;

		memset(&k2, 0, sizeof(k2));
		CHECK(bc_key_load_secret(&k2, kpath, err, sizeof(err)) == 0 &&
			      memcmp(k2.sk, k.sk, 64) == 0,
		      "load secret by PATH.key gives the same key");
		bc_key_wipe(&k2);
		{
			static const struct bc_key zero;

			CHECK(memcmp(&k2, &zero, sizeof(zero)) == 0,
			      "bc_key_wipe zeroes every field");
		}
	}
	bc_key_wipe(&k);

	/* two keys differ */
	{
		char b2[PATHBUF], p2[PATHBUF + 8];
		struct bc_peer q;

		make_path(b2, "gen", "node2");
		snprintf(p2, sizeof(p2), "%s.pub", b2);
		memset(&q, 0, sizeof(q));
		CHECK(bc_key_generate(b2, err, sizeof(err)) == 0 &&
			      bc_key_load_public(&q, p2, err, sizeof(err)) == 0 &&
			      memcmp(q.pk, p.pk, 32) != 0,
		      "a second key is a different key");
	}

	/* .pub in the way: no .key left behind */
	{
		char b3[PATHBUF], k3[PATHBUF + 8], p3[PATHBUF + 8];

		make_path(b3, "gen", "node3");
		snprintf(k3, sizeof(k3), "%s.key", b3);
		snprintf(p3, sizeof(p3), "%s.pub", b3);
		write_text(p3, "stale\n", 0644);
		CHECK(bc_key_generate(b3, err, sizeof(err)) < 0 && !exists(k3),
		      "existing .pub: refused, no .key left (\"%s\")", err);
	}

	/* unwritable place */
	{
		char b4[PATHBUF];

		snprintf(b4, sizeof(b4), "%s/no/such/dir/node", tmpdir);
		CHECK(bc_key_generate(b4, err, sizeof(err)) < 0 &&
			      strstr(err, "No such file") != NULL,
		      "missing directory refused (\"%s\")", err);
	}
}

/* Secret files must be private to the owner. */
static void test_secret_modes(void)
{
	static const struct {
		mode_t mode;
		int ok;
	} cases[] = {
		{0600, 1}, {0400, 1}, {0700, 1}, {0644, 0}, {0640, 0},
		{0604, 0}, {0660, 0}, {0601, 0}, {0610, 0}, {0666, 0},
	};
	char base[PATHBUF], kpath[PATHBUF + 8], err[ERRLEN];
	size_t i;

	make_path(base, "modes", "node");
	snprintf(kpath, sizeof(kpath), "%s.key", base);
	if (bc_key_generate(base, err, sizeof(err)) < 0) {
		CHECK(0, "generate for mode tests: %s", err);
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bc_key k;
		int rc;

		chmod(kpath, cases[i].mode);
		err[0] = '\0';
		rc = bc_key_load_secret(&k, base, err, sizeof(err));
		if (cases[i].ok)
			CHECK(rc == 0, "secret with mode %03o accepted (\"%s\")",
			      (unsigned)cases[i].mode, err);
		else
			CHECK(rc < 0 && strstr(err, kpath) != NULL &&
				      strstr(err, "chmod 600") != NULL,
			      "secret with mode %03o refused, says how to fix (\"%s\")",
			      (unsigned)cases[i].mode, err);
		bc_key_wipe(&k);
	}
	chmod(kpath, 0600);
}

struct bad_file {
	const char *what;
	const char *text; /* NULL: special case below */
	int secret;       /* load as secret (else public) */
};

#define GOOD_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* 0..31 */

static const struct bad_file bad_files[] = {
	{"empty secret", "", 1},
	{"empty public", "", 0},
	{"no tag", GOOD_B64 "\n", 1},
	{"public tag in a secret file", "bancluster-ed25519-public " GOOD_B64 "\n", 1},
	{"secret tag in a public file", "bancluster-ed25519-secret " GOOD_B64 "\n", 0},
	{"tag only", "bancluster-ed25519-secret ", 1},
	{"tag and newline", "bancluster-ed25519-secret \n", 1},
	{"short key", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n", 1},
	{"long key", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj\n", 1},
	{"bad base64 char", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx*dHh8=\n", 1},
	{"url-safe alphabet", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_=\n", 1},
	{"missing padding", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 1},
	{"trailing garbage", "bancluster-ed25519-secret " GOOD_B64 " junk\n", 1},
	{"second key line", "bancluster-ed25519-secret " GOOD_B64 "\n" GOOD_B64 "\n", 1},
	{"tag in upper case", "BANCLUSTER-ED25519-SECRET " GOOD_B64 "\n", 1},
	{"space inside", "bancluster-ed25519-secret AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=\n", 1},
	{"all-zero public key (small order)",
	 "bancluster-ed25519-public AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0},
	{"identity public key (small order)",
	 "bancluster-ed25519-public AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0},
};

static void test_malformed(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad_file *b = &bad_files[i];
		char path[PATHBUF], err[ERRLEN] = "";
		int rc;

		make_path(path, "bad", b->secret ? "k.key" : "k.pub");
		unlink(path);
		write_text(path, b->text, 0600);
		if (b->secret) {
			struct bc_key k;

			rc = bc_key_load_secret(&k, path, err, sizeof(err));
			bc_key_wipe(&k);
		} else {
			struct bc_peer p;

			rc = bc_key_load_public(&p, path, err, sizeof(err));
		}
		CHECK(rc < 0 && strstr(err, path) != NULL,
		      "%s: refused, error names the file (\"%s\")", b->what, err);
	}

	/* the well-formed control rows do load */
	{
		char path[PATHBUF], err[ERRLEN] = "";
		struct bc_key k;

		make_path(path, "bad", "good.key");
		write_text(path, "bancluster-ed25519-secret " GOOD_B64 "\n", 0600);
		CHECK(bc_key_load_secret(&k, path, err, sizeof(err)) == 0,
		      "control: well-formed secret loads (\"%s\")", err);
		bc_key_wipe(&k);
		write_text(path, "bancluster-ed25519-secret " GOOD_B64, 0600);
		CHECK(bc_key_load_secret(&k, path, err, sizeof(err)) == 0,
		      "control: no final newline is fine (\"%s\")", err);
		bc_key_wipe(&k);
	}

	/* not a regular file, a symlink, absent, too big */
	{
		char dpath[PATHBUF], lpath[PATHBUF], gpath[PATHBUF];
		char err[ERRLEN] = "";
		struct bc_key k;
		struct bc_peer p;

		make_path(dpath, "bad", "dir.key");
		mkdir(dpath, 0700);
		CHECK(bc_key_load_secret(&k, dpath, err, sizeof(err)) < 0,
		      "a directory is refused (\"%s\")", err);
		make_path(gpath, "bad", "good.key");
		make_path(lpath, "bad", "link.key");
		write_text(gpath, "bancluster-ed25519-secret " GOOD_B64 "\n", 0600);
		if (symlink(gpath, lpath) == 0)
			CHECK(bc_key_load_secret(&k, lpath, err, sizeof(err)) < 0,
			      "a symlinked secret is refused (\"%s\")", err);
		make_path(lpath, "bad", "absent.pub");
		CHECK(bc_key_load_public(&p, lpath, err, sizeof(err)) < 0 &&
			      strstr(err, "No such file") != NULL,
		      "an absent file is refused (\"%s\")", err);
		{
			char big[4096];

			snprintf(big, sizeof(big),
				 "bancluster-ed25519-secret " GOOD_B64 "\n");
			memset(big + strlen(big), 'A', 2000);
			big[sizeof(big) - 1] = '\0';
			write_text(gpath, big, 0600);
			CHECK(bc_key_load_secret(&k, gpath, err, sizeof(err)) < 0,
			      "a 4 KiB key file is refused (\"%s\")", err);
		}
		bc_key_wipe(&k);
	}
}

static void test_names(void)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{"a", 1},
		{"mx1.example.org", 1},
		{"agent_01-b", 1},
		{"A.B", 1},
		{"a..b", 1},
		{"", 0},
		{".hidden", 0},
		{".", 0},
		{"..", 0},
		{"a/b", 0},
		{"../x", 0},
		{"a b", 0},
		{"a\tb", 0},
		{"caf\xc3\xa9", 0},
		{"a:b", 0},
		{"a*", 0},
		{"012345678901234567890123456789012345678901234567890123456789012", 1},
		{"0123456789012345678901234567890123456789012345678901234567890123", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(bc_name_valid(cases[i].name) == (cases[i].ok != 0),
		      "name \"%s\" %s", cases[i].name,
		      cases[i].ok ? "valid" : "invalid");
}

/* A directory of NAME.pub files becomes the key ring. */
static void test_ring(void)
{
	char d[PATHBUF], base[PATHBUF], err[ERRLEN] = "", other[PATHBUF];
	struct bc_keyring kr = {0};
	struct bc_peer *pa, *pb;
	struct bc_key ka;
	static const char *const names[] = {"alpha", "beta.example", "c-3"};
	size_t i;

	make_path(d, "ring", "");
	for (i = 0; i < 3; i++) {
		make_path(base, "ring", names[i]);
		if (bc_key_generate(base, err, sizeof(err)) < 0)
			CHECK(0, "generate %s: %s", names[i], err);
	}
	/* not keys: ignored */
	make_path(other, "ring", "README");
	write_text(other, "not a key\n", 0644);
	make_path(other, "ring", "notes.pub.txt");
	write_text(other, "not a key\n", 0644);
	make_path(other, "ring", ".pub");
	write_text(other, "not a key\n", 0644);

	CHECK(bc_keyring_load_dir(&kr, d, 7, err, sizeof(err)) == 0 &&
		      kr.n == 3,
	      "ring loads 3 keys, ignores other files (n %zu, \"%s\")", kr.n,
	      err);
	pa = bc_keyring_find_name(&kr, "alpha");
	pb = bc_keyring_find_name(&kr, "beta.example");
	CHECK(pa != NULL && pb != NULL && pa != pb &&
		      bc_keyring_find_name(&kr, "c-3") != NULL,
	      "every key is found by its file name");
	CHECK(bc_keyring_find_name(&kr, "alpha.pub") == NULL &&
		      bc_keyring_find_name(&kr, "gamma") == NULL &&
		      bc_keyring_find_name(&kr, "") == NULL,
	      "unknown names are not found");
	CHECK(pa != NULL && pa->role == 7 && pb->role == 7,
	      "role set from the caller");
	make_path(base, "ring", "alpha");
	memset(&ka, 0, sizeof(ka));
	if (bc_key_load_secret(&ka, base, err, sizeof(err)) == 0 && pa != NULL) {
		uint8_t zero[4] = {0};

		CHECK(memcmp(pa->pk, ka.pk, 32) == 0,
		      "ring key for alpha is alpha's key");
		CHECK(bc_keyring_find_id(&kr, ka.id, BC_KEY_ID_BYTES) == pa,
		      "found by key id");
		CHECK(bc_keyring_find_id(&kr, ka.id, BC_KEY_ID_BYTES - 1) == NULL &&
			      bc_keyring_find_id(&kr, ka.id, 32) == NULL,
		      "key id of the wrong length never matches");
		CHECK(bc_keyring_find_curve(&kr, ka.curve_pk) == pa,
		      "found by curve key");
		CHECK(bc_keyring_find_id(&kr, zero, 0) == NULL,
		      "empty key id never matches");
		CHECK(pa->last_counter[0] == 0 && pa->last_counter[3] == 0,
		      "replay counters start at zero");
	}
	bc_key_wipe(&ka);
	{
		uint8_t junk[BC_KEY_ID_BYTES];

		memset(junk, 0x42, sizeof(junk));
		CHECK(bc_keyring_find_id(&kr, junk, sizeof(junk)) == NULL,
		      "unknown key id not found");
	}

	/* a second directory appends */
	{
		char d2[PATHBUF], b2[PATHBUF];

		make_path(d2, "ring2", "");
		make_path(b2, "ring2", "admin1");
		bc_key_generate(b2, err, sizeof(err));
		CHECK(bc_keyring_load_dir(&kr, d2, 9, err, sizeof(err)) == 0 &&
			      kr.n == 4 &&
			      bc_keyring_find_name(&kr, "admin1") != NULL &&
			      bc_keyring_find_name(&kr, "admin1")->role == 9,
		      "second directory appends with its own role (n %zu)",
		      kr.n);
	}
	bc_keyring_free(&kr);
	CHECK(kr.v == NULL && kr.n == 0, "free resets the ring");

	/* the same key under two names is refused */
	{
		char d3[PATHBUF], src[PATHBUF], dst[PATHBUF], text[FILE_MAX];

		make_path(d3, "ring3", "");
		make_path(src, "ring3", "one");
		bc_key_generate(src, err, sizeof(err));
		make_path(src, "ring3", "one.pub");
		make_path(dst, "ring3", "two.pub");
		read_text(src, text, sizeof(text));
		write_text(dst, text, 0644);
		memset(&kr, 0, sizeof(kr));
		CHECK(bc_keyring_load_dir(&kr, d3, 1, err, sizeof(err)) < 0 &&
			      strstr(err, "already trusted") != NULL,
		      "one key under two names refused (\"%s\")", err);
		bc_keyring_free(&kr);
	}

	/* bad names and bad files in the directory are refused */
	{
		static const struct {
			const char *file;
			const char *text;
		} cases[] = {
			{"bad name.pub", NULL},
			{".hidden.pub", NULL},
			{"x.pub", "garbage\n"},
		};
		size_t k;

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			char sub[32], dd[PATHBUF], f[PATHBUF], b[PATHBUF];

			snprintf(sub, sizeof(sub), "ringbad%zu", k);
			make_path(dd, sub, "");
			make_path(b, sub, "ok");
			bc_key_generate(b, err, sizeof(err));
			make_path(f, sub, cases[k].file);
			if (cases[k].text == NULL) {
				char src[PATHBUF], text[FILE_MAX];

				make_path(src, sub, "ok.pub");
				read_text(src, text, sizeof(text));
				unlink(src);
				write_text(f, text, 0644);
			} else {
				write_text(f, cases[k].text, 0644);
			}
			memset(&kr, 0, sizeof(kr));
			err[0] = '\0';
			CHECK(bc_keyring_load_dir(&kr, dd, 1, err, sizeof(err)) < 0 &&
				      strstr(err, cases[k].file) != NULL,
			      "ring with \"%s\" refused, file named (\"%s\")",
			      cases[k].file, err);
			bc_keyring_free(&kr);
		}
	}

	/* missing directory */
	{
		char dd[PATHBUF];

		snprintf(dd, sizeof(dd), "%s/no-such-dir", tmpdir);
		memset(&kr, 0, sizeof(kr));
		CHECK(bc_keyring_load_dir(&kr, dd, 1, err, sizeof(err)) < 0 &&
			      strstr(err, "no-such-dir") != NULL,
		      "missing directory refused (\"%s\")", err);
		bc_keyring_free(&kr);
	}
}

static void test_ring_add(void)
{
	struct bc_keyring kr = {0};
	struct bc_peer p;
	size_t i;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < BC_MAX_PEERS && rc == 0; i++) {
		snprintf(p.name, sizeof(p.name), "n%zu", i);
		p.id[0] = (uint8_t)i;
		p.id[1] = (uint8_t)(i >> 8);
		rc = bc_keyring_add(&kr, &p);
	}
	CHECK(rc == 0 && kr.n == BC_MAX_PEERS, "ring takes %d peers",
	      BC_MAX_PEERS);
	CHECK(bc_keyring_add(&kr, &p) < 0 && kr.n == BC_MAX_PEERS,
	      "peer %d refused", BC_MAX_PEERS + 1);
	CHECK(bc_keyring_find_name(&kr, "n4095") == &kr.v[4095],
	      "last peer found by name");
	bc_keyring_free(&kr);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Enrolment: keys as admins type them, installed without overwriting. */
static void test_enrol_keys(void)
{
	char base[PATHBUF], path[PATHBUF + 8], err[ERRLEN], b64[BC_KEY_B64_LEN],
		line[FILE_MAX], text[FILE_MAX];
	uint8_t pk[32], pk2[32], zero[32] = {0};
	struct bc_peer p;
	DIR *d;
	struct dirent *de;
	int n;

	snprintf(base, sizeof(base), "%s/enrol", tmpdir);
	CHECK(bc_key_generate_as(base, (uid_t)-1, (gid_t)-1, pk, err, sizeof(err)) == 0,
	      "generate_as: %s", err);
	snprintf(path, sizeof(path), "%s.pub", base);
	memset(&p, 0, sizeof(p));
	CHECK(bc_key_load_public(&p, path, err, sizeof(err)) == 0 &&
		      memcmp(p.pk, pk, 32) == 0,
	      "generate_as: the public key it returns is the .pub's");
	bc_key_public_b64(pk, b64);
	CHECK(strlen(b64) == BC_KEY_B64_LEN - 1, "base64 form: %zu characters", strlen(b64));
	CHECK(bc_key_parse_public(b64, pk2, err, sizeof(err)) == 0 &&
		      memcmp(pk, pk2, 32) == 0,
	      "parse_public: the base64 alone");
	read_text(path, line, sizeof(line));
	CHECK(bc_key_parse_public(line, pk2, err, sizeof(err)) == 0 &&
		      memcmp(pk, pk2, 32) == 0,
	      "parse_public: the .pub file's whole line (with its newline)");
	snprintf(text, sizeof(text), "  %s  ", b64);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) == 0,
	      "parse_public: blanks around it");
	CHECK(bc_key_parse_public("", pk2, err, sizeof(err)) < 0 &&
		      strstr(err, "not a bancluster public key") != NULL,
	      "parse_public: empty refused (%s)", err);
	snprintf(text, sizeof(text), "%s=", b64);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) < 0,
	      "parse_public: one character too many refused");
	snprintf(text, sizeof(text), "%.43s", b64);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) < 0,
	      "parse_public: one character short refused");
	snprintf(text, sizeof(text), "%s x", b64);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) < 0,
	      "parse_public: trailing text refused");
	snprintf(text, sizeof(text), "bancluster-ed25519-secret %s", b64);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) < 0 &&
		      strstr(err, "secret key") != NULL,
	      "parse_public: a secret key's line refused as such (%s)", err);
	/* a point of small order: no usable CURVE key */
	sodium_bin2base64(text, sizeof(text), zero, 32, sodium_base64_VARIANT_ORIGINAL);
	CHECK(bc_key_parse_public(text, pk2, err, sizeof(err)) < 0,
	      "parse_public: the all-zero key refused (%s)", err);

	/* install: new file, 0644, the key; never over a file */
	snprintf(path, sizeof(path), "%s/inst.pub", tmpdir);
	CHECK(bc_key_install_public(path, pk, err, sizeof(err)) == 0, "install: %s", err);
	memset(&p, 0, sizeof(p));
	CHECK(bc_key_load_public(&p, path, err, sizeof(err)) == 0 &&
		      memcmp(p.pk, pk, 32) == 0 && file_mode(path) == 0644,
	      "install: the key, mode 0644 (%03o)", (unsigned)file_mode(path));
	errno = 0;
	CHECK(bc_key_install_public(path, pk2, err, sizeof(err)) < 0 && errno == EEXIST,
	      "install over an existing file refused with EEXIST (%s)", err);
	memset(&p, 0, sizeof(p));
	CHECK(bc_key_load_public(&p, path, err, sizeof(err)) == 0 &&
		      memcmp(p.pk, pk, 32) == 0,
	      "install refused: the file kept its key");
	n = 0;
	d = opendir(tmpdir);
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".inst.pub.", 10) == 0)
			n++;
	if (d != NULL)
		closedir(d);
	CHECK(n == 0, "install: no temporary file left (%d)", n);
	snprintf(path, sizeof(path), "%s/missing-dir/x.pub", tmpdir);
	CHECK(bc_key_install_public(path, pk, err, sizeof(err)) < 0 &&
		      strstr(err, "No such file") != NULL,
	      "install into a missing directory: %s", err);
	/* generate_as over a left-over .pub: refused, nothing written */
	snprintf(base, sizeof(base), "%s/inst", tmpdir);
	errno = 0;
	CHECK(bc_key_generate_as(base, (uid_t)-1, (gid_t)-1, pk2, err, sizeof(err)) < 0 &&
		      errno == EEXIST,
	      "generate_as with PATH.pub there: refused (%s)", err);
	snprintf(path, sizeof(path), "%s/inst.key", tmpdir);
	CHECK(access(path, F_OK) < 0, "generate_as refused: no PATH.key written");
	snprintf(base, sizeof(base), "%s/enrol", tmpdir);
	CHECK(bc_key_generate_as(base, (uid_t)-1, (gid_t)-1, pk2, err, sizeof(err)) < 0,
	      "generate_as over an existing key refused (%s)", err);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	if (sodium_init() < 0) {
		CHECK(0, "sodium_init");
		return tap_done();
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/bc-test-keys.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	test_generate();
	test_secret_modes();
	test_malformed();
	test_names();
	test_ring();
	test_ring_add();
	test_enrol_keys();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
