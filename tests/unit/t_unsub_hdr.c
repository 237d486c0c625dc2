/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_unsub_hdr - List-Unsubscribe parser and validator, the
 * List-Unsubscribe-Post check, and the header builders.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "parsers/unsub_hdr.h"

#define GOOD "<https://u.example.com/u/TOKEN>"

static const struct {
	const char *value;
	int parse; /* 0 ok, -1 syntax error */
	size_t n;
	int oneclick;	   /* pw_unsub_check(.., true) */
	int plain;	   /* pw_unsub_check(.., false) */
	const char *https; /* first https URI */
} cases[] = {
    {GOOD, 0, 1, 0, 0, "https://u.example.com/u/TOKEN"},
    {GOOD ", <mailto:u+T@example.com?subject=unsubscribe>", 0, 2, 0, 0,
     "https://u.example.com/u/TOKEN"},
    {"<mailto:u@example.com>, " GOOD, 0, 2, 0, 0, NULL},
    /* folding, comments (nested, quoted-pair), odd spacing */
    {" " GOOD " (one-click) ,\r\n\t<mailto:u@example.com> (mail (us)\\) )", 0,
     2, 0, 0, NULL},
    {GOOD ",\n <mailto:u@example.com>", 0, 2, 0, 0, NULL},
    /* white space inside the brackets is ignored (RFC 2369 §2) */
    {"<https://u.example.com/u/\r\n TOK EN>", 0, 1, 0, 0,
     "https://u.example.com/u/TOKEN"},
    {",, " GOOD " ,", 0, 1, 0, 0, NULL}, /* empty elements */
    {"<HTTPS://U.EXAMPLE.COM:8443/u?t=1>", 0, 1, 0, 0, NULL},
    {"<https://[2001:db8::1]/u/x>", 0, 1, 0, 0, NULL},
    /* validator outcomes */
    {"<mailto:u@example.com>", 0, 1, -1, 0, NULL},
    {GOOD ", <https://v.example.com/x>", 0, 2, -1, 0, NULL},
    {GOOD ", <http://u.example.com/x>", 0, 2, -1, -1, NULL},
    {"<http://u.example.com/x>", 0, 1, -1, -1, NULL},
    {"<ftp://u.example.com/x>", 0, 1, -1, -1, NULL},
    {GOOD ", <ftp://u.example.com/x>", 0, 2, 0, 0, NULL},
    /* syntax errors */
    {"", -1, 0, 0, 0, NULL},
    {"   (only a comment)  ", -1, 0, 0, 0, NULL},
    {"https://u.example.com/u/TOKEN", -1, 0, 0, 0, NULL},
    {"<https://u.example.com/u/TOKEN", -1, 0, 0, 0, NULL},
    {GOOD " <mailto:u@example.com>", -1, 0, 0, 0, NULL}, /* no comma */
    {GOOD " junk", -1, 0, 0, 0, NULL},
    {GOOD " (unterminated", -1, 0, 0, 0, NULL},
    {GOOD "\r\n<mailto:u@example.com>", -1, 0, 0, 0, NULL}, /* no WSP */
    {GOOD ",\n<mailto:u@example.com>", -1, 0, 0, 0, NULL},
    {"<>", -1, 0, 0, 0, NULL},
    {"<https://>", -1, 0, 0, 0, NULL},
    {"<https:u.example.com>", -1, 0, 0, 0, NULL},
    {"<https://user:pw@u.example.com/>", -1, 0, 0, 0, NULL},
    {"<https://u.example.com:80x/>", -1, 0, 0, 0, NULL},
    {"<https://u_x.example.com/>", -1, 0, 0, 0, NULL},
    {"<https://u.example.com/\"x>", -1, 0, 0, 0, NULL},
    {"<https://u.example.com/\xc3\xa9>", -1, 0, 0, 0, NULL},
    {"<<https://u.example.com/>>", -1, 0, 0, 0, NULL},
    {"<mailto:>", -1, 0, 0, 0, NULL},
    {"<mailto:@example.com>", -1, 0, 0, 0, NULL},
    {"<mailto:u@>", -1, 0, 0, 0, NULL},
    {"<mailto:u?to=a@b>", -1, 0, 0, 0, NULL},
    {"<:x>", -1, 0, 0, 0, NULL},
    {"<1http://x>", -1, 0, 0, 0, NULL},
};

static void
t_parse(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_arena *a = pw_arena_new(1024);
		struct pw_unsub_hdr h;
		const char *err = NULL, *why = NULL, *https;
		int rc;

		rc = pw_unsub_parse(a, cases[i].value, strlen(cases[i].value),
				    &h, &err);
		if (rc != cases[i].parse)
			fail_msg("case %zu \"%s\": parse %d (%s)", i,
				 cases[i].value, rc, err ? err : "");
		if (rc == 0) {
			assert_int_equal(h.n, cases[i].n);
			if (pw_unsub_check(&h, true, &why) != cases[i].oneclick)
				fail_msg("case %zu: oneclick check", i);
			if (pw_unsub_check(&h, false, &why) != cases[i].plain)
				fail_msg("case %zu: plain check", i);
			https = pw_unsub_find(&h, PW_URI_HTTPS);
			if (cases[i].https != NULL)
				assert_string_equal(https, cases[i].https);
		} else {
			assert_non_null(err);
			assert_int_equal(h.n, 0);
		}
		pw_arena_free(&a);
	}
}

/* Parsing must look only at the given length. */
static void
t_parse_len(void **state)
{
	struct pw_arena *a = pw_arena_new(1024);
	static const char v[] = GOOD ", garbage";
	struct pw_unsub_hdr h;
	const char *err;

	assert_int_equal(pw_unsub_parse(a, v, strlen(GOOD), &h, &err), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(pw_unsub_parse(a, v, strlen(GOOD) - 1, &h, &err), -1);
	pw_arena_free(&a);
}

static const struct {
	const char *value;
	bool ok;
} post_cases[] = {
    {"List-Unsubscribe=One-Click", true},
    {" List-Unsubscribe=One-Click", true},
    {"\r\n List-Unsubscribe=One-Click \r\n", true},
    {"List-Unsubscribe=One-Click\t", true},
    {"list-unsubscribe=one-click", false},
    {"List-Unsubscribe = One-Click", false},
    {"List-Unsubscribe=One-Click; x=y", false},
    {"List-Unsubscribe=One-Click&a=b", false},
    {"List-Unsubscribe=One-Clic", false},
    {"List-Unsubscribe=One-Clickk", false},
    {"", false},
    {"\"List-Unsubscribe=One-Click\"", false},
};

static void
t_post(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(post_cases) / sizeof(post_cases[0]); i++)
		if (pw_unsub_post_ok(post_cases[i].value,
				     strlen(post_cases[i].value)) !=
		    post_cases[i].ok)
			fail_msg("post case %zu \"%s\"", i,
				 post_cases[i].value);
}

static void
t_build(void **state)
{
	struct pw_arena *a = pw_arena_new(1024);
	struct pw_unsub_hdr h;
	const char *err;
	char *https, *mailto, *v, big[1200];

	https = pw_unsub_https_uri(a, "https://unsub.example.com/u", "AbC-_9",
				   &err);
	assert_string_equal(https, "https://unsub.example.com/u/AbC-_9");
	assert_string_equal(
	    pw_unsub_https_uri(a, "https://x.example/u/", "T", &err),
	    "https://x.example/u/T");
	assert_string_equal(
	    pw_unsub_https_uri(a, "https://x.example/u?t=", "T", &err),
	    "https://x.example/u?t=T");
	assert_null(pw_unsub_https_uri(a, "http://x.example/u", "T", &err));
	assert_null(pw_unsub_https_uri(a, "https://x.example/u#f", "T", &err));
	assert_null(pw_unsub_https_uri(a, "https://x.example/u", "a b", &err));

	mailto = pw_unsub_mailto_uri(a, "unsub@example.com", "AbC-_9", &err);
	assert_string_equal(
	    mailto, "mailto:unsub+AbC-_9@example.com?subject=unsubscribe");
	assert_string_equal(
	    pw_unsub_mailto_uri(a, "unsub@example.com", NULL, &err),
	    "mailto:unsub@example.com?subject=unsubscribe");
	assert_null(pw_unsub_mailto_uri(a, "unsub", NULL, &err));
	assert_null(pw_unsub_mailto_uri(a, "a@b@c", NULL, &err));
	assert_null(pw_unsub_mailto_uri(a, "a b@c", NULL, &err));

	v = pw_unsub_build(a, https, mailto, &err);
	assert_string_equal(
	    v, "<https://unsub.example.com/u/AbC-_9>, "
	       "<mailto:unsub+AbC-_9@example.com?subject=unsubscribe>");
	/* what we build, we accept */
	assert_int_equal(pw_unsub_parse(a, v, strlen(v), &h, &err), 0);
	assert_int_equal(pw_unsub_check(&h, true, &err), 0);
	assert_string_equal(
	    pw_unsub_build(a, NULL, mailto, &err),
	    "<mailto:unsub+AbC-_9@example.com?subject=unsubscribe>");
	assert_null(pw_unsub_build(a, NULL, NULL, &err));
	assert_null(pw_unsub_build(a, mailto, https, &err)); /* swapped */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://x.example/", 18);
	assert_null(pw_unsub_build(a, big, NULL, &err));
	pw_arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse),
	    cmocka_unit_test(t_parse_len),
	    cmocka_unit_test(t_post),
	    cmocka_unit_test(t_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
