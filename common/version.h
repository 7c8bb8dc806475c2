/*
 * version.h - what --version prints, for every program: its name and
 * bancluster's version (the top-level VERSION file, passed in by the
 * Makefile), the wire protocol version it sends and the range it accepts
 * (BC_WIRE_VERSION_MIN..BC_WIRE_VERSION), and the libraries it uses with
 * their versions: the one loaded now where the library can tell,
 * otherwise the one it was built against (pkg-config at build time).
 */
#ifndef BC_VERSION_H
#define BC_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One library line: "NAME VERSION", "(built with)" when !runtime. */
struct bc_version_lib {
	const char *name;
	const char *version;
	bool runtime;
};

/* bancluster's version, e.g. "0.3.0"; also stated on the wire (wire 2). */
const char *bc_version(void);

/*
 * Print the program's version, the wire protocol and its libraries to
 * f: libzmq, libsodium and libprotobuf-c (every program), then the n in
 * libs, then inih.
 */
void bc_version_print(FILE *f, const char *prog,
		      const struct bc_version_lib *libs, size_t n);

/*
 * bc_version() as the wire states it: "" when it is not a version the
 * wire carries (bc_wire_software_ok), so a build from an odd VERSION
 * file is shown as unknown instead of having its messages refused.
 */
const char *bc_version_wire(void);

/* Versions known only at build time ("unknown" without pkg-config). */
const char *bc_version_built(const char *lib);

#endif
