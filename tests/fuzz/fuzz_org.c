/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_org - the organisations file parser: any bytes give a set or
   errors, never a crash or a leak; a loaded set answers lookups. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "compliance/org.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz_org.XXXXXX";
	static int fd = -1;
	struct pw_buf err = {0};
	struct pw_orgs *o;
	enum pw_org_how how;

	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	o = pw_orgs_load(path, &err);
	if (o == NULL && err.len == 0)
		abort();	/* a refused file must say why */
	if (o != NULL) {
		(void)pw_orgs_match(o, "acme-news", "a@x.acme.example",
		    "b@acme.example", &how);
		(void)pw_orgs_by_from(o, "sub.example.com");
	}
	pw_orgs_free(&o);
	pw_buf_free(&err);
	return 0;
}
