/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dns_name - libFuzzer harness for the names that reach the DNS
 * layer from senders (issue 13): pw_dns_name_ok() decides whether a name
 * can be asked at all (else NXDOMAIN, never a temporary failure), and
 * pw_spf_record_check() reads SPF records from the sender's DNS before
 * libspf2 does.
 *
 *   tests/fuzz/build.sh --run 20 dns_name
 *
 * Properties besides "never crash, never leak":
 *  - pw_dns_name_ok() agrees with a plain count of labels and octets;
 *  - a record the checker accepts is rewritten into printable ASCII that
 *    starts with "v=spf1" and is itself accepted (libspf2 never gets a
 *    record that RFC 7208 forbids).
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "dns/dns.h"
#include "parsers/spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* name_ok - the rule, written the slow way */
static int
name_ok(const char *s)
{
	size_t n = strlen(s), start = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || memchr(s, '\\', n) != NULL)
		return 0;
	for (size_t i = 0; i <= n; i++)
		if (i == n || s[i] == '.') {
			if (i == start || i - start > 63)
				return 0;
			start = i + 1;
		}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = pw_strndup((const char *)data, size);
	char *out = NULL, *again = NULL;

	if ((int)pw_dns_name_ok(s) != name_ok(s))
		abort();
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;

		if (pw_spf_record_check((const char *)data, size, family,
		    &out) != NULL) {
			if (out != NULL)
				abort();
			continue;
		}
		if (out == NULL || strncmp(out, "v=spf1", 6) != 0)
			abort();
		for (const char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				abort();
		if (pw_spf_record_check(out, strlen(out), family,
		    &again) != NULL)
			abort();
		free(again);
		again = NULL;
		free(out);
		out = NULL;
	}
	free(s);
	return 0;
}
