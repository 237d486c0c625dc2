/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena - a region allocator: everything a message owns comes from its
 * arena and is freed with it in one call (Rspamd task pool, Dovecot pool).
 *
 * One arena belongs to one thread at a time.  Allocations never fail.
 */
#ifndef PW_ARENA_H
#define PW_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct pw_arena;

struct pw_arena	*pw_arena_new(size_t block_size);
/* Runs the destructors (last registered first), frees every block and
   sets *arena to NULL. */
void	 pw_arena_free(struct pw_arena **);

void	*pw_arena_alloc(struct pw_arena *, size_t);	/* zeroed */
char	*pw_arena_strdup(struct pw_arena *, const char *);
char	*pw_arena_strndup(struct pw_arena *, const char *, size_t);
char	*pw_arena_printf(struct pw_arena *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Register fn(ptr) to run when the arena is freed: for resources that do
   not live in the arena (library handles, file descriptors). */
void	 pw_arena_defer(struct pw_arena *, void (*fn)(void *), void *ptr);

/* Bytes handed out so far (for limits and benchmarks). */
size_t	 pw_arena_used(const struct pw_arena *);

#endif
