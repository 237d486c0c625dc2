/* SPDX-License-Identifier: BSD-2-Clause */
/* t_org - the organisations file: errors with FILE:LINE, lookups, sample. */
#include "unit.h"

#include "base/util.h"
#include "compliance/org.h"

#define GOOD_ACME                                                              \
	"[org acme]\n"                                                         \
	"domains = Acme.Example, .bounce.acme.example\n"                       \
	"sasl_logins = Acme-News, billing\n"                                   \
	"business_name = Acme Inc.\n"                                          \
	"mailing_address = 1 Main St\n"                                        \
	"contact_email = info@acme.example\n"                                  \
	"unsubscribe_url = https://u.acme.example/u/\n"

struct t_case {
	const char	*name;
	const char	*text;
	const char	*error;	/* substring of the errors, NULL: loads */
};

static const struct t_case cases[] = {
    {"minimal", GOOD_ACME, NULL},
    {"empty file: no organisations", "", NULL},
    {"comments only", "# nothing yet\n\n   # indented\n", NULL},
    {"continuation and comments",
	"# top\n[org a]\ndomains = a.example,\n    b.example\n"
	"  # indented comment\nidentification_mode = off\nunsub_mode = off\n",
	NULL},
    {"unknown key", GOOD_ACME "colour = blue\n",
	"org.conf:8: unknown key \"colour\""},
    {"bad mode", GOOD_ACME "consent_mode = strict\n",
	"org.conf:8: consent_mode = strict: expected off | warn | enforce"},
    {"bad class", GOOD_ACME "default_class = spam\n",
	":8: default_class = spam: expected commercial | transactional | other"},
    {"bad multi", GOOD_ACME "multi_recipient = split\n",
	":8: multi_recipient = split: expected rcpt_limit | reject | "
	"mailto_only"},
    {"bad missing_consent", GOOD_ACME "missing_consent = bounce\n",
	":8: missing_consent = bounce: expected refuse_at_rcpt | drop_at_eom | "
	"reject_message"},
    {"mailto unsubscribe keys", GOOD_ACME "unsubscribe_mailto_action = "
	"deliver\nunsubscribe_mailto_from = yes\n", NULL},
    {"bad mailto action", GOOD_ACME "unsubscribe_mailto_action = bounce\n",
	":8: unsubscribe_mailto_action = bounce: expected discard | deliver"},
    {"bad mailto from", GOOD_ACME "unsubscribe_mailto_from = maybe\n",
	":8: unsubscribe_mailto_from = maybe: expected no | yes"},
    {"repeated key", GOOD_ACME "domains = x.example\n",
	":8: \"domains\" repeated (first at line 2)"},
    {"duplicate org", GOOD_ACME "[org acme]\ndomains = other.example\n",
	":8: duplicate organisation \"acme\" (first at "},
    {"domain claimed twice",
	GOOD_ACME "[org beta]\nenvelope_domains = acme.example\n"
		  "from_domains = beta.example\ndomains = beta.example\n"
		  "identification_mode = off\nunsub_mode = off\n",
	":9: envelope domain \"acme.example\" of organisation \"beta\" is "
	"already claimed by organisation \"acme\""},
    {"login claimed twice",
	GOOD_ACME "[org beta]\ndomains = beta.example\nsasl_logins = BILLING\n"
		  "identification_mode = off\nunsub_mode = off\n",
	":10: SASL login \"billing\" of organisation \"beta\" is already "
	"claimed by organisation \"acme\""},
    {"no domains", "[org a]\nidentification_mode = off\nunsub_mode = off\n",
	"org.conf:1: organisation \"a\": domains is required"},
    {"enforce needs name",
	"[org a]\ndomains = a.example\nunsub_mode = off\n"
	"mailing_address = x\ncontact_url = https://a.example/\n",
	"org.conf:1: organisation \"a\": identification_mode = enforce needs "
	"business_name"},
    {"warn needs contact",
	"[org a]\ndomains = a.example\nunsub_mode = off\n"
	"identification_mode = warn\nbusiness_name = A\n"
	"mailing_address = x\n",
	"identification_mode = warn needs contact_phone, contact_email, "
	"contact_url or identification_url"},
    {"unsub needs url",
	"[org a]\ndomains = a.example\nidentification_mode = off\n",
	"org.conf:1: organisation \"a\": unsub_mode = enforce needs "
	"unsubscribe_url"},
    {"mailto_only needs mailto",
	GOOD_ACME "multi_recipient = mailto_only\n",
	"multi_recipient = mailto_only needs unsubscribe_mailto"},
    {"http unsubscribe", GOOD_ACME "unsubscribe_mailto = x\n",
	":8: unsubscribe_mailto = x: expected an address"},
    {"https required",
	"[org a]\ndomains = a.example\nidentification_mode = off\n"
	"unsubscribe_url = http://a.example/u\n",
	":4: unsubscribe_url = http://a.example/u: expected an https:// URL"},
    {"bad domain", "[org a]\ndomains = a_b.example\n",
	":2: domains: \"a_b.example\": bad character in domain"},
    {"bad org name", "[org a b]\n", ":1: organisation name \"a b\""},
    {"bad section", "[organisation a]\n", ":1: unknown section"},
    {"key outside", "domains = a.example\n",
	":1: \"domains\" outside an [org NAME] section"},
    {"no equals", GOOD_ACME "just words\n", ":8: expected key = value"},
    {"bad kid", GOOD_ACME "token_key_id = 300\n",
	":8: token_key_id = 300: expected a key id 0..255"},
    {"empty value", GOOD_ACME "contact_phone =\n",
	":8: \"contact_phone\" has an empty value"},
    {"tenant keys", GOOD_ACME "sender_binding = warn\n"
	"sender_binding_internal = yes\nclass_header_from = sasl\n"
	"send_as = Partner.Example, .lists.example, Ceo@Other.Example\n",
	NULL},
    {"bad sender_binding", GOOD_ACME "sender_binding = strict\n",
	":8: sender_binding = strict: expected off | warn | enforce"},
    {"bad class_header_from", GOOD_ACME "class_header_from = everyone\n",
	":8: class_header_from = everyone: expected submitters | sasl | "
	"internal | nobody"},
    {"bad send_as address", GOOD_ACME "send_as = @nolocal.example\n",
	":8: send_as: \"@nolocal.example\": expected local@domain"},
    {"bad send_as domain", GOOD_ACME "send_as = bad..example\n",
	":8: send_as: \"bad..example\""},
    {"lonely continuation", "  domains = a\n",
	":1: continuation line without a key"},
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = t_tmpfile("org.conf", cases[i].text, 0644);
		struct pw_buf err = {0};
		struct pw_orgs *o = pw_orgs_load(path, &err);

		if (cases[i].error == NULL) {
			if (o == NULL)
				fail_msg("%s: %s", cases[i].name, err.data);
		} else {
			if (o != NULL)
				fail_msg("%s: loaded", cases[i].name);
			if (err.data == NULL ||
			    strstr(err.data, cases[i].error) == NULL)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    cases[i].name, err.data ? err.data : "",
				    cases[i].error);
		}
		pw_orgs_free(&o);
		pw_buf_free(&err);
		free(path);
	}
}

/* Several problems are all reported, not just the first. */
static void
test_all_errors(void **state)
{
	char *path = t_tmpfile("org.conf", GOOD_ACME "colour = blue\n"
	    "unsub_mode = maybe\n[org b]\ndomains = acme.example\n"
	    "unsub_mode = off\nidentification_mode = off\n", 0644);
	struct pw_buf err = {0};

	(void)state;
	assert_null(pw_orgs_load(path, &err));
	assert_non_null(strstr(err.data, ":8: unknown key"));
	assert_non_null(strstr(err.data, ":9: unsub_mode = maybe"));
	assert_non_null(strstr(err.data, ":11: domain "
	    "\"acme.example\" of organisation \"b\" is already claimed"));
	/* reported once, not again for the From namespace */
	assert_null(strstr(err.data, "From domain"));
	pw_buf_free(&err);
	free(path);
}

static void
test_lookup(void **state)
{
	char *path = t_tmpfile("org.conf", GOOD_ACME "default_class = other\n"
	    "[org beta]\ndomains = beta.example\n"
	    "from_domains = beta.example, xn--bcher-kva.example\n"
	    "identification_mode = off\nunsub_mode = off\n", 0644);
	struct pw_buf err = {0};
	struct pw_orgs *o = pw_orgs_load(path, &err);
	const struct pw_org *a, *b;
	enum pw_org_how how;

	(void)state;
	assert_non_null(o);
	assert_int_equal(pw_orgs_count(o), 2);
	a = pw_orgs_by_name(o, "acme");
	b = pw_orgs_by_name(o, "beta");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->default_class, PW_CLASS_OTHER);
	assert_int_equal(b->default_class, PW_CLASS_COMMERCIAL);
	assert_int_equal(a->mode[PW_RULE_CLASS_HEADER], PW_MODE_WARN);
	assert_int_equal(a->multi_recipient, PW_MULTI_RCPT_LIMIT);
	assert_int_equal(a->token_key_id, -1);

	assert_ptr_equal(pw_orgs_by_sasl(o, "acme-NEWS"), a);
	assert_null(pw_orgs_by_sasl(o, "acme"));
	assert_ptr_equal(pw_orgs_by_envelope(o, "ACME.example."), a);
	/* ".bounce.acme.example" covers subdomains, not itself */
	assert_ptr_equal(pw_orgs_by_envelope(o, "x.y.bounce.acme.example"), a);
	assert_null(pw_orgs_by_envelope(o, "bounce.acme.example"));
	assert_null(pw_orgs_by_envelope(o, "sub.acme.example"));
	assert_null(pw_orgs_by_envelope(o, "evilacme.example"));
	assert_null(pw_orgs_by_envelope(o, "bad domain"));
	/* IDN From domain written as an A-label matches the U-label */
	assert_ptr_equal(pw_orgs_by_from(o, "b\xc3\xbc" "cher.example"), b);
	assert_null(pw_orgs_by_envelope(o, "b\xc3\xbc" "cher.example"));

	/* order: SASL, envelope, From */
	assert_ptr_equal(pw_orgs_match(o, "billing", "x@beta.example",
	    "y@beta.example", &how), a);
	assert_int_equal(how, PW_ORG_BY_SASL);
	assert_ptr_equal(pw_orgs_match(o, "nobody", "x@beta.example",
	    "y@acme.example", &how), b);
	assert_int_equal(how, PW_ORG_BY_ENVELOPE);
	assert_ptr_equal(pw_orgs_match(o, NULL, "", "y@acme.example", &how),
	    a);
	assert_int_equal(how, PW_ORG_BY_FROM);
	assert_null(pw_orgs_match(o, NULL, "x@else.example", NULL, &how));
	assert_int_equal(how, PW_ORG_NONE);

	assert_string_equal(pw_class_name(PW_CLASS_TRANSACTIONAL),
	    "transactional");
	pw_orgs_free(&o);
	assert_null(o);
	free(path);
}

/* Tenant binding: which addresses an organisation's submitters may use,
   and which organisation owns a DKIM key's domain. */
static void
test_send_as(void **state)
{
	char *path = t_tmpfile("org.conf", GOOD_ACME
	    "send_as = partner.example, .lists.example, Ceo@Other.Example\n"
	    "[org shop]\ndomains = shop.example\n"
	    "envelope_domains = bounce.shop.example\n"
	    "from_domains = news.shop.example\n"
	    "identification_mode = off\nunsub_mode = off\n", 0644);
	struct pw_buf err = {0};
	struct pw_orgs *o = pw_orgs_load(path, &err);
	const struct pw_org *a, *s;

	(void)state;
	if (o == NULL)
		fail_msg("%s", err.data);
	a = pw_orgs_by_name(o, "acme");
	s = pw_orgs_by_name(o, "shop");
	/* defaults: enforce, both kinds of submitter, hosts not bound */
	assert_int_equal(a->mode[PW_RULE_SENDER_BINDING], PW_MODE_ENFORCE);
	assert_int_equal(a->class_header_from, PW_CLASSHDR_SUBMITTERS);
	assert_false(a->bind_internal);

	assert_true(pw_org_may_send_as(a, "news@acme.example"));
	assert_true(pw_org_may_send_as(a, "News@ACME.Example"));
	assert_true(pw_org_may_send_as(a, "b@x.bounce.acme.example"));
	assert_false(pw_org_may_send_as(a, "b@bounce.acme.example"));
	assert_true(pw_org_may_send_as(a, "x@partner.example"));
	assert_false(pw_org_may_send_as(a, "x@sub.partner.example"));
	assert_true(pw_org_may_send_as(a, "x@a.lists.example"));
	assert_false(pw_org_may_send_as(a, "x@lists.example"));
	assert_true(pw_org_may_send_as(a, "ceo@other.example"));
	assert_false(pw_org_may_send_as(a, "cfo@other.example"));
	assert_false(pw_org_may_send_as(a, "news@shop.example"));
	assert_false(pw_org_may_send_as(a, "news@evilacme.example"));
	assert_false(pw_org_may_send_as(a, "no-at-sign"));
	assert_false(pw_org_may_send_as(a, ""));
	assert_false(pw_org_may_send_as(NULL, "news@acme.example"));
	/* domains, envelope_domains and from_domains are all its own */
	assert_true(pw_org_may_send_as(s, "a@shop.example"));
	assert_true(pw_org_may_send_as(s, "a@bounce.shop.example"));
	assert_true(pw_org_may_send_as(s, "a@news.shop.example"));
	assert_false(pw_org_may_send_as(s, "a@acme.example"));

	assert_ptr_equal(pw_orgs_owner(o, "acme.example"), a);
	assert_ptr_equal(pw_orgs_owner(o, "ACME.example."), a);
	assert_ptr_equal(pw_orgs_owner(o, "news.shop.example"), s);
	assert_ptr_equal(pw_orgs_owner(o, "bounce.shop.example"), s);
	/* in "domains" only (both other lists set explicitly) */
	assert_ptr_equal(pw_orgs_owner(o, "shop.example"), s);
	/* send_as does not make a domain its own */
	assert_null(pw_orgs_owner(o, "partner.example"));
	assert_null(pw_orgs_owner(o, "nobody.example"));
	assert_null(pw_orgs_owner(o, ""));
	assert_null(pw_orgs_owner(NULL, "acme.example"));
	pw_orgs_free(&o);
	free(path);
}

/* Settings that cannot act together: warnings with FILE:LINE, and only
   for values written in the file. */
static const struct {
	const char	*name;
	const char	*text;		/* after GOOD_ACME (7 lines) */
	size_t		 n;
	const char	*warning;	/* substring, NULL: none */
} wcases[] = {
    {"defaults", "", 0, NULL},
    {"rcpt_limit with class_header_mode warn (default)",
	"multi_recipient = rcpt_limit\n", 1,
	"org.conf:8: warning: organisation \"acme\": multi_recipient = "
	"rcpt_limit cannot act at RCPT for mail of its own submitters"},
    {"refuse_at_rcpt with class_header_mode = enforce",
	"class_header_mode = enforce\nmissing_consent = refuse_at_rcpt\n", 1,
	"org.conf:9: warning: organisation \"acme\": missing_consent = "
	"refuse_at_rcpt cannot act at RCPT"},
    {"both, as the old sample",
	"class_header_mode = warn\nmulti_recipient = rcpt_limit\n"
	"missing_consent = refuse_at_rcpt\n", 2, "removed at end of message"},
    {"class_header_mode = off: both act",
	"class_header_mode = off\nmulti_recipient = rcpt_limit\n"
	"missing_consent = refuse_at_rcpt\n", 0, NULL},
    {"transactional default, header off",
	"class_header_mode = off\ndefault_class = transactional\n"
	"missing_consent = refuse_at_rcpt\n", 1,
	"its default_class is not commercial"},
    {"the rule is off", "consent_mode = off\nunsub_mode = off\n"
	"multi_recipient = rcpt_limit\nmissing_consent = refuse_at_rcpt\n",
	0, NULL},
    {"class_header_from = nobody: both act",
	"class_header_from = nobody\nmulti_recipient = rcpt_limit\n"
	"missing_consent = refuse_at_rcpt\n", 0, NULL},
    {"choices that act at end of message",
	"multi_recipient = reject\nmissing_consent = drop_at_eom\n", 0, NULL},
};

static void
test_warnings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wcases) / sizeof(wcases[0]); i++) {
		char *text = pw_asprintf("%s%s", GOOD_ACME, wcases[i].text);
		char *path = t_tmpfile("org.conf", text, 0644);
		struct pw_buf err = {0}, warn = {0};
		struct pw_orgs *o = pw_orgs_load(path, &err);
		size_t n;

		if (o == NULL)
			fail_msg("%s: %s", wcases[i].name, err.data);
		n = pw_orgs_warnings(o, &warn);
		if (n != wcases[i].n || (wcases[i].warning == NULL) !=
		    (warn.data == NULL) || (wcases[i].warning != NULL &&
		    strstr(warn.data, wcases[i].warning) == NULL))
			fail_msg("%s: %zu warnings: %s", wcases[i].name, n,
			    warn.data ? warn.data : "(none)");
		pw_orgs_free(&o);
		pw_buf_free(&warn);
		free(path);
		free(text);
	}
}

/* The commented examples of the shipped sample load once uncommented. */
static void
test_sample(void **state)
{
	const char *src = getenv("PW_SRCDIR");
	char *in = pw_asprintf("%s/conf/organisations.conf.sample",
	    src ? src : "..");
	FILE *fp = fopen(in, "r");
	struct pw_buf text = {0}, err = {0};
	char line[1024];
	struct pw_orgs *o;
	char *path;

	(void)state;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *l = line;

		if (line[0] == '#' && (line[1] == '[' ||
		    (line[1] >= 'a' && line[1] <= 'z' && strchr(line, '='))))
			l = line + 1;
		pw_buf_puts(&text, l);
	}
	fclose(fp);
	path = t_tmpfile("sample.conf", text.data, 0644);
	o = pw_orgs_load(path, &err);
	if (o == NULL)
		fail_msg("sample: %s", err.data);
	assert_int_equal(pw_orgs_count(o), 2);
	assert_int_equal(pw_orgs_by_name(o, "boreal-bakery")->multi_recipient,
	    PW_MULTI_MAILTO_ONLY);
	/* and shows no combination that cannot act */
	if (pw_orgs_warnings(o, &err) != 0)
		fail_msg("sample: %s", err.data);
	pw_orgs_free(&o);
	pw_buf_free(&text);
	free(path);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_all_errors),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_send_as),
	    cmocka_unit_test(test_warnings),
	    cmocka_unit_test(test_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
