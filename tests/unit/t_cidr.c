/* SPDX-License-Identifier: BSD-2-Clause */
/* t_cidr - internal_hosts matching. */
#include "unit.h"

#include "base/cidr.h"
#include "base/util.h"

static const struct {
	const char	*list;
	const char	*addr;
	bool		 match;
} cases[] = {
	{"127.0.0.0/8", "127.0.0.1", true},
	{"127.0.0.0/8", "127.255.1.2", true},
	{"127.0.0.0/8", "128.0.0.1", false},
	{"10.1.2.3", "10.1.2.3", true},
	{"10.1.2.3", "10.1.2.4", false},
	{"192.168.0.0/23", "192.168.1.200", true},
	{"192.168.0.0/23", "192.168.2.1", false},
	{"0.0.0.0/0", "203.0.113.9", true},
	{"::1", "::1", true},
	{"[::1]", "::1", true},
	{"2001:db8::/32", "2001:db8:ffff::1", true},
	{"2001:db8::/32", "2001:db9::1", false},
	{"192.0.2.0/24", "::ffff:192.0.2.7", true},	/* v4-mapped */
	{"192.0.2.0/24", "2001:db8::1", false},
	{"10.0.0.0/8, 192.0.2.1 ::1", "192.0.2.1", true},
	{"10.0.0.0/8,192.0.2.1", "::1", false},
	{"10.0.0.0/8", "not-an-ip", false},
	{"", "127.0.0.1", false},
};

static void
test_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_buf err = {0};
		struct pw_cidr_list *l = pw_cidr_parse(cases[i].list, "t", &err);

		assert_non_null(l);
		if (pw_cidr_match_str(l, cases[i].addr) != cases[i].match)
			fail_msg("case %zu: %s in [%s]", i, cases[i].addr,
			    cases[i].list);
		pw_cidr_free(&l);
		pw_buf_free(&err);
	}
}

static void
test_errors(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.0/33", "::/129", "300.1.1.1", "10.0.0.0/x", "host.example",
	    "10.0.0.0/-1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pw_buf err = {0};
		struct pw_cidr_list *l = pw_cidr_parse(bad[i], "conf:7", &err);

		assert_null(l);
		assert_non_null(err.data);
		assert_non_null(strstr(err.data, "conf:7: "));
		pw_buf_free(&err);
	}
}

static void
test_file(void **state)
{
	char *path = t_tmpfile("hosts", "# internal\n10.0.0.0/8\n\n"
	    "192.0.2.5 # one host\nbogus\n", 0644);
	char *spec = pw_asprintf("file:%s", path);
	struct pw_buf err = {0};
	struct pw_cidr_list *l;

	(void)state;
	l = pw_cidr_parse(spec, "conf:3", &err);
	assert_null(l);	/* line 5 is bad */
	assert_non_null(strstr(err.data, ":5: \"bogus\""));
	pw_buf_free(&err);
	free(path);
	path = t_tmpfile("hosts2", "10.0.0.0/8\n192.0.2.5\n", 0644);
	free(spec);
	spec = pw_asprintf("file:%s, ::1", path);
	l = pw_cidr_parse(spec, "conf:3", &err);
	assert_non_null(l);
	assert_int_equal(pw_cidr_count(l), 3);
	assert_true(pw_cidr_match_str(l, "10.9.9.9"));
	assert_true(pw_cidr_match_str(l, "192.0.2.5"));
	assert_false(pw_cidr_match_str(l, "192.0.2.6"));
	pw_cidr_free(&l);
	free(spec);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
