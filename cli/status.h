/*
 * status.h - what `bancluster status` prints from the coordinator's
 * reply (status.c): the text and the --json document, apart from the
 * request so a unit test can feed them a built AdminReply.
 */
#ifndef BC_STATUS_H
#define BC_STATUS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/bancluster.pb-c.h"

/*
 * The text of status on f: the coordinator that answered at endpoint
 * answered, its cluster section when ar->cluster is set (uptimes against
 * now_ms, Unix ms), then the agents' table.
 */
void bc_cli_status_text(FILE *f, const char *answered,
			const Bancluster__AdminReply *ar, int64_t now_ms);

/* The --json document of status (bancluster/status), for bc_jout_print. */
json_t *bc_cli_status_doc(const char *answered, const Bancluster__AdminReply *ar,
			  int64_t now_ms);

#endif
