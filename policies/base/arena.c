/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena - a region allocator with destructors.
 *
 * Blocks are chained; a request larger than a quarter of the block size
 * gets a block of its own so that a large header does not waste the rest
 * of the current block.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"

#define ARENA_ALIGN	16

struct arena_block {
	struct arena_block	*next;
	size_t			 size;
	size_t			 used;
	unsigned char		 data[];
};

struct arena_dtor {
	void			(*fn)(void *);
	void			*ptr;
	struct arena_dtor	*next;
};

struct pw_arena {
	struct arena_block	*head;
	struct arena_dtor	*dtors;
	size_t			 block_size;
	size_t			 used;
};

/* arena_block_new - one block able to hold at least len bytes */
static struct arena_block *
arena_block_new(size_t len)
{
	struct arena_block *b = pw_malloc(sizeof(*b) + len);

	b->next = NULL;
	b->size = len;
	b->used = 0;
	return b;
}

struct pw_arena *
pw_arena_new(size_t block_size)
{
	struct pw_arena *a = pw_calloc(1, sizeof(*a));

	a->block_size = block_size < 256 ? 256 : block_size;
	a->head = arena_block_new(a->block_size);
	return a;
}

void
pw_arena_free(struct pw_arena **ap)
{
	struct pw_arena *a = *ap;
	struct arena_block *b, *nb;
	struct arena_dtor *d;

	if (a == NULL)
		return;
	/* Destructor records live in the arena: run them before the blocks
	   go. */
	for (d = a->dtors; d != NULL; d = d->next)
		d->fn(d->ptr);
	for (b = a->head; b != NULL; b = nb) {
		nb = b->next;
		free(b);
	}
	free(a);
	*ap = NULL;
}

void *
pw_arena_alloc(struct pw_arena *a, size_t len)
{
	struct arena_block *b = a->head;
	size_t need = (len + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (need > a->block_size / 4) {
		/* Own block, linked behind the current one. */
		struct arena_block *big = arena_block_new(need);

		big->used = need;
		big->next = b->next;
		b->next = big;
		a->used += need;
		memset(big->data, 0, need);
		return big->data;
	}
	if (b->size - b->used < need) {
		b = arena_block_new(a->block_size);
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->used += need;
	memset(p, 0, need);
	return p;
}

char *
pw_arena_strndup(struct pw_arena *a, const char *s, size_t len)
{
	char *p = pw_arena_alloc(a, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
pw_arena_strdup(struct pw_arena *a, const char *s)
{
	return s == NULL ? NULL : pw_arena_strndup(a, s, strlen(s));
}

char *
pw_arena_printf(struct pw_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pw_arena_strdup(a, "");
	p = pw_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
pw_arena_defer(struct pw_arena *a, void (*fn)(void *), void *ptr)
{
	struct arena_dtor *d = pw_arena_alloc(a, sizeof(*d));

	d->fn = fn;
	d->ptr = ptr;
	d->next = a->dtors;
	a->dtors = d;
}

size_t
pw_arena_used(const struct pw_arena *a)
{
	return a->used;
}
