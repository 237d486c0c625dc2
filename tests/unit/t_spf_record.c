/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_spf_record - RFC 7208 record syntax (section 12) as checked before
 * libspf2 sees a record, and the rewrites for libspf2 1.2.10 (issue 13):
 * permerror for what RFC 7208 forbids, the record libspf2 gets for what
 * it allows.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <sys/socket.h>

#include "parsers/spf_record.h"

#define EXP " exp=" PW_SPF_EXP_LABEL ".%{d}." PW_SPF_EXP_SEP "."

static const struct {
	const char	*rec;
	int		 family;
	const char	*want;		/* rewritten record; NULL: permerror */
} cases[] = {
	{"v=spf1 -all", AF_INET, "v=spf1 -all"},
	{"V=SPF1 A MX:Example.COM -ALL", AF_INET, "v=spf1 a mx:example.com -all"},
	{"v=spf1  ip4:192.0.2.0/24   ~all ", AF_INET,
	    "v=spf1 ip4:192.0.2.0/24 ~all"},
	/* 5.6: /0 allowed; libspf2 refuses it */
	{"v=spf1 ip4:1.1.1.1/0 -all", AF_INET,
	    "v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all"},
	{"v=spf1 ip6:::1.1.1.1/0", AF_INET6, "v=spf1 ip6:::/1 ip6:8000::/1"},
	{"v=spf1 a/0 -all", AF_INET,
	    "v=spf1 a:" PW_SPF_ANY_LABEL ".%{d} -all"},
	{"v=spf1 a/0 -all", AF_INET6, "v=spf1 a -all"},
	{"v=spf1 mx:x.example//0 -all", AF_INET6,
	    "v=spf1 mx:" PW_SPF_ANY_LABEL ".x.example -all"},
	{"v=spf1 a/24//64", AF_INET6, "v=spf1 a//64"},
	{"v=spf1 a/24//64", AF_INET, "v=spf1 a/24"},
	/* 6: unknown modifiers ignored, names with "." and "_" too */
	{"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", AF_INET,
	    "v=spf1 ip4:1.2.3.4 -all"},
	/* 6.1: redirect= ignored next to "all" */
	{"v=spf1 redirect=t5.example.com ~all", AF_INET, "v=spf1 ~all"},
	{"v=spf1 ip4:1.2.3.4 redirect=t2.example.com", AF_INET,
	    "v=spf1 ip4:1.2.3.4 redirect=t2.example.com"},
	/* 6.2: exp= goes to the DNS hook with its domain */
	{"v=spf1 -all exp=e.%{d}", AF_INET, "v=spf1 -all" EXP "e.%{d}"},
	/* macros keep their case, literals do not */
	{"v=spf1 exists:%{L}.Example.COM -all", AF_INET,
	    "v=spf1 exists:%{L}.example.com -all"},
	{"v=spf1 a:%{d}", AF_INET, "v=spf1 a:%{d}"},
	{"v=spf1 include:foo.example.com.", AF_INET,
	    "v=spf1 include:foo.example.com."},
	/* 7.1 domain-spec: top label, emptiness, characters */
	{"v=spf1 a:foo-bar -all", AF_INET, NULL},
	{"v=spf1 a:museum", AF_INET, NULL},
	{"v=spf1 a:museum.", AF_INET, NULL},
	{"v=spf1 a:abc.123", AF_INET, NULL},
	{"v=spf1 a:111.222.33.44", AF_INET, NULL},
	{"v=spf1 a:example.-com", AF_INET, NULL},
	{"v=spf1 a:example.com:8080", AF_INET, NULL},
	{"v=spf1 a:", AF_INET, NULL},
	{"v=spf1 include: -all", AF_INET, NULL},
	{"v=spf1 exists:", AF_INET, NULL},
	{"v=spf1 ptr:", AF_INET, NULL},
	{"v=spf1 exists:mail.example.com/24", AF_INET, NULL},
	/* macros */
	{"v=spf1 -exists:%(ir).sbl.example.com ?all", AF_INET, NULL},
	{"v=spf1 exists:foo%.sbl.example.com ?all", AF_INET, NULL},
	{"v=spf1 -all foo=%abc", AF_INET, NULL},
	{"v=spf1 -all exp=%{r}.example.com", AF_INET, NULL},
	{"v=spf1 a:%{x}.example.com", AF_INET, NULL},
	/* modifiers */
	{"v=spf1 exp=a.example.com -all exp=b.example.com", AF_INET, NULL},
	{"v=spf1 redirect=a.example.com redirect=a.example.com", AF_INET, NULL},
	{"v=spf1 ?all redirect=", AF_INET, NULL},
	{"v=spf1 exp= -all", AF_INET, NULL},
	{"v=spf1 exp=-all", AF_INET, NULL},
	{"v=spf1 ip4:1.2.3.4 redirect:t2.example.com", AF_INET, NULL},
	/* CIDR and addresses */
	{"v=spf1 ip4:1.2.3.4/032 -all", AF_INET, NULL},
	{"v=spf1 ip4:1.2.3.4/33", AF_INET, NULL},
	{"v=spf1 ip4:01.2.3.4", AF_INET, NULL},
	{"v=spf1 ip4:1.2.3", AF_INET, NULL},
	{"v=spf1 ip6:1:2:3:4:5:6:7:8:9", AF_INET, NULL},
	{"v=spf1 ip6:::1/129", AF_INET, NULL},
	{"v=spf1 a//129", AF_INET, NULL},
	/* terms */
	{"v=spf1 frobnicate -all", AF_INET, NULL},
	{"v=spf1 all:x", AF_INET, NULL},
	{"v=spf1 a:ctrl.example.com\rptr -all", AF_INET, NULL},
	{"v=spf1 a:example.net \x96" "all", AF_INET, NULL},
};

static void
t_records(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *out = NULL;
		const char *why = pw_spf_record_check(cases[i].rec,
		    strlen(cases[i].rec), cases[i].family, &out);

		if (cases[i].want == NULL && why == NULL)
			fail_msg("\"%s\": accepted as \"%s\", want permerror",
			    cases[i].rec, out);
		if (cases[i].want != NULL && why != NULL)
			fail_msg("\"%s\": %s", cases[i].rec, why);
		if (cases[i].want != NULL && strcmp(out, cases[i].want) != 0 &&
		    !(strncmp(out, cases[i].want, strlen(cases[i].want)) == 0 &&
		    strcmp(out + strlen(cases[i].want), "") == 0))
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
			    cases[i].rec, out, cases[i].want);
		free(out);
	}
}

/* A NUL inside a record must not cut it into a different policy. */
static void
t_nul(void **state)
{
	static const char rec[] = "v=spf1 a:foo.example.com\0 -all";
	char *out = NULL;

	(void)state;
	assert_non_null(pw_spf_record_check(rec, sizeof(rec) - 1, AF_INET,
	    &out));
	assert_null(out);
}

static void
t_is_spf(void **state)
{
	(void)state;
	assert_true(pw_spf_record_is_spf("v=spf1", 6));
	assert_true(pw_spf_record_is_spf("V=SPF1 -all", 11));
	assert_false(pw_spf_record_is_spf("v=spf10 -all", 12));
	assert_false(pw_spf_record_is_spf("v=spf3 -all", 11));
	assert_false(pw_spf_record_is_spf("v=spf", 5));
}

static void
t_domain_spec(void **state)
{
	(void)state;
	assert_null(pw_spf_domain_spec_check("%{d}", 4, false));
	assert_null(pw_spf_domain_spec_check("_spf.%{d2}", 10, false));
	assert_null(pw_spf_domain_spec_check("x.example", 9, false));
	assert_non_null(pw_spf_domain_spec_check("%{c}.example", 12, false));
	assert_null(pw_spf_domain_spec_check("%{c}.example", 12, true));
	assert_non_null(pw_spf_domain_spec_check("x.%{d}x", 7, false));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_records),
		cmocka_unit_test(t_nul),
		cmocka_unit_test(t_is_spf),
		cmocka_unit_test(t_domain_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
