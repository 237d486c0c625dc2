/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_unsub - libFuzzer harness for the List-Unsubscribe parser and the
 * List-Unsubscribe-Post check.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -I. -Ipolicies \
 *       tests/fuzz/fuzz_unsub.c policies/parsers/unsub_hdr.c policies/base/arena.c \
 *       policies/base/util.c policies/base/log.c -o fuzz_unsub
 *   ./fuzz_unsub -dict=tests/fuzz/dict/unsub tests/fuzz/seeds/unsub
 *
 * Property checked besides "never crash": every URI the parser returns
 * passes the URI check on its own, and rebuilding the header from the
 * parsed https and mailto URIs gives a value that parses again.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "parsers/unsub_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_arena *a = pw_arena_new(4096);
	struct pw_unsub_hdr h, h2;
	const char *err, *https, *mailto;
	char *v;
	size_t i;

	(void)pw_unsub_post_ok((const char *)data, size);
	if (pw_unsub_parse(a, (const char *)data, size, &h, &err) == 0) {
		for (i = 0; i < h.n; i++)
			if (pw_unsub_uri_check(h.v[i].uri,
					       strlen(h.v[i].uri)) !=
			    (int)h.v[i].scheme)
				abort();
		(void)pw_unsub_check(&h, true, &err);
		https = pw_unsub_find(&h, PW_URI_HTTPS);
		mailto = pw_unsub_find(&h, PW_URI_MAILTO);
		if ((https != NULL || mailto != NULL) &&
		    (v = pw_unsub_build(a, https, mailto, &err)) != NULL &&
		    pw_unsub_parse(a, v, strlen(v), &h2, &err) != 0)
			abort();
	}
	pw_arena_free(&a);
	return 0;
}
