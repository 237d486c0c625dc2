/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_spf_macro - RFC 7208 section 7 macro expansion: every example of
 * section 7.4, the escapes, explanation-only letters and syntax errors.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/arena.h"
#include "parsers/spf_macro.h"

static struct sockaddr_storage v4, v6;

static const struct pw_spf_macro_ctx *
ctx(const struct sockaddr_storage *ip)
{
	static struct pw_spf_macro_ctx x;

	x.sender = "strong-bad@email.example.com";
	x.domain = "email.example.com";
	x.ip = ip;
	x.helo = "mx.example.org";
	x.receiver = "mx.example.test";
	x.now = 1795000000;
	return &x;
}

static const struct {
	const char	*in, *want;
	int		 v6, expl;
} cases[] = {
	/* RFC 7208 section 7.4 */
	{"%{s}", "strong-bad@email.example.com", 0, 0},
	{"%{o}", "email.example.com", 0, 0},
	{"%{d}", "email.example.com", 0, 0},
	{"%{d4}", "email.example.com", 0, 0},
	{"%{d3}", "email.example.com", 0, 0},
	{"%{d2}", "example.com", 0, 0},
	{"%{d1}", "com", 0, 0},
	{"%{dr}", "com.example.email", 0, 0},
	{"%{d2r}", "example.email", 0, 0},
	{"%{l}", "strong-bad", 0, 0},
	{"%{l-}", "strong.bad", 0, 0},
	{"%{lr}", "strong-bad", 0, 0},
	{"%{lr-}", "bad.strong", 0, 0},
	{"%{l1r-}", "strong", 0, 0},
	{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", 0, 0},
	{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", 0, 0},
	{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", 0, 0},
	{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com", 0, 0},
	{"%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net", 0, 0},
	{"%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", 1, 0},
	/* escapes, upper case (URL-encoded), explanation letters */
	{"a%%b%_c%-d", "a%b c%20d", 0, 0},
	{"%{S}", "strong-bad%40email.example.com", 0, 0},
	{"%{i} is not one of %{d}'s designated mail servers.",
	    "192.0.2.3 is not one of email.example.com's designated mail "
	    "servers.", 0, 1},
	{"%{c} via %{r} at %{t}, helo %{h}",
	    "2001:db8::cb01 via mx.example.test at 1795000000, helo "
	    "mx.example.org", 1, 1},
	{"%{p}", "unknown", 0, 0},
};

static const struct {
	const char	*in;
	int		 expl;
} bad[] = {
	{"%{c}", 0},		/* c, r, t: explanation only */
	{"%{r}", 0},
	{"%{t}", 0},
	{"a b", 0},		/* a space only in an explanation */
	{"%{x}", 1},
	{"%{d", 1},
	{"%{d0}", 1},
	{"%{d2*}", 1},
	{"50%", 1},
	{"%a", 1},
	{"tab\there", 1},
};

static void
t_expand(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct pw_arena *a = pw_arena_new(1024);
		char *got = pw_spf_macro_expand(a, cases[i].in,
		    ctx(cases[i].v6 ? &v6 : &v4), cases[i].expl);

		if (got == NULL || strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in,
			    got ? got : "(syntax error)", cases[i].want);
		pw_arena_free(&a);
	}
}

static void
t_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct pw_arena *a = pw_arena_new(1024);
		char *got = pw_spf_macro_expand(a, bad[i].in, ctx(&v4),
		    bad[i].expl);

		if (got != NULL)
			fail_msg("%s: expanded to %s, want a syntax error",
			    bad[i].in, got);
		pw_arena_free(&a);
	}
}

/* issue 13: %{p} is the validated PTR name the caller found (7.3), and
   upper case URL-escapes it */
static void
t_ptr(void **state)
{
	struct pw_arena *a = pw_arena_new(1024);
	struct pw_spf_macro_ctx x = *ctx(&v4);
	char *r;

	(void)state;
	x.ptr = "mx.email.example.com";
	r = pw_spf_macro_expand(a, "%{p}", &x, false);
	assert_string_equal(r, "mx.email.example.com");
	r = pw_spf_macro_expand(a, "%{p2}", &x, false);
	assert_string_equal(r, "example.com");
	x.ptr = "a+b.example.com";
	r = pw_spf_macro_expand(a, "%{P}", &x, true);
	assert_string_equal(r, "a%2Bb.example.com");
	x.ptr = NULL;
	r = pw_spf_macro_expand(a, "%{p}", &x, false);
	assert_string_equal(r, "unknown");
	pw_arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_expand),
		cmocka_unit_test(t_bad),
		cmocka_unit_test(t_ptr),
	};

	v4.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.3",
	    &((struct sockaddr_in *)&v4)->sin_addr);
	v6.ss_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::cb01",
	    &((struct sockaddr_in6 *)&v6)->sin6_addr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
