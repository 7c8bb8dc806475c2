/*
 * arena.c - reply-lifetime allocations (arena.h): calloc'd blocks
 * remembered in a growing array, freed together. No input is untrusted;
 * out of memory comes back as NULL with a->oom set.
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

void *bc_arena_alloc(struct bc_arena *a, size_t size)
{
	void *m;

	if (a->limit != 0 && a->n >= a->limit) {
		a->oom = 1;
		return NULL;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void **p = realloc(a->p, cap * sizeof(*p));

		if (p == NULL) {
			a->oom = 1;
			return NULL;
		}
		a->p = p;
		a->cap = cap;
	}
	m = calloc(1, size ? size : 1);
	if (m == NULL) {
		a->oom = 1;
		return NULL;
	}
	a->p[a->n++] = m;
	return m;
}

char *bc_arena_strdup(struct bc_arena *a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = bc_arena_alloc(a, len);

	if (d != NULL)
		memcpy(d, s, len);
	return d;
}

void bc_arena_free(struct bc_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	memset(a, 0, sizeof(*a));
}
