/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_addrnorm - recipient address normalisation for consent lookups.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parsers/addrnorm.h"

#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D63 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static const struct {
	const char *in;
	const char *out; /* NULL: rejected */
} cases[] = {
    {"alice@example.com", "alice@example.com"},
    {"Alice@Example.COM", "alice@example.com"},
    {"<Alice@Example.COM>", "alice@example.com"},
    {"  <bob@example.com>\t", "bob@example.com"},
    {"first.last+tag@example.com", "first.last+tag@example.com"},
    {"o'brien@example.com", "o'brien@example.com"},
    /* IDN: U-labels to A-labels, upper case mapped (UTS #46) */
    {"kunde@bücher.example", "kunde@xn--bcher-kva.example"},
    {"Kunde@BÜCHER.example", "kunde@xn--bcher-kva.example"},
    {"kunde@xn--bcher-kva.example", "kunde@xn--bcher-kva.example"},
    {"kunde@XN--BCHER-KVA.EXAMPLE", "kunde@xn--bcher-kva.example"},
    {"user@faß.de", "user@xn--fa-hia.de"}, /* non-transitional */
    {"user@\xe4\xbe\x8b\xe3\x81\x88.jp", "user@xn--r8jz45g.jp"},
    /* UTF-8 local part (RFC 6531): ASCII lower-cased only */
    {"J\xc3\xb6rg@example.com", "j\xc3\xb6rg@example.com"},
    /* quoted local parts */
    {"\"John\"@example.com", "john@example.com"},
    {"\"john.doe\"@example.com", "john.doe@example.com"},
    {"\"John Doe\"@example.com", "\"john doe\"@example.com"},
    {"\"a\\\"b\"@example.com", "\"a\\\"b\"@example.com"},
    {"\"a\\b\"@example.com", "ab@example.com"},
    {"\"a@b\"@example.com", "\"a@b\"@example.com"},
    /* address literals */
    {"root@[192.0.2.1]", "root@[192.0.2.1]"},
    {"root@[IPv6:2001:DB8::1]", "root@[ipv6:2001:db8::1]"},
    /* limits */
    {L64 "@example.com", L64 "@example.com"},
    {L64 "a@example.com", NULL},
    {"a@" D63 ".example", "a@" D63 ".example"},
    {"a@" D63 "d.example", NULL},
    {"a@" D63 "." D63 "." D63 "." D63 ".com", NULL}, /* > 254 */
    /* malformed */
    {"", NULL},
    {"<>", NULL},
    {"alice", NULL},
    {"alice@", NULL},
    {"@example.com", NULL},
    {"a@b@example.com", NULL},
    {".alice@example.com", NULL},
    {"alice.@example.com", NULL},
    {"al..ice@example.com", NULL},
    {"al ice@example.com", NULL},
    {"al(ice@example.com", NULL},
    {"alice@exa mple.com", NULL},
    {"alice@example.com.", NULL},
    {"alice@.example.com", NULL},
    {"alice@example..com", NULL},
    {"alice@-example.com", NULL},
    {"alice@exa_mple.com", NULL},
    {"alice@example.com\r\n", NULL},
    {"\"unterminated@example.com", NULL},
    {"\"\"@example.com", NULL},
    {"\"a\"b@example.com", NULL},
    {"j\xc3@example.com", NULL},       /* truncated UTF-8 */
    {"j\xc0\xafrg@example.com", NULL}, /* overlong */
    {"a@b\xff.example", NULL},	       /* invalid UTF-8 IDN */
    {"a@[1.2.3.4", NULL},
    {"a@[]", NULL},
    {"a@[1.2.3.4;x]", NULL},
};

static void
t_normalise(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		const char *err = NULL;
		int rc;

		rc = pw_addr_normalise(cases[i].in, strlen(cases[i].in), &out,
				       &err);
		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("case %zu \"%s\": accepted as \"%s\"",
					 i, cases[i].in, out);
			assert_non_null(err);
		} else {
			if (rc != 0)
				fail_msg("case %zu \"%s\": %s", i, cases[i].in,
					 err);
			assert_string_equal(out, cases[i].out);
			/* idempotent: the normal form is its own normal form */
			{
				char *again = NULL;

				if (pw_addr_normalise(out, strlen(out), &again,
						      &err) != 0)
					fail_msg("case %zu: \"%s\" not "
						 "idempotent: %s",
						 i, out, err);
				assert_string_equal(again, out);
				free(again);
			}
		}
		free(out);
	}
}

static void
t_len_and_nul(void **state)
{
	char *out = NULL;
	const char *err;
	static const char withnul[] = "a@b.example\0evil";

	/* only len bytes are looked at */
	assert_int_equal(pw_addr_normalise("a@b.example.org", 11, &out, &err),
			 0);
	assert_string_equal(out, "a@b.example");
	free(out);
	assert_int_equal(
	    pw_addr_normalise(withnul, sizeof(withnul) - 1, &out, &err), -1);
}

static void
t_domain(void **state)
{
	char *out = NULL;
	const char *err;

	assert_int_equal(pw_domain_normalise("Bücher.Example", 15, &out, &err),
			 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	free(out);
	assert_int_equal(pw_domain_normalise("", 0, &out, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_normalise),
	    cmocka_unit_test(t_len_and_nul),
	    cmocka_unit_test(t_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
