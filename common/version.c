/*
 * version.c - the --version text. The build-time versions arrive as
 * -D macros that only this file is compiled with (Makefile VERFLAGS);
 * bc_version() is also what agent and coordinator state on the wire;
 * the run-time ones are asked from the libraries themselves.
 */
#include "version.h"

#include <protobuf-c/protobuf-c.h>
#include <sodium.h>
#include <string.h>
#include <zmq.h>

#include "proto/wire.h"

#ifndef BC_VERSION
#define BC_VERSION "unknown"
#endif
#ifndef BC_BUILT_LIBNFTNL
#define BC_BUILT_LIBNFTNL "unknown"
#endif
#ifndef BC_BUILT_LIBMNL
#define BC_BUILT_LIBMNL "unknown"
#endif
#ifndef BC_BUILT_INIH
#define BC_BUILT_INIH "unknown"
#endif
#ifndef BC_BUILT_LIBSYSTEMD
#define BC_BUILT_LIBSYSTEMD "unknown"
#endif

const char *bc_version(void)
{
	return BC_VERSION;
}

const char *bc_version_wire(void)
{
	return bc_wire_software_ok(BC_VERSION) ? BC_VERSION : "";
}

const char *bc_version_built(const char *lib)
{
	static const struct {
		const char *name, *version;
	} built[] = {
		{"libnftnl", BC_BUILT_LIBNFTNL},
		{"libmnl", BC_BUILT_LIBMNL},
		{"inih", BC_BUILT_INIH},
		{"libsystemd", BC_BUILT_LIBSYSTEMD},
	};
	size_t i;

	for (i = 0; i < sizeof(built) / sizeof(built[0]); i++)
		if (strcmp(built[i].name, lib) == 0)
			return built[i].version;
	return "unknown";
}

static void lib_line(FILE *f, const struct bc_version_lib *l)
{
	fprintf(f, "  %-13s %s%s\n", l->name, l->version,
		l->runtime ? "" : " (built with)");
}

void bc_version_print(FILE *f, const char *prog,
		      const struct bc_version_lib *libs, size_t n)
{
	char zv[32];
	int maj, min, pat;
	size_t i;

	zmq_version(&maj, &min, &pat);
	snprintf(zv, sizeof(zv), "%d.%d.%d", maj, min, pat);
	{
		const struct bc_version_lib common[] = {
			{"libzmq", zv, true},
			{"libsodium", sodium_version_string(), true},
			{"libprotobuf-c", protobuf_c_version(), true},
		};
		const struct bc_version_lib inih = {
			"inih", bc_version_built("inih"), false};

		fprintf(f, "%s %s\nwire protocol %d (accepts %d..%d)\nlibraries:\n",
			prog, BC_VERSION, BC_WIRE_VERSION, BC_WIRE_VERSION_MIN,
			BC_WIRE_VERSION);
		for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
			lib_line(f, &common[i]);
		for (i = 0; i < n; i++)
			lib_line(f, &libs[i]);
		lib_line(f, &inih);
	}
}
