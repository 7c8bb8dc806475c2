/*
 * test_config.c - table-driven INI loading (common/config.h) against
 * real files written into a private temporary directory.
 *
 * Errors must read "FILE:LINE: [section] key: reason" (missing keys:
 * "FILE: [section] key: missing"); values must land in the caller's
 * struct with defaults applied and relative paths resolved against the
 * directory of the file.
 */
#include "common/config.h"
#include "common/duration.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024
#define DIR_MAX 256   /* the temporary directory's name */
#define PATHBUF 1024  /* DIR_MAX plus a sub-directory and a file */

struct cfg {
	char name[BC_CFG_STR_MAX];
	char key[BC_CFG_STR_MAX];
	char spool[BC_CFG_STR_MAX];
	int64_t maxretry;
	int64_t offset;
	int64_t bantime;
	double factor;
	struct bc_addr_list allow;
	struct bc_cfg_ports ports;
	char connect[BC_CFG_STR_MAX];
	char bind[BC_CFG_STR_MAX];
	int extra_calls;
	char extra_last[BC_CFG_STR_MAX];
};

static const struct bc_cfg_key keys[] = {
	{"node", "name", BC_CFG_STR, offsetof(struct cfg, name), 1, 63, NULL},
	{"node", "key", BC_CFG_PATH, offsetof(struct cfg, key), 0, 0, "node"},
	{"node", "spool", BC_CFG_PATH, offsetof(struct cfg, spool), 0, 0,
	 "/var/spool/bc"},
	{"ban", "maxretry", BC_CFG_INT, offsetof(struct cfg, maxretry), 1, 1000,
	 "5"},
	{"ban", "offset", BC_CFG_INT, offsetof(struct cfg, offset), -100, 100,
	 "0"},
	{"ban", "bantime", BC_CFG_DUR, offsetof(struct cfg, bantime), 60,
	 (double)BC_DURATION_MAX_S, "1h"},
	{"ban", "factor", BC_CFG_NUM, offsetof(struct cfg, factor), 1, 10, "2"},
	{"ban", "allow", BC_CFG_ADDRS, offsetof(struct cfg, allow), 0, 0,
	 "127.0.0.0/8, ::1"},
	{"ban", "ports", BC_CFG_PORTS, offsetof(struct cfg, ports), 0, 0, "25"},
	{"net", "connect", BC_CFG_ENDPOINT, offsetof(struct cfg, connect), 0, 0,
	 "tcp://127.0.0.1:7710"},
	{"net", "bind", BC_CFG_BIND, offsetof(struct cfg, bind), 0, 0,
	 "tcp://*:7711"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char tmpdir[DIR_MAX];

/* Extra sections "source.NAME" take one key, "path". */
static int extra(void *obj, const char *section, const char *name,
		 const char *value, const char *dir, char *err, size_t errlen)
{
	struct cfg *c = obj;

	(void)dir;
	if (strncmp(section, "source.", 7) != 0) {
		snprintf(err, errlen, "unknown section");
		return -1;
	}
	if (strcmp(name, "path") != 0) {
		snprintf(err, errlen, "unknown key");
		return -1;
	}
	c->extra_calls++;
	snprintf(c->extra_last, sizeof(c->extra_last), "%s=%s", section, value);
	return 0;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Write text as DIR/sub/NAME and load it; path gets the file name. */
static int load_text(const char *sub, const char *text, struct cfg *c,
		     bc_cfg_extra_fn fn, char *path, size_t pathlen,
		     char *err)
{
	char d[DIR_MAX + 32];

	snprintf(d, sizeof(d), "%s/%s", tmpdir, sub);
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return -2;
	snprintf(path, pathlen, "%s/test.ini", d);
	if (write_text(path, text) < 0)
		return -2;
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return bc_cfg_load(path, keys, NKEYS, c, fn, err, ERRLEN);
}

struct err_case {
	const char *what;
	const char *text;
	int line;          /* expected line in "FILE:LINE:"; 0: no line */
	const char *has1;  /* substrings the message must contain */
	const char *has2;
};

static const struct err_case err_cases[] = {
	{"unknown key", "[node]\nname = a\ncolour = blue\n", 3,
	 "[node] colour", "unknown key"},
	{"unknown section", "[node]\nname = a\n\n[bogus]\nx = 1\n", 5,
	 "[bogus]", "unknown section"},
	{"key before any section", "name = a\n[node]\nname = a\n", 1,
	 "name: key outside any [section]", NULL},
	{"int over range", "[node]\nname = a\n[ban]\nmaxretry = 1001\n", 4,
	 "[ban] maxretry", "1..1000"},
	{"int under range", "[node]\nname = a\n[ban]\nmaxretry = 0\n", 4,
	 "maxretry", "\"0\""},
	{"int not a number", "[node]\nname = a\n[ban]\nmaxretry = x\n", 4,
	 "maxretry", "\"x\""},
	{"int trailing junk", "[node]\nname = a\n[ban]\nmaxretry = 5x\n", 4,
	 "maxretry", "\"5x\""},
	{"int hex", "[node]\nname = a\n[ban]\nmaxretry = 0x10\n", 4,
	 "maxretry", NULL},
	{"int negative out of range", "[node]\nname = a\n[ban]\noffset = -101\n",
	 4, "offset", "-100..100"},
	{"int lone minus", "[node]\nname = a\n[ban]\noffset = -\n", 4,
	 "offset", NULL},
	{"int empty", "[node]\nname = a\n[ban]\nmaxretry =\n", 4,
	 "maxretry", NULL},
	{"int overflow", "[node]\nname = a\n[ban]\nmaxretry = 99999999999999999999999\n",
	 4, "maxretry", NULL},
	{"duration malformed", "[node]\nname = a\n[ban]\nbantime = 10 m\n", 4,
	 "[ban] bantime", "10 m"},
	{"duration under range", "[node]\nname = a\n[ban]\nbantime = 59s\n", 4,
	 "bantime", "1m..3650d"},
	{"duration negative", "[node]\nname = a\n[ban]\nbantime = -1\n", 4,
	 "bantime", NULL},
	{"duration over ten years", "[node]\nname = a\n[ban]\nbantime = 522w\n",
	 4, "bantime", NULL},
	{"number over range", "[node]\nname = a\n[ban]\nfactor = 10.5\n", 4,
	 "[ban] factor", "10.5"},
	{"number nan", "[node]\nname = a\n[ban]\nfactor = nan\n", 4, "factor",
	 NULL},
	{"number inf", "[node]\nname = a\n[ban]\nfactor = inf\n", 4, "factor",
	 NULL},
	{"number junk", "[node]\nname = a\n[ban]\nfactor = 2x\n", 4, "factor",
	 NULL},
	{"string too long",
	 "[node]\nname = 0123456789012345678901234567890123456789012345678901234567890123\n",
	 2, "[node] name", "1..63"},
	{"string too short", "[node]\nname =\n", 2, "[node] name", NULL},
	{"address list malformed",
	 "[node]\nname = a\n[ban]\nallow = 10.0.0.0/8, 10.0.0.256\n", 4,
	 "[ban] allow", "10.0.0.256"},
	{"address prefix too long",
	 "[node]\nname = a\n[ban]\nallow = 10.0.0.0/33\n", 4, "allow", "/33"},
	{"port zero", "[node]\nname = a\n[ban]\nports = 25, 0\n", 4,
	 "[ban] ports", "\"0\""},
	{"port too big", "[node]\nname = a\n[ban]\nports = 65536\n", 4,
	 "ports", "65536"},
	{"port junk", "[node]\nname = a\n[ban]\nports = smtp\n", 4, "ports",
	 NULL},
	{"port list empty", "[node]\nname = a\n[ban]\nports = ,\n", 4, "ports",
	 "empty"},
	{"set twice", "[node]\nname = a\n[ban]\nmaxretry = 3\nmaxretry = 4\n",
	 5, "[ban] maxretry", "set twice"},
	{"set twice across sections",
	 "[node]\nname = a\n[ban]\nmaxretry = 3\n[node]\n[ban]\nmaxretry = 3\n",
	 7, "maxretry", "set twice"},
	{"first error wins",
	 "[node]\nname = a\n[ban]\nmaxretry = 0\nfactor = 99\n", 4,
	 "maxretry", NULL},
	{"syntax error", "[node]\nname = a\nthis line has no equals sign\n", 3,
	 NULL, NULL},
	{"unterminated section", "[node\nname = a\n", 1, NULL, NULL},
	{"error after comments", "# c1\n; c2\n\n[node]\n# c3\nname = a\nbad = 1\n",
	 7, "[node] bad", "unknown key"},
	{"key in a known section is not sent to extra",
	 "[node]\nname = a\npath = /x\n", 3, "[node] path", "unknown key"},
	{"missing required key", "[ban]\nmaxretry = 3\n", 0, "[node] name",
	 "missing"},
	{"missing file", NULL, 0, "No such file", NULL},
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *e = &err_cases[i];
		char path[PATHBUF], err[ERRLEN], want[PATHBUF + 32];
		struct cfg c;
		int rc;

		if (e->text != NULL) {
			rc = load_text("err", e->text, &c, NULL, path,
				       sizeof(path), err);
		} else {
			snprintf(path, sizeof(path), "%s/absent.ini", tmpdir);
			memset(&c, 0, sizeof(c));
			rc = bc_cfg_load(path, keys, NKEYS, &c, NULL, err,
					 ERRLEN);
		}
		if (e->line > 0)
			snprintf(want, sizeof(want), "%s:%d: ", path, e->line);
		else
			snprintf(want, sizeof(want), "%s: ", path);
		CHECK(rc == -1, "%s: refused", e->what);
		CHECK(strncmp(err, want, strlen(want)) == 0,
		      "%s: message starts \"%s\" (got \"%s\")", e->what, want,
		      err);
		CHECK((e->has1 == NULL || strstr(err, e->has1) != NULL) &&
			      (e->has2 == NULL || strstr(err, e->has2) != NULL),
		      "%s: message has \"%s\" and \"%s\" (got \"%s\")", e->what,
		      e->has1 ? e->has1 : "", e->has2 ? e->has2 : "", err);
		CHECK(strchr(err, '\n') == NULL, "%s: message is one line",
		      e->what);
		bc_cfg_free(keys, NKEYS, &c);
	}
}

/* Accepted files and the values they produce. */
struct ok_case {
	const char *what;
	const char *text;
	const char *name;
	int64_t maxretry, offset, bantime;
	double factor;
	size_t nallow;
	int ports_all;
	size_t nports;
	uint16_t port0;
};

static const struct ok_case ok_cases[] = {
	{"defaults", "[node]\nname = a\n", "a", 5, 0, 3600, 2.0, 2, 0, 1, 25},
	{"every key",
	 "[node]\nname = mx1.example\n[ban]\nmaxretry = 1000\noffset = -100\n"
	 "bantime = 7d\nfactor = 1.5\nallow = 192.0.2.0/24\nports = 25 587, 465\n",
	 "mx1.example", 1000, -100, 604800, 1.5, 1, 0, 3, 25},
	{"bounds inclusive",
	 "[node]\nname = a\n[ban]\nmaxretry = 1\noffset = 100\nbantime = 60\n"
	 "factor = 10\n",
	 "a", 1, 100, 60, 10.0, 2, 0, 1, 25},
	{"bare seconds and ten years",
	 "[node]\nname = a\n[ban]\nbantime = 3650d\n", "a", 5, 0,
	 BC_DURATION_MAX_S, 2.0, 2, 0, 1, 25},
	{"inline # comment stripped",
	 "[node]\nname = a   # the node\n[ban]\nmaxretry = 7 # seven\n"
	 "bantime = 10m\t# tab before\nports = all # every port\n",
	 "a", 7, 0, 600, 2.0, 2, 1, 0, 0},
	{"inline ; comment stripped",
	 "[node]\nname = a ; the node\n[ban]\nmaxretry = 8 ; eight\n", "a", 8,
	 0, 3600, 2.0, 2, 0, 1, 25},
	{"# inside a value is kept", "[node]\nname = a#b\n", "a#b", 5, 0, 3600,
	 2.0, 2, 0, 1, 25},
	{"comment lines and blank lines",
	 "# top\n; also\n\n[node]\n  # indented comment\nname=a\n\n", "a", 5, 0,
	 3600, 2.0, 2, 0, 1, 25},
	{"spaces around = and value trimmed", "[node]\nname   =    a    \n", "a",
	 5, 0, 3600, 2.0, 2, 0, 1, 25},
	{"colon separator", "[node]\nname: a\n", "a", 5, 0, 3600, 2.0, 2, 0, 1,
	 25},
	{"empty allow list", "[node]\nname = a\n[ban]\nallow =\n", "a", 5, 0,
	 3600, 2.0, 0, 0, 1, 25},
	{"allow list replaces the default",
	 "[node]\nname = a\n[ban]\nallow = 10.0.0.0/8, 2001:db8::/32, ::1\n", "a",
	 5, 0, 3600, 2.0, 3, 0, 1, 25},
	{"port 65535", "[node]\nname = a\n[ban]\nports = 65535,1\n", "a", 5, 0,
	 3600, 2.0, 2, 0, 2, 65535},
	{"empty section is harmless", "[ban]\n[node]\nname = a\n", "a", 5, 0,
	 3600, 2.0, 2, 0, 1, 25},
	{"CRLF line ends", "[node]\r\nname = a\r\n[ban]\r\nmaxretry = 9\r\n", "a",
	 9, 0, 3600, 2.0, 2, 0, 1, 25},
};

static void test_ok(void)
{
	size_t i;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *o = &ok_cases[i];
		char path[PATHBUF], err[ERRLEN];
		struct cfg c;
		int rc = load_text("ok", o->text, &c, NULL, path, sizeof(path),
				   err);

		CHECK(rc == 0, "%s: accepted (err \"%s\")", o->what, err);
		CHECK(strcmp(c.name, o->name) == 0, "%s: name \"%s\" (got \"%s\")",
		      o->what, o->name, c.name);
		CHECK(c.maxretry == o->maxretry && c.offset == o->offset &&
			      c.bantime == o->bantime && c.factor == o->factor,
		      "%s: maxretry %lld offset %lld bantime %lld factor %g "
		      "(got %lld %lld %lld %g)",
		      o->what, (long long)o->maxretry, (long long)o->offset,
		      (long long)o->bantime, o->factor, (long long)c.maxretry,
		      (long long)c.offset, (long long)c.bantime, c.factor);
		CHECK(c.allow.n == o->nallow, "%s: %zu allow entries (got %zu)",
		      o->what, o->nallow, c.allow.n);
		CHECK(c.ports.all == (o->ports_all != 0) &&
			      c.ports.n == o->nports &&
			      (o->nports == 0 || c.ports.port[0] == o->port0),
		      "%s: ports all=%d n=%zu first=%u (got %d %zu %u)", o->what,
		      o->ports_all, o->nports, o->port0, c.ports.all,
		      c.ports.n, c.ports.n ? c.ports.port[0] : 0);
		bc_cfg_free(keys, NKEYS, &c);
		CHECK(c.allow.v == NULL, "%s: bc_cfg_free frees lists", o->what);
	}
}

/* Relative paths resolve against the file's directory, absolute stay. */
static void test_paths(void)
{
	char path[PATHBUF], err[ERRLEN], want[PATHBUF + 32];
	struct cfg c;
	int rc;

	rc = load_text("paths", "[node]\nname = a\nkey = keys/node\n", &c, NULL,
		       path, sizeof(path), err);
	snprintf(want, sizeof(want), "%s/paths/keys/node", tmpdir);
	CHECK(rc == 0 && strcmp(c.key, want) == 0,
	      "relative path -> \"%s\" (got \"%s\")", want, c.key);
	snprintf(want, sizeof(want), "%s/paths/node", tmpdir);
	CHECK(rc == 0 && strcmp(c.spool, "/var/spool/bc") == 0,
	      "absolute default stays (got \"%s\")", c.spool);
	bc_cfg_free(keys, NKEYS, &c);

	rc = load_text("paths", "[node]\nname = a\n", &c, NULL, path,
		       sizeof(path), err);
	CHECK(rc == 0 && strcmp(c.key, want) == 0,
	      "relative default resolved too -> \"%s\" (got \"%s\")", want,
	      c.key);
	bc_cfg_free(keys, NKEYS, &c);

	rc = load_text("paths", "[node]\nname = a\nkey = /etc/bc/node\n", &c,
		       NULL, path, sizeof(path), err);
	CHECK(rc == 0 && strcmp(c.key, "/etc/bc/node") == 0,
	      "absolute path kept (got \"%s\")", c.key);
	bc_cfg_free(keys, NKEYS, &c);

	rc = load_text("paths", "[node]\nname = a\nkey =\n", &c, NULL, path,
		       sizeof(path), err);
	CHECK(rc < 0 && strstr(err, "[node] key") != NULL,
	      "empty path refused (\"%s\")", err);
	bc_cfg_free(keys, NKEYS, &c);

	/* a joined path that does not fit is refused, not cut */
	{
		char dir[200], out[BC_CFG_STR_MAX], value[100];
		struct cfg cc;

		memset(dir, 'd', sizeof(dir) - 1);
		dir[0] = '/';
		dir[sizeof(dir) - 1] = '\0';
		memset(value, 'v', sizeof(value) - 1);
		value[sizeof(value) - 1] = '\0';
		CHECK(bc_cfg_path(out, value, dir) < 0,
		      "bc_cfg_path: %zu-byte result refused", strlen(dir) + 1 +
		      strlen(value));
		memset(&cc, 0, sizeof(cc));
		CHECK(bc_cfg_parse_value(&keys[1], &cc, value, dir, err,
					 sizeof(err)) < 0 &&
			      strstr(err, "bad path") != NULL,
		      "path key: over-long joined path refused (\"%.40s\")", err);
	}

	{
		char out[BC_CFG_STR_MAX];

		CHECK(bc_cfg_path(out, "x/y", "/etc/bc") == 0 &&
			      strcmp(out, "/etc/bc/x/y") == 0,
		      "bc_cfg_path joins (got \"%s\")", out);
		CHECK(bc_cfg_path(out, "/abs", "/etc/bc") == 0 &&
			      strcmp(out, "/abs") == 0,
		      "bc_cfg_path keeps absolute (got \"%s\")", out);
		CHECK(bc_cfg_path(out, "x", "") == 0 && strcmp(out, "x") == 0,
		      "bc_cfg_path with empty dir (got \"%s\")", out);
	}
}

/* Sections the table does not list go to the extra handler. */
static void test_extra(void)
{
	char path[PATHBUF], err[ERRLEN];
	struct cfg c;
	int rc;

	rc = load_text("extra",
		       "[node]\nname = a\n[source.postfix]\npath = /var/log/mail.log\n"
		       "[source.dovecot]\npath = /var/log/dovecot.log # dovecot\n",
		       &c, extra, path, sizeof(path), err);
	CHECK(rc == 0 && c.extra_calls == 2 &&
		      strcmp(c.extra_last,
			     "source.dovecot=/var/log/dovecot.log") == 0,
	      "extra sections reach the handler, comment stripped (got %d, \"%s\", \"%s\")",
	      c.extra_calls, c.extra_last, err);
	bc_cfg_free(keys, NKEYS, &c);

	rc = load_text("extra", "[node]\nname = a\n[source.x]\nlevel = 3\n", &c,
		       extra, path, sizeof(path), err);
	{
		char want[PATHBUF + 64];

		snprintf(want, sizeof(want), "%s:4: [source.x] level: unknown key",
			 path);
		CHECK(rc < 0 && strcmp(err, want) == 0,
		      "extra handler error gets file, line, section and key (got \"%s\")",
		      err);
	}
	bc_cfg_free(keys, NKEYS, &c);

	rc = load_text("extra", "[node]\nname = a\n[other]\nx = 1\n", &c, extra,
		       path, sizeof(path), err);
	CHECK(rc < 0 && strstr(err, ":4: [other] x: unknown section") != NULL,
	      "extra handler refusal (got \"%s\")", err);
	bc_cfg_free(keys, NKEYS, &c);
}

/* Values from one file never leak into the next load. */
static void test_defaults_reset(void)
{
	char path[PATHBUF], err[ERRLEN];
	struct cfg c;
	int rc;

	rc = load_text("reset", "[node]\nname = a\n[ban]\nallow = 10.0.0.0/8\n",
		       &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0 && c.allow.n == 1, "allow list from the file");
	bc_cfg_free(keys, NKEYS, &c);
	rc = load_text("reset", "[node]\nname = a\n", &c, NULL, path,
		       sizeof(path), err);
	CHECK(rc == 0 && c.allow.n == 2, "next load starts from the defaults");
	bc_cfg_free(keys, NKEYS, &c);
}

/* A bad default in the table is reported, not silently used. */
static void test_bad_default(void)
{
	static const struct bc_cfg_key bad[] = {
		{"s", "n", BC_CFG_INT, 0, 1, 10, "11"},
	};
	char path[PATHBUF], err[ERRLEN];
	int64_t v = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/bad-default.ini", tmpdir);
	write_text(path, "[s]\n");
	rc = bc_cfg_load(path, bad, 1, &v, NULL, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "[s] n") != NULL,
	      "bad table default refused (\"%s\")", err);
}

/* bc_cfg_parse_value on its own: the per-type parsers. */
static void test_parse_value(void)
{
	static const struct {
		size_t key;
		const char *value;
		int ok;
	} cases[] = {
		{3, "1", 1},     {3, "1000", 1},   {3, "01", 1},
		{3, "-0", 0},    {3, "1 ", 0},     {3, "", 0},
		{4, "-100", 1},  {4, "-0", 1},     {4, "--1", 0},
		{5, "1m", 1},    {5, "1h", 1},     {5, "59", 0},
		{6, "1", 1},     {6, "9.99", 1},   {6, "0.999", 0},
		{6, "", 0},      {6, "1e1", 1},    {6, "1e2", 0},
		{8, "all", 1},   {8, "1,2,3", 1},  {8, "all,25", 0},
		{8, "25 25", 1}, {8, "-25", 0},    {8, "1234567", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg c;
		char err[ERRLEN] = "";
		int rc;

		memset(&c, 0, sizeof(c));
		rc = bc_cfg_parse_value(&keys[cases[i].key], &c,
					cases[i].value, "/", err, sizeof(err));
		CHECK((rc == 0) == (cases[i].ok != 0),
		      "[%s] %s = \"%s\" %s (err \"%s\")",
		      keys[cases[i].key].section, keys[cases[i].key].name,
		      cases[i].value, cases[i].ok ? "accepted" : "refused", err);
		bc_cfg_free(keys, NKEYS, &c);
	}
	{
		struct cfg c;
		char err[ERRLEN];
		size_t k;
		char text[BC_CFG_MAX_PORTS * 6 + 16] = "";
		int rc;

		memset(&c, 0, sizeof(c));
		for (k = 0; k <= BC_CFG_MAX_PORTS; k++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "%zu,", k + 1);
		rc = bc_cfg_parse_value(&keys[8], &c, text, "/", err,
					sizeof(err));
		CHECK(rc < 0, "%d ports refused (max %d)", BC_CFG_MAX_PORTS + 1,
		      BC_CFG_MAX_PORTS);
	}
}

/*
 * Endpoints: the exact one-line message with file, line and value, for
 * every way agent.ini's coordinator = 127.0.0.1:7710 (no scheme) or a
 * port out of range used to pass; and the forms ZeroMQ takes.
 */
static void test_endpoints(void)
{
	static const struct {
		const char *key, *value;
		const char *hint; /* NULL: accepted */
	} cases[] = {
		{"connect", "127.0.0.1:7710", ""},
		{"connect", "tcp://127.0.0.1:99999", ""},
		{"connect", "tcp://127.0.0.1:0", ""},
		{"connect", "tcp://127.0.0.1:65536", ""},
		{"connect", "tcp://127.0.0.1:", ""},
		{"connect", "tcp://127.0.0.1", ""},
		{"connect", "tcp://:7710", ""},
		{"connect", "tcp://127.0.0.1:77x", ""},
		{"connect", "tcp://127.0.0.1:-1", ""},
		{"connect", "tcp://127.0.0.1:*", ""},
		{"connect", "tcp://198.18.0.300:7710", ""},
		{"connect", "tcp://mx 1:7710", ""},
		{"connect", "tcp://a;b:7710", ""},
		{"connect", "ipc:///run/bc.sock", ""},
		{"connect", "TCP://127.0.0.1:7710", ""},
		{"connect", "tcp://[::1:7710", ""},
		{"connect", "tcp://[::1]7710", ""},
		{"connect", "tcp://[zz::1]:7710", ""},
		{"connect", "tcp://[]:7710", ""},
		{"connect", "tcp://[fe80::1%]:7710", ""},
		{"connect", "tcp://::1:7710",
		 " (an IPv6 address goes in brackets: tcp://[::1]:7710)"},
		{"connect", "tcp://*:7710",
		 " (\"*\" only binds: name the host to connect to)"},
		{"bind", "tcp://0.0.0.0:0", ""},
		{"bind", "tcp://*:*", ""},
		{"bind", "tcp://*:70000", ""},
		{"bind", "tcp://localhost:7710",
		 " (to bind, HOST is *, an address or an interface of this host)"},
		{"bind", "tcp://no-such-if0:7710",
		 " (to bind, HOST is *, an address or an interface of this host)"},
		{"connect", "tcp://127.0.0.1:7710", NULL},
		{"connect", "tcp://127.0.0.1:1", NULL},
		{"connect", "tcp://127.0.0.1:65535", NULL},
		{"connect", "tcp://coord.example.net:7710", NULL},
		{"connect", "tcp://[::1]:7710", NULL},
		{"connect", "tcp://[fd00::1]:7710", NULL},
		{"connect", "tcp://[fe80::1%eth0]:7710", NULL},
		{"bind", "tcp://*:7710", NULL},
		{"bind", "tcp://0.0.0.0:7710", NULL},
		{"bind", "tcp://[::]:7710", NULL},
		{"bind", "tcp://lo:7710", NULL},
		{"connect", "tcp://localhost:7710", NULL},
		{"bind", "tcp://198.18.0.1:7711", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[BC_CFG_STR_MAX + 64], path[PATHBUF], err[ERRLEN];
		char want[PATHBUF + BC_CFG_STR_MAX + 200];
		struct cfg c;
		int rc;

		snprintf(text, sizeof(text), "[node]\nname = a\n[net]\n%s = %s\n",
			 cases[i].key, cases[i].value);
		rc = load_text("ep", text, &c, NULL, path, sizeof(path), err);
		if (cases[i].hint == NULL) {
			const char *got = strcmp(cases[i].key, "bind") == 0
						  ? c.bind : c.connect;

			CHECK(rc == 0 && strcmp(got, cases[i].value) == 0,
			       "[net] %s = %s accepted and kept (err \"%s\")",
			       cases[i].key, cases[i].value, err);
		} else {
			snprintf(want, sizeof(want),
				 "%s:4: [net] %s: expected tcp://HOST:PORT with "
				 "PORT 1..65535, got \"%s\"%s",
				 path, cases[i].key, cases[i].value, cases[i].hint);
			CHECK(rc < 0 && strcmp(err, want) == 0,
			       "[net] %s = %s refused: \"%s\" (got \"%s\")",
			       cases[i].key, cases[i].value, want, err);
		}
		bc_cfg_free(keys, NKEYS, &c);
	}
	{
		char host[64], err[ERRLEN];
		uint16_t port = 0;

		CHECK(bc_cfg_endpoint("tcp://[fd00::1]:7711", true, host,
				       sizeof(host), &port, err, sizeof(err)) == 0 &&
			       strcmp(host, "fd00::1") == 0 && port == 7711,
		       "bc_cfg_endpoint splits [fd00::1]:7711 (got \"%s\" %u)",
		       host, (unsigned)port);
		CHECK(bc_cfg_endpoint("tcp://coordinator.example.net:7710",
				       false, host, 8, &port, err,
				       sizeof(err)) < 0,
		       "bc_cfg_endpoint: a host longer than the buffer is refused");
		CHECK(bc_cfg_endpoint_any("*") && bc_cfg_endpoint_any("0.0.0.0") &&
			       bc_cfg_endpoint_any("::") &&
			       !bc_cfg_endpoint_any("127.0.0.1") &&
			       !bc_cfg_endpoint_any("::1") &&
			       !bc_cfg_endpoint_any("eth0"),
		       "bc_cfg_endpoint_any: *, 0.0.0.0 and :: only");
	}
}

/*
 * Checks after loading name the line that sets the key, or none for a
 * default: bc_cfg_line and bc_cfg_err.
 */
static void test_where(void)
{
	char path[PATHBUF], err[ERRLEN], want[PATHBUF + 128];
	struct cfg c;
	int rc;

	rc = load_text("where",
		       "# top\n[node]\nname = a\n\n[ban] ; comment\n"
		       "maxretry = 3   # three\n[source.x]\npath = /x\n",
		       &c, extra, path, sizeof(path), err);
	CHECK(rc == 0, "where: loads (err \"%s\")", err);
	CHECK(bc_cfg_line(path, "node", "name") == 3,
	       "bc_cfg_line: [node] name on line 3 (got %d)",
	       bc_cfg_line(path, "node", "name"));
	CHECK(bc_cfg_line(path, "ban", "maxretry") == 6,
	       "bc_cfg_line: [ban] maxretry on line 6 (got %d)",
	       bc_cfg_line(path, "ban", "maxretry"));
	CHECK(bc_cfg_line(path, "source.x", "path") == 8,
	       "bc_cfg_line: an extra section's key (got %d)",
	       bc_cfg_line(path, "source.x", "path"));
	CHECK(bc_cfg_line(path, "ban", "factor") == 0,
	       "bc_cfg_line: a key left to its default is 0");
	CHECK(bc_cfg_line(path, "node", "maxretry") == 0,
	       "bc_cfg_line: the section counts");
	CHECK(bc_cfg_err(err, sizeof(err), path, "ban", "maxretry",
			  "\"%s\": too %s", "3", "few") == -1,
	       "bc_cfg_err returns -1");
	snprintf(want, sizeof(want), "%s:6: [ban] maxretry: \"3\": too few", path);
	CHECK(strcmp(err, want) == 0, "bc_cfg_err: \"%s\" (got \"%s\")", want,
	       err);
	bc_cfg_err(err, sizeof(err), path, "ban", "factor", "default");
	snprintf(want, sizeof(want), "%s: [ban] factor: default", path);
	CHECK(strcmp(err, want) == 0,
	       "bc_cfg_err for a default: no line (got \"%s\")", err);
	bc_cfg_free(keys, NKEYS, &c);
}

/* DIR/sub/test.d/NAME holds text (text NULL: the directory only). */
static void dropin(const char *sub, const char *name, const char *text)
{
	char d[PATHBUF], f[PATHBUF + 64];

	snprintf(d, sizeof(d), "%s/%s", tmpdir, sub);
	mkdir(d, 0700);
	snprintf(d, sizeof(d), "%s/%s/test.d", tmpdir, sub);
	mkdir(d, 0700);
	if (name == NULL)
		return;
	snprintf(f, sizeof(f), "%s/%s", d, name);
	if (write_text(f, text) < 0)
		CHECK(0, "write %s: %s", f, strerror(errno));
}

/* The expected error: "DIR/sub/test.d/NAME:LINE: REST". */
static void expect_dropin_err(const char *what, int rc, const char *err,
			      const char *sub, const char *name, int line,
			      const char *rest)
{
	char want[PATHBUF + 256];

	if (line > 0)
		snprintf(want, sizeof(want), "%s/%s/test.d/%s:%d: %s", tmpdir,
			 sub, name, line, rest);
	else
		snprintf(want, sizeof(want), "%s/%s/test.d/%s: %s", tmpdir, sub,
			 name, rest);
	CHECK(rc == -1 && strcmp(err, want) == 0, "%s: \"%s\" (got \"%s\")",
	       what, want, err);
}

/*
 * Drop-ins: test.d/\*.ini after test.ini, in byte order, each key
 * replacing what came before; errors name the drop-in's own file and
 * line; other names skipped; symlinks followed.
 */
static void test_dropins(void)
{
	char path[PATHBUF], err[ERRLEN], want[PATHBUF + 128];
	const char *main_text = "[node]\nname = a\nkey = k0\n[ban]\nmaxretry = 2\n"
				"allow = 10.0.0.0/8\n";
	struct bc_cfg_dropins *d = calloc(1, sizeof(*d));
	struct cfg c;
	int rc;

	if (d == NULL) {
		CHECK(0, "dropins: out of memory");
		return;
	}
	/* no directory: the main file alone */
	rc = load_text("di-none", main_text, &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0 && c.maxretry == 2,
	       "dropins: no test.d: main file alone (rc %d, \"%s\")", rc, err);
	CHECK(bc_cfg_dropins(path, d, err, ERRLEN) == 0 && d->n == 0,
	       "dropins: a missing directory lists none (\"%s\")", err);
	snprintf(want, sizeof(want), "%s/di-none/test.d", tmpdir);
	CHECK(strcmp(d->dir, want) == 0, "dropins: NAME.ini -> NAME.d (\"%s\")",
	       d->dir);
	bc_cfg_free(keys, NKEYS, &c);

	/* an empty directory: the same */
	dropin("di-empty", NULL, NULL);
	rc = load_text("di-empty", main_text, &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0 && c.maxretry == 2 && c.allow.n == 1,
	       "dropins: empty test.d: main file alone (rc %d, \"%s\")", rc, err);
	bc_cfg_free(keys, NKEYS, &c);

	/* order and override: byte order, 'Z' before 'a'; later wins */
	dropin("di-order", "20-b.ini", "[ban]\nmaxretry = 4\n");
	dropin("di-order", "10-a.ini", "[ban]\nmaxretry = 3\nbantime = 2h\n");
	dropin("di-order", "Z.ini", "[ban]\nmaxretry = 7\nfactor = 3\n");
	dropin("di-order", "a.ini", "[ban]\nallow = 192.0.2.0/24, 198.51.100.0/24, ::1\n"
				    "factor = 4\n[node]\nname = b\nkey = keys/k1\n");
	rc = load_text("di-order", main_text, &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0, "dropins: four drop-ins load (\"%s\")", err);
	CHECK(c.maxretry == 7, "dropins: 10-a, 20-b, Z, a in byte order: "
	       "maxretry of Z.ini (7) over 20-b's 4, 10-a's 3 and the main "
	       "file's 2 (got %lld)", (long long)c.maxretry);
	CHECK(c.factor == 4, "dropins: 'Z' before 'a' whatever the locale: "
	       "factor of a.ini (4) over Z.ini's 3 (got %g)", c.factor);
	CHECK(c.bantime == 7200,
	       "dropins: a key only a drop-in sets is taken (bantime %lld)",
	       (long long)c.bantime);
	CHECK(strcmp(c.name, "b") == 0,
	       "dropins: a drop-in replaces a main-file key (name \"%s\")", c.name);
	CHECK(c.allow.n == 3, "dropins: a list is replaced, not appended to "
	       "(%zu entries, want 3)", c.allow.n);
	snprintf(want, sizeof(want), "%s/di-order/keys/k1", tmpdir);
	CHECK(strcmp(c.key, want) == 0, "dropins: a relative path resolves "
	       "against the main file's directory: \"%s\" (got \"%s\")", want,
	       c.key);
	bc_cfg_free(keys, NKEYS, &c);
	CHECK(bc_cfg_dropins(path, d, err, ERRLEN) == 0 && d->n == 4 &&
		       strstr(d->path[0], "/test.d/10-a.ini") != NULL &&
		       strstr(d->path[1], "/test.d/20-b.ini") != NULL &&
		       strstr(d->path[2], "/test.d/Z.ini") != NULL &&
		       strstr(d->path[3], "/test.d/a.ini") != NULL,
	       "bc_cfg_dropins: 10-a, 20-b, Z, a (n %zu)", d->n);
	/* where a key was set: the last file that sets it */
	CHECK(bc_cfg_line(path, "ban", "bantime") == 3,
	       "bc_cfg_line: 10-a.ini's line 3 (got %d)",
	       bc_cfg_line(path, "ban", "bantime"));
	bc_cfg_err(err, ERRLEN, path, "ban", "maxretry", "too %s", "many");
	expect_dropin_err("bc_cfg_err: the last drop-in that set the value", -1,
			  err, "di-order", "Z.ini", 2, "[ban] maxretry: too many");
	bc_cfg_err(err, ERRLEN, path, "node", "key", "no");
	expect_dropin_err("bc_cfg_err: a.ini's [node] key", -1, err, "di-order",
			  "a.ini", 6, "[node] key: no");
	rc = bc_cfg_err(err, ERRLEN, path, "net", "bind", "d");
	snprintf(want, sizeof(want), "%s: [net] bind: d", path);
	CHECK(rc == -1 && strcmp(err, want) == 0,
	       "bc_cfg_err: a default names the main file (got \"%s\")", err);
	CHECK(bc_cfg_line(path, "ban", "offset") == 0,
	       "bc_cfg_line: a default is 0 with drop-ins too");
	{
		char note[512], w2[PATHBUF + 128];

		bc_cfg_dropins_note(path, note, sizeof(note));
		snprintf(w2, sizeof(w2), ", 4 drop-ins in %s/di-order/test.d: "
			 "10-a.ini, 20-b.ini, Z.ini, a.ini", tmpdir);
		CHECK(strcmp(note, w2) == 0, "bc_cfg_dropins_note: \"%s\" (got \"%s\")",
		       w2, note);
		bc_cfg_dropins_note(path, note, 40);
		CHECK(strlen(note) == 39 && strcmp(note + 36, "...") == 0,
		       "bc_cfg_dropins_note: cut with \"...\" (\"%s\")", note);
	}

	/* skipped names: not *.ini, hidden, backups, package leftovers */
	dropin("di-skip", "README", "not ini at all\n");
	dropin("di-skip", "50-x.ini~", "[ban]\nmaxretry = 9\n");
	dropin("di-skip", "50-x.ini.dpkg-old", "[ban]\nmaxretry = 9\n");
	dropin("di-skip", ".50-x.ini", "[ban]\nmaxretry = 9\n");
	dropin("di-skip", ".ini", "[ban]\nmaxretry = 9\n");
	dropin("di-skip", "50-x.conf", "[ban]\nmaxretry = 9\n");
	dropin("di-skip", "50-x.INI", "[ban]\nmaxretry = 9\n");
	rc = load_text("di-skip", main_text, &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0 && c.maxretry == 2,
	       "dropins: README, *.ini~, *.ini.dpkg-old, .hidden.ini, .ini, "
	       "*.conf, *.INI skipped (rc %d, maxretry %lld, \"%s\")", rc,
	       (long long)c.maxretry, err);
	bc_cfg_free(keys, NKEYS, &c);

	/* errors name the drop-in's own file and line */
	dropin("di-err", "10-ok.ini", "[ban]\nmaxretry = 3\n");
	dropin("di-err", "20-bad.ini", "# policy\n[ban]\nmaxretry = 0\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	expect_dropin_err("dropins: a bad value", rc, err, "di-err", "20-bad.ini",
			  3, "[ban] maxretry: expected 1..1000, got \"0\"");
	bc_cfg_free(keys, NKEYS, &c);
	dropin("di-err", "20-bad.ini", "[node]\n\ncolour = blue\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	expect_dropin_err("dropins: an unknown key", rc, err, "di-err",
			  "20-bad.ini", 3, "[node] colour: unknown key");
	bc_cfg_free(keys, NKEYS, &c);
	dropin("di-err", "20-bad.ini", "[bogus]\nx = 1\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	expect_dropin_err("dropins: an unknown section", rc, err, "di-err",
			  "20-bad.ini", 2, "[bogus] x: unknown section");
	bc_cfg_free(keys, NKEYS, &c);
	dropin("di-err", "20-bad.ini", "[ban]\nmaxretry = 3\nmaxretry = 4\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	expect_dropin_err("dropins: a key set twice in one drop-in", rc, err,
			  "di-err", "20-bad.ini", 3, "[ban] maxretry: set twice");
	bc_cfg_free(keys, NKEYS, &c);
	dropin("di-err", "20-bad.ini", "[ban\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	expect_dropin_err("dropins: a syntax error", rc, err, "di-err",
			  "20-bad.ini", 1, "syntax error");
	bc_cfg_free(keys, NKEYS, &c);
	{
		char longl[300];

		memset(longl, 'x', sizeof(longl));
		memcpy(longl, "[ban]\n#", 7);
		memcpy(longl + sizeof(longl) - 2, "\n", 2);
		dropin("di-err", "20-bad.ini", longl);
		rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path),
			       err);
		expect_dropin_err("dropins: a long line", rc, err, "di-err",
				  "20-bad.ini", 2, "line longer than 199 characters");
		bc_cfg_free(keys, NKEYS, &c);
	}
	dropin("di-err", "20-bad.ini", "[ban]\nmaxretry = 5\n");
	rc = load_text("di-err", main_text, &c, NULL, path, sizeof(path), err);
	CHECK(rc == 0 && c.maxretry == 5,
	       "dropins: the same key in the main file and a drop-in is no error "
	       "(rc %d, \"%s\")", rc, err);
	bc_cfg_free(keys, NKEYS, &c);

	/* a required key may come from a drop-in alone */
	dropin("di-req", "10-name.ini", "[node]\nname = fromdropin\n");
	rc = load_text("di-req", "[ban]\nmaxretry = 3\n", &c, NULL, path,
		       sizeof(path), err);
	CHECK(rc == 0 && strcmp(c.name, "fromdropin") == 0,
	       "dropins: a required key set by a drop-in only (rc %d, \"%s\")", rc,
	       err);
	bc_cfg_free(keys, NKEYS, &c);

	/* extra sections in a drop-in reach the handler */
	dropin("di-extra", "50-mail.ini", "[source.mail]\npath = /var/log/mail.log\n");
	rc = load_text("di-extra", "[node]\nname = a\n[source.x]\npath = /x\n", &c,
		       extra, path, sizeof(path), err);
	CHECK(rc == 0 && c.extra_calls == 2 &&
		       strcmp(c.extra_last, "source.mail=/var/log/mail.log") == 0,
	       "dropins: [source.mail] of a drop-in reaches the handler after "
	       "the main file's (calls %d, \"%s\", \"%s\")", c.extra_calls,
	       c.extra_last, err);
	bc_cfg_free(keys, NKEYS, &c);
	dropin("di-extra", "50-mail.ini", "[source.mail]\nlevel = 3\n");
	rc = load_text("di-extra", "[node]\nname = a\n", &c, extra, path,
		       sizeof(path), err);
	expect_dropin_err("dropins: an extra handler's refusal", rc, err,
			  "di-extra", "50-mail.ini", 2,
			  "[source.mail] level: unknown key");
	bc_cfg_free(keys, NKEYS, &c);

	/* symlinks: followed to a regular file; dangling or a directory: error */
	{
		char target[PATHBUF], link[PATHBUF + 64];

		snprintf(target, sizeof(target), "%s/shared-policy.ini", tmpdir);
		write_text(target, "[ban]\nmaxretry = 8\n");
		dropin("di-link", NULL, NULL);
		snprintf(link, sizeof(link), "%s/di-link/test.d/30-shared.ini",
			 tmpdir);
		CHECK(symlink(target, link) == 0, "symlink: %s", strerror(errno));
		rc = load_text("di-link", main_text, &c, NULL, path, sizeof(path),
			       err);
		CHECK(rc == 0 && c.maxretry == 8,
		       "dropins: a symlink to a file is followed (rc %d, %lld, \"%s\")",
		       rc, (long long)c.maxretry, err);
		bc_cfg_free(keys, NKEYS, &c);
		bc_cfg_err(err, ERRLEN, path, "ban", "maxretry", "x");
		expect_dropin_err("bc_cfg_err: a symlinked drop-in is named as "
				  "listed", -1, err, "di-link", "30-shared.ini",
				  2, "[ban] maxretry: x");
		remove(target);
		rc = load_text("di-link", main_text, &c, NULL, path, sizeof(path),
			       err);
		expect_dropin_err("dropins: a dangling symlink", rc, err, "di-link",
				  "30-shared.ini", 0, "No such file or directory");
		bc_cfg_free(keys, NKEYS, &c);
		remove(link);
		snprintf(link, sizeof(link), "%s/di-link/test.d/40-dir.ini", tmpdir);
		mkdir(link, 0700);
		rc = load_text("di-link", main_text, &c, NULL, path, sizeof(path),
			       err);
		expect_dropin_err("dropins: a directory named *.ini", rc, err,
				  "di-link", "40-dir.ini", 0, "not a regular file");
		bc_cfg_free(keys, NKEYS, &c);
	}

	/* test.d is a file; test.d cannot be read */
	{
		char dd[PATHBUF];

		snprintf(dd, sizeof(dd), "%s/di-file", tmpdir);
		mkdir(dd, 0700);
		snprintf(dd, sizeof(dd), "%s/di-file/test.d", tmpdir);
		write_text(dd, "[ban]\nmaxretry = 9\n");
		rc = load_text("di-file", main_text, &c, NULL, path, sizeof(path),
			       err);
		snprintf(want, sizeof(want), "%s: Not a directory", dd);
		CHECK(rc == -1 && strcmp(err, want) == 0,
		       "dropins: test.d a file: \"%s\" (got \"%s\")", want, err);
		bc_cfg_free(keys, NKEYS, &c);
		if (geteuid() != 0) {
			dropin("di-perm", "10.ini", "[ban]\nmaxretry = 9\n");
			snprintf(dd, sizeof(dd), "%s/di-perm/test.d", tmpdir);
			chmod(dd, 0);
			rc = load_text("di-perm", main_text, &c, NULL, path,
				       sizeof(path), err);
			snprintf(want, sizeof(want), "%s: Permission denied", dd);
			CHECK(rc == -1 && strcmp(err, want) == 0,
			       "dropins: unreadable test.d: \"%s\" (got \"%s\")",
			       want, err);
			chmod(dd, 0700);
			bc_cfg_free(keys, NKEYS, &c);
		}
	}

	/* more than BC_CFG_DROPIN_MAX files */
	{
		char name[32];
		int i;

		for (i = 0; i <= BC_CFG_DROPIN_MAX; i++) {
			snprintf(name, sizeof(name), "%03d.ini", i);
			dropin("di-many", name, "[ban]\nmaxretry = 3\n");
		}
		rc = load_text("di-many", main_text, &c, NULL, path, sizeof(path),
			       err);
		snprintf(want, sizeof(want), "%s/di-many/test.d: more than %d "
			 "drop-in files", tmpdir, BC_CFG_DROPIN_MAX);
		CHECK(rc == -1 && strcmp(err, want) == 0,
		       "dropins: %d files: \"%s\" (got \"%s\")",
		       BC_CFG_DROPIN_MAX + 1, want, err);
		bc_cfg_free(keys, NKEYS, &c);
	}

	/* a main file not named *.ini: PATH.d */
	{
		char f[PATHBUF], dd[PATHBUF + 8];

		snprintf(f, sizeof(f), "%s/di-conf", tmpdir);
		mkdir(f, 0700);
		snprintf(f, sizeof(f), "%s/di-conf/bc.conf", tmpdir);
		write_text(f, main_text);
		snprintf(dd, sizeof(dd), "%s.d", f);
		mkdir(dd, 0700);
		snprintf(dd, sizeof(dd), "%s.d/1.ini", f);
		write_text(dd, "[ban]\nmaxretry = 6\n");
		memset(&c, 0, sizeof(c));
		rc = bc_cfg_load(f, keys, NKEYS, &c, NULL, err, ERRLEN);
		CHECK(rc == 0 && c.maxretry == 6,
		       "dropins: bc.conf reads bc.conf.d/ (rc %d, %lld, \"%s\")", rc,
		       (long long)c.maxretry, err);
		bc_cfg_free(keys, NKEYS, &c);
	}
	free(d);
}

/* bc_cfg_dir: a directory, usable with the mode asked for. */
static void test_dir(void)
{
	char d[PATHBUF], f[PATHBUF], err[ERRLEN], want[PATHBUF + 64];

	snprintf(d, sizeof(d), "%s/dir", tmpdir);
	snprintf(f, sizeof(f), "%s/dir/file", tmpdir);
	mkdir(d, 0700);
	write_text(f, "x");
	CHECK(bc_cfg_dir(d, R_OK | X_OK, err, sizeof(err)) == 0,
	       "bc_cfg_dir: a directory (err \"%s\")", err);
	CHECK(bc_cfg_dir(f, R_OK | X_OK, err, sizeof(err)) < 0,
	       "bc_cfg_dir: a file refused");
	snprintf(want, sizeof(want), "\"%s\": not a directory", f);
	CHECK(strcmp(err, want) == 0, "bc_cfg_dir: \"%s\" (got \"%s\")", want,
	       err);
	snprintf(f, sizeof(f), "%s/dir/absent", tmpdir);
	CHECK(bc_cfg_dir(f, R_OK | X_OK, err, sizeof(err)) < 0,
	       "bc_cfg_dir: a missing directory refused");
	snprintf(want, sizeof(want), "\"%s\": No such file or directory", f);
	CHECK(strcmp(err, want) == 0, "bc_cfg_dir: \"%s\" (got \"%s\")", want,
	       err);
	if (geteuid() != 0) { /* root passes access(2) whatever the mode */
		chmod(d, 0);
		CHECK(bc_cfg_dir(d, R_OK | X_OK, err, sizeof(err)) < 0 &&
			       strstr(err, "Permission denied") != NULL,
		       "bc_cfg_dir: an unreadable directory refused (\"%s\")",
		       err);
		chmod(d, 0700);
	}
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/bc-test-config.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	test_errors();
	test_ok();
	test_paths();
	test_extra();
	test_defaults_reset();
	test_bad_default();
	test_parse_value();
	test_endpoints();
	test_where();
	test_dropins();
	test_dir();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
