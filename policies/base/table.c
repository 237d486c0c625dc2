/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * table - "file:" and "refile:" lookup tables in OpenDKIM's formats.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/table.h"
#include "base/util.h"

/* table_read - parse every "key value" line of the file */
static int
table_read(struct pw_table *t, const char *where, struct pw_buf *errors)
{
	FILE *fp = fopen(t->path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, bad = 0;

	if (fp == NULL) {
		pw_buf_printf(errors, "%s: cannot open \"%s\": %s\n", where,
		    t->path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		char *p, *hash, *key, *val;

		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		p = pw_trim(line);
		if (*p == '\0')
			continue;
		key = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		val = pw_trim(p);
		if (*val == '\0') {
			pw_buf_printf(errors, "%s:%d: \"%s\" has no value\n",
			    t->path, lineno, key);
			bad = 1;
			continue;
		}
		t->v = pw_realloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n].key = pw_strdup(key);
		t->v[t->n].value = pw_strdup(val);
		t->v[t->n].line = lineno;
		t->n++;
	}
	if (ferror(fp)) {
		pw_buf_printf(errors, "%s: read error: %s\n", t->path,
		    strerror(errno));
		bad = 1;
	}
	free(line);
	fclose(fp);
	return bad ? -1 : 0;
}

struct pw_table *
pw_table_open(const char *spec, const char *where, struct pw_buf *errors)
{
	struct pw_table *t = pw_calloc(1, sizeof(*t));

	if (strncmp(spec, "file:", 5) == 0) {
		t->type = PW_TABLE_FILE;
		t->path = pw_strdup(spec + 5);
	} else if (strncmp(spec, "refile:", 7) == 0) {
		t->type = PW_TABLE_REFILE;
		t->path = pw_strdup(spec + 7);
	} else if (spec[0] == '/') {
		/* OpenDKIM treats a bare path as a file: dataset. */
		t->type = PW_TABLE_FILE;
		t->path = pw_strdup(spec);
	} else {
		pw_buf_printf(errors, "%s: \"%s\": expected file:PATH or "
		    "refile:PATH\n", where, spec);
		free(t);
		return NULL;
	}
	if (table_read(t, where, errors) < 0)
		pw_table_free(&t);
	return t;
}

void
pw_table_free(struct pw_table **tp)
{
	struct pw_table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	free(t->path);
	free(t);
	*tp = NULL;
}

const struct pw_table_entry *
pw_table_find(const struct pw_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (pw_strcaseeq(t->v[i].key, key))
			return &t->v[i];
	return NULL;
}

bool
pw_wildmatch(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* Iterative glob with one backtrack point: linear in practice and
	   never recursive, whatever the input. */
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (tolower((unsigned char)*pat) ==
			   tolower((unsigned char)*s)) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}
