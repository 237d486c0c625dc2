/* SPDX-License-Identifier: BSD-2-Clause */
/* t_table - file:/refile: tables and wildcard matching. */
#include "unit.h"

#include "base/table.h"
#include "base/util.h"

static const struct {
	const char	*pat;
	const char	*s;
	bool		 match;
} wild[] = {
	{"*@example.com", "alice@example.com", true},
	{"*@example.com", "alice@EXAMPLE.com", true},
	{"*@example.com", "alice@sub.example.com", false},
	{"*@*.example.com", "alice@sub.example.com", true},
	{"*", "", true},
	{"a*b*c", "axxbyyc", true},
	{"a*b*c", "axxbyy", false},
	{"bob@*", "bob@x.test", true},
	{"bob@*", "bobby@x.test", false},
	{"***@x", "a@x", true},
	{"", "a", false},
};

static void
test_wildmatch(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
		if (pw_wildmatch(wild[i].pat, wild[i].s) != wild[i].match)
			fail_msg("case %zu: \"%s\" ~ \"%s\"", i, wild[i].pat,
			    wild[i].s);
}

static void
test_file_table(void **state)
{
	char *path = t_tmpfile("kt", "# comment\nkey1  example.com:s1:/k1\n\n"
	    "Key2\texample.net:s2:/k2   # trailing comment\n", 0644);
	char *spec = pw_asprintf("file:%s", path);
	struct pw_buf err = {0};
	struct pw_table *t = pw_table_open(spec, "conf:1", &err);
	const struct pw_table_entry *e;

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->n, 2);
	e = pw_table_find(t, "key2");
	assert_non_null(e);
	assert_string_equal(e->value, "example.net:s2:/k2");
	assert_int_equal(e->line, 4);
	assert_null(pw_table_find(t, "key3"));
	pw_table_free(&t);
	free(spec);
	free(path);
}

static void
test_errors(void **state)
{
	char *path = t_tmpfile("bad", "ok value\nlonely\n", 0644);
	char *spec = pw_asprintf("refile:%s", path);
	struct pw_buf err = {0};

	(void)state;
	assert_null(pw_table_open(spec, "conf:1", &err));
	assert_non_null(strstr(err.data, ":2: \"lonely\" has no value"));
	pw_buf_free(&err);
	assert_null(pw_table_open("db:/x", "conf:9", &err));
	assert_non_null(strstr(err.data, "conf:9: \"db:/x\": expected"));
	pw_buf_free(&err);
	assert_null(pw_table_open("file:/nonexistent/t", "conf:9", &err));
	assert_non_null(strstr(err.data,
	    "conf:9: cannot open \"/nonexistent/t\""));
	pw_buf_free(&err);
	free(spec);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wildmatch),
	    cmocka_unit_test(test_file_table),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
