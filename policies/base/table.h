/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * table - lookup tables named "type:name", in OpenDKIM's dataset formats
 * so that KeyTable and SigningTable files are kept unchanged.
 *
 *   file:PATH    "key value" lines; exact, case-insensitive key lookup
 *   refile:PATH  "pattern value" lines; '*' matches any string; entries
 *                are tried in file order
 *
 * '#' starts a comment; blank lines are skipped.  Immutable once loaded;
 * safe to share between threads.
 */
#ifndef PW_TABLE_H
#define PW_TABLE_H

#include <stdbool.h>
#include <stddef.h>

struct pw_buf;

enum pw_table_type { PW_TABLE_FILE, PW_TABLE_REFILE };

struct pw_table_entry {
	char	*key;
	char	*value;
	int	 line;
};

struct pw_table {
	enum pw_table_type	 type;
	char			*path;
	struct pw_table_entry	*v;
	size_t			 n;
};

/* Load "file:PATH" or "refile:PATH".  On error returns NULL and appends
   "WHERE: message" or "PATH:LINE: message" lines to *errors. */
struct pw_table	*pw_table_open(const char *spec, const char *where,
			    struct pw_buf *errors);
void		 pw_table_free(struct pw_table **);

/* Exact lookup (file: semantics): the first entry with this key, or
   NULL. */
const struct pw_table_entry *pw_table_find(const struct pw_table *,
				  const char *key);

/* Does a '*' wildcard pattern match s (case-insensitive)? */
bool	pw_wildmatch(const char *pattern, const char *s);

#endif
