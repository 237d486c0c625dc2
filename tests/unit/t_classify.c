/* SPDX-License-Identifier: BSD-2-Clause */
/* t_classify - organisation and message class: header trust, org default,
   bulk heuristics, removal of Postwarden-Class, unmatched mail. */
#include "unit.h"

#include "base/config.h"
#include "compliance/org.h"
#include "msg.h"
#include "policy.h"

extern const struct pw_policy pol_classify;

#define ORGS                                                                   \
	"[org acme]\n"                                                         \
	"domains = acme.example\n"                                             \
	"sasl_logins = acme-news\n"                                            \
	"identification_mode = off\nunsub_mode = off\n"                        \
	"[org shop]\n"                                                         \
	"domains = shop.example\n"                                             \
	"sasl_logins = shop\n"                                                 \
	"default_class = transactional\n"                                      \
	"class_header_mode = enforce\n"                                        \
	"identification_mode = off\nunsub_mode = off\n"                        \
	"[org quiet]\n"                                                        \
	"domains = quiet.example\n"                                            \
	"sasl_logins = quiet\n"                                                \
	"default_class = transactional\n"                                      \
	"class_header_mode = off\n"                                            \
	"identification_mode = off\nunsub_mode = off\n"

struct t_case {
	const char	*name;
	const char	*sasl;
	const char	*env_from;
	bool		 internal;
	const char	*why;		/* dir_why */
	const char	*hdrs;		/* "Name: value\n"... */
	const char	*org;		/* NULL: none */
	bool		 final_at_mail;
	enum pw_class	 class;
	enum pw_class_how how;
	int		 deletes;	/* Postwarden-Class deletions */
	const char	*summary;	/* substring */
};

static const struct t_case cases[] = {
    {"sasl, org default", "acme-news", "n@acme.example", false, "auth",
	"From: n@acme.example\n", "acme", false, PW_CLASS_COMMERCIAL,
	PW_CLASS_BY_ORG, 0, "org=acme(sasl) class=commercial(organisation)"},
    {"envelope, untrusted: final at MAIL", NULL, "n@acme.example", false,
	"daemon", "From: n@acme.example\n", "acme", true, PW_CLASS_COMMERCIAL,
	PW_CLASS_BY_ORG, 0, "org=acme(envelope)"},
    {"trusted header from SASL", "ACME-NEWS", "n@acme.example", false,
	"auth", "Postwarden-Class: transactional\n", "acme", false,
	PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_HEADER, 1,
	"class=transactional(header)"},
    {"forged header from an untrusted client", NULL, "n@acme.example",
	false, "daemon", "Postwarden-Class: transactional\n", "acme", true,
	PW_CLASS_COMMERCIAL, PW_CLASS_BY_ORG, 1,
	"class=commercial(organisation)"},
    {"other SASL login from an internal host", "mallory", "n@acme.example",
	true, "auth", "Postwarden-Class: transactional\n", "acme", true,
	PW_CLASS_COMMERCIAL, PW_CLASS_BY_ORG, 1, "org=acme(envelope)"},
    {"internal host, header with a basis", NULL, "n@acme.example", true,
	"internal", "Postwarden-Class: Transactional; basis=6(6)(b)\n", "acme",
	false, PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_HEADER, 1,
	"class=transactional(header)"},
    {"local sendmail, consent-request", NULL, "n@acme.example", false,
	"local", "Postwarden-Class: consent-request\n", "acme", false,
	PW_CLASS_COMMERCIAL, PW_CLASS_BY_HEADER, 1, "class=commercial(header)"},
    {"org default transactional + List-Unsubscribe", "shop",
	"o@shop.example", false, "auth",
	"List-Unsubscribe: <https://shop.example/u>\n", "shop", false,
	PW_CLASS_COMMERCIAL, PW_CLASS_BY_HEURISTIC, 0,
	"mislabelled=List-Unsubscribe org=shop(sasl) "
	"class=commercial(heuristic)"},
    {"header transactional + bulk, warn: logged only", "acme-news",
	"n@acme.example", false, "auth",
	"Postwarden-Class: transactional\nPrecedence: bulk\n", "acme", false,
	PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_HEADER, 1,
	"mislabelled=Precedence org=acme(sasl) class=transactional(header)"},
    {"header transactional + bulk, enforce: commercial", "shop",
	"o@shop.example", false, "auth",
	"Postwarden-Class: transactional\nList-Id: <deals.shop.example>\n"
	"X-Campaign-Id: 42\n",
	"shop", false, PW_CLASS_COMMERCIAL, PW_CLASS_BY_HEURISTIC, 1,
	"mislabelled=List-Id,X-Campaign-Id"},
    {"Precedence: junk-ish words are not bulk", "shop", "o@shop.example",
	false, "auth", "Precedence: first-class\n", "shop", false,
	PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_ORG, 0,
	"class=transactional(organisation)"},
    {"class_header_mode = off ignores the header", "quiet",
	"q@quiet.example", false, "auth", "Postwarden-Class: other\n", "quiet",
	false, PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_ORG, 1,
	"class=transactional(organisation)"},
    {"From domain match at EOH", NULL, "bounce@esp.example", false, "daemon",
	"From: \"Shop\" <news@Shop.Example>\n", "shop", false,
	PW_CLASS_TRANSACTIONAL, PW_CLASS_BY_ORG, 0, "org=shop(from)"},
    {"two From headers name no author", NULL, "bounce@esp.example", false,
	"daemon", "From: a@shop.example\nFrom: b@shop.example\n", NULL, false,
	PW_CLASS_NONE, PW_CLASS_BY_NONE, 0, "org=none"},
    {"unmatched: header still removed", "someone", "x@else.example", false,
	"auth", "Postwarden-Class: transactional\n", NULL, false,
	PW_CLASS_NONE, PW_CLASS_BY_NONE, 1, "org=none"},
    {"two class headers: ignored, both removed", "acme-news",
	"n@acme.example", false, "auth",
	"Postwarden-Class: transactional\nPostwarden-Class: other\n", "acme",
	false, PW_CLASS_COMMERCIAL, PW_CLASS_BY_ORG, 2,
	"class=commercial(organisation)"},
    {"unknown class value: ignored", "acme-news", "n@acme.example", false,
	"auth", "Postwarden-Class: promotional\n", "acme", false,
	PW_CLASS_COMMERCIAL, PW_CLASS_BY_ORG, 1,
	"class=commercial(organisation)"},
    {"null sender, no From", NULL, "", false, "daemon", "Subject: x\n", NULL,
	false, PW_CLASS_NONE, PW_CLASS_BY_NONE, 0, "org=none"},
};

/* load - a config naming an organisations file; NULL with *err */
static struct pw_config *
load(const char *extra, struct pw_buf *err)
{
	char *orgs = t_tmpfile("orgs.conf", ORGS, 0644);
	char *text = pw_asprintf("organisations = file:%s\n%s", orgs, extra);
	char *path = t_tmpfile("classify.conf", text, 0644);
	struct pw_config *cfg = pw_policies_load(path, err);

	free(orgs);
	free(text);
	free(path);
	return cfg;
}

/* conf_of - the classify policy's conf in a snapshot */
static void *
conf_of(const struct pw_config *cfg)
{
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_classify)
			return pw_policy_conf(cfg, i);
	fail_msg("pol_classify not registered");
	return NULL;
}

/* run - MAIL and EOH for one case; returns the EOH verdict */
static enum pw_verdict
run(struct pw_config *cfg, const struct t_case *tc, struct pw_client *cl,
    struct pw_msg **m_r)
{
	struct pw_msg *m = pw_msg_new(cfg, cl);
	struct pw_call call = {m, conf_of(cfg), NULL};
	char *h = pw_strdup(tc->hdrs), *line, *save = NULL;

	m->dir = PW_DIR_OUT;
	m->dir_why = tc->why;
	m->auth_authen = tc->sasl;
	m->env_from = tc->env_from;
	assert_int_equal(pol_classify.mail(&call), PW_DUNNO);
	if (m->comply.class_final != tc->final_at_mail)
		fail_msg("%s: class_final at MAIL = %d", tc->name,
		    m->comply.class_final);
	for (line = strtok_r(h, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		*colon = '\0';
		pw_msg_seen_hdr(m, line);	/* as the glue does */
		pw_msg_add_hdr(m, line, colon + 1);
	}
	free(h);
	*m_r = m;
	/* The glue records the removal of Postwarden-Class at end of
	   headers, whoever sent it, before the policies run. */
	(void)pw_msg_strip_private(m);
	return pol_classify.eoh(&call);
}

static void
test_cases(void **state)
{
	struct pw_buf err = {0};
	struct pw_config *cfg = load("", &err);

	(void)state;
	if (cfg == NULL)
		fail_msg("load: %s", err.data);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *tc = &cases[i];
		struct pw_client cl = {0};
		struct pw_msg *m;
		int dels = 0, last = 1 << 30;

		cl.internal = tc->internal;
		assert_int_equal(run(cfg, tc, &cl, &m), PW_DUNNO);
		if ((tc->org == NULL) != (m->comply.org == NULL) ||
		    (tc->org && strcmp(tc->org, m->comply.org->name) != 0))
			fail_msg("%s: org %s", tc->name,
			    m->comply.org ? m->comply.org->name : "none");
		if (m->comply.class != tc->class ||
		    m->comply.class_how != tc->how)
			fail_msg("%s: class %s(%s)", tc->name,
			    pw_class_name(m->comply.class),
			    pw_class_how_name(m->comply.class_how));
		for (const struct pw_edit *e = m->edits; e; e = e->next) {
			assert_int_equal(e->op, PW_EDIT_DELETE);
			assert_string_equal(e->name, "Postwarden-Class");
			/* last one first: indexes never shift (CVE-2022-48521) */
			assert_true(e->index < last);
			last = e->index;
			dels++;
		}
		if (dels != tc->deletes)
			fail_msg("%s: %d deletions", tc->name, dels);
		if (m->summary.data == NULL ||
		    strstr(m->summary.data, tc->summary) == NULL)
			fail_msg("%s: summary \"%s\"", tc->name,
			    m->summary.data ? m->summary.data : "");
		pw_msg_free(&m);
	}
	pw_config_release(&cfg);
}

static void
test_unmatched(void **state)
{
	static const struct t_case tc = {"unmatched", NULL, "x@else.example",
	    false, "daemon", "Subject: x\n", NULL, false, 0, 0, 0, ""};
	static const char *const modes[] = {"tempfail", "reject"};
	static const char *const codes[] = {"451", "550"};
	static const enum pw_verdict verdicts[] = {PW_TEMPFAIL, PW_REJECT};

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct pw_buf err = {0};
		char *extra = pw_asprintf("organisations_unmatched = %s\n",
		    modes[i]);
		struct pw_config *cfg = load(extra, &err);
		struct pw_client cl = {0};
		struct pw_msg *m;

		assert_non_null(cfg);
		assert_int_equal(run(cfg, &tc, &cl, &m), verdicts[i]);
		assert_string_equal(m->reply.rcode, codes[i]);
		assert_non_null(strstr(m->reply.text, "not recognised"));
		pw_msg_free(&m);
		pw_config_release(&cfg);
		free(extra);
	}
}

static void
test_init_errors(void **state)
{
	struct pw_buf err = {0};
	char *path = t_tmpfile("bad.conf", "organisations = sql:orgs\n", 0644);

	(void)state;
	assert_null(pw_policies_load(path, &err));
	assert_non_null(strstr(err.data, "bad.conf:1: organisations = "
	    "sql:orgs: expected file:PATH"));
	pw_buf_free(&err);
	free(path);

	path = t_tmpfile("bad.conf", "\n\norganisations = /nonexistent/o\n",
	    0644);
	assert_null(pw_policies_load(path, &err));
	assert_non_null(strstr(err.data, "bad.conf:3: organisations: "
	    "/nonexistent/o: cannot open"));
	pw_buf_free(&err);
	free(path);

	/* Errors of the organisations file keep its own FILE:LINE. */
	{
		char *orgs = t_tmpfile("orgs-bad.conf", "[org a]\nfoo = bar\n",
		    0644);
		char *text = pw_asprintf("organisations = file:%s\n", orgs);

		path = t_tmpfile("bad.conf", text, 0644);
		assert_null(pw_policies_load(path, &err));
		assert_non_null(strstr(err.data, "orgs-bad.conf:2: unknown key "
		    "\"foo\""));
		pw_buf_free(&err);
		free(path);
		free(text);
		free(orgs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_unmatched),
	    cmocka_unit_test(test_init_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
