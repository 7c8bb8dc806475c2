/*
 * arena.h - allocations that live until one reply is sent, then go
 * together (nested protobuf-c reply objects point into them).
 */
#ifndef BC_ARENA_H
#define BC_ARENA_H

#include <stddef.h>

struct bc_arena {
	void **p;
	size_t n, cap;
	int oom;
};

/* Zeroed memory owned by the arena, or NULL (then a->oom is set). */
void *bc_arena_alloc(struct bc_arena *a, size_t size);
char *bc_arena_strdup(struct bc_arena *a, const char *s);
void bc_arena_free(struct bc_arena *a);

#endif
