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
 *
 * RFC 9989 (dmarc_org_domain = tree-walk, the default; cfg): t_9989_*
 * and t_7489_vs_9989, which runs each named difference under both
 * modes.  The PSL regressions run with dmarc_org_domain = psl (cfg_psl).
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

/* cfg: dmarc_org_domain = tree-walk (the default, RFC 9989); cfg_psl:
   dmarc_org_domain = psl (RFC 7489 discovery).  run_case() uses cur_*. */
static struct pw_config *cfg, *cfg_psl, *cur_cfg;
static void *dmarc_conf, *dmarc_conf_psl, *cur_conf;
static struct pw_client client;
static char *psl_err_treewalk;

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
	    "dmarc_store_results = no\nspf_verify = no\ndkim_verify = no\n"
	    "%s", file[0] == '+' ? file + 1 : file, file[0] == '+' ? "" :
	    "dmarc_org_domain = psl\n");
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
	/* '+': the default tree walk, which never reads the list */
	psl_err_treewalk = psl_error("+/nonexistent/psl.dat");
	if (dnsfix_server("start") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "{ cat /usr/share/publicsuffix/"
	    "public_suffix_list.dat; printf '\\ntest\\n'; } > %s/psl.dat",
	    dnsfix_dir);
	if (system(cmd) != 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		struct pw_config **cp = k ? &cfg_psl : &cfg;
		void **dp = k ? &dmarc_conf_psl : &dmarc_conf;

		text = pw_asprintf("dns_nameservers = %s\nlog = stderr\n"
		    "dmarc_psl_file = %s/psl.dat\ndmarc_store_results = no\n"
		    "spf_verify = no\ndkim_verify = no\n%s", dnsfix_fwd,
		    dnsfix_dir, k ? "dmarc_org_domain = psl\n" : "");
		conf = t_tmpfile(k ? "dmarc-psl.conf" : "dmarc.conf", text,
		    0644);
		free(text);
		if ((*cp = pw_policies_load(conf, &errs)) == NULL) {
			fprintf(stderr, "config: %s\n", errs.data);
			return -1;
		}
		free(conf);
		for (size_t i = 0; i < pw_npolicies; i++)
			if (pw_policies[i] == &pol_dmarc_verify)
				*dp = pw_policy_conf(*cp, i);
		if (*dp == NULL)
			return -1;
	}
	cur_cfg = cfg;
	cur_conf = dmarc_conf;
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
	pw_config_release(&cfg_psl);
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

/* what a tree-walk case checks besides: the organizational domain
   (NULL: not checked), the DNS lookups made (0: not checked), the
   disposition (-1: not checked) */
struct walkx {
	const char	*org;
	unsigned int	 nq;
	int		 dispo;
};

/* run_case - one case through the policy; a failure names the table and
   the row.  reason: a substring of the DMARC reason, or NULL */
static void
run_case(const char *table, size_t i, const struct dcase *c,
    const char *reason, const struct walkx *x)
{
	struct pw_msg *m = pw_msg_new(cur_cfg, &client);
	struct pw_call call = {m, cur_conf, NULL};
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
	if (x != NULL && x->org != NULL && (m->auth.dmarc.org_domain == NULL ||
	    strcmp(m->auth.dmarc.org_domain, x->org) != 0))
		fail_msg("%s case %zu: organizational domain %s, want %s",
		    table, i, m->auth.dmarc.org_domain ?
		    m->auth.dmarc.org_domain : "(unknown)", x->org);
	if (x != NULL && x->nq != 0 && m->dns.used != x->nq)
		fail_msg("%s case %zu: %u DNS lookups, want %u", table, i,
		    m->dns.used, x->nq);
	if (x != NULL && x->dispo >= 0 &&
	    (int)m->auth.dmarc.disposition != x->dispo)
		fail_msg("%s case %zu: disposition %d, want %d", table, i,
		    m->auth.dmarc.disposition, x->dispo);
	pw_msg_free(&m);
}

/* a case and the reason it must give (the regression tables) */
struct rcase {
	struct dcase	 c;
	const char	*reason;	/* substring, or NULL */
};

#define RUN(t) do {							\
	for (size_t i_ = 0; i_ < sizeof(t) / sizeof(*t); i_++)		\
		run_case(#t, i_, &t[i_], NULL, NULL);			\
} while (0)
#define RUN_R(t) do {							\
	for (size_t i_ = 0; i_ < sizeof(t) / sizeof(*t); i_++)		\
		run_case(#t, i_, &t[i_].c, t[i_].reason, NULL);	\
} while (0)
#define RUN_W(t) do {							\
	for (size_t i_ = 0; i_ < sizeof(t) / sizeof(*t); i_++)		\
		run_case(#t, i_, &t[i_].c, t[i_].reason, &t[i_].x);	\
} while (0)
/* with dmarc_org_domain = psl */
#define RUN_PSL(run, t) do {						\
	cur_cfg = cfg_psl;						\
	cur_conf = dmarc_conf_psl;					\
	run(t);								\
	cur_cfg = cfg;							\
	cur_conf = dmarc_conf;						\
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
	/* the tree walk (the default) never reads the list */
	if (strcmp(psl_err_treewalk, "(no error)") != 0)
		fail_msg("tree walk, missing list: %s", psl_err_treewalk);
	free(psl_err_missing);
	free(psl_err_norules);
	free(psl_err_treewalk);
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
	RUN_PSL(RUN_R, psl_cases);
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
 * A-R comment).  This is the RFC 7489 rule (dmarc_org_domain = psl);
 * RFC 9989 discards the records and walks on: see
 * t_9989_two_records_walk_on.
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
	RUN_PSL(RUN_R, two_cases);
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

/* a tree-walk case: the case, the reason, the extra checks */
struct wcase {
	struct dcase	 c;
	const char	*reason;
	struct walkx	 x;
};

enum { D_NONE = PW_DMARC_P_NONE, D_Q = PW_DMARC_P_QUARANTINE,
    D_R = PW_DMARC_P_REJECT };

/*
 * RFC 9989 section 4.10.2, its two examples: "given the starting domain
 * 'a.mail.example.com' [...] If there are DMARC records for
 * '_dmarc.mail.example.com' and '_dmarc.example.com', but not for
 * '_dmarc.a.mail.example.com' or '_dmarc.com', then the Organizational
 * Domain for this domain would be 'example.com'" (four lookups, the last
 * at _dmarc.com); "if a search for the Organizational Domain only yields
 * a DMARC record at '_dmarc.com' and that record contains the tag psd=y,
 * then the Organizational Domain for this domain would be 'example.com'"
 * (here under the top-level name zz, whose _dmarc.zz says psd=y).  The
 * policy is the organizational domain's (4.10.1), its sp for a subdomain;
 * with no record there, the PSD's.  Identifier examples of Appendix B.1:
 * the parent example.com aligns (relaxed), example.net does not.
 */
static const struct wcase rfc_cases[] = {
	{{" a@a.mail.example.com", {"example.net", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL,
	    {"example.com", 4, D_Q}},
	/* 4 + the identifier's own walk: _dmarc.example.com, _dmarc.com */
	{{" a@a.mail.example.com", {NULL, 0}, {{"example.com", P}}, P,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL}, NULL,
	    {"example.com", 6, D_NONE}},
	/* the From domain with its own record: p of mail.example.com;
	   the walk goes on only for a relaxed identifier */
	{{" a@mail.example.com", {"mail.example.com", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL, {NULL, 1, D_NONE}},
	{{" a@mail.example.com", {"bounce.example.com", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL,
	    {"example.com", 6, D_NONE}},
	{{" a@a.mail.example.zz", {"evil.zz", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"example.zz", 4, D_R}},
	{{" a@a.mail.example.zz", {"bounce.example.zz", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL,
	    {"example.zz", 0, D_NONE}},
};

static void
t_9989_rfc_examples(void **state)
{
	(void)state;
	RUN_W(rfc_cases);
}

/*
 * RFC 9989 section 4.10 step 4: "If x < 8, remove the left-most
 * (highest-numbered) label from the subject domain.  If x >= 8, remove
 * the left-most (highest-numbered) labels from the subject domain until 7
 * labels remain."  At most eight lookups for any name.  A record 9 labels
 * deep (l2...deep.test, p=none) is jumped over; one 6 labels deep
 * (l5...deep.test, p=quarantine) is on the walk but the organizational
 * domain is the record with the fewest labels (deep.test, p=reject),
 * whose policy applies (4.10.1).
 */
static const struct wcase depth_cases[] = {
	/* 10 labels: the name, then 7 labels down to "test": 8 lookups */
	{{" a@l1.l2.l3.l4.l5.l6.l7.l8.deep.test", {"r.test", P}, {{NULL, 0}},
	    F, PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"deep.test", 8, D_R}},
	/* 12 labels: still 8 */
	{{" a@a.b.l1.l2.l3.l4.l5.l6.l7.l8.deep.test", {"r.test", P},
	    {{NULL, 0}}, F, PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"deep.test", 8, D_R}},
	/* 8 labels: x >= 8 keeps 7, the same as one label off: 8 */
	{{" a@l3.l4.l5.l6.l7.l8.deep.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"deep.test", 8, D_R}},
	/* 7 labels: one at a time, 7 lookups */
	{{" a@l4.l5.l6.l7.l8.deep.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"deep.test", 7, D_R}},
	/* the jumped-over record (9 labels) is not the From's own: a
	   From one label below it walks past it */
	{{" a@l1.l2.l3.l4.l5.l6.l7.l8.deep.test",
	    {"l2.l3.l4.l5.l6.l7.l8.deep.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL,
	    {"deep.test", 0, D_NONE}},
	/* 20 labels, no record anywhere but deep2.test: 8 lookups */
	{{" a@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.deep2.test", {"r.test", P},
	    {{NULL, 0}}, F, PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"deep2.test", 8, D_R}},
};

static void
t_9989_tree_walk_depth(void **state)
{
	(void)state;
	RUN_W(depth_cases);
}

/*
 * np (RFC 9989 4.10.1): "the DMARC policy is taken from the sp= tag (if
 * any) if the RFC5322.From domain exists and the np= tag (if any) if the
 * RFC5322.From domain does not exist".  npx.test: p=quarantine; sp=none;
 * np=reject.  ghost.npx.test is NXDOMAIN, exists.npx.test has an A
 * record.  The existence lookup is made only when the answer matters.
 */
static const struct wcase np_cases[] = {
	{{" a@ghost.npx.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"npx.test", 4, D_R}},
	{{" a@exists.npx.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL,
	    {"npx.test", 4, D_NONE}},
	/* the From domain itself: p, no existence lookup; _dmarc.test is
	   asked (r.test could share an organizational domain "test") */
	{{" a@npx.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL,
	    {NULL, 2, D_Q}},
	/* an unrelated identifier (no common label): one lookup only */
	{{" a@npx.test", {"example.net", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL,
	    {NULL, 1, D_Q}},
	/* pass: no existence lookup (3 for the From's walk, 2 for the
	   identifier's) */
	{{" a@ghost.npx.test", {"npx.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL,
	    {"npx.test", 5, D_NONE}},
	/* np of a PSD: a non-existent name under psd.test */
	{{" a@ghost.psd.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"ghost.psd.test", 3, D_R}},
	{{" a@bank.psd.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL,
	    {"bank.psd.test", 3, D_Q}},
};

static void
t_9989_np_nonexistent(void **state)
{
	(void)state;
	RUN_W(np_cases);
}

/*
 * psd=y at a public-suffix operator (RFC 9989 4.10 step 7, 4.10.2 rule
 * 2): _dmarc.psd.test says psd=y, so bank.psd.test and other.psd.test
 * are organizations of their own, the PSD's record applies to a
 * registration without one (sp), and a registration with its own record
 * uses it ("PSD policy is not used for Organizational Domains that have
 * published a DMARC Policy Record").  psd=n stops the walk.
 */
static const struct wcase psd_cases[] = {
	{{" a@mail.bank.psd.test", {"other.psd.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL,
	    {"bank.psd.test", 0, D_Q}},
	{{" a@mail.bank.psd.test", {"x.bank.psd.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL}, NULL,
	    {"bank.psd.test", 0, D_NONE}},
	{{" a@own.psd.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL}, NULL, {"own.psd.test", 2, D_NONE}},
	{{" a@x.own.psd.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_NONE, PW_DUNNO, false, NULL}, NULL,
	    {"own.psd.test", 3, D_NONE}},
	/* the PSD's own mail: its p, and it is its own org domain */
	{{" a@psd.test", {"psd.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL, {NULL, 1, D_NONE}},
	/* psd=n at b.pn2.test: org b.pn2.test, not pn2.test (which has a
	   record and would otherwise be the fewest-labels one) */
	{{" a@a.b.pn2.test", {"pn2.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}, NULL,
	    {"b.pn2.test", 2, D_R}},
};

static void
t_9989_psd(void **state)
{
	(void)state;
	RUN_W(psd_cases);
}

/*
 * t=y (RFC 9989, the t tag): "A request that the actor performing the
 * DMARC verification check not apply the policy": dmarc=fail with
 * policy reject, disposition none, the message accepted.  t=n is the
 * default: applied.
 */
static const struct wcase testing_cases[] = {
	{{" a@ty.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL, {NULL, 0, D_NONE}},
	{{" a@sub.ty.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL, {"ty.test", 0, D_NONE}},
	{{" a@ty.test", {"ty.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL}, NULL, {NULL, 0, D_NONE}},
	{{" a@tn.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL}, NULL, {NULL, 0, D_R}},
};

static void
t_9989_testing_t_y(void **state)
{
	(void)state;
	RUN_W(testing_cases);
	/* the same with the PSL: t is an RFC 9989 tag in both modes */
	RUN_PSL(RUN_W, testing_cases);
}

/*
 * A temporary DNS failure anywhere in the walk is temperror, never fail
 * (RFC 9989 4.10.1 leaves DNS errors to the receiver; we defer when the
 * outcome depends on them):
 * - _dmarc.sub.twf.test is empty, _dmarc.twf.test refused: the inherited
 *   record is unknown;
 * - own.twf2.test has p=reject, _dmarc.twf2.test refused: its
 *   organizational domain is unknown, so a relaxed identifier below it
 *   cannot be aligned or not; an identical one still passes;
 * - an identifier's own walk fails (_dmarc.tf3.idf.test refused).
 */
static const struct wcase twf_cases[] = {
	{{" a@sub.twf.test", {"r.test", P}, {{NULL, 0}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, true, NULL}, "DMARC record lookup", {NULL, 0, -1}},
	{{" a@own.twf2.test", {"x.own.twf2.test", P}, {{NULL, 0}}, T,
	    PW_DMARC_P_REJECT, PW_DUNNO, true, NULL},
	    "an aligned identifier had a temporary error", {NULL, 0, -1}},
	{{" a@own.twf2.test", {"own.twf2.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL, {NULL, 1, -1}},
	{{" a@idf.test", {"x.tf3.idf.test", P}, {{NULL, 0}}, T,
	    PW_DMARC_P_REJECT, PW_DUNNO, true, NULL},
	    "an aligned identifier had a temporary error", {NULL, 0, -1}},
	{{" a@idf.test", {"x.tf3.idf.test", P}, {{"idf.test", P}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}, NULL, {NULL, 0, -1}},
};

static void
t_9989_walk_temperror(void **state)
{
	(void)state;
	RUN_W(twf_cases);
}

/*
 * Where RFC 7489 (dmarc_org_domain = psl) and RFC 9989 (tree-walk) give
 * different answers, each named; the same message under both.
 */
struct diffcase {
	const char		*name;
	struct dcase		 rfc7489;
	struct dcase		 rfc9989;
};

static const struct diffcase diff_cases[] = {
	/* RFC 7489 6.6.4 sampled pct=0 out to the next policy down; pct is
	   no RFC 9989 tag and unknown tags MUST be ignored: applied in full.
	   Here both modes follow RFC 9989: pct is ignored with the PSL too
	   (the option is about organizational domains only). */
	{"pct=0 with p=reject: reject (RFC 7489: quarantine)",
	    {" a@pct.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	    {" a@pct.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL}},
	{"pct=0 with p=quarantine: quarantine (RFC 7489: none)",
	    {" a@pq.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL},
	    {" a@pq.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}},
	/* RFC 7489 6.6.3 step 5 ends discovery at two records; RFC 9989
	   4.10 step 2 discards them and walks on to twop.test */
	{"two records at the From domain: the parent's p=reject applies",
	    {" a@sub.twop.test", {"r.test", P}, {{NULL, 0}}, N,
	    PW_DMARC_P_UNSET, PW_DUNNO, false, NULL},
	    {" a@sub.twop.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}},
	/* the PSL makes nor.test (under "test") the organization of
	   x.nor.test and y.nor.test; in the DNS nor.test publishes
	   nothing, so x.nor.test is its own organizational domain */
	{"a parent without a record is no organizational domain",
	    {" a@x.nor.test", {"y.nor.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL},
	    {" a@x.nor.test", {"y.nor.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}},
	/* psd=y: other.psd.test is another registration; by the PSL (which
	   lists only "test") both are under the organization psd.test */
	{"psd=y: a PSD's other registrant does not align",
	    {" a@mail.bank.psd.test", {"other.psd.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL},
	    {" a@mail.bank.psd.test", {"other.psd.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}},
	/* a public suffix publishing a record without psd=y (_dmarc.co.ck,
	   p=none) is, by the walk, the organizational domain of everything
	   under it: shop.co.ck and evil.co.ck align.  RFC 9989 puts this on
	   the PSO ("it MUST include the psd tag with a value of 'y'"); the
	   PSL's "*.ck" kept them apart. */
	{"a suffix's record without psd=y joins its registrants",
	    {" a@shop.co.ck", {"evil.co.ck", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL},
	    {" a@shop.co.ck", {"evil.co.ck", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL}},
	/* the RFC 9989 examples' psd=y: under the PSL "zz" is no suffix
	   (not in the list: the implicit "*" rule makes example.zz the
	   registrable domain too) but the policy comes from _dmarc.zz only
	   by the walk; RFC 7489 asks _dmarc.example.zz, finds nothing */
	{"PSD policy for a registration without a record",
	    {" a@a.mail.example.zz", {"evil.zz", P}, {{NULL, 0}}, N,
	    PW_DMARC_P_UNSET, PW_DUNNO, false, NULL},
	    {" a@a.mail.example.zz", {"evil.zz", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL}},
};

static void
t_7489_vs_9989(void **state)
{
	char name[200];

	(void)state;
	for (size_t i = 0; i < sizeof(diff_cases) / sizeof(*diff_cases);
	    i++) {
		snprintf(name, sizeof(name), "RFC 7489: %s",
		    diff_cases[i].name);
		cur_cfg = cfg_psl;
		cur_conf = dmarc_conf_psl;
		run_case(name, i, &diff_cases[i].rfc7489, NULL, NULL);
		snprintf(name, sizeof(name), "RFC 9989: %s",
		    diff_cases[i].name);
		cur_cfg = cfg;
		cur_conf = dmarc_conf;
		run_case(name, i, &diff_cases[i].rfc9989, NULL, NULL);
	}
}

/*
 * Regression (issue 11) under RFC 9989: the "*.ck" registrations of
 * t_psl_wildcards_and_exceptions stay apart with the tree walk when the
 * suffix publishes psd=y; here _dmarc.co.ck has no psd tag (see
 * t_7489_vs_9989), so the walk checks are made on psd.test instead, and
 * the mixed-case and trailing-dot names of that test on the walk.
 */
static const struct rcase walk_name_cases[] = {
	{{" a@Mail.BANK.psd.test", {NULL, 0}, {{"OTHER.psd.test.", P}}, F,
	    PW_DMARC_P_QUARANTINE, PW_QUARANTINE, false, NULL}, NULL},
	{{" a@Mail.BANK.psd.test", {NULL, 0}, {{"x.bank.PSD.test.", P}}, P,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL}, NULL},
};

static void
t_9989_names_case_and_dot(void **state)
{
	(void)state;
	RUN_R(walk_name_cases);
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
		cmocka_unit_test(t_9989_rfc_examples),
		cmocka_unit_test(t_9989_tree_walk_depth),
		cmocka_unit_test(t_9989_np_nonexistent),
		cmocka_unit_test(t_9989_psd),
		cmocka_unit_test(t_9989_testing_t_y),
		cmocka_unit_test(t_9989_walk_temperror),
		cmocka_unit_test(t_7489_vs_9989),
		cmocka_unit_test(t_9989_names_case_and_dot),
	};

	dnsfix_require();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
