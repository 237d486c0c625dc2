/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_spf_macro - libFuzzer harness for the RFC 7208 macro expander
 * (policies/parsers/spf_macro.c), which reads exp= domain-specs and explanation
 * strings from the sender's DNS.
 *
 *   tests/fuzz/build.sh --run 20 spf_macro
 *
 * Properties besides "never crash, never leak": an expansion contains no
 * control character (an explanation goes into an SMTP reply; "%_" may
 * put a space even in a domain-spec, which DNS then refuses), and no
 * literal space survives from a domain-spec.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/spf_macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = pw_strndup((const char *)data, size);
	struct sockaddr_storage ip;
	struct pw_spf_macro_ctx x;
	struct pw_arena *a = pw_arena_new(1024);

	memset(&ip, 0, sizeof(ip));
	memset(&x, 0, sizeof(x));	/* every field: p (ptr) came later */
	ip.ss_family = size % 2 ? AF_INET6 : AF_INET;
	if (ip.ss_family == AF_INET6)
		inet_pton(AF_INET6, "2001:db8::cb01",
		    &((struct sockaddr_in6 *)&ip)->sin6_addr);
	else
		inet_pton(AF_INET, "192.0.2.3",
		    &((struct sockaddr_in *)&ip)->sin_addr);
	x.sender = "strong-bad@email.example.com";
	x.domain = "email.example.com";
	x.ip = &ip;
	x.helo = NULL;
	x.receiver = "mx.example.test";
	/* %{p}: the validated PTR name, or "unknown" when there is none */
	x.ptr = size % 3 ? "mail.example.com" : NULL;
	x.now = 1795000000;
	for (int expl = 0; expl <= 1; expl++) {
		const char *r = pw_spf_macro_expand(a, s, &x, expl);

		for (const char *p = r; p && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (!expl && r != NULL && strchr(s, ' ') != NULL)
			abort();
	}
	pw_arena_free(&a);
	free(s);
	return 0;
}
