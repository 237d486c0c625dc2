/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dmarc_verify - the DMARC policy on real records (unbound with
 * tests/data/dns/unit.zone on 127.0.0.1:5312, dnsfix.h) and a PSL with
 * the test TLD added.  SPF and DKIM outcomes are set in msg->auth as
 * spf_verify and dkim_verify would leave them; the table covers
 * alignment (relaxed, strict, organizational domain), p/sp, pct, record
 * discovery (none, two records, non-DMARC TXT, bad record), temporary
 * failures (never a fail) and the From header checks.
 *
 * Several rows are regression tests for libopendmarc 1.4.2 behaviour
 * (no longer used by dmarc_verify): it aligns a parent domain under
 * aspf=s, ignores pct, treats a temporary SPF/DKIM error as a failure,
 * and gives "test" as the organizational domain of "u.test" (any
 * one-letter label), which would align u.test with r.test.
 *
 * The issue 11 defects have a named test each, on real public suffixes
 * served only by the test unbound: t_psl_wildcards_and_exceptions,
 * t_rua_without_valid_p_is_p_none, t_two_records_no_fallthrough,
 * t_wsp_around_equals; t_psl_file_errors for an unusable PSL file.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <arpa/inet.h>

#include "base/config.h"
#include "msg.h"
#include "parsers/auth.h"
#include "policy.h"

#define DNSFIX_PORT "5312"
#include "dnsfix.h"

extern const struct pw_policy pol_dmarc_verify;

static struct pw_config *cfg;
static void *dmarc_conf;
static struct pw_client client;

/* psl_errors - what loading a config says for an unusable PSL file; run
   before any good list is loaded (the list is process-wide, loaded once) */
static char *psl_err_missing, *psl_err_norules;

static char *
psl_error(const char *file)
{
	struct pw_buf errs = {0};
	struct pw_config *c;
	char *text, *conf;

	text = pw_asprintf("log = stderr\ndmarc_psl_file = %s\n"
	    "dmarc_store_results = no\nspf_verify = no\ndkim_verify = no\n",
	    file);
	conf = t_tmpfile("bad-psl.conf", text, 0644);
	free(text);
	if ((c = pw_policies_load(conf, &errs)) != NULL)
		pw_config_release(&c);
	free(conf);
	return errs.data != NULL ? errs.data : pw_strdup("(no error)");
}

static int
group_setup(void **state)
{
	char cmd[1024], *text, *conf;
	struct pw_buf errs = {0};

	(void)state;
	psl_err_missing = psl_error("/nonexistent/psl.dat");
	conf = t_tmpfile("comments.dat", "// only a comment\n", 0644);
	psl_err_norules = psl_error(conf);
	free(conf);
	if (dnsfix_server("start") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "{ cat /usr/share/publicsuffix/"
	    "public_suffix_list.dat; printf '\\ntest\\n'; } > %s/psl.dat",
	    dnsfix_dir);
	if (system(cmd) != 0)
		return -1;
	text = pw_asprintf("dns_nameservers = %s\nlog = stderr\n"
	    "dmarc_psl_file = %s/psl.dat\ndmarc_store_results = no\n"
	    "spf_verify = no\ndkim_verify = no\n", dnsfix_fwd, dnsfix_dir);
	conf = t_tmpfile("dmarc.conf", text, 0644);
	free(text);
	if ((cfg = pw_policies_load(conf, &errs)) == NULL) {
		fprintf(stderr, "config: %s\n", errs.data);
		return -1;
	}
	free(conf);
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_dmarc_verify)
			dmarc_conf = pw_policy_conf(cfg, i);
	if (dmarc_conf == NULL)
		return -1;
	client.has_addr = true;
	client.sa.ss_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7",
	    &((struct sockaddr_in *)&client.sa)->sin_addr);
	strcpy(client.addr, "198.51.100.7");
	client.helo = "client.example.test";
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	pw_config_release(&cfg);
	return dnsfix_cleanup();
}

enum { P = PW_AUTH_PASS, F = PW_AUTH_FAIL, T = PW_AUTH_TEMPERROR,
    N = PW_AUTH_NONE, E = PW_AUTH_PERMERROR };

struct id {
	const char	*domain;
	int		 result;
};

struct dcase {
	const char		*from;		/* From header value(s) */
	struct id		 spf;
	struct id		 dkim[2];
	int			 want;		/* dmarc result */
	enum pw_dmarc_policy	 policy;
	enum pw_verdict		 verdict;
	bool			 defer;
	const char		*reply;		/* substring, or NULL */
};

static const struct dcase cases[] = {
	/* alignment */
	{" a@u.test", {"u.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"bounce.r.test", P}, {{"r.test", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false,
	    "Email from u.test rejected per its DMARC policy"},
	{" a@u.test", {"x.u.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"r.test", F}, {{"u.test", P}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@sub.rel.test", {"rel.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL},
	{" a@sub.str.test", {"str.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, "sub.str.test"},
	{" a@str.test", {"str.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@sub.dstr.test", {NULL, 0}, {{"dstr.test", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL},
	{" a@sub.dstr.test", {NULL, 0}, {{"dstr.test", P},
	    {"sub.dstr.test", P}}, P, PW_DMARC_P_REJECT, PW_DUNNO, false,
	    NULL},
	/* p and sp */
	{" a@sub.sp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL},
	{" a@sp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	/* pct=0: the next policy down */
	{" a@pct.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_QUARANTINE, false, NULL},
	{" a@pq.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL},
	/* temporary failures */
	{" a@u.test", {"u.test", T}, {{NULL, 0}}, T, PW_DMARC_P_REJECT,
	    PW_DUNNO, true, NULL},
	{" a@u.test", {"u.test", T}, {{"u.test", P}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"r.test", T}, {{"u.test", T}}, T, PW_DMARC_P_REJECT,
	    PW_DUNNO, true, NULL},
	{" a@u.test", {"r.test", T}, {{"r.test", T}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	{" a@pn.test", {"pn.test", T}, {{NULL, 0}}, T, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL},
	/* the record cannot be fetched: defer only when the outcome could
	   depend on it; an identifier that passes for the From domain
	   itself is aligned under any aspf/adkim, so no policy applies */
	{" a@tf.test", {"tf.test", P}, {{NULL, 0}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@tf.test", {"r.test", F}, {{"tf.test", P}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@tf.test", {"x.tf.test", P}, {{NULL, 0}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, true, NULL},
	{" a@tf.test", {"r.test", P}, {{"tf.test", F}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, true, NULL},
	/* record discovery */
	{" a@nodmarc.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@two.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@mix.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	{" a@nosep.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@bad.test", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	/* From header checks */
	{" a@u.test, b@r.test", {"r.test", P}, {{NULL, 0}}, E,
	    PW_DMARC_P_UNSET, PW_REJECT, false, "more than one address"},
	{" \"unbalanced <a@u.test>", {"r.test", P}, {{NULL, 0}}, E,
	    PW_DMARC_P_UNSET, PW_REJECT, false, "cannot be parsed"},
	{" undisclosed:;", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_REJECT, false, "without an address"},
	{" a@[192.0.2.1]", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_REJECT, false, "without a domain name"},
	{NULL, {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET, PW_REJECT,
	    false, "no From header"},
};

/* run_case - one case through the policy; a failure names the table and
   the row.  reason: a substring of the DMARC reason, or NULL */
static void
run_case(const char *table, size_t i, const struct dcase *c,
    const char *reason)
{
	struct pw_msg *m = pw_msg_new(cfg, &client);
	struct pw_call call = {m, dmarc_conf, NULL};
	enum pw_verdict v;

	pw_msg_set_qid(m, "T1");
	if (c->from != NULL)
		pw_msg_add_hdr(m, "From", c->from);
	pw_msg_add_hdr(m, "Subject", " t");
	if (c->spf.domain != NULL) {
		m->auth.spf.done = true;
		m->auth.spf.domain = c->spf.domain;
		m->auth.spf.result = c->spf.result;
	}
	for (size_t k = 0; k < 2 && c->dkim[k].domain; k++) {
		m->auth.dkim[k].domain = c->dkim[k].domain;
		m->auth.dkim[k].result = c->dkim[k].result;
		m->auth.ndkim++;
	}
	m->auth.dkim_done = true;
	v = pol_dmarc_verify.eom(&call);
	if ((int)m->auth.dmarc.result != c->want ||
	    m->auth.dmarc.policy != c->policy || v != c->verdict ||
	    m->defer != c->defer)
		fail_msg("%s case %zu (%s): result %d policy %d verdict %d "
		    "defer %d; want %d %d %d %d (%s)", table, i,
		    c->from ? c->from : "no From", m->auth.dmarc.result,
		    m->auth.dmarc.policy, v, m->defer, c->want, c->policy,
		    c->verdict, c->defer,
		    m->auth.dmarc.reason ? m->auth.dmarc.reason : "");
	if (c->reply != NULL && (m->reply.text == NULL ||
	    strstr(m->reply.text, c->reply) == NULL))
		fail_msg("%s case %zu: reply \"%s\" lacks \"%s\"", table, i,
		    m->reply.text ? m->reply.text : "", c->reply);
	if (reason != NULL && (m->auth.dmarc.reason == NULL ||
	    strstr(m->auth.dmarc.reason, reason) == NULL))
		fail_msg("%s case %zu: reason \"%s\" lacks \"%s\"", table, i,
		    m->auth.dmarc.reason ? m->auth.dmarc.reason : "", reason);
	if (v == PW_REJECT)
		assert_string_equal(m->reply.rcode, "550");
	pw_msg_free(&m);
}

/* a case and the reason it must give (the regression tables) */
struct rcase {
	struct dcase	 c;
	const char	*reason;	/* substring, or NULL */
};

#define RUN(t) do {							\
	for (size_t i_ = 0; i_ < sizeof(t) / sizeof(*t); i_++)		\
		run_case(#t, i_, &t[i_], NULL);				\
} while (0)
#define RUN_R(t) do {							\
	for (size_t i_ = 0; i_ < sizeof(t) / sizeof(*t); i_++)		\
		run_case(#t, i_, &t[i_].c, t[i_].reason);		\
} while (0)

/* an unusable dmarc_psl_file stops the start with a clear error: a list
   without rules would leave only the implicit "*" rule (co.uk an
   organization) */
static void
t_psl_file_errors(void **state)
{
	(void)state;
	if (strstr(psl_err_missing, "dmarc_psl_file: cannot read "
	    "/nonexistent/psl.dat as a Public Suffix List") == NULL)
		fail_msg("missing file: %s", psl_err_missing);
	if (strstr(psl_err_norules, "comments.dat has no rules") == NULL)
		fail_msg("file without rules: %s", psl_err_norules);
	free(psl_err_missing);
	free(psl_err_norules);
}

static void
t_cases(void **state)
{
	(void)state;
	RUN(cases);
}

/*
 * Regression (issue 11): the PSL's wildcard and exception rules were
 * ignored (libopendmarc's opendmarc_get_tld): under "*.ck" shop.co.ck and
 * evil.co.ck are two registrations, yet both got the organizational
 * domain co.ck, so evil.co.ck's SPF or DKIM pass aligned with a From of
 * shop.co.ck, and a subdomain's sp was looked up at _dmarc.co.ck (p=none
 * in the zone) instead of the registration's record.  Real suffixes,
 * names served only by the test unbound; names in mixed case and with a
 * trailing dot (libpsl itself answers "ck." for "shop.co.ck.").
 */
static const struct rcase psl_cases[] = {
	/* "*.ck": a stranger's registration does not align */
	{{" a@shop.co.ck", {"evil.co.ck", P}, {{"evil.co.ck", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false,
	    "Email from shop.co.ck rejected"}, NULL},
	{{" a@shop.co.ck", {"mail.shop.co.ck", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL},
	/* sp of the registration, not p=none of _dmarc.co.ck */
	{{" a@mail.spx.co.ck", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, "mail.spx.co.ck"}, NULL},
	{{" a@mail.shop.co.ck", {"evil.co.ck", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
	/* "!www.ck": www.ck is a registration of its own */
	{{" a@mail.www.ck", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL}, NULL},
	{{" a@mail.www.ck", {"www.ck", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL},
	/* "*.kawasaki.jp" (a Japanese city wildcard), "*.bd", "*.np" */
	{{" a@x.shop.kawasaki.jp", {"y.shop.kawasaki.jp", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
	{{" a@shop.com.bd", {NULL, 0}, {{"evil.com.bd", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
	{{" a@shop.com.np", {NULL, 0}, {{"evil.com.np", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
	/* private section, "*.alces.network" */
	{{" a@alice.b.alces.network", {NULL, 0}, {{"bob.b.alces.network", P}},
	    F, PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
	/* case-insensitive */
	{{" a@Shop.CO.ck", {NULL, 0}, {{"EVIL.co.CK", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, "shop.co.ck"}, NULL},
	{{" a@Shop.CO.ck", {NULL, 0}, {{"MAIL.Shop.Co.Ck", P}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL},
	/* trailing dots */
	{{" a@shop.co.ck", {"mail.shop.co.ck.", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL},
	{{" a@shop.co.ck", {"evil.co.ck.", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
};

static void
t_psl_wildcards_and_exceptions(void **state)
{
	(void)state;
	RUN_R(psl_cases);
}

/*
 * Regression (issue 11): a record with a valid rua and a missing or
 * invalid p was a permerror (libopendmarc 1.4.2 refuses it).  RFC 7489
 * section 6.6.3 step 6: "If a retrieved policy record does not contain a
 * valid "p" tag, or contains an "sp" tag that is not valid, then: 1. if
 * a "rua" tag is present and contains at least one syntactically valid
 * reporting URI, the Mail Receiver SHOULD act as if a record containing
 * a valid "v" tag and "p=none" was retrieved, and continue processing;
 * 2. otherwise, the Mail Receiver applies no DMARC processing to this
 * message" (the permerror rows: no policy, nothing rejected).
 */
static const struct rcase rua_cases[] = {
	{{" a@ruanop.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL}, NULL},
	{{" a@ruanop.test", {"ruanop.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL},
	{{" a@ruabadp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL}, NULL},
	/* an invalid sp makes the whole record p=none, p=reject too */
	{{" a@ruabadsp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL}, NULL},
	{{" a@sub.ruabadsp.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL},
	/* no valid URI in rua: no DMARC processing */
	{{" a@badrua.test", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL}, "bad DMARC record"},
};

static void
t_rua_without_valid_p_is_p_none(void **state)
{
	(void)state;
	RUN_R(rua_cases);
}

/*
 * Regression (issue 11): two DMARC records at the From domain made the
 * lookup fall through to the organizational domain's p=reject.  RFC
 * 7489 section 6.6.3 asks the organizational domain only "If the set is
 * now empty" (step 3), and step 5: "If the remaining set contains
 * multiple records or no records, policy discovery terminates and DMARC
 * processing is not applied to this message."  So: dmarc=none, no
 * policy, nothing rejected, and the reason says why (it goes into the
 * A-R comment).  Under RFC 9989 (its tree walk) the rule for several
 * records at one name is to be checked there when evaluation moves to it.
 */
static const struct rcase two_cases[] = {
	/* two at the From domain: not the parent's p=reject */
	{{" a@sub.twop.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL}, "2 DMARC records at _dmarc.sub.twop.test"},
	/* none at the From domain, two at the org domain */
	{{" a@sub.two.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL}, "2 DMARC records at _dmarc.two.test"},
	{{" a@two.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL}, "none applies"},
	/* one record at the org domain still applies to the subdomain */
	{{" a@other.twop.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL},
};

static void
t_two_records_no_fallthrough(void **state)
{
	(void)state;
	RUN_R(two_cases);
}

/*
 * Regression (issue 11): "v = DMARC1; p = reject" was discarded as not a
 * DMARC record (a prefix test for "v=DMARC1"): no policy, fail open.
 * RFC 7489 section 6.4: dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41
 * %x52 %x43 %x31, dmarc-sep = *WSP %x3b *WSP, and each tag likewise.
 */
static const struct rcase wsp_cases[] = {
	{{" a@ws.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, "Email from ws.test rejected"}, NULL},
	{{" a@ws.test", {"ws.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL},
	{{" a@wsq.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL},
};

static void
t_wsp_around_equals(void **state)
{
	(void)state;
	RUN_R(wsp_cases);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cases),
		cmocka_unit_test(t_psl_wildcards_and_exceptions),
		cmocka_unit_test(t_psl_file_errors),
		cmocka_unit_test(t_rua_without_valid_p_is_p_none),
		cmocka_unit_test(t_two_records_no_fallthrough),
		cmocka_unit_test(t_wsp_around_equals),
	};

	dnsfix_require();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
