/*
 * arena.h - bump allocator with a hard ceiling.
 *
 * Everything one document needs (a parsed receipt, its strings) comes from
 * one arena and is released together. The ceiling bounds the memory a
 * hostile document can make us spend; allocation past it returns NULL and
 * the caller reports the document as too large. Out-of-memory from malloc
 * also returns NULL: documents are untrusted, so running out is their fault
 * and never fatal here.
 */
#ifndef UTIL_ARENA_H
#define UTIL_ARENA_H

#include <stddef.h>

struct arena;

struct arena	*arena_new(size_t limit);
void		 arena_free(struct arena *);
void		*arena_alloc(struct arena *, size_t);	/* zeroed, aligned */
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_strdup(struct arena *, const char *);
size_t		 arena_used(const struct arena *);

#endif
