/*
 * metrics.h - the coordinator's metrics (metrics.c, docs/metrics.md):
 * one text, written to metrics_file and served on GET /metrics.
 */
#ifndef BC_COORD_METRICS_H
#define BC_COORD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"
#include "coordinator/coord.h"

/* Every metric of c into m. */
void bc_coord_metrics_text(struct bc_coord *c, struct bc_metrics *m);

/* metrics_file, if set: written to FILE.tmp, renamed over FILE; a
 * failure is logged. */
void bc_coord_write_metrics(struct bc_coord *c);

/* httpd callbacks (httpd.h, arg: the struct bc_coord): GET /metrics and
 * GET /healthz. */
int bc_coord_http_metrics(void *arg, char **body, size_t *len);
bool bc_coord_http_health(void *arg, char *why, size_t len);

#endif
