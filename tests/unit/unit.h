/* SPDX-License-Identifier: BSD-2-Clause */
/* unit.h - what every cmocka unit test includes. */
#ifndef PW_UNIT_H
#define PW_UNIT_H

#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* t_tmpfile - write text to a new file in a private temp dir; returns its
   malloc'd path.  mode is applied with chmod. */
static inline char *
t_tmpfile(const char *name, const char *text, int mode)
{
	static char dir[64];
	char *path;
	FILE *fp;

	if (dir[0] == '\0') {
		strcpy(dir, "/tmp/pw-unit.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	chmod(path, (mode_t)mode);
	return path;
}

#endif
