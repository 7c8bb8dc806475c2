/*
 * fuzz_config.c - libFuzzer harness for the config loader: the input is
 * written to a file and loaded as an agent.ini (the table with the most
 * key types plus [source.NAME] sections). Must never crash, and an error
 * must be one line. Built and run by `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct bc_agent_cfg *cfg;
	char err[512];
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/bc-fuzz-config.%d.ini", (int)getpid());
	f = fopen(path, "w");
	if (f == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		abort();
	err[0] = '\0';
	if (bc_agent_load_config(cfg, path, err, sizeof(err)) < 0 &&
	    (err[0] == '\0' || strchr(err, '\n') != NULL))
		abort();
	bc_agent_free_config(cfg);
	free(cfg);
	return 0;
}
