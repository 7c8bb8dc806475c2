/*
 * metrics.c - Prometheus textfile writer (metrics.h).
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bc_metrics_begin(struct bc_metrics *m, const char *path)
{
	snprintf(m->path, sizeof(m->path), "%s", path);
	snprintf(m->tmp, sizeof(m->tmp), "%s.tmp", path);
	m->f = fopen(m->tmp, "w");
	return m->f ? 0 : -1;
}

int bc_metrics_begin_mem(struct bc_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->mem, &m->memlen);
	return m->f ? 0 : -1;
}

int bc_metrics_end_mem(struct bc_metrics *m, char **text, size_t *len)
{
	int rc = ferror(m->f) ? -1 : 0;

	if (fclose(m->f) != 0)
		rc = -1;
	m->f = NULL;
	if (rc != 0) {
		free(m->mem);
		m->mem = NULL;
	}
	*text = m->mem;
	*len = rc == 0 ? m->memlen : 0;
	m->mem = NULL;
	return rc;
}

void bc_metrics_help(struct bc_metrics *m, const char *name, const char *type,
		     const char *help)
{
	fprintf(m->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format requires. */
static void put_lvalue(FILE *f, const char *lvalue)
{
	const char *p;

	for (p = lvalue; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
			fputc(*p, f);
	}
}

void bc_metrics_value(struct bc_metrics *m, const char *name,
		      const char *label, const char *lvalue, double v)
{
	bc_metrics_value2(m, name, label, lvalue, NULL, NULL, v);
}

void bc_metrics_value2(struct bc_metrics *m, const char *name,
		       const char *label, const char *lvalue,
		       const char *label2, const char *lvalue2, double v)
{
	if (label == NULL) {
		fprintf(m->f, "%s %.17g\n", name, v);
		return;
	}
	fprintf(m->f, "%s{%s=\"", name, label);
	put_lvalue(m->f, lvalue);
	if (label2 != NULL) {
		fprintf(m->f, "\",%s=\"", label2);
		put_lvalue(m->f, lvalue2);
	}
	fprintf(m->f, "\"} %.17g\n", v);
}

int bc_metrics_end(struct bc_metrics *m)
{
	int rc = ferror(m->f) ? -1 : 0;

	if (fclose(m->f) != 0)
		rc = -1;
	m->f = NULL;
	if (rc == 0 && rename(m->tmp, m->path) != 0)
		rc = -1;
	if (rc != 0)
		remove(m->tmp);
	return rc;
}
