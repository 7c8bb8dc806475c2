/*
 * config.h - table-driven INI loading (inih underneath).
 *
 * Each program describes its keys once: section, name, type, bounds,
 * default and where the value goes. Unknown sections and keys, repeated
 * keys, out-of-range values and missing required keys are errors
 * reported as "FILE:LINE: [section] key: reason". Relative paths are
 * resolved against the directory of the file.
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
};

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

/*
 * Handler for sections the table does not list (e.g. "source.NAME").
 * Called once per key; return 0, or -1 with a reason in err (no prefix).
 * NULL: such sections are errors.
 */
typedef int (*bc_cfg_extra_fn)(void *obj, const char *section,
			       const char *name, const char *value,
			       const char *dir, char *err, size_t errlen);

/* Load path into obj. Returns 0, or -1 with a one-line message in err. */
int bc_cfg_load(const char *path, const struct bc_cfg_key *keys, size_t nkeys,
		void *obj, bc_cfg_extra_fn extra, char *err, size_t errlen);

/* Parse one value into *dst by type (used for defaults and extras). */
int bc_cfg_parse_value(const struct bc_cfg_key *k, void *obj,
		       const char *value, const char *dir, char *err,
		       size_t errlen);

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
 * The line of path that sets [section] name, found by reading the file
 * again; 0 when the file does not set it (the default applies) or
 * cannot be read.
 */
int bc_cfg_line(const char *path, const char *section, const char *name);

/*
 * For checks made after bc_cfg_load (keys, directories, users, pairs of
 * keys): err = "FILE:LINE: [section] name: REASON", LINE being the line
 * that sets the key ("FILE: [section] name: REASON" for a default).
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
