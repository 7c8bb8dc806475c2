/*
 * config.h - table-driven INI loading (inih underneath).
 *
 * Each program describes its keys once: section, name, type, bounds,
 * default and where the value goes (conf/agent.c, conf/coordinator.c,
 * the CLI's in cli/). The file is trusted more than the network but
 * parsed strictly (config.c); nothing prints, every error is one line
 * in err; the lists the table allocates into obj are freed by
 * bc_cfg_free. Unknown sections and keys, repeated
 * keys, out-of-range values and missing required keys are errors
 * reported as "FILE:LINE: [section] key: reason". Relative paths are
 * resolved against the directory of the file.
 *
 * Drop-ins: after the main file NAME.ini, the files named *.ini in the
 * directory NAME.d beside it (PATH.d for a main file whose name does not
 * end in ".ini") are read in byte order of their names, with the same
 * table and the same errors, named by the drop-in's own FILE:LINE (a
 * required key may be set by any of them). A key a drop-in sets
 * replaces the value of the main file and of earlier drop-ins (a list
 * too: it is not appended to); a key set twice within one file is an
 * error. Extra sections go to the extra handler as in the main file.
 * Relative paths in a drop-in are resolved against the main file's
 * directory. Names starting with '.' or not ending in ".ini" are
 * skipped; a symlink is followed and must end at a regular file; a
 * missing directory means no drop-ins.
 */
#ifndef BC_CONFIG_H
#define BC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define BC_CFG_STR_MAX 256
#define BC_CFG_MAX_PORTS 64
#define BC_CFG_MAX_KEYS 64
#define BC_CFG_DROPIN_MAX 64 /* drop-in files per main file */

enum bc_cfg_type {
	BC_CFG_STR,   /* char[BC_CFG_STR_MAX]; max = max length */
	BC_CFG_PATH,  /* char[BC_CFG_STR_MAX], made absolute */
	BC_CFG_INT,   /* int64_t in [min, max] */
	BC_CFG_DUR,   /* int64_t seconds in [min, max] */
	BC_CFG_NUM,   /* double in [min, max] */
	BC_CFG_ADDRS, /* struct bc_addr_list */
	BC_CFG_PORTS, /* struct bc_cfg_ports */
	BC_CFG_ENDPOINT, /* char[BC_CFG_STR_MAX]: tcp://HOST:PORT to connect to */
	BC_CFG_BIND,  /* char[BC_CFG_STR_MAX]: tcp://HOST:PORT to bind (HOST may be *) */
	BC_CFG_ENDPOINTS, /* char[BC_CFG_STR_MAX]: 1..BC_CFG_ENDPOINTS_MAX endpoints to
			   * connect to, comma separated; stored "a,b,c" (no blanks) */
};

#define BC_CFG_ENDPOINTS_MAX 8

struct bc_cfg_ports {
	bool all;
	uint16_t port[BC_CFG_MAX_PORTS];
	size_t n;
};

struct bc_cfg_key {
	const char *section;
	const char *name;
	enum bc_cfg_type type;
	size_t offset; /* into the caller's config struct */
	double min, max;
	const char *def; /* NULL: required (no default) */
};

/* One table row of the config struct T: a file's key table is
 *   #define K(...) BC_CFG_KEY(struct my_cfg, __VA_ARGS__)
 *   K("section", "name", BC_CFG_INT, field, min, max, "default"), ... */
#define BC_CFG_KEY(T, sec, name, type, field, min, max, def) \
	{sec, name, type, offsetof(T, field), min, max, def}

/*
 * Handler for sections the table does not list (e.g. "source.NAME").
 * Called once per key; return 0, or -1 with a reason in err (no prefix).
 * NULL: such sections are errors.
 */
typedef int (*bc_cfg_extra_fn)(void *obj, const char *section,
			       const char *name, const char *value,
			       const char *dir, char *err, size_t errlen);

/* The drop-ins of a main file, in the order they are read. */
struct bc_cfg_dropins {
	char dir[BC_CFG_STR_MAX];
	size_t n;
	char path[BC_CFG_DROPIN_MAX][BC_CFG_STR_MAX];
};

/*
 * List the drop-ins of the main file path into d (dir is set even when
 * it does not exist; n = 0 then). Returns 0, or -1 with "DIR: REASON" or
 * "FILE: REASON" in err (a directory that cannot be read, an entry that
 * is not a regular file, a dangling symlink, more than
 * BC_CFG_DROPIN_MAX files, a path too long).
 */
int bc_cfg_dropins(const char *path, struct bc_cfg_dropins *d, char *err,
		   size_t errlen);

/*
 * For --check-config's OK line: ", N drop-in(s) in DIR: A.ini, B.ini"
 * (cut with "..." past outlen), or "" when path has none or they cannot
 * be listed.
 */
void bc_cfg_dropins_note(const char *path, char *out, size_t outlen);

/*
 * A raw INI value as every loader reads it: a "# comment" that follows a
 * blank (inih only knows ';') and trailing blanks cut. Into v, cut to vlen.
 */
void bc_cfg_value(const char *value, char *v, size_t vlen);

/*
 * Every key's default into obj (keys without one are left alone; relative
 * paths resolve against dir). bc_cfg_load starts with this. Returns 0, or
 * -1 when a default does not parse (a bug in the table).
 */
int bc_cfg_defaults(const struct bc_cfg_key *keys, size_t nkeys, void *obj,
		    const char *dir, char *err, size_t errlen);

/*
 * Load path, then its drop-ins, into obj. Returns 0, or -1 with a
 * one-line message in err.
 */
int bc_cfg_load(const char *path, const struct bc_cfg_key *keys, size_t nkeys,
		void *obj, bc_cfg_extra_fn extra, char *err, size_t errlen);

/* Parse one value into *dst by type (used for defaults and extras). */
int bc_cfg_parse_value(const struct bc_cfg_key *k, void *obj,
		       const char *value, const char *dir, char *err,
		       size_t errlen);

/*
 * Split a BC_CFG_ENDPOINTS value ("a,b,c") into out[0..n-1]; returns n
 * (at most max; an empty list: 0).
 */
size_t bc_cfg_endpoints_split(const char *list, char out[][BC_CFG_STR_MAX],
			      size_t max);

/* Resolve a path relative to dir into out (BC_CFG_STR_MAX). */
int bc_cfg_path(char *out, const char *value, const char *dir);

/*
 * A ZeroMQ TCP endpoint, "tcp://HOST:PORT" with PORT 1..65535. HOST is a
 * name or an IPv4 address, or an IPv6 address in brackets
 * ("tcp://[::1]:7710"); to bind, "*", an address, or the name of an
 * interface of this host (ZeroMQ resolves no DNS name to bind). Fills
 * host (without brackets, hostlen bytes) and port when not NULL. Returns
 * 0, or -1 with a reason that quotes the value in err.
 */
int bc_cfg_endpoint(const char *value, bool bind, char *host, size_t hostlen,
		    uint16_t *port, char *err, size_t errlen);

/* True when HOST (as bc_cfg_endpoint fills it) binds every address. */
bool bc_cfg_endpoint_any(const char *host);

/*
 * The line that sets [section] name in the last file that sets it (the
 * last drop-in that does, else path), found by reading the files again;
 * 0 when none sets it (the default applies) or cannot be read.
 */
int bc_cfg_line(const char *path, const char *section, const char *name);

/*
 * For checks made after bc_cfg_load (keys, directories, users, pairs of
 * keys): err = "FILE:LINE: [section] name: REASON", FILE and LINE being
 * where the value in force was set, path or one of its drop-ins
 * ("PATH: [section] name: REASON" for a default).
 * Returns -1.
 */
int bc_cfg_err(char *err, size_t errlen, const char *path,
	       const char *section, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * dir is a directory this process may use with access(2) mode amode
 * (R_OK | X_OK to list it, W_OK | X_OK to create files in it). Returns 0,
 * or -1 with "DIR": REASON (DIR in double quotes) in err.
 */
int bc_cfg_dir(const char *dir, int amode, char *err, size_t errlen);

/* Free lists allocated into obj by the table. */
void bc_cfg_free(const struct bc_cfg_key *keys, size_t nkeys, void *obj);

#endif
