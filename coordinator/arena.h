/*
 * arena.h - allocations that live until one reply is sent, then go
 * together (nested protobuf-c reply objects point into them).
 *
 * The arena owns every block it hands out; bc_arena_free releases them
 * all and leaves the arena empty and reusable. An allocation that fails
 * returns NULL and sets oom, so a caller may also check once at the end.
 * A zeroed struct is an empty arena.
 */
#ifndef BC_ARENA_H
#define BC_ARENA_H

#include <stddef.h>

struct bc_arena {
	void **p;
	size_t n, cap;
	int oom;
	size_t limit; /* not 0: allocations granted before each further one
		       * fails as if out of memory (tests) */
};

/* Zeroed memory owned by the arena, or NULL (then a->oom is set). */
void *bc_arena_alloc(struct bc_arena *a, size_t size);
char *bc_arena_strdup(struct bc_arena *a, const char *s);
void bc_arena_free(struct bc_arena *a);

#endif
