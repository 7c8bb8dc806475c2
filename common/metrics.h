/*
 * metrics.h - Prometheus text exposition written atomically to a file,
 * for node_exporter's textfile collector (write to FILE.tmp, rename), or
 * into memory (the coordinator's HTTP /metrics): the same calls write
 * either. Label values are escaped as the format requires (they may be
 * service names from log lines). Write errors stick to the stream and
 * come back from bc_metrics_end / bc_metrics_end_mem (-1, nothing
 * renamed); nothing prints.
 */
#ifndef BC_METRICS_H
#define BC_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct bc_metrics {
	FILE *f;
	char path[4096];
	char tmp[4200];
	char *mem;      /* bc_metrics_begin_mem: the text so far */
	size_t memlen;
};

/* Start a new exposition for path. Returns 0 or -1. */
int bc_metrics_begin(struct bc_metrics *m, const char *path);

/* Start a new exposition in memory (open_memstream). Returns 0 or -1. */
int bc_metrics_begin_mem(struct bc_metrics *m);

/* Finish an exposition begun with bc_metrics_begin_mem: *text (malloc'd,
 * NUL-terminated, the caller frees) and *len. Returns 0, or -1 and
 * *text NULL. */
int bc_metrics_end_mem(struct bc_metrics *m, char **text, size_t *len);

/* # HELP and # TYPE lines (type: counter, gauge). */
void bc_metrics_help(struct bc_metrics *m, const char *name, const char *type,
		     const char *help);

/* One sample; label may be NULL, else "key" with value lvalue. */
void bc_metrics_value(struct bc_metrics *m, const char *name,
		      const char *label, const char *lvalue, double v);

/* One sample with two labels (label2 NULL: as bc_metrics_value). */
void bc_metrics_value2(struct bc_metrics *m, const char *name,
		       const char *label, const char *lvalue,
		       const char *label2, const char *lvalue2, double v);

/* Finish: fsync-free rename into place. Returns 0 or -1. */
int bc_metrics_end(struct bc_metrics *m);

#endif
