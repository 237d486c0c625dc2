/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_addrnorm - libFuzzer harness for recipient address normalisation
 * (addrnorm.c, libidn2).  Build and run with tests/fuzz/build.sh addrnorm.
 *
 * Properties besides "never crash": a normalised address is its own
 * normal form (idempotent), is at most 254 octets, has no upper-case
 * ASCII and no control characters.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/addrnorm.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *again = NULL;
	const char *err;
	size_t i, len;

	if (pw_addr_normalise((const char *)data, size, &out, &err) != 0)
		return 0;
	len = strlen(out);
	if (len > 254)
		abort();
	for (i = 0; i < len; i++)
		if ((out[i] >= 'A' && out[i] <= 'Z') ||
		    (unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	if (pw_addr_normalise(out, len, &again, &err) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	free(again);
	free(out);
	return 0;
}
