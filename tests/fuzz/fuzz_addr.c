/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_addr - libFuzzer harness for the RFC 5322 address-list parser
 * (From: for DMARC, where parser confusion is a policy bypass:
 * CVE-2019-16378, CVE-2021-34555).
 *
 *   tests/fuzz/build.sh addr            (clang, ASan + UBSan)
 *   build-fuzz/fuzz_addr -dict=tests/fuzz/dict/addr tests/fuzz/seeds/addr
 *
 * Properties checked besides "never crash, never leak":
 *   - a failure comes with an error text; a success returns exactly
 *     count addresses, NULL-terminated;
 *   - every address has a domain (pw_addr_domain), already lower case,
 *     and holds no raw CR, LF or NUL;
 *   - the list rebuilt from the returned addresses ("a, b, c") parses
 *     again to the same addresses: the parser's output is a fixed point,
 *     so what DMARC evaluates is what a second reader would see.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_addrs(const char *const *v, int n)
{
	for (int i = 0; i < n; i++) {
		const char *d;

		if (v[i] == NULL)
			abort();
		if ((d = pw_addr_domain(v[i])) == NULL)
			abort();
		for (; *d; d++)
			if (isupper((unsigned char)*d))
				abort();
		if (strpbrk(v[i], "\r\n") != NULL)
			abort();
	}
	if (v[n] != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_arena *a;
	const char **v = NULL, **v2 = NULL, *err = NULL;
	struct pw_buf b = {0};
	char *s;
	int n, n2;

	if (size > 65536)
		return 0;
	s = pw_strndup((const char *)data, size);	/* stops at a NUL */
	a = pw_arena_new(4096);
	n = pw_addr_parse_list(a, s, &v, &err);
	if (n < 0) {
		if (err == NULL)
			abort();
		goto done;
	}
	check_addrs(v, n);
	/* Without a vector the count must be the same. */
	if (pw_addr_parse_list(a, s, NULL, &err) != n)
		abort();
	for (int i = 0; i < n; i++)
		pw_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
	n2 = pw_addr_parse_list(a, b.data ? b.data : "", &v2, &err);
	if (n2 != n)
		abort();
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], v2[i]) != 0)
			abort();
done:
	pw_buf_free(&b);
	pw_arena_free(&a);
	free(s);
	return 0;
}
