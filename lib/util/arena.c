/*
 * arena.c - bump allocator with a hard ceiling (see arena.h).
 *
 * Invariants: used <= limit; every chunk is at least CHUNK_MIN bytes except
 * an oversized one made for a single large request; memory is zeroed.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN	8192
#define ALIGN		16

struct chunk {
	struct chunk	*next;
	size_t		 size, off;
	_Alignas(ALIGN) unsigned char data[];
};

struct arena {
	struct chunk	*head;
	size_t		 used, limit;
};

struct arena *
arena_new(size_t limit)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a != NULL)
		a->limit = limit;
	return a;
}

void
arena_free(struct arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c;
	size_t want, size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ALIGN)
		return NULL;
	want = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (want > a->limit - a->used)
		return NULL;
	c = a->head;
	if (c == NULL || c->size - c->off < want) {
		size = want > CHUNK_MIN ? want : CHUNK_MIN;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->off = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->off;
	c->off += want;
	a->used += want;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX || (p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t
arena_used(const struct arena *a)
{
	return a->used;
}
