/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_table - file:/refile: table reader and the wildcard matcher. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/table.h"
#include "base/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz_table.XXXXXX";
	static int fd = -1;
	struct pw_buf err = {0};
	struct pw_table *t;
	char *spec, *s;

	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	spec = pw_asprintf("%s:%s", size % 2 ? "refile" : "file", path);
	t = pw_table_open(spec, "fuzz", &err);
	if (t != NULL) {
		/* Every pattern against every key: the matcher must stay
		   linear-ish and never read past the strings. */
		for (size_t i = 0; i < t->n && i < 16; i++)
			for (size_t j = 0; j < t->n && j < 16; j++)
				(void)pw_wildmatch(t->v[i].key, t->v[j].value);
		(void)pw_table_find(t, "alice@example.test");
	}
	s = pw_strndup((const char *)data, size);
	(void)pw_wildmatch(s, "alice@sub.example.test");
	free(s);
	pw_table_free(&t);
	pw_buf_free(&err);
	free(spec);
	return 0;
}
