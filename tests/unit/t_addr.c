/* SPDX-License-Identifier: BSD-2-Clause */
/* t_addr - From: address-list parsing (the DMARC-bypass cases first). */
#include "unit.h"

#include "base/arena.h"
#include "parsers/addr.h"

static const struct {
	const char	*value;
	int		 count;		/* -1: unparseable */
	const char	*first;
} cases[] = {
	{" alice@example.com", 1, "alice@example.com"},
	{" Alice <alice@Example.COM>", 1, "alice@example.com"},
	{" \"Smith, Alice\" <alice@example.com>", 1, "alice@example.com"},
	{" alice@example.com (Alice)", 1, "alice@example.com"},
	{" (comment (nested)) <a@b.example>", 1, "a@b.example"},
	{" a@x.example, b@y.example", 2, "a@x.example"},
	{" Group: a@x.example, b@y.example;", 2, "a@x.example"},
	{" undisclosed-recipients:;", 0, NULL},
	{"", 0, NULL},
	{" <@route.example:user@x.example>", 1, "user@x.example"},
	{" \"a@evil.example\" <b@good.example>", 1, "b@good.example"},
	{" \"quoted\\\"local\"@x.example", 1, "\"quoted\\\"local\"@x.example"},
	/* CVE-2019-16378 class: must not be read as one address */
	{" a@evil.example,<b@good.example>", 2, "a@evil.example"},
	{" <a@evil.example> <b@good.example>", -1, NULL},
	{" \"unbalanced <a@x.example>", -1, NULL},
	{" (unbalanced a@x.example", -1, NULL},
	{" <a@x.example", -1, NULL},
	{" a@x.example>", -1, NULL},
	{" John Smith john@x.example", -1, NULL},
	{" a@@x.example", -1, NULL},
	{" @x.example", -1, NULL},
	{" a@", -1, NULL},
	{" a@x..example", -1, NULL},
	{" a@.x.example", -1, NULL},
	{" a@[192.0.2.1]", 1, "a@[192.0.2.1]"},
	{" g: a@x.example", -1, NULL},
	{" a@x.example;", -1, NULL},
	{" <a@x.example> trailing", -1, NULL},
	{" Name\r\n\t<folded@x.example>", 1, "folded@x.example"},
	/* found by tests/fuzz/fuzz_addr.c: specials and controls */
	{" <@r;oute.e!xample:eu:r@x.example>", -1, NULL},
	{" <a:b@x.example>", -1, NULL},
	{" a\\b@x.example", -1, NULL},
	{" <[a]@x.example>", -1, NULL},
	{" \"\rq\"@x.example", -1, NULL},
	{" \"a\\\x01\"@x.example", -1, NULL},
	{" <a@x.example\x7f>", -1, NULL},
	{" \"a\r\n b\"@x.example", 1, "\"a b\"@x.example"},
	{" \"a\n\tb\"@x.example", 1, "\"a\tb\"@x.example"},
	/* more DMARC-relevant shapes */
	{" J\xc3\xb6rg <j\xc3\xb6rg@ex\xc3\xa4mple.test>", 1,
	    "j\xc3\xb6rg@ex\xc3\xa4mple.test"},
	{" a@b.example, , c@d.example", 2, "a@b.example"},
	{" <a@x.example>,", 1, "a@x.example"},
	{" a@x.example (<b@y.example>)", 1, "a@x.example"},
	{" \"<b@y.example>\" <a@x.example>", 1, "a@x.example"},
	{" a@X.Example.", -1, NULL},
	{" <>", -1, NULL},
	{" g: <a@x.example>, b@y.example; c@z.example", 3, "a@x.example"},
	{" a@x.example,\r\n\tb@y.example", 2, "a@x.example"},
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_arena *a = pw_arena_new(1024);
		const char **v = NULL, *err = NULL;
		int n = pw_addr_parse_list(a, cases[i].value, &v, &err);

		if (n != cases[i].count)
			fail_msg("case %zu [%s]: count %d, want %d (%s)", i,
			    cases[i].value, n, cases[i].count,
			    err ? err : "");
		if (n < 0 && err == NULL)
			fail_msg("case %zu: no error text", i);
		if (cases[i].first != NULL &&
		    strcmp(v[0], cases[i].first) != 0)
			fail_msg("case %zu: first \"%s\", want \"%s\"", i, v[0],
			    cases[i].first);
		pw_arena_free(&a);
	}
}

static void
test_domain(void **state)
{
	(void)state;
	assert_string_equal(pw_addr_domain("a@x.example"), "x.example");
	assert_string_equal(pw_addr_domain("\"a@b\"@c.example"), "c.example");
	assert_null(pw_addr_domain("nodomain"));
	assert_null(pw_addr_domain("a@"));
	assert_null(pw_addr_domain(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
