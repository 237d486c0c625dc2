/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_config - postwarden.conf parser: any bytes give a config or errors,
   never a crash or a leak. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"
#include "policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz_config.XXXXXX";
	static int fd = -1;
	struct pw_buf err = {0};
	struct pw_config *cfg;

	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	cfg = pw_policies_load(path, &err);
	if (cfg == NULL && err.len == 0)
		abort();	/* a refused file must say why */
	pw_config_release(&cfg);
	pw_buf_free(&err);
	return 0;
}
